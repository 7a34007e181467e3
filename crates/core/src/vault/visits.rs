//! One person's record as visits: each day, the visits (Encounters) of that day with what
//! happened at each (where, who, diagnoses, results, medicines, procedures, notes: the entries
//! naming the Encounter, whatever their own date), and the day's entries that name no visit.
//! Bills and claims are not clinical events: they are left out here (see `Category::Bills`).

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use serde_json::Value;

use crate::error::Result;
use crate::fhir::{Reference, clinical};
use crate::vault::Vault;
use crate::vault::browse::{ListItem, SOURCES_OF_ENTRY, list_item};

/// What happened at one visit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Visit {
    /// The Encounter itself (its name is the visit's type).
    pub visit: ListItem,
    /// Where: its locations and the organization that provided it.
    pub places: Vec<String>,
    /// Who: its participants.
    pub people: Vec<String>,
    pub diagnoses: Vec<ListItem>,
    pub results: Vec<ListItem>,
    pub medicines: Vec<ListItem>,
    pub procedures: Vec<ListItem>,
    pub notes: Vec<ListItem>,
    /// Immunizations, allergies, plans and anything else that names the visit.
    pub other: Vec<ListItem>,
}

/// One day of the record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct VisitDay {
    /// `YYYY-MM-DD`, or as much of it as the record gives; `""` for the entries without a
    /// date (the last day of all).
    pub day: String,
    pub visits: Vec<Visit>,
    /// The day's entries that name no visit of the record.
    pub other: Vec<ListItem>,
}

/// A page of days, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct VisitPage {
    pub days: Vec<VisitDay>,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub total_days: i64,
}

/// An entry shown on its own day: a visit, or one that names no visit stored in its source.
/// (`e` the entry, `r` its resource.) Undated entries make the last "day", `''`.
const ON_ITS_DAY: &str = "e.person_id = ?1 AND e.duplicate_of IS NULL
    AND e.kind NOT IN ('claim', 'patient')
    AND (e.kind = 'visit' OR e.encounter IS NULL OR NOT EXISTS (
        SELECT 1 FROM resources v WHERE v.source_id = r.source_id
          AND v.resource_type = 'Encounter' AND v.fhir_id = e.encounter))";

/// The list columns ([`list_item`]), then the kind, the visit it names, its source and (for a
/// visit) its JSON.
const COLUMNS: &str = "r.resource_type, r.fhir_id, e.date, e.display, e.detail, e.code, e.kind";

impl Vault {
    /// The days `offset ..offset + limit` (newest first) of `person`'s visits and entries.
    pub fn visits(&self, person: i64, offset: i64, limit: i64) -> Result<VisitPage> {
        let conn = self.db();
        let day = "substr(e.date, 1, 10)";
        let total_days: i64 = conn
            .prepare_cached(&format!(
                "SELECT count(DISTINCT {day}) FROM entries e JOIN resources r ON r.id = e.resource_id
                 WHERE {ON_ITS_DAY}"
            ))?
            .query_row([person], |r| r.get(0))?;
        let days: Vec<String> = conn
            .prepare_cached(&format!(
                "SELECT DISTINCT {day} AS day FROM entries e JOIN resources r ON r.id = e.resource_id
                 WHERE {ON_ITS_DAY} ORDER BY day DESC LIMIT ?2 OFFSET ?3"
            ))?
            .query_map(rusqlite::params![person, limit, offset], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let (Some(newest), Some(oldest)) = (days.first(), days.last()) else {
            return Ok(VisitPage {
                days: Vec::new(),
                total_days,
            });
        };

        // The page's entries on their days (visits and entries naming none).
        let mut by_day: BTreeMap<String, VisitDay> = days
            .iter()
            .map(|d| {
                (
                    d.clone(),
                    VisitDay {
                        day: d.clone(),
                        visits: Vec::new(),
                        other: Vec::new(),
                    },
                )
            })
            .collect();
        // (source, Encounter id) → (day, index of the visit in its day).
        let mut visit_at: HashMap<(i64, String), (String, usize)> = HashMap::new();
        {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {COLUMNS}, {SOURCES_OF_ENTRY}, r.source_id, {day},
                        CASE WHEN e.kind = 'visit' THEN r.json END
                 FROM entries e JOIN resources r ON r.id = e.resource_id
                 WHERE {ON_ITS_DAY} AND {day} BETWEEN ?2 AND ?3
                 ORDER BY e.date DESC, e.resource_id DESC"
            ))?;
            let mut rows = stmt.query(rusqlite::params![person, oldest, newest])?;
            while let Some(row) = rows.next()? {
                let item = list_item(row)?;
                let source: i64 = row.get(8)?;
                let on: String = row.get(9)?;
                let Some(day) = by_day.get_mut(&on) else {
                    continue;
                };
                match row.get::<_, Option<String>>(10)? {
                    Some(json) => {
                        let encounter: Value = serde_json::from_str(&json).unwrap_or(Value::Null);
                        let (places, people) = clinical::encounter_parties(&encounter);
                        visit_at.insert((source, item.id.clone()), (on.clone(), day.visits.len()));
                        day.visits.push(Visit {
                            places: self.names(source, &places)?,
                            people: self.names(source, &people)?,
                            visit: item,
                            diagnoses: Vec::new(),
                            results: Vec::new(),
                            medicines: Vec::new(),
                            procedures: Vec::new(),
                            notes: Vec::new(),
                            other: Vec::new(),
                        });
                    }
                    None => day.other.push(item),
                }
            }
        }

