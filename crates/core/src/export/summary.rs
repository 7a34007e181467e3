//! The summary a clinician reads: a patient header and, per section, a table of plain text cells.
//! The PDF, the HTML baseline and the IPS narrative all render this one model.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::export::record::{Record, Source};
use crate::export::{Section, Selection};

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
        let identifiers = patient
            .get("identifier")
            .and_then(Value::as_array)
            .map(|ids| ids.iter().filter_map(care_identifier).collect())
            .unwrap_or_default();
        PatientHeader {
            name: patient_name(patient),
            birth_date: str_at(patient, "/birthDate"),
            gender: str_at(patient, "/gender"),
            identifiers,
        }
    }
}

/// The official (or first) name, with prefixes and suffixes.
pub fn patient_name(patient: &Value) -> String {
    let names = patient.get("name").and_then(Value::as_array);
    let name = names.and_then(|names| {
        names
            .iter()
            .find(|n| n.get("use").and_then(Value::as_str) == Some("official"))
            .or_else(|| names.first())
    });
    let Some(name) = name else {
        return "Name not recorded".to_owned();
    };
    if let Some(text) = name.get("text").and_then(Value::as_str) {
        return text.to_owned();
    }
    let strings = |key: &str| -> Vec<&str> {
        name.get(key)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    };
    let mut parts = strings("prefix");
    parts.extend(strings("given"));
    parts.extend(name.get("family").and_then(Value::as_str));
    parts.extend(strings("suffix"));
    if parts.is_empty() {
        "Name not recorded".to_owned()
    } else {
        parts.join(" ")
    }
}

