//! `ownrecord portals refresh`: the vendors' published lists downloaded again, on the patient's
//! request only (never automatically), built into a Brands Bundle exactly as the bundled directory
//! is, checked, and kept beside the vault (`portal-directory.json.gz`; not health data, so not
//! encrypted). A list that cannot be read, or whose vendor's count is more than 20% away from the
//! bundled directory's, refuses the whole refresh with a sentence and changes nothing: a vendor's
//! changed format or a half-served download must not shrink the directory.
//!
//! The lists are read in the shapes the bundled directory is built from (see
//! [`VendorList::file_name`]); a distributor who mirrors them gives their address with `--from`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::Serialize;

use super::Directory;
use super::brands::{self, VendorList};
use crate::error::{Error, Result};
use crate::portal::http;

/// The refreshed directory's file, in the vault folder.
pub const FILE_NAME: &str = "portal-directory.json.gz";
/// How far a vendor's count may move from the bundled one.
pub const TOLERANCE_PERCENT: usize = 20;
/// The most one list may weigh (Epic's Brands bundle, the largest, is about 95 MB).
const MAX_LIST_BYTES: usize = 128 * 1024 * 1024;

impl VendorList {
    /// Where the vendor publishes the list.
    pub fn published_url(self) -> &'static str {
        match self {
            VendorList::Epic => "https://open.epic.com/Endpoints/R4",
            VendorList::OracleList => {
                "https://raw.githubusercontent.com/oracle-samples/ignite-endpoints/main/millennium_patient_r4_endpoints.json"
            }
            VendorList::OracleBundle => {
                "https://raw.githubusercontent.com/oracle-samples/ignite-endpoints/main/oracle_health_fhir_endpoints/millennium_patient_r4_endpoints.json"
            }
            VendorList::Healow => {
                "https://fhir.eclinicalworks.com/ecwopendev/external/practiceList"
            }
            VendorList::Veradigm => "https://open.platform.veradigm.com/fhirendpoints/download/R4",
            VendorList::Athena => {
                "https://fhir.athena.io/athena-fhir-urls/athenanet-fhir-base-urls.csv"
            }
        }
    }
}

/// Where to download the lists from.
#[derive(Debug, Clone)]
pub enum Sources {
    /// Each vendor's own address.
    Published,
    /// A mirror: `<base>/<file name>` for every list.
    Mirror(url::Url),
}

impl Sources {
    fn url_of(&self, list: VendorList) -> Result<url::Url> {
        let text = match self {
            Sources::Published => list.published_url().to_owned(),
            Sources::Mirror(base) => http::join(base, list.file_name()).to_string(),
        };
        http::check_portal_url(&text)
    }
}

/// What a refresh found, per vendor: (bundled, downloaded).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RefreshReport {
    pub vendors: BTreeMap<String, (usize, usize)>,
    pub entries: usize,
    pub path: PathBuf,
}

/// Downloads, builds, checks and stores the directory in `vault_dir`.
pub async fn refresh(vault_dir: &Path, sources: &Sources) -> Result<RefreshReport> {
    let generated = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let client = http::client();
    let mut lists = BTreeMap::new();
    for list in VendorList::ALL {
        let url = sources.url_of(list)?;
        let refused = |why: String| Error::DirectoryList {
            list: list.file_name(),
            why,
        };
        let response = client
            .get(url.clone())
            .send()
            .await
            .map_err(|e| refused(http::describe(&e)))?;
        if !response.status().is_success() {
            return Err(refused(format!("{url} answered {}", response.status())));
        }
        let body = response
            .bytes()
            .await
            .map_err(|e| refused(http::describe(&e)))?;
        if body.len() > MAX_LIST_BYTES {
            return Err(refused("it is far larger than any vendor list".into()));
        }
        lists.insert(list, body.to_vec());
    }
    let extra: serde_json::Value = serde_json::from_str(super::EXTRA)
        .map_err(|e| Error::Internal(format!("the extra directory part: {e}")))?;
    let (bundle, _) = brands::build(&lists, &extra, &generated)?;
    let json = serde_json::to_vec(&bundle).map_err(|e| Error::Internal(e.to_string()))?;
    let fresh = Directory::from_brands_json(&json)
        .ok_or_else(|| Error::Internal("the refreshed directory does not read back".into()))?;
    let vendors = compare(Directory::bundled(), &fresh)?;
    let path = vault_dir.join(FILE_NAME);
    write_atomically(&path, &json)?;
    Ok(RefreshReport {
        vendors,
        entries: fresh.len(),
        path,
    })
}

