//! A document in the window: a C-CDA document's narrative as sanitised HTML beside the entries
//! made from it, its original checked before it is shown; an HTML or XHTML note sanitised, plain
//! text as text, a PDF or an image as its checked bytes (here also one whose original a portal's
//! attachment download stored, by URL), anything else offered to save.

use std::collections::BTreeSet;

use ownrecord_core::Error;
use ownrecord_core::vault::browse::Category;
use ownrecord_core::vault::document::{DocumentKind, DocumentOf};
use ownrecord_core::vault::people::PersonChoice;
use sha2::Digest;

use crate::{keyring_vault, no_progress, raw_connection};

/// HL7's example CCD (CC0-1.0): sixteen sections with tables, lists and entries.
const CCD: &str = "hl7ex/Documents__CCD__CCD_1__CCD.XML";

/// The id of the person's one DocumentReference.
fn the_document(vault: &ownrecord_core::Vault, person: i64) -> String {
    let docs: Vec<String> = vault
        .list(person, Category::Documents, 0, 100)
        .unwrap()
        .items
        .into_iter()
        .filter(|i| i.resource_type == "DocumentReference")
        .map(|i| i.id)
        .collect();
    assert_eq!(docs.len(), 1, "{docs:?}");
    docs.into_iter().next().unwrap()
}

/// No markup that could run, style, fetch or navigate is in `html` (its escaped text may say anything).
fn assert_inert(html: &str) {
    let markup: String = html
        .to_ascii_lowercase()
        .split('<')
        .skip(1)
        .map(|tag| format!("<{}>", tag.split('>').next().unwrap_or_default()))
        .collect();
    for bad in [
        "<script",
        "<style",
        "<img",
        "<iframe",
        "<object",
        "<embed",
        "<link",
        "<meta",
        "<base",
        "<form",
        "<svg",
        " style=",
        " on",
        "javascript:",
        "http:",
        "https:",
        "data:",
        " src=",
    ] {
        assert!(!markup.contains(bad), "{bad} in {html}");
    }
}

#[test]
fn a_ccda_document_shows_its_narrative_beside_the_entries_made_from_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut vault = keyring_vault(dir.path());
    let file = ownrecord_testkit::ccda_sample(CCD);
    vault
        .import_file(&file, PersonChoice::New, &mut no_progress())
        .unwrap();
    let person = vault.reading_person(None).unwrap();
    let id = the_document(&vault, person);

    let view = vault.document_view(person, &id).unwrap();
    assert_eq!(view.kind, DocumentKind::Narrative);
    assert!(!view.title.is_empty());
    assert!(
        view.author.is_some() && view.custodian.is_some(),
        "{view:?}"
    );
    assert_eq!(
        view.bytes,
        std::fs::metadata(&file).unwrap().len(),
        "the original, whole"
    );
    let titles: Vec<&str> = view.sections.iter().map(|s| s.title.as_str()).collect();
    for title in [
        "ALLERGIES AND ADVERSE REACTIONS",
        "MEDICATIONS",
        "PROBLEMS",
        "RESULTS",
        "VITAL SIGNS",
    ] {
        assert!(titles.contains(&title), "{title} not in {titles:?}");
    }
    assert_eq!(view.sections.len(), 15, "{titles:?}");
    assert!(view.sections.iter().any(|s| s.html.contains("<table>")));
    for s in &view.sections {
        assert_inert(&s.html);
    }

    // The entries: every resource of the person the DocumentReference names as made from the
    // document (`context.related`), each of which opens; the Patient is not listed.
    let reference: serde_json::Value = serde_json::from_str(
        &vault
            .resource(person, "DocumentReference", &id)
            .unwrap()
            .json,
    )
    .unwrap();
    let targets: BTreeSet<(String, String)> = reference["context"]["related"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["reference"].as_str()?.split_once('/'))
        .filter(|(t, _)| ownrecord_core::fhir::in_patient_compartment(t) && *t != "Patient")
        .map(|(t, i)| (t.to_owned(), i.to_owned()))
        .collect();
    let listed: BTreeSet<(String, String)> = view
        .entries
        .iter()
        .map(|e| (e.resource_type.clone(), e.id.clone()))
        .collect();
    assert_eq!(listed.len(), view.entries.len(), "each entry once");
    assert_eq!(listed, targets);
    let kinds: BTreeSet<&str> = view
        .entries
        .iter()
        .map(|e| e.resource_type.as_str())
        .collect();
    for kind in [
        "Condition",
        "AllergyIntolerance",
        "Observation",
        "Immunization",
    ] {
        assert!(kinds.contains(kind), "no {kind} in {kinds:?}");
    }
    for e in &view.entries {
        let detail = vault.resource(person, &e.resource_type, &e.id).unwrap();
        assert_eq!(detail.display, e.display);
    }

    // Someone else's record does not open it.
    let other_file = ownrecord_testkit::patient_files().remove(0);
    vault
        .import_file(&other_file, PersonChoice::New, &mut no_progress())
        .unwrap();
    let other = vault
        .people()
        .unwrap()
        .into_iter()
        .map(|p| p.id)
        .find(|p| *p != person)
        .unwrap();
    assert!(matches!(
        vault.document_view(other, &id),
        Err(Error::NoSuchResource(_))
    ));
    assert!(matches!(
        vault.document_view(person, "no-such-document"),
        Err(Error::NoSuchResource(_))
    ));
}

