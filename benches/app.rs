//! Desktop app benchmark (not a test): `cargo xtask bench app`.
//!
//! The release app through WebDriver (tauri-driver + WebKitWebDriver under Xvfb):
//! - cold start to the first paint of the unlock screen, from the moment the session asks for the
//!   app; the same run's baseline is the webview's own start (its navigation start, before any of
//!   OwnRecord's code runs), so the ratio shows what the app adds;
//! - memory (RSS of the app and its WebKit processes) after unlocking a vault with 200k resources
//!   and scrolling 2,000 entries down the timeline.
//!
//! Targets: < 1 s and < 200 MB.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fantoccini::{Client, Locator};
use ownrecord_core::vault::people::PersonChoice;
use ownrecord_core::{KeyProtection, SystemClock, Vault};
use ownrecord_testkit::webdriver::Driver;

const RESOURCES: usize = 200_000;
const PASSPHRASE: &str = "benchmark passphrase";
const RUNS: usize = 5;

fn main() {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(bench());
}

async fn bench() {
    let app = PathBuf::from(env!("CARGO_BIN_EXE_ownrecord-desktop"));
    let work = tempfile::tempdir().unwrap();
    let vault = work.path().join("vault");
    let resources = fill_vault(&vault, work.path());
    let env = [("OWNRECORD_VAULT", vault.to_str().unwrap())];

    let mut cold = Vec::new();
    let mut webview = Vec::new();
    for _ in 0..RUNS {
        let driver = Driver::start(&env);
        let asked = epoch_ms();
        let c = driver.session(&app).await;
        c.wait()
            .at_most(Duration::from_secs(30))
            .for_element(Locator::Css("#unlock-screen"))
            .await
            .unwrap();
        let painted = loop {
            let v = c
                .execute("return window.__ownrecordFirstPaint === undefined ? null : [performance.timeOrigin, window.__ownrecordFirstPaint];", vec![])
                .await
                .unwrap();
            if let Some([origin, paint]) = v
                .as_array()
                .map(|a| [a[0].as_f64().unwrap(), a[1].as_f64().unwrap()])
                .filter(|_| !v.is_null())
            {
                break (origin, paint);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        webview.push(painted.0 - asked);
        cold.push(painted.0 + painted.1 - asked);
        c.close().await.unwrap();
    }
    let cold_ms = median(&mut cold);
    let webview_ms = median(&mut webview);
    println!("Desktop app (release), {RUNS} cold starts");
    println!("  baseline (the webview up, before OwnRecord's code): median {webview_ms:.0} ms");
    println!(
        "  ours (first paint of the unlock screen): median {cold_ms:.0} ms; ratio {:.2} (target < 1000 ms: {})",
        cold_ms / webview_ms,
        if cold_ms < 1000.0 { "met" } else { "NOT met" }
    );

    // Memory after opening a big vault and scrolling the timeline.
    let driver = Driver::start(&env);
    let c = driver.session(&app).await;
    c.wait()
        .for_element(Locator::Css("#unlock-screen"))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (locked_own, locked_total) = rss_of_app(&app);
    unlock_and_scroll(&c).await;
    let (own, total) = rss_of_app(&app);
    println!("Memory (RSS), same run:");
    println!(
        "  baseline, the unlock screen (no vault open): app process {locked_own:.0} MB; with its WebKit processes {locked_total:.0} MB"
    );
    println!(
        "  vault with {resources} resources unlocked, 2,000 timeline entries loaded and scrolled: app process {own:.0} MB (+{:.0}); with its WebKit processes {total:.0} MB (+{:.0})",
        own - locked_own,
        total - locked_total
    );
    println!(
        "  target < 200 MB: app process {}, with WebKit {}",
        if own < 200.0 { "met" } else { "NOT met" },
        if total < 200.0 { "met" } else { "NOT met" }
    );
    c.close().await.unwrap();
}

async fn unlock_and_scroll(c: &Client) {
    let field = c
        .wait()
        .for_element(Locator::Css("#passphrase"))
        .await
        .unwrap();
    field.send_keys(PASSPHRASE).await.unwrap();
    c.find(Locator::Css("#unlock"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .at_most(Duration::from_secs(60))
        .for_element(Locator::Css("#items .item"))
        .await
        .unwrap();
    for page in 1..20 {
        c.execute("document.querySelector('#load-more').click();", vec![])
            .await
            .unwrap();
        let want = (page + 1) * 100;
        loop {
            let n = c
                .execute(
                    "return document.querySelectorAll('#items .item').length;",
                    vec![],
                )
                .await
                .unwrap();
            if n.as_u64().unwrap_or(0) as usize >= want {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        c.execute(
            "document.querySelector('#load-more').scrollIntoView();",
            vec![],
        )
        .await
        .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
}

/// RSS in MB of the app's process, and of it with its child processes (WebKit's web and
/// network processes).
fn rss_of_app(app: &Path) -> (f64, f64) {
    let out = std::process::Command::new("pgrep")
        .args(["-f", "-x"])
        .arg(app)
        .output()
        .unwrap();
    let pid: u32 = String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .expect("the app is running")
        .trim()
        .parse()
        .unwrap();
    let own = rss_mb(pid);
    let children = std::process::Command::new("pgrep")
        .args(["-P", &pid.to_string()])
        .output()
        .unwrap();
    let total = own
        + String::from_utf8_lossy(&children.stdout)
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .map(rss_mb)
            .sum::<f64>();
    (own, total)
}

fn rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

/// A passphrase vault holding ≥ 200k resources: copies of the sample patients with fresh ids, all
/// from one file source (so the copies are not shown as duplicates across sources); each copy's
/// patients are linked to the people the first copy made by the automatic match.
fn fill_vault(dir: &Path, work: &Path) -> usize {
    let protection = KeyProtection::passphrase(zeroize::Zeroizing::new(PASSPHRASE.into()));
    let mut vault = Vault::create(dir, protection, Arc::new(SystemClock)).unwrap();
    // Organizations and practitioners recur across the sample files: each once per copy.
    let mut seen = std::collections::HashSet::new();
    let samples: Vec<serde_json::Value> = ownrecord_testkit::sample_files()
        .iter()
        .flat_map(|f| {
            ownrecord_testkit::read_json(f)["entry"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter(|e| seen.insert(e["fullUrl"].to_string()))
        .collect();
    let file = work.join("bench-record.json");
    let mut written = 0;
    let mut copy = 0;
    while written < RESOURCES {
        // The entries keep their fullUrls, so the file's `urn:uuid:` references resolve to the
        // copy's fresh ids.
        let entries: Vec<serde_json::Value> = samples
            .iter()
            .map(|e| {
                let mut e = e.clone();
                let r = &mut e["resource"];
                let id = format!("{}-c{copy}", r["id"].as_str().unwrap_or("x"));
                r["id"] = serde_json::Value::String(id.chars().take(64).collect());
                e
            })
            .collect();
        written += entries.len();
        let bundle =
            serde_json::json!({"resourceType": "Bundle", "type": "collection", "entry": entries});
        std::fs::write(&file, serde_json::to_vec(&bundle).unwrap()).unwrap();
        vault
            .import_file(&file, PersonChoice::Auto, &mut |_| {})
            .unwrap();
        copy += 1;
    }
    written
}

fn epoch_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        * 1000.0
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}
