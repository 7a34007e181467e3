//! Vendor personalities: the demo portal playing a real EHR vendor's portal, quirks included, so that
//! tests and newcomers can meet each one offline. The wire-level contract is shared with the client
//! side (crates/core); everything a personality does not list below is the generic portal's
//! behaviour.
//!
//! Every personality, the generic one too, accepts two kinds of redirect URI: a loopback address
//! (`http://127.0.0.1:PORT/…`, `http://[::1]:…`, `http://localhost:…`) and the desktop app's
//! private-use URI [`PRIVATE_USE_REDIRECT`] (RFC 8252 §7.1; that exact string, the portal adds the
//! query). Anything else gets a 400 page.
//!
//! - **Generic**: the portal as it always was.
//! - **Epic**: offers RFC 7591 dynamic client registration at `/register` (with a live access token
//!   as Bearer) for a public JWK (EC P-384 for ES384, or RSA for RS384); the registered client then
//!   gets access tokens with the JWT-bearer grant, an assertion signed by that key whose `iss` is the
//!   new client id, `sub` the patient it is bound to, `aud` the token endpoint, `exp` at most five
//!   minutes ahead and a `jti` never seen before. A public client never gets a refresh token, even
//!   with `offline_access` (so `permission-offline` is not advertised). Observation and CarePlan
//!   searches need a `category` (the US Core ones for Observation, `assess-plan` for CarePlan);
//!   there is no `Patient/$everything`.
//! - **Oracle**: advertises v1 scopes only, yet grants only the v2 forms: every `.read`/`.write`
//!   resource scope is dropped from the grant without a word. A token left without any patient
//!   resource scope gets 403 on every FHIR request.
//! - **Athena**: the authorization request needs `aud` and a `nonce`; the token response carries an
//!   `id_token` (HS256, with the nonce and `fhirUser`); a refresh must name its `scope` (the new grant
//!   is the asked scope within the old one); every FHIR request but discovery must name the practice
//!   in `ah-practice=Organization/a-1.Practice-195900` (400 without, 403 for another).
//! - **Healow**: loopback redirects are not registered, only the private-use URI works; the token
//!   response names no `patient`: the access token is a JWT whose `patient` claim does; no refresh
//!   token for a public client.
//! - **Veradigm**: the token response names no `patient`; the `id_token`'s `fhirUser` does (its `sub`
//!   is an opaque user id); no refresh token for a public client; `aud` must be the FHIR base exactly,
//!   a trailing slash is refused.
//! - **VA**: an authorization request carrying `aud` is refused; FHIR requests are rate limited (a
//!   fixed window over all tokens, 60 per minute unless `Options::rate_limit` says otherwise) with
//!   429 + `Retry-After` past the limit and `X-RateLimit-*` headers on every answer.
//! - **Blue Button**: refuses the wildcard scopes and `fhirUser` (`invalid_scope`), and any scope but
//!   Patient, Coverage and ExplanationOfBenefit reads; serves only those three types (the others 404).

use std::time::Duration;

use crate::oauth::AuthorizeParams;

/// The desktop app's private-use redirect URI (RFC 8252 §7.1), accepted by every personality.
pub const PRIVATE_USE_REDIRECT: &str = "org.ownrecord.app:/callback";
/// The practice id the athena personality serves (`ah-practice=Organization/a-1.Practice-195900`).
pub const ATHENA_PRACTICE: &str = "195900";
/// The JWT-bearer grant type (RFC 7523), offered by the epic personality to registered clients.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// Whose portal the demo portal plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Personality {
    #[default]
    Generic,
    Epic,
    Oracle,
    Athena,
    Healow,
    Veradigm,
    Va,
    BlueButton,
}

/// The US Core Observation categories (what epic accepts as `category`).
const OBSERVATION_CATEGORIES: &[&str] = &[
    "laboratory",
    "vital-signs",
    "social-history",
    "survey",
    "exam",
    "imaging",
    "procedure",
    "therapy",
    "activity",
    "sdoh",
];
const CAREPLAN_CATEGORIES: &[&str] = &["assess-plan"];

/// The types Blue Button serves.
const BLUE_BUTTON_TYPES: &[&str] = &["Patient", "Coverage", "ExplanationOfBenefit"];

