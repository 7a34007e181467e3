//! Documents read in the real app (WebDriver): a PDF attachment drawn by pdf.js on a canvas, page
//! by page, with its buttons and keys; an HTML note shown sanitised in the sandboxed frame, where
//! an `<img src=x onerror>` (and a script) stay inert.

use base64::Engine as _;
use fantoccini::{Client, Locator};
use ownrecord_testkit::webdriver::Driver;

use crate::e2e::{app, click, keyring_vault_holding, shot, text, wait_for, wait_until};

/// A DocumentReference `id` of Patient p1 with `data` inline as its attachment, its SHA-256
/// named by an identifier.
fn document(id: &str, title: &str, content_type: &str, data: &[u8]) -> serde_json::Value {
    serde_json::json!({"resource": {"resourceType": "DocumentReference", "id": id, "status": "current",
        "identifier": [{"system": "urn:ietf:rfc:3986",
            "value": format!("urn:sha256:{}", ownrecord_core::export::sha256_hex(data))}],
        "subject": {"reference": "Patient/p1"}, "date": "2024-03-04T10:00:00Z",
        "author": [{"display": "Dr. Ray"}], "custodian": {"display": "Good Health Clinic"},
        "content": [{"attachment": {"contentType": content_type, "title": title,
            "data": base64::engine::general_purpose::STANDARD.encode(data)}}]}})
}

/// Unlocks the vault and opens the document `id` from the record's Documents tab.
async fn open_document(c: &Client, id: &str) {
    click(c, "#unlock").await;
    click(c, "#nav-record").await;
    click(c, "#tab-documents").await;
    click(
        c,
        &format!("#items .item[data-type='DocumentReference'][data-id='{id}']"),
    )
    .await;
    click(c, "#view-document").await;
}

