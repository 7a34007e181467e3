//! Architecture invariants, checked on the real dependency graph:
//! the core knows nothing of Tauri or the terminal; the CLI and shell know nothing of SQL.

use std::process::Command;

/// Direct and transitive normal dependencies of a workspace package, as crate names.
fn dependencies(package: &str, depth: Option<u32>) -> Vec<String> {
    let mut cmd = Command::new(env!("CARGO"));
    cmd.args([
        "tree", "--quiet", "-p", package, "-e", "normal", "--prefix", "none",
    ])
    .current_dir(env!("CARGO_MANIFEST_DIR"));
    if let Some(d) = depth {
        cmd.args(["--depth", &d.to_string()]);
    }
    let out = cmd.output().expect("cargo tree runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect()
}

#[test]
fn the_core_has_no_tauri_and_no_terminal_code() {
    let deps = dependencies("ownrecord-core", None);
    assert!(
        deps.iter().any(|d| d == "rusqlite"),
        "the graph was read: {deps:?}"
    );
    for banned in ["tauri", "wry", "tao", "clap", "indicatif", "rpassword"] {
        assert!(
            !deps.iter().any(|d| d == banned),
            "ownrecord-core depends on {banned}"
        );
    }
}

#[test]
fn the_cli_and_the_shell_reach_sql_only_through_the_core() {
    for package in ["ownrecord-cli", "ownrecord-desktop"] {
        let direct = dependencies(package, Some(1));
        assert!(
            direct.iter().any(|d| d == "ownrecord-core"),
            "{package}: {direct:?}"
        );
        assert!(
            !direct.iter().any(|d| d == "rusqlite"),
            "{package} uses SQL directly"
        );
    }
}
