//! One person, one record: people from Patients, "who is this?", duplicates across sources, and
//! every export reading one person only.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use ownrecord_core::Error;
use ownrecord_core::export::{self, Section, Selection, ShareRequest};
use ownrecord_core::vault::browse::Category;
use ownrecord_core::vault::people::PersonChoice;
use ownrecord_testkit::{checkers, patient_files, phi_strings, read_json, support_files};
use serde_json::Value;

use crate::{keyring_vault, no_progress};

/// `Type/id` of every resource in a Synthea bundle.
fn keys_of(bundle: &Path) -> BTreeSet<String> {
    read_json(bundle)["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{}/{}",
                e["resource"]["resourceType"].as_str().unwrap(),
                e["resource"]["id"].as_str().unwrap()
            )
        })
        .collect()
}

/// The 22 sample patients in one vault are 22 people, and each one's PDF, IPS and share
/// package hold only their own resources and nobody else's name or identifier.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sample_patients_are_separate_people_in_every_export() {
    let dir = tempfile::tempdir().unwrap();
    let mut vault = keyring_vault(&dir.path().join("vault"));
    for file in support_files() {
        vault
            .import_file(&file, PersonChoice::Auto, &mut no_progress())
            .unwrap();
    }
    let patients = patient_files();
    assert_eq!(patients.len(), 22);
    let mut person_of: BTreeMap<i64, PathBuf> = BTreeMap::new();
    for (i, file) in patients.iter().enumerate() {
        let choice = if i == 0 {
            PersonChoice::Auto
        } else {
            // Automatic matching never takes one sample patient for another.
            let err = vault
                .import_file(file, PersonChoice::Auto, &mut no_progress())
                .unwrap_err();
            assert!(matches!(err, Error::WhoIsThis { .. }), "{err}");
            PersonChoice::New
        };
        let report = vault.import_file(file, choice, &mut no_progress()).unwrap();
        assert_eq!(report.people.len(), 1);
        person_of.insert(report.people[0].person, file.clone());
    }
    let people = vault.people().unwrap();
    assert_eq!(people.len(), 22);

    let shared: BTreeSet<String> = support_files().iter().flat_map(|f| keys_of(f)).collect();
    let shared_text: String = support_files()
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap())
        .collect();
    let out = tempfile::tempdir().unwrap();
    for person in &people {
        let own_file = &person_of[&person.id];
        let own = keys_of(own_file);
        // Everyone else's names, addresses, phone numbers and identifiers, except strings this
        // person's own record or the shared files hold too (family members share a family name,
        // a mother's maiden name can be another patient's family name, clinicians have names).
        let own_text = std::fs::read_to_string(own_file).unwrap();
        let others: Vec<String> = phi_strings(
            &patients
                .iter()
                .filter(|f| *f != own_file)
                .cloned()
                .collect::<Vec<_>>(),
        )
        .into_iter()
        .filter(|s| !own_text.contains(s.as_str()) && !shared_text.contains(s.as_str()))
        .collect();
        assert!(others.len() > 100, "{}", others.len());
        let selection = Selection {
            person: Some(person.id),
            ..Selection::default()
        };

        // Every row of the summary (the PDF's tables) is one of this person's resources.
        let (record, summary) = export::summarize(&vault, &selection).unwrap();
        assert_eq!(record.person.id, person.id);
        for section in &summary.sections {
            for resource in section.table.resources() {
                assert!(
                    own.contains(resource),
                    "{resource} in {}'s {:?}",
                    person.id,
                    section.section
                );
            }
        }
        let pdf = out.path().join(format!("{}.pdf", person.id));
        export::export_pdf(&mut vault, &selection, &pdf).unwrap();
        let text = checkers::pdf_text(&pdf);
        for needle in &others {
            assert!(
                !text.contains(needle.as_str()),
                "{needle} in {}'s PDF",
                person.id
            );
        }

        // Every entry of the IPS is theirs (or a shared organization / practitioner / medication).
        let ips = out.path().join(format!("{}.ips.json", person.id));
        export::export_ips(&mut vault, &selection, &ips).unwrap();
        let bundle = read_json(&ips);
        for entry in bundle["entry"].as_array().unwrap() {
            let r = &entry["resource"];
            let key = format!(
                "{}/{}",
                r["resourceType"].as_str().unwrap(),
                r["id"].as_str().unwrap()
            );
            assert!(
                r["resourceType"] == "Composition" || own.contains(&key) || shared.contains(&key),
                "{key} in {}'s IPS",
                person.id
            );
        }
        let ips_bytes = std::fs::read(&ips).unwrap();
        for needle in &others {
            assert!(
                !ownrecord_testkit::contains(&ips_bytes, needle.as_bytes()),
                "{needle} in {}'s IPS",
                person.id
            );
        }

        // The share package (age), opened with the age tool: the same holds for all of it.
        if person.id % 4 == 0 {
            let package = out.path().join(format!("{}.age", person.id));
            let shared = export::share(
                &mut vault,
                &ShareRequest {
                    recipient: "Dr. Test".into(),
                    purpose: "care".into(),
                    selection: selection.clone(),
                    expires_in_days: None,
                    link: None,
                },
                &package,
            )
            .await
            .unwrap();
            let opened = out.path().join(format!("{}.tar", person.id));
            assert!(checkers::age_decrypt(&package, &shared.passcode, &opened));
            let tar = std::fs::read(&opened).unwrap();
            for needle in &others {
                assert!(
                    !ownrecord_testkit::contains(&tar, needle.as_bytes()),
                    "{needle} in {}'s share package",
                    person.id
                );
            }
        }
    }
}

