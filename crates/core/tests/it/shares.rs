//! Links through a share host: the real `ownrecord-share-host` router on 127.0.0.1:0 in this
//! process (every request it receives recorded), a viewer's requests over HTTP (manifest with
//! recipient and passcode, then the files), kill-the-clipboard from tests/peers, the disclosure
//! log, and revocation.

use std::path::Path;

use base64::Engine;
use std::sync::atomic::AtomicI64;
use std::sync::{Arc, Mutex};

use ownrecord_core::audit::{AuditKind, Filter};
use ownrecord_core::export::{self, HostLink, Selection, ShareRequest, shl};
use ownrecord_core::vault::people::PersonChoice;
use ownrecord_core::{Error, Vault};
use ownrecord_share_host::store::{self, Store};
use ownrecord_share_host::{AppState, Clock, PeerAddr, Settings, secret};
use serde_json::{Value, json};
use zeroize::Zeroizing;

use crate::{keyring_vault, no_progress};

pub(crate) const PASSCODE: &str = "lee-4321-ok";

/// Every request the host received, as bytes: method, path and query, headers, body.
pub(crate) type Requests = Arc<Mutex<Vec<Vec<u8>>>>;

pub(crate) struct Host {
    pub base: String,
    pub owner: String,
    /// The host's clock (Unix seconds), for a test to move.
    pub clock: Arc<AtomicI64>,
    /// The host's data folder.
    pub dir: tempfile::TempDir,
    pub requests: Requests,
}

impl Host {
    /// Whether `needle` is in any request the host received.
    pub fn received(&self, needle: &[u8]) -> bool {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .any(|r| ownrecord_testkit::contains(r, needle))
    }
}

async fn record_request(
    axum::extract::State(log): axum::extract::State<Requests>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 64 << 20).await.unwrap();
    let mut seen = format!("{} {}\n", parts.method, parts.uri).into_bytes();
    for (name, value) in &parts.headers {
        seen.extend_from_slice(name.as_str().as_bytes());
        seen.extend_from_slice(b": ");
        seen.extend_from_slice(value.as_bytes());
        seen.push(b'\n');
    }
    seen.extend_from_slice(&body);
    log.lock().unwrap().push(seen);
    next.run(axum::extract::Request::from_parts(
        parts,
        axum::body::Body::from(body),
    ))
    .await
}

/// The share host with the vault's clock, and one owner token.
async fn start_host() -> Host {
    start_host_at(time::macros::datetime!(2026-11-23 12:00 UTC).unix_timestamp()).await
}

/// The share host with its clock at `now`, one owner token, and every request it receives
/// recorded.
pub(crate) async fn start_host_at(now: i64) -> Host {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let owner = secret::random_token().unwrap();
    let hash = secret::token_hash(&owner);
    store
        .run_sync(move |c| store::add_owner_token(c, &hash, now))
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let clock = Arc::new(AtomicI64::new(now));
    let state = AppState::new(
        store,
        Settings::new(&base),
        Clock::Manual(Arc::clone(&clock)),
    );
    let requests: Requests = Arc::default();
    let app = ownrecord_share_host::app(state).layer(axum::middleware::from_fn_with_state(
        Arc::clone(&requests),
        record_request,
    ));
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<PeerAddr>(),
        )
        .await
    });
    Host {
        base,
        owner,
        clock,
        dir,
        requests,
    }
}

pub(crate) fn sample_vault(dir: &Path) -> Vault {
    sample_vault_with(keyring_vault(dir))
}

/// `vault` with the sample patient Tressa Bergstrom imported.
pub(crate) fn sample_vault_with(mut vault: Vault) -> Vault {
    let patient = ownrecord_testkit::patient_files()
        .into_iter()
        .find(|f| f.to_string_lossy().contains("Tressa_Bergstrom"))
        .unwrap();
    for file in ownrecord_testkit::support_files().iter().chain([&patient]) {
        vault
            .import_file(file, PersonChoice::New, &mut no_progress())
            .unwrap();
    }
    vault
}

pub(crate) fn share_rows(vault: &Vault) -> Vec<Value> {
    vault
        .audit_entries(&Filter {
            kinds: vec![AuditKind::Share],
        })
        .unwrap()
        .into_iter()
        .map(|e| e.details)
        .collect()
}

pub(crate) fn request() -> ShareRequest {
    ShareRequest {
        // Shared with the practice; the viewer declares the doctor.
        recipient: "Lee Cardiology".into(),
        purpose: "Second opinion".into(),
        selection: Selection::default(),
        expires_in_days: Some(7),
        link: None,
    }
}

pub(crate) fn via(host: &str, passcode: Option<&str>) -> HostLink {
    HostLink {
        host: host.to_owned(),
        passcode: passcode.map(|p| Zeroizing::new(p.to_owned())),
        max_uses: None,
    }
}