#[test]
fn hostile_narrative_comes_out_inert_and_a_damaged_original_is_not_shown() {
    let dir = tempfile::tempdir().unwrap();
    let mut vault = keyring_vault(dir.path());
    let original = std::fs::read_to_string(ownrecord_testkit::ccda_sample(CCD)).unwrap();
    let hostile = r#"<paragraph styleCode="Bold" style="background:url(https://evil.example/x)" onclick="window.__xss=1">kept<script>window.__xss=2</script></paragraph>
        <h:script xmlns:h="http://www.w3.org/1999/xhtml">window.__xss=3</h:script>
        <h:img xmlns:h="http://www.w3.org/1999/xhtml" src="https://evil.example/p.png" onerror="window.__xss=4"/>
        <renderMultiMedia referencedObject="x"/>
        <linkHtml href="javascript:window.__xss=5">a link</linkHtml>
        <table><tbody><tr><td><table><tbody><tr><td>nested<linkHtml href="https://evil.example/">out</linkHtml></td></tr></tbody></table></td></tr></tbody></table>"#;
    let at = original.find("<text>").unwrap() + "<text>".len();
    let file = dir.path().join("hostile.xml");
    std::fs::write(
        &file,
        format!("{}{hostile}{}", &original[..at], &original[at..]),
    )
    .unwrap();
    vault
        .import_file(&file, PersonChoice::New, &mut no_progress())
        .unwrap();
    let person = vault.reading_person(None).unwrap();
    let id = the_document(&vault, person);
    let view = vault.document_view(person, &id).unwrap();
    let first = view
        .sections
        .iter()
        .find(|s| s.html.contains("kept"))
        .unwrap();
    assert!(
        first.html.contains(r#"<p class="bold">kept</p>"#),
        "{}",
        first.html
    );
    assert!(
        first
            .html
            .contains("<td><table><tbody><tr><td>nested<span class=\"link\">out</span></td>"),
        "{}",
        first.html
    );
    assert!(first.html.contains(r#"<span class="link">a link</span>"#));
    assert!(!first.html.contains("__xss"), "{}", first.html);
    for s in &view.sections {
        assert_inert(&s.html);
    }

    // A changed byte in the kept original: it is not shown.
    let conn = raw_connection(dir.path());
    let rewrite = |change: &dyn Fn(&mut serde_json::Value)| {
        let json: String = conn
            .query_row(
                "SELECT json FROM resources WHERE resource_type = 'DocumentReference'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        let mut value: serde_json::Value = serde_json::from_str(&json).unwrap();
        change(&mut value);
        conn.execute(
            "UPDATE resources SET json = ?1 WHERE resource_type = 'DocumentReference'",
            [value.to_string()],
        )
        .unwrap();
    };
    rewrite(&|v| {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD;
        let data = &mut v["content"][0]["attachment"]["data"];
        let mut bytes = b64.decode(data.as_str().unwrap()).unwrap();
        bytes.push(b' ');
        *data = b64.encode(bytes).into();
    });
    assert!(matches!(
        vault.document_view(person, &id),
        Err(Error::OriginalDamaged)
    ));
    rewrite(&|v| {
        v["content"][0]["attachment"]
            .as_object_mut()
            .unwrap()
            .remove("data");
    });
    assert!(matches!(
        vault.document_view(person, &id),
        Err(Error::OriginalMissing)
    ));
}

#[test]
fn a_downloaded_pdf_is_shown_and_saving_it_is_a_disclosure() {
    let dir = tempfile::tempdir().unwrap();
    let mut vault = keyring_vault(dir.path());
    let pdf = b"%PDF-1.4\n% a tiny stand-in for a visit summary\n%%EOF\n".to_vec();
    let url = format!("urn:sha256:{}", hex::encode(sha2::Sha256::digest(&pdf)));
    let bundle = serde_json::json!({"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": {"resourceType": "Patient", "id": "p1", "name": [{"family": "Lee", "given": ["Ann"]}]}},
        {"resource": {"resourceType": "DocumentReference", "id": "d1", "status": "current",
            "subject": {"reference": "Patient/p1"}, "date": "2024-03-04T10:00:00Z",
            "author": [{"display": "Dr. Ray"}], "custodian": {"display": "Clinic"},
            "content": [{"attachment": {"contentType": "application/pdf", "url": url, "title": "Visit summary"}}]}}]});
    let file = dir.path().join("pdf-doc.json");
    std::fs::write(&file, bundle.to_string()).unwrap();
    vault
        .import_file(&file, PersonChoice::New, &mut no_progress())
        .unwrap();
    let person = vault.reading_person(None).unwrap();
    // The original, as a portal's attachment download or a zip's PDF would have stored it.
    raw_connection(dir.path())
        .execute(
            "INSERT INTO attachments (url, source_id, content_type, sha256, data, fetched_at)
             SELECT ?1, id, 'application/pdf', ?2, ?3, '2024-03-04T10:00:00Z' FROM sources",
            rusqlite::params![url, sha2::Sha256::digest(&pdf).to_vec(), pdf],
        )
        .unwrap();

    let view = vault.document_view(person, "d1").unwrap();
    assert_eq!(view.kind, DocumentKind::Pdf);
    assert!(view.sections.is_empty() && view.text.is_none());
    assert_eq!(vault.document_original(person, "d1").unwrap(), pdf);
    assert_eq!(view.title, "Visit summary");
    assert_eq!(view.author.as_deref(), Some("Dr. Ray"));
    assert_eq!(view.custodian.as_deref(), Some("Clinic"));
    assert_eq!(view.content_type.as_deref(), Some("application/pdf"));
    assert_eq!(view.date.as_deref(), Some("2024-03-04T10:00:00Z"));
    assert!(view.entries.is_empty(), "nothing was made from it");

    let out = dir.path().join("saved.pdf");
    let written = vault.save_document(person, "d1", &out).unwrap();
    assert_eq!(std::fs::read(&out).unwrap(), pdf);
    assert_eq!(written.sha256, sha2::Sha256::digest(&pdf).to_vec());
    let log = vault
        .audit_entries(&ownrecord_core::audit::Filter {
            kinds: vec![ownrecord_core::audit::AuditKind::Export],
        })
        .unwrap();
    let export = log.last().unwrap();
    assert!(
        export.details.to_string().contains("original document"),
        "{:?}",
        export.details
    );
}

/// A vault holding one person with one DocumentReference `d1` whose original is `data`, inline,
/// of `content_type`, its SHA-256 named by an identifier (as a patient's own upload names it).
fn vault_with_document(
    dir: &std::path::Path,
    content_type: Option<&str>,
    data: &[u8],
) -> (ownrecord_core::Vault, i64) {
    use base64::Engine as _;
    let mut vault = keyring_vault(dir);
    let mut attachment = serde_json::json!({
        "data": base64::engine::general_purpose::STANDARD.encode(data),
        "title": "Visit note",
    });
    if let Some(t) = content_type {
        attachment["contentType"] = t.into();
    }
    let bundle = serde_json::json!({"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": {"resourceType": "Patient", "id": "p1", "name": [{"family": "Lee", "given": ["Ann"]}]}},
        {"resource": {"resourceType": "DocumentReference", "id": "d1", "status": "current",
            "identifier": [{"system": "urn:ietf:rfc:3986",
                "value": format!("urn:sha256:{}", hex::encode(sha2::Sha256::digest(data)))}],
            "subject": {"reference": "Patient/p1"}, "date": "2024-03-04",
            "content": [{"attachment": attachment}]}}]});
    let file = dir.join("doc.json");
    std::fs::write(&file, bundle.to_string()).unwrap();
    vault
        .import_file(&file, PersonChoice::New, &mut no_progress())
        .unwrap();
    let person = vault.reading_person(None).unwrap();
    (vault, person)
}

