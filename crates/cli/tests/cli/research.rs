//! `export research`, `share --purpose research --study ID --deidentify` and `studies` as a
//! patient (or a study's script) runs them: what leaves is de-identified (no name, address,
//! phone, identifier or full date of the patient in its bytes), the preview writes and logs
//! nothing, a package opens with Debian's `age`, mistakes are one sentence, and stopping a study
//! unlinks later copies.

use std::path::{Path, PathBuf};

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::export::vault_with_a_patient;
use crate::{json, ownrecord, run_expecting, stderr};

const STUDY: &str = "NCT01234567";
const LAB: &str = "Acme Research Lab";

fn patient_file() -> PathBuf {
    ownrecord_testkit::patient_files()
        .into_iter()
        .find(|f| f.to_string_lossy().contains("Mathilda"))
        .unwrap()
}

fn disclosures(vault: &Path) -> Vec<Value> {
    json(&run_expecting(
        ownrecord(vault).args(["--json", "audit", "list", "--disclosures"]),
        0,
    ))
    .as_array()
    .unwrap()
    .clone()
}

/// `--json export research --study STUDY --to LAB --out DIR` plus `extra`.
fn export_research(vault: &Path, dir: &Path, extra: &[&str]) -> Value {
    json(&run_expecting(
        ownrecord(vault)
            .args([
                "--json", "export", "research", "--study", STUDY, "--to", LAB,
            ])
            .arg("--out")
            .arg(dir)
            .args(extra),
        0,
    ))
}

/// The id of the one Patient in a research copy's folder.
fn patient_pseudonym(dir: &Path) -> String {
    let text = std::fs::read_to_string(dir.join("Patient.ndjson")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "one Patient: {text}");
    let patient: Value = serde_json::from_str(lines[0]).unwrap();
    patient["id"].as_str().unwrap().to_owned()
}

/// Every `YYYY-MM-DD` shape (four digits, dash, two digits, dash, two digits) in `bytes`.
fn full_dates(bytes: &[u8]) -> Vec<String> {
    const SHAPE: &[u8; 10] = b"dddd-dd-dd";
    bytes
        .windows(SHAPE.len())
        .filter(|w| {
            w.iter().zip(SHAPE).all(|(b, s)| match s {
                b'd' => b.is_ascii_digit(),
                _ => b == s,
            })
        })
        .map(|w| String::from_utf8_lossy(w).into_owned())
        .collect()
}

/// The full dates in the files under `dir`, by file.
fn full_dates_in(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        for date in full_dates(&std::fs::read(&path).unwrap()) {
            found.push((path.clone(), date));
        }
    }
    found
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A vault and the patient's PHI strings, and a work folder.
fn setup() -> (tempfile::TempDir, PathBuf, Vec<String>) {
    let work = tempfile::tempdir().unwrap();
    let vault = work.path().join("vault");
    vault_with_a_patient(&vault);
    let phi = ownrecord_testkit::phi_strings(&[patient_file()]);
    assert!(
        phi.len() >= 3,
        "the sample patient has PHI to look for: {phi:?}"
    );
    (work, vault, phi)
}

#[test]
fn the_scanner_finds_full_dates() {
    assert_eq!(full_dates(b"x\"2019-05-03T10:00\""), ["2019-05-03"]);
    assert!(full_dates(b"\"2019\" 2345-7 20190503 2019-05").is_empty());
}

