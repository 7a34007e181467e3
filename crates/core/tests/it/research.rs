//! The de-identified research copy: for every sample patient nothing that identifies them
//! leaves (names, street, city, full ZIP, phone, email, identifiers' values, full dates), what a
//! researcher needs stays (codes, values, units), three FHIR validators accept it, pseudonyms
//! link one study's copies and no two studies', the preview is what leaves, and cancelling
//! leaves nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use ownrecord_core::export::research::{self, ResearchCopy, ResearchRequest, rules};
use ownrecord_core::vault::people::PersonChoice;
use ownrecord_core::{Error, Vault};
use ownrecord_testkit::checkers;
use serde_json::{Value, json};

use crate::shares::{share_rows, start_host_at, via};
use crate::{keyring_vault, no_progress};

fn request(study: &str) -> ResearchRequest {
    ResearchRequest {
        study: study.into(),
        recipient: "Heart Study Team".into(),
        person: None,
        keep_intervals: false,
    }
}

fn vault_of(dir: &Path, patients: &[PathBuf]) -> Vault {
    let mut vault = keyring_vault(dir);
    for file in ownrecord_testkit::support_files().iter().chain(patients) {
        vault
            .import_file(file, PersonChoice::New, &mut no_progress())
            .unwrap();
    }
    vault
}

fn patient_file(name: &str) -> PathBuf {
    ownrecord_testkit::patient_files()
        .into_iter()
        .find(|f| f.to_string_lossy().contains(name))
        .unwrap()
}

fn give(vault: &mut Vault, copy: &ResearchCopy, dir: &Path) -> research::ResearchExport {
    research::export(vault, copy, dir, &copy.preview.consent_sha256).unwrap()
}

/// Every resource of the copy written in `dir`.
fn read_copy(dir: &Path) -> Vec<Value> {
    let mut out = Vec::new();
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "ndjson"))
        .collect();
    names.sort();
    for file in names {
        for line in std::fs::read_to_string(&file).unwrap().lines() {
            out.push(serde_json::from_str(line).unwrap());
        }
    }
    out
}

/// What identifies the patient of a sample file, beyond `phi_strings`: city, full ZIP,
/// email, and the birth date and every full date of their resources.
fn identifying(file: &Path) -> Vec<String> {
    let mut found = ownrecord_testkit::phi_strings(&[file.to_owned()]);
    let bundle = ownrecord_testkit::read_json(file);
    for entry in bundle["entry"].as_array().unwrap() {
        let r = &entry["resource"];
        if r["resourceType"] != "Patient" {
            continue;
        }
        for address in r["address"].as_array().into_iter().flatten() {
            for key in ["city", "postalCode"] {
                found.extend(address[key].as_str().map(str::to_owned));
            }
        }
        found.extend(r["birthDate"].as_str().map(str::to_owned));
    }
    found.retain(|s| s.len() >= 4);
    found
}

/// Every `dddd-dd` in `bytes` (a date with more than its year), with a little context.
fn full_dates(bytes: &[u8]) -> Vec<String> {
    let digit = |b: u8| b.is_ascii_digit();
    bytes
        .windows(7)
        .enumerate()
        .filter(|(_, w)| {
            w[..4].iter().all(|b| digit(*b)) && w[4] == b'-' && digit(w[5]) && digit(w[6])
        })
        .map(|(i, _)| {
            String::from_utf8_lossy(&bytes[i.saturating_sub(20)..(i + 30).min(bytes.len())])
                .into_owned()
        })
        .collect()
}

/// (type, codes, value, unit) of each coded clinical resource: what a researcher needs.
fn facts(resources: impl IntoIterator<Item = Value>) -> BTreeMap<String, usize> {
    let mut facts = BTreeMap::new();
    for r in resources {
        let t = r["resourceType"].as_str().unwrap_or_default().to_owned();
        let concept = match t.as_str() {
            "Condition" | "Observation" | "Procedure" => &r["code"],
            "Immunization" => &r["vaccineCode"],
            "MedicationRequest" | "MedicationStatement" => &r["medicationCodeableConcept"],
            _ => continue,
        };
        let codes: BTreeSet<String> = concept["coding"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| {
                format!(
                    "{}|{}",
                    c["system"].as_str().unwrap_or(""),
                    c["code"].as_str().unwrap_or("")
                )
            })
            .collect();
        if codes.is_empty() {
            continue;
        }
        let key = format!(
            "{t} {codes:?} {} {}",
            r["valueQuantity"]["value"], r["valueQuantity"]["unit"]
        );
        *facts.entry(key).or_insert(0) += 1;
    }
    facts
}

