//! Sync benchmark (not a test): `cargo xtask bench sync`.
//!
//! Every sample patient, from the demo portal on loopback (a real HTTP server), two ways in the same
//! run, alternating patient by patient:
//! - baseline: a plain paged download of the same search URLs with reqwest (same concurrency,
//!   following `next` links, bodies parsed only to find them);
//! - ours: `Vault::sync` (discovery of types, paging, parsing, storing every page encrypted in its own
//!   transaction, fetching referenced resources, audit).
//!
//! Prints both times and the ratio. Target: ratio ≤ 1.3.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ownrecord_core::portal::ConnectRequest;
use ownrecord_core::sync::SyncOptions;
use ownrecord_core::{KeyProtection, SystemClock, Vault};
use ownrecord_demo_portal::{DemoPortal, Options};
use ownrecord_testkit::browser::{self, Login};

const PAGE_SIZE: usize = 50;
const CONCURRENCY: usize = 4;

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run());
}

async fn run() {
    let options = Options {
        page_size: PAGE_SIZE,
        ..Default::default()
    };
    let portal =
        DemoPortal::start_with_patients("127.0.0.1:0".parse().unwrap(), &sample_dir(), options)
            .await
            .unwrap();
    let base = portal.fhir_base();
    let http = reqwest::Client::new();
    let metadata: serde_json::Value = http
        .get(format!("{base}/metadata"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let supported: Vec<String> = metadata["rest"][0]["resource"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["type"].as_str().map(str::to_owned))
        .collect();
    // The types the sync fetches: every Patient-compartment type the portal lists (it searches
    // each by patient).
    let types: Vec<String> = std::iter::once("Patient".to_owned())
        .chain(
            supported
                .iter()
                .filter(|t| *t != "Patient" && ownrecord_core::fhir::in_patient_compartment(t))
                .cloned(),
        )
        .collect();

    let work = tempfile::tempdir().unwrap();
    let patients = portal.patients().to_vec();
    let (mut baseline, mut ours) = (Duration::ZERO, Duration::ZERO);
    let (mut downloaded, mut stored) = (0usize, 0u64);
    for (n, patient) in patients.iter().enumerate() {
        let token = portal.issue_access_token(&patient.id);
        let started = Instant::now();
        downloaded += plain_download(&http, &base, &types, &patient.id, &token).await;
        baseline += started.elapsed();

        let mut vault = new_vault(&work.path().join(format!("v{n}")));
        let connection = connect(&mut vault, &base, &patient.id).await;
        let started = Instant::now();
        let options = SyncOptions {
            page_size: PAGE_SIZE,
            concurrency: CONCURRENCY,
            ..Default::default()
        };
        let report = vault.sync(connection, options, &mut |_| {}).await.unwrap();
        ours += started.elapsed();
        stored += report.counts.new;
    }
    println!(
        "sync benchmark: {} patients, {downloaded} resources downloaded by the baseline, {stored} stored by sync",
        patients.len()
    );
    println!(
        "plain paged download (baseline): {:>8.3} s",
        baseline.as_secs_f64()
    );
    println!(
        "ownrecord sync (store encrypted): {:>8.3} s",
        ours.as_secs_f64()
    );
    println!(
        "ratio sync/baseline: {:.2} (target ≤ 1.3)",
        ours.as_secs_f64() / baseline.as_secs_f64()
    );
}

/// GETs every page of every type for the patient, `CONCURRENCY` types at a time. Returns the
/// number of resources seen.
async fn plain_download(
    http: &reqwest::Client,
    base: &str,
    types: &[String],
    patient: &str,
    token: &str,
) -> usize {
    let queue = Arc::new(std::sync::Mutex::new(types.to_vec()));
    let mut tasks = Vec::new();
    for _ in 0..CONCURRENCY {
        let (http, queue, base, patient, token) = (
            http.clone(),
            queue.clone(),
            base.to_owned(),
            patient.to_owned(),
            token.to_owned(),
        );
        tasks.push(tokio::spawn(async move {
            let mut seen = 0;
            loop {
                let Some(t) = queue.lock().unwrap().pop() else {
                    return seen;
                };
                let param = if t == "Patient" { "_id" } else { "patient" };
                let mut next = Some(format!("{base}/{t}?{param}={patient}&_count={PAGE_SIZE}"));
                while let Some(url) = next.take() {
                    let bytes = http
                        .get(&url)
                        .bearer_auth(&token)
                        .send()
                        .await
                        .unwrap()
                        .bytes()
                        .await
                        .unwrap();
                    let page: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
                    seen += page["entry"].as_array().map_or(0, Vec::len);
                    next = page["link"]
                        .as_array()
                        .and_then(|links| links.iter().find(|l| l["relation"] == "next"))
                        .and_then(|l| l["url"].as_str())
                        .map(str::to_owned);
                }
            }
        }));
    }
    let mut total = 0;
    for task in tasks {
        total += task.await.unwrap();
    }
    total
}

fn new_vault(dir: &Path) -> Vault {
    let protection =
        KeyProtection::passphrase(zeroize::Zeroizing::new("benchmark passphrase".into()));
    Vault::create(dir, protection, Arc::new(SystemClock)).unwrap()
}

async fn connect(vault: &mut Vault, base: &str, patient: &str) -> i64 {
    let mut login = Login::new(
        ownrecord_demo_portal::DEMO_USERNAME,
        ownrecord_demo_portal::DEMO_PASSWORD,
    );
    login.choose = Some(("patient".into(), patient.to_owned()));
    let connection = vault
        .connect(
            ConnectRequest::new(base, ownrecord_demo_portal::DEMO_CLIENT_ID),
            move |url| {
                let url = url.to_owned();
                tokio::spawn(async move {
                    let redirect = browser::sign_in(&url, &login).await;
                    browser::visit(&redirect).await;
                });
                Ok(())
            },
        )
        .await
        .unwrap();
    assert_eq!(connection.patient_id, patient);
    connection.id
}

fn sample_dir() -> PathBuf {
    std::env::var_os("OWNRECORD_SAMPLE_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/synthea")
        })
}