#[test]
fn a_research_export_writes_ndjson_and_a_manifest_with_no_phi_and_no_full_date() {
    let (work, vault, phi) = setup();
    // The sample record is full of the patient's PHI and full dates: the scans can find them.
    let sample = work.path().join("sample");
    std::fs::create_dir(&sample).unwrap();
    std::fs::copy(patient_file(), sample.join("patient.json")).unwrap();
    assert!(!ownrecord_testkit::scan_dir(&sample, &phi).is_empty());
    assert!(!full_dates_in(&sample).is_empty());

    let dir = work.path().join("for-the-study");
    let printed = export_research(&vault, &dir, &[]);

    // What the script reads: what was removed and kept, the counts, the consent and the files.
    assert_eq!(printed["written"], true);
    assert_eq!(printed["study"], STUDY);
    assert_eq!(printed["recipient"], LAB);
    let removed = printed["removed"].as_array().unwrap();
    assert!(!removed.is_empty());
    let removed_elements: Vec<&str> = removed
        .iter()
        .flat_map(|k| k["elements"].as_array().unwrap())
        .map(|e| e.as_str().unwrap())
        .collect();
    assert!(
        removed_elements.contains(&"Patient.name"),
        "{removed_elements:?}"
    );
    assert!(
        removed
            .iter()
            .any(|k| k["what"].as_str().unwrap().contains("Days and months"))
    );
    assert!(!printed["kept"].as_array().unwrap().is_empty());
    assert!(printed["left_out"].is_array());
    let consent = printed["consent"].as_str().unwrap();
    assert!(
        consent.contains(LAB) && consent.contains(STUDY),
        "{consent}"
    );
    assert_eq!(printed["consent_sha256"], sha256_hex(consent.as_bytes()));
    let id = printed["id"].as_str().unwrap();
    assert_eq!(printed["dir"], dir.display().to_string());

    // DIR: one `<Type>.ndjson` per counted type, each line a resource of that type, and the
    // manifest; the files the JSON lists, with their SHA-256s.
    let counts = printed["counts"].as_array().unwrap();
    assert!(counts.len() >= 5, "{counts:?}");
    let mut expected: Vec<String> = counts
        .iter()
        .map(|c| format!("{}.ndjson", c["resource_type"].as_str().unwrap()))
        .collect();
    expected.push("manifest.json".into());
    expected.sort();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, expected);
    assert!(names.contains(&"Patient.ndjson".to_owned()));
    assert!(names.contains(&"Observation.ndjson".to_owned()));
    for count in counts {
        let resource_type = count["resource_type"].as_str().unwrap();
        let text = std::fs::read_to_string(dir.join(format!("{resource_type}.ndjson"))).unwrap();
        assert_eq!(
            text.lines().count() as u64,
            count["count"].as_u64().unwrap()
        );
        for line in text.lines() {
            let resource: Value = serde_json::from_str(line).unwrap();
            assert_eq!(resource["resourceType"], resource_type);
        }
    }
    let files = printed["files"].as_array().unwrap();
    assert_eq!(files.len(), names.len());
    for file in files {
        let bytes = std::fs::read(dir.join(file["path"].as_str().unwrap())).unwrap();
        assert_eq!(file["sha256"], sha256_hex(&bytes));
    }
    let manifest_bytes = std::fs::read(dir.join("manifest.json")).unwrap();
    assert_eq!(printed["manifest_sha256"], sha256_hex(&manifest_bytes));
    let manifest: Value = serde_json::from_slice(&manifest_bytes).unwrap();
    assert_eq!(manifest["study"], STUDY);
    assert_eq!(manifest["recipient"], LAB);
    // The examples are rows exactly as they left.
    let examples = printed["examples"].as_array().unwrap();
    assert!(!examples.is_empty());
    for example in examples {
        let file = format!("{}.ndjson", example["resource_type"].as_str().unwrap());
        let text = std::fs::read_to_string(dir.join(&file)).unwrap();
        let line = example["line"].as_str().unwrap();
        assert!(text.lines().any(|l| l == line), "{line} not in {file}");
    }

    // Not a byte of the patient's PHI, and no full date.
    assert_eq!(ownrecord_testkit::scan_dir(&dir, &phi), Vec::new());
    assert_eq!(full_dates_in(&dir), Vec::new());

    // The disclosure row names the recipient, the study and the consent confirmed.
    let row = disclosures(&vault).pop().unwrap();
    assert_eq!(row["kind"], "share");
    assert_eq!(row["details"]["recipient"], LAB);
    assert_eq!(row["details"]["purpose"], "research");
    assert_eq!(row["details"]["study"], STUDY);
    assert_eq!(row["details"]["share_id"], id);
    assert_eq!(row["details"]["consent_sha256"], printed["consent_sha256"]);

    // The text output says what was written and prints the consent statement recorded.
    let again = work.path().join("again");
    let out = run_expecting(
        ownrecord(&vault)
            .args(["export", "research", "--study", STUDY, "--to", LAB])
            .arg("--out")
            .arg(&again),
        0,
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("de-identified research copy"), "{text}");
    assert!(text.contains(&format!("I agree to give {LAB}")), "{text}");
    assert!(text.contains("ownrecord studies stop"), "{text}");
    // A folder that is not empty is refused in a sentence.
    let refused = run_expecting(
        ownrecord(&vault)
            .args(["export", "research", "--study", STUDY, "--to", LAB])
            .arg("--out")
            .arg(&again),
        1,
    );
    assert_eq!(stderr(&refused).lines().count(), 1, "{}", stderr(&refused));
    run_expecting(ownrecord(&vault).args(["audit", "verify"]), 0);
}

