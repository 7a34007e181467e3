//! What the patient adds themselves: a medicine they buy, an allergy, a reading, a note, an
//! uploaded letter. Each is their own FHIR resource in the source "Added by me", shown as
//! "patient-reported" in the PDF and the IPS, exported, audited without its content, and kept
//! through a backup and restore.

use ownrecord_core::audit::{AuditKind, Filter};
use ownrecord_core::backup::restore::{RestoreRequest, restore};
use ownrecord_core::export::{self, Selection};
use ownrecord_core::vault::browse::Category;
use ownrecord_core::vault::own::{Measure, OWN_SOURCE_NAME, OwnEntry};
use ownrecord_core::{Error, Unlock};
use ownrecord_testkit::checkers;
use serde_json::Value;
use zeroize::Zeroizing;

use crate::clock;
use crate::shares::sample_vault;

const MEDICINE: &str = "Ibuprofen 200 mg tablets";

fn medication() -> OwnEntry {
    OwnEntry::Medication {
        name: MEDICINE.into(),
        dose: Some("1 tablet when needed".into()),
        since: Some("2026-10-01".into()),
    }
}

#[test]
fn a_self_reported_medication_is_in_the_lists_the_pdf_the_ips_the_full_export_and_a_restored_backup()
 {
    let work = tempfile::tempdir().unwrap();
    let mut vault = sample_vault(&work.path().join("vault"));
    let person = vault.reading_person(None).unwrap();
    let added = vault.add_own(person, &medication()).unwrap();
    assert_eq!(added.resource_type, "MedicationStatement");

    // The record's list: marked by its source.
    let list = vault.list(person, Category::Medications, 0, 500).unwrap();
    let item = list.items.iter().find(|i| i.id == added.id).unwrap();
    assert_eq!(item.display, MEDICINE);
    assert_eq!(item.source, OWN_SOURCE_NAME);
    // The person is still named as before: the own Patient only repeats them.
    assert_eq!(vault.people().unwrap().len(), 1);

    // The PDF: among the active medications, patient-reported.
    let pdf = work.path().join("summary.pdf");
    export::export_pdf(&mut vault, &Selection::default(), &pdf).unwrap();
    let text = checkers::pdf_text(&pdf)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        text.contains("Ibuprofen 200 mg tablets (patient-reported)"),
        "{text}"
    );
    // The header is still the portal's Patient, not the own source's.
    assert!(text.contains("Bergstrom"));

    // The IPS: the resource itself, authored by the patient, and the narrative says so.
    let ips_path = work.path().join("ips.json");
    export::export_ips(&mut vault, &Selection::default(), &ips_path).unwrap();
    let ips: Value = serde_json::from_slice(&std::fs::read(&ips_path).unwrap()).unwrap();
    let statement = ips["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["resource"])
        .find(|r| {
            r["resourceType"] == "MedicationStatement"
                && r["medicationCodeableConcept"]["text"] == MEDICINE
        })
        .expect("the IPS holds the patient's own medication");
    assert!(
        statement["informationSource"]["reference"]
            .as_str()
            .unwrap()
            .starts_with("urn:uuid:")
            || statement.get("informationSource").is_none(),
        "{statement}"
    );
    assert!(ips.to_string().contains("(patient-reported)"));
    let errors = checkers::fhir_errors(&ips_path);
    assert!(errors.is_empty(), "{errors:?}");

    // The full export: one line of its own source's file.
    let full = work.path().join("full");
    export::full::export_all(&mut vault, &full, None).unwrap();
    let lines: Vec<String> = std::fs::read_dir(full.join("resources"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("MedicationStatement.")
        })
        .flat_map(|p| {
            std::fs::read_to_string(p)
                .unwrap()
                .lines()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .filter(|l| l.contains(MEDICINE))
        .collect();
    assert_eq!(lines.len(), 1);

    // Audited by kind, never by content.
    let rows = vault
        .audit_entries(&Filter {
            kinds: vec![AuditKind::OwnEntry],
        })
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].details["what"], "medication");
    assert!(!rows[0].details.to_string().contains("Ibuprofen"));

    // A backup restored on a new computer (recovery key only) still holds it.
    let key = vault.new_recovery_key().unwrap();
    let backups = work.path().join("backups");
    vault.backup_to(&backups).unwrap();
    let (restored, _) = restore(
        RestoreRequest {
            from: &backups,
            to: &work.path().join("restored"),
            unlock: Unlock::recovery_key(Zeroizing::new(key.to_text().to_string())),
            replace: false,
            as_new: false,
        },
        clock(),
    )
    .unwrap();
    let list = restored
        .list(person, Category::Medications, 0, 500)
        .unwrap();
    assert!(
        list.items
            .iter()
            .any(|i| i.id == added.id && i.source == OWN_SOURCE_NAME)
    );
}

