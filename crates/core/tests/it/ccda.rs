//! C-CDA import into the vault: the original kept, re-import changes nothing, a newer download
//! updates, the same patient's C-CDA and portal record are one person, and a broken document
//! is refused in one sentence with nothing changed.

use std::io::Write;
use std::path::Path;

use base64::Engine;
use ownrecord_core::Error;
use ownrecord_core::import::Format;
use ownrecord_core::vault::people::{LinkedBy, PersonChoice};
use ownrecord_testkit::{ccda_sample, patient_files, read_json};

use crate::{keyring_vault, no_progress};

const ATHENA: &str = "nurra/tests__integration__fixtures__documents__athena_ccd_real_world.xml";

fn resource_count(vault: &ownrecord_core::Vault) -> u64 {
    vault.summary(None).unwrap().resources as u64
}

#[test]
fn a_download_is_imported_with_its_original_and_a_report_per_section() {
    let dir = tempfile::tempdir().unwrap();
    let mut vault = keyring_vault(&dir.path().join("vault"));
    let file = ccda_sample(ATHENA);
    let report = vault
        .import_file(&file, PersonChoice::Auto, &mut no_progress())
        .unwrap();
    assert_eq!(report.format, Format::Ccda);
    assert!(report.counts.new > 100, "{:?}", report.counts);
    let [doc] = report.documents.as_slice() else {
        panic!("one document")
    };
    assert!(doc.error.is_none());
    assert!(doc.summary.starts_with("Problems 25"), "{}", doc.summary);
    assert!(doc.summary.contains("Medications 30"), "{}", doc.summary);
    let person = report.people[0].person;
    let kept = vault
        .resource(person, "DocumentReference", &doc.document_reference_id)
        .unwrap();
    let kept: serde_json::Value = serde_json::from_str(&kept.json).unwrap();
    let data = kept["content"][0]["attachment"]["data"].as_str().unwrap();
    let original = base64::engine::general_purpose::STANDARD
        .decode(data)
        .unwrap();
    assert!(
        original == std::fs::read(&file).unwrap(),
        "the original is kept byte for byte"
    );

    // The audit row has the counts, never the document's words.
    let audit = serde_json::to_string(&vault.audit_entries(&Default::default()).unwrap()).unwrap();
    assert!(audit.contains(&doc.document_reference_id));
    assert!(!audit.contains("Continuity of Care Document"));
}

#[test]
fn reimport_changes_nothing_and_a_newer_download_under_another_name_updates() {
    let dir = tempfile::tempdir().unwrap();
    let mut vault = keyring_vault(&dir.path().join("vault"));
    let file = ccda_sample(ATHENA);
    let first = vault
        .import_file(&file, PersonChoice::Auto, &mut no_progress())
        .unwrap();
    let total = resource_count(&vault);

    let again = vault
        .import_file(&file, PersonChoice::Auto, &mut no_progress())
        .unwrap();
    assert_eq!(
        (again.counts.new, again.counts.updated),
        (0, 0),
        "{:?}",
        again.counts
    );
    assert_eq!(again.counts.unchanged, first.counts.new);

    // The same portal's next download, saved under another name, with one problem's wording
    // changed: its resources update in place (their ids come from the entries' ids).
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("Continuity of Care Document"));
    let newer = text.replacen(
        "Continuity of Care Document",
        "Continuity of Care Document (new)",
        1,
    );
    let renamed = dir.path().join("Summary (2).xml");
    std::fs::write(&renamed, newer).unwrap();
    let update = vault
        .import_file(&renamed, PersonChoice::Auto, &mut no_progress())
        .unwrap();
    assert_eq!(update.counts.new, 0, "{:?}", update.counts);
    assert!(update.counts.updated >= 1, "{:?}", update.counts);
    assert_eq!(resource_count(&vault), total);
    assert_eq!(vault.people().unwrap().len(), 1);
}

