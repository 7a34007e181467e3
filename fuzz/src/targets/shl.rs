//! `shl`: a SMART Health Link and its file, as the core reads them. The first line is the link
//! (`shlink:/…`, optionally after a viewer URL and `#`): its payload is decoded and its address
//! checked; the rest is the compact JWE, decrypted with the payload's key (or, when the link does
//! not decode, a fixed one) and read as FHIR JSON.

use ownrecord_core::export::shl;

/// A payload for inputs whose first line is not a link, so the JWE is still read.
fn fixed_payload() -> shl::Payload {
    shl::Payload {
        url: "https://share.example.org/shl/fixed".into(),
        key: "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8".into(),
        exp: None,
        flag: "U".into(),
        label: None,
        v: 1,
    }
}

pub fn run(data: &[u8]) -> String {
    let (link, jwe) = crate::split_line(data);
    let link = String::from_utf8_lossy(link);
    let (payload, what) = match shl::parse(&link) {
        Ok(p) => {
            let url = shl::check_url(&p.url).map_err(|e| e.to_string());
            let what = format!("link: flag {:?}, v {}, url {url:?}", p.flag, p.v);
            (p, what)
        }
        Err(e) => (fixed_payload(), format!("link: {e}")),
    };
    let jwe = String::from_utf8_lossy(jwe);
    let file = match shl::decrypt(&payload, jwe.trim()) {
        Ok(content) => format!(
            "{} bytes, FHIR JSON {}",
            content.len(),
            serde_json::from_slice::<serde_json::Value>(&content).is_ok()
        ),
        Err(e) => e.to_string(),
    };
    format!("{what}; file: {file}")
}
