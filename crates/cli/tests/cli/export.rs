//! `export` and `share` as a patient runs them: same bytes for the same vault, a full disk,
//! usage mistakes, and the disclosure log.

use crate::{init, json, ownrecord, run_expecting, stderr};

/// A keyring vault holding one Synthea patient (Mathilda) and the files she refers to.
pub(crate) fn vault_with_a_patient(dir: &std::path::Path) {
    init(dir);
    let patient = ownrecord_testkit::patient_files()
        .into_iter()
        .find(|f| f.to_string_lossy().contains("Mathilda"))
        .unwrap();
    let mut cmd = ownrecord(dir);
    cmd.arg("import");
    run_expecting(cmd.args(ownrecord_testkit::support_files()).arg(patient), 0);
}

#[test]
fn the_same_vault_gives_the_same_pdf_and_each_export_is_disclosed() {
    let work = tempfile::tempdir().unwrap();
    let vault = work.path().join("vault");
    vault_with_a_patient(&vault);
    let first = work.path().join("first.pdf");
    let second = work.path().join("second.pdf");
    for out in [&first, &second] {
        let printed = json(&run_expecting(
            ownrecord(&vault)
                .args([
                    "--json",
                    "export",
                    "pdf",
                    "--sections",
                    "problems,medications,allergies,results",
                    "--out",
                ])
                .arg(out),
            0,
        ));
        assert_eq!(printed["path"], out.display().to_string());
    }
    assert_eq!(
        std::fs::read(&first).unwrap(),
        std::fs::read(&second).unwrap()
    );
    assert!(ownrecord_testkit::checkers::qpdf_ok(&first));
    let text = ownrecord_testkit::checkers::pdf_text(&first);
    assert!(text.contains("Allergies and intolerances") && !text.contains("Immunizations"));

    let rows = json(&run_expecting(
        ownrecord(&vault).args(["--json", "audit", "list", "--disclosures"]),
        0,
    ));
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r["kind"] == "export"));
    assert_eq!(
        rows[0]["details"]["sections"],
        serde_json::json!(["problems", "medications", "allergies", "results"])
    );
    run_expecting(ownrecord(&vault).args(["audit", "verify"]), 0);
    // The human listing is readable too.
    let listing = run_expecting(
        ownrecord(&vault).args(["audit", "list", "--disclosures"]),
        0,
    );
    assert!(String::from_utf8_lossy(&listing.stdout).contains("PDF summary"));
}

#[test]
fn an_export_on_a_full_disk_fails_in_words_and_leaves_nothing() {
    let work = tempfile::tempdir().unwrap();
    let vault = work.path().join("vault");
    vault_with_a_patient(&vault);
    let out = work.path().join("out");
    std::fs::create_dir(&out).unwrap();
    // Files may grow to 96 KiB: room for the vault's own small writes, not for the IPS document
    // (over 100 KiB for this patient).
    let script = "trap '' XFSZ; ulimit -f 96; exec \"$0\" --vault \"$1\" export ips --out \"$2\"";
    let result = std::process::Command::new("bash")
        .args(["-c", script, env!("CARGO_BIN_EXE_ownrecord")])
        .arg(&vault)
        .arg(out.join("summary.json"))
        .env_remove("OWNRECORD_PASSPHRASE")
        .output()
        .unwrap();
    assert_eq!(result.status.code(), Some(1), "{}", stderr(&result));
    let message = stderr(&result);
    assert!(message.contains("The disk is full"), "{message}");
    assert_eq!(message.lines().count(), 1);
    assert_eq!(
        std::fs::read_dir(&out).unwrap().count(),
        0,
        "no partial or temporary file"
    );
    let rows = json(&run_expecting(
        ownrecord(&vault).args(["--json", "audit", "list", "--disclosures"]),
        0,
    ));
    assert!(rows.as_array().unwrap().is_empty(), "nothing was disclosed");
    run_expecting(ownrecord(&vault).arg("check"), 0);
}

#[test]
fn share_mistakes_are_explained_and_a_share_prints_its_passcode() {
    let work = tempfile::tempdir().unwrap();
    let vault = work.path().join("vault");
    vault_with_a_patient(&vault);
    let package = work.path().join("for-dr-lee.age");
    let base = |cmd: &mut std::process::Command| {
        cmd.args([
            "share",
            "--to",
            "Dr. Lee",
            "--purpose",
            "Second opinion",
            "--out",
        ])
        .arg(&package);
    };
    // A link needs a place for its file.
    let mut cmd = ownrecord(&vault);
    base(&mut cmd);
    let out = run_expecting(cmd.arg("--shl"), 2);
    assert!(stderr(&out).contains("--upload URL"), "{}", stderr(&out));
    // --upload only goes with --shl.
    let mut cmd = ownrecord(&vault);
    base(&mut cmd);
    run_expecting(cmd.args(["--upload", "https://files.example.org/x"]), 2);
    // A section that does not exist.
    let mut cmd = ownrecord(&vault);
    base(&mut cmd);
    let out = run_expecting(cmd.args(["--sections", "problems,xrays"]), 1);
    assert!(
        stderr(&out).contains("There is no section \"xrays\""),
        "{}",
        stderr(&out)
    );
    // A plain-http link host elsewhere than this computer is refused.
    let mut cmd = ownrecord(&vault);
    base(&mut cmd);
    let out = run_expecting(
        cmd.args(["--shl", "--link-url", "http://files.example.org/x"]),
        1,
    );
    assert!(stderr(&out).contains("https://"), "{}", stderr(&out));
    assert!(!package.exists());

    // A share: the passcode is printed once, with how to open the package.
    let mut cmd = ownrecord(&vault);
    base(&mut cmd);
    let out = run_expecting(cmd.args(["--expires", "30"]), 0);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(text.contains("age -d"), "{text}");
    let passcode = text
        .lines()
        .map(str::trim)
        .find(|l| l.len() == 29 && l.matches('-').count() == 4)
        .expect("a passcode line");
    let tar = work.path().join("opened.tar");
    assert!(ownrecord_testkit::checkers::age_decrypt(
        &package, passcode, &tar
    ));
    // It is not in the vault's log.
    let log = run_expecting(ownrecord(&vault).args(["--json", "audit", "list"]), 0);
    assert!(!String::from_utf8_lossy(&log.stdout).contains(passcode));
}
