//! # ownrecord-fhir
//!
//! The one reader of FHIR R4 JSON for meaning. Pure: no I/O, no SQL; resources stay raw JSON
//! everywhere and nothing here rewrites them.
//!
//! - the crate root: the R4 type list, [`ResourceFacts`] (what the vault keeps beside a
//!   resource), [`clinical_date`], [`display`], [`minified`];
//! - [`datatypes`]: codings and concepts, references, dates with their precision, quantities,
//!   reference ranges, [`number_text`];
//! - [`compartment`]: the R4 Patient compartment and whom a resource is about ([`subject`]);
//! - [`entry`]: the clinical [`Entry`] every view reads (kind, codes, date, status, name, value);
//! - [`clinical`]: the texts a clinician's summary shows, and Patient [`Demographics`] matching.

#![deny(
    clippy::indexing_slicing,
    clippy::string_slice,
    clippy::unwrap_used,
    clippy::expect_used
)]
#![cfg_attr(
    test,
    allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

pub mod clinical;
pub mod compartment;
pub mod datatypes;
pub mod entry;
mod resource_types;

pub use clinical::{Demographics, Match, ResultValue};
pub use compartment::{Subject, in_patient_compartment, subject};
pub use datatypes::{
    Coding, Concept, Date, Precision, Quantity, Range, Reference, concept_text, number_text,
};
pub use entry::{Entry, Kind};
pub use resource_types::{R4_RESOURCE_TYPES, is_r4_resource_type};

use serde_json::Value;

/// What the vault keeps beside a resource's raw bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceFacts {
    pub resource_type: String,
    pub id: Option<String>,
    pub version_id: Option<String>,
    pub last_updated: Option<String>,
    /// The date the resource is about (onset, effective, performed, ...), for timelines and ranges.
    pub clinical_date: Option<String>,
    /// `identifier` entries as (system, value).
    pub identifiers: Vec<(String, String)>,
    /// Human-readable text for full-text search.
    pub text: String,
}

/// Why a JSON value is not a usable FHIR resource.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotAResource {
    #[error("it is not a JSON object")]
    NotAnObject,
    #[error("it has no resourceType")]
    NoResourceType,
    #[error("its resourceType is not a FHIR R4 resource type")]
    UnknownType,
    #[error("its id is not a valid FHIR id")]
    BadId,
}

