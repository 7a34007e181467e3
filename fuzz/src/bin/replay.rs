//! `fuzz-replay TARGET FILE...` runs each file through a target without AFL and prints what
//! became of it. A panic shows its message and backtrace as usual and exits non-zero, so run one
//! file per process to see every failing file (`cargo xtask fuzz TARGET --replay PATH` does).
//!
//! `fuzz-replay --seeds TARGET DIR` writes the target's seeds into DIR; `fuzz-replay --list`
//! prints the targets.

use std::path::Path;
use std::process::ExitCode;

const USAGE: &str =
    "usage: fuzz-replay TARGET FILE... | fuzz-replay --seeds TARGET DIR | fuzz-replay --list";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["--list"] => {
            for target in ownrecord_fuzz::TARGETS {
                println!("{}\t{}", target.name, target.about);
            }
            ExitCode::SUCCESS
        }
        ["--seeds", name, dir] => match ownrecord_fuzz::seeds::write(name, Path::new(dir)) {
            Ok(n) => {
                println!("{n}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{name}: {e}");
                ExitCode::FAILURE
            }
        },
        [name, files @ ..] if !files.is_empty() => {
            let Some(target) = ownrecord_fuzz::target(name) else {
                eprintln!("no fuzz target {name}\n{USAGE}");
                return ExitCode::FAILURE;
            };
            for file in files {
                let bytes = match std::fs::read(file) {
                    Ok(bytes) => bytes,
                    Err(e) => {
                        eprintln!("{file}: {e}");
                        return ExitCode::FAILURE;
                    }
                };
                println!("{file}: {} bytes; {}", bytes.len(), (target.run)(&bytes));
            }
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("{USAGE}");
            ExitCode::FAILURE
        }
    }
}
