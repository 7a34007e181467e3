//! Recovery keys, backups and restores with real parts: SQLCipher files, the real Secret Service,
//! the demo portal syncing while a backup runs, a third-party SQLCipher client.

use std::path::{Path, PathBuf};
use std::process::Command;

use ownrecord_core::backup::restore::{RestoreRequest, restore};
use ownrecord_core::backup::{self, BackupReport};
use ownrecord_core::vault::people::PersonChoice;
use ownrecord_core::vault::recovery::RecoveryKey;
use ownrecord_core::{Error, Unlock, Vault};
use ownrecord_testkit::{keyring_secret, patient_files, phi_strings, scan_dir};
use zeroize::Zeroizing;

use crate::{clock, keyring_vault, no_progress, reopen};

fn typed(key: &RecoveryKey) -> Zeroizing<String> {
    key.to_text()
}

/// A keyring vault holding the first two sample patients, and its recovery key.
fn vault_with_patients(dir: &Path) -> (Vault, RecoveryKey) {
    let mut vault = keyring_vault(dir);
    let key = vault.take_new_recovery_key().expect("made with the vault");
    assert!(vault.take_new_recovery_key().is_none(), "shown once");
    for file in &patient_files()[..2] {
        vault
            .import_file(file, PersonChoice::New, &mut no_progress())
            .unwrap();
    }
    (vault, key)
}

/// Every file under `dir` with its bytes, to prove nothing changed.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push((path.clone(), std::fs::read(&path).unwrap()));
            }
        }
    }
    files.sort();
    files
}

fn restore_with(from: &Path, to: &Path, key: &RecoveryKey) -> Result<Vault, Error> {
    restore(
        RestoreRequest {
            from,
            to,
            unlock: Unlock::recovery_key(typed(key)),
            replace: false,
            as_new: false,
        },
        clock(),
    )
    .map(|(vault, _)| vault)
}

#[test]
fn the_recovery_key_opens_a_vault_whose_keyring_entry_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let (vault, key) = vault_with_patients(dir.path());
    let digests = vault.resource_digests().unwrap();
    let vault_id = vault.settings().vault_id.clone();
    vault.lock().unwrap();

    ownrecord_testkit::clear_keyring_secret(&vault_id);
    assert!(matches!(
        Vault::open(dir.path(), Unlock::default(), clock()),
        Err(Error::KeyMissing)
    ));
    let before = snapshot(dir.path());
    let wrong = Vault::open(
        dir.path(),
        Unlock::recovery_key(typed(&RecoveryKey::generate())),
        clock(),
    )
    .unwrap_err();
    assert!(matches!(wrong, Error::WrongRecoveryKey), "{wrong}");
    assert_eq!(wrong.to_string().lines().count(), 1);
    let mut typo: Vec<char> = typed(&key).chars().collect();
    typo[0] = if typo[0] == 'X' { 'Y' } else { 'X' };
    let typo = Vault::open(
        dir.path(),
        Unlock::recovery_key(Zeroizing::new(typo.into_iter().collect())),
        clock(),
    )
    .unwrap_err();
    assert!(matches!(typo, Error::RecoveryKeyTypo), "{typo}");
    assert_eq!(snapshot(dir.path()), before, "a wrong key changes no byte");
    assert!(keyring_secret(&vault_id).is_none());

    // Typed as a patient might: lower case, spaces for dashes.
    let sloppy = typed(&key).to_lowercase().replace('-', " ");
    let vault = Vault::open(
        dir.path(),
        Unlock::recovery_key(Zeroizing::new(sloppy)),
        clock(),
    )
    .unwrap();
    assert_eq!(vault.resource_digests().unwrap(), digests);
    let last = vault
        .audit_entries(&Default::default())
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(last.kind, "vault_unlocked");
    let details = last.details;
    assert_eq!(details["method"], "recovery_key");
    assert_eq!(details["keyring_restored"], true);
    vault.lock().unwrap();
    assert!(
        keyring_secret(&vault_id).is_some(),
        "the key is back in the keyring"
    );
    reopen(dir.path()).lock().unwrap();
}

