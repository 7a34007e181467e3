//! Offline access without refresh tokens (Epic's way for public clients): after the first sign-in,
//! this computer registers itself with the portal (RFC 7591 dynamic client registration, sent with
//! the sign-in's access token) under a key pair made here, and later asks for access tokens with
//! the JWT-bearer grant (RFC 7523), an assertion signed with that key. The private key is kept only
//! in the vault's `connections` row; disconnecting or wiping deletes it with the row.

use std::time::{Duration, UNIX_EPOCH};

use josekit::jwk::Jwk;
use josekit::jws::{ES384, JwsHeader};
use josekit::jwt::JwtPayload;
use serde::Deserialize;

use crate::error::{Error, Result};
use crate::portal::http;
use crate::portal::oauth::{Endpoints, SmartTokenResponse, Tokens};

/// The JWT-bearer grant type (RFC 7523 §2.1).
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// How long an assertion is valid (Epic takes at most five minutes).
const ASSERTION_LIFETIME: Duration = Duration::from_secs(4 * 60);

/// This computer's registration at one portal.
#[derive(Clone)]
pub struct Device {
    /// The client id the portal gave the registration.
    pub client_id: String,
    /// The private key, as a JWK (JSON), ES384.
    pub key: String,
}

impl std::fmt::Debug for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Device")
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct Registered {
    client_id: String,
}

/// Makes a key pair and registers its public half at `registration_endpoint`, authorised by the
/// sign-in's `access_token`.
pub async fn register(
    client: &reqwest::Client,
    registration_endpoint: &str,
    access_token: &str,
    software_id: &str,
    redirect_uri: &str,
    portal: &str,
) -> Result<Device> {
    let refused = |why: String| Error::RegistrationRefused {
        portal: portal.to_owned(),
        why,
    };
    let pair = ES384
        .generate_key_pair()
        .map_err(|_| refused("no key could be made on this computer".into()))?;
    let mut public = pair.to_jwk_public_key();
    let kid = random_id();
    public.set_key_id(&kid);
    public.set_algorithm("ES384");
    let mut private = pair.to_jwk_private_key();
    private.set_key_id(&kid);
    private.set_algorithm("ES384");
    // RFC 7591 metadata: what Epic reads (software_id, jwks) and what a general authorization
    // server needs to accept a native app (application_type, redirect_uris).
    let body = serde_json::json!({
        "software_id": software_id,
        "client_name": "OwnRecord",
        "application_type": "native",
        "redirect_uris": [redirect_uri],
        "token_endpoint_auth_method": "none",
        "jwks": { "keys": [serde_json::Value::Object(public.as_ref().clone())] },
    });
    let response = client
        .post(registration_endpoint)
        .bearer_auth(access_token)
        .json(&body)
        .send()
        .await
        .map_err(|e| refused(http::describe(&e)))?;
    let status = response.status();
    if !status.is_success() {
        return Err(refused(format!("it answered {status}")));
    }
    let answer = response
        .bytes()
        .await
        .map_err(|e| refused(http::describe(&e)))?;
    Ok(Device {
        client_id: read_registration_answer(&answer, portal)?,
        key: private.to_string(),
    })
}

/// The client id in a registration endpoint's answer (RFC 7591 §3.2.1).
pub fn read_registration_answer(body: &[u8], portal: &str) -> Result<String> {
    let refused = |why: &str| Error::RegistrationRefused {
        portal: portal.to_owned(),
        why: why.to_owned(),
    };
    let registered: Registered =
        serde_json::from_slice(body).map_err(|_| refused("its answer was not understood"))?;
    if registered.client_id.is_empty() {
        return Err(refused("it gave no client id"));
    }
    Ok(registered.client_id)
}

/// A new access token through the JWT-bearer grant: an assertion from `device` about `patient`.
/// A refusal means the registration is gone (the patient signs in again).
pub async fn renew(
    client: &reqwest::Client,
    endpoints: &Endpoints,
    device: &Device,
    patient: &str,
    now: i64,
    portal_name: &str,
) -> Result<Tokens> {
    // The portal checks the assertion's times against the real clock.
    let real_now = std::time::SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let assertion = assertion(device, patient, &endpoints.token_endpoint, real_now)?;
    let response = client
        .post(&endpoints.token_endpoint)
        .form(&[
            ("grant_type", JWT_BEARER),
            ("assertion", assertion.as_str()),
            ("client_id", device.client_id.as_str()),
        ])
        .send()
        .await
        .map_err(|e| Error::Portal {
            portal: portal_name.to_owned(),
            why: http::describe(&e),
        })?;
    let status = response.status();
    if status == reqwest::StatusCode::BAD_REQUEST || status == reqwest::StatusCode::UNAUTHORIZED {
        return Err(Error::NeedsSignIn(portal_name.to_owned()));
    }
    if !status.is_success() {
        return Err(Error::PortalAnswered {
            portal: portal_name.to_owned(),
            status: status.as_u16(),
        });
    }
    let answer = response.bytes().await.map_err(|e| Error::Portal {
        portal: portal_name.to_owned(),
        why: http::describe(&e),
    })?;
    read_renewal_answer(&answer, now, patient)
}

