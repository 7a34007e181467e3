//! README's screenshots stay true: each one it shows is in `docs/screenshots/`, is a PNG, and is
//! taken by an end-to-end test (a `shot(&c, "NAME")` in tests/), so `cargo xtask screenshots`
//! after a test run replaces it with what the app shows now.

use std::path::Path;

#[test]
fn every_readme_screenshot_is_taken_by_an_end_to_end_test() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let shown: Vec<&str> = readme
        .split("(docs/screenshots/")
        .skip(1)
        .filter_map(|rest| rest.split_once(".png)").map(|(name, _)| name))
        .collect();
    assert!(
        shown.len() >= 4,
        "home, a visit, a chart, the share wizard: {shown:?}"
    );
    let mut tests = String::new();
    for entry in std::fs::read_dir(root.join("tests")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rs") {
            tests += &std::fs::read_to_string(&path).unwrap();
        }
    }
    for name in shown {
        let png = std::fs::read(root.join(format!("docs/screenshots/{name}.png")))
            .unwrap_or_else(|e| panic!("docs/screenshots/{name}.png: {e}"));
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "{name} is a PNG");
        assert!(
            tests.contains(&format!("shot(&c, \"{name}\")")),
            "no end-to-end test takes the screenshot {name}"
        );
    }
}
