//! A full disk mid-import (the file-size limit makes writes fail with EFBIG, as ENOSPC would):
//! a clear error, and nothing lost or half-written.

use crate::{init, json, ownrecord, run_expecting, stderr, write_ndjson};

#[test]
fn a_full_disk_fails_cleanly_and_loses_nothing() {
    let work = tempfile::tempdir().unwrap();
    let vault = work.path().join("vault");
    init(&vault);
    let first = &ownrecord_testkit::patient_files()[0];
    run_expecting(
        ownrecord(&vault)
            .args(["import", "--person", "new"])
            .arg(first),
        0,
    );
    let before = json(&run_expecting(
        ownrecord(&vault).args(["--json", "summary", "--all"]),
        0,
    ));

    let big = work.path().join("big.ndjson");
    write_ndjson(&big, 1, "disk");
    let db_size = std::fs::metadata(vault.join("vault.db")).unwrap().len();
    // Room for a few more MB, not for the whole file.
    let limit_kib = db_size / 1024 + 3 * 1024;
    let script = format!(
        "trap '' XFSZ; ulimit -f {limit_kib}; exec \"$0\" --vault \"$1\" import --person new \"$2\"",
    );
    let out = std::process::Command::new("bash")
        .args(["-c", &script, env!("CARGO_BIN_EXE_ownrecord")])
        .arg(&vault)
        .arg(&big)
        .env_remove("OWNRECORD_PASSPHRASE")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let message = stderr(&out);
    assert!(message.contains("The disk is full"), "{message}");
    assert_eq!(message.lines().count(), 1, "one sentence: {message}");

    run_expecting(ownrecord(&vault).arg("check"), 0);
    let after = json(&run_expecting(
        ownrecord(&vault).args(["--json", "summary", "--all"]),
        0,
    ));
    assert_eq!(after, before, "nothing lost, nothing half-imported");
}