/// The tokens in the token endpoint's answer to a JWT-bearer renewal, for `patient`.
pub fn read_renewal_answer(body: &[u8], now: i64, patient: &str) -> Result<Tokens> {
    let answer: SmartTokenResponse = serde_json::from_slice(body).map_err(|_| {
        Error::SignInFailed("the portal's answer was not understood while renewing access".into())
    })?;
    let mut tokens = crate::portal::oauth::tokens(&answer, now, None);
    tokens.patient = Some(patient.to_owned());
    Ok(tokens)
}

/// The signed assertion (RFC 7523 §3): iss the registration, sub the patient, aud the token
/// endpoint, a fresh jti, a short life.
fn assertion(device: &Device, patient: &str, token_endpoint: &str, now: i64) -> Result<String> {
    let bad_key = || Error::Database("the stored device key cannot be read".into());
    let jwk = Jwk::from_bytes(device.key.as_bytes()).map_err(|_| bad_key())?;
    let signer = ES384.signer_from_jwk(&jwk).map_err(|_| bad_key())?;
    let mut header = JwsHeader::new();
    header.set_token_type("JWT");
    if let Some(kid) = jwk.key_id() {
        header.set_key_id(kid);
    }
    let issued = UNIX_EPOCH + Duration::from_secs(u64::try_from(now).unwrap_or(0));
    let mut payload = JwtPayload::new();
    payload.set_issuer(&device.client_id);
    payload.set_subject(patient);
    payload.set_audience(vec![token_endpoint]);
    payload.set_jwt_id(random_id());
    payload.set_issued_at(&issued);
    payload.set_expires_at(&(issued + ASSERTION_LIFETIME));
    josekit::jwt::encode_with_signer(&payload, &header, &signer).map_err(|_| bad_key())
}

fn random_id() -> String {
    let mut bytes = [0u8; 16];
    // Cannot panic: OS randomness, no fallback.
    #[allow(clippy::expect_used)]
    getrandom::fill(&mut bytes).expect("OS randomness");
    hex::encode(bytes)
}

/// Seconds since the epoch, for tests that check an assertion's lifetime.
#[cfg(test)]
fn unix(t: std::time::SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_registration_answer_gives_its_client_id_or_a_refusal_naming_the_portal() {
        let answer = br#"{"client_id":"dyn-7","client_id_issued_at":1700000000}"#;
        assert_eq!(read_registration_answer(answer, "P").unwrap(), "dyn-7");
        for hostile in [
            &br#"{"client_id":""}"#[..],
            b"",
            b"<html>",
            br#"{"client_id":7}"#,
        ] {
            match read_registration_answer(hostile, "P") {
                Err(Error::RegistrationRefused { portal, .. }) => assert_eq!(portal, "P"),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn a_renewal_answer_keeps_the_patient_and_saturates_a_hostile_lifetime() {
        let answer =
            br#"{"access_token":"a","token_type":"bearer","expires_in":18446744073709551615}"#;
        let tokens = read_renewal_answer(answer, 1_700_000_000, "p-1").unwrap();
        assert_eq!(tokens.patient.as_deref(), Some("p-1"));
        assert!(tokens.expires_at.is_none_or(|t| t >= 1_700_000_000));
        assert!(matches!(
            read_renewal_answer(b"{", 0, "p-1"),
            Err(Error::SignInFailed(_))
        ));
    }

    #[test]
    fn an_assertion_verifies_with_the_registered_key_and_says_who() {
        let pair = ES384.generate_key_pair().unwrap();
        let mut private = pair.to_jwk_private_key();
        private.set_key_id("k1");
        let device = Device {
            client_id: "dyn-1".into(),
            key: private.to_string(),
        };
        let now = 1_800_000_000;
        let jws = assertion(&device, "p1", "https://a/token", now).unwrap();
        let verifier = ES384.verifier_from_jwk(&pair.to_jwk_public_key()).unwrap();
        let (payload, header) = josekit::jwt::decode_with_verifier(&jws, &verifier).unwrap();
        assert_eq!(header.key_id(), Some("k1"));
        assert_eq!(payload.issuer(), Some("dyn-1"));
        assert_eq!(payload.subject(), Some("p1"));
        assert_eq!(payload.audience(), Some(vec!["https://a/token"]));
        let exp = unix(payload.expires_at().unwrap());
        assert!(exp > now && exp <= now + 300);
        let other = ES384.generate_key_pair().unwrap();
        let wrong = ES384.verifier_from_jwk(&other.to_jwk_public_key()).unwrap();
        assert!(josekit::jwt::decode_with_verifier(&jws, &wrong).is_err());
        let second = assertion(&device, "p1", "https://a/token", now).unwrap();
        let (again, _) = josekit::jwt::decode_with_verifier(&second, &verifier).unwrap();
        assert_ne!(
            again.jwt_id(),
            payload.jwt_id(),
            "each assertion has its own jti"
        );
    }
}