/// Non-resource scopes oracle keeps in a grant.
const ORACLE_KEPT: &[&str] = &["openid", "fhirUser", "launch/patient", "offline_access"];
/// Non-resource scopes Blue Button accepts.
const BLUE_BUTTON_KEPT: &[&str] = &["openid", "launch/patient", "offline_access"];

impl Personality {
    /// Every personality, generic first.
    pub const ALL: [Personality; 8] = [
        Personality::Generic,
        Personality::Epic,
        Personality::Oracle,
        Personality::Athena,
        Personality::Healow,
        Personality::Veradigm,
        Personality::Va,
        Personality::BlueButton,
    ];

    /// The personality with this code (`epic`, `oracle`, `athena`, `healow`, `veradigm`, `va`,
    /// `bluebutton`, or `generic`).
    pub fn from_code(code: &str) -> Option<Personality> {
        Personality::ALL.into_iter().find(|p| p.code() == code)
    }

    pub fn code(self) -> &'static str {
        match self {
            Personality::Generic => "generic",
            Personality::Epic => "epic",
            Personality::Oracle => "oracle",
            Personality::Athena => "athena",
            Personality::Healow => "healow",
            Personality::Veradigm => "veradigm",
            Personality::Va => "va",
            Personality::BlueButton => "bluebutton",
        }
    }

    /// The vendor's name, as a person would say it.
    pub fn name(self) -> &'static str {
        match self {
            Personality::Generic => "a generic SMART on FHIR portal",
            Personality::Epic => "Epic",
            Personality::Oracle => "Oracle Health (Cerner)",
            Personality::Athena => "athenahealth",
            Personality::Healow => "healow (eClinicalWorks)",
            Personality::Veradigm => "Veradigm (Allscripts)",
            Personality::Va => "VA (Lighthouse)",
            Personality::BlueButton => "Medicare Blue Button 2.0",
        }
    }

    // --- Sign-in ---

    pub(crate) fn accepts_redirect(self, uri: &str) -> bool {
        // Only visible ASCII: the URI goes into a `Location` header as it is.
        let header_safe = uri.bytes().all(|b| b.is_ascii_graphic());
        uri == PRIVATE_USE_REDIRECT
            || (self != Personality::Healow && header_safe && is_loopback(uri))
    }

    /// The 400 page's text for a redirect URI this personality does not take.
    pub(crate) fn redirect_refusal(self) -> &'static str {
        match self {
            Personality::Healow => "redirect_uri is not registered",
            _ => {
                "redirect_uri must be a loopback address or org.ownrecord.app:/callback (RFC 8252)"
            }
        }
    }

    /// Why an authorization request (past the redirect and PKCE checks) is refused, as an OAuth
    /// error and its description for the error redirect.
    pub(crate) fn authorize_refusal(
        self,
        p: &AuthorizeParams,
        fhir_base: &str,
    ) -> Option<(&'static str, String)> {
        let aud = p.aud.as_deref();
        match self {
            Personality::Va if aud.is_some() => {
                return Some(("invalid_request", "aud is not supported".into()));
            }
            Personality::Va => {}
            Personality::Veradigm if aud != Some(fhir_base) => {
                return Some((
                    "invalid_request",
                    "aud must be the FHIR base URL exactly".into(),
                ));
            }
            _ if aud.map(|a| a.trim_end_matches('/')) != Some(fhir_base) => {
                return Some((
                    "invalid_request",
                    "aud must be this portal's FHIR base URL".into(),
                ));
            }
            _ => {}
        }
        if self == Personality::Athena && p.nonce.as_deref().unwrap_or("").is_empty() {
            return Some(("invalid_request", "nonce is required".into()));
        }
        if self == Personality::BlueButton {
            let scope = p.scope.as_deref().unwrap_or("");
            if let Some(refused) = scope.split_whitespace().find(|s| !blue_button_accepts(s)) {
                return Some(("invalid_scope", format!("scope {refused} is not offered")));
            }
        }
        None
    }

    /// The scope a sign-in grants when `requested` was asked for.
    pub(crate) fn granted_scope(self, requested: &str) -> String {
        match self {
            Personality::Oracle => requested
                .split_whitespace()
                .filter(|s| ORACLE_KEPT.contains(s) || is_v2_resource_scope(s))
                .collect::<Vec<_>>()
                .join(" "),
            _ => requested.to_owned(),
        }
    }

    // --- Tokens ---

    /// Whether a public client (no secret) with `offline_access` gets a refresh token.
    pub(crate) fn refreshes_public_clients(self) -> bool {
        !matches!(
            self,
            Personality::Epic | Personality::Healow | Personality::Veradigm
        )
    }

    /// Whether the token response names the patient in a `patient` field.
    pub(crate) fn token_names_patient(self) -> bool {
        !matches!(self, Personality::Healow | Personality::Veradigm)
    }

    /// Whether access tokens are JWTs (HS256) carrying the patient and scope.
    pub(crate) fn jwt_access_tokens(self) -> bool {
        self == Personality::Healow
    }

    /// Whether token responses carry an `id_token`, and whose `sub` it has.
    pub(crate) fn id_token(self) -> Option<IdTokenSubject> {
        match self {
            Personality::Athena => Some(IdTokenSubject::Patient),
            Personality::Veradigm => Some(IdTokenSubject::OpaqueUser),
            _ => None,
        }
    }

    /// Whether a refresh must carry a `scope` (the new grant: that scope within the old one).
    pub(crate) fn refresh_names_scope(self) -> bool {
        self == Personality::Athena
    }

    /// Whether `/register` (RFC 7591) and the JWT-bearer grant are offered.
    pub(crate) fn registers_clients(self) -> bool {
        self == Personality::Epic
    }

    // --- FHIR ---

    /// Whether `resource_type` is served (search and read).
    pub(crate) fn serves(self, resource_type: &str) -> bool {
        self != Personality::BlueButton || BLUE_BUTTON_TYPES.contains(&resource_type)
    }

    /// The types the CapabilityStatement lists, from the types the data has.
    pub(crate) fn listed_types(self, in_data: Vec<String>) -> Vec<String> {
        match self {
            Personality::BlueButton => BLUE_BUTTON_TYPES.iter().map(|t| t.to_string()).collect(),
            _ => in_data,
        }
    }

    /// The categories a search of `resource_type` must name one of, if it must.
    pub(crate) fn required_categories(
        self,
        resource_type: &str,
    ) -> Option<&'static [&'static str]> {
        match (self, resource_type) {
            (Personality::Epic, "Observation") => Some(OBSERVATION_CATEGORIES),
            (Personality::Epic, "CarePlan") => Some(CAREPLAN_CATEGORIES),
            _ => None,
        }
    }

    /// The category codes a `category` parameter names: epic reads a token list
    /// (`a,b`, each `system|code` or `code`); the generic portal takes the value as one code.
    pub(crate) fn category_codes(self, value: &str) -> Vec<String> {
        match self {
            Personality::Epic => value
                .split(',')
                .map(|token| token.rsplit('|').next().unwrap_or(token).to_owned())
                .collect(),
            _ => vec![value.to_owned()],
        }
    }

    pub(crate) fn offers_everything(self) -> bool {
        self != Personality::Epic
    }

    /// Whether FHIR requests need a patient resource scope in the grant (403 without).
    pub(crate) fn needs_patient_scope(self) -> bool {
        self == Personality::Oracle
    }

    /// The `ah-practice` value every FHIR request (but discovery) must carry.
    pub(crate) fn practice(self) -> Option<String> {
        (self == Personality::Athena)
            .then(|| format!("Organization/a-1.Practice-{ATHENA_PRACTICE}"))
    }

    /// The rate limit when `Options::rate_limit` sets none.
    pub(crate) fn default_rate_limit(self) -> Option<(u32, Duration)> {
        (self == Personality::Va).then_some((60, Duration::from_secs(60)))
    }

    /// Overrides of the generic `.well-known/smart-configuration`.
    pub(crate) fn adjust_configuration(
        self,
        config: &mut serde_json::Value,
        base: &str,
        resource_types: &[String],
    ) {
        match self {
            Personality::Epic => {
                config["registration_endpoint"] = format!("{base}/register").into();
                config["grant_types_supported"] =
                    serde_json::json!(["authorization_code", "refresh_token", JWT_BEARER]);
                if let Some(capabilities) = config["capabilities"].as_array_mut() {
                    capabilities.retain(|c| c != "permission-offline");
                }
            }
            Personality::Oracle => {
                let mut scopes: Vec<String> = [
                    "openid",
                    "fhirUser",
                    "launch/patient",
                    "offline_access",
                    "patient/*.read",
                ]
                .iter()
                .map(|s| s.to_string())
                .collect();
                scopes.extend(resource_types.iter().map(|t| format!("patient/{t}.read")));
                config["scopes_supported"] = scopes.into();
            }
            _ => {}
        }
    }
}

