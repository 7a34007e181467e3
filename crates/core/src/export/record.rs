//! One person's record as exports see it: their current resources of the types a summary uses,
//! parsed once, one per fact (entries marked as repeating another source's are left out, and the
//! one shown lists every source), plus the shared resources (organizations, practitioners,
//! medications) their sources sent, for names.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use rusqlite::OptionalExtension;

use crate::error::{Error, Result};
use crate::vault::Vault;
use crate::vault::people::Person;

/// The resource types a summary reads.
pub const SUMMARY_TYPES: &[&str] = &[
    "Patient",
    "Condition",
    "MedicationRequest",
    "MedicationStatement",
    "AllergyIntolerance",
    "Immunization",
    "Observation",
    "Encounter",
    "Procedure",
];

/// Shared resources the summary names things by.
pub const SHARED_TYPES: &[&str] = &[
    "Medication",
    "Organization",
    "Practitioner",
    "PractitionerRole",
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
    pub person: Person,
    /// The person's Patient (the most recently updated, when several sources sent one).
    pub patient: Value,
    /// By resource type, then id: the person's resources and the shared ones of their sources.
    resources: BTreeMap<String, BTreeMap<String, Value>>,
    /// `Type/id` → the name every view gives it (the entry index's display).
    displays: HashMap<String, String>,
    /// `Type/id` → every source the fact came from, when more than one did.
    also_from: HashMap<String, Vec<String>>,
    /// `Type/id` of what the patient added themselves (their own source, `vault/own.rs`).
    own: std::collections::HashSet<String>,
    pub sources: Vec<Source>,
}

impl Record {
    /// The record of `person` (or of the only person), of the types a summary reads.
    pub fn load(vault: &Vault, person: Option<i64>) -> Result<Record> {
        Record::load_types(vault, person, SUMMARY_TYPES, SHARED_TYPES)
    }

    /// The record of `person` of the given types (the person's own, always with their
    /// Patient) and of the given shared types their sources sent.
    pub fn load_types(
        vault: &Vault,
        person: Option<i64>,
        types: &[&str],
        shared_types: &[&str],
    ) -> Result<Record> {
        let types: Vec<&str> = std::iter::once("Patient")
            .chain(types.iter().copied().filter(|t| *t != "Patient"))
            .collect();
        Record::load_where(vault, person, Chosen::Types(&types), shared_types)
    }

    /// The record of `person` holding only the given resources of theirs (row ids; a view that
    /// shows a few of each kind, like the home, chose them from the entry index) and their
    /// Patient, with the summary's shared types. Its `all` lists only those.
    pub fn load_resources(vault: &Vault, person: Option<i64>, ids: &[i64]) -> Result<Record> {
        Record::load_where(vault, person, Chosen::Resources(ids), SHARED_TYPES)
    }

