//! The bundled portal directory against the vendors' published lists in `../shared`.

use std::collections::BTreeMap;

use ownrecord_core::portal::directory::brands::{ATHENA_FHIR_BASE, VendorList, build};
use ownrecord_core::portal::directory::{Directory, EXTRA};
use serde_json::Value;

fn lists() -> BTreeMap<VendorList, Vec<u8>> {
    let dir = ownrecord_testkit::directory_lists_dir();
    VendorList::ALL
        .into_iter()
        .map(|l| (l, std::fs::read(dir.join(l.file_name())).unwrap()))
        .collect()
}

/// 50 entries of each list, spread over it: (name, FHIR base, athena practice).
fn sample(list: VendorList, text: &[u8]) -> Vec<(String, String, Option<String>)> {
    let all: Vec<(String, String, Option<String>)> = match list {
        VendorList::Athena => {
            let practices: BTreeMap<String, String> = serde_json::from_slice(text).unwrap();
            practices
                .into_iter()
                .map(|(id, name)| (name, ATHENA_FHIR_BASE.to_owned(), Some(id)))
                .collect()
        }
        VendorList::OracleBundle => {
            let bundle: Value = serde_json::from_slice(text).unwrap();
            let resources: Vec<&Value> = bundle["entry"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| &e["resource"])
                .collect();
            resources
                .iter()
                .filter(|r| r["resourceType"] == "Organization")
                .map(|org| {
                    let id = org["endpoint"][0]["reference"].as_str().unwrap();
                    let id = id.strip_prefix("Endpoint/").unwrap();
                    let endpoint = resources
                        .iter()
                        .find(|r| r["resourceType"] == "Endpoint" && r["id"] == id)
                        .unwrap();
                    (
                        org["name"].as_str().unwrap().to_owned(),
                        endpoint["address"].as_str().unwrap().to_owned(),
                        None,
                    )
                })
                .collect()
        }
        _ => {
            let entries: Vec<Value> = serde_json::from_slice(text).unwrap();
            entries
                .iter()
                .map(|e| {
                    (
                        e["name"].as_str().unwrap().to_owned(),
                        e["url"].as_str().unwrap().to_owned(),
                        None,
                    )
                })
                .collect()
        }
    };
    let step = (all.len() / 50).max(1);
    all.into_iter().step_by(step).take(50).collect()
}

#[test]
fn every_list_is_in_the_directory_and_found_by_name() {
    let directory = Directory::bundled();
    for (list, text) in lists() {
        let picked = sample(list, &text);
        assert_eq!(picked.len(), 50, "{list:?}");
        for (name, base, practice) in picked {
            let found = directory.search_limit(&name, 5000);
            // A brand seen in both of Oracle's lists keeps one name and the other as an alias.
            let hit = found.iter().find(|e| {
                (e.name.trim() == name.trim() || e.aliases.iter().any(|a| a == name.trim()))
                    && e.fhir_base == base
                    && e.practice == practice
            });
            let hit = hit.unwrap_or_else(|| panic!("{list:?}: {name} at {base} not found"));
            assert_eq!(hit.vendor, list.vendor());
        }
    }
}

/// The bundled file is what the generator makes of the lists today (regenerate with
/// `cargo xtask directory`).
#[test]
fn the_bundled_directory_is_up_to_date_with_the_lists() {
    let extra: Value = serde_json::from_str(EXTRA).unwrap();
    let (bundle, counts) = build(&lists(), &extra, "2026-12-01T00:00:00Z").unwrap();
    assert_eq!(counts[&VendorList::Athena], 21_757);
    assert_eq!(counts[&VendorList::Healow], 6_919);
    let rebuilt = Directory::from_brands(&bundle);
    let bundled = Directory::bundled();
    assert_eq!(rebuilt.len(), bundled.len());
    assert_eq!(
        rebuilt.search_limit("", usize::MAX),
        bundled.search_limit("", usize::MAX),
        "run `cargo xtask directory`"
    );
}

#[test]
fn typos_and_places_find_a_provider() {
    let directory = Directory::bundled();
    let top = |q: &str| directory.search(q).first().cloned().unwrap();
    assert_eq!(
        top("Alaska Native Medical Center").city.as_deref(),
        Some("Anchorage")
    );
    assert_eq!(
        top("alaska nativ medcal center").name,
        "ALASKA NATIVE MEDICAL CENTER"
    );
    assert!(
        directory
            .search("anchorage ak")
            .iter()
            .any(|e| e.name == "ALASKA NATIVE MEDICAL CENTER")
    );
    // Epic's list names the health system running an endpoint: found as an alias.
    assert!(
        directory
            .search("parkview health")
            .iter()
            .any(|e| e.vendor == "epic" && e.aliases.iter().any(|a| a == "Parkview Health"))
    );
    assert_eq!(top("veterans affairs").vendor, "va");
    assert_eq!(top("medicare").vendor, "bluebutton");
}

