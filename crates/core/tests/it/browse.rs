//! The app's read views over a real vault: pages of the timeline and of categories, one resource
//! as received, and a lab test's series.

use ownrecord_core::Error;
use ownrecord_core::vault::browse::Category;
use ownrecord_core::vault::people::PersonChoice;

use crate::{keyring_vault, no_progress};

#[test]
fn pages_categories_details_and_lab_series() {
    let dir = tempfile::tempdir().unwrap();
    let mut vault = keyring_vault(dir.path());
    let patient = ownrecord_testkit::patient_files()
        .into_iter()
        .find(|f| f.to_string_lossy().contains("Margery"))
        .unwrap();
    vault
        .import_file(&patient, PersonChoice::New, &mut no_progress())
        .unwrap();
    let person = vault.reading_person(None).unwrap();
    let bundle = ownrecord_testkit::read_json(&patient);
    // The person's own resources: the bundle's shared ones (organizations, practitioners) are
    // nobody's and are not on their timeline.
    let entries: Vec<&serde_json::Value> = bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            ownrecord_core::fhir::in_patient_compartment(
                e["resource"]["resourceType"].as_str().unwrap(),
            )
        })
        .collect();

    // Bills and claims are apart from the clinical timeline.
    let is_bill = |e: &serde_json::Value| {
        matches!(
            e["resource"]["resourceType"].as_str(),
            Some("Claim" | "ExplanationOfBenefit")
        )
    };
    let bills = entries.iter().filter(|e| is_bill(e)).count();
    assert!(bills > 0);
    assert_eq!(
        vault.list(person, Category::Bills, 0, 1).unwrap().total as usize,
        bills
    );
    let entries: Vec<&serde_json::Value> = entries.into_iter().filter(|e| !is_bill(e)).collect();

    // The timeline pages through everything, newest first, without repeats.
    let mut seen = std::collections::BTreeSet::new();
    let mut dates = Vec::new();
    let mut offset = 0;
    loop {
        let page = vault.list(person, Category::Timeline, offset, 100).unwrap();
        assert_eq!(page.total as usize, entries.len());
        if page.items.is_empty() {
            break;
        }
        for item in &page.items {
            assert!(seen.insert((item.resource_type.clone(), item.id.clone())));
            dates.push(item.date.clone());
        }
        offset += page.items.len() as i64;
    }
    assert_eq!(seen.len(), entries.len());
    let dated: Vec<&String> = dates.iter().flatten().collect();
    assert!(dated.windows(2).all(|w| w[0] >= w[1]), "newest first");

    // Categories hold what they say.
    let labs = vault.list(person, Category::Labs, 0, 500).unwrap();
    let lab_count = entries
        .iter()
        .filter(|e| e["resource"]["resourceType"] == "Observation")
        .filter(|e| {
            e["resource"]["category"]
                .to_string()
                .contains("\"laboratory\"")
        })
        .count();
    assert_eq!(labs.total as usize, lab_count);
    assert!(
        labs.items
            .iter()
            .all(|i| i.resource_type == "Observation" && i.code.is_some())
    );
    let problems = vault.list(person, Category::Problems, 0, 500).unwrap();
    assert!(
        problems
            .items
            .iter()
            .all(|i| i.resource_type == "Condition")
    );

    // One resource, exactly as received, with its source.
    let first = &labs.items[0];
    let detail = vault
        .resource(person, &first.resource_type, &first.id)
        .unwrap();
    let original = entries
        .iter()
        .find(|e| e["resource"]["id"] == first.id.as_str())
        .unwrap();
    let stored: serde_json::Value = serde_json::from_str(&detail.json).unwrap();
    assert_eq!(stored["code"], original["resource"]["code"]);
    assert_eq!(detail.source_kind, "file");
    assert!(matches!(
        vault.resource(person, "Patient", "no-such-id"),
        Err(Error::NoSuchResource(_))
    ));

    // A lab code's series: every numeric result of that code, oldest first.
    let code = first.code.clone().unwrap();
    let series = vault.lab_series(person, &code).unwrap();
    let expected = entries
        .iter()
        .map(|e| &e["resource"])
        .filter(|r| r["code"]["coding"][0]["code"] == code.as_str())
        .filter(|r| r["valueQuantity"]["value"].is_number())
        .count();
    let [measure] = series.measures.as_slice() else {
        panic!("one measure: {series:?}")
    };
    assert_eq!(measure.points.len(), expected);
    assert!(measure.points.windows(2).all(|w| w[0].date <= w[1].date));
    assert!(matches!(
        vault.lab_series(person, "no-such-code"),
        Err(Error::NoSuchResource(_))
    ));
}

