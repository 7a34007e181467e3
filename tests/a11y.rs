//! Accessibility of the real app: axe-core (npm, pinned in tests/peers) scans each screen the
//! WebDriver tests reach, and the critical flow is walked with the keyboard alone.
//!
//! axe is injected through WebDriver's own script execution: the app's CSP forbids inline and
//! foreign scripts in the page, but WebKitWebDriver runs the driver's scripts through the
//! browser's automation, which the page's policy does not govern.

use std::sync::OnceLock;

use fantoccini::key::Key;
use fantoccini::{Client, Locator};

/// axe-core's browser bundle, read once from the test peers.
fn axe_source() -> &'static str {
    static SOURCE: OnceLock<String> = OnceLock::new();
    SOURCE.get_or_init(|| {
        let path =
            ownrecord_testkit::checkers::peers_dir().join("node_modules/axe-core/axe.min.js");
        std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e} (axe-core is a test peer: npm ci --prefix tests/peers)",
                path.display()
            )
        })
    })
}

/// One rule axe found broken, with the elements that break it.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct Violation {
    pub id: String,
    pub impact: String,
    pub help: String,
    #[serde(rename = "helpUrl")]
    pub help_url: String,
    pub nodes: Vec<Node>,
}

#[derive(Debug, serde::Deserialize)]
pub(crate) struct Node {
    /// The selectors of the element (more than one when it is inside frames or shadow roots).
    pub target: Vec<serde_json::Value>,
    #[serde(rename = "failureSummary", default)]
    pub failure_summary: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "- {} ({}): {} <{}>",
            self.id, self.impact, self.help, self.help_url
        )?;
        for node in &self.nodes {
            let target: Vec<String> = node
                .target
                .iter()
                .map(|t| t.as_str().map_or_else(|| t.to_string(), str::to_owned))
                .collect();
            let why = node
                .failure_summary
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with("Fix "))
                .collect::<Vec<_>>()
                .join("; ");
            writeln!(f, "    {}: {why}", target.join(" >> "))?;
        }
        Ok(())
    }
}

/// Puts axe into the current window (or frame), unless it is there already.
async fn inject(c: &Client) {
    let there = c
        .execute("return typeof window.axe === 'object';", vec![])
        .await
        .unwrap();
    if there == serde_json::Value::Bool(true) {
        return;
    }
    let loaded = c
        .execute(
            &format!("{}\n;return typeof window.axe === 'object';", axe_source()),
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        loaded,
        serde_json::Value::Bool(true),
        "axe did not load in the window"
    );
}

/// axe's violations of impact serious or critical in the current window (or frame). Frames are
/// left out (a sandboxed frame runs no script, axe's included): enter one to scan it.
pub(crate) async fn serious_violations(c: &Client) -> Vec<Violation> {
    violations(c, &["serious", "critical"]).await
}

/// axe's violations of the given impacts in the current window (or frame).
async fn violations(c: &Client, impacts: &[&str]) -> Vec<Violation> {
    inject(c).await;
    let found = c
        .execute_async(
            "const [impacts, done] = arguments;
             axe.run(document, { resultTypes: ['violations'], iframes: false })
               .then((r) => done(JSON.stringify(r.violations.filter((v) => impacts.includes(v.impact)))))
               .catch((e) => done('axe failed: ' + e));",
            vec![serde_json::json!(impacts)],
        )
        .await
        .unwrap();
    let found = found.as_str().unwrap_or_default();
    serde_json::from_str(found).unwrap_or_else(|_| panic!("{found}"))
}

/// Fails the test with axe's serious and critical violations on `screen`, if there are any.
/// For the other helpers' screens too: call it once the screen has rendered what it shows.
pub(crate) async fn assert_accessible(c: &Client, screen: &str) {
    let found = serious_violations(c).await;
    fail_on(screen, &found);
}

