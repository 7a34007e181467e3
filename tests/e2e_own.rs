//! The patient's own entries in the real app (WebDriver, as in `e2e.rs`): a medicine added
//! through "Add to my record" is listed under Medications marked "added by me"; a note goes on
//! a portal's entry and a photo is uploaded by its path; all are in the automatic backup the
//! changes start, which restores with them; the PDF the window saves lists the medicine as
//! "(patient-reported)" and its IPS holds it. axe-core scans each screen on the way.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use ownrecord_core::backup::restore::{RestoreRequest, restore};
use ownrecord_core::vault::browse::Category;
use ownrecord_core::vault::own::OWN_SOURCE_NAME;
use ownrecord_core::vault::people::PersonChoice;
use ownrecord_core::{SystemClock, Unlock};
use ownrecord_testkit::checkers;
use ownrecord_testkit::webdriver::Driver;
use zeroize::Zeroizing;

use crate::e2e::{app, click, keyring_vault, shot, text, wait_for, wait_until};

const MEDICINE: &str = "Ibuprofen 200 mg tablets";

/// The newest complete backup generation in `folder` holding at least `resources`.
fn generation_holding(folder: &Path, resources: i64) -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(folder)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("ownrecord-backup-"))
        })
        .filter(|g| {
            let manifest = ownrecord_testkit::read_json(&g.join("manifest.json"));
            manifest["counts"]["resources"].as_i64() >= Some(resources)
        })
        .collect();
    found.sort();
    found.pop()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_medicine_the_patient_adds_is_marked_theirs_exported_as_patient_reported_and_backed_up() {
    ownrecord_testkit::require_secret_service();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("vault");
    let backups = work.path().join("backups");
    // A sample patient's vault, with a backup folder chosen and its recovery key kept.
    let (recovery_key, person) = {
        let mut vault = keyring_vault(&dir);
        let key = vault.take_new_recovery_key().unwrap();
        let patient = ownrecord_testkit::patient_files()
            .into_iter()
            .find(|f| f.to_string_lossy().contains("Tressa_Bergstrom"))
            .unwrap();
        for file in ownrecord_testkit::support_files().iter().chain([&patient]) {
            vault
                .import_file(file, PersonChoice::New, &mut |_| {})
                .unwrap();
        }
        std::fs::create_dir_all(&backups).unwrap();
        vault.set_backup_folder(Some(&backups)).unwrap();
        vault.backup_to(&backups).unwrap();
        (
            key.to_text().as_str().to_owned(),
            vault.reading_person(None).unwrap(),
        )
    };
    let first = generation_holding(&backups, 0).unwrap();
    let resources_before =
        ownrecord_testkit::read_json(&first.join("manifest.json"))["counts"]["resources"]
            .as_i64()
            .unwrap();
    let driver = Driver::start(&[
        ("OWNRECORD_VAULT", dir.to_str().unwrap()),
        ("OWNRECORD_BACKUP_DELAY_SECS", "1"),
    ]);
    let c = driver.session(&app()).await;
    click(&c, "#unlock").await;

    // "Add to my record": a medicine, sent by the keyboard's Enter in its form.
    click(&c, "#nav-own").await;
    assert!(text(&c, "#person-banner").await.contains("Bergstrom"));
    // A date field takes its value as the window sets it (typing into it depends on the locale).
    c.execute(
        "document.querySelector('#own-med-since').value = '2024-01-15';",
        vec![],
    )
    .await
    .unwrap();
    wait_for(&c, "#own-med-name")
        .await
        .send_keys(MEDICINE)
        .await
        .unwrap();
    let dose = wait_for(&c, "#own-med-dose").await;
    dose.send_keys("1 tablet when needed").await.unwrap();
    wait_until(
        &c,
        "document.querySelector('#own-med-dose').value === '1 tablet when needed'",
    )
    .await;
    shot(&c, "own-add-form").await;
    crate::a11y::assert_accessible(&c, "add to my record").await;
    dose.send_keys("\u{E007}").await.unwrap(); // Enter
    wait_until(
        &c,
        "document.querySelector('#own-medication-status')?.textContent.includes('added by me')",
    )
    .await;

    // Under Medications, marked as the patient's own.
    click(&c, "#nav-record").await;
    click(&c, "#tab-medications").await;
    let own_row = format!(
        "[...document.querySelectorAll('#items .item')].find(b => b.querySelector('.label')?.textContent.startsWith({MEDICINE:?}))"
    );
    wait_until(&c, &own_row).await;
    let badge = c
        .execute(
            &format!("return ({own_row}).querySelector('.own-badge')?.textContent ?? null;"),
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(badge, serde_json::json!("added by me"));
    // Nothing from the portal is marked.
    let marked = c
        .execute(
            "return document.querySelectorAll('#items .item .own-badge').length;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(marked, serde_json::json!(1));
    c.execute(&format!("({own_row}).click();"), vec![])
        .await
        .unwrap();
    wait_until(
        &c,
        "document.querySelector('#detail-source')?.textContent.includes('added by me')",
    )
    .await;
    shot(&c, "own-entry").await;
    crate::a11y::assert_accessible(&c, "an entry added by me").await;

    // A note on one of the portal's medicines, by its detail's "Add a note".
    c.execute(
        "[...document.querySelectorAll('#items .item')].find(b => !b.querySelector('.own-badge')).click();",
        vec![],
    )
    .await
    .unwrap();
    wait_until(
        &c,
        "document.querySelector('#detail-source')?.textContent.startsWith('From ')",
    )
    .await;
    click(&c, "#add-note").await;
    wait_for(&c, "#note-text")
        .await
        .send_keys("Stopped it in May: it upset my stomach.")
        .await
        .unwrap();
    crate::a11y::assert_accessible(&c, "add a note").await;
    click(&c, "#save-note").await;
    wait_until(
        &c,
        "document.querySelector('#note-status')?.textContent.includes('note was added')",
    )
    .await;

    // A photo uploaded: WebDriver cannot drive the system's file dialog, so the window calls the
    // command its form calls after the dialog, with the path the dialog would give.
    let photo = work.path().join("prescription.pdf");
    std::fs::write(&photo, b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR a photo").unwrap();
    let added = c
        .execute_async(
            "const [person, path, done] = arguments;
             window.__TAURI_INTERNALS__.invoke('add_upload', { person, path, title: 'Prescription photo' })
               .then(done, (e) => done({ error: e }));",
            vec![serde_json::json!(person), serde_json::json!(photo)],
        )
        .await
        .unwrap();
    assert_eq!(added["resource_type"], "DocumentReference", "{added}");
    click(&c, "#tab-documents").await;
    wait_until(
        &c,
        "[...document.querySelectorAll('#items .item')].some(b => b.querySelector('.label')?.textContent.startsWith('Prescription photo') && b.querySelector('.own-badge'))",
    )
    .await;

    // The changes started an automatic backup (the own source's Patient, the medicine, the note,
    // the photo) before anything else changed the vault.
    let mut generation = None;
    for _ in 0..300 {
        generation = generation_holding(&backups, resources_before + 4);
        if generation.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(generation.is_some(), "no automatic backup after the change");

    // The PDF and the IPS, saved through the window.
    let pdf = work.path().join("summary.pdf");
    let ips = work.path().join("summary.json");
    click(&c, "#nav-export").await;
    for (path, button) in [(&pdf, "#export-pdf"), (&ips, "#export-ips")] {
        let field = wait_for(&c, "#export-path").await;
        field.clear().await.unwrap();
        field.send_keys(path.to_str().unwrap()).await.unwrap();
        c.execute("document.querySelector('#export-done')?.remove();", vec![])
            .await
            .unwrap();
        click(&c, button).await;
        wait_for(&c, "#export-done").await;
    }
    let pdf_text = checkers::pdf_text(&pdf)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        pdf_text.contains(&format!("{MEDICINE} (patient-reported)")),
        "{pdf_text}"
    );
    let bundle = ownrecord_testkit::read_json(&ips);
    let statements: Vec<_> = bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["resource"])
        .filter(|r| {
            r["resourceType"] == "MedicationStatement"
                && r["medicationCodeableConcept"]["text"] == MEDICINE
        })
        .collect();
    assert_eq!(statements.len(), 1, "the IPS holds the medicine once");
    assert_eq!(statements[0]["dosage"][0]["text"], "1 tablet when needed");

    c.close().await.unwrap();
    drop(driver);

    // Restored on a new computer with the recovery key: the medicine is still the patient's own.
    let (restored, _) = restore(
        RestoreRequest {
            from: &generation.unwrap(),
            to: &work.path().join("restored"),
            unlock: Unlock::recovery_key(Zeroizing::new(recovery_key)),
            replace: false,
            as_new: false,
        },
        Arc::new(SystemClock),
    )
    .unwrap();
    let medications = restored
        .list(person, Category::Medications, 0, 500)
        .unwrap();
    assert!(
        medications
            .items
            .iter()
            .any(|i| i.display == MEDICINE && i.source == OWN_SOURCE_NAME),
        "{:?}",
        medications.items
    );
    let documents = restored.list(person, Category::Documents, 0, 500).unwrap();
    let own_documents = documents
        .items
        .iter()
        .filter(|i| i.source == OWN_SOURCE_NAME)
        .count();
    assert_eq!(
        own_documents, 2,
        "the note and the photo are in the restored vault"
    );
}
