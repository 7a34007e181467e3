//! `loopback`: raw bytes as the sign-in's redirect listener receives them on its socket (in 1 KiB
//! reads), through its HTTP request parser to the callback's code, error or refusal.

use ownrecord_core::portal::loopback;

/// The sign-in's state, which the hand-made seeds carry.
pub const STATE: &str = "fuzz-state";

pub fn run(data: &[u8]) -> String {
    match loopback::read_callback(data, STATE) {
        None => "no callback: the listener keeps waiting".into(),
        Some(Ok(code)) => format!("code of {} bytes", code.len()),
        Some(Err(e)) => e.to_string(),
    }
}
