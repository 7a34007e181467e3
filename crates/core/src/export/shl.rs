//! SMART Health Links (STU1): the IPS encrypted as a compact JWE (`alg: dir`, `enc: A256GCM`,
//! a fresh 256-bit key), a `shlink:/` payload with the `U` flag (one file, fetched directly with
//! `GET url?recipient=...`), a label and an expiry, and a QR code of the link as a PNG.
//! The encrypted file goes to a host the patient names; the key lives only in the link.
//!
//! Through a share host the link is a manifest (flag `P` or none) with more than one file under
//! the one key ([`Sealed::seal_also`]: the PDF as a DocumentReference), and its text is the
//! host's viewer URL before `#shlink:/…` (SHL STU1 allows a viewer prefix), so a phone camera
//! opens the viewer from the QR code. The fragment never reaches a server.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

pub const CONTENT_TYPE: &str = "application/fhir+json";

/// The payload a `shlink:/` carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payload {
    pub url: String,
    pub key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub flag: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    pub v: u8,
}

/// A link, ready to hand over, and the encrypted file it points to.
pub struct Link {
    /// `shlink:/...`
    pub text: String,
    pub payload: Payload,
    /// The compact JWE to place at `payload.url`.
    pub jwe: String,
    pub qr_png: Vec<u8>,
}

/// Encrypts `content` (FHIR JSON) for a link to `url` with a fresh key.
pub fn make(content: &[u8], url: &str, label: &str, exp: Option<i64>) -> Result<Link> {
    check_url(url)?;
    let sealed = seal(content)?;
    link(sealed, url, label, exp, "U", None)
}

/// A file encrypted under a fresh key, before the address it will live at is known (a share
/// host names it only once the file is there).
pub struct Sealed {
    key: Zeroizing<[u8; 32]>,
    pub jwe: String,
}

/// Encrypts `content` (FHIR JSON) with a fresh 256-bit key.
pub fn seal(content: &[u8]) -> Result<Sealed> {
    let mut key = Zeroizing::new([0u8; 32]);
    // Cannot panic: OS randomness, no fallback (a link key must not be guessable).
    #[allow(clippy::expect_used)]
    getrandom::fill(key.as_mut_slice()).expect("the OS random number generator works");
    let jwe = encrypt(content, key.as_slice())?;
    Ok(Sealed { key, jwe })
}

impl Sealed {
    /// Encrypts another file of the same link (FHIR JSON) under the same key, the same way.
    pub fn seal_also(&self, content: &[u8]) -> Result<String> {
        encrypt(content, self.key.as_slice())
    }
}

