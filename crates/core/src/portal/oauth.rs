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

/// SMART's extra token-response fields.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SmartFields {
    pub patient: Option<String>,
}
impl ExtraTokenFields for SmartFields {}

type SmartTokenResponse = StandardTokenResponse<SmartFields, BasicTokenType>;

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
}

pub fn authorization(
    endpoints: &Endpoints,
    redirect_uri: &str,
    scopes: &str,
    aud: &str,
) -> Result<Authorization> {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let client = client(endpoints, Some(redirect_uri))?;
    let (url, state) = client
        .authorize_url(CsrfToken::new_random)
        .add_scopes(scopes.split_whitespace().map(|s| Scope::new(s.to_owned())))
        .add_extra_param("aud", aud)
        .set_pkce_challenge(challenge)
        .url();
    Ok(Authorization {
        url: url.to_string(),
        state: state.secret().clone(),
        verifier,
    })
}

pub async fn exchange_code(
    http: &reqwest::Client,
    endpoints: &Endpoints,
    redirect_uri: &str,
    authorization: Authorization,
    code: String,
    now: i64,
) -> Result<Tokens> {
    let response = client(endpoints, Some(redirect_uri))?
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(authorization.verifier)
        .request_async(http)
        .await
        .map_err(|e| token_error(e, "exchanging the sign-in code"))?;
    Ok(tokens(&response, now, None))
}

/// Refreshes; rotation-aware (keeps the old refresh token only if the portal sent no new one).
/// An `invalid_grant` means the user must sign in again.
pub async fn refresh(
    http: &reqwest::Client,
    endpoints: &Endpoints,
    refresh_token: &str,
    now: i64,
    portal_name: &str,
) -> Result<Tokens> {
    let response = client(endpoints, None)?
        .exchange_refresh_token(&RefreshToken::new(refresh_token.to_owned()))
        .request_async(http)
        .await
        .map_err(|e| match e {
            RequestTokenError::ServerResponse(r) if r.error().as_ref() == "invalid_grant" => {
                Error::NeedsSignIn(portal_name.to_owned())
            }
            other => token_error(other, "renewing access"),
        })?;
    Ok(tokens(&response, now, Some(refresh_token)))
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

fn tokens(response: &SmartTokenResponse, now: i64, old_refresh: Option<&str>) -> Tokens {
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
}
