//! `ownrecord import` of C-CDA downloads: told apart from FHIR by content, a line per document
//! saying what was structured, the same report under `--json`, and one sentence for a document
//! that cannot be read.

use ownrecord_testkit::ccda_sample;

use crate::{init, json, ownrecord, run_expecting, stderr};

const CCD: &str = "hl7ex/Documents__CCD__CCD_1__CCD.XML";

#[test]
fn import_says_per_document_what_was_structured() {
    let dir = tempfile::tempdir().unwrap();
    let vault = dir.path().join("v");
    init(&vault);
    let out = run_expecting(ownrecord(&vault).arg("import").arg(ccda_sample(CCD)), 0);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Problems 3, Allergies 2, Medications 2, Immunizations 5, Results 2"),
        "{text}"
    );
    assert!(text.contains("added as person 1"), "{text}");

    let out = run_expecting(
        ownrecord(&vault)
            .args(["--json", "import"])
            .arg(ccda_sample(CCD)),
        0,
    );
    let report = &json(&out)[0];
    assert_eq!(report["format"], "ccda");
    assert_eq!(report["new"], 0, "re-import changes nothing: {report}");
    let doc = &report["documents"][0];
    assert!(doc["summary"].as_str().unwrap().starts_with("Problems 3"));
    let problems = doc["sections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "problems")
        .unwrap();
    assert_eq!(problems["structured"], 3);
}

#[test]
fn a_document_that_cannot_be_read_gets_one_sentence_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let vault = dir.path().join("v");
    init(&vault);
    let text = std::fs::read_to_string(ccda_sample(CCD)).unwrap();
    let cut = dir.path().join("Summary.xml");
    std::fs::write(&cut, &text[..text.len() / 3]).unwrap();
    let out = run_expecting(ownrecord(&vault).arg("import").arg(&cut), 1);
    let err = stderr(&out);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("Summary.xml") && err.contains("truncated"),
        "{err}"
    );
    assert!(!err.contains("JSON"), "not read as JSON: {err}");
}
