//! Versioned schema migrations (SQL files in `crates/core/migrations/`, tracked by `PRAGMA user_version`).

use std::collections::BTreeMap;

use rusqlite::{Connection, Transaction};
use rusqlite_migration::{HookError, HookResult, M, Migrations};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::fhir::{Demographics, Entry, ResourceFacts, Subject};
use crate::vault::{entries, people};

/// Every migration, oldest first. Append only: never edit a released one.
pub const MIGRATION_SQL: &[&str] = &[
    include_str!("../../migrations/0001_initial.sql"),
    include_str!("../../migrations/0002_connections.sql"),
    include_str!("../../migrations/0003_people_entries.sql"),
    include_str!("../../migrations/0004_preferences.sql"),
    include_str!("../../migrations/0005_vendor_connections.sql"),
    include_str!("../../migrations/0006_own_entries.sql"),
    include_str!("../../migrations/0007_search_by_person.sql"),
    include_str!("../../migrations/0008_source_updated_at.sql"),
];

pub fn migrations() -> Migrations<'static> {
    Migrations::new(
        MIGRATION_SQL
            .iter()
            .enumerate()
            .map(|(i, sql)| match i {
                2 => M::up_with_hook(sql, people_and_entries).foreign_key_check(),
                5 => M::up_with_hook(sql, visits_of_entries).foreign_key_check(),
                _ => M::up(sql),
            })
            .collect(),
    )
}

/// Schema 6's data: the visit (Encounter id) of every stored entry that names one.
fn visits_of_entries(tx: &Transaction<'_>) -> HookResult {
    let mut found: Vec<(i64, String)> = Vec::new();
    {
        let mut stmt = tx.prepare(
            "SELECT r.id, r.json FROM resources r JOIN entries e ON e.resource_id = r.id
             WHERE r.resource_type != 'Encounter' AND instr(r.json, 'Encounter/') > 0",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let json: String = row.get(1)?;
            let Ok(value) = serde_json::from_str::<Value>(&json) else {
                continue;
            };
            if let Some(encounter) = crate::fhir::entry::encounter_of(&value) {
                found.push((row.get(0)?, encounter));
            }
        }
    }
    let mut update = tx.prepare("UPDATE entries SET encounter = ?2 WHERE resource_id = ?1")?;
    for (id, encounter) in found {
        update.execute(rusqlite::params![id, encounter])?;
    }
    Ok(())
}