/// A 1×1 PNG (signature, IHDR, IDAT, IEND).
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x04\x00\x09\xfb\x03\xfd\xe3U\xf2\x9c\x00\x00\x00\x00IEND\xaeB`\x82";

#[test]
fn each_kind_of_original_is_shown_as_what_it_is() {
    let pdf = ownrecord_testkit::pdf::tiny_pdf(&["Visit summary"]);
    let jpeg = b"\xFF\xD8\xFF\xE0\x00\x10JFIF\x00 a stand-in".to_vec();
    let cases: Vec<(Option<&str>, Vec<u8>, DocumentKind)> = vec![
        (Some("application/pdf"), pdf.clone(), DocumentKind::Pdf),
        // Without a type, or with a generic one, the bytes decide.
        (None, pdf.clone(), DocumentKind::Pdf),
        (
            Some("application/octet-stream"),
            PNG.to_vec(),
            DocumentKind::Png,
        ),
        (Some("image/png"), PNG.to_vec(), DocumentKind::Png),
        (Some("image/jpeg"), jpeg.clone(), DocumentKind::Jpeg),
        (None, jpeg.clone(), DocumentKind::Jpeg),
        // A file whose bytes are not what its type says is offered to save, not rendered.
        (Some("application/pdf"), PNG.to_vec(), DocumentKind::File),
        (Some("image/png"), jpeg.clone(), DocumentKind::File),
        (
            Some("image/jpeg"),
            b"<svg onload=alert(1)/>".to_vec(),
            DocumentKind::File,
        ),
        (
            Some("image/svg+xml"),
            b"<svg/>".to_vec(),
            DocumentKind::File,
        ),
        (
            Some("application/msword"),
            b"doc".to_vec(),
            DocumentKind::File,
        ),
        (None, b"just bytes".to_vec(), DocumentKind::File),
    ];
    for (content_type, data, kind) in cases {
        let dir = tempfile::tempdir().unwrap();
        let (vault, person) = vault_with_document(dir.path(), content_type, &data);
        let view = vault.document_view(person, "d1").unwrap();
        assert_eq!(view.kind, kind, "{content_type:?}");
        assert_eq!(view.title, "Visit note");
        assert_eq!(view.bytes, data.len() as u64);
        assert!(view.sections.is_empty() && view.text.is_none(), "{view:?}");
        assert_eq!(vault.document_original(person, "d1").unwrap(), data);
    }
}

#[test]
fn plain_text_is_text() {
    let dir = tempfile::tempdir().unwrap();
    let note = "Seen today.\n<script>window.__xss=1</script> stays text: <b>not bold</b>\n\tIndented — ünïcode";
    let (vault, person) = vault_with_document(
        dir.path(),
        Some("text/plain; charset=utf-8"),
        note.as_bytes(),
    );
    let view = vault.document_view(person, "d1").unwrap();
    assert_eq!(view.kind, DocumentKind::Text);
    assert_eq!(
        view.text.as_deref(),
        Some(note),
        "as written, markup and all"
    );
    assert!(view.sections.is_empty());

    // Latin-1, as its content type says; UTF-16 by its byte order mark.
    let dir = tempfile::tempdir().unwrap();
    let (vault, person) = vault_with_document(
        dir.path(),
        Some("text/plain;charset=ISO-8859-1"),
        b"caf\xe9 cr\xe8me",
    );
    assert_eq!(
        vault.document_view(person, "d1").unwrap().text.as_deref(),
        Some("café crème")
    );
    let dir = tempfile::tempdir().unwrap();
    let utf16: Vec<u8> = "\u{feff}Blood pressure 120/80"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    let (vault, person) = vault_with_document(dir.path(), Some("text/plain"), &utf16);
    assert_eq!(
        vault.document_view(person, "d1").unwrap().text.as_deref(),
        Some("Blood pressure 120/80")
    );
}

#[test]
fn hostile_html_notes_come_out_inert() {
    let hostile = r##"<!DOCTYPE html><html><head><title>t</title>
        <meta http-equiv="refresh" content="0;url=https://evil.example/"><base href="https://evil.example/">
        <link rel="stylesheet" href="https://evil.example/s.css"><style>p { color: red }</style>
        <script>window.__xss=1</script></head>
        <body onload="window.__xss=2">
        <h1 style="color:red" class="x">Visit note</h1>
        <p>Seen for <strong>cough</strong>.<img src=x onerror=alert(1)></p>
        <p style="background:url(https://evil.example/x.png)">Plan: rest.</p>
        <a href="javascript:window.__xss=3">a link</a> <a href="https://evil.example/">away</a>
        <a href="data:text/html,<script>alert(1)</script>">data</a> <a href="#plan">below</a>
        <form action="https://evil.example/"><input name="q"></form>
        <table><tr><td onclick="window.__xss=4">cell</td></tr></table>
        <svg onload="window.__xss=5"><image href="https://evil.example/i.png"/></svg>
        <iframe src="https://evil.example/"></iframe><object data="x.swf"></object>
        <h2 id="plan">Plan</h2></body></html>"##;
    for content_type in ["text/html; charset=utf-8", "application/xhtml+xml"] {
        let dir = tempfile::tempdir().unwrap();
        let (vault, person) =
            vault_with_document(dir.path(), Some(content_type), hostile.as_bytes());
        let view = vault.document_view(person, "d1").unwrap();
        assert_eq!(view.kind, DocumentKind::Html, "{content_type}");
        assert!(view.text.is_none());
        assert_eq!(view.sections.len(), 1);
        let html = &view.sections[0].html;
        assert_inert(html);
        assert!(html.contains("<h1>Visit note</h1>"), "{html}");
        assert!(
            html.contains("<p>Seen for <strong>cough</strong>.</p>"),
            "{html}"
        );
        assert!(html.contains("<p>Plan: rest.</p>"), "{html}");
        assert!(html.contains("<td>cell</td>"), "{html}");
        assert!(html.contains(r##"<a href="#n-plan">below</a>"##), "{html}");
        assert!(html.contains(r#"<h2 id="n-plan">Plan</h2>"#), "{html}");
        for gone in [
            "__xss",
            "alert",
            "evil.example",
            "color",
            " class=",
            "<input",
            "<title",
        ] {
            assert!(!html.contains(gone), "{gone} in {html}");
        }
    }
}

#[test]
fn a_damaged_original_is_refused_for_every_kind() {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let pdf = ownrecord_testkit::pdf::tiny_pdf(&["Visit summary"]);
    for (content_type, data) in [
        ("application/pdf", pdf.clone()),
        ("image/png", PNG.to_vec()),
        ("text/plain", b"a note".to_vec()),
        ("text/html", b"<p>a note</p>".to_vec()),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let (vault, person) = vault_with_document(dir.path(), Some(content_type), &data);
        let conn = raw_connection(dir.path());
        let json: String = conn
            .query_row(
                "SELECT json FROM resources WHERE resource_type = 'DocumentReference'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        let mut value: serde_json::Value = serde_json::from_str(&json).unwrap();
        let mut changed = data.clone();
        changed[data.len() / 2] ^= 1;
        value["content"][0]["attachment"]["data"] = b64.encode(&changed).into();
        conn.execute(
            "UPDATE resources SET json = ?1 WHERE resource_type = 'DocumentReference'",
            [value.to_string()],
        )
        .unwrap();
        assert!(
            matches!(
                vault.document_view(person, "d1"),
                Err(Error::OriginalDamaged)
            ),
            "{content_type}"
        );
        assert!(
            matches!(
                vault.document_original(person, "d1"),
                Err(Error::OriginalDamaged)
            ),
            "{content_type}"
        );
        assert!(matches!(
            vault.document_original(person, "no-such-document"),
            Err(Error::NoSuchResource(_))
        ));
    }
}

#[test]
fn a_reports_presented_form_is_a_document_beside_its_results() {
    use base64::Engine as _;
    let dir = tempfile::tempdir().unwrap();
    let mut vault = keyring_vault(dir.path());
    let report = br#"<div><h2>Chest X-ray</h2><p>No acute findings.<img src=x onerror="window.__xss=1"></p><script>window.__xss=2</script></div>"#;
    let pdf = ownrecord_testkit::pdf::tiny_pdf(&["Lipid panel"]);
    let bundle = serde_json::json!({"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": {"resourceType": "Patient", "id": "p1", "name": [{"family": "Lee", "given": ["Ann"]}]}},
        {"resource": {"resourceType": "Observation", "id": "o1", "status": "final",
            "code": {"text": "Impression"}, "subject": {"reference": "Patient/p1"},
            "effectiveDateTime": "2024-03-04", "valueString": "No acute findings"}},
        {"resource": {"resourceType": "DiagnosticReport", "id": "r1", "status": "final",
            "code": {"text": "XR Chest 2 views"}, "subject": {"reference": "Patient/p1"},
            "effectiveDateTime": "2024-03-04T09:30:00Z", "performer": [{"display": "Dr. Ray"}],
            "result": [{"reference": "Observation/o1"}, {"reference": "Patient/p1"}],
            "presentedForm": [{"contentType": "text/html",
                "data": base64::engine::general_purpose::STANDARD.encode(report)}]}},
        {"resource": {"resourceType": "DiagnosticReport", "id": "r2", "status": "final",
            "code": {"coding": [{"display": "Lipid panel"}]}, "subject": {"reference": "Patient/p1"},
            "issued": "2024-03-05T08:00:00Z",
            "identifier": [{"system": "urn:ietf:rfc:3986",
                "value": format!("urn:sha256:{}", hex::encode(sha2::Sha256::digest(&pdf)))}],
            "presentedForm": [{"contentType": "application/pdf", "title": "Lipid panel report",
                "data": base64::engine::general_purpose::STANDARD.encode(&pdf)}]}},
        {"resource": {"resourceType": "DiagnosticReport", "id": "r3", "status": "final",
            "code": {"text": "No form"}, "subject": {"reference": "Patient/p1"}}}]});
    let file = dir.path().join("reports.json");
    std::fs::write(&file, bundle.to_string()).unwrap();
    vault
        .import_file(&file, PersonChoice::New, &mut no_progress())
        .unwrap();
    let person = vault.reading_person(None).unwrap();

    let view = vault
        .document_view_of(person, DocumentOf::DiagnosticReport, "r1")
        .unwrap();
    assert_eq!(view.kind, DocumentKind::Html);
    assert_eq!(view.title, "XR Chest 2 views");
    assert_eq!(view.date.as_deref(), Some("2024-03-04T09:30:00Z"));
    assert_eq!(view.author.as_deref(), Some("Dr. Ray"));
    let html = &view.sections[0].html;
    assert_inert(html);
    assert!(
        html.contains("<h2>Chest X-ray</h2><p>No acute findings.</p>"),
        "{html}"
    );
    assert!(!html.contains("__xss"), "{html}");
    let results: Vec<(&str, &str)> = view
        .entries
        .iter()
        .map(|e| (e.resource_type.as_str(), e.id.as_str()))
        .collect();
    assert_eq!(
        results,
        [("Observation", "o1")],
        "its results, the Patient left out"
    );

    let view = vault
        .document_view_of(person, DocumentOf::DiagnosticReport, "r2")
        .unwrap();
    assert_eq!(view.kind, DocumentKind::Pdf);
    assert_eq!(view.title, "Lipid panel report");
    assert_eq!(view.date.as_deref(), Some("2024-03-05T08:00:00Z"));
    assert_eq!(
        vault
            .document_original_of(person, DocumentOf::DiagnosticReport, "r2")
            .unwrap(),
        pdf
    );
    let out = dir.path().join("lipids.pdf");
    vault
        .save_document_of(person, DocumentOf::DiagnosticReport, "r2", &out)
        .unwrap();
    assert_eq!(std::fs::read(&out).unwrap(), pdf);

    // A report without a presented form has no original; a report is not a DocumentReference.
    assert!(matches!(
        vault.document_view_of(person, DocumentOf::DiagnosticReport, "r3"),
        Err(Error::OriginalMissing)
    ));
    assert!(matches!(
        vault.document_view(person, "r1"),
        Err(Error::NoSuchResource(_))
    ));
}
