//! `vault.json`: the vault's id and how its key is kept. No health data, no secrets in the clear.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::vault::key::WrappedKey;

pub const SETTINGS_FILE: &str = "vault.json";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Settings {
    /// Format of this file.
    pub format: u32,
    /// Random id naming the vault's keyring entry; not derived from anything personal.
    pub vault_id: String,
    /// Whether the vault key is in the OS keyring.
    pub keyring: bool,
    /// The vault key sealed under the user's passphrase, when one is set.
    pub passphrase: Option<WrappedKey>,
    /// The vault key sealed under the recovery key (vaults made before recovery keys have none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery: Option<WrappedKey>,
}

impl Settings {
    pub fn path(dir: &Path) -> PathBuf {
        dir.join(SETTINGS_FILE)
    }

    pub fn load(dir: &Path) -> Result<Self> {
        let path = Self::path(dir);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NoVault(dir.to_owned()));
            }
            Err(e) => return Err(Error::io(path, e)),
        };
        serde_json::from_slice(&bytes).map_err(|_| Error::BadSettings(path))
    }

    /// Writes atomically: a crash leaves either the old file or the new one.
    pub fn save(&self, dir: &Path) -> Result<()> {
        let path = Self::path(dir);
        let tmp = dir.join(format!("{SETTINGS_FILE}.tmp"));
        // Cannot panic: a derived struct with string keys serializes.
        #[allow(clippy::expect_used)]
        let text = serde_json::to_vec_pretty(self).expect("settings serialize");
        let write = || -> std::io::Result<()> {
            let mut file = std::fs::File::create(&tmp)?;
            file.write_all(&text)?;
            file.sync_all()?;
            std::fs::rename(&tmp, &path)?;
            std::fs::File::open(dir)?.sync_all()
        };
        write().map_err(|e| Error::io(&path, e))
    }
}
