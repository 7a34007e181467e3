//! The share host's viewer in a real browser: links made by `share_via` through the real
//! `ownrecord-share-host` router on 127.0.0.1 (see `shares.rs`), opened at `…/view#shlink:/…`
//! in headless Chromium through chromedriver. What a doctor does: say who is viewing, type the
//! passcode, read the summary, download the PDF; what they see when the link is wrong,
//! withdrawn, expired or used up; and a research copy's link (counts per type, the data to
//! download, nothing that names the patient).

use std::sync::Arc;
use std::time::Duration;

use ownrecord_core::clock::SystemClock;
use ownrecord_core::export::research::{self, ResearchRequest};
use ownrecord_core::export::{self, Section, Selection, ShareRequest, shl};
use ownrecord_core::{KeyProtection, Vault};
use ownrecord_testkit::browser::chromium;
use ownrecord_testkit::browser::chromium::fantoccini::{Client, Locator};
use serde_json::{Value, json};

use crate::shares::{
    Host, PASSCODE, request, sample_vault, sample_vault_with, share_rows, start_host_at, via,
};

const WITHDRAWN: &str = "This link was withdrawn by the patient, has expired, or has been used up.";

/// Waits (up to 20 s) until `css` is shown, and returns its text.
async fn shown(c: &Client, css: &str) -> String {
    for _ in 0..200 {
        if let Ok(e) = c.find(Locator::Css(css)).await
            && e.is_displayed().await.unwrap_or(false)
        {
            return e.text().await.unwrap();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let body = c
        .find(Locator::Css("body"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    panic!("{css} was not shown; the page says: {body}");
}

async fn is_shown(c: &Client, css: &str) -> bool {
    match c.find(Locator::Css(css)).await {
        Ok(e) => e.is_displayed().await.unwrap(),
        Err(_) => false,
    }
}

/// Opens `link` afresh (a new document, so the page starts from the fragment).
async fn open(c: &Client, link: &str) {
    c.goto("about:blank").await.unwrap();
    c.goto(link).await.unwrap();
}

/// Types into the form and asks for the summary.
async fn submit(c: &Client, recipient: &str, passcode: Option<&str>) {
    shown(c, "#ask").await;
    let name = c.find(Locator::Id("recipient")).await.unwrap();
    name.clear().await.unwrap();
    name.send_keys(recipient).await.unwrap();
    if let Some(passcode) = passcode {
        let field = c.find(Locator::Id("passcode")).await.unwrap();
        field.clear().await.unwrap();
        field.send_keys(passcode).await.unwrap();
    }
    c.find(Locator::Id("open"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// The display text of each entry of the viewer's sections `ids`, in order.
async fn entries(c: &Client, ids: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for id in ids {
        let css = format!("section[data-section='{id}'] li .what");
        for e in c.find_all(Locator::Css(&css)).await.unwrap() {
            out.push(e.text().await.unwrap());
        }
    }
    out
}

/// The PDF behind "Download the PDF": its file name, first bytes and SHA-256, read in the page.
async fn downloaded_pdf(c: &Client) -> Value {
    c.execute_async(
        r#"const done = arguments[arguments.length - 1];
        const a = document.getElementById('pdf');
        fetch(a.href)
          .then((r) => r.arrayBuffer())
          .then(async (buf) => {
            const bytes = new Uint8Array(buf);
            const hash = new Uint8Array(await crypto.subtle.digest('SHA-256', buf));
            done({
              href: a.href,
              name: a.download,
              start: String.fromCharCode(...bytes.slice(0, 5)),
              sha256: Array.from(hash, (b) => b.toString(16).padStart(2, '0')).join(''),
            });
          })
          .catch((e) => done({ error: String(e) }));"#,
        vec![],
    )
    .await
    .unwrap()
}

/// The file behind "Download the data (FHIR JSON)": its file name, text and SHA-256, read in
/// the page.
async fn downloaded_data(c: &Client) -> Value {
    c.execute_async(
        r#"const done = arguments[arguments.length - 1];
        const a = document.getElementById('research-download');
        fetch(a.href)
          .then((r) => r.arrayBuffer())
          .then(async (buf) => {
            const hash = new Uint8Array(await crypto.subtle.digest('SHA-256', buf));
            done({
              href: a.href,
              name: a.download,
              text: new TextDecoder().decode(buf),
              sha256: Array.from(hash, (b) => b.toString(16).padStart(2, '0')).join(''),
            });
          })
          .catch((e) => done({ error: String(e) }));"#,
        vec![],
    )
    .await
    .unwrap()
}

/// The problems of the vault's person, as the PDF summary lists them (active first).
fn vault_problems(vault: &Vault) -> Vec<String> {
    let (_, summary) = export::summarize(vault, &Selection::default()).unwrap();
    summary
        .sections
        .iter()
        .find(|s| s.section == Section::Problems)
        .unwrap()
        .table
        .rows
        .iter()
        .map(|r| r.cells[0].text.clone())
        .collect()
}

fn patient_name(vault: &Vault) -> String {
    export::summarize(vault, &Selection::default())
        .unwrap()
        .1
        .patient
        .name
}

/// Fails when the key, or the link's fragment, is in any request the host received or in any
/// file of its data folder.
fn assert_host_never_saw_the_key(host: &Host, link: &str) {
    let payload = shl::parse(link).unwrap();
    let key = base64::Engine::decode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        &payload.key,
    )
    .unwrap();
    let fragment = link.split_once('#').unwrap().1.to_owned();
    assert!(!host.requests.lock().unwrap().is_empty());
    for needle in [payload.key.as_bytes(), &key, fragment.as_bytes()] {
        assert!(!host.received(needle), "the host received the key");
    }
    let hits = ownrecord_testkit::scan_dir(host.dir.path(), &[payload.key.clone(), fragment]);
    assert!(hits.is_empty(), "{hits:?}");
    let mut stack = vec![host.dir.path().to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let bytes = std::fs::read(&path).unwrap();
                assert!(
                    !ownrecord_testkit::contains(&bytes, &key),
                    "{}",
                    path.display()
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_viewer_opens_a_passcode_link_shows_the_summary_and_the_pdf_and_the_open_is_logged() {
    let host = start_host_at(time::macros::datetime!(2026-11-23 12:00 UTC).unix_timestamp()).await;
    let dir = tempfile::tempdir().unwrap();
    let mut vault = sample_vault(&dir.path().join("vault"));
    vault.add_share_host(&host.base, &host.owner).unwrap();
    // No expiry: the browser reads `exp` by the real clock, the vault's is fixed.
    let request = ShareRequest {
        expires_in_days: None,
        ..request()
    };
    let shared = export::share_via(
        &mut vault,
        &request,
        Some(&via(&host.base, Some(PASSCODE))),
        &dir.path().join("for-dr-lee.age"),
    )
    .await
    .unwrap();
    let link = shared.link.as_ref().unwrap().text.clone();
    assert!(link.starts_with(&format!("{}/view#shlink:/", host.base)));

    let driver = chromium::Driver::start();
    let c = driver.session().await;
    open(&c, &link).await;
    assert_eq!(
        c.find(Locator::Css("label[for=recipient]"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "Who is viewing?"
    );
    assert!(
        is_shown(&c, "#passcode-field").await,
        "flag P asks for the passcode"
    );
    assert!(!is_shown(&c, "#summary").await);

    // A wrong passcode: the attempts the host says are left.
    submit(&c, "Dr. Lee", Some("not-the-passcode")).await;
    assert_eq!(
        shown(&c, "#problem").await,
        "That passcode is not right. 9 attempts left."
    );
    assert!(!is_shown(&c, "#summary").await);

    // The right one: the patient's name, and their problems as the vault has them.
    submit(&c, "Dr. Lee", Some(PASSCODE)).await;
    let name = shown(&c, "#patient-name").await;
    assert_eq!(name, patient_name(&vault));
    assert!(name.contains("Bergstrom"), "{name}");
    let problems = vault_problems(&vault);
    assert!(!problems.is_empty());
    assert_eq!(
        entries(&c, &["problems", "past-problems"]).await,
        problems,
        "the viewer lists the person's problems, active first, as the PDF does"
    );
    for section in ["medications", "allergies", "immunizations", "results"] {
        assert!(
            is_shown(&c, &format!("section[data-section='{section}'] h3")).await,
            "{section}"
        );
    }
    assert!(!is_shown(&c, "#problem").await);
    let born = shown(&c, "#patient-facts").await;
    assert!(born.contains("Born"), "{born}");

    // The PDF: a blob: link with a file name, bytes that are the share's PDF.
    assert_eq!(shown(&c, "#pdf").await, "Download the PDF");
    let pdf = downloaded_pdf(&c).await;
    assert!(pdf["href"].as_str().unwrap().starts_with("blob:"), "{pdf}");
    assert_eq!(pdf["start"], "%PDF-", "{pdf}");
    assert!(pdf["name"].as_str().unwrap().ends_with(".pdf"), "{pdf}");
    let pdf_in_package = shared
        .manifest
        .files
        .iter()
        .find(|f| f.name.ends_with(".pdf"))
        .map(|f| json!(f.sha256))
        .unwrap();
    assert_eq!(pdf["sha256"], pdf_in_package, "the share's own PDF");

    // The open is in the patient's log under the name the viewer declared.
    let refreshed = vault.refresh_shares().await.unwrap();
    assert_eq!((refreshed.new_opens, refreshed.new_refusals), (1, 1));
    let rows = share_rows(&vault);
    let opened: Vec<&Value> = rows.iter().filter(|r| r["event"] == "opened").collect();
    assert_eq!(opened.len(), 1);
    assert_eq!(opened[0]["recipient"], "Dr. Lee");
    assert_eq!(opened[0]["shared_with"], "Lee Cardiology");
    assert_eq!(opened[0]["share_id"], shared.id.as_str());
    let refused: Vec<&Value> = rows.iter().filter(|r| r["event"] == "refused").collect();
    assert_eq!(refused[0]["outcome"], "wrong_passcode");
    vault.verify_audit().unwrap();

    // The page sent neither the key nor the fragment anywhere the host could see.
    assert_host_never_saw_the_key(&host, &link);

    // Withdrawn: the plain sentence, and no form to try again.
    vault.revoke_share(&shared.id).await.unwrap();
    open(&c, &link).await;
    submit(&c, "Dr. Lee", Some(PASSCODE)).await;
    assert_eq!(shown(&c, "#problem").await, WITHDRAWN);
    assert!(!is_shown(&c, "#ask").await);
    assert!(!is_shown(&c, "#summary").await);

    c.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_and_used_up_links_say_so_in_the_viewer() {
    // The vault and the host on the real clock, so the browser agrees with them on `exp`.
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let host = start_host_at(now).await;
    let dir = tempfile::tempdir().unwrap();
    ownrecord_testkit::require_secret_service();
    let vault = Vault::create(
        &dir.path().join("vault"),
        KeyProtection::keyring(),
        Arc::new(SystemClock),
    )
    .unwrap();
    let mut vault = sample_vault_with(vault);
    vault.add_share_host(&host.base, &host.owner).unwrap();

    let driver = chromium::Driver::start();
    let c = driver.session().await;

    // Expired at the host (the browser still thinks it is good, and asks).
    let day_long = ShareRequest {
        expires_in_days: Some(1),
        ..request()
    };
    let expiring = export::share_via(
        &mut vault,
        &day_long,
        Some(&via(&host.base, None)),
        &dir.path().join("expiring.age"),
    )
    .await
    .unwrap();
    let expiring = expiring.link.unwrap().text;
    host.clock
        .fetch_add(2 * 86_400, std::sync::atomic::Ordering::SeqCst);
    open(&c, &expiring).await;
    assert!(
        !is_shown(&c, "#passcode-field").await,
        "no passcode asked without flag P"
    );
    submit(&c, "Dr. Lee", None).await;
    assert_eq!(shown(&c, "#problem").await, WITHDRAWN);
    host.clock
        .fetch_sub(2 * 86_400, std::sync::atomic::Ordering::SeqCst);

    // Expired by its own `exp`: the page says so without asking the host.
    let payload = shl::parse(&expiring).unwrap();
    let past = shl::Payload {
        exp: Some(now - 60),
        ..payload
    };
    let encoded = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        serde_json::to_vec(&past).unwrap(),
    );
    let asked = host.requests.lock().unwrap().len();
    open(&c, &format!("{}/view#shlink:/{encoded}", host.base)).await;
    assert_eq!(shown(&c, "#problem").await, WITHDRAWN);
    assert!(!is_shown(&c, "#ask").await);
    let since: Vec<String> = {
        let requests = host.requests.lock().unwrap();
        requests
            .iter()
            .skip(asked)
            .map(|r| {
                String::from_utf8_lossy(r)
                    .lines()
                    .next()
                    .unwrap_or("")
                    .to_owned()
            })
            .collect()
    };
    assert!(!since.is_empty());
    assert!(
        since.iter().all(|r| r.starts_with("GET /view")),
        "only the page was fetched: {since:?}"
    );

    // Used up: one use, then the sentence.
    let once = export::share_via(
        &mut vault,
        &request(),
        Some(&ownrecord_core::export::HostLink {
            max_uses: Some(1),
            ..via(&host.base, None)
        }),
        &dir.path().join("once.age"),
    )
    .await
    .unwrap();
    let once = once.link.unwrap().text;
    open(&c, &once).await;
    submit(&c, "Nurse Kim", None).await;
    assert_eq!(shown(&c, "#patient-name").await, patient_name(&vault));
    open(&c, &once).await;
    submit(&c, "Nurse Kim", None).await;
    assert_eq!(shown(&c, "#problem").await, WITHDRAWN);

    // A link to another host is not opened here (the page would have to send the request
    // elsewhere, which its policy forbids).
    let elsewhere = shl::Payload {
        url: "https://share.example.org/shl/abc".into(),
        ..shl::parse(&once).unwrap()
    };
    let encoded = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        serde_json::to_vec(&elsewhere).unwrap(),
    );
    open(&c, &format!("{}/view#shlink:/{encoded}", host.base)).await;
    assert!(
        shown(&c, "#problem")
            .await
            .starts_with("This viewer opens only links kept on this share host"),
    );
    // Nothing after the fragment, or garbage: a sentence, not a blank page.
    open(&c, &format!("{}/view", host.base)).await;
    assert!(shown(&c, "#problem").await.contains("has none"));
    open(&c, &format!("{}/view#shlink:/not-base64!", host.base)).await;
    assert!(
        shown(&c, "#problem")
            .await
            .starts_with("This link is damaged")
    );

    // The refresh records the open of the used-up link under the declared name.
    vault.refresh_shares().await.unwrap();
    let rows = share_rows(&vault);
    assert!(
        rows.iter()
            .any(|r| r["event"] == "opened" && r["recipient"] == "Nurse Kim"),
        "{rows:?}"
    );
    assert_host_never_saw_the_key(&host, &once);
    c.close().await.unwrap();
}

/// A link made by hand against the host's API: its file compressed (`zip: DEF`, as other SHL
/// apps send them) and its record text hostile. The viewer inflates it, and shows the markup as
/// text: no element is made from it and no script runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_viewer_inflates_compressed_files_and_shows_markup_as_text() {
    let host = start_host_at(time::OffsetDateTime::now_utc().unix_timestamp()).await;
    let hostile = "<img src=x onerror=\"document.title='pwned'\"><b>Asthma</b>";
    let bundle = json!({
        "resourceType": "Bundle",
        "type": "document",
        "entry": [
            {"fullUrl": "urn:uuid:c", "resource": {
                "resourceType": "Composition",
                "section": [{
                    "title": "Problem List",
                    "code": {"coding": [{"system": "http://loinc.org", "code": "11450-4"}]},
                    "entry": [{"reference": "urn:uuid:p1"}],
                }],
            }},
            {"fullUrl": "urn:uuid:pt", "resource": {
                "resourceType": "Patient",
                "name": [{"given": ["<script>alert(1)</script>Zoë"], "family": "Test"}],
                "birthDate": "1990-02-03",
            }},
            {"fullUrl": "urn:uuid:p1", "resource": {
                "resourceType": "Condition",
                "code": {"text": hostile},
                "clinicalStatus": {"coding": [{"code": "active"}]},
                "onsetDateTime": "2020-05-06",
            }},
        ],
    });
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).unwrap();
    let mut header = josekit::jwe::JweHeader::new();
    header.set_content_encryption("A256GCM");
    header.set_content_type("application/fhir+json");
    header.set_compression("DEF");
    let encrypter = josekit::jwe::Dir.encrypter_from_bytes(key).unwrap();
    let plain = serde_json::to_vec(&bundle).unwrap();
    let jwe = josekit::jwe::serialize_compact(&plain, &header, &encrypter).unwrap();
    let created: Value = reqwest::Client::new()
        .post(format!("{}/api/links", host.base))
        .bearer_auth(&host.owner)
        .json(&json!({"files": [{"jwe": jwe}]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let payload = json!({
        "url": created["manifest_url"],
        "key": base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, key),
        "v": 1,
    });
    let link = format!(
        "{}#shlink:/{}",
        created["viewer_url"].as_str().unwrap(),
        base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            serde_json::to_vec(&payload).unwrap()
        )
    );

    let driver = chromium::Driver::start();
    let c = driver.session().await;
    open(&c, &link).await;
    submit(&c, "Dr. Lee", None).await;
    assert_eq!(
        shown(&c, "#patient-name").await,
        "<script>alert(1)</script>Zoë Test"
    );
    assert_eq!(entries(&c, &["problems"]).await, vec![hostile.to_owned()]);
    let made: Value = c
        .execute(
            "return [document.title, document.querySelectorAll('#sections img, #sections b, #summary script').length];",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(made, json!(["Shared health summary", 0]));
    // No PDF in this link: nothing offered.
    assert!(!is_shown(&c, "#pdf").await);
    c.close().await.unwrap();
}

/// A research copy's link (`research::share`): one file, a Bundle of type collection holding
/// the de-identified resources, no Composition. The viewer shows the study's label and the
/// count of resources per type (the preview's counts), offers the Bundle as it was decrypted to
/// download, and nothing on the page names the patient.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_viewer_shows_a_research_copy_as_counts_per_type_and_no_phi() {
    let host = start_host_at(time::macros::datetime!(2026-11-23 12:00 UTC).unix_timestamp()).await;
    let dir = tempfile::tempdir().unwrap();
    let mut vault = sample_vault(&dir.path().join("vault"));
    vault.add_share_host(&host.base, &host.owner).unwrap();
    let copy = research::prepare(
        &vault,
        &ResearchRequest {
            study: "heart-cohort-2026".into(),
            recipient: "City Heart Study".into(),
            person: None,
            keep_intervals: false,
        },
    )
    .unwrap();
    assert!(!copy.preview.counts.is_empty());
    let consent = copy.preview.consent_sha256.clone();
    // No expiry: the browser reads `exp` by the real clock, the vault's is fixed.
    let shared = research::share(
        &mut vault,
        &copy,
        &consent,
        None,
        Some(&via(&host.base, None)),
        &dir.path().join("heart-cohort.age"),
    )
    .await
    .unwrap();
    let link = shared.link.as_ref().unwrap().text.clone();
    assert!(link.starts_with(&format!("{}/view#shlink:/", host.base)));
    let label = shl::parse(&link).unwrap().label.unwrap();
    assert!(label.contains("heart-cohort-2026"), "{label}");

    let driver = chromium::Driver::start();
    let c = driver.session().await;
    open(&c, &link).await;
    submit(&c, "Dr. Okafor, City Heart Study", None).await;
    assert_eq!(
        shown(&c, "#research-heading").await,
        "De-identified research copy"
    );
    assert_eq!(shown(&c, "#research-label").await, label);
    assert!(!is_shown(&c, "#summary").await, "no IPS summary");
    assert!(!is_shown(&c, "#problem").await);

    // One row per resource type, with the count the patient saw in the preview.
    let rows: Value = c
        .execute(
            "return Array.from(document.querySelectorAll('#research-counts tbody tr'), \
             (tr) => [tr.cells[0].textContent, Number(tr.cells[1].textContent)]);",
            vec![],
        )
        .await
        .unwrap();
    let expected: Vec<Value> = copy
        .preview
        .counts
        .iter()
        .map(|t| json!([t.resource_type, t.count]))
        .collect();
    assert_eq!(rows, json!(expected));
    assert!(
        expected.iter().any(|r| r == &json!(["Patient", 1])),
        "{expected:?}"
    );
    assert_eq!(
        shown(&c, "#research-total").await,
        copy.preview.resources.to_string()
    );

    // Nothing that names the patient: not in what is shown, not anywhere in the document.
    let patient = ownrecord_testkit::patient_files()
        .into_iter()
        .find(|f| f.to_string_lossy().contains("Tressa_Bergstrom"))
        .unwrap();
    let phi = ownrecord_testkit::phi_strings(&[patient]);
    assert!(phi.iter().any(|s| s == "Bergstrom"), "{phi:?}");
    let seen = shown(&c, "body").await;
    let whole: String = c
        .execute("return document.documentElement.textContent;", vec![])
        .await
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned();
    for needle in &phi {
        assert!(!seen.contains(needle.as_str()), "{needle} is on the page");
        assert!(!whole.contains(needle.as_str()), "{needle} is in the page");
    }

    // The data: a blob: link to the link's own Bundle (the package's copy of it).
    assert_eq!(
        shown(&c, "#research-download").await,
        "Download the data (FHIR JSON)"
    );
    let data = downloaded_data(&c).await;
    assert!(
        data["href"].as_str().unwrap().starts_with("blob:"),
        "{data}"
    );
    assert_eq!(data["name"], "research-copy.json", "{data}");
    let in_package = shared
        .manifest
        .files
        .iter()
        .find(|f| f.name == research::BUNDLE_NAME)
        .map(|f| json!(f.sha256))
        .unwrap();
    assert_eq!(data["sha256"], in_package, "the share's own Bundle");
    let text = data["text"].as_str().unwrap();
    let bundle: Value = serde_json::from_str(text).unwrap();
    assert_eq!(bundle["type"], "collection");
    for needle in &phi {
        assert!(!text.contains(needle.as_str()), "{needle} is in the data");
    }

    // The open is in the patient's log under the name the viewer declared.
    vault.refresh_shares().await.unwrap();
    let rows = share_rows(&vault);
    assert!(
        rows.iter().any(|r| r["event"] == "opened"
            && r["recipient"] == "Dr. Okafor, City Heart Study"
            && r["share_id"] == shared.id.as_str()),
        "{rows:?}"
    );
    assert_host_never_saw_the_key(&host, &link);
    c.close().await.unwrap();
}
