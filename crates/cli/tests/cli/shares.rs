//! `hosts`, `share --shl --host`, `shares`, `shares refresh`, `shares revoke` as a patient runs
//! them, against the real share host (its router on 127.0.0.1:0 in this process), with
//! kill-the-clipboard (tests/peers) as the recipient's viewer.

use std::path::Path;

use ownrecord_share_host::store::{self, Store};
use ownrecord_share_host::{AppState, Clock, Settings, secret, serve_plain};
use serde_json::Value;

use crate::{init, json, ownrecord, run_expecting};

pub(crate) struct Host {
    pub(crate) base: String,
    pub(crate) owner: String,
    _runtime: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
}

/// The share host on 127.0.0.1:0 in this process, with one owner token.
pub(crate) fn start_host() -> Host {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let owner = secret::random_token().unwrap();
    let hash = secret::token_hash(&owner);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    store
        .run_sync(move |c| store::add_owner_token(c, &hash, now))
        .unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let state = AppState::new(store, Settings::new(&base), Clock::System);
    runtime.spawn(serve_plain(listener, state));
    Host {
        base,
        owner,
        _runtime: runtime,
        _dir: dir,
    }
}

fn patient_file() -> std::path::PathBuf {
    ownrecord_testkit::patient_files()
        .into_iter()
        .find(|f| f.to_string_lossy().contains("Mathilda"))
        .unwrap()
}

fn vault_with_a_patient(dir: &Path) {
    init(dir);
    let mut cmd = ownrecord(dir);
    cmd.arg("import");
    run_expecting(
        cmd.args(ownrecord_testkit::support_files())
            .arg(patient_file()),
        0,
    );
}

fn family(bundle: &Value) -> Option<String> {
    bundle["entry"]
        .as_array()?
        .iter()
        .map(|e| &e["resource"])
        .find(|r| r["resourceType"] == "Patient")
        .and_then(|p| p["name"][0]["family"].as_str())
        .map(str::to_owned)
}

/// kill-the-clipboard resolving the link as "Dr. Lee" with the passcode.
pub(crate) fn resolve(link: &str, passcode: &str) -> (bool, Value) {
    let peers = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/peers");
    let out = std::process::Command::new("node")
        .arg(peers.join("shl-resolve.mjs"))
        .arg(link)
        .args(["--recipient", "Dr. Lee", "--passcode", passcode])
        .output()
        .expect("node runs");
    (
        out.status.success(),
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null),
    )
}

fn disclosures(vault: &Path) -> Vec<Value> {
    json(&run_expecting(
        ownrecord(vault).args(["--json", "audit", "list", "--disclosures"]),
        0,
    ))
    .as_array()
    .unwrap()
    .clone()
}

