//! Restoring a generation into a vault folder, on this computer or a new one.
//!
//! Nothing is written into the target until the backup has proven sound: the files match the
//! manifest's hashes, the key opens `vault.json`'s seal, the manifest's MAC is the vault key's.
//! The database is then copied into a staging folder inside the target and hashed as it is copied
//! (so what is checked is what is installed), opened, and put through SQLite's integrity check,
//! the audit chain's check and the manifest's counts; a failure removes what was staged. Only then is it moved
//! into place, `vault.json` last (until it exists, the folder is not a vault).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rusqlite::OpenFlags;
use serde::Serialize;

use super::manifest::{BackupCounts, FileHash, Manifest, damaged};
use super::{generations, sync_dir, sync_file};
use crate::audit::AuditKind;
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::vault::key::{VaultKey, WrappedKey};
use crate::vault::recovery::RecoveryKey;
use crate::vault::settings::{SETTINGS_FILE, Settings};
use crate::vault::{self, DB_FILE, Unlock, Vault, integrity_lines, keyed_connection, keyring};

const STAGING: &str = ".ownrecord-restore.partial";

pub struct RestoreRequest<'a> {
    /// One generation folder, or a backup folder (its newest generation is restored).
    pub from: &'a Path,
    /// The vault folder to restore into: new or empty, or holding this same vault (with `replace`).
    pub to: &'a Path,
    pub unlock: Unlock,
    /// Roll back the vault already in `to` (the same vault) to the backup.
    pub replace: bool,
    /// Restore as a new vault with its own id, keyring entry and recovery key, e.g. beside the
    /// original on the same computer.
    pub as_new: bool,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RestoreReport {
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub generation: PathBuf,
    /// When the backup was taken.
    pub created: String,
    pub counts: BackupCounts,
    /// Whether the key is (again) in this computer's keyring.
    pub keyring: bool,
}

/// Restores and returns the restored vault, unlocked. A damaged or changed backup is refused
/// with nothing written.
pub fn restore(
    request: RestoreRequest<'_>,
    clock: Arc<dyn Clock>,
) -> Result<(Vault, RestoreReport)> {
    let generation = pick_generation(request.from)?;
    let manifest = Manifest::load(&generation)?;
    // vault.json now; the database's bytes are hashed as they are copied into the target.
    check_file(
        &generation,
        &manifest,
        SETTINGS_FILE,
        &generation.join(SETTINGS_FILE),
    )?;
    let settings = Settings::load(&generation)
        .map_err(|_| damaged(&generation, "its vault.json cannot be read"))?;
    if settings.vault_id != manifest.vault_id {
        return Err(damaged(&generation, "its files are of different vaults"));
    }
    let (key, method) = vault::unlock_key(&settings, &request.unlock)?;
    if !manifest.verify_mac(&key) {
        return Err(damaged(&generation, "its manifest was changed"));
    }
    check_target(request.to, &settings, request.replace)?;

    let created_target = !request.to.exists();
    vault::create_private_dir(request.to)?;
    let staging = request.to.join(STAGING);
    let _ = std::fs::remove_dir_all(&staging);
    vault::create_private_dir(&staging)?;
    let staged = staging.join(DB_FILE);
    let checked = stage_database(&generation, &manifest, &staged)
        .and_then(|()| check_database(&generation, &staged, &key, &manifest.counts));
    if let Err(e) = checked {
        let _ = std::fs::remove_dir_all(&staging);
        if created_target {
            let _ = std::fs::remove_dir(request.to);
        }
        return Err(e);
    }

    let (settings, new_recovery_key) = if request.as_new {
        renewed_identity(&key, &request.unlock)?
    } else {
        (settings, None)
    };
    let installed = install(request.to, &staged, &settings);
    let _ = std::fs::remove_dir_all(&staging);
    installed?;

    let keyring = settings.keyring && keyring::store(&settings.vault_id, &key).is_ok();
    let mut restored = Vault::unlocked(request.to, settings, key, clock)?;
    restored.write(AuditKind::VaultUnlocked, |_| {
        Ok(((), serde_json::json!({ "method": method })))
    })?;
    let details = serde_json::json!({
        "backup_created": manifest.created,
        "generation": generation.file_name().map(|n| n.to_string_lossy().into_owned()),
        "schema": manifest.schema,
        "as_new": request.as_new,
        "keyring": keyring,
    });
    restored.write(AuditKind::Restored, |_| Ok(((), details)))?;
    if let Some(recovery_key) = new_recovery_key {
        restored.set_new_recovery_key(recovery_key);
    }
    let report = RestoreReport {
        generation,
        created: manifest.created,
        counts: manifest.counts,
        keyring,
    };
    Ok((restored, report))
}

/// `from` itself when it is a generation, else the newest complete generation in it.
fn pick_generation(from: &Path) -> Result<PathBuf> {
    if from.join(super::manifest::MANIFEST_FILE).is_file() {
        return Ok(from.to_owned());
    }
    generations(from)
        .pop()
        .map(|g| g.path)
        .ok_or_else(|| Error::NoBackup(from.to_owned()))
}