fn care_identifier(identifier: &Value) -> Option<(String, String)> {
    let value = identifier.get("value")?.as_str()?;
    let type_code = identifier
        .pointer("/type/coding/0/code")
        .and_then(Value::as_str);
    let usual = matches!(
        identifier.get("use").and_then(Value::as_str),
        Some("usual" | "official")
    );
    if !(matches!(type_code, Some("MR" | "MRN" | "MB" | "PI")) || usual && type_code.is_none()) {
        return None;
    }
    let label = identifier
        .pointer("/type/text")
        .and_then(Value::as_str)
        .or_else(|| {
            identifier
                .pointer("/type/coding/0/display")
                .and_then(Value::as_str)
        })
        .map(str::to_owned)
        .or_else(|| {
            // The issuing system's host names the number for a reader ("hospital.example.org").
            let system = identifier.get("system")?.as_str()?;
            Some(
                url::Url::parse(system)
                    .ok()
                    .and_then(|u| u.host_str().map(str::to_owned))
                    .unwrap_or_else(|| system.to_owned()),
            )
        })
        .unwrap_or_else(|| "Identifier".to_owned());
    Some((label, value.to_owned()))
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
                        text: concept_text(c.get("code")),
                        strong: active,
                    },
                    Cell::plain(status),
                    Cell::plain(onset.clone().unwrap_or_default()),
                    Cell::plain(
                        date_of(c, &["/abatementDateTime", "/abatementPeriod/start"])
                            .unwrap_or_default(),
                    ),
                    Cell::plain(notes(c)),
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

    fn medication_name(&self, m: &Value) -> String {
        if let Some(concept) = m.get("medicationCodeableConcept") {
            return concept_text(Some(concept));
        }
        m.get("medicationReference")
            .and_then(|r| {
                self.record
                    .resolve(r)
                    .map(|med| concept_text(med.get("code")))
                    .or_else(|| r.get("display").and_then(Value::as_str).map(str::to_owned))
            })
            .unwrap_or_else(|| "Medication not named".to_owned())
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
                        text: self.medication_name(m),
                        strong: true,
                    },
                    Cell::plain(dosage_text(m)),
                    Cell::plain(since.clone()),
                    Cell::plain(prescriber),
                    Cell::plain(notes(m)),
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
                let reactions: Vec<String> = a
                    .get("reaction")
                    .and_then(Value::as_array)
                    .map(|rs| {
                        rs.iter()
                            .map(|r| {
                                let what: Vec<String> = r
                                    .get("manifestation")
                                    .and_then(Value::as_array)
                                    .map(|ms| ms.iter().map(|m| concept_text(Some(m))).collect())
                                    .unwrap_or_default();
                                let mut text = what.join(", ");
                                if let Some(severity) = r.get("severity").and_then(Value::as_str) {
                                    text.push_str(&format!(" ({severity})"));
                                }
                                text
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let criticality = a
                    .get("criticality")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .replace('-', " ");
                let cells = vec![
                    Cell {
                        text: concept_text(a.get("code")),
                        strong: true,
                    },
                    Cell::plain(reactions.join("; ")),
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
            rows: self.dated_rows(
                "Immunization",
                &["/occurrenceDateTime", "/recorded"],
                "vaccineCode",
            ),
            note: None,
            empty: "No immunizations recorded.",
        }
    }

    /// Date, coded name and status of every resource of a type in range, newest first.
    fn dated_rows(&self, resource_type: &str, dates: &[&str], concept: &str) -> Vec<Row> {
        let mut rows: Vec<Row> = self
            .record
            .all(resource_type)
            .filter_map(|r| {
                let date = date_of(r, dates);
                self.in_range(date.as_deref()).then(|| Row {
                    cells: vec![
                        Cell::plain(date.unwrap_or_default()),
                        Cell::plain(concept_text(r.get(concept))),
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
            for (name, value, unit, range, flag) in result_lines(o) {
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
            for (name, value, unit, _, _) in result_lines_combined(o) {
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
                let kind = e
                    .get("type")
                    .and_then(|t| t.get(0))
                    .map(|t| concept_text(Some(t)))
                    .or_else(|| str_at(e, "/class/display"))
                    .or_else(|| str_at(e, "/class/code"))
                    .unwrap_or_default();
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
                    .map(|c| concept_text(Some(c)))
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
            "code",
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
                    Cell::plain(if s.kind == "portal" { "portal" } else { "file" }),
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

/// One line per value an Observation holds: (name, value, unit, reference range, flag).
type ResultLine = (String, String, String, String, String);

fn result_lines(o: &Value) -> Vec<ResultLine> {
    let name = concept_text(o.get("code"));
    let mut lines = Vec::new();
    if has_value(o) {
        lines.push(value_line(name.clone(), o));
    }
    for component in o
        .get("component")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let part = concept_text(component.get("code"));
        lines.push(value_line(format!("{name}: {part}"), component));
    }
    if lines.is_empty() {
        let reason = o
            .get("dataAbsentReason")
            .map(|r| concept_text(Some(r)))
            .unwrap_or_else(|| "no value".to_owned());
        lines.push((name, reason, String::new(), String::new(), String::new()));
    }
    lines
}

/// Like [`result_lines`], but a blood pressure's two components read as one `120/80`.
fn result_lines_combined(o: &Value) -> Vec<ResultLine> {
    let components = o.get("component").and_then(Value::as_array);
    if let Some([systolic, diastolic]) = components.map(Vec::as_slice) {
        let (_, s, unit, _, _) = value_line(String::new(), systolic);
        let (_, d, unit_d, _, _) = value_line(String::new(), diastolic);
        if unit == unit_d && !has_value(o) {
            let name = concept_text(o.get("code"));
            return vec![(name, format!("{s}/{d}"), unit, String::new(), String::new())];
        }
    }
    result_lines(o)
}

fn has_value(o: &Value) -> bool {
    o.as_object()
        .is_some_and(|m| m.keys().any(|k| k.starts_with("value")))
}

fn value_line(name: String, o: &Value) -> ResultLine {
    let (value, unit, number) = if let Some(q) = o.get("valueQuantity") {
        let number = q.get("value").and_then(Value::as_f64);
        let comparator = q.get("comparator").and_then(Value::as_str).unwrap_or("");
        (
            format!(
                "{comparator}{}",
                q.get("value").map(number_text).unwrap_or_default()
            ),
            q.get("unit")
                .or_else(|| q.get("code"))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
            number,
        )
    } else if let Some(c) = o.get("valueCodeableConcept") {
        (concept_text(Some(c)), String::new(), None)
    } else if let Some(s) = o.get("valueString").and_then(Value::as_str) {
        (s.to_owned(), String::new(), None)
    } else if let Some(b) = o.get("valueBoolean").and_then(Value::as_bool) {
        (
            (if b { "yes" } else { "no" }).to_owned(),
            String::new(),
            None,
        )
    } else if let Some(v) = o.get("valueInteger") {
        (number_text(v), String::new(), v.as_f64())
    } else {
        (String::new(), String::new(), None)
    };
    let range = o.pointer("/referenceRange/0");
    let range_text = range.map(range_text).unwrap_or_default();
    let flag = interpretation(o).unwrap_or_else(|| match (number, range) {
        (Some(n), Some(r)) => {
            let bound = |key: &str| {
                r.get(key)
                    .and_then(|q| q.get("value"))
                    .and_then(Value::as_f64)
            };
            if bound("low").is_some_and(|low| n < low) {
                "Low".to_owned()
            } else if bound("high").is_some_and(|high| n > high) {
                "High".to_owned()
            } else {
                String::new()
            }
        }
        _ => String::new(),
    });
    (name, value, unit, range_text, flag)
}

/// An abnormal interpretation as a word; normal ones are not flagged.
fn interpretation(o: &Value) -> Option<String> {
    let coding = o.pointer("/interpretation/0/coding/0")?;
    let code = coding.get("code")?.as_str()?;
    let word = match code {
        "N" => return None,
        "H" => "High",
        "HH" | "HU" => "Critical high",
        "L" => "Low",
        "LL" | "LU" => "Critical low",
        "A" => "Abnormal",
        "AA" => "Critical",
        "POS" => "Positive",
        "DET" => "Detected",
        _ => {
            return coding
                .get("display")
                .and_then(Value::as_str)
                .map(str::to_owned);
        }
    };
    Some(word.to_owned())
}

fn range_text(range: &Value) -> String {
    if let Some(text) = range.get("text").and_then(Value::as_str) {
        return text.to_owned();
    }
    let bound = |key: &str| range.get(key).and_then(|q| q.get("value")).map(number_text);
    match (bound("low"), bound("high")) {
        (Some(low), Some(high)) => format!("{low}–{high}"),
        (Some(low), None) => format!("≥ {low}"),
        (None, Some(high)) => format!("≤ {high}"),
        (None, None) => String::new(),
    }
}

/// A number for reading: integers as they are; decimals to two places (three significant
/// digits below 1), trailing zeros dropped. Strings (FHIR's exact decimals) as written.
pub(crate) fn number_text(v: &Value) -> String {
    match v {
        Value::Number(n) if n.is_f64() => {
            let f = n.as_f64().unwrap_or_default();
            let places = if f.abs() >= 1.0 || f == 0.0 {
                2
            } else {
                (2 - f.abs().log10().floor() as i32).clamp(2, 12) as usize
            };
            let rounded = format!("{f:.places$}");
            rounded
                .trim_end_matches('0')
                .trim_end_matches('.')
                .to_owned()
        }
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        _ => String::new(),
    }
}

fn dosage_text(m: &Value) -> String {
    let Some(dosage) = m
        .get("dosageInstruction")
        .or_else(|| m.get("dosage"))
        .and_then(|d| d.get(0))
    else {
        return String::new();
    };
    if let Some(text) = dosage.get("text").and_then(Value::as_str) {
        return text.to_owned();
    }
    let mut parts = Vec::new();
    if let Some(q) = dosage.pointer("/doseAndRate/0/doseQuantity") {
        let value = q.get("value").map(number_text).unwrap_or_default();
        let unit = q.get("unit").and_then(Value::as_str).unwrap_or("");
        parts.push(format!("{value} {unit}").trim().to_owned());
    }
    if let Some(repeat) = dosage.pointer("/timing/repeat") {
        let frequency = repeat.get("frequency").and_then(Value::as_i64);
        let period = repeat.get("period").map(number_text);
        let unit = repeat.get("periodUnit").and_then(Value::as_str);
        if let (Some(f), Some(p), Some(u)) = (frequency, period, unit) {
            let unit = match u {
                "h" => "hour",
                "d" => "day",
                "wk" => "week",
                "mo" => "month",
                "a" => "year",
                "min" => "minute",
                other => other,
            };
            let every = if p == "1" {
                unit.to_owned()
            } else {
                format!("{p} {unit}s")
            };
            parts.push(format!("{f}× per {every}"));
        }
    }
    if dosage.get("asNeededBoolean").and_then(Value::as_bool) == Some(true) {
        parts.push("as needed".to_owned());
    }
    parts.join(", ")
}

fn notes(resource: &Value) -> String {
    resource
        .get("note")
        .and_then(Value::as_array)
        .map(|notes| {
            notes
                .iter()
                .filter_map(|n| n.get("text").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}

fn has_category(o: &Value, category: &str) -> bool {
    o.get("category")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .flat_map(|c| {
            c.get("coding")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
        })
        .any(|c| c.get("code").and_then(Value::as_str) == Some(category))
}

/// A CodeableConcept's text, else its first coding's display, else its first code.
pub fn concept_text(concept: Option<&Value>) -> String {
    let Some(concept) = concept else {
        return String::new();
    };
    concept
        .get("text")
        .and_then(Value::as_str)
        .or_else(|| {
            concept
                .get("coding")
                .and_then(Value::as_array)?
                .iter()
                .find_map(|c| c.get("display").and_then(Value::as_str))
        })
        .or_else(|| concept.pointer("/coding/0/code").and_then(Value::as_str))
        .unwrap_or("")
        .to_owned()
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

/// The first of `pointers` that holds a date, as `YYYY-MM-DD`.
fn date_of(resource: &Value, pointers: &[&str]) -> Option<String> {
    pointers
        .iter()
        .find_map(|p| resource.pointer(p).and_then(Value::as_str))
        .map(day)
}

fn day(date: &str) -> String {
    date.get(..10).unwrap_or(date).to_owned()
}

/// `YYYY-MM-DD HH:MM` of an RFC 3339 timestamp.
fn minute(at: &str) -> String {
    match at.get(..16) {
        Some(m) => m.replacen('T', " ", 1),
        None => at.to_owned(),
    }
}

fn days_before(date: &str, days: i64) -> String {
    match crate::export::parse_date(date.get(..10).unwrap_or(date)) {
        Ok(d) => (d - time::Duration::days(days)).to_string(),
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn flags_values_outside_the_reference_range() {
        let o = json!({"code": {"text": "Glucose"}, "valueQuantity": {"value": 182.5, "unit": "mg/dL"},
            "referenceRange": [{"low": {"value": 70}, "high": {"value": 99}}]});
        let (name, value, unit, range, flag) = value_line("Glucose".into(), &o);
        assert_eq!(number_text(&json!(0.004567)), "0.00457");
        assert_eq!(number_text(&json!(107.6934)), "107.69");
        assert_eq!(number_text(&json!(5)), "5");
        assert_eq!(
            (name.as_str(), value.as_str(), unit.as_str()),
            ("Glucose", "182.5", "mg/dL")
        );
        assert_eq!((range.as_str(), flag.as_str()), ("70–99", "High"));
        let low =
            json!({"valueQuantity": {"value": 3}, "referenceRange": [{"low": {"value": 70}}]});
        assert_eq!(value_line(String::new(), &low).4, "Low");
        let normal = json!({"valueQuantity": {"value": 80}, "interpretation": [{"coding": [{"code": "N"}]}],
            "referenceRange": [{"low": {"value": 70}, "high": {"value": 99}}]});
        assert_eq!(value_line(String::new(), &normal).4, "");
    }

    #[test]
    fn blood_pressure_reads_as_one_value() {
        let bp = json!({"code": {"text": "Blood pressure"}, "component": [
            {"code": {"text": "Systolic"}, "valueQuantity": {"value": 120, "unit": "mm[Hg]"}},
            {"code": {"text": "Diastolic"}, "valueQuantity": {"value": 80, "unit": "mm[Hg]"}}]});
        let lines = result_lines_combined(&bp);
        assert_eq!(lines.len(), 1);
        assert_eq!(
            (lines[0].1.as_str(), lines[0].2.as_str()),
            ("120/80", "mm[Hg]")
        );
    }

    #[test]
    fn government_identifiers_are_left_out() {
        let p = json!({"name": [{"use": "official", "given": ["Ana"], "family": "Díaz", "prefix": ["Ms."]}],
            "identifier": [
                {"type": {"coding": [{"code": "MR"}], "text": "Medical Record Number"}, "value": "MRN-1"},
                {"type": {"coding": [{"code": "SS"}]}, "value": "999-99-9999"},
                {"system": "https://hospital.example.org/ids", "value": "H-7", "use": "usual"},
                {"system": "https://github.com/synthetichealth/synthea", "value": "not-for-clinicians"}]});
        let header = PatientHeader::of(&p);
        assert_eq!(header.name, "Ms. Ana Díaz");
        assert_eq!(
            header.identifiers,
            vec![
                ("Medical Record Number".to_owned(), "MRN-1".to_owned()),
                ("hospital.example.org".to_owned(), "H-7".to_owned())
            ]
        );
    }

    #[test]
    fn dosage_from_structure() {
        let m = json!({"dosageInstruction": [{"doseAndRate": [{"doseQuantity": {"value": 1, "unit": "tablet"}}],
            "timing": {"repeat": {"frequency": 2, "period": 1, "periodUnit": "d"}}}]});
        assert_eq!(dosage_text(&m), "1 tablet, 2× per day");
    }
}
