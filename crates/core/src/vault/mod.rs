//! The encrypted vault: one SQLCipher database per directory, plus `vault.json`.
//!
//! Files in a vault directory: `vault.db` (+ `-wal`, `-shm` while open) and `vault.json`.
//! The key is 32 random bytes kept in the OS keyring and/or sealed under a passphrase, and sealed
//! under the recovery key.
//! Every change goes through [`Vault::write`], which records its audit row in the same transaction.

pub mod browse;
pub mod document;
pub mod entries;
pub mod home;
pub mod key;
pub mod keyring;
pub mod own;
pub mod people;
pub(crate) mod preferences;
pub mod query;
pub mod recovery;
pub mod resources;
pub mod schema;
pub mod settings;
pub mod visits;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rusqlite::{Connection, OpenFlags, Transaction};
use serde::Serialize;
use zeroize::Zeroizing;

use crate::audit::{self, AuditKind};
use crate::clock::{Clock, rfc3339};
use crate::error::{Error, Result};
use key::{VaultKey, WrappedKey};
use recovery::RecoveryKey;
use settings::Settings;

/// The database file in a vault directory.
pub const DB_FILE: &str = "vault.db";

/// SQLCipher page size. 16 KiB rather than the default 4 KiB: a typical resource (3–4 KB) fits in a
/// page instead of spilling into overflow pages, and each page costs one IV + HMAC. SQLCipher cannot
/// read it from the (encrypted) header, so every client sets it after the key.
pub const CIPHER_PAGE_SIZE: u32 = 16384;

/// Every file name a vault may leave in its directory (wipe removes them all).
pub const VAULT_FILES: &[&str] = &[
    DB_FILE,
    "vault.db-wal",
    "vault.db-shm",
    "vault.db-journal",
    settings::SETTINGS_FILE,
    "vault.json.tmp",
];

/// How a new vault's key is kept. At least one of the two.
#[derive(Default)]
pub struct KeyProtection {
    pub keyring: bool,
    pub passphrase: Option<Zeroizing<String>>,
}

impl KeyProtection {
    pub fn keyring() -> Self {
        KeyProtection {
            keyring: true,
            passphrase: None,
        }
    }

    pub fn passphrase(passphrase: Zeroizing<String>) -> Self {
        KeyProtection {
            keyring: false,
            passphrase: Some(passphrase),
        }
    }
}

/// What the user offers to unlock a vault.
#[derive(Default)]
pub struct Unlock {
    pub passphrase: Option<Zeroizing<String>>,
    /// The recovery key as typed; it opens the vault without the keyring or the passphrase.
    pub recovery_key: Option<Zeroizing<String>>,
}

impl Unlock {
    pub fn passphrase(passphrase: Zeroizing<String>) -> Self {
        Unlock {
            passphrase: Some(passphrase),
            recovery_key: None,
        }
    }

    pub fn recovery_key(recovery_key: Zeroizing<String>) -> Self {
        Unlock {
            passphrase: None,
            recovery_key: Some(recovery_key),
        }
    }
}

/// How the vault was unlocked (recorded in the audit log).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UnlockMethod {
    Keyring,
    Passphrase,
    RecoveryKey,
}

