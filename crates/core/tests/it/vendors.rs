//! Vendor profiles against the demo portal's vendor personalities: connect, sync and re-sync
//! through each vendor's quirk, and each quirk switched off in the profile makes the same steps
//! fail (so the tests are not vacuous). Every bundled profile also still works against the generic
//! (spec-following) demo portal.

use std::time::Duration;

use ownrecord_core::portal::app_redirect::AppCallbacks;
use ownrecord_core::portal::profile::{
    AudRule, Offline, PatientSource, RedirectKind, ScopeDialect, VendorProfile,
};
use ownrecord_core::portal::{ConnectRequest, Connection};
use ownrecord_core::sync::{SyncOptions, SyncReport};
use ownrecord_core::{Error, Vault};
use ownrecord_demo_portal::{ATHENA_PRACTICE, DemoPortal, Options, Personality};
use ownrecord_testkit::browser::{self, Login};

use crate::portal::{fast_retries, start};
use crate::{keyring_vault, raw_connection};

async fn portal_as(personality: Personality) -> DemoPortal {
    start(Options {
        personality,
        ..Default::default()
    })
    .await
}

fn login() -> Login {
    Login::new(
        ownrecord_demo_portal::DEMO_USERNAME,
        ownrecord_demo_portal::DEMO_PASSWORD,
    )
}

fn request(portal: &DemoPortal, vendor: &str, profile: Option<VendorProfile>) -> ConnectRequest {
    let mut request =
        ConnectRequest::new(&portal.fhir_base(), ownrecord_demo_portal::DEMO_CLIENT_ID);
    request.vendor = Some(vendor.to_owned());
    request.profile = profile;
    request.timeout = Duration::from_secs(8);
    if vendor == "athena" {
        request.practice = Some(ATHENA_PRACTICE.to_owned());
    }
    request
}

/// Connects as the desktop app does (it receives both redirect kinds): the "browser" signs in and
/// hands the portal's redirect to the loopback listener or, as the OS would, to the app.
async fn connect_app(vault: &mut Vault, request: ConnectRequest) -> Result<Connection, Error> {
    let (os, mut callbacks) = AppCallbacks::channel();
    vault
        .connect_from_app(request, &mut callbacks, move |url| {
            let url = url.to_owned();
            tokio::spawn(async move {
                let redirect = browser::sign_in(&url, &login()).await;
                if redirect.starts_with("org.ownrecord.app:") {
                    os.send(redirect).await.unwrap();
                } else {
                    browser::visit(&redirect).await;
                }
            });
            Ok(())
        })
        .await
}

async fn sync(
    vault: &mut Vault,
    id: i64,
    profile: Option<VendorProfile>,
) -> Result<SyncReport, Error> {
    let options = SyncOptions {
        profile,
        ..fast_retries()
    };
    vault.sync(id, options, &mut |_| {}).await
}

/// A sync in pages of 3: many requests.
async fn sync_small_pages(
    vault: &mut Vault,
    id: i64,
    profile: VendorProfile,
) -> Result<SyncReport, Error> {
    let options = SyncOptions {
        profile: Some(profile),
        page_size: 3,
        ..fast_retries()
    };
    vault.sync(id, options, &mut |_| {}).await
}

/// Connecting with one quirk of the vendor's profile switched off: how it fails.
async fn connect_without(
    vault: &mut Vault,
    portal: &DemoPortal,
    vendor: &str,
    off: impl FnOnce(&mut VendorProfile),
) -> Error {
    connect_app(vault, request(portal, vendor, Some(changed(vendor, off))))
        .await
        .unwrap_err()
}

/// Syncing with one quirk of the vendor's profile switched off: how it fails.
async fn sync_without(
    vault: &mut Vault,
    id: i64,
    vendor: &str,
    off: impl FnOnce(&mut VendorProfile),
) -> Error {
    sync(vault, id, Some(changed(vendor, off)))
        .await
        .unwrap_err()
}

/// A bundled profile with one change.
fn changed(vendor: &str, change: impl FnOnce(&mut VendorProfile)) -> VendorProfile {
    let mut profile = VendorProfile::of(Some(vendor));
    change(&mut profile);
    profile
}

