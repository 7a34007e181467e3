//! Directory search benchmark (not a test): `cargo xtask bench directory`.
//!
//! Over the whole bundled directory (every endpoint of the vendors' lists), 400 queries made from
//! its own entries: a whole name, a name with one letter changed, the first word and a prefix of
//! the second, a name's first word and the state. Times, in the same run:
//! - baseline: the plain search the directory had before (every query word a substring of the
//!   lower-cased name + city, a linear scan; no typos, no ranking);
//! - ours: `Directory::search` (typo-tolerant, ranked, top 50).
//!
//! Prints p50 / p95 of both and the ratio. Target: p95 < 50 ms.

use std::time::Instant;

use ownrecord_core::portal::directory::Directory;

fn main() {
    let started = Instant::now();
    let directory = Directory::bundled();
    let load = started.elapsed();
    let all = directory.search_limit("", usize::MAX);
    let step = (all.len() / 100).max(1);
    let mut queries = Vec::new();
    for (i, e) in all.iter().step_by(step).take(100).enumerate() {
        let words: Vec<&str> = e.name.split_whitespace().collect();
        queries.push(e.name.clone());
        // One letter changed in the longest word.
        let longest = words.iter().max_by_key(|w| w.len()).copied().unwrap_or("");
        let mut typo: Vec<char> = longest.chars().collect();
        let middle = typo.len() / 2;
        if let Some(c) = typo.get_mut(middle) {
            *c = if *c == 'e' { 'a' } else { 'e' };
        }
        queries.push(
            e.name
                .replace(longest, &typo.into_iter().collect::<String>()),
        );
        let prefix: String = words
            .get(1)
            .map(|w| w.chars().take(3).collect())
            .unwrap_or_default();
        queries.push(format!("{} {prefix}", words.first().unwrap_or(&"")));
        queries.push(format!(
            "{} {}",
            words.first().unwrap_or(&""),
            e.state
                .as_deref()
                .unwrap_or(if i % 2 == 0 { "" } else { "clinic" })
        ));
    }
    let baseline = |q: &str| {
        let words: Vec<String> = q.split_whitespace().map(str::to_lowercase).collect();
        all.iter()
            .filter(|e| {
                let hay = format!("{} {}", e.name, e.city.as_deref().unwrap_or("")).to_lowercase();
                words.iter().all(|w| hay.contains(w))
            })
            .count()
    };
    // Warm up both.
    for q in queries.iter().take(20) {
        std::hint::black_box(baseline(q));
        std::hint::black_box(directory.search(q));
    }
    let (mut plain, mut ours) = (Vec::new(), Vec::new());
    let mut found = 0usize;
    for q in &queries {
        let t = Instant::now();
        std::hint::black_box(baseline(q));
        plain.push(t.elapsed().as_secs_f64() * 1000.0);
        let t = Instant::now();
        let hits = directory.search(q);
        ours.push(t.elapsed().as_secs_f64() * 1000.0);
        found += usize::from(!hits.is_empty());
    }
    let pct = |v: &mut Vec<f64>, p: f64| {
        v.sort_by(|a, b| a.total_cmp(b));
        v[((v.len() as f64 - 1.0) * p).round() as usize]
    };
    let (p50_plain, p95_plain) = (pct(&mut plain, 0.5), pct(&mut plain, 0.95));
    let (p50, p95) = (pct(&mut ours, 0.5), pct(&mut ours, 0.95));
    println!(
        "directory benchmark: {} entries (loaded and indexed in {:.0} ms), {} queries, {found} with results",
        directory.len(),
        load.as_secs_f64() * 1000.0,
        queries.len()
    );
    println!("  plain substring scan (baseline)   p50 {p50_plain:6.2} ms   p95 {p95_plain:6.2} ms");
    println!(
        "  Directory::search                 p50 {p50:6.2} ms   p95 {p95:6.2} ms   ({:.2}× the baseline at p95)",
        p95 / p95_plain
    );
    println!(
        "  target p95 < 50 ms: {}",
        if p95 < 50.0 { "met" } else { "NOT met" }
    );
}