#[test]
fn a_new_recovery_key_retires_the_old_one() {
    let dir = tempfile::tempdir().unwrap();
    let mut vault = keyring_vault(dir.path());
    let old = vault.take_new_recovery_key().unwrap();
    let new = vault.new_recovery_key().unwrap();
    assert!(vault.take_new_recovery_key().is_none());
    let last = vault
        .audit_entries(&Default::default())
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(last.kind, "recovery_key_set");
    vault.lock().unwrap();
    let open =
        |key: &RecoveryKey| Vault::open(dir.path(), Unlock::recovery_key(typed(key)), clock());
    assert!(matches!(open(&old), Err(Error::WrongRecoveryKey)));
    open(&new).unwrap().lock().unwrap();
}

#[test]
fn a_vault_from_before_recovery_keys_says_it_has_none() {
    let dir = tempfile::tempdir().unwrap();
    let vault = keyring_vault(dir.path());
    vault.lock().unwrap();
    // What vault.json looked like before: no `recovery` seal.
    let path = dir.path().join("vault.json");
    let mut settings: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    settings.as_object_mut().unwrap().remove("recovery");
    std::fs::write(&path, serde_json::to_vec(&settings).unwrap()).unwrap();
    let mut vault = reopen(dir.path());
    assert!(!vault.has_recovery_key());
    let key = vault.new_recovery_key().unwrap();
    assert!(vault.has_recovery_key());
    vault.lock().unwrap();
    let e = Vault::open(
        dir.path(),
        Unlock::recovery_key(typed(&RecoveryKey::generate())),
        clock(),
    )
    .unwrap_err();
    assert!(matches!(e, Error::WrongRecoveryKey));
    Vault::open(dir.path(), Unlock::recovery_key(typed(&key)), clock()).unwrap();
}

#[test]
fn a_restored_vault_holds_the_same_record_and_a_sound_audit_log() {
    let work = tempfile::tempdir().unwrap();
    let (vault, key) = vault_with_patients(&work.path().join("vault"));
    let backups = work.path().join("backups");
    let report: BackupReport = vault.backup_to(&backups).unwrap();
    assert!(report.generation.starts_with(&backups));
    assert_eq!(
        report.counts.resources,
        vault.summary(None).unwrap().resources
    );
    let digests = vault.resource_digests().unwrap();
    let entries = vault.audit_entries(&Default::default()).unwrap().len();

    // From the backup folder (its newest generation), with the recovery key only.
    let restored = restore_with(&backups, &work.path().join("restored"), &key).unwrap();
    assert_eq!(restored.resource_digests().unwrap(), digests);
    assert!(restored.integrity_problems().unwrap().is_empty());
    let chain = restored.verify_audit().unwrap();
    // The backup's entries, then the unlock and the restore.
    assert_eq!(chain.entries as usize, entries + 2);
    let last = restored
        .audit_entries(&Default::default())
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(last.kind, "restored");
    assert_eq!(
        restored.people().unwrap().len(),
        vault.people().unwrap().len()
    );
}

