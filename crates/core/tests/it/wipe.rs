use ownrecord_core::audit::{ExportedLog, verify_exported};
use ownrecord_core::vault::people::PersonChoice;
use ownrecord_testkit::{
    keyring_secret, patient_files, phi_strings, sample_files, scan_dir, vault_id,
};

use crate::{keyring_vault, no_progress};

/// After wipe: no vault file, no keyring entry, no PHI anywhere in the directory.
#[tokio::test]
async fn wipe_leaves_nothing() {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("vault");
    let mut vault = keyring_vault(&dir);
    for file in sample_files() {
        vault
            .import_file(&file, PersonChoice::New, &mut no_progress())
            .unwrap();
    }
    let id = vault_id(&dir);
    assert!(keyring_secret(&id).is_some());
    let report = vault.wipe(false).await.unwrap();
    assert!(report.keyring_entry_removed);
    assert!(report.bytes_overwritten > 1_000_000);
    assert!(report.files_removed.contains(&"vault.db".to_owned()));
    assert!(
        keyring_secret(&id).is_none(),
        "the key is gone from the Secret Service"
    );
    assert!(!dir.exists(), "the emptied vault directory is removed");
    assert!(scan_dir(parent.path(), &phi_strings(&patient_files())).is_empty());
}

/// With --keep-disclosure-log only the log survives: verifiable, without file names or PHI.
#[tokio::test]
async fn wipe_can_keep_the_disclosure_log() {
    let dir = tempfile::tempdir().unwrap();
    let mut vault = keyring_vault(dir.path());
    for file in sample_files() {
        vault
            .import_file(&file, PersonChoice::New, &mut no_progress())
            .unwrap();
    }
    let report = vault.wipe(true).await.unwrap();
    let log_path = report.disclosure_log.unwrap();
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["disclosure-log.json"]);
    let log: ExportedLog = serde_json::from_slice(&std::fs::read(&log_path).unwrap()).unwrap();
    let verified = verify_exported(&log).unwrap();
    assert_eq!(verified.entries as usize, sample_files().len() + 2);
    assert_eq!(log.entries.last().unwrap().kind, "wipe");
    assert!(
        log.entries
            .iter()
            .filter(|e| e.kind == "import")
            .all(|e| e.details.is_none())
    );
    let phi = phi_strings(&patient_files());
    assert!(scan_dir(dir.path(), &phi).is_empty());
    let text = std::fs::read_to_string(&log_path).unwrap();
    assert!(!text.contains(".json\""), "no imported file names survive");
}
