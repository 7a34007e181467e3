//! The portal directory: every patient-access endpoint the vendors publish (Epic, Oracle Health,
//! eClinicalWorks/healow, athenahealth, Veradigm) plus the VA, Medicare and the demo portal, in
//! the SMART App Launch 2.2 User-access Brands format (a FHIR Bundle of Organization brands
//! pointing at Endpoints), searchable by name, alias, city and state. Built from the vendors'
//! lists by [`brands::build`] (`cargo xtask directory`), shipped gzip-compressed in
//! `assets/portal-directory.json.gz`. A portal not listed can always be added by its URL.

pub mod brands;
pub mod refresh;
mod search;

use std::collections::HashMap;
use std::io::Read;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use brands::{ATHENA_PRACTICE_SYSTEM, FHIR_VERSION_EXTENSION, VENDOR_EXTENSION};
use search::{Field, Index};

/// The directory shipped with OwnRecord.
const BUNDLED: &[u8] = include_bytes!("../../../../../assets/portal-directory.json.gz");
/// The hand-kept part of it (the demo portal, VA, Medicare), merged in by the generator.
pub const EXTRA: &str = include_str!("../../../../../assets/portal-directory-extra.json");
/// Results a search returns unless told otherwise.
pub const DEFAULT_LIMIT: usize = 50;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DirectoryEntry {
    pub name: String,
    /// Who runs the portal: epic, oracle, athena, healow, veradigm, va, bluebutton, ownrecord, smart.
    pub vendor: String,
    pub fhir_base: String,
    pub city: Option<String>,
    pub state: Option<String>,
    /// The FHIR version the endpoint serves (OwnRecord connects to R4, 4.0.1).
    pub fhir_version: String,
    /// The practice behind a shared base (athenahealth's practice id).
    pub practice: Option<String>,
    pub aliases: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Directory {
    entries: Vec<DirectoryEntry>,
    index: Index,
}

impl Directory {
    /// The bundled directory, read once per process.
    pub fn bundled() -> &'static Directory {
        Directory::bundled_shared()
    }

    // Cannot panic: a bundled asset, read by the unit tests.
    #[allow(clippy::expect_used)]
    pub(crate) fn bundled_shared() -> &'static std::sync::Arc<Directory> {
        static BUNDLED_DIRECTORY: OnceLock<std::sync::Arc<Directory>> = OnceLock::new();
        BUNDLED_DIRECTORY.get_or_init(|| {
            let mut text = Vec::new();
            flate2::read::GzDecoder::new(BUNDLED)
                .read_to_end(&mut text)
                .expect("the bundled directory is gzip");
            std::sync::Arc::new(
                Directory::from_brands_json(&text)
                    .expect("the bundled directory is a Brands Bundle"),
            )
        })
    }

    /// Reads a User-access Brands Bundle: each Organization with its active FHIR REST endpoints.
    pub fn from_brands_json(text: &[u8]) -> Option<Directory> {
        let bundle: Bundle = serde_json::from_slice(text).ok()?;
        Some(Directory::from_bundle(bundle))
    }

    pub fn from_brands(bundle: &serde_json::Value) -> Directory {
        serde_json::from_value::<Bundle>(bundle.clone())
            .map(Directory::from_bundle)
            .unwrap_or_else(|_| Directory::from_bundle(Bundle::default()))
    }

    fn from_bundle(bundle: Bundle) -> Directory {
        let mut endpoints: HashMap<String, Endpoint> = HashMap::new();
        let mut organizations = Vec::new();
        for entry in bundle.entry {
            match entry.resource {
                Resource::Endpoint(e) => {
                    endpoints.insert(e.id.clone(), e);
                }
                Resource::Organization(o) => organizations.push(o),
                Resource::Other => {}
            }
        }
        let mut entries = Vec::new();
        for org in organizations {
            let Some(name) = org.name.clone() else {
                continue;
            };
            let practice = org
                .identifier
                .iter()
                .find(|i| i.system.as_deref() == Some(ATHENA_PRACTICE_SYSTEM))
                .and_then(|i| i.value.clone());
            let address = org.address.first();
            for reference in &org.endpoint {
                let Some(endpoint) = reference
                    .reference
                    .as_deref()
                    .and_then(|r| r.strip_prefix("Endpoint/"))
                    .and_then(|id| endpoints.get(id))
                else {
                    continue;
                };
                if endpoint.status != "active" || endpoint.connection_type.code != "hl7-fhir-rest" {
                    continue;
                }
                let extension = |url: &str| {
                    endpoint
                        .extension
                        .iter()
                        .find(|e| e.url == url)
                        .and_then(|e| e.value_code.clone())
                };
                entries.push(DirectoryEntry {
                    name: name.clone(),
                    vendor: extension(VENDOR_EXTENSION).unwrap_or_default(),
                    fhir_base: endpoint.address.clone(),
                    city: address.and_then(|a| a.city.clone()),
                    state: address.and_then(|a| a.state.clone()),
                    fhir_version: extension(FHIR_VERSION_EXTENSION)
                        .unwrap_or_else(|| "4.0.1".to_owned()),
                    practice: practice.clone(),
                    aliases: org.alias.clone(),
                });
            }
        }
        let index = Index::build(entries.iter().map(|e| {
            let mut texts = vec![(e.name.as_str(), Field::Name)];
            texts.extend(e.aliases.iter().map(|a| (a.as_str(), Field::Alias)));
            texts.extend(e.city.as_deref().map(|c| (c, Field::Place)));
            texts.extend(e.state.as_deref().map(|s| (s, Field::Place)));
            texts
        }));
        Directory { entries, index }
    }

    /// The vendor running the endpoint at `fhir_base`, if the directory lists it (a trailing
    /// slash and the case of the host do not matter).
    pub fn vendor_of(&self, fhir_base: &str) -> Option<String> {
        let wanted = normalized_base(fhir_base);
        self.entries
            .iter()
            .find(|e| normalized_base(&e.fhir_base) == wanted)
            .map(|e| e.vendor.clone())
    }

    /// The name of the one brand at `fhir_base`; `None` when none, or several share the base
    /// (athenahealth's practices: the practice is not known from the base alone).
    pub fn name_of(&self, fhir_base: &str) -> Option<String> {
        let wanted = normalized_base(fhir_base);
        let mut names = self
            .entries
            .iter()
            .filter(|e| normalized_base(&e.fhir_base) == wanted)
            .map(|e| e.name.as_str());
        let first = names.next()?;
        names.all(|n| n == first).then(|| first.to_owned())
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The best [`DEFAULT_LIMIT`] matches of `text` (see [`Directory::search_limit`]).
    pub fn search(&self, text: &str) -> Vec<DirectoryEntry> {
        self.search_limit(text, DEFAULT_LIMIT)
    }

    /// Entries whose name, aliases, city or state match every word of `text`, typos forgiven,
    /// best first, at most `limit`; for an empty `text`, the first `limit` entries.
    pub fn search_limit(&self, text: &str, limit: usize) -> Vec<DirectoryEntry> {
        if search::fold(text).is_empty() {
            return self.entries.iter().take(limit).cloned().collect();
        }
        self.index
            .search(text, limit)
            .into_iter()
            .filter_map(|i| self.entries.get(i).cloned())
            .collect()
    }
}

