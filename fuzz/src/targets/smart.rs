//! `smart`: what a portal answers to discovery. The input is read as the body of
//! `.well-known/smart-configuration` (then checked: endpoints, PKCE S256, launch-standalone,
//! the scopes it suggests), and as the CapabilityStatement, both for its `oauth-uris` (discovery's
//! fallback) and for the types sync fetches (`searchParam` patient, `$everything`). Its first
//! line is also tried as a portal address, as the patient types one.

use ownrecord_core::portal::{discovery, http};
use ownrecord_core::sync;
use url::Url;

pub fn run(data: &[u8]) -> String {
    let base = base();
    let (first, _) = crate::split_line(data);
    let typed = std::str::from_utf8(first)
        .ok()
        .map(|t| http::check_portal_url(t).is_ok());
    let well_known = match discovery::read_answers(Some(data), b"", &base) {
        Ok(config) => format!("configuration usable, scopes {:?}", config.default_scopes()),
        Err(e) => e.to_string(),
    };
    let fallback = match discovery::read_answers(None, data, &base) {
        Ok(config) => format!("oauth-uris usable, token at {:?}", config.token_endpoint),
        Err(e) => e.to_string(),
    };
    let capabilities = sync::fuzzing::read_capability_statement(data)
        .map(|(types, everything)| format!("{} type(s), $everything {everything}", types.len()));
    format!(
        "as a portal address: {typed:?}; well-known: {well_known}; metadata: {fallback}; \
         sync: {capabilities:?}"
    )
}

/// The portal's FHIR base: fixed (the answers are what is fuzzed).
pub(crate) fn base() -> Url {
    Url::parse("https://portal.example.org/fhir/r4").unwrap_or_else(|_| unreachable!())
}
