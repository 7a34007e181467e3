//! `ownrecord-share-host`: a SMART Health Links (STU1) host a patient can run themselves.
//!
//! It keeps only what the spec lets a host see: the links' JWE files (ciphertext; the key stays
//! in the link's fragment and never reaches the host), Argon2id hashes of passcodes, SHA-256
//! digests of the owner and management tokens, and access events (time, declared recipient,
//! file, outcome; the client address only when the operator turns on `log_ip`).
//!
//! - [`app`] builds the router: the owner API under `/api/links`, the SHL side under `/shl`.
//! - [`store`] is the SQLite database; each check-and-change is one statement or transaction.
//! - [`error::Error`] is every failure as a kind, turned into an HTTP answer in one place.
//! - [`tls`] serves the router over rustls with the operator's certificate.
//! - [`viewer`] is the page a recipient opens the link in (`/view#shlink:/…`): static files in
//!   the binary, decrypting in the browser.

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

pub mod api;
pub mod error;
pub mod limit;
pub mod secret;
pub mod shl;
pub mod store;
pub mod tls;
pub mod viewer;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Instant;

use axum::Router;
use axum::extract::connect_info::Connected;
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::IncomingStream;
use serde::de::DeserializeOwned;

use crate::error::Error;
use crate::limit::{Limiter, Rate};
use crate::store::Store;

/// Where the host reads the time: the system clock, or one a test sets.
#[derive(Clone)]
pub enum Clock {
    System,
    Manual(Arc<AtomicI64>),
}

impl Clock {
    /// Seconds since the Unix epoch.
    pub fn now(&self) -> i64 {
        match self {
            Clock::System => time::OffsetDateTime::now_utc().unix_timestamp(),
            Clock::Manual(t) => t.load(Ordering::SeqCst),
        }
    }
}

/// How the host runs; the command line and config file fill it in.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The address links point at, without a trailing slash (`https://share.example.org`).
    pub public_url: String,
    /// Record the client's address with each access event.
    pub log_ip: bool,
    /// Take the client's address from `X-Forwarded-For` (the proxy's last entry).
    pub behind_proxy: bool,
    pub per_ip: Rate,
    pub per_link: Rate,
    /// Buckets kept per limiter before old ones are dropped.
    pub limiter_capacity: usize,
    /// Lifetime of a `location` URL, in seconds.
    pub location_ttl_secs: i64,
    pub create_body_max: usize,
    pub request_body_max: usize,
}

impl Settings {
    pub fn new(public_url: &str) -> Self {
        Settings {
            public_url: public_url.trim_end_matches('/').to_owned(),
            log_ip: false,
            behind_proxy: false,
            per_ip: Rate {
                burst: 120,
                per_second: 20,
            },
            per_link: Rate {
                burst: 60,
                per_second: 10,
            },
            limiter_capacity: 10_000,
            location_ttl_secs: 60,
            create_body_max: 8 * 1024 * 1024,
            request_body_max: 4 * 1024,
        }
    }
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub settings: Arc<Settings>,
    pub clock: Clock,
    per_ip: Arc<Limiter>,
    per_link: Arc<Limiter>,
}

impl AppState {
    pub fn new(store: Store, settings: Settings, clock: Clock) -> Self {
        let per_ip = Arc::new(Limiter::new(settings.per_ip, settings.limiter_capacity));
        let per_link = Arc::new(Limiter::new(settings.per_link, settings.limiter_capacity));
        AppState {
            store,
            settings: Arc::new(settings),
            clock,
            per_ip,
            per_link,
        }
    }

    /// One token from the client's bucket and, for a link, the link's.
    pub fn limit(&self, client: &Client, link: Option<&str>) -> error::Result<()> {
        let now = Instant::now();
        let ip = client.ip.as_deref().unwrap_or("unknown");
        self.per_ip
            .check(ip, now)
            .map_err(|retry_after_secs| Error::RateLimited { retry_after_secs })?;
        if let Some(link) = link {
            self.per_link
                .check(link, now)
                .map_err(|retry_after_secs| Error::RateLimited { retry_after_secs })?;
        }
        Ok(())
    }
}