pub struct Vault {
    dir: PathBuf,
    settings: Settings,
    key: VaultKey,
    conn: Connection,
    clock: Arc<dyn Clock>,
    /// A recovery key made since this vault was opened, until it is shown (see
    /// [`Vault::take_new_recovery_key`]).
    new_recovery_key: Option<RecoveryKey>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

/// The platform's per-user data directory for OwnRecord (e.g. `~/.local/share/OwnRecord`).
pub fn default_dir() -> PathBuf {
    dirs::data_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("OwnRecord")
}

/// Whether `dir` holds a vault.
pub fn exists(dir: &Path) -> bool {
    Settings::path(dir).exists()
}

impl Vault {
    /// Creates a new vault in `dir` (created if missing, readable by this user only).
    pub fn create(dir: &Path, protection: KeyProtection, clock: Arc<dyn Clock>) -> Result<Vault> {
        if exists(dir) || dir.join(DB_FILE).exists() {
            return Err(Error::VaultExists(dir.to_owned()));
        }
        if !protection.keyring && protection.passphrase.is_none() {
            return Err(Error::PassphraseNeeded);
        }
        let key = VaultKey::generate();
        let vault_id = hex::encode(key::random_bytes::<16>());
        let passphrase = match &protection.passphrase {
            Some(p) => Some(WrappedKey::seal(&key, p, &vault_id)?),
            None => None,
        };
        let recovery_key = RecoveryKey::generate();
        let recovery = Some(WrappedKey::seal_secret(
            &key,
            recovery_key.secret(),
            &vault_id,
        )?);
        // The keyring first: if it is unavailable, nothing has been written anywhere.
        if protection.keyring {
            keyring::store(&vault_id, &key)?;
        }
        let settings = Settings {
            format: 1,
            vault_id,
            keyring: protection.keyring,
            passphrase,
            recovery,
        };
        let vault_id = settings.vault_id.clone();
        let created = Self::create_files(dir, settings, key, clock, &protection).map(|mut v| {
            v.new_recovery_key = Some(recovery_key);
            v
        });
        if created.is_err() {
            // Undo a half-made vault (we refused to start if any vault file was there).
            for name in [DB_FILE, "vault.db-wal", "vault.db-shm"] {
                let _ = std::fs::remove_file(dir.join(name));
            }
            if protection.keyring {
                let _ = keyring::delete(&vault_id);
            }
        }
        created
    }

    fn create_files(
        dir: &Path,
        settings: Settings,
        key: VaultKey,
        clock: Arc<dyn Clock>,
        protection: &KeyProtection,
    ) -> Result<Vault> {
        create_private_dir(dir)?;
        let conn = open_database(dir, &key, true)?;
        let mut vault = Vault {
            dir: dir.to_owned(),
            settings,
            key,
            conn,
            clock,
            new_recovery_key: None,
        };
        schema::migrate_to_latest(&mut vault.conn)?;
        let details = serde_json::json!({
            "keyring": protection.keyring,
            "passphrase": protection.passphrase.is_some(),
            "recovery_key": true,
            "schema": schema::latest_version(),
        });
        vault.write(AuditKind::VaultCreated, |_| Ok(((), details)))?;
        // vault.json last: until it exists the directory is not a vault, and `init` can run again.
        vault.settings.save(dir)?;
        Ok(vault)
    }

    /// Opens and unlocks the vault in `dir`, migrating its schema if needed.
    pub fn open(dir: &Path, unlock: Unlock, clock: Arc<dyn Clock>) -> Result<Vault> {
        let settings = Settings::load(dir)?;
        if !dir.join(DB_FILE).exists() {
            return Err(Error::Corrupt(format!(
                "{DB_FILE} is missing from {}",
                dir.display()
            )));
        }
        let (key, method) = unlock_key(&settings, &unlock)?;
        // Opened with the recovery key: the key goes back into the keyring it was lost from.
        let keyring_restored = (method == UnlockMethod::RecoveryKey && settings.keyring)
            .then(|| keyring::store(&settings.vault_id, &key).is_ok());
        let mut vault = Self::unlocked(dir, settings, key, clock)?;
        let mut details = serde_json::json!({ "method": method });
        if let Some(restored) = keyring_restored
            && let Some(fields) = details.as_object_mut()
        {
            fields.insert("keyring_restored".into(), restored.into());
        }
        match vault.write(AuditKind::VaultUnlocked, |_| Ok(((), details))) {
            Ok(()) => Ok(vault),
            Err(Error::Database(_)) => Err(vault
                .damage()
                .unwrap_or_else(|| Error::Corrupt("it could not be read".into()))),
            Err(e) => Err(e),
        }
    }

