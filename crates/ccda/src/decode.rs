//! Bytes → text: UTF-8 with or without a BOM, UTF-16 (LE/BE, by BOM or by the `<?xml` bytes).

// Sizes and counts here come from the file: no arithmetic that can overflow.
#![deny(clippy::arithmetic_side_effects)]

use crate::error::Error;
use std::borrow::Cow;

/// Decodes an XML document's bytes to text.
pub fn text(bytes: &[u8]) -> Result<Cow<'_, str>, Error> {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return utf8(rest);
    }
    if let Some(rest) = bytes.strip_prefix(b"\xFF\xFE") {
        return utf16(rest, u16::from_le_bytes);
    }
    if let Some(rest) = bytes.strip_prefix(b"\xFE\xFF") {
        return utf16(rest, u16::from_be_bytes);
    }
    match bytes {
        [b'<', 0, ..] => utf16(bytes, u16::from_le_bytes),
        [0, b'<', ..] => utf16(bytes, u16::from_be_bytes),
        _ => utf8(bytes),
    }
}

fn utf8(bytes: &[u8]) -> Result<Cow<'_, str>, Error> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(Cow::Borrowed(text)),
        // Some systems still write ISO-8859-1 / Windows-1252 while declaring UTF-8 or nothing:
        // each byte of those is one character (the C1 range is rare and kept as Latin-1).
        Err(_) if declares_latin1(bytes) => {
            Ok(Cow::Owned(bytes.iter().map(|&b| b as char).collect()))
        }
        Err(_) => Err(Error::Encoding("invalid UTF-8")),
    }
}

fn declares_latin1(bytes: &[u8]) -> bool {
    let head = bytes.get(..100).unwrap_or(bytes);
    let head = String::from_utf8_lossy(head).to_ascii_lowercase();
    head.starts_with("<?xml")
        && ["iso-8859-1", "windows-1252", "latin1", "latin-1"]
            .iter()
            .any(|e| head.contains(e))
}

fn utf16(bytes: &[u8], read: fn([u8; 2]) -> u16) -> Result<Cow<'_, str>, Error> {
    let (pairs, odd) = bytes.as_chunks::<2>();
    if !odd.is_empty() {
        return Err(Error::Encoding("UTF-16 with an odd number of bytes"));
    }
    let units = pairs.iter().map(|&pair| read(pair));
    char::decode_utf16(units)
        .collect::<Result<String, _>>()
        .map(Cow::Owned)
        .map_err(|_| Error::Encoding("invalid UTF-16"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boms_and_utf16() {
        assert_eq!(text(b"\xEF\xBB\xBF<a/>").unwrap(), "<a/>");
        let le: Vec<u8> = "\u{feff}<a>é</a>"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        assert_eq!(text(&le).unwrap(), "<a>é</a>");
        let be: Vec<u8> = "<a/>".encode_utf16().flat_map(u16::to_be_bytes).collect();
        assert_eq!(text(&be).unwrap(), "<a/>");
        assert!(text(b"<a>\xff</a>").is_err());
        assert!(text(&le[..le.len() - 1]).is_err());
        let latin = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>\xe9</a>";
        assert!(text(latin).unwrap().ends_with("<a>é</a>"));
    }
}