#[test]
fn a_research_copy_of_every_sample_patient_identifies_no_one_and_keeps_every_coded_fact() {
    let all = tempfile::tempdir().unwrap();
    let mut every_copy = Vec::new();
    for (n, file) in ownrecord_testkit::patient_files().into_iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let mut vault = vault_of(&dir.path().join("vault"), std::slice::from_ref(&file));
        // With intervals: the most that can leave.
        let copy = research::prepare(
            &vault,
            &ResearchRequest {
                keep_intervals: true,
                ..request("HEART-2026")
            },
        )
        .unwrap();
        let out = all.path().join(format!("copy-{n}"));
        give(&mut vault, &copy, &out);

        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let hits = ownrecord_testkit::scan_dir(&out, &identifying(&file));
        assert!(hits.is_empty(), "{name}: {hits:?}");
        for entry in std::fs::read_dir(&out).unwrap() {
            let bytes = std::fs::read(entry.unwrap().path()).unwrap();
            let dates = full_dates(&bytes);
            assert!(
                dates.is_empty(),
                "{name}: full dates left: {:?}",
                &dates[..dates.len().min(3)]
            );
        }

        // Every coded fact of the person, with its value and unit.
        let original = ownrecord_testkit::read_json(&file)["entry"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["resource"].clone())
            .collect::<Vec<_>>();
        let resources = read_copy(&out);
        assert_eq!(facts(original.clone()), facts(resources.clone()), "{name}");

        // The Patient: a year of birth, or "90 or older" past 89 (alive now, or at death).
        let patient = original
            .iter()
            .find(|r| r["resourceType"] == "Patient")
            .unwrap();
        let born: i32 = patient["birthDate"].as_str().unwrap()[..4].parse().unwrap();
        let at: i32 = patient["deceasedDateTime"]
            .as_str()
            .map_or(2026, |d| d[..4].parse().unwrap());
        let copied = resources
            .iter()
            .find(|r| r["resourceType"] == "Patient")
            .unwrap();
        if at - born > 90 {
            assert!(copied.get("birthDate").is_none(), "{name}: {copied}");
            assert!(
                copied.to_string().contains(rules::NINETY_OR_OLDER),
                "{name}"
            );
        } else if at - born < 89 {
            assert_eq!(copied["birthDate"], born.to_string(), "{name}");
        }
        every_copy.extend(resources);
    }
    // Three FHIR R4 validators accept every copy (one Bundle of them all, one run each).
    let bundle = json!({
        "resourceType": "Bundle",
        "type": "collection",
        "entry": every_copy.into_iter().map(|r| json!({"resource": r})).collect::<Vec<_>>(),
    });
    let path = all.path().join("all-copies.json");
    std::fs::write(&path, serde_json::to_vec(&bundle).unwrap()).unwrap();
    let errors = checkers::fhir_errors(&path);
    assert!(
        errors.is_empty(),
        "{} errors: {:?}",
        errors.len(),
        &errors[..errors.len().min(10)]
    );
}

/// A sample patient moved to a restricted ZIP area and born in 1930.
fn restricted_patient(dir: &Path) -> PathBuf {
    let source = patient_file("Tressa_Bergstrom");
    let mut bundle = ownrecord_testkit::read_json(&source);
    for entry in bundle["entry"].as_array_mut().unwrap() {
        let r = &mut entry["resource"];
        if r["resourceType"] == "Patient" {
            r["birthDate"] = json!("1930-03-04");
            r["address"][0]["postalCode"] = json!("03601");
        }
    }
    let path = dir.join("restricted.json");
    std::fs::write(&path, serde_json::to_vec(&bundle).unwrap()).unwrap();
    path
}