/// A demo patient's file, with every resource id (and every reference to it) rewritten, and the
/// lab value of `change_lab` (an Observation id) changed to 999.
fn rewritten_copy(original: &Path, prefix: &str, change_lab: Option<&str>, out: &Path) -> PathBuf {
    let text = std::fs::read_to_string(original).unwrap();
    let bundle: Value = serde_json::from_str(&text).unwrap();
    let mut text = text;
    for entry in bundle["entry"].as_array().unwrap() {
        let id = entry["resource"]["id"].as_str().unwrap();
        text = text.replace(id, &format!("{prefix}{id}"));
    }
    let mut bundle: Value = serde_json::from_str(&text).unwrap();
    if let Some(lab) = change_lab {
        let target = format!("{prefix}{lab}");
        for entry in bundle["entry"].as_array_mut().unwrap() {
            if entry["resource"]["id"] == target.as_str() {
                entry["resource"]["valueQuantity"]["value"] = serde_json::json!(999);
            }
        }
    }
    let path = out.join(format!("{prefix}copy.json"));
    std::fs::write(&path, serde_json::to_vec(&bundle).unwrap()).unwrap();
    path
}

/// One patient from the demo portal and from a file (every id rewritten) is one person; each fact
/// shows once and names both sources; a third copy with one lab value changed keeps that value
/// as its own row.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_patient_from_two_sources_is_one_person_with_duplicates_shown_once() {
    let portal = crate::portal::start(ownrecord_demo_portal::Options::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let mut vault = keyring_vault(&dir.path().join("vault"));
    let connection = crate::portal::connect(&mut vault, &portal).await;
    vault
        .sync(connection.id, crate::portal::fast_retries(), &mut |_| {})
        .await
        .unwrap();
    let person = vault.reading_person(None).unwrap();
    let before: BTreeMap<Category, i64> =
        [Category::Problems, Category::Labs, Category::Medications]
            .into_iter()
            .map(|c| (c, vault.list(person, c, 0, 1).unwrap().total))
            .collect();
    assert!(before.values().all(|n| *n > 0), "{before:?}");
    let problem_rows = export::summarize(&vault, &Selection::default())
        .unwrap()
        .1
        .sections
        .iter()
        .find(|s| s.section == Section::Problems)
        .unwrap()
        .table
        .rows
        .len();

    // The same patient's own file, every id different: matched automatically.
    let original =
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/demo-patients"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| {
                std::fs::read_to_string(p)
                    .unwrap()
                    .contains(&format!("\"id\": \"{}\"", connection.patient_id))
            })
            .expect("the signed-in patient's bundle");
    let files = tempfile::tempdir().unwrap();
    let copy = rewritten_copy(&original, "copy-", None, files.path());
    let report = vault
        .import_file(&copy, PersonChoice::Auto, &mut no_progress())
        .unwrap();
    assert_eq!(report.people.len(), 1);
    assert_eq!(report.people[0].person, person);
    assert_eq!(vault.people().unwrap().len(), 1);
    assert_eq!(vault.person(person).unwrap().sources.len(), 2);

    // Each fact once, naming both sources.
    for (category, total) in &before {
        let page = vault.list(person, *category, 0, 5000).unwrap();
        assert_eq!(page.total, *total, "{category:?} shown once");
        assert!(
            page.items.iter().all(|i| i.source.contains(", ")),
            "{category:?}: every item lists both sources"
        );
    }
    let (record, summary) = export::summarize(&vault, &Selection::default()).unwrap();
    let problems = summary
        .sections
        .iter()
        .find(|s| s.section == Section::Problems)
        .unwrap();
    for row in &problems.table.rows {
        assert_eq!(
            record.sources_of(&row.resource).len(),
            2,
            "{}",
            row.resource
        );
    }
    assert_eq!(
        problems.table.rows.len(),
        problem_rows,
        "each problem once in the PDF's table"
    );
    for row in &problems.table.rows {
        assert!(row.cells[4].text.contains("From "), "{:?}", row.cells[4]);
    }

    // A third copy with one lab value changed: that result is its own row, the rest stay merged.
    let lab = vault.list(person, Category::Labs, 0, 1).unwrap().items[0].clone();
    let lab_id = lab.id.trim_start_matches("copy-").to_owned();
    let changed = rewritten_copy(&original, "third-", Some(&lab_id), files.path());
    vault
        .import_file(&changed, PersonChoice::Auto, &mut no_progress())
        .unwrap();
    let labs = vault.list(person, Category::Labs, 0, 5000).unwrap();
    assert_eq!(
        labs.total,
        before[&Category::Labs] + 1,
        "the changed value is a row of its own"
    );
    assert!(labs.items.iter().any(|i| i.id == format!("third-{lab_id}")
        && i.detail.as_deref().is_some_and(|d| d.starts_with("999"))));
    assert_eq!(
        vault.list(person, Category::Problems, 0, 1).unwrap().total,
        before[&Category::Problems]
    );
}

