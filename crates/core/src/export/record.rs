//! The patient's record as exports see it: the vault's current resources of the types a summary
//! uses, parsed once, one per (type, id) across sources (the most recently updated wins).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::error::{Error, Result};
use crate::vault::Vault;

/// The resource types a summary reads.
pub const SUMMARY_TYPES: &[&str] = &[
    "Patient",
    "Condition",
    "MedicationRequest",
    "MedicationStatement",
    "Medication",
    "AllergyIntolerance",
    "Immunization",
    "Observation",
    "Encounter",
    "Procedure",
    "Organization",
    "Practitioner",
    "Location",
];

/// Where the record came from, for the summary's list of sources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub kind: String,
    pub name: String,
    pub resources: i64,
    /// The last sync (portals) or import (files).
    pub last_updated: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Record {
    /// The patient the record is about.
    pub patient: Value,
    /// By resource type, then id.
    resources: BTreeMap<String, BTreeMap<String, Value>>,
    pub sources: Vec<Source>,
}

impl Record {
    pub fn load(vault: &Vault) -> Result<Record> {
        let conn = vault.db();
        let placeholders = vec!["?"; SUMMARY_TYPES.len()].join(",");
        let mut stmt = conn.prepare(&format!(
            "SELECT resource_type, fhir_id, json FROM resources WHERE resource_type IN ({placeholders})
             ORDER BY resource_type, fhir_id, coalesce(last_updated, '') DESC, id DESC"
        ))?;
        let mut rows = stmt.query(rusqlite::params_from_iter(SUMMARY_TYPES))?;
        let mut resources: BTreeMap<String, BTreeMap<String, Value>> = BTreeMap::new();
        while let Some(row) = rows.next()? {
            let resource_type: String = row.get(0)?;
            let id: String = row.get(1)?;
            let by_id = resources.entry(resource_type).or_default();
            if by_id.contains_key(&id) {
                continue;
            }
            let json: String = row.get(2)?;
            // Stored resources were checked as JSON objects on the way in.
            let value: Value = serde_json::from_str(&json)
                .map_err(|_| Error::Corrupt("a stored resource is not valid JSON".into()))?;
            by_id.insert(id, value);
        }
        let patient = resources
            .get("Patient")
            .and_then(|by_id| {
                // The most recently updated Patient, when several sources sent one.
                by_id.values().max_by(|a, b| {
                    let updated = |v: &Value| {
                        v.pointer("/meta/lastUpdated")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_owned()
                    };
                    updated(a).cmp(&updated(b))
                })
            })
            .cloned()
            .ok_or(Error::NoPatient)?;
        let sources = conn
            .prepare(
                "SELECT s.kind, coalesce(c.name, s.name), count(r.id),
                        coalesce(c.last_sync_at, max(r.imported_at))
                 FROM sources s
                 LEFT JOIN resources r ON r.source_id = s.id
                 LEFT JOIN connections c ON s.kind = 'portal' AND c.fhir_base = s.name
                 GROUP BY s.id ORDER BY s.kind, s.name",
            )?
            .query_map([], |r| {
                Ok(Source {
                    kind: r.get(0)?,
                    name: r.get(1)?,
                    resources: r.get(2)?,
                    last_updated: r.get(3)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(Record {
            patient,
            resources,
            sources,
        })
    }

    /// Every resource of a type, in id order.
    pub fn all(&self, resource_type: &str) -> impl Iterator<Item = &Value> {
        self.resources
            .get(resource_type)
            .into_iter()
            .flat_map(|by_id| by_id.values())
    }

    pub fn get(&self, resource_type: &str, id: &str) -> Option<&Value> {
        self.resources.get(resource_type)?.get(id)
    }

    /// The resource a `Type/id` reference points to, when the record holds it.
    pub fn resolve(&self, reference: &Value) -> Option<&Value> {
        let text = reference.get("reference")?.as_str()?;
        let (resource_type, id) = text.rsplit_once('/')?;
        let resource_type = resource_type.rsplit('/').next()?;
        self.get(resource_type, id)
    }

    /// Text for a reference: its `display`, else the name of what it points to.
    pub fn reference_text(&self, reference: &Value) -> Option<String> {
        if let Some(display) = reference.get("display").and_then(Value::as_str) {
            return Some(display.to_owned());
        }
        self.resolve(reference).and_then(crate::fhir::display)
    }

    /// The patient's id.
    pub fn patient_id(&self) -> &str {
        self.patient.get("id").and_then(Value::as_str).unwrap_or("")
    }
}
