//! Recovery keys, backups and restores as a user runs them: a new computer with a fresh keyring,
//! a lost keyring entry, `kill -9` during a backup, a full disk.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Instant;

use ownrecord_core::vault::Unlock;
use ownrecord_core::{SystemClock, Vault};
use zeroize::Zeroizing;

use crate::{init, json, ownrecord, run_expecting, stderr, write_ndjson};

/// `init --json`: a keyring vault, and the recovery key it printed once.
fn init_with_key(vault: &Path) -> String {
    ownrecord_testkit::require_secret_service();
    let out = run_expecting(ownrecord(vault).args(["--json", "init"]), 0);
    let key = json(&out)["recovery_key"].as_str().unwrap().to_owned();
    assert_eq!(key.len(), 47, "8 groups of 5: {key}");
    key
}

fn import_patients(vault: &Path, n: usize) {
    for file in &ownrecord_testkit::patient_files()[..n] {
        run_expecting(
            ownrecord(vault)
                .args(["import", "--person", "new"])
                .arg(file),
            0,
        );
    }
}

fn digests(vault: &Path, unlock: Unlock) -> std::collections::BTreeSet<(String, String, String)> {
    let v = Vault::open(vault, unlock, std::sync::Arc::new(SystemClock)).unwrap();
    v.resource_digests().unwrap()
}

fn generations(folder: &Path) -> Vec<PathBuf> {
    ownrecord_core::backup::generations(folder)
        .into_iter()
        .map(|g| g.path)
        .collect()
}

fn partials(folder: &Path) -> Vec<String> {
    std::fs::read_dir(folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".partial"))
        .collect()
}

#[test]
fn init_prints_the_recovery_key_once() {
    let work = tempfile::tempdir().unwrap();
    init_with_key(&work.path().join("a"));
    ownrecord_testkit::require_secret_service();
    let out = run_expecting(ownrecord(&work.path().join("b")).arg("init"), 0);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Your recovery key"), "{text}");
    let key = text
        .lines()
        .map(str::trim)
        .find(|l| l.len() == 47 && l.matches('-').count() == 7)
        .expect("the key on a line of its own");
    // Nothing else prints it again.
    let summary = run_expecting(ownrecord(&work.path().join("b")).arg("summary"), 0);
    assert!(!String::from_utf8_lossy(&summary.stdout).contains(key));
    assert!(!String::from_utf8_lossy(&summary.stderr).contains(key));
}

/// On a "new computer" (a fresh data folder and a fresh keyring on a new D-Bus session), the
/// backup restores with the recovery key only; the record is identical, the audit chain verifies,
/// and the keyring holds the key again, so the vault opens without it from then on.
#[test]
fn a_new_computer_restores_with_the_recovery_key_only() {
    let work = tempfile::tempdir().unwrap();
    let vault = work.path().join("vault");
    let key = init_with_key(&vault);
    import_patients(&vault, 3);
    let backups = work.path().join("usb");
    run_expecting(ownrecord(&vault).args(["backup", "--to"]).arg(&backups), 0);
    let before = digests(&vault, Unlock::default());
    let vault_id = ownrecord_testkit::vault_id(&vault);

    let restored = work.path().join("new-computer/OwnRecord");
    let keyring_home = work.path().join("new-computer/keyrings");
    std::fs::create_dir_all(&keyring_home).unwrap();
    let script = r#"
set -e
eval "$(printf new-computer | gnome-keyring-daemon --unlock --components=secrets)"
export GNOME_KEYRING_CONTROL
if secret-tool lookup service ownrecord username "vault-$VAULT_ID" >/dev/null; then
  echo "the new keyring already knows the vault" >&2; exit 9
fi
OWNRECORD_RECOVERY_KEY="$KEY" "$BIN" --vault "$TARGET" restore --from "$FROM"
"$BIN" --vault "$TARGET" audit verify
"$BIN" --vault "$TARGET" check
secret-tool lookup service ownrecord username "vault-$VAULT_ID" >/dev/null
echo keyring-holds-the-key
"#;
    let out = Command::new("dbus-run-session")
        .args(["--", "bash", "-c", script])
        .env("XDG_DATA_HOME", &keyring_home)
        .env("KEY", &key)
        .env("BIN", env!("CARGO_BIN_EXE_ownrecord"))
        .env("TARGET", &restored)
        .env("FROM", &backups)
        .env("VAULT_ID", &vault_id)
        .env_remove("OWNRECORD_PASSPHRASE")
        .env_remove("OWNRECORD_VAULT")
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{printed}\n{}", stderr(&out));
    assert!(printed.contains("Restored the backup"), "{printed}");
    assert!(printed.contains("keyring-holds-the-key"), "{printed}");
    assert!(
        !printed.contains(&key),
        "the recovery key is not printed back"
    );
    let after = digests(&restored, Unlock::recovery_key(Zeroizing::new(key.clone())));
    assert_eq!(after, before, "the same record");
}