/// The visits view: every Encounter once, on its day, holding exactly the entries that name it
/// (whatever their own date); the rest on their own day; no bills anywhere.
#[test]
fn visits_hold_what_happened_at_each_and_every_entry_appears_once() {
    use std::collections::{BTreeMap, BTreeSet};
    let dir = tempfile::tempdir().unwrap();
    let mut vault = crate::keyring_vault(dir.path());
    let patient = ownrecord_testkit::patient_files()
        .into_iter()
        .find(|f| f.to_string_lossy().contains("Tressa_Bergstrom"))
        .unwrap();
    for file in ownrecord_testkit::support_files().iter().chain([&patient]) {
        vault
            .import_file(file, PersonChoice::New, &mut crate::no_progress())
            .unwrap();
    }
    let person = vault.reading_person(None).unwrap();
    let bundle = ownrecord_testkit::read_json(&patient);
    // From the file: each resource's visit (its `encounter`, a urn:uuid of the Bundle).
    let mut at_visit: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut encounters = BTreeSet::new();
    let mut clinical = 0;
    for entry in bundle["entry"].as_array().unwrap() {
        let r = &entry["resource"];
        let t = r["resourceType"].as_str().unwrap();
        if !ownrecord_core::fhir::in_patient_compartment(t)
            || matches!(t, "Claim" | "ExplanationOfBenefit" | "Patient")
        {
            continue;
        }
        clinical += 1;
        if t == "Encounter" {
            encounters.insert(r["id"].as_str().unwrap().to_owned());
        } else if let Some(reference) = r["encounter"]["reference"].as_str() {
            let id = reference
                .trim_start_matches("urn:uuid:")
                .trim_start_matches("Encounter/");
            at_visit
                .entry(id.to_owned())
                .or_default()
                .insert(format!("{t}/{}", r["id"].as_str().unwrap()));
        }
    }
    assert!(encounters.len() > 10 && !at_visit.is_empty());

    let mut seen_visits = BTreeSet::new();
    let mut seen = BTreeSet::new();
    let mut offset = 0;
    let mut last_day = String::from("9999");
    loop {
        let page = vault.visits(person, offset, 7).unwrap();
        if page.days.is_empty() {
            break;
        }
        for day in &page.days {
            assert!(
                day.day < last_day,
                "days newest first, each once (undated last)"
            );
            last_day = day.day.clone();
            for visit in &day.visits {
                assert_eq!(visit.visit.resource_type, "Encounter");
                assert!(visit.visit.date.as_deref().unwrap().starts_with(&day.day));
                assert!(seen_visits.insert(visit.visit.id.clone()));
                assert!(!visit.places.is_empty(), "where: {:?}", visit.visit);
                let held: BTreeSet<String> = [
                    &visit.diagnoses,
                    &visit.results,
                    &visit.medicines,
                    &visit.procedures,
                    &visit.notes,
                    &visit.other,
                ]
                .into_iter()
                .flatten()
                .map(|i| format!("{}/{}", i.resource_type, i.id))
                .collect();
                let expected = at_visit.get(&visit.visit.id).cloned().unwrap_or_default();
                assert_eq!(held, expected, "visit {}", visit.visit.id);
                assert!(
                    visit
                        .diagnoses
                        .iter()
                        .all(|i| i.resource_type == "Condition")
                );
                assert!(visit.results.iter().all(|i| matches!(
                    i.resource_type.as_str(),
                    "Observation" | "DiagnosticReport"
                )));
                assert!(seen.insert(format!("Encounter/{}", visit.visit.id)));
                for key in held {
                    assert!(seen.insert(key), "an entry in two places");
                }
            }
            for item in &day.other {
                assert!(
                    item.date
                        .as_deref()
                        .unwrap_or_default()
                        .starts_with(&day.day)
                );
                assert!(!matches!(
                    item.resource_type.as_str(),
                    "Claim" | "ExplanationOfBenefit"
                ));
                assert!(seen.insert(format!("{}/{}", item.resource_type, item.id)));
            }
        }
        assert!(page.total_days > 0);
        offset += page.days.len() as i64;
    }
    assert_eq!(seen_visits, encounters);
    assert_eq!(seen.len(), clinical, "every clinical entry once");
}
