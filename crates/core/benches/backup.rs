//! Backup and restore benchmark (not a test): `cargo xtask bench backup`.
//!
//! Builds a passphrase vault of ≥ 200k resources (copies of the sample patients with rewritten
//! ids, imported as the import benchmark does), then in the same run, all warm-cache (a warm-up
//! copy and a warm-up backup first), each `OWNRECORD_BENCH_RUNS` times (5 unless told), medians:
//! - baseline for backup: `cp --reflink=never` of the vault's vault.db and vault.json into a fresh
//!   folder, with the vault locked (closing its last connection checkpoints the WAL into vault.db
//!   and removes it, so the file copied is the whole database); once alone ("cp"), once followed
//!   by `sync` of the two copies and the folder ("cp+sync": fsync, as a backup must be on disk);
//! - ours: `Vault::backup_to` into a fresh folder (SQLite's online backup API, fsyncs, SHA-256
//!   manifest, rename);
//! - baseline for restore: the same cp and cp+sync of the generation's vault.db and vault.json;
//! - ours: `restore` of that generation into a fresh folder with the recovery key, all its checks
//!   included (hashes, manifest MAC, integrity_check, audit chain, counts).
//!
//! Then, to show where the time goes, the parts that can be timed from outside the crate: SHA-256
//! of vault.db, unlocking with the recovery key (Argon2), `ownrecord check`'s two integrity checks
//! (for comparison: restore runs SQLite's with a database-sized cache), the audit chain.
//!
//! Prints MB, seconds, MB/s and ratios against both baselines. Targets (against cp+sync, the fair
//! baseline): backup ≤ 2×, restore including its integrity checks ≤ 3×.

use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use ownrecord_core::backup::restore::{RestoreRequest, restore};
use ownrecord_core::vault::people::PersonChoice;
use ownrecord_core::{KeyProtection, SystemClock, Unlock, Vault};
use serde_json::Value;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// At least this many resources (`OWNRECORD_BENCH_RESOURCES` to change it).
const TARGET_RESOURCES: usize = 200_000;
/// Timed runs of each measurement (`OWNRECORD_BENCH_RUNS` to change it).
const RUNS: usize = 5;
const PASSPHRASE: &str = "benchmark passphrase";
const BACKUP_TARGET: f64 = 2.0;
const RESTORE_TARGET: f64 = 3.0;

