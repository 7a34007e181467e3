//! # ownrecord-demo-portal
//!
//! A small SMART on FHIR sandbox on 127.0.0.1, serving synthetic patients, so that a newcomer can try
//! the whole connect → sync → export flow offline and tests have a portal to talk to. It is a portal
//! like any other to the app: discovery (`.well-known/smart-configuration`, CapabilityStatement), a
//! login + consent page, authorization code with PKCE S256 (plain refused), rotating refresh tokens,
//! RFC 7009 revocation, and paged FHIR search with `_lastUpdated`. Not a real server: state lives in
//! memory and there is one demo login.
//!
//! Tests drive it through [`DemoPortal`]: inject faults, expire tokens, revoke grants, and see what
//! it refused. With [`Options::personality`] it plays a real vendor's portal, quirks included
//! (see [`personality`]).

// Handlers return `Result<_, Response>` (axum's idiom); the error side is a whole HTTP response.
#![allow(clippy::result_large_err)]
// No panic from a request or a data file: no indexing, slicing or unwrapping outside tests.
#![deny(
    clippy::indexing_slicing,
    clippy::string_slice,
    clippy::unwrap_used,
    clippy::expect_used
)]
#![cfg_attr(
    test,
    allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

mod data;
mod fhir;
mod gate;
mod jwt;
mod oauth;
mod pages;
pub mod personality;
mod register;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};

pub use data::{DemoData, DemoPatient};
pub use personality::{ATHENA_PRACTICE, JWT_BEARER, PRIVATE_USE_REDIRECT, Personality};

/// The demo login, shown on the login page.
pub const DEMO_USERNAME: &str = "demo";
pub const DEMO_PASSWORD: &str = "demo";
/// The client id the demo portal registers for OwnRecord (any id is accepted; this one is listed).
pub const DEMO_CLIENT_ID: &str = "ownrecord";

/// How the portal behaves.
#[derive(Debug, Clone)]
pub struct Options {
    pub access_token_ttl: Duration,
    /// The most resources per search page (`_count` above it is capped).
    pub page_size: usize,
    /// PKCE methods advertised (tests set `["plain"]` to play a portal OwnRecord must refuse).
    pub code_challenge_methods: Vec<&'static str>,
    /// Resource types searched only with a `category` (as some EHRs do; 400 without).
    pub category_required: Vec<&'static str>,
    /// Offer `Patient/$everything` (advertised in the CapabilityStatement; never as epic).
    pub everything: bool,
    /// Whose portal to play (its quirks; see [`personality`]).
    pub personality: Personality,
    /// At most this many FHIR requests per fixed window, over all tokens (429 past it, and
    /// `X-RateLimit-*` headers on every FHIR answer). `None`: the personality's own (VA: 60 per 60 s;
    /// the others: no limit).
    pub rate_limit: Option<(u32, Duration)>,
    /// Each FHIR search and read waits this long before answering (a slow portal, for tests).
    pub delay: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            access_token_ttl: Duration::from_secs(3600),
            page_size: 20,
            code_challenge_methods: vec!["S256"],
            category_required: Vec::new(),
            everything: false,
            personality: Personality::Generic,
            rate_limit: None,
            delay: Duration::ZERO,
        }
    }
}

/// A fault the next FHIR request(s) will meet (tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// 429 Too Many Requests with `Retry-After: secs`.
    TooManyRequests { retry_after_secs: u64 },
    /// 500 Internal Server Error.
    ServerError,
    /// The connection drops halfway through the response body.
    DropConnection,
    /// 200 with a truncated JSON body.
    MalformedBody,
}

pub(crate) struct Portal {
    pub base: String,
    pub options: Options,
    pub data: DemoData,
    pub auth: Mutex<oauth::AuthState>,
    pub faults: Mutex<std::collections::VecDeque<Fault>>,
    pub fhir_requests: std::sync::atomic::AtomicU64,
    /// Signs the portal's own JWTs (HS256); random per run, published nowhere.
    pub secret: [u8; 32],
    pub registry: Mutex<register::Registry>,
    /// Every 4xx of the FHIR side, the token endpoint and registration: (status, path).
    pub refused: Mutex<Vec<(u16, String)>>,
    /// The rate limit in force (the option, else the personality's).
    pub rate_limit: Option<(u32, Duration)>,
    pub window: Mutex<gate::Window>,
    pub rate_limited: std::sync::atomic::AtomicU64,
}