#[test]
fn keep_intervals_adds_the_days_since_the_first_event_and_still_no_full_date() {
    let (work, vault, phi) = setup();
    let days = "days-since-first-event";
    let plain = work.path().join("plain");
    export_research(&vault, &plain, &[]);
    let observations = std::fs::read_to_string(plain.join("Observation.ndjson")).unwrap();
    assert!(!observations.contains(days));

    let dir = work.path().join("intervals");
    let printed = export_research(&vault, &dir, &["--keep-intervals"]);
    assert_eq!(printed["keep_intervals"], true);
    assert!(
        printed["kept"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k.as_str().unwrap().contains("days between events"))
    );
    let observations = std::fs::read_to_string(dir.join("Observation.ndjson")).unwrap();
    assert!(observations.contains(days));
    assert_eq!(ownrecord_testkit::scan_dir(&dir, &phi), Vec::new());
    assert_eq!(full_dates_in(&dir), Vec::new());
}

#[test]
fn a_research_preview_writes_nothing_and_logs_nothing() {
    let (work, vault, _) = setup();
    let before = disclosures(&vault).len();
    let dir = work.path().join("for-the-study");

    let out = run_expecting(
        ownrecord(&vault)
            .args(["export", "research", "--study", STUDY, "--to", LAB])
            .arg("--out")
            .arg(&dir)
            .arg("--preview"),
        0,
    );
    let text = String::from_utf8_lossy(&out.stdout);
    for part in [
        "Nothing was written",
        "What goes",
        "Observation",
        "What is removed",
        "Patient.name",
        "What is kept",
        "exactly as they leave",
        "Patient: {",
        &format!("I agree to give {LAB}"),
    ] {
        assert!(text.contains(part), "{part} not in {text}");
    }

    let printed = json(&run_expecting(
        ownrecord(&vault)
            .args([
                "--json", "export", "research", "--study", STUDY, "--to", LAB,
            ])
            .args(["--preview", "--keep-intervals"]),
        0,
    ));
    assert_eq!(printed["written"], false);
    assert!(!printed["removed"].as_array().unwrap().is_empty());
    assert!(!printed["kept"].as_array().unwrap().is_empty());
    assert!(!printed["counts"].as_array().unwrap().is_empty());
    assert!(!printed["examples"].as_array().unwrap().is_empty());
    assert!(
        printed["consent"]
            .as_str()
            .unwrap()
            .contains("days between events")
    );
    assert!(printed.get("id").is_none() && printed.get("files").is_none());

    assert!(!dir.exists(), "the preview wrote nothing");
    assert_eq!(
        std::fs::read_dir(work.path()).unwrap().count(),
        1,
        "only the vault is there"
    );
    assert_eq!(disclosures(&vault).len(), before, "and logged nothing");
    let studies = json(&run_expecting(
        ownrecord(&vault).args(["--json", "studies"]),
        0,
    ));
    assert_eq!(studies, serde_json::json!([]), "no study is kept");
    let listing = run_expecting(ownrecord(&vault).arg("studies"), 0);
    assert!(String::from_utf8_lossy(&listing.stdout).starts_with("No research copies"));
}

