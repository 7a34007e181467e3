//! SMART App Launch: discovery, the authorization decision, tokens (PKCE S256, rotating refresh
//! tokens) and RFC 7009 revocation.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Form;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::jwt::{now_secs, sign_hs256};
use crate::personality::{IdTokenSubject, JWT_BEARER};
use crate::{DEMO_PASSWORD, DEMO_USERNAME, Portal, random_token};

/// Scopes the demo portal grants.
pub const SCOPES_SUPPORTED: &[&str] = &[
    "openid",
    "fhirUser",
    "launch/patient",
    "offline_access",
    "patient/*.rs",
    "patient/*.read",
];

#[derive(Default)]
pub struct AuthState {
    codes: HashMap<String, CodeGrant>,
    access: HashMap<String, Grant>,
    refresh: HashMap<String, Grant>,
}

struct CodeGrant {
    client_id: String,
    redirect_uri: String,
    code_challenge: String,
    grant: Grant,
    expires: Instant,
}

#[derive(Clone)]
pub struct Grant {
    /// The same across refreshes: revoking a refresh token ends the grant's access tokens too.
    pub id: String,
    pub patient: String,
    pub scope: String,
    /// The client that signed in (empty for tokens minted by a test hook).
    pub client_id: String,
    /// The authorization request's `nonce`, for id tokens.
    pub nonce: Option<String>,
    pub expires: Instant,
}

impl AuthState {
    pub fn expire_access_tokens(&mut self) {
        let past = Instant::now() - Duration::from_secs(1);
        self.access.values_mut().for_each(|g| g.expires = past);
    }

    pub fn revoke_all(&mut self) {
        self.access.clear();
        self.refresh.clear();
    }

    pub fn is_active(&self, token: &str) -> bool {
        self.access
            .get(token)
            .is_some_and(|g| g.expires > Instant::now())
            || self.refresh.contains_key(token)
    }

    pub fn issue_access(&mut self, patient: &str, ttl: Duration) -> String {
        let token = random_token();
        let grant = Grant {
            id: random_token(),
            patient: patient.to_owned(),
            scope: "patient/*.rs".into(),
            client_id: String::new(),
            nonce: None,
            expires: Instant::now() + ttl,
        };
        self.access.insert(token.clone(), grant);
        token
    }

    /// The grant behind a live access token.
    pub fn access_grant(&self, token: &str) -> Option<Grant> {
        self.access
            .get(token)
            .filter(|g| g.expires > Instant::now())
            .cloned()
    }
}

pub async fn smart_configuration(State(portal): State<Arc<Portal>>) -> Json<serde_json::Value> {
    let base = &portal.base;
    let mut config = json!({
        "issuer": base,
        "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/token"),
        "revocation_endpoint": format!("{base}/revoke"),
        "token_endpoint_auth_methods_supported": ["none"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "response_types_supported": ["code"],
        "scopes_supported": SCOPES_SUPPORTED,
        "code_challenge_methods_supported": portal.options.code_challenge_methods,
        "capabilities": [
            "launch-standalone", "client-public", "context-standalone-patient",
            "permission-patient", "permission-offline", "permission-v2", "permission-v1"
        ],
    });
    let types: Vec<String> = portal.data.resource_types().into_iter().collect();
    portal
        .options
        .personality
        .adjust_configuration(&mut config, base, &types);
    Json(config)
}

/// The authorization request's parameters, carried through the login page as hidden fields.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct AuthorizeParams {
    pub response_type: Option<String>,
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub aud: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub nonce: Option<String>,
}

/// Whether the request may proceed; `Err` is either an error page (bad client/redirect) or an
/// error redirect back to the app.
pub fn check_request(portal: &Portal, p: &AuthorizeParams) -> Result<(), Response> {
    let personality = portal.options.personality;
    let Some(redirect_uri) = p
        .redirect_uri
        .as_deref()
        .filter(|r| personality.accepts_redirect(r))
    else {
        return Err((StatusCode::BAD_REQUEST, personality.redirect_refusal()).into_response());
    };
    if p.client_id.as_deref().unwrap_or("").is_empty() {
        return Err((StatusCode::BAD_REQUEST, "client_id is missing").into_response());
    }
    let fail = |error: &str, description: &str| {
        Err(error_redirect(
            redirect_uri,
            p.state.as_deref(),
            error,
            description,
        ))
    };
    if p.response_type.as_deref() != Some("code") {
        return fail(
            "unsupported_response_type",
            "only the authorization code flow is supported",
        );
    }
    if p.code_challenge_method.as_deref() != Some("S256")
        || p.code_challenge.as_deref().unwrap_or("").is_empty()
    {
        return fail("invalid_request", "PKCE with S256 is required");
    }
    let fhir_base = format!("{}/fhir", portal.base);
    if let Some((error, description)) = personality.authorize_refusal(p, &fhir_base) {
        return fail(error, &description);
    }
    Ok(())
}