#[test]
fn the_backup_holds_no_phi_and_opens_only_with_the_key() {
    let work = tempfile::tempdir().unwrap();
    let (vault, _) = vault_with_patients(&work.path().join("vault"));
    let report = vault.backup_to(&work.path().join("backups")).unwrap();
    let phi = phi_strings(&patient_files()[..2]);
    assert!(phi.len() > 10);
    assert!(
        scan_dir(&work.path().join("backups"), &phi).is_empty(),
        "no PHI in the backup"
    );
    let db = report.generation.join("vault.db");
    let script = r#"
import sys, sqlcipher3
db = sqlcipher3.connect(sys.argv[1])
if sys.argv[2]:
    db.execute("PRAGMA key = \"x'%s'\"" % sys.argv[2])
    db.execute("PRAGMA cipher_page_size = %d" % int(sys.argv[3]))
try:
    print(db.execute("SELECT count(*) FROM resources").fetchone()[0])
except sqlcipher3.DatabaseError as e:
    print("error:", e); sys.exit(3)
"#;
    let run = |key: &str| {
        Command::new(std::env::var("OWNRECORD_PYTHON").unwrap_or_else(|_| "python3".into()))
            .args(["-c", script, db.to_str().unwrap(), key])
            .arg(ownrecord_core::vault::CIPHER_PAGE_SIZE.to_string())
            .output()
            .expect("python3 runs")
    };
    for no_key in ["", &"00".repeat(32)] {
        let out = run(no_key);
        assert_eq!(
            out.status.code(),
            Some(3),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("file is not a database"));
    }
    let key = keyring_secret(&vault.settings().vault_id).unwrap();
    let out = run(&key);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        report.counts.resources.to_string(),
        "with the key, the third-party client reads the whole copy"
    );
}

/// Copies a generation so each tampering starts from a sound backup.
fn copy_generation(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

fn flip_byte(path: &Path, at: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    let at = at.min(bytes.len() - 1);
    bytes[at] ^= 0x01;
    std::fs::write(path, bytes).unwrap();
}

fn edit_manifest(generation: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let path = generation.join("manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    edit(&mut manifest);
    std::fs::write(&path, serde_json::to_vec_pretty(&manifest).unwrap()).unwrap();
}

fn sha256_hex(path: &Path) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(std::fs::read(path).unwrap()))
}

#[test]
fn damaged_or_changed_backups_are_refused_and_nothing_is_written() {
    let work = tempfile::tempdir().unwrap();
    let (vault, key) = vault_with_patients(&work.path().join("vault"));
    let sound = vault
        .backup_to(&work.path().join("backups"))
        .unwrap()
        .generation;
    let (other, other_key) = vault_with_patients(&work.path().join("other"));
    let other_generation = other
        .backup_to(&work.path().join("other-backups"))
        .unwrap()
        .generation;

    type Tamper = Box<dyn Fn(&Path)>;
    let cases: Vec<(&str, Tamper, &str)> = vec![
        (
            "a flipped byte in the database",
            Box::new(|g: &Path| flip_byte(&g.join("vault.db"), 70_000)),
            "a file does not match its checksum",
        ),
        (
            "a flipped byte in the database, its hash updated in the manifest",
            Box::new(|g: &Path| {
                flip_byte(&g.join("vault.db"), 70_000);
                let hash = sha256_hex(&g.join("vault.db"));
                edit_manifest(g, |m| m["files"][0]["sha256"] = hash.into());
            }),
            "its manifest was changed",
        ),
        (
            "a changed count in the manifest",
            Box::new(|g: &Path| {
                edit_manifest(g, |m| {
                    let n = m["counts"]["resources"].as_i64().unwrap();
                    m["counts"]["resources"] = (n + 1).into();
                })
            }),
            "its manifest was changed",
        ),
        (
            "a flipped byte in the manifest's MAC",
            Box::new(|g: &Path| {
                edit_manifest(g, |m| {
                    let mac = m["mac"].as_str().unwrap();
                    let flipped = if mac.starts_with('0') { "1" } else { "0" };
                    m["mac"] = format!("{flipped}{}", &mac[1..]).into();
                })
            }),
            "its manifest was changed",
        ),
        (
            "an unreadable manifest",
            Box::new(|g: &Path| flip_byte(&g.join("manifest.json"), 0)),
            "its manifest cannot be read",
        ),
        (
            "a missing database",
            Box::new(|g: &Path| std::fs::remove_file(g.join("vault.db")).unwrap()),
            "a file is missing",
        ),
    ];
    for (i, (what, tamper, why)) in cases.iter().enumerate() {
        let generation = work.path().join(format!("tampered-{i}"));
        copy_generation(&sound, &generation);
        tamper(&generation);
        let target = work.path().join(format!("target-{i}"));
        let e = restore_with(&generation, &target, &key).unwrap_err();
        assert!(
            matches!(&e, Error::BackupDamaged { why: w, .. } if w == why),
            "{what}: {e}"
        );
        assert_eq!(e.to_string().lines().count(), 1);
        assert!(!target.exists(), "{what}: nothing written");
    }

    // Another vault's database in this vault's generation: the files no longer match.
    let mixed = work.path().join("mixed");
    copy_generation(&sound, &mixed);
    std::fs::copy(other_generation.join("vault.db"), mixed.join("vault.db")).unwrap();
    let e = restore_with(&mixed, &work.path().join("target-mixed"), &key).unwrap_err();
    assert!(matches!(e, Error::BackupDamaged { .. }), "{e}");

    // The sound backup restores; over a vault that is not its own it is refused, nothing changed.
    let before = snapshot(&work.path().join("other"));
    other.lock().unwrap();
    let before_locked = snapshot(&work.path().join("other"));
    assert!(!before.is_empty());
    let e = restore_with(&sound, &work.path().join("other"), &key).unwrap_err();
    assert!(matches!(e, Error::RestoreOverOtherVault(_)), "{e}");
    assert_eq!(snapshot(&work.path().join("other")), before_locked);
    let _ = other_key;

    // Over itself: only with `replace`, which rolls it back.
    let vault_dir = work.path().join("vault");
    let digests = vault.resource_digests().unwrap();
    let mut vault = vault;
    vault
        .import_file(&patient_files()[2], PersonChoice::New, &mut no_progress())
        .unwrap();
    vault.lock().unwrap();
    let e = restore_with(&sound, &vault_dir, &key).unwrap_err();
    assert!(matches!(e, Error::RestoreOverVault(_)), "{e}");
    let (rolled_back, _) = restore(
        RestoreRequest {
            from: &sound,
            to: &vault_dir,
            unlock: Unlock::recovery_key(typed(&key)),
            replace: true,
            as_new: false,
        },
        clock(),
    )
    .unwrap();
    assert_eq!(rolled_back.resource_digests().unwrap(), digests);
}

