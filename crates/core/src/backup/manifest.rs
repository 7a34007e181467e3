//! A backup generation's `manifest.json`: what the generation holds, the SHA-256 of each file,
//! and a MAC over all of it under a key derived from the vault key, so that a changed manifest is
//! told apart from a damaged one only after the key is known, but is always refused.

use std::io::Read;
use std::path::Path;

use hmac::{Hmac, Mac};
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::vault::key::VaultKey;

pub const MANIFEST_FILE: &str = "manifest.json";
const FORMAT: u32 = 1;
const MAC_PURPOSE: &str = "ownrecord backup manifest v1";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Manifest {
    pub format: u32,
    /// The vault this is a backup of (its random id, as in `vault.json`).
    pub vault_id: String,
    /// When the copy was taken (RFC 3339).
    pub created: String,
    /// The schema version of the copied database.
    pub schema: i64,
    /// The OwnRecord version that wrote it.
    pub app_version: String,
    pub counts: BackupCounts,
    pub files: Vec<FileHash>,
    /// HMAC-SHA256 (hex) of this manifest with `mac` empty.
    #[serde(default)]
    pub mac: String,
}

/// Row counts of the copied database, checked again when it is restored.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct BackupCounts {
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub resources: i64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub earlier_versions: i64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub people: i64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub attachments: i64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub audit_entries: i64,
}

impl BackupCounts {
    pub(crate) fn of(conn: &Connection) -> Result<Self> {
        let count = |table: &str| -> Result<i64> {
            Ok(conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))?)
        };
        Ok(BackupCounts {
            resources: count("resources")?,
            earlier_versions: count("resource_history")?,
            people: count("people")?,
            attachments: count("attachments")?,
            audit_entries: count("audit_log")?,
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FileHash {
    pub name: String,
    pub bytes: u64,
    /// Hex SHA-256 of the file.
    pub sha256: String,
}

impl FileHash {
    pub(crate) fn of(path: &Path) -> std::io::Result<Self> {
        Self::hash(path, None)
    }

    /// Copies `from` to `to` (created), hashing the bytes as they pass; the hash is `from`'s name.
    pub(crate) fn copy(from: &Path, to: &Path) -> std::io::Result<Self> {
        let mut out = std::fs::File::create(to)?;
        Self::hash(from, Some(&mut out))
    }

    fn hash(path: &Path, mut copy_to: Option<&mut std::fs::File>) -> std::io::Result<Self> {
        use std::io::Write;
        let mut file = std::fs::File::open(path)?;
        let mut hasher = Sha256::new();
        let mut buffer = vec![0u8; 1 << 20];
        let mut bytes = 0u64;
        loop {
            let n = file.read(&mut buffer)?;
            if n == 0 {
                break;
            }
            let chunk = buffer.get(..n).unwrap_or_default();
            hasher.update(chunk);
            if let Some(out) = copy_to.as_deref_mut() {
                out.write_all(chunk)?;
            }
            bytes = bytes.saturating_add(n as u64);
        }
        Ok(FileHash {
            name: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            bytes,
            sha256: hex::encode(hasher.finalize()),
        })
    }
}

impl Manifest {
    pub(crate) fn new(
        vault_id: &str,
        created: String,
        schema: i64,
        counts: BackupCounts,
        files: Vec<FileHash>,
        key: &VaultKey,
    ) -> Self {
        let mut manifest = Manifest {
            format: FORMAT,
            vault_id: vault_id.to_owned(),
            created,
            schema,
            app_version: env!("CARGO_PKG_VERSION").to_owned(),
            counts,
            files,
            mac: String::new(),
        };
        manifest.mac = hex::encode(manifest.mac_bytes(key));
        manifest
    }

    pub(crate) fn load(generation: &Path) -> Result<Self> {
        let path = generation.join(MANIFEST_FILE);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(damaged(generation, "its manifest is missing"));
            }
            Err(e) => return Err(Error::io(path, e)),
        };
        let manifest: Manifest = serde_json::from_slice(&bytes)
            .map_err(|_| damaged(generation, "its manifest cannot be read"))?;
        if manifest.format != FORMAT {
            return Err(damaged(
                generation,
                "it was written by a newer OwnRecord; update OwnRecord first",
            ));
        }
        Ok(manifest)
    }

    // Cannot panic: a derived struct with string keys serializes.
    #[allow(clippy::expect_used)]
    pub(crate) fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).expect("a manifest serializes")
    }

    /// Whether the MAC is this vault key's over exactly this manifest.
    pub(crate) fn verify_mac(&self, key: &VaultKey) -> bool {
        hex::decode(&self.mac)
            .is_ok_and(|claimed| self.mac_over_rest(key).verify_slice(&claimed).is_ok())
    }

    fn mac_bytes(&self, key: &VaultKey) -> Vec<u8> {
        self.mac_over_rest(key).finalize().into_bytes().to_vec()
    }

    /// The HMAC fed with this manifest as it is with `mac` empty.
    // Cannot panic: HMAC takes any key length, and a derived struct with string keys serializes.
    #[allow(clippy::expect_used)]
    fn mac_over_rest(&self, key: &VaultKey) -> Hmac<Sha256> {
        let mut unsigned = self.clone();
        unsigned.mac.clear();
        let subkey = key.derive_subkey(MAC_PURPOSE);
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(subkey.as_slice())
            .expect("HMAC takes any key length");
        mac.update(&serde_json::to_vec(&unsigned).expect("a manifest serializes"));
        mac
    }

    pub(crate) fn file(&self, name: &str) -> Option<&FileHash> {
        self.files.iter().find(|f| f.name == name)
    }
}

pub(crate) fn damaged(generation: &Path, why: &'static str) -> Error {
    Error::BackupDamaged {
        backup: generation.to_owned(),
        why,
    }
}
