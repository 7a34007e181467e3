//! `token`: a token endpoint's answer, read as each vendor profile reads a sign-in's (the
//! lifetime, the nonce in the id_token, the patient from the response, the id_token's or the
//! JWT access token's claims), and as a refresh's (rotation).

use ownrecord_core::portal::oauth;
use ownrecord_core::portal::profile::VendorProfile;

/// The sign-in's nonce, which a hand-made id_token seed carries.
pub const NONCE: &str = "fuzz-nonce";
const NOW: i64 = 1_700_000_000;

pub fn run(data: &[u8]) -> String {
    let mut line = String::new();
    let profiles = std::iter::once(VendorProfile::default())
        .chain(VendorProfile::bundled_vendors().map(|v| VendorProfile::of(Some(v))));
    for profile in profiles {
        let nonce = profile.nonce.then_some(NONCE);
        let outcome = oauth::read_sign_in_answer(data, nonce, NOW, &profile.patient_from);
        let vendor = if profile.vendor.is_empty() {
            "default"
        } else {
            &profile.vendor
        };
        match outcome {
            Ok(t) => line.push_str(&format!(
                "{vendor}: patient {:?}, expires_at {:?}; ",
                t.patient, t.expires_at
            )),
            Err(e) => line.push_str(&format!("{vendor}: {e}; ")),
        }
    }
    match oauth::read_refresh_answer(data, NOW, "old-refresh-token") {
        Ok(t) => line.push_str(&format!(
            "refresh: rotated {}",
            t.refresh_token.as_deref() != Some("old-refresh-token")
        )),
        Err(e) => line.push_str(&format!("refresh: {e}")),
    }
    line
}