#[test]
fn a_lost_keyring_entry_is_recovered_with_the_recovery_key() {
    let work = tempfile::tempdir().unwrap();
    let vault = work.path().join("vault");
    let key = init_with_key(&vault);
    import_patients(&vault, 1);
    let vault_id = ownrecord_testkit::vault_id(&vault);
    ownrecord_testkit::clear_keyring_secret(&vault_id);
    let lost = run_expecting(ownrecord(&vault).arg("summary"), 1);
    assert!(
        stderr(&lost).contains("not in the system keyring"),
        "{}",
        stderr(&lost)
    );

    let wrong = ownrecord_core::vault::recovery::RecoveryKey::generate().to_text();
    let out = run_expecting(
        ownrecord(&vault)
            .args(["unlock", "--recovery-key"])
            .env("OWNRECORD_RECOVERY_KEY", wrong.as_str()),
        1,
    );
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains("does not open this vault"));
    assert!(
        ownrecord_testkit::keyring_secret(&vault_id).is_none(),
        "nothing changed"
    );

    let out = run_expecting(
        ownrecord(&vault)
            .args(["--json", "unlock", "--recovery-key"])
            .env("OWNRECORD_RECOVERY_KEY", &key),
        0,
    );
    assert_eq!(json(&out)["keyring"], true);
    run_expecting(ownrecord(&vault).arg("summary"), 0);

    // A new recovery key: the old one stops working, the new one works.
    let out = run_expecting(ownrecord(&vault).args(["--json", "recovery-key"]), 0);
    let new = json(&out)["recovery_key"].as_str().unwrap().to_owned();
    assert_ne!(new, key);
    let with = |k: &str, code| {
        run_expecting(
            ownrecord(&vault)
                .arg("check")
                .env("OWNRECORD_RECOVERY_KEY", k),
            code,
        )
    };
    with(&key, 1);
    with(&new, 0);
}

