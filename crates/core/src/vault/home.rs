//! The home screen of one person: who they are (name, age or the year they died) and the same
//! tables their PDF summary lists (allergies first, then medications, problems, vitals, results,
//! visits, ...), made by the same [`Summary`], so the window and the PDF never disagree; and each
//! source with its last update and what needs the patient.

use serde::Serialize;

use crate::error::Result;
use crate::export::summary::{Summary, Table};
use crate::export::{Section, Selection};
use crate::vault::Vault;

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

impl Vault {
    /// The home of `person` (or of the only person).
    pub fn home(&self, person: Option<i64>) -> Result<Home> {
        let selection = Selection {
            person,
            ..Selection::default()
        };
        let (record, summary) = crate::export::summarize(self, &selection)?;
        let Summary {
            patient, sections, ..
        } = &summary;
        let own = |key: &str| record.is_own(key);
        // Allergies first: the first thing a doctor asks.
        let mut tables: Vec<HomeTable> = sections
            .iter()
            .map(|s| table(&s.table, s.section, &own))
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
