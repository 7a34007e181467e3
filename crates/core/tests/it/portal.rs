//! Connecting and syncing a portal, against the demo portal on loopback: the browser leg is driven
//! with plain HTTP, the vault and keyring are real.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ownrecord_core::portal::{ConnectRequest, Connection, ConnectionStatus};
use ownrecord_core::sync::SyncOptions;
use ownrecord_core::{Error, Vault};
use ownrecord_demo_portal::{DemoPortal, Fault, Options};
use ownrecord_testkit::browser::{self, Login};

use crate::{keyring_vault, raw_connection};

fn demo_patients() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/demo-patients")
}

pub(crate) async fn start(options: Options) -> DemoPortal {
    DemoPortal::start_with_patients("127.0.0.1:0".parse().unwrap(), &demo_patients(), options)
        .await
        .unwrap()
}

fn demo_login() -> Login {
    Login::new(
        ownrecord_demo_portal::DEMO_USERNAME,
        ownrecord_demo_portal::DEMO_PASSWORD,
    )
}

/// What the browser does with the portal's final redirect to the app.
#[derive(Clone, Copy)]
enum Callback {
    AsSent,
    WrongState,
    NoCode,
    OtherPathFirst,
}

async fn connect_with(
    vault: &mut Vault,
    portal: &DemoPortal,
    login: Login,
    callback: Callback,
) -> Result<Connection, Error> {
    let mut request =
        ConnectRequest::new(&portal.fhir_base(), ownrecord_demo_portal::DEMO_CLIENT_ID);
    request.timeout = Duration::from_secs(20);
    vault
        .connect(request, move |url| {
            let url = url.to_owned();
            tokio::spawn(async move {
                let redirect = browser::sign_in(&url, &login).await;
                let mut target = url::Url::parse(&redirect).unwrap();
                match callback {
                    Callback::AsSent => {}
                    Callback::WrongState => {
                        let pairs: Vec<(String, String)> = target
                            .query_pairs()
                            .map(|(k, v)| {
                                let v = if k == "state" {
                                    "forged".into()
                                } else {
                                    v.into_owned()
                                };
                                (k.into_owned(), v)
                            })
                            .collect();
                        target.query_pairs_mut().clear().extend_pairs(pairs);
                    }
                    Callback::NoCode => {
                        let pairs: Vec<(String, String)> = target
                            .query_pairs()
                            .filter(|(k, _)| k != "code")
                            .map(|(k, v)| (k.into_owned(), v.into_owned()))
                            .collect();
                        target.query_pairs_mut().clear().extend_pairs(pairs);
                    }
                    Callback::OtherPathFirst => {
                        let mut other = target.clone();
                        other.set_path("/elsewhere");
                        assert_eq!(browser::visit(other.as_str()).await, 404);
                    }
                }
                browser::visit(target.as_str()).await;
            });
            Ok(())
        })
        .await
}

pub(crate) async fn connect(vault: &mut Vault, portal: &DemoPortal) -> Connection {
    connect_with(vault, portal, demo_login(), Callback::AsSent)
        .await
        .unwrap()
}

pub(crate) fn fast_retries() -> SyncOptions {
    SyncOptions {
        retry_base: Duration::from_millis(20),
        ..Default::default()
    }
}

/// (type, id) of every resource stored from the portal.
fn stored(dir: &Path) -> BTreeSet<(String, String)> {
    crate::stored_from_portals(dir)
}

/// What the portal holds for the patient in the types OwnRecord syncs.
fn expected(portal: &DemoPortal, patient: &str) -> BTreeSet<(String, String)> {
    portal
        .patient_resources(patient)
        .into_iter()
        .filter(|(t, _)| ownrecord_core::fhir::in_patient_compartment(t))
        .collect()
}