fn patient_file(dir: &Path, name: &str, id: &str, birth: &str) -> PathBuf {
    let path = dir.join(name);
    let bundle = serde_json::json!({"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": {"resourceType": "Patient", "id": id, "gender": "female", "birthDate": birth,
            "name": [{"family": "Garcia", "given": ["Maria"]}]}},
        {"resource": {"resourceType": "Condition", "id": format!("{id}-c"), "subject": {"reference": format!("Patient/{id}")},
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "195967001", "display": "Asthma"}]},
            "onsetDateTime": "2020-01-01"}}
    ]});
    std::fs::write(&path, serde_json::to_vec(&bundle).unwrap()).unwrap();
    path
}

/// Same name, another birth date: never linked automatically; nothing is imported until the
/// patient says who it is, and both answers work.
#[test]
fn same_name_other_birth_date_is_never_linked_automatically() {
    let dir = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let mut vault = keyring_vault(dir.path());
    let mother = patient_file(files.path(), "mother.json", "m1", "1970-03-04");
    vault
        .import_file(&mother, PersonChoice::Auto, &mut no_progress())
        .unwrap();
    let daughter = patient_file(files.path(), "daughter.json", "d1", "2001-03-04");
    let before = vault.summary(None).unwrap();
    let audit_before = vault.audit_entries(&Default::default()).unwrap().len();
    let err = vault
        .import_file(&daughter, PersonChoice::Auto, &mut no_progress())
        .unwrap_err();
    assert!(matches!(err, Error::WhoIsThis { .. }), "{err}");
    // The core says what to decide; the CLI adds its --person hint (crates/cli/src/hints.rs).
    assert!(err.to_string().contains("someone new"), "{err}");
    assert!(
        !err.to_string().contains("Garcia"),
        "no names in errors: {err}"
    );
    assert_eq!(vault.summary(None).unwrap(), before, "nothing imported");
    assert_eq!(
        vault.audit_entries(&Default::default()).unwrap().len(),
        audit_before
    );

    // --person new: a second person.
    vault
        .import_file(&daughter, PersonChoice::New, &mut no_progress())
        .unwrap();
    assert_eq!(vault.people().unwrap().len(), 2);
    // Same birth date and name again, from another file: matched to the mother by itself.
    let again = patient_file(files.path(), "mother-again.json", "m2", "1970-03-04");
    let report = vault
        .import_file(&again, PersonChoice::Auto, &mut no_progress())
        .unwrap();
    let mother_id = vault.people().unwrap()[0].id;
    assert_eq!(report.people[0].person, mother_id);
    // --person ID: linked where the patient says.
    let other = patient_file(files.path(), "other.json", "x1", "1999-09-09");
    let report = vault
        .import_file(
            &other,
            PersonChoice::Existing(mother_id),
            &mut no_progress(),
        )
        .unwrap();
    assert_eq!(report.people[0].person, mother_id);
    assert_eq!(vault.people().unwrap().len(), 2);
    // Each one's search finds only their own asthma.
    for person in vault.people().unwrap() {
        let hits = vault.search(person.id, "asthma", 10).unwrap();
        let own: BTreeSet<String> = person
            .sources
            .iter()
            .map(|s| format!("{}-c", s.patient_id))
            .collect();
        assert!(!hits.is_empty());
        assert!(
            hits.iter().all(|h| own.contains(&h.id)),
            "{hits:?} of {}",
            person.id
        );
    }
    // With two people a read must say whose.
    assert!(matches!(vault.reading_person(None), Err(Error::ChoosePerson(ids)) if ids.len() == 2));

    // Split the wrongly linked file off, link it back, remove the daughter.
    let source = vault.people().unwrap()[0]
        .sources
        .iter()
        .find(|s| s.name == "other.json")
        .unwrap()
        .id;
    let split = vault.unlink_source(mother_id, source).unwrap();
    assert_eq!(vault.people().unwrap().len(), 3);
    assert_eq!(
        vault.list(split, Category::Problems, 0, 10).unwrap().total,
        1
    );
    vault.link_people(mother_id, split).unwrap();
    let daughter_id = vault.people().unwrap()[1].id;
    let deleted = vault.remove_person(daughter_id).unwrap();
    assert_eq!(deleted, 2);
    assert_eq!(vault.people().unwrap().len(), 1);
}

