//! The home and the visits in the real app (see `e2e.rs` for the driver): unlocking a vault that
//! holds one Synthea sample patient shows, without a click, their name, allergies, current
//! medications and active problems, the same the PDF summary lists; a visit shows its diagnoses
//! and results, each opening its detail; bills and claims are a view of their own. Screenshots
//! `home` and `visit` (the README's) go to `target/e2e-artifacts/`.

use std::path::Path;

use fantoccini::Client;
use ownrecord_core::export::{self, Section, Selection};
use ownrecord_core::vault::browse::Category;
use ownrecord_core::vault::home::Home;
use ownrecord_core::vault::people::PersonChoice;
use ownrecord_core::vault::visits::Visit;
use ownrecord_testkit::webdriver::Driver;

use crate::e2e::{app, click, keyring_vault, shot, text, wait_for, wait_until};

/// The suffix the summary gives the patient's own rows; the home shows "added by me" instead.
const PATIENT_REPORTED: &str = " (patient-reported)";

/// What the test expects, read from the vault before the app opens it.
struct Expected {
    home: Home,
    /// The PDF summary's text, whitespace collapsed.
    pdf: String,
    /// A visit with diagnoses and results, and the page of days (20 a page) it is on.
    visit: Visit,
    visit_page: i64,
    bills: i64,
}

/// A keyring vault at `dir` holding one sample patient (and the hospitals and practitioners
/// their file names), closed again; what its home, PDF, visits and bills hold.
fn vault_of_one_patient(dir: &Path, pdf: &Path) -> Expected {
    let mut vault = keyring_vault(dir);
    let patient = ownrecord_testkit::patient_files()
        .into_iter()
        .find(|f| f.to_string_lossy().contains("Tressa_Bergstrom"))
        .expect("the sample patient Tressa Bergstrom");
    for file in ownrecord_testkit::support_files().iter().chain([&patient]) {
        vault
            .import_file(file, PersonChoice::New, &mut |_| {})
            .unwrap();
    }
    let person = vault.reading_person(None).unwrap();
    let home = vault.home(Some(person)).unwrap();
    export::export_pdf(
        &mut vault,
        &Selection {
            person: Some(person),
            ..Selection::default()
        },
        pdf,
    )
    .unwrap();
    let pdf = ownrecord_testkit::checkers::pdf_text(pdf);
    let mut found = None;
    'pages: for page in 0.. {
        let days = vault.visits(person, page * 20, 20).unwrap();
        assert!(!days.days.is_empty(), "no visit with diagnoses and results");
        for day in days.days {
            // The first visit of its day, so that the day's heading is in the screenshot.
            if let Some(visit) = day
                .visits
                .into_iter()
                .next()
                .filter(|v| !v.diagnoses.is_empty() && !v.results.is_empty())
            {
                found = Some((visit, page));
                break 'pages;
            }
        }
    }
    let (visit, visit_page) = found.unwrap();
    let bills = vault.list(person, Category::Bills, 0, 1).unwrap().total;
    Expected {
        home,
        pdf,
        visit,
        visit_page,
        bills,
    }
}

