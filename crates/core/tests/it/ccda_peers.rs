//! The C-CDA converter against independent converters and the FHIR validators (tests/peers;
//! `cargo xtask test` installs them), over every document of `../shared/data/ccda`:
//!
//! - npm `@medplum/ccda`: per document and per resource type, every main code (system|code of
//!   the main CodeableConcept, translations included) medplum finds, ours finds too, except the
//!   documented differences in [`ALLOWED`];
//! - PyPI `ccda-to-fhir` (when its venv `target/xtask-ccda-venv` exists): the same comparison,
//!   printed, not asserted (it is R4B and maps differently in documented ways, see
//!   tests/peers/CCDA-DIFFERENCES.md);
//! - every resource we produce passes @medplum/core, FHIR.js and fhir.resources (R4).
//!
//! The rules for "main code" are the same in `tests/peers/lib/ccda-codes.mjs`,
//! `tests/peers/ccda_to_fhir_convert.py` and [`summarize`].

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use ownrecord_core::ccda;
use ownrecord_testkit::{ccda_name, ccda_samples};
use serde_json::Value;

/// The resource types compared, grouped: a medication may be a MedicationRequest in one
/// converter and a MedicationStatement in the other (both follow the entry's moodCode, but not
/// the same way), so medications are compared as one group.
const GROUPS: &[(&str, &[&str])] = &[
    ("Condition", &["Condition"]),
    ("AllergyIntolerance", &["AllergyIntolerance"]),
    (
        "Medication",
        &[
            "MedicationRequest",
            "MedicationStatement",
            "MedicationAdministration",
            "MedicationDispense",
        ],
    ),
    ("Immunization", &["Immunization"]),
    ("Observation", &["Observation"]),
    ("Procedure", &["Procedure"]),
    ("Encounter", &["Encounter"]),
];

/// A difference from @medplum/ccda that is expected, and why.
struct Allowed {
    /// A part of the document's file name, or "" for every document.
    file: &'static str,
    /// The group (see [`GROUPS`]).
    group: &'static str,
    /// A part of the missing "system|code", or "" for every code of the group.
    code: &'static str,
    reason: &'static str,
}

const PROBLEM_AS_OBSERVATION: &str = "medplum also makes an Observation of each allergy or problem observation (its own code: ASSERTION, 55607006 or 75326-9 'Problem'); we make only the AllergyIntolerance or Condition, as C-CDA on FHIR maps it";
const PROCEDURE_OBSERVATION: &str = "a Procedure Activity Observation is a Procedure for us (C-CDA on FHIR maps all three procedure templates to Procedure); medplum makes an Observation";
const FAMILY_HISTORY: &str = "family history is about relatives: medplum makes the patient's Observations of a relative's conditions; we keep the section as narrative only";
const NESTED_DETAIL: &str = "an observation nested as a subject or a procedure act nested in a supply is a detail of its entry; we keep it in the narrative (medplum makes an Observation)";
const PLANNED: &str = "a planned encounter or procedure (Plan of Treatment, moodCode INT) is a ServiceRequest for us; medplum makes an Encounter or Procedure";
const INDICATION: &str = "a medication's indication (RSON) is its reason, not a problem-list entry: medplum makes a Condition of it";

