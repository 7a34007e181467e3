//! The vendors' published endpoint lists → one SMART App Launch 2.2 User-access Brands Bundle.
//!
//! Each listed endpoint becomes an Organization brand (name, aliases, city and state where the list
//! has them, an `organization-portal` extension naming its portal and endpoint) and an Endpoint
//! (`hl7-fhir-rest`, the FHIR version, and which vendor runs it). Brands that share an identifier
//! are merged: Oracle Health publishes its tenants twice (a plain list and a FHIR Bundle with
//! addresses), and the two meet in the tenant id. athenahealth lists practices behind one FHIR base:
//! one Endpoint, one brand per practice with the practice id as an identifier.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::{Error, Result};

pub const VENDOR_EXTENSION: &str = "https://ownrecord.org/fhir/StructureDefinition/endpoint-vendor";
pub const FHIR_VERSION_EXTENSION: &str =
    "http://hl7.org/fhir/StructureDefinition/endpoint-fhir-version";
pub const PORTAL_EXTENSION: &str = "http://hl7.org/fhir/StructureDefinition/organization-portal";
/// The identifier system of a brand made from a vendor list entry: `…/<vendor>`, value its id.
pub const LISTED_SYSTEM: &str = "https://ownrecord.org/fhir/directory/";
pub const ATHENA_PRACTICE_SYSTEM: &str = "https://ownrecord.org/fhir/directory/athena-practice";
/// athenahealth's one FHIR R4 base for every practice.
pub const ATHENA_FHIR_BASE: &str = "https://api.platform.athenahealth.com/fhir/r4";

/// A published list, as its vendor publishes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum VendorList {
    /// Epic's R4 endpoint list (JSON array).
    Epic,
    /// Oracle Health's R4 patient endpoints (JSON array).
    OracleList,
    /// Oracle Health's official Bundle of Endpoints and Organizations.
    OracleBundle,
    /// eClinicalWorks' healow practice list (JSON array).
    Healow,
    /// Veradigm's endpoints (JSON array, DSTU2 bases).
    Veradigm,
    /// athenahealth's practices (object: practice id → name).
    Athena,
}

impl VendorList {
    pub const ALL: [VendorList; 6] = [
        VendorList::Epic,
        VendorList::OracleList,
        VendorList::OracleBundle,
        VendorList::Healow,
        VendorList::Veradigm,
        VendorList::Athena,
    ];

    /// The file name of the list in a snapshot folder (`../shared/data/directory`).
    pub fn file_name(self) -> &'static str {
        match self {
            VendorList::Epic => "epic-r4-endpoints.json",
            VendorList::OracleList => "cerner-r4-endpoints.json",
            VendorList::OracleBundle => "oracle-millennium-patient-r4-endpoints.json",
            VendorList::Healow => "healow-r4-endpoints.json",
            VendorList::Veradigm => "veradigm-dstu2-endpoints.json",
            VendorList::Athena => "athena-practices.json",
        }
    }

    /// The vendor code kept on each endpoint.
    pub fn vendor(self) -> &'static str {
        match self {
            VendorList::Epic => "epic",
            VendorList::OracleList | VendorList::OracleBundle => "oracle",
            VendorList::Healow => "healow",
            VendorList::Veradigm => "veradigm",
            VendorList::Athena => "athena",
        }
    }

    fn portal_name(self) -> &'static str {
        match self {
            VendorList::Epic => "MyChart",
            VendorList::OracleList | VendorList::OracleBundle => "Oracle Health patient portal",
            VendorList::Healow => "healow",
            VendorList::Veradigm => "FollowMyHealth",
            VendorList::Athena => "athenaPatient",
        }
    }

    fn fhir_version(self) -> &'static str {
        match self {
            VendorList::Veradigm => "1.0.2",
            _ => "4.0.1",
        }
    }
}

/// One entry of the array-shaped lists (Epic, Oracle, healow, Veradigm).
#[derive(Debug, Deserialize)]
struct Listed {
    id: String,
    name: String,
    url: String,
    #[serde(default, rename = "managingOrganization")]
    managing_organization: Option<String>,
}

/// A brand being built.
#[derive(Debug, Default)]
struct Brand {
    name: String,
    aliases: Vec<String>,
    city: Option<String>,
    state: Option<String>,
    identifiers: Vec<(String, String)>,
    /// Endpoint keys (vendor + address).
    endpoints: Vec<String>,
    portal: &'static str,
}

#[derive(Debug)]
struct EndpointOut {
    address: String,
    vendor: &'static str,
    version: &'static str,
}

#[derive(Default)]
struct Builder {
    brands: Vec<Brand>,
    by_identifier: HashMap<(String, String), usize>,
    endpoints: BTreeMap<String, EndpointOut>,
}

