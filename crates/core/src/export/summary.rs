//! The summary a clinician reads: a patient header and, per section, a table of plain text cells.
//! The PDF, the HTML baseline and the IPS narrative all render this one model.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::export::record::{Record, Source};
use crate::export::{Section, Selection};
use crate::fhir::entry::has_category;
use crate::fhir::{Date, clinical, clinical::day_of as date_of};

#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub patient: PatientHeader,
    pub sections: Vec<SummarySection>,
    pub sources: Table,
    /// `YYYY-MM-DD`: the day the summary was made.
    pub generated: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatientHeader {
    pub name: String,
    pub birth_date: Option<String>,
    pub gender: Option<String>,
    /// Medical record numbers (and usual/official care identifiers) as (label, value). Government
    /// ids (SSN, driver's licence, passport) are left out: a visit summary does not need them.
    pub identifiers: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SummarySection {
    pub section: Section,
    pub table: Table,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub columns: Vec<Column>,
    pub rows: Vec<Row>,
    /// A line under the title, e.g. which results are shown.
    pub note: Option<String>,
    /// What to say when there are no rows.
    pub empty: &'static str,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub title: &'static str,
    /// Share of the table's width.
    pub width: f32,
}

/// One row, and the resource (`Type/id`) it shows.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Row {
    pub cells: Vec<Cell>,
    pub resource: String,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cell {
    pub text: String,
    /// Out-of-range values and active items a reader must not miss.
    pub strong: bool,
}

impl Table {
    /// The resources the rows show, each once, in row order.
    pub fn resources(&self) -> Vec<&str> {
        let mut seen = std::collections::BTreeSet::new();
        self.rows
            .iter()
            .map(|r| r.resource.as_str())
            .filter(|r| !r.is_empty() && seen.insert(*r))
            .collect()
    }
}

/// `Type/id` of a resource.
pub fn key(resource: &Value) -> String {
    format!(
        "{}/{}",
        resource
            .get("resourceType")
            .and_then(Value::as_str)
            .unwrap_or(""),
        resource.get("id").and_then(Value::as_str).unwrap_or("")
    )
}

impl Cell {
    fn plain(text: impl Into<String>) -> Cell {
        Cell {
            text: text.into(),
            strong: false,
        }
    }
}

fn columns(spec: &[(&'static str, f32)]) -> Vec<Column> {
    spec.iter()
        .map(|&(title, width)| Column { title, width })
        .collect()
}

/// How many dated rows a section shows when no `since` date is chosen.
const RECENT_VISITS: usize = 10;
const RECENT_PROCEDURES: usize = 25;
const READINGS_PER_VITAL: usize = 3;
/// Lab results from this many days before the newest one, when no `since` date is chosen.
const RESULTS_WINDOW_DAYS: i64 = 2 * 365;

impl Summary {
    pub fn build(record: &Record, selection: &Selection, generated: time::Date) -> Summary {
        let since = selection.since.map(|d| d.to_string());
        let builder = Builder {
            record,
            since: since.as_deref(),
        };
        let sections = selection
            .sections
            .iter()
            .map(|&section| SummarySection {
                section,
                table: builder.table(section),
            })
            .collect();
        Summary {
            patient: PatientHeader::of(&record.patient),
            sections,
            sources: sources_table(&record.sources),
            generated: generated.to_string(),
        }
    }
}

impl PatientHeader {
    fn of(patient: &Value) -> PatientHeader {
        PatientHeader {
            name: clinical::patient_name(patient),
            birth_date: str_at(patient, "/birthDate"),
            gender: str_at(patient, "/gender"),
            identifiers: clinical::care_identifiers(patient),
        }
    }
}

struct Builder<'a> {
    record: &'a Record,
    since: Option<&'a str>,
}

impl Builder<'_> {
    fn table(&self, section: Section) -> Table {
        match section {
            Section::Problems => self.problems(),
            Section::Medications => self.medications(),
            Section::Allergies => self.allergies(),
            Section::Immunizations => self.immunizations(),
            Section::Results => self.results(),
            Section::Vitals => self.vitals(),
            Section::Visits => self.visits(),
            Section::Procedures => self.procedures(),
        }
    }

    fn in_range(&self, date: Option<&str>) -> bool {
        match (self.since, date) {
            (None, _) => true,
            (Some(since), Some(date)) => date.get(..10).unwrap_or(date) >= since,
            (Some(_), None) => false,
        }
    }

    fn problems(&self) -> Table {
        let mut rows: Vec<(bool, String, Row)> = self
            .record
            .all("Condition")
            .filter_map(|c| {
                let status = code_at(c, "/clinicalStatus").unwrap_or_else(|| "unknown".into());
                let active = matches!(status.as_str(), "active" | "recurrence" | "relapse");
                let onset = date_of(
                    c,
                    &["/onsetDateTime", "/onsetPeriod/start", "/recordedDate"],
                );
                if !active && !self.in_range(onset.as_deref()) {
                    return None;
                }
                let cells = vec![
                    Cell {
                        text: self.name(c),
                        strong: active,
                    },
                    Cell::plain(status),
                    Cell::plain(onset.clone().unwrap_or_default()),
                    Cell::plain(
                        date_of(c, &["/abatementDateTime", "/abatementPeriod/start"])
                            .unwrap_or_default(),
                    ),
                    Cell::plain(join_text(&clinical::notes(c), &self.sources_text(c))),
                ];
                Some((
                    active,
                    onset.unwrap_or_default(),
                    Row {
                        cells,
                        resource: key(c),
                    },
                ))
            })
            .collect();
        // Active first, then newest first.
        rows.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2)));
        Table {
            columns: columns(&[
                ("Problem", 0.38),
                ("Status", 0.11),
                ("Onset", 0.13),
                ("Resolved", 0.13),
                ("Note", 0.25),
            ]),
            rows: rows.into_iter().map(|(_, _, row)| row).collect(),
            note: None,
            empty: "No problems recorded.",
        }
    }

    /// The name every view gives a resource (the entry index's display), and "patient-reported"
    /// for what the patient added themselves.
    fn name(&self, resource: &Value) -> String {
        let key = key(resource);
        let name = self.record.display(&key).unwrap_or_default();
        if self.record.is_own(&key) {
            format!("{name} (patient-reported)")
        } else {
            name.to_owned()
        }
    }

    /// The sources a row's fact came from, when more than one sent it.
    fn sources_text(&self, resource: &Value) -> String {
        match self.record.sources_of(&key(resource)) {
            [] | [_] => String::new(),
            many => format!("From {}.", many.join(", ")),
        }
    }

    fn medications(&self) -> Table {
        let mut rows: Vec<(String, Row)> = ["MedicationRequest", "MedicationStatement"]
            .iter()
            .flat_map(|t| self.record.all(t))
            .filter(|m| m.get("status").and_then(Value::as_str) == Some("active"))
            .map(|m| {
                let since = date_of(
                    m,
                    &[
                        "/authoredOn",
                        "/effectiveDateTime",
                        "/effectivePeriod/start",
                        "/dateAsserted",
                    ],
                )
                .unwrap_or_default();
                let prescriber = m
                    .get("requester")
                    .or_else(|| m.get("informationSource"))
                    .and_then(|r| self.record.reference_text(r))
                    .unwrap_or_default();
                let cells = vec![
                    Cell {
                        text: self.name(m),
                        strong: true,
                    },
                    Cell::plain(clinical::dosage_text(m)),
                    Cell::plain(since.clone()),
                    Cell::plain(prescriber),
                    Cell::plain(join_text(&clinical::notes(m), &self.sources_text(m))),
                ];
                (
                    since,
                    Row {
                        cells,
                        resource: key(m),
                    },
                )
            })
            .collect();
        rows.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        Table {
            columns: columns(&[
                ("Medication", 0.36),
                ("Dosage", 0.2),
                ("Since", 0.12),
                ("Prescriber", 0.14),
                ("Note", 0.18),
            ]),
            rows: rows.into_iter().map(|(_, row)| row).collect(),
            note: Some("Active medications.".into()),
            empty: "No active medications recorded.",
        }
    }

    fn allergies(&self) -> Table {
        let mut rows: Vec<Row> = self
            .record
            .all("AllergyIntolerance")
            .filter(|a| code_at(a, "/verificationStatus").as_deref() != Some("entered-in-error"))
            .map(|a| {
                let reactions = clinical::allergy_reactions(a);
                let criticality = clinical::criticality(a);
                let cells = vec![
                    Cell {
                        text: self.name(a),
                        strong: true,
                    },
                    Cell::plain(join_text(&reactions.join("; "), &self.sources_text(a))),
                    Cell {
                        strong: criticality == "high",
                        text: criticality,
                    },
                    Cell::plain(code_at(a, "/clinicalStatus").unwrap_or_default()),
                    Cell::plain(
                        date_of(a, &["/onsetDateTime", "/recordedDate"]).unwrap_or_default(),
                    ),
                ];
                Row {
                    cells,
                    resource: key(a),
                }
            })
            .collect();
        rows.sort();
        Table {
            columns: columns(&[
                ("Substance", 0.3),
                ("Reactions", 0.32),
                ("Criticality", 0.13),
                ("Status", 0.11),
                ("Recorded", 0.14),
            ]),
            rows,
            note: None,
            empty: "No allergies or intolerances recorded.",
        }
    }

    fn immunizations(&self) -> Table {
        Table {
            columns: columns(&[("Date", 0.16), ("Vaccine", 0.68), ("Status", 0.16)]),
            rows: self.dated_rows("Immunization", &["/occurrenceDateTime", "/recorded"]),
            note: None,
            empty: "No immunizations recorded.",
        }
    }

    /// Date, coded name and status of every resource of a type in range, newest first.
    fn dated_rows(&self, resource_type: &str, dates: &[&str]) -> Vec<Row> {
        let mut rows: Vec<Row> = self
            .record
            .all(resource_type)
            .filter_map(|r| {
                let date = date_of(r, dates);
                self.in_range(date.as_deref()).then(|| Row {
                    cells: vec![
                        Cell::plain(date.unwrap_or_default()),
                        Cell::plain(self.name(r)),
                        Cell::plain(str_at(r, "/status").unwrap_or_default()),
                    ],
                    resource: key(r),
                })
            })
            .collect();
        rows.sort_by(|a, b| b.cmp(a));
        rows
    }

    fn observations(&self, category: &str) -> Vec<(String, &Value)> {
        self.record
            .all("Observation")
            .filter(|o| has_category(o, category))
            .filter(|o| {
                !matches!(
                    o.get("status").and_then(Value::as_str),
                    Some("entered-in-error" | "cancelled")
                )
            })
            .map(|o| {
                let date = date_of(
                    o,
                    &[
                        "/effectiveDateTime",
                        "/effectivePeriod/start",
                        "/effectiveInstant",
                        "/issued",
                    ],
                )
                .unwrap_or_default();
                (date, o)
            })
            .collect()
    }

    fn results(&self) -> Table {
        let mut labs = self.observations("laboratory");
        let (since, note) = match self.since {
            Some(since) => (since.to_owned(), format!("Results since {since}.")),
            None => {
                let newest = labs.iter().map(|(d, _)| d.as_str()).max().unwrap_or("");
                let since = days_before(newest, RESULTS_WINDOW_DAYS);
                let note =
                    format!("Results of the two years up to the newest one (since {since}).");
                (since, note)
            }
        };
        labs.retain(|(date, _)| date.get(..10).unwrap_or(date) >= since.as_str());
        let mut rows: Vec<(String, Row)> = Vec::new();
        for (date, o) in labs {
            for clinical::ResultValue {
                name,
                value,
                unit,
                range,
                flag,
                ..
            } in clinical::result_values(o)
            {
                rows.push((
                    date.clone(),
                    Row {
                        resource: key(o),
                        cells: vec![
                            Cell::plain(day(&date)),
                            Cell::plain(name),
                            Cell {
                                text: value,
                                strong: !flag.is_empty(),
                            },
                            Cell::plain(unit),
                            Cell::plain(range),
                            Cell {
                                strong: !flag.is_empty(),
                                text: flag,
                            },
                        ],
                    },
                ));
            }
        }
        rows.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        Table {
            columns: columns(&[
                ("Date", 0.12),
                ("Test", 0.36),
                ("Result", 0.11),
                ("Unit", 0.17),
                ("Reference range", 0.14),
                ("Flag", 0.1),
            ]),
            rows: rows.into_iter().map(|(_, row)| row).collect(),
            note: Some(note),
            empty: "No lab results in this period.",
        }
    }

    fn vitals(&self) -> Table {
        let mut by_name: BTreeMap<String, Vec<(String, String, String, String)>> = BTreeMap::new();
        for (date, o) in self.observations("vital-signs") {
            if !self.in_range(Some(&date)) {
                continue;
            }
            for clinical::ResultValue {
                name, value, unit, ..
            } in clinical::result_values_combined(o)
            {
                by_name
                    .entry(name)
                    .or_default()
                    .push((date.clone(), value, unit, key(o)));
            }
        }
        let mut rows = Vec::new();
        for (name, mut readings) in by_name {
            readings.sort_by(|a, b| b.cmp(a));
            let keep = if self.since.is_some() {
                readings.len()
            } else {
                READINGS_PER_VITAL
            };
            for (date, value, unit, resource) in readings.into_iter().take(keep) {
                rows.push(Row {
                    cells: vec![
                        Cell::plain(name.clone()),
                        Cell::plain(day(&date)),
                        Cell::plain(value),
                        Cell::plain(unit),
                    ],
                    resource,
                });
            }
        }
        Table {
            columns: columns(&[
                ("Measurement", 0.46),
                ("Date", 0.16),
                ("Value", 0.18),
                ("Unit", 0.2),
            ]),
            rows,
            note: self
                .since
                .is_none()
                .then(|| format!("The latest {READINGS_PER_VITAL} readings of each.")),
            empty: "No vital signs recorded.",
        }
    }

    fn visits(&self) -> Table {
        let mut rows: Vec<Row> = self
            .record
            .all("Encounter")
            .filter_map(|e| {
                let date = date_of(e, &["/period/start"]);
                if !self.in_range(date.as_deref()) {
                    return None;
                }
                let kind = self.name(e);
                let who: Vec<String> = e
                    .get("participant")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|p| {
                        p.get("individual")
                            .and_then(|i| self.record.reference_text(i))
                    })
                    .chain(
                        e.get("serviceProvider")
                            .and_then(|s| self.record.reference_text(s)),
                    )
                    .collect();
                let reason: Vec<String> = e
                    .get("reasonCode")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .map(|c| crate::fhir::concept_text(Some(c)))
                    .collect();
                Some(Row {
                    cells: vec![
                        Cell::plain(date.unwrap_or_default()),
                        Cell::plain(kind),
                        Cell::plain(who.join(", ")),
                        Cell::plain(reason.join("; ")),
                    ],
                    resource: key(e),
                })
            })
            .collect();
        rows.sort_by(|a, b| b.cmp(a));
        let total = rows.len();
        let note = self.limit(&mut rows, RECENT_VISITS, "visits");
        Table {
            columns: columns(&[
                ("Date", 0.13),
                ("Visit", 0.3),
                ("Clinician / place", 0.32),
                ("Reason", 0.25),
            ]),
            rows,
            note: note.or_else(|| (total > 0).then(|| format!("{total} visits."))),
            empty: "No visits recorded.",
        }
    }

    fn procedures(&self) -> Table {
        let mut rows = self.dated_rows(
            "Procedure",
            &["/performedDateTime", "/performedPeriod/start"],
        );
        let note = self.limit(&mut rows, RECENT_PROCEDURES, "procedures");
        Table {
            columns: columns(&[("Date", 0.16), ("Procedure", 0.66), ("Status", 0.18)]),
            rows,
            note,
            empty: "No procedures recorded.",
        }
    }

    /// Without a `since` date, keeps the newest `most` rows and says so.
    fn limit(&self, rows: &mut Vec<Row>, most: usize, what: &str) -> Option<String> {
        if self.since.is_some() || rows.len() <= most {
            return None;
        }
        let total = rows.len();
        rows.truncate(most);
        Some(format!("The {most} most recent of {total} {what}."))
    }
}

