//! The series a chart draws: one test from every source (each fact once, each point with its
//! source and unit), a blood pressure as its systolic and diastolic components, vitals like labs.

use std::path::Path;

use ownrecord_core::Vault;
use ownrecord_core::vault::browse::{LabMeasure, LabSeries};
use ownrecord_core::vault::people::PersonChoice;
use serde_json::{Value, json};

use crate::{keyring_vault, no_progress};

const LOINC: &str = "http://loinc.org";

fn import(vault: &mut Vault, dir: &Path, name: &str, bundle: &Value, person: PersonChoice) {
    let file = dir.join(name);
    std::fs::write(&file, bundle.to_string()).unwrap();
    vault
        .import_file(&file, person, &mut no_progress())
        .unwrap();
}

fn bundle(resources: Vec<Value>) -> Value {
    json!({"resourceType": "Bundle", "type": "collection",
        "entry": resources.into_iter().map(|r| json!({"resource": r})).collect::<Vec<_>>()})
}

fn patient() -> Value {
    json!({"resourceType": "Patient", "id": "p", "name": [{"family": "Lee", "given": ["Ann"]}],
        "birthDate": "1970-01-02", "gender": "female"})
}

/// A laboratory result coded by `codings`.
fn glucose(
    id: &str,
    codings: Value,
    date: &str,
    value: f64,
    unit: &str,
    range: Option<(f64, f64)>,
) -> Value {
    let mut o = json!({"resourceType": "Observation", "id": id, "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}]}],
        "code": {"coding": codings, "text": "Glucose"}, "subject": {"reference": "Patient/p"},
        "effectiveDateTime": date, "valueQuantity": {"value": value, "unit": unit}});
    if let Some((low, high)) = range {
        o["referenceRange"] =
            json!([{"low": {"value": low, "unit": unit}, "high": {"value": high, "unit": unit}}]);
    }
    o
}

fn blood_pressure(id: &str, panel: &str, date: &str, systolic: f64, diastolic: f64) -> Value {
    let part = |code: &str, value: f64| {
        json!({"code": {"coding": [{"system": LOINC, "code": code}]},
            "valueQuantity": {"value": value, "unit": "mm[Hg]", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}})
    };
    json!({"resourceType": "Observation", "id": id, "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}]}],
        "code": {"coding": [{"system": LOINC, "code": panel}], "text": "Blood pressure"},
        "subject": {"reference": "Patient/p"}, "effectiveDateTime": date,
        "component": [part("8462-4", diastolic), part("8480-6", systolic)]})
}

fn values(measure: &LabMeasure) -> Vec<(String, f64, String)> {
    measure
        .points
        .iter()
        .map(|p| (p.date.clone(), p.value, p.source.clone()))
        .collect()
}

