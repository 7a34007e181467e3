//! The AFL++ binary: `cargo afl build --features afl`, then `afl-fuzz ... -- fuzz-afl TARGET`.

fn main() {
    let name = std::env::args().nth(1).unwrap_or_default();
    let Some(target) = ownrecord_fuzz::target(&name) else {
        eprintln!("usage: fuzz-afl TARGET (one of the names in fuzz/src/lib.rs)");
        std::process::exit(2);
    };
    afl::fuzz!(|data: &[u8]| {
        std::hint::black_box((target.run)(data));
    });
}
