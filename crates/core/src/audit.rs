//! The append-only, hash-chained audit & disclosure log.
//!
//! Each row stores `hash = SHA-256(prev_hash ‖ seq ‖ at ‖ kind ‖ SHA-256(details))`; the first row's
//! `prev_hash` is 32 zero bytes. SQL triggers refuse UPDATE and DELETE; [`verify`] recomputes the chain
//! and names the first row that does not fit. Because the chain covers a hash of the details rather than
//! the details themselves, an export may leave out details (see [`ExportedEntry`]) and still be verified.
//! Rows never hold clinical content: only kinds, counts, file names, recipients, purposes and hashes.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditKind {
    VaultCreated,
    VaultUnlocked,
    PassphraseSet,
    Import,
    Connect,
    Disconnect,
    Sync,
    Export,
    Share,
    Delete,
    /// People: a Patient linked to a person (automatically or by choice), renamed, linked, split, removed.
    People,
    /// A new recovery key (the old one stops working).
    RecoveryKeySet,
    /// The folder automatic backups go to was chosen or cleared.
    BackupFolder,
    /// The vault was restored from a backup.
    Restored,
    /// The patient's own client id for a vendor was set or cleared.
    ClientId,
    /// A share host was added or removed (never its token).
    ShareHost,
    /// The patient added something to their own record (its kind, never its content).
    OwnEntry,
    Wipe,
}

impl AuditKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditKind::VaultCreated => "vault_created",
            AuditKind::VaultUnlocked => "vault_unlocked",
            AuditKind::PassphraseSet => "passphrase_set",
            AuditKind::Import => "import",
            AuditKind::Connect => "connect",
            AuditKind::Disconnect => "disconnect",
            AuditKind::Sync => "sync",
            AuditKind::Export => "export",
            AuditKind::Share => "share",
            AuditKind::Delete => "delete",
            AuditKind::People => "people",
            AuditKind::RecoveryKeySet => "recovery_key_set",
            AuditKind::BackupFolder => "backup_folder",
            AuditKind::Restored => "restored",
            AuditKind::ClientId => "client_id",
            AuditKind::ShareHost => "share_host",
            AuditKind::OwnEntry => "own_entry",
            AuditKind::Wipe => "wipe",
        }
    }

    /// Disclosures (and the record of the vault's life) keep their details in the log that
    /// survives a wipe; the rest (e.g. import file names) keep only the hash of their details.
    pub fn survives_wipe(self) -> bool {
        matches!(
            self,
            AuditKind::VaultCreated
                | AuditKind::Export
                | AuditKind::Share
                | AuditKind::Restored
                | AuditKind::Wipe
        )
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AuditEntry {
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub seq: i64,
    pub at: String,
    pub kind: String,
    pub details: serde_json::Value,
    #[serde(with = "hex::serde")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub prev_hash: Vec<u8>,
    #[serde(with = "hex::serde")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub hash: Vec<u8>,
}

const GENESIS: [u8; 32] = [0; 32];

fn row_hash(prev_hash: &[u8], seq: i64, at: &str, kind: &str, details_sha256: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(prev_hash);
    h.update(seq.to_be_bytes());
    for field in [at.as_bytes(), kind.as_bytes()] {
        h.update((field.len() as u64).to_be_bytes());
        h.update(field);
    }
    h.update(details_sha256);
    h.finalize().into()
}

/// Appends one row. Call inside the transaction of the action it records.
pub fn append(
    tx: &Transaction<'_>,
    at: &str,
    kind: AuditKind,
    details: &serde_json::Value,
) -> Result<i64> {
    let last: Option<(i64, Vec<u8>)> = tx
        .query_row(
            "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let (seq, prev_hash) = match last {
        Some((seq, hash)) => (seq + 1, hash),
        None => (1, GENESIS.to_vec()),
    };
    // Cannot panic: serializing a JSON value does not fail.
    #[allow(clippy::expect_used)]
    let details = serde_json::to_string(details).expect("JSON values serialize");
    let hash = row_hash(
        &prev_hash,
        seq,
        at,
        kind.as_str(),
        &Sha256::digest(details.as_bytes()),
    );
    tx.execute(
        "INSERT INTO audit_log (seq, at, kind, details, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![seq, at, kind.as_str(), details, prev_hash, hash.as_slice()],
    )?;
    Ok(seq)
}

/// Which rows to list.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub kinds: Vec<AuditKind>,
}

pub fn list(conn: &Connection, filter: &Filter) -> Result<Vec<AuditEntry>> {
    let mut stmt =
        conn.prepare("SELECT seq, at, kind, details, prev_hash, hash FROM audit_log ORDER BY seq")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, Vec<u8>>(4)?,
            r.get::<_, Vec<u8>>(5)?,
        ))
    })?;
    let mut entries = Vec::new();
    for row in rows {
        let (seq, at, kind, details, prev_hash, hash) = row?;
        if !filter.kinds.is_empty() && !filter.kinds.iter().any(|k| k.as_str() == kind) {
            continue;
        }
        let details = serde_json::from_str(&details).unwrap_or(serde_json::Value::Null);
        entries.push(AuditEntry {
            seq,
            at,
            kind,
            details,
            prev_hash,
            hash,
        });
    }
    Ok(entries)
}

/// The result of walking the chain.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Verified {
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub entries: i64,
    #[serde(with = "hex::serde")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub head: Vec<u8>,
}

