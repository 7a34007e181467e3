//! The FHIR API: CapabilityStatement, search (patient compartment, `_lastUpdated`, paging), read.
//! Every request except metadata needs a live Bearer token; injected faults apply here.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::oauth::Grant;
use crate::{Fault, Portal};

const FHIR_JSON: &str = "application/fhir+json";

fn fhir_response(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, FHIR_JSON)],
        body.to_string(),
    )
        .into_response()
}

pub fn outcome(status: StatusCode, code: &str, text: &str) -> Response {
    fhir_response(
        status,
        &json!({"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": code, "diagnostics": text}]}),
    )
}

pub async fn metadata(State(portal): State<Arc<Portal>>) -> Response {
    let base = &portal.base;
    let personality = portal.options.personality;
    let types = personality.listed_types(portal.data.resource_types().into_iter().collect());
    let resources: Vec<Value> = types
        .into_iter()
        .map(|t| {
            let mut resource = json!({"type": t, "interaction": [{"code": "read"}, {"code": "search-type"}],
                "searchParam": [{"name": "patient", "type": "reference"}, {"name": "_lastUpdated", "type": "date"}]});
            if t == "Patient"
                && offers_everything(&portal)
                && let Some(object) = resource.as_object_mut()
            {
                object.insert("operation".into(), json!([{"name": "everything",
                    "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything"}]));
            }
            resource
        })
        .collect();
    fhir_response(
        StatusCode::OK,
        &json!({
            "resourceType": "CapabilityStatement", "status": "active", "kind": "instance",
            "date": crate::data::LAST_UPDATED, "fhirVersion": "4.0.1", "format": ["json"],
            "software": {"name": "OwnRecord demo portal"},
            "rest": [{
                "mode": "server",
                "security": {"extension": [{
                    "url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
                    "extension": [
                        {"url": "authorize", "valueUri": format!("{base}/authorize")},
                        {"url": "token", "valueUri": format!("{base}/token")},
                        {"url": "revoke", "valueUri": format!("{base}/revoke")}
                    ]}],
                    "service": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/restful-security-service", "code": "SMART-on-FHIR"}]}]},
                "resource": resources
            }]
        }),
    )
}

/// The grant behind the request's Bearer token, or the 401 to send.
fn authorize(portal: &Portal, headers: &HeaderMap) -> Result<Grant, Response> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match token.and_then(|t| crate::lock(&portal.auth).access_grant(t)) {
        Some(grant)
            if portal.options.personality.needs_patient_scope()
                && !grant
                    .scope
                    .split_whitespace()
                    .any(|s| s.starts_with("patient/")) =>
        {
            Err(outcome(
                StatusCode::FORBIDDEN,
                "forbidden",
                "the grant holds no patient resource scope",
            ))
        }
        Some(grant) => Ok(grant),
        None => {
            let mut response = outcome(
                StatusCode::UNAUTHORIZED,
                "login",
                "a valid access token is required",
            );
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            Err(response)
        }
    }
}

/// A slow portal (tests): each search and read waits `Options::delay` first.
async fn slow_down(portal: &Portal) {
    if !portal.options.delay.is_zero() {
        tokio::time::sleep(portal.options.delay).await;
    }
}

/// The answer to a FHIR request: `body`, unless an injected fault is due.
fn answer(portal: &Portal, body: &Value) -> Response {
    match fault(portal) {
        Some(f) => faulty_response(f, body),
        None => fhir_response(StatusCode::OK, body),
    }
}

/// Counts the request and applies the next injected fault, if any.
fn fault(portal: &Portal) -> Option<Fault> {
    portal.fhir_requests.fetch_add(1, Ordering::SeqCst);
    crate::lock(&portal.faults).pop_front()
}

