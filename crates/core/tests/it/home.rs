//! The home reads only what it shows, and what it shows is the PDF summary's own rows: every
//! allergy, active medication and problem; the newest of each dated section; the latest vital
//! signs; and, of the results, those out of range.

use ownrecord_core::Vault;
use ownrecord_core::export::summary::Table;
use ownrecord_core::export::{self, Section, Selection};
use ownrecord_core::vault::home::{Home, HomeTable};
use ownrecord_core::vault::people::PersonChoice;
use serde_json::json;

use crate::{keyring_vault, no_progress};

fn home_table(home: &Home, section: Section) -> &HomeTable {
    home.tables.iter().find(|t| t.section == section).unwrap()
}

fn summary_table(summary: &export::summary::Summary, section: Section) -> &Table {
    &summary
        .sections
        .iter()
        .find(|s| s.section == section)
        .unwrap()
        .table
}

/// Each row as its cells' text and the resource it shows.
fn home_rows(table: &HomeTable) -> Vec<(Vec<String>, String)> {
    table
        .rows
        .iter()
        .map(|r| (r.cells.clone(), r.resource.clone()))
        .collect()
}

fn pdf_rows<'a>(table: &'a Table) -> impl Iterator<Item = (Vec<String>, String)> + 'a {
    table.rows.iter().map(|r| {
        (
            r.cells.iter().map(|c| c.text.clone()).collect(),
            r.resource.clone(),
        )
    })
}

fn pdf_summary(vault: &Vault, person: i64) -> export::summary::Summary {
    let selection = Selection {
        person: Some(person),
        ..Selection::default()
    };
    export::summarize(vault, &selection).unwrap().1
}

/// For sample people of every size, the home's rows are the summary's: whole for allergies,
/// medications and problems, the newest for visits, procedures and immunizations (with how many
/// there are), the same latest readings of each vital sign.
#[test]
fn the_home_shows_the_pdf_summary_rows_it_chooses() {
    let dir = tempfile::tempdir().unwrap();
    let mut vault = keyring_vault(&dir.path().join("vault"));
    for file in ownrecord_testkit::support_files() {
        vault
            .import_file(&file, PersonChoice::Auto, &mut no_progress())
            .unwrap();
    }
    for file in ownrecord_testkit::patient_files().iter().take(6) {
        vault
            .import_file(file, PersonChoice::New, &mut no_progress())
            .unwrap();
    }
    let mut visits_cut = false;
    for person in vault.people().unwrap() {
        let home = vault.home(Some(person.id)).unwrap();
        let pdf = pdf_summary(&vault, person.id);
        for section in [
            Section::Allergies,
            Section::Medications,
            Section::Problems,
            Section::Vitals,
        ] {
            assert_eq!(
                home_rows(home_table(&home, section)),
                pdf_rows(summary_table(&pdf, section)).collect::<Vec<_>>(),
                "{section:?} of person {}",
                person.id
            );
        }
        for (section, newest) in [
            (Section::Visits, 10),
            (Section::Procedures, 10),
            (Section::Immunizations, 10),
        ] {
            let all: Vec<_> = pdf_rows(summary_table(&pdf, section)).collect();
            let shown = home_rows(home_table(&home, section));
            assert_eq!(shown, all[..all.len().min(newest)], "{section:?}");
            let total = vault
                .summary(Some(person.id))
                .unwrap()
                .by_type
                .iter()
                .find(|t| {
                    t.resource_type
                        == match section {
                            Section::Visits => "Encounter",
                            Section::Procedures => "Procedure",
                            _ => "Immunization",
                        }
                })
                .map_or(0, |t| t.count);
            if i64::try_from(shown.len()).unwrap() < total {
                assert_eq!(
                    home_table(&home, section).note.as_deref(),
                    Some(
                        format!(
                            "The {} most recent of {total} {}.",
                            shown.len(),
                            section.title().to_lowercase().replace("recent ", "")
                        )
                        .as_str()
                    ),
                );
                visits_cut |= section == Section::Visits;
            }
        }
    }
    assert!(visits_cut, "no sample person has more than 10 visits");
}

fn lab(id: &str, date: &str, value: f64, extra: serde_json::Value) -> serde_json::Value {
    let mut lab = json!({
        "resourceType": "Observation", "id": id, "status": "final",
        "category": [{ "coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": "laboratory" }] }],
        "code": { "coding": [{ "system": "http://loinc.org", "code": "2345-7" }], "text": format!("Glucose {id}") },
        "subject": { "reference": "Patient/p1" },
        "effectiveDateTime": date,
        "valueQuantity": { "value": value, "unit": "mg/dL" }
    });
    for (key, value) in extra.as_object().unwrap() {
        lab[key] = value.clone();
    }
    lab
}

/// Of the results of the two years up to the newest one, the home lists those out of range
/// however the record says so (a value outside its range, an interpretation, a component out of
/// range) and no other, and says how many it looked through.
#[test]
fn the_home_lists_the_results_out_of_range_and_how_many_it_checked() {
    let range = json!({ "referenceRange": [{ "low": { "value": 70 }, "high": { "value": 99 } }] });
    let high = json!({ "interpretation": [{ "coding": [{ "code": "H" }] }] });
    let normal = json!({ "interpretation": [{ "coding": [{ "code": "N" }] }] });
    let component = json!({ "component": [{
        "code": { "text": "part" },
        "valueQuantity": { "value": 5 },
        "referenceRange": [{ "high": { "value": 3 } }]
    }] });
    let resources = vec![
        json!({ "resourceType": "Patient", "id": "p1", "name": [{ "family": "Range", "given": ["Ada"] }], "birthDate": "1960-01-01" }),
        lab("over-range", "2026-10-01", 180.0, range.clone()),
        lab("in-range", "2026-10-02", 80.0, range.clone()),
        lab("said-high", "2026-09-01", 80.0, high),
        lab("said-normal", "2026-09-02", 300.0, normal),
        lab("part-high", "2026-08-01", 1.0, component),
        lab("no-range", "2026-07-01", 500.0, json!({})),
        // Out of range, but more than two years before the newest result.
        lab("long-ago", "2023-01-01", 200.0, range),
    ];
    let bundle = json!({
        "resourceType": "Bundle", "type": "collection",
        "entry": resources.into_iter().map(|r| json!({ "resource": r })).collect::<Vec<_>>()
    });
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("labs.json");
    std::fs::write(&file, bundle.to_string()).unwrap();
    let mut vault = keyring_vault(&dir.path().join("vault"));
    vault
        .import_file(&file, PersonChoice::Auto, &mut no_progress())
        .unwrap();
    let person = vault.reading_person(None).unwrap();
    let home = vault.home(Some(person)).unwrap();
    let results = home_table(&home, Section::Results);
    let shown: Vec<&str> = results.rows.iter().map(|r| r.resource.as_str()).collect();
    assert_eq!(
        shown,
        [
            "Observation/over-range",
            "Observation/said-high",
            "Observation/part-high"
        ]
    );
    assert_eq!(
        results.note.as_deref(),
        Some(
            "Out of range, of the 6 results of the two years up to the newest one (since 2024-10-02)."
        )
    );
    // The same rows the PDF flags.
    let pdf = pdf_summary(&vault, person);
    let flagged: Vec<_> = summary_table(&pdf, Section::Results)
        .rows
        .iter()
        .filter(|r| r.cells.iter().any(|c| c.strong))
        .map(|r| {
            (
                r.cells.iter().map(|c| c.text.clone()).collect::<Vec<_>>(),
                r.resource.clone(),
            )
        })
        .collect();
    assert_eq!(home_rows(results), flagged);
}
