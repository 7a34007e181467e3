//! Reading the record for the app's views: the timeline and the lists per category, one
//! resource with its source, and the series of one test or vital sign, from every source, for its chart.

use serde::Serialize;

use crate::error::{Error, Result};
use crate::vault::Vault;

/// The app's record views.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum Category {
    /// Every clinical entry, newest first (bills and claims are in [`Category::Bills`]).
    Timeline,
    Problems,
    Medications,
    Allergies,
    Labs,
    Vitals,
    Immunizations,
    Visits,
    Procedures,
    Documents,
    /// Claims and explanations of benefit: not clinical events, so apart from the timeline.
    Bills,
}

impl Category {
    /// The SQL condition selecting this category's entries (`e` is the entry index).
    fn condition(self) -> &'static str {
        match self {
            Category::Timeline => "e.kind != 'claim'",
            Category::Problems => "e.kind = 'problem'",
            Category::Medications => "e.kind = 'medication'",
            Category::Allergies => "e.kind = 'allergy'",
            Category::Labs => "e.kind = 'lab'",
            Category::Vitals => "e.kind = 'vital'",
            Category::Immunizations => "e.kind = 'immunization'",
            Category::Visits => "e.kind = 'visit'",
            Category::Procedures => "e.kind = 'procedure'",
            Category::Documents => "e.kind IN ('document', 'report')",
            Category::Bills => "e.kind = 'claim'",
        }
    }
}

/// One line of a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ListItem {
    pub resource_type: String,
    pub id: String,
    pub date: Option<String>,
    /// Plain text (never markup) for the list.
    pub display: String,
    /// Status, value or other short detail, as plain text.
    pub detail: Option<String>,
    /// For labs: the code whose trend can be plotted.
    pub code: Option<String>,
    /// Every source that sent this fact (one entry, shown once).
    pub source: String,
}

/// A page of a list, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ListPage {
    pub items: Vec<ListItem>,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub total: i64,
}

/// One resource, whole.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ResourceDetail {
    pub resource_type: String,
    pub id: String,
    pub display: String,
    pub source: String,
    pub source_kind: String,
    pub imported_at: String,
    /// The resource exactly as received.
    pub json: String,
}

/// One test or measurement over time, from every source that sent it: a lab result, or a vital
/// sign (weight, BMI, A1c, blood pressure, ...), for its chart.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LabSeries {
    /// The code asked for.
    pub code: String,
    /// The newest result's name.
    pub name: String,
    /// The unit most results are in: the chart's y axis (points in another unit are not drawn
    /// on it).
    pub unit: Option<String>,
    /// What is measured: one for a test; systolic, then diastolic, for a blood pressure.
    pub measures: Vec<LabMeasure>,
}

/// One measured value over time (a test, or one component of a panel).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LabMeasure {
    /// Its code (a component's LOINC code; the series' code for a test).
    pub code: String,
    /// Its name ("Systolic", "Diastolic"; the series' name for a test).
    pub name: String,
    /// Every result with a date and a number, oldest first, each fact once (the sources that
    /// repeated it in `also_from`).
    pub points: Vec<LabPoint>,
    /// The reference range of the newest result in the series' unit that has one.
    pub low: Option<f64>,
    pub high: Option<f64>,
}

/// One result.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LabPoint {
    /// The clinical date as received.
    pub date: String,
    pub value: f64,
    /// Its own unit, as received.
    pub unit: Option<String>,
    /// The source that sent it (the portal's name, the file's, or "Added by me").
    pub source: String,
    /// Other sources that sent the same result (shown once).
    pub also_from: Vec<String>,
}

const LOINC: &str = "http://loinc.org";
/// Blood pressure panels (LOINC): a reading's values are its components'.
const BLOOD_PRESSURE_PANELS: [&str; 2] = ["85354-9", "55284-4"];
/// A blood pressure's components (LOINC) and their names.
const BLOOD_PRESSURE_PARTS: [(&str, &str); 2] = [("8480-6", "Systolic"), ("8462-4", "Diastolic")];

/// The sources of entries `e` with their names (a portal's connection name, else the source's).
const SOURCE_OF_ENTRY: &str = "JOIN resources r ON r.id = e.resource_id JOIN sources s ON s.id = r.source_id
        LEFT JOIN connections c ON s.kind = 'portal' AND c.fhir_base = s.name AND c.patient_id = s.patient_id";

/// The names of every source of each listed entry: its own and those of entries repeating it.
pub(super) const SOURCES_OF_ENTRY: &str = "(SELECT group_concat(name, ', ') FROM (
        SELECT DISTINCT coalesce(c.name, s.name) AS name FROM entries d
        JOIN resources dr ON dr.id = d.resource_id JOIN sources s ON s.id = dr.source_id
        LEFT JOIN connections c ON s.kind = 'portal' AND c.fhir_base = s.name AND c.patient_id = s.patient_id
        WHERE d.resource_id = e.resource_id OR d.duplicate_of = e.resource_id))";

