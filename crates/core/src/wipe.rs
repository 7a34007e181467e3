//! Verified deletion of a vault.
//!
//! Order: (optionally) export the disclosure log, close the database, remove the keyring entry,
//! overwrite every vault file with zeros, sync, delete, then check that no vault file and no keyring
//! entry remain. Destroying the key is what makes the data unreadable (crypto-erase); overwriting is a
//! second line, since SSDs and copy-on-write file systems may keep old blocks. The vault's backups in
//! the chosen backup folder are copies under the same key (which the recovery key and passphrase
//! still open), so they are overwritten and deleted too; a folder that is not there (an unplugged
//! drive) is named in the report.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::audit::{self, AuditKind};
use crate::error::{Error, Result};
use crate::vault::{VAULT_FILES, Vault, keyring, settings::Settings};

/// The file a kept disclosure log is written to, in the vault directory.
pub const DISCLOSURE_LOG_FILE: &str = "disclosure-log.json";

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct WipeReport {
    /// Portal connections whose access was revoked at the portal first.
    pub connections_revoked: usize,
    pub files_removed: Vec<String>,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub bytes_overwritten: u64,
    pub keyring_entry_removed: bool,
    /// Where the disclosure log was kept, if asked.
    pub disclosure_log: Option<PathBuf>,
    /// This vault's backup generations deleted from the chosen backup folder.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub backups_removed: usize,
    /// The chosen backup folder, when it was not there to delete its backups from.
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub backups_not_reached: Option<PathBuf>,
}

impl Vault {
    /// Deletes this vault for good. With `keep_disclosure_log`, the audit & disclosure log is first
    /// written to [`DISCLOSURE_LOG_FILE`] (disclosures in full; other rows as hashes only, so the file
    /// holds no file names or clinical content and its chain still verifies). Every portal
    /// connection's access is revoked at its portal first (best effort: an unreachable portal does
    /// not stop the wipe; its tokens are destroyed with the vault either way).
    pub async fn wipe(mut self, keep_disclosure_log: bool) -> Result<WipeReport> {
        let connections_revoked = self.revoke_all_connections().await?;
        let details = serde_json::json!({
            "keep_disclosure_log": keep_disclosure_log,
            "connections_revoked": connections_revoked,
        });
        self.write(AuditKind::Wipe, |_| Ok(((), details)))?;
        let disclosure_log = if keep_disclosure_log {
            let path = self.dir().join(DISCLOSURE_LOG_FILE);
            audit::export(self.db(), &path, &self.now(), true)?;
            Some(path)
        } else {
            None
        };
        let backup_folder = self.backup_folder()?;
        let (dir, settings, conn) = self.into_parts();
        conn.close().map_err(|(_, e)| Error::from(e))?;
        let mut report = destroy(&dir, &settings)?;
        report.disclosure_log = disclosure_log;
        report.connections_revoked = connections_revoked;
        if let Some(folder) = backup_folder {
            match remove_backups(&folder, &settings.vault_id)? {
                Some(removed) => report.backups_removed = removed,
                None => report.backups_not_reached = Some(folder),
            }
        }
        Ok(report)
    }
}

/// Removes the key and every vault file from `dir`, then verifies they are gone.
fn destroy(dir: &Path, settings: &Settings) -> Result<WipeReport> {
    let keyring_entry_removed = settings.keyring && keyring::delete(&settings.vault_id)?;
    let mut report = WipeReport {
        connections_revoked: 0,
        files_removed: Vec::new(),
        bytes_overwritten: 0,
        keyring_entry_removed,
        disclosure_log: None,
        backups_removed: 0,
        backups_not_reached: None,
    };
    for name in VAULT_FILES {
        let path = dir.join(name);
        if let Some(bytes) = overwrite_and_remove(&path)? {
            report.bytes_overwritten += bytes;
            report.files_removed.push((*name).to_owned());
        }
    }
    sync_dir(dir);
    verify_gone(dir, settings)?;
    // Leave no empty directory behind.
    if std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_none()) {
        let _ = std::fs::remove_dir(dir);
    }
    Ok(report)
}

/// Overwrites and deletes every generation of this vault in `folder` (and what interrupted
/// backups left). `None` when the folder is not there.
fn remove_backups(folder: &Path, vault_id: &str) -> Result<Option<usize>> {
    if !folder.is_dir() {
        return Ok(None);
    }
    let mut removed = 0;
    for generation in crate::backup::generations_of(folder, vault_id) {
        for entry in std::fs::read_dir(&generation).map_err(|e| Error::io(&generation, e))? {
            let path = entry.map_err(|e| Error::io(&generation, e))?.path();
            overwrite_and_remove(&path)?;
        }
        std::fs::remove_dir(&generation).map_err(|e| Error::io(&generation, e))?;
        removed += 1;
    }
    crate::backup::remove_partials(folder);
    sync_dir(folder);
    Ok(Some(removed))
}

/// Overwrites a file with zeros, syncs it, truncates and deletes it. `None` if it did not exist.
fn overwrite_and_remove(path: &Path) -> Result<Option<u64>> {
    let len = match std::fs::metadata(path) {
        Ok(m) => m.len(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(path, e)),
    };
    let zero = || -> std::io::Result<()> {
        let mut file = std::fs::OpenOptions::new().write(true).open(path)?;
        let block = vec![0u8; 1 << 16];
        let mut left = len;
        while left > 0 {
            let n = left.min(block.len() as u64) as usize;
            file.write_all(block.get(..n).unwrap_or(&block))?;
            left -= n as u64;
        }
        file.sync_all()?;
        file.set_len(0)?;
        file.sync_all()?;
        drop(file);
        std::fs::remove_file(path)
    };
    zero().map_err(|e| Error::io(path, e))?;
    Ok(Some(len))
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

fn verify_gone(dir: &Path, settings: &Settings) -> Result<()> {
    if let Some(left) = VAULT_FILES.iter().find(|name| dir.join(name).exists()) {
        return Err(Error::WipeIncomplete(format!(
            "{left} is still in {}",
            dir.display()
        )));
    }
    if settings.keyring && keyring::exists(&settings.vault_id)? {
        return Err(Error::WipeIncomplete(
            "the key is still in the system keyring".into(),
        ));
    }
    Ok(())
}
