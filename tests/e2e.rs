//! The real desktop app, driven through WebDriver: `tauri-driver` (2.1.0) in front of Debian's
//! WebKitWebDriver, under Xvfb, with the session's real Secret Service and the demo portal on
//! loopback. Screenshots of each step go to `target/e2e-artifacts/`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use fantoccini::{Client, Locator};
use ownrecord_core::vault::people::PersonChoice;
use ownrecord_demo_portal::{DemoPortal, Options, Personality};
use ownrecord_testkit::browser::{self, Login};
use ownrecord_testkit::webdriver::Driver;

use crate::a11y::assert_accessible;

pub(crate) fn app() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_ownrecord-desktop"))
}

pub(crate) fn artifacts() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/e2e-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub(crate) async fn shot(c: &Client, name: &str) {
    let png = c.screenshot().await.unwrap();
    std::fs::write(artifacts().join(format!("{name}.png")), png).unwrap();
}

pub(crate) async fn wait_for(c: &Client, css: &str) -> fantoccini::elements::Element {
    c.wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css} did not appear: {e}"))
}

pub(crate) async fn click(c: &Client, css: &str) {
    wait_for(c, css).await.click().await.unwrap();
}

/// Waits until `script` (a JS expression) is true in the window.
pub(crate) async fn wait_until(c: &Client, script: &str) {
    for _ in 0..300 {
        let value = c
            .execute(&format!("return !!({script});"), vec![])
            .await
            .unwrap();
        if value == serde_json::Value::Bool(true) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("never true: {script}");
}

pub(crate) async fn text(c: &Client, css: &str) -> String {
    wait_for(c, css).await.text().await.unwrap()
}

/// A new vault at `dir`, its key in the session's keyring.
pub(crate) fn keyring_vault(dir: &Path) -> ownrecord_core::Vault {
    ownrecord_core::Vault::create(
        dir,
        ownrecord_core::KeyProtection::keyring(),
        std::sync::Arc::new(ownrecord_core::SystemClock),
    )
    .unwrap()
}

/// A new keyring vault at `dir` holding `bundle` (imported as a file beside it), closed again.
pub(crate) fn keyring_vault_holding(dir: &Path, bundle: &serde_json::Value) {
    let file = dir.with_extension("json");
    std::fs::write(&file, bundle.to_string()).unwrap();
    keyring_vault(dir)
        .import_file(&file, PersonChoice::New, &mut |_| {})
        .unwrap();
}

pub(crate) fn demo_patients() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo-patients")
}

/// The backup generations in `folder` (complete ones: partial ones start with a dot).
fn generations(folder: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(folder)
        .map(|entries| entries.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    found.retain(|p| {
        p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("ownrecord-backup-"))
    });
    found.sort();
    found
}