fn sources_table(sources: &[Source]) -> Table {
    Table {
        columns: columns(&[
            ("Source", 0.52),
            ("Kind", 0.14),
            ("Resources", 0.14),
            ("Last updated", 0.2),
        ]),
        rows: sources
            .iter()
            .map(|s| Row {
                cells: vec![
                    Cell::plain(s.name.clone()),
                    Cell::plain(match s.kind.as_str() {
                        "portal" => "portal",
                        "self" => "added by me",
                        _ => "file",
                    }),
                    Cell::plain(s.resources.to_string()),
                    Cell::plain(s.last_updated.as_deref().map(minute).unwrap_or_default()),
                ],
                resource: String::new(),
            })
            .collect(),
        note: None,
        empty: "No sources.",
    }
}

/// Two texts of one cell, the second after the first.
fn join_text(first: &str, second: &str) -> String {
    match (first.is_empty(), second.is_empty()) {
        (_, true) => first.to_owned(),
        (true, false) => second.to_owned(),
        (false, false) => format!("{first} {second}"),
    }
}

fn code_at(resource: &Value, concept: &str) -> Option<String> {
    resource
        .pointer(&format!("{concept}/coding/0/code"))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

fn str_at(resource: &Value, pointer: &str) -> Option<String> {
    resource
        .pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// `YYYY-MM-DD` (or the year or month, as precise as the record is) of a sortable date text.
fn day(date: &str) -> String {
    Date::parse(date)
        .map(|d| d.day_or_text().to_owned())
        .unwrap_or_default()
}

/// `YYYY-MM-DD HH:MM` of an RFC 3339 timestamp.
fn minute(at: &str) -> String {
    match at.get(..16) {
        Some(m) => m.replacen('T', " ", 1),
        None => at.to_owned(),
    }
}

fn days_before(date: &str, days: i64) -> String {
    match Date::parse(date)
        .and_then(|d| d.day().map(str::to_owned))
        .map(|d| crate::export::parse_date(&d))
    {
        Some(Ok(d)) => (d - time::Duration::days(days)).to_string(),
        _ => String::new(),
    }
}
