//! A lock that locks (issue 15): in the real app, a lock while a sign-in waits for the browser
//! and while a sync runs against a slowed demo portal shows the lock screen within a second, by
//! the Lock button and by the system's screen lock (the screensaver's `ActiveChanged` on the
//! session bus); after unlocking, the sync goes on and the record holds everything the portal
//! serves.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use fantoccini::Client;
use ownrecord_demo_portal::{DemoPortal, Options};
use ownrecord_testkit::browser::{self, Login};
use ownrecord_testkit::webdriver::Driver;

use crate::e2e::{app, click, demo_patients, keyring_vault, shot, text, wait_for, wait_until};

/// Installs an observer that notes (in the window's clock) when the lock screen appears, and
/// returns the window's time now.
async fn watch_for_the_lock_screen(c: &Client) -> f64 {
    c.execute(
        "window.__lockScreenAt = undefined; \
         new MutationObserver((_, o) => { if (document.querySelector('#unlock-screen')) { \
           window.__lockScreenAt = performance.now(); o.disconnect(); } }) \
           .observe(document.body, { childList: true, subtree: true }); \
         return performance.now();",
        vec![],
    )
    .await
    .unwrap()
    .as_f64()
    .unwrap()
}

/// How long after `since` (the window's clock) the lock screen appeared.
async fn lock_screen_after(c: &Client, since: f64) -> Duration {
    wait_until(c, "window.__lockScreenAt !== undefined").await;
    let at = c
        .execute("return window.__lockScreenAt;", vec![])
        .await
        .unwrap()
        .as_f64()
        .unwrap();
    Duration::from_secs_f64((at - since).max(0.0) / 1000.0)
}

/// Clicks Sync on the one connection and waits until some pages are stored.
async fn start_a_sync(c: &Client) {
    click(c, "#nav-connections").await;
    click(c, ".connection .sync").await;
    wait_until(
        c,
        "/so far/.test(document.querySelector('.connection .status')?.textContent ?? '') \
         && !/: 0 resources/.test(document.querySelector('.connection .status').textContent)",
    )
    .await;
}

async fn unlock(c: &Client) {
    click(c, "#unlock").await;
    wait_for(c, "#nav-connections").await;
}

/// The audit rows of syncs that a stop ended.
fn stopped_syncs(vault: &ownrecord_core::Vault) -> usize {
    vault
        .audit_entries(&Default::default())
        .unwrap()
        .iter()
        .filter(|e| e.details["stopped"] == true)
        .count()
}

