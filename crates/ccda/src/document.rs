//! One C-CDA document → FHIR resources + report.

use serde::Serialize;
use serde_json::Value;

use crate::error::Error;
use crate::report::Report;

/// What the document says about itself (for the vault's source and the import's report).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DocumentFacts {
    /// The DocumentReference id that keeps the original (its attachment is `attachment_url`).
    pub document_reference_id: String,
    /// The Patient id made from the recordTarget.
    pub patient_id: String,
    /// `urn:sha256:<hex>`: where the original bytes are kept (the DocumentReference's attachment).
    pub attachment_url: String,
    /// SHA-256 of the original bytes, hex.
    pub sha256: String,
    /// The document's title (document text: shown to the patient, never logged).
    pub title: String,
    /// The custodian organization's name, or "" (names the source the document came from).
    pub custodian: String,
}

/// A converted document.
#[derive(Debug, Clone, PartialEq)]
pub struct Converted {
    pub facts: DocumentFacts,
    /// The resources, Patient first, then Organizations and Practitioners, the entries, the
    /// DocumentReference and its Provenance last. References between them are `Type/id`.
    pub resources: Vec<Value>,
    pub report: Report,
}

impl Converted {
    /// The resources as a FHIR `collection` Bundle.
    pub fn bundle(&self) -> Value {
        let entries: Vec<Value> = self
            .resources
            .iter()
            .map(|r| {
                let full_url = format!(
                    "{}/{}",
                    r["resourceType"].as_str().unwrap_or_default(),
                    r["id"].as_str().unwrap_or_default()
                );
                serde_json::json!({ "fullUrl": full_url, "resource": r })
            })
            .collect();
        serde_json::json!({ "resourceType": "Bundle", "type": "collection", "entry": entries })
    }
}

/// Converts one C-CDA document (bytes as in the file: any BOM, UTF-8 or UTF-16).
pub fn convert(bytes: &[u8]) -> Result<Converted, Error> {
    let _ = bytes;
    Err(Error::NotClinicalDocument)
}
