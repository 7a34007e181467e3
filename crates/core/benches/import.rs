//! Import benchmark (not a test): `cargo xtask bench import`.
//!
//! Writes N copies of the sample patients with rewritten ids (≥ 200k resources) as transaction
//! Bundles, then in the same run:
//! - baseline: split each Bundle into its entries' raw JSON and insert them into a plain
//!   (unencrypted, unindexed) SQLite table with one prepared statement, one transaction per file;
//! - ours: `Vault::import_file` for each file (parse, resolve references, hash, index, encrypt).
//!
//! Prints resources/s for both and the ratio. Targets: ≥ 50k resources/s, ratio ≤ 3.

use ownrecord_core::vault::people::PersonChoice;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use ownrecord_core::{KeyProtection, SystemClock, Vault};
use serde_json::Value;
use serde_json::value::RawValue;

/// At least this many resources (`OWNRECORD_BENCH_RESOURCES` to change it, e.g. for profiling).
const TARGET_RESOURCES: usize = 200_000;

fn main() {
    let sample = sample_dir();
    let mut sources: Vec<PathBuf> = std::fs::read_dir(&sample)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    sources.sort();
    let bundles: Vec<(String, Value)> = sources
        .iter()
        .map(|p| {
            let v: Value = serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap();
            (p.file_name().unwrap().to_string_lossy().into_owned(), v)
        })
        .collect();
    let per_copy: usize = bundles
        .iter()
        .map(|(_, b)| b["entry"].as_array().unwrap().len())
        .sum();
    let target = std::env::var("OWNRECORD_BENCH_RESOURCES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(TARGET_RESOURCES);
    let copies = target.div_ceil(per_copy);
    let ids: HashSet<String> = bundles
        .iter()
        .flat_map(|(_, b)| b["entry"].as_array().unwrap().iter())
        .filter_map(|e| e["resource"]["id"].as_str().map(str::to_owned))
        .collect();

    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let mut files = Vec::new();
    let mut bytes = 0u64;
    for copy in 0..copies {
        for (name, bundle) in &bundles {
            let mut b = bundle.clone();
            rewrite_ids(&mut b, &ids, copy);
            let path = data.join(format!("c{copy:03}-{name}"));
            let text = serde_json::to_vec(&b).unwrap();
            bytes += text.len() as u64;
            std::fs::write(&path, text).unwrap();
            files.push(path);
        }
    }
    let resources = per_copy * copies;
    println!(
        "import benchmark: {resources} resources in {} files ({:.0} MB), {copies} copies of the sample patients",
        files.len(),
        bytes as f64 / 1e6
    );

    let baseline = time(|| plain_sqlite_insert(&work.path().join("plain.db"), &files));
    let ours = time(|| ownrecord_import(&work.path().join("vault"), &files, resources));
    let rate = |secs: f64| resources as f64 / secs;
    println!(
        "plain SQLite insert (baseline): {baseline:>7.2} s  {:>9.0} resources/s",
        rate(baseline)
    );
    println!(
        "ownrecord import (encrypted):   {ours:>7.2} s  {:>9.0} resources/s",
        rate(ours)
    );
    println!(
        "ratio ownrecord/baseline: {:.2} (target ≤ 3); ownrecord rate target ≥ 50000/s",
        ours / baseline
    );
    let size = |p: PathBuf| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0) as f64 / 1e6;
    println!(
        "on disk: baseline {:.0} MB, vault {:.0} MB",
        size(work.path().join("plain.db")),
        size(work.path().join("vault/vault.db"))
    );
}

fn time(f: impl FnOnce()) -> f64 {
    let start = Instant::now();
    f();
    start.elapsed().as_secs_f64()
}

fn plain_sqlite_insert(path: &Path, files: &[PathBuf]) {
    #[derive(serde::Deserialize)]
    struct Bundle {
        entry: Vec<Entry>,
    }
    #[derive(serde::Deserialize)]
    struct Entry {
        resource: Box<RawValue>,
    }
    let mut conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE raw (json TEXT NOT NULL);")
        .unwrap();
    for file in files {
        let data = std::fs::read(file).unwrap();
        let bundle: Bundle = serde_json::from_slice(&data).unwrap();
        let tx = conn.transaction().unwrap();
        {
            let mut insert = tx.prepare("INSERT INTO raw (json) VALUES (?1)").unwrap();
            for e in &bundle.entry {
                insert.execute([e.resource.get()]).unwrap();
            }
        }
        tx.commit().unwrap();
    }
}

fn ownrecord_import(dir: &Path, files: &[PathBuf], expected: usize) {
    let protection =
        KeyProtection::passphrase(zeroize::Zeroizing::new("benchmark passphrase".into()));
    let mut vault = Vault::create(dir, protection, Arc::new(SystemClock)).unwrap();
    let mut stored = 0;
    for file in files {
        stored += vault
            .import_file(file, PersonChoice::New, &mut |_| {})
            .unwrap()
            .counts
            .new as usize;
    }
    assert_eq!(stored, expected, "every resource stored once");
}

/// Gives copy `n` its own ids: every id, `urn:uuid:<id>` and `Type/<id>` string is rewritten.
fn rewrite_ids(v: &mut Value, ids: &HashSet<String>, n: usize) {
    let fresh = |id: &str| format!("{n:04x}{}", &id[4.min(id.len())..]);
    match v {
        Value::String(s) => {
            if ids.contains(s.as_str()) {
                *s = fresh(s);
            } else if let Some(id) = s.strip_prefix("urn:uuid:").filter(|id| ids.contains(*id)) {
                *s = format!("urn:uuid:{}", fresh(id));
            } else if let Some((t, id)) = s.rsplit_once('/').filter(|(_, id)| ids.contains(*id)) {
                *s = format!("{t}/{}", fresh(id));
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| rewrite_ids(i, ids, n)),
        Value::Object(map) => map.values_mut().for_each(|i| rewrite_ids(i, ids, n)),
        _ => {}
    }
}

fn sample_dir() -> PathBuf {
    std::env::var_os("OWNRECORD_SAMPLE_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/synthea")
        })
}