/// Refuses a link address that is not https (plain http only on this computer).
pub fn check_url(url: &str) -> Result<()> {
    let parsed = url::Url::parse(url).map_err(|_| Error::BadLinkHost(url.to_owned()))?;
    let loopback = matches!(parsed.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    if parsed.scheme() != "https" && !(parsed.scheme() == "http" && loopback) {
        return Err(Error::BadLinkHost(url.to_owned()));
    }
    Ok(())
}

/// The `shlink:/` for a sealed file at `url` (`flag`: `U` for a direct file, `P`, `L`, or none
/// for a manifest), and its QR code. With `viewer`, the text (and the QR code) is
/// `VIEWER#shlink:/…`.
pub fn link(
    sealed: Sealed,
    url: &str,
    label: &str,
    exp: Option<i64>,
    flag: &str,
    viewer: Option<&str>,
) -> Result<Link> {
    check_url(url)?;
    if let Some(viewer) = viewer {
        check_url(viewer)?;
        if viewer.contains('#') {
            return Err(Error::BadLinkHost(viewer.to_owned()));
        }
    }
    // Labels are at most 80 characters (SHL STU1).
    let label: String = label.chars().take(80).collect();
    let payload = Payload {
        url: url.to_owned(),
        key: URL_SAFE_NO_PAD.encode(sealed.key.as_slice()),
        exp,
        flag: flag.to_owned(),
        label: (!label.is_empty()).then_some(label),
        v: 1,
    };
    // Cannot panic: a derived struct with string keys serializes.
    #[allow(clippy::expect_used)]
    let json = serde_json::to_vec(&payload).expect("a payload serializes");
    let shlink = format!("shlink:/{}", URL_SAFE_NO_PAD.encode(json));
    let text = match viewer {
        Some(viewer) => format!("{viewer}#{shlink}"),
        None => shlink,
    };
    let qr_png = qr_png(&text)?;
    Ok(Link {
        text,
        payload,
        jwe: sealed.jwe,
        qr_png,
    })
}

fn encrypt(content: &[u8], key: &[u8]) -> Result<String> {
    use josekit::jwe::{Dir, JweHeader};
    let failed =
        |e: josekit::JoseError| Error::Internal(format!("encrypting the link's file: {e}"));
    let mut header = JweHeader::new();
    header.set_content_encryption("A256GCM");
    header.set_content_type(CONTENT_TYPE);
    let encrypter = Dir.encrypter_from_bytes(key).map_err(failed)?;
    josekit::jwe::serialize_compact(content, &header, &encrypter).map_err(failed)
}

/// Decodes a `shlink:/` (optionally after a viewer URL and `#`).
pub fn parse(link: &str) -> Result<Payload> {
    let bad = || Error::BadLink;
    let encoded = link
        .rsplit_once("shlink:/")
        .map(|(_, rest)| rest)
        .ok_or_else(bad)?;
    let json = URL_SAFE_NO_PAD.decode(encoded.trim()).map_err(|_| bad())?;
    serde_json::from_slice(&json).map_err(|_| bad())
}

/// Decrypts a link's file with the key from its payload.
pub fn decrypt(payload: &Payload, jwe: &str) -> Result<Vec<u8>> {
    use josekit::jwe::Dir;
    let key = Zeroizing::new(
        URL_SAFE_NO_PAD
            .decode(&payload.key)
            .map_err(|_| Error::BadLink)?,
    );
    let decrypter = Dir
        .decrypter_from_bytes(key.as_slice())
        .map_err(|_| Error::BadLink)?;
    let (content, _) =
        josekit::jwe::deserialize_compact(jwe, &decrypter).map_err(|_| Error::BadLink)?;
    Ok(content)
}

/// Puts the encrypted file on the patient's host with an HTTP PUT.
pub async fn upload(url: &str, jwe: &str) -> Result<()> {
    let failed = |why: String| Error::LinkUpload {
        url: url.to_owned(),
        why,
    };
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .map_err(|e| failed(e.to_string()))?;
    let response = client
        .put(url)
        .header(reqwest::header::CONTENT_TYPE, "application/jose")
        .body(jwe.to_owned())
        .send()
        .await
        .map_err(|e| failed(e.without_url().to_string()))?;
    if !response.status().is_success() {
        return Err(failed(format!("the host answered {}", response.status())));
    }
    Ok(())
}

/// A QR code of `text` as a black-on-white PNG (8 pixels a module, 4-module quiet zone).
pub fn qr_png(text: &str) -> Result<Vec<u8>> {
    const SCALE: usize = 8;
    const QUIET: usize = 4;
    let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| Error::Internal(format!("making the QR code: {e}")))?;
    let modules = code.width();
    let colors = code.to_colors();
    let side = (modules + 2 * QUIET) * SCALE;
    let mut pixels = vec![255u8; side * side];
    for (i, color) in colors.iter().enumerate() {
        if *color != qrcode::Color::Dark {
            continue;
        }
        let (mx, my) = (i % modules + QUIET, i / modules + QUIET);
        for y in my * SCALE..(my + 1) * SCALE {
            let row = y * side;
            if let Some(run) = pixels.get_mut(row + mx * SCALE..row + (mx + 1) * SCALE) {
                run.fill(0);
            }
        }
    }
    let mut png_bytes = Vec::new();
    let failed = |e: png::EncodingError| Error::Internal(format!("writing the QR code: {e}"));
    let mut encoder = png::Encoder::new(&mut png_bytes, side as u32, side as u32);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(failed)?;
    writer.write_image_data(&pixels).map_err(failed)?;
    writer.finish().map_err(failed)?;
    Ok(png_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_round_trip() {
        let content = br#"{"resourceType":"Bundle","type":"document"}"#;
        let link = make(
            content,
            "https://files.example.org/s/abc",
            "For Dr. Ruiz",
            Some(1_900_000_000),
        )
        .unwrap();
        assert!(link.text.starts_with("shlink:/"));
        let payload = parse(&format!("https://viewer.example/#{}", link.text)).unwrap();
        assert_eq!(payload, link.payload);
        assert_eq!(payload.key.len(), 43);
        assert_eq!(payload.flag, "U");
        assert_eq!(decrypt(&payload, &link.jwe).unwrap(), content);
        let header = link.jwe.split('.').next().unwrap();
        let header: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
        assert_eq!(header["alg"], "dir");
        assert_eq!(header["enc"], "A256GCM");
        assert!(link.qr_png.starts_with(b"\x89PNG"));
        // A second link has its own key.
        let other = make(content, "https://files.example.org/s/abc", "", None).unwrap();
        assert_ne!(other.payload.key, link.payload.key);
        assert!(decrypt(&other.payload, &link.jwe).is_err());
    }

    #[test]
    fn a_viewer_prefixed_link_carries_two_files_under_one_key() {
        let sealed = seal(b"{\"resourceType\":\"Bundle\"}").unwrap();
        let second = sealed
            .seal_also(b"{\"resourceType\":\"DocumentReference\"}")
            .unwrap();
        let link = link(
            sealed,
            "https://share.example.org/shl/abc",
            "",
            None,
            "P",
            Some("https://share.example.org/view"),
        )
        .unwrap();
        assert!(
            link.text
                .starts_with("https://share.example.org/view#shlink:/"),
            "{}",
            link.text
        );
        let payload = parse(&link.text).unwrap();
        assert_eq!(payload, link.payload);
        assert_eq!(
            decrypt(&payload, &second).unwrap(),
            b"{\"resourceType\":\"DocumentReference\"}"
        );
        assert!(decrypt(&payload, &link.jwe).is_ok());
        let bad = seal(b"{}").unwrap();
        assert!(matches!(
            super::link(
                bad,
                "https://a.example/shl/x",
                "",
                None,
                "",
                Some("http://a.example/view")
            ),
            Err(Error::BadLinkHost(_))
        ));
    }

    #[test]
    fn plain_http_hosts_are_refused_except_on_this_computer() {
        assert!(matches!(
            make(b"{}", "http://files.example.org/x", "", None),
            Err(Error::BadLinkHost(_))
        ));
        assert!(make(b"{}", "http://127.0.0.1:9/x", "", None).is_ok());
    }
}
