use ownrecord_core::Error;
use ownrecord_core::vault::people::PersonChoice;
use ownrecord_testkit::patient_files;

use crate::{keyring_vault, no_progress, raw_connection, reopen};

/// UPDATE and DELETE through SQL are refused by the triggers.
#[test]
fn the_log_refuses_update_and_delete() {
    let dir = tempfile::tempdir().unwrap();
    let mut vault = keyring_vault(dir.path());
    vault
        .import_file(&patient_files()[0], PersonChoice::New, &mut no_progress())
        .unwrap();
    vault.lock().unwrap();
    let conn = raw_connection(dir.path());
    let update = conn.execute("UPDATE audit_log SET details = '{}' WHERE seq = 2", []);
    assert!(update.unwrap_err().to_string().contains("append-only"));
    let delete = conn.execute("DELETE FROM audit_log WHERE seq = 1", []);
    assert!(delete.unwrap_err().to_string().contains("append-only"));
}

/// Editing a row's bytes behind the triggers' back is caught by `verify`, which names the row.
#[test]
fn tampering_is_detected_and_the_row_named() {
    let dir = tempfile::tempdir().unwrap();
    let mut vault = keyring_vault(dir.path());
    for file in &patient_files()[..3] {
        vault
            .import_file(file, PersonChoice::New, &mut no_progress())
            .unwrap();
    }
    assert_eq!(vault.verify_audit().unwrap().entries, 4);
    vault.lock().unwrap();

    let conn = raw_connection(dir.path());
    conn.execute_batch(
        "DROP TRIGGER audit_log_refuses_update;
         UPDATE audit_log SET details = replace(details, '\"new\":', '\"new\":1') WHERE seq = 3;",
    )
    .unwrap();
    drop(conn);
    let vault = reopen(dir.path());
    let err = vault.verify_audit().unwrap_err();
    assert!(matches!(err, Error::AuditBroken { seq: 3, .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "The audit log has been tampered with: entry 3 was changed after it was written."
    );
}

/// Deleting a row (with the trigger dropped) breaks the chain at the next row.
#[test]
fn a_deleted_row_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let mut vault = keyring_vault(dir.path());
    for file in &patient_files()[..2] {
        vault
            .import_file(file, PersonChoice::New, &mut no_progress())
            .unwrap();
    }
    vault.lock().unwrap();
    let conn = raw_connection(dir.path());
    conn.execute_batch(
        "DROP TRIGGER audit_log_refuses_delete; DELETE FROM audit_log WHERE seq = 2;",
    )
    .unwrap();
    drop(conn);
    let err = reopen(dir.path()).verify_audit().unwrap_err();
    assert!(matches!(err, Error::AuditBroken { seq: 3, .. }), "{err:?}");
}

/// The exported log verifies on its own, and a changed detail in the file is caught.
#[test]
fn exported_log_verifies_without_the_vault() {
    let dir = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let mut vault = keyring_vault(dir.path());
    vault
        .import_file(&patient_files()[0], PersonChoice::New, &mut no_progress())
        .unwrap();
    let path = out.path().join("audit.json");
    assert_eq!(vault.export_audit(&path).unwrap(), 2);
    let mut log: ownrecord_core::audit::ExportedLog =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(
        ownrecord_core::audit::verify_exported(&log)
            .unwrap()
            .entries,
        2
    );
    log.entries[1].details.as_mut().unwrap()["new"] = serde_json::json!(9999);
    assert!(matches!(
        ownrecord_core::audit::verify_exported(&log),
        Err(Error::AuditBroken { seq: 2, .. })
    ));
}