        // What happened at each visit of the page: the entries naming it, whatever their day.
        if !visit_at.is_empty() {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {COLUMNS}, {SOURCES_OF_ENTRY}, r.source_id, e.encounter
                 FROM entries e JOIN resources r ON r.id = e.resource_id
                 WHERE e.person_id = ?1 AND e.duplicate_of IS NULL AND e.encounter IS NOT NULL
                   AND e.kind NOT IN ('visit', 'claim', 'patient')
                   AND e.encounter IN (SELECT v.fhir_id FROM entries ve JOIN resources v ON v.id = ve.resource_id
                        WHERE ve.person_id = ?1 AND ve.kind = 'visit' AND substr(ve.date, 1, 10) BETWEEN ?2 AND ?3)
                 ORDER BY e.date, e.resource_id"
            ))?;
            let mut rows = stmt.query(rusqlite::params![person, oldest, newest])?;
            while let Some(row) = rows.next()? {
                let item = list_item(row)?;
                let kind: String = row.get(6)?;
                let key = (row.get::<_, i64>(8)?, row.get::<_, String>(9)?);
                let Some((on, index)) = visit_at.get(&key) else {
                    continue;
                };
                let Some(visit) = by_day.get_mut(on).and_then(|d| d.visits.get_mut(*index)) else {
                    continue;
                };
                let list = match kind.as_str() {
                    "problem" => &mut visit.diagnoses,
                    "lab" | "vital" | "observation" | "report" => &mut visit.results,
                    "medication" => &mut visit.medicines,
                    "procedure" => &mut visit.procedures,
                    "document" => &mut visit.notes,
                    _ => &mut visit.other,
                };
                list.push(item);
            }
        }
        Ok(VisitPage {
            days: by_day.into_values().rev().collect(),
            total_days,
        })
    }

    /// The names of what `references` point to: their display, else the name of the resource
    /// of `source` they name (an Organization, Location or Practitioner); each name once.
    fn names(&self, source: i64, references: &[Reference]) -> Result<Vec<String>> {
        let mut names: Vec<String> = Vec::new();
        for reference in references {
            let name = match (&reference.display, &reference.resource_type, &reference.id) {
                (Some(display), _, _) => Some(display.clone()),
                (None, Some(resource_type), Some(id)) => self
                    .db()
                    .prepare_cached(
                        "SELECT json FROM resources WHERE source_id = ?1 AND resource_type = ?2 AND fhir_id = ?3",
                    )?
                    .query_row(rusqlite::params![source, resource_type, id], |r| {
                        r.get::<_, String>(0)
                    })
                    .ok()
                    .and_then(|json| serde_json::from_str::<Value>(&json).ok())
                    .and_then(|v| clinical::name_of(&v)),
                _ => None,
            };
            if let Some(name) = name.filter(|n| !n.trim().is_empty())
                && !names.contains(&name)
            {
                names.push(name);
            }
        }
        Ok(names)
    }
}