/// A list line from a row of `resource_type, fhir_id, date, display, detail, code, kind,
/// SOURCES_OF_ENTRY`.
pub(super) fn list_item(r: &rusqlite::Row) -> rusqlite::Result<ListItem> {
    let date: String = r.get(2)?;
    let kind: String = r.get(6)?;
    Ok(ListItem {
        resource_type: r.get(0)?,
        id: r.get(1)?,
        date: (!date.is_empty()).then_some(date),
        display: r.get(3)?,
        detail: r.get(4)?,
        code: match kind.as_str() {
            "lab" | "vital" | "observation" => r.get(5)?,
            _ => None,
        },
        source: r.get::<_, Option<String>>(7)?.unwrap_or_default(),
    })
}

impl Vault {
    /// A page of one person's category, newest first; each fact once, whatever its sources.
    pub fn list(
        &self,
        person: i64,
        category: Category,
        offset: i64,
        limit: i64,
    ) -> Result<ListPage> {
        let condition = category.condition();
        let conn = self.db();
        let total = conn
            .prepare_cached(&format!(
                "SELECT count(*) FROM entries e
                 WHERE e.person_id = ?1 AND e.duplicate_of IS NULL AND {condition}"
            ))?
            .query_row([person], |r| r.get(0))?;
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT r.resource_type, r.fhir_id, e.date, e.display, e.detail, e.code, e.kind,
                    {SOURCES_OF_ENTRY}
             FROM entries e JOIN resources r ON r.id = e.resource_id
             WHERE e.person_id = ?1 AND e.duplicate_of IS NULL AND {condition}
             ORDER BY e.date DESC, e.resource_id DESC
             LIMIT ?2 OFFSET ?3"
        ))?;
        let items = stmt
            .query_map(rusqlite::params![person, limit, offset], list_item)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(ListPage { items, total })
    }

    /// One of a person's resources as received, with where it came from.
    pub fn resource(&self, person: i64, resource_type: &str, id: &str) -> Result<ResourceDetail> {
        let found = self.db().query_row(
            "SELECT r.json, coalesce(c.name, s.name), s.kind, r.imported_at, e.display FROM resources r
             JOIN entries e ON e.resource_id = r.id
             JOIN sources s ON s.id = r.source_id
             LEFT JOIN connections c ON s.kind = 'portal' AND c.fhir_base = s.name AND c.patient_id = s.patient_id
             WHERE r.resource_type = ?1 AND r.fhir_id = ?2
               AND (e.person_id = ?3 OR (e.person_id IS NULL AND r.source_id IN
                    (SELECT source_id FROM person_patients WHERE person_id = ?3)))
             ORDER BY e.duplicate_of IS NOT NULL, r.last_updated DESC LIMIT 1",
            rusqlite::params![resource_type, id, person],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                ))
            },
        );
        let (json, source, source_kind, imported_at, display) = match found {
            Err(rusqlite::Error::QueryReturnedNoRows) => {
                return Err(Error::NoSuchResource(format!("{resource_type}/{id}")));
            }
            other => other?,
        };
        Ok(ResourceDetail {
            resource_type: resource_type.to_owned(),
            id: id.to_owned(),
            display,
            source,
            source_kind,
            imported_at,
            json,
        })
    }

    /// Every numeric result of one test for a person, oldest first, from every source: the
    /// results whose first code is `code`, and those that share a coding (system and code) with
    /// one of them; each fact once (entries repeating another source's stay out, their sources
    /// named in `also_from`). A blood pressure panel (LOINC 85354-9 or 55284-4, either) gives
    /// two measures, its systolic and diastolic components (8480-6, 8462-4).
    pub fn lab_series(&self, person: i64, code: &str) -> Result<LabSeries> {
        let conn = self.db();
        // The person's shown, dated results: (resource id, first code, codes).
        let results: Vec<(i64, Option<String>, Vec<String>)> = conn
            .prepare_cached(
                "SELECT resource_id, code, codes FROM entries
                 WHERE person_id = ?1 AND kind IN ('lab', 'vital', 'observation')
                   AND duplicate_of IS NULL AND date != ''
                 ORDER BY date, resource_id",
            )?
            .query_map([person], |r| {
                let codes: String = r.get(2)?;
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    codes.lines().map(str::to_owned).collect(),
                ))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let asked = |first: &Option<String>| first.as_deref() == Some(code);
        let codings: std::collections::BTreeSet<&str> = results
            .iter()
            .filter(|(_, first, _)| asked(first))
            .flat_map(|(_, _, codes)| codes.iter().map(String::as_str))
            .collect();
        let panel = |c: &str| BLOOD_PRESSURE_PANELS.contains(&c);
        let loinc_panel = |line: &str| {
            line.strip_prefix(LOINC)
                .and_then(|rest| rest.strip_prefix('|'))
                .is_some_and(panel)
        };
        let blood_pressure = panel(code) || codings.iter().any(|c| loinc_panel(c));
        let chosen = results.iter().filter(|(_, first, codes)| {
            if blood_pressure {
                first.as_deref().is_some_and(panel) || codes.iter().any(|c| loinc_panel(c))
            } else {
                asked(first) || codes.iter().any(|c| codings.contains(c.as_str()))
            }
        });

        let mut read = conn.prepare_cached(&format!(
            "SELECT e.date, e.display, e.value, e.unit, e.low, e.high, coalesce(c.name, s.name),
                    CASE WHEN ?2 THEN r.json END
             FROM entries e {SOURCE_OF_ENTRY}
             WHERE e.resource_id = ?1"
        ))?;
        let mut repeats = conn.prepare_cached(&format!(
            "SELECT DISTINCT coalesce(c.name, s.name) FROM entries e {SOURCE_OF_ENTRY}
             WHERE e.duplicate_of = ?1 ORDER BY 1"
        ))?;
        let parts: Vec<(&str, &str)> = if blood_pressure {
            BLOOD_PRESSURE_PARTS.to_vec()
        } else {
            vec![(code, "")]
        };
        // Per measure: its points with each one's reference range (low, high).
        type Ranged = (LabPoint, Option<f64>, Option<f64>);
        let mut measured: Vec<Vec<Ranged>> = vec![Vec::new(); parts.len()];
        let mut name = None;
        for (resource_id, _, _) in chosen {
            let row = read.query_row(rusqlite::params![resource_id, blood_pressure], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<f64>>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, Option<f64>>(4)?,
                    r.get::<_, Option<f64>>(5)?,
                    r.get::<_, Option<String>>(6)?.unwrap_or_default(),
                    r.get::<_, Option<String>>(7)?,
                ))
            })?;
            let (date, display, value, unit, low, high, source, json) = row;
            // (measure, value, unit, low, high) of this result.
            let mut values = Vec::new();
            if blood_pressure {
                let resource: serde_json::Value = json
                    .as_deref()
                    .and_then(|j| serde_json::from_str(j).ok())
                    .unwrap_or_default();
                for (i, (part, _)) in parts.iter().enumerate() {
                    if let Some(c) = crate::fhir::clinical::component_value(&resource, LOINC, part)
                        && let Some(v) = c.quantity.value
                    {
                        let range = c.range.unwrap_or_default();
                        values.push((i, v, c.quantity.unit, range.low, range.high));
                    }
                }
            } else if let Some(v) = value {
                values.push((0, v, unit, low, high));
            }
            if values.is_empty() {
                continue;
            }
            name = Some(display);
            let also_from: Vec<String> = repeats
                .query_map([resource_id], |r| r.get::<_, Option<String>>(0))?
                .filter_map(|n| n.transpose())
                .filter(|n| n.as_ref().map_or(true, |n| *n != source))
                .collect::<rusqlite::Result<_>>()?;
            for (i, value, unit, low, high) in values {
                if let Some(points) = measured.get_mut(i) {
                    let point = LabPoint {
                        date: date.clone(),
                        value,
                        unit,
                        source: source.clone(),
                        also_from: also_from.clone(),
                    };
                    points.push((point, low, high));
                }
            }
        }
        let Some(name) = name else {
            return Err(Error::NoSuchResource(format!(
                "lab results with code {code}"
            )));
        };
        let unit = most_common_unit(measured.iter().flatten().map(|(p, _, _)| &p.unit));
        let measures = parts
            .iter()
            .zip(measured)
            .map(|((part, part_name), points)| {
                let (low, high) = points
                    .iter()
                    .rev()
                    .filter(|(p, low, high)| p.unit == unit && (low.is_some() || high.is_some()))
                    .map(|(_, low, high)| (*low, *high))
                    .next()
                    .unwrap_or_default();
                LabMeasure {
                    code: (*part).to_owned(),
                    name: if part_name.is_empty() {
                        name.clone()
                    } else {
                        (*part_name).to_owned()
                    },
                    points: points.into_iter().map(|(p, _, _)| p).collect(),
                    low,
                    high,
                }
            })
            .collect();
        Ok(LabSeries {
            code: code.to_owned(),
            name,
            unit,
            measures,
        })
    }
}

/// The unit most of `units` are (the first seen of those equally many).
fn most_common_unit<'a>(units: impl Iterator<Item = &'a Option<String>>) -> Option<String> {
    let mut counts: Vec<(&Option<String>, usize)> = Vec::new();
    for unit in units {
        match counts.iter_mut().find(|(u, _)| *u == unit) {
            Some((_, n)) => *n += 1,
            None => counts.push((unit, 1)),
        }
    }
    let most = counts.iter().map(|(_, n)| *n).max()?;
    counts
        .into_iter()
        .find(|(_, n)| *n == most)
        .and_then(|(u, _)| u.clone())
}
