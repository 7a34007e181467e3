use ownrecord_core::vault::people::PersonChoice;
use std::process::Command;

use ownrecord_core::{Error, KeyProtection, Unlock, Vault};
use ownrecord_testkit::{
    keyring_secret, patient_files, phi_strings, sample_files, scan_dir, vault_id,
};

use crate::{clock, keyring_vault, no_progress, passphrase, reopen};

/// Create → lock → unlock through the real Secret Service; the key there is the vault's key.
#[test]
fn keyring_create_lock_unlock() {
    let dir = tempfile::tempdir().unwrap();
    let mut vault = keyring_vault(dir.path());
    vault
        .import_file(&patient_files()[0], PersonChoice::New, &mut no_progress())
        .unwrap();
    let before = vault.summary(None).unwrap();
    vault.lock().unwrap();
    let key = keyring_secret(&vault_id(dir.path())).expect("the key is in the Secret Service");
    assert_eq!(key.len(), 64, "32 bytes, hex");
    let vault = reopen(dir.path());
    assert_eq!(vault.summary(None).unwrap(), before);
    let kinds: Vec<String> = vault
        .audit_entries(&Default::default())
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(kinds, ["vault_created", "import", "vault_unlocked"]);
}

#[test]
fn creating_twice_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    keyring_vault(dir.path()).lock().unwrap();
    let again = Vault::create(dir.path(), KeyProtection::keyring(), clock());
    assert!(matches!(again, Err(Error::VaultExists(_))));
}

#[test]
fn no_vault_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = Vault::open(&dir.path().join("nothing"), Unlock::default(), clock()).unwrap_err();
    assert!(matches!(err, Error::NoVault(_)));
    assert!(err.to_string().starts_with("No vault was found"), "{err}");
}

/// Passphrase mode needs no keyring; a wrong passphrase is a clear error and changes nothing.
#[test]
fn passphrase_mode_and_wrong_passphrase() {
    let dir = tempfile::tempdir().unwrap();
    let vault = Vault::create(
        dir.path(),
        KeyProtection::passphrase(passphrase("correct horse battery")),
        clock(),
    )
    .unwrap();
    assert!(!vault.settings().keyring);
    assert!(
        keyring_secret(&vault.settings().vault_id).is_none(),
        "nothing written to the keyring"
    );
    vault.lock().unwrap();

    let snapshot = |p: &std::path::Path| -> Vec<(String, Vec<u8>)> {
        let mut files: Vec<_> = std::fs::read_dir(p)
            .unwrap()
            .map(|e| e.unwrap().path())
            .map(|f| {
                (
                    f.file_name().unwrap().to_string_lossy().into_owned(),
                    std::fs::read(&f).unwrap(),
                )
            })
            .collect();
        files.sort();
        files
    };
    let before = snapshot(dir.path());
    let wrong = Vault::open(
        dir.path(),
        Unlock::passphrase(passphrase("wrong horse battery")),
        clock(),
    );
    assert!(matches!(wrong, Err(Error::WrongPassphrase)));
    assert_eq!(
        wrong.unwrap_err().to_string(),
        "The passphrase is wrong. Nothing was changed."
    );
    assert_eq!(
        snapshot(dir.path()),
        before,
        "a wrong passphrase changes no byte"
    );
    let none = Vault::open(dir.path(), Unlock::default(), clock());
    assert!(matches!(none, Err(Error::PassphraseNeeded)));

    let vault = Vault::open(
        dir.path(),
        Unlock::passphrase(passphrase("correct horse battery")),
        clock(),
    )
    .unwrap();
    assert_eq!(vault.audit_entries(&Default::default()).unwrap().len(), 2);
}

/// A keyring vault can add a passphrase; changing it retires the old one.
#[test]
fn add_and_change_passphrase() {
    let dir = tempfile::tempdir().unwrap();
    let mut vault = keyring_vault(dir.path());
    vault.set_passphrase("first passphrase").unwrap();
    vault.lock().unwrap();
    let open_with = |p: &str| Vault::open(dir.path(), Unlock::passphrase(passphrase(p)), clock());
    let mut vault = open_with("first passphrase").unwrap();
    vault.set_passphrase("second passphrase").unwrap();
    assert!(matches!(
        vault.set_passphrase("short"),
        Err(Error::PassphraseTooShort(8))
    ));
    vault.lock().unwrap();
    assert!(matches!(
        open_with("first passphrase"),
        Err(Error::WrongPassphrase)
    ));
    open_with("second passphrase").unwrap().lock().unwrap();
    reopen(dir.path()).lock().unwrap();
}

