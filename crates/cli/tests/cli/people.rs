//! `ownrecord people`, `--person` and the "who is this?" refusal, through the real binary.

use crate::{init, json, ownrecord, run_expecting, stderr};

#[test]
fn people_and_choosing_whose_record() {
    let dir = tempfile::tempdir().unwrap();
    let vault = dir.path().join("vault");
    init(&vault);
    let files = ownrecord_testkit::patient_files();
    let (first, second) = (&files[0], &files[1]);
    run_expecting(ownrecord(&vault).arg("import").arg(first), 0);

    // Someone else: nothing imported, and the sentence names the choices.
    let out = run_expecting(ownrecord(&vault).arg("import").arg(second), 1);
    let message = stderr(&out);
    assert!(
        message.contains("--person ID") && message.contains("--person new"),
        "{message}"
    );
    assert_eq!(message.lines().count(), 1, "{message}");
    let people = json(&run_expecting(
        ownrecord(&vault).args(["--json", "people"]),
        0,
    ));
    assert_eq!(people.as_array().unwrap().len(), 1, "nothing was imported");

    run_expecting(
        ownrecord(&vault)
            .args(["import", "--person", "new"])
            .arg(second),
        0,
    );
    let people = json(&run_expecting(
        ownrecord(&vault).args(["--json", "people"]),
        0,
    ));
    let people = people.as_array().unwrap();
    assert_eq!(people.len(), 2);
    for p in people {
        for field in ["id", "name", "birth_date", "sources", "resources"] {
            assert!(p.get(field).is_some(), "{field} in {p}");
        }
        assert!(p["resources"].as_i64().unwrap() > 10);
    }

    // Reading with two people and none chosen: one sentence listing them, exit 1.
    let out = run_expecting(ownrecord(&vault).arg("summary"), 1);
    let message = stderr(&out);
    assert_eq!(message.lines().count(), 1, "{message}");
    for p in people {
        assert!(message.contains(p["name"].as_str().unwrap()), "{message}");
    }
    let id = people[1]["id"].as_i64().unwrap().to_string();
    let summary = json(&run_expecting(
        ownrecord(&vault).args(["--json", "summary", "--person", &id]),
        0,
    ));
    assert_eq!(
        summary["resources"].as_i64().unwrap(),
        people[1]["resources"].as_i64().unwrap()
    );
    let pdf = dir.path().join("s.pdf");
    run_expecting(
        ownrecord(&vault)
            .args(["export", "pdf", "--person", &id, "--out"])
            .arg(&pdf),
        0,
    );
    run_expecting(
        ownrecord(&vault).args(["export", "pdf", "--out"]).arg(&pdf),
        1,
    );
    let out = run_expecting(ownrecord(&vault).args(["summary", "--person", "99"]), 1);
    assert!(stderr(&out).contains("no person 99"), "{}", stderr(&out));
    run_expecting(
        ownrecord(&vault)
            .args(["import", "--person", "x"])
            .arg(first),
        2,
    );

    // --person ID: a file linked to the person named.
    let third = &ownrecord_testkit::patient_files()[2];
    let first_id = people[0]["id"].as_i64().unwrap().to_string();
    run_expecting(
        ownrecord(&vault)
            .args(["import", "--person", &first_id])
            .arg(third),
        0,
    );
    let listed = json(&run_expecting(
        ownrecord(&vault).args(["--json", "people"]),
        0,
    ));
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert_eq!(listed[0]["sources"].as_array().unwrap().len(), 2);

    // Rename, remove.
    run_expecting(
        ownrecord(&vault).args(["people", "rename", &id, "Little", "One"]),
        0,
    );
    let people = json(&run_expecting(
        ownrecord(&vault).args(["--json", "people"]),
        0,
    ));
    assert_eq!(people[1]["name"], "Little One");
    run_expecting(ownrecord(&vault).args(["people", "remove", &id]), 0);
    let people = json(&run_expecting(
        ownrecord(&vault).args(["--json", "people"]),
        0,
    ));
    assert_eq!(people.as_array().unwrap().len(), 1);
    run_expecting(ownrecord(&vault).arg("summary"), 0);
}