fn main() {
    let target = env_number("OWNRECORD_BENCH_RESOURCES").unwrap_or(TARGET_RESOURCES);
    let runs = env_number("OWNRECORD_BENCH_RUNS").unwrap_or(RUNS).max(1);
    let work = tempfile::tempdir().unwrap();
    let vault_dir = work.path().join("vault");

    let started = Instant::now();
    let (resources, recovery_key) = build_vault(work.path(), &vault_dir, target);
    let db = vault_dir.join("vault.db");
    assert!(
        !vault_dir.join("vault.db-wal").exists(),
        "a locked vault leaves no WAL beside vault.db"
    );
    let db_mb = mb(file_len(&db));
    let copied_mb = mb(file_len(&db) + file_len(&vault_dir.join("vault.json")));
    println!(
        "backup benchmark: {resources} resources, vault.db {db_mb:.0} MB (built in {:.0} s), \
         {runs} runs of each, medians, warm cache",
        started.elapsed().as_secs_f64()
    );

    // Warm-up: the vault's files into the page cache, and one backup nobody times.
    let unlock = || Unlock::passphrase(Zeroizing::new(PASSPHRASE.into()));
    let copy_files = [db.clone(), vault_dir.join("vault.json")];
    time_cp(&copy_files, &work.path().join("warm-cp"), true);
    let vault = Vault::open(&vault_dir, unlock(), Arc::new(SystemClock)).unwrap();
    vault.backup_to(&work.path().join("warm-backup")).unwrap();
    vault.lock().unwrap();
    remove(&work.path().join("warm-backup"));

    // Backup against cp of the locked vault, interleaved so noise falls on both alike.
    let (mut cp, mut cp_sync, mut backup) = (Vec::new(), Vec::new(), Vec::new());
    let mut backup_bytes = 0;
    for _ in 0..runs {
        cp.push(time_cp(&copy_files, &work.path().join("cp"), false));
        cp_sync.push(time_cp(&copy_files, &work.path().join("cp"), true));
        let vault = Vault::open(&vault_dir, unlock(), Arc::new(SystemClock)).unwrap();
        let folder = work.path().join("backups");
        remove(&folder);
        settle();
        let start = Instant::now();
        let report = vault.backup_to(&folder).unwrap();
        backup.push(start.elapsed().as_secs_f64());
        backup_bytes = report.bytes;
        vault.lock().unwrap();
    }
    let generation = ownrecord_core::backup::generations(&work.path().join("backups"))
        .pop()
        .expect("the last backup's generation")
        .path;

    // Restore against cp of the generation's files.
    let gen_files = [generation.join("vault.db"), generation.join("vault.json")];
    let (mut gen_cp, mut gen_cp_sync, mut restored) = (Vec::new(), Vec::new(), Vec::new());
    let restore_dir = work.path().join("restored");
    let mut restored_resources = 0;
    for _ in 0..runs {
        gen_cp.push(time_cp(&gen_files, &work.path().join("cp"), false));
        gen_cp_sync.push(time_cp(&gen_files, &work.path().join("cp"), true));
        remove(&restore_dir);
        settle();
        let start = Instant::now();
        let (vault, report) = restore(
            RestoreRequest {
                from: &generation,
                to: &restore_dir,
                unlock: Unlock::recovery_key(recovery_key.clone()),
                replace: false,
                as_new: false,
            },
            Arc::new(SystemClock),
        )
        .unwrap();
        restored.push(start.elapsed().as_secs_f64());
        restored_resources = report.counts.resources;
        vault.lock().unwrap();
    }
    assert_eq!(
        restored_resources as usize, resources,
        "every resource restored"
    );

    // The parts one can time from outside (on the restored vault, warm cache).
    let gen_db = generation.join("vault.db");
    let sha = median(
        &(0..runs)
            .map(|_| time(|| sha256(&gen_db)))
            .collect::<Vec<_>>(),
    );
    let (mut open, mut checks, mut audit) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        let start = Instant::now();
        let vault = Vault::open(
            &restore_dir,
            Unlock::recovery_key(recovery_key.clone()),
            Arc::new(SystemClock),
        )
        .unwrap();
        open.push(start.elapsed().as_secs_f64());
        let start = Instant::now();
        let problems = vault.integrity_problems().unwrap();
        checks.push(start.elapsed().as_secs_f64());
        assert!(
            problems.is_empty(),
            "the restored vault is sound: {problems:?}"
        );
        let start = Instant::now();
        vault.verify_audit().unwrap();
        audit.push(start.elapsed().as_secs_f64());
        vault.lock().unwrap();
    }

    let gen_mb = mb(backup_bytes);
    println!();
    println!(
        "{:<42} {:>7} {:>8} {:>8} {:>11} {:>8}",
        "", "MB", "s", "MB/s", "÷ cp+sync", "÷ cp"
    );
    let baseline = |name: &str, mb: f64, secs: &[f64]| row(name, mb, secs, None);
    baseline("cp of the locked vault (baseline)", copied_mb, &cp);
    baseline(
        "cp+sync of the locked vault (baseline)",
        copied_mb,
        &cp_sync,
    );
    let backup_ratio = row(
        "backup_to",
        gen_mb,
        &backup,
        Some((median(&cp_sync), median(&cp))),
    );
    baseline("cp of the generation (baseline)", gen_mb, &gen_cp);
    baseline("cp+sync of the generation (baseline)", gen_mb, &gen_cp_sync);
    let restore_ratio = row(
        "restore (with every check)",
        gen_mb,
        &restored,
        Some((median(&gen_cp_sync), median(&gen_cp))),
    );
    println!();
    verdict("backup", backup_ratio, BACKUP_TARGET);
    verdict(
        "restore including its integrity checks",
        restore_ratio,
        RESTORE_TARGET,
    );

    let fsync = (median(&cp_sync) - median(&cp)).max(0.0);
    println!();
    println!("where the time goes (medians; the parts one can time from outside the crate):");
    let part = |name: &str, secs: f64| println!("  {name:<46} {secs:>6.2} s");
    part(&format!("SHA-256 of vault.db ({gen_mb:.0} MB)"), sha);
    part("fsync of the copies (cp+sync − cp)", fsync);
    part("Vault::open with the recovery key (Argon2)", median(&open));
    part(
        "`ownrecord check`'s two checks (64 MB cache)",
        median(&checks),
    );
    part("audit chain check", median(&audit));
    // backup_to: the online backup step and the manifest's counts, an fsync, one SHA-256 pass.
    let backup_step = median(&backup) - median(&cp_sync) - sha;
    println!(
        "  backup: {:.2} s = cp+sync {:.2} + SHA-256 {sha:.2} + {backup_step:.2} s more (the online \
         backup step decrypting and re-encrypting every page beyond a plain copy, and the counts)",
        median(&backup),
        median(&cp_sync),
    );
    // restore: copies the generation's vault.db while hashing it (one pass), fsyncs it, runs
    // integrity_check with a cache the size of the database, the audit chain and the counts,
    // installs it and opens it (one Argon2 unlock).
    let known = median(&gen_cp_sync) + sha + median(&open) + median(&audit);
    println!(
        "  restore: {:.2} s = cp+sync {:.2} + SHA-256 {sha:.2} (the copy's one pass) + unlock and open \
         {:.2} + audit chain {:.2} + {:.2} s more (integrity_check of every page in use, the counts, \
         the manifest MAC, installing, its two audit rows)",
        median(&restored),
        median(&gen_cp_sync),
        median(&open),
        median(&audit),
        median(&restored) - known
    );
}