/// What a viewer does: the manifest (recipient, passcode), then the file at its location.
async fn open_as_viewer(link: &str, recipient: &str, passcode: &str) -> Result<Value, u16> {
    let payload = shl::parse(link).unwrap();
    let http = reqwest::Client::new();
    let manifest = http
        .post(&payload.url)
        .json(&json!({"recipient": recipient, "passcode": passcode}))
        .send()
        .await
        .unwrap();
    if !manifest.status().is_success() {
        return Err(manifest.status().as_u16());
    }
    let manifest: Value = manifest.json().await.unwrap();
    let location = manifest["files"][0]["location"].as_str().unwrap();
    let jwe = http
        .get(location)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let content = shl::decrypt(&payload, &jwe).unwrap();
    Ok(serde_json::from_slice(&content).unwrap())
}

/// kill-the-clipboard's SHLViewer (tests/peers/shl-resolve.mjs), declaring `recipient`.
fn resolve_with_kill_the_clipboard(link: &str, recipient: &str, passcode: &str) -> (bool, Value) {
    let peers = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/peers");
    let out = std::process::Command::new("node")
        .arg(peers.join("shl-resolve.mjs"))
        .arg(link)
        .args(["--recipient", recipient, "--passcode", passcode])
        .output()
        .expect("node runs");
    let report = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.success(), report)
}

