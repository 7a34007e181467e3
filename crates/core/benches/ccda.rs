//! C-CDA benchmark (not a test): `cargo xtask bench ccda`.
//!
//! Reads every document of `../shared/data/ccda` (`OWNRECORD_CCDA_DATA` to change it) and repeats
//! the list to ≥ 2,000 documents (`OWNRECORD_BENCH_DOCUMENTS`), then in the same run times:
//! - (a) ours: the C-CDA converter (`convert`) on each document, from memory;
//! - (b) npm `@medplum/ccda` on the same documents: `tests/peers/ccda-medplum.mjs --bench N`
//!   (Node reads the files first and times only the conversion);
//! - (c) PyPI `ccda-to-fhir` likewise: `tests/peers/ccda_to_fhir_convert.py --bench N` (in the
//!   venv of `tests/peers/requirements-ccda.txt`, `target/xtask-ccda-venv`);
//! - (d) ours end to end: the repeated documents written as files into a temp folder, each copy
//!   made distinct (every `<id>` of copy k gets `k-` in its extension, so its resources are new,
//!   not re-imports of the first copy), imported with `Vault::import_file` into a fresh
//!   passphrase vault (no keyring), one file after another.
//!
//! A peer that cannot convert a document leaves it out of its loop (listed); it converts the
//! others in turn until it has done N, so the document counts match. Prints documents/s and MB/s
//! and the ratios. Targets: ours ≥ 10× @medplum/ccda and ≥ 50× ccda-to-fhir for conversion;
//! import ≥ 200 documents/s.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use ownrecord_core::ccda;
use ownrecord_core::vault::people::PersonChoice;
use ownrecord_core::{KeyProtection, SystemClock, Vault};
use serde_json::Value;

const TARGET_DOCUMENTS: usize = 2_000;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let files = ownrecord_testkit::ccda_samples();
    let originals: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).unwrap()).collect();
    let target = std::env::var("OWNRECORD_BENCH_DOCUMENTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(TARGET_DOCUMENTS);
    let copies = target.div_ceil(files.len());
    let documents = copies * files.len();
    let corpus_bytes: usize = originals.iter().map(Vec::len).sum();
    println!(
        "C-CDA benchmark: {} documents ({:.1} MB) repeated {copies}× = {documents} documents ({:.0} MB)",
        files.len(),
        corpus_bytes as f64 / 1e6,
        (corpus_bytes * copies) as f64 / 1e6
    );

    // (a) ours: every document of the list in turn, the failures left out like the peers do.
    let good: Vec<&Vec<u8>> = originals
        .iter()
        .zip(&files)
        .filter_map(|(b, f)| match ccda::convert(b) {
            Ok(_) => Some(b),
            Err(e) => {
                println!(
                    "  ours cannot convert {}: {e}",
                    ownrecord_testkit::ccda_name(f)
                );
                None
            }
        })
        .collect();
    let mut bytes = 0usize;
    let mut resources = 0usize;
    let start = Instant::now();
    for i in 0..documents {
        let doc = good[i % good.len()];
        let converted = ccda::convert(doc).unwrap();
        resources += converted.resources.len();
        bytes += doc.len();
    }
    let ours = Rate {
        documents,
        bytes,
        seconds: start.elapsed().as_secs_f64(),
    };
    println!(
        "  ({resources} resources; {} of {} documents convert)",
        good.len(),
        files.len()
    );

    // (b), (c): the peers over the same files.
    let peers = root.join("tests/peers");
    let medplum = peer(
        "@medplum/ccda",
        Command::new("node").arg(peers.join("ccda-medplum.mjs")),
        documents,
        &files,
    );
    let python = std::env::var_os("OWNRECORD_CCDA_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target/xtask-ccda-venv/bin/python3"));
    let ccda_to_fhir = peer(
        "ccda-to-fhir",
        Command::new(&python).arg(peers.join("ccda_to_fhir_convert.py")),
        documents,
        &files,
    );

    // (d) import end to end.
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let mut paths = Vec::new();
    let mut import_bytes = 0usize;
    for copy in 0..copies {
        for (f, bytes) in files.iter().zip(&originals) {
            let text = if copy == 0 {
                bytes.clone()
            } else {
                distinct_ids(bytes, copy)
            };
            import_bytes += text.len();
            let path = data.join(format!(
                "c{copy:02}-{}",
                f.file_name().unwrap().to_string_lossy()
            ));
            std::fs::write(&path, text).unwrap();
            paths.push(path);
        }
    }
    let import = import_all(&work.path().join("vault"), &paths, import_bytes);

    println!();
    println!(
        "{:<34} {:>9} {:>9} {:>12} {:>9}",
        "", "documents", "seconds", "documents/s", "MB/s"
    );
    let row = |name: &str, r: &Rate| {
        println!(
            "{name:<34} {:>9} {:>9.2} {:>12.0} {:>9.1}",
            r.documents,
            r.seconds,
            r.per_second(),
            r.mb_per_second()
        );
    };
    row("ours: convert", &ours);
    if let Some(r) = &medplum {
        row("@medplum/ccda 5.1.10 (Node)", r);
    }
    if let Some(r) = &ccda_to_fhir {
        row("ccda-to-fhir 0.3 (Python)", r);
    }
    if let Some(r) = &import {
        row("ours: import into a vault", r);
    }
    println!();
    if let Some(r) = &medplum {
        println!(
            "ratio ours/@medplum/ccda: {:.1}× (target ≥ 10×)",
            ours.per_second() / r.per_second()
        );
    }
    if let Some(r) = &ccda_to_fhir {
        println!(
            "ratio ours/ccda-to-fhir: {:.1}× (target ≥ 50×)",
            ours.per_second() / r.per_second()
        );
    }
    if let Some(r) = &import {
        println!("import: {:.0} documents/s (target ≥ 200)", r.per_second());
    }
}