/// Documented differences (tests/peers/CCDA-DIFFERENCES.md has the details).
const ALLOWED: &[Allowed] = &[
    Allowed {
        file: "",
        group: "Observation",
        code: "|ASSERTION",
        reason: PROBLEM_AS_OBSERVATION,
    },
    Allowed {
        file: "",
        group: "Observation",
        code: "snomed.info/sct|55607006",
        reason: PROBLEM_AS_OBSERVATION,
    },
    Allowed {
        file: "",
        group: "Observation",
        code: "loinc.org|75326-9",
        reason: PROBLEM_AS_OBSERVATION,
    },
    Allowed {
        file: "",
        group: "Observation",
        code: "snomed.info/sct|274025005",
        reason: PROCEDURE_OBSERVATION,
    },
    Allowed {
        file: "",
        group: "Observation",
        code: "snomed.info/sct|168731009",
        reason: PROCEDURE_OBSERVATION,
    },
    Allowed {
        file: "CCD.ccda",
        group: "Observation",
        code: "",
        reason: PROCEDURE_OBSERVATION,
    },
    Allowed {
        file: "CCD_2__CCD",
        group: "Observation",
        code: "",
        reason: PROCEDURE_OBSERVATION,
    },
    Allowed {
        file: "",
        group: "Observation",
        code: "loinc.org|75323-6",
        reason: FAMILY_HISTORY,
    },
    Allowed {
        file: "",
        group: "Observation",
        code: "snomed.info/sct|445518008",
        reason: FAMILY_HISTORY,
    },
    Allowed {
        file: "",
        group: "Observation",
        code: "snomed.info/sct|64572001",
        reason: FAMILY_HISTORY,
    },
    Allowed {
        file: "",
        group: "Observation",
        code: "sid/icf|",
        reason: NESTED_DETAIL,
    },
    Allowed {
        file: "",
        group: "Observation",
        code: "loinc.org|75303-8",
        reason: NESTED_DETAIL,
    },
    Allowed {
        file: "",
        group: "Observation",
        code: "snomed.info/sct|40388003",
        reason: NESTED_DETAIL,
    },
    Allowed {
        file: "",
        group: "Encounter",
        code: "",
        reason: PLANNED,
    },
    Allowed {
        file: "newsections",
        group: "Procedure",
        code: "snomed.info/sct|73761001",
        reason: PLANNED,
    },
    Allowed {
        file: "hl7_expected_ccda",
        group: "Condition",
        code: "snomed.info/sct|32398004",
        reason: INDICATION,
    },
];

/// Code systems the peer names differently from us: (peer's system, ours, why). A peer's
/// `system|code` counts as found when we have the code under our system. Ours are HL7's URIs
/// (terminology.hl7.org "Using Code Systems" / the FHIR R4 list); medplum falls back to `urn:oid:`
/// for OIDs it does not know, and picks `http://nucc.org/cvx` for CVX.
const SYSTEM_ALIASES: &[(&str, &str, &str)] = &[
    (
        "http://nucc.org/cvx",
        "http://hl7.org/fhir/sid/cvx",
        "CVX: FHIR R4's URI is http://hl7.org/fhir/sid/cvx",
    ),
    (
        "urn:oid:2.16.840.1.113883.6.90",
        "http://hl7.org/fhir/sid/icd-10-cm",
        "ICD-10-CM by its FHIR URI",
    ),
    (
        "urn:oid:2.16.840.1.113883.6.103",
        "http://hl7.org/fhir/sid/icd-9-cm",
        "ICD-9-CM diagnoses by their FHIR URI",
    ),
    (
        "urn:oid:2.16.840.1.113883.6.104",
        "http://hl7.org/fhir/sid/icd-9-cm",
        "ICD-9-CM procedures: FHIR has one URI for both volumes",
    ),
    (
        "urn:oid:2.16.840.1.113883.6.4",
        "http://www.cms.gov/Medicare/Coding/ICD10",
        "ICD-10-PCS by its FHIR URI",
    ),
    (
        "urn:oid:2.16.840.1.113883.6.13",
        "http://ada.org/cdt",
        "CDT by its FHIR URI",
    ),
    (
        "urn:oid:2.16.840.1.113883.5.4",
        "http://terminology.hl7.org/CodeSystem/v3-ActCode",
        "v3 ActCode by its FHIR URI",
    ),
    (
        "urn:oid:2.16.840.1.113883.4.9",
        "http://fdasis.nlm.nih.gov",
        "UNII by its FHIR URI",
    ),
];

/// Documents we refuse on purpose, though the peer converts what it can: (a part of our error
/// message, why).
const REFUSED: &[(&str, &str)] = &[(
    "recordTarget",
    "a document without a recordTarget is nobody's record: we refuse it with one sentence; \
     medplum converts it without a Patient",
)];

