//! Epic's way of giving a device its own credentials: RFC 7591 dynamic client registration of a
//! public JWK (with the patient's live access token as Bearer), then RFC 7523 JWT-bearer assertions
//! signed by that key in place of refresh tokens.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::jwt::{ClientKey, now_secs};
use crate::oauth::{Grant, token_error};
use crate::personality::JWT_BEARER;
use crate::{Portal, random_token};

/// The longest an assertion may live (its `exp` at most this far ahead).
const MAX_ASSERTION_SECS: u64 = 300;

/// Registered clients and the assertion ids already used.
#[derive(Debug, Default)]
pub struct Registry {
    clients: HashMap<String, Client>,
    /// jti → its assertion's exp (kept until then; a replay after exp fails on exp anyway).
    seen: HashMap<String, u64>,
}

#[derive(Debug)]
struct Client {
    keys: Vec<ClientKey>,
    patient: String,
    scope: String,
}

impl Registry {
    pub fn len(&self) -> usize {
        self.clients.len()
    }

    /// Forgets every registered client (as when a patient removes a device in the portal).
    pub fn forget(&mut self) {
        self.clients.clear();
    }
}

fn metadata_error(description: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"error": "invalid_client_metadata", "error_description": description})),
    )
        .into_response()
}

/// `POST /register`.
pub async fn register(
    State(portal): State<Arc<Portal>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !portal.options.personality.registers_clients() {
        return (StatusCode::NOT_FOUND, "no client registration here").into_response();
    }
    let grant = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .and_then(|t| crate::lock(&portal.auth).access_grant(t));
    let Some(grant) = grant else {
        let mut response = (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "invalid_token", "error_description": "a live access token is required"})),
        )
            .into_response();
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return response;
    };
    let Ok(Value::Object(request)) = serde_json::from_slice::<Value>(&body) else {
        return metadata_error("the body must be a JSON object");
    };
    let software_id = match request.get("software_id") {
        Some(Value::String(id)) if !id.is_empty() => id.clone(),
        _ => return metadata_error("software_id is required"),
    };
    if !grant.client_id.is_empty() && software_id != grant.client_id {
        return metadata_error("software_id must be the client id the patient signed in with");
    }
    let Some(jwks) = request.get("jwks").filter(|j| j.is_object()) else {
        return metadata_error("jwks is required");
    };
    let keys = match jwks["keys"].as_array() {
        Some(keys) if !keys.is_empty() => keys,
        _ => return metadata_error("jwks.keys must list the public key"),
    };
    let keys = match keys
        .iter()
        .map(ClientKey::from_jwk)
        .collect::<Result<Vec<_>, _>>()
    {
        Ok(keys) => keys,
        Err(why) => return metadata_error(&why),
    };
    let client_id = random_token();
    let scope = grant
        .scope
        .split_whitespace()
        .filter(|s| *s != "offline_access")
        .collect::<Vec<_>>()
        .join(" ");
    crate::lock(&portal.registry).clients.insert(
        client_id.clone(),
        Client {
            keys,
            patient: grant.patient,
            scope,
        },
    );
    (
        StatusCode::CREATED,
        [(header::CACHE_CONTROL, "no-store")],
        Json(json!({
            "client_id": client_id,
            "software_id": software_id,
            "jwks": jwks,
            "grant_types": [JWT_BEARER],
            "token_endpoint_auth_method": "none",
        })),
    )
        .into_response()
}

/// The grant a JWT-bearer assertion earns, or the `invalid_grant` answer.
pub fn exchange(
    portal: &Portal,
    assertion: Option<&str>,
    client_id: Option<&str>,
) -> Result<Grant, Response> {
    let refuse = |why: &str| Err(token_error("invalid_grant", why));
    let Some(assertion) = assertion.filter(|a| !a.is_empty()) else {
        return refuse("assertion is required");
    };
    let mut registry = crate::lock(&portal.registry);
    // The signature first: nothing in an unverified assertion is read.
    let Some((issuer, claims)) = registry.clients.iter().find_map(|(id, client)| {
        client
            .keys
            .iter()
            .find_map(|k| k.verify(assertion))
            .map(|claims| (id.clone(), claims))
    }) else {
        return refuse("the assertion is not signed by a registered client's key");
    };
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    if text("iss") != Some(issuer.as_str()) {
        return refuse("iss must be the registered client id");
    }
    if client_id.is_some_and(|c| c != issuer) {
        return refuse("client_id must be the assertion's iss");
    }
    let client = registry
        .clients
        .get(&issuer)
        .map(|c| (c.patient.clone(), c.scope.clone()));
    let Some((patient, scope)) = client else {
        return refuse("unknown client");
    };
    if text("sub") != Some(patient.as_str()) {
        return refuse("sub must be the patient the client was registered for");
    }
    let token_endpoint = format!("{}/token", portal.base);
    if !audience_is(&claims, &token_endpoint) {
        return refuse("aud must be the token endpoint URL");
    }
    let now = now_secs();
    let Some(exp) = claims.get("exp").and_then(Value::as_u64) else {
        return refuse("exp is required");
    };
    if exp <= now {
        return refuse("the assertion expired");
    }
    if exp > now.saturating_add(MAX_ASSERTION_SECS) {
        return refuse("exp must be at most 5 minutes ahead");
    }
    let Some(jti) = text("jti").filter(|j| !j.is_empty()) else {
        return refuse("jti is required");
    };
    registry.seen.retain(|_, until| *until > now);
    if registry.seen.contains_key(jti) {
        return refuse("this assertion was already used (jti)");
    }
    registry.seen.insert(jti.to_owned(), exp);
    Ok(Grant {
        id: random_token(),
        patient,
        scope,
        client_id: issuer,
        nonce: None,
        expires: std::time::Instant::now(),
    })
}

/// `aud` is the URL, as a string or a one-element array.
fn audience_is(claims: &Map<String, Value>, url: &str) -> bool {
    match claims.get("aud") {
        Some(Value::String(aud)) => aud == url,
        Some(Value::Array(auds)) => matches!(auds.as_slice(), [Value::String(aud)] if aud == url),
        _ => false,
    }
}