#[test]
fn one_series_gathers_every_sources_results_each_once_with_its_source_and_unit() {
    let dir = tempfile::tempdir().unwrap();
    let mut vault = keyring_vault(&dir.path().join("vault"));
    let loinc_glucose = json!([{"system": LOINC, "code": "2345-7", "display": "Glucose"}]);
    let clinic = "Clinic <img src=x onerror=alert(1)>.json";
    import(
        &mut vault,
        dir.path(),
        "hospital.json",
        &bundle(vec![
            patient(),
            glucose(
                "g1",
                loinc_glucose.clone(),
                "2021-03-01",
                92.0,
                "mg/dL",
                Some((70.0, 99.0)),
            ),
            glucose(
                "g2",
                loinc_glucose.clone(),
                "2022-03-01",
                130.0,
                "mg/dL",
                Some((65.0, 100.0)),
            ),
            blood_pressure("bp1", "85354-9", "2021-03-01", 128.0, 82.0),
            // Another test: not in the glucose series.
            glucose(
                "other",
                json!([{"system": LOINC, "code": "2093-3"}]),
                "2021-03-01",
                190.0,
                "mg/dL",
                None,
            ),
        ]),
        PersonChoice::New,
    );
    let person = vault.reading_person(None).unwrap();
    import(
        &mut vault,
        dir.path(),
        clinic,
        &bundle(vec![
            patient(),
            // The hospital's result again: one fact, shown once, the clinic named beside it.
            glucose(
                "c1",
                loinc_glucose.clone(),
                "2021-03-01",
                92.0,
                "mg/dL",
                None,
            ),
            // The clinic's own code first, LOINC's second: the same test.
            glucose(
                "c2",
                json!([{"system": "urn:oid:1.2.3", "code": "GLU"}, {"system": LOINC, "code": "2345-7"}]),
                "2023-01-10",
                101.0,
                "mg/dL",
                None,
            ),
            // In another unit: carried with it, never as if it were mg/dL.
            glucose(
                "c3",
                json!([{"system": LOINC, "code": "2345-7"}]),
                "2023-06-01",
                5.4,
                "mmol/L",
                Some((3.9, 5.5)),
            ),
            // The other panel code: the same blood pressure series.
            blood_pressure("bp2", "55284-4", "2022-05-05", 141.0, 91.0),
        ]),
        PersonChoice::Existing(person),
    );

    let series = vault.lab_series(person, "2345-7").unwrap();
    assert_eq!(series.name, "Glucose");
    assert_eq!(series.unit.as_deref(), Some("mg/dL"), "most results' unit");
    let [glucose] = series.measures.as_slice() else {
        panic!("one measure: {series:?}")
    };
    assert_eq!(
        values(glucose),
        vec![
            ("2021-03-01".into(), 92.0, "hospital.json".into()),
            ("2022-03-01".into(), 130.0, "hospital.json".into()),
            ("2023-01-10".into(), 101.0, clinic.into()),
            ("2023-06-01".into(), 5.4, clinic.into()),
        ]
    );
    assert_eq!(glucose.points[0].also_from, vec![clinic.to_owned()]);
    assert!(glucose.points[1].also_from.is_empty());
    let units: Vec<Option<&str>> = glucose.points.iter().map(|p| p.unit.as_deref()).collect();
    assert_eq!(
        units,
        [Some("mg/dL"), Some("mg/dL"), Some("mg/dL"), Some("mmol/L")]
    );
    // The band: the newest range in the axis' unit (not the mmol/L one).
    assert_eq!((glucose.low, glucose.high), (Some(65.0), Some(100.0)));
    // Asked by the clinic's first code, the series is the same test.
    let by_local = vault.lab_series(person, "GLU").unwrap();
    assert_eq!(values(&by_local.measures[0]), values(glucose));

    // A blood pressure: systolic and diastolic, from both panel codes and both sources.
    for code in ["85354-9", "55284-4"] {
        let bp: LabSeries = vault.lab_series(person, code).unwrap();
        assert_eq!(bp.unit.as_deref(), Some("mm[Hg]"));
        let names: Vec<(&str, &str)> = bp
            .measures
            .iter()
            .map(|m| (m.code.as_str(), m.name.as_str()))
            .collect();
        assert_eq!(names, [("8480-6", "Systolic"), ("8462-4", "Diastolic")]);
        assert_eq!(
            values(&bp.measures[0]),
            vec![
                ("2021-03-01".into(), 128.0, "hospital.json".into()),
                ("2022-05-05".into(), 141.0, clinic.into()),
            ]
        );
        assert_eq!(
            bp.measures[1]
                .points
                .iter()
                .map(|p| p.value)
                .collect::<Vec<_>>(),
            [82.0, 91.0]
        );
    }
}

/// Every sample patient's vitals (blood pressure, weight, BMI, A1c) chart like labs: one point
/// per reading in the file, the values the file holds.
#[test]
fn vitals_of_the_sample_patients_are_series_like_labs() {
    let dir = tempfile::tempdir().unwrap();
    let mut vault = keyring_vault(dir.path());
    let patient = ownrecord_testkit::patient_files()
        .into_iter()
        .find(|f| f.to_string_lossy().contains("Margery"))
        .unwrap();
    vault
        .import_file(&patient, PersonChoice::New, &mut no_progress())
        .unwrap();
    let person = vault.reading_person(None).unwrap();
    let file = ownrecord_testkit::read_json(&patient);
    let observations: Vec<&Value> = file["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["resource"])
        .filter(|r| r["resourceType"] == "Observation")
        .collect();
    let coded = |code: &str| -> Vec<&Value> {
        observations
            .iter()
            .copied()
            .filter(|o| o["code"]["coding"][0]["code"] == code)
            .collect()
    };
    for (code, unit) in [("29463-7", "kg"), ("39156-5", "kg/m2"), ("4548-4", "%")] {
        let expected: Vec<f64> = coded(code)
            .iter()
            .map(|o| o["valueQuantity"]["value"].as_f64().unwrap())
            .collect();
        assert!(!expected.is_empty(), "{code} in the sample");
        let series = vault.lab_series(person, code).unwrap();
        assert_eq!(series.unit.as_deref(), Some(unit), "{code}");
        let mut got: Vec<f64> = series.measures[0].points.iter().map(|p| p.value).collect();
        let mut want = expected.clone();
        got.sort_by(f64::total_cmp);
        want.sort_by(f64::total_cmp);
        assert_eq!(got, want, "{code}");
        assert!(
            series.measures[0]
                .points
                .iter()
                .all(|p| p.source == patient.file_name().unwrap().to_string_lossy())
        );
    }
    let panels = coded("55284-4");
    assert!(!panels.is_empty());
    let bp = vault.lab_series(person, "55284-4").unwrap();
    for (measure, part) in bp.measures.iter().zip(["8480-6", "8462-4"]) {
        let mut want: Vec<f64> = panels
            .iter()
            .map(|o| {
                o["component"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|c| c["code"]["coding"][0]["code"] == part)
                    .unwrap()["valueQuantity"]["value"]
                    .as_f64()
                    .unwrap()
            })
            .collect();
        let mut got: Vec<f64> = measure.points.iter().map(|p| p.value).collect();
        want.sort_by(f64::total_cmp);
        got.sort_by(f64::total_cmp);
        assert_eq!(got, want, "{part}");
    }
}
