//! The AFL++ target: `cargo afl build --features afl`, then afl-fuzz feeds it inputs.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        ownrecord_fuzz_ccda::exercise(data, false);
    });
}