#[test]
fn a_deidentified_share_is_a_package_that_age_opens_holding_the_ndjson_files() {
    let (work, vault, phi) = setup();
    let package = work.path().join("for-the-lab.age");
    let shared = json(&run_expecting(
        ownrecord(&vault)
            .args(["--json", "share", "--to", LAB, "--purpose", "research"])
            .args(["--study", STUDY, "--deidentify", "--expires", "30"])
            .arg("--out")
            .arg(&package),
        0,
    ));
    for field in ["removed", "kept", "counts", "left_out", "examples"] {
        assert!(shared[field].is_array(), "{field} in {shared}");
    }
    assert!(!shared["removed"].as_array().unwrap().is_empty());
    assert_eq!(shared["study"], STUDY);
    assert_eq!(shared["recipient"], LAB);
    let consent = shared["consent"].as_str().unwrap();
    assert_eq!(shared["consent_sha256"], sha256_hex(consent.as_bytes()));
    assert!(shared["expires"].is_string());
    assert!(shared["link"].is_null());
    let passcode = shared["passcode"].as_str().unwrap();

    let tar = work.path().join("opened.tar");
    assert!(ownrecord_testkit::checkers::age_decrypt(
        &package, passcode, &tar
    ));
    let opened = work.path().join("opened");
    std::fs::create_dir(&opened).unwrap();
    let untar = std::process::Command::new("tar")
        .arg("xf")
        .arg(&tar)
        .arg("-C")
        .arg(&opened)
        .status()
        .unwrap();
    assert!(untar.success());
    for count in shared["counts"].as_array().unwrap() {
        let file = opened.join(format!(
            "{}.ndjson",
            count["resource_type"].as_str().unwrap()
        ));
        let text = std::fs::read_to_string(&file).unwrap();
        assert_eq!(
            text.lines().count() as u64,
            count["count"].as_u64().unwrap()
        );
    }
    assert!(opened.join("Patient.ndjson").exists());
    assert!(opened.join("Observation.ndjson").exists());
    assert!(opened.join("research-manifest.json").exists());
    assert_eq!(ownrecord_testkit::scan_dir(&opened, &phi), Vec::new());
    // The package's own manifest says when it was made; the copy's files have no full date.
    let copy_dates: Vec<_> = full_dates_in(&opened)
        .into_iter()
        .filter(|(path, _)| !path.ends_with("manifest.json"))
        .collect();
    assert_eq!(copy_dates, Vec::new());

    // Logged as a research share, and listed under the shares and the studies.
    let row = disclosures(&vault).pop().unwrap();
    assert_eq!(row["kind"], "share");
    assert_eq!(row["details"]["study"], STUDY);
    assert_eq!(row["details"]["consent_sha256"], shared["consent_sha256"]);
    let studies = json(&run_expecting(
        ownrecord(&vault).args(["--json", "studies"]),
        0,
    ));
    assert_eq!(studies[0]["study"], STUDY);
    assert_eq!(studies[0]["copies"], 1);
    assert!(studies[0]["stopped"].is_null());

    // The text output is the share's, saying what it is.
    let second = work.path().join("second.age");
    let out = run_expecting(
        ownrecord(&vault)
            .args(["share", "--to", LAB, "--purpose", "research"])
            .args(["--study", STUDY, "--deidentify", "--out"])
            .arg(&second),
        0,
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("de-identified research copy"), "{text}");
    assert!(text.contains("age -d"), "{text}");
    assert!(text.contains(&format!("I agree to give {LAB}")), "{text}");
    let passcode = text
        .lines()
        .map(str::trim)
        .find(|l| l.len() == 29 && l.matches('-').count() == 4)
        .expect("a passcode line");
    assert!(ownrecord_testkit::checkers::age_decrypt(
        &second,
        passcode,
        &work.path().join("second.tar")
    ));
    run_expecting(ownrecord(&vault).args(["audit", "verify"]), 0);
}

