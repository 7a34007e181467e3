//! `kill -9` at random points of a large import, 20 times: the vault always opens, passes its checks,
//! and holds every file either whole or not at all.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::{init, json, ownrecord, run_expecting, write_ndjson};

#[test]
fn kill_9_during_import_never_leaves_half_a_file() {
    let work = tempfile::tempdir().unwrap();
    let mut expected: BTreeMap<String, i64> = BTreeMap::new();
    let files: Vec<PathBuf> = (0..3)
        .map(|i| {
            let path = work.path().join(format!("part{i}.ndjson"));
            let lines = write_ndjson(&path, 1, &format!("p{i}c"));
            expected.insert(format!("part{i}.ndjson"), lines as i64);
            path
        })
        .collect();

    // How long a whole import takes here, in a throwaway vault.
    let timing_vault = work.path().join("timing");
    init(&timing_vault);
    let started = Instant::now();
    run_expecting(
        ownrecord(&timing_vault)
            .args(["import", "--person", "new"])
            .args(&files),
        0,
    );
    let full = started.elapsed();

    let mut rng = crate::Rng::from_clock();
    eprintln!("crash test seed {}, full import {full:?}", rng.seed());
    let mut completed_runs = 0;
    let mut vault = PathBuf::new();
    for round in 0..20 {
        // A fresh vault each round, so every kill lands in a real import, not a no-op re-import.
        if round > 0 {
            std::fs::remove_dir_all(&vault).unwrap();
        }
        vault = work.path().join(format!("vault{round}"));
        init(&vault);
        let delay = full.mul_f64(0.02 + 0.96 * rng.next_f64());
        let mut child = ownrecord(&vault)
            .args(["import", "--person", "new"])
            .args(&files)
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        let _ = child.kill(); // SIGKILL
        let status = child.wait().unwrap();
        completed_runs += usize::from(status.success());

        let check = run_expecting(ownrecord(&vault).args(["--json", "check"]), 0);
        assert_eq!(json(&check)["ok"], true, "round {round} (delay {delay:?})");
        run_expecting(ownrecord(&vault).args(["audit", "verify"]), 0);
        let summary = json(&run_expecting(
            ownrecord(&vault).args(["--json", "summary", "--all"]),
            0,
        ));
        let mut total = 0;
        for source in summary["sources"].as_array().unwrap() {
            let name = source["name"].as_str().unwrap();
            let count = source["resources"].as_i64().unwrap();
            assert_eq!(
                Some(&count),
                expected.get(name),
                "round {round}: {name} is whole or absent"
            );
            total += count;
        }
        assert_eq!(summary["resources"].as_i64().unwrap(), total);
    }
    eprintln!("{completed_runs} of 20 runs finished before the kill");
    // And the next import into the last killed vault completes.
    run_expecting(
        ownrecord(&vault)
            .args(["import", "--person", "new"])
            .args(&files),
        0,
    );
    let summary = json(&run_expecting(
        ownrecord(&vault).args(["--json", "summary", "--all"]),
        0,
    ));
    assert_eq!(
        summary["resources"].as_i64().unwrap(),
        expected.values().sum::<i64>()
    );
    assert!(Duration::from_secs(0) < full);
}
