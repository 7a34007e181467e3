//! The entry index: what the clinical model (`crates/fhir`) read from each resource, one row per
//! resource, written in the transaction that stores the resource. Every view and export reads it.
//!
//! Duplicates across sources are a view over these rows: [`regroup`] marks an entry as
//! `duplicate_of` another entry of the same person from another source when both are the same
//! kind, share a coding (system + code), fall on the same clinical day and, for results, carry
//! the same value and unit. Raw resources all stay; a near match stays two rows.

use std::collections::{BTreeMap, HashMap};

use rusqlite::{OptionalExtension, Transaction, params};

use crate::error::Result;
use crate::fhir::{Entry, Kind, Subject};

/// The patient id an entry belongs to, as stored in `entries.subject`.
pub fn subject_id(subject: &Subject) -> Option<&str> {
    match subject {
        Subject::Itself(id) | Subject::Patient(id) => Some(id),
        _ => None,
    }
}

/// Every `system|code` of the entry's main concept, one per line.
fn codes_text(entry: &Entry) -> String {
    let mut codes: Vec<String> = entry
        .codes
        .iter()
        .filter_map(|c| Some(format!("{}|{}", c.system.as_deref()?, c.code.as_deref()?)))
        .collect();
    codes.sort();
    codes.dedup();
    codes.join("\n")
}

/// Writes (or rewrites) the entry of stored resource `resource_id`.
pub(crate) fn put(
    tx: &Transaction<'_>,
    resource_id: i64,
    source_id: i64,
    entry: &Entry,
    person_id: Option<i64>,
) -> Result<()> {
    let mut display = entry.display.clone();
    if display.is_empty()
        && let Some(id) = entry.medication.as_ref().and_then(|m| m.id.as_deref())
    {
        // A medication named by reference: the name of the Medication the same source sent.
        display = medication_name(tx, source_id, id)?.unwrap_or_default();
    }
    if display.is_empty() {
        display = "Medication not named".to_owned();
    }
    let code = entry.codes.iter().find_map(|c| c.code.clone());
    tx.prepare_cached(
        "INSERT OR REPLACE INTO entries (resource_id, person_id, subject, kind, date, status, display,
                                         detail, code, codes, value, unit, low, high)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    )?
    .execute(params![
        resource_id,
        person_id,
        subject_id(&entry.subject),
        entry.kind.as_str(),
        entry.date.as_ref().map(|d| d.text.as_str()).unwrap_or(""),
        entry.status,
        display,
        entry.detail,
        code,
        codes_text(entry),
        entry.value.as_ref().and_then(|q| q.value),
        entry.value.as_ref().and_then(|q| q.unit.clone()),
        entry.range.as_ref().and_then(|r| r.low),
        entry.range.as_ref().and_then(|r| r.high),
    ])?;
    // Apart, so that schema 3's migration (before the column, schema 6) can store entries too.
    if let Some(encounter) = &entry.encounter {
        tx.prepare_cached("UPDATE entries SET encounter = ?2 WHERE resource_id = ?1")?
            .execute(params![resource_id, encounter])?;
    }
    Ok(())
}

fn medication_name(tx: &Transaction<'_>, source_id: i64, id: &str) -> Result<Option<String>> {
    let json: Option<String> = tx
        .prepare_cached(
            "SELECT json FROM resources WHERE source_id = ?1 AND resource_type = 'Medication' AND fhir_id = ?2",
        )?
        .query_row(params![source_id, id], |r| r.get(0))
        .optional()?;
    Ok(json
        .and_then(|j| serde_json::from_str::<serde_json::Value>(&j).ok())
        .map(|m| Entry::read(&m).display)
        .filter(|d| !d.is_empty()))
}

/// Kinds whose entries are results: duplicates must also agree on value and unit.
fn is_result(kind: &str) -> bool {
    matches!(
        Kind::parse(kind),
        Some(Kind::Lab | Kind::Vital | Kind::Observation)
    )
}

/// Kinds never merged: the person themself and billing records.
fn never_merged(kind: &str) -> bool {
    matches!(Kind::parse(kind), Some(Kind::Patient) | None)
}

struct Candidate {
    resource_id: i64,
    source_id: i64,
    codes: Vec<String>,
    result: Option<String>,
    duplicate_of: Option<i64>,
}