#[test]
fn restored_as_new_it_has_its_own_id_keyring_entry_and_recovery_key() {
    let work = tempfile::tempdir().unwrap();
    let (vault, key) = vault_with_patients(&work.path().join("vault"));
    let generation = vault
        .backup_to(&work.path().join("backups"))
        .unwrap()
        .generation;
    let original_id = vault.settings().vault_id.clone();
    let original_secret = keyring_secret(&original_id).unwrap();
    let (mut copy, _) = restore(
        RestoreRequest {
            from: &generation,
            to: &work.path().join("copy"),
            unlock: Unlock::recovery_key(typed(&key)),
            replace: false,
            as_new: true,
        },
        clock(),
    )
    .unwrap();
    assert_ne!(copy.settings().vault_id, original_id);
    assert_eq!(
        copy.resource_digests().unwrap(),
        vault.resource_digests().unwrap()
    );
    let new_key = copy
        .take_new_recovery_key()
        .expect("a new recovery key, shown once");
    let copy_id = copy.settings().vault_id.clone();
    copy.lock().unwrap();
    assert!(keyring_secret(&copy_id).is_some());
    assert_eq!(keyring_secret(&original_id).unwrap(), original_secret);
    // The old recovery key belongs to the original only.
    let e = Vault::open(
        &work.path().join("copy"),
        Unlock::recovery_key(typed(&key)),
        clock(),
    )
    .unwrap_err();
    assert!(matches!(e, Error::WrongRecoveryKey), "{e}");
    Vault::open(
        &work.path().join("copy"),
        Unlock::recovery_key(typed(&new_key)),
        clock(),
    )
    .unwrap();
}