/// A file of one Patient with the given problems, `(id, name, onset date)`.
fn problems_file(dir: &Path, id: &str, birth: &str, problems: &[(&str, &str, &str)]) -> PathBuf {
    let mut entry = vec![
        serde_json::json!({"resource": {"resourceType": "Patient", "id": id,
        "gender": "female", "birthDate": birth, "name": [{"family": "Garcia", "given": ["Maria"]}]}}),
    ];
    for (problem, name, onset) in problems {
        entry.push(
            serde_json::json!({"resource": {"resourceType": "Condition", "id": problem,
            "subject": {"reference": format!("Patient/{id}")}, "code": {"text": name},
            "onsetDateTime": onset}}),
        );
    }
    let path = dir.join(format!("{id}.json"));
    let bundle =
        serde_json::json!({"resourceType": "Bundle", "type": "collection", "entry": entry});
    std::fs::write(&path, serde_json::to_vec(&bundle).unwrap()).unwrap();
    path
}

/// Two people, each with several Patients (files) of the same words: each one's search finds
/// their own entries only, all of them, newest first, however the limit cuts them and whoever
/// has the newer ones; a split source's entries move to the new person's search and back.
#[test]
fn a_search_of_a_person_with_several_patients_reads_only_theirs() {
    let dir = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let mut vault = keyring_vault(dir.path());
    let import = |vault: &mut ownrecord_core::Vault, path: PathBuf, choice| {
        let report = vault
            .import_file(&path, choice, &mut no_progress())
            .unwrap();
        report.people[0].person
    };
    let a_files = [
        (
            "a1",
            [
                ("a1-1", "Asthma", "2001-01-01"),
                ("a1-2", "Asthma", "2011-01-01"),
            ],
        ),
        (
            "a2",
            [
                ("a2-1", "Asthma", "2002-01-01"),
                ("a2-2", "Asthma", "2012-01-01"),
            ],
        ),
        (
            "a3",
            [
                ("a3-1", "Asthma", "2003-01-01"),
                ("a3-2", "Asthma", "2013-01-01"),
            ],
        ),
    ];
    let mut a = None;
    for (patient, problems) in &a_files {
        let path = problems_file(files.path(), patient, "1970-03-04", problems);
        let choice = a.map_or(PersonChoice::New, PersonChoice::Existing);
        a = Some(import(&mut vault, path, choice));
    }
    let a = a.unwrap();
    // B's asthma is newer than all of A's, and B alone has eczema.
    let b_problems = [
        (
            "b1",
            [
                ("b1-1", "Asthma", "2021-01-01"),
                ("b1-2", "Eczema", "2022-01-01"),
            ],
        ),
        (
            "b2",
            [
                ("b2-1", "Asthma", "2023-01-01"),
                ("b2-2", "Asthma", "2024-01-01"),
            ],
        ),
    ];
    let mut b = None;
    for (patient, problems) in &b_problems {
        let path = problems_file(files.path(), patient, "2001-05-06", problems);
        let choice = b.map_or(PersonChoice::New, PersonChoice::Existing);
        b = Some(import(&mut vault, path, choice));
    }
    let b = b.unwrap();
    assert_ne!(a, b);
    assert_eq!(vault.people().unwrap().len(), 2);

    let ids =
        |vault: &ownrecord_core::Vault, person: i64, text: &str, limit: usize| -> Vec<String> {
            let hits = vault.search(person, text, limit).unwrap();
            assert!(
                hits.iter().all(|h| h.resource_type == "Condition"),
                "{hits:?}"
            );
            hits.into_iter().map(|h| h.id).collect()
        };
    let newest_first = |found: &[&str]| -> Vec<String> {
        let mut all: Vec<(&str, &str)> = a_files
            .iter()
            .flat_map(|(_, p)| p.iter())
            .chain(b_problems.iter().flat_map(|(_, p)| p.iter()))
            .filter(|(id, _, _)| found.contains(id))
            .map(|(id, _, date)| (*date, *id))
            .collect();
        all.sort();
        all.into_iter().rev().map(|(_, id)| id.to_owned()).collect()
    };
    let a_all = ["a1-1", "a1-2", "a2-1", "a2-2", "a3-1", "a3-2"];
    assert_eq!(ids(&vault, a, "asthma", 50), newest_first(&a_all));
    assert_eq!(
        ids(&vault, a, "asthma", 2),
        ["a3-2", "a2-2"],
        "A's newest, not B's"
    );
    assert_eq!(ids(&vault, a, "asth", 50), newest_first(&a_all), "prefixes");
    assert!(ids(&vault, a, "eczema", 50).is_empty(), "B's word");
    assert_eq!(
        ids(&vault, b, "asthma", 50),
        newest_first(&["b1-1", "b2-1", "b2-2"])
    );
    assert_eq!(ids(&vault, b, "eczema", 50), ["b1-2"]);

    // A's third file split off: its entries are the new person's, and back again when linked.
    let source = vault
        .people()
        .unwrap()
        .into_iter()
        .find(|p| p.id == a)
        .unwrap()
        .sources
        .into_iter()
        .find(|s| s.patient_id == "a3")
        .unwrap()
        .id;
    let split = vault.unlink_source(a, source).unwrap();
    assert_eq!(ids(&vault, split, "asthma", 50), ["a3-2", "a3-1"]);
    assert_eq!(
        ids(&vault, a, "asthma", 50),
        newest_first(&["a1-1", "a1-2", "a2-1", "a2-2"])
    );
    vault.link_people(a, split).unwrap();
    assert_eq!(ids(&vault, a, "asthma", 50), newest_first(&a_all));
}

