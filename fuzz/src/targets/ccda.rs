//! What one fuzz input goes through: the C-CDA importer's entry points, as the app calls them.
//! Errors are fine; a panic (or an abort, a stack overflow, a hang) is a bug.

use ownrecord_ccda::{Limits, PartKind};

/// What became of one input, for the replay's report.
#[derive(Debug, Default)]
pub struct Outcome {
    pub looks_like_ccda: bool,
    /// `Err` text of `unpack`, if it refused the input.
    pub unpack_error: Option<String>,
    pub documents: usize,
    pub attachments: usize,
    /// Per ClinicalDocument part: its path and the resource count or the error text.
    pub converted: Vec<(String, Result<usize, String>)>,
}

/// Runs `looks_like_ccda`, `unpack`, then `convert` (and `bundle`) on every document part.
/// `describe` keeps the error texts (the replay wants them, the fuzzer does not).
pub fn exercise(bytes: &[u8], describe: bool) -> Outcome {
    let mut outcome = Outcome {
        looks_like_ccda: ownrecord_ccda::looks_like_ccda(bytes),
        ..Outcome::default()
    };
    let parts = match ownrecord_ccda::unpack(bytes, &Limits::default()) {
        Ok(parts) => parts,
        Err(e) => {
            if describe {
                outcome.unpack_error = Some(e.to_string());
            }
            return outcome;
        }
    };
    for part in &parts {
        if part.kind != PartKind::ClinicalDocument {
            outcome.attachments += 1;
            continue;
        }
        outcome.documents += 1;
        let result = match ownrecord_ccda::convert(&part.bytes) {
            Ok(converted) => {
                let bundle = converted.bundle();
                std::hint::black_box(&bundle);
                Ok(converted.resources.len())
            }
            Err(e) => Err(if describe {
                e.to_string()
            } else {
                String::new()
            }),
        };
        if describe {
            outcome.converted.push((part.path.clone(), result));
        }
    }
    outcome
}