fn error_redirect(
    redirect_uri: &str,
    state: Option<&str>,
    error: &str,
    description: &str,
) -> Response {
    let mut url = format!(
        "{redirect_uri}?error={}&error_description={}",
        encode(error),
        encode(description)
    );
    if let Some(state) = state {
        url += &format!("&state={}", encode(state));
    }
    Redirect::to(&url).into_response()
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[derive(Debug, Deserialize)]
pub struct Decision {
    #[serde(flatten)]
    pub request: AuthorizeParams,
    pub username: Option<String>,
    pub password: Option<String>,
    pub patient: Option<String>,
    pub decision: Option<String>,
}

/// The login + consent form's answer: a code for the app, or `access_denied`.
pub async fn decide(State(portal): State<Arc<Portal>>, Form(d): Form<Decision>) -> Response {
    if let Err(response) = check_request(&portal, &d.request) {
        return response;
    }
    let p = &d.request;
    let redirect_uri = p.redirect_uri.clone().unwrap_or_default();
    if d.decision.as_deref() != Some("approve") {
        return error_redirect(
            &redirect_uri,
            p.state.as_deref(),
            "access_denied",
            "The patient did not allow access.",
        );
    }
    if d.username.as_deref() != Some(DEMO_USERNAME) || d.password.as_deref() != Some(DEMO_PASSWORD)
    {
        return crate::pages::login_page(&portal, p, Some("Wrong username or password."))
            .into_response();
    }
    let Some(patient) = d
        .patient
        .filter(|id| portal.data.patients.iter().any(|p| &p.id == id))
    else {
        return (StatusCode::BAD_REQUEST, "choose a patient").into_response();
    };
    let code = random_token();
    let grant = Grant {
        id: random_token(),
        patient,
        scope: portal
            .options
            .personality
            .granted_scope(p.scope.as_deref().unwrap_or_default()),
        client_id: p.client_id.clone().unwrap_or_default(),
        nonce: p.nonce.clone(),
        expires: Instant::now(),
    };
    crate::lock(&portal.auth).codes.insert(
        code.clone(),
        CodeGrant {
            client_id: p.client_id.clone().unwrap_or_default(),
            redirect_uri: redirect_uri.clone(),
            code_challenge: p.code_challenge.clone().unwrap_or_default(),
            grant,
            expires: Instant::now() + Duration::from_secs(120),
        },
    );
    let mut url = format!("{redirect_uri}?code={code}");
    if let Some(state) = &p.state {
        url += &format!("&state={}", encode(state));
    }
    Redirect::to(&url).into_response()
}

#[derive(Debug, Deserialize)]
pub struct TokenRequest {
    grant_type: String,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    refresh_token: Option<String>,
    scope: Option<String>,
    assertion: Option<String>,
}

pub fn token_error(error: &str, description: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

pub async fn token(
    State(portal): State<Arc<Portal>>,
    headers: HeaderMap,
    Form(req): Form<TokenRequest>,
) -> Response {
    let personality = portal.options.personality;
    // A confidential client shows a secret (in the form or by HTTP Basic); the app is public.
    let public = req.client_secret.is_none()
        && !headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("Basic "));
    let mut auth = crate::lock(&portal.auth);
    let grant = match req.grant_type.as_str() {
        "authorization_code" => {
            let Some(code) = req.code.as_deref().and_then(|c| auth.codes.remove(c)) else {
                return token_error("invalid_grant", "unknown or used authorization code");
            };
            if code.expires < Instant::now() {
                return token_error("invalid_grant", "the authorization code expired");
            }
            if req.client_id.as_deref() != Some(code.client_id.as_str())
                || req.redirect_uri.as_deref() != Some(code.redirect_uri.as_str())
            {
                return token_error(
                    "invalid_grant",
                    "client_id or redirect_uri do not match the authorization request",
                );
            }
            let verifier = req.code_verifier.as_deref().unwrap_or("");
            let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(Sha256::digest(verifier.as_bytes()));
            if verifier.len() < 43 || challenge != code.code_challenge {
                return token_error("invalid_grant", "PKCE verification failed");
            }
            code.grant
        }
        "refresh_token" => {
            let asked = req.scope.as_deref().filter(|s| !s.trim().is_empty());
            if personality.refresh_names_scope() && asked.is_none() {
                return token_error("invalid_request", "scope is required");
            }
            // Rotation: the presented refresh token is spent either way.
            let Some(mut grant) = req
                .refresh_token
                .as_deref()
                .and_then(|t| auth.refresh.remove(t))
            else {
                return token_error(
                    "invalid_grant",
                    "the refresh token is not valid (expired, used or revoked)",
                );
            };
            if let Some(asked) = asked.filter(|_| personality.refresh_names_scope()) {
                grant.scope = within(asked, &grant.scope);
            }
            grant
        }
        JWT_BEARER if personality.registers_clients() => {
            match crate::register::exchange(
                &portal,
                req.assertion.as_deref(),
                req.client_id.as_deref(),
            ) {
                Ok(grant) => grant,
                Err(response) => return response,
            }
        }
        _ => {
            return token_error(
                "unsupported_grant_type",
                if personality.registers_clients() {
                    "use authorization_code, refresh_token or jwt-bearer"
                } else {
                    "use authorization_code or refresh_token"
                },
            );
        }
    };
    let ttl = portal.options.access_token_ttl;
    let access_token = if personality.jwt_access_tokens() {
        let mut claims = serde_json::Map::new();
        claims.insert("iss".into(), portal.base.clone().into());
        claims.insert("patient".into(), grant.patient.clone().into());
        claims.insert("scope".into(), grant.scope.clone().into());
        claims.insert(
            "exp".into(),
            now_secs().saturating_add(ttl.as_secs()).into(),
        );
        claims.insert("jti".into(), random_token().into());
        match sign_hs256(&portal.secret, claims) {
            Ok(token) => token,
            Err(_) => return server_error(),
        }
    } else {
        random_token()
    };
    auth.access.insert(
        access_token.clone(),
        Grant {
            expires: Instant::now() + ttl,
            ..grant.clone()
        },
    );
    let mut body = json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": ttl.as_secs(),
        "scope": grant.scope,
    });
    if personality.token_names_patient() {
        set(&mut body, "patient", grant.patient.clone());
    }
    if let Some(subject) = personality.id_token() {
        match id_token(&portal, &grant, subject, ttl) {
            Ok(token) => set(&mut body, "id_token", token),
            Err(_) => return server_error(),
        }
    }
    let offline = grant
        .scope
        .split_whitespace()
        .any(|s| s == "offline_access");
    let refreshable =
        req.grant_type != JWT_BEARER && (!public || personality.refreshes_public_clients());
    if offline && refreshable {
        let refresh_token = random_token();
        auth.refresh.insert(refresh_token.clone(), grant);
        set(&mut body, "refresh_token", refresh_token);
    }
    (
        [(axum::http::header::CACHE_CONTROL, "no-store")],
        Json(body),
    )
        .into_response()
}

