//! `connect` with a vendor's quirks from the command line, and `portals refresh` refusing what it
//! cannot check.

use ownrecord_demo_portal::{ATHENA_PRACTICE, DemoPortal, Options, Personality};

use crate::sync::{Portal, connect_as};
use crate::{init, json, ownrecord, run_expecting, stderr};

fn start_as(personality: Personality) -> Portal {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let portal = rt
        .block_on(DemoPortal::start_with_patients(
            "127.0.0.1:0".parse().unwrap(),
            &ownrecord_testkit::sample_dir(),
            Options {
                personality,
                ..Default::default()
            },
        ))
        .unwrap();
    Portal { rt, portal }
}

#[test]
fn a_vendors_quirks_from_the_command_line() {
    let portal = start_as(Personality::Athena);
    let work = tempfile::tempdir().unwrap();
    let vault = work.path().join("vault");
    init(&vault);
    let base = portal.portal.fhir_base();

    let out = run_expecting(
        ownrecord(&vault).args(["connect", "--no-browser", "--vendor", "athena", &base]),
        1,
    );
    assert!(stderr(&out).contains("which practice"), "{}", stderr(&out));
    let out = run_expecting(
        ownrecord(&vault).args(["connect", "--no-browser", "--vendor", "healow", &base]),
        1,
    );
    assert!(stderr(&out).contains("desktop app"), "{}", stderr(&out));
    let out = run_expecting(
        ownrecord(&vault).args(["connect", "--no-browser", "--vendor", "acme", &base]),
        1,
    );
    assert!(
        stderr(&out).contains("no vendor \"acme\""),
        "{}",
        stderr(&out)
    );

    let mut cmd = ownrecord(&vault);
    cmd.args(["--json", "connect", "--no-browser", "--vendor", "athena"])
        .args(["--practice", ATHENA_PRACTICE, &base]);
    connect_as(cmd, &portal);
    run_expecting(ownrecord(&vault).arg("sync"), 0);
    let listed = json(&run_expecting(
        ownrecord(&vault).args(["--json", "connections"]),
        0,
    ));
    assert_eq!(listed[0]["vendor"], "athena");
    assert!(listed[0]["attention"].is_null());
    let summary = json(&run_expecting(
        ownrecord(&vault).args(["--json", "summary", "--all"]),
        0,
    ));
    assert!(summary["resources"].as_i64().unwrap() > 10, "{summary}");
}

#[test]
fn a_refresh_that_cannot_be_checked_changes_nothing() {
    let work = tempfile::tempdir().unwrap();
    let vault = work.path().join("vault");
    init(&vault);
    // Nothing listens there: the first list cannot be read.
    let out = run_expecting(
        ownrecord(&vault).args(["portals", "refresh", "--from", "http://127.0.0.1:9/lists/"]),
        1,
    );
    assert!(stderr(&out).contains("was not changed"), "{}", stderr(&out));
    assert!(!vault.join("portal-directory.json.gz").exists());
    // Still the bundled directory.
    let found = json(&run_expecting(
        ownrecord(&vault).args(["--json", "portals", "Mayo"]),
        0,
    ));
    assert!(!found.as_array().unwrap().is_empty());
}