/// The audit entries a generation holds, from its manifest.
fn audit_entries_in(generation: &Path) -> i64 {
    let manifest = ownrecord_testkit::read_json(&generation.join("manifest.json"));
    manifest["counts"]["audit_entries"].as_i64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_flow_in_the_real_app() {
    ownrecord_testkit::require_secret_service();
    let portal = DemoPortal::start_with_patients(
        "127.0.0.1:0".parse().unwrap(),
        &demo_patients(),
        Options {
            page_size: 4,
            ..Options::default()
        },
    )
    .await
    .unwrap();
    let work = tempfile::tempdir().unwrap();
    let vault = work.path().join("vault");
    let fhir_base = portal.fhir_base();
    let backups = work.path().join("backups");
    let driver = Driver::start(&[
        ("OWNRECORD_VAULT", vault.to_str().unwrap()),
        ("OWNRECORD_DEMO_PORTAL", &fhir_base),
        // Automatic backups two seconds after the last change (a minute in use).
        ("OWNRECORD_BACKUP_DELAY_SECS", "2"),
    ]);
    let c = driver.session(&app()).await;

    // First run: one sentence on where the data lives, then a vault in the keyring.
    let welcome = text(&c, "#first-run").await;
    assert!(welcome.contains(vault.to_str().unwrap()), "{welcome}");
    shot(&c, "01-first-run").await;
    assert_accessible(&c, "first run").await;
    click(&c, "#create-vault").await;

    // Its recovery key, shown once on its own screen; the record opens once it is written down.
    let recovery_key: String = text(&c, "#recovery-key")
        .await
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let groups: Vec<&str> = recovery_key.split('-').collect();
    assert!(
        groups.len() == 8 && groups.iter().all(|g| g.len() == 5),
        "{recovery_key}"
    );
    assert!(
        !wait_for(&c, "#recovery-continue")
            .await
            .is_enabled()
            .await
            .unwrap()
    );
    shot(&c, "01b-recovery-key").await;
    assert_accessible(&c, "the recovery key").await;
    click(&c, "#recovery-key-written").await;
    click(&c, "#recovery-continue").await;
    wait_for(&c, "#nav-connections").await;
    assert!(vault.join("vault.db").exists());
    assert!(
        !c.source().await.unwrap().contains(&recovery_key),
        "the key is gone from the page"
    );

    // Connect the demo portal: the sign-in page is completed over HTTP, as a browser would.
    click(&c, "#nav-connections").await;
    let sign_in = start_demo_sign_in(&c).await;
    shot(&c, "02-sign-in").await;
    assert_accessible(&c, "connections, signing in").await;
    let redirect = browser::sign_in(&sign_in, &Login::new("demo", "demo")).await;
    browser::visit(&redirect).await;
    wait_for(&c, ".connection .sync").await;
    shot(&c, "03-connected").await;
    assert_accessible(&c, "connections, connected").await;

    // Sync, with the progress bar shown while it runs.
    let shown = c
        .execute(
            "document.querySelector('.connection .sync').click(); \
             return !document.querySelector('progress.sync-progress').hidden;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        shown,
        serde_json::Value::Bool(true),
        "the progress bar shows"
    );
    shot(&c, "04-syncing").await;
    wait_for(&c, ".status.done").await;
    assert!(text(&c, ".status.done").await.contains("new"));
    shot(&c, "05-synced").await;
    assert_accessible(&c, "connections, synced").await;

    // Backups: a folder typed in, "Back up now", and the backup shown.
    click(&c, "#nav-backups").await;
    wait_for(&c, "#backup-path")
        .await
        .send_keys(backups.to_str().unwrap())
        .await
        .unwrap();
    click(&c, "#backup-use-path").await;
    wait_until(
        &c,
        "document.querySelector('#backup-folder')?.textContent.startsWith('Backups go to')",
    )
    .await;
    click(&c, "#backup-now").await;
    wait_until(
        &c,
        "document.querySelector('#backup-done, #backup-result .error')",
    )
    .await;
    let done = text(&c, "#backup-result").await;
    assert!(done.starts_with("Backed up"), "{done}");
    wait_until(
        &c,
        "document.querySelector('#backup-last')?.textContent.startsWith('Last backup:')",
    )
    .await;
    assert!(
        !wait_for(&c, "#backup-problem")
            .await
            .is_displayed()
            .await
            .unwrap()
    );
    shot(&c, "05c-backups").await;
    assert_accessible(&c, "backups").await;
    assert!(!generations(&backups).is_empty());
    click(&c, "#nav-connections").await;

    // The first sync made the vault's first person: the header names them.
    let first = &portal.patients()[0];
    let family = first.name.split_whitespace().last().unwrap();
    wait_until(
        &c,
        &format!(
            "document.querySelector('#person-switcher')?.selectedOptions[0]?.textContent.includes({family:?})"
        ),
    )
    .await;

    // A second patient at the same portal matches nobody: the first sync asks who it is.
    let second = &portal.patients()[1];
    let sign_in = start_demo_sign_in(&c).await;
    let login = Login {
        choose: Some(("patient".into(), second.id.clone())),
        ..Login::new("demo", "demo")
    };
    let redirect = browser::sign_in(&sign_in, &login).await;
    browser::visit(&redirect).await;
    wait_until(
        &c,
        "document.querySelectorAll('.connection .sync').length === 2",
    )
    .await;
    c.execute(
        "document.querySelectorAll('.connection')[1].querySelector('.sync').click();",
        vec![],
    )
    .await
    .unwrap();
    let question = text(&c, "#who-is-this").await;
    assert!(question.contains(family), "{question}");
    shot(&c, "05b-who-is-this").await;
    assert_accessible(&c, "whose record is this").await;
    click(&c, "#who-new").await;
    wait_until(
        &c,
        "document.querySelectorAll('.connection')[1]?.querySelector('.status.done')",
    )
    .await;
    wait_until(
        &c,
        "document.querySelectorAll('#person-switcher option').length === 2",
    )
    .await;
    assert!(
        text(&c, "#person-switcher")
            .await
            .contains(second.name.split_whitespace().last().unwrap())
    );
    // The chosen person stays the first one.
    wait_until(
        &c,
        &format!(
            "document.querySelector('#person-switcher').selectedOptions[0].textContent.includes({family:?})"
        ),
    )
    .await;

    // Find a lab result and open its trend plot.
    click(&c, "#nav-record").await;
    assert!(text(&c, "#person-banner").await.contains(family));
    click(&c, "#tab-labs").await;
    click(&c, "#items .item").await;
    click(&c, "#show-trend").await;
    wait_for(&c, "#trend .chart-plot canvas").await;
    shot(&c, "06-lab-trend").await;
    assert_accessible(&c, "record, a lab result's trend").await;
    // The smaller window the app supports: nothing spills out sideways.
    c.set_window_size(1024, 700).await.unwrap();
    wait_until(&c, "window.innerWidth <= 1024").await;
    wait_until(
        &c,
        "document.documentElement.scrollWidth <= window.innerWidth",
    )
    .await;
    shot(&c, "06b-lab-trend-1024x700").await;
    c.set_window_size(1280, 800).await.unwrap();
    click(&c, "#show-raw").await;
    assert!(text(&c, "#raw-json").await.contains("\"resourceType\""));
    assert_accessible(&c, "record, raw JSON").await;

    // Export a PDF to a path.
    let pdf = work.path().join("visit-summary.pdf");
    click(&c, "#nav-export").await;
    assert!(text(&c, "#person-banner").await.contains(family));
    assert_accessible(&c, "export & share").await;
    wait_for(&c, "#export-path")
        .await
        .send_keys(pdf.to_str().unwrap())
        .await
        .unwrap();
    click(&c, "#export-pdf").await;
    wait_for(&c, "#export-done").await;
    assert!(std::fs::read(&pdf).unwrap().starts_with(b"%PDF"));
    shot(&c, "07-exported").await;
    assert_accessible(&c, "export & share, a PDF saved").await;

    // The audit log shows the export, and the chain verifies.
    click(&c, "#nav-audit").await;
    wait_until(
        &c,
        "document.querySelector('#audit-status')?.className === 'ok'",
    )
    .await;
    wait_until(
        &c,
        "document.querySelector('#audit-rows')?.textContent.includes('PDF summary')",
    )
    .await;
    let intact = text(&c, "#audit-status").await;
    assert!(intact.contains("intact"));
    shot(&c, "08-audit-log").await;
    assert_accessible(&c, "audit log").await;

    // An automatic backup follows the export: a generation holding its disclosure row.
    let entries: i64 = intact
        .split_whitespace()
        .find_map(|w| w.parse().ok())
        .unwrap();
    let mut backed_up = false;
    for _ in 0..300 {
        if generations(&backups)
            .iter()
            .any(|g| audit_entries_in(g) >= entries)
        {
            backed_up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(backed_up, "no automatic backup after the export");

    // The switcher shows the second person's record; the People view lists both.
    c.execute(
        "const s = document.querySelector('#person-switcher'); \
         s.value = s.options[1].value; s.dispatchEvent(new Event('change'));",
        vec![],
    )
    .await
    .unwrap();
    let second_family = second.name.split_whitespace().last().unwrap();
    click(&c, "#nav-record").await;
    wait_until(
        &c,
        &format!(
            "document.querySelector('#person-banner')?.textContent.includes({second_family:?})"
        ),
    )
    .await;
    wait_for(&c, "#items .item").await;
    click(&c, "#nav-people").await;
    wait_until(
        &c,
        "document.querySelectorAll('#people .person').length === 2",
    )
    .await;
    shot(&c, "08b-people").await;
    assert_accessible(&c, "people").await;

    // The keyring entry lost (a reinstalled system): the recovery key opens the vault, and puts
    // its key back into the keyring.
    click(&c, "#lock").await;
    wait_for(&c, "#unlock-screen").await;
    let vault_id = ownrecord_testkit::vault_id(&vault);
    assert!(ownrecord_core::vault::keyring::delete(&vault_id).unwrap());
    click(&c, "#use-recovery-key").await;
    wait_for(&c, "#recovery-key-input")
        .await
        .send_keys(&recovery_key.to_lowercase())
        .await
        .unwrap();
    shot(&c, "08c-unlock-with-recovery-key").await;
    assert_accessible(&c, "unlock with the recovery key").await;
    click(&c, "#unlock").await;
    wait_for(&c, "#nav-record").await;
    assert!(ownrecord_testkit::keyring_secret(&vault_id).is_some());

    // Wipe, and the first-run screen again.
    click(&c, "#nav-wipe").await;
    wait_for(&c, "#wipe-confirm")
        .await
        .send_keys("DELETE")
        .await
        .unwrap();
    assert_accessible(&c, "wipe").await;
    click(&c, "#wipe-button").await;
    wait_for(&c, "#first-run").await;
    shot(&c, "09-wiped").await;
    assert_accessible(&c, "first run after a wipe").await;
    assert!(!vault.join("vault.db").exists());

    // The wipe deleted the vault's backups too (copies under the same key).
    assert!(
        generations(&backups).is_empty(),
        "{:?}",
        generations(&backups)
    );
    c.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_from_a_portal_is_shown_as_text_and_runs_nothing() {
    ownrecord_testkit::require_secret_service();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("vault");
    let img = "<img src=x onerror=\"window.__xss=1\">";
    let script = "<script>window.__xss=2</script>";
    let bundle = serde_json::json!({"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": {"resourceType": "Patient", "id": "p1", "name": [{"text": format!("Eve {img}")}]}},
        {"resource": {"resourceType": "Condition", "id": "c1",
            "text": {"status": "generated", "div": format!("<div xmlns=\"http://www.w3.org/1999/xhtml\">{img}{script}</div>")},
            "code": {"text": format!("Rash {img} {script}")}, "subject": {"reference": "Patient/p1"},
            "onsetDateTime": "2024-02-03"}}]});
    keyring_vault_holding(&dir, &bundle);
    let driver = Driver::start(&[("OWNRECORD_VAULT", dir.to_str().unwrap())]);
    let c = driver.session(&app()).await;
    wait_for(&c, "#unlock-screen").await;
    assert_accessible(&c, "unlock").await;
    click(&c, "#unlock").await;
    // The home first, its name as text; then the record's list.
    assert_eq!(text(&c, "#home-name").await, format!("Eve {img}"));
    click(&c, "#nav-record").await;
    wait_until(&c, "document.querySelectorAll('#items .item').length >= 2").await;
    let listed = text(&c, "#items").await;
    // The header names the person as text too.
    assert!(
        text(&c, "#person-switcher")
            .await
            .contains(&format!("Eve {img}"))
    );
    assert!(listed.contains(&format!("Rash {img} {script}")), "{listed}");
    click(&c, "#items .item[data-type='Condition']").await;
    click(&c, "#show-raw").await;
    assert!(text(&c, "#raw-json").await.contains("onerror"));
    shot(&c, "10-markup-as-text").await;
    assert_accessible(&c, "record, markup shown as text").await;
    let clean = c
        .execute(
            "return window.__xss === undefined && document.querySelectorAll('#app img, #app script').length === 0;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        clean,
        serde_json::Value::Bool(true),
        "no markup ran or rendered"
    );
    c.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ccda_document_is_read_in_a_sandboxed_frame_beside_its_entries() {
    ownrecord_testkit::require_secret_service();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("vault");
    keyring_vault(&dir);
    // HL7's example CCD with a script (HL7's namespace and XHTML's) and a remote image with an
    // onerror handler in its first section's narrative.
    let ccd = std::fs::read_to_string(ownrecord_testkit::ccda_sample(
        "hl7ex/Documents__CCD__CCD_1__CCD.XML",
    ))
    .unwrap();
    let hostile = r#"<paragraph>Read me<script>window.__xss=1</script></paragraph>
        <h:script xmlns:h="http://www.w3.org/1999/xhtml">window.__xss=2</h:script>
        <h:img xmlns:h="http://www.w3.org/1999/xhtml" src="http://127.0.0.1:9/x.png" onerror="window.__xss=3"/>"#;
    let at = ccd.find("<text>").unwrap() + "<text>".len();
    let file = work.path().join("Summary.xml");
    std::fs::write(&file, format!("{}{hostile}{}", &ccd[..at], &ccd[at..])).unwrap();

    let driver = Driver::start(&[("OWNRECORD_VAULT", dir.to_str().unwrap())]);
    let c = driver.session(&app()).await;
    click(&c, "#unlock").await;
    // The typed-path import (the system's dialog and drag-and-drop cannot be driven).
    click(&c, "#nav-connections").await;
    wait_for(&c, "#import-path")
        .await
        .send_keys(file.to_str().unwrap())
        .await
        .unwrap();
    click(&c, "#import-path-go").await;
    let done = text(&c, "#import-result .import-done").await;
    assert!(done.contains("Imported Summary.xml"), "{done}");
    shot(&c, "11-ccda-imported").await;
    assert_accessible(&c, "connections, a C-CDA imported").await;

    click(&c, "#nav-record").await;
    click(&c, "#tab-documents").await;
    click(&c, "#items .item[data-type='DocumentReference']").await;
    click(&c, "#view-document").await;
    let frame = wait_for(&c, "iframe#document-frame[sandbox='']").await;
    wait_until(
        &c,
        "document.querySelectorAll('#document-entries .item').length > 10",
    )
    .await;
    shot(&c, "12-ccda-document").await;
    assert_accessible(&c, "record, a C-CDA document").await;
    let srcdoc = frame.attr("srcdoc").await.unwrap().unwrap();
    assert!(
        srcdoc.contains("default-src 'none'"),
        "the frame's own policy"
    );
    assert!(
        !srcdoc.contains("__xss") && !srcdoc.contains("<script"),
        "{srcdoc}"
    );

    // Inside the frame: the sections' titles and text, and nothing that ran.
    crate::a11y::assert_frame_accessible(&c, "#document-frame", "the C-CDA document's text", &[])
        .await;
    frame.enter_frame().await.unwrap();
    let titles = c.find_all(Locator::Css("h2")).await.unwrap();
    let mut shown = Vec::new();
    for t in titles {
        shown.push(t.text().await.unwrap());
    }
    assert!(
        shown.iter().any(|t| t == "ALLERGIES AND ADVERSE REACTIONS"),
        "{shown:?}"
    );
    let body = c
        .find(Locator::Css("body"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(body.contains("Read me"), "{body}");
    // Our fixed stylesheet applies (the window's CSP allows it by its hash).
    let collapse = c
        .find(Locator::Css("table"))
        .await
        .unwrap()
        .css_value("border-collapse")
        .await
        .unwrap();
    assert_eq!(collapse, "collapse");
    assert!(
        c.find_all(Locator::Css("script, img, link, style ~ style"))
            .await
            .unwrap()
            .is_empty()
    );
    c.enter_parent_frame().await.unwrap();
    let clean = c
        .execute(
            "return window.__xss === undefined && document.querySelectorAll('#app img, #app script').length === 0;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        clean,
        serde_json::Value::Bool(true),
        "nothing from the document ran"
    );

    // Each entry made from the document opens its detail.
    let first = text(&c, "#document-entries .item .label").await;
    click(&c, "#document-entries .item").await;
    wait_until(
        &c,
        &format!("document.querySelector('#detail-title')?.textContent === {first:?}"),
    )
    .await;
    c.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_is_restored_on_a_new_computer_with_the_recovery_key() {
    ownrecord_testkit::require_secret_service();
    let work = tempfile::tempdir().unwrap();
    let old = work.path().join("old-computer");
    let usb = work.path().join("usb");
    let bundle = serde_json::json!({"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": {"resourceType": "Patient", "id": "p1", "name": [{"given": ["Rosa"], "family": "Okafor"}], "birthDate": "1961-07-30"}},
        {"resource": {"resourceType": "Condition", "id": "c1", "code": {"text": "Asthma"},
            "subject": {"reference": "Patient/p1"}, "onsetDateTime": "2019-04-02"}}]});
    let file = work.path().join("record.json");
    std::fs::write(&file, bundle.to_string()).unwrap();
    let recovery_key = {
        let mut vault = keyring_vault(&old);
        let key = vault.take_new_recovery_key().unwrap();
        vault
            .import_file(&file, PersonChoice::New, &mut |_| {})
            .unwrap();
        vault.backup_to(&usb).unwrap();
        key.to_text().as_str().to_owned()
    };
    // The old computer is gone, its keyring with it; the backup drive is left.
    let vault_id = ownrecord_testkit::vault_id(&old);
    assert!(ownrecord_core::vault::keyring::delete(&vault_id).unwrap());
    std::fs::remove_dir_all(&old).unwrap();

    let dir = work.path().join("new-computer");
    let driver = Driver::start(&[("OWNRECORD_VAULT", dir.to_str().unwrap())]);
    let c = driver.session(&app()).await;
    click(&c, "#restore-start").await;
    wait_for(&c, "#restore-from")
        .await
        .send_keys(usb.to_str().unwrap())
        .await
        .unwrap();
    // A typo first: the core's sentence, and nothing restored.
    let secret = wait_for(&c, "#restore-secret").await;
    secret.send_keys(&recovery_key[6..]).await.unwrap();
    click(&c, "#restore-go").await;
    let refused = text(&c, "#restore-form .error").await;
    assert!(refused.contains("typo"), "{refused}");
    assert!(!dir.join("vault.db").exists());
    secret.clear().await.unwrap();
    secret.send_keys(&recovery_key).await.unwrap();
    shot(&c, "13-restore").await;
    assert_accessible(&c, "restore from a backup").await;
    click(&c, "#restore-go").await;
    wait_until(
        &c,
        "!document.querySelector('#restore-form .error')?.textContent.includes('typo')",
    )
    .await;
    let shown = text(&c, "#home-name, #recovery-offer, #restore-form .error").await;
    assert!(shown.contains("Rosa Okafor"), "{shown}");
    click(&c, "#nav-record").await;
    wait_until(
        &c,
        "document.querySelector('#items')?.textContent.includes('Asthma')",
    )
    .await;
    shot(&c, "14-restored").await;
    assert_accessible(&c, "restored").await;
    // The restored vault is this computer's now: its key is in the keyring.
    assert!(ownrecord_testkit::keyring_secret(&vault_id).is_some());
    c.close().await.unwrap();
}

/// The environment of the running app whose vault is `vault` (from /proc), to start a second
/// instance as the desktop would: same display, same session bus, same settings.
fn environment_of_app(vault: &Path) -> Vec<(String, String)> {
    let binary = std::fs::canonicalize(app()).unwrap();
    let wanted = format!("OWNRECORD_VAULT={}", vault.display());
    for _ in 0..100 {
        for entry in std::fs::read_dir("/proc").unwrap().filter_map(|e| e.ok()) {
            let dir = entry.path();
            if std::fs::read_link(dir.join("exe")).ok().as_ref() != Some(&binary) {
                continue;
            }
            let Ok(environ) = std::fs::read(dir.join("environ")) else {
                continue;
            };
            let vars: Vec<String> = environ
                .split(|b| *b == 0)
                .map(|v| String::from_utf8_lossy(v).into_owned())
                .collect();
            if vars.contains(&wanted) {
                return vars
                    .iter()
                    .filter_map(|v| v.split_once('='))
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect();
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("no running app with the vault {}", vault.display());
}

/// Plays the operating system handing `url` to the app: the app's binary started again with
/// the URL as its one argument, as `xdg-open` does through the registered desktop entry. The
/// second instance must hand it over and exit 0 promptly.
fn open_as_the_os(env: &[(String, String)], url: &str) {
    use std::process::{Command, Stdio};
    let started = std::time::Instant::now();
    let mut second = Command::new(app())
        .arg(url)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    loop {
        if let Some(status) = second.try_wait().unwrap() {
            assert!(status.success(), "the second instance failed: {status}");
            return;
        }
        if started.elapsed() > Duration::from_secs(15) {
            let _ = second.kill();
            let _ = second.wait();
            panic!("the second instance did not exit within 15 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Fills the connection form for a portal the directory does not list, made by healow, and
/// returns the sign-in address the window shows.
async fn connect_unlisted_healow(c: &Client, fhir_base: &str) -> String {
    let address = wait_for(c, "#portal-url").await;
    address.clear().await.unwrap();
    address.send_keys(fhir_base).await.unwrap();
    // "Made by", chosen by its label (WebKitWebDriver does not click options of a closed select;
    // the people switcher is chosen the same way above).
    let chosen = c
        .execute(
            "const s = document.querySelector('#portal-vendor'); \
             const o = [...s.options].find((o) => o.textContent === 'eClinicalWorks (healow)'); \
             if (!o) return null; s.value = o.value; s.dispatchEvent(new Event('change')); return o.value;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(chosen, serde_json::json!("healow"));
    let label = text(c, "#client-id-label").await;
    assert_eq!(
        label,
        "Your own client id for eClinicalWorks (healow) (optional)"
    );
    c.execute("document.querySelector('#sign-in-url')?.remove();", vec![])
        .await
        .unwrap();
    click(c, "#connect-url").await;
    wait_until(
        c,
        "document.querySelector('#sign-in-url')?.textContent.startsWith('http')",
    )
    .await;
    text(c, "#sign-in-url").await
}

/// How many connections the window lists.
async fn connections_shown(c: &Client) -> u64 {
    c.execute(
        "return document.querySelectorAll('.connection').length;",
        vec![],
    )
    .await
    .unwrap()
    .as_u64()
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_portal_that_refuses_loopback_signs_in_through_the_apps_own_scheme() {
    ownrecord_testkit::require_secret_service();
    // healow registers no loopback redirect: only org.ownrecord.app:/callback.
    let portal = DemoPortal::start_with_patients(
        "127.0.0.1:0".parse().unwrap(),
        &demo_patients(),
        Options {
            personality: Personality::Healow,
            ..Options::default()
        },
    )
    .await
    .unwrap();
    let fhir_base = portal.fhir_base();
    let work = tempfile::tempdir().unwrap();
    let vault = work.path().join("vault");
    keyring_vault(&vault);
    // The desktop's own folders, so that registering the scheme stays in this test.
    let data = work.path().join("data");
    let config = work.path().join("config");
    let driver = Driver::start(&[
        ("OWNRECORD_VAULT", vault.to_str().unwrap()),
        ("XDG_DATA_HOME", data.to_str().unwrap()),
        ("XDG_CONFIG_HOME", config.to_str().unwrap()),
    ]);
    let c = driver.session(&app()).await;
    click(&c, "#unlock").await;
    click(&c, "#nav-connections").await;

    // The app told the desktop that it opens org.ownrecord.app: links.
    let entry = data.join("applications/ownrecord-desktop-handler.desktop");
    for _ in 0..100 {
        if entry.exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let registered = std::fs::read_to_string(&entry).expect("the scheme is registered");
    assert!(
        registered.contains("MimeType=x-scheme-handler/org.ownrecord.app"),
        "{registered}"
    );
    let binary = std::fs::canonicalize(app()).unwrap();
    assert!(
        registered.contains(&format!("Exec=\"{}\" %u", binary.display())),
        "{registered}"
    );

    // The 127.0.0.1 portal is in no directory: the patient says who made it.
    let sign_in = connect_unlisted_healow(&c, &fhir_base).await;
    assert!(
        sign_in.contains("redirect_uri=org.ownrecord.app%3A%2Fcallback"),
        "{sign_in}"
    );
    shot(&c, "15-healow-sign-in").await;
    assert_accessible(&c, "connections, an unlisted portal").await;
    let callback = browser::sign_in(&sign_in, &Login::new("demo", "demo")).await;
    assert!(
        callback.starts_with("org.ownrecord.app:/callback?"),
        "{callback}"
    );
    let env = environment_of_app(&vault);

    // A URL for another path is not the callback: the sign-in still waits.
    open_as_the_os(&env, &callback.replacen(":/callback", ":/elsewhere", 1));
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        wait_for(&c, "#sign-in").await.is_displayed().await.unwrap(),
        "still waiting"
    );
    assert_eq!(connections_shown(&c).await, 0);

    // The callback: the window shows the connection, named by who made it and where.
    open_as_the_os(&env, &callback);
    wait_for(&c, ".connection .sync").await;
    let host = fhir_base
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(
        text(&c, ".connection .connection-name").await,
        format!("Portal at {host}, made by eClinicalWorks (healow)")
    );
    assert!(
        text(&c, ".connection .status")
            .await
            .contains("Not synced yet")
    );
    assert!(!wait_for(&c, "#sign-in").await.is_displayed().await.unwrap());
    shot(&c, "16-healow-connected").await;
    assert_accessible(&c, "connections, an unlisted portal connected").await;

    // The same callback again, after the sign-in ended: nothing happens.
    open_as_the_os(&env, &callback);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(connections_shown(&c).await, 1);
    assert!(
        c.find_all(Locator::Css(".error")).await.unwrap().is_empty(),
        "no error for a replayed callback"
    );

    // A second sign-in, and a callback with another state: the core refuses it in one sentence.
    let sign_in = connect_unlisted_healow(&c, &fhir_base).await;
    let callback = browser::sign_in(&sign_in, &Login::new("demo", "demo")).await;
    let state = url::Url::parse(&callback)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    open_as_the_os(&env, &callback.replace(&state, "forged"));
    let refused = text(&c, "section > .error").await;
    assert_eq!(
        refused,
        "Sign-in did not complete: the portal's answer did not match this sign-in (wrong state), so it was refused."
    );
    shot(&c, "17-healow-wrong-state").await;
    assert_accessible(&c, "connections, a refused sign-in").await;
    // That sign-in is over: its real callback, arriving late, does nothing either.
    open_as_the_os(&env, &callback);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(connections_shown(&c).await, 1);
    assert_eq!(text(&c, "section > .error").await, refused);

    // Started with a callback while no instance of its vault runs, the app opens as usual and
    // ignores it: it keeps running and is the instance a later URL is handed to.
    let other: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| match k.as_str() {
            "OWNRECORD_VAULT" => (
                k.clone(),
                work.path().join("other-vault").display().to_string(),
            ),
            "XDG_DATA_HOME" => (
                k.clone(),
                work.path().join("other-data").display().to_string(),
            ),
            _ => (k.clone(), v.clone()),
        })
        .collect();
    let mut first = {
        use std::os::unix::process::CommandExt;
        std::process::Command::new(app())
            .arg(&callback)
            .env_clear()
            .envs(other.iter().map(|(k, v)| (k, v)))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap()
    };
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(first.try_wait().unwrap().is_none(), "the app kept running");
    open_as_the_os(&other, &callback);
    assert!(first.try_wait().unwrap().is_none(), "the app kept running");
    let group = format!("-{}", first.id());
    let _ = std::process::Command::new("kill")
        .args(["-TERM", "--", &group])
        .status();
    let _ = first.wait();
    c.close().await.unwrap();
}

/// Clicks "Try the demo portal" and returns the sign-in address the window shows.
async fn start_demo_sign_in(c: &Client) -> String {
    click(c, "#connect-demo").await;
    wait_until(
        c,
        "document.querySelector('#sign-in-url')?.textContent.startsWith('http')",
    )
    .await;
    text(c, "#sign-in-url").await
}

/// `ownrecord-share-host`, the real binary, on 127.0.0.1 with its own data folder; killed when
/// dropped.
struct ShareHostProcess {
    child: std::process::Child,
    url: String,
    token: String,
    _data: tempfile::TempDir,
}

impl Drop for ShareHostProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The share host's binary, (re)built by cargo into the target folder this test runs from.
fn share_host_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/workspace-… → target/<profile>
    let profile_dir = exe.parent().unwrap().parent().unwrap().to_owned();
    let mut build = std::process::Command::new(env!("CARGO"));
    build
        .args(["build", "--quiet", "-p", "ownrecord-share-host", "--bin"])
        .arg("ownrecord-share-host")
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    if profile_dir.file_name().is_some_and(|n| n == "release") {
        build.arg("--release");
    }
    assert!(build.status().unwrap().success(), "the share host builds");
    let binary = profile_dir.join("ownrecord-share-host");
    assert!(binary.exists(), "{}", binary.display());
    binary
}

/// Starts the share host on a free loopback port with an owner token from its `owner-token`
/// command (the token is its last line of output).
fn start_share_host() -> ShareHostProcess {
    use std::io::BufRead;
    use std::process::{Command, Stdio};
    let binary = share_host_binary();
    let data = tempfile::tempdir().unwrap();
    let issued = Command::new(&binary)
        .arg("--data")
        .arg(data.path())
        .arg("owner-token")
        .output()
        .unwrap();
    assert!(issued.status.success());
    let token = String::from_utf8(issued.stdout)
        .unwrap()
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap()
        .trim()
        .to_owned();
    let mut child = Command::new(&binary)
        .arg("--data")
        .arg(data.path())
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // "ownrecord-share-host: serving http://127.0.0.1:PORT on ..."; the rest is drained.
    let (sender, serving) = std::sync::mpsc::channel();
    let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    std::thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            let _ = sender.send(line);
        }
    });
    let line = serving
        .recv_timeout(Duration::from_secs(30))
        .expect("the share host says where it serves");
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://127.0.0.1:"))
        .unwrap_or_else(|| panic!("{line}"))
        .to_owned();
    ShareHostProcess {
        child,
        url,
        token,
        _data: data,
    }
}

/// The manifest URL inside a SMART Health Link (`shlink:/…` or a viewer URL with `#shlink:/…`).
fn manifest_url(link: &str) -> String {
    use base64::Engine;
    let payload = link.split("shlink:/").nth(1).expect("a shlink payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .unwrap();
    let payload: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    payload["url"].as_str().unwrap().to_owned()
}

/// The HTTP status of a manifest request (POST with the recipient and the passcode, as an SHL
/// viewer sends it), over a plain socket to the loopback host.
fn manifest_status(manifest: &str, recipient: &str, passcode: &str) -> u16 {
    use std::io::{Read, Write};
    let url = url::Url::parse(manifest).unwrap();
    let body = serde_json::json!({"recipient": recipient, "passcode": passcode}).to_string();
    let mut socket =
        std::net::TcpStream::connect((url.host_str().unwrap(), url.port().unwrap())).unwrap();
    write!(
        socket,
        "POST {} HTTP/1.1\r\nHost: {}:{}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        url.path(),
        url.host_str().unwrap(),
        url.port().unwrap(),
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    socket.read_to_string(&mut answer).unwrap();
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not HTTP: {answer}"))
}

/// kill-the-clipboard (tests/peers) resolving `link` as "Dr. Lee" with `passcode`.
fn resolve_as_dr_lee(link: &str, passcode: &str) -> (bool, serde_json::Value) {
    let out = std::process::Command::new("node")
        .arg(ownrecord_testkit::checkers::peers_dir().join("shl-resolve.mjs"))
        .arg(link)
        .args(["--recipient", "Dr. Lee", "--passcode", passcode])
        .output()
        .expect("node runs");
    (
        out.status.success(),
        serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_is_shared_through_the_wizard_opened_by_a_doctor_and_stopped() {
    ownrecord_testkit::require_secret_service();
    let host = start_share_host();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("vault");
    let bundle = serde_json::json!({"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": {"resourceType": "Patient", "id": "p1", "name": [{"given": ["Rosa"], "family": "Okafor"}], "birthDate": "1961-07-30"}},
        {"resource": {"resourceType": "Condition", "id": "c1", "code": {"text": "Asthma"},
            "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]},
            "subject": {"reference": "Patient/p1"}, "onsetDateTime": "2019-04-02"}}]});
    keyring_vault_holding(&dir, &bundle);
    let driver = Driver::start(&[
        ("OWNRECORD_VAULT", dir.to_str().unwrap()),
        ("OWNRECORD_DEMO_SHARE_HOST", &host.url),
        ("OWNRECORD_DEMO_SHARE_HOST_TOKEN", &host.token),
    ]);
    let c = driver.session(&app()).await;
    click(&c, "#unlock").await;
    click(&c, "#nav-export").await;

    // Who: a name, the kind of recipient, why.
    wait_for(&c, "#share-to")
        .await
        .send_keys("Lee Cardiology")
        .await
        .unwrap();
    click(&c, "#share-kind-care_team").await;
    wait_for(&c, "#share-purpose")
        .await
        .send_keys("Second opinion")
        .await
        .unwrap();
    c.execute(
        "document.querySelector('#share-wizard').scrollIntoView();",
        vec![],
    )
    .await
    .unwrap();
    shot(&c, "18-share-who").await;
    assert_accessible(&c, "share wizard, who").await;
    click(&c, "#share-next").await;

    // What: the preview of exactly what leaves names the patient and the problem.
    wait_until(
        &c,
        "document.querySelector('#share-preview')?.textContent.includes('Asthma')",
    )
    .await;
    assert!(text(&c, "#share-preview").await.contains("Rosa Okafor"));
    c.execute(
        "document.querySelector('#share-preview').scrollIntoView();",
        vec![],
    )
    .await
    .unwrap();
    shot(&c, "19-share-preview").await;
    assert_accessible(&c, "share wizard, what").await;
    click(&c, "#share-next").await;

    // How: a link through a share host. The demo's host is one click; removed again, it is
    // added by its address and owner token, as a patient given them would.
    let package = work.path().join("for-lee.age");
    wait_for(&c, "#share-path")
        .await
        .send_keys(package.to_str().unwrap())
        .await
        .unwrap();
    click(&c, "#host-demo").await;
    wait_until(
        &c,
        &format!(
            "document.querySelector('#share-host')?.value === {:?}",
            host.url
        ),
    )
    .await;
    click(&c, "#share-hosts .remove-host").await;
    wait_for(&c, "#no-hosts").await;
    wait_for(&c, "#host-url")
        .await
        .send_keys(&host.url)
        .await
        .unwrap();
    wait_for(&c, "#host-token")
        .await
        .send_keys(&host.token)
        .await
        .unwrap();
    click(&c, "#host-add").await;
    wait_until(
        &c,
        &format!(
            "document.querySelector('#share-host')?.value === {:?}",
            host.url
        ),
    )
    .await;
    assert!(
        !c.source().await.unwrap().contains(&host.token),
        "the owner token is not in the page once added"
    );
    shot(&c, "20-share-how").await;
    assert_accessible(&c, "share wizard, how").await;
    click(&c, "#share-next").await;

    // Expiry, uses and a passcode of the patient's choosing.
    let expires = wait_for(&c, "#share-expires").await;
    expires.clear().await.unwrap();
    expires.send_keys("7").await.unwrap();
    wait_for(&c, "#share-max-uses")
        .await
        .send_keys("5")
        .await
        .unwrap();
    click(&c, "#share-passcode-choose").await;
    let passcode = "lee-4321-ok";
    wait_for(&c, "#share-passcode-input")
        .await
        .send_keys(passcode)
        .await
        .unwrap();
    shot(&c, "21-share-expiry-passcode").await;
    assert_accessible(&c, "share wizard, expiry and passcode").await;
    click(&c, "#share-next").await;

    // The result: the link, its QR code, the passcode and what to give.
    let link = text(&c, "#share-link-text").await;
    assert!(link.contains("shlink:/"), "{link}");
    assert_eq!(text(&c, "#share-passcode").await, passcode);
    let said = text(&c, "#share-instructions").await;
    assert!(said.contains("Give Lee Cardiology the link"), "{said}");
    wait_until(
        &c,
        "document.querySelector('#share-qr')?.complete && document.querySelector('#share-qr').naturalWidth > 0",
    )
    .await;
    assert!(package.exists());
    shot(&c, "22-share-link-made").await;
    assert_accessible(&c, "share wizard, the link made").await;

    // The Shared screen lists it, live, not opened yet.
    click(&c, "#share-see-shared").await;
    wait_for(&c, "#shared-view .share.status-active").await;
    let listed = text(&c, "#shares").await;
    assert!(
        listed.contains("Lee Cardiology") && listed.contains("Care team: Second opinion"),
        "{listed}"
    );
    wait_until(
        &c,
        "document.querySelector('#shares-status')?.className === 'ok'",
    )
    .await;
    assert!(text(&c, "#shares .share").await.contains("Not opened yet"));
    shot(&c, "23-shared").await;
    assert_accessible(&c, "shared").await;

    // A doctor opens it: kill-the-clipboard resolves and decrypts it as "Dr. Lee".
    let (opened, report) = resolve_as_dr_lee(&link, passcode);
    assert!(opened, "{report}");
    assert!(report.to_string().contains("Okafor"), "{report}");
    let manifest = manifest_url(&link);
    assert_eq!(manifest_status(&manifest, "Dr. Lee", passcode), 200);

    // "Check for new opens": the open, with the name the doctor gave.
    click(&c, "#shares-refresh").await;
    wait_until(
        &c,
        "document.querySelector('#shares .open')?.textContent.includes('Dr. Lee')",
    )
    .await;
    let open = text(&c, "#shares .open").await;
    assert!(
        open.starts_with("Opened by ‘Dr. Lee’ (as they named themselves) on "),
        "{open}"
    );
    assert!(text(&c, "#shares-status").await.contains("new open"));
    shot(&c, "24-shared-opened").await;
    assert_accessible(&c, "shared, opened").await;

    // "Stop sharing", confirmed: revoked at the host, which then answers 404.
    click(&c, "#shares .revoke").await;
    let ask = text(&c, "#shares .revoke-ask").await;
    assert!(ask.contains("Stop sharing with Lee Cardiology?"), "{ask}");
    shot(&c, "25-stop-sharing").await;
    assert_accessible(&c, "shared, stop sharing?").await;
    assert_eq!(manifest_status(&manifest, "Dr. Lee", passcode), 200);
    click(&c, "#shares .revoke-confirm").await;
    wait_for(&c, "#shared-view .share.status-revoked").await;
    assert_eq!(
        text(&c, "#shares .share-status").await,
        "Stopped: the link no longer opens"
    );
    assert!(
        c.find_all(Locator::Css("#shares .revoke"))
            .await
            .unwrap()
            .is_empty()
    );
    shot(&c, "26-shared-stopped").await;
    assert_accessible(&c, "shared, stopped").await;
    assert_eq!(manifest_status(&manifest, "Dr. Lee", passcode), 404);
    let (opened, _) = resolve_as_dr_lee(&link, passcode);
    assert!(!opened, "a stopped link does not resolve");

    // The disclosure log holds it all and its chain verifies.
    click(&c, "#nav-audit").await;
    wait_until(
        &c,
        "document.querySelector('#audit-status')?.className === 'ok'",
    )
    .await;
    c.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_research_copy_is_previewed_agreed_to_and_written_to_a_folder() {
    ownrecord_testkit::require_secret_service();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("vault");
    let bundle = serde_json::json!({"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": {"resourceType": "Patient", "id": "p1", "name": [{"given": ["Rosa"], "family": "Okafor"}],
            "birthDate": "1961-07-30", "gender": "female",
            "address": [{"line": ["12 Elm Street"], "city": "Springfield", "state": "IL", "postalCode": "62704"}]}},
        {"resource": {"resourceType": "Condition", "id": "c1",
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "195967001", "display": "Asthma"}], "text": "Asthma (Rosa's)"},
            "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]},
            "subject": {"reference": "Patient/p1"}, "onsetDateTime": "2019-04-02",
            "note": [{"text": "Rosa Okafor says it is worse in spring"}]}}]});
    keyring_vault_holding(&dir, &bundle);
    let driver = Driver::start(&[("OWNRECORD_VAULT", dir.to_str().unwrap())]);
    let c = driver.session(&app()).await;
    click(&c, "#unlock").await;
    click(&c, "#nav-export").await;

    // Who: a researcher, and the study's id.
    wait_for(&c, "#share-to")
        .await
        .send_keys("Heart Lab")
        .await
        .unwrap();
    click(&c, "#share-kind-researcher").await;
    wait_for(&c, "#share-study")
        .await
        .send_keys("NCT0001")
        .await
        .unwrap();
    click(&c, "#share-next").await;

    // What: the de-identified copy, previewed before anything is written.
    wait_for(&c, "#research-counts").await;
    let preview = text(&c, "#research-preview").await;
    assert!(preview.contains("Condition: 1"), "{preview}");
    assert!(preview.contains("first copy for the study"), "{preview}");
    assert!(!preview.contains("Okafor"), "{preview}");
    let example = text(&c, "#research-examples pre[data-type='Condition']").await;
    assert!(example.contains("195967001"), "{example}");
    c.execute(
        "document.querySelector('#research-preview').scrollIntoView();",
        vec![],
    )
    .await
    .unwrap();
    shot(&c, "27-research-preview").await;
    assert_accessible(&c, "share wizard, a research copy's preview").await;
    click(&c, "#share-next").await;

    // How: plain files into a new folder (the default for a researcher).
    let folder = work.path().join("research-copy");
    assert!(
        wait_for(&c, "#share-how-folder")
            .await
            .is_selected()
            .await
            .unwrap()
    );
    wait_for(&c, "#share-path")
        .await
        .send_keys(folder.to_str().unwrap())
        .await
        .unwrap();
    click(&c, "#share-next").await;

    // Consent: the statement in full; Give only once "I agree" is ticked.
    let consent = text(&c, "#share-consent-text").await;
    assert!(
        consent.starts_with("I agree to give Heart Lab a de-identified copy"),
        "{consent}"
    );
    assert!(
        !wait_for(&c, "#share-next")
            .await
            .is_enabled()
            .await
            .unwrap()
    );
    assert!(!folder.exists(), "nothing is written before the consent");
    click(&c, "#share-consent-agree").await;
    wait_until(&c, "!document.querySelector('#share-next').disabled").await;
    shot(&c, "28-research-consent").await;
    assert_accessible(&c, "share wizard, consent").await;
    click(&c, "#share-next").await;
    let said = text(&c, "#share-instructions").await;
    assert!(said.contains("Give the folder to Heart Lab"), "{said}");
    shot(&c, "29-research-given").await;
    assert_accessible(&c, "share wizard, a research copy given").await;

    // The folder holds the NDJSON files and the manifest, and nothing names the patient.
    let mut names: Vec<String> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["Condition.ndjson", "Patient.ndjson", "manifest.json"],
        "{names:?}"
    );
    for name in &names {
        let written = std::fs::read_to_string(folder.join(name)).unwrap();
        for identifying in [
            "Okafor",
            "Rosa",
            "Elm Street",
            "Springfield",
            "62704",
            "1961-07-30",
        ] {
            assert!(!written.contains(identifying), "{name}: {identifying}");
        }
    }
    let condition = std::fs::read_to_string(folder.join("Condition.ndjson")).unwrap();
    assert_eq!(condition.lines().count(), 1);
    let line: serde_json::Value = serde_json::from_str(condition.lines().next().unwrap()).unwrap();
    assert_eq!(line["code"]["coding"][0]["code"], "195967001");

    // The Shared screen lists the study; "Stop sending updates", confirmed.
    click(&c, "#share-see-shared").await;
    wait_for(&c, "#studies .study[data-study='NCT0001']").await;
    assert!(
        text(&c, "#shares")
            .await
            .contains("A de-identified research copy (plain files)")
    );
    click(&c, "#studies .stop-study").await;
    click(&c, "#studies .stop-study-confirm").await;
    wait_until(
        &c,
        "document.querySelector('#studies .study-status')?.textContent.startsWith('Updates stopped')",
    )
    .await;
    shot(&c, "30-research-study-stopped").await;
    assert_accessible(&c, "shared, a study stopped").await;
    c.close().await.unwrap();
}
