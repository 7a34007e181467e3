//! The full export: everything in the vault as plain files, readable without OwnRecord.
//!
//! ```text
//! DIR/resources/<Type>.source-<N>.ndjson   current resources as received from source N
//!                                           (see sources.json), minified to one line each;
//!                                           `<Type>.source-<N>.person-<P>.ndjson` where one
//!                                           source holds several people's records
//! DIR/history/<Type>.source-<N>.ndjson     earlier versions kept when newer ones replaced them
//! DIR/attachments/<sha256>      downloaded attachments, plus attachments/index.json (url, type)
//! DIR/sources.json              where the record came from (portals without their tokens)
//! DIR/audit-log.json            the audit & disclosure log, verifiable on its own
//! DIR/manifest.json             every file above with its size, SHA-256 and whose it is
//!                               (`person`; none for shared resources), and the people
//! ```
//! Re-importing: the `Patient.*` files first (each file is linked to its person by its Patient).
//! The files are written into a fresh folder beside DIR and renamed into place at the end, in
//! the transaction that records the export: a half-written export is never left behind.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::json;

use crate::audit::{self, AuditKind};
use crate::error::Result;
use crate::export::folder::Staged;
use crate::export::sha256_hex;
use crate::vault::Vault;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FullExport {
    pub dir: PathBuf,
    pub resources: u64,
    pub earlier_versions: u64,
    pub attachments: u64,
    pub files: u64,
    pub manifest_sha256: String,
}

#[derive(Serialize)]
struct ManifestEntry {
    path: String,
    bytes: u64,
    sha256: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    person: Option<i64>,
}

/// Files written so far, for the manifest.
struct Writer {
    folder: Staged,
    entries: Vec<ManifestEntry>,
}

impl Writer {
    fn write(&mut self, relative: &str, content: &[u8]) -> Result<()> {
        self.write_for(relative, content, None)
    }

    fn write_for(&mut self, relative: &str, content: &[u8], person: Option<i64>) -> Result<()> {
        let file = self.folder.write(relative, content)?;
        self.entries.push(ManifestEntry {
            path: file.path,
            bytes: file.bytes,
            sha256: file.sha256,
            person,
        });
        Ok(())
    }
}

/// Exports the whole vault (or, with `person`, that person's record and the shared resources of
/// their sources) into `dir`, which must not exist yet or be empty.
pub fn export_all(vault: &mut Vault, dir: &Path, person: Option<i64>) -> Result<FullExport> {
    if let Some(id) = person {
        vault.person(id)?;
    }
    let mut writer = Writer {
        folder: Staged::new(dir)?,
        entries: Vec::new(),
    };
    let created = vault.now();

    // Whose: a person's resources, and the shared ones of their sources.
    let whose = "(?1 IS NULL OR e.person_id = ?1 OR (e.person_id IS NULL AND r.source_id IN
                 (SELECT source_id FROM person_patients WHERE person_id = ?1)))";
    let resources = write_ndjson(
        vault,
        &mut writer,
        "resources",
        &format!(
            "SELECT r.resource_type, r.source_id, e.person_id, r.json FROM resources r
             LEFT JOIN entries e ON e.resource_id = r.id WHERE {whose}
             ORDER BY r.resource_type, r.source_id, r.fhir_id"
        ),
        person,
    )?;
    let earlier_versions = write_ndjson(
        vault,
        &mut writer,
        "history",
        &format!(
            "SELECT r.resource_type, r.source_id, e.person_id, h.json FROM resource_history h
             JOIN resources r ON r.id = h.resource_id LEFT JOIN entries e ON e.resource_id = r.id
             WHERE {whose} ORDER BY r.resource_type, r.source_id, h.id"
        ),
        person,
    )?;
    let attachments = write_attachments(vault, &mut writer, person)?;
    write_sources(vault, &mut writer)?;

    let (audit_log, _) = audit::export_bytes(vault.db(), &created, false)?;
    writer.write("audit-log.json", &audit_log)?;

    let files = writer.entries.len() as u64;
    let manifest = json!({
        "format": "ownrecord-full-export/1",
        "created": created,
        "vault_id": vault.settings().vault_id,
        "resources": resources,
        "earlier_versions": earlier_versions,
        "attachments": attachments,
        "people": vault
            .people()?
            .into_iter()
            .filter(|p| person.is_none_or(|id| id == p.id))
            .map(|p| json!({
                "id": p.id,
                "name": p.name,
                "birth_date": p.birth_date,
                "sources": p.sources.iter().map(|s| s.id).collect::<Vec<_>>(),
            }))
            .collect::<Vec<_>>(),
        "files": writer.entries,
    });
    // Cannot panic: serializing a JSON value does not fail.
    #[allow(clippy::expect_used)]
    let manifest_bytes = serde_json::to_vec_pretty(&manifest).expect("a manifest serializes");
    let manifest_sha256 = sha256_hex(&manifest_bytes);
    writer.write("manifest.json", &manifest_bytes)?;

    let details = json!({
        "what": "full export",
        "recipient": "the patient (files on this computer)",
        "purpose": "full export",
        "folder": dir.display().to_string(),
        "person": person,
        "resources": resources,
        "attachments": attachments,
        "content_sha256": manifest_sha256,
    });
    writer
        .folder
        .place(vault, AuditKind::Export, details, |_| Ok(()))?;
    Ok(FullExport {
        dir: dir.to_owned(),
        resources,
        earlier_versions,
        attachments,
        files: files + 1,
        manifest_sha256,
    })
}

