//! The home screen of one person: who they are (name, age or the year they died) and the
//! tables their PDF summary lists (allergies first, then medications, problems, vitals, results,
//! visits, ...), made by the same [`Summary`] so the window and the PDF never disagree; and each
//! source with its last update and what needs the patient.
//!
//! The home reads only what it shows, so it opens as fast for a lifetime's record as for a
//! year's: every allergy, active medication and problem (the same rows as the PDF), the newest
//! few of each dated section with how many there are, the latest readings of each vital sign,
//! and of the results of the two years up to the newest one only those out of range. The rows
//! are chosen from the entry index (`entries`); only the chosen resources are parsed.

use std::collections::BTreeMap;

use rusqlite::{Connection, params};
use serde::Serialize;

use crate::error::Result;
use crate::export::record::Record;
use crate::export::summary::{Summary, Table};
use crate::export::{Section, Selection};
use crate::vault::Vault;

/// The newest rows the home shows of each dated section (the PDF has its own limits).
const NEWEST_IMMUNIZATIONS: i64 = 10;
const NEWEST_VISITS: i64 = 10;
const NEWEST_PROCEDURES: i64 = 10;
/// The PDF's number of readings of each vital sign.
const READINGS_PER_VITAL: i64 = 3;
/// The most results that may be out of range (a value outside its range, an interpretation or
/// components) read for the home, newest first.
const RESULT_CANDIDATES: i64 = 200;
/// The PDF's window of results: this many days up to the newest one.
const RESULTS_WINDOW_DAYS: i64 = 2 * 365;

/// One table of the home, as text cells.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct HomeTable {
    pub section: Section,
    pub title: String,
    pub columns: Vec<String>,
    pub rows: Vec<HomeRow>,
    pub note: Option<String>,
    /// What to say when there are no rows ("No allergies recorded.", distinct from a recorded
    /// "No known allergies" row).
    pub empty: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct HomeRow {
    pub cells: Vec<String>,
    /// Cells a reader must not miss (out of range, active, high criticality).
    pub strong: Vec<bool>,
    /// The resource the row shows (`Type/id`), to open.
    pub resource: String,
    /// The patient added it themselves.
    pub own: bool,
}

/// A source of the record, for the home's list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct HomeSource {
    pub name: String,
    /// `portal`, `file` or `self` (added by the patient).
    pub kind: String,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub resources: i64,
    pub last_updated: Option<String>,
    /// What needs the patient at this portal, in one sentence.
    pub attention: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Home {
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub person: i64,
    pub name: String,
    pub birth_date: Option<String>,
    pub gender: Option<String>,
    /// Age in whole years today (none when deceased or the birth date is unknown).
    pub age: Option<u32>,
    /// The year they died, when the record says so.
    pub died: Option<String>,
    /// Allergies first, then the other sections in the PDF's order.
    pub tables: Vec<HomeTable>,
    pub sources: Vec<HomeSource>,
}

fn table(summary_table: &Table, section: Section, own: &dyn Fn(&str) -> bool) -> HomeTable {
    HomeTable {
        section,
        title: section.title().to_owned(),
        columns: summary_table
            .columns
            .iter()
            .map(|c| c.title.to_owned())
            .collect(),
        rows: summary_table
            .rows
            .iter()
            .map(|r| HomeRow {
                cells: r.cells.iter().map(|c| c.text.clone()).collect(),
                strong: r.cells.iter().map(|c| c.strong).collect(),
                resource: r.resource.clone(),
                own: own(&r.resource),
            })
            .collect(),
        note: summary_table.note.clone(),
        empty: summary_table.empty.to_owned(),
    }
}

/// What the home shows of a person's record, chosen from the entry index.
struct Chosen {
    /// Row ids of the resources to read.
    ids: Vec<i64>,
    /// How many entries each dated section has, of which the newest few are chosen.
    totals: BTreeMap<Section, i64>,
    results: ResultsWindow,
}

/// The results the home looked through for values out of range.
struct ResultsWindow {
    /// `YYYY-MM-DD`: the first day of the window ('' when there are no results).
    since: String,
    /// How many results are in the window.
    checked: i64,
}

