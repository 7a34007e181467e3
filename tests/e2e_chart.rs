//! The chart of a test in the real app: one test's results from two sources on one chart, the
//! reference range drawn as a band (read back from the canvas's pixels), every point's value,
//! date and source reached by the keyboard alone, and a blood pressure as systolic and diastolic.

use fantoccini::Client;
use ownrecord_core::vault::people::PersonChoice;
use ownrecord_testkit::webdriver::Driver;
use serde_json::{Value, json};

use crate::e2e::{app, click, keyring_vault, shot, text, wait_until};

const LOINC: &str = "http://loinc.org";

fn observation(id: &str, category: &str, code: Value, date: &str) -> Value {
    json!({"resourceType": "Observation", "id": id, "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": category}]}],
        "code": code, "subject": {"reference": "Patient/p"}, "effectiveDateTime": date})
}

fn glucose(id: &str, codings: Value, date: &str, value: f64) -> Value {
    let mut o = observation(
        id,
        "laboratory",
        json!({"coding": codings, "text": "Glucose"}),
        date,
    );
    o["valueQuantity"] = json!({"value": value, "unit": "mg/dL"});
    o["referenceRange"] =
        json!([{"low": {"value": 70, "unit": "mg/dL"}, "high": {"value": 99, "unit": "mg/dL"}}]);
    o
}

fn blood_pressure(id: &str, date: &str, systolic: f64, diastolic: f64) -> Value {
    let mut o = observation(
        id,
        "vital-signs",
        json!({"coding": [{"system": LOINC, "code": "85354-9"}], "text": "Blood pressure"}),
        date,
    );
    let part = |code: &str, value: f64| {
        json!({"code": {"coding": [{"system": LOINC, "code": code}]},
            "valueQuantity": {"value": value, "unit": "mm[Hg]"}})
    };
    o["component"] = json!([part("8480-6", systolic), part("8462-4", diastolic)]);
    o
}

fn bundle(resources: Vec<Value>) -> Value {
    let mut all = vec![json!({"resourceType": "Patient", "id": "p",
        "name": [{"family": "Lee", "given": ["Ann"]}], "birthDate": "1970-01-02", "gender": "female"})];
    all.extend(resources);
    json!({"resourceType": "Bundle", "type": "collection",
        "entry": all.into_iter().map(|r| json!({"resource": r})).collect::<Vec<_>>()})
}

/// Types `keys` into the focused element.
async fn key(c: &Client, keys: &str) {
    c.active_element()
        .await
        .unwrap()
        .send_keys(keys)
        .await
        .unwrap();
}

