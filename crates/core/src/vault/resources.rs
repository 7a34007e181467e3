//! Writing resources: byte-exact JSON keyed by (source, resourceType, id), with history.

use rusqlite::{OptionalExtension, Transaction, params};
use serde::Serialize;
use sha2::{Digest, Sha256};

use std::collections::{BTreeSet, HashMap};

use crate::error::Result;
use crate::fhir::{Entry, ResourceFacts, Subject};
use crate::vault::{entries, people};

/// Where resources came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    File,
    Portal,
    /// What the patient added themselves (see `vault/own.rs`).
    Own,
}

impl SourceKind {
    fn as_str(self) -> &'static str {
        match self {
            SourceKind::File => "file",
            SourceKind::Portal => "portal",
            SourceKind::Own => "self",
        }
    }
}

/// The id of a source row, created on first use: a file by its name (`patient_id` empty), a
/// portal by its FHIR base and the patient signed in there. Every store into a source asks for
/// it, so this also records `now` as the source's last update (import or sync).
pub fn source_id(
    tx: &Transaction<'_>,
    kind: SourceKind,
    name: &str,
    patient_id: &str,
    now: &str,
) -> Result<i64> {
    tx.execute(
        "INSERT INTO sources (kind, name, patient_id, added_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?4)
         ON CONFLICT (kind, name, patient_id) DO UPDATE SET updated_at = excluded.updated_at",
        params![kind.as_str(), name, patient_id, now],
    )?;
    Ok(tx.query_row(
        "SELECT id FROM sources WHERE kind = ?1 AND name = ?2 AND patient_id = ?3",
        params![kind.as_str(), name, patient_id],
        |r| r.get(0),
    )?)
}

/// What storing one resource did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    New,
    /// A different version replaced the stored one (which moved to history).
    Updated,
    /// Byte-identical to what is stored.
    Unchanged,
    /// Older (by meta.lastUpdated) than what is stored: kept in history only.
    Older,
}

/// Counts of [`Stored`] outcomes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct StoreCounts {
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub new: u64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub updated: u64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub unchanged: u64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub older: u64,
}

impl StoreCounts {
    pub fn add(&mut self, stored: Stored) {
        match stored {
            Stored::New => self.new += 1,
            Stored::Updated => self.updated += 1,
            Stored::Unchanged => self.unchanged += 1,
            Stored::Older => self.older += 1,
        }
    }

    pub fn total(&self) -> u64 {
        self.new + self.updated + self.unchanged + self.older
    }

    pub fn merge(&mut self, other: StoreCounts) {
        self.new += other.new;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
        self.older += other.older;
    }
}

/// Writes resources within one transaction. Search text is buffered and added to the FTS5 index in
/// batches: FTS5 flushes its pending terms at every statement savepoint, so adding text row by row
/// would write one tiny index segment per resource. Call [`ResourceWriter::finish`] before committing.
pub struct ResourceWriter<'a, 't> {
    tx: &'a Transaction<'t>,
    pending_text: Vec<(i64, String)>,
    /// (source, patient id) → its person, as linked so far.
    people: HashMap<(i64, String), Option<i64>>,
    /// People whose entries changed (their duplicates are regrouped at the end).
    touched: BTreeSet<i64>,
    /// Decides whose each new Patient is, as it is stored (imports).
    settler: Option<people::Settler>,
}

const TEXT_BATCH: usize = 2000;

impl<'a, 't> ResourceWriter<'a, 't> {
    pub fn new(tx: &'a Transaction<'t>) -> Self {
        ResourceWriter {
            tx,
            pending_text: Vec::with_capacity(TEXT_BATCH),
            people: HashMap::new(),
            touched: BTreeSet::new(),
            settler: None,
        }
    }

    /// A writer that links each new Patient to a person as it is stored (see [`people::Settler`]),
    /// so the resources after it are stored with their person.
    pub(crate) fn with_settler(tx: &'a Transaction<'t>, settler: people::Settler) -> Self {
        ResourceWriter {
            settler: Some(settler),
            ..ResourceWriter::new(tx)
        }
    }