/// Whose id an `id_token`'s `sub` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IdTokenSubject {
    Patient,
    /// A stable user id that is not the patient's id.
    OpaqueUser,
}

fn is_loopback(uri: &str) -> bool {
    ["http://127.0.0.1:", "http://[::1]:", "http://localhost:"]
        .iter()
        .any(|prefix| uri.starts_with(prefix))
}

/// `patient/X.rs`, `user/*.cruds`, `patient/Observation.rs?category=…`: a SMART v2 resource scope
/// (permissions a non-empty, ordered subset of `cruds`).
fn is_v2_resource_scope(scope: &str) -> bool {
    let scope = scope.split('?').next().unwrap_or(scope);
    let Some((context, rest)) = scope.split_once('/') else {
        return false;
    };
    let Some((resource_type, permissions)) = rest.rsplit_once('.') else {
        return false;
    };
    if !matches!(context, "patient" | "user" | "system") || resource_type.is_empty() {
        return false;
    }
    let mut order = "cruds".chars();
    !permissions.is_empty() && permissions.chars().all(|c| order.any(|o| o == c))
}

fn blue_button_accepts(scope: &str) -> bool {
    if BLUE_BUTTON_KEPT.contains(&scope) {
        return true;
    }
    let Some(rest) = scope.strip_prefix("patient/") else {
        return false;
    };
    let Some((resource_type, permissions)) = rest.rsplit_once('.') else {
        return false;
    };
    BLUE_BUTTON_TYPES.contains(&resource_type) && matches!(permissions, "read" | "rs")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for p in Personality::ALL {
            assert_eq!(Personality::from_code(p.code()), Some(p));
        }
        assert_eq!(Personality::from_code("Epic"), None);
        assert_eq!(Personality::from_code(""), None);
    }

    #[test]
    fn v2_scopes_are_told_from_v1() {
        for v2 in [
            "patient/*.rs",
            "patient/Observation.rs",
            "patient/Observation.rs?category=laboratory",
            "user/Patient.cruds",
            "patient/Condition.s",
        ] {
            assert!(is_v2_resource_scope(v2), "{v2}");
        }
        for other in [
            "patient/*.read",
            "patient/Observation.write",
            "patient/*.*",
            "patient/X.sr",
            "patient/.rs",
            "openid",
            "launch/patient",
            "patient/X.",
            "é/ü.rs",
        ] {
            assert!(!is_v2_resource_scope(other), "{other}");
        }
    }

    #[test]
    fn oracle_drops_v1_resource_scopes() {
        let granted = Personality::Oracle.granted_scope(
            "openid fhirUser launch/patient offline_access patient/*.read patient/Patient.read patient/*.rs profile",
        );
        assert_eq!(
            granted,
            "openid fhirUser launch/patient offline_access patient/*.rs"
        );
        assert_eq!(Personality::Generic.granted_scope("a  b"), "a  b");
    }

    #[test]
    fn blue_button_scopes() {
        assert!(blue_button_accepts("patient/ExplanationOfBenefit.read"));
        assert!(blue_button_accepts("patient/Coverage.rs"));
        assert!(blue_button_accepts("launch/patient"));
        assert!(!blue_button_accepts("patient/*.read"));
        assert!(!blue_button_accepts("patient/*.rs"));
        assert!(!blue_button_accepts("fhirUser"));
        assert!(!blue_button_accepts("patient/Condition.read"));
    }

    #[test]
    fn epic_reads_category_tokens() {
        assert_eq!(
            Personality::Epic.category_codes(
                "http://terminology.hl7.org/CodeSystem/observation-category|laboratory,vital-signs"
            ),
            ["laboratory", "vital-signs"]
        );
        assert_eq!(Personality::Generic.category_codes("a,b"), ["a,b"]);
    }
}
