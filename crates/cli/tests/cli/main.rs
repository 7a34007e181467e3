//! The `ownrecord` binary as a user or script runs it: exit codes, messages, crashes, full disks.

mod backup;
mod ccda;
mod crash;
mod errors;
mod export;
mod full_disk;
mod memory;
mod network;
mod people;
mod portals;
mod research;
mod shares;
mod sync;

use std::path::Path;
use std::process::{Command, Output};

/// A small deterministic generator (xorshift) for the crash tests' kill points, seeded from the
/// clock; the seed is printed for reproduction.
pub struct Rng(u64);

impl Rng {
    pub fn from_clock() -> Rng {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64;
        Rng(nanos | 1)
    }

    pub fn seed(&self) -> u64 {
        self.0
    }

    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

pub fn ownrecord(vault: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ownrecord"));
    cmd.arg("--vault")
        .arg(vault)
        .env_remove("OWNRECORD_PASSPHRASE")
        .env_remove("OWNRECORD_VAULT");
    cmd
}

/// Runs and returns the output, asserting the exit code.
pub fn run_expecting(cmd: &mut Command, code: i32) -> Output {
    let out = cmd.output().expect("ownrecord runs");
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

pub fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).expect("--json prints JSON")
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A new keyring vault in `dir`.
pub fn init(dir: &Path) {
    ownrecord_testkit::require_secret_service();
    run_expecting(ownrecord(dir).arg("init"), 0);
}

/// Writes an NDJSON file of `copies` × every sample resource, ids suffixed per copy and the
/// bundles' `urn:uuid:` references rewritten to the suffixed `Type/id` (so each copy's resources
/// point at that copy's Patient). Returns how many distinct (resourceType, id) it holds (some
/// Organizations recur across patients).
pub fn write_ndjson(path: &Path, copies: usize, tag: &str) -> usize {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut keys = std::collections::HashSet::new();
    for copy in 0..copies {
        for file in ownrecord_testkit::patient_files() {
            let bundle = ownrecord_testkit::read_json(&file);
            let entries = bundle["entry"].as_array().unwrap();
            let targets: std::collections::HashMap<String, String> = entries
                .iter()
                .map(|e| {
                    let r = &e["resource"];
                    let id = r["id"].as_str().unwrap();
                    (
                        format!("\"urn:uuid:{id}\""),
                        format!(
                            "\"{}/{id}-{tag}{copy}\"",
                            r["resourceType"].as_str().unwrap()
                        ),
                    )
                })
                .collect();
            for entry in entries {
                let mut r = entry["resource"].clone();
                let id = format!("{}-{tag}{copy}", r["id"].as_str().unwrap());
                keys.insert((r["resourceType"].as_str().unwrap().to_owned(), id.clone()));
                r["id"] = serde_json::Value::String(id);
                let mut line = serde_json::to_string(&r).unwrap();
                // "urn:uuid:" + 36 characters + the closing quote.
                while let Some(at) = line.find("\"urn:uuid:") {
                    let end = at + 1 + 9 + 36 + 1;
                    let target = targets
                        .get(&line[at..end])
                        .cloned()
                        .unwrap_or_else(|| "\"unresolved\"".to_owned());
                    line.replace_range(at..end, &target);
                }
                out.write_all(line.as_bytes()).unwrap();
                out.write_all(b"\n").unwrap();
            }
        }
    }
    out.flush().unwrap();
    keys.len()
}
