//! The UI's TypeScript bindings are generated from the Rust types the IPC carries; the committed
//! files must match (regenerate with `UPDATE_BINDINGS=1 cargo test --test workspace bindings`).

use std::collections::BTreeMap;
use std::path::Path;

/// Every `.ts` file under `dir`, by path relative to it.
fn read_dir(dir: &Path) -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(folder) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for path in entries.map(|e| e.unwrap().path()) {
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "ts") {
                let name = path
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                files.insert(name, std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    files
}

#[test]
fn committed_typescript_bindings_match_the_rust_types() {
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("ui/src/bindings");
    let fresh = tempfile::tempdir().unwrap();
    ownrecord_desktop::export_bindings(fresh.path()).unwrap();
    let generated = read_dir(fresh.path());
    assert!(generated.len() > 15, "bindings were generated");
    if std::env::var_os("UPDATE_BINDINGS").is_some() {
        let _ = std::fs::remove_dir_all(&committed);
        std::fs::create_dir_all(&committed).unwrap();
        for (name, text) in &generated {
            let path = committed.join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
    }
    assert_eq!(
        read_dir(&committed),
        generated,
        "ui/src/bindings drifted from the Rust types: run UPDATE_BINDINGS=1 cargo test --test workspace bindings"
    );
}