/// How many of the canvas's pixels are the page's blue box (pdf.js drew the page).
const BLUE_PIXELS: &str = "(() => { const c = document.querySelector('#pdf-canvas'); if (!c || !c.width) return 0; \
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0; \
    for (let i = 0; i < d.length; i += 4) if (d[i + 2] > 150 && d[i] < 80 && d[i + 3] > 200) n++; return n; })()";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pdf_attachment_is_drawn_page_by_page_on_a_canvas() {
    ownrecord_testkit::require_secret_service();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("vault");
    let pdf = ownrecord_testkit::pdf::tiny_pdf(&["Visit summary page one", "Plan on page two"]);
    let bundle = serde_json::json!({"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": {"resourceType": "Patient", "id": "p1", "name": [{"family": "Lee", "given": ["Ann"]}]}},
        document("pdf1", "Visit summary", "application/pdf", &pdf)]});
    keyring_vault_holding(&dir, &bundle);
    let driver = Driver::start(&[("OWNRECORD_VAULT", dir.to_str().unwrap())]);
    let c = driver.session(&app()).await;
    open_document(&c, "pdf1").await;

    // pdf.js (its worker a local asset) drew page 1, fitting the width: the canvas holds the
    // page's blue box, and the page's text came out of the PDF as text.
    let drawn = |page: u32| {
        format!(
            "document.querySelector('#pdf-viewer')?.dataset.page === '{page}' && {BLUE_PIXELS} > 5000"
        )
    };
    wait_until(&c, &drawn(1)).await;
    assert_eq!(text(&c, "#pdf-page").await, "Page 1 of 2");
    let shown = |c: &Client| {
        let c = c.clone();
        async move {
            let v = c
                .execute(
                    "const v = document.querySelector('#pdf-viewer'); \
                     return [Number(v.dataset.scale), document.querySelector('#pdf-canvas').width, \
                             document.querySelector('#pdf-text').textContent, \
                             document.querySelector('#pdf-sheet').clientWidth];",
                    vec![],
                )
                .await
                .unwrap();
            (
                v[0].as_f64().unwrap(),
                v[1].as_u64().unwrap(),
                v[2].as_str().unwrap().to_owned(),
                v[3].as_u64().unwrap(),
            )
        }
    };
    let (fit, width, words, room) = shown(&c).await;
    assert_eq!(words, "Visit summary page one");
    // Fitting the width: the page (612 points wide) is as wide as the sheet less its padding.
    assert!(
        (fit * 612.0 - (room as f64 - 24.0)).abs() < 2.0,
        "{fit} for {room}"
    );
    assert!(width as f64 >= fit * 612.0 - 1.0, "{width}");
    shot(&c, "document").await;

    // Next page, by the button; zoom in; back to page 1 by the keyboard, on the page itself.
    click(&c, "#pdf-next").await;
    wait_until(&c, &drawn(2)).await;
    assert_eq!(text(&c, "#pdf-page").await, "Page 2 of 2");
    assert_eq!(shown(&c).await.2, "Plan on page two");
    click(&c, "#pdf-zoom-in").await;
    wait_until(
        &c,
        &format!("Number(document.querySelector('#pdf-viewer').dataset.scale) > {fit}"),
    )
    .await;
    let (zoomed, wider, _, _) = shown(&c).await;
    assert!(
        wider > width,
        "{wider} after zooming in from {width} ({fit} → {zoomed})"
    );
    wait_for(&c, "#pdf-sheet")
        .await
        .send_keys(&fantoccini::key::Key::Left.to_string())
        .await
        .unwrap();
    wait_until(&c, &drawn(1)).await;
    assert_eq!(text(&c, "#pdf-page").await, "Page 1 of 2");
    assert_eq!(shown(&c).await.0, zoomed, "the zoom stays");
    // The original can still be saved; nothing else in the window is an image or a script.
    wait_for(&c, "#save-document").await;
    let clean = c
        .execute(
            "return window.__xss === undefined && document.querySelectorAll('#app img, #app script, #app iframe').length === 0;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(clean, serde_json::Value::Bool(true));
    c.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_html_note_is_shown_sanitised_and_its_img_onerror_stays_inert() {
    ownrecord_testkit::require_secret_service();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("vault");
    let note = r##"<!DOCTYPE html><html><head><title>Note</title>
        <style>body { background: red }</style><script>window.__xss = 2</script></head>
        <body onload="window.__xss = 3"><h1 style="color: red">Visit note</h1>
        <p>Seen for <strong>cough</strong>.<img src=x onerror="window.__xss=1"></p>
        <p><a href="javascript:window.__xss=4">a link</a> <a href="http://127.0.0.1:9/away">away</a></p>
        <table><tr><td onclick="window.__xss=5">Plan: rest and fluids</td></tr></table>
        </body></html>"##;
    let bundle = serde_json::json!({"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": {"resourceType": "Patient", "id": "p1", "name": [{"family": "Lee", "given": ["Ann"]}]}},
        document("note1", "Visit note", "text/html; charset=utf-8", note.as_bytes())]});
    keyring_vault_holding(&dir, &bundle);
    let driver = Driver::start(&[("OWNRECORD_VAULT", dir.to_str().unwrap())]);
    let c = driver.session(&app()).await;
    open_document(&c, "note1").await;

    let frame = wait_for(&c, "iframe#document-frame[sandbox='']").await;
    let srcdoc = frame.attr("srcdoc").await.unwrap().unwrap();
    assert!(
        srcdoc.contains("default-src 'none'"),
        "the frame's own policy"
    );
    for gone in [
        "__xss",
        "<img",
        "<script",
        "onerror",
        "color: red",
        "127.0.0.1",
    ] {
        assert!(!srcdoc.contains(gone), "{gone} in {srcdoc}");
    }
    shot(&c, "document-note").await;

    frame.enter_frame().await.unwrap();
    assert_eq!(
        c.find(Locator::Css("h1"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "Visit note"
    );
    let body = c
        .find(Locator::Css("body"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        body.contains("Seen for cough.") && body.contains("Plan: rest and fluids"),
        "{body}"
    );
    let inside = c
        .execute(
            "return [document.querySelectorAll('img, script, a[href], [onerror], [onclick], [style]').length, \
                     document.querySelectorAll('style').length, getComputedStyle(document.body).backgroundColor];",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        inside,
        serde_json::json!([0, 1, "rgb(255, 255, 255)"]),
        "no image, script, link or handler; only our stylesheet"
    );
    c.enter_parent_frame().await.unwrap();
    // Give a broken image's onerror every chance to have run.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let clean = c
        .execute(
            "return window.__xss === undefined && document.querySelectorAll('#app img, #app script').length === 0;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        clean,
        serde_json::Value::Bool(true),
        "nothing from the note ran"
    );
    c.close().await.unwrap();
}