/// A running demo portal. Dropping it stops the server.
pub struct DemoPortal {
    portal: Arc<Portal>,
    addr: SocketAddr,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

impl DemoPortal {
    /// Starts serving `data` on `addr` (use port 0 for any free port) on the current tokio runtime.
    pub async fn start(
        addr: SocketAddr,
        data: DemoData,
        options: Options,
    ) -> std::io::Result<DemoPortal> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).map_err(|e| std::io::Error::other(e.to_string()))?;
        let rate_limit = options
            .rate_limit
            .or(options.personality.default_rate_limit());
        let portal = Arc::new(Portal {
            base: format!("http://{addr}"),
            options,
            data,
            auth: Mutex::new(oauth::AuthState::default()),
            faults: Mutex::new(Default::default()),
            fhir_requests: Default::default(),
            secret,
            registry: Mutex::new(Default::default()),
            refused: Mutex::new(Vec::new()),
            rate_limit,
            window: Mutex::new(Default::default()),
            rate_limited: Default::default(),
        });
        let app = router(portal.clone());
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Ok(DemoPortal {
            portal,
            addr,
            _shutdown: shutdown,
        })
    }

    /// Loads the demo patients from `dir` and starts on `addr`.
    pub async fn start_with_patients(
        addr: SocketAddr,
        dir: &Path,
        options: Options,
    ) -> std::io::Result<DemoPortal> {
        let data = DemoData::load_dir(dir)?;
        DemoPortal::start(addr, data, options).await
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The FHIR base URL a patient adds in the app.
    pub fn fhir_base(&self) -> String {
        format!("{}/fhir", self.portal.base)
    }

    pub fn patients(&self) -> &[DemoPatient] {
        &self.portal.data.patients
    }

    /// Every resource the portal would give for `patient` by search: (resourceType, id), sorted.
    /// A personality's limits apply: Blue Button's three types only; as epic, no Observation or
    /// CarePlan outside the categories it can be searched by.
    pub fn patient_resources(&self, patient: &str) -> Vec<(String, String)> {
        let personality = self.portal.options.personality;
        let data = &self.portal.data;
        data.patient_resources(patient)
            .into_iter()
            .filter(|(t, id)| {
                personality.serves(t)
                    && personality.required_categories(t).is_none_or(|accepted| {
                        data.get(t, id)
                            .is_some_and(|r| accepted.iter().any(|c| fhir::in_category(r, c)))
                    })
            })
            .collect()
    }

    /// Whose portal this one plays.
    pub fn personality(&self) -> Personality {
        self.portal.options.personality
    }

    /// Clients registered at `/register` (epic) and not forgotten.
    pub fn registered_clients(&self) -> usize {
        crate::lock(&self.portal.registry).len()
    }

    /// Forgets every registered client, as when the patient removes a device in the portal: its
    /// JWT-bearer assertions stop working.
    pub fn forget_registrations(&self) {
        crate::lock(&self.portal.registry).forget();
    }

    /// How many 429s the rate limit gave.
    pub fn rate_limited(&self) -> u64 {
        self.portal
            .rate_limited
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Every 4xx the FHIR side, the token endpoint and `/register` gave, in order: (status, path).
    pub fn refused(&self) -> Vec<(u16, String)> {
        crate::lock(&self.portal.refused).clone()
    }

    /// The next FHIR requests meet these faults, one each, in order.
    pub fn inject(&self, faults: &[Fault]) {
        crate::lock(&self.portal.faults).extend(faults.iter().copied());
    }

    /// Drops faults not yet met.
    pub fn clear_faults(&self) {
        crate::lock(&self.portal.faults).clear();
    }

    /// FHIR requests served so far (all answers, faults included).
    pub fn fhir_requests(&self) -> u64 {
        self.portal
            .fhir_requests
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Makes every issued access token expired (the next request gets 401).
    pub fn expire_access_tokens(&self) {
        crate::lock(&self.portal.auth).expire_access_tokens();
    }

    /// Forgets every grant: refresh tokens stop working, as when a portal ends a session.
    pub fn revoke_all(&self) {
        crate::lock(&self.portal.auth).revoke_all();
    }

    /// Mints an access token for `patient` without a sign-in (benchmarks' baseline downloads).
    pub fn issue_access_token(&self, patient: &str) -> String {
        crate::lock(&self.portal.auth).issue_access(patient, self.portal.options.access_token_ttl)
    }

    /// Whether a token is still live (tests check revocation).
    pub fn token_is_active(&self, token: &str) -> bool {
        crate::lock(&self.portal.auth).is_active(token)
    }
}

fn router(portal: Arc<Portal>) -> Router {
    Router::new()
        .route("/", get(pages::home))
        .route(
            "/fhir/.well-known/smart-configuration",
            get(oauth::smart_configuration),
        )
        .route("/fhir/metadata", get(fhir::metadata))
        .route("/fhir/{resource_type}", get(fhir::search))
        .route("/fhir/{resource_type}/{id}", get(fhir::read))
        .route("/fhir/Patient/{id}/$everything", get(fhir::everything))
        .route("/authorize", get(pages::login).post(oauth::decide))
        .route("/token", post(oauth::token))
        .route("/revoke", post(oauth::revoke))
        .route("/register", post(register::register))
        .layer(axum::middleware::from_fn_with_state(
            portal.clone(),
            gate::gate,
        ))
        .with_state(portal)
}

/// A lock on the portal's state; a panicked holder (a failed test assertion) does not make the
/// others fail too.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

pub(crate) fn random_token() -> String {
    let mut bytes = [0u8; 24];
    // Cannot go on without OS randomness: there is no safe fallback for tokens.
    #[allow(clippy::expect_used)]
    getrandom::fill(&mut bytes).expect("OS randomness");
    hex::encode(bytes)
}