#[test]
fn readings_notes_and_uploads_are_kept_and_bad_ones_refused_with_nothing_written() {
    let work = tempfile::tempdir().unwrap();
    let mut vault = sample_vault(&work.path().join("vault"));
    let person = vault.reading_person(None).unwrap();
    let before = vault.summary(Some(person)).unwrap().resources;

    let reading = vault
        .add_own(
            person,
            &OwnEntry::Measurement {
                measure: Measure::BloodPressure,
                value: 128.0,
                second: Some(82.0),
                date: "2026-11-20".into(),
            },
        )
        .unwrap();
    let vitals = vault.list(person, Category::Vitals, 0, 1000).unwrap();
    let item = vitals.items.iter().find(|i| i.id == reading.id).unwrap();
    assert_eq!(item.source, OWN_SOURCE_NAME);

    // A note on one of their entries, and an uploaded letter (a PDF), shown as documents.
    let note = vault
        .add_own(
            person,
            &OwnEntry::Note {
                about: format!("Observation/{}", reading.id),
                text: "Taken after a walk".into(),
            },
        )
        .unwrap();
    let letter = b"%PDF-1.4\n% a scanned letter\n".to_vec();
    let upload = vault
        .add_own(
            person,
            &OwnEntry::Upload {
                title: "Letter from the clinic".into(),
                file_name: "letter.pdf".into(),
                content_type: "application/pdf".into(),
                data: letter.clone(),
            },
        )
        .unwrap();
    let view = vault.document_view(person, &upload.id).unwrap();
    assert_eq!(view.bytes, letter.len() as u64);
    assert_eq!(view.content_type.as_deref(), Some("application/pdf"));
    let saved = work.path().join("letter-again.pdf");
    vault.save_document(person, &upload.id, &saved).unwrap();
    assert_eq!(std::fs::read(&saved).unwrap(), letter);
    let documents = vault.list(person, Category::Documents, 0, 1000).unwrap();
    assert!(documents.items.iter().any(|i| i.id == note.id));
    // The three, and the own source's Patient (made with the first).
    assert_eq!(vault.summary(Some(person)).unwrap().resources, before + 4);

    // Refused, one sentence each, nothing stored.
    let refused = [
        OwnEntry::Measurement {
            measure: Measure::Weight,
            value: f64::NAN,
            second: None,
            date: "2026-11-20".into(),
        },
        OwnEntry::Measurement {
            measure: Measure::Weight,
            value: 70.0,
            second: None,
            date: "2099-01-01".into(),
        },
        OwnEntry::Upload {
            title: "x".into(),
            file_name: "x.pdf".into(),
            content_type: "application/pdf".into(),
            data: b"<script>".to_vec(),
        },
        OwnEntry::Note {
            about: "Observation/not-in-this-record".into(),
            text: "hi".into(),
        },
        OwnEntry::Medication {
            name: " ".into(),
            dose: None,
            since: None,
        },
    ];
    for entry in refused {
        let e = vault.add_own(person, &entry).unwrap_err();
        assert!(
            matches!(
                e,
                Error::OwnEntry(_) | Error::BadDate(_) | Error::NoSuchResource(_)
            ),
            "{e:?}"
        );
        assert!(e.to_string().ends_with('.'), "{e}");
    }
    assert_eq!(vault.summary(Some(person)).unwrap().resources, before + 4);
    assert!(matches!(
        vault.add_own(9999, &medication()),
        Err(Error::NoSuchPerson(_))
    ));
}

/// The home lists, allergies first, what the PDF lists, and marks the patient's own entries.
#[test]
fn the_home_lists_what_the_pdf_lists_allergies_first() {
    use ownrecord_core::export::Section;
    let work = tempfile::tempdir().unwrap();
    let mut vault = sample_vault(&work.path().join("vault"));
    let person = vault.reading_person(None).unwrap();
    vault.add_own(person, &medication()).unwrap();
    let home = vault.home(None).unwrap();
    assert!(home.name.contains("Bergstrom"));
    assert!(home.age.is_some() && home.died.is_none());
    assert_eq!(home.tables[0].section, Section::Allergies);
    let pdf = work.path().join("summary.pdf");
    export::export_pdf(&mut vault, &Selection::default(), &pdf).unwrap();
    let text = checkers::pdf_text(&pdf)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    for section in [Section::Allergies, Section::Medications, Section::Problems] {
        let table = home.tables.iter().find(|t| t.section == section).unwrap();
        if table.rows.is_empty() {
            assert!(text.contains(&table.empty), "{}", table.empty);
        }
        for row in &table.rows {
            let name = row.cells[0]
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            assert!(
                text.contains(&name),
                "{name} is on the home but not in the PDF"
            );
        }
    }
    let own: Vec<_> = home
        .tables
        .iter()
        .flat_map(|t| &t.rows)
        .filter(|r| r.own)
        .collect();
    assert_eq!(own.len(), 1);
    assert!(own[0].cells[0].starts_with(MEDICINE));
    assert!(home.sources.iter().any(|s| s.kind == "self"));
}