fn check_file(generation: &Path, manifest: &Manifest, name: &str, path: &Path) -> Result<()> {
    let found = FileHash::of(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => damaged(generation, "a file is missing"),
        _ => Error::io(path, e),
    })?;
    matches_manifest(generation, manifest, name, &found)
}

fn matches_manifest(
    generation: &Path,
    manifest: &Manifest,
    name: &str,
    found: &FileHash,
) -> Result<()> {
    let listed = manifest
        .file(name)
        .ok_or_else(|| damaged(generation, "its manifest does not list every file"))?;
    if found.bytes != listed.bytes || found.sha256 != listed.sha256 {
        return Err(damaged(generation, "a file does not match its checksum"));
    }
    Ok(())
}

/// Copies the backup's database to `staged`, hashing the bytes as they are written (one pass:
/// what is checked is exactly what is installed), then syncs it.
fn stage_database(generation: &Path, manifest: &Manifest, staged: &Path) -> Result<()> {
    let source = generation.join(DB_FILE);
    let found = FileHash::copy(&source, staged).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => damaged(generation, "a file is missing"),
        _ => Error::write(staged, e),
    })?;
    matches_manifest(generation, manifest, DB_FILE, &found)?;
    sync_file(staged)
}

/// The target holds no vault, or (with `replace`) this same vault.
fn check_target(to: &Path, settings: &Settings, replace: bool) -> Result<()> {
    if !vault::exists(to) {
        if to.join(DB_FILE).exists() {
            return Err(Error::RestoreOverOtherVault(to.to_owned()));
        }
        return Ok(());
    }
    let there = Settings::load(to)?;
    match (there.vault_id == settings.vault_id, replace) {
        (true, true) => Ok(()),
        (true, false) => Err(Error::RestoreOverVault(to.to_owned())),
        (false, _) => Err(Error::RestoreOverOtherVault(to.to_owned())),
    }
}

/// SQLite's full integrity check (every page in use is read, so SQLCipher checks each one's HMAC;
/// pages not in use are covered by the SHA-256 above, which the MAC'd manifest vouches for), the
/// audit chain and the manifest's counts. The page cache is sized to hold the database (up to
/// 512 MiB), so the check's index pass does not decrypt pages a second time.
fn check_database(
    generation: &Path,
    staged: &Path,
    key: &VaultKey,
    counts: &BackupCounts,
) -> Result<()> {
    let conn = keyed_connection(staged, key, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|_| damaged(generation, "its database cannot be opened"))?;
    let bytes = std::fs::metadata(staged).map(|m| m.len()).unwrap_or(0);
    let cache_kib = (bytes / 1024).clamp(2048, 512 * 1024);
    conn.execute_batch(&format!("PRAGMA cache_size = -{cache_kib};"))?;
    match integrity_lines(&conn, "PRAGMA integrity_check") {
        Ok(lines) if lines.is_empty() => {}
        _ => {
            return Err(damaged(
                generation,
                "its database fails the integrity check",
            ));
        }
    }
    crate::audit::verify(&conn)
        .map_err(|_| damaged(generation, "its audit log does not verify"))?;
    if BackupCounts::of(&conn).ok().as_ref() != Some(counts) {
        return Err(damaged(
            generation,
            "its database does not match its manifest",
        ));
    }
    Ok(())
}

/// A new id for a vault restored as a new one: the keyring holds its key, a passphrase given to
/// unlock the backup seals it again, and a new recovery key is made (shown once, as at creation).
fn renewed_identity(key: &VaultKey, unlock: &Unlock) -> Result<(Settings, Option<RecoveryKey>)> {
    let vault_id = hex::encode(crate::vault::key::random_bytes::<16>());
    let passphrase = match &unlock.passphrase {
        Some(p) => Some(WrappedKey::seal(key, p, &vault_id)?),
        None => None,
    };
    let recovery_key = RecoveryKey::generate();
    let recovery = Some(WrappedKey::seal_secret(
        key,
        recovery_key.secret(),
        &vault_id,
    )?);
    keyring::store(&vault_id, key)?;
    Ok((
        Settings {
            format: 1,
            vault_id,
            keyring: true,
            passphrase,
            recovery,
        },
        Some(recovery_key),
    ))
}

/// Moves the checked database into place (replacing the old one's files), then `vault.json`.
fn install(to: &Path, staged: &Path, settings: &Settings) -> Result<()> {
    for leftover in ["vault.db-wal", "vault.db-shm", "vault.db-journal"] {
        match std::fs::remove_file(to.join(leftover)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(Error::io(to.join(leftover), e));
            }
            _ => {}
        }
    }
    std::fs::rename(staged, to.join(DB_FILE)).map_err(|e| Error::write(to, e))?;
    sync_dir(to).map_err(|e| Error::write(to, e))?;
    settings.save(to)
}