#[test]
fn a_link_through_the_share_host_opens_is_logged_with_its_recipient_and_is_revoked() {
    let host = start_host();
    let work = tempfile::tempdir().unwrap();
    let vault = work.path().join("vault");
    vault_with_a_patient(&vault);

    run_expecting(
        ownrecord(&vault).args(["hosts", "add", &host.base, "--token", &host.owner]),
        0,
    );
    let hosts = json(&run_expecting(
        ownrecord(&vault).args(["--json", "hosts"]),
        0,
    ));
    assert_eq!(hosts[0]["url"], host.base.as_str());
    assert!(
        !hosts.to_string().contains(&host.owner),
        "the token is not shown"
    );

    let out = work.path().join("for-dr-lee.age");
    let shared = json(&run_expecting(
        ownrecord(&vault)
            .args([
                "--json",
                "share",
                "--to",
                "Lee Cardiology",
                "--purpose",
                "Second opinion",
            ])
            .arg("--out")
            .arg(&out)
            .args(["--shl", "--host", &host.base, "--passcode", "lee-4321-ok"])
            .args(["--expires", "7", "--max-uses", "5"]),
        0,
    ));
    let id = shared["id"].as_str().unwrap().to_owned();
    let link = shared["link"].as_str().unwrap().to_owned();
    // The share host's viewer before the fragment: a phone camera opens it from the QR code.
    assert!(
        link.starts_with(&format!("{}/view#shlink:/", host.base)),
        "{link}"
    );
    assert_eq!(shared["passcode"], "lee-4321-ok");
    assert!(out.exists() && work.path().join("for-dr-lee.qr.png").exists());

    // The recipient's viewer opens it with the passcode: the patient's own summary.
    let (ok, report) = resolve(&link, "lee-4321-ok");
    assert!(ok, "{report}");
    let content = &report["files"][0]["content"];
    let expected = family(&ownrecord_testkit::read_json(&patient_file()));
    assert!(expected.is_some());
    assert_eq!(family(content), expected);

    // refresh: one new open, in the disclosure log as declared; a second refresh adds none.
    let refreshed = json(&run_expecting(
        ownrecord(&vault).args(["--json", "shares", "refresh"]),
        0,
    ));
    assert_eq!(refreshed["new_opens"], 1, "{refreshed}");
    let again = run_expecting(ownrecord(&vault).args(["shares", "refresh"]), 0);
    assert!(String::from_utf8_lossy(&again.stdout).starts_with("0 new opens"));
    let opened: Vec<Value> = disclosures(&vault)
        .into_iter()
        .filter(|r| r["kind"] == "share" && r["details"]["event"] == "opened")
        .collect();
    assert_eq!(opened.len(), 1);
    assert_eq!(opened[0]["details"]["recipient"], "Dr. Lee");
    assert_eq!(opened[0]["details"]["shared_with"], "Lee Cardiology");
    assert_eq!(opened[0]["details"]["share_id"], id.as_str());
    run_expecting(ownrecord(&vault).args(["audit", "verify"]), 0);

    let shares = json(&run_expecting(
        ownrecord(&vault).args(["--json", "shares"]),
        0,
    ));
    let share = &shares.as_array().unwrap()[0];
    assert_eq!(share["id"], id.as_str());
    assert_eq!(share["recipient"], "Lee Cardiology");
    assert_eq!(share["purpose"], "Second opinion");
    assert_eq!(share["status"], "active");
    assert!(share["expires"].is_string());
    assert_eq!(share["opens"].as_array().unwrap().len(), 1);
    assert!(!shares.to_string().contains("management"), "{shares}");
    let listing = run_expecting(ownrecord(&vault).arg("shares"), 0);
    assert!(String::from_utf8_lossy(&listing.stdout).contains("opened by 'Dr. Lee'"));

    // Revoke: the viewer gets nothing any more; a second revoke says it was already stopped.
    run_expecting(ownrecord(&vault).args(["shares", "revoke", &id]), 0);
    let (ok, report) = resolve(&link, "lee-4321-ok");
    assert!(!ok, "a revoked link does not resolve: {report}");
    let shares = json(&run_expecting(
        ownrecord(&vault).args(["--json", "shares"]),
        0,
    ));
    assert_eq!(shares[0]["status"], "revoked");
    let twice = json(&run_expecting(
        ownrecord(&vault).args(["--json", "shares", "revoke", &id]),
        1,
    ));
    assert_eq!(twice["error"]["code"], "share_already_revoked");
    let unknown = json(&run_expecting(
        ownrecord(&vault).args(["--json", "shares", "revoke", "nosuchshare"]),
        1,
    ));
    assert_eq!(unknown["error"]["code"], "unknown_share");
    assert_eq!(
        disclosures(&vault).last().unwrap()["details"]["event"],
        "revoked"
    );
    run_expecting(ownrecord(&vault).args(["audit", "verify"]), 0);
}

