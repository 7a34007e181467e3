//! PDF benchmark (not a test): `cargo xtask bench pdf`.
//!
//! The largest sample patient's visit summary, in the same run:
//! - ours: `export::summarize` + `pdf::render` (read the vault, lay out, embed the font subset);
//! - baseline: headless Chromium printing an HTML page with the same content
//!   (`chromium --headless --print-to-pdf`), started fresh for each print as a user would.
//!
//! Prints the median of each and the ratio. Targets: ours < 100 ms and ≥ 20× faster.

use ownrecord_core::vault::people::PersonChoice;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ownrecord_core::export::{self, Selection};
use ownrecord_core::{KeyProtection, SystemClock, Vault};

const OURS_RUNS: usize = 30;
const CHROMIUM_RUNS: usize = 5;

fn main() {
    let shared = ownrecord_testkit::support_files();
    let patients = ownrecord_testkit::patient_files();
    // The largest record: the most resources.
    let largest = patients
        .iter()
        .max_by_key(|p| {
            let bundle: serde_json::Value =
                serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap();
            bundle["entry"].as_array().map_or(0, Vec::len)
        })
        .unwrap()
        .clone();

    let work = tempfile::tempdir().unwrap();
    let protection =
        KeyProtection::passphrase(zeroize::Zeroizing::new("benchmark passphrase".into()));
    let mut vault = Vault::create(
        &work.path().join("vault"),
        protection,
        Arc::new(SystemClock),
    )
    .unwrap();
    for file in shared.iter().chain([&largest]) {
        vault
            .import_file(file, PersonChoice::New, &mut |_| {})
            .unwrap();
    }
    println!(
        "PDF of the largest sample patient ({}), all sections",
        largest.file_name().unwrap().to_string_lossy()
    );

    let selection = Selection::default();
    let mut ours = Vec::new();
    let mut pdf = Vec::new();
    for _ in 0..OURS_RUNS {
        let start = Instant::now();
        let (_, summary) = export::summarize(&vault, &selection).unwrap();
        pdf = export::pdf::render(&summary);
        ours.push(start.elapsed());
    }
    // End to end as `ownrecord export pdf` runs it: also the file (synced) and the audit row.
    let mut end_to_end = Vec::new();
    for run in 0..OURS_RUNS / 3 {
        let out = work.path().join(format!("ours-{run}.pdf"));
        let start = Instant::now();
        export::export_pdf(&mut vault, &selection, &out).unwrap();
        end_to_end.push(start.elapsed());
    }
    let (_, summary) = export::summarize(&vault, &selection).unwrap();
    let html = work.path().join("summary.html");
    std::fs::write(&html, export::html::page(&summary)).unwrap();

    let chromium = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|c| Command::new(c).arg("--version").output().is_ok_and(|o| o.status.success()))
        .expect("Chromium is needed for the baseline (apt install chromium; cargo xtask bench installs it)");
    let mut baseline = Vec::new();
    for run in 0..CHROMIUM_RUNS {
        let out = work.path().join(format!("chromium-{run}.pdf"));
        let profile = work.path().join(format!("profile-{run}"));
        let start = Instant::now();
        let status = Command::new(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-pdf-header-footer",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg(format!("--print-to-pdf={}", out.display()))
            .arg(format!("file://{}", html.display()))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        baseline.push(start.elapsed());
        assert!(status.success() && out.exists(), "chromium printed nothing");
    }

    let ours_median = median(&mut ours);
    let baseline_median = median(&mut baseline);
    println!(
        "  ours (vault -> summary -> PDF, {} bytes): median {:.1} ms over {OURS_RUNS} runs",
        pdf.len(),
        ms(ours_median)
    );
    println!(
        "  ours end to end (+ synced file and audit row): median {:.1} ms over {} runs",
        ms(median(&mut end_to_end)),
        OURS_RUNS / 3
    );
    println!(
        "  baseline (headless Chromium --print-to-pdf of the same content as HTML): median {:.1} ms over {CHROMIUM_RUNS} runs",
        ms(baseline_median)
    );
    println!(
        "  ratio: ours is {:.1}x faster (target >= 20x); ours {} 100 ms",
        baseline_median.as_secs_f64() / ours_median.as_secs_f64(),
        if ours_median < Duration::from_millis(100) {
            "<"
        } else {
            ">="
        }
    );
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