/// The same for the document inside the sandboxed frame `frame` (a CSS selector in the window).
/// A frame sandboxed without scripts runs none of the driver's either (WebKitWebDriver answers
/// "no such frame"), so its document, the same `srcdoc` with the same policy and stylesheet, is
/// scanned in an unsandboxed copy laid over it, which is removed again. `pending` names rules
/// the frame's document is known to break until its owner fixes them: those are printed, not
/// failed (keep the list empty, and short-lived).
pub(crate) async fn assert_frame_accessible(
    c: &Client,
    frame: &str,
    screen: &str,
    pending: &[&str],
) {
    c.execute(
        "const f = document.querySelector(arguments[0]);
         const copy = document.createElement('iframe');
         const r = f.getBoundingClientRect();
         Object.assign(copy.style, { position: 'fixed', left: `${r.left}px`, top: `${r.top}px`, width: `${r.width}px`, height: `${r.height}px`, border: '0' });
         copy.id = 'a11y-frame-copy';
         copy.title = f.title;
         copy.srcdoc = f.srcdoc;
         document.body.append(copy);",
        vec![serde_json::json!(frame)],
    )
    .await
    .unwrap();
    crate::e2e::wait_until(
        c,
        "document.querySelector('#a11y-frame-copy')?.contentDocument?.readyState === 'complete'",
    )
    .await;
    let copy = c.find(Locator::Css("#a11y-frame-copy")).await.unwrap();
    copy.enter_frame().await.unwrap();
    let found = serious_violations(c).await;
    c.enter_parent_frame().await.unwrap();
    c.execute(
        "document.querySelector('#a11y-frame-copy').remove();",
        vec![],
    )
    .await
    .unwrap();
    let (known, found): (Vec<Violation>, Vec<Violation>) = found
        .into_iter()
        .partition(|v| pending.contains(&v.id.as_str()));
    for v in &known {
        eprint!("{screen}: a known violation, still to be fixed:\n{v}");
    }
    fail_on(screen, &found);
}

fn fail_on(screen: &str, found: &[Violation]) {
    if !found.is_empty() {
        let listed: String = found.iter().map(ToString::to_string).collect();
        panic!(
            "{screen}: axe-core found {} serious or critical violation(s):\n{listed}",
            found.len()
        );
    }
}

/// What has the keyboard's focus, and whether it shows it: an outline or a box shadow drawn
/// (computed style), or, for nothing focused, an error.
async fn focus_shown(c: &Client) -> Result<String, String> {
    let state = c
        .execute(
            "const el = document.activeElement;
             if (!el || el === document.body) return { shown: false, what: 'nothing (the page itself)' };
             const s = getComputedStyle(el);
             const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0;
             const shadow = s.boxShadow && s.boxShadow !== 'none';
             const what = `<${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}${el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : ''}> ${(el.textContent || el.value || el.getAttribute('aria-label') || '').trim().slice(0, 40)}`;
             return { shown: outline || !!shadow, what: `${what} (outline ${s.outlineStyle} ${s.outlineWidth}, box-shadow ${s.boxShadow})` };",
            vec![],
        )
        .await
        .unwrap();
    let what = state["what"].as_str().unwrap_or_default().to_owned();
    if state["shown"] == serde_json::Value::Bool(true) {
        Ok(what)
    } else {
        Err(what)
    }
}

/// Presses `keys` together (the first ones held, e.g. Shift then Tab), as the keyboard would.
async fn press(c: &Client, keys: &[Key]) {
    use fantoccini::actions::{InputSource, KeyAction, KeyActions};
    let mut actions = KeyActions::new("keyboard".into());
    for key in keys {
        actions = actions.then(KeyAction::Down {
            value: char::from(*key),
        });
    }
    for key in keys.iter().rev() {
        actions = actions.then(KeyAction::Up {
            value: char::from(*key),
        });
    }
    c.perform_actions(actions).await.unwrap();
}

/// Presses `keys` and checks that whatever then has the focus shows it.
async fn press_and_see(c: &Client, keys: &[Key]) -> String {
    press(c, keys).await;
    focus_shown(c)
        .await
        .unwrap_or_else(|what| panic!("after {keys:?} the focus is not visible: {what}"))
}

/// Presses Tab (or Shift+Tab, `back`) until the focused element matches `css`, checking at each
/// step that the focus is visible; at most `max` presses.
async fn tab_to(c: &Client, css: &str, back: bool) {
    let keys: &[Key] = if back {
        &[Key::Shift, Key::Tab]
    } else {
        &[Key::Tab]
    };
    let mut passed = Vec::new();
    for _ in 0..80 {
        if focused_is(c, css).await {
            return;
        }
        passed.push(press_and_see(c, keys).await);
    }
    panic!(
        "{css} never got the focus; Tab went through:\n{}",
        passed.join("\n")
    );
}

