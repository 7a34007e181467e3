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
    assert_eq!(series.points.len(), expected);
    assert!(series.points.windows(2).all(|w| w[0].date <= w[1].date));
    assert!(matches!(
        vault.lab_series(person, "no-such-code"),
        Err(Error::NoSuchResource(_))
    ));
}