struct Rate {
    documents: usize,
    bytes: usize,
    seconds: f64,
}

impl Rate {
    fn per_second(&self) -> f64 {
        self.documents as f64 / self.seconds
    }
    fn mb_per_second(&self) -> f64 {
        self.bytes as f64 / 1e6 / self.seconds
    }
}

/// Runs a peer's `--bench N FILE...`; `None` (with the reason printed) when it cannot run.
fn peer(name: &str, cmd: &mut Command, documents: usize, files: &[PathBuf]) -> Option<Rate> {
    let out = match cmd
        .arg("--bench")
        .arg(documents.to_string())
        .args(files)
        .output()
    {
        Ok(out) => out,
        Err(e) => {
            println!("  {name} did not run: {e} (cargo xtask bench ccda installs it)");
            return None;
        }
    };
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    if !out.status.success() || report["seconds"].as_f64().is_none() {
        println!(
            "  {name} failed: {} {}",
            String::from_utf8_lossy(&out.stdout).trim(),
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
        );
        return None;
    }
    let failed = report["failed"].as_array().map(Vec::len).unwrap_or(0);
    println!(
        "  {name}: {} of {} documents convert (the others are left out of its loop)",
        files.len() - failed,
        files.len()
    );
    Some(Rate {
        documents: report["documents"].as_u64().unwrap_or(0) as usize,
        bytes: report["bytes"].as_u64().unwrap_or(0) as usize,
        seconds: report["seconds"].as_f64().unwrap(),
    })
}

/// The document with `copy-` in front of every `<id>`'s extension (an `extension` added where
/// there is none), so its resources get ids of their own.
fn distinct_ids(xml: &[u8], copy: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(xml.len() + 4096);
    let mut i = 0;
    while i < xml.len() {
        let rest = &xml[i..];
        let is_id = rest.starts_with(b"<id") && rest.get(3).is_some_and(u8::is_ascii_whitespace);
        if !is_id {
            out.push(xml[i]);
            i += 1;
            continue;
        }
        let end = rest.iter().position(|&b| b == b'>').unwrap_or(rest.len());
        let tag = &rest[..end];
        match find(tag, b"extension=\"") {
            Some(at) => {
                let at = at + b"extension=\"".len();
                out.extend_from_slice(&tag[..at]);
                out.extend_from_slice(format!("{copy}-").as_bytes());
                out.extend_from_slice(&tag[at..]);
            }
            None => {
                out.extend_from_slice(b"<id");
                out.extend_from_slice(format!(" extension=\"{copy}\"").as_bytes());
                out.extend_from_slice(&tag[3..]);
            }
        }
        i += end;
    }
    out
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn import_all(dir: &Path, files: &[PathBuf], bytes: usize) -> Option<Rate> {
    let protection =
        KeyProtection::passphrase(zeroize::Zeroizing::new("benchmark passphrase".into()));
    let mut vault = Vault::create(dir, protection, Arc::new(SystemClock)).unwrap();
    let mut stored = 0u64;
    let mut failed = Vec::new();
    let start = Instant::now();
    for file in files {
        match vault.import_file(file, PersonChoice::New, &mut |_| {}) {
            Ok(report) => stored += report.counts.new,
            Err(e) => failed.push(format!(
                "{}: {e}",
                file.file_name().unwrap().to_string_lossy()
            )),
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "  import: {stored} resources stored from {} files, {} failed",
        files.len(),
        failed.len()
    );
    for f in failed.iter().take(5) {
        println!("    {f}");
    }
    if failed.len() == files.len() {
        println!("  import: no file imported, no figure");
        return None;
    }
    Some(Rate {
        documents: files.len() - failed.len(),
        bytes,
        seconds,
    })
}
