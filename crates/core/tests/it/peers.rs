//! Against real third-party software on loopback: npm `oidc-provider` as the authorization server
//! and a FHIR server built on `@medplum/fhir-router`, loaded with the Synthea samples
//! (tests/peers; `cargo xtask test` installs them).

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use ownrecord_core::portal::{ConnectRequest, ConnectionStatus};
use ownrecord_core::sync::SyncOptions;
use ownrecord_core::{Error, Vault};
use ownrecord_testkit::browser::{self, Login};
use serde::Deserialize;

use crate::keyring_vault;

#[derive(Debug, Deserialize)]
struct Ready {
    fhir_base: String,
    client_id: String,
    username: String,
    password: String,
    patient: String,
    control: String,
}

struct Peers {
    child: Child,
    ready: Ready,
}

impl Drop for Peers {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_peers(args: &[&str]) -> Peers {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/peers");
    assert!(
        dir.join("node_modules").is_dir(),
        "the test peers are not installed: run `npm ci --prefix tests/peers` (cargo xtask test does)"
    );
    let mut child = Command::new("node")
        .arg(dir.join("smart-peers.mjs"))
        .arg("--data")
        .arg(ownrecord_testkit::sample_dir())
        .args(["--patients", "2", "--exit-on-stdin-close"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("node runs");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let ready =
        serde_json::from_str(&line).unwrap_or_else(|_| panic!("peers did not start: {line:?}"));
    Peers { child, ready }
}

async fn connect(vault: &mut Vault, peers: &Peers) -> ownrecord_core::portal::Connection {
    let login = Login::new(&peers.ready.username, &peers.ready.password);
    let mut request = ConnectRequest::new(&peers.ready.fhir_base, &peers.ready.client_id);
    request.timeout = Duration::from_secs(30);
    vault
        .connect(request, move |url| {
            let url = url.to_owned();
            tokio::spawn(async move {
                let redirect = browser::sign_in(&url, &login).await;
                browser::visit(&redirect).await;
            });
            Ok(())
        })
        .await
        .unwrap()
}

/// The FHIR server's own list of the patient's resources, in the types OwnRecord syncs.
async fn ground_truth(peers: &Peers) -> BTreeSet<(String, String)> {
    let url = format!(
        "{}/patient-resources?patient={}",
        peers.ready.control, peers.ready.patient
    );
    let all: Vec<serde_json::Value> = reqwest::get(url).await.unwrap().json().await.unwrap();
    all.iter()
        .map(|r| {
            (
                r["resourceType"].as_str().unwrap().to_owned(),
                r["id"].as_str().unwrap().to_owned(),
            )
        })
        .filter(|(t, _)| ownrecord_core::fhir::in_patient_compartment(t))
        .collect()
}

fn stored(dir: &Path) -> BTreeSet<(String, String)> {
    crate::stored_from_portals(dir)
}

fn options() -> SyncOptions {
    SyncOptions {
        page_size: 10,
        retry_base: Duration::from_millis(50),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_stores_exactly_what_the_fhir_server_holds() {
    let peers = start_peers(&[]);
    let dir = tempfile::tempdir().unwrap();
    let mut vault = keyring_vault(dir.path());
    let connection = connect(&mut vault, &peers).await;
    assert_eq!(connection.patient_id, peers.ready.patient);

    let report = vault
        .sync(connection.id, options(), &mut |_| {})
        .await
        .unwrap();
    let truth = ground_truth(&peers).await;
    let got = stored(dir.path());
    let in_scope: BTreeSet<_> = got
        .iter()
        .filter(|(t, _)| ownrecord_core::fhir::in_patient_compartment(t))
        .cloned()
        .collect();
    assert_eq!(in_scope, truth, "exactly the patient's resources");
    assert!(
        got.difference(&truth)
            .all(|(t, _)| ownrecord_core::sync::REFERENCED_TYPES.contains(&t.as_str()))
    );
    assert!(
        report.pages as usize > truth.len() / 10,
        "many pages of 10: {}",
        report.pages
    );

    let again = vault
        .sync(connection.id, options(), &mut |_| {})
        .await
        .unwrap();
    assert_eq!((again.counts.new, again.counts.updated), (0, 0));
    assert!(
        vault.disconnect(connection.id).await.unwrap(),
        "revoked at oidc-provider"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_renew_at_oidc_provider_and_faults_are_survived() {
    let peers = start_peers(&["--access-token-ttl", "2"]);
    let dir = tempfile::tempdir().unwrap();
    let mut vault = keyring_vault(dir.path());
    let connection = connect(&mut vault, &peers).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    // Retry-After equal to the token's lifetime: the token expires while the faults are being
    // retried, so a renewal falls among them (it must not use up an attempt or hide a fault).
    let faults = serde_json::json!({"status429": 1, "retryAfter": 2, "status500": 2, "drop": 1, "malformed": 1});
    reqwest::Client::new()
        .post(format!("{}/faults", peers.ready.control))
        .json(&faults)
        .send()
        .await
        .unwrap();
    let report = vault
        .sync(connection.id, options(), &mut |_| {})
        .await
        .unwrap();
    assert!(report.retries >= 5, "retries: {}", report.retries);
    let truth = ground_truth(&peers).await;
    assert!(
        stored(dir.path()).is_superset(&truth),
        "the whole record arrived despite the faults"
    );

    // The portal ends every grant: the connection asks for sign-in again, nothing is lost.
    reqwest::Client::new()
        .post(format!("{}/revoke-all", peers.ready.control))
        .send()
        .await
        .unwrap();
    let before = vault.summary(None).unwrap();
    let e = vault
        .sync(connection.id, options(), &mut |_| {})
        .await
        .unwrap_err();
    assert!(matches!(e, Error::NeedsSignIn(_)), "{e}");
    assert_eq!(
        vault.connection(connection.id).unwrap().status,
        ConnectionStatus::NeedsSignIn
    );
    assert_eq!(vault.summary(None).unwrap(), before);
}

/// The registration OwnRecord makes at Epic (RFC 7591: this computer's public key, as a native
/// app), accepted by oidc-provider's registration endpoint (which checks the metadata, the JWK
/// Set among it, and refuses what is malformed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn this_computers_key_registers_at_oidc_provider() {
    let peers = start_peers(&[]);
    let issuer = peers.ready.fhir_base.clone();
    let client = reqwest::Client::new();
    let config: serde_json::Value = client
        .get(format!(
            "{}/.well-known/smart-configuration",
            peers.ready.fhir_base
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token_endpoint = config["token_endpoint"].as_str().unwrap();
    let origin = url::Url::parse(token_endpoint).unwrap();
    let discovery: serde_json::Value = client
        .get(origin.join("/.well-known/openid-configuration").unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let registration = discovery["registration_endpoint"].as_str().unwrap();
    let register = || {
        ownrecord_core::portal::device::register(
            &client,
            registration,
            "unused-by-an-open-registration",
            &peers.ready.client_id,
            "org.ownrecord.app:/callback",
            &issuer,
        )
    };
    let device = register().await.unwrap();
    assert!(!device.client_id.is_empty());
    // The private key stays here; the server holds its public half under the same key id.
    let private: serde_json::Value = serde_json::from_str(&device.key).unwrap();
    assert!(private["d"].is_string());
    // A second registration is another client: each computer its own.
    let again = register().await.unwrap();
    assert_ne!(again.client_id, device.client_id);
    // Metadata a server refuses is an error in words, not a panic: a web client cannot have a
    // private-use redirect.
    let refused = ownrecord_core::portal::device::register(
        &client,
        registration,
        "x",
        &peers.ready.client_id,
        "not a uri",
        &issuer,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(refused, Error::RegistrationRefused { .. }),
        "{refused:?}"
    );
}