/// Walks the whole chain; `Err(AuditBroken)` names the first row that does not fit.
pub fn verify(conn: &Connection) -> Result<Verified> {
    let mut stmt =
        conn.prepare("SELECT seq, at, kind, details, prev_hash, hash FROM audit_log ORDER BY seq")?;
    let mut rows = stmt.query([])?;
    let mut chain = ChainWalker::default();
    while let Some(r) = rows.next()? {
        let details: String = r.get(3)?;
        chain.step(
            r.get(0)?,
            &r.get::<_, String>(1)?,
            &r.get::<_, String>(2)?,
            &Sha256::digest(details.as_bytes()),
            &r.get::<_, Vec<u8>>(4)?,
            &r.get::<_, Vec<u8>>(5)?,
        )?;
    }
    Ok(chain.finish())
}

/// Checks rows one after another against the chain rule.
#[derive(Default)]
struct ChainWalker {
    count: i64,
    prev_hash: Option<Vec<u8>>,
}

impl ChainWalker {
    fn step(
        &mut self,
        seq: i64,
        at: &str,
        kind: &str,
        details_sha256: &[u8],
        prev_hash: &[u8],
        hash: &[u8],
    ) -> Result<()> {
        let broken = |why: &str| Error::AuditBroken {
            seq,
            why: why.to_owned(),
        };
        if seq != self.count + 1 {
            return Err(broken(&format!(
                "follows entry {} (entries are missing)",
                self.count
            )));
        }
        let expected_prev = self.prev_hash.clone().unwrap_or_else(|| GENESIS.to_vec());
        if prev_hash != expected_prev.as_slice() {
            return Err(broken("does not link to the entry before it"));
        }
        if hash != row_hash(prev_hash, seq, at, kind, details_sha256).as_slice() {
            return Err(broken("was changed after it was written"));
        }
        self.count = seq;
        self.prev_hash = Some(hash.to_vec());
        Ok(())
    }

    fn finish(self) -> Verified {
        Verified {
            entries: self.count,
            head: self.prev_hash.unwrap_or_else(|| GENESIS.to_vec()),
        }
    }
}

/// One row of an exported log. `details` is `None` where it was left out (see
/// [`AuditKind::survives_wipe`]); `details_sha256` still lets the chain be verified.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ExportedEntry {
    pub seq: i64,
    pub at: String,
    pub kind: String,
    pub details: Option<serde_json::Value>,
    pub details_sha256: String,
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ExportedLog {
    pub format: String,
    pub exported_at: String,
    pub chain_rule: String,
    pub entries: Vec<ExportedEntry>,
}

/// Writes the log as JSON (see [`export_bytes`]); returns the number of entries.
pub fn export(
    conn: &Connection,
    path: &Path,
    exported_at: &str,
    only_surviving_details: bool,
) -> Result<usize> {
    let (bytes, count) = export_bytes(conn, exported_at, only_surviving_details)?;
    write_synced(path, &bytes)?;
    Ok(count)
}

/// The verified log as JSON, and its number of entries. With `only_surviving_details`, rows
/// whose kind does not survive a wipe keep their hashes but not their details.
pub fn export_bytes(
    conn: &Connection,
    exported_at: &str,
    only_surviving_details: bool,
) -> Result<(Vec<u8>, usize)> {
    verify(conn)?;
    let mut stmt =
        conn.prepare("SELECT seq, at, kind, details, prev_hash, hash FROM audit_log ORDER BY seq")?;
    let rows = stmt.query_map([], |r| {
        let kind: String = r.get(2)?;
        let details: String = r.get(3)?;
        let keep = !only_surviving_details
            || serde_json::from_value::<AuditKind>(serde_json::Value::String(kind.clone()))
                .map(AuditKind::survives_wipe)
                .unwrap_or(false);
        Ok(ExportedEntry {
            seq: r.get(0)?,
            at: r.get(1)?,
            details_sha256: hex::encode(Sha256::digest(details.as_bytes())),
            details: keep
                .then(|| serde_json::from_str(&details).unwrap_or(serde_json::Value::Null)),
            kind,
            prev_hash: hex::encode(r.get::<_, Vec<u8>>(4)?),
            hash: hex::encode(r.get::<_, Vec<u8>>(5)?),
        })
    })?;
    let entries = rows.collect::<rusqlite::Result<Vec<_>>>()?;
    let count = entries.len();
    let log = ExportedLog {
        format: "ownrecord-audit-log/1".into(),
        exported_at: exported_at.into(),
        chain_rule: "hash = SHA-256(prev_hash || seq as u64 BE || len(at) as u64 BE || at || len(kind) as u64 BE || kind || details_sha256); first prev_hash = 32 zero bytes".into(),
        entries,
    };
    // Cannot panic: a derived struct with string keys serializes.
    #[allow(clippy::expect_used)]
    let bytes = serde_json::to_vec_pretty(&log).expect("log serializes");
    Ok((bytes, count))
}

/// Verifies an exported log file on its own (no vault needed).
pub fn verify_exported(log: &ExportedLog) -> Result<Verified> {
    let mut chain = ChainWalker::default();
    for e in &log.entries {
        let decode = |h: &str| hex::decode(h).unwrap_or_default();
        chain.step(
            e.seq,
            &e.at,
            &e.kind,
            &decode(&e.details_sha256),
            &decode(&e.prev_hash),
            &decode(&e.hash),
        )?;
        if let Some(details) = &e.details {
            // Cannot panic: serializing a JSON value does not fail.
            #[allow(clippy::expect_used)]
            let text = serde_json::to_string(details).expect("JSON values serialize");
            if hex::encode(Sha256::digest(text.as_bytes())) != e.details_sha256 {
                return Err(Error::AuditBroken {
                    seq: e.seq,
                    why: "has details that do not match their hash".into(),
                });
            }
        }
    }
    Ok(chain.finish())
}

pub(crate) fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(path)?;
        f.write_all(bytes)?;
        f.sync_all()
    };
    write().map_err(|e| Error::write(path, e))
}
