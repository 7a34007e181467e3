//! Which OAuth client id OwnRecord signs in with at a portal: the patient's own for its vendor (set
//! with `ownrecord portals client VENDOR ID`, kept in the vault), else the one shipped in
//! `assets/client-ids.json` for that vendor. A portal not in the directory uses OwnRecord's default
//! id. A vendor with neither is one sentence, before anything is sent anywhere.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

use crate::audit::AuditKind;
use crate::error::{Error, Result};
use crate::portal::directory::Directory;
use crate::vault::{Vault, preferences};

const TABLE: &str = include_str!("../../../../assets/client-ids.json");
/// The id used at portals the directory does not list (e.g. a practice's own test server).
pub const DEFAULT_CLIENT_ID: &str = "ownrecord";

#[derive(Debug, Deserialize)]
struct Table {
    vendors: BTreeMap<String, VendorIds>,
}

#[derive(Debug, Deserialize)]
struct VendorIds {
    name: String,
    production: String,
}

// Cannot panic: a bundled asset, read by the unit tests.
#[allow(clippy::expect_used)]
fn table() -> &'static Table {
    static PARSED: OnceLock<Table> = OnceLock::new();
    PARSED.get_or_init(|| serde_json::from_str(TABLE).expect("assets/client-ids.json is valid"))
}

/// The vendors the table knows, as (code, name).
pub fn vendors() -> Vec<(&'static str, &'static str)> {
    table()
        .vendors
        .iter()
        .map(|(code, v)| (code.as_str(), v.name.as_str()))
        .collect()
}

fn preference(vendor: &str) -> String {
    format!("client_id:{vendor}")
}

impl Vault {
    /// The client id for signing in at `fhir_base` (see the module doc).
    pub fn client_id_for(&self, fhir_base: &str) -> Result<String> {
        let vendor = Directory::for_vault(self.dir()).vendor_of(fhir_base);
        self.client_id_of_vendor(vendor.as_deref())
    }

    /// The client id for a portal of `vendor` (the patient's own, else the shipped one); the
    /// default id for a portal of no known vendor.
    pub fn client_id_of_vendor(&self, vendor: Option<&str>) -> Result<String> {
        let Some(vendor) = vendor else {
            return Ok(DEFAULT_CLIENT_ID.to_owned());
        };
        if let Some(id) = self.vendor_client_id(vendor)? {
            return Ok(id);
        }
        match table().vendors.get(vendor) {
            Some(ids) => Err(Error::NoClientId {
                vendor: vendor.to_owned(),
                name: ids.name.clone(),
            }),
            None => Ok(DEFAULT_CLIENT_ID.to_owned()),
        }
    }

    /// The client id in use for a vendor (the patient's own, else the shipped one), if any.
    pub fn vendor_client_id(&self, vendor: &str) -> Result<Option<String>> {
        let own = preferences::get(self.db(), &preference(vendor))?;
        Ok(own.or_else(|| {
            table()
                .vendors
                .get(vendor)
                .map(|v| v.production.clone())
                .filter(|id| !id.is_empty())
        }))
    }

    /// Sets (or, with `None`, forgets) the patient's own client id for a vendor.
    pub fn set_client_id(&mut self, vendor: &str, client_id: Option<&str>) -> Result<()> {
        if !table().vendors.contains_key(vendor) {
            return Err(Error::UnknownVendor(vendor.to_owned()));
        }
        let name = preference(vendor);
        let details = serde_json::json!({ "vendor": vendor, "set": client_id.is_some() });
        self.write(AuditKind::ClientId, |tx| {
            preferences::set(tx, &name, client_id.map(str::trim))?;
            Ok(((), details))
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_table_names_every_vendor_the_directory_has() {
        let codes: Vec<&str> = super::vendors().into_iter().map(|(c, _)| c).collect();
        for vendor in [
            "epic",
            "oracle",
            "athena",
            "healow",
            "veradigm",
            "va",
            "bluebutton",
            "ownrecord",
            "smart",
        ] {
            assert!(codes.contains(&vendor), "{vendor}");
        }
    }
}