/// One NDJSON file per resource type and source under `folder` (a resource may come from two
/// sources in two versions: both are kept); returns the number of lines.
fn write_ndjson(
    vault: &Vault,
    writer: &mut Writer,
    folder: &str,
    sql: &str,
    person: Option<i64>,
) -> Result<u64> {
    let mut by_file: BTreeMap<(String, i64, Option<i64>), Vec<u8>> = BTreeMap::new();
    let mut count = 0;
    let mut stmt = vault.db().prepare(sql)?;
    let mut rows = stmt.query([person])?;
    while let Some(row) = rows.next()? {
        let resource_type: String = row.get(0)?;
        let source: i64 = row.get(1)?;
        let person: Option<i64> = row.get(2)?;
        let json: String = row.get(3)?;
        let lines = by_file.entry((resource_type, source, person)).or_default();
        lines.extend_from_slice(crate::fhir::minified(&json).as_bytes());
        lines.push(b'\n');
        count += 1;
    }
    // Sources holding several people's records get one file per person.
    let mut people_of_source: BTreeMap<i64, std::collections::BTreeSet<i64>> = BTreeMap::new();
    for (_, source, person) in by_file.keys() {
        people_of_source.entry(*source).or_default().extend(*person);
    }
    for ((resource_type, source, person), lines) in by_file {
        let name = match person {
            Some(p) if people_of_source.get(&source).is_some_and(|p| p.len() > 1) => {
                format!("{folder}/{resource_type}.source-{source}.person-{p}.ndjson")
            }
            _ => format!("{folder}/{resource_type}.source-{source}.ndjson"),
        };
        writer.write_for(&name, &lines, person)?;
    }
    Ok(count)
}

fn write_attachments(vault: &Vault, writer: &mut Writer, person: Option<i64>) -> Result<u64> {
    let mut index = Vec::new();
    let mut stmt = vault.db().prepare(
        "SELECT url, content_type, sha256, data, fetched_at FROM attachments
         WHERE ?1 IS NULL OR source_id IN (SELECT source_id FROM person_patients WHERE person_id = ?1)
         ORDER BY url",
    )?;
    let mut rows = stmt.query([person])?;
    while let Some(row) = rows.next()? {
        let url: String = row.get(0)?;
        let content_type: Option<String> = row.get(1)?;
        let sha256: Vec<u8> = row.get(2)?;
        let data: Vec<u8> = row.get(3)?;
        let fetched_at: String = row.get(4)?;
        let name = format!("attachments/{}", hex::encode(&sha256));
        if !writer.entries.iter().any(|e| e.path == name) {
            writer.write(&name, &data)?;
        }
        index.push(json!({"url": url, "content_type": content_type, "file": name, "fetched_at": fetched_at}));
    }
    let count = index.len() as u64;
    if count > 0 {
        // Cannot panic: a map with string keys serializes.
        #[allow(clippy::expect_used)]
        let bytes = serde_json::to_vec_pretty(&index).expect("an index serializes");
        writer.write("attachments/index.json", &bytes)?;
    }
    Ok(count)
}

fn write_sources(vault: &Vault, writer: &mut Writer) -> Result<()> {
    let conn = vault.db();
    let sources: Vec<serde_json::Value> = conn
        .prepare("SELECT id, kind, name, added_at FROM sources ORDER BY id")?
        .query_map([], |r| {
            Ok(json!({
                "number": r.get::<_, i64>(0)?,
                "kind": r.get::<_, String>(1)?,
                "name": r.get::<_, String>(2)?,
                "added_at": r.get::<_, String>(3)?,
            }))
        })?
        .collect::<rusqlite::Result<_>>()?;
    // Connections without their tokens or client secrets.
    let connections: Vec<serde_json::Value> = conn
        .prepare(
            "SELECT name, fhir_base, patient_id, scopes, status, connected_at, last_sync_at
             FROM connections ORDER BY id",
        )?
        .query_map([], |r| {
            Ok(json!({
                "name": r.get::<_, String>(0)?,
                "fhir_base": r.get::<_, String>(1)?,
                "patient_id": r.get::<_, String>(2)?,
                "scopes": r.get::<_, String>(3)?,
                "status": r.get::<_, String>(4)?,
                "connected_at": r.get::<_, String>(5)?,
                "last_sync_at": r.get::<_, Option<String>>(6)?,
            }))
        })?
        .collect::<rusqlite::Result<_>>()?;
    // Cannot panic: serializing a JSON value does not fail.
    #[allow(clippy::expect_used)]
    let bytes = serde_json::to_vec_pretty(&json!({"sources": sources, "connections": connections}))
        .expect("sources serialize");
    writer.write("sources.json", &bytes)
}