/// The canvas pixel (RGBA) beside the plot's left edge at the height of the highlighted point.
async fn band_pixel_at_ring(c: &Client) -> Vec<u64> {
    let pixel = c
        .execute(
            "const plot = document.querySelector('#trend .chart-plot');
             const over = plot.querySelector('.u-over');
             const ring = plot.querySelector('.chart-ring');
             const canvas = plot.querySelector('canvas');
             const ratio = canvas.width / canvas.getBoundingClientRect().width;
             const x = Math.round((over.offsetLeft + 4) * ratio);
             const y = Math.round((over.offsetTop + parseFloat(ring.style.top)) * ratio);
             return Array.from(canvas.getContext('2d').getImageData(x, y, 1, 1).data);",
            vec![],
        )
        .await
        .unwrap();
    pixel
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chart_shows_the_reference_band_and_each_points_value_by_keyboard() {
    ownrecord_testkit::require_secret_service();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("vault");
    {
        let mut vault = keyring_vault(&dir);
        let loinc = json!([{"system": LOINC, "code": "2345-7", "display": "Glucose"}]);
        let hospital = work.path().join("Hospital.json");
        std::fs::write(
            &hospital,
            bundle(vec![
                glucose("h1", loinc.clone(), "2021-03-01", 92.0),
                glucose("h2", loinc.clone(), "2022-03-01", 130.0),
                blood_pressure("bp1", "2021-03-01", 128.0, 82.0),
            ])
            .to_string(),
        )
        .unwrap();
        vault
            .import_file(&hospital, PersonChoice::New, &mut |_| {})
            .unwrap();
        let person = vault.reading_person(None).unwrap();
        let clinic = work.path().join("Clinic <img src=x onerror=alert(1)>.json");
        std::fs::write(
            &clinic,
            bundle(vec![
                // The hospital's first result again: shown once.
                glucose("c1", loinc.clone(), "2021-03-01", 92.0),
                // The clinic's own code first: the same test, on the same chart.
                glucose(
                    "c2",
                    json!([{"system": "urn:oid:1.2.3", "code": "GLU"}, {"system": LOINC, "code": "2345-7"}]),
                    "2023-01-10",
                    64.0,
                ),
                blood_pressure("bp2", "2022-05-05", 141.0, 91.0),
            ])
            .to_string(),
        )
        .unwrap();
        vault
            .import_file(&clinic, PersonChoice::Existing(person), &mut |_| {})
            .unwrap();
    }
    let driver = Driver::start(&[("OWNRECORD_VAULT", dir.to_str().unwrap())]);
    let c = driver.session(&app()).await;
    click(&c, "#unlock").await;
    click(&c, "#nav-record").await;
    click(&c, "#tab-labs").await;
    wait_until(&c, "document.querySelectorAll('#items .item').length === 3").await;
    click(&c, "#items .item").await;
    click(&c, "#show-trend").await;
    wait_until(&c, "document.querySelector('#trend .chart-plot canvas') || document.querySelector('#detail .error')").await;
    let error = c
        .execute(
            "return document.querySelector('#detail .error')?.textContent ?? null;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(error, Value::Null, "the chart was shown");
    let caption = text(&c, "#trend .chart-caption").await;
    assert_eq!(
        caption,
        "Glucose (mg/dL): 3 results from 2 sources. Reference range: 70–99 mg/dL."
    );
    let legend = text(&c, "#trend .chart-legend").await;
    assert!(
        legend.contains("Hospital.json")
            && legend.contains("Clinic <img src=x onerror=alert(1)>.json"),
        "{legend}"
    );

    // By keyboard alone: Tab from the "Show chart" button to the plot, then the arrow keys.
    c.execute("document.querySelector('#show-trend').focus();", vec![])
        .await
        .unwrap();
    key(&c, "\u{E004}").await; // Tab
    let focused = c
        .execute(
            "return document.activeElement === document.querySelector('#trend .chart-plot');",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(focused, Value::Bool(true), "Tab reaches the plot");
    let readout = || async { text(&c, "#trend .chart-readout").await };
    let mut read = vec![readout().await];
    // The newest result is outside the range: below the band.
    let below = band_pixel_at_ring(&c).await;
    c.execute(
        "document.querySelector('#trend').scrollIntoView({block: 'end'});",
        vec![],
    )
    .await
    .unwrap();
    shot(&c, "chart").await;
    for _ in 0..2 {
        key(&c, "\u{E012}").await; // ArrowLeft
        read.push(readout().await);
    }
    let inside = band_pixel_at_ring(&c).await;
    key(&c, "\u{E014}").await; // ArrowRight
    let above = band_pixel_at_ring(&c).await;
    assert_eq!(
        read,
        [
            "10 Jan 2023: 64 mg/dL, from Clinic <img src=x onerror=alert(1)>.json, below the reference range (70–99 mg/dL).",
            "1 Mar 2022: 130 mg/dL, from Hospital.json, above the reference range (70–99 mg/dL).",
            "1 Mar 2021: 92 mg/dL, from Hospital.json (also from Clinic <img src=x onerror=alert(1)>.json), within the reference range (70–99 mg/dL).",
        ]
    );
    assert_eq!(read[1], readout().await, "ArrowRight goes back to the next");
    // The band is drawn between 70 and 99: a green tint at 92's height, none at 64's or 130's.
    let tinted = |p: &[u64]| p[1] > p[0] + 6 && p[1] > p[2] + 3;
    assert!(tinted(&inside), "band at 92: {inside:?}");
    assert!(
        !tinted(&below) && !tinted(&above),
        "no band at 64 or 130: {below:?} {above:?}"
    );
    let markup = c
        .execute(
            "return document.querySelectorAll('#trend img, #trend script').length;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(markup, json!(0), "a source's name stays text");

    // A blood pressure from both sources: systolic and diastolic.
    c.execute("document.querySelector('#content').scrollTop = 0;", vec![])
        .await
        .unwrap();
    click(&c, "#tab-vitals").await;
    wait_until(&c, "document.querySelectorAll('#items .item').length === 2").await;
    click(&c, "#items .item").await;
    // The glucose result's detail (and its button) is replaced by the blood pressure's.
    wait_until(
        &c,
        "document.querySelector('#detail-title')?.textContent === 'Blood pressure'",
    )
    .await;
    click(&c, "#show-trend").await;
    wait_until(
        &c,
        "document.querySelector('#trend .chart-caption')?.textContent.startsWith('Blood pressure')",
    )
    .await;
    let legend = text(&c, "#trend .chart-legend").await;
    for line in [
        "Systolic · Hospital.json",
        "Systolic · Clinic <img src=x onerror=alert(1)>.json",
        "Diastolic · Hospital.json",
        "Diastolic · Clinic <img src=x onerror=alert(1)>.json",
    ] {
        assert!(legend.contains(line), "{line} in {legend}");
    }
    c.execute(
        "document.querySelector('#trend').scrollIntoView({block: 'end'});",
        vec![],
    )
    .await
    .unwrap();
    shot(&c, "chart-blood-pressure").await;
    c.close().await.unwrap();
}