fn stored_count(dir: &std::path::Path, resource_type: &str) -> usize {
    raw_connection(dir)
        .query_row(
            "SELECT count(*) FROM resources WHERE resource_type = ?1",
            [resource_type],
            |r| r.get::<_, i64>(0),
        )
        .unwrap() as usize
}

/// Whether every request the portal refused was for an expired access token (then renewed).
fn only_expired_tokens(portal: &DemoPortal) -> bool {
    portal.refused().iter().all(|(status, _)| *status == 401)
}

fn refresh_token(dir: &std::path::Path) -> Option<String> {
    raw_connection(dir)
        .query_row("SELECT refresh_token FROM connections", [], |r| r.get(0))
        .unwrap()
}

/// Connect, sync, re-sync: the record arrives, nothing was refused, the re-sync is incremental.
async fn works(vault: &mut Vault, portal: &DemoPortal, vendor: &str) -> Connection {
    let connection = connect_app(vault, request(portal, vendor, None))
        .await
        .unwrap();
    assert_eq!(connection.patient_id, portal.patients()[0].id);
    let first = sync(vault, connection.id, None).await.unwrap();
    assert!(first.counts.total() > 5, "{vendor}: {first:?}");
    let again = sync(vault, connection.id, None).await.unwrap();
    assert!(again.incremental);
    assert_eq!(
        portal.refused(),
        Vec::new(),
        "{vendor}: no request was refused"
    );
    connection
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn epic_registers_this_computer_and_renews_with_jwt_bearer() {
    let portal = portal_as(Personality::Epic).await;
    let dir = tempfile::tempdir().unwrap();
    let mut vault = keyring_vault(dir.path());
    let connection = works(&mut vault, &portal, "epic").await;
    // No refresh token for a public client: a registration and its key instead.
    assert_eq!(refresh_token(dir.path()), None);
    assert_eq!(portal.registered_clients(), 1);
    let (client, key): (Option<String>, Option<String>) = raw_connection(dir.path())
        .query_row(
            "SELECT device_client_id, device_key FROM connections",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(
        client.is_some() && key.unwrap().contains("\"d\""),
        "the private key is kept"
    );
    // Observation and CarePlan were searched by category: vitals and labs arrived.
    assert!(stored_count(dir.path(), "Observation") > 0);
    // Access runs out: a new token by the JWT-bearer grant, no sign-in.
    portal.expire_access_tokens();
    sync(&mut vault, connection.id, None).await.unwrap();
    assert!(only_expired_tokens(&portal), "{:?}", portal.refused());

    // Quirk off: without the categories, CarePlan (which has no fallback) is refused.
    let err = sync_without(&mut vault, connection.id, "epic", |p| {
        p.search_categories.clear()
    })
    .await;
    assert!(
        matches!(err, Error::PortalAnswered { status: 400, .. }),
        "{err:?}"
    );

    // The registration revoked at the portal: the patient signs in again.
    portal.forget_registrations();
    portal.expire_access_tokens();
    let err = sync(&mut vault, connection.id, None).await.unwrap_err();
    assert!(matches!(err, Error::NeedsSignIn(_)), "{err:?}");

    // Disconnecting deletes the key with the connection.
    vault.disconnect(connection.id).await.unwrap();
    let keys: i64 = raw_connection(dir.path())
        .query_row(
            "SELECT count(*) FROM connections WHERE device_key IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(keys, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn epic_without_registration_needs_sign_in_when_access_runs_out() {
    let portal = portal_as(Personality::Epic).await;
    let dir = tempfile::tempdir().unwrap();
    let mut vault = keyring_vault(dir.path());
    let no_registration = changed("epic", |p| p.offline = Offline::RefreshToken);
    let connection = connect_app(&mut vault, request(&portal, "epic", Some(no_registration)))
        .await
        .unwrap();
    assert_eq!(portal.registered_clients(), 0);
    sync(&mut vault, connection.id, None).await.unwrap();
    portal.expire_access_tokens();
    let err = sync(&mut vault, connection.id, None).await.unwrap_err();
    assert!(matches!(err, Error::NeedsSignIn(_)), "{err:?}");
    let listed = vault.connection(connection.id).unwrap();
    assert!(
        listed.attention.unwrap().contains("Sign in to"),
        "health says what to do"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oracle_is_asked_in_v2_scopes() {
    let portal = portal_as(Personality::Oracle).await;
    let dir = tempfile::tempdir().unwrap();
    let mut vault = keyring_vault(dir.path());
    let connection = works(&mut vault, &portal, "oracle").await;
    assert!(
        connection.scopes.contains("patient/*.rs"),
        "{}",
        connection.scopes
    );
    // Renewal with the (rotating) refresh token.
    portal.expire_access_tokens();
    sync(&mut vault, connection.id, None).await.unwrap();

    // Quirk off: following the portal's v1 list, the read scopes are silently dropped.
    let other = tempfile::tempdir().unwrap();
    let mut vault = keyring_vault(other.path());
    let auto = changed("oracle", |p| p.scopes = ScopeDialect::Auto);
    let connection = connect_app(&mut vault, request(&portal, "oracle", Some(auto)))
        .await
        .unwrap();
    let err = sync(&mut vault, connection.id, None).await.unwrap_err();
    assert!(
        matches!(err, Error::PortalAnswered { status: 403, .. }),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn athena_gets_nonce_practice_and_scope_on_refresh() {
    let portal = portal_as(Personality::Athena).await;
    let dir = tempfile::tempdir().unwrap();
    let mut vault = keyring_vault(dir.path());
    let mut no_practice = request(&portal, "athena", None);
    no_practice.practice = None;
    let err = connect_app(&mut vault, no_practice).await.unwrap_err();
    assert!(matches!(err, Error::NeedsPractice { .. }), "{err:?}");

    let connection = works(&mut vault, &portal, "athena").await;
    portal.expire_access_tokens();
    sync(&mut vault, connection.id, None).await.unwrap();
    assert!(only_expired_tokens(&portal), "{:?}", portal.refused());

    // Quirk off: the practice parameter.
    let err = sync_without(&mut vault, connection.id, "athena", |p| {
        p.fhir_params.clear()
    })
    .await;
    assert!(
        matches!(err, Error::PortalAnswered { status: 400, .. }),
        "{err:?}"
    );
    // Quirk off: the scope on refresh.
    portal.expire_access_tokens();
    let err = sync_without(&mut vault, connection.id, "athena", |p| {
        p.refresh_repeats_scope = false
    })
    .await;
    assert!(matches!(err, Error::SignInRefused(_)), "{err:?}");
    // Quirk off: the nonce.
    let other = tempfile::tempdir().unwrap();
    let mut vault = keyring_vault(other.path());
    let err = connect_without(&mut vault, &portal, "athena", |p| p.nonce = false).await;
    assert!(matches!(err, Error::SignInRefused(_)), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healow_signs_in_through_the_app_redirect_and_reads_the_patient_from_the_token() {
    let portal = portal_as(Personality::Healow).await;
    let dir = tempfile::tempdir().unwrap();
    let mut vault = keyring_vault(dir.path());
    // The command line has only the loopback redirect, which healow refuses: one sentence.
    let err = vault
        .connect(request(&portal, "healow", None), |_| Ok(()))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::RedirectNotAccepted { .. }), "{err:?}");
    assert!(err.to_string().contains("desktop app"));

    let connection = works(&mut vault, &portal, "healow").await;
    // No refresh token: when access runs out, the patient signs in again.
    assert_eq!(refresh_token(dir.path()), None);
    portal.expire_access_tokens();
    let err = sync(&mut vault, connection.id, None).await.unwrap_err();
    assert!(matches!(err, Error::NeedsSignIn(_)), "{err:?}");

    // Quirk off: the patient only from the token response.
    let err = connect_without(&mut vault, &portal, "healow", |p| {
        p.patient_from = vec![PatientSource::TokenResponse]
    })
    .await;
    assert!(matches!(err, Error::SignInFailed(_)), "{err:?}");
    // Quirk off: the loopback redirect (the portal shows an error page; the sign-in never returns).
    let loopback = changed("healow", |p| p.redirect = vec![RedirectKind::Loopback]);
    let mut short = request(&portal, "healow", Some(loopback));
    short.timeout = Duration::from_secs(3);
    let err = connect_app(&mut vault, short).await.unwrap_err();
    assert!(matches!(err, Error::SignInFailed(_)), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn veradigm_names_the_patient_in_the_id_token() {
    let portal = portal_as(Personality::Veradigm).await;
    let dir = tempfile::tempdir().unwrap();
    let mut vault = keyring_vault(dir.path());
    works(&mut vault, &portal, "veradigm").await;
    let err = connect_without(&mut vault, &portal, "veradigm", |p| {
        p.patient_from = vec![PatientSource::TokenResponse]
    })
    .await;
    assert!(matches!(err, Error::SignInFailed(_)), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn va_gets_no_aud_and_requests_within_its_budget() {
    let portal = start(Options {
        personality: Personality::Va,
        rate_limit: Some((20, Duration::from_secs(1))),
        ..Default::default()
    })
    .await;
    // The profile's budget for this test's portal: 15 a second.
    let budget = |p: &mut VendorProfile| p.requests_per_minute = Some(900);
    let dir = tempfile::tempdir().unwrap();
    let mut vault = keyring_vault(dir.path());
    let connection = connect_app(
        &mut vault,
        request(&portal, "va", Some(changed("va", budget))),
    )
    .await
    .unwrap();
    let report = sync_small_pages(&mut vault, connection.id, changed("va", budget))
        .await
        .unwrap();
    assert!(
        portal.fhir_requests() > 40,
        "more requests than two windows allow: {}",
        portal.fhir_requests()
    );
    assert_eq!(portal.rate_limited(), 0, "paced inside the budget");
    assert_eq!(report.retries, 0);

    // Quirk off: no budget, and the portal says 429 (the sync still finishes, by Retry-After).
    let unpaced = changed("va", |p| p.requests_per_minute = None);
    let report = sync_small_pages(&mut vault, connection.id, unpaced)
        .await
        .unwrap();
    assert!(
        portal.rate_limited() > 0 && report.retries > 0,
        "{report:?}"
    );
    // Quirk off: aud.
    let err = connect_without(&mut vault, &portal, "va", |p| {
        p.aud = AudRule::NoTrailingSlash
    })
    .await;
    assert!(matches!(err, Error::SignInRefused(_)), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bluebutton_claims_reach_the_vault() {
    let portal = portal_as(Personality::BlueButton).await;
    let dir = tempfile::tempdir().unwrap();
    let mut vault = keyring_vault(dir.path());
    let connection = works(&mut vault, &portal, "bluebutton").await;
    let served = portal
        .patient_resources(&connection.patient_id)
        .iter()
        .filter(|(t, _)| t == "ExplanationOfBenefit")
        .count();
    assert!(served > 0);
    assert_eq!(stored_count(dir.path(), "ExplanationOfBenefit"), served);
    assert_eq!(
        stored_count(dir.path(), "Condition"),
        0,
        "a payer serves claims only"
    );
    // In the record the patient reads.
    let person = vault.people().unwrap()[0].id;
    let summary = vault.summary(Some(person)).unwrap();
    assert!(
        summary
            .by_type
            .iter()
            .any(|c| c.resource_type == "ExplanationOfBenefit" && c.count == served as i64),
        "{:?}",
        summary.by_type
    );

    // Quirk off: the SMART default scopes (patient/*.rs, fhirUser) are refused.
    let other = tempfile::tempdir().unwrap();
    let mut vault = keyring_vault(other.path());
    let err = connect_without(&mut vault, &portal, "bluebutton", |p| {
        p.scopes = ScopeDialect::Auto
    })
    .await;
    assert!(matches!(err, Error::SignInRefused(_)), "{err:?}");
}

/// A profile's handling never breaks a portal that follows the spec (but where it contradicts it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_profile_still_works_with_the_generic_portal() {
    let portal = start(Options::default()).await;
    // Not the VA's: it omits `aud`, which the spec (and so the generic portal) requires.
    for vendor in VendorProfile::bundled_vendors().filter(|v| *v != "va") {
        let dir = tempfile::tempdir().unwrap();
        let mut vault = keyring_vault(dir.path());
        // The VA's real budget (a request a second) would make this test slow, not different.
        let profile = changed(vendor, |p| {
            p.requests_per_minute = p.requests_per_minute.map(|_| 6000)
        });
        let connection = connect_app(&mut vault, request(&portal, vendor, Some(profile.clone())))
            .await
            .unwrap_or_else(|e| panic!("{vendor}: {e}"));
        sync(&mut vault, connection.id, Some(profile))
            .await
            .unwrap_or_else(|e| panic!("{vendor}: {e}"));
    }
    assert_eq!(portal.refused(), Vec::new());
}