/// Writes copies of the sample patients (ids rewritten per copy) and imports them into a new
/// passphrase vault, then locks it. Returns the resource count and the recovery key.
fn build_vault(work: &Path, vault_dir: &Path, target: usize) -> (usize, Zeroizing<String>) {
    let mut sources: Vec<PathBuf> = std::fs::read_dir(ownrecord_testkit::sample_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    sources.sort();
    let bundles: Vec<Value> = sources
        .iter()
        .map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap())
        .collect();
    let entries = |b: &Value| b["entry"].as_array().map_or(0, Vec::len);
    let per_copy: usize = bundles.iter().map(entries).sum();
    let ids: HashSet<String> = bundles
        .iter()
        .filter_map(|b| b["entry"].as_array())
        .flatten()
        .filter_map(|e| e["resource"]["id"].as_str().map(str::to_owned))
        .collect();
    let copies = target.div_ceil(per_copy);
    let data = work.join("data");
    std::fs::create_dir(&data).unwrap();

    let protection = KeyProtection::passphrase(Zeroizing::new(PASSPHRASE.into()));
    let mut vault = Vault::create(vault_dir, protection, Arc::new(SystemClock)).unwrap();
    let recovery_key = vault
        .take_new_recovery_key()
        .expect("a new vault has a recovery key")
        .to_text();
    let mut stored = 0;
    for copy in 0..copies {
        for (i, bundle) in bundles.iter().enumerate() {
            let mut b = bundle.clone();
            give_own_ids(&mut b, &ids, copy);
            let file = data.join(format!("c{copy:03}-{i:02}.json"));
            std::fs::write(&file, serde_json::to_vec(&b).unwrap()).unwrap();
            stored += vault
                .import_file(&file, PersonChoice::New, &mut |_| {})
                .unwrap()
                .counts
                .new as usize;
            std::fs::remove_file(&file).unwrap();
        }
    }
    vault.lock().unwrap();
    assert_eq!(stored, per_copy * copies, "every resource stored once");
    (stored, recovery_key)
}