#[test]
fn generations_are_thinned_and_interrupted_ones_ignored_then_removed() {
    let work = tempfile::tempdir().unwrap();
    let (vault, key) = vault_with_patients(&work.path().join("vault"));
    let backups = work.path().join("backups");
    std::fs::create_dir_all(&backups).unwrap();
    let job = vault.backup_job();
    let first = job.run(&backups, 3).unwrap().generation;
    // An interrupted backup newer than every complete one, and something else of the patient's.
    let partial = backups.join(".ownrecord-backup-2999-01-01T000000Z.partial");
    std::fs::create_dir(&partial).unwrap();
    std::fs::write(partial.join("vault.db"), b"half").unwrap();
    std::fs::write(backups.join("notes.txt"), b"mine").unwrap();
    let restored = restore_with(&backups, &work.path().join("r1"), &key).unwrap();
    assert_eq!(
        restored.resource_digests().unwrap(),
        vault.resource_digests().unwrap()
    );

    let mut made = vec![first];
    for _ in 0..4 {
        made.push(job.run(&backups, 3).unwrap().generation);
    }
    assert!(!partial.exists(), "the next backup cleans up");
    assert!(
        backups.join("notes.txt").exists(),
        "other files are left alone"
    );
    let left: Vec<PathBuf> = backup::generations(&backups)
        .into_iter()
        .map(|g| g.path)
        .collect();
    // Three newest, plus the newest older one of this month.
    assert_eq!(left.len(), 4, "{left:?}");
    assert_eq!(left[1..], made[2..]);
    assert_eq!(left[0], made[1]);
}

#[test]
fn a_missing_folder_is_one_sentence() {
    let work = tempfile::tempdir().unwrap();
    let mut vault = keyring_vault(&work.path().join("vault"));
    let gone = work.path().join("usb-drive");
    vault.set_backup_folder(Some(&gone)).unwrap();
    let status = vault.backup_status().unwrap();
    assert!(!status.present);
    assert!(status.problem.unwrap().contains("is not there"));
    let e = vault.backup_job().run(&gone, 10).unwrap_err();
    assert!(matches!(e, Error::BackupFolderMissing(_)));
    std::fs::create_dir(&gone).unwrap();
    let report = vault.backup_job().run(&gone, 10).unwrap();
    let status = vault.backup_status().unwrap();
    assert_eq!(status.generations, 1);
    assert_eq!(status.last_backup.as_deref(), Some(report.created.as_str()));
    assert!(status.problem.is_none());
    let audit = vault.audit_entries(&Default::default()).unwrap();
    assert!(audit.iter().any(|e| e.kind == "backup_folder"));
}