fn patient_family(bundle: &Value) -> String {
    bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["resource"])
        .find(|r| r["resourceType"] == "Patient")
        .map(|p| p["name"][0]["family"].as_str().unwrap().to_owned())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_link_opens_for_the_recipient_its_opens_are_logged_once_and_revoke_ends_it() {
    let host = start_host().await;
    let dir = tempfile::tempdir().unwrap();
    let mut vault = sample_vault(&dir.path().join("vault"));
    vault
        .add_share_host(&format!("{}/", host.base), &host.owner)
        .unwrap();
    assert_eq!(vault.share_hosts().unwrap()[0].url, host.base);
    assert!(
        !serde_json::to_string(&vault.share_hosts().unwrap())
            .unwrap()
            .contains(&host.owner),
        "the owner token is never shown"
    );

    let out = dir.path().join("for-dr-lee.age");
    // No expiry: kill-the-clipboard reads `exp` by the real clock, the vault's is fixed.
    let request = ShareRequest {
        expires_in_days: None,
        ..request()
    };
    let shared = export::share_via(
        &mut vault,
        &request,
        Some(&via(&host.base, Some(PASSCODE))),
        &out,
    )
    .await
    .unwrap();
    assert_eq!(
        shared.passcode.as_str(),
        PASSCODE,
        "one passcode for the share"
    );
    let link = shared.link.as_ref().unwrap();
    // The host's viewer before the fragment, so a phone camera opens the viewer.
    assert!(
        link.text
            .starts_with(&format!("{}/view#shlink:/", host.base)),
        "{}",
        link.text
    );
    let payload = shl::parse(&link.text).unwrap();
    assert_eq!(payload.flag, "P");
    assert!(payload.url.starts_with(&format!("{}/shl/", host.base)));
    assert!(link.passcode_required && link.host.as_deref() == Some(host.base.as_str()));
    assert!(link.encrypted_file.is_none());

    // Pending before the upload, completed after, for the same share.
    let rows = share_rows(&vault);
    let pending = rows
        .iter()
        .position(|r| r["event"] == "pending" && r["share_id"] == shared.id.as_str())
        .unwrap();
    let completed = rows
        .iter()
        .position(|r| r["event"] == "completed" && r["share_id"] == shared.id.as_str())
        .unwrap();
    assert!(pending < completed);
    assert_eq!(rows[completed]["link"]["host"], host.base.as_str());

    // A wrong passcode is refused; the viewer, then kill-the-clipboard, open it as "Dr. Lee".
    assert_eq!(
        open_as_viewer(&link.text, "Dr. Lee", "wrong-passcode").await,
        Err(401)
    );
    let bundle = open_as_viewer(&link.text, "Dr. Lee", PASSCODE)
        .await
        .unwrap();
    assert_eq!(bundle["resourceType"], "Bundle");
    assert!(
        patient_family(&bundle).starts_with("Bergstrom"),
        "{}",
        patient_family(&bundle)
    );
    let text = link.text.clone();
    let (ok, report) = tokio::task::spawn_blocking(move || {
        resolve_with_kill_the_clipboard(&text, "Dr. Lee", PASSCODE)
    })
    .await
    .unwrap();
    assert!(ok, "kill-the-clipboard resolves the link: {report}");
    assert_eq!(report["files"][0]["content"], bundle);
    assert_eq!(report["flag"], "P");
    // The second file: the share's PDF as a DocumentReference, under the same key.
    let files = report["files"].as_array().unwrap();
    assert_eq!(files.len(), 2, "{report}");
    let document = &files[1]["content"];
    assert_eq!(document["resourceType"], "DocumentReference");
    let attachment = &document["content"][0]["attachment"];
    assert_eq!(attachment["contentType"], "application/pdf");
    let pdf = base64::engine::general_purpose::STANDARD
        .decode(attachment["data"].as_str().unwrap())
        .unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    let pdf_row = &rows[completed]["link"]["pdf_sha256"];
    assert_eq!(pdf_row, &json!(export::sha256_hex(&pdf)));
    // The key never reached the host: not in any request, not in its data folder.
    assert!(!host.received(payload.key.as_bytes()));
    assert!(
        ownrecord_testkit::scan_dir(host.dir.path(), std::slice::from_ref(&payload.key)).is_empty()
    );

    // refresh: each open is a disclosure row naming the declared recipient; twice records once.
    let refreshed = vault.refresh_shares().await.unwrap();
    assert_eq!((refreshed.checked, refreshed.new_opens), (1, 2));
    assert_eq!(refreshed.new_refusals, 1);
    assert!(refreshed.failed.is_empty());
    let again = vault.refresh_shares().await.unwrap();
    assert_eq!((again.new_opens, again.new_refusals), (0, 0));
    let rows = share_rows(&vault);
    let opened: Vec<&Value> = rows.iter().filter(|r| r["event"] == "opened").collect();
    assert_eq!(opened.len(), 2);
    for row in &opened {
        assert_eq!(row["recipient"], "Dr. Lee");
        assert_eq!(row["shared_with"], "Lee Cardiology");
        assert_eq!(row["share_id"], shared.id.as_str());
        assert!(
            row["text"]
                .as_str()
                .unwrap()
                .starts_with("opened by 'Dr. Lee' at 2026-11-23")
        );
    }
    assert_eq!(rows.iter().filter(|r| r["event"] == "refused").count(), 1);
    vault.verify_audit().unwrap();
    let listed = vault.shares().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].status, "active");
    assert_eq!(listed[0].opens.len(), 2);
    assert_eq!(listed[0].opens[0].recipient.as_deref(), Some("Dr. Lee"));

    // Neither the link key nor the management token is in the log or the listing.
    let log = serde_json::to_string(&rows).unwrap() + &serde_json::to_string(&listed).unwrap();
    assert!(!log.contains(&payload.key));
    assert!(!log.contains(PASSCODE));
    assert!(!log.contains(&host.owner));

    // Revoke: the host answers 404, the share says so, and it is in the log.
    let revoked = vault.revoke_share(&shared.id).await.unwrap();
    assert_eq!(revoked.status, "revoked");
    assert_eq!(
        open_as_viewer(&link.text, "Dr. Lee", PASSCODE).await,
        Err(404)
    );
    assert_eq!(vault.shares().unwrap()[0].status, "revoked");
    assert_eq!(share_rows(&vault).last().unwrap()["event"], "revoked");
    assert!(matches!(
        vault.revoke_share(&shared.id).await,
        Err(Error::ShareRevoked(_))
    ));
    assert!(matches!(
        vault.revoke_share("nosuchshare").await,
        Err(Error::UnknownShare(_))
    ));
    // A revoked share is not asked about again.
    assert_eq!(vault.refresh_shares().await.unwrap().checked, 0);
    vault.verify_audit().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_without_a_passcode_opens_without_one() {
    let host = start_host().await;
    let dir = tempfile::tempdir().unwrap();
    let mut vault = sample_vault(&dir.path().join("vault"));
    vault.add_share_host(&host.base, &host.owner).unwrap();
    let shared = export::share_via(
        &mut vault,
        &request(),
        Some(&via(&host.base, None)),
        &dir.path().join("open.age"),
    )
    .await
    .unwrap();
    let link = shared.link.unwrap();
    let payload = shl::parse(&link.text).unwrap();
    assert_eq!(payload.flag, "");
    // Seven days by the vault's clock, in the link and at the host.
    let in_a_week = time::macros::datetime!(2026-11-30 12:00 UTC).unix_timestamp();
    assert_eq!(payload.exp, Some(in_a_week));
    assert_eq!(
        vault.shares().unwrap()[0].expires.as_deref(),
        shared.expires.as_deref()
    );
    assert!(!link.passcode_required);
    assert!(
        shared.passcode.len() >= 25,
        "the package gets a generated passcode"
    );
    let bundle = open_as_viewer(&link.text, "Nurse Kim", "").await.unwrap();
    assert_eq!(bundle["resourceType"], "Bundle");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_owner_token_leaves_a_failed_row_and_nothing_else() {
    let host = start_host().await;
    let dir = tempfile::tempdir().unwrap();
    let mut vault = sample_vault(&dir.path().join("vault"));
    vault
        .add_share_host(&host.base, "not-the-owner-token")
        .unwrap();
    let before = share_rows(&vault).len();
    let out = dir.path().join("refused.age");
    let err = export::share_via(
        &mut vault,
        &request(),
        Some(&via(&host.base, Some(PASSCODE))),
        &out,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::HostRefused(_)), "{err}");
    assert_eq!(err.code(), "host_refused_token");
    assert!(err.to_string().contains("refused the token"), "{err}");
    let rows = share_rows(&vault);
    assert_eq!(rows.len(), before + 2, "{rows:?}");
    assert_eq!(rows[before]["event"], "pending");
    assert_eq!(rows[before + 1]["event"], "failed");
    assert_eq!(rows[before]["share_id"], rows[before + 1]["share_id"]);
    assert!(vault.shares().unwrap().is_empty());
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("refused") || n.starts_with(".ownrecord"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    vault.verify_audit().unwrap();

    // A host never added, and one that does not answer: nothing written at all / a failed row.
    let before = share_rows(&vault).len();
    let err = export::share_via(
        &mut vault,
        &request(),
        Some(&via("https://share.example.org", None)),
        &out,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::UnknownHost(_)), "{err}");
    assert_eq!(share_rows(&vault).len(), before);
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let gone = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    vault.add_share_host(&gone, &host.owner).unwrap();
    let err = export::share_via(&mut vault, &request(), Some(&via(&gone, None)), &out)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::HostUnreachable { .. }), "{err}");
    assert_eq!(share_rows(&vault).last().unwrap()["event"], "failed");
    assert!(!out.exists());
    vault.remove_share_host(&gone).unwrap();
    assert!(matches!(
        vault.remove_share_host(&gone),
        Err(Error::UnknownHost(_))
    ));
}