fn normalized_base(base: &str) -> String {
    url::Url::parse(base.trim())
        .map(|u| u.as_str().trim_end_matches('/').to_owned())
        .unwrap_or_else(|_| base.trim().trim_end_matches('/').to_owned())
}

#[derive(Debug, Default, Deserialize)]
struct Bundle {
    #[serde(default)]
    entry: Vec<BundleEntry>,
}

#[derive(Debug, Deserialize)]
struct BundleEntry {
    resource: Resource,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "resourceType")]
enum Resource {
    Organization(Organization),
    Endpoint(Endpoint),
    #[serde(other)]
    Other,
}

#[derive(Debug, Deserialize)]
struct Organization {
    name: Option<String>,
    #[serde(default)]
    alias: Vec<String>,
    #[serde(default)]
    address: Vec<Address>,
    #[serde(default)]
    identifier: Vec<Identifier>,
    #[serde(default)]
    endpoint: Vec<Reference>,
}

#[derive(Debug, Deserialize)]
struct Address {
    city: Option<String>,
    state: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Identifier {
    system: Option<String>,
    value: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Reference {
    reference: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Endpoint {
    id: String,
    #[serde(default)]
    status: String,
    #[serde(rename = "connectionType")]
    connection_type: Coding,
    #[serde(default)]
    address: String,
    #[serde(default)]
    extension: Vec<Extension>,
}

#[derive(Debug, Deserialize)]
struct Coding {
    #[serde(default)]
    code: String,
}

#[derive(Debug, Deserialize)]
struct Extension {
    url: String,
    #[serde(rename = "valueCode")]
    value_code: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_directory_lists_the_demo_portal_and_the_vendors() {
        let directory = Directory::bundled();
        let demo = directory.search("ownrecord demo");
        assert_eq!(demo[0].fhir_base, "http://127.0.0.1:8765/fhir");
        assert_eq!(demo[0].vendor, "ownrecord");
        assert!(directory.len() > 30_000, "{}", directory.len());
        for vendor in [
            "epic",
            "oracle",
            "healow",
            "athena",
            "veradigm",
            "va",
            "bluebutton",
        ] {
            assert!(
                directory.entries.iter().any(|e| e.vendor == vendor),
                "{vendor}"
            );
        }
        assert!(directory.search("no such clinic anywhere").is_empty());
    }

    #[test]
    fn inactive_and_non_fhir_endpoints_are_left_out() {
        let bundle = serde_json::json!({"resourceType": "Bundle", "entry": [
            {"resource": {"resourceType": "Organization", "name": "A", "endpoint": [{"reference": "Endpoint/1"}, {"reference": "Endpoint/2"}]}},
            {"resource": {"resourceType": "Endpoint", "id": "1", "status": "off", "connectionType": {"code": "hl7-fhir-rest"}, "address": "https://a/1"}},
            {"resource": {"resourceType": "Endpoint", "id": "2", "status": "active", "connectionType": {"code": "direct-project"}, "address": "https://a/2"}}
        ]});
        assert!(Directory::from_brands(&bundle).is_empty());
    }
}