async fn focused_is(c: &Client, css: &str) -> bool {
    c.execute(
        "return !!document.activeElement?.matches(arguments[0]);",
        vec![serde_json::json!(css)],
    )
    .await
    .unwrap()
        == serde_json::Value::Bool(true)
}

/// Types `text` into the focused field, key by key.
async fn type_text(c: &Client, text: &str) {
    use fantoccini::actions::{InputSource, KeyAction, KeyActions};
    let mut actions = KeyActions::new("typing".into());
    for ch in text.chars() {
        actions = actions
            .then(KeyAction::Down { value: ch })
            .then(KeyAction::Up { value: ch });
    }
    c.perform_actions(actions).await.unwrap();
}

/// The must-show flow with the keyboard alone: unlock, connect the demo portal (its sign-in page
/// is completed over HTTP, as a browser outside the app would), sync, the home (where the window
/// has one) and the record, then a PDF saved from Export & share. Nothing is clicked; at every
/// key press the focused element shows its focus.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_sync_home_and_export_by_keyboard_alone() {
    use crate::e2e::{app, demo_patients, keyring_vault, shot, text, wait_for, wait_until};
    use ownrecord_demo_portal::{DemoPortal, Options};
    use ownrecord_testkit::browser::{self, Login};
    use ownrecord_testkit::webdriver::Driver;
    ownrecord_testkit::require_secret_service();
    let portal = DemoPortal::start_with_patients(
        "127.0.0.1:0".parse().unwrap(),
        &demo_patients(),
        Options::default(),
    )
    .await
    .unwrap();
    let work = tempfile::tempdir().unwrap();
    let vault = work.path().join("vault");
    keyring_vault(&vault);
    let driver = Driver::start(&[
        ("OWNRECORD_VAULT", vault.to_str().unwrap()),
        ("OWNRECORD_DEMO_PORTAL", &portal.fhir_base()),
    ]);
    let c = driver.session(&app()).await;

    // Unlock: Tab to the button, Enter.
    wait_for(&c, "#unlock-screen").await;
    tab_to(&c, "#unlock", false).await;
    press(&c, &[Key::Enter]).await;
    wait_for(&c, "#nav-connections").await;
    if c.find(Locator::Css("#recovery-offer")).await.is_ok() {
        tab_to(&c, "#recovery-not-now", false).await;
        press(&c, &[Key::Enter]).await;
        wait_for(&c, "#nav-connections").await;
    }

    // Connections, from the menu: the focus goes to its heading.
    tab_to(&c, "#nav-connections", false).await;
    press(&c, &[Key::Enter]).await;
    wait_until(&c, "document.activeElement?.textContent === 'Connections'").await;
    focus_shown(&c).await.unwrap();

    // "Try the demo portal"; the sign-in happens in the browser, outside the app.
    tab_to(&c, "#connect-demo", false).await;
    press(&c, &[Key::Enter]).await;
    wait_until(
        &c,
        "document.querySelector('#sign-in-url')?.textContent.startsWith('http')",
    )
    .await;
    let sign_in = text(&c, "#sign-in-url").await;
    let redirect = browser::sign_in(&sign_in, &Login::new("demo", "demo")).await;
    browser::visit(&redirect).await;
    wait_for(&c, ".connection .sync").await;
    shot(&c, "a11y-01-connected").await;

    // Sync: back up to its button (Shift+Tab), Enter.
    tab_to(&c, ".connection .sync", true).await;
    press(&c, &[Key::Enter]).await;
    wait_for(&c, ".status.done").await;
    assert!(text(&c, ".status.done").await.contains("new"));
    // The focus is still on the button (not lost to the page while the sync ran).
    assert!(
        focused_is(&c, ".connection .sync").await,
        "{:?}",
        focus_shown(&c).await
    );
    let family = portal.patients()[0]
        .name
        .split_whitespace()
        .last()
        .unwrap()
        .to_owned();

    // The home, where the window has one: it names the patient.
    if c.find(Locator::Css("#nav-home")).await.is_ok() {
        tab_to(&c, "#nav-home", true).await;
        press(&c, &[Key::Enter]).await;
        wait_until(
            &c,
            &format!("document.querySelector('#home h1')?.textContent.includes({family:?})"),
        )
        .await;
        // The focus went to its heading once it loaded.
        wait_until(&c, "document.activeElement?.matches('#home h1')").await;
        focus_shown(&c).await.unwrap();
        shot(&c, "a11y-02-home").await;
    }

    // The record: its heading, then one Tab stop for the tabs (arrows choose), the search, the
    // first entry; Enter shows its detail and takes the focus there.
    tab_to(&c, "#nav-record", true).await;
    press(&c, &[Key::Enter]).await;
    wait_until(&c, "document.activeElement?.textContent === 'My record'").await;
    wait_for(&c, "#items .item").await;
    tab_to(&c, "[role=tab][aria-selected=true]", false).await;
    for _ in 0..20 {
        if focused_is(&c, "#tab-labs").await {
            break;
        }
        press_and_see(&c, &[Key::Right]).await;
    }
    assert!(focused_is(&c, "#tab-labs[aria-selected=true]").await);
    wait_for(&c, "#items .item[data-type='Observation']").await;
    tab_to(&c, "#items .item", false).await;
    press_and_see(&c, &[Key::Down]).await;
    press_and_see(&c, &[Key::Up]).await;
    press(&c, &[Key::Enter]).await;
    wait_until(&c, "document.activeElement?.id === 'detail-title'").await;
    focus_shown(&c).await.unwrap();
    shot(&c, "a11y-03-record-detail").await;

    // Export & share: a path typed into "Save as", then "Save PDF summary".
    let pdf = work.path().join("by-keyboard.pdf");
    tab_to(&c, "#nav-export", true).await;
    press(&c, &[Key::Enter]).await;
    wait_until(
        &c,
        "document.activeElement?.textContent === 'Export & share'",
    )
    .await;
    tab_to(&c, "#export-path", false).await;
    type_text(&c, pdf.to_str().unwrap()).await;
    tab_to(&c, "#export-pdf", false).await;
    press(&c, &[Key::Enter]).await;
    wait_for(&c, "#export-done").await;
    assert!(std::fs::read(&pdf).unwrap().starts_with(b"%PDF"));
    assert!(
        text(&c, "#export-done").await.contains(&family),
        "the PDF is the patient's"
    );
    shot(&c, "a11y-04-exported").await;
    c.close().await.unwrap();
}

