//! The host's memory stays bounded under many passcode checks at once: each Argon2id run takes
//! about 19 MiB, so they run a few at a time on threads of their own. The real binary, its peak
//! RSS read from /proc.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_ownrecord-share-host");
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

fn jwe() -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"dir","enc":"A256GCM"}"#);
    let part = |n: usize| URL_SAFE_NO_PAD.encode(vec![7u8; n]);
    format!("{header}..{}.{}.{}", part(12), part(64), part(16))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forty_passcode_checks_at_once_keep_memory_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .arg("--data")
        .arg(dir.path())
        .arg("owner-token")
        .output()
        .unwrap();
    let token = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .to_owned();
    let mut child = Command::new(BIN)
        .arg("--data")
        .arg(dir.path())
        // Behind a proxy each request may name its own client, so the per-address limit does
        // not stop the burst before it reaches the passcode check.
        .args([
            "--listen",
            "127.0.0.1:0",
            "--behind-proxy",
            "--public-url",
            "http://127.0.0.1",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line.split_whitespace().nth(4).unwrap().to_owned();
    let http = reqwest::Client::new();
    let link: Value = http
        .post(format!("{base}/api/links"))
        .bearer_auth(&token)
        .json(&json!({"files": [{"jwe": jwe()}], "flags": "P", "passcode": "right one", "max_attempts": 1000}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = link["id"].as_str().unwrap().to_owned();
    let before = peak_rss_kb(child.id());
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
    let peak = peak_rss_kb(child.id());
    eprintln!("peak RSS {peak} kB (before: {before} kB)");
    let _ = child.kill();
    let _ = child.wait();
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