/// A file whose resources belong to no patient is refused, naming the entry.
#[test]
fn a_resource_whose_patient_cannot_be_told_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let path = files.path().join("orphan.json");
    std::fs::write(
        &path,
        r#"{"resourceType":"Bundle","type":"collection","entry":[
            {"resource":{"resourceType":"Patient","id":"p"}},
            {"resource":{"resourceType":"Condition","id":"c","code":{"text":"x"}}}]}"#,
    )
    .unwrap();
    let mut vault = keyring_vault(dir.path());
    let err = vault
        .import_file(&path, PersonChoice::Auto, &mut no_progress())
        .unwrap_err();
    assert!(
        err.to_string().contains("entry 2 names no patient"),
        "{err}"
    );
    assert_eq!(vault.people().unwrap().len(), 0);
}

/// The window's lists and the PDF's tables give every entry the same name.
#[test]
fn the_window_and_the_pdf_name_every_entry_the_same_way() {
    let dir = tempfile::tempdir().unwrap();
    let mut vault = keyring_vault(dir.path());
    for file in support_files() {
        vault
            .import_file(&file, PersonChoice::Auto, &mut no_progress())
            .unwrap();
    }
    let patient = patient_files()
        .into_iter()
        .find(|f| f.to_string_lossy().contains("Tressa_Bergstrom"))
        .unwrap();
    vault
        .import_file(&patient, PersonChoice::Auto, &mut no_progress())
        .unwrap();
    let person = vault.reading_person(None).unwrap();
    let mut window: BTreeMap<String, String> = BTreeMap::new();
    for category in [
        Category::Problems,
        Category::Medications,
        Category::Allergies,
        Category::Immunizations,
        Category::Labs,
        Category::Vitals,
        Category::Visits,
        Category::Procedures,
    ] {
        for item in vault.list(person, category, 0, 100_000).unwrap().items {
            window.insert(format!("{}/{}", item.resource_type, item.id), item.display);
        }
    }
    let (_, summary) = export::summarize(&vault, &Selection::default()).unwrap();
    let mut compared = 0;
    for section in &summary.sections {
        // The column that names the entry.
        let name_column = match section.section {
            Section::Immunizations | Section::Procedures | Section::Visits | Section::Results => 1,
            _ => 0,
        };
        for row in &section.table.rows {
            let pdf_name = &row.cells[name_column].text;
            let shown = &window[&row.resource];
            // A result's components read "Panel: part"; the panel's name is the window's.
            assert!(
                pdf_name == shown || pdf_name.starts_with(&format!("{shown}: ")),
                "{}: PDF says {pdf_name:?}, the window {shown:?}",
                row.resource
            );
            compared += 1;
        }
    }
    assert!(compared > 50, "{compared}");
}

