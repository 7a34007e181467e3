//! `ccda`: the C-CDA importer's entry points, as the app calls them: `looks_like_ccda`, `unpack`,
//! then `convert` (and `bundle`) on every ClinicalDocument part.

use std::fmt::Write as _;

use ownrecord_ccda::{Limits, PartKind};

pub fn run(bytes: &[u8]) -> String {
    let mut line = format!("looks_like_ccda={}", ownrecord_ccda::looks_like_ccda(bytes));
    let parts = match ownrecord_ccda::unpack(bytes, &Limits::default()) {
        Ok(parts) => parts,
        Err(e) => return format!("{line}, unpack: {e}"),
    };
    let documents = parts
        .iter()
        .filter(|p| p.kind == PartKind::ClinicalDocument)
        .count();
    let _ = write!(
        line,
        ", {documents} document(s), {} attachment(s)",
        parts.len().saturating_sub(documents)
    );
    for part in parts
        .iter()
        .filter(|p| p.kind == PartKind::ClinicalDocument)
    {
        let path = if part.path.is_empty() {
            "(file)"
        } else {
            &part.path
        };
        match ownrecord_ccda::convert(&part.bytes) {
            Ok(converted) => {
                std::hint::black_box(converted.bundle());
                let _ = write!(line, "; {path}: {} resource(s)", converted.resources.len());
            }
            Err(e) => {
                let _ = write!(line, "; {path}: {e}");
            }
        }
    }
    line
}