fn faulty_response(fault: Fault, body: &Value) -> Response {
    match fault {
        Fault::TooManyRequests { retry_after_secs } => {
            let mut r = outcome(StatusCode::TOO_MANY_REQUESTS, "throttled", "slow down");
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            r
        }
        Fault::ServerError => outcome(
            StatusCode::INTERNAL_SERVER_ERROR,
            "exception",
            "something broke",
        ),
        Fault::MalformedBody => {
            let text = body.to_string();
            fhir_response_text(StatusCode::OK, first_half(&text))
        }
        Fault::DropConnection => {
            let text = body.to_string();
            let half = first_half(&text);
            let chunks: Vec<Result<String, std::io::Error>> = vec![
                Ok(half),
                Err(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "dropped",
                )),
            ];
            // Cannot panic: a fixed status and a static, valid header.
            #[allow(clippy::expect_used)]
            let response = Response::builder()
                .status(StatusCode::OK)
                .header(header::CONTENT_TYPE, FHIR_JSON)
                .body(Body::from_stream(futures_util::stream::iter(chunks)))
                .expect("response builds");
            response
        }
    }
}

fn fhir_response_text(status: StatusCode, text: String) -> Response {
    (status, [(header::CONTENT_TYPE, FHIR_JSON)], text).into_response()
}

pub async fn search(
    State(portal): State<Arc<Portal>>,
    Path(resource_type): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    slow_down(&portal).await;
    let grant = match authorize(&portal, &headers) {
        Ok(grant) => grant,
        Err(response) => return response,
    };
    let personality = portal.options.personality;
    if !personality.serves(&resource_type) {
        return not_served();
    }
    let patient = query
        .get("patient")
        .or_else(|| query.get("subject"))
        .map(|p| p.trim_start_matches("Patient/").to_owned())
        .or_else(|| {
            (resource_type == "Patient")
                .then(|| query.get("_id").cloned())
                .flatten()
        })
        .unwrap_or_else(|| grant.patient.clone());
    if patient != grant.patient {
        return outcome(
            StatusCode::FORBIDDEN,
            "forbidden",
            "this token is for another patient",
        );
    }
    let category = query.get("category").map(|c| personality.category_codes(c));
    let required = personality.required_categories(&resource_type);
    if category.is_none()
        && (required.is_some()
            || portal
                .options
                .category_required
                .contains(&resource_type.as_str()))
    {
        return outcome(
            StatusCode::BAD_REQUEST,
            "required",
            "a category is required to search this type",
        );
    }
    if let (Some(accepted), Some(asked)) = (required, &category)
        && let Some(unknown) = asked.iter().find(|c| !accepted.contains(&c.as_str()))
    {
        return outcome(
            StatusCode::BAD_REQUEST,
            "not-supported",
            &format!("category {unknown} is not supported for {resource_type}"),
        );
    }
    let since = query.get("_lastUpdated").map(|v| v.as_str());
    let matches: Vec<&Value> = portal
        .data
        .search(&resource_type, &patient)
        .into_iter()
        .filter(|r| last_updated_matches(r, since))
        .filter(|r| {
            category
                .as_ref()
                .is_none_or(|codes| codes.iter().any(|c| in_category(r, c)))
        })
        .collect();
    let bundle = searchset(&portal, &resource_type, &query, &matches);
    answer(&portal, &bundle)
}

/// `Patient/{id}/$everything`: the whole compartment, paged, `_since` for what changed.
pub async fn everything(
    State(portal): State<Arc<Portal>>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let grant = match authorize(&portal, &headers) {
        Ok(grant) => grant,
        Err(response) => return response,
    };
    if !offers_everything(&portal) {
        return outcome(
            StatusCode::NOT_FOUND,
            "not-supported",
            "$everything is not offered",
        );
    }
    if id != grant.patient {
        return outcome(
            StatusCode::FORBIDDEN,
            "forbidden",
            "this token is for another patient",
        );
    }
    let since = query.get("_since").map(|s| format!("gt{s}"));
    let matches: Vec<&Value> = portal
        .data
        .patient_resources(&id)
        .iter()
        .filter(|(t, _)| portal.options.personality.serves(t))
        .filter_map(|(t, rid)| portal.data.get(t, rid))
        .filter(|r| last_updated_matches(r, since.as_deref()))
        .collect();
    let bundle = searchset(
        &portal,
        &format!("Patient/{id}/$everything"),
        &query,
        &matches,
    );
    answer(&portal, &bundle)
}