    pub fn transaction(&self) -> &'a Transaction<'t> {
        self.tx
    }

    /// Stores one resource whose `facts.id` is set, with its `entry`. `json` is kept exactly as given.
    pub fn put(
        &mut self,
        source_id: i64,
        facts: &ResourceFacts,
        entry: &Entry,
        json: &str,
        now: &str,
    ) -> Result<Stored> {
        // Cannot panic: every caller gives an id (import assigns one, sync refuses a resource
        // without, C-CDA conversion makes one for each resource).
        #[allow(clippy::expect_used)]
        let id = facts
            .id
            .as_deref()
            .expect("resources are stored with an id");
        let sha256 = Sha256::digest(json.as_bytes());
        let existing: Option<(i64, Vec<u8>, Option<String>)> = self
            .tx
            .prepare_cached(
                "SELECT id, sha256, last_updated FROM resources
                 WHERE source_id = ?1 AND resource_type = ?2 AND fhir_id = ?3",
            )?
            .query_row(params![source_id, facts.resource_type, id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()?;

        let Some((row_id, stored_sha, stored_updated)) = existing else {
            // OR FAIL, no RETURNING: a single-row insert checks its constraints before writing, and any
            // error rolls the whole file back, so no per-statement journal is needed.
            self.tx
                .prepare_cached(
                    "INSERT OR FAIL INTO resources (source_id, resource_type, fhir_id, version_id, last_updated,
                                                    clinical_date, sha256, json, imported_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                )?
                .execute(params![
                    source_id,
                    facts.resource_type,
                    id,
                    facts.version_id,
                    facts.last_updated,
                    facts.clinical_date,
                    sha256.as_slice(),
                    json,
                    now
                ])?;
            let row_id = self.tx.last_insert_rowid();
            self.index(row_id, facts)?;
            self.put_entry(row_id, source_id, entry)?;
            return Ok(Stored::New);
        };

        if stored_sha == sha256.as_slice() {
            return Ok(Stored::Unchanged);
        }
        let incoming_is_older = matches!(
            (&facts.last_updated, &stored_updated),
            (Some(incoming), Some(stored)) if incoming < stored
        );
        if incoming_is_older {
            let known: bool = self
                .tx
                .prepare_cached(
                    "SELECT EXISTS (SELECT 1 FROM resource_history WHERE resource_id = ?1 AND sha256 = ?2)",
                )?
                .query_row(params![row_id, sha256.as_slice()], |r| r.get(0))?;
            if !known {
                self.tx
                    .prepare_cached(
                        "INSERT INTO resource_history (resource_id, version_id, last_updated, sha256, json, replaced_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    )?
                    .execute(params![row_id, facts.version_id, facts.last_updated, sha256.as_slice(), json, now])?;
            }
            return Ok(Stored::Older);
        }
        self.tx
            .prepare_cached(
                "INSERT INTO resource_history (resource_id, version_id, last_updated, sha256, json, replaced_at)
                 SELECT id, version_id, last_updated, sha256, json, ?2 FROM resources WHERE id = ?1",
            )?
            .execute(params![row_id, now])?;
        self.tx
            .prepare_cached(
                "UPDATE resources SET version_id = ?2, last_updated = ?3, clinical_date = ?4, sha256 = ?5,
                                      json = ?6, imported_at = ?7
                 WHERE id = ?1",
            )?
            .execute(params![
                row_id,
                facts.version_id,
                facts.last_updated,
                facts.clinical_date,
                sha256.as_slice(),
                json,
                now
            ])?;
        self.tx
            .prepare_cached("DELETE FROM resource_text WHERE rowid = ?1")?
            .execute([row_id])?;
        self.tx
            .prepare_cached("DELETE FROM identifiers WHERE resource_id = ?1")?
            .execute([row_id])?;
        self.index(row_id, facts)?;
        self.put_entry(row_id, source_id, entry)?;
        Ok(Stored::Updated)
    }

    fn put_entry(&mut self, row_id: i64, source_id: i64, entry: &Entry) -> Result<()> {
        let person = match entries::subject_id(&entry.subject) {
            None => None,
            Some(subject) => {
                let key = (source_id, subject.to_owned());
                let cached = self.people.get(&key).copied();
                match cached {
                    Some(Some(person)) => Some(person),
                    _ => {
                        let mut person = match cached {
                            None => people::linked_person(self.tx, source_id, subject)?,
                            Some(_) => None,
                        };
                        // The Patient itself: whose it is is decided now.
                        if person.is_none()
                            && matches!(entry.subject, Subject::Itself(_))
                            && let Some(settler) = self.settler.as_mut()
                        {
                            person = Some(settler.person(self.tx, subject)?);
                        }
                        self.people.insert(key, person);
                        person
                    }
                }
            }
        };
        self.touched.extend(person);
        entries::put(self.tx, row_id, source_id, entry, person)
    }

    fn index(&mut self, row_id: i64, facts: &ResourceFacts) -> Result<()> {
        for (system, value) in &facts.identifiers {
            self.tx
                .prepare_cached("INSERT OR IGNORE INTO identifiers (system, value, resource_id) VALUES (?1, ?2, ?3)")?
                .execute(params![system, value, row_id])?;
        }
        if !facts.text.is_empty() {
            self.pending_text.push((row_id, facts.text.clone()));
        }
        if self.pending_text.len() >= TEXT_BATCH {
            self.flush_text()?;
        }
        Ok(())
    }

    fn flush_text(&mut self) -> Result<()> {
        let mut insert = self
            .tx
            .prepare_cached("INSERT INTO resource_text (rowid, text) VALUES (?1, ?2)")?;
        for (row_id, text) in self.pending_text.drain(..) {
            insert.execute(params![row_id, text])?;
        }
        Ok(())
    }

    /// Adds the buffered search text to the index, links the Patients whose resources came
    /// before them (with a settler) and regroups the duplicates of the people whose entries
    /// changed. Returns the links made.
    pub fn finish(mut self) -> Result<Vec<people::Link>> {
        self.flush_text()?;
        let links = match self.settler.take() {
            Some(settler) => settler.finish(self.tx)?,
            None => Vec::new(),
        };
        let mut changed = std::mem::take(&mut self.touched);
        changed.extend(links.iter().map(|l| l.person));
        for person in changed {
            entries::regroup(self.tx, person)?;
        }
        Ok(links)
    }
}

/// The id of a stored resource of `resource_type` carrying identifier `system|value`
/// (an empty `system` matches any), for conditional references.
pub fn find_by_identifier(
    tx: &Transaction<'_>,
    resource_type: &str,
    system: &str,
    value: &str,
) -> Result<Option<String>> {
    Ok(tx
        .prepare_cached(
            "SELECT r.fhir_id FROM identifiers i JOIN resources r ON r.id = i.resource_id
             WHERE i.value = ?3 AND (?2 = '' OR i.system = ?2) AND r.resource_type = ?1
             ORDER BY r.id LIMIT 1",
        )?
        .query_row(params![resource_type, system, value], |r| r.get(0))
        .optional()?)
}

/// Stores an attachment's bytes under its URL (a portal's Binary URL, or `urn:sha256:<hex>` for
/// a document kept from an import), replacing what was stored under that URL.
pub fn put_attachment(
    tx: &Transaction<'_>,
    url: &str,
    source_id: i64,
    content_type: Option<&str>,
    data: &[u8],
    now: &str,
) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO attachments (url, source_id, content_type, sha256, data, fetched_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (url) DO UPDATE SET content_type = ?3, sha256 = ?4, data = ?5, fetched_at = ?6",
    )?
    .execute(params![url, source_id, content_type, Sha256::digest(data).as_slice(), data, now])?;
    Ok(())
}
