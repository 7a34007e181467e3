//! `ownrecord`: the command line over ownrecord-core. Parses, calls the core, prints.
//! Exit code 0 on success; otherwise one clear sentence on stderr and a non-zero code.

// No panic from input: no indexing, slicing or unwrapping outside tests.
#![deny(
    clippy::indexing_slicing,
    clippy::string_slice,
    clippy::unwrap_used,
    clippy::expect_used
)]
#![cfg_attr(
    test,
    allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

mod args;
mod backup;
mod commands;
mod export;
mod hints;
mod portal;
mod progress;
mod shares;

use clap::Parser;

fn main() {
    let cli = args::Cli::parse();
    let json = cli.json;
    if let Err(e) = commands::run(cli) {
        let message = match &e {
            commands::Failure::Core(e) => hints::message(e),
            commands::Failure::Usage(m) | commands::Failure::ChoosePerson(m) => m.clone(),
        };
        if json {
            let code = match &e {
                commands::Failure::Core(e) => e.code(),
                commands::Failure::Usage(_) => "usage",
                commands::Failure::ChoosePerson(_) => "choose_person",
            };
            println!(
                "{}",
                serde_json::json!({ "error": { "code": code, "message": message } })
            );
        }
        eprintln!("ownrecord: {message}");
        std::process::exit(match e {
            commands::Failure::Usage(_) => 2,
            commands::Failure::Core(_) | commands::Failure::ChoosePerson(_) => 1,
        });
    }
}