impl Builder {
    fn endpoint(&mut self, list: VendorList, address: &str) -> String {
        let key = format!("{}|{address}", list.vendor());
        self.endpoints.entry(key.clone()).or_insert(EndpointOut {
            address: address.to_owned(),
            vendor: list.vendor(),
            version: list.fhir_version(),
        });
        key
    }

    /// Adds a brand, merged into an existing one that shares an identifier.
    fn add(&mut self, brand: Brand) {
        let existing = brand
            .identifiers
            .iter()
            .find_map(|id| self.by_identifier.get(id).copied());
        let index = match existing {
            Some(i) => {
                let Some(into) = self.brands.get_mut(i) else {
                    return;
                };
                if into.name.is_empty() {
                    into.name = brand.name.clone();
                } else if !brand.name.is_empty()
                    && !brand.name.eq_ignore_ascii_case(&into.name)
                    && !into.aliases.contains(&brand.name)
                {
                    into.aliases.push(brand.name.clone());
                }
                for alias in &brand.aliases {
                    if !into.aliases.contains(alias) && *alias != into.name {
                        into.aliases.push(alias.clone());
                    }
                }
                into.city = into.city.take().or(brand.city.clone());
                into.state = into.state.take().or(brand.state.clone());
                for e in &brand.endpoints {
                    if !into.endpoints.contains(e) {
                        into.endpoints.push(e.clone());
                    }
                }
                for id in &brand.identifiers {
                    if !into.identifiers.contains(id) {
                        into.identifiers.push(id.clone());
                    }
                }
                i
            }
            None => {
                self.brands.push(brand);
                self.brands.len() - 1
            }
        };
        if let Some(brand) = self.brands.get(index) {
            for id in brand.identifiers.clone() {
                self.by_identifier.insert(id, index);
            }
        }
    }

    fn listed(&mut self, list: VendorList, text: &[u8]) -> Result<usize> {
        let entries: Vec<Listed> = serde_json::from_slice(text)
            .map_err(|_| bad_list(list, "it is not the expected JSON array"))?;
        let count = entries.len();
        for entry in entries {
            let endpoint = self.endpoint(list, &entry.url);
            // Epic names the health system that runs the endpoint: a useful alias. (Oracle's and
            // healow's field holds an id instead.)
            let aliases = entry
                .managing_organization
                .filter(|m| list == VendorList::Epic && *m != entry.name)
                .into_iter()
                .collect();
            self.add(Brand {
                name: entry.name.trim().to_owned(),
                aliases,
                identifiers: vec![(format!("{LISTED_SYSTEM}{}", list.vendor()), entry.id)],
                endpoints: vec![endpoint],
                portal: list.portal_name(),
                ..Default::default()
            });
        }
        Ok(count)
    }

    fn oracle_bundle(&mut self, text: &[u8]) -> Result<usize> {
        let list = VendorList::OracleBundle;
        let bundle: Value =
            serde_json::from_slice(text).map_err(|_| bad_list(list, "it is not a FHIR Bundle"))?;
        let resources: Vec<&Value> = bundle
            .get("entry")
            .and_then(Value::as_array)
            .ok_or_else(|| bad_list(list, "it has no entries"))?
            .iter()
            .map(|e| &e["resource"])
            .collect();
        let addresses: HashMap<&str, &str> = resources
            .iter()
            .filter(|r| r["resourceType"] == "Endpoint" && r["status"] == "active")
            .filter_map(|r| Some((r["id"].as_str()?, r["address"].as_str()?)))
            .collect();
        let mut count = 0;
        for org in resources
            .iter()
            .filter(|r| r["resourceType"] == "Organization")
        {
            let Some(name) = org["name"].as_str() else {
                continue;
            };
            let mut brand = Brand {
                name: name.trim().to_owned(),
                city: org
                    .pointer("/address/0/city")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                state: org
                    .pointer("/address/0/state")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                portal: list.portal_name(),
                ..Default::default()
            };
            for id in org["identifier"].as_array().into_iter().flatten() {
                if let (Some(system), Some(value)) = (id["system"].as_str(), id["value"].as_str()) {
                    brand
                        .identifiers
                        .push((system.to_owned(), value.to_owned()));
                }
            }
            for reference in org["endpoint"].as_array().into_iter().flatten() {
                let Some(id) = reference["reference"]
                    .as_str()
                    .and_then(|r| r.strip_prefix("Endpoint/"))
                else {
                    continue;
                };
                if let Some(address) = addresses.get(id) {
                    // The tenant id is the Endpoint's id, as in the plain list.
                    brand
                        .identifiers
                        .push((format!("{LISTED_SYSTEM}oracle"), id.to_owned()));
                    let key = self.endpoint(list, address);
                    brand.endpoints.push(key);
                    count += 1;
                }
            }
            if !brand.endpoints.is_empty() {
                self.add(brand);
            }
        }
        Ok(count)
    }

