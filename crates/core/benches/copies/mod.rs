//! Copies of the 22 sample patients, for benchmarks at a lifetime's scale (shared by the browse,
//! home and search benchmarks): each copy a collection Bundle whose ids are rewritten and whose dates
//! move by whole days, so copies are distinct facts, all copies of a patient one person.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ownrecord_core::vault::people::PersonChoice;
use ownrecord_core::{KeyProtection, SystemClock, Vault};
use serde_json::Value;

/// The sample patients' Bundles, by file name.
pub fn sample_bundles() -> Vec<Value> {
    let mut patients: Vec<PathBuf> = std::fs::read_dir(ownrecord_testkit::sample_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "json")
                && !p
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .contains("Information")
        })
        .collect();
    patients.sort();
    patients
        .iter()
        .map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap())
        .collect()
}

/// What a benchmark builds: the sample Bundles, how many copies of each reach the target
/// (`OWNRECORD_BENCH_RESOURCES`, else `default_target` resources), and the patient with the
/// most resources (the one a benchmark reads).
pub struct Plan {
    pub bundles: Vec<Value>,
    pub per_copy: usize,
    pub copies: usize,
    pub chosen: usize,
}

pub fn plan(default_target: usize) -> Plan {
    let bundles = sample_bundles();
    let entries = |b: &Value| b["entry"].as_array().unwrap().len();
    let per_copy: usize = bundles.iter().map(entries).sum();
    let target = std::env::var("OWNRECORD_BENCH_RESOURCES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default_target);
    let chosen = (0..bundles.len())
        .max_by_key(|&i| entries(&bundles[i]))
        .unwrap();
    Plan {
        copies: target.div_ceil(per_copy),
        per_copy,
        chosen,
        bundles,
    }
}

/// Writes `copies` copies of each Bundle into `dir`: the files of each person, in order.
pub fn write_copies(bundles: &[Value], copies: usize, dir: &Path) -> Vec<Vec<PathBuf>> {
    let mut files: Vec<Vec<PathBuf>> = vec![Vec::new(); bundles.len()];
    for copy in 0..copies {
        for (i, bundle) in bundles.iter().enumerate() {
            let path = dir.join(format!("p{i:02}-c{copy:02}.json"));
            std::fs::write(&path, copy_of(bundle, copy)).unwrap();
            files[i].push(path);
        }
    }
    files
}

/// Imports every person's copies into a new vault; returns it and the id of person `chosen`.
pub fn build(dir: &Path, files: &[Vec<PathBuf>], chosen: usize) -> (Vault, i64) {
    let protection = KeyProtection::passphrase(zeroize::Zeroizing::new("benchmark".into()));
    let mut vault = Vault::create(dir, protection, Arc::new(SystemClock)).unwrap();
    let mut chosen_id = 0;
    for (i, copies) in files.iter().enumerate() {
        let mut person = PersonChoice::New;
        for file in copies {
            let report = vault.import_file(file, person, &mut |_| {}).unwrap();
            if let Some(link) = report.people.first() {
                person = PersonChoice::Existing(link.person);
                if i == chosen {
                    chosen_id = link.person;
                }
            }
        }
    }
    (vault, chosen_id)
}

/// Copy `n` of a Synthea bundle as a collection Bundle: ids prefixed, `urn:uuid:` references to
/// `Type/id`, and every date moved `n` days later (so copies are distinct facts, not duplicates).
pub fn copy_of(bundle: &Value, n: usize) -> Vec<u8> {
    let entries = bundle["entry"].as_array().unwrap();
    let mut text = serde_json::to_string(&Value::Array(
        entries.iter().map(|e| e["resource"].clone()).collect(),
    ))
    .unwrap();
    for e in entries {
        let r = &e["resource"];
        let id = r["id"].as_str().unwrap();
        let t = r["resourceType"].as_str().unwrap();
        text = text.replace(&format!("\"urn:uuid:{id}\""), &format!("\"{t}/c{n}{id}\""));
        text = text.replace(&format!("\"id\":\"{id}\""), &format!("\"id\":\"c{n}{id}\""));
    }
    let mut resources: Value = serde_json::from_str(&text).unwrap();
    shift_dates(&mut resources, n as i64);
    let entry: Vec<Value> = resources
        .as_array()
        .unwrap()
        .iter()
        .map(|r| serde_json::json!({ "resource": r }))
        .collect();
    serde_json::to_vec(
        &serde_json::json!({"resourceType": "Bundle", "type": "collection", "entry": entry}),
    )
    .unwrap()
}

fn shift_dates(v: &mut Value, days: i64) {
    match v {
        Value::String(s) if days > 0 => {
            let format = time::macros::format_description!("[year]-[month]-[day]");
            if s.len() >= 10
                && s.is_char_boundary(10)
                && let Ok(d) = time::Date::parse(&s[..10], format)
            {
                let moved = (d + time::Duration::days(days)).format(format).unwrap();
                s.replace_range(..10, &moved);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| shift_dates(i, days)),
        Value::Object(map) => map.values_mut().for_each(|i| shift_dates(i, days)),
        _ => {}
    }
}

/// p50 and p95 in milliseconds of `runs` timed runs of `run`, after one untimed warm-up run.
pub fn percentiles(runs: usize, mut run: impl FnMut()) -> (f64, f64) {
    run();
    percentiles_of(runs, || {
        let start = std::time::Instant::now();
        run();
        start.elapsed().as_secs_f64() * 1000.0
    })
}

/// p50 and p95 of `runs` runs of `run`, which times itself (in ms) around a part of its work.
pub fn percentiles_of(runs: usize, mut run: impl FnMut() -> f64) -> (f64, f64) {
    let mut ms: Vec<f64> = (0..runs).map(|_| run()).collect();
    ms.sort_by(f64::total_cmp);
    (ms[runs / 2], ms[runs * 95 / 100])
}
