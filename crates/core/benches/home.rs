//! Home benchmark (not a test): `cargo xtask bench home`.
//!
//! A vault of ≥ 200k resources (copies of the 22 sample patients, see `copies/`); for the person
//! with the most resources, what the window asks after an unlock: the people list, then that
//! person's home (allergies, medications, problems, vitals, results, visits, sources). Prints
//! p50/p95 of each against the same run's baseline, the timeline's first page (one indexed
//! page: what any screen after an unlock costs at least), and people + home right after the vault
//! is opened anew, as the window asks them. Target: people + home < 500 ms.

use ownrecord_core::Vault;
use ownrecord_core::vault::browse::Category;

mod copies;

const TARGET_RESOURCES: usize = 200_000;
const RUNS: usize = 20;

fn main() {
    let copies::Plan {
        bundles,
        per_copy,
        copies,
        chosen,
    } = copies::plan(TARGET_RESOURCES);
    let work = tempfile::tempdir().unwrap();
    let files = copies::write_copies(&bundles, copies, work.path());
    let (vault, person) = copies::build(&work.path().join("vault"), &files, chosen);
    let entries = vault
        .people()
        .unwrap()
        .into_iter()
        .find(|p| p.id == person)
        .map_or(0, |p| p.resources);
    println!(
        "home benchmark: {} resources, {} people; the home of person {person} ({entries} entries)",
        per_copy * copies,
        bundles.len()
    );
    println!(
        "{:<22} {:>10} {:>10} {:>8}",
        "step", "p50 ms", "p95 ms", "ratio"
    );
    type Step = fn(&Vault, i64);
    let steps: [(&str, Step); 3] = [
        ("timeline first page", |v, p| {
            v.list(p, Category::Timeline, 0, 100).unwrap();
        }),
        ("people", |v, _| {
            v.people().unwrap();
        }),
        ("home", |v, p| {
            v.home(Some(p)).unwrap();
        }),
    ];
    let (_, base95) = copies::percentiles(RUNS, || (steps[0].1)(&vault, person));
    let mut total = 0.0;
    for (name, step) in steps {
        let (p50, p95) = copies::percentiles(RUNS, || step(&vault, person));
        if name != "timeline first page" {
            total += p95;
        }
        println!("{name:<22} {p50:>10.2} {p95:>10.2} {:>8.2}", p95 / base95);
    }
    println!(
        "people + home p95: {total:.1} ms (target < 500 ms: {})",
        if total < 500.0 { "met" } else { "NOT met" }
    );
    // As the window sees it: each run opens the vault anew (nothing of it cached yet), then
    // asks for the people and the home; the open itself is not timed.
    let dir = work.path().join("vault");
    let mut vault = Some(vault);
    let (p50, p95) = copies::percentiles_of(RUNS / 2, || {
        drop(vault.take());
        let unlock = ownrecord_core::Unlock {
            passphrase: Some(zeroize::Zeroizing::new("benchmark".into())),
            recovery_key: None,
        };
        let opened = Vault::open(
            &dir,
            unlock,
            std::sync::Arc::new(ownrecord_core::clock::SystemClock),
        )
        .unwrap();
        let start = std::time::Instant::now();
        opened.people().unwrap();
        opened.home(Some(person)).unwrap();
        let ms = start.elapsed().as_secs_f64() * 1000.0;
        vault = Some(opened);
        ms
    });
    println!(
        "{:<22} {p50:>10.2} {p95:>10.2} {:>8.2}",
        "after a fresh unlock",
        p95 / base95
    );
}
