//! The entry reader over every Synthea sample patient: each resource of a patient-compartment
//! type belongs to exactly one Patient, names itself, and carries only valid dates.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use ownrecord_fhir::{
    Demographics, Entry, Kind, Match, Subject, clinical_date, in_patient_compartment,
};
use serde_json::Value;

/// `$OWNRECORD_SAMPLE_DATA`, or `shared/data/synthea` beside the repository.
fn sample_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("OWNRECORD_SAMPLE_DATA") {
        return dir.into();
    }
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/synthea");
    assert!(
        dir.is_dir(),
        "sample data not found at {} (set OWNRECORD_SAMPLE_DATA)",
        dir.display()
    );
    dir
}

/// What import does before reading: `reference`s to a bundle entry's `urn:uuid:` fullUrl become
/// `Type/id`.
fn resolve_bundle_references(value: &mut Value, by_full_url: &HashMap<String, String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                match v {
                    Value::String(s) if key == "reference" => {
                        if let Some(local) = by_full_url.get(s.as_str()) {
                            *s = local.clone();
                        }
                    }
                    other => resolve_bundle_references(other, by_full_url),
                }
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|v| resolve_bundle_references(v, by_full_url)),
        _ => {}
    }
}

#[test]
fn every_synthea_resource_reads_as_an_entry_of_one_patient() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(sample_dir())
        .expect("sample dir is readable")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(files.len() > 20, "the sample patients are there");

    let mut kinds: BTreeMap<Kind, usize> = BTreeMap::new();
    let mut problems: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut patients = 0;
    let mut people: Vec<(Demographics, Demographics)> = Vec::new();
    for file in &files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let bundle: Value = serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
        let entries = bundle["entry"].as_array().expect("a Bundle with entries");
        let by_full_url: HashMap<String, String> = entries
            .iter()
            .filter_map(|e| {
                let full_url = e.get("fullUrl")?.as_str()?;
                let r = &e["resource"];
                let local = format!("{}/{}", r["resourceType"].as_str()?, r["id"].as_str()?);
                Some((full_url.to_owned(), local))
            })
            .collect();
        let patient_id = entries.iter().find_map(|e| {
            let r = &e["resource"];
            (r["resourceType"] == "Patient").then(|| r["id"].as_str().unwrap().to_owned())
        });
        for e in entries {
            let mut resource = e["resource"].clone();
            resolve_bundle_references(&mut resource, &by_full_url);
            let resource_type = resource["resourceType"].as_str().unwrap().to_owned();
            let id = resource["id"].as_str().unwrap_or("?").to_owned();
            let entry = Entry::read(&resource);
            *kinds.entry(entry.kind).or_default() += 1;
            let mut problem = |what: String| {
                problems
                    .entry(format!("{resource_type}: {what}"))
                    .or_default()
                    .push(format!("{name} {resource_type}/{id}"));
            };

            if in_patient_compartment(&resource_type) {
                match &entry.subject {
                    Subject::Itself(own) => {
                        patients += 1;
                        assert_eq!(Some(own), patient_id.as_ref());
                        // The same person as a portal would send them: no digits, no ids.
                        let synthea = Demographics::of(&resource);
                        let mut portal = synthea.clone();
                        portal.identifiers.clear();
                        portal.family = portal.family.map(|f| f.replace(char::is_numeric, ""));
                        portal.given = portal
                            .given
                            .iter()
                            .map(|g| g.replace(char::is_numeric, "").to_uppercase())
                            .collect();
                        people.push((synthea, portal));
                    }
                    Subject::Patient(p) if Some(p) == patient_id.as_ref() => {}
                    other => problem(format!("subject {other:?}")),
                }
            } else if entry.subject != Subject::Shared {
                problem(format!(
                    "subject {:?} outside the compartment",
                    entry.subject
                ));
            }
            if entry.display.is_empty() {
                problem("no display".into());
            }
            if entry.display == resource_type && resource_type != "Patient" {
                problem("display falls back to the type".into());
            }
            match (clinical_date(&resource), &entry.date) {
                (Some(text), None) => problem(format!("invalid clinical date {text:?}")),
                // Synthea's Goals carry no date at all (no startDate, no statusDate).
                (None, None)
                    if in_patient_compartment(&resource_type) && resource_type != "Goal" =>
                {
                    problem("no clinical date".into())
                }
                _ => {}
            }
            if entry.kind == Kind::Lab || entry.kind == Kind::Vital {
                assert_eq!(resource_type, "Observation");
            }
            if entry.value.is_some() && entry.codes.is_empty() {
                problem("a value without codes".into());
            }
        }
    }
    eprintln!("kinds: {kinds:?}");
    for (problem, where_) in &problems {
        eprintln!("{problem}: {} (e.g. {})", where_.len(), where_[0]);
    }
    assert_eq!(patients, 22, "one Patient per sample patient file");
    for (i, (a, _)) in people.iter().enumerate() {
        for (j, (b, portal)) in people.iter().enumerate() {
            let expected = if i == j {
                Match::Same
            } else {
                Match::Different
            };
            assert_eq!(a.matches(b), expected, "{a:?} / {b:?}");
            assert_eq!(a.matches(portal), expected, "{a:?} / {portal:?}");
        }
    }
    for kind in [
        Kind::Lab,
        Kind::Vital,
        Kind::Observation,
        Kind::Claim,
        Kind::Medication,
    ] {
        assert!(kinds.get(&kind).is_some_and(|n| *n > 0), "{kind:?}");
    }
    assert!(problems.is_empty(), "{problems:#?}");
}
