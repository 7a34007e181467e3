//! `fhir-import`: a FHIR file read as `Vault::import_file` reads it (format by content, a Bundle in
//! two passes, NDJSON line by line, a single resource; references, facts, entries), through
//! `import::read_file`, which stores nothing. The input is written to a temporary file twice:
//! as `.json` (format by content) and as `.ndjson` (line by line).

use std::path::PathBuf;
use std::sync::OnceLock;

use ownrecord_core::import;

/// This process's two files (a persistent-mode fuzzer runs many inputs in one process).
fn paths() -> &'static (PathBuf, PathBuf) {
    static PATHS: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    PATHS.get_or_init(|| {
        // tmpfs where there is one: no disk writes per input.
        let shm = std::path::Path::new("/dev/shm");
        let dir = if shm.is_dir() {
            shm.to_owned()
        } else {
            std::env::temp_dir()
        };
        let stem = format!("ownrecord-fuzz-import-{}", std::process::id());
        (
            dir.join(format!("{stem}.json")),
            dir.join(format!("{stem}.ndjson")),
        )
    })
}

pub fn run(data: &[u8]) -> String {
    let (json, ndjson) = paths();
    let mut line = String::new();
    for (what, path) in [("as .json", json), ("as .ndjson", ndjson)] {
        if let Err(e) = std::fs::write(path, data) {
            return format!("could not write {}: {e}", path.display());
        }
        let outcome = match import::read_file(path) {
            Ok(r) => format!(
                "{:?}: {} resource(s) read, {} skipped, {} unresolved",
                r.format,
                r.counts.total(),
                r.skipped,
                r.unresolved_references
            ),
            Err(e) => e.to_string(),
        };
        let _ = std::fs::remove_file(path);
        line.push_str(&format!("{what}: {outcome}; "));
    }
    line
}
