//! The host's memory stays bounded under many passcode checks at once: each Argon2id run takes
//! about 19 MiB, so they run a few at a time on threads of their own. The real binary, its peak
//! RSS read from /proc.

use std::ffi::OsStr;

use reqwest::StatusCode;
use serde_json::{Value, json};

mod common;
use common::{owner_token, shaped_jwe, start};
/// The host's own ~35 MB and at most four Argon2id buffers (19 MiB each), with room to spare;
/// far below 40 runs at once (40 × 19 MiB), or a few runs' memory kept by each thread's heap.
const PEAK_RSS_LIMIT_KB: u64 = 150 * 1024;

fn peak_rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forty_passcode_checks_at_once_keep_memory_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let token = owner_token(dir.path());
    // Behind a proxy each request may name its own client, so the per-address limit does not
    // stop the burst before it reaches the passcode check.
    let host = start(
        dir.path(),
        &[
            OsStr::new("--behind-proxy"),
            OsStr::new("--public-url"),
            OsStr::new("http://127.0.0.1"),
        ],
    );
    let base = host.base.clone();
    let pid = host.child.id();
    let http = reqwest::Client::new();
    let link: Value = http
        .post(format!("{base}/api/links"))
        .bearer_auth(&token)
        .json(&json!({"files": [{"jwe": shaped_jwe()}], "flags": "P", "passcode": "right one", "max_attempts": 1000}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = link["id"].as_str().unwrap().to_owned();
    let before = peak_rss_kb(pid);
    let checks = (0..40).map(|i| {
        let http = http.clone();
        let url = format!("{base}/shl/{id}");
        tokio::spawn(async move {
            http.post(url)
                .header(
                    "x-forwarded-for",
                    format!("10.0.{}.{}", i / 200, i % 200 + 1),
                )
                .json(&json!({"recipient": "Dr. Lee", "passcode": "wrong one"}))
                .send()
                .await
                .unwrap()
                .status()
        })
    });
    let statuses: Vec<StatusCode> = futures_join(checks.collect()).await;
    let peak = peak_rss_kb(pid);
    eprintln!("peak RSS {peak} kB (before: {before} kB)");
    drop(host);
    // Every check ran (and was counted), none was turned away by a limit.
    assert!(
        statuses.iter().all(|s| *s == StatusCode::UNAUTHORIZED),
        "{statuses:?}"
    );
    assert!(
        peak < PEAK_RSS_LIMIT_KB,
        "peak RSS {peak} kB after 40 passcode checks at once (before them: {before} kB)"
    );
}

async fn futures_join(handles: Vec<tokio::task::JoinHandle<StatusCode>>) -> Vec<StatusCode> {
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}
