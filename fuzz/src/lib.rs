//! OwnRecord's fuzz targets, one per parser: each takes the fuzzer's bytes to the parser's entry
//! point as the app would, and describes what became of them (for the replay). Errors are fine;
//! a panic, an abort, a stack overflow or a hang is a bug.
//!
//! `fuzz-afl TARGET` is what afl-fuzz runs; `fuzz-replay TARGET FILE...` replays saved inputs;
//! `fuzz-replay --seeds TARGET DIR` writes the target's seeds (see [`seeds`]).

pub mod seeds;
pub mod targets;

/// One fuzz target.
pub struct Target {
    pub name: &'static str,
    /// What it fuzzes, in a few words.
    pub about: &'static str,
    /// Runs one input; returns a line saying what became of it.
    pub run: fn(&[u8]) -> String,
}

/// Every target, in the order `cargo xtask fuzz all` runs them.
pub const TARGETS: &[Target] = &[
    Target {
        name: "ccda",
        about: "the C-CDA importer: unpack, then convert every document",
        run: targets::ccda::run,
    },
    Target {
        name: "fhir-import",
        about: "FHIR file import: Bundle (two passes), NDJSON, single resource",
        run: targets::fhir_import::run,
    },
    Target {
        name: "fhir-model",
        about: "the clinical model's reader (crates/fhir) over one resource",
        run: targets::fhir_model::run,
    },
    Target {
        name: "smart",
        about: "SMART discovery and the CapabilityStatement",
        run: targets::smart::run,
    },
    Target {
        name: "token",
        about: "token responses, id_token and access-token claims per vendor profile",
        run: targets::token::run,
    },
    Target {
        name: "search-page",
        about: "a search Bundle page, its next link and its resources as sync reads them",
        run: targets::search_page::run,
    },
    Target {
        name: "device",
        about: "this computer's registration answer and a JWT-bearer renewal's answer",
        run: targets::device::run,
    },
    Target {
        name: "loopback",
        about: "the sign-in redirect listener's HTTP request parser",
        run: targets::loopback::run,
    },
    Target {
        name: "shl",
        about: "SMART Health Link payloads and their encrypted files",
        run: targets::shl::run,
    },
    Target {
        name: "share-host-api",
        about: "the share host's API (links, manifests, extensions) in process",
        run: targets::share_host_api::run,
    },
];

/// The target called `name`.
pub fn target(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|t| t.name == name)
}

/// The input cut at its first newline: (the first line, the rest). The targets that take two
/// things (a link and a file, a URL and a body) read them this way.
pub fn split_line(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == b'\n') {
        Some(i) => (
            data.get(..i).unwrap_or_default(),
            data.get(i.saturating_add(1)..).unwrap_or_default(),
        ),
        None => (data, &[]),
    }
}