/// A result organizer is a DiagnosticReport in C-CDA on FHIR (and ours); medplum makes an
/// Observation with `hasMember`. Its code, missing from our Observations, is found in our
/// DiagnosticReports.
const ORGANIZER_AS_REPORT: &str =
    "result organizer: DiagnosticReport in C-CDA on FHIR and ours, an Observation panel in medplum";

/// One converter's view of one document: ok, resource counts, main codes per resource type.
#[derive(Debug, Default, Clone)]
struct Summary {
    ok: bool,
    error: String,
    counts: BTreeMap<String, u64>,
    codes: BTreeMap<String, BTreeSet<String>>,
}

impl Summary {
    fn from_line(line: &Value) -> Summary {
        let mut s = Summary {
            ok: line["ok"].as_bool().unwrap_or(false),
            error: line["error"].as_str().unwrap_or_default().to_owned(),
            ..Default::default()
        };
        for (t, n) in line["counts"].as_object().into_iter().flatten() {
            s.counts.insert(t.clone(), n.as_u64().unwrap_or(0));
        }
        for (t, list) in line["codes"].as_object().into_iter().flatten() {
            let set = list
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect();
            s.codes.insert(t.clone(), set);
        }
        s
    }

    fn group_codes(&self, group: &str) -> BTreeSet<String> {
        let types = GROUPS.iter().find(|(g, _)| *g == group).unwrap().1;
        types
            .iter()
            .filter_map(|t| self.codes.get(*t))
            .flatten()
            .cloned()
            .collect()
    }

    fn group_count(&self, group: &str) -> u64 {
        let types = GROUPS.iter().find(|(g, _)| *g == group).unwrap().1;
        types.iter().filter_map(|t| self.counts.get(*t)).sum()
    }
}

fn codings(concept: &Value) -> impl Iterator<Item = String> + '_ {
    concept["coding"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| Some(format!("{}|{}", c["system"].as_str()?, c["code"].as_str()?)))
}

