//! Exit codes and one clear sentence on stderr; --json output; no temp files; no PHI in output.

use crate::{init, json, ownrecord, run_expecting, stderr};

#[test]
fn no_vault() {
    let work = tempfile::tempdir().unwrap();
    let out = run_expecting(ownrecord(&work.path().join("none")).arg("summary"), 1);
    assert!(
        stderr(&out).starts_with("ownrecord: No vault was found in "),
        "{}",
        stderr(&out)
    );
    let out = run_expecting(
        ownrecord(&work.path().join("none")).args(["--json", "summary", "--all"]),
        1,
    );
    assert_eq!(json(&out)["error"]["code"], "no_vault");
}

#[test]
fn wipe_needs_yes() {
    let work = tempfile::tempdir().unwrap();
    init(work.path());
    let out = run_expecting(ownrecord(work.path()).arg("wipe"), 2);
    assert!(stderr(&out).contains("--yes"));
    assert!(work.path().join("vault.db").exists());
}

#[test]
fn wrong_passphrase_via_env() {
    let work = tempfile::tempdir().unwrap();
    run_expecting(
        ownrecord(work.path())
            .arg("init")
            .env("OWNRECORD_PASSPHRASE", "a good long passphrase"),
        0,
    );
    let out = run_expecting(
        ownrecord(work.path())
            .arg("summary")
            .env("OWNRECORD_PASSPHRASE", "not the passphrase"),
        1,
    );
    assert_eq!(
        stderr(&out),
        "ownrecord: The passphrase is wrong. Nothing was changed.\n"
    );
    let out = run_expecting(ownrecord(work.path()).arg("summary"), 1);
    assert!(stderr(&out).contains("locked with a passphrase"));
    run_expecting(
        ownrecord(work.path())
            .arg("summary")
            .env("OWNRECORD_PASSPHRASE", "a good long passphrase"),
        0,
    );
}

/// With no Secret Service reachable, `init` says so in one sentence and creates nothing.
#[test]
fn keyring_unavailable() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("vault");
    let out = run_expecting(
        ownrecord(&dir)
            .arg("init")
            .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus"),
        1,
    );
    let message = stderr(&out);
    assert!(
        message.starts_with("ownrecord: The system keyring could not be used"),
        "{message}"
    );
    assert!(message.contains("OWNRECORD_PASSPHRASE"));
    assert_eq!(message.lines().count(), 1);
    assert!(!dir.join("vault.json").exists() && !dir.join("vault.db").exists());
}

#[test]
fn malformed_file_exits_non_zero_and_keeps_earlier_files() {
    let work = tempfile::tempdir().unwrap();
    let vault = work.path().join("vault");
    init(&vault);
    let bad = work.path().join("bad.json");
    std::fs::write(
        &bad,
        b"{\"resourceType\":\"Bundle\",\"entry\":[{\"resource\":",
    )
    .unwrap();
    let good = &ownrecord_testkit::patient_files()[0];
    let out = run_expecting(
        ownrecord(&vault)
            .args(["import", "--person", "new"])
            .arg(good)
            .arg(&bad),
        1,
    );
    let message = stderr(&out);
    assert!(
        message.starts_with("ownrecord: bad.json: ends too early"),
        "{message}"
    );
    let summary = json(&run_expecting(
        ownrecord(&vault).args(["--json", "summary", "--all"]),
        0,
    ));
    assert_eq!(
        summary["sources"].as_array().unwrap().len(),
        1,
        "the good file before it stays imported"
    );
}

/// Import, summary, search and wipe leave no file in TMPDIR, and print no PHI on stderr.
#[test]
fn no_temp_files_and_no_phi_on_stderr() {
    let work = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let vault = work.path().join("vault");
    init(&vault);
    let files = ownrecord_testkit::sample_files();
    let phi = ownrecord_testkit::phi_strings(&ownrecord_testkit::patient_files());
    for args in [
        vec!["import", "--person", "new"],
        vec!["summary", "--person", "1"],
        vec!["search", "--person", "1", "diabetes"],
        vec!["check"],
    ] {
        let mut cmd = ownrecord(&vault);
        cmd.args(&args).env("TMPDIR", tmp.path());
        if args[0] == "import" {
            cmd.args(&files);
        }
        let out = run_expecting(&mut cmd, 0);
        let err = stderr(&out);
        assert!(
            !phi.iter().any(|p| err.contains(p.as_str())),
            "PHI on stderr of {args:?}"
        );
    }
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert!(left.is_empty(), "temp files left: {left:?}");
}

#[test]
fn json_output_of_import_and_search() {
    let work = tempfile::tempdir().unwrap();
    let vault = work.path().join("vault");
    init(&vault);
    let file = &ownrecord_testkit::patient_files()[0];
    let out = json(&run_expecting(
        ownrecord(&vault).args(["--json", "import"]).arg(file),
        0,
    ));
    assert_eq!(out[0]["format"], "bundle");
    assert!(out[0]["new"].as_i64().unwrap() > 0);
    let hits = json(&run_expecting(
        ownrecord(&vault).args(["--json", "search", "encounter"]),
        0,
    ));
    assert!(!hits.as_array().unwrap().is_empty());
    let audit = json(&run_expecting(
        ownrecord(&vault).args(["--json", "audit", "verify"]),
        0,
    ));
    assert!(audit["entries"].as_i64().unwrap() >= 3);
}

/// A damaged vault file: `check` names the damage in one sentence, and nothing panics.
#[test]
fn a_corrupt_vault_file_is_reported() {
    let work = tempfile::tempdir().unwrap();
    let vault = work.path().join("vault");
    init(&vault);
    run_expecting(
        ownrecord(&vault)
            .args(["import", "--person", "new"])
            .arg(&ownrecord_testkit::patient_files()[2]),
        0,
    );
    let db = vault.join("vault.db");
    let mut bytes = std::fs::read(&db).unwrap();
    let page = ownrecord_core::vault::CIPHER_PAGE_SIZE as usize;
    assert!(bytes.len() > 4 * page);
    for b in &mut bytes[3 * page + 100..3 * page + 200] {
        *b ^= 0xff;
    }
    std::fs::write(&db, bytes).unwrap();
    let out = ownrecord(&vault).arg("check").output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let message = stderr(&out);
    assert!(
        message.starts_with("ownrecord: The vault file is damaged"),
        "{message}"
    );
    assert_eq!(message.lines().count(), 1);
    assert!(!message.contains("panicked"));
}
