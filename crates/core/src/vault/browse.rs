//! Reading the record for the app's views: the timeline and the lists per category, one
//! resource with its source, and the series of one lab test for its trend plot.

use serde::Serialize;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::fhir;
use crate::vault::Vault;

/// The app's record views.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum Category {
    /// Everything, newest first.
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
}

impl Category {
    /// The SQL condition selecting this category's resources.
    fn condition(self) -> &'static str {
        match self {
            Category::Timeline => "1",
            Category::Problems => "r.resource_type = 'Condition'",
            Category::Medications => {
                "r.resource_type IN ('MedicationRequest', 'MedicationStatement')"
            }
            Category::Allergies => "r.resource_type = 'AllergyIntolerance'",
            Category::Labs => "r.resource_type = 'Observation' AND r.json LIKE '%\"laboratory\"%'",
            Category::Vitals => {
                "r.resource_type = 'Observation' AND r.json LIKE '%\"vital-signs\"%'"
            }
            Category::Immunizations => "r.resource_type = 'Immunization'",
            Category::Visits => "r.resource_type = 'Encounter'",
            Category::Procedures => "r.resource_type = 'Procedure'",
            Category::Documents => "r.resource_type IN ('DocumentReference', 'DiagnosticReport')",
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

impl Vault {
    /// A page of a category, newest first.
    pub fn list(&self, category: Category, offset: i64, limit: i64) -> Result<ListPage> {
        let condition = category.condition();
        let conn = self.db();
        let total = conn.query_row(
            &format!("SELECT count(*) FROM resources r WHERE {condition}"),
            [],
            |r| r.get(0),
        )?;
        // The page's rows are chosen on small keys first; only those rows' JSON is then read.
        let mut stmt = conn.prepare(&format!(
            "SELECT r.resource_type, r.fhir_id, r.clinical_date, r.json, s.name
             FROM (SELECT r.id, r.clinical_date FROM resources r WHERE {condition}
                   ORDER BY r.clinical_date IS NULL, r.clinical_date DESC, r.id DESC
                   LIMIT ?1 OFFSET ?2) page
             JOIN resources r ON r.id = page.id JOIN sources s ON s.id = r.source_id
             ORDER BY page.clinical_date IS NULL, page.clinical_date DESC, page.id DESC"
        ))?;
        let items = stmt
            .query_map(rusqlite::params![limit, offset], |r| {
                let json: String = r.get(3)?;
                let value: Value = serde_json::from_str(&json).unwrap_or(Value::Null);
                let resource_type: String = r.get(0)?;
                Ok(ListItem {
                    display: fhir::display(&value).unwrap_or_else(|| resource_type.clone()),
                    detail: detail(&value),
                    code: (resource_type == "Observation")
                        .then(|| {
                            value
                                .pointer("/code/coding/0/code")
                                .and_then(Value::as_str)
                                .map(str::to_owned)
                        })
                        .flatten(),
                    resource_type,
                    id: r.get(1)?,
                    date: r.get(2)?,
                    source: r.get(4)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(ListPage { items, total })
    }

    /// One resource as received, with where it came from.
    pub fn resource(&self, resource_type: &str, id: &str) -> Result<ResourceDetail> {
        let found = self.db().query_row(
            "SELECT r.json, s.name, s.kind, r.imported_at FROM resources r
             JOIN sources s ON s.id = r.source_id
             WHERE r.resource_type = ?1 AND r.fhir_id = ?2
             ORDER BY r.last_updated DESC LIMIT 1",
            rusqlite::params![resource_type, id],
            |r| Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        );
        let (json, source, source_kind, imported_at) = match found {
            Err(rusqlite::Error::QueryReturnedNoRows) => {
                return Err(Error::NoSuchResource(format!("{resource_type}/{id}")));
            }
            other => other?,
        };
        let value: Value = serde_json::from_str(&json).unwrap_or(Value::Null);
        Ok(ResourceDetail {
            resource_type: resource_type.to_owned(),
            id: id.to_owned(),
            display: fhir::display(&value).unwrap_or_else(|| resource_type.to_owned()),
            source,
            source_kind,
            imported_at,
            json,
        })
    }

    /// Every numeric result of one lab code, oldest first.
    pub fn lab_series(&self, code: &str) -> Result<LabSeries> {
        let mut stmt = self.db().prepare(
            "SELECT json FROM resources WHERE resource_type = 'Observation' AND json LIKE ?1
             ORDER BY clinical_date",
        )?;
        let pattern = format!("%\"{}\"%", code.replace(['%', '_'], ""));
        let mut rows = stmt.query([pattern])?;
        let mut series = LabSeries {
            code: code.to_owned(),
            name: code.to_owned(),
            unit: None,
            points: Vec::new(),
            low: None,
            high: None,
        };
        while let Some(row) = rows.next()? {
            let json: String = row.get(0)?;
            let o: Value = serde_json::from_str(&json).unwrap_or(Value::Null);
            if o.pointer("/code/coding/0/code").and_then(Value::as_str) != Some(code) {
                continue;
            }
            let (Some(date), Some(value)) = (
                fhir::clinical_date(&o),
                o.pointer("/valueQuantity/value").and_then(Value::as_f64),
            ) else {
                continue;
            };
            series.points.push(LabPoint {
                date: date.to_owned(),
                value,
            });
            series.name = fhir::display(&o).unwrap_or_else(|| code.to_owned());
            if let Some(unit) = o.pointer("/valueQuantity/unit").and_then(Value::as_str) {
                series.unit = Some(unit.to_owned());
            }
            let bound = |key: &str| {
                o.pointer(&format!("/referenceRange/0/{key}/value"))
                    .and_then(Value::as_f64)
            };
            if bound("low").is_some() || bound("high").is_some() {
                series.low = bound("low");
                series.high = bound("high");
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

/// A short plain-text detail for a list line.
fn detail(resource: &Value) -> Option<String> {
    if let Some(q) = resource.get("valueQuantity") {
        let value = q
            .get("value")
            .map(crate::export::summary::number_text)
            .unwrap_or_default();
        let unit = q.get("unit").and_then(Value::as_str).unwrap_or("");
        return Some(format!("{value} {unit}").trim().to_owned());
    }
    for pointer in ["/clinicalStatus/coding/0/code", "/status"] {
        if let Some(s) = resource.pointer(pointer).and_then(Value::as_str) {
            return Some(s.to_owned());
        }
    }
    None
}
