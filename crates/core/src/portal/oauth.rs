//! Authorization code + PKCE S256, refresh with rotation, and RFC 7009 revocation, with the `oauth2`
//! crate. SMART adds `patient` to the token response and `aud` to the authorization request.

use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenType,
};
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet,
    EndpointNotSet, EndpointSet, ExtraTokenFields, PkceCodeChallenge, PkceCodeVerifier,
    RedirectUrl, RefreshToken, RequestTokenError, RevocationUrl, Scope, StandardRevocableToken,
    StandardTokenResponse, TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::portal::profile::PatientSource;

/// SMART's extra token-response fields.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SmartFields {
    pub patient: Option<String>,
    /// OpenID Connect's id_token (a JWT), where `openid` was granted.
    pub id_token: Option<String>,
}
impl ExtraTokenFields for SmartFields {}

pub(crate) type SmartTokenResponse = StandardTokenResponse<SmartFields, BasicTokenType>;

type SmartClient = oauth2::Client<
    BasicErrorResponse,
    SmartTokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointSet,
>;

/// Where and as whom OwnRecord talks OAuth with one portal.
#[derive(Debug, Clone)]
pub struct Endpoints {
    pub client_id: String,
    pub client_secret: Option<String>,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub revocation_endpoint: Option<String>,
    /// A dynamic registration of this computer (see [`crate::portal::device`]).
    pub device: Option<crate::portal::device::Device>,
}

/// Tokens as kept in the vault.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub access_token: String,
    /// Seconds since the epoch.
    pub expires_at: Option<i64>,
    pub refresh_token: Option<String>,
    pub patient: Option<String>,
    pub scope: Option<String>,
}

fn client(endpoints: &Endpoints, redirect_uri: Option<&str>) -> Result<SmartClient> {
    let bad = |what: &str| Error::NotSmart {
        url: endpoints.authorization_endpoint.clone(),
        why: format!("its {what} is not a valid address"),
    };
    let mut client = oauth2::Client::new(ClientId::new(endpoints.client_id.clone()))
        .set_auth_uri(
            AuthUrl::new(endpoints.authorization_endpoint.clone())
                .map_err(|_| bad("authorization endpoint"))?,
        )
        .set_token_uri(
            TokenUrl::new(endpoints.token_endpoint.clone()).map_err(|_| bad("token endpoint"))?,
        )
        .set_revocation_url_option(
            endpoints
                .revocation_endpoint
                .clone()
                .map(RevocationUrl::new)
                .transpose()
                .map_err(|_| bad("revocation endpoint"))?,
        );
    if let Some(secret) = &endpoints.client_secret {
        client = client.set_client_secret(ClientSecret::new(secret.clone()));
    }
    if let Some(uri) = redirect_uri {
        client = client.set_redirect_uri(
            RedirectUrl::new(uri.to_owned()).map_err(|_| bad("redirect address"))?,
        );
    }
    Ok(client)
}

/// A started sign-in: the URL for the browser, and what is needed to finish it.
pub struct Authorization {
    pub url: String,
    pub state: String,
    verifier: PkceCodeVerifier,
    /// The OpenID nonce sent, which the id_token must carry back.
    nonce: Option<String>,
}

/// Starts a sign-in. `aud` is omitted when `None` (vendors that refuse it); `with_nonce` adds an
/// OpenID `nonce`.
pub fn authorization(
    endpoints: &Endpoints,
    redirect_uri: &str,
    scopes: &str,
    aud: Option<&str>,
    with_nonce: bool,
) -> Result<Authorization> {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let client = client(endpoints, Some(redirect_uri))?;
    let nonce = with_nonce.then(|| CsrfToken::new_random().secret().clone());
    let mut request = client
        .authorize_url(CsrfToken::new_random)
        .add_scopes(scopes.split_whitespace().map(|s| Scope::new(s.to_owned())))
        .set_pkce_challenge(challenge);
    if let Some(aud) = aud {
        request = request.add_extra_param("aud", aud);
    }
    if let Some(nonce) = &nonce {
        request = request.add_extra_param("nonce", nonce);
    }
    let (url, state) = request.url();
    Ok(Authorization {
        url: url.to_string(),
        state: state.secret().clone(),
        verifier,
        nonce,
    })
}

pub async fn exchange_code(
    http: &reqwest::Client,
    endpoints: &Endpoints,
    redirect_uri: &str,
    authorization: Authorization,
    code: String,
    now: i64,
    patient_from: &[PatientSource],
) -> Result<Tokens> {
    let response = client(endpoints, Some(redirect_uri))?
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(authorization.verifier)
        .request_async(http)
        .await
        .map_err(|e| token_error(e, "exchanging the sign-in code"))?;
    signed_in(&response, authorization.nonce.as_deref(), now, patient_from)
}

