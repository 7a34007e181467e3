//! Exports and sharing, checked by third-party readers: qpdf and pdftotext (PDF), three FHIR
//! validators (IPS), Debian's age (share package), npm kill-the-clipboard over loopback HTTP
//! (SMART Health Link), zbarimg (QR code), and a fresh vault (full export).

use ownrecord_core::vault::people::PersonChoice;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use ownrecord_core::audit::{AuditKind, Filter};
use ownrecord_core::export::{
    self, LinkRequest, Section, Selection, ShareRequest, full, ips, package,
};
use ownrecord_core::{Error, Vault};
use ownrecord_testkit::checkers;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::{keyring_vault, no_progress};

fn patient_vault(dir: &Path, patient: &Path) -> Vault {
    let mut vault = keyring_vault(dir);
    for file in ownrecord_testkit::support_files()
        .iter()
        .chain([&patient.to_owned()])
    {
        vault
            .import_file(file, PersonChoice::New, &mut no_progress())
            .unwrap();
    }
    vault
}

fn resources<'a>(bundle: &'a Value, resource_type: &'a str) -> impl Iterator<Item = &'a Value> {
    bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["resource"])
        .filter(move |r| r["resourceType"] == resource_type)
}

fn is_lab(o: &Value) -> bool {
    o["category"].to_string().contains("\"laboratory\"")
}

fn disclosures(vault: &Vault) -> Vec<Value> {
    vault
        .audit_entries(&Filter {
            kinds: vec![AuditKind::Export, AuditKind::Share],
        })
        .unwrap()
        .into_iter()
        .map(|e| e.details)
        .collect()
}

#[test]
fn pdf_of_every_sample_patient_is_sound_and_shows_what_a_clinician_needs() {
    for file in ownrecord_testkit::patient_files() {
        let bundle = ownrecord_testkit::read_json(&file);
        let dir = tempfile::tempdir().unwrap();
        let mut vault = patient_vault(&dir.path().join("vault"), &file);
        let pdf = dir.path().join("summary.pdf");
        let written = export::export_pdf(&mut vault, &Selection::default(), &pdf).unwrap();
        assert_eq!(
            written.sha256,
            Sha256::digest(std::fs::read(&pdf).unwrap()).to_vec()
        );
        assert!(
            checkers::qpdf_ok(&pdf),
            "qpdf --check fails for {}",
            file.display()
        );
        let text = checkers::pdf_text(&pdf);
        let name = |f: &str| format!("{} of {}", f, file.display());

        let patient = resources(&bundle, "Patient").next().unwrap();
        let given = patient["name"][0]["given"][0].as_str().unwrap();
        let family = patient["name"][0]["family"].as_str().unwrap();
        assert!(
            text.contains(&format!("{given} {family}")),
            "{}",
            name("patient name")
        );
        assert!(text.contains("Patient-provided copy"), "{}", name("notice"));
        assert!(text.contains("Page 1 of"), "{}", name("page numbers"));

        for condition in resources(&bundle, "Condition")
            .filter(|c| c["clinicalStatus"]["coding"][0]["code"] == "active")
        {
            let problem = condition["code"]["text"].as_str().unwrap();
            assert!(
                text.contains(problem),
                "{}: {problem}",
                name("active problem")
            );
        }
        for request in resources(&bundle, "MedicationRequest").filter(|m| m["status"] == "active") {
            let medication = request["medicationCodeableConcept"]["text"]
                .as_str()
                .unwrap();
            assert!(
                text.contains(medication),
                "{}: {medication}",
                name("active medication")
            );
        }
        // The newest lab value prints with its unit.
        let newest_lab = resources(&bundle, "Observation")
            .filter(|o| is_lab(o) && o["valueQuantity"]["value"].is_number())
            .max_by_key(|o| o["effectiveDateTime"].as_str().unwrap_or("").to_owned())
            .expect("every sample patient has lab results");
        let value = newest_lab["valueQuantity"]["value"].as_f64().unwrap();
        let unit = newest_lab["valueQuantity"]["unit"].as_str().unwrap();
        let whole = value.trunc() as i64;
        let shown = text.match_indices(&format!(" {unit}")).any(|(at, _)| {
            let before = text[..at].rsplit(' ').next().unwrap_or("");
            before.split('.').next() == Some(&whole.to_string())
        });
        assert!(shown, "{}: {value} {unit}", name("newest lab value"));
    }
}