    /// The vault in `dir` opened with `key` and migrated to the latest schema (no audit row:
    /// the caller writes how it was unlocked).
    pub(crate) fn unlocked(
        dir: &Path,
        settings: Settings,
        key: VaultKey,
        clock: Arc<dyn Clock>,
    ) -> Result<Vault> {
        let conn = open_database(dir, &key, false)?;
        let mut vault = Vault {
            dir: dir.to_owned(),
            settings,
            key,
            conn,
            clock,
            new_recovery_key: None,
        };
        match schema::migrate_to_latest(&mut vault.conn) {
            Ok(()) => Ok(vault),
            Err(Error::Database(_)) => Err(vault
                .damage()
                .unwrap_or_else(|| Error::Corrupt("it could not be read".into()))),
            Err(e) => Err(e),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn now(&self) -> String {
        rfc3339(self.clock.now())
    }

    pub(crate) fn clock(&self) -> Arc<dyn Clock> {
        self.clock.clone()
    }

    pub(crate) fn clock_now(&self) -> time::OffsetDateTime {
        self.clock.now()
    }

    pub(crate) fn db(&self) -> &Connection {
        &self.conn
    }

    /// Runs `change` in one transaction and appends its audit row (kind + the details `change`
    /// returns) in that same transaction: the change and its record commit together or not at all.
    pub fn write<T>(
        &mut self,
        kind: AuditKind,
        change: impl FnOnce(&Transaction<'_>) -> Result<(T, serde_json::Value)>,
    ) -> Result<T> {
        let at = self.now();
        let tx = self.conn.transaction()?;
        let (value, details) = change(&tx)?;
        audit::append(&tx, &at, kind, &details)?;
        tx.commit()?;
        Ok(value)
    }

    /// Runs `change` in one transaction with no audit row of its own: for the parts of a longer
    /// operation (a sync's pages) whose one audit row is written when the operation ends.
    pub(crate) fn write_part<T>(
        &mut self,
        change: impl FnOnce(&Transaction<'_>) -> Result<T>,
    ) -> Result<T> {
        let tx = self.conn.transaction()?;
        let value = change(&tx)?;
        tx.commit()?;
        Ok(value)
    }

    /// Seals the vault key under a new passphrase (adding one, or replacing the old one).
    /// The vault is already unlocked, which proves the user may do this.
    pub fn set_passphrase(&mut self, passphrase: &str) -> Result<()> {
        let mut settings = self.settings.clone();
        settings.passphrase = Some(WrappedKey::seal(&self.key, passphrase, &settings.vault_id)?);
        let details = serde_json::json!({ "replaced": self.settings.passphrase.is_some() });
        self.write(AuditKind::PassphraseSet, |_| Ok(((), details)))?;
        settings.save(&self.dir)?;
        self.settings = settings;
        Ok(())
    }

    /// Whether the vault key is also sealed under a recovery key.
    pub fn has_recovery_key(&self) -> bool {
        self.settings.recovery.is_some()
    }

    /// Makes a new recovery key; the old one stops opening the vault. The key is returned once,
    /// to be shown to the patient; only its seal is kept.
    pub fn new_recovery_key(&mut self) -> Result<RecoveryKey> {
        let recovery_key = RecoveryKey::generate();
        let mut settings = self.settings.clone();
        settings.recovery = Some(WrappedKey::seal_secret(
            &self.key,
            recovery_key.secret(),
            &settings.vault_id,
        )?);
        let details = serde_json::json!({ "replaced": self.settings.recovery.is_some() });
        self.write(AuditKind::RecoveryKeySet, |_| Ok(((), details)))?;
        settings.save(&self.dir)?;
        self.settings = settings;
        Ok(recovery_key)
    }

    /// The recovery key made with this vault, the first time it is asked for (then never again).
    pub fn take_new_recovery_key(&mut self) -> Option<RecoveryKey> {
        self.new_recovery_key.take()
    }

    pub(crate) fn set_new_recovery_key(&mut self, recovery_key: RecoveryKey) {
        self.new_recovery_key = Some(recovery_key);
    }

    pub(crate) fn key(&self) -> &VaultKey {
        &self.key
    }

    /// After an unexpected database error: what SQLCipher's page check says is damaged, if anything.
    /// Runs on a fresh connection (after a codec error SQLite keeps the old one in an error state).
    fn damage(&self) -> Option<Error> {
        let conn = keyed_connection(
            &self.dir.join(DB_FILE),
            &self.key,
            OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .ok()?;
        let bad = integrity_lines(&conn, "PRAGMA cipher_integrity_check")
            .ok()?
            .len();
        (bad > 0).then(|| {
            Error::Corrupt(format!(
                "{bad} part(s) of it fail their integrity check; restore it from a backup or an export"
            ))
        })
    }

    /// SQLite's and SQLCipher's integrity checks: empty when the vault is sound.
    pub fn integrity_problems(&self) -> Result<Vec<String>> {
        let mut problems = Vec::new();
        // SQLCipher's page check first: it reads raw pages, so it runs even where SQLite's cannot.
        for pragma in ["PRAGMA cipher_integrity_check", "PRAGMA integrity_check"] {
            match integrity_lines(&self.conn, pragma) {
                Ok(lines) => problems.extend(lines),
                Err(e) => problems.push(format!("{pragma} could not run: {e}")),
            }
        }
        Ok(problems)
    }

    /// Locks the vault: closes the database; the key is zeroed as it drops.
    pub fn lock(self) -> Result<()> {
        self.conn.close().map_err(|(_, e)| Error::from(e))
    }

    pub(crate) fn into_parts(self) -> (PathBuf, Settings, Connection) {
        (self.dir, self.settings, self.conn)
    }
}

/// The vault key from what the user offers: the passphrase, the recovery key, else the keyring.
pub(crate) fn unlock_key(settings: &Settings, unlock: &Unlock) -> Result<(VaultKey, UnlockMethod)> {
    if let (Some(passphrase), Some(wrapped)) = (&unlock.passphrase, &settings.passphrase) {
        return Ok((
            wrapped.open(passphrase, &settings.vault_id)?,
            UnlockMethod::Passphrase,
        ));
    }
    if let Some(typed) = &unlock.recovery_key {
        let recovery_key = RecoveryKey::parse(typed)?;
        let wrapped = settings.recovery.as_ref().ok_or(Error::NoRecoveryKey)?;
        let key = wrapped
            .open_secret(recovery_key.secret(), &settings.vault_id)
            .ok_or(Error::WrongRecoveryKey)?;
        return Ok((key, UnlockMethod::RecoveryKey));
    }
    if settings.keyring {
        return Ok((keyring::load(&settings.vault_id)?, UnlockMethod::Keyring));
    }
    Err(Error::PassphraseNeeded)
}

pub(crate) fn create_private_dir(dir: &Path) -> Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|e| Error::io(dir, e))
}

pub(crate) fn open_database(dir: &Path, key: &VaultKey, create: bool) -> Result<Connection> {
    let path = dir.join(DB_FILE);
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if create {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    }
    let conn = keyed_connection(&path, key, flags)?;
    // SQLCipher checks the key only when the first page is read.
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()))
        .map_err(|e| match Error::from(e) {
            Error::WrongKey | Error::Corrupt(_) if !create => Error::WrongKey,
            other => other,
        })?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = NORMAL;
         PRAGMA foreign_keys = ON;
         PRAGMA temp_store = MEMORY;
         PRAGMA cache_size = -65536;
         PRAGMA wal_autocheckpoint = 2048;",
    )?;
    Ok(conn)
}

/// A connection to the vault file with the key set (checked only at the first read).
pub(crate) fn keyed_connection(
    path: &Path,
    key: &VaultKey,
    flags: OpenFlags,
) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(path, flags)?;
    // SQLCipher would print its own diagnostics on stderr; errors reach the user as ours instead.
    conn.execute_batch("PRAGMA cipher_log_level = NONE;")?;
    conn.execute_batch(&key.pragma())?;
    conn.execute_batch(&format!("PRAGMA cipher_page_size = {CIPHER_PAGE_SIZE};"))?;
    Ok(conn)
}

/// The lines of an integrity-check pragma other than "ok".
pub(crate) fn integrity_lines(conn: &Connection, pragma: &str) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare(pragma)?;
    let lines = stmt.query_map([], |row| row.get::<_, String>(0))?;
    lines
        .filter(|l| l.as_ref().map_or(true, |l| l != "ok"))
        .collect()
}