/// Text follows the system's font size: with the desktop's text scaled by 1.5 (GNOME's text
/// scaling factor, "Large text" and more, here in a GSettings key file), the window's text is
/// one and a half times as large, headings, body and buttons alike.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_text_follows_the_systems_font_size() {
    use crate::e2e::{app, wait_for};
    use ownrecord_testkit::webdriver::Driver;
    ownrecord_testkit::require_secret_service();
    let mut sizes = Vec::new();
    for factor in ["1.0", "1.5"] {
        let work = tempfile::tempdir().unwrap();
        let vault = work.path().join("vault");
        let config = work.path().join("config");
        std::fs::create_dir_all(config.join("glib-2.0/settings")).unwrap();
        std::fs::write(
            config.join("glib-2.0/settings/keyfile"),
            format!("[org/gnome/desktop/interface]\ntext-scaling-factor={factor}\n"),
        )
        .unwrap();
        let driver = Driver::start(&[
            ("OWNRECORD_VAULT", vault.to_str().unwrap()),
            ("XDG_CONFIG_HOME", config.to_str().unwrap()),
            ("GSETTINGS_BACKEND", "keyfile"),
        ]);
        let c = driver.session(&app()).await;
        wait_for(&c, "#first-run").await;
        let measured = c
            .execute(
                "const px = (css) => parseFloat(getComputedStyle(document.querySelector(css)).fontSize);
                 return [px('#first-run p'), px('#first-run h1'), px('#create-vault')];",
                vec![],
            )
            .await
            .unwrap();
        let measured: Vec<f64> = serde_json::from_value(measured).unwrap();
        crate::e2e::shot(&c, &format!("a11y-text-scaled-{factor}")).await;
        c.close().await.unwrap();
        sizes.push(measured);
    }
    assert_eq!(sizes[0][0], 15.0, "body text at the usual size: {sizes:?}");
    for (normal, large) in sizes[0].iter().zip(&sizes[1]) {
        assert!(
            (large / normal - 1.5).abs() < 0.05,
            "text scaled by 1.5 is 1.5 times as large: {sizes:?}"
        );
    }
}