/// Checks the IPS rules the issue names, and that every reference resolves inside the document.
fn assert_ips_rules(bundle: &Value) {
    assert_eq!(bundle["resourceType"], "Bundle");
    assert_eq!(bundle["type"], "document");
    assert!(bundle["timestamp"].is_string());
    assert_eq!(bundle["identifier"]["system"], "urn:ietf:rfc:3986");
    let entries = bundle["entry"].as_array().unwrap();
    let full_urls: BTreeSet<&str> = entries
        .iter()
        .map(|e| e["fullUrl"].as_str().expect("every entry has a fullUrl"))
        .collect();
    assert_eq!(full_urls.len(), entries.len(), "fullUrls are unique");
    for e in entries {
        assert!(e.get("request").is_none() && e.get("response").is_none());
    }
    let composition = &entries[0]["resource"];
    assert_eq!(
        composition["resourceType"], "Composition",
        "Composition first"
    );
    assert_eq!(
        composition["type"]["coding"][0]["system"],
        "http://loinc.org"
    );
    assert_eq!(composition["type"]["coding"][0]["code"], "60591-5");
    let patient_url = entries
        .iter()
        .find(|e| e["resource"]["resourceType"] == "Patient")
        .expect("the Patient is in the document")["fullUrl"]
        .as_str()
        .unwrap();
    assert_eq!(composition["subject"]["reference"], patient_url);
    assert_eq!(
        composition["author"][0]["reference"], patient_url,
        "the patient is the author"
    );
    let sections = composition["section"].as_array().unwrap();
    let codes: Vec<&str> = sections
        .iter()
        .map(|s| s["code"]["coding"][0]["code"].as_str().unwrap())
        .collect();
    for required in ["10160-0", "48765-2", "11450-4"] {
        assert!(codes.contains(&required), "required section {required}");
    }
    for s in sections {
        assert!(s["title"].is_string());
        assert_eq!(s["code"]["coding"][0]["system"], "http://loinc.org");
        assert!(
            s["text"]["div"]
                .as_str()
                .unwrap()
                .starts_with("<div xmlns=\"http://www.w3.org/1999/xhtml\">")
        );
        match (s.get("entry"), s.get("emptyReason")) {
            (Some(list), None) => {
                let list = list.as_array().unwrap();
                assert!(!list.is_empty());
                for r in list {
                    assert!(
                        full_urls.contains(r["reference"].as_str().unwrap()),
                        "section entries resolve"
                    );
                }
            }
            (None, Some(reason)) => assert!(reason["coding"][0]["code"].is_string()),
            other => panic!("a section has entries or an emptyReason, not {other:?}"),
        }
    }
    // Every reference in every resource points inside the document (or to a contained resource).
    fn references<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
        match v {
            Value::Object(map) => {
                if let Some(Value::String(r)) = map.get("reference") {
                    out.push(r);
                }
                map.values().for_each(|c| references(c, out));
            }
            Value::Array(items) => items.iter().for_each(|c| references(c, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    references(bundle, &mut all);
    for r in all {
        assert!(
            r.starts_with('#') || full_urls.contains(r),
            "dangling reference {r}"
        );
    }
}

#[test]
fn ips_of_every_sample_patient_validates_and_follows_the_ips_rules() {
    let out = tempfile::tempdir().unwrap();
    for file in ownrecord_testkit::patient_files() {
        let bundle = ownrecord_testkit::read_json(&file);
        let dir = tempfile::tempdir().unwrap();
        let mut vault = patient_vault(dir.path(), &file);
        let path = out.path().join(file.file_name().unwrap());
        export::export_ips(&mut vault, &Selection::default(), &path).unwrap();
        let ips = ownrecord_testkit::read_json(&path);
        assert_ips_rules(&ips);

        // The problem list holds exactly the active problems; medications the active ones.
        let in_section = |code: &str, resource_type: &str| -> usize {
            let urls: BTreeSet<&str> = ips["entry"][0]["resource"]["section"]
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["code"]["coding"][0]["code"] == code)
                .and_then(|s| s["entry"].as_array())
                .map(|l| l.iter().map(|r| r["reference"].as_str().unwrap()).collect())
                .unwrap_or_default();
            ips["entry"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| urls.contains(e["fullUrl"].as_str().unwrap()))
                .filter(|e| e["resource"]["resourceType"] == resource_type)
                .count()
        };
        let active_problems = resources(&bundle, "Condition")
            .filter(|c| c["clinicalStatus"]["coding"][0]["code"] == "active")
            .count();
        assert_eq!(in_section("11450-4", "Condition"), active_problems);
        let active_meds = resources(&bundle, "MedicationRequest")
            .filter(|m| m["status"] == "active")
            .count();
        assert_eq!(in_section("10160-0", "MedicationRequest"), active_meds);
        assert_eq!(
            in_section("11369-6", "Immunization"),
            resources(&bundle, "Immunization").count()
        );
        // Government ids stay out of a shared document.
        let patient = ips["entry"][1]["resource"].to_string();
        assert!(
            !patient.contains("\"SS\"") && !patient.contains("\"DL\""),
            "no SSN or licence"
        );

        let errors = checkers::fhir_errors(&path);
        assert!(errors.is_empty(), "{}: {errors:#?}", file.display());
    }
}

/// A patient with non-Latin text, an out-of-range lab, a very long note and many procedures.
fn unusual_patient() -> Value {
    let mut entries = vec![
        json!({"resourceType": "Patient", "id": "p1", "birthDate": "1970-03-04", "gender": "female",
               "name": [{"use": "official", "given": ["Renée", "Zoë"], "family": "Müller-Ωμέγα 漢字"}]}),
        json!({"resourceType": "Condition", "id": "c1",
               "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]},
               "code": {"text": "Überfunktion der Schilddrüse (α-Test)"},
               "subject": {"reference": "Patient/p1"}, "onsetDateTime": "2020-01-02",
               "note": [{"text": format!("Prüfung: β-Blocker ≥ 2 mg, 漢方 tea. {}", "Keep watching the thyroid values closely. ".repeat(60))}]}),
        json!({"resourceType": "Observation", "id": "o1", "status": "final",
               "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}]}],
               "code": {"text": "Glucose"}, "subject": {"reference": "Patient/p1"},
               "effectiveDateTime": "2024-05-06T08:00:00Z",
               "valueQuantity": {"value": 182, "unit": "mg/dL"},
               "referenceRange": [{"low": {"value": 70, "unit": "mg/dL"}, "high": {"value": 99, "unit": "mg/dL"}}]}),
    ];
    for i in 0..150 {
        entries.push(json!({"resourceType": "Procedure", "id": format!("pr{i}"), "status": "completed",
            "code": {"text": format!("Physiotherapy session number {i} with a rather long descriptive name")},
            "subject": {"reference": "Patient/p1"},
            "performedDateTime": format!("2023-{:02}-{:02}", i % 12 + 1, i % 28 + 1)}));
    }
    json!({"resourceType": "Bundle", "type": "collection",
           "entry": entries.into_iter().map(|r| json!({"resource": r})).collect::<Vec<_>>()})
}

/// Word boxes from `pdftotext -bbox`: (xMin, yMin, xMax, yMax) in points.
fn word_boxes(pdf: &Path) -> Vec<[f32; 4]> {
    let out = std::process::Command::new("pdftotext")
        .arg("-bbox")
        .arg(pdf)
        .arg("-")
        .output()
        .unwrap();
    let html = String::from_utf8_lossy(&out.stdout).into_owned();
    let attr = |tag: &str, name: &str| -> f32 {
        let start = tag.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
        tag[start..].split('"').next().unwrap().parse().unwrap()
    };
    html.split("<word ")
        .skip(1)
        .map(|tag| ["xMin", "yMin", "xMax", "yMax"].map(|n| attr(tag, n)))
        .collect()
}

#[test]
fn unusual_text_prints_flags_show_and_nothing_overflows_the_page() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("unusual.json");
    std::fs::write(&input, unusual_patient().to_string()).unwrap();
    let mut vault = keyring_vault(&dir.path().join("vault"));
    vault
        .import_file(&input, PersonChoice::New, &mut no_progress())
        .unwrap();
    let selection = Selection {
        since: Some(export::parse_date("2000-01-01").unwrap()),
        ..Selection::default()
    };
    let pdf = dir.path().join("unusual.pdf");
    export::export_pdf(&mut vault, &selection, &pdf).unwrap();
    assert!(checkers::qpdf_ok(&pdf));
    let text = checkers::pdf_text(&pdf);
    for expected in [
        "Renée Zoë Müller-Ωμέγα",
        "Überfunktion der Schilddrüse (α-Test)",
        "Prüfung: β-Blocker ≥ 2 mg,",
        "182 mg/dL 70–99 High",
        "Procedures (continued)",
        "Physiotherapy session number 149",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in {text}");
    }
    // Headers repeat on every page a table spans.
    let pages_with_procedures = text
        .matches("Procedures (continued) Date Procedure Status")
        .count();
    assert!(
        pages_with_procedures >= 2,
        "repeated headers: {pages_with_procedures}"
    );
    // Every word lies inside the page's margins (US Letter, 612 × 792 pt).
    let boxes = word_boxes(&pdf);
    assert!(boxes.len() > 1000);
    for [x0, y0, x1, y1] in boxes {
        assert!(
            x0 >= 40.0 && x1 <= 572.0 && y0 >= 18.0 && y1 <= 774.0,
            "word outside the page: {x0} {y0} {x1} {y1}"
        );
    }
    // Same vault, same options: the same bytes (also twice in one process).
    let again = dir.path().join("again.pdf");
    export::export_pdf(&mut vault, &selection, &again).unwrap();
    assert_eq!(std::fs::read(&pdf).unwrap(), std::fs::read(&again).unwrap());
}

/// A loopback HTTP host standing in for the one the patient names: PUT stores, GET serves.
struct Host {
    base: String,
    files: Arc<Mutex<BTreeMap<String, Vec<u8>>>>,
    gets: Arc<Mutex<Vec<String>>>,
}

async fn start_host(refuse_uploads: bool) -> Host {
    use axum::extract::{Path as UrlPath, RawQuery, State};
    use axum::http::StatusCode;
    type Shared = (
        Arc<Mutex<BTreeMap<String, Vec<u8>>>>,
        Arc<Mutex<Vec<String>>>,
        bool,
    );
    let files = Arc::new(Mutex::new(BTreeMap::new()));
    let gets = Arc::new(Mutex::new(Vec::new()));
    let app = axum::Router::new()
        .route(
            "/files/{name}",
            axum::routing::put(
                |State((files, _, refuse)): State<Shared>,
                 UrlPath(name): UrlPath<String>,
                 body: axum::body::Bytes| async move {
                    if refuse {
                        return StatusCode::INTERNAL_SERVER_ERROR;
                    }
                    files.lock().unwrap().insert(name, body.to_vec());
                    StatusCode::CREATED
                },
            )
            .get(
                |State((files, gets, _)): State<Shared>,
                 UrlPath(name): UrlPath<String>,
                 RawQuery(query): RawQuery| async move {
                    gets.lock().unwrap().push(query.unwrap_or_default());
                    match files.lock().unwrap().get(&name) {
                        Some(body) => (
                            StatusCode::OK,
                            [("content-type", "application/jose")],
                            body.clone(),
                        ),
                        None => (
                            StatusCode::NOT_FOUND,
                            [("content-type", "text/plain")],
                            Vec::new(),
                        ),
                    }
                },
            ),
        )
        .with_state((files.clone(), gets.clone(), refuse_uploads));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Host { base, files, gets }
}

fn sample_vault(dir: &Path) -> Vault {
    let patient = ownrecord_testkit::patient_files()
        .into_iter()
        .find(|f| f.to_string_lossy().contains("Tressa_Bergstrom"))
        .unwrap();
    patient_vault(dir, &patient)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn share_package_opens_with_age_and_the_link_resolves_with_kill_the_clipboard() {
    let host = start_host(false).await;
    let dir = tempfile::tempdir().unwrap();
    let mut vault = sample_vault(&dir.path().join("vault"));
    let out = dir.path().join("for-dr-ruiz.age");
    let request = ShareRequest {
        recipient: "Dr. Ruiz".into(),
        purpose: "Cardiology visit".into(),
        selection: Selection::default(),
        expires_in_days: Some(14),
        link: Some(LinkRequest {
            url: format!("{}/files/summary.jwe", host.base),
            upload: true,
        }),
    };
    let shared = export::share(&mut vault, &request, &out).await.unwrap();
    assert!(shared.passcode.len() >= 25);

    // Debian's age opens the package with the passcode, and the manifest's hashes match.
    let tar = dir.path().join("summary.tar");
    assert!(
        checkers::age_decrypt(&out, &shared.passcode, &tar),
        "age -d with the passcode"
    );
    let unpacked = dir.path().join("unpacked");
    std::fs::create_dir(&unpacked).unwrap();
    let status = std::process::Command::new("tar")
        .arg("xf")
        .arg(&tar)
        .arg("-C")
        .arg(&unpacked)
        .status()
        .unwrap();
    assert!(status.success());
    let manifest: package::Manifest =
        serde_json::from_slice(&std::fs::read(unpacked.join(package::MANIFEST_NAME)).unwrap())
            .unwrap();
    assert_eq!(manifest.recipient, "Dr. Ruiz");
    assert_eq!(manifest.purpose, "Cardiology visit");
    assert!(manifest.expires.is_some());
    assert_eq!(manifest.files.len(), 2);
    for f in &manifest.files {
        let bytes = std::fs::read(unpacked.join(&f.name)).unwrap();
        assert_eq!(f.sha256, hex::encode(Sha256::digest(&bytes)), "{}", f.name);
        assert_eq!(f.bytes, bytes.len() as u64);
    }
    assert!(checkers::qpdf_ok(&unpacked.join(package::PDF_NAME)));
    // A wrong passcode opens nothing, in age and in the core.
    let wrong = dir.path().join("wrong.tar");
    assert!(!checkers::age_decrypt(&out, "not-the-passcode", &wrong));
    let sealed = std::fs::read(&out).unwrap();
    assert!(matches!(
        package::decrypt(&sealed, "not-the-passcode"),
        Err(Error::WrongPasscode)
    ));

    // The link: uploaded to the host, resolved by kill-the-clipboard to the same IPS.
    let link = shared.link.as_ref().unwrap();
    assert!(link.uploaded && link.encrypted_file.is_none());
    let stored = host
        .files
        .lock()
        .unwrap()
        .get("summary.jwe")
        .cloned()
        .unwrap();
    assert_eq!(
        stored.iter().filter(|b| **b == b'.').count(),
        4,
        "a compact JWE"
    );
    let link_text = link.text.clone();
    let resolved = tokio::task::spawn_blocking(move || checkers::resolve_shl(&link_text))
        .await
        .unwrap()
        .unwrap_or_else(|report| panic!("the link did not resolve: {report}"));
    let ips_in_package: Value =
        serde_json::from_slice(&std::fs::read(unpacked.join(package::IPS_NAME)).unwrap()).unwrap();
    assert_eq!(resolved["files"][0]["content"], ips_in_package);
    assert_eq!(resolved["flag"], "U");
    assert_eq!(resolved["label"], "Health summary for Dr. Ruiz");
    assert!(resolved["exp"].is_number());
    assert!(
        host.gets
            .lock()
            .unwrap()
            .iter()
            .any(|q| q.starts_with("recipient="))
    );
    // @medplum/core decodes the same payload.
    assert_eq!(resolved["medplum_payload"]["url"], link.url.as_str());
    // The key lives only in the link: not in the host's file, not in the disclosure log.
    let key = export::shl::parse(&link.text).unwrap().key;
    assert!(!String::from_utf8_lossy(&stored).contains(&key));
    let log = serde_json::to_string(&disclosures(&vault)).unwrap();
    assert!(!log.contains(&key) && !log.contains(shared.passcode.as_str()));

    // zbarimg reads the QR code back to the same link.
    assert_eq!(checkers::read_qr(&link.qr_png.path), link.text);
    let link_file = std::fs::read_to_string(&link.link_file.path).unwrap();
    assert_eq!(link_file.trim(), link.text);

    // One disclosure row names recipient, purpose, sections, hashes and expiry.
    let rows = disclosures(&vault);
    let row = rows.last().unwrap();
    assert_eq!(row["recipient"], "Dr. Ruiz");
    assert_eq!(row["purpose"], "Cardiology visit");
    assert_eq!(row["content_sha256"], hex::encode(Sha256::digest(&sealed)));
    assert_eq!(row["expires"], shared.expires.as_deref().unwrap());
    assert_eq!(row["link"]["url"], link.url.as_str());
    assert_eq!(
        row["link"]["content_sha256"],
        hex::encode(Sha256::digest(
            serde_json::to_vec_pretty(&ips_in_package).unwrap()
        ))
    );
    assert_eq!(
        row["sections"].as_array().unwrap().len(),
        Section::ALL.len()
    );
    vault.verify_audit().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_file_placed_by_the_patient_resolves_and_a_failed_upload_shares_nothing() {
    let host = start_host(false).await;
    let dir = tempfile::tempdir().unwrap();
    let mut vault = sample_vault(&dir.path().join("vault"));
    let url = format!("{}/files/placed.jwe", host.base);
    let request = ShareRequest {
        recipient: "Sam (my brother)".into(),
        purpose: "In case of emergency".into(),
        selection: Selection {
            person: None,
            sections: Section::parse_list("problems,medications,allergies").unwrap(),
            since: None,
        },
        expires_in_days: None,
        link: Some(LinkRequest {
            url: url.clone(),
            upload: false,
        }),
    };
    let shared = export::share(&mut vault, &request, &dir.path().join("sam.age"))
        .await
        .unwrap();
    let link = shared.link.unwrap();
    let jwe = link
        .encrypted_file
        .expect("the encrypted file is written for the patient to place");
    assert!(host.files.lock().unwrap().is_empty(), "nothing uploaded");
    // The patient places the file on the host; the link then resolves.
    host.files
        .lock()
        .unwrap()
        .insert("placed.jwe".into(), std::fs::read(&jwe.path).unwrap());
    let text = link.text.clone();
    let resolved = tokio::task::spawn_blocking(move || checkers::resolve_shl(&text))
        .await
        .unwrap()
        .unwrap();
    let ips = &resolved["files"][0]["content"];
    assert_ips_rules(ips);
    let codes: BTreeSet<&str> = ips["entry"][0]["resource"]["section"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["code"]["coding"][0]["code"].as_str().unwrap())
        .collect();
    let chosen = BTreeSet::from(["10160-0", "48765-2", "11450-4", "11348-0"]);
    assert!(
        codes.is_subset(&chosen),
        "only the chosen sections: {codes:?}"
    );

    // A host that refuses the upload: an error in words, no files, no disclosure row.
    let refusing = start_host(true).await;
    let before = disclosures(&vault).len();
    let out = dir.path().join("refused.age");
    let request = ShareRequest {
        link: Some(LinkRequest {
            url: format!("{}/files/x.jwe", refusing.base),
            upload: true,
        }),
        ..request
    };
    let err = export::share(&mut vault, &request, &out).await.unwrap_err();
    assert!(matches!(err, Error::LinkUpload { .. }), "{err}");
    assert!(err.to_string().contains("Nothing was shared"));
    assert!(!out.exists());
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("refused") || n.starts_with(".ownrecord"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    assert_eq!(disclosures(&vault).len(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_export_reimports_into_a_new_vault_hash_by_hash() {
    use ownrecord_demo_portal::Options;
    let portal = crate::portal::start(Options::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let mut vault = keyring_vault(&dir.path().join("vault"));
    // A synced portal (with a downloaded attachment) and an imported file.
    let connection = crate::portal::connect(&mut vault, &portal).await;
    vault
        .sync(connection.id, crate::portal::fast_retries(), &mut |_| {})
        .await
        .unwrap();
    for file in ownrecord_testkit::support_files() {
        vault
            .import_file(&file, PersonChoice::New, &mut no_progress())
            .unwrap();
    }
    let out = dir.path().join("everything");
    let report = full::export_all(&mut vault, &out, None).unwrap();
    assert!(report.resources > 100);
    assert_eq!(report.attachments, 1);

    // The manifest's hashes match every file, and nothing is there that it does not list.
    let manifest = ownrecord_testkit::read_json(&out.join("manifest.json"));
    let mut listed = BTreeSet::new();
    for f in manifest["files"].as_array().unwrap() {
        let path = f["path"].as_str().unwrap();
        let bytes = std::fs::read(out.join(path)).unwrap();
        assert_eq!(f["sha256"], hex::encode(Sha256::digest(&bytes)), "{path}");
        listed.insert(path.to_owned());
    }
    let mut on_disk = BTreeSet::new();
    for entry in walk(&out) {
        let relative = entry
            .strip_prefix(&out)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if relative != "manifest.json" {
            on_disk.insert(relative);
        }
    }
    assert_eq!(on_disk, listed);
    // The attachment is there as a file, its bytes as downloaded.
    let index = ownrecord_testkit::read_json(&out.join("attachments/index.json"));
    let attachment = std::fs::read(out.join(index[0]["file"].as_str().unwrap())).unwrap();
    assert!(!attachment.is_empty());
    // The exported audit log verifies on its own.
    let log: ownrecord_core::audit::ExportedLog =
        serde_json::from_slice(&std::fs::read(out.join("audit-log.json")).unwrap()).unwrap();
    ownrecord_core::audit::verify_exported(&log).unwrap();
    // No tokens in the export.
    let sources = std::fs::read_to_string(out.join("sources.json")).unwrap();
    assert!(!sources.contains("token"));

    // Re-imported into a new vault: the same resources, hash by hash.
    let second = tempfile::tempdir().unwrap();
    let mut fresh = keyring_vault(second.path());
    // The Patient files first: each other file is linked to its person through them.
    let mut files = walk(&out.join("resources"));
    files.sort_by_key(|f| {
        !f.file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("Patient.")
    });
    for file in files {
        fresh
            .import_file(&file, PersonChoice::New, &mut no_progress())
            .unwrap();
    }
    assert_eq!(
        fresh.resource_digests().unwrap(),
        vault.resource_digests().unwrap()
    );

    // The export is in the disclosure log; a second export into the same folder is refused.
    let rows = disclosures(&vault);
    assert_eq!(
        rows.last().unwrap()["content_sha256"],
        report.manifest_sha256
    );
    let err = full::export_all(&mut vault, &out, None).unwrap_err();
    assert!(matches!(err, Error::OutputNotEmpty(_)), "{err}");
    assert_eq!(disclosures(&vault).len(), rows.len());
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files.sort();
    files
}

#[test]
fn every_export_is_in_the_disclosure_log_and_the_chain_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let mut vault = sample_vault(&dir.path().join("vault"));
    let selection = Selection {
        person: None,
        sections: Section::parse_list("problems,results").unwrap(),
        since: Some(export::parse_date("2015-01-01").unwrap()),
    };
    let pdf = export::export_pdf(&mut vault, &selection, &dir.path().join("s.pdf")).unwrap();
    let ips_file = export::export_ips(&mut vault, &selection, &dir.path().join("s.json")).unwrap();
    let rows = disclosures(&vault);
    assert_eq!(rows.len(), 2);
    for (row, file, what) in [
        (&rows[0], &pdf, "PDF summary"),
        (&rows[1], &ips_file, "IPS document"),
    ] {
        assert_eq!(row["what"], what);
        assert_eq!(row["sections"], json!(["problems", "results"]));
        assert_eq!(row["since"], "2015-01-01");
        assert_eq!(row["content_sha256"], hex::encode(&file.sha256));
        assert_eq!(row["files"][0]["path"], file.path.display().to_string());
    }
    let verified = vault.verify_audit().unwrap();
    assert!(verified.entries >= 5);
    // A log row never holds clinical content: no patient name.
    let log = serde_json::to_string(&rows).unwrap();
    assert!(!log.contains("Tressa") && !log.contains("Bergstrom"));
}

#[test]
fn bad_requests_fail_in_words_and_leave_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // An empty vault has no patient to summarize.
    let mut empty = keyring_vault(&dir.path().join("empty"));
    let err = export::export_pdf(&mut empty, &Selection::default(), &dir.path().join("x.pdf"))
        .unwrap_err();
    assert!(matches!(err, Error::NoPatient), "{err}");
    assert!(!dir.path().join("x.pdf").exists());
    assert!(disclosures(&empty).is_empty());

    let mut vault = sample_vault(&dir.path().join("vault"));
    // A folder that does not exist: an I/O error naming it, no row, no stray file.
    let missing = dir.path().join("no-such-folder/summary.pdf");
    let err = export::export_pdf(&mut vault, &Selection::default(), &missing).unwrap_err();
    assert!(err.to_string().contains("no-such-folder"), "{err}");
    assert!(disclosures(&vault).is_empty());
    // Unknown sections and malformed dates.
    assert!(
        matches!(Section::parse_list("problems,labz"), Err(Error::UnknownSection(s)) if s == "labz")
    );
    assert!(matches!(
        export::parse_date("12/31/2020"),
        Err(Error::BadDate(_))
    ));
    // After the failures, exports work as before.
    let out = dir.path().join("ips.json");
    export::export_ips(&mut vault, &Selection::default(), &out).unwrap();
    let bundle = ownrecord_testkit::read_json(&out);
    assert_ips_rules(&bundle);
    assert_eq!(ips::uuid_url("Patient/x"), ips::uuid_url("Patient/x"));
}