fn collapsed(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The text of every element `css` matches, in order.
async fn texts(c: &Client, css: &str) -> Vec<String> {
    let found = c
        .execute(
            &format!(
                "return [...document.querySelectorAll({css:?})].map(e => e.textContent.replace(/\\s+/g, ' ').trim());"
            ),
            vec![],
        )
        .await
        .unwrap();
    serde_json::from_value(found).unwrap()
}

/// The names a home table's rows give (its first cell), the patient's own without the suffix.
fn names(home: &Home, section: Section, active_only: bool) -> Vec<String> {
    let table = home.tables.iter().find(|t| t.section == section).unwrap();
    table
        .rows
        .iter()
        .filter(|r| !active_only || r.strong[0])
        .map(|r| collapsed(r.cells[0].trim_end_matches(PATIENT_REPORTED)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unlocking_shows_the_home_the_pdf_lists_and_a_visit_shows_what_happened() {
    ownrecord_testkit::require_secret_service();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("vault");
    let expected = vault_of_one_patient(&dir, &work.path().join("summary.pdf"));
    let home = &expected.home;
    assert!(home.name.contains("Bergstrom"), "{}", home.name);
    let driver = Driver::start(&[("OWNRECORD_VAULT", dir.to_str().unwrap())]);
    let c = driver.session(&app()).await;
    c.set_window_size(1280, 800).await.unwrap();
    click(&c, "#unlock").await;

    // Without a click: whose home it is, and their age.
    assert_eq!(text(&c, "#home-name").await, home.name);
    assert!(expected.pdf.contains(&collapsed(&home.name)));
    let age = text(&c, "#home-age").await;
    assert!(
        age.starts_with(&format!("{} years old", home.age.unwrap())),
        "{age}"
    );

    // The allergies first, then the medications and the active problems: the PDF's rows.
    let blocks = texts(&c, "#home .home-block > h2").await;
    assert_eq!(blocks[0], "Allergies and intolerances", "{blocks:?}");
    let row_names =
        |id: &str| format!("#home-{id} > table:not(#home-other-problems) tbody th button");
    for (id, section, active_only) in [
        ("allergies", Section::Allergies, false),
        ("medications", Section::Medications, false),
        ("problems", Section::Problems, true),
    ] {
        let want = names(home, section, active_only);
        let shown = texts(&c, &row_names(id)).await;
        assert_eq!(shown, want, "{id}");
        for name in &want {
            assert!(
                expected.pdf.contains(name),
                "{name} is on the home but not in the PDF"
            );
        }
        if want.is_empty() {
            let table = home.tables.iter().find(|t| t.section == section).unwrap();
            assert!(expected.pdf.contains(&table.empty), "{}", table.empty);
        }
    }
    assert_eq!(
        names(home, Section::Allergies, false).len(),
        3,
        "Tressa's three allergies"
    );
    assert!(!names(home, Section::Medications, false).is_empty());
    assert!(!names(home, Section::Problems, true).is_empty());
    // Each source with its last update.
    let sources = text(&c, "#home-sources").await;
    assert!(sources.contains("last updated"), "{sources}");
    shot(&c, "home").await;
    // In the smallest window the app allows, nothing spills out sideways.
    c.set_window_size(1024, 700).await.unwrap();
    wait_until(&c, "window.innerWidth <= 1024").await;
    wait_until(
        &c,
        "document.querySelector('#content').scrollWidth <= document.querySelector('#content').clientWidth",
    )
    .await;
    c.set_window_size(1280, 800).await.unwrap();
    crate::a11y::assert_accessible(&c, "home").await;
    c.execute(
        "document.querySelector('#home-show-other-problems').click();",
        vec![],
    )
    .await
    .unwrap();
    crate::a11y::assert_accessible(&c, "home, other problems").await;

    // A visit: its diagnoses and results, grouped under it.
    click(&c, "#nav-visits").await;
    wait_until(&c, "document.querySelectorAll('.visit-day').length > 0").await;
    for page in 1..=expected.visit_page {
        click(&c, "#visits-more").await;
        wait_until(
            &c,
            &format!(
                "document.querySelectorAll('.visit-day').length > {}",
                page * 20
            ),
        )
        .await;
    }
    let visit = &expected.visit;
    let card = format!(".visit[data-id={:?}]", visit.visit.id);
    // In view with its day's heading when it is the day's first visit.
    c.execute(
        &format!(
            "const card = document.querySelector({card:?}); const day = card.closest('.visit-day'); \
             (day.querySelector('.visit') === card ? day : card).scrollIntoView();"
        ),
        vec![],
    )
    .await
    .unwrap();
    let displays = |items: &[ownrecord_core::vault::browse::ListItem]| -> Vec<String> {
        items.iter().map(|i| collapsed(&i.display)).collect()
    };
    assert_eq!(
        texts(&c, &format!("{card} .visit-diagnoses .entry .label")).await,
        displays(&visit.diagnoses)
    );
    assert_eq!(
        texts(&c, &format!("{card} .visit-results .entry .label")).await,
        displays(&visit.results)
    );
    assert_eq!(
        text(&c, &format!("{card} h3 .visit-open")).await,
        collapsed(&visit.visit.display)
    );
    shot(&c, "visit").await;
    crate::a11y::assert_accessible(&c, "visits").await;

    // A result opens its detail, by the keyboard (WebDriver's Enter key).
    let result = &visit.results[0];
    wait_for(
        &c,
        &format!("{card} .visit-results .entry[data-id={:?}]", result.id),
    )
    .await
    .send_keys("\u{E007}")
    .await
    .unwrap();
    wait_until(
        &c,
        &format!(
            "document.querySelector('#detail-title')?.textContent === {:?}",
            result.display
        ),
    )
    .await;
    wait_for(&c, "#items .item").await;

    // Bills and claims: a view of their own.
    assert!(expected.bills > 0);
    click(&c, "#nav-bills").await;
    wait_until(
        &c,
        &format!(
            "document.querySelector('#bills-count')?.textContent.startsWith('{} ')",
            expected.bills
        ),
    )
    .await;
    crate::a11y::assert_accessible(&c, "bills").await;
    c.close().await.unwrap();
}
