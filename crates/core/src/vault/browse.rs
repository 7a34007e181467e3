//! Reading the record for the app's views: the timeline and the lists per category, one
//! resource with its source, and the series of one lab test for its trend plot.

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

/// One lab test over time.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LabSeries {
    pub code: String,
    pub name: String,
    pub unit: Option<String>,
    pub points: Vec<LabPoint>,
    /// The reference range (from the newest result that has one).
    pub low: Option<f64>,
    pub high: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LabPoint {
    pub date: String,
    pub value: f64,
}

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

    /// Every numeric result of one code for a person, oldest first (each fact once).
    pub fn lab_series(&self, person: i64, code: &str) -> Result<LabSeries> {
        let mut stmt = self.db().prepare_cached(
            "SELECT date, value, display, unit, low, high FROM entries
             WHERE person_id = ?1 AND code = ?2 AND duplicate_of IS NULL AND value IS NOT NULL
               AND date != '' AND kind IN ('lab', 'vital', 'observation')
             ORDER BY date, resource_id",
        )?;
        let mut rows = stmt.query(rusqlite::params![person, code])?;
        let mut series = LabSeries {
            code: code.to_owned(),
            name: code.to_owned(),
            unit: None,
            points: Vec::new(),
            low: None,
            high: None,
        };
        while let Some(row) = rows.next()? {
            series.points.push(LabPoint {
                date: row.get(0)?,
                value: row.get(1)?,
            });
            series.name = row.get(2)?;
            if let Some(unit) = row.get::<_, Option<String>>(3)? {
                series.unit = Some(unit);
            }
            let (low, high): (Option<f64>, Option<f64>) = (row.get(4)?, row.get(5)?);
            if low.is_some() || high.is_some() {
                series.low = low;
                series.high = high;
            }
        }
        if series.points.is_empty() {
            return Err(Error::NoSuchResource(format!(
                "lab results with code {code}"
            )));
        }
        Ok(series)
    }
}
