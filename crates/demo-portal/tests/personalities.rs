//! Each personality's quirks at the HTTP level, as a client meets them: the sign-in (the login
//! form posted as a browser would, the redirect read from `Location`), the token endpoint, the
//! FHIR side and `/register`.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use josekit::jwk::KeyPair;
use josekit::jws::{ES384, JwsHeader, JwsSigner, RS384};
use josekit::jwt::JwtPayload;
use ownrecord_demo_portal::{
    ATHENA_PRACTICE, DEMO_CLIENT_ID, DemoPortal, JWT_BEARER, Options, PRIVATE_USE_REDIRECT,
    Personality,
};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const LOOPBACK: &str = "http://127.0.0.1:9/callback";
const VERIFIER: &str = "a-verifier-of-at-least-forty-three-characters-long";
const PRACTICE: &str = "Organization/a-1.Practice-195900";

async fn start(personality: Personality) -> DemoPortal {
    start_with(Options {
        personality,
        ..Default::default()
    })
    .await
}

async fn start_with(options: Options) -> DemoPortal {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/demo-patients");
    DemoPortal::start_with_patients(([127, 0, 0, 1], 0).into(), &dir, options)
        .await
        .unwrap()
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// An authorization request's parameters, to be changed per test.
#[derive(Clone)]
struct Params(Vec<(String, String)>);

impl Params {
    fn new(portal: &DemoPortal, scope: &str) -> Params {
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(VERIFIER.as_bytes()));
        Params(
            [
                ("response_type", "code"),
                ("client_id", DEMO_CLIENT_ID),
                ("redirect_uri", LOOPBACK),
                ("scope", scope),
                ("state", "st-1"),
                ("aud", &portal.fhir_base()),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
            ]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        )
    }

    fn set(mut self, key: &str, value: &str) -> Params {
        self.0.retain(|(k, _)| k != key);
        self.0.push((key.into(), value.into()));
        self
    }

    fn without(mut self, key: &str) -> Params {
        self.0.retain(|(k, _)| k != key);
        self
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// GET /authorize: the status and the redirect's query (empty when it did not redirect).
async fn open_authorize(portal: &DemoPortal, params: &Params) -> (StatusCode, String, String) {
    let response = http()
        .get(format!("http://{}/authorize", portal.addr()))
        .query(&params.0)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let location = location(&response);
    (status, location, response.text().await.unwrap())
}

fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// The query parameters of a redirect URI.
fn query_of(location: &str) -> HashMap<String, String> {
    let query = location.split_once('?').map(|(_, q)| q).unwrap_or("");
    url_decode_pairs(query)
}

fn url_decode_pairs(query: &str) -> HashMap<String, String> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

fn decode(s: &str) -> String {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&b) = s.as_bytes().get(i) {
        let escaped = s
            .get(i + 1..i + 3)
            .filter(|_| b == b'%')
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match (escaped, b) {
            (Some(byte), _) => {
                out.push(byte);
                i += 3;
            }
            (None, b'+') => {
                out.push(b' ');
                i += 1;
            }
            (None, b) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap()
}

/// Posts the login + consent form (demo / demo, the first patient, approve): the redirect's
/// `Location`.
async fn approve(portal: &DemoPortal, params: &Params) -> String {
    let mut form = params.0.clone();
    let patient = portal.patients()[0].id.clone();
    for (k, v) in [
        ("username", "demo"),
        ("password", "demo"),
        ("patient", patient.as_str()),
        ("decision", "approve"),
    ] {
        form.push((k.into(), v.into()));
    }
    let response = http()
        .post(format!("http://{}/authorize", portal.addr()))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_redirection(), "{}", response.status());
    location(&response)
}

/// Signs in and exchanges the code: the token endpoint's status and JSON body.
async fn sign_in(portal: &DemoPortal, params: &Params, extra: &[(&str, &str)]) -> (u16, Value) {
    let location = approve(portal, params).await;
    let code = query_of(&location)
        .remove("code")
        .unwrap_or_else(|| panic!("no code in {location}"));
    let mut form = vec![
        ("grant_type", "authorization_code".to_owned()),
        ("code", code),
        (
            "redirect_uri",
            params.get("redirect_uri").unwrap().to_owned(),
        ),
        ("client_id", DEMO_CLIENT_ID.to_owned()),
        ("code_verifier", VERIFIER.to_owned()),
    ];
    form.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
    post_token(portal, &form).await
}

async fn post_token(portal: &DemoPortal, form: &[(&str, String)]) -> (u16, Value) {
    let response = http()
        .post(format!("http://{}/token", portal.addr()))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn fhir_get(portal: &DemoPortal, path: &str, token: &str) -> reqwest::Response {
    http()
        .get(format!("{}/{path}", portal.fhir_base()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

async fn fhir_json(portal: &DemoPortal, path: &str, token: &str) -> (u16, Value) {
    let response = fhir_get(portal, path, token).await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn patient(portal: &DemoPortal) -> String {
    portal.patients()[0].id.clone()
}

/// A JWT's claims, unverified (the portal's secret is published nowhere).
fn claims_of(jwt: &str) -> Value {
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3, "not a compact JWS: {jwt}");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap()
}

fn header_of(jwt: &str) -> Value {
    let header = jwt.split('.').next().unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap()
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

const OFFLINE: &str = "openid fhirUser launch/patient offline_access patient/*.rs";

// --- generic ---

#[tokio::test]
async fn generic_takes_loopback_and_the_private_use_redirect_only() {
    let portal = start(Personality::Generic).await;
    let loopback = approve(&portal, &Params::new(&portal, OFFLINE)).await;
    assert!(
        loopback.starts_with("http://127.0.0.1:9/callback?code="),
        "{loopback}"
    );
    let params = Params::new(&portal, OFFLINE).set("redirect_uri", PRIVATE_USE_REDIRECT);
    let private = approve(&portal, &params).await;
    assert!(
        private.starts_with("org.ownrecord.app:/callback?code="),
        "{private}"
    );
    let (status, body) = sign_in(&portal, &params, &[]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["patient"], patient(&portal));
    assert!(
        body["refresh_token"].is_string(),
        "generic refreshes public clients"
    );
    assert!(body.get("id_token").is_none());
    for other in [
        "https://example.com/callback",
        "org.ownrecord.app:/other",
        "org.ownrecord.app:/callback/x",
    ] {
        let (status, _, _) = open_authorize(
            &portal,
            &Params::new(&portal, OFFLINE).set("redirect_uri", other),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{other}");
    }
}

#[tokio::test]
async fn refused_lists_every_4xx_of_fhir_and_token_in_order() {
    let portal = start(Personality::Generic).await;
    assert!(portal.refused().is_empty());
    assert_eq!(fhir_get(&portal, "Observation", "nope").await.status(), 401);
    let (status, _) = post_token(&portal, &[("grant_type", "password".into())]).await;
    assert_eq!(status, 400);
    let token = portal.issue_access_token(&patient(&portal));
    assert_eq!(
        fhir_get(&portal, "Observation/nothing-here", &token)
            .await
            .status(),
        404
    );
    assert_eq!(fhir_get(&portal, "Observation", &token).await.status(), 200);
    assert_eq!(
        portal.refused(),
        vec![
            (401, "/fhir/Observation".to_owned()),
            (400, "/token".to_owned()),
            (404, "/fhir/Observation/nothing-here".to_owned()),
        ]
    );
}

// --- epic ---

#[tokio::test]
async fn epic_advertises_registration_and_offers_no_everything() {
    let portal = start_with(Options {
        personality: Personality::Epic,
        everything: true,
        ..Default::default()
    })
    .await;
    let token = portal.issue_access_token(&patient(&portal));
    let (_, config) = fhir_json(&portal, ".well-known/smart-configuration", "").await;
    let base = format!("http://{}", portal.addr());
    assert_eq!(config["registration_endpoint"], format!("{base}/register"));
    assert!(
        config["grant_types_supported"]
            .as_array()
            .unwrap()
            .contains(&json!(JWT_BEARER))
    );
    let capabilities = config["capabilities"].as_array().unwrap();
    assert!(!capabilities.contains(&json!("permission-offline")));
    assert!(capabilities.contains(&json!("client-public")));
    let (_, metadata) = fhir_json(&portal, "metadata", "").await;
    assert!(!metadata.to_string().contains("everything"));
    let path = format!("Patient/{}/$everything", patient(&portal));
    assert_eq!(fhir_get(&portal, &path, &token).await.status(), 404);
}

#[tokio::test]
async fn epic_gives_a_public_client_no_refresh_token() {
    let portal = start(Personality::Epic).await;
    let params = Params::new(&portal, OFFLINE);
    let (status, public) = sign_in(&portal, &params, &[]).await;
    assert_eq!(status, 200, "{public}");
    assert!(public.get("refresh_token").is_none(), "{public}");
    assert_eq!(public["patient"], patient(&portal));
    let (_, confidential) = sign_in(&portal, &params, &[("client_secret", "s3cret")]).await;
    assert!(confidential["refresh_token"].is_string(), "{confidential}");
}

#[tokio::test]
async fn epic_searches_observations_and_careplans_by_category_only() {
    let portal = start(Personality::Epic).await;
    let token = portal.issue_access_token(&patient(&portal));
    for path in [
        "Observation",
        "CarePlan",
        "Observation?category=nonsense",
        "CarePlan?category=laboratory",
    ] {
        let (status, body) = fhir_json(&portal, path, &token).await;
        assert_eq!(status, 400, "{path}");
        assert_eq!(body["resourceType"], "OperationOutcome");
    }
    let (status, labs) = fhir_json(
        &portal,
        "Observation?category=laboratory&_count=100",
        &token,
    )
    .await;
    assert_eq!(status, 200);
    let entries = labs["entry"].as_array().unwrap();
    assert!(!entries.is_empty());
    assert!(
        labs["total"].as_u64().unwrap() < 48,
        "only the laboratory ones: {}",
        labs["total"]
    );
    for entry in entries {
        assert!(
            entry["resource"]["category"]
                .to_string()
                .contains("\"laboratory\"")
        );
    }
    let system = "http://terminology.hl7.org/CodeSystem/observation-category|vital-signs";
    let (status, _) = fhir_json(
        &portal,
        &format!("Observation?category={}", system.replace('|', "%7C")),
        &token,
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = fhir_json(&portal, "CarePlan?category=assess-plan", &token).await;
    assert_eq!(status, 200);
    assert_eq!(fhir_get(&portal, "Condition", &token).await.status(), 200);
    // What `patient_resources` promises is what category searches can reach.
    assert!(
        portal
            .patient_resources(&patient(&portal))
            .iter()
            .all(|(t, _)| t != "CarePlan")
    );
}

/// An ES384 (or RS384) key pair as (public JWK, signer).
fn es384_key() -> (Value, Box<dyn JwsSigner>) {
    let pair = ES384.generate_key_pair().unwrap();
    let public = Value::Object(pair.to_jwk_public_key().into());
    let signer = ES384.signer_from_jwk(&pair.to_jwk_private_key()).unwrap();
    (public, Box::new(signer))
}

fn rs384_key() -> (Value, Box<dyn JwsSigner>) {
    let pair = RS384.generate_key_pair(2048).unwrap();
    let public = Value::Object(pair.to_jwk_public_key().into());
    let signer = RS384.signer_from_jwk(&pair.to_jwk_private_key()).unwrap();
    (public, Box::new(signer))
}

fn assertion(signer: &dyn JwsSigner, claims: Value) -> String {
    let payload = JwtPayload::from_map(claims.as_object().unwrap().clone()).unwrap();
    let mut header = JwsHeader::new();
    header.set_token_type("JWT");
    josekit::jwt::encode_with_signer(&payload, &header, signer).unwrap()
}

async fn register(portal: &DemoPortal, token: Option<&str>, body: &str) -> (u16, Value) {
    let mut request = http()
        .post(format!("http://{}/register", portal.addr()))
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn jwt_bearer(portal: &DemoPortal, assertion: String) -> (u16, Value) {
    post_token(
        portal,
        &[("grant_type", JWT_BEARER.into()), ("assertion", assertion)],
    )
    .await
}

#[tokio::test]
async fn epic_registers_a_device_key_and_takes_its_assertions_once() {
    let portal = start(Personality::Epic).await;
    let (_, tokens) = sign_in(&portal, &Params::new(&portal, OFFLINE), &[]).await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let (public, signer) = es384_key();
    let body = json!({
        "software_id": DEMO_CLIENT_ID, "jwks": {"keys": [public]},
        "client_name": "OwnRecord", "redirect_uris": [LOOPBACK],
        "grant_types": [JWT_BEARER], "token_endpoint_auth_method": "private_key_jwt",
    })
    .to_string();
    assert_eq!(register(&portal, None, &body).await.0, 401);
    assert_eq!(register(&portal, Some("not-a-token"), &body).await.0, 401);
    for bad in [
        "not json".to_owned(),
        json!({"jwks": {"keys": [public]}}).to_string(),
        json!({"software_id": DEMO_CLIENT_ID}).to_string(),
        json!({"software_id": DEMO_CLIENT_ID, "jwks": {"keys": [{"kty": "oct", "k": "AAAA"}]}})
            .to_string(),
    ] {
        let (status, error) = register(&portal, Some(&access), &bad).await;
        assert_eq!(status, 400, "{bad}");
        assert_eq!(error["error"], "invalid_client_metadata", "{bad}");
    }
    assert_eq!(portal.registered_clients(), 0);
    let (status, registered) = register(&portal, Some(&access), &body).await;
    assert_eq!(status, 201, "{registered}");
    assert_eq!(portal.registered_clients(), 1);
    assert_eq!(registered["software_id"], DEMO_CLIENT_ID);
    assert_eq!(registered["grant_types"], json!([JWT_BEARER]));
    assert_eq!(registered["token_endpoint_auth_method"], "none");
    assert_eq!(registered["jwks"]["keys"][0], public);
    let client_id = registered["client_id"].as_str().unwrap().to_owned();
    assert_ne!(client_id, DEMO_CLIENT_ID);

    let aud = format!("http://{}/token", portal.addr());
    let claims = |jti: &str| json!({"iss": client_id, "sub": patient(&portal), "aud": aud, "exp": now() + 240, "jti": jti});
    let good = assertion(signer.as_ref(), claims("jti-1"));
    let (status, granted) = jwt_bearer(&portal, good.clone()).await;
    assert_eq!(status, 200, "{granted}");
    assert_eq!(granted["patient"], patient(&portal));
    assert!(granted.get("refresh_token").is_none());
    assert!(granted["expires_in"].as_u64().unwrap() > 0);
    let scope = granted["scope"].as_str().unwrap();
    assert!(
        scope.contains("patient/*.rs") && !scope.contains("offline_access"),
        "{scope}"
    );
    let new_access = granted["access_token"].as_str().unwrap();
    assert_eq!(
        fhir_get(&portal, "Condition", new_access).await.status(),
        200
    );

    let mut refusals = vec![("a replayed jti", good)];
    let mut wrong = |what: &'static str, change: &dyn Fn(&mut Value)| {
        let mut c = claims(what);
        change(&mut c);
        refusals.push((what, assertion(signer.as_ref(), c)));
    };
    wrong("a wrong aud", &|c| {
        c["aud"] = format!("{}/fhir", aud.trim_end_matches("/token")).into()
    });
    wrong("an expired exp", &|c| c["exp"] = (now() - 10).into());
    wrong("an exp too far ahead", &|c| {
        c["exp"] = (now() + 3600).into()
    });
    wrong("another patient", &|c| c["sub"] = "someone-else".into());
    wrong("another iss", &|c| c["iss"] = DEMO_CLIENT_ID.into());
    wrong("no jti", &|c| {
        c.as_object_mut().unwrap().remove("jti");
    });
    let (_, other_signer) = es384_key();
    refusals.push((
        "a wrong key",
        assertion(other_signer.as_ref(), claims("jti-key")),
    ));
    for (what, assertion) in refusals {
        let (status, error) = jwt_bearer(&portal, assertion).await;
        assert_eq!(status, 400, "{what}");
        assert_eq!(error["error"], "invalid_grant", "{what}: {error}");
    }
    let (status, _) = post_token(
        &portal,
        &[
            ("grant_type", JWT_BEARER.into()),
            ("assertion", assertion(signer.as_ref(), claims("jti-2"))),
            ("client_id", DEMO_CLIENT_ID.into()),
        ],
    )
    .await;
    assert_eq!(status, 400, "client_id, when given, must be the iss");
    let (status, _) = post_token(
        &portal,
        &[
            ("grant_type", JWT_BEARER.into()),
            ("assertion", assertion(signer.as_ref(), claims("jti-3"))),
            ("client_id", client_id.clone()),
        ],
    )
    .await;
    assert_eq!(status, 200);

    portal.forget_registrations();
    assert_eq!(portal.registered_clients(), 0);
    let (status, _) = jwt_bearer(&portal, assertion(signer.as_ref(), claims("jti-4"))).await;
    assert_eq!(status, 400, "a forgotten device key");
}

#[tokio::test]
async fn epic_takes_rs384_keys_too() {
    let portal = start(Personality::Epic).await;
    let access = portal.issue_access_token(&patient(&portal));
    let (public, signer) = rs384_key();
    let body = json!({"software_id": DEMO_CLIENT_ID, "jwks": {"keys": [public]}}).to_string();
    let (status, registered) = register(&portal, Some(&access), &body).await;
    assert_eq!(status, 201, "{registered}");
    let claims = json!({
        "iss": registered["client_id"], "sub": patient(&portal),
        "aud": format!("http://{}/token", portal.addr()), "exp": now() + 60, "jti": "r-1",
    });
    let (status, body) = jwt_bearer(&portal, assertion(signer.as_ref(), claims)).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn only_epic_registers_clients() {
    let portal = start(Personality::Generic).await;
    let access = portal.issue_access_token(&patient(&portal));
    let (public, _) = es384_key();
    let body = json!({"software_id": DEMO_CLIENT_ID, "jwks": {"keys": [public]}}).to_string();
    assert_eq!(register(&portal, Some(&access), &body).await.0, 404);
    let (status, error) = jwt_bearer(&portal, "a.b.c".into()).await;
    assert_eq!(
        (status, error["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );
}

// --- oracle ---

#[tokio::test]
async fn oracle_advertises_v1_and_grants_v2_only() {
    let portal = start(Personality::Oracle).await;
    let (_, config) = fhir_json(&portal, ".well-known/smart-configuration", "").await;
    let scopes: Vec<&str> = config["scopes_supported"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert!(scopes.contains(&"patient/*.read") && scopes.contains(&"patient/Patient.read"));
    assert!(scopes.iter().all(|s| !s.ends_with(".rs")), "{scopes:?}");
    let capabilities = config["capabilities"].to_string();
    assert!(capabilities.contains("permission-v1") && capabilities.contains("permission-v2"));

    let v1 = "openid fhirUser launch/patient offline_access patient/*.read patient/Patient.read";
    let (status, tokens) = sign_in(&portal, &Params::new(&portal, v1), &[]).await;
    assert_eq!(status, 200);
    assert_eq!(
        tokens["scope"],
        "openid fhirUser launch/patient offline_access"
    );
    let token = tokens["access_token"].as_str().unwrap();
    let (status, outcome) = fhir_json(&portal, "Condition", token).await;
    assert_eq!(status, 403);
    assert_eq!(outcome["resourceType"], "OperationOutcome");

    let both = format!("{v1} patient/*.rs");
    let (_, tokens) = sign_in(&portal, &Params::new(&portal, &both), &[]).await;
    assert_eq!(
        tokens["scope"],
        "openid fhirUser launch/patient offline_access patient/*.rs"
    );
    assert!(tokens["refresh_token"].is_string());
    let token = tokens["access_token"].as_str().unwrap();
    assert_eq!(fhir_get(&portal, "Condition", token).await.status(), 200);
}

// --- athena ---

#[tokio::test]
async fn athena_needs_aud_and_a_nonce_to_sign_in() {
    let portal = start(Personality::Athena).await;
    let params = Params::new(&portal, OFFLINE).set("nonce", "n-0S6_WzA2Mj");
    for bad in [
        params.clone().without("nonce"),
        params.clone().without("aud"),
    ] {
        let (status, location, _) = open_authorize(&portal, &bad).await;
        assert!(status.is_redirection(), "{status}");
        let query = query_of(&location);
        assert_eq!(query["error"], "invalid_request", "{location}");
        assert_eq!(query["state"], "st-1");
    }
    let (status, _, page) = open_authorize(&portal, &params).await;
    assert_eq!(status, 200);
    assert!(
        page.contains("name=\"nonce\""),
        "the nonce goes through the form"
    );
}

#[tokio::test]
async fn athena_gives_an_id_token_with_the_nonce() {
    let portal = start(Personality::Athena).await;
    let params = Params::new(&portal, OFFLINE).set("nonce", "n-0S6_WzA2Mj");
    let (status, tokens) = sign_in(&portal, &params, &[]).await;
    assert_eq!(status, 200, "{tokens}");
    let id_token = tokens["id_token"].as_str().unwrap();
    assert_eq!(header_of(id_token)["alg"], "HS256");
    let claims = claims_of(id_token);
    let base = format!("http://{}", portal.addr());
    assert_eq!(claims["iss"], base);
    assert_eq!(claims["sub"], patient(&portal));
    assert_eq!(claims["aud"], DEMO_CLIENT_ID);
    assert_eq!(claims["nonce"], "n-0S6_WzA2Mj");
    assert_eq!(
        claims["fhirUser"],
        format!("{base}/fhir/Patient/{}", patient(&portal))
    );
    let (iat, exp) = (
        claims["iat"].as_u64().unwrap(),
        claims["exp"].as_u64().unwrap(),
    );
    assert!(iat <= now() && exp > now());
}

#[tokio::test]
async fn athena_refreshes_only_a_named_scope() {
    let portal = start(Personality::Athena).await;
    let params = Params::new(&portal, OFFLINE).set("nonce", "n-1");
    let (_, tokens) = sign_in(&portal, &params, &[]).await;
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let (status, error) = post_token(
        &portal,
        &[
            ("grant_type", "refresh_token".into()),
            ("refresh_token", refresh.clone()),
        ],
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(error["error"], "invalid_request");
    assert_eq!(error["error_description"], "scope is required");
    let (status, renewed) = post_token(
        &portal,
        &[
            ("grant_type", "refresh_token".into()),
            ("refresh_token", refresh),
            (
                "scope",
                "patient/*.rs offline_access patient/*.cruds".into(),
            ),
        ],
    )
    .await;
    assert_eq!(
        status, 200,
        "the refusal did not spend the token: {renewed}"
    );
    assert_eq!(renewed["scope"], "patient/*.rs offline_access");
    assert!(renewed["refresh_token"].is_string());
}

#[tokio::test]
async fn athena_fhir_requests_name_the_practice() {
    let portal = start_with(Options {
        personality: Personality::Athena,
        page_size: 5,
        ..Default::default()
    })
    .await;
    assert_eq!(ATHENA_PRACTICE, "195900");
    let token = portal.issue_access_token(&patient(&portal));
    let practice = PRACTICE.replace('/', "%2F");
    for open in ["metadata", ".well-known/smart-configuration"] {
        assert_eq!(fhir_get(&portal, open, "").await.status(), 200, "{open}");
    }
    let (status, outcome) = fhir_json(&portal, "Observation", &token).await;
    assert_eq!(status, 400);
    assert_eq!(outcome["resourceType"], "OperationOutcome");
    let patient_read = format!("Patient/{}", patient(&portal));
    assert_eq!(fhir_get(&portal, &patient_read, &token).await.status(), 400);
    let other = "Observation?ah-practice=Organization%2Fa-1.Practice-1";
    assert_eq!(fhir_get(&portal, other, &token).await.status(), 403);
    let (status, page) = fhir_json(
        &portal,
        &format!("Observation?ah-practice={practice}"),
        &token,
    )
    .await;
    assert_eq!(status, 200);
    let next = page["link"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["relation"] == "next")
        .map(|l| l["url"].as_str().unwrap().to_owned())
        .expect("a next link");
    assert!(
        next.contains("ah-practice=Organization/a-1.Practice-195900"),
        "{next}"
    );
    let response = http().get(&next).bearer_auth(&token).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let read = format!("{patient_read}?ah-practice={practice}");
    assert_eq!(fhir_get(&portal, &read, &token).await.status(), 200);
}

// --- healow ---

#[tokio::test]
async fn healow_takes_only_the_private_use_redirect() {
    let portal = start(Personality::Healow).await;
    let (status, _, page) = open_authorize(&portal, &Params::new(&portal, OFFLINE)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("redirect_uri is not registered"), "{page}");
    let params = Params::new(&portal, OFFLINE).set("redirect_uri", PRIVATE_USE_REDIRECT);
    let (status, _, _) = open_authorize(&portal, &params).await;
    assert_eq!(status, 200);
    let (status, tokens) = sign_in(&portal, &params, &[]).await;
    assert_eq!(status, 200, "{tokens}");
    assert!(tokens.get("patient").is_none(), "{tokens}");
    assert!(tokens.get("refresh_token").is_none(), "{tokens}");
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(header_of(access)["alg"], "HS256");
    let claims = claims_of(access);
    assert_eq!(claims["patient"], patient(&portal));
    assert_eq!(claims["scope"], OFFLINE);
    assert_eq!(claims["iss"], format!("http://{}", portal.addr()));
    assert!(claims["exp"].as_u64().unwrap() > now());
    assert_eq!(fhir_get(&portal, "Condition", access).await.status(), 200);
}

// --- veradigm ---

#[tokio::test]
async fn veradigm_names_the_patient_in_the_id_token_only() {
    let portal = start(Personality::Veradigm).await;
    let slash = format!("{}/", portal.fhir_base());
    let (status, location, _) =
        open_authorize(&portal, &Params::new(&portal, OFFLINE).set("aud", &slash)).await;
    assert!(status.is_redirection());
    assert_eq!(query_of(&location)["error"], "invalid_request");
    let (status, tokens) = sign_in(&portal, &Params::new(&portal, OFFLINE), &[]).await;
    assert_eq!(status, 200, "{tokens}");
    assert!(tokens.get("patient").is_none(), "{tokens}");
    assert!(tokens.get("refresh_token").is_none(), "{tokens}");
    let claims = claims_of(tokens["id_token"].as_str().unwrap());
    let base = format!("http://{}", portal.addr());
    assert_eq!(
        claims["fhirUser"],
        format!("{base}/fhir/Patient/{}", patient(&portal))
    );
    let sub = claims["sub"].as_str().unwrap();
    assert!(!sub.is_empty() && sub != patient(&portal), "{sub}");
    assert_eq!(claims["aud"], DEMO_CLIENT_ID);

    // The generic portal trims the slash.
    let generic = start(Personality::Generic).await;
    let slash = format!("{}/", generic.fhir_base());
    let (status, _, _) =
        open_authorize(&generic, &Params::new(&generic, OFFLINE).set("aud", &slash)).await;
    assert_eq!(status, 200);
}

// --- va ---

#[tokio::test]
async fn va_refuses_aud() {
    let portal = start(Personality::Va).await;
    let (status, location, _) = open_authorize(&portal, &Params::new(&portal, OFFLINE)).await;
    assert!(status.is_redirection());
    let query = query_of(&location);
    assert_eq!(query["error"], "invalid_request");
    assert_eq!(query["error_description"], "aud is not supported");
    let params = Params::new(&portal, OFFLINE).without("aud");
    let (status, tokens) = sign_in(&portal, &params, &[]).await;
    assert_eq!(status, 200);
    assert!(tokens["refresh_token"].is_string());
}

#[tokio::test]
async fn va_rate_limits_fhir_requests() {
    let portal = start_with(Options {
        personality: Personality::Va,
        rate_limit: Some((5, Duration::from_secs(2))),
        ..Default::default()
    })
    .await;
    let token = portal.issue_access_token(&patient(&portal));
    for i in 0..5u32 {
        let response = fhir_get(&portal, "Condition", &token).await;
        assert_eq!(response.status(), 200, "request {i}");
        let h = response.headers();
        assert_eq!(h["x-ratelimit-limit"], "5");
        assert_eq!(h["x-ratelimit-remaining"], (4 - i).to_string().as_str());
        let reset: u64 = h["x-ratelimit-reset"].to_str().unwrap().parse().unwrap();
        assert!((1..=2).contains(&reset), "{reset}");
    }
    let response = fhir_get(&portal, "Condition", &token).await;
    assert_eq!(response.status(), 429);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry_after), "{retry_after}");
    assert_eq!(response.headers()["x-ratelimit-remaining"], "0");
    assert_eq!(portal.rate_limited(), 1);
    assert_eq!(portal.refused(), vec![(429, "/fhir/Condition".to_owned())]);
    tokio::time::sleep(Duration::from_secs(retry_after)).await;
    assert_eq!(fhir_get(&portal, "Condition", &token).await.status(), 200);
    assert_eq!(portal.rate_limited(), 1);
}

#[tokio::test]
async fn va_limits_to_sixty_a_minute_by_default() {
    let portal = start(Personality::Va).await;
    let response = fhir_get(&portal, "metadata", "").await;
    assert_eq!(response.headers()["x-ratelimit-limit"], "60");
    let generic = start(Personality::Generic).await;
    let response = fhir_get(&generic, "metadata", "").await;
    assert!(response.headers().get("x-ratelimit-limit").is_none());
}

// --- bluebutton ---

#[tokio::test]
async fn bluebutton_refuses_wildcards_and_fhir_user() {
    let portal = start(Personality::BlueButton).await;
    for scope in [
        "launch/patient patient/*.read",
        "launch/patient patient/*.rs",
        "openid fhirUser patient/Patient.read",
        "patient/Condition.read",
    ] {
        let (status, location, _) = open_authorize(&portal, &Params::new(&portal, scope)).await;
        assert!(status.is_redirection(), "{scope}");
        assert_eq!(query_of(&location)["error"], "invalid_scope", "{scope}");
    }
    let accepted = "openid launch/patient offline_access patient/Patient.read \
                    patient/Coverage.read patient/ExplanationOfBenefit.read";
    let (status, tokens) = sign_in(&portal, &Params::new(&portal, accepted), &[]).await;
    assert_eq!(status, 200);
    assert!(tokens["refresh_token"].is_string());
}

#[tokio::test]
async fn bluebutton_serves_patient_coverage_and_eob_only() {
    let portal = start(Personality::BlueButton).await;
    let token = portal.issue_access_token(&patient(&portal));
    let (_, metadata) = fhir_json(&portal, "metadata", "").await;
    let types: Vec<&str> = metadata["rest"][0]["resource"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["Patient", "Coverage", "ExplanationOfBenefit"]);
    for path in ["Condition", "Claim", "Observation?category=laboratory"] {
        assert_eq!(
            fhir_get(&portal, path, &token).await.status(),
            404,
            "{path}"
        );
    }
    let (status, eobs) = fhir_json(&portal, "ExplanationOfBenefit", &token).await;
    assert_eq!(status, 200);
    assert!(eobs["total"].as_u64().unwrap() > 0);
    assert_eq!(fhir_get(&portal, "Coverage", &token).await.status(), 200);
    let resources = portal.patient_resources(&patient(&portal));
    assert!(resources.iter().any(|(t, _)| t == "ExplanationOfBenefit"));
    assert!(
        resources
            .iter()
            .all(|(t, _)| ["Patient", "Coverage", "ExplanationOfBenefit"].contains(&t.as_str()))
    );
    let read = format!("Patient/{}", patient(&portal));
    assert_eq!(fhir_get(&portal, &read, &token).await.status(), 200);
    let generic = start(Personality::Generic).await;
    let (t, id) = generic
        .patient_resources(&patient(&generic))
        .into_iter()
        .find(|(t, _)| t == "Condition")
        .unwrap();
    assert_eq!(
        fhir_get(&portal, &format!("{t}/{id}"), &token)
            .await
            .status(),
        404
    );
}

// --- no panics from request input ---

#[tokio::test]
async fn odd_input_gets_answers_not_panics() {
    for personality in Personality::ALL {
        let portal = start(personality).await;
        let token = portal.issue_access_token(&patient(&portal));
        for path in [
            "Observation?category=%C3%A9,|,",
            "Observation?_count=99999999999999999999&_offset=-1",
            "Observation?category=laboratory&_offset=18446744073709551615",
            "CarePlan?category=",
            "Patient?ah-practice=%FF",
        ] {
            let status = fhir_get(&portal, path, &token).await.status();
            assert!(status.as_u16() < 500, "{personality:?} {path}: {status}");
        }
        for form in [
            vec![
                ("grant_type", JWT_BEARER.to_owned()),
                ("assertion", "é.é.é".into()),
            ],
            vec![("grant_type", JWT_BEARER.to_owned())],
            vec![
                ("grant_type", "refresh_token".to_owned()),
                ("scope", "é".into()),
            ],
        ] {
            let (status, _) = post_token(&portal, &form).await;
            assert_eq!(status, 400, "{personality:?} {form:?}");
        }
        let (status, _) =
            register(&portal, Some(&token), "{\"software_id\": 5, \"jwks\": []}").await;
        assert!(status == 400 || status == 404, "{personality:?}: {status}");
        for redirect in ["é", "http://127.0.0.1:9/é", "http://127.0.0.1:9/a\nb"] {
            let params = Params::new(&portal, "é fhirUser")
                .set("nonce", "é")
                .set("aud", "wrong: an error redirect for every personality")
                .set("redirect_uri", redirect);
            let (status, _, _) = open_authorize(&portal, &params).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{redirect:?}");
        }
    }
}