/// The largest sample record's share (its IPS and its PDF, both as JWEs) fits in the host's
/// default create limit, through the real host.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_largest_sample_records_link_fits_the_hosts_create_limit() {
    let largest = ownrecord_testkit::patient_files()
        .into_iter()
        .max_by_key(|p| std::fs::metadata(p).unwrap().len())
        .unwrap();
    let host = start_host().await;
    let dir = tempfile::tempdir().unwrap();
    let mut vault = keyring_vault(&dir.path().join("vault"));
    for file in ownrecord_testkit::support_files().iter().chain([&largest]) {
        vault
            .import_file(file, PersonChoice::New, &mut no_progress())
            .unwrap();
    }
    vault.add_share_host(&host.base, &host.owner).unwrap();
    let shared = export::share_via(
        &mut vault,
        &request(),
        Some(&via(&host.base, Some(PASSCODE))),
        &dir.path().join("largest.age"),
    )
    .await
    .unwrap();
    let create = host
        .requests
        .lock()
        .unwrap()
        .iter()
        .find(|r| r.starts_with(b"POST /api/links\n"))
        .map(Vec::len)
        .unwrap();
    let limit = Settings::new(&host.base).create_body_max;
    eprintln!(
        "largest record: {} ({} bytes of PDF), create request {create} bytes, limit {limit}",
        largest.display(),
        shared.manifest.files[0].bytes
    );
    assert!(
        create * 4 < limit,
        "a quarter of the limit at most: {create} of {limit}"
    );
}

/// A PDF given to someone is a disclosure to them and a share on the list (given: a file cannot
/// be taken back), not the patient's own export.
#[test]
fn a_pdf_given_to_someone_is_logged_as_a_share_to_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut vault = sample_vault(&dir.path().join("vault"));
    let out = dir.path().join("for-dr-lee.pdf");
    let mut request = request();
    request.expires_in_days = None;
    let shared = export::share_pdf(&mut vault, &request, &out).unwrap();
    let bytes = std::fs::read(&out).unwrap();
    assert!(bytes.starts_with(b"%PDF-"));
    let rows = share_rows(&vault);
    let row = rows.last().unwrap();
    assert_eq!(row["recipient"], "Lee Cardiology");
    assert_eq!(row["purpose"], "Second opinion");
    assert_eq!(row["what"], "PDF summary");
    assert_eq!(row["share_id"], shared.id.as_str());
    assert_eq!(
        row["content_sha256"],
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes))
    );
    let shares = vault.shares().unwrap();
    assert_eq!(shares.len(), 1);
    assert_eq!(shares[0].id, shared.id);
    assert_eq!(shares[0].status, "given");
    assert_eq!(shares[0].recipient, "Lee Cardiology");
    // No export row: it went to someone else.
    let exports = vault
        .audit_entries(&Filter {
            kinds: vec![AuditKind::Export],
        })
        .unwrap();
    assert!(exports.is_empty(), "{exports:?}");
    vault.verify_audit().unwrap();
}
