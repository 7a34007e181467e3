//! Vendor profiles: how one EHR vendor's portals differ from the SMART App Launch spec, as data
//! (`assets/vendors/<vendor>.json`, one file per vendor), read by sign-in and sync instead of code
//! branches. A portal whose vendor has no file (or is not in the directory) gets
//! [`VendorProfile::default`], the spec as written.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::error::{Error, Result};

/// The bundled profiles, by vendor code (the directory's `vendor`).
const BUNDLED: &[(&str, &str)] = &[
    (
        "athena",
        include_str!("../../../../assets/vendors/athena.json"),
    ),
    (
        "bluebutton",
        include_str!("../../../../assets/vendors/bluebutton.json"),
    ),
    ("epic", include_str!("../../../../assets/vendors/epic.json")),
    (
        "healow",
        include_str!("../../../../assets/vendors/healow.json"),
    ),
    (
        "oracle",
        include_str!("../../../../assets/vendors/oracle.json"),
    ),
    ("va", include_str!("../../../../assets/vendors/va.json")),
    (
        "veradigm",
        include_str!("../../../../assets/vendors/veradigm.json"),
    ),
];

/// Which form of SMART scopes to ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ScopeDialect {
    /// As the server's SMART configuration suggests (v1 only where it lists only v1).
    #[default]
    Auto,
    V1,
    V2,
    /// Exactly [`VendorProfile::explicit_scopes`].
    Explicit,
}

/// What to send as `aud` in the authorization request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum AudRule {
    /// The FHIR base URL without a trailing slash.
    #[default]
    NoTrailingSlash,
    /// No `aud` at all.
    Omit,
}

/// Where the signed-in patient's id is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PatientSource {
    /// SMART's `patient` field of the token response.
    TokenResponse,
    /// The id_token's `patient` claim, or its `fhirUser` when that is a Patient.
    IdToken,
    /// The `patient` claim of an access token that is a JWT.
    AccessToken,
}

/// How OwnRecord keeps access between sign-ins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Offline {
    /// A refresh token (rotation honoured).
    #[default]
    RefreshToken,
    /// A dynamic client registration (RFC 7591) with a key made on this computer, then the
    /// JWT-bearer grant (RFC 7523).
    DynamicRegistration,
    /// None: the patient signs in again when access runs out.
    None,
}

/// A redirect the portal accepts, for the desktop app to choose from in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RedirectKind {
    /// `http://127.0.0.1:<port>/callback` (RFC 8252 §7.3).
    Loopback,
    /// `org.ownrecord.app:/callback` (RFC 8252 §7.1), which only the desktop app receives.
    PrivateUse,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VendorProfile {
    /// The directory's vendor code; empty for the default profile.
    pub vendor: String,
    /// What the profile is about, in words (for developers).
    pub about: String,
    pub scopes: ScopeDialect,
    pub explicit_scopes: Option<String>,
    pub aud: AudRule,
    /// Tried in order; the first that names a patient wins.
    pub patient_from: Vec<PatientSource>,
    /// Send an OpenID `nonce` and require it back in the id_token.
    pub nonce: bool,
    /// A refresh request repeats the granted scope.
    pub refresh_repeats_scope: bool,
    pub offline: Offline,
    /// Types searched one category at a time (the portal refuses them without `category`).
    pub search_categories: BTreeMap<String, Vec<String>>,
    /// `Patient/$everything` may be used where the server advertises it.
    pub everything: bool,
    /// Query parameters every FHIR request carries; `{practice}` is the connection's practice.
    pub fhir_params: BTreeMap<String, String>,
    /// The portal serves many practices from one base: connecting needs the practice.
    pub needs_practice: bool,
    /// The portal's request budget; sync spaces its requests to stay inside it.
    pub requests_per_minute: Option<u32>,
    /// Only these types are fetched (besides the Patient), e.g. a payer's claims.
    pub types: Option<Vec<String>>,
    /// Accepted redirects, preferred first.
    pub redirect: Vec<RedirectKind>,
}