/// Chooses the rows of `person`'s home: what every query here reads is the person's entries
/// that are shown (not repeating another source's).
fn choose(conn: &Connection, person: i64) -> Result<Chosen> {
    let ids_of = |sql: &str, params: &[&dyn rusqlite::ToSql]| -> Result<Vec<i64>> {
        Ok(conn
            .prepare(sql)?
            .query_map(params, |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<i64>>>()?)
    };
    // The sections the PDF lists whole: the home must show the same rows.
    let mut ids = ids_of(
        "SELECT resource_id FROM entries
         WHERE person_id = ?1 AND kind IN ('patient', 'problem', 'allergy') AND duplicate_of IS NULL",
        &[&person],
    )?;
    ids.extend(ids_of(
        "SELECT e.resource_id FROM entries e JOIN resources r ON r.id = e.resource_id
         WHERE e.person_id = ?1 AND e.kind = 'medication' AND e.duplicate_of IS NULL
           AND e.status = 'active' AND r.resource_type IN ('MedicationRequest', 'MedicationStatement')",
        &[&person],
    )?);
    let mut totals = BTreeMap::new();
    for (section, kind, newest) in [
        (Section::Immunizations, "immunization", NEWEST_IMMUNIZATIONS),
        (Section::Visits, "visit", NEWEST_VISITS),
        (Section::Procedures, "procedure", NEWEST_PROCEDURES),
    ] {
        ids.extend(ids_of(
            "SELECT resource_id FROM entries
             WHERE person_id = ?1 AND kind = ?2 AND duplicate_of IS NULL
             ORDER BY date DESC, resource_id DESC LIMIT ?3",
            &[&person, &kind, &newest],
        )?);
        let total: i64 = conn.query_row(
            "SELECT count(*) FROM entries WHERE person_id = ?1 AND kind = ?2 AND duplicate_of IS NULL",
            params![person, kind],
            |r| r.get(0),
        )?;
        totals.insert(section, total);
    }
    ids.extend(ids_of(
        "SELECT resource_id FROM (
           SELECT resource_id, row_number() OVER (
               PARTITION BY coalesce(code, display) ORDER BY date DESC, resource_id DESC) AS newest
           FROM entries WHERE person_id = ?1 AND kind = 'vital' AND duplicate_of IS NULL)
         WHERE newest <= ?2",
        &[&person, &READINGS_PER_VITAL],
    )?);
    let newest: Option<String> = conn.query_row(
        "SELECT max(date) FROM entries WHERE person_id = ?1 AND kind = 'lab' AND duplicate_of IS NULL AND date != ''",
        [person],
        |r| r.get(0),
    )?;
    let since = newest
        .as_deref()
        .and_then(|d| crate::export::parse_date(d.get(..10)?).ok())
        .and_then(|d| d.checked_sub(time::Duration::days(RESULTS_WINDOW_DAYS)))
        .map(|d| d.to_string())
        .unwrap_or_default();
    let checked: i64 = conn.query_row(
        "SELECT count(*) FROM entries
         WHERE person_id = ?1 AND kind = 'lab' AND duplicate_of IS NULL AND date >= ?2",
        params![person, since],
        |r| r.get(0),
    )?;
    // A superset of the results the summary flags (`clinical::flag`): a value outside the
    // entry's range, or an interpretation or components only the resource holds.
    ids.extend(ids_of(
        "SELECT e.resource_id FROM entries e JOIN resources r ON r.id = e.resource_id
         WHERE e.person_id = ?1 AND e.kind = 'lab' AND e.duplicate_of IS NULL AND e.date >= ?2
           AND (e.value < e.low OR e.value > e.high
                OR instr(r.json, '\"interpretation\"') > 0 OR instr(r.json, '\"component\"') > 0)
         ORDER BY e.date DESC, e.resource_id DESC LIMIT ?3",
        &[&person, &since, &RESULT_CANDIDATES],
    )?);
    Ok(Chosen {
        ids,
        totals,
        results: ResultsWindow { since, checked },
    })
}

/// The home's own words for a dated section of which it shows the newest few.
fn newest_note(section: Section, shown: usize, total: i64) -> Option<String> {
    let what = match section {
        Section::Immunizations => "immunizations",
        Section::Visits => "visits",
        Section::Procedures => "procedures",
        _ => return None,
    };
    match i64::try_from(shown) {
        Ok(shown) if shown < total => Some(format!("The {shown} most recent of {total} {what}.")),
        _ if total > 0 && section == Section::Visits => Some(format!("{total} visits.")),
        _ => None,
    }
}

