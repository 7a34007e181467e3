//! Replays saved fuzz inputs without AFL: `ccda-replay FILE...` runs each through the same
//! checks and prints what became of it. A panic shows its message and backtrace as usual and
//! exits non-zero, so run one file per process to see every failing file.

use std::process::ExitCode;

fn main() -> ExitCode {
    let files: Vec<String> = std::env::args().skip(1).collect();
    if files.is_empty() {
        eprintln!("usage: ccda-replay FILE...");
        return ExitCode::FAILURE;
    }
    for file in &files {
        let bytes = match std::fs::read(file) {
            Ok(bytes) => bytes,
            Err(e) => {
                eprintln!("{file}: {e}");
                return ExitCode::FAILURE;
            }
        };
        let outcome = ownrecord_fuzz_ccda::exercise(&bytes, true);
        let mut line = format!(
            "{file}: {} bytes, looks_like_ccda={}",
            bytes.len(),
            outcome.looks_like_ccda
        );
        match &outcome.unpack_error {
            Some(e) => line.push_str(&format!(", unpack: {e}")),
            None => line.push_str(&format!(
                ", {} document(s), {} attachment(s)",
                outcome.documents, outcome.attachments
            )),
        }
        for (path, result) in &outcome.converted {
            let path = if path.is_empty() { "(file)" } else { path };
            match result {
                Ok(n) => line.push_str(&format!("; {path}: {n} resource(s)")),
                Err(e) => line.push_str(&format!("; {path}: {e}")),
            }
        }
        println!("{line}");
    }
    ExitCode::SUCCESS
}