/// The scopes of `asked` that `granted` holds, in the asked order.
fn within(asked: &str, granted: &str) -> String {
    let granted: Vec<&str> = granted.split_whitespace().collect();
    asked
        .split_whitespace()
        .filter(|s| granted.contains(s))
        .collect::<Vec<_>>()
        .join(" ")
}

/// An OpenID Connect id token (HS256 under the portal's secret, which it publishes nowhere: the
/// client takes it from the token endpoint, OIDC Core 3.1.3.7).
fn id_token(
    portal: &Portal,
    grant: &Grant,
    subject: IdTokenSubject,
    ttl: Duration,
) -> Result<String, String> {
    let now = now_secs();
    let sub = match subject {
        IdTokenSubject::Patient => grant.patient.clone(),
        IdTokenSubject::OpaqueUser => {
            let digest = Sha256::new()
                .chain_update(portal.secret)
                .chain_update(grant.patient.as_bytes())
                .finalize();
            format!("u-{}", hex::encode(digest.get(..12).unwrap_or_default()))
        }
    };
    let mut claims = serde_json::Map::new();
    claims.insert("iss".into(), portal.base.clone().into());
    claims.insert("sub".into(), sub.into());
    claims.insert("aud".into(), grant.client_id.clone().into());
    claims.insert("iat".into(), now.into());
    claims.insert("exp".into(), now.saturating_add(ttl.as_secs()).into());
    if let Some(nonce) = &grant.nonce {
        claims.insert("nonce".into(), nonce.clone().into());
    }
    claims.insert(
        "fhirUser".into(),
        format!("{}/fhir/Patient/{}", portal.base, grant.patient).into(),
    );
    sign_hs256(&portal.secret, claims)
}

fn server_error() -> Response {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Json(
            json!({ "error": "server_error", "error_description": "the token could not be made" }),
        ),
    )
        .into_response()
}

#[derive(Debug, Deserialize)]
pub struct RevokeRequest {
    token: String,
}

/// RFC 7009: always 200, whether or not the token was known.
pub async fn revoke(
    State(portal): State<Arc<Portal>>,
    Form(req): Form<RevokeRequest>,
) -> StatusCode {
    let mut auth = crate::lock(&portal.auth);
    auth.access.remove(&req.token);
    if let Some(grant) = auth.refresh.remove(&req.token) {
        auth.access.retain(|_, g| g.id != grant.id);
    }
    StatusCode::OK
}

/// Adds a field to a JSON object the portal built.
fn set(body: &mut serde_json::Value, key: &str, value: impl Into<serde_json::Value>) {
    if let Some(object) = body.as_object_mut() {
        object.insert(key.to_owned(), value.into());
    }
}