/// One page of a searchset Bundle over `matches`, with `self`/`next` links on `path`.
fn searchset(
    portal: &Portal,
    path: &str,
    query: &HashMap<String, String>,
    matches: &[&Value],
) -> Value {
    // `_count` is a request; like real servers, the portal caps it at its own page size.
    let count = query
        .get("_count")
        .and_then(|c| c.parse().ok())
        .unwrap_or(portal.options.page_size)
        .clamp(1, portal.options.page_size.max(1));
    let offset: usize = query
        .get("_offset")
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let page: Vec<Value> = matches
        .iter()
        .skip(offset)
        .take(count)
        .map(|r| {
            let t = r["resourceType"].as_str().unwrap_or_default();
            let id = r["id"].as_str().unwrap_or_default();
            json!({"fullUrl": format!("{}/fhir/{t}/{id}", portal.base), "resource": r, "search": {"mode": "match"}})
        })
        .collect();
    let link = |offset: usize| {
        let mut params: Vec<(String, String)> = query
            .iter()
            .filter(|(k, _)| k.as_str() != "_offset" && k.as_str() != "_count")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        params.sort();
        params.push(("_count".into(), count.to_string()));
        params.push(("_offset".into(), offset.to_string()));
        let q: Vec<String> = params
            .iter()
            .map(|(k, v)| format!("{k}={}", query_encode(v)))
            .collect();
        format!("{}/fhir/{path}?{}", portal.base, q.join("&"))
    };
    let mut links = vec![json!({"relation": "self", "url": link(offset)})];
    let next = offset.saturating_add(count);
    if next < matches.len() {
        links.push(json!({"relation": "next", "url": link(next)}));
    }
    json!({
        "resourceType": "Bundle", "type": "searchset", "total": matches.len(),
        "link": links, "entry": page,
    })
}

pub async fn read(
    State(portal): State<Arc<Portal>>,
    Path((resource_type, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    slow_down(&portal).await;
    if let Err(response) = authorize(&portal, &headers) {
        return response;
    }
    if !portal.options.personality.serves(&resource_type) {
        return not_served();
    }
    let Some(resource) = portal.data.get(&resource_type, &id) else {
        return outcome(StatusCode::NOT_FOUND, "not-found", "no such resource");
    };
    answer(&portal, resource)
}

fn offers_everything(portal: &Portal) -> bool {
    portal.options.everything && portal.options.personality.offers_everything()
}

fn not_served() -> Response {
    outcome(
        StatusCode::NOT_FOUND,
        "not-supported",
        "this server does not serve that resource type",
    )
}

/// Whether any `category` coding of the resource has this code.
pub fn in_category(resource: &Value, code: &str) -> bool {
    resource["category"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|c| c["coding"].as_array().into_iter().flatten())
        .any(|coding| coding["code"] == code)
}

/// `_lastUpdated=gtX` / `geX` / `X` (= ge), compared as RFC 3339 text (the demo data's are all UTC).
fn last_updated_matches(resource: &Value, since: Option<&str>) -> bool {
    let Some(since) = since else { return true };
    let updated = resource
        .pointer("/meta/lastUpdated")
        .and_then(Value::as_str)
        .unwrap_or("");
    if let Some(t) = since.strip_prefix("gt") {
        updated > t
    } else if let Some(t) = since.strip_prefix("ge") {
        updated >= t
    } else {
        updated >= since
    }
}

fn query_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' | b':' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The first half of a body, cut at a character boundary (a name with "é" at the middle of the
/// text must not panic the portal).
fn first_half(text: &str) -> String {
    text.get(..text.floor_char_boundary(text.len() / 2))
        .unwrap_or_default()
        .to_owned()
}

#[cfg(test)]
mod half_tests {
    #[test]
    fn a_body_is_cut_between_characters() {
        assert_eq!(super::first_half("ééé"), "é");
        assert_eq!(super::first_half("abcd"), "ab");
        assert_eq!(super::first_half(""), "");
    }
}