/// Each vendor's count in `fresh` against `bundled`, refused beyond [`TOLERANCE_PERCENT`].
fn compare(bundled: &Directory, fresh: &Directory) -> Result<BTreeMap<String, (usize, usize)>> {
    let count = |d: &Directory| {
        let mut by_vendor: BTreeMap<String, usize> = BTreeMap::new();
        for e in &d.entries {
            *by_vendor.entry(e.vendor.clone()).or_default() += 1;
        }
        by_vendor
    };
    let (before, after) = (count(bundled), count(fresh));
    let mut report = BTreeMap::new();
    for (vendor, &was) in &before {
        let now = after.get(vendor).copied().unwrap_or(0);
        let allowed = was.saturating_mul(TOLERANCE_PERCENT) / 100;
        if now.abs_diff(was) > allowed {
            return Err(Error::DirectoryRefused {
                vendor: vendor.clone(),
                bundled: was,
                downloaded: now,
            });
        }
        report.insert(vendor.clone(), (was, now));
    }
    Ok(report)
}

fn write_atomically(path: &Path, json: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut file = tempfile::NamedTempFile::new_in(dir).map_err(|e| Error::write(dir, e))?;
    {
        let mut gz = flate2::write::GzEncoder::new(&mut file, flate2::Compression::default());
        gz.write_all(json).map_err(|e| Error::write(path, e))?;
        gz.finish().map_err(|e| Error::write(path, e))?;
    }
    file.as_file()
        .sync_all()
        .map_err(|e| Error::write(path, e))?;
    file.persist(path)
        .map_err(|e| Error::write(path, e.error))?;
    Ok(())
}

impl Directory {
    /// The directory for the vault in `vault_dir`: the refreshed one kept there, else the
    /// bundled one. Read once per process and file version.
    pub fn for_vault(vault_dir: &Path) -> Arc<Directory> {
        type Cache = Mutex<BTreeMap<PathBuf, (std::time::SystemTime, Arc<Directory>)>>;
        static CACHE: std::sync::OnceLock<Cache> = std::sync::OnceLock::new();
        let bundled = || Directory::bundled_shared().clone();
        let path = vault_dir.join(FILE_NAME);
        let Ok(modified) = std::fs::metadata(&path).and_then(|m| m.modified()) else {
            return bundled();
        };
        let cache = CACHE.get_or_init(Default::default);
        let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((at, directory)) = cache.get(&path)
            && *at == modified
        {
            return directory.clone();
        }
        let read = std::fs::read(&path).ok().and_then(|gz| {
            let mut text = Vec::new();
            std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut text)
                .ok()?;
            Directory::from_brands_json(&text)
        });
        match read {
            Some(directory) => {
                let directory = Arc::new(directory);
                cache.insert(path, (modified, directory.clone()));
                directory
            }
            // A damaged file is ignored: the bundled directory is always there.
            None => bundled(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vendor_count_far_from_the_bundled_one_is_refused() {
        let bundled = Directory::bundled();
        assert!(compare(bundled, bundled).is_ok());
        let mut shrunk = bundled.clone();
        let epic = shrunk.entries.iter().filter(|e| e.vendor == "epic").count();
        let mut dropped = 0;
        shrunk.entries.retain(|e| {
            let drop = e.vendor == "epic" && dropped < epic / 2;
            dropped += usize::from(drop);
            !drop
        });
        assert!(matches!(
            compare(bundled, &shrunk),
            Err(Error::DirectoryRefused { vendor, .. }) if vendor == "epic"
        ));
    }
}