/// A file the patient chose, read by the core from its path: its type from its bytes (not its
/// name), its size checked before it is read; its name kept in the attachment, never in the
/// audit row.
#[test]
fn an_uploaded_file_is_read_from_its_path_typed_by_its_bytes_and_capped_in_size() {
    use ownrecord_core::error::OwnEntryProblem;
    use ownrecord_core::vault::own::MAX_UPLOAD_BYTES;
    let work = tempfile::tempdir().unwrap();
    let mut vault = sample_vault(&work.path().join("vault"));
    let person = vault.reading_person(None).unwrap();
    let before = vault.summary(Some(person)).unwrap().resources;

    // A photo whose name says PDF is kept as the PNG it is.
    let photo = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR a photo of a prescription".to_vec();
    let path = work.path().join("Tressa prescription.pdf");
    std::fs::write(&path, &photo).unwrap();
    let added = vault
        .add_own_file(person, &path, "Prescription from Dr. Ray")
        .unwrap();
    assert_eq!(added.resource_type, "DocumentReference");
    let view = vault.document_view(person, &added.id).unwrap();
    assert_eq!(view.content_type.as_deref(), Some("image/png"));
    assert_eq!(view.bytes, photo.len() as u64);
    let detail = vault
        .resource(person, "DocumentReference", &added.id)
        .unwrap();
    assert_eq!(detail.source, OWN_SOURCE_NAME);
    assert_eq!(detail.source_kind, "self");
    // Listed under Documents by its title, as the patient's own.
    let documents = vault.list(person, Category::Documents, 0, 1000).unwrap();
    let listed = documents.items.iter().find(|i| i.id == added.id).unwrap();
    assert_eq!(listed.display, "Prescription from Dr. Ray");
    assert_eq!(listed.source, OWN_SOURCE_NAME);
    let json: Value = serde_json::from_str(&detail.json).unwrap();
    assert_eq!(json["description"], "Prescription from Dr. Ray");
    assert_eq!(
        json["content"][0]["attachment"]["title"],
        "Tressa prescription.pdf"
    );
    let saved = work.path().join("again.png");
    vault.save_document(person, &added.id, &saved).unwrap();
    assert_eq!(std::fs::read(&saved).unwrap(), photo);
    let rows = vault
        .audit_entries(&Filter {
            kinds: vec![AuditKind::OwnEntry],
        })
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].details["what"], "upload");
    assert!(!rows[0].details.to_string().contains("Tressa"));
    // The upload and the own source's Patient.
    assert_eq!(vault.summary(Some(person)).unwrap().resources, before + 2);

    // Refused, nothing written: a web page named .pdf, a file over the cap (sparse: its
    // length says so before any byte is read), no title, no file, a folder.
    let page = work.path().join("letter.pdf");
    std::fs::write(&page, "<html><script>alert(1)</script></html>").unwrap();
    let big = work.path().join("scan.pdf");
    let file = std::fs::File::create(&big).unwrap();
    file.set_len(MAX_UPLOAD_BYTES as u64 + 1).unwrap();
    let problem = |e: Error| match e {
        Error::OwnEntry(p) => Some(p),
        _ => None,
    };
    let mut refuse = |path: &std::path::Path, title: &str| {
        let e = vault.add_own_file(person, path, title).unwrap_err();
        assert!(!e.to_string().is_empty());
        e
    };
    assert_eq!(
        problem(refuse(&page, "Letter")),
        Some(OwnEntryProblem::FileType)
    );
    assert_eq!(
        problem(refuse(&big, "Scan")),
        Some(OwnEntryProblem::TooLarge)
    );
    assert_eq!(problem(refuse(&path, "  ")), Some(OwnEntryProblem::NoName));
    assert!(matches!(
        refuse(&work.path().join("missing.pdf"), "Gone"),
        Error::Io { .. }
    ));
    assert_eq!(
        problem(refuse(work.path(), "A folder")),
        Some(OwnEntryProblem::FileType)
    );
    assert_eq!(vault.summary(Some(person)).unwrap().resources, before + 2);
}
