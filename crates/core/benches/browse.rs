//! Browse benchmark (not a test): `cargo xtask bench browse`.
//!
//! Builds two vaults in the same run from copies of the 22 sample patients (each copy a
//! collection Bundle whose ids are rewritten, its dates moved by whole days so copies are not
//! duplicates of each other, all copies of a patient linked to one person):
//! - the people vault: all 22 people, ≥ 200k resources;
//! - the baseline: one person's copies alone (the same rows for that person, nobody else's).
//!
//! Then times, for one person, the timeline's first page, a category page (labs) and a search,
//! and prints p50/p95 for both vaults and the ratio: what the person filter costs when 21 other
//! people share the tables. Targets: ratio ≤ 1.1, every p95 < 50 ms.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use ownrecord_core::vault::browse::Category;
use ownrecord_core::vault::people::PersonChoice;
use ownrecord_core::{KeyProtection, SystemClock, Vault};
use serde_json::Value;

const TARGET_RESOURCES: usize = 200_000;
const RUNS: usize = 200;

fn main() {
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
    let bundles: Vec<Value> = patients
        .iter()
        .map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap())
        .collect();
    let per_copy: usize = bundles
        .iter()
        .map(|b| b["entry"].as_array().unwrap().len())
        .sum();
    let target = std::env::var("OWNRECORD_BENCH_RESOURCES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(TARGET_RESOURCES);
    let copies = target.div_ceil(per_copy);
    let work = tempfile::tempdir().unwrap();
    // The patient with the most resources is the one browsed.
    let chosen = (0..bundles.len())
        .max_by_key(|&i| bundles[i]["entry"].as_array().unwrap().len())
        .unwrap();
    let mut files: Vec<Vec<PathBuf>> = vec![Vec::new(); bundles.len()];
    for copy in 0..copies {
        for (i, bundle) in bundles.iter().enumerate() {
            let path = work.path().join(format!("p{i:02}-c{copy:02}.json"));
            std::fs::write(&path, copy_of(bundle, copy)).unwrap();
            files[i].push(path);
        }
    }
    println!(
        "browse benchmark: {} resources, {} people, {copies} copies each; browsing person {} ({} resources)",
        per_copy * copies,
        bundles.len(),
        chosen,
        bundles[chosen]["entry"].as_array().unwrap().len() * copies
    );
    let (people_vault, person) = build(&work.path().join("people"), &files, chosen);
    let (alone_vault, alone) = build(
        &work.path().join("alone"),
        std::slice::from_ref(&files[chosen]),
        0,
    );
    println!(
        "{:<22} {:>12} {:>12} {:>12} {:>12} {:>7}",
        "query", "22 p50 ms", "22 p95 ms", "1 p50 ms", "1 p95 ms", "ratio"
    );
    type Query = fn(&Vault, i64);
    let queries: [(&str, Query); 3] = [
        ("timeline first page", |v, p| {
            v.list(p, Category::Timeline, 0, 100).unwrap();
        }),
        ("labs page 3", |v, p| {
            v.list(p, Category::Labs, 200, 100).unwrap();
        }),
        ("search \"glucose\"", |v, p| {
            v.search(p, "glucose", 50).unwrap();
        }),
    ];
    for (name, query) in queries {
        let (p50, p95) = percentiles(&people_vault, person, query);
        let (b50, b95) = percentiles(&alone_vault, alone, query);
        println!(
            "{name:<22} {p50:>12.2} {p95:>12.2} {b50:>12.2} {b95:>12.2} {:>7.2}",
            p95 / b95
        );
    }
    println!("targets: ratio (p95 with 22 people / p95 alone) ≤ 1.10; every p95 < 50 ms");
}

/// Imports every person's copies into a new vault; returns it and the id of person `chosen`.
fn build(dir: &Path, files: &[Vec<PathBuf>], chosen: usize) -> (Vault, i64) {
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

fn percentiles(vault: &Vault, person: i64, query: fn(&Vault, i64)) -> (f64, f64) {
    query(vault, person);
    let mut ms: Vec<f64> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            query(vault, person);
            start.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    ms.sort_by(f64::total_cmp);
    (ms[RUNS / 2], ms[RUNS * 95 / 100])
}

/// Copy `n` of a Synthea bundle as a collection Bundle: ids prefixed, `urn:uuid:` references to
/// `Type/id`, and every date moved `n` days later (so copies are distinct facts, not duplicates).
fn copy_of(bundle: &Value, n: usize) -> Vec<u8> {
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