/// Schema 3's data: every stored resource read into the entry index, and people made of the
/// Patients already in the vault (one per Patient, linked when the automatic match says two are
/// the same human). A resource that names no patient goes to the only person, if there is one.
fn people_and_entries(tx: &Transaction<'_>) -> HookResult {
    fn hook(e: Error) -> HookError {
        HookError::Hook(e.to_string())
    }
    let now = crate::clock::rfc3339(time::OffsetDateTime::now_utc());
    // Portal sources whose connection is gone: the patient is the Patient they hold.
    tx.execute(
        "UPDATE sources SET patient_id = (SELECT min(r.fhir_id) FROM resources r
             WHERE r.source_id = sources.id AND r.resource_type = 'Patient')
         WHERE kind = 'portal' AND patient_id = ''
           AND (SELECT count(*) FROM resources r WHERE r.source_id = sources.id AND r.resource_type = 'Patient') = 1",
        [],
    )?;
    let mut unnamed = Vec::new();
    let mut texts: Vec<(i64, String)> = Vec::new();
    let mut patients: Vec<(i64, String, Demographics)> = Vec::new();
    {
        let mut stmt = tx.prepare("SELECT id, source_id, json FROM resources ORDER BY id")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let (id, source_id, json): (i64, i64, String) = (row.get(0)?, row.get(1)?, row.get(2)?);
            let Ok(value) = serde_json::from_str::<Value>(&json) else {
                continue;
            };
            let entry = Entry::read(&value);
            let text = ResourceFacts::of(&value)
                .map(|f| f.text)
                .unwrap_or_default();
            if !text.is_empty() {
                texts.push((id, text));
            }
            match &entry.subject {
                Subject::Itself(patient) => {
                    patients.push((source_id, patient.clone(), Demographics::of(&value)))
                }
                Subject::Missing | Subject::Several(_) => unnamed.push(id),
                _ => {}
            }
            // The visit column comes with schema 6 (whose hook fills it).
            let entry = Entry {
                encounter: None,
                ..entry
            };
            entries::put(tx, id, source_id, &entry, None).map_err(hook)?;
        }
    }
    // The search index, all at once (one segment, not one per resource).
    {
        let mut insert = tx.prepare("INSERT INTO resource_text (rowid, text) VALUES (?1, ?2)")?;
        for (id, text) in texts {
            insert.execute(rusqlite::params![id, text])?;
        }
    }
    // One person per Patient, unless the automatic match finds them already.
    let mut known: BTreeMap<i64, Vec<Demographics>> = BTreeMap::new();
    let mut link = tx.prepare(
        "INSERT OR IGNORE INTO person_patients (source_id, patient_id, person_id, linked_at) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (source_id, patient, demographics) in patients {
        let person = match people::automatic_match(&known, &demographics) {
            Some(one) => one,
            None => {
                tx.execute("INSERT INTO people (created_at) VALUES (?1)", [&now])?;
                tx.last_insert_rowid()
            }
        };
        known.entry(person).or_default().push(demographics);
        link.execute(rusqlite::params![source_id, patient, person, now])?;
    }
    // Entries tied to their source's Patient, or to the same Patient id in another source.
    tx.execute_batch(
        "UPDATE entries SET person_id = (SELECT pp.person_id FROM person_patients pp JOIN resources r
                 ON r.id = entries.resource_id AND pp.source_id = r.source_id AND pp.patient_id = entries.subject)
         WHERE subject IS NOT NULL;
         UPDATE entries SET person_id = (SELECT min(pp.person_id) FROM person_patients pp WHERE pp.patient_id = entries.subject)
         WHERE person_id IS NULL AND subject IS NOT NULL
           AND (SELECT count(DISTINCT pp.person_id) FROM person_patients pp WHERE pp.patient_id = entries.subject) = 1;",
    )?;
    if let [only] = known.keys().copied().collect::<Vec<_>>().as_slice() {
        let mut assign = tx.prepare("UPDATE entries SET person_id = ?2 WHERE resource_id = ?1")?;
        for id in unnamed {
            assign.execute(rusqlite::params![id, only])?;
        }
    }
    for person in known.keys() {
        entries::regroup(tx, *person).map_err(hook)?;
    }
    Ok(())
}

/// The schema version this build writes.
pub fn latest_version() -> usize {
    MIGRATION_SQL.len()
}

/// Migrates with foreign keys off (some migrations rebuild tables); each such migration checks
/// the keys before it commits.
pub fn migrate_to_latest(conn: &mut Connection) -> Result<()> {
    conn.execute_batch("PRAGMA foreign_keys = OFF;")?;
    let migrated = migrations().to_latest(conn);
    conn.execute_batch("PRAGMA foreign_keys = ON;")?;
    migrated?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_valid() {
        migrations().validate().unwrap();
    }

    /// Every earlier schema version, with data in it, migrates to the latest and keeps its rows.
    #[test]
    fn every_earlier_version_migrates_to_latest() {
        for start in 0..latest_version() {
            let mut conn = Connection::open_in_memory().unwrap();
            migrations().to_version(&mut conn, start).unwrap();
            if start >= 1 {
                conn.execute(
                    "INSERT INTO sources (kind, name, added_at) VALUES ('file', 'x.json', '2026-01-01T00:00:00Z')",
                    [],
                )
                .unwrap();
            }
            migrate_to_latest(&mut conn).unwrap();
            let version: i64 = conn
                .pragma_query_value(None, "user_version", |r| r.get(0))
                .unwrap();
            assert_eq!(version as usize, latest_version(), "from version {start}");
            let sources: i64 = conn
                .query_row("SELECT count(*) FROM sources", [], |r| r.get(0))
                .unwrap();
            assert_eq!(
                sources,
                i64::from(start >= 1),
                "rows survive migration from version {start}"
            );
        }
    }
}
