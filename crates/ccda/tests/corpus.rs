//! Every public sample document in ../shared/data/ccda converts, or fails with one clear error;
//! the structured entries of each clinical section become resources, counted independently of
//! the converter from the XML itself.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use ownrecord_ccda::convert;

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
                // The original is kept, byte for byte, in the last resource: its DocumentReference,
                // which names every resource made; each of those names it as its source.
                let kept = c.resources.last().unwrap();
                assert_eq!(kept["resourceType"], "DocumentReference");
                let data = kept["content"][0]["attachment"]["data"].as_str().unwrap();
                use base64::Engine;
                let original = base64::engine::general_purpose::STANDARD
                    .decode(data)
                    .unwrap();
                assert!(original == bytes, "{} original kept", file.display());
                let source = format!("DocumentReference/{}", kept["id"].as_str().unwrap());
                let related: BTreeSet<&str> = kept["context"]["related"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r["reference"].as_str().unwrap())
                    .collect();
                for r in &c.resources[..c.resources.len() - 1] {
                    assert_eq!(r["meta"]["source"], source.as_str());
                    let key = format!(
                        "{}/{}",
                        r["resourceType"].as_str().unwrap(),
                        r["id"].as_str().unwrap()
                    );
                    assert!(
                        related.contains(key.as_str()),
                        "{key} named by its document"
                    );
                }
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
                // Only fragments (no ClinicalDocument) and header examples without a patient are refused.
                assert!(
                    matches!(
                        e,
                        ownrecord_ccda::Error::NoPatient
                            | ownrecord_ccda::Error::NotClinicalDocument
                    ),
                    "{}: {e:?}",
                    file.display()
                );
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

/// Entry templates (C-CDA R2.1/R1.1 roots) and the resource type each becomes.
const ENTRY_TEMPLATES: &[(&str, &[&str])] = &[
    ("Condition", &["2.16.840.1.113883.10.20.22.4.4"]),
    ("AllergyIntolerance", &["2.16.840.1.113883.10.20.22.4.7"]),
    // Medication activities, and planned medications and immunizations (Plan of Treatment:
    // MedicationRequest, intent plan).
    (
        "MedicationRequest",
        &[
            "2.16.840.1.113883.10.20.22.4.16",
            "2.16.840.1.113883.10.20.22.4.42",
            "2.16.840.1.113883.10.20.22.4.120",
        ],
    ),
    ("Immunization", &["2.16.840.1.113883.10.20.22.4.52"]),
    ("DiagnosticReport", &["2.16.840.1.113883.10.20.22.4.1"]),
    (
        "Observation",
        &[
            "2.16.840.1.113883.10.20.22.4.2",
            "2.16.840.1.113883.10.20.22.4.27",
            "2.16.840.1.113883.10.20.22.4.26",
        ],
    ),
    (
        "Procedure",
        &[
            "2.16.840.1.113883.10.20.22.4.12",
            "2.16.840.1.113883.10.20.22.4.13",
            "2.16.840.1.113883.10.20.22.4.14",
        ],
    ),
    ("Encounter", &["2.16.840.1.113883.10.20.22.4.49"]),
];

/// Family history (about relatives) and the plan of treatment (its procedures and encounters
/// are requests: ServiceRequest).
const FAMILY_HISTORY: &str = "10157-6";
const PLAN_OF_TREATMENT: &str = "18776-5";

/// Counts, straight from the XML, the entries of each type: (distinct ids, occurrences).
fn count_entries(xml: &str) -> BTreeMap<&'static str, (usize, usize)> {
    let text = xml.trim_start_matches('\u{feff}');
    let doc = roxmltree::Document::parse(text).expect("the sample parses");
    let mut counts: BTreeMap<&'static str, (BTreeSet<String>, usize)> = BTreeMap::new();
    for node in doc.descendants().filter(|n| n.is_element()) {
        let roots: Vec<&str> = node
            .children()
            .filter(|c| c.tag_name().name() == "templateId")
            .filter_map(|c| c.attribute("root"))
            .collect();
        let Some((kind, _)) = ENTRY_TEMPLATES
            .iter()
            .find(|(_, templates)| roots.iter().any(|r| templates.contains(r)))
        else {
            continue;
        };
        let parent = node.parent().map(|p| p.tag_name().name()).unwrap_or("");
        let top_level = parent == "entry";
        let in_wrapper_act = parent == "entryRelationship"
            && node
                .ancestors()
                .nth(2)
                .is_some_and(|a| a.tag_name().name() == "act")
            && node
                .ancestors()
                .nth(3)
                .is_some_and(|e| e.tag_name().name() == "entry");
        let placed = match *kind {
            // Entries in their own right (the same templates inside another entry are context).
            "Encounter" | "Procedure" | "Immunization" => top_level,
            // A discharge medication act wraps its medication activities.
            "MedicationRequest" => top_level || in_wrapper_act,
            _ => true,
        };
        if !placed {
            continue;
        }
        let section_code = node
            .ancestors()
            .find(|a| a.tag_name().name() == "section")
            .and_then(|s| s.children().find(|c| c.tag_name().name() == "code"))
            .and_then(|c| c.attribute("code"));
        let requests =
            matches!(*kind, "Procedure" | "Encounter") && section_code == Some(PLAN_OF_TREATMENT);
        if section_code == Some(FAMILY_HISTORY) || requests {
            continue;
        }
        let id = node
            .children()
            .find(|c| c.tag_name().name() == "id" && c.attribute("root").is_some())
            .map(|i| {
                format!(
                    "{}|{}",
                    i.attribute("root").unwrap(),
                    i.attribute("extension").unwrap_or("")
                )
            })
            .unwrap_or_else(|| format!("{:?}", node.range()));
        let entry = counts.entry(kind).or_default();
        entry.0.insert(id);
        entry.1 += 1;
    }
    counts
        .into_iter()
        .map(|(k, (ids, n))| (k, (ids.len(), n)))
        .collect()
}

#[test]
fn each_sections_entries_become_resources() {
    let mut compared = 0;
    for file in corpus() {
        let bytes = std::fs::read(&file).unwrap();
        let Ok(converted) = convert(&bytes) else {
            continue;
        };
        let text = String::from_utf8_lossy(&bytes);
        let mut expected = count_entries(&text);
        // The header's visit (encompassingEncounter) is an Encounter too.
        if text.contains("<encompassingEncounter") {
            let e = expected.entry("Encounter").or_default();
            e.0 += 1;
            e.1 += 1;
        }
        let mut made: BTreeMap<&str, usize> = BTreeMap::new();
        for r in &converted.resources {
            let t = r["resourceType"].as_str().unwrap();
            let counted = match t {
                // Encounter diagnoses are Conditions too, and counted by their template.
                "Condition" | "AllergyIntolerance" | "Immunization" | "DiagnosticReport"
                | "Procedure" => true,
                "MedicationRequest" => true,
                "Observation" => {
                    let category = r["category"][0]["coding"][0]["code"].as_str().unwrap_or("");
                    category == "laboratory" || category == "vital-signs"
                }
                "Encounter" => true,
                _ => false,
            };
            if counted {
                *made.entry(t).or_default() += 1;
            }
        }
        for (kind, (distinct, occurrences)) in &expected {
            let ours = made.get(kind).copied().unwrap_or(0);
            assert!(
                *distinct <= ours && ours <= *occurrences,
                "{}: {kind}: {ours} made, the XML has {distinct} distinct entries ({occurrences} in all)",
                file.display()
            );
            compared += 1;
        }
    }
    assert!(compared > 300, "{compared} comparisons");
}