impl Default for VendorProfile {
    fn default() -> Self {
        VendorProfile {
            vendor: String::new(),
            about: String::new(),
            scopes: ScopeDialect::Auto,
            explicit_scopes: None,
            aud: AudRule::NoTrailingSlash,
            patient_from: vec![PatientSource::TokenResponse],
            nonce: false,
            refresh_repeats_scope: false,
            offline: Offline::RefreshToken,
            search_categories: BTreeMap::new(),
            everything: true,
            fhir_params: BTreeMap::new(),
            needs_practice: false,
            requests_per_minute: None,
            types: None,
            redirect: vec![RedirectKind::Loopback, RedirectKind::PrivateUse],
        }
    }
}

impl VendorProfile {
    /// The bundled profile of `vendor`; the default for a vendor without one (or `None`).
    pub fn of(vendor: Option<&str>) -> VendorProfile {
        vendor
            .and_then(|v| BUNDLED.iter().find(|(code, _)| *code == v))
            .map(|(code, text)| {
                // Checked by the unit test below for every bundled file.
                let mut profile: VendorProfile = serde_json::from_str(text)
                    .unwrap_or_else(|e| panic!("assets/vendors/{code}.json: {e}"));
                profile.vendor = (*code).to_owned();
                profile
            })
            .unwrap_or_default()
    }

    /// Vendors with a bundled profile.
    pub fn bundled_vendors() -> impl Iterator<Item = &'static str> {
        BUNDLED.iter().map(|(code, _)| *code)
    }

    /// A profile from JSON (a developer's own, or a test's changed copy).
    pub fn from_json(text: &str) -> Result<VendorProfile> {
        serde_json::from_str(text).map_err(|e| Error::BadProfile(e.to_string()))
    }

    /// The scopes to ask for, given what the server's configuration suggests.
    pub fn scopes<'a>(&'a self, suggested: &'a str) -> &'a str {
        match self.scopes {
            ScopeDialect::Auto => suggested,
            ScopeDialect::V1 => crate::portal::discovery::V1_SCOPES,
            ScopeDialect::V2 => crate::portal::discovery::DEFAULT_SCOPES,
            ScopeDialect::Explicit => self.explicit_scopes.as_deref().unwrap_or(suggested),
        }
    }

    /// The extra FHIR query parameters, with the practice filled in.
    pub fn fhir_params(&self, practice: Option<&str>) -> Vec<(String, String)> {
        self.fhir_params
            .iter()
            .map(|(k, v)| (k.clone(), v.replace("{practice}", practice.unwrap_or(""))))
            .collect()
    }

    /// The least time between two requests to the portal.
    pub fn request_spacing(&self) -> Option<std::time::Duration> {
        self.requests_per_minute
            .filter(|n| *n > 0)
            .map(|n| std::time::Duration::from_secs(60) / n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bundled_profile_reads() {
        for vendor in VendorProfile::bundled_vendors() {
            let text = BUNDLED.iter().find(|(c, _)| *c == vendor).unwrap().1;
            let profile: VendorProfile = serde_json::from_str(text).unwrap();
            assert_eq!(
                profile.vendor, vendor,
                "assets/vendors/{vendor}.json names its vendor"
            );
            assert!(!profile.about.is_empty());
            assert!(!profile.redirect.is_empty() && !profile.patient_from.is_empty());
        }
        assert_eq!(VendorProfile::of(Some("nobody")), VendorProfile::default());
        assert!(
            VendorProfile::of(Some("epic"))
                .search_categories
                .contains_key("CarePlan")
        );
    }

    #[test]
    fn spacing_follows_the_budget() {
        let mut p = VendorProfile::default();
        assert_eq!(p.request_spacing(), None);
        p.requests_per_minute = Some(60);
        assert_eq!(p.request_spacing(), Some(std::time::Duration::from_secs(1)));
        p.requests_per_minute = Some(0);
        assert_eq!(p.request_spacing(), None);
    }
}