/// The peer's address, as the listener saw it.
#[derive(Clone, Copy, Debug)]
pub struct PeerAddr(pub SocketAddr);

impl Connected<IncomingStream<'_, tokio::net::TcpListener>> for PeerAddr {
    fn connect_info(stream: IncomingStream<'_, tokio::net::TcpListener>) -> Self {
        PeerAddr(*stream.remote_addr())
    }
}

/// The client of a request: its address (the proxy's `X-Forwarded-For` when behind one).
pub struct Client {
    pub ip: Option<String>,
}

impl Client {
    /// What an access event may record of the client.
    pub fn logged_ip(&self, state: &AppState) -> Option<String> {
        if state.settings.log_ip {
            self.ip.clone()
        } else {
            None
        }
    }
}

impl FromRequestParts<AppState> for Client {
    type Rejection = Error;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let ip = if state.settings.behind_proxy {
            parts
                .headers
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.rsplit(',').next())
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty() && v.len() <= 64)
        } else {
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<PeerAddr>>()
                .map(|c| c.0.0.ip().to_string())
        };
        Ok(Client { ip })
    }
}

/// A JSON request body: 413 past the route's limit, 400 (by category and position) when it is
/// not the JSON expected.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = Error;
    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|r| {
                if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    Error::TooLarge
                } else {
                    Error::MalformedJson {
                        category: "io",
                        line: 0,
                        column: 0,
                    }
                }
            })?;
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|e| Error::from_json(&e))
    }
}

/// Headers on every answer: nothing cached, nothing sniffed, and any origin may ask (no cookies
/// are used; the owner API takes bearer tokens), so browser-based SHL viewers can resolve links.
async fn common_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

async fn preflight() -> Response {
    (
        StatusCode::NO_CONTENT,
        [
            (header::ACCESS_CONTROL_ALLOW_METHODS, "GET, POST"),
            (header::ACCESS_CONTROL_ALLOW_HEADERS, "content-type"),
            (header::ACCESS_CONTROL_MAX_AGE, "600"),
        ],
    )
        .into_response()
}

async fn not_found() -> Error {
    Error::NotFound
}

/// The host's routes.
pub fn app(state: AppState) -> Router {
    let create_max = state.settings.create_body_max;
    let request_max = state.settings.request_body_max;
    Router::new()
        .route(
            "/api/links",
            post(api::create).layer(DefaultBodyLimit::max(create_max)),
        )
        .route("/api/links/{id}", get(api::info).delete(api::delete))
        .route("/api/links/{id}/events", get(api::events))
        .route("/api/links/{id}/revoke", post(api::revoke))
        .route("/api/links/{id}/pause", post(api::pause))
        .route("/api/links/{id}/resume", post(api::resume))
        .route("/api/links/{id}/extend", post(api::extend))
        .route(
            "/shl/{id}",
            post(shl::manifest).get(shl::direct).options(preflight),
        )
        .route("/shl/file/{ticket}", get(shl::file))
        .route(viewer::PATH, get(viewer::page))
        .route(viewer::SCRIPT_PATH, get(viewer::script))
        .route(viewer::STYLE_PATH, get(viewer::style))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(request_max))
        .layer(axum::middleware::map_response(common_headers))
        .with_state(state)
}

/// Serves the router over plain HTTP (loopback, or behind a TLS proxy) until the listener fails.
pub async fn serve_plain(
    listener: tokio::net::TcpListener,
    state: AppState,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<PeerAddr>(),
    )
    .await
}

/// RFC 3339 for an answer.
pub fn rfc3339(unix: i64) -> Option<String> {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()?
        .format(&time::format_description::well_known::Rfc3339)
        .ok()
}
