//! The `ownrecord` binary as a user or script runs it: exit codes, messages, crashes, full disks.

mod crash;
mod errors;
mod export;
mod full_disk;
mod memory;
mod sync;

use std::path::Path;
use std::process::{Command, Output};

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

/// Writes an NDJSON file of `copies` × every sample resource, ids suffixed per copy. Returns how
/// many distinct (resourceType, id) it holds (some Organizations recur across patients).
pub fn write_ndjson(path: &Path, copies: usize, tag: &str) -> usize {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut keys = std::collections::HashSet::new();
    for copy in 0..copies {
        for file in ownrecord_testkit::patient_files() {
            for entry in ownrecord_testkit::read_json(&file)["entry"]
                .as_array()
                .unwrap()
            {
                let mut r = entry["resource"].clone();
                let id = format!("{}-{tag}{copy}", r["id"].as_str().unwrap());
                keys.insert((r["resourceType"].as_str().unwrap().to_owned(), id.clone()));
                r["id"] = serde_json::Value::String(id);
                serde_json::to_writer(&mut out, &r).unwrap();
                out.write_all(b"\n").unwrap();
            }
        }
    }
    out.flush().unwrap();
    keys.len()
}