/// The client id comes from the vendor: the patient's own, else the shipped table's; a vendor
/// with neither is one sentence before anything is sent (the Epic base below is never contacted).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_id_is_the_vendors_or_the_patients_own() {
    let dir = tempfile::tempdir().unwrap();
    let mut vault = crate::keyring_vault(dir.path());
    let epic = "https://epicprod-mobile.parkview.com/FHIR/api/FHIR/R4/";
    let e = vault.client_id_for(epic).unwrap_err();
    assert!(matches!(e, ownrecord_core::Error::NoClientId { .. }), "{e}");
    assert!(
        matches!(&e, ownrecord_core::Error::NoClientId { vendor, .. } if vendor == "epic"),
        "{e}"
    );
    let refused = vault
        .connect(
            ownrecord_core::portal::ConnectRequest::new(epic, ""),
            |_| panic!("no sign-in is started"),
        )
        .await
        .unwrap_err();
    assert!(matches!(refused, ownrecord_core::Error::NoClientId { .. }));
    // Without the trailing slash, too.
    vault.set_client_id("epic", Some("my-epic-app")).unwrap();
    assert_eq!(
        vault.client_id_for(epic.trim_end_matches('/')).unwrap(),
        "my-epic-app"
    );
    vault.set_client_id("epic", None).unwrap();
    assert!(vault.client_id_for(epic).is_err());
    assert!(vault.set_client_id("nosuchvendor", Some("x")).is_err());
    // The demo portal's id ships; a portal the directory does not list gets the default.
    assert_eq!(
        vault.client_id_for("http://127.0.0.1:8765/fhir").unwrap(),
        "ownrecord"
    );
    assert_eq!(
        vault.client_id_for("https://fhir.example.org/r4").unwrap(),
        "ownrecord"
    );
    let audit = vault.audit_entries(&Default::default()).unwrap();
    assert_eq!(audit.iter().filter(|e| e.kind == "client_id").count(), 2);
}

#[test]
fn a_listed_portal_is_named_as_the_directory_names_it() {
    let directory = Directory::bundled();
    assert_eq!(
        directory
            .name_of("https://epicprod-mobile.parkview.com/FHIR/api/FHIR/R4")
            .as_deref(),
        Some("Adams Memorial Hospital")
    );
    assert_eq!(
        directory.name_of("http://127.0.0.1:8765/fhir/").as_deref(),
        Some("OwnRecord demo portal")
    );
    // One base, thousands of practices: not one name.
    assert_eq!(directory.name_of(ATHENA_FHIR_BASE), None);
    assert_eq!(directory.name_of("https://fhir.example.org/r4"), None);
}

/// Serves a folder of lists on 127.0.0.1 (a mirror of the vendors' lists).
async fn mirror(files: BTreeMap<VendorList, Vec<u8>>) -> (url::Url, tokio::task::JoinHandle<()>) {
    use axum::extract::Path;
    use axum::http::StatusCode;
    let files: std::sync::Arc<BTreeMap<String, Vec<u8>>> = std::sync::Arc::new(
        files
            .into_iter()
            .map(|(l, b)| (l.file_name().to_owned(), b))
            .collect(),
    );
    let app = axum::Router::new().route(
        "/lists/{file}",
        axum::routing::get(move |Path(file): Path<String>| {
            let files = files.clone();
            async move {
                match files.get(&file) {
                    Some(body) => Ok(body.clone()),
                    None => Err(StatusCode::NOT_FOUND),
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (
        url::Url::parse(&format!("http://{addr}/lists/")).unwrap(),
        server,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_is_checked_and_kept_beside_the_vault() {
    use ownrecord_core::Error;
    use ownrecord_core::portal::directory::refresh::{self, FILE_NAME, Sources};
    let vault_dir = tempfile::tempdir().unwrap();
    // A new practice in Epic's list: found only after the refresh.
    let mut lists = lists();
    let mut epic: Vec<Value> = serde_json::from_slice(&lists[&VendorList::Epic]).unwrap();
    epic.push(serde_json::json!({
        "url": "https://fhir.zzyzx-clinic.example/api/FHIR/R4/",
        "id": "zzyzx-1",
        "name": "Zzyzx Desert Clinic",
        "managingOrganization": "Zzyzx"
    }));
    lists.insert(VendorList::Epic, serde_json::to_vec(&epic).unwrap());
    let (base, server) = mirror(lists.clone()).await;
    let before = Directory::for_vault(vault_dir.path());
    assert!(before.search("Zzyzx Desert").is_empty());
    let report = refresh::refresh(vault_dir.path(), &Sources::Mirror(base))
        .await
        .unwrap();
    assert_eq!(report.vendors["epic"].1, report.vendors["epic"].0 + 1);
    let after = Directory::for_vault(vault_dir.path());
    let found = after.search("Zzyzx Desert");
    assert_eq!(found[0].name, "Zzyzx Desert Clinic");
    assert_eq!(found[0].vendor, "epic");
    assert_eq!(after.len(), before.len() + 1);
    server.abort();

    // Half of healow's list (a download cut short): refused, and the kept directory stays.
    let kept = std::fs::read(vault_dir.path().join(FILE_NAME)).unwrap();
    let mut half = lists.clone();
    let healow: Vec<Value> = serde_json::from_slice(&half[&VendorList::Healow]).unwrap();
    half.insert(
        VendorList::Healow,
        serde_json::to_vec(&healow[..healow.len() / 2]).unwrap(),
    );
    let (base, server) = mirror(half).await;
    let err = refresh::refresh(vault_dir.path(), &Sources::Mirror(base))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::DirectoryRefused { vendor, .. } if vendor == "healow"),
        "{err:?}"
    );
    assert!(err.to_string().contains("not changed"));
    server.abort();

    // A list that is not JSON, and a missing one: refused the same way.
    let mut broken = lists.clone();
    broken.insert(VendorList::Veradigm, b"<html>maintenance</html>".to_vec());
    let (base, server) = mirror(broken).await;
    let err = refresh::refresh(vault_dir.path(), &Sources::Mirror(base))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::DirectoryList { .. }), "{err:?}");
    server.abort();
    let mut missing = lists;
    missing.remove(&VendorList::Athena);
    let (base, server) = mirror(missing).await;
    let err = refresh::refresh(vault_dir.path(), &Sources::Mirror(base))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::DirectoryList { .. }), "{err:?}");
    server.abort();
    assert_eq!(
        std::fs::read(vault_dir.path().join(FILE_NAME)).unwrap(),
        kept
    );
}