/// A C-CDA document for a Synthea patient, as their portal's "Download" would give it.
fn ccda_for(patient: &serde_json::Value) -> String {
    let family = patient["name"][0]["family"].as_str().unwrap();
    let given = patient["name"][0]["given"][0].as_str().unwrap();
    let birth = patient["birthDate"].as_str().unwrap().replace('-', "");
    let gender = match patient["gender"].as_str().unwrap() {
        "male" => "M",
        _ => "F",
    };
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<ClinicalDocument xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <templateId root="2.16.840.1.113883.10.20.22.1.2"/>
  <id root="2.999.1" extension="doc-1"/>
  <code code="34133-9" codeSystem="2.16.840.1.113883.6.1"/>
  <title>Summary</title>
  <effectiveTime value="20261101120000-0500"/>
  <recordTarget><patientRole>
    <id root="2.999.2" extension="mrn-77"/>
    <patient>
      <name><given>{given}</given><family>{family}</family></name>
      <administrativeGenderCode code="{gender}" codeSystem="2.16.840.1.113883.5.1"/>
      <birthTime value="{birth}"/>
    </patient>
  </patientRole></recordTarget>
  <custodian><assignedCustodian><representedCustodianOrganization>
    <id root="2.999.3"/><name>Portal Clinic</name>
  </representedCustodianOrganization></assignedCustodian></custodian>
  <component><structuredBody><component><section>
    <templateId root="2.16.840.1.113883.10.20.22.2.5.1"/>
    <code code="11450-4" codeSystem="2.16.840.1.113883.6.1"/>
    <title>Problems</title><text>Hypertension</text>
    <entry><act classCode="ACT" moodCode="EVN">
      <templateId root="2.16.840.1.113883.10.20.22.4.3"/>
      <id root="2.999.4" extension="c1"/>
      <statusCode code="active"/>
      <entryRelationship typeCode="SUBJ"><observation classCode="OBS" moodCode="EVN">
        <templateId root="2.16.840.1.113883.10.20.22.4.4"/>
        <id root="2.999.4" extension="p1"/>
        <effectiveTime><low value="20200105"/></effectiveTime>
        <value xsi:type="CD" code="59621000" codeSystem="2.16.840.1.113883.6.96" displayName="Essential hypertension"/>
      </observation></entryRelationship>
    </act></entry>
  </section></component></structuredBody></component>
</ClinicalDocument>"#
    )
}

#[test]
fn the_same_patients_ccda_and_portal_record_are_one_person() {
    let dir = tempfile::tempdir().unwrap();
    let mut vault = keyring_vault(&dir.path().join("vault"));
    let fhir = &patient_files()[0];
    vault
        .import_file(fhir, PersonChoice::Auto, &mut no_progress())
        .unwrap();
    let bundle = read_json(fhir);
    let patient = bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["resource"])
        .find(|r| r["resourceType"] == "Patient")
        .unwrap();
    let file = dir.path().join("Summary.xml");
    std::fs::write(&file, ccda_for(patient)).unwrap();
    let report = vault
        .import_file(&file, PersonChoice::Auto, &mut no_progress())
        .unwrap();
    assert_eq!(report.people.len(), 1);
    assert_eq!(report.people[0].by, LinkedBy::Matched);
    let people = vault.people().unwrap();
    assert_eq!(people.len(), 1, "one person from two sources");
    assert_eq!(people[0].sources.len(), 2);

    // Someone else's download (another birth date) is not taken for them.
    let mut other = patient.clone();
    other["birthDate"] = "1901-01-01".into();
    let file = dir.path().join("Other.xml");
    std::fs::write(
        &file,
        ccda_for(&other)
            .replace("mrn-77", "mrn-78")
            .replace("doc-1", "doc-2"),
    )
    .unwrap();
    let err = vault
        .import_file(&file, PersonChoice::Auto, &mut no_progress())
        .unwrap_err();
    assert!(matches!(err, Error::WhoIsThis { .. }), "{err}");
}

fn refused(vault: &mut ownrecord_core::Vault, file: &Path) -> String {
    let before = resource_count(vault);
    let err = vault
        .import_file(file, PersonChoice::Auto, &mut no_progress())
        .unwrap_err();
    assert_eq!(resource_count(vault), before, "nothing imported");
    let sentence = err.to_string();
    assert!(!sentence.contains('\n'), "{sentence}");
    assert!(
        sentence.contains(&*file.file_name().unwrap().to_string_lossy()),
        "{sentence}"
    );
    sentence
}