/// A Synthea bundle's resources with their `urn:uuid:` references rewritten to `Type/id`, as
/// import stores them.
fn stored_form(bundle: &Path) -> Vec<(String, String, String)> {
    let text = std::fs::read_to_string(bundle).unwrap();
    let value: Value = serde_json::from_str(&text).unwrap();
    let mut urls = Vec::new();
    for e in value["entry"].as_array().unwrap() {
        let r = &e["resource"];
        urls.push((
            e["fullUrl"].as_str().unwrap().to_owned(),
            format!(
                "{}/{}",
                r["resourceType"].as_str().unwrap(),
                r["id"].as_str().unwrap()
            ),
        ));
    }
    value["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let mut json = serde_json::to_string(&e["resource"]).unwrap();
            for (url, key) in &urls {
                json = json.replace(&format!("\"{url}\""), &format!("\"{key}\""));
            }
            (
                e["resource"]["resourceType"].as_str().unwrap().to_owned(),
                e["resource"]["id"].as_str().unwrap().to_owned(),
                json,
            )
        })
        .collect()
}

/// A schema-2 vault that already mixed two patients in one source, and holds one of them again
/// from a portal, migrates to people: two people, every resource with its own person, the portal
/// source keyed by its patient, and the entry index complete.
#[test]
fn a_schema_2_vault_with_mixed_patients_migrates_to_people() {
    use ownrecord_core::vault::schema;
    let mut conn = rusqlite::Connection::open_in_memory().unwrap();
    schema::migrations().to_version(&mut conn, 2).unwrap();
    let files = patient_files();
    let (a, b) = (&files[0], &files[1]);
    let insert = |conn: &rusqlite::Connection, source: i64, rows: &[(String, String, String)]| {
        for (t, id, json) in rows {
            conn.execute(
                "INSERT INTO resources (source_id, resource_type, fhir_id, sha256, json, imported_at)
                 VALUES (?1, ?2, ?3, x'00', ?4, '2026-01-01T00:00:00Z')",
                rusqlite::params![source, t, id, json],
            )
            .unwrap();
        }
    };
    conn.execute_batch(
        "INSERT INTO sources (id, kind, name, added_at) VALUES (1, 'file', 'family.json', '2026-01-01T00:00:00Z');
         INSERT INTO sources (id, kind, name, added_at) VALUES (2, 'portal', 'https://portal.example/fhir', '2026-01-01T00:00:00Z');",
    )
    .unwrap();
    let (rows_a, rows_b) = (stored_form(a), stored_form(b));
    let patient_a = rows_a.iter().find(|r| r.0 == "Patient").unwrap().1.clone();
    insert(&conn, 1, &rows_a);
    insert(&conn, 1, &rows_b);
    insert(&conn, 2, &rows_a);
    conn.execute(
        "INSERT INTO connections (fhir_base, name, client_id, authorization_endpoint, token_endpoint, scopes,
             patient_id, status, connected_at)
         VALUES ('https://portal.example/fhir', 'Portal', 'c', 'https://a', 'https://t', 's', ?1, 'connected', 'now')",
        [&patient_a],
    )
    .unwrap();
    let resources: i64 = conn
        .query_row("SELECT count(*) FROM resources", [], |r| r.get(0))
        .unwrap();

    schema::migrate_to_latest(&mut conn).unwrap();
    let people: i64 = conn
        .query_row("SELECT count(*) FROM people", [], |r| r.get(0))
        .unwrap();
    assert_eq!(people, 2, "A (in two sources) and B");
    let entries: i64 = conn
        .query_row("SELECT count(*) FROM entries", [], |r| r.get(0))
        .unwrap();
    assert_eq!(entries, resources);
    // Every resource of A's and B's compartments carries its own person.
    let person_of = |conn: &rusqlite::Connection, source: i64, t: &str, id: &str| -> Option<i64> {
        conn.query_row(
            "SELECT e.person_id FROM entries e JOIN resources r ON r.id = e.resource_id
             WHERE r.source_id = ?1 AND r.resource_type = ?2 AND r.fhir_id = ?3",
            rusqlite::params![source, t, id],
            |r| r.get(0),
        )
        .unwrap()
    };
    let pa = person_of(&conn, 1, "Patient", &patient_a).unwrap();
    let patient_b = rows_b.iter().find(|r| r.0 == "Patient").unwrap().1.clone();
    let pb = person_of(&conn, 1, "Patient", &patient_b).unwrap();
    assert_ne!(pa, pb);
    for (rows, source, person) in [(&rows_a, 1, pa), (&rows_b, 1, pb), (&rows_a, 2, pa)] {
        for (t, id, _) in rows {
            let expected = ownrecord_core::fhir::in_patient_compartment(t).then_some(person);
            assert_eq!(
                person_of(&conn, source, t, id),
                expected,
                "{t}/{id} of source {source}"
            );
        }
    }
    // The portal source is keyed by its patient; A's two sources' duplicates are marked.
    let portal_patient: String = conn
        .query_row("SELECT patient_id FROM sources WHERE id = 2", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(portal_patient, patient_a);
    let duplicates: i64 = conn
        .query_row(
            "SELECT count(*) FROM entries WHERE duplicate_of IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(duplicates > 10, "{duplicates}");
    // A second patient at the same portal can now be connected.
    conn.execute(
        "INSERT INTO connections (fhir_base, name, client_id, authorization_endpoint, token_endpoint, scopes,
             patient_id, status, connected_at)
         VALUES ('https://portal.example/fhir', 'Portal', 'c', 'https://a', 'https://t', 's', 'child', 'connected', 'now')",
        [],
    )
    .unwrap();
}