impl ResourceFacts {
    pub fn of(resource: &Value) -> Result<Self, NotAResource> {
        let object = resource.as_object().ok_or(NotAResource::NotAnObject)?;
        let resource_type = object
            .get("resourceType")
            .and_then(Value::as_str)
            .ok_or(NotAResource::NoResourceType)?;
        if !is_r4_resource_type(resource_type) {
            return Err(NotAResource::UnknownType);
        }
        let id = match object.get("id") {
            None => None,
            Some(Value::String(id)) if is_valid_id(id) => Some(id.clone()),
            Some(_) => return Err(NotAResource::BadId),
        };
        let meta = object.get("meta");
        let meta_str = |key: &str| {
            meta.and_then(|m| m.get(key))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let identifiers = object
            .get("identifier")
            .and_then(Value::as_array)
            .map(|ids| {
                ids.iter()
                    .filter_map(|i| {
                        let value = i.get("value")?.as_str()?;
                        let system = i.get("system").and_then(Value::as_str).unwrap_or("");
                        Some((system.to_owned(), value.to_owned()))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mut text = String::new();
        collect_text(resource, None, &mut text);
        Ok(ResourceFacts {
            resource_type: resource_type.to_owned(),
            id,
            version_id: meta_str("versionId"),
            last_updated: meta_str("lastUpdated"),
            clinical_date: clinical_date(resource).map(str::to_owned),
            identifiers,
            text,
        })
    }
}

/// FHIR id: 1–64 of `[A-Za-z0-9\-\.]`.
pub fn is_valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

/// The first date the resource carries about itself, by the elements US Core uses.
pub fn clinical_date(resource: &Value) -> Option<&str> {
    const DATE_ELEMENTS: &[&[&str]] = &[
        &["effectiveDateTime"],
        &["effectivePeriod", "start"],
        &["effectiveInstant"],
        &["onsetDateTime"],
        &["onsetPeriod", "start"],
        &["performedDateTime"],
        &["performedPeriod", "start"],
        &["occurrenceDateTime"],
        &["authoredOn"],
        &["recordedDate"],
        &["period", "start"],
        &["issued"],
        &["date"],
        &["recorded"],
        &["created"],
        &["birthDate"],
    ];
    DATE_ELEMENTS.iter().find_map(|path| {
        path.iter()
            .try_fold(resource, |v, key| v.get(key))
            .and_then(Value::as_str)
    })
}

/// The same JSON without whitespace between tokens (keys, their order, numbers and strings
/// exactly as they were): one line, as NDJSON needs. Borrowed when there was nothing to strip.
pub fn minified(json: &str) -> std::borrow::Cow<'_, str> {
    let is_space = |b: u8| matches!(b, b' ' | b'\n' | b'\r' | b'\t');
    let bytes = json.as_bytes();
    let mut out: Option<Vec<u8>> = None;
    let (mut in_string, mut escaped) = (false, false);
    for (i, &b) in bytes.iter().enumerate() {
        let keep = if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            true
        } else {
            if b == b'"' {
                in_string = true;
            }
            !is_space(b)
        };
        match (&mut out, keep) {
            (Some(buf), true) => buf.push(b),
            (None, false) => out = Some(bytes.iter().take(i).copied().collect()),
            _ => {}
        }
    }
    match out {
        // Cannot panic: only ASCII whitespace was removed, so the bytes are still UTF-8.
        #[allow(clippy::expect_used)]
        Some(buf) => std::borrow::Cow::Owned(String::from_utf8(buf).expect("still UTF-8")),
        None => std::borrow::Cow::Borrowed(json),
    }
}

/// Elements whose string values are meant for people to read.
fn is_readable_element(key: &str) -> bool {
    matches!(
        key,
        "display"
            | "text"
            | "family"
            | "given"
            | "name"
            | "valueString"
            | "description"
            | "title"
            | "comment"
    )
}

fn collect_text(value: &Value, key: Option<&str>, out: &mut String) {
    match value {
        Value::String(s) if key.is_some_and(is_readable_element) => {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(s);
        }
        Value::Array(items) => items.iter().for_each(|v| collect_text(v, key, out)),
        // The narrative (`text.div`) is XHTML repeating the structured data: skip it.
        Value::Object(map) => map
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "div" | "extension" | "modifierExtension"))
            .for_each(|(k, v)| collect_text(v, Some(k), out)),
        _ => {}
    }
}

/// A short label for lists: `code.text`, the first coding's display, or a name.
pub fn display(resource: &Value) -> Option<String> {
    for concept in [
        "code",
        "vaccineCode",
        "medicationCodeableConcept",
        "type",
        "category",
    ] {
        let c = match resource.get(concept) {
            Some(Value::Array(items)) => items.first(),
            other => other,
        };
        if let Some(c) = c {
            if let Some(text) = c.get("text").and_then(Value::as_str) {
                return Some(text.to_owned());
            }
            if let Some(d) = c.pointer("/coding/0/display").and_then(Value::as_str) {
                return Some(d.to_owned());
            }
        }
    }
    if let Some(name) = resource.get("name") {
        if let Some(s) = name.as_str() {
            return Some(s.to_owned());
        }
        if let Some(n) = name.get(0) {
            if let Some(t) = n.get("text").and_then(Value::as_str) {
                return Some(t.to_owned());
            }
            let given: Vec<&str> = n
                .get("given")
                .and_then(Value::as_array)
                .map(|g| g.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let family = n.get("family").and_then(Value::as_str);
            let full: Vec<&str> = given.into_iter().chain(family).collect();
            if !full.is_empty() {
                return Some(full.join(" "));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn facts_of_an_observation() {
        let obs = json!({
            "resourceType": "Observation", "id": "o-1",
            "meta": {"versionId": "3", "lastUpdated": "2024-01-02T03:04:05Z"},
            "identifier": [{"system": "urn:x", "value": "42"}],
            "text": {"status": "generated", "div": "<div>Glucose narrative</div>"},
            "code": {"coding": [{"system": "http://loinc.org", "code": "2339-0", "display": "Glucose"}], "text": "Glucose [Mass/volume]"},
            "effectiveDateTime": "2020-05-01T10:00:00Z",
            "note": [{"text": "fasting"}]
        });
        let f = ResourceFacts::of(&obs).unwrap();
        assert_eq!(f.resource_type, "Observation");
        assert_eq!(f.id.as_deref(), Some("o-1"));
        assert_eq!(f.version_id.as_deref(), Some("3"));
        assert_eq!(f.clinical_date.as_deref(), Some("2020-05-01T10:00:00Z"));
        assert_eq!(f.identifiers, vec![("urn:x".to_owned(), "42".to_owned())]);
        assert!(f.text.contains("Glucose [Mass/volume]") && f.text.contains("fasting"));
        assert!(!f.text.contains("narrative"));
        assert_eq!(display(&obs).as_deref(), Some("Glucose [Mass/volume]"));
    }

    #[test]
    fn not_resources() {
        assert_eq!(
            ResourceFacts::of(&json!([1])),
            Err(NotAResource::NotAnObject)
        );
        assert_eq!(
            ResourceFacts::of(&json!({"id": "x"})),
            Err(NotAResource::NoResourceType)
        );
        assert_eq!(
            ResourceFacts::of(&json!({"resourceType": "Patientt"})),
            Err(NotAResource::UnknownType)
        );
        assert_eq!(
            ResourceFacts::of(&json!({"resourceType": "Patient", "id": "a b"})),
            Err(NotAResource::BadId)
        );
    }

    #[test]
    fn minified_keeps_strings_order_and_numbers() {
        let pretty = "{\n  \"b\": \"a  \\\" \\n x\",\n  \"a\": [1.50, 2e3 ]\n}";
        assert_eq!(
            minified(pretty),
            "{\"b\":\"a  \\\" \\n x\",\"a\":[1.50,2e3]}"
        );
        assert!(matches!(
            minified("{\"a\":1}"),
            std::borrow::Cow::Borrowed(_)
        ));
    }

    #[test]
    fn patient_display_joins_given_and_family() {
        let p = json!({"resourceType": "Patient", "name": [{"given": ["Ada", "K"], "family": "Lovelace"}]});
        assert_eq!(display(&p).as_deref(), Some("Ada K Lovelace"));
    }
}
