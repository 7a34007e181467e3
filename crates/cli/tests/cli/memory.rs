//! Streaming: importing a 1 GB NDJSON file keeps the process's peak memory far below the file size.

use std::io::Write;
use std::time::Duration;

use crate::{init, json, ownrecord, run_expecting};

const FILE_BYTES: u64 = 1 << 30;
const PEAK_LIMIT_BYTES: u64 = 256 << 20;

/// Peak resident memory of a running process, from /proc (VmHWM, in kB).
fn peak_rss(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[test]
fn a_1_gb_ndjson_imports_in_bounded_memory() {
    let work = tempfile::tempdir().unwrap();
    let vault = work.path().join("vault");
    init(&vault);

    // 1 GiB of distinct resources: the sample resources again and again with fresh ids.
    // Each resource with its patient's id, so its subject reference can point at that Patient.
    let resources: Vec<(serde_json::Value, String)> = ownrecord_testkit::patient_files()
        .iter()
        .flat_map(|f| {
            let entries = ownrecord_testkit::read_json(f)["entry"]
                .as_array()
                .unwrap()
                .clone();
            let patient = entries
                .iter()
                .find(|e| e["resource"]["resourceType"] == "Patient")
                .unwrap()["resource"]["id"]
                .as_str()
                .unwrap()
                .to_owned();
            entries
                .into_iter()
                .map(move |e| (e["resource"].clone(), patient.clone()))
        })
        .collect();
    let path = work.path().join("big.ndjson");
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&path).unwrap());
    let (mut written, mut lines, mut copy) = (0u64, 0u64, 0u64);
    'fill: loop {
        for (r, patient) in &resources {
            let mut r = r.clone();
            // The Patients once, under their own ids; everything else again and again.
            if r["resourceType"] == "Patient" {
                if copy > 0 {
                    continue;
                }
            } else {
                r["id"] = format!("m{copy}-{lines}").into();
            }
            let line = serde_json::to_string(&r)
                .unwrap()
                .replace(
                    &format!("\"urn:uuid:{patient}\""),
                    &format!("\"Patient/{patient}\""),
                )
                .into_bytes();
            out.write_all(&line).unwrap();
            out.write_all(b"\n").unwrap();
            written += line.len() as u64 + 1;
            lines += 1;
            if written >= FILE_BYTES {
                break 'fill;
            }
        }
        copy += 1;
    }
    out.flush().unwrap();
    drop(out);

    let mut child = ownrecord(&vault)
        .args(["import", "--person", "new"])
        .arg(&path)
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut peak = 0;
    let status = loop {
        if let Some(p) = peak_rss(pid) {
            peak = peak.max(p);
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success());
    eprintln!(
        "imported {lines} resources ({written} bytes) with peak RSS {} MB",
        peak >> 20
    );
    assert!(peak > 0, "peak memory was read");
    assert!(
        peak < PEAK_LIMIT_BYTES,
        "peak RSS {} MB for a 1 GB file",
        peak >> 20
    );
    let summary = json(&run_expecting(
        ownrecord(&vault).args(["--json", "summary", "--all"]),
        0,
    ));
    assert_eq!(summary["resources"].as_u64().unwrap(), lines);
}