#[test]
fn broken_and_hostile_documents_are_refused_in_one_sentence_and_nothing_changes() {
    let dir = tempfile::tempdir().unwrap();
    let mut vault = keyring_vault(&dir.path().join("vault"));
    vault
        .import_file(&ccda_sample(ATHENA), PersonChoice::Auto, &mut no_progress())
        .unwrap();
    let text = std::fs::read_to_string(ccda_sample(ATHENA)).unwrap();

    let truncated = dir.path().join("truncated.xml");
    std::fs::write(&truncated, &text[..text.len() / 2]).unwrap();
    let why = refused(&mut vault, &truncated);
    assert!(why.contains("truncated"), "{why}");

    let laughs = dir.path().join("laughs.xml");
    std::fs::write(
        &laughs,
        r#"<?xml version="1.0"?><!DOCTYPE ClinicalDocument [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><ClinicalDocument xmlns="urn:hl7-org:v3">&b;</ClinicalDocument>"#,
    )
    .unwrap();
    let why = refused(&mut vault, &laughs);
    assert!(why.contains("DTD"), "{why}");

    let external = dir.path().join("external.xml");
    std::fs::write(
        &external,
        r#"<?xml version="1.0"?><!DOCTYPE ClinicalDocument [<!ENTITY x SYSTEM "file:///etc/passwd">]><ClinicalDocument xmlns="urn:hl7-org:v3">&x;</ClinicalDocument>"#,
    )
    .unwrap();
    refused(&mut vault, &external);

    let nobody = dir.path().join("nobody.xml");
    std::fs::write(
        &nobody,
        r#"<ClinicalDocument xmlns="urn:hl7-org:v3"><title>x</title></ClinicalDocument>"#,
    )
    .unwrap();
    let why = refused(&mut vault, &nobody);
    assert!(why.contains("no patient"), "{why}");
}

#[test]
fn a_zip_of_documents_imports_each_and_names_the_one_that_cannot_be_read() {
    let dir = tempfile::tempdir().unwrap();
    let mut vault = keyring_vault(&dir.path().join("vault"));
    let zip_path = dir.path().join("Download.zip");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&zip_path).unwrap());
    let options = zip::write::SimpleFileOptions::default();
    zip.start_file("IHE_XDM/SUBSET01/DOC0001.XML", options)
        .unwrap();
    zip.write_all(&std::fs::read(ccda_sample(ATHENA)).unwrap())
        .unwrap();
    zip.start_file("IHE_XDM/SUBSET01/DOC0002.XML", options)
        .unwrap();
    zip.write_all(b"<ClinicalDocument xmlns=\"urn:hl7-org:v3\"><recordTarget>")
        .unwrap();
    zip.start_file("IHE_XDM/SUBSET01/METADATA.XML", options)
        .unwrap();
    zip.write_all(b"<SubmitObjectsRequest/>").unwrap();
    zip.finish().unwrap();
    let report = vault
        .import_file(&zip_path, PersonChoice::Auto, &mut no_progress())
        .unwrap();
    assert_eq!(report.documents.len(), 2, "{:?}", report.documents);
    let bad = report
        .documents
        .iter()
        .find(|d| d.error.is_some())
        .expect("the broken one named");
    assert!(bad.path.ends_with("DOC0002.XML"));
    assert!(report.counts.new > 100);
}

#[test]
fn one_record_number_at_one_organization_for_two_people_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut vault = keyring_vault(&dir.path().join("vault"));
    let patient = serde_json::json!({
        "name": [{ "family": "Rivera", "given": ["Ana"] }],
        "birthDate": "1980-02-03",
        "gender": "female",
    });
    let first = dir.path().join("Summary.xml");
    std::fs::write(&first, ccda_for(&patient)).unwrap();
    vault
        .import_file(&first, PersonChoice::Auto, &mut no_progress())
        .unwrap();
    let mut other = patient.clone();
    other["name"][0]["given"][0] = "Bea".into();
    other["birthDate"] = "1950-07-08".into();
    let second = dir.path().join("Summary (1).xml");
    std::fs::write(&second, ccda_for(&other).replace("doc-1", "doc-9")).unwrap();
    let why = refused(&mut vault, &second);
    assert!(why.contains("record number"), "{why}");
    assert_eq!(vault.people().unwrap().len(), 1);
}