#[test]
fn a_deidentified_link_through_a_share_host_opens_to_the_copy() {
    let host = crate::shares::start_host();
    let (work, vault, phi) = setup();
    run_expecting(
        ownrecord(&vault).args(["hosts", "add", &host.base, "--token", &host.owner]),
        0,
    );
    let package = work.path().join("for-the-lab.age");
    let shared = json(&run_expecting(
        ownrecord(&vault)
            .args(["--json", "share", "--to", LAB, "--purpose", "research"])
            .args(["--study", STUDY, "--deidentify"])
            .arg("--out")
            .arg(&package)
            .args(["--shl", "--host", &host.base, "--passcode", "lab-4321-ok"]),
        0,
    ));
    let link = shared["link"].as_str().unwrap();
    assert!(
        link.starts_with(&format!("{}/view#shlink:/", host.base)),
        "{link}"
    );
    assert_eq!(shared["study"], STUDY);
    let (ok, report) = crate::shares::resolve(link, "lab-4321-ok");
    assert!(ok, "{report}");
    let bundle = &report["files"][0]["content"];
    assert_eq!(bundle["resourceType"], "Bundle");
    let text = bundle.to_string();
    assert!(text.contains("\"Patient\""));
    for needle in &phi {
        assert!(
            !text.contains(needle.as_str()),
            "{needle} in the link's Bundle"
        );
    }
    assert!(full_dates(text.as_bytes()).is_empty());
    let shares = json(&run_expecting(
        ownrecord(&vault).args(["--json", "shares"]),
        0,
    ));
    assert_eq!(shares[0]["purpose"], "research", "{shares}");
    assert!(
        shares[0]["what"]
            .as_str()
            .unwrap()
            .contains("research copy"),
        "{shares}"
    );
}

#[test]
fn wrong_research_flags_fail_in_one_sentence_and_write_nothing() {
    let (work, vault, _) = setup();
    let package = work.path().join("p.age");
    let share = |args: &[&str]| {
        let mut cmd = ownrecord(&vault);
        cmd.args(["share", "--to", LAB, "--out"])
            .arg(&package)
            .args(args);
        cmd
    };
    let mistakes: &[(&[&str], &str)] = &[
        (&["--purpose", "research", "--deidentify"], "--study"),
        (
            &[
                "--purpose",
                "Second opinion",
                "--study",
                STUDY,
                "--deidentify",
            ],
            "--purpose research",
        ),
        (&["--purpose", "research", "--study", STUDY], "--deidentify"),
        (
            &["--purpose", "research", "--keep-intervals"],
            "--deidentify",
        ),
        (
            &[
                "--purpose",
                "research",
                "--study",
                STUDY,
                "--deidentify",
                "--pdf",
            ],
            "--pdf",
        ),
        (
            &[
                "--purpose",
                "research",
                "--study",
                STUDY,
                "--deidentify",
                "--sections",
                "problems",
            ],
            "--sections",
        ),
        (
            &[
                "--purpose",
                "research",
                "--study",
                STUDY,
                "--deidentify",
                "--since",
                "2020-01-01",
            ],
            "--since",
        ),
        (
            &[
                "--purpose",
                "research",
                "--study",
                STUDY,
                "--deidentify",
                "--shl",
                "--upload",
                "https://files.example.org/x",
            ],
            "--host URL",
        ),
        (
            &[
                "--purpose",
                "research",
                "--study",
                STUDY,
                "--deidentify",
                "--shl",
                "--link-url",
                "https://files.example.org/x",
            ],
            "--host URL",
        ),
        (
            &[
                "--purpose",
                "research",
                "--study",
                STUDY,
                "--deidentify",
                "--shl",
            ],
            "--host URL",
        ),
    ];
    for (args, names) in mistakes {
        let out = run_expecting(&mut share(args), 2);
        let message = stderr(&out);
        assert_eq!(message.lines().count(), 1, "{args:?}: {message}");
        assert!(message.starts_with("ownrecord: "), "{message}");
        assert!(message.trim_end().ends_with('.'), "{message}");
        assert!(message.contains(names), "{args:?}: {message}");
    }
    // The same with --json: a usage error a script can read.
    let out = run_expecting(
        share(&["--purpose", "research", "--deidentify"]).arg("--json"),
        2,
    );
    assert_eq!(json(&out)["error"]["code"], "usage");

    // The core's own sentences: a study id it cannot take, a study never given a copy.
    let out = run_expecting(
        &mut share(&[
            "--purpose",
            "research",
            "--study",
            "my study!",
            "--deidentify",
        ]),
        1,
    );
    assert_eq!(stderr(&out).lines().count(), 1);
    assert!(
        stderr(&out).contains("A study is named"),
        "{}",
        stderr(&out)
    );
    let unknown = json(&run_expecting(
        ownrecord(&vault).args(["--json", "studies", "stop", "NCT00000000"]),
        1,
    ));
    assert_eq!(unknown["error"]["code"], "unknown_study");
    let out = run_expecting(
        ownrecord(&vault).args([
            "export",
            "research",
            "--study",
            STUDY,
            "--to",
            " ",
            "--preview",
        ]),
        1,
    );
    assert!(stderr(&out).contains("who receives"), "{}", stderr(&out));

    assert!(!package.exists());
    assert!(disclosures(&vault).is_empty(), "nothing was given");

    // Two people: the research copy asks whose, like the other exports.
    let other = ownrecord_testkit::patient_files()
        .into_iter()
        .find(|f| f.to_string_lossy().contains("Abdul"))
        .unwrap();
    run_expecting(
        ownrecord(&vault)
            .args(["import", "--person", "new"])
            .arg(other),
        0,
    );
    let out = run_expecting(
        ownrecord(&vault).args([
            "export",
            "research",
            "--study",
            STUDY,
            "--to",
            LAB,
            "--preview",
        ]),
        1,
    );
    assert!(stderr(&out).contains("--person ID"), "{}", stderr(&out));
    run_expecting(
        ownrecord(&vault).args([
            "export",
            "research",
            "--study",
            STUDY,
            "--to",
            LAB,
            "--preview",
            "--person",
            "1",
        ]),
        0,
    );
}