fn backup_dir_state(folder: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// `kill -9` at 20 random points of a backup: the previous generation still restores, the
/// partial one is ignored, and the next backup removes it.
#[test]
fn kill_9_during_a_backup_never_damages_the_previous_one() {
    let work = tempfile::tempdir().unwrap();
    let vault = work.path().join("vault");
    let key = init_with_key(&vault);
    let big = work.path().join("big.ndjson");
    write_ndjson(&big, 2, "k");
    run_expecting(
        ownrecord(&vault)
            .args(["import", "--person", "new"])
            .arg(&big),
        0,
    );
    let backups = work.path().join("backups");
    let started = Instant::now();
    run_expecting(ownrecord(&vault).args(["backup", "--to"]).arg(&backups), 0);
    let full = started.elapsed();

    let mut rng = crate::Rng::from_clock();
    eprintln!("backup crash seed {}, full backup {full:?}", rng.seed());
    let mut interrupted = 0;
    for round in 0..20 {
        let fraction = 0.1 + 0.9 * rng.next_f64();
        let mut child = ownrecord(&vault)
            .args(["backup", "--to"])
            .arg(&backups)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(full.mul_f64(fraction));
        let _ = child.kill();
        interrupted += usize::from(!child.wait().unwrap().success());

        let target = work.path().join(format!("restored-{round}"));
        let out = run_expecting(
            ownrecord(&target)
                .args(["--json", "restore", "--from"])
                .arg(&backups)
                .env("OWNRECORD_RECOVERY_KEY", &key),
            0,
        );
        let generation = json(&out)["generation"].as_str().unwrap().to_owned();
        assert!(
            !generation.ends_with(".partial"),
            "round {round}: a complete generation"
        );
        run_expecting(ownrecord(&target).arg("check"), 0);
        std::fs::remove_dir_all(&target).unwrap();
    }
    assert!(interrupted > 0, "some backups were really interrupted");
    run_expecting(ownrecord(&vault).args(["backup", "--to"]).arg(&backups), 0);
    assert!(
        partials(&backups).is_empty(),
        "{:?}",
        backup_dir_state(&backups)
    );
    assert!(generations(&backups).len() <= 11, "thinned");
}

#[test]
fn a_full_disk_during_a_backup_is_one_sentence_and_leaves_nothing() {
    let work = tempfile::tempdir().unwrap();
    let vault = work.path().join("vault");
    init(&vault);
    let big = work.path().join("big.ndjson");
    write_ndjson(&big, 1, "f");
    run_expecting(
        ownrecord(&vault)
            .args(["import", "--person", "new"])
            .arg(&big),
        0,
    );
    let backups = work.path().join("backups");
    run_expecting(ownrecord(&vault).args(["backup", "--to"]).arg(&backups), 0);
    let before = backup_dir_state(&backups);
    let summary = |v: &Path| {
        json(&run_expecting(
            ownrecord(v).args(["--json", "summary", "--all"]),
            0,
        ))
    };
    let counts = summary(&vault);

    let db_size = std::fs::metadata(vault.join("vault.db")).unwrap().len();
    // Room for the vault's own small writes (its unlock row), not for a copy of the database.
    let limit_kib = db_size / 1024 / 2;
    let script = format!(
        "trap '' XFSZ; ulimit -f {limit_kib}; exec \"$0\" --vault \"$1\" backup --to \"$2\"",
    );
    let out: Output = Command::new("bash")
        .args(["-c", &script, env!("CARGO_BIN_EXE_ownrecord")])
        .arg(&vault)
        .arg(&backups)
        .env_remove("OWNRECORD_PASSPHRASE")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let message = stderr(&out);
    assert!(message.contains("is full"), "{message}");
    assert_eq!(message.lines().count(), 1, "one sentence: {message}");
    assert_eq!(
        backup_dir_state(&backups),
        before,
        "no partial generation left"
    );
    run_expecting(ownrecord(&vault).arg("check"), 0);
    assert_eq!(summary(&vault), counts, "the vault untouched");
}

#[test]
fn a_chosen_folder_is_backed_up_after_each_import() {
    let work = tempfile::tempdir().unwrap();
    let vault = work.path().join("vault");
    init(&vault);
    let folder = work.path().join("Dropbox/OwnRecord");
    let status = json(&run_expecting(
        ownrecord(&vault).args(["--json", "backup", "status"]),
        0,
    ));
    assert_eq!(status["folder"], serde_json::Value::Null);
    run_expecting(ownrecord(&vault).args(["backup", "set"]).arg(&folder), 0);
    assert_eq!(generations(&folder).len(), 1, "a first backup right away");
    import_patients(&vault, 1);
    assert_eq!(generations(&folder).len(), 2, "and one after the import");
    let status = json(&run_expecting(
        ownrecord(&vault).args(["--json", "backup", "status"]),
        0,
    ));
    assert_eq!(status["generations"], 2);
    assert!(status["last_backup"].is_string());
    assert_eq!(status["problem"], serde_json::Value::Null);

    // The drive is gone: the import still works, the backup's failure is one sentence.
    std::fs::rename(&folder, work.path().join("unplugged")).unwrap();
    let out = run_expecting(
        ownrecord(&vault)
            .args(["import", "--person", "new"])
            .arg(&ownrecord_testkit::patient_files()[1]),
        0,
    );
    assert!(
        stderr(&out).contains("no backup was made"),
        "{}",
        stderr(&out)
    );
    let status = json(&run_expecting(
        ownrecord(&vault).args(["--json", "backup", "status"]),
        0,
    ));
    assert!(status["problem"].as_str().unwrap().contains("is not there"));
}

#[test]
fn a_vault_without_a_recovery_key_is_offered_one() {
    let work = tempfile::tempdir().unwrap();
    let vault = work.path().join("vault");
    init(&vault);
    let quiet = run_expecting(ownrecord(&vault).arg("summary"), 0);
    assert!(
        !stderr(&quiet).contains("recovery key"),
        "{}",
        stderr(&quiet)
    );
    // What vault.json looked like before recovery keys.
    let path = vault.join("vault.json");
    let mut settings: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    settings.as_object_mut().unwrap().remove("recovery");
    std::fs::write(&path, serde_json::to_vec(&settings).unwrap()).unwrap();
    let offered = run_expecting(ownrecord(&vault).arg("summary"), 0);
    assert!(
        stderr(&offered).contains("no recovery key yet; make one with `ownrecord recovery-key`"),
        "{}",
        stderr(&offered)
    );
    run_expecting(ownrecord(&vault).arg("recovery-key"), 0);
    let quiet = run_expecting(ownrecord(&vault).arg("summary"), 0);
    assert!(!stderr(&quiet).contains("recovery key"));
}