fn tokens(dir: &Path) -> (String, String) {
    raw_connection(dir)
        .query_row(
            "SELECT access_token, refresh_token FROM connections",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_sync_and_resync_the_demo_portal() {
    let portal = start(Options {
        page_size: 7,
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let mut vault = keyring_vault(dir.path());
    let connection = connect(&mut vault, &portal).await;
    assert_eq!(connection.status, ConnectionStatus::Connected);
    assert_eq!(connection.patient_id, portal.patients()[0].id);
    assert!(connection.scopes.contains("patient/*.rs"));

    let mut events = 0;
    let small_pages = SyncOptions {
        page_size: 5,
        ..fast_retries()
    };
    let report = vault
        .sync(connection.id, small_pages, &mut |_| events += 1)
        .await
        .unwrap();
    let expected = expected(&portal, &connection.patient_id);
    let got = stored(dir.path());
    assert!(
        got.is_superset(&expected),
        "missing: {:?}",
        expected.difference(&got).collect::<Vec<_>>()
    );
    let extra: Vec<_> = got.difference(&expected).collect();
    assert!(
        extra
            .iter()
            .all(|(t, _)| t == "Organization" || t == "Practitioner"),
        "only referenced resources besides the compartment: {extra:?}"
    );
    // Not only US Core: every compartment type the portal searches by patient, claims included.
    for t in ["Claim", "ExplanationOfBenefit"] {
        assert!(got.iter().any(|(g, _)| g == t), "{t} synced");
    }
    assert!(report.referenced > 0);
    // Pages of at most 5: the whole record only arrives by following `next` links.
    assert!(
        report.pages >= expected.len() as u64 / 5 && report.pages > 10,
        "paged: {} pages for {} resources",
        report.pages,
        expected.len()
    );
    assert_eq!(events as u64, report.pages);
    assert!(!report.incremental);
    // The visit note's attachment (a Binary fetched by URL) is in the vault, unwrapped.
    assert_eq!(report.attachments, 1);
    let (content_type, data): (String, Vec<u8>) = raw_connection(dir.path())
        .query_row("SELECT content_type, data FROM attachments", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(content_type, "text/plain");
    assert!(
        String::from_utf8(data)
            .unwrap()
            .starts_with("Visit note for ")
    );

    let again = vault
        .sync(connection.id, fast_retries(), &mut |_| {})
        .await
        .unwrap();
    assert!(again.incremental);
    assert_eq!(
        (again.counts.new, again.counts.updated),
        (0, 0),
        "a second sync fetches nothing new"
    );
    assert_eq!(stored(dir.path()), got);
    let kinds: Vec<String> = vault
        .audit_entries(&Default::default())
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        kinds,
        ["vault_created", "connect", "people", "sync", "sync"]
    );
    vault.verify_audit().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_answers_that_are_refused() {
    let portal = start(Options::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let mut vault = keyring_vault(dir.path());

    let e = connect_with(&mut vault, &portal, demo_login(), Callback::WrongState)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::SignInFailed(m) if m.contains("wrong state")),
        "{e}"
    );
    let e = connect_with(&mut vault, &portal, demo_login(), Callback::NoCode)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::SignInFailed(m) if m.contains("no authorization code")),
        "{e}"
    );
    let mut deny = demo_login();
    deny.approve = false;
    let e = connect_with(&mut vault, &portal, deny, Callback::AsSent)
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "The portal refused the sign-in: The patient did not allow access. (access_denied)"
    );
    assert!(
        vault.connections().unwrap().is_empty(),
        "nothing stored for refused sign-ins"
    );

    // A request to another path gets a 404 and does not end the sign-in.
    let c = connect_with(&mut vault, &portal, demo_login(), Callback::OtherPathFirst)
        .await
        .unwrap();
    assert_eq!(c.status, ConnectionStatus::Connected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insecure_and_plain_pkce_portals_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut vault = keyring_vault(dir.path());
    let e = vault
        .connect(
            ConnectRequest::new("http://portal.example.org/fhir", "x"),
            |_| panic!("no browser"),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, Error::InsecurePortal), "{e}");

    let plain_only = start(Options {
        code_challenge_methods: vec!["plain"],
        ..Default::default()
    })
    .await;
    let e = vault
        .connect(ConnectRequest::new(&plain_only.fhir_base(), "x"), |_| {
            panic!("no browser")
        })
        .await
        .unwrap_err();
    assert!(matches!(e, Error::NoPkce), "{e}");

    let not_smart = vault
        .connect(ConnectRequest::new("http://127.0.0.1:9/fhir", "x"), |_| {
            panic!("no browser")
        })
        .await
        .unwrap_err();
    assert!(matches!(not_smart, Error::NotSmart { .. }), "{not_smart}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_access_tokens_are_renewed_and_refresh_tokens_rotate() {
    let portal = start(Options::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let mut vault = keyring_vault(dir.path());
    let connection = connect(&mut vault, &portal).await;
    vault
        .sync(connection.id, fast_retries(), &mut |_| {})
        .await
        .unwrap();
    let (_, first_refresh) = tokens(dir.path());

    portal.expire_access_tokens();
    vault
        .sync(connection.id, fast_retries(), &mut |_| {})
        .await
        .unwrap();
    let (access, second_refresh) = tokens(dir.path());
    assert_ne!(first_refresh, second_refresh, "the refresh token rotated");
    assert!(
        !portal.token_is_active(&first_refresh),
        "the old refresh token is spent"
    );
    assert!(portal.token_is_active(&access) && portal.token_is_active(&second_refresh));
    assert_eq!(
        vault.connection(connection.id).unwrap().status,
        ConnectionStatus::Connected
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_refresh_token_asks_for_sign_in_and_loses_nothing() {
    let portal = start(Options::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let mut vault = keyring_vault(dir.path());
    let connection = connect(&mut vault, &portal).await;
    vault
        .sync(connection.id, fast_retries(), &mut |_| {})
        .await
        .unwrap();
    let before = vault.summary(None).unwrap();
    let (access, refresh) = tokens(dir.path());

    portal.revoke_all();
    let e = vault
        .sync(connection.id, fast_retries(), &mut |_| {})
        .await
        .unwrap_err();
    assert!(matches!(e, Error::NeedsSignIn(_)), "{e}");
    assert!(e.to_string().contains("Sign in to it again"));
    for secret in [&access, &refresh] {
        assert!(
            !e.to_string().contains(secret.as_str()) && !format!("{e:?}").contains(secret.as_str())
        );
    }
    assert_eq!(
        vault.connection(connection.id).unwrap().status,
        ConnectionStatus::NeedsSignIn
    );
    assert_eq!(vault.summary(None).unwrap(), before, "nothing lost");
    // Signing in again repairs the connection.
    let again = connect(&mut vault, &portal).await;
    assert_eq!(again.id, connection.id);
    assert_eq!(again.status, ConnectionStatus::Connected);
    vault
        .sync(connection.id, fast_retries(), &mut |_| {})
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_errors_and_broken_pages_are_retried() {
    let portal = start(Options {
        page_size: 5,
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let mut vault = keyring_vault(dir.path());
    let connection = connect(&mut vault, &portal).await;
    portal.inject(&[
        Fault::TooManyRequests {
            retry_after_secs: 1,
        },
        Fault::ServerError,
        Fault::ServerError,
        Fault::DropConnection,
        Fault::MalformedBody,
    ]);
    let started = std::time::Instant::now();
    let report = vault
        .sync(connection.id, fast_retries(), &mut |_| {})
        .await
        .unwrap();
    assert!(report.retries >= 5, "retries: {}", report.retries);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After was honoured"
    );
    let expected = expected(&portal, &connection.patient_id);
    assert!(stored(dir.path()).is_superset(&expected));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_portal_that_keeps_failing_stops_the_sync_cleanly() {
    let portal = start(Options {
        page_size: 5,
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let mut vault = keyring_vault(dir.path());
    let connection = connect(&mut vault, &portal).await;
    // The whole record, for comparison; then a second vault meets a portal failing every request.
    vault
        .sync(connection.id, fast_retries(), &mut |_| {})
        .await
        .unwrap();
    let whole = stored(dir.path());
    let fresh = tempfile::tempdir().unwrap();
    let mut vault2 = keyring_vault(fresh.path());
    let c2 = connect(&mut vault2, &portal).await;
    portal.inject(&[Fault::ServerError; 40]);
    let e = vault2
        .sync(c2.id, fast_retries(), &mut |_| {})
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::Portal { why, .. } if why.contains("500") && why.contains("tries")),
        "{e}"
    );
    let (access, refresh) = tokens(fresh.path());
    assert!(!e.to_string().contains(&access) && !e.to_string().contains(&refresh));
    assert_eq!(vault2.integrity_problems().unwrap(), Vec::<String>::new());
    vault2.verify_audit().unwrap();
    // Whole pages only: every stored resource is one the portal has; then the next sync completes.
    assert!(stored(fresh.path()).is_subset(&whole));
    portal.clear_faults();
    let report = vault2
        .sync(c2.id, fast_retries(), &mut |_| {})
        .await
        .unwrap();
    assert!(report.counts.new > 0);
    assert_eq!(stored(fresh.path()), whole);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnect_revokes_and_keeps_the_records() {
    let portal = start(Options::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let mut vault = keyring_vault(dir.path());
    let connection = connect(&mut vault, &portal).await;
    vault
        .sync(connection.id, fast_retries(), &mut |_| {})
        .await
        .unwrap();
    let (_, refresh) = tokens(dir.path());
    let before = vault.summary(None).unwrap();
    assert!(
        vault.disconnect(connection.id).await.unwrap(),
        "revoked at the portal"
    );
    assert!(!portal.token_is_active(&refresh));
    assert!(vault.connections().unwrap().is_empty());
    assert_eq!(vault.summary(None).unwrap(), before);
    let last = vault
        .audit_entries(&Default::default())
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(
        (last.kind.as_str(), &last.details["revoked"]),
        ("disconnect", &serde_json::json!(true))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wipe_revokes_every_connection() {
    let portal = start(Options::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let mut vault = keyring_vault(dir.path());
    connect(&mut vault, &portal).await;
    let (access, refresh) = tokens(dir.path());
    let report = vault.wipe(false).await.unwrap();
    assert_eq!(report.connections_revoked, 1);
    assert!(!portal.token_is_active(&refresh) && !portal.token_is_active(&access));
}

/// A server that searches Observation only by category (as some EHRs do) gets one search per US Core
/// category, and the record still arrives whole. (Condition works the same way; the demo data's
/// Conditions carry no category, so a category-only server could not return them at all.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn observation_and_condition_by_category_where_required() {
    let portal = start(Options {
        category_required: vec!["Observation"],
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let mut vault = keyring_vault(dir.path());
    let connection = connect(&mut vault, &portal).await;
    vault
        .sync(connection.id, fast_retries(), &mut |_| {})
        .await
        .unwrap();
    let expected = expected(&portal, &connection.patient_id);
    let got = stored(dir.path());
    let observations =
        |set: &BTreeSet<(String, String)>| set.iter().filter(|(t, _)| t == "Observation").count();
    assert!(observations(&expected) > 10);
    assert_eq!(observations(&got), observations(&expected));
    assert!(got.is_superset(&expected));
}

/// A server that advertises `Patient/$everything` is synced with it: the whole compartment (every
/// type, not only US Core) in pages, and a re-sync asks only for what changed (`_since`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patient_everything_when_advertised() {
    let portal = start(Options {
        everything: true,
        page_size: 10,
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let mut vault = keyring_vault(dir.path());
    let connection = connect(&mut vault, &portal).await;
    let report = vault
        .sync(connection.id, fast_retries(), &mut |_| {})
        .await
        .unwrap();
    let compartment: BTreeSet<(String, String)> = portal
        .patient_resources(&connection.patient_id)
        .into_iter()
        .collect();
    let got = stored(dir.path());
    assert!(
        got.is_superset(&compartment),
        "the whole compartment, Claims included"
    );
    assert!(compartment.iter().any(|(t, _)| t == "Claim"));
    assert!(report.pages as usize >= compartment.len() / 10);
    let again = vault
        .sync(connection.id, fast_retries(), &mut |_| {})
        .await
        .unwrap();
    assert_eq!(
        (
            again.counts.new,
            again.counts.updated,
            again.counts.unchanged
        ),
        (0, 0, 0)
    );
    assert!(again.incremental);
}

/// A lock during a running sync (a slow portal): the sync stops within a second of being asked,
/// keeps whole pages, and the next sync after the vault is opened again loses nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_ends_a_running_sync_within_a_second_and_the_next_sync_loses_nothing() {
    use ownrecord_core::sync::Stop;
    let portal = start(Options {
        page_size: 5,
        delay: Duration::from_millis(400),
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let mut vault = keyring_vault(dir.path());
    let connection = connect(&mut vault, &portal).await;
    let expected = expected(&portal, &connection.patient_id);

    let stop = Stop::new();
    let options = SyncOptions {
        page_size: 5,
        stop: stop.clone(),
        ..fast_retries()
    };
    let stopper = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(2500)).await;
        stop.stop();
        std::time::Instant::now()
    });
    let mut pages = 0;
    let result = vault
        .sync(connection.id, options, &mut |_| pages += 1)
        .await;
    let ended = std::time::Instant::now();
    let asked = stopper.await.unwrap();
    assert!(matches!(result, Err(Error::SyncStopped)), "{result:?}");
    let took = ended.duration_since(asked);
    assert!(
        took < Duration::from_secs(1),
        "the sync took {took:?} to stop"
    );
    let partial = stored(dir.path());
    assert!(pages > 0 && !partial.is_empty(), "some pages were stored");
    assert!(!partial.is_superset(&expected), "and not all of them");
    assert!(vault.integrity_problems().unwrap().is_empty());
    let last = vault
        .audit_entries(&Default::default())
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(last.details["stopped"], true);

    // Locked (the key dropped), opened again: the sync goes on and the record is whole.
    vault.lock().unwrap();
    let mut vault = crate::reopen(dir.path());
    let connection = vault.connections().unwrap().remove(0);
    assert_eq!(
        connection.status,
        ConnectionStatus::Connected,
        "the stop asked for no sign-in"
    );
    assert!(connection.attention.is_none(), "{:?}", connection.attention);
    vault
        .sync(connection.id, fast_retries(), &mut |_| {})
        .await
        .unwrap();
    let got = stored(dir.path());
    assert!(
        got.is_superset(&expected),
        "missing after the next sync: {:?}",
        expected.difference(&got).collect::<Vec<_>>()
    );
    vault.verify_audit().unwrap();
}

/// A lock while the patient is still signing in: the wait for the browser ends within a second
/// of the stop, nothing is connected, and a later sign-in works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_ends_a_sign_in_waiting_for_the_browser() {
    use ownrecord_core::sync::Stop;
    let portal = start(Options::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let mut vault = keyring_vault(dir.path());
    let stop = Stop::new();
    let request = ConnectRequest {
        stop: stop.clone(),
        ..ConnectRequest::new(&portal.fhir_base(), ownrecord_demo_portal::DEMO_CLIENT_ID)
    };
    let (shown, address) = tokio::sync::oneshot::channel();
    let stopper = tokio::spawn(async move {
        // The sign-in page is open in the browser, and the patient is slow.
        let _: String = address.await.unwrap();
        tokio::time::sleep(Duration::from_millis(500)).await;
        stop.stop();
        std::time::Instant::now()
    });
    let result = vault
        .connect(request, move |url| {
            let _ = shown.send(url.to_owned());
            Ok(())
        })
        .await;
    let ended = std::time::Instant::now();
    let asked = stopper.await.unwrap();
    assert!(matches!(result, Err(Error::SignInStopped)), "{result:?}");
    let took = ended.duration_since(asked);
    assert!(
        took < Duration::from_secs(1),
        "the sign-in took {took:?} to stop"
    );
    assert!(vault.connections().unwrap().is_empty(), "nothing connected");
    connect(&mut vault, &portal).await;
    assert_eq!(vault.connections().unwrap().len(), 1);
}

/// A stop while the sync is still on its first requests (the Patient read, before any page):
/// it ends within a second too, nothing stored but what it had.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_before_the_first_page_ends_the_sync_within_a_second() {
    use ownrecord_core::sync::Stop;
    let portal = start(Options {
        // The first sync's Patient read alone takes this long.
        delay: Duration::from_secs(4),
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let mut vault = keyring_vault(dir.path());
    let connection = connect(&mut vault, &portal).await;
    let stop = Stop::new();
    let options = SyncOptions {
        stop: stop.clone(),
        ..fast_retries()
    };
    let stopper = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        stop.stop();
        std::time::Instant::now()
    });
    let result = vault.sync(connection.id, options, &mut |_| {}).await;
    let ended = std::time::Instant::now();
    let asked = stopper.await.unwrap();
    assert!(matches!(result, Err(Error::SyncStopped)), "{result:?}");
    let took = ended.duration_since(asked);
    assert!(
        took < Duration::from_secs(1),
        "the sync took {took:?} to stop"
    );
    assert!(stored(dir.path()).is_empty(), "no page was stored");
    assert_eq!(
        vault.connections().unwrap()[0].status,
        ConnectionStatus::Connected
    );
}