/// What a token endpoint's answer to a sign-in code is read as, without a network: its body as
/// the `oauth2` crate reads it (JSON), then as [`exchange_code`] reads that (the nonce, the
/// patient from `patient_from`, the lifetime). The fuzzer's entry point (`fuzz/`, target `token`).
#[doc(hidden)]
pub fn read_sign_in_answer(
    body: &[u8],
    nonce: Option<&str>,
    now: i64,
    patient_from: &[PatientSource],
) -> Result<Tokens> {
    let response: SmartTokenResponse = serde_json::from_slice(body)
        .map_err(|_| Error::SignInFailed("the portal's answer was not understood".into()))?;
    signed_in(&response, nonce, now, patient_from)
}

/// What [`refresh`] makes of a token endpoint's answer, without a network (`fuzz/`, target
/// `token`).
#[doc(hidden)]
pub fn read_refresh_answer(body: &[u8], now: i64, old_refresh: &str) -> Result<Tokens> {
    let response: SmartTokenResponse = serde_json::from_slice(body)
        .map_err(|_| Error::SignInFailed("the portal's answer was not understood".into()))?;
    Ok(tokens(&response, now, Some(old_refresh)))
}

/// The tokens of a sign-in's answer: the id_token's nonce checked, the patient read.
fn signed_in(
    response: &SmartTokenResponse,
    nonce: Option<&str>,
    now: i64,
    patient_from: &[PatientSource],
) -> Result<Tokens> {
    let id_token = response.extra_fields().id_token.as_deref().map(jwt_claims);
    // An id_token must carry the nonce sent (OpenID Connect Core 3.1.3.7); without one there is
    // nothing to replay.
    if let (Some(nonce), Some(claims)) = (nonce, &id_token)
        && claims["nonce"].as_str() != Some(nonce)
    {
        return Err(Error::SignInFailed(
            "the portal's answer did not carry this sign-in's nonce, so it was refused".into(),
        ));
    }
    let mut tokens = tokens(response, now, None);
    let access_claims = jwt_claims(&tokens.access_token);
    tokens.patient = patient_from.iter().find_map(|source| match source {
        PatientSource::TokenResponse => response.extra_fields().patient.clone(),
        PatientSource::IdToken => id_token.as_ref().and_then(patient_claim),
        PatientSource::AccessToken => patient_claim(&access_claims),
    });
    Ok(tokens)
}

/// The claims of a JWT, read without checking its signature: only for tokens that come straight
/// from the portal's token endpoint over TLS (OpenID Connect Core 3.1.3.7). `Null` when `token`
/// is not a JWT.
fn jwt_claims(token: &str) -> serde_json::Value {
    use base64::Engine;
    let mut parts = token.split('.');
    let (Some(_), Some(payload), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return serde_json::Value::Null;
    };
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or(serde_json::Value::Null)
}

/// The patient a token's claims name: `patient`, else a `fhirUser` that is a Patient.
fn patient_claim(claims: &serde_json::Value) -> Option<String> {
    if let Some(patient) = claims["patient"]
        .as_str()
        .filter(|p| crate::fhir::is_valid_id(p))
    {
        return Some(patient.to_owned());
    }
    let user = claims["fhirUser"].as_str()?;
    let mut segments = user.trim_end_matches('/').rsplit('/');
    let id = segments.next()?;
    (segments.next() == Some("Patient") && crate::fhir::is_valid_id(id)).then(|| id.to_owned())
}

/// Refreshes; rotation-aware (keeps the old refresh token only if the portal sent no new one).
/// An `invalid_grant` means the user must sign in again.
pub async fn refresh(
    http: &reqwest::Client,
    endpoints: &Endpoints,
    refresh_token: &str,
    now: i64,
    portal_name: &str,
    repeat_scope: Option<&str>,
) -> Result<Tokens> {
    let client = client(endpoints, None)?;
    let refresh_token = RefreshToken::new(refresh_token.to_owned());
    let mut request = client.exchange_refresh_token(&refresh_token);
    if let Some(scope) = repeat_scope {
        request = request.add_scopes(scope.split_whitespace().map(|s| Scope::new(s.to_owned())));
    }
    let response = request.request_async(http).await.map_err(|e| match e {
        RequestTokenError::ServerResponse(r) if r.error().as_ref() == "invalid_grant" => {
            Error::NeedsSignIn(portal_name.to_owned())
        }
        other => token_error(other, "renewing access"),
    })?;
    Ok(tokens(&response, now, Some(refresh_token.secret())))
}

