//! Resolving in-bundle references in raw resource JSON.
//!
//! A transaction Bundle refers to its own entries by `fullUrl` (`urn:uuid:…`) and to existing
//! resources by condition (`Organization?identifier=system|value`). A FHIR server rewrites these to
//! the real `Type/id` when it processes the Bundle; import does the same, by editing only the string
//! values of `"reference"` keys and leaving every other byte as received.

use std::borrow::Cow;

const KEY: &str = "\"reference\"";

/// Replaces each `"reference": "<value>"` whose value `lookup` resolves. Values with escape
/// sequences are left alone (no real reference needs one).
pub fn resolve<'a>(raw: &'a str, mut lookup: impl FnMut(&str) -> Option<String>) -> Cow<'a, str> {
    let bytes = raw.as_bytes();
    let mut out: Option<String> = None;
    let mut copied_to = 0;
    let mut from = 0;
    while let Some(found) = raw.get(from..).and_then(|rest| rest.find(KEY)) {
        let mut i = from + found + KEY.len();
        from = i;
        i = skip_whitespace(bytes, i);
        if bytes.get(i) != Some(&b':') {
            continue;
        }
        i = skip_whitespace(bytes, i + 1);
        if bytes.get(i) != Some(&b'"') {
            continue;
        }
        let start = i + 1;
        let Some(len) = bytes
            .get(start..)
            .and_then(|rest| rest.iter().position(|&b| b == b'"' || b == b'\\'))
        else {
            break;
        };
        let end = start + len;
        from = end;
        // `start` follows and `end` is at an ASCII quote, so both are char boundaries.
        let (Some(value), Some(before)) = (raw.get(start..end), raw.get(copied_to..start)) else {
            continue;
        };
        if bytes.get(end) == Some(&b'\\') {
            continue;
        }
        if let Some(target) = lookup(value) {
            let buf = out.get_or_insert_with(|| String::with_capacity(raw.len() + 64));
            buf.push_str(before);
            buf.push_str(&target);
            copied_to = end;
        }
    }
    match out {
        Some(mut buf) => {
            buf.push_str(raw.get(copied_to..).unwrap_or_default());
            Cow::Owned(buf)
        }
        None => Cow::Borrowed(raw),
    }
}

fn skip_whitespace(bytes: &[u8], mut i: usize) -> usize {
    while bytes
        .get(i)
        .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
    {
        i += 1;
    }
    i
}

/// A conditional reference `Type?identifier=system|value`, split into its parts.
pub fn parse_conditional(reference: &str) -> Option<(&str, &str, &str)> {
    let (resource_type, query) = reference.split_once('?')?;
    if !crate::fhir::is_r4_resource_type(resource_type) {
        return None;
    }
    let token = query.strip_prefix("identifier=")?;
    if token.contains('&') {
        return None;
    }
    let (system, value) = token
        .split_once('|')
        .or_else(|| token.split_once("%7C"))
        .unwrap_or(("", token));
    Some((resource_type, system, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_only_reference_values() {
        let raw = r#"{"subject": {"reference" : "urn:uuid:1"}, "note": "urn:uuid:1", "x": {"reference":"Patient/2"}}"#;
        let out = resolve(raw, |v| {
            (v == "urn:uuid:1").then(|| "Patient/p1".to_owned())
        });
        assert_eq!(
            out,
            r#"{"subject": {"reference" : "Patient/p1"}, "note": "urn:uuid:1", "x": {"reference":"Patient/2"}}"#
        );
    }

    #[test]
    fn untouched_input_is_borrowed() {
        let raw = r#"{"reference": "Patient/1", "text": "say \"reference\": \"urn:uuid:1\""}"#;
        assert!(matches!(
            resolve(raw, |_| Some("X/1".into())),
            Cow::Owned(_)
        ));
        let out = resolve(raw, |v| (v == "urn:uuid:1").then(|| "X/9".into()));
        assert!(
            matches!(out, Cow::Borrowed(_)),
            "text inside a string value is not a reference"
        );
    }

    #[test]
    fn conditional_references() {
        assert_eq!(
            parse_conditional(
                "Organization?identifier=https://github.com/synthetichealth/synthea|abc"
            ),
            Some((
                "Organization",
                "https://github.com/synthetichealth/synthea",
                "abc"
            ))
        );
        assert_eq!(
            parse_conditional("Practitioner?identifier=http://hl7.org/fhir/sid/us-npi%7C999"),
            Some(("Practitioner", "http://hl7.org/fhir/sid/us-npi", "999"))
        );
        assert_eq!(parse_conditional("Patient/1"), None);
        assert_eq!(parse_conditional("Nope?identifier=a|b"), None);
    }
}