/// No patient's name, address, phone or identifier appears in any byte of the vault directory,
/// while it is open (WAL present) and after it is closed.
#[test]
fn no_phi_in_any_vault_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut vault = keyring_vault(dir.path());
    for file in sample_files() {
        vault
            .import_file(&file, PersonChoice::New, &mut no_progress())
            .unwrap();
    }
    let phi = phi_strings(&patient_files());
    assert!(
        phi.len() > 100,
        "the scan looks for real strings ({})",
        phi.len()
    );
    assert!(
        dir.path().join("vault.db-wal").exists(),
        "WAL is scanned too"
    );
    let hits = scan_dir(dir.path(), &phi);
    assert!(
        hits.is_empty(),
        "PHI found: {:?}",
        &hits[..hits.len().min(5)]
    );
    // The scanner does find PHI where it is: in the sample files themselves.
    assert!(!scan_dir(&ownrecord_testkit::sample_dir(), &phi).is_empty());
    vault.lock().unwrap();
    assert!(scan_dir(dir.path(), &phi).is_empty());
}

/// A third-party SQLCipher client (PyPI sqlcipher3) opens the vault with the raw key and reads a
/// resource; the wrong key fails with a clear error.
#[test]
fn third_party_sqlcipher_reads_the_vault() {
    let dir = tempfile::tempdir().unwrap();
    let mut vault = keyring_vault(dir.path());
    vault
        .import_file(&patient_files()[0], PersonChoice::New, &mut no_progress())
        .unwrap();
    vault.lock().unwrap();
    let key = keyring_secret(&vault_id(dir.path())).unwrap();
    let script = r#"
import sys, json, sqlcipher3
db = sqlcipher3.connect(sys.argv[1])
db.execute("PRAGMA key = \"x'%s'\"" % sys.argv[2])
db.execute("PRAGMA cipher_page_size = %d" % int(sys.argv[3]))
try:
    row = db.execute("SELECT json FROM resources WHERE resource_type = 'Patient'").fetchone()
except sqlcipher3.DatabaseError as e:
    print("error:", e); sys.exit(3)
print(json.loads(row[0])["resourceType"])
"#;
    let run = |key: &str| {
        Command::new(std::env::var("OWNRECORD_PYTHON").unwrap_or_else(|_| "python3".into()))
            .args([
                "-c",
                script,
                dir.path().join("vault.db").to_str().unwrap(),
                key,
                &ownrecord_core::vault::CIPHER_PAGE_SIZE.to_string(),
            ])
            .output()
            .expect("python3 runs")
    };
    let ok = run(&key);
    assert!(
        ok.status.success(),
        "sqlcipher3 failed: {}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&ok.stdout).trim(), "Patient");
    let wrong = run(&"00".repeat(32));
    assert_eq!(wrong.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&wrong.stdout).contains("file is not a database"));
}

/// Opening with a key that is not the vault's says so clearly.
#[test]
fn wrong_key_is_a_clear_error() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    keyring_vault(a.path()).lock().unwrap();
    keyring_vault(b.path()).lock().unwrap();
    // Swap the databases: each vault.json now points at a key that does not fit.
    std::fs::copy(a.path().join("vault.db"), b.path().join("vault.db")).unwrap();
    let err = Vault::open(b.path(), Unlock::default(), clock()).unwrap_err();
    assert!(matches!(err, Error::WrongKey), "{err:?}");
    assert!(err.to_string().contains("could not be opened with its key"));
}

#[test]
fn integrity_checks_pass_on_a_sound_vault() {
    let dir = tempfile::tempdir().unwrap();
    let mut vault = keyring_vault(dir.path());
    vault
        .import_file(&patient_files()[1], PersonChoice::New, &mut no_progress())
        .unwrap();
    assert_eq!(vault.integrity_problems().unwrap(), Vec::<String>::new());
}