/// Our resources, by the rules of tests/peers/lib/ccda-codes.mjs.
fn summarize(resources: &[Value]) -> Summary {
    let medications: BTreeMap<String, &Value> = resources
        .iter()
        .filter(|r| r["resourceType"] == "Medication")
        .filter_map(|r| Some((format!("Medication/{}", r["id"].as_str()?), r)))
        .collect();
    let mut s = Summary {
        ok: true,
        ..Default::default()
    };
    for r in resources {
        let t = r["resourceType"].as_str().unwrap_or_default().to_owned();
        *s.counts.entry(t.clone()).or_default() += 1;
        let concepts: Vec<&Value> = match t.as_str() {
            "Immunization" => vec![&r["vaccineCode"]],
            "Encounter" => r["type"].as_array().into_iter().flatten().collect(),
            "MedicationRequest"
            | "MedicationStatement"
            | "MedicationAdministration"
            | "MedicationDispense" => {
                if r["medicationCodeableConcept"].is_object() {
                    vec![&r["medicationCodeableConcept"]]
                } else if let Some(reference) = r["medicationReference"]["reference"].as_str() {
                    if let Some(local) = reference.strip_prefix('#') {
                        r["contained"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter(|c| c["id"] == local)
                            .map(|c| &c["code"])
                            .collect()
                    } else {
                        medications
                            .get(reference)
                            .map(|m| vec![&m["code"]])
                            .unwrap_or_default()
                    }
                } else {
                    vec![]
                }
            }
            "Condition" | "AllergyIntolerance" | "Observation" | "Procedure"
            | "DiagnosticReport" => vec![&r["code"]],
            _ => vec![],
        };
        for concept in concepts {
            for c in codings(concept) {
                s.codes.entry(t.clone()).or_default().insert(c);
            }
        }
    }
    s
}

/// Runs a peer converter over the files (`--list -` on stdin); one summary per file.
fn run_peer(mut cmd: Command, files: &[PathBuf]) -> BTreeMap<PathBuf, Summary> {
    let mut child = cmd
        .args(["--list", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the peer converter runs");
    let list: String = files.iter().map(|f| format!("{}\n", f.display())).collect();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(list.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the peer converter failed: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let mut by_file = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let v: Value = serde_json::from_str(line).expect("one JSON object a line");
        by_file.insert(
            PathBuf::from(v["file"].as_str().unwrap()),
            Summary::from_line(&v),
        );
    }
    assert_eq!(by_file.len(), files.len(), "one line per document");
    by_file
}

fn medplum(files: &[PathBuf]) -> BTreeMap<PathBuf, Summary> {
    let mut cmd = Command::new("node");
    cmd.arg(ownrecord_testkit::checkers::peers_dir().join("ccda-medplum.mjs"));
    run_peer(cmd, files)
}

fn ccda_to_fhir_python() -> Option<PathBuf> {
    let python = std::env::var_os("OWNRECORD_CCDA_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/xtask-ccda-venv/bin/python3")
        });
    python.exists().then_some(python)
}

fn ours(files: &[PathBuf]) -> BTreeMap<PathBuf, (Summary, Option<ccda::Converted>)> {
    files
        .iter()
        .map(|f| {
            let bytes = std::fs::read(f).unwrap();
            let result = match ccda::convert(&bytes) {
                Ok(c) => (summarize(&c.resources), Some(c)),
                Err(e) => (
                    Summary {
                        error: e.to_string(),
                        ..Default::default()
                    },
                    None,
                ),
            };
            (f.clone(), result)
        })
        .collect()
}

fn allowed(file: &Path, group: &str, code: &str) -> Option<&'static str> {
    let name = ccda_name(file);
    ALLOWED
        .iter()
        .find(|a| a.group == group && name.contains(a.file) && code.contains(a.code))
        .map(|a| a.reason)
}

/// Codes the peer found that we did not, per document and group (allowed ones left out), and
/// the allowed ones with their reasons, counted.
struct Comparison {
    missing: Vec<String>,
    allowed: BTreeMap<&'static str, usize>,
    extra: usize,
    peer_failed: Vec<String>,
}

fn compare(
    peer: &BTreeMap<PathBuf, Summary>,
    ours: &BTreeMap<PathBuf, (Summary, Option<ccda::Converted>)>,
) -> Comparison {
    let mut c = Comparison {
        missing: Vec::new(),
        allowed: BTreeMap::new(),
        extra: 0,
        peer_failed: Vec::new(),
    };
    for (file, theirs) in peer {
        let (mine, _) = &ours[file];
        if !theirs.ok {
            c.peer_failed
                .push(format!("{}: {}", ccda_name(file), theirs.error));
            continue;
        }
        if let Some((_, why)) = REFUSED
            .iter()
            .find(|(m, _)| !mine.ok && mine.error.contains(m))
        {
            *c.allowed.entry(why).or_default() += 1;
            continue;
        }
        if !mine.ok {
            c.missing.push(format!(
                "{}: we fail ({}), the peer converts it",
                ccda_name(file),
                mine.error
            ));
            continue;
        }
        for (group, _) in GROUPS {
            let their_codes = theirs.group_codes(group);
            let my_codes = mine.group_codes(group);
            c.extra += my_codes.difference(&their_codes).count();
            let reports = mine
                .codes
                .get("DiagnosticReport")
                .cloned()
                .unwrap_or_default();
            let mut missing = Vec::new();
            for code in their_codes.difference(&my_codes) {
                let alias = SYSTEM_ALIASES.iter().find_map(|(theirs, ours, why)| {
                    let rest = code.strip_prefix(theirs)?.strip_prefix('|')?;
                    my_codes.contains(&format!("{ours}|{rest}")).then_some(*why)
                });
                if let Some(why) = alias {
                    *c.allowed.entry(why).or_default() += 1;
                    continue;
                }
                if *group == "Observation" && reports.contains(code) {
                    *c.allowed.entry(ORGANIZER_AS_REPORT).or_default() += 1;
                    continue;
                }
                match allowed(file, group, code) {
                    Some(reason) => *c.allowed.entry(reason).or_default() += 1,
                    None => missing.push(code.clone()),
                }
            }
            if !missing.is_empty() {
                c.missing.push(format!(
                    "{} {group} (ours {} resources, peer {}): missing {}",
                    ccda_name(file),
                    mine.group_count(group),
                    theirs.group_count(group),
                    missing.join(", ")
                ));
            }
        }
    }
    c
}