/// Keeps the results out of range and says what was looked through.
fn flagged_results(table: &mut HomeTable, window: &ResultsWindow) {
    table.rows.retain(|r| r.strong.iter().any(|s| *s));
    let ResultsWindow { since, checked } = window;
    let of = match checked {
        1 => "the one result".to_owned(),
        n => format!("the {n} results"),
    };
    table.note = Some(format!(
        "Out of range, of {of} of the two years up to the newest one (since {since})."
    ));
    table.empty = if *checked == 0 {
        "No lab results recorded.".to_owned()
    } else {
        format!(
            "No result out of range, of {of} of the two years up to the newest one (since {since})."
        )
    };
}

impl Vault {
    /// The home of `person` (or of the only person).
    pub fn home(&self, person: Option<i64>) -> Result<Home> {
        let person_id = self.reading_person(person)?;
        let chosen = choose(self.db(), person_id)?;
        let record = Record::load_resources(self, Some(person_id), &chosen.ids)?;
        let selection = Selection {
            person: Some(person_id),
            ..Selection::default()
        };
        let summary = Summary::build(&record, &selection, self.clock_now().date());
        let Summary {
            patient, sections, ..
        } = &summary;
        let own = |key: &str| record.is_own(key);
        // Allergies first: the first thing a doctor asks.
        let mut tables: Vec<HomeTable> = sections
            .iter()
            .map(|s| {
                let mut home_table = table(&s.table, s.section, &own);
                if s.section == Section::Results {
                    flagged_results(&mut home_table, &chosen.results);
                } else if let Some(total) = chosen.totals.get(&s.section) {
                    home_table.note = newest_note(s.section, home_table.rows.len(), *total);
                }
                home_table
            })
            .collect();
        tables.sort_by_key(|t| t.section != Section::Allergies);
        let today = self.clock_now().date();
        let died = crate::fhir::clinical::day_of(&record.patient, &["/deceasedDateTime"])
            .and_then(|d| d.get(..4).map(str::to_owned))
            .or_else(|| {
                (record.patient.get("deceasedBoolean") == Some(&serde_json::Value::Bool(true)))
                    .then(String::new)
            });
        let age = match (&died, &patient.birth_date) {
            (None, Some(birth)) => age_on(birth, today),
            _ => None,
        };
        let connections = self.connections()?;
        let sources = record
            .sources
            .iter()
            .map(|s| HomeSource {
                name: s.name.clone(),
                kind: s.kind.clone(),
                resources: s.resources,
                last_updated: s.last_updated.clone(),
                attention: connections
                    .iter()
                    .find(|c| s.kind == "portal" && c.name == s.name)
                    .and_then(|c| c.attention.clone()),
            })
            .collect();
        Ok(Home {
            person: record.person.id,
            name: patient.name.clone(),
            birth_date: patient.birth_date.clone(),
            gender: patient.gender.clone(),
            age,
            died,
            tables,
            sources,
        })
    }
}

/// Whole years from a FHIR date (`YYYY`, `YYYY-MM` or `YYYY-MM-DD`) to `today`.
fn age_on(birth: &str, today: time::Date) -> Option<u32> {
    let year: i32 = birth.get(..4)?.parse().ok()?;
    let month: u8 = birth.get(5..7).and_then(|m| m.parse().ok()).unwrap_or(1);
    let day: u8 = birth.get(8..10).and_then(|d| d.parse().ok()).unwrap_or(1);
    let mut age = today.year().checked_sub(year)?;
    if (u8::from(today.month()), today.day()) < (month, day) {
        age = age.checked_sub(1)?;
    }
    u32::try_from(age).ok()
}

#[cfg(test)]
mod tests {
    use super::age_on;

    #[test]
    fn ages_count_whole_years_and_survive_odd_dates() {
        let today = time::macros::date!(2026 - 12 - 02);
        assert_eq!(age_on("1970-12-02", today), Some(56));
        assert_eq!(age_on("1970-12-03", today), Some(55));
        assert_eq!(age_on("1970", today), Some(56));
        assert_eq!(age_on("2030-01-01", today), None);
        assert_eq!(age_on("19é0-01-01", today), None);
    }
}
