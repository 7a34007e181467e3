//! The HTTP client OwnRecord uses with portals: rustls, time-outs, no redirects (a redirect on a
//! token endpoint could leak credentials), and errors that never quote response bodies.

use std::time::Duration;

use serde::de::DeserializeOwned;
use url::Url;

use crate::error::{Error, Result};

/// Per-request time-out.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

// Cannot panic: fixed options; building fails only if the TLS backend cannot start, which no caller can handle.
#[allow(clippy::expect_used)]
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(REQUEST_TIMEOUT)
        .connect_timeout(Duration::from_secs(15))
        .user_agent(concat!("OwnRecord/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("the HTTP client builds")
}

/// `base` + `path`, keeping the base's path (`https://x/fhir` + `metadata` → `https://x/fhir/metadata`).
// Cannot panic: joining a relative path onto an http(s) base URL does not fail.
#[allow(clippy::expect_used)]
pub fn join(base: &Url, path: &str) -> Url {
    let mut url = base.clone();
    if !url.path().ends_with('/') {
        url.set_path(&format!("{}/", url.path()));
    }
    url.join(path).expect("a relative path joins")
}

/// GETs JSON. `bearer` adds an access token.
pub async fn get_json<T: DeserializeOwned>(
    client: &reqwest::Client,
    url: &Url,
    bearer: Option<&str>,
) -> Result<T> {
    let portal = || url.origin().ascii_serialization();
    let mut request = client
        .get(url.clone())
        .header("Accept", "application/fhir+json, application/json");
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.map_err(|e| Error::Portal {
        portal: portal(),
        why: describe(&e),
    })?;
    if !response.status().is_success() {
        return Err(Error::PortalAnswered {
            portal: portal(),
            status: response.status().as_u16(),
        });
    }
    let bytes = response.bytes().await.map_err(|e| Error::Portal {
        portal: portal(),
        why: describe(&e),
    })?;
    serde_json::from_slice(&bytes).map_err(|_| Error::Portal {
        portal: portal(),
        why: "its answer was not the JSON expected".into(),
    })
}

/// A network error in words, without URLs' query strings (which can carry codes).
pub fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "it did not answer in time".into()
    } else if e.is_connect() {
        "it could not be reached".into()
    } else if e.is_body() || e.is_decode() {
        "the connection broke while reading its answer".into()
    } else {
        "the request failed".into()
    }
}

/// Portals must use HTTPS, except on this computer (the demo portal, test servers).
pub fn check_portal_url(text: &str) -> Result<Url> {
    let url = Url::parse(text.trim()).map_err(|_| Error::NotSmart {
        url: text.to_owned(),
        why: "it is not a web address".into(),
    })?;
    let loopback = matches!(
        url.host(),
        Some(url::Host::Ipv4(ip)) if ip.is_loopback()
    ) || matches!(url.host(), Some(url::Host::Ipv6(ip)) if ip.is_loopback())
        || url.host_str() == Some("localhost");
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback => Ok(url),
        _ => Err(Error::InsecurePortal),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_or_loopback() {
        assert!(check_portal_url("https://portal.example.org/fhir").is_ok());
        assert!(check_portal_url("http://127.0.0.1:8080/fhir").is_ok());
        assert!(check_portal_url("http://[::1]:8080/fhir").is_ok());
        assert!(matches!(
            check_portal_url("http://portal.example.org/fhir"),
            Err(Error::InsecurePortal)
        ));
        assert!(matches!(
            check_portal_url("http://10.0.0.1/fhir"),
            Err(Error::InsecurePortal)
        ));
    }

    #[test]
    fn join_keeps_the_base_path() {
        let base = Url::parse("https://x.org/api/fhir").unwrap();
        assert_eq!(
            join(&base, "metadata").as_str(),
            "https://x.org/api/fhir/metadata"
        );
        assert_eq!(
            join(&base, ".well-known/smart-configuration").as_str(),
            "https://x.org/api/fhir/.well-known/smart-configuration"
        );
    }
}