    fn athena(&mut self, text: &[u8]) -> Result<usize> {
        let list = VendorList::Athena;
        let practices: BTreeMap<String, String> = serde_json::from_slice(text)
            .map_err(|_| bad_list(list, "it is not the expected practice list"))?;
        let endpoint = self.endpoint(list, ATHENA_FHIR_BASE);
        for (id, name) in &practices {
            self.add(Brand {
                name: name.trim().to_owned(),
                identifiers: vec![(ATHENA_PRACTICE_SYSTEM.to_owned(), id.clone())],
                endpoints: vec![endpoint.clone()],
                portal: list.portal_name(),
                ..Default::default()
            });
        }
        Ok(practices.len())
    }

    fn bundle(self, extra: &Value, generated: &str) -> Value {
        let mut entry: Vec<Value> = extra["entry"].as_array().cloned().unwrap_or_default();
        let ids: HashMap<&String, String> = self
            .endpoints
            .keys()
            .enumerate()
            .map(|(i, k)| (k, format!("e{i}")))
            .collect();
        for (i, brand) in self.brands.iter().enumerate() {
            let references: Vec<Value> = brand
                .endpoints
                .iter()
                .filter_map(|k| ids.get(k))
                .map(|id| json!({ "reference": format!("Endpoint/{id}") }))
                .collect();
            let mut portal = vec![json!({"url": "portalName", "valueString": brand.portal})];
            portal.extend(
                references
                    .iter()
                    .map(|r| json!({"url": "portalEndpoint", "valueReference": r})),
            );
            let identifiers: Vec<Value> = brand
                .identifiers
                .iter()
                .map(|(s, v)| json!({"system": s, "value": v}))
                .collect();
            let mut org = json!({
                "resourceType": "Organization",
                "id": format!("b{i}"),
                "identifier": identifiers,
                "name": brand.name,
                "endpoint": references,
                "extension": [{ "url": PORTAL_EXTENSION, "extension": portal }],
            });
            if let Some(fields) = org.as_object_mut() {
                if !brand.aliases.is_empty() {
                    fields.insert("alias".into(), json!(brand.aliases));
                }
                if brand.city.is_some() || brand.state.is_some() {
                    let mut address = serde_json::Map::new();
                    if let Some(city) = &brand.city {
                        address.insert("city".into(), city.as_str().into());
                    }
                    if let Some(state) = &brand.state {
                        address.insert("state".into(), state.as_str().into());
                    }
                    fields.insert("address".into(), json!([address]));
                }
            }
            entry.push(json!({ "resource": org }));
        }
        for (key, endpoint) in &self.endpoints {
            let Some(id) = ids.get(key) else { continue };
            entry.push(json!({ "resource": {
                "resourceType": "Endpoint",
                "id": id,
                "status": "active",
                "connectionType": {"system": "http://terminology.hl7.org/CodeSystem/endpoint-connection-type", "code": "hl7-fhir-rest"},
                "payloadType": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/endpoint-payload-type", "code": "none"}]}],
                "address": endpoint.address,
                "extension": [
                    {"url": FHIR_VERSION_EXTENSION, "valueCode": endpoint.version},
                    {"url": VENDOR_EXTENSION, "valueCode": endpoint.vendor},
                ],
            }}));
        }
        json!({
            "resourceType": "Bundle",
            "id": "ownrecord-portal-directory",
            "type": "collection",
            "meta": { "lastUpdated": generated },
            "entry": entry,
        })
    }
}

/// How many entries each list held, as read.
pub type ListCounts = BTreeMap<VendorList, usize>;

/// Builds the Brands Bundle from the lists (and the hand-kept `extra` Bundle: the demo portal, VA,
/// Medicare). `generated` goes in `meta.lastUpdated`.
pub fn build(
    lists: &BTreeMap<VendorList, Vec<u8>>,
    extra: &Value,
    generated: &str,
) -> Result<(Value, ListCounts)> {
    let mut builder = Builder::default();
    let mut counts = ListCounts::new();
    for (list, text) in lists {
        let count = match list {
            VendorList::OracleBundle => builder.oracle_bundle(text)?,
            VendorList::Athena => builder.athena(text)?,
            _ => builder.listed(*list, text)?,
        };
        counts.insert(*list, count);
    }
    Ok((builder.bundle(extra, generated), counts))
}

fn bad_list(list: VendorList, why: &str) -> Error {
    Error::DirectoryList {
        list: list.file_name(),
        why: why.to_owned(),
    }
}