fn open(dir: &Path) -> ownrecord_core::Vault {
    ownrecord_core::Vault::open(
        dir,
        ownrecord_core::Unlock::default(),
        std::sync::Arc::new(ownrecord_core::SystemClock),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_during_a_sign_in_or_a_sync_takes_under_a_second_and_the_sync_loses_nothing() {
    ownrecord_testkit::require_secret_service();
    let portal = DemoPortal::start_with_patients(
        "127.0.0.1:0".parse().unwrap(),
        &demo_patients(),
        Options {
            page_size: 5,
            // Each search and read a quarter of a second: a sync takes many seconds.
            delay: Duration::from_millis(250),
            ..Options::default()
        },
    )
    .await
    .unwrap();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("vault");
    keyring_vault(&dir).lock().unwrap();
    let driver = Driver::start(&[
        ("OWNRECORD_VAULT", dir.to_str().unwrap()),
        ("OWNRECORD_DEMO_PORTAL", &portal.fhir_base()),
    ]);
    let c = driver.session(&app()).await;
    wait_for(&c, "#unlock-screen").await;
    unlock(&c).await;

    // A lock while the sign-in waits for the browser: the wait ends, nothing is connected.
    click(&c, "#nav-connections").await;
    click(&c, "#connect-demo").await;
    wait_until(
        &c,
        "document.querySelector('#sign-in-url')?.textContent.startsWith('http')",
    )
    .await;
    let since = watch_for_the_lock_screen(&c).await;
    click(&c, "#lock").await;
    let took = lock_screen_after(&c, since).await;
    eprintln!("lock during a sign-in: the lock screen after {took:?}");
    assert!(took < Duration::from_secs(1), "{took:?}");
    // Unlocking is not held up by the sign-in (it let the vault go).
    unlock(&c).await;
    click(&c, "#nav-connections").await;
    assert!(
        text(&c, "#connections")
            .await
            .contains("No portal connected"),
        "the stopped sign-in connected nothing"
    );

    // Connected now, the sign-in completed over HTTP as a browser would.
    click(&c, "#connect-demo").await;
    wait_until(
        &c,
        "document.querySelector('#sign-in-url')?.textContent.startsWith('http')",
    )
    .await;
    let sign_in = text(&c, "#sign-in-url").await;
    let redirect = browser::sign_in(&sign_in, &Login::new("demo", "demo")).await;
    browser::visit(&redirect).await;
    wait_for(&c, ".connection .sync").await;

    // The Lock button during a sync.
    start_a_sync(&c).await;
    shot(&c, "lock-01-syncing").await;
    let since = watch_for_the_lock_screen(&c).await;
    click(&c, "#lock").await;
    let took = lock_screen_after(&c, since).await;
    eprintln!("Lock during a sync: the lock screen after {took:?}");
    assert!(took < Duration::from_secs(1), "{took:?}");
    shot(&c, "lock-02-locked").await;

    // The system's screen lock during the next sync.
    unlock(&c).await;
    assert!(
        c.find(fantoccini::Locator::Css(".error")).await.is_err(),
        "no error banner after unlocking"
    );
    start_a_sync(&c).await;
    let since = watch_for_the_lock_screen(&c).await;
    let sent = std::process::Command::new("gdbus")
        .args([
            "emit",
            "--session",
            "--object-path",
            "/org/gnome/ScreenSaver",
            "--signal",
            "org.gnome.ScreenSaver.ActiveChanged",
            "true",
        ])
        .status()
        .unwrap();
    assert!(sent.success());
    let took = lock_screen_after(&c, since).await;
    eprintln!("the screen lock during a sync: the lock screen after {took:?}");
    assert!(took < Duration::from_secs(1), "{took:?}");

    // Unlocked, a sync to its end.
    unlock(&c).await;
    click(&c, "#nav-connections").await;
    click(&c, ".connection .sync").await;
    for _ in 0..600 {
        let done = c
            .execute(
                "return !!document.querySelector('.connection .status.done');",
                vec![],
            )
            .await
            .unwrap();
        if done == serde_json::Value::Bool(true) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let synced = text(&c, ".connection .status").await;
    assert!(synced.starts_with("Synced:"), "{synced}");
    shot(&c, "lock-03-synced").await;
    click(&c, "#lock").await;
    wait_for(&c, "#unlock-screen").await;
    c.close().await.unwrap();
    drop(driver);

    // Both syncs were stopped (not run to their end behind the lock), and the record holds
    // everything the portal serves for the patient.
    let vault = open(&dir);
    assert_eq!(stopped_syncs(&vault), 2, "each lock stopped a running sync");
    let patient = &portal.patients()[0].id;
    let expected: BTreeSet<(String, String)> = portal
        .patient_resources(patient)
        .into_iter()
        .filter(|(t, _)| ownrecord_core::fhir::in_patient_compartment(t))
        .collect();
    let stored: BTreeSet<(String, String)> = vault
        .resource_digests()
        .unwrap()
        .into_iter()
        .map(|(t, id, _)| (t, id))
        .collect();
    let missing: Vec<_> = expected.difference(&stored).collect();
    assert!(
        missing.is_empty(),
        "missing after the last sync: {missing:?}"
    );
    assert!(vault.integrity_problems().unwrap().is_empty());
    vault.verify_audit().unwrap();
}
