//! The demo patients, loaded from Synthea transaction bundles into memory.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use serde_json::Value;

/// When the demo data was last updated, for `meta.lastUpdated` and `_lastUpdated` searches.
pub const LAST_UPDATED: &str = "2024-06-01T12:00:00Z";

#[derive(Debug, Clone)]
pub struct DemoPatient {
    pub id: String,
    pub name: String,
}

/// All resources by (type, id), and which patient each belongs to.
#[derive(Debug, Default)]
pub struct DemoData {
    pub patients: Vec<DemoPatient>,
    resources: BTreeMap<(String, String), Value>,
    /// patient id → (type, id) of the resources in their compartment (the Patient included).
    compartments: HashMap<String, BTreeSet<(String, String)>>,
}

impl DemoData {
    /// Loads every `*.json` Bundle in `dir`.
    pub fn load_dir(dir: &Path) -> std::io::Result<DemoData> {
        let mut files: Vec<_> = std::fs::read_dir(dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        let mut bundles = Vec::new();
        for file in files {
            let bundle: Value = serde_json::from_slice(&std::fs::read(&file)?).map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{}: {e}", file.display()),
                )
            })?;
            bundles.push(bundle);
        }
        Ok(DemoData::from_bundles(bundles))
    }

    /// Takes transaction bundles whose entries carry ids and refer to each other by `urn:uuid:`.
    pub fn from_bundles(bundles: Vec<Value>) -> DemoData {
        let mut data = DemoData::default();
        for bundle in bundles {
            let entries = bundle
                .get("entry")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let full_urls: HashMap<String, String> = entries
                .iter()
                .filter_map(|e| {
                    let r = &e["resource"];
                    Some((
                        e["fullUrl"].as_str()?.to_owned(),
                        format!("{}/{}", r["resourceType"].as_str()?, r["id"].as_str()?),
                    ))
                })
                .collect();
            for entry in entries {
                let Some(mut resource) = entry.get("resource").cloned() else {
                    continue;
                };
                let text = |key: &str| resource.get(key).and_then(Value::as_str).map(str::to_owned);
                let (Some(t), Some(id)) = (text("resourceType"), text("id")) else {
                    continue;
                };
                resolve_references(&mut resource, &full_urls);
                // A `meta` that is not an object (a hand-made file) is replaced, never indexed into.
                let Some(object) = resource.as_object_mut() else {
                    continue;
                };
                let meta = object
                    .entry("meta")
                    .or_insert_with(|| Value::Object(Default::default()));
                if !meta.is_object() {
                    *meta = Value::Object(Default::default());
                }
                if let Some(meta) = meta.as_object_mut() {
                    meta.insert("versionId".into(), "1".into());
                    meta.insert("lastUpdated".into(), LAST_UPDATED.into());
                }
                if t == "Patient" {
                    data.patients.push(DemoPatient {
                        id: id.clone(),
                        name: patient_name(&resource),
                    });
                }
                data.resources.insert((t, id), resource);
            }
        }
        data.add_visit_notes();
        data.build_compartments();
        data
    }

    /// A short synthetic visit note per patient, as a DocumentReference whose attachment is a Binary
    /// fetched by URL (Synthea's bundles have none), so apps can test attachment downloads.
    fn add_visit_notes(&mut self) {
        use base64::Engine;
        for patient in self.patients.clone() {
            let id = format!("note-{}", patient.id.chars().take(50).collect::<String>());
            let text = format!(
                "Visit note for {}.\nSynthetic demo document: no real person.\n",
                patient.name
            );
            let binary = serde_json::json!({
                "resourceType": "Binary", "id": id, "contentType": "text/plain",
                "data": base64::engine::general_purpose::STANDARD.encode(text.as_bytes()),
                "meta": {"versionId": "1", "lastUpdated": LAST_UPDATED}
            });
            let document = serde_json::json!({
                "resourceType": "DocumentReference", "id": id, "status": "current",
                "type": {"text": "Visit note"}, "subject": {"reference": format!("Patient/{}", patient.id)},
                "date": LAST_UPDATED,
                "content": [{"attachment": {"contentType": "text/plain", "url": format!("Binary/{id}"), "title": "Visit note"}}],
                "meta": {"versionId": "1", "lastUpdated": LAST_UPDATED}
            });
            self.resources.insert(("Binary".into(), id.clone()), binary);
            self.resources
                .insert(("DocumentReference".into(), id), document);
        }
    }

    fn build_compartments(&mut self) {
        for ((t, id), resource) in &self.resources {
            let owner = if t == "Patient" {
                Some(id.clone())
            } else {
                ["subject", "patient", "beneficiary"]
                    .iter()
                    .find_map(|k| resource.get(*k)?.get("reference")?.as_str())
                    .and_then(|r| r.strip_prefix("Patient/"))
                    .map(str::to_owned)
            };
            if let Some(owner) = owner {
                self.compartments
                    .entry(owner)
                    .or_default()
                    .insert((t.clone(), id.clone()));
            }
        }
    }

    pub fn get(&self, resource_type: &str, id: &str) -> Option<&Value> {
        self.resources
            .get(&(resource_type.to_owned(), id.to_owned()))
    }

    /// Resources of `resource_type` in the patient's compartment, in id order.
    pub fn search(&self, resource_type: &str, patient: &str) -> Vec<&Value> {
        self.compartments
            .get(patient)
            .into_iter()
            .flatten()
            .filter(|(t, _)| t == resource_type)
            .filter_map(|key| self.resources.get(key))
            .collect()
    }

    pub fn patient_resources(&self, patient: &str) -> Vec<(String, String)> {
        self.compartments
            .get(patient)
            .map(|c| c.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Resource types present in any compartment (what the CapabilityStatement lists).
    pub fn resource_types(&self) -> BTreeSet<String> {
        self.resources.keys().map(|(t, _)| t.clone()).collect()
    }
}

fn resolve_references(value: &mut Value, full_urls: &HashMap<String, String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if key == "reference" {
                    if let Some(target) = v.as_str().and_then(|r| full_urls.get(r)) {
                        *v = Value::String(target.clone());
                    }
                } else {
                    resolve_references(v, full_urls);
                }
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|v| resolve_references(v, full_urls)),
        _ => {}
    }
}

fn patient_name(patient: &Value) -> String {
    let name = patient.pointer("/name/0").unwrap_or(&Value::Null);
    let given: Vec<&str> = name["given"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let family = name["family"].as_str().unwrap_or("");
    format!("{} {family}", given.join(" ")).trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hand-made bundle (`demo-portal --patients DIR`) whose `meta` is not an object, or whose
    /// entries are odd, is read without a panic.
    #[test]
    fn odd_bundles_are_read_without_a_panic() {
        let data = DemoData::from_bundles(vec![
            serde_json::json!({"entry": [
                {"resource": {"resourceType": "Patient", "id": "p1", "meta": "not an object", "name": "x"}},
                {"resource": {"resourceType": "Condition", "id": "c1", "subject": {"reference": 7}}},
                {"resource": "a string"},
                {"fullUrl": 3},
                "not an entry"
            ]}),
            serde_json::json!({"entry": "not a list"}),
            serde_json::json!([1, 2]),
        ]);
        assert_eq!(data.patients.len(), 1);
        assert_eq!(data.patients[0].name, "");
        let patient = &data.resources[&("Patient".to_owned(), "p1".to_owned())];
        assert_eq!(patient["meta"]["versionId"], "1");
    }
}
