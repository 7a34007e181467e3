use ownrecord_core::vault::people::PersonChoice;
use std::collections::BTreeMap;

use ownrecord_testkit::{entry_counts, sample_files};

use crate::{keyring_vault, no_progress, reopen};

/// Every sample bundle imports with one stored resource per entry; a second import changes nothing.
#[test]
fn sample_patients_import_completely_and_idempotently() {
    let dir = tempfile::tempdir().unwrap();
    let mut vault = keyring_vault(dir.path());
    let mut expected: BTreeMap<String, i64> = BTreeMap::new();
    for file in sample_files() {
        let counts = entry_counts(&file);
        let report = vault
            .import_file(&file, PersonChoice::New, &mut no_progress())
            .unwrap();
        assert_eq!(
            report.counts.new as i64,
            counts.values().sum::<i64>(),
            "{}",
            file.display()
        );
        assert_eq!(report.unresolved_references, 0, "{}", file.display());
        for (t, n) in counts {
            *expected.entry(t).or_default() += n;
        }
    }
    let first = vault.summary(None).unwrap();
    let stored: BTreeMap<String, i64> = first
        .by_type
        .iter()
        .map(|t| (t.resource_type.clone(), t.count))
        .collect();
    assert_eq!(stored, expected);
    assert_eq!(first.sources.len(), sample_files().len());
    drop(vault);

    let mut vault = reopen(dir.path());
    for file in sample_files() {
        let report = vault
            .import_file(&file, PersonChoice::New, &mut no_progress())
            .unwrap();
        assert_eq!(
            (report.counts.new, report.counts.updated),
            (0, 0),
            "{}",
            file.display()
        );
    }
    assert_eq!(
        vault.summary(None).unwrap(),
        first,
        "a second import changes nothing"
    );
    let imports = vault
        .audit_entries(&ownrecord_core::audit::Filter {
            kinds: vec![ownrecord_core::audit::AuditKind::Import],
        })
        .unwrap();
    assert_eq!(imports.len(), 2 * sample_files().len());
    assert!(
        imports[sample_files().len()..]
            .iter()
            .all(|e| e.details["new"] == 0)
    );
    vault.verify_audit().unwrap();
}

/// urn:uuid references become Type/id; everything else in the resource stays byte-exact.
#[test]
fn transaction_references_resolve_and_bytes_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let mut vault = keyring_vault(dir.path());
    let file = &ownrecord_testkit::patient_files()[0];
    vault
        .import_file(file, PersonChoice::New, &mut no_progress())
        .unwrap();
    let bundle = ownrecord_testkit::read_json(file);
    let conn = crate::raw_connection(dir.path());
    let encounter = bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["resource"]["resourceType"] == "Encounter")
        .unwrap();
    let id = encounter["resource"]["id"].as_str().unwrap();
    let stored: String = conn
        .query_row("SELECT json FROM resources WHERE fhir_id = ?1", [id], |r| {
            r.get(0)
        })
        .unwrap();
    let stored: serde_json::Value = serde_json::from_str(&stored).unwrap();
    let subject = stored["subject"]["reference"].as_str().unwrap();
    assert!(subject.starts_with("Patient/"), "{subject}");
    // Apart from references, the stored resource equals the one in the file.
    let mut original = encounter["resource"].clone();
    original["subject"] = stored["subject"].clone();
    original["serviceProvider"] = stored["serviceProvider"].clone();
    original["participant"] = stored["participant"].clone();
    assert_eq!(original, stored);
}

/// Conditional references (Organization?identifier=…) resolve to resources already in the vault,
/// and ids missing from POST entries come from the urn:uuid fullUrl.
#[test]
fn conditional_references_resolve_against_the_vault() {
    let dir = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let org = files.path().join("org.json");
    std::fs::write(
        &org,
        r#"{"resourceType":"Organization","id":"org-1","identifier":[{"system":"https://example.org/ids","value":"77"}],"name":"Clinic"}"#,
    )
    .unwrap();
    let bundle = files.path().join("bundle.json");
    std::fs::write(
        &bundle,
        r#"{"resourceType":"Bundle","type":"transaction","entry":[
          {"fullUrl":"urn:uuid:5c5e8e8a-0000-4000-8000-000000000001","resource":{"resourceType":"Encounter","subject":{"reference":"urn:uuid:5c5e8e8a-0000-4000-8000-000000000002"},"serviceProvider":{"reference":"Organization?identifier=https://example.org/ids|77"}},"request":{"method":"POST","url":"Encounter"}},
          {"fullUrl":"urn:uuid:5c5e8e8a-0000-4000-8000-000000000002","resource":{"resourceType":"Patient","id":"p-9"},"request":{"method":"POST","url":"Patient"}}
        ]}"#,
    )
    .unwrap();
    let mut vault = keyring_vault(dir.path());
    vault
        .import_file(&org, PersonChoice::New, &mut no_progress())
        .unwrap();
    let report = vault
        .import_file(&bundle, PersonChoice::New, &mut no_progress())
        .unwrap();
    assert_eq!((report.counts.new, report.unresolved_references), (2, 0));
    let conn = crate::raw_connection(dir.path());
    let json: String = conn
        .query_row(
            "SELECT json FROM resources WHERE resource_type = 'Encounter' AND fhir_id = '5c5e8e8a-0000-4000-8000-000000000001'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let encounter: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        encounter["subject"]["reference"], "Patient/p-9",
        "forward reference resolved"
    );
    assert_eq!(
        encounter["serviceProvider"]["reference"],
        "Organization/org-1"
    );
    assert_eq!(encounter["id"], "5c5e8e8a-0000-4000-8000-000000000001");
}