#[test]
fn a_restricted_zip_area_becomes_000_and_an_age_over_89_one_group() {
    let dir = tempfile::tempdir().unwrap();
    let file = restricted_patient(dir.path());
    let mut vault = vault_of(&dir.path().join("vault"), std::slice::from_ref(&file));
    let copy = research::prepare(&vault, &request("ZIP-1")).unwrap();
    let out = dir.path().join("copy");
    give(&mut vault, &copy, &out);
    let patient = read_copy(&out)
        .into_iter()
        .find(|r| r["resourceType"] == "Patient")
        .unwrap();
    assert_eq!(patient["address"][0]["postalCode"], "000", "{patient}");
    assert!(patient.get("birthDate").is_none());
    assert_eq!(
        patient["extension"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["url"] == rules::AGE_GROUP_URL)
            .unwrap()["valueString"],
        "90 or older"
    );
    assert!(ownrecord_testkit::scan_dir(&out, &["03601".into()]).is_empty());
    let patient_file = std::fs::read_to_string(out.join("Patient.ndjson")).unwrap();
    assert!(!patient_file.contains("1930"), "{patient_file}");
}

/// Every pseudonym (32 letters a-p) in a copy's resources.
fn pseudonyms(resources: &[Value]) -> BTreeSet<String> {
    fn walk(v: &Value, out: &mut BTreeSet<String>) {
        match v {
            Value::String(s) => {
                for part in s.split(['/', '#']) {
                    if part.len() == 32 && part.chars().all(|c| ('a'..='p').contains(&c)) {
                        out.insert(part.to_owned());
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
            Value::Object(o) => o.values().for_each(|i| walk(i, out)),
            _ => {}
        }
    }
    let mut out = BTreeSet::new();
    resources.iter().for_each(|r| walk(r, &mut out));
    out
}

#[test]
fn one_studys_copies_link_up_two_studies_share_no_pseudonym_and_stopping_unlinks() {
    let dir = tempfile::tempdir().unwrap();
    let mut vault = vault_of(
        &dir.path().join("vault"),
        &[patient_file("Tressa_Bergstrom")],
    );
    let copy_for = |vault: &mut Vault, study: &str, name: &str| {
        let copy = research::prepare(vault, &request(study)).unwrap();
        let out = dir.path().join(name);
        give(vault, &copy, &out);
        read_copy(&out)
    };
    let a1 = copy_for(&mut vault, "STUDY-A", "a1");
    let a2 = copy_for(&mut vault, "STUDY-A", "a2");
    let b1 = copy_for(&mut vault, "STUDY-B", "b1");
    let (pa1, pa2, pb1) = (pseudonyms(&a1), pseudonyms(&a2), pseudonyms(&b1));
    assert!(
        pa1.len() > 100,
        "ids, references and identifiers: {}",
        pa1.len()
    );
    assert_eq!(pa1, pa2, "the same study's copies link up");
    assert_eq!(a1, a2);
    assert!(pa1.is_disjoint(&pb1), "two studies share no pseudonym");
    // Identifier values too (they are pseudonyms, in the same set above).
    let identifier_values = |copy: &[Value]| -> BTreeSet<String> {
        copy.iter()
            .flat_map(|r| r["identifier"].as_array().cloned().unwrap_or_default())
            .map(|i| i["value"].to_string())
            .collect()
    };
    assert!(!identifier_values(&a1).is_empty());
    assert!(identifier_values(&a1).is_disjoint(&identifier_values(&b1)));

    let studies = research::studies(&vault).unwrap();
    assert_eq!(studies.len(), 2);
    assert_eq!(studies[0].copies, 2);
    let stopped = research::stop(&mut vault, "STUDY-A").unwrap();
    assert!(stopped.stopped.is_some());
    assert!(
        share_rows(&vault)
            .iter()
            .any(|r| r["event"] == "study_stopped" && r["study"] == "STUDY-A")
    );
    let preview = research::prepare(&vault, &request("STUDY-A"))
        .unwrap()
        .preview;
    assert!(preview.restarted && !preview.links_to_earlier);
    let a3 = copy_for(&mut vault, "STUDY-A", "a3");
    assert!(
        pseudonyms(&a3).is_disjoint(&pa1),
        "after a stop, a copy no longer links"
    );
    assert!(matches!(
        research::stop(&mut vault, "NEVER-GIVEN"),
        Err(Error::UnknownStudy(_))
    ));
}

#[test]
fn the_preview_is_exactly_what_leaves_and_cancelling_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut vault = vault_of(
        &dir.path().join("vault"),
        &[patient_file("Tressa_Bergstrom")],
    );
    let rows_before = share_rows(&vault).len();

    // Cancelled: the copy is dropped. No file, no row, no study, no secret.
    let copy = research::prepare(&vault, &request("CANCELLED")).unwrap();
    assert!(copy.preview.resources > 100);
    assert!(!copy.preview.examples.is_empty());
    drop(copy);
    assert_eq!(share_rows(&vault).len(), rows_before);
    assert!(research::studies(&vault).unwrap().is_empty());

    // A consent that is not this copy's gives nothing.
    let copy = research::prepare(&vault, &request("HEART-2026")).unwrap();
    let out = dir.path().join("copy");
    assert!(matches!(
        research::export(&mut vault, &copy, &out, &"0".repeat(64)),
        Err(Error::ConsentNotGiven)
    ));
    assert!(!out.exists());
    assert_eq!(share_rows(&vault).len(), rows_before);

    let preview = copy.preview.clone();
    assert!(preview.consent.contains("Heart Study Team") && preview.consent.contains("HEART-2026"));
    assert_eq!(
        preview.consent_sha256,
        ownrecord_core::export::sha256_hex(preview.consent.as_bytes())
    );
    let removed: Vec<&str> = preview.removed.iter().map(|k| k.what.as_str()).collect();
    assert!(
        removed.iter().any(|w| w.starts_with("Names")),
        "{removed:?}"
    );
    assert!(
        removed.iter().any(|w| w.starts_with("Free text")),
        "{removed:?}"
    );
    assert!(
        preview.left_out.iter().any(|t| t.resource_type == "Claim"),
        "bills stay home"
    );

    let written = give(&mut vault, &copy, &out);
    // Byte for byte: the files, and each example row as a line of its type's file.
    for (name, bytes) in copy.files() {
        assert_eq!(std::fs::read(out.join(name)).unwrap(), bytes, "{name}");
    }
    for example in &preview.examples {
        let file =
            std::fs::read_to_string(out.join(format!("{}.ndjson", example.resource_type))).unwrap();
        assert!(
            file.lines().any(|l| l == example.line),
            "{}",
            example.resource_type
        );
    }
    let counts: BTreeMap<String, u64> = preview
        .counts
        .iter()
        .map(|c| (c.resource_type.clone(), c.count))
        .collect();
    for (t, n) in &counts {
        let lines = std::fs::read_to_string(out.join(format!("{t}.ndjson")))
            .unwrap()
            .lines()
            .count();
        assert_eq!(lines as u64, *n, "{t}");
    }

    // The disclosure row: recipient, study, purpose, rules and version, files, consent.
    let rows = share_rows(&vault);
    assert_eq!(rows.len(), rows_before + 1);
    let row = rows.last().unwrap();
    assert_eq!(row["recipient"], "Heart Study Team");
    assert_eq!(row["study"], "HEART-2026");
    assert_eq!(row["purpose"], "research");
    assert_eq!(row["rules"], rules::RULES_VERSION);
    assert_eq!(row["consent_sha256"], preview.consent_sha256);
    assert_eq!(row["content_sha256"], written.manifest_sha256);
    let hashes: BTreeSet<String> = row["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["sha256"].as_str().unwrap().to_owned())
        .collect();
    for (_, bytes) in copy.files() {
        assert!(hashes.contains(&ownrecord_core::export::sha256_hex(bytes)));
    }
    // Listed with the shares, as given (files cannot be taken back).
    let share = vault
        .shares()
        .unwrap()
        .into_iter()
        .find(|s| s.id == written.id)
        .unwrap();
    assert_eq!(share.status, "given");
    assert_eq!(share.purpose, "research");
    assert_eq!(share.study.as_deref(), Some("HEART-2026"));
    // The manifest names the study and rules, and no date.
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["rules"], rules::RULES_VERSION);
    assert_eq!(manifest["study"], "HEART-2026");
}

#[test]
fn a_research_copy_reads_one_persons_record_only() {
    let dir = tempfile::tempdir().unwrap();
    let tressa = patient_file("Tressa_Bergstrom");
    let other = ownrecord_testkit::patient_files()
        .into_iter()
        .find(|f| !f.to_string_lossy().contains("Tressa_Bergstrom"))
        .unwrap();
    let mut vault = vault_of(&dir.path().join("vault"), &[tressa.clone(), other.clone()]);
    let people = vault.people().unwrap();
    assert_eq!(people.len(), 2);
    assert!(matches!(
        research::prepare(&vault, &request("TWO")),
        Err(Error::ChoosePerson(_))
    ));
    for person in &people {
        let copy = research::prepare(
            &vault,
            &ResearchRequest {
                person: Some(person.id),
                ..request("TWO")
            },
        )
        .unwrap();
        let out = dir.path().join(format!("copy-{}", person.id));
        give(&mut vault, &copy, &out);
        let patients = read_copy(&out)
            .into_iter()
            .filter(|r| r["resourceType"] == "Patient")
            .count();
        assert_eq!(patients, 1);
        let counts = vault.summary(Some(person.id)).unwrap();
        let observations = counts
            .by_type
            .iter()
            .find(|t| t.resource_type == "Observation")
            .map_or(0, |t| t.count as u64);
        let copied = copy
            .preview
            .counts
            .iter()
            .find(|t| t.resource_type == "Observation")
            .map_or(0, |t| t.count);
        assert!(
            copied <= observations && copied + 5 >= observations,
            "{copied} of {observations}"
        );
        // And every subject is this person's pseudonym.
        let subject = format!(
            "Patient/{}",
            read_copy(&out)
                .iter()
                .find(|r| r["resourceType"] == "Patient")
                .unwrap()["id"]
                .as_str()
                .unwrap()
        );
        for r in read_copy(&out) {
            for key in ["subject", "patient"] {
                if let Some(reference) = r[key]["reference"].as_str() {
                    assert_eq!(reference, subject);
                }
            }
        }
    }
    // The other's identifying strings are in neither's copy.
    let tressa_copy = dir.path().join(format!(
        "copy-{}",
        people
            .iter()
            .find(|p| p.name.contains("Tressa"))
            .unwrap()
            .id
    ));
    let hits = ownrecord_testkit::scan_dir(&tressa_copy, &identifying(&other));
    assert!(hits.is_empty(), "{hits:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_research_share_packages_the_copy_and_links_to_it_through_a_host() {
    let host = start_host_at(time::OffsetDateTime::now_utc().unix_timestamp()).await;
    let dir = tempfile::tempdir().unwrap();
    let file = patient_file("Tressa_Bergstrom");
    let mut vault = vault_of(&dir.path().join("vault"), std::slice::from_ref(&file));
    vault.add_share_host(&host.base, &host.owner).unwrap();
    let copy = research::prepare(&vault, &request("HEART-2026")).unwrap();
    let out = dir.path().join("heart-study.age");
    let shared = research::share(
        &mut vault,
        &copy,
        &copy.preview.consent_sha256,
        None,
        Some(&via(&host.base, None)),
        &out,
    )
    .await
    .unwrap();

    // The package opens with Debian's age and holds the same files.
    let tar = dir.path().join("package.tar");
    assert!(checkers::age_decrypt(&out, &shared.passcode, &tar));
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
    for (name, bytes) in copy.files() {
        let name = if name == research::MANIFEST_NAME {
            research::PACKAGED_MANIFEST
        } else {
            name
        };
        assert_eq!(std::fs::read(unpacked.join(name)).unwrap(), bytes, "{name}");
    }
    assert!(ownrecord_testkit::scan_dir(&unpacked, &identifying(&file)).is_empty());

    // The link resolves, with kill-the-clipboard, to one Bundle of the same resources.
    let link = shared.link.as_ref().unwrap();
    let report = checkers::resolve_shl(&link.text).unwrap();
    let bundle = &report["files"][0]["content"];
    assert_eq!(bundle["type"], "collection", "{report}");
    let entries = bundle["entry"].as_array().unwrap();
    assert_eq!(entries.len() as u64, copy.preview.resources);
    let text = bundle.to_string();
    for needle in identifying(&file) {
        assert!(!text.contains(&needle), "{needle}");
    }
    let rows = share_rows(&vault);
    let row = rows
        .iter()
        .rev()
        .find(|r| r["event"] == "completed")
        .unwrap();
    assert_eq!(row["study"], "HEART-2026");
    assert_eq!(row["consent_sha256"], copy.preview.consent_sha256);
    assert!(row["what"].as_str().unwrap().contains("research copy"));
}