#[test]
fn a_refused_owner_token_is_a_clear_error_and_leaves_only_a_failed_row() {
    let host = start_host();
    let work = tempfile::tempdir().unwrap();
    let vault = work.path().join("vault");
    vault_with_a_patient(&vault);
    run_expecting(
        ownrecord(&vault).args(["hosts", "add", &host.base, "--token", "not-the-token"]),
        0,
    );
    let before = disclosures(&vault).len();
    let out = work.path().join("refused.age");
    let failed = run_expecting(
        ownrecord(&vault)
            .args(["share", "--to", "Dr. Lee", "--purpose", "Second opinion"])
            .arg("--out")
            .arg(&out)
            .args(["--shl", "--host", &host.base]),
        1,
    );
    let message = String::from_utf8_lossy(&failed.stderr);
    assert!(message.contains("refused the token"), "{message}");
    assert!(!out.exists());
    assert!(!work.path().join("refused.qr.png").exists());
    let rows = disclosures(&vault);
    assert_eq!(rows.len(), before + 2);
    assert_eq!(rows[before]["details"]["event"], "pending");
    assert_eq!(rows[before + 1]["details"]["event"], "failed");
    let shares = json(&run_expecting(
        ownrecord(&vault).args(["--json", "shares"]),
        0,
    ));
    assert!(shares.as_array().unwrap().is_empty());
    run_expecting(ownrecord(&vault).args(["audit", "verify"]), 0);

    // A host never added: its own error, and nothing written.
    let unknown = json(&run_expecting(
        ownrecord(&vault)
            .args(["--json", "share", "--to", "X", "--purpose", "Y"])
            .arg("--out")
            .arg(&out)
            .args(["--shl", "--host", "https://share.example.org"]),
        1,
    ));
    assert_eq!(unknown["error"]["code"], "unknown_host");
    assert_eq!(disclosures(&vault).len(), before + 2);
    run_expecting(ownrecord(&vault).args(["hosts", "remove", &host.base]), 0);
    let hosts = json(&run_expecting(
        ownrecord(&vault).args(["--json", "hosts"]),
        0,
    ));
    assert!(hosts.as_array().unwrap().is_empty());
    // --passcode goes only with --host.
    run_expecting(
        ownrecord(&vault)
            .args(["share", "--to", "X", "--purpose", "Y", "--out", "x.age"])
            .args([
                "--shl",
                "--link-url",
                "https://f.example.org/x",
                "--passcode",
                "p",
            ]),
        2,
    );
}

#[test]
fn a_pdf_given_to_someone_is_listed_as_given_to_them() {
    let work = tempfile::tempdir().unwrap();
    let vault = work.path().join("vault");
    vault_with_a_patient(&vault);
    let pdf = work.path().join("for-grandma.pdf");
    let given = json(&run_expecting(
        ownrecord(&vault)
            .args([
                "--json",
                "share",
                "--pdf",
                "--to",
                "Grandma",
                "--purpose",
                "Family: for her files",
            ])
            .arg("--out")
            .arg(&pdf),
        0,
    ));
    assert!(std::fs::read(&pdf).unwrap().starts_with(b"%PDF-"));
    let id = given["id"].as_str().unwrap();
    let shares = json(&run_expecting(
        ownrecord(&vault).args(["--json", "shares"]),
        0,
    ));
    let share = &shares.as_array().unwrap()[0];
    assert_eq!(share["id"], id);
    assert_eq!(share["recipient"], "Grandma");
    assert_eq!(share["status"], "given");
    let row = disclosures(&vault).pop().unwrap();
    assert_eq!(row["details"]["recipient"], "Grandma");
    assert_eq!(row["details"]["what"], "PDF summary");
    // A PDF has no link and no expiry.
    run_expecting(
        ownrecord(&vault)
            .args(["share", "--pdf", "--shl", "--to", "X", "--purpose", "Y"])
            .arg("--out")
            .arg(&pdf),
        2,
    );
    run_expecting(ownrecord(&vault).args(["audit", "verify"]), 0);
}