/// RFC 7009 revocation of a refresh token (which also ends its access tokens), where the portal
/// offers it. Sent directly: the `oauth2` crate refuses non-HTTPS revocation URLs, which rules out
/// portals on this computer. Returns whether the portal confirmed.
pub async fn revoke(
    http: &reqwest::Client,
    endpoints: &Endpoints,
    refresh_token: &str,
) -> Result<bool> {
    let Some(url) = &endpoints.revocation_endpoint else {
        return Ok(false);
    };
    let mut form = vec![
        ("token", refresh_token),
        ("token_type_hint", "refresh_token"),
        ("client_id", endpoints.client_id.as_str()),
    ];
    if let Some(secret) = &endpoints.client_secret {
        form.push(("client_secret", secret.as_str()));
    }
    let response = http
        .post(url)
        .form(&form)
        .send()
        .await
        .map_err(|e| Error::Portal {
            portal: url.clone(),
            why: crate::portal::http::describe(&e),
        })?;
    Ok(response.status().is_success())
}

pub(crate) fn tokens(response: &SmartTokenResponse, now: i64, old_refresh: Option<&str>) -> Tokens {
    Tokens {
        access_token: response.access_token().secret().clone(),
        // A hostile `expires_in` saturates instead of overflowing.
        expires_at: response
            .expires_in()
            .map(|d| now.saturating_add(i64::try_from(d.as_secs()).unwrap_or(i64::MAX))),
        refresh_token: response
            .refresh_token()
            .map(|t| t.secret().clone())
            .or_else(|| old_refresh.map(str::to_owned)),
        patient: response.extra_fields().patient.clone(),
        scope: response
            .scopes()
            .map(|s| s.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" ")),
    }
}

/// Token-endpoint errors in words; the server's description is shown, response bodies never are.
fn token_error<RE: std::error::Error + 'static>(
    e: RequestTokenError<RE, BasicErrorResponse>,
    doing: &str,
) -> Error {
    match e {
        RequestTokenError::ServerResponse(r) => Error::SignInRefused(match r.error_description() {
            Some(d) => format!("{d} ({})", r.error().as_ref()),
            None => format!("{} while {doing}", r.error().as_ref()),
        }),
        RequestTokenError::Request(_) => {
            Error::SignInFailed(format!("the portal could not be reached while {doing}"))
        }
        RequestTokenError::Parse(_, _) => Error::SignInFailed(format!(
            "the portal's answer was not understood while {doing}"
        )),
        RequestTokenError::Other(_) => {
            Error::SignInFailed(format!("something went wrong while {doing}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hostile_token_lifetime_saturates() {
        for (expires_in, expected) in [
            ("3600", Some(1_700_003_600)),
            ("9223372036854775807", Some(i64::MAX)),
            ("18446744073709551615", Some(i64::MAX)),
        ] {
            let response: SmartTokenResponse = serde_json::from_str(&format!(
                r#"{{"access_token": "a", "token_type": "bearer", "expires_in": {expires_in}}}"#
            ))
            .unwrap();
            assert_eq!(tokens(&response, 1_700_000_000, None).expires_at, expected);
        }
    }

    #[test]
    fn the_patient_is_read_from_claims() {
        use base64::Engine;
        let jwt = |claims: serde_json::Value| {
            let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
            format!(
                "{}.{}.sig",
                b64.encode(br#"{"alg":"HS256"}"#),
                b64.encode(claims.to_string())
            )
        };
        let claims = jwt_claims(&jwt(serde_json::json!({"patient": "p1"})));
        assert_eq!(patient_claim(&claims).as_deref(), Some("p1"));
        let claims = jwt_claims(&jwt(
            serde_json::json!({"fhirUser": "https://a/fhir/Patient/p-2", "sub": "u9"}),
        ));
        assert_eq!(patient_claim(&claims).as_deref(), Some("p-2"));
        for not_a_patient in [
            jwt(serde_json::json!({"fhirUser": "https://a/fhir/Practitioner/x"})),
            jwt(serde_json::json!({"patient": "bad id with spaces"})),
            "opaque-token".into(),
            "a.!!!.c".into(),
            "a.b.c.d".into(),
        ] {
            assert_eq!(
                patient_claim(&jwt_claims(&not_a_patient)),
                None,
                "{not_a_patient}"
            );
        }
    }
}
