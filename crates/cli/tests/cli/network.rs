//! Nothing leaves the laptop but to the portal the patient connected: every socket the CLI opens
//! during `connect` and `sync`, recorded with strace, goes to that portal (the Secret Service is
//! reached over D-Bus's Unix socket, which is not a network).

use std::path::Path;
use std::process::Command;

use crate::sync::{connect_as, start_portal};
use crate::{init, run_expecting};

fn traced(vault: &Path, log: &Path) -> Command {
    let mut cmd = Command::new("strace");
    cmd.args(["-f", "-qq", "-e", "trace=connect", "-o"])
        .arg(log)
        .arg("--")
        .arg(env!("CARGO_BIN_EXE_ownrecord"))
        .arg("--vault")
        .arg(vault)
        .env_remove("OWNRECORD_PASSPHRASE")
        .env_remove("OWNRECORD_VAULT");
    cmd
}

#[test]
fn connect_and_sync_reach_only_the_chosen_portal() {
    let portal = start_portal();
    let base = portal.portal.fhir_base();
    let port = url::Url::parse(&base).unwrap().port().unwrap();
    let work = tempfile::tempdir().unwrap();
    let vault = work.path().join("vault");
    init(&vault);

    let connect_log = work.path().join("connect.strace");
    let mut cmd = traced(&vault, &connect_log);
    cmd.args(["--json", "connect", "--no-browser"]).arg(&base);
    connect_as(cmd, &portal);
    let sync_log = work.path().join("sync.strace");
    run_expecting(traced(&vault, &sync_log).arg("sync"), 0);

    for log in [connect_log, sync_log] {
        let text = std::fs::read_to_string(&log).unwrap();
        let network: Vec<&str> = text
            .lines()
            .filter(|l| l.contains("AF_INET") || l.contains("AF_INET6"))
            .collect();
        assert!(
            !network.is_empty(),
            "{}: the portal was reached",
            log.display()
        );
        for line in network {
            assert!(
                line.contains("\"127.0.0.1\"") && line.contains(&format!("htons({port})")),
                "{}: a connection to something else than the portal: {line}",
                log.display()
            );
        }
    }
}
