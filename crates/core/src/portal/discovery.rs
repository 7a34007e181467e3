//! SMART discovery: `.well-known/smart-configuration`, falling back to the CapabilityStatement's
//! `oauth-uris` extension; checks the portal can do a patient standalone launch with PKCE S256.

use serde::Deserialize;
use url::Url;

use crate::error::{Error, Result};
use crate::portal::http;

#[derive(Debug, Clone, Deserialize, Default)]
pub struct SmartConfiguration {
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    #[serde(default)]
    pub revocation_endpoint: Option<String>,
    #[serde(default)]
    pub code_challenge_methods_supported: Vec<String>,
    #[serde(default)]
    pub capabilities: Vec<String>,
    #[serde(default)]
    pub scopes_supported: Vec<String>,
    /// RFC 7591 dynamic client registration, where offered.
    #[serde(default)]
    pub registration_endpoint: Option<String>,
}

/// The scopes OwnRecord asks for: SMART v2 read+search of everything about the patient, a refresh
/// token, and who the user is. With a v1-only server, `patient/*.read` instead.
pub const DEFAULT_SCOPES: &str = "launch/patient openid fhirUser offline_access patient/*.rs";
pub const V1_SCOPES: &str = "launch/patient openid fhirUser offline_access patient/*.read";

impl SmartConfiguration {
    /// The default scopes, in the version of SMART scopes the server speaks.
    pub fn default_scopes(&self) -> &'static str {
        let lists_v1_only = (self.scopes_supported.iter().any(|s| s == "patient/*.read")
            && !self.scopes_supported.iter().any(|s| s == "patient/*.rs"))
            || (self.capabilities.iter().any(|c| c == "permission-v1")
                && !self.capabilities.iter().any(|c| c == "permission-v2"));
        if lists_v1_only {
            V1_SCOPES
        } else {
            DEFAULT_SCOPES
        }
    }
}

/// Reads the portal's SMART configuration and checks it is usable.
pub async fn discover(client: &reqwest::Client, fhir_base: &Url) -> Result<SmartConfiguration> {
    let not_smart = |why: &str| Error::NotSmart {
        url: fhir_base.to_string(),
        why: why.to_owned(),
    };
    let well_known = http::join(fhir_base, ".well-known/smart-configuration");
    let config = match http::get_json::<SmartConfiguration>(client, &well_known, None).await {
        Ok(config) => config,
        Err(_) => from_capability_statement(client, fhir_base)
            .await
            .map_err(|_| not_smart("it publishes no SMART configuration (.well-known/smart-configuration or CapabilityStatement)"))?,
    };
    check(&config, fhir_base)?;
    Ok(config)
}

/// What [`discover`] makes of a portal's answers, without a network: `well_known` is the body of
/// `.well-known/smart-configuration` (`None`: that request failed), `metadata` the
/// CapabilityStatement's, read only when the first is missing or not the JSON expected. The
/// fuzzer's entry point (`fuzz/`, target `smart`).
#[doc(hidden)]
pub fn read_answers(
    well_known: Option<&[u8]>,
    metadata: &[u8],
    fhir_base: &Url,
) -> Result<SmartConfiguration> {
    let config = match well_known.and_then(|b| serde_json::from_slice(b).ok()) {
        Some(config) => config,
        None => serde_json::from_slice::<serde_json::Value>(metadata)
            .ok()
            .and_then(|m| oauth_uris(&m))
            .ok_or_else(|| Error::NotSmart {
                url: fhir_base.to_string(),
                why: "it publishes no SMART configuration".into(),
            })?,
    };
    check(&config, fhir_base)?;
    Ok(config)
}

fn check(config: &SmartConfiguration, fhir_base: &Url) -> Result<()> {
    let not_smart = |why: &str| Error::NotSmart {
        url: fhir_base.to_string(),
        why: why.to_owned(),
    };
    if config.authorization_endpoint.is_empty() || config.token_endpoint.is_empty() {
        return Err(not_smart(
            "its SMART configuration lacks the authorization or token endpoint",
        ));
    }
    // Servers that list PKCE methods must list S256; a list without it (e.g. only "plain") is refused.
    // The CapabilityStatement fallback lists none, and SMART 2 requires S256 of every server.
    if !config.code_challenge_methods_supported.is_empty()
        && !config
            .code_challenge_methods_supported
            .iter()
            .any(|m| m == "S256")
    {
        return Err(Error::NoPkce);
    }
    if !config.capabilities.is_empty()
        && !config.capabilities.iter().any(|c| c == "launch-standalone")
    {
        return Err(not_smart(
            "it does not allow apps to start sign-in themselves (launch-standalone)",
        ));
    }
    Ok(())
}

async fn from_capability_statement(
    client: &reqwest::Client,
    fhir_base: &Url,
) -> Result<SmartConfiguration> {
    let metadata: serde_json::Value =
        http::get_json(client, &http::join(fhir_base, "metadata"), None).await?;
    oauth_uris(&metadata).ok_or_else(|| Error::Database("no oauth-uris".into()))
}

/// The endpoints of a CapabilityStatement's `oauth-uris` extension.
fn oauth_uris(metadata: &serde_json::Value) -> Option<SmartConfiguration> {
    let uris = metadata
        .get("rest")
        .and_then(|r| r.as_array())
        .into_iter()
        .flatten()
        .flat_map(|rest| {
            rest.pointer("/security/extension")
                .and_then(|e| e.as_array())
                .into_iter()
                .flatten()
        })
        .find(|e| {
            e["url"] == "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"
        })?;
    let uri = |name: &str| {
        uris["extension"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|e| e["url"] == name)
            .and_then(|e| e["valueUri"].as_str())
            .map(str::to_owned)
    };
    Some(SmartConfiguration {
        authorization_endpoint: uri("authorize").unwrap_or_default(),
        token_endpoint: uri("token").unwrap_or_default(),
        revocation_endpoint: uri("revoke"),
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("https://a/fhir").unwrap()
    }

    fn config(methods: &[&str]) -> SmartConfiguration {
        SmartConfiguration {
            authorization_endpoint: "https://a/authorize".into(),
            token_endpoint: "https://a/token".into(),
            code_challenge_methods_supported: methods.iter().map(|m| m.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn plain_only_pkce_is_refused() {
        assert!(matches!(
            check(&config(&["plain"]), &base()),
            Err(Error::NoPkce)
        ));
        assert!(check(&config(&["plain", "S256"]), &base()).is_ok());
    }

    #[test]
    fn v1_servers_get_v1_scopes() {
        let mut c = config(&["S256"]);
        assert_eq!(c.default_scopes(), DEFAULT_SCOPES);
        c.scopes_supported = vec!["patient/*.read".into()];
        assert!(c.default_scopes().ends_with("patient/*.read"));
    }
}