fn print(name: &str, c: &Comparison) {
    eprintln!(
        "{name}: {} documents it could not convert; {} codes only we found",
        c.peer_failed.len(),
        c.extra
    );
    for f in &c.peer_failed {
        eprintln!("  {name} fails: {f}");
    }
    for (reason, n) in &c.allowed {
        eprintln!("  allowed ×{n}: {reason}");
    }
    for m in &c.missing {
        eprintln!("  MISSING {m}");
    }
}

#[test]
fn every_code_medplum_finds_we_find_too() {
    let files = ccda_samples();
    let mine = ours(&files);
    let theirs = medplum(&files);
    let c = compare(&theirs, &mine);
    print("@medplum/ccda", &c);
    if let Some(python) = ccda_to_fhir_python() {
        let mut cmd = Command::new(python);
        cmd.arg(ownrecord_testkit::checkers::peers_dir().join("ccda_to_fhir_convert.py"));
        let other = compare(&run_peer(cmd, &files), &mine);
        print("ccda-to-fhir (not asserted)", &other);
    }
    assert!(
        c.missing.is_empty(),
        "{} differences from @medplum/ccda that are not documented:\n{}",
        c.missing.len(),
        c.missing.join("\n")
    );
}

/// Validator messages that are known and accepted, with the reason (none yet).
const VALIDATOR_ALLOWED: &[(&str, &str)] = &[];

#[test]
fn the_fhir_validators_accept_every_resource_we_make() {
    let files = ccda_samples();
    let mine = ours(&files);
    // One collection Bundle of every document's resources (no fullUrls, so ids may repeat
    // across documents), one run of each validator; entry indexes map back to documents.
    let mut entries = Vec::new();
    let mut origin = Vec::new();
    for (file, (_, converted)) in &mine {
        for r in converted.iter().flat_map(|c| &c.resources) {
            entries.push(serde_json::json!({ "resource": r }));
            origin.push(format!(
                "{} {}/{}",
                ccda_name(file),
                r["resourceType"].as_str().unwrap_or("?"),
                r["id"].as_str().unwrap_or("?")
            ));
        }
    }
    assert!(!entries.is_empty(), "some resources to validate");
    let bundle =
        serde_json::json!({"resourceType": "Bundle", "type": "collection", "entry": entries});
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("all.json");
    std::fs::write(&path, serde_json::to_vec(&bundle).unwrap()).unwrap();
    let errors = ownrecord_testkit::checkers::fhir_errors(&path);
    let located: Vec<String> = errors
        .iter()
        .filter(|e| !VALIDATOR_ALLOWED.iter().any(|(m, _)| e.contains(m)))
        .map(|e| {
            let at = e
                .split("entry[")
                .nth(1)
                .and_then(|rest| rest.split(']').next())
                .and_then(|n| n.parse::<usize>().ok())
                .and_then(|n| origin.get(n));
            match at {
                Some(o) => format!("{o}: {e}"),
                None => e.clone(),
            }
        })
        .collect();
    eprintln!(
        "validated {} resources from {} documents: {} errors",
        origin.len(),
        mine.values().filter(|(_, c)| c.is_some()).count(),
        located.len()
    );
    assert!(
        located.is_empty(),
        "the validators reject {} things:\n{}",
        located.len(),
        located.join("\n")
    );
}