/// Backups taken while a sync writes are each one consistent snapshot: they restore, pass every
/// check, and hold a prefix of the sync (never a page without its audit row, or the reverse).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backups_taken_during_a_sync_restore_to_consistent_vaults() {
    let work = tempfile::tempdir().unwrap();
    let portal = crate::portal::start(ownrecord_demo_portal::Options {
        page_size: 2,
        ..Default::default()
    })
    .await;
    let mut vault = keyring_vault(&work.path().join("vault"));
    let key = vault.take_new_recovery_key().unwrap();
    let connection = crate::portal::connect(&mut vault, &portal).await;
    let job = vault.backup_job();
    let backups = work.path().join("backups");
    std::fs::create_dir_all(&backups).unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let backing_up = {
        let (stop, count, backups) = (stop.clone(), count.clone(), backups.clone());
        std::thread::spawn(move || {
            let mut made = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                made.push(job.run(&backups, 1000).unwrap());
                count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
            made
        })
    };
    // Several backups fall inside the sync whatever the machine's speed: at its 3rd and 8th
    // pages the sync waits for one more backup to finish.
    let mut pages = 0;
    let report = vault
        .sync(
            connection.id,
            ownrecord_core::sync::SyncOptions::default(),
            &mut |_| {
                pages += 1;
                if pages == 3 || pages == 8 {
                    let seen = count.load(std::sync::atomic::Ordering::SeqCst);
                    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
                    while count.load(std::sync::atomic::Ordering::SeqCst) <= seen
                        && std::time::Instant::now() < deadline
                    {
                        std::thread::sleep(std::time::Duration::from_millis(5));
                    }
                }
            },
        )
        .await
        .unwrap();
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let made = backing_up.join().unwrap();
    assert!(
        made.len() >= 2,
        "several backups during the sync: {}",
        made.len()
    );
    let total = vault.summary(None).unwrap().resources;
    assert!(report.counts.total() > 0);
    let mut resources = Vec::new();
    for (i, backup) in made.iter().enumerate() {
        let restored = restore_with(&backup.generation, &work.path().join(format!("r{i}")), &key)
            .unwrap_or_else(|e| panic!("backup {i} restores: {e}"));
        let summary = restored.summary(None).unwrap();
        assert!(summary.resources <= total);
        resources.push(summary.resources);
    }
    assert!(resources.windows(2).all(|w| w[0] <= w[1]), "{resources:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wipe_deletes_the_vaults_backups_and_leaves_others() {
    let work = tempfile::tempdir().unwrap();
    let folder = work.path().join("backups");
    let (mut vault, _) = vault_with_patients(&work.path().join("vault"));
    vault.set_backup_folder(Some(&folder)).unwrap();
    vault.backup_to(&folder).unwrap();
    vault.backup_to(&folder).unwrap();
    let mut other = keyring_vault(&work.path().join("other"));
    other.set_backup_folder(Some(&folder)).unwrap();
    let others = other.backup_to(&folder).unwrap().generation;
    std::fs::create_dir(folder.join(".ownrecord-backup-2999-01-01T000000Z.partial")).unwrap();

    let report = vault.wipe(false).await.unwrap();
    assert_eq!(report.backups_removed, 2);
    assert_eq!(report.backups_not_reached, None);
    assert_eq!(backup::generations(&folder).len(), 1);
    assert!(
        others.join("manifest.json").exists(),
        "another vault's backup stays"
    );
    assert!(
        !folder
            .join(".ownrecord-backup-2999-01-01T000000Z.partial")
            .exists()
    );

    // An unplugged drive is named, and the wipe of the vault itself still completes.
    std::fs::rename(&folder, work.path().join("unplugged")).unwrap();
    let report = other.wipe(false).await.unwrap();
    assert_eq!(report.backups_not_reached, Some(folder));
    assert!(!work.path().join("other/vault.db").exists());
}

#[test]
fn a_passphrase_vault_restores_with_its_passphrase_and_a_wrong_key_writes_nothing() {
    let work = tempfile::tempdir().unwrap();
    let mut vault = Vault::create(
        &work.path().join("vault"),
        ownrecord_core::KeyProtection::passphrase(Zeroizing::new("correct horse battery".into())),
        clock(),
    )
    .unwrap();
    vault
        .import_file(&patient_files()[0], PersonChoice::New, &mut no_progress())
        .unwrap();
    let generation = vault
        .backup_to(&work.path().join("backups"))
        .unwrap()
        .generation;
    let target = work.path().join("restored");
    let attempt = |unlock: Unlock| {
        restore(
            RestoreRequest {
                from: &generation,
                to: &target,
                unlock,
                replace: false,
                as_new: false,
            },
            clock(),
        )
    };
    let e = attempt(Unlock::passphrase(Zeroizing::new(
        "wrong horse battery".into(),
    )))
    .unwrap_err();
    assert!(matches!(e, Error::WrongPassphrase), "{e}");
    let e = attempt(Unlock::recovery_key(typed(&RecoveryKey::generate()))).unwrap_err();
    assert!(matches!(e, Error::WrongRecoveryKey), "{e}");
    let e = attempt(Unlock::default()).unwrap_err();
    assert!(matches!(e, Error::PassphraseNeeded), "{e}");
    assert!(!target.exists(), "nothing written");
    let (restored, report) = attempt(Unlock::passphrase(Zeroizing::new(
        "correct horse battery".into(),
    )))
    .unwrap();
    assert!(
        !report.keyring,
        "a passphrase vault stays out of the keyring"
    );
    assert_eq!(
        restored.resource_digests().unwrap(),
        vault.resource_digests().unwrap()
    );
}
