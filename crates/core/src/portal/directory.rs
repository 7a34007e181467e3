//! The portal directory: a list of patient portals in the SMART User-access Brands format (a FHIR
//! Bundle of Organization brands pointing at Endpoint resources), searchable by name. A portal not
//! listed can always be added by its URL.

use serde::Serialize;
use serde_json::Value;

/// The directory shipped with OwnRecord (`assets/portal-directory.json`).
const BUNDLED: &str = include_str!("../../../../assets/portal-directory.json");

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DirectoryEntry {
    pub name: String,
    pub city: Option<String>,
    pub fhir_base: String,
}

#[derive(Debug, Clone)]
pub struct Directory {
    entries: Vec<DirectoryEntry>,
}

impl Directory {
    pub fn bundled() -> Directory {
        Directory::from_brands(
            &serde_json::from_str(BUNDLED).expect("the bundled directory is valid JSON"),
        )
    }

    /// Reads a User-access Brands Bundle: each Organization with its active FHIR REST endpoints.
    pub fn from_brands(bundle: &Value) -> Directory {
        let resources: Vec<&Value> = bundle["entry"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| &e["resource"])
            .collect();
        let endpoint = |reference: &str| {
            let id = reference.strip_prefix("Endpoint/")?;
            resources
                .iter()
                .find(|r| r["resourceType"] == "Endpoint" && r["id"] == id)
                .filter(|e| {
                    e["status"] == "active" && e["connectionType"]["code"] == "hl7-fhir-rest"
                })
                .and_then(|e| e["address"].as_str())
                .map(str::to_owned)
        };
        let mut entries = Vec::new();
        for org in resources
            .iter()
            .filter(|r| r["resourceType"] == "Organization")
        {
            let Some(name) = org["name"].as_str() else {
                continue;
            };
            for reference in org["endpoint"].as_array().into_iter().flatten() {
                if let Some(fhir_base) = reference["reference"].as_str().and_then(endpoint) {
                    entries.push(DirectoryEntry {
                        name: name.to_owned(),
                        city: org["address"][0]["city"].as_str().map(str::to_owned),
                        fhir_base,
                    });
                }
            }
        }
        Directory { entries }
    }

    /// Entries whose name, alias or city contains every word of `text` (any case); all for "".
    pub fn search(&self, text: &str) -> Vec<DirectoryEntry> {
        let words: Vec<String> = text.split_whitespace().map(str::to_lowercase).collect();
        self.entries
            .iter()
            .filter(|e| {
                let haystack =
                    format!("{} {}", e.name, e.city.as_deref().unwrap_or("")).to_lowercase();
                words.iter().all(|w| haystack.contains(w))
            })
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_directory_lists_the_demo_portal() {
        let directory = Directory::bundled();
        let demo = directory.search("demo");
        assert_eq!(demo.len(), 1);
        assert_eq!(demo[0].fhir_base, "http://127.0.0.1:8765/fhir");
        assert_eq!(directory.search("").len(), 2);
        assert!(
            directory
                .search("boston SMART")
                .iter()
                .all(|e| e.name.contains("SMART"))
        );
        assert!(directory.search("no such clinic").is_empty());
    }

    #[test]
    fn inactive_and_non_fhir_endpoints_are_left_out() {
        let bundle = serde_json::json!({"resourceType": "Bundle", "entry": [
            {"resource": {"resourceType": "Organization", "name": "A", "endpoint": [{"reference": "Endpoint/1"}, {"reference": "Endpoint/2"}]}},
            {"resource": {"resourceType": "Endpoint", "id": "1", "status": "off", "connectionType": {"code": "hl7-fhir-rest"}, "address": "https://a/1"}},
            {"resource": {"resourceType": "Endpoint", "id": "2", "status": "active", "connectionType": {"code": "direct-project"}, "address": "https://a/2"}}
        ]});
        assert!(Directory::from_brands(&bundle).search("").is_empty());
    }
}
