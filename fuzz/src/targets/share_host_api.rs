//! `share-host-api`: requests to the share host's router, in process (`tower`'s `oneshot`, no
//! socket), against one store kept for the whole run (on tmpfs where there is one). The first
//! byte picks the request, the rest is its body or query:
//!
//! - 0: `POST /api/links` (the owner's token): a new link's files, flags, passcode, expiry...
//! - 1: `POST /shl/{id}`: a manifest request for an open link (recipient, passcode, lengths);
//! - 2: `POST /api/links/{id}/extend` (the link's management token): a new expiry;
//! - 3: `GET /shl/{id}?…`: the direct file of a flag-U link, the rest as the query;
//! - 4: `GET /shl/file/…`: a location ticket, the rest as the path;
//! - else: the first line as `METHOD PATH` (the owner's token sent), the rest as the body.
//!
//! Rate limits are set out of reach (they would answer 429 to almost everything); passcodes are
//! hashed with the host's own Argon2id, so inputs that set one run slowly.

use std::sync::OnceLock;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, header};
use ownrecord_share_host::limit::Rate;
use ownrecord_share_host::{AppState, Clock, Settings, app, secret, store};
use tower::ServiceExt;

const OWNER_TOKEN: &str = "fuzz-owner-token";
const NOW: i64 = 1_700_000_000;
/// A well-formed compact JWE (`dir`, `A256GCM`); the host never decrypts files.
pub const JWE: &str =
    "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..AAAAAAAAAAAAAAAA.AAAA.AAAAAAAAAAAAAAAAAAAAAA";

struct Host {
    runtime: tokio::runtime::Runtime,
    router: Router,
    /// An open manifest link (no flags) and its management token.
    open: (String, String),
    /// A flag-U link.
    direct: String,
}

fn host() -> Result<&'static Host, String> {
    static HOST: OnceLock<Result<Host, String>> = OnceLock::new();
    HOST.get_or_init(start).as_ref().map_err(Clone::clone)
}

fn start() -> Result<Host, String> {
    let shm = std::path::Path::new("/dev/shm");
    let root = if shm.is_dir() {
        shm.to_owned()
    } else {
        std::env::temp_dir()
    };
    let dir = root.join(format!("ownrecord-fuzz-share-host-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = store::Store::open(&dir).map_err(|e| format!("store: {e:?}"))?;
    store
        .run_sync(|c| store::add_owner_token(c, &secret::token_hash(OWNER_TOKEN), NOW))
        .map_err(|e| format!("owner token: {e:?}"))?;
    let mut settings = Settings::new("https://share.example.org");
    let unlimited = Rate {
        burst: 1 << 30,
        per_second: 1 << 30,
    };
    settings.per_ip = unlimited;
    settings.per_link = unlimited;
    let state = AppState::new(
        store,
        settings,
        Clock::Manual(std::sync::Arc::new(NOW.into())),
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(|e| e.to_string())?;
    let router = app(state);
    let create = |body: String| -> Result<(String, String), String> {
        let request = Request::post("/api/links")
            .header(header::AUTHORIZATION, format!("Bearer {OWNER_TOKEN}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body))
            .map_err(|e| e.to_string())?;
        let response = runtime
            .block_on(router.clone().oneshot(request))
            .map_err(|e| e.to_string())?;
        let bytes = runtime
            .block_on(axum::body::to_bytes(response.into_body(), 1 << 20))
            .map_err(|e| e.to_string())?;
        let created: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
        let field = |k: &str| created.get(k).and_then(|v| v.as_str()).map(str::to_owned);
        field("id")
            .zip(field("management_token"))
            .ok_or_else(|| format!("no link made: {created}"))
    };
    let open = create(format!(r#"{{"files":[{{"jwe":"{JWE}"}}],"label":"open"}}"#))?;
    let (direct, _) = create(format!(r#"{{"files":[{{"jwe":"{JWE}"}}],"flags":"U"}}"#))?;
    Ok(Host {
        runtime,
        router,
        open,
        direct,
    })
}

pub fn run(data: &[u8]) -> String {
    let host = match host() {
        Ok(host) => host,
        Err(e) => return format!("the host did not start: {e}"),
    };
    let (choice, rest) = data.split_first().unwrap_or((&0, &[]));
    let text = String::from_utf8_lossy(rest);
    let (id, manage) = &host.open;
    let (method, uri, token, body) = match choice % 6 {
        0 => (Method::POST, "/api/links".to_owned(), OWNER_TOKEN, rest),
        1 => (Method::POST, format!("/shl/{id}"), "", rest),
        2 => (
            Method::POST,
            format!("/api/links/{id}/extend"),
            manage.as_str(),
            rest,
        ),
        3 => (
            Method::GET,
            format!("/shl/{}?{text}", host.direct),
            "",
            &[][..],
        ),
        4 => (Method::GET, format!("/shl/file/{text}"), "", &[][..]),
        _ => {
            let (first, body) = crate::split_line(rest);
            let first = String::from_utf8_lossy(first);
            let (method, path) = first.split_once(' ').unwrap_or(("GET", &first));
            let Ok(method) = Method::from_bytes(method.as_bytes()) else {
                return "not a method".into();
            };
            (method, path.to_owned(), OWNER_TOKEN, body)
        }
    };
    let mut request = Request::builder()
        .method(method.clone())
        .uri(uri.as_str())
        .header(header::CONTENT_TYPE, "application/json");
    if !token.is_empty() {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    // A URI the http crate refuses never reaches the host.
    let Ok(request) = request.body(Body::from(body.to_vec())) else {
        return format!("{method} {uri:?}: not a request");
    };
    match host.runtime.block_on(host.router.clone().oneshot(request)) {
        Ok(response) => format!("{method} {uri:?}: {}", response.status()),
        Err(e) => format!("{method} {uri:?}: {e}"),
    }
}
