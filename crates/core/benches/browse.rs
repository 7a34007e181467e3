//! Browse benchmark (not a test): `cargo xtask bench browse`.
//!
//! Builds two vaults in the same run from copies of the 22 sample patients (each copy a
//! collection Bundle whose ids are rewritten, its dates moved by whole days so copies are not
//! duplicates of each other, all copies of a patient linked to one person):
//! - the people vault: all 22 people, ≥ 200k resources;
//! - the baseline: one person's copies alone (the same rows for that person, nobody else's).
//!
//! Then times, for one person, the timeline's first page, a category page (labs) and a search,
//! and prints p50/p95 for both vaults and the ratio: what the person filter costs when 21 other
//! people share the tables. Targets: ratio ≤ 1.1, every p95 < 50 ms.

use ownrecord_core::Vault;
use ownrecord_core::vault::browse::Category;

mod copies;

const TARGET_RESOURCES: usize = 200_000;
const RUNS: usize = 200;

fn main() {
    let copies::Plan {
        bundles,
        per_copy,
        copies,
        chosen,
    } = copies::plan(TARGET_RESOURCES);
    let work = tempfile::tempdir().unwrap();
    let files = copies::write_copies(&bundles, copies, work.path());
    println!(
        "browse benchmark: {} resources, {} people, {copies} copies each; browsing person {} ({} resources)",
        per_copy * copies,
        bundles.len(),
        chosen,
        bundles[chosen]["entry"].as_array().unwrap().len() * copies
    );
    let (people_vault, person) = copies::build(&work.path().join("people"), &files, chosen);
    let (alone_vault, alone) = copies::build(
        &work.path().join("alone"),
        std::slice::from_ref(&files[chosen]),
        0,
    );
    println!(
        "{:<22} {:>12} {:>12} {:>12} {:>12} {:>7}",
        "query", "22 p50 ms", "22 p95 ms", "1 p50 ms", "1 p95 ms", "ratio"
    );
    type Query = fn(&Vault, i64);
    let queries: [(&str, Query); 3] = [
        ("timeline first page", |v, p| {
            v.list(p, Category::Timeline, 0, 100).unwrap();
        }),
        ("labs page 3", |v, p| {
            v.list(p, Category::Labs, 200, 100).unwrap();
        }),
        ("search \"glucose\"", |v, p| {
            v.search(p, "glucose", 50).unwrap();
        }),
    ];
    for (name, query) in queries {
        let (p50, p95) = copies::percentiles(RUNS, || query(&people_vault, person));
        let (b50, b95) = copies::percentiles(RUNS, || query(&alone_vault, alone));
        println!(
            "{name:<22} {p50:>12.2} {p95:>12.2} {b50:>12.2} {b95:>12.2} {:>7.2}",
            p95 / b95
        );
    }
    println!("targets: ratio (p95 with 22 people / p95 alone) ≤ 1.10; every p95 < 50 ms");
}