/// A transaction's Patient with no id, named only by its `urn:uuid:` fullUrl, is the subject of
/// itself and of the resources naming that fullUrl: one person, nothing refused.
#[test]
fn a_patient_without_an_id_takes_its_full_url_and_is_its_own_subject() {
    let dir = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let bundle = files.path().join("bundle.json");
    std::fs::write(
        &bundle,
        r#"{"resourceType":"Bundle","type":"transaction","entry":[
          {"fullUrl":"urn:uuid:7d1f0000-0000-4000-8000-000000000001","resource":{"resourceType":"Patient","name":[{"family":"Noid"}]},"request":{"method":"POST","url":"Patient"}},
          {"fullUrl":"urn:uuid:7d1f0000-0000-4000-8000-000000000002","resource":{"resourceType":"Condition","subject":{"reference":"urn:uuid:7d1f0000-0000-4000-8000-000000000001"},"code":{"text":"Headache"}},"request":{"method":"POST","url":"Condition"}}
        ]}"#,
    )
    .unwrap();
    let mut vault = keyring_vault(dir.path());
    let report = vault
        .import_file(&bundle, PersonChoice::New, &mut no_progress())
        .unwrap();
    assert_eq!(report.counts.new, 2);
    let people = vault.people().unwrap();
    assert_eq!(people.len(), 1, "one person");
    let conn = crate::raw_connection(dir.path());
    let (json, person): (String, i64) = conn
        .query_row(
            "SELECT r.json, e.person_id FROM resources r JOIN entries e ON e.resource_id = r.id
             WHERE r.resource_type = 'Patient'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let patient: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(patient["id"], "7d1f0000-0000-4000-8000-000000000001");
    assert_eq!(person, people[0].id);
}

/// A newer version replaces the stored one and the old one is kept in history; an older one is not current.
#[test]
fn newer_versions_replace_and_history_is_counted() {
    let dir = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let write = |name: &str, updated: &str, status: &str| {
        let path = files.path().join(name);
        std::fs::write(
            &path,
            format!(
                r#"{{"resourceType":"Condition","id":"c1","meta":{{"lastUpdated":"{updated}"}},"subject":{{"reference":"Patient/p1"}},"clinicalStatus":{{"text":"{status}"}},"code":{{"text":"Asthma"}}}}"#
            ),
        )
        .unwrap();
        path
    };
    let mut vault = keyring_vault(dir.path());
    // The patient first: the conditions in the other file are theirs.
    let patient = files.path().join("p.json");
    std::fs::write(
        &patient,
        r#"{"resourceType":"Patient","id":"p1","birthDate":"1990-01-01"}"#,
    )
    .unwrap();
    vault
        .import_file(&patient, PersonChoice::Auto, &mut no_progress())
        .unwrap();
    let v1 = write("c.json", "2024-01-01T00:00:00Z", "active");
    assert_eq!(
        vault
            .import_file(&v1, PersonChoice::New, &mut no_progress())
            .unwrap()
            .counts
            .new,
        1
    );
    let v2 = write("c.json", "2024-06-01T00:00:00Z", "resolved");
    assert_eq!(
        vault
            .import_file(&v2, PersonChoice::New, &mut no_progress())
            .unwrap()
            .counts
            .updated,
        1
    );
    let v0 = write("c.json", "2023-01-01T00:00:00Z", "unknown");
    assert_eq!(
        vault
            .import_file(&v0, PersonChoice::New, &mut no_progress())
            .unwrap()
            .counts
            .older,
        1
    );
    let summary = vault.summary(None).unwrap();
    assert_eq!((summary.resources, summary.earlier_versions), (2, 2));
    let person = vault.reading_person(None).unwrap();
    let hits = vault.search(person, "asthma", 10).unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].display, "Asthma");
}

/// NDJSON, one resource per line, blank lines allowed.
#[test]
fn ndjson_imports_line_by_line() {
    let dir = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let path = files.path().join("obs.ndjson");
    let mut text = String::from("{\"resourceType\":\"Patient\",\"id\":\"p1\"}\n");
    for i in 0..1200 {
        text += &format!(
            "{{\"resourceType\":\"Observation\",\"id\":\"o{i}\",\"status\":\"final\",\"subject\":{{\"reference\":\"Patient/p1\"}},\"code\":{{\"text\":\"Heart rate\"}},\"effectiveDateTime\":\"2020-01-01\"}}\n"
        );
        if i == 10 {
            text += "\n";
        }
    }
    std::fs::write(&path, text).unwrap();
    let mut vault = keyring_vault(dir.path());
    let mut ticks = 0;
    let report = vault
        .import_file(&path, PersonChoice::New, &mut |_| ticks += 1)
        .unwrap();
    assert_eq!(report.counts.new, 1201);
    assert_eq!(report.format, ownrecord_core::import::Format::Ndjson);
    assert!(ticks >= 2, "progress is reported while importing");
    let person = vault.reading_person(None).unwrap();
    assert_eq!(vault.search(person, "heart", 5000).unwrap().len(), 1200);
}