/// Copy `n`'s ids: each id, and each `urn:uuid:<id>` or `Type/<id>` naming one, gets a prefix.
fn give_own_ids(v: &mut Value, ids: &HashSet<String>, n: usize) {
    let own = |id: &str| format!("{n:04x}{}", id.get(4..).unwrap_or(""));
    match v {
        Value::String(s) => {
            let renamed = if ids.contains(s.as_str()) {
                Some(own(s))
            } else if let Some(id) = s.strip_prefix("urn:uuid:").filter(|id| ids.contains(*id)) {
                Some(format!("urn:uuid:{}", own(id)))
            } else {
                s.rsplit_once('/')
                    .filter(|(_, id)| ids.contains(*id))
                    .map(|(kind, id)| format!("{kind}/{}", own(id)))
            };
            if let Some(renamed) = renamed {
                *s = renamed;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| give_own_ids(i, ids, n)),
        Value::Object(map) => map.values_mut().for_each(|i| give_own_ids(i, ids, n)),
        _ => {}
    }
}

/// Seconds for `cp --reflink=never files… into` (a fresh folder), then, with `sync`, an fsync of
/// each copy and of the folder (coreutils `sync FILE…`).
fn time_cp(files: &[PathBuf], into: &Path, sync: bool) -> f64 {
    remove(into);
    std::fs::create_dir(into).unwrap();
    let copies: Vec<PathBuf> = files
        .iter()
        .map(|f| into.join(f.file_name().unwrap()))
        .collect();
    settle();
    let start = Instant::now();
    run(Command::new("cp")
        .arg("--reflink=never")
        .args(files)
        .arg(into));
    if sync {
        run(Command::new("sync").args(&copies).arg(into));
    }
    start.elapsed().as_secs_f64()
}

fn run(cmd: &mut Command) {
    let status = cmd.status().unwrap();
    assert!(status.success(), "{cmd:?} failed ({status})");
}

/// Flushes what earlier runs left dirty, so no run pays for another's writeback.
fn settle() {
    run(&mut Command::new("sync"));
}

fn remove(path: &Path) {
    match std::fs::remove_dir_all(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => panic!("{}: {e}", path.display()),
        _ => {}
    }
}

fn sha256(path: &Path) {
    let mut file = std::fs::File::open(path).unwrap();
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buffer).unwrap();
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    std::hint::black_box(hasher.finalize());
}

/// Prints one line; with baselines (cp+sync, cp), returns the ratio against cp+sync.
fn row(name: &str, mb: f64, secs: &[f64], against: Option<(f64, f64)>) -> f64 {
    let s = median(secs);
    let spread = format!(
        "({:.2}–{:.2})",
        secs.iter().copied().fold(f64::INFINITY, f64::min),
        secs.iter().copied().fold(0.0, f64::max)
    );
    let (fair, plain) = against.map_or((String::new(), String::new()), |(fair, plain)| {
        (format!("{:.2}×", s / fair), format!("{:.2}×", s / plain))
    });
    println!(
        "{name:<42} {mb:>7.0} {s:>8.2} {:>8.0} {fair:>11} {plain:>8}  {spread}",
        mb / s
    );
    against.map_or(0.0, |(fair, _)| s / fair)
}

fn verdict(what: &str, ratio: f64, target: f64) {
    let met = if ratio <= target { "met" } else { "NOT met" };
    println!("{what}: {ratio:.2}× cp+sync (target ≤ {target}×): {met}");
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    }
}

fn time(f: impl FnOnce()) -> f64 {
    let start = Instant::now();
    f();
    start.elapsed().as_secs_f64()
}

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).unwrap().len()
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

fn env_number(name: &str) -> Option<usize> {
    std::env::var(name).ok().and_then(|n| n.parse().ok())
}
