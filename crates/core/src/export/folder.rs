//! Exports that are a folder of plain files (the full export, a research copy): written into a
//! hidden folder beside the destination, then renamed into place inside the transaction that
//! records the disclosure, so a half-written folder is never left behind and a folder given
//! out is never missing from the log.

use std::path::{Path, PathBuf};

use crate::audit::AuditKind;
use crate::error::{Error, Result};
use crate::export::sha256_hex;
use crate::vault::Vault;

/// One file written into the folder.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FolderFile {
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
}

/// A folder being written: nothing of it is visible at its destination yet.
pub(crate) struct Staged {
    dir: PathBuf,
    staging: tempfile::TempDir,
}

impl Staged {
    /// Starts a folder export to `dir`, which must not exist or be empty.
    pub fn new(dir: &Path) -> Result<Staged> {
        if dir.exists() {
            let empty = std::fs::read_dir(dir)
                .map_err(|e| Error::io(dir, e))?
                .next()
                .is_none();
            if !empty {
                return Err(Error::OutputNotEmpty(dir.to_owned()));
            }
        }
        let parent = dir
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        let staging = tempfile::Builder::new()
            .prefix(".ownrecord-export-")
            .tempdir_in(parent)
            .map_err(|e| Error::write(parent, e))?;
        Ok(Staged {
            dir: dir.to_owned(),
            staging,
        })
    }

    /// Writes (and syncs) one file at `relative` inside the folder.
    pub fn write(&self, relative: &str, content: &[u8]) -> Result<FolderFile> {
        let path = self.staging.path().join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::write(parent, e))?;
        }
        crate::audit::write_synced(&path, content)?;
        Ok(FolderFile {
            path: relative.to_owned(),
            bytes: content.len() as u64,
            sha256: sha256_hex(content),
        })
    }

    /// Renames the folder into place and appends `details` as a `kind` row (making `also`'s
    /// change too), in one transaction; if that fails, nothing is left behind.
    pub fn place(
        self,
        vault: &mut Vault,
        kind: AuditKind,
        details: serde_json::Value,
        also: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<()>,
    ) -> Result<()> {
        let Staged { dir, staging } = self;
        let staged = staging.keep();
        let mut moved = false;
        let result = vault.write(kind, |tx| {
            also(tx)?;
            if dir.exists() {
                std::fs::remove_dir(&dir).map_err(|e| Error::io(&dir, e))?;
            }
            std::fs::rename(&staged, &dir).map_err(|e| Error::io(&dir, e))?;
            moved = true;
            Ok(((), details))
        });
        if let Err(e) = result {
            // Not recorded, so not left behind.
            let _ = std::fs::remove_dir_all(if moved { &dir } else { &staged });
            return Err(e);
        }
        Ok(())
    }
}