    fn load_where(
        vault: &Vault,
        person: Option<i64>,
        chosen: Chosen<'_>,
        shared_types: &[&str],
    ) -> Result<Record> {
        let person_id = vault.reading_person(person)?;
        let person = vault.person(person_id)?;
        let conn = vault.db();
        let source_names: HashMap<i64, String> = person
            .sources
            .iter()
            .map(|s| (s.id, s.name.clone()))
            .collect();
        let mut resources: BTreeMap<String, BTreeMap<String, Value>> = BTreeMap::new();
        let mut displays = HashMap::new();
        let mut shown_by_row: HashMap<i64, (String, i64)> = HashMap::new();
        let mut patients: Vec<(String, Value)> = Vec::new();
        let own_sources: std::collections::HashSet<i64> = person
            .sources
            .iter()
            .filter(|s| s.kind == "self")
            .map(|s| s.id)
            .collect();
        let mut own = std::collections::HashSet::new();
        // The chosen rows as one JSON array, for `json_each`.
        let chosen_ids: Option<String> = match &chosen {
            Chosen::Types(_) => None,
            Chosen::Resources(ids) => Some(Value::from(ids.to_vec()).to_string()),
        };
        {
            let (which, chosen): (String, Vec<rusqlite::types::Value>) = match &chosen {
                Chosen::Types(types) => (
                    format!("r.resource_type IN ({})", vec!["?"; types.len()].join(",")),
                    types
                        .iter()
                        .map(|t| rusqlite::types::Value::from((*t).to_owned()))
                        .collect(),
                ),
                Chosen::Resources(_) => (
                    "e.resource_id IN (SELECT value FROM json_each(?))".to_owned(),
                    vec![rusqlite::types::Value::from(chosen_ids.clone())],
                ),
            };
            let mut stmt = conn.prepare(&format!(
                "SELECT r.id, r.resource_type, r.fhir_id, r.json, e.display, r.source_id, coalesce(r.last_updated, '')
                 FROM entries e JOIN resources r ON r.id = e.resource_id
                 WHERE e.person_id = ?1 AND e.duplicate_of IS NULL AND {which}
                 ORDER BY r.resource_type, r.fhir_id, coalesce(r.last_updated, '') DESC, r.id DESC"
            ))?;
            let params = std::iter::once(rusqlite::types::Value::from(person_id)).chain(chosen);
            let mut rows = stmt.query(rusqlite::params_from_iter(params))?;
            while let Some(row) = rows.next()? {
                let resource_type: String = row.get(1)?;
                let id: String = row.get(2)?;
                let value = parse(&row.get::<_, String>(3)?)?;
                let key = format!("{resource_type}/{id}");
                let source: i64 = row.get(5)?;
                if own_sources.contains(&source) {
                    // The own source's Patient only repeats the person's name and birth date.
                    if resource_type == "Patient" {
                        continue;
                    }
                    own.insert(key.clone());
                }
                if resource_type == "Patient" {
                    patients.push((row.get(6)?, value.clone()));
                }
                let by_id = resources.entry(resource_type).or_default();
                if by_id.contains_key(&id) {
                    continue;
                }
                by_id.insert(id, value);
                shown_by_row.insert(row.get(0)?, (key.clone(), row.get(5)?));
                displays.insert(key, row.get(4)?);
            }
        }
        // Every source of each fact shown: its own and those of the entries repeating it.
        let mut also_from: HashMap<String, Vec<String>> = HashMap::new();
        {
            // Of chosen resources, only their repeats (by `entries_duplicates`).
            let repeats = match &chosen {
                Chosen::Types(_) => "e.duplicate_of IS NOT NULL AND ?2 IS NULL",
                Chosen::Resources(_) => {
                    "e.duplicate_of IN (SELECT value FROM json_each(?2)) AND e.duplicate_of IS NOT NULL"
                }
            };
            let mut stmt = conn.prepare(&format!(
                "SELECT e.duplicate_of, r.source_id FROM entries e JOIN resources r ON r.id = e.resource_id
                 WHERE e.person_id = ?1 AND {repeats}"
            ))?;
            let mut rows = stmt.query(rusqlite::params![person_id, chosen_ids])?;
            while let Some(row) = rows.next()? {
                let Some((key, own_source)) = shown_by_row.get(&row.get::<_, i64>(0)?) else {
                    continue;
                };
                let names = also_from
                    .entry(key.clone())
                    .or_insert_with(|| source_names.get(own_source).cloned().into_iter().collect());
                if let Some(name) = source_names.get(&row.get::<_, i64>(1)?)
                    && !names.contains(name)
                {
                    names.push(name.clone());
                }
            }
        }
        // Shared resources sent by this person's sources: those the chosen resources point to, or
        // every one of the shared types.
        if let Chosen::Resources(_) = chosen {
            // Each one looked up by (source, type, id), the resources' unique index; the first
            // stored wins, as below.
            let mut stmt = conn.prepare(
                "SELECT r.id, r.json FROM resources r
                 WHERE r.source_id = ?1 AND r.resource_type = ?2 AND r.fhir_id = ?3
                   AND EXISTS (SELECT 1 FROM entries e WHERE e.resource_id = r.id
                                 AND e.person_id IS NULL AND e.subject IS NULL)",
            )?;
            for (resource_type, id) in pointed_to(&resources, shared_types) {
                if let std::collections::btree_map::Entry::Vacant(slot) = resources
                    .entry(resource_type.clone())
                    .or_default()
                    .entry(id)
                {
                    let mut first: Option<(i64, String)> = None;
                    for source in &person.sources {
                        let found: Option<(i64, String)> = stmt
                            .query_row(
                                rusqlite::params![source.id, resource_type, slot.key()],
                                |r| Ok((r.get(0)?, r.get(1)?)),
                            )
                            .optional()?;
                        if let Some(found) = found
                            && first.as_ref().is_none_or(|f| found.0 < f.0)
                        {
                            first = Some(found);
                        }
                    }
                    if let Some((_, json)) = first {
                        slot.insert(parse(&json)?);
                    }
                }
            }
        } else {
            let sources: Vec<i64> = person.sources.iter().map(|s| s.id).collect();
            let mut stmt = conn.prepare(&format!(
                "SELECT r.resource_type, r.fhir_id, r.json FROM resources r JOIN entries e ON e.resource_id = r.id
                 WHERE e.person_id IS NULL AND e.subject IS NULL
                   AND r.resource_type IN ({}) AND r.source_id IN ({})
                 ORDER BY r.id",
                vec!["?"; shared_types.len().max(1)].join(","),
                vec!["?"; sources.len().max(1)].join(","),
            ))?;
            let params: Vec<rusqlite::types::Value> = shared_types
                .iter()
                .map(|t| rusqlite::types::Value::from((*t).to_owned()))
                .chain(
                    shared_types
                        .is_empty()
                        .then_some(rusqlite::types::Value::Null),
                )
                .chain(
                    sources
                        .iter()
                        .map(|s| rusqlite::types::Value::from(*s))
                        .chain(sources.is_empty().then_some(rusqlite::types::Value::Null)),
                )
                .collect();
            let mut rows = stmt.query(rusqlite::params_from_iter(params))?;
            while let Some(row) = rows.next()? {
                let resource_type: String = row.get(0)?;
                let id: String = row.get(1)?;
                if let std::collections::btree_map::Entry::Vacant(slot) =
                    resources.entry(resource_type).or_default().entry(id)
                {
                    slot.insert(parse(&row.get::<_, String>(2)?)?);
                }
            }
        }
        patients.sort_by(|a, b| b.0.cmp(&a.0));
        let patient = patients
            .into_iter()
            .map(|(_, p)| p)
            .next()
            .ok_or(Error::NoPatient)?;
        let sources = conn
            .prepare(
                "SELECT s.kind, coalesce(c.name, s.name),
                        (SELECT count(*) FROM resources r JOIN entries e ON e.resource_id = r.id
                          WHERE r.source_id = s.id AND e.person_id = ?1),
                        coalesce(c.last_sync_at, s.updated_at)
                 FROM sources s
                 LEFT JOIN connections c ON s.kind = 'portal' AND c.fhir_base = s.name AND c.patient_id = s.patient_id
                 WHERE s.id IN (SELECT source_id FROM person_patients WHERE person_id = ?1)
                 ORDER BY s.kind, s.name",
            )?
            .query_map([person_id], |r| {
                Ok(Source {
                    kind: r.get(0)?,
                    name: r.get(1)?,
                    resources: r.get(2)?,
                    last_updated: r.get(3)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(Record {
            person,
            patient,
            resources,
            displays,
            also_from,
            own,
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

    /// The name of a resource of the record, as every view gives it (`Type/id`).
    pub fn display(&self, key: &str) -> Option<&str> {
        self.displays.get(key).map(String::as_str)
    }

    /// Whether the patient added this (`Type/id`) themselves.
    pub fn is_own(&self, key: &str) -> bool {
        self.own.contains(key)
    }

    /// Every source a fact (`Type/id`) came from, when more than one sent it.
    pub fn sources_of(&self, key: &str) -> &[String] {
        self.also_from.get(key).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The resource a `Type/id` reference points to, when the record holds it.
    pub fn resolve(&self, reference: &Value) -> Option<&Value> {
        let target = crate::fhir::Reference::of(reference);
        self.get(target.resource_type.as_deref()?, target.id.as_deref()?)
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

/// `(type, id)` of every resource of `types` that a reference in `resources` points to.
fn pointed_to(
    resources: &BTreeMap<String, BTreeMap<String, Value>>,
    types: &[&str],
) -> std::collections::BTreeSet<(String, String)> {
    fn walk(
        value: &Value,
        types: &[&str],
        found: &mut std::collections::BTreeSet<(String, String)>,
    ) {
        match value {
            Value::Object(object) => {
                if object.contains_key("reference") {
                    let target = crate::fhir::Reference::of(value);
                    if let (Some(t), Some(id)) = (target.resource_type, target.id)
                        && types.contains(&t.as_str())
                    {
                        found.insert((t, id));
                    }
                }
                object.values().for_each(|v| walk(v, types, found));
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, types, found)),
            _ => {}
        }
    }
    let mut found = std::collections::BTreeSet::new();
    resources
        .values()
        .flat_map(BTreeMap::values)
        .for_each(|r| walk(r, types, &mut found));
    found
}

/// Which of the person's resources a record holds.
enum Chosen<'a> {
    /// Every one of these types.
    Types(&'a [&'a str]),
    /// These rows.
    Resources(&'a [i64]),
}

fn parse(json: &str) -> Result<Value> {
    // Stored resources were checked as JSON objects on the way in.
    serde_json::from_str(json)
        .map_err(|_| Error::Corrupt("a stored resource is not valid JSON".into()))
}