/// A file with the name of one imported before, whose Patient (same id) is someone else, is
/// refused: it would replace one person's Patient with another's.
#[test]
fn a_same_named_file_of_someone_else_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (first, second) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut vault = keyring_vault(dir.path());
    let mother = patient_file(first.path(), "Summary.json", "p1", "1970-03-04");
    vault
        .import_file(&mother, PersonChoice::Auto, &mut no_progress())
        .unwrap();
    let path = second.path().join("Summary.json");
    let other = std::fs::read_to_string(&mother)
        .unwrap()
        .replace("1970-03-04", "2015-05-06")
        .replace("Maria", "Lucia");
    std::fs::write(&path, other).unwrap();
    let before = vault.summary(None).unwrap();
    let err = vault
        .import_file(&path, PersonChoice::Auto, &mut no_progress())
        .unwrap_err();
    assert!(
        err.to_string().contains("its patient is someone else"),
        "{err}"
    );
    assert_eq!(vault.summary(None).unwrap(), before, "nothing imported");
    // The same person's newer file of that name is an update.
    let newer = std::fs::read_to_string(&mother)
        .unwrap()
        .replace("2020-01-01", "2020-02-02");
    std::fs::write(&path, newer).unwrap();
    let report = vault
        .import_file(&path, PersonChoice::Auto, &mut no_progress())
        .unwrap();
    assert_eq!(report.counts.updated, 1);
}