#[test]
fn stopping_a_study_gives_later_copies_a_new_pseudonym() {
    let (work, vault, _) = setup();
    let dir = |name: &str| work.path().join(name);
    let first = export_research(&vault, &dir("first"), &[]);
    assert_eq!(first["links_to_earlier"], false);
    let second = export_research(&vault, &dir("second"), &[]);
    assert_eq!(second["links_to_earlier"], true);
    let pseudonym = patient_pseudonym(&dir("first"));
    assert_eq!(
        patient_pseudonym(&dir("second")),
        pseudonym,
        "two copies for one study link up"
    );
    // Another study's copy does not.
    run_expecting(
        ownrecord(&vault)
            .args(["export", "research", "--study", "OTHER-STUDY", "--to", LAB])
            .arg("--out")
            .arg(dir("other")),
        0,
    );
    assert_ne!(patient_pseudonym(&dir("other")), pseudonym);

    let studies = json(&run_expecting(
        ownrecord(&vault).args(["--json", "studies"]),
        0,
    ));
    let study = studies
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["study"] == STUDY)
        .unwrap()
        .clone();
    assert_eq!(study["copies"], 2);
    assert_eq!(study["recipients"], serde_json::json!([LAB]));
    assert!(study["stopped"].is_null());
    let listing = run_expecting(ownrecord(&vault).arg("studies"), 0);
    let listing = String::from_utf8_lossy(&listing.stdout);
    assert!(
        listing.contains(STUDY) && listing.contains("2 copies"),
        "{listing}"
    );

    let stopped = run_expecting(ownrecord(&vault).args(["studies", "stop", STUDY]), 0);
    let text = String::from_utf8_lossy(&stopped.stdout);
    assert!(text.contains("Stopped sending updates"), "{text}");
    assert_eq!(
        disclosures(&vault).pop().unwrap()["details"]["event"],
        "study_stopped"
    );
    let studies = json(&run_expecting(
        ownrecord(&vault).args(["--json", "studies"]),
        0,
    ));
    assert!(
        studies
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["study"] == STUDY && s["stopped"].is_string()),
        "{studies}"
    );

    let after = export_research(&vault, &dir("after"), &[]);
    assert_eq!(after["restarted"], true);
    assert_eq!(after["links_to_earlier"], false);
    assert!(
        after["consent"]
            .as_str()
            .unwrap()
            .contains("cannot be linked"),
        "{after}"
    );
    assert_ne!(
        patient_pseudonym(&dir("after")),
        pseudonym,
        "a copy after the stop does not link to the earlier ones"
    );
    run_expecting(ownrecord(&vault).args(["audit", "verify"]), 0);
}