/// Recomputes which of a person's entries repeat another source's (see the module docs).
/// Returns how many entries are now marked as duplicates.
pub(crate) fn regroup(tx: &Transaction<'_>, person_id: i64) -> Result<u64> {
    // (kind, day) → candidates. Only entries with a day and a coding can match anything.
    let mut buckets: BTreeMap<(String, String), Vec<Candidate>> = BTreeMap::new();
    {
        let mut stmt = tx.prepare_cached(
            "SELECT e.resource_id, r.source_id, e.kind, substr(e.date, 1, 10), e.codes, e.value, e.unit,
                    e.detail, e.duplicate_of
             FROM entries e JOIN resources r ON r.id = e.resource_id
             WHERE e.person_id = ?1 AND e.codes != '' AND length(e.date) >= 10
             ORDER BY e.resource_id",
        )?;
        let mut rows = stmt.query([person_id])?;
        while let Some(row) = rows.next()? {
            let kind: String = row.get(2)?;
            if never_merged(&kind) {
                continue;
            }
            let result = is_result(&kind).then(|| {
                let value: Option<f64> = row.get(5).ok().flatten();
                let unit: Option<String> = row.get(6).ok().flatten();
                let detail: Option<String> = row.get(7).ok().flatten();
                // The value and unit when numeric, else the value as read (e.g. 120/80 mm[Hg]).
                match value {
                    Some(v) => format!("{v}|{}", unit.unwrap_or_default()),
                    None => detail.unwrap_or_default(),
                }
            });
            // A result with no value at all has nothing to agree on: it never merges.
            if result.as_deref() == Some("") {
                continue;
            }
            let codes: String = row.get(4)?;
            buckets
                .entry((kind, row.get(3)?))
                .or_default()
                .push(Candidate {
                    resource_id: row.get(0)?,
                    source_id: row.get(1)?,
                    codes: codes.lines().map(str::to_owned).collect(),
                    result,
                    duplicate_of: row.get(8)?,
                });
        }
    }
    let mut wanted: HashMap<i64, Option<i64>> = HashMap::new();
    let mut current: HashMap<i64, Option<i64>> = HashMap::new();
    for candidates in buckets.values() {
        for c in candidates {
            current.insert(c.resource_id, c.duplicate_of);
            wanted.insert(c.resource_id, None);
        }
        if candidates.len() < 2 {
            continue;
        }
        // Union–find over pairs from different sources that match.
        let mut parent: Vec<usize> = (0..candidates.len()).collect();
        // Cannot panic: `parent` has one slot per candidate and holds only candidates' indices.
        #[allow(clippy::indexing_slicing)]
        fn root(parent: &mut [usize], mut i: usize) -> usize {
            while parent[i] != i {
                parent[i] = parent[parent[i]];
                i = parent[i];
            }
            i
        }
        for (i, a) in candidates.iter().enumerate() {
            for (j, b) in candidates.iter().enumerate().skip(i + 1) {
                let same = a.source_id != b.source_id
                    && a.result == b.result
                    && a.codes.iter().any(|code| b.codes.contains(code));
                if same {
                    let (ra, rb) = (root(&mut parent, i), root(&mut parent, j));
                    // The earliest stored entry represents the group.
                    if let Some(slot) = parent.get_mut(ra.max(rb)) {
                        *slot = ra.min(rb);
                    }
                }
            }
        }
        for (i, c) in candidates.iter().enumerate() {
            let r = root(&mut parent, i);
            if r != i
                && let Some(representative) = candidates.get(r)
            {
                wanted.insert(c.resource_id, Some(representative.resource_id));
            }
        }
    }
    let mut set =
        tx.prepare_cached("UPDATE entries SET duplicate_of = ?2 WHERE resource_id = ?1")?;
    // Entries that no longer qualify (their coding or day changed) are shown again.
    let mut stale = tx.prepare_cached(
        "SELECT resource_id FROM entries WHERE person_id = ?1 AND duplicate_of IS NOT NULL",
    )?;
    let marked: Vec<i64> = stale
        .query_map([person_id], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for id in marked {
        if !wanted.contains_key(&id) {
            set.execute(params![id, Option::<i64>::None])?;
        }
    }
    let mut duplicates = 0;
    for (id, want) in &wanted {
        duplicates += u64::from(want.is_some());
        if current.get(id) != Some(want) {
            set.execute(params![id, want])?;
        }
    }
    Ok(duplicates)
}
