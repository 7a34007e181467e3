//! The owner API: creating links (owner token) and managing one (its management token).
//! Each handler checks and delegates to [`crate::store`].

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Invalid, Result};
use crate::store::{self, Change, NewFile, NewLink};
use crate::{AppState, Client, JsonBody, rfc3339, secret};

/// The content types the spec allows in a manifest.
const CONTENT_TYPES: [&str; 3] = [
    "application/fhir+json",
    "application/smart-health-card",
    "application/smart-api-access",
];
const MAX_FILES: usize = 16;
const MAX_PASSCODE_CHARS: usize = 256;
const MAX_LABEL_BYTES: usize = 1024;
const MAX_ATTEMPTS: i64 = 1000;
const DEFAULT_ATTEMPTS: i64 = 10;

/// A time as RFC 3339 text or Unix seconds.
#[derive(Deserialize)]
#[serde(untagged)]
pub enum When {
    Unix(i64),
    Text(String),
}

impl When {
    fn unix(&self) -> Result<i64> {
        match self {
            When::Unix(t) => Ok(*t),
            When::Text(s) => {
                time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
                    .map(|t| t.unix_timestamp())
                    .map_err(|_| Error::Invalid(Invalid::ExpiresAt))
            }
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileIn {
    /// A compact JWE (`alg: dir`, `enc: A256GCM`); the host never decrypts it.
    pub jwe: String,
    /// The manifest's `contentType`; `application/fhir+json` when absent.
    pub content_type: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateLink {
    pub files: Vec<FileIn>,
    #[serde(default)]
    pub flags: String,
    pub passcode: Option<String>,
    pub max_attempts: Option<i64>,
    pub expires_at: Option<When>,
    pub max_uses: Option<i64>,
    pub label: Option<String>,
}

#[derive(Serialize)]
pub struct Created {
    pub id: String,
    pub manifest_url: String,
    pub management_token: String,
    pub flags: String,
    pub expires_at: Option<String>,
    /// The viewer page to put before `#shlink:/…` ([`crate::viewer`]).
    pub viewer_url: String,
}

/// Checks a compact JWE's shape without decrypting: five base64url parts, an empty encrypted
/// key, and a protected header saying `dir` / `A256GCM`.
fn check_jwe(jwe: &str) -> Result<()> {
    let bad = || Error::Invalid(Invalid::Jwe);
    let parts: Vec<&str> = jwe.split('.').collect();
    let [header, key, iv, ciphertext, tag] = parts.as_slice() else {
        return Err(bad());
    };
    let b64url = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if !key.is_empty()
        || [header, iv, ciphertext, tag]
            .iter()
            .any(|p| p.is_empty() || !b64url(p))
    {
        return Err(bad());
    }
    let header = URL_SAFE_NO_PAD.decode(header).map_err(|_| bad())?;
    let header: serde_json::Value = serde_json::from_slice(&header).map_err(|_| bad())?;
    if header.get("alg").and_then(|v| v.as_str()) != Some("dir")
        || header.get("enc").and_then(|v| v.as_str()) != Some("A256GCM")
    {
        return Err(bad());
    }
    Ok(())
}

fn check_flags(flags: &str) -> Result<()> {
    let mut seen = String::new();
    for c in flags.chars() {
        if !"LPU".contains(c) {
            return Err(Error::Invalid(Invalid::UnknownFlag));
        }
        if seen.contains(c) {
            return Err(Error::Invalid(Invalid::Flags));
        }
        seen.push(c);
    }
    Ok(())
}

/// Checks the request and turns it into what the store keeps (the passcode not yet hashed).
fn plan(req: CreateLink, now: i64) -> Result<(NewLink, Option<String>)> {
    check_flags(&req.flags)?;
    let p = req.flags.contains('P');
    let u = req.flags.contains('U');
    let l = req.flags.contains('L');
    if u && p {
        return Err(Error::Invalid(Invalid::DirectWithPasscode));
    }
    if u && req.files.len() != 1 {
        return Err(Error::Invalid(Invalid::DirectNeedsOneFile));
    }
    if req.files.is_empty() || req.files.len() > MAX_FILES {
        return Err(Error::Invalid(Invalid::Files));
    }
    match &req.passcode {
        Some(code) if p => {
            if code.is_empty() || code.chars().count() > MAX_PASSCODE_CHARS {
                return Err(Error::Invalid(Invalid::Passcode));
            }
        }
        None if !p => {}
        _ => return Err(Error::Invalid(Invalid::Passcode)),
    }
    if l && req.max_uses.is_some() {
        return Err(Error::Invalid(Invalid::LongTermWithMaxUses));
    }
    if req.max_uses.is_some_and(|m| m < 1) {
        return Err(Error::Invalid(Invalid::MaxUses));
    }
    let max_attempts = req.max_attempts.unwrap_or(DEFAULT_ATTEMPTS);
    if !(1..=MAX_ATTEMPTS).contains(&max_attempts) {
        return Err(Error::Invalid(Invalid::MaxAttempts));
    }
    let expires_at = match &req.expires_at {
        None => None,
        Some(w) => {
            let t = w.unix()?;
            if t <= now || rfc3339(t).is_none() {
                return Err(Error::Invalid(Invalid::ExpiresAt));
            }
            Some(t)
        }
    };
    if req
        .label
        .as_ref()
        .is_some_and(|l| l.len() > MAX_LABEL_BYTES)
    {
        return Err(Error::Invalid(Invalid::Label));
    }
    let mut files = Vec::with_capacity(req.files.len());
    for f in req.files {
        let content_type = f
            .content_type
            .unwrap_or_else(|| "application/fhir+json".to_owned());
        if !CONTENT_TYPES.contains(&content_type.as_str()) {
            return Err(Error::Invalid(Invalid::ContentType));
        }
        check_jwe(&f.jwe)?;
        files.push(NewFile {
            content_type,
            jwe: f.jwe,
        });
    }
    Ok((
        NewLink {
            id: String::new(),
            manage_hash: Vec::new(),
            flags: req.flags,
            passcode_hash: None,
            max_attempts,
            expires_at,
            max_uses: req.max_uses,
            label: req.label,
            files,
        },
        req.passcode,
    ))
}

/// `POST /api/links` (owner token).
pub async fn create(
    State(state): State<AppState>,
    client: Client,
    headers: HeaderMap,
    JsonBody(req): JsonBody<CreateLink>,
) -> Result<(StatusCode, Json<Created>)> {
    state.limit(&client, None)?;
    let token = secret::bearer(&headers).ok_or(Error::Unauthorized)?;
    let hash = secret::token_hash(token);
    if !state
        .store
        .run(move |c| store::owner_token_known(c, &hash))
        .await?
    {
        return Err(Error::Unauthorized);
    }
    let now = state.clock.now();
    let (mut link, passcode) = plan(req, now)?;
    if let Some(code) = passcode {
        link.passcode_hash = Some(secret::hash_passcode_queued(code).await?);
    }
    link.id = secret::random_token()?;
    let management_token = secret::random_token()?;
    link.manage_hash = secret::token_hash(&management_token);
    let created = Created {
        manifest_url: format!("{}/shl/{}", state.settings.public_url, link.id),
        id: link.id.clone(),
        management_token,
        flags: link.flags.clone(),
        expires_at: link.expires_at.and_then(rfc3339),
        viewer_url: format!("{}{}", state.settings.public_url, crate::viewer::PATH),
    };
    state
        .store
        .run(move |c| store::insert_link(c, &link, now))
        .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Checks the management token of link `id`.
async fn manager(state: &AppState, client: &Client, headers: &HeaderMap, id: &str) -> Result<()> {
    state.limit(client, Some(id))?;
    let token = secret::bearer(headers).ok_or(Error::Unauthorized)?;
    let hash = secret::token_hash(token);
    let id = id.to_owned();
    state
        .store
        .run(move |c| store::authorize_manager(c, &id, &hash))
        .await
}

#[derive(Serialize)]
pub struct Info {
    pub id: String,
    /// `active`, `paused`, `revoked` or `deleted`.
    pub status: &'static str,
    /// Whether a manifest request would be served now (active, not expired, not used up,
    /// attempts left).
    pub open: bool,
    pub flags: String,
    pub label: Option<String>,
    pub created_at: Option<String>,
    pub expires_at: Option<String>,
    pub uses: i64,
    pub max_uses: Option<i64>,
    /// Passcode attempts left; absent without flag P.
    pub remaining_attempts: Option<i64>,
    pub files: i64,
}

/// `GET /api/links/{id}` (management token).
pub async fn info(
    State(state): State<AppState>,
    client: Client,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Info>> {
    manager(&state, &client, &headers, &id).await?;
    let now = state.clock.now();
    let link = state
        .store
        .run(move |c| store::load_link(c, &id))
        .await?
        .ok_or(Error::NotFound)?;
    let p = link.has_flag('P');
    Ok(Json(Info {
        open: link.is_open(now) && (!p || link.remaining_attempts > 0),
        status: link.status.as_str(),
        flags: link.flags.clone(),
        label: link.label.clone(),
        created_at: rfc3339(link.created_at),
        expires_at: link.expires_at.and_then(rfc3339),
        uses: link.uses,
        max_uses: link.max_uses,
        remaining_attempts: p.then_some(link.remaining_attempts),
        files: link.files,
        id: link.id,
    }))
}

#[derive(Serialize)]
pub struct EventOut {
    pub at: Option<String>,
    /// `manifest`, `file` or `direct` (flag U).
    pub kind: String,
    pub recipient: Option<String>,
    pub file_index: Option<i64>,
    pub outcome: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
}

#[derive(Serialize)]
pub struct Events {
    pub id: String,
    pub events: Vec<EventOut>,
}

/// `GET /api/links/{id}/events` (management token).
pub async fn events(
    State(state): State<AppState>,
    client: Client,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Events>> {
    manager(&state, &client, &headers, &id).await?;
    let key = id.clone();
    let rows = state.store.run(move |c| store::events(c, &key)).await?;
    Ok(Json(Events {
        id,
        events: rows
            .into_iter()
            .map(|e| EventOut {
                at: rfc3339(e.at),
                kind: e.kind,
                recipient: e.recipient,
                file_index: e.file_index,
                outcome: e.outcome,
                ip: e.ip,
            })
            .collect(),
    }))
}

#[derive(Serialize)]
pub struct StatusOut {
    pub id: String,
    pub status: &'static str,
}

async fn change(
    state: AppState,
    client: Client,
    headers: HeaderMap,
    id: String,
    what: Change,
) -> Result<Json<StatusOut>> {
    manager(&state, &client, &headers, &id).await?;
    let key = id.clone();
    let status = state
        .store
        .run(move |c| store::change_status(c, &key, what))
        .await?;
    Ok(Json(StatusOut {
        id,
        status: status.as_str(),
    }))
}

/// `POST /api/links/{id}/revoke`: the link answers 404 from now on, for good.
pub async fn revoke(
    State(state): State<AppState>,
    client: Client,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<StatusOut>> {
    change(state, client, headers, id, Change::Revoke).await
}

/// `POST /api/links/{id}/pause`: 404 until resumed.
pub async fn pause(
    State(state): State<AppState>,
    client: Client,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<StatusOut>> {
    change(state, client, headers, id, Change::Pause).await
}

/// `POST /api/links/{id}/resume`.
pub async fn resume(
    State(state): State<AppState>,
    client: Client,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<StatusOut>> {
    change(state, client, headers, id, Change::Resume).await
}

/// `DELETE /api/links/{id}`: revoked, and its ciphertext, passcode hash and label removed
/// (the access events stay).
pub async fn delete(
    State(state): State<AppState>,
    client: Client,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<StatusOut>> {
    change(state, client, headers, id, Change::Delete).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Extend {
    /// The new expiry (required: a link never silently loses its expiry).
    pub expires_at: When,
}

#[derive(Serialize)]
pub struct Extended {
    pub id: String,
    pub expires_at: Option<String>,
}

/// `POST /api/links/{id}/extend` with `{"expires_at": ...}`.
pub async fn extend(
    State(state): State<AppState>,
    client: Client,
    headers: HeaderMap,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<Extend>,
) -> Result<Json<Extended>> {
    manager(&state, &client, &headers, &id).await?;
    let now = state.clock.now();
    let t = req.expires_at.unix()?;
    if t <= now || rfc3339(t).is_none() {
        return Err(Error::Invalid(Invalid::ExpiresAt));
    }
    let expires_at = Some(t);
    let key = id.clone();
    state
        .store
        .run(move |c| store::extend(c, &key, expires_at))
        .await?;
    Ok(Json(Extended {
        id,
        expires_at: expires_at.and_then(rfc3339),
    }))
}
