//! One document of a person's record as the window shows it: a DocumentReference, its original
//! (inline as its attachment's `data`, as a C-CDA import keeps it, or in `attachments` under the
//! attachment's URL, as a sync downloads it), checked against the SHA-256 the DocumentReference
//! names (`urn:sha256:` identifier or URL) before anything is shown; the original's narrative as
//! sanitised HTML when it is a C-CDA document; and the entries made from it (its
//! `context.related`, or the targets of a Provenance with its id). A PDF or an image is not
//! shown: it can be saved to a file instead.

use std::path::Path;

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::audit::AuditKind;
use crate::error::{Error, Result};
use crate::export::WrittenFile;
use crate::vault::Vault;
use crate::vault::browse::{ListItem, SOURCES_OF_ENTRY, list_item};

/// How the window can show a document's original.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum DocumentKind {
    /// A clinical document (C-CDA): its sections' narrative is in `sections`.
    Narrative,
    /// A PDF, an image or another file OwnRecord does not display: it can be saved.
    File,
}

/// One section of a document's narrative.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DocumentSection {
    pub title: String,
    /// Sanitised HTML (only the narrative's own structure: no script, style, URL with a scheme
    /// or raw id). The window shows it only inside a sandboxed frame.
    pub html: String,
    /// 0 for a section of the document's body, 1 for a section inside it, …
    pub depth: u32,
}

/// A document with what it says and what was made from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DocumentView {
    /// The DocumentReference's id.
    pub id: String,
    pub title: String,
    pub date: Option<String>,
    /// The authors' names, as the document gives them.
    pub author: Option<String>,
    /// The organization that keeps the document.
    pub custodian: Option<String>,
    pub content_type: Option<String>,
    pub kind: DocumentKind,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub bytes: u64,
    pub sections: Vec<DocumentSection>,
    /// The entries made from the document (each opens as a resource detail).
    pub entries: Vec<ListItem>,
}

/// A DocumentReference's first attachment, as stored.
struct Original {
    content_type: Option<String>,
    data: Vec<u8>,
}

impl Vault {
    /// The document `id` (a DocumentReference of `person`) with its original checked against its
    /// SHA-256, its narrative (for a C-CDA document) and the entries made from it.
    pub fn document_view(&self, person: i64, id: &str) -> Result<DocumentView> {
        let reference = self.resource(person, "DocumentReference", id)?;
        let json: Value = serde_json::from_str(&reference.json)
            .map_err(|_| Error::Internal("a stored DocumentReference is not JSON".into()))?;
        let original = self.original(&json)?;
        let content_type = original.content_type.clone();
        let kind = match content_type.as_deref().map(str::to_ascii_lowercase) {
            Some(t) if t.contains("xml") => DocumentKind::Narrative,
            None if ownrecord_ccda::looks_like_ccda(&original.data) => DocumentKind::Narrative,
            _ => DocumentKind::File,
        };
        let sections = match kind {
            DocumentKind::Narrative => ownrecord_ccda::narrative::sections(&original.data)
                .map_err(|_| Error::DocumentUnreadable)?
                .into_iter()
                .map(|s| DocumentSection {
                    title: s.title,
                    html: s.html,
                    depth: s.depth,
                })
                .collect(),
            DocumentKind::File => Vec::new(),
        };
        let title = [
            "/content/0/attachment/title",
            "/description",
            "/type/text",
            "/type/coding/0/display",
        ]
        .into_iter()
        .filter_map(|path| json.pointer(path).and_then(Value::as_str))
        .find(|t| !t.trim().is_empty())
        .map_or_else(|| reference.display.clone(), str::to_owned);
        let authors: Vec<String> = json
            .get("author")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|a| self.name_of(person, a))
            .collect();
        Ok(DocumentView {
            id: id.to_owned(),
            title,
            date: json
                .get("date")
                .and_then(Value::as_str)
                .or_else(|| {
                    json.pointer("/context/period/start")
                        .and_then(Value::as_str)
                })
                .map(str::to_owned),
            author: (!authors.is_empty()).then(|| authors.join(", ")),
            custodian: self.name_of(person, json.get("custodian").unwrap_or(&Value::Null)),
            content_type,
            kind,
            bytes: original.data.len() as u64,
            sections,
            entries: self.made_from(person, id, &json)?,
        })
    }

    /// Saves the original of the document `id` (a DocumentReference of `person`) to `path`, the
    /// file the patient chose, with its disclosure row (like every export).
    pub fn save_document(&mut self, person: i64, id: &str, path: &Path) -> Result<WrittenFile> {
        let reference = self.resource(person, "DocumentReference", id)?;
        let json: Value = serde_json::from_str(&reference.json)
            .map_err(|_| Error::Internal("a stored DocumentReference is not JSON".into()))?;
        let original = self.original(&json)?;
        let mut written = crate::export::deliver(
            self,
            AuditKind::Export,
            &[(path.to_owned(), original.data)],
            |files| {
                serde_json::json!({
                    "what": "original document",
                    "recipient": crate::export::TO_SELF,
                    "purpose": "export",
                    "person": person,
                    "sections": [],
                    "since": null,
                    "files": files.iter().map(|f| serde_json::json!({
                        "path": f.path.display().to_string(),
                        "sha256": hex::encode(&f.sha256),
                        "bytes": f.bytes,
                    })).collect::<Vec<_>>(),
                    "content_sha256": files.first().map(|f| hex::encode(&f.sha256)),
                    "expires": null,
                })
            },
        )?;
        Ok(written.remove(0))
    }

    /// The bytes of a DocumentReference's first attachment (inline, or stored under its URL),
    /// checked: their SHA-256 must be the one the DocumentReference names (an identifier or URL
    /// `urn:sha256:<hex>`) and, when stored, the one stored with them.
    fn original(&self, reference: &Value) -> Result<Original> {
        use base64::Engine as _;
        let attachment = reference
            .pointer("/content/0/attachment")
            .unwrap_or(&Value::Null);
        let url = attachment["url"].as_str();
        let named: Option<Vec<u8>> = url
            .into_iter()
            .chain(
                reference["identifier"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|i| i["system"] == "urn:ietf:rfc:3986")
                    .filter_map(|i| i["value"].as_str()),
            )
            .find_map(|v| v.strip_prefix("urn:sha256:"))
            .map(|h| hex::decode(h).map_err(|_| Error::OriginalDamaged))
            .transpose()?;
        let (data, stored_type, stored_sha) = if let Some(data) = attachment["data"].as_str() {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(data)
                .map_err(|_| Error::OriginalDamaged)?;
            (bytes, None, None)
        } else {
            let url = url.ok_or(Error::OriginalMissing)?;
            let found = self.db().query_row(
                "SELECT content_type, sha256, data FROM attachments WHERE url = ?1",
                [url],
                |r| {
                    Ok((
                        r.get::<_, Vec<u8>>(2)?,
                        r.get::<_, Option<String>>(0)?,
                        Some(r.get::<_, Vec<u8>>(1)?),
                    ))
                },
            );
            match found {
                Err(rusqlite::Error::QueryReturnedNoRows) => return Err(Error::OriginalMissing),
                other => other?,
            }
        };
        let actual = Sha256::digest(&data);
        for expected in [named, stored_sha].into_iter().flatten() {
            if expected.as_slice() != actual.as_slice() {
                return Err(Error::OriginalDamaged);
            }
        }
        let content_type = attachment["contentType"]
            .as_str()
            .map(str::to_owned)
            .or(stored_type);
        Ok(Original { content_type, data })
    }

    /// The display of a reference (`{display}` as given, else the referenced resource's name).
    fn name_of(&self, person: i64, reference: &Value) -> Option<String> {
        if let Some(display) = reference["display"]
            .as_str()
            .filter(|d| !d.trim().is_empty())
        {
            return Some(display.to_owned());
        }
        let (resource_type, id) = reference["reference"].as_str()?.split_once('/')?;
        self.resource(person, resource_type, id)
            .ok()
            .map(|r| r.display)
            .filter(|d| !d.trim().is_empty())
    }

    /// The entries of `person` made from the document, in its order: the DocumentReference's
    /// `context.related` or, without it, the targets of the Provenance with its id (the Patient
    /// and the document itself left out).
    fn made_from(&self, person: i64, id: &str, reference: &Value) -> Result<Vec<ListItem>> {
        let mut refs: Vec<Value> = reference
            .pointer("/context/related")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if refs.is_empty() {
            match self.resource(person, "Provenance", id) {
                Err(Error::NoSuchResource(_)) => {}
                Err(e) => return Err(e),
                Ok(provenance) => {
                    let json: Value = serde_json::from_str(&provenance.json)
                        .map_err(|_| Error::Internal("a stored Provenance is not JSON".into()))?;
                    refs = json
                        .get("target")
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default();
                }
            }
        }
        let mut stmt = self.db().prepare_cached(&format!(
            "SELECT r.resource_type, r.fhir_id, e.date, e.display, e.detail, e.code, e.kind,
                    {SOURCES_OF_ENTRY}
             FROM entries e JOIN resources r ON r.id = e.resource_id
             WHERE r.resource_type = ?1 AND r.fhir_id = ?2 AND e.person_id = ?3
             ORDER BY e.duplicate_of IS NOT NULL, r.last_updated DESC LIMIT 1"
        ))?;
        let mut items: Vec<ListItem> = Vec::new();
        for target in &refs {
            let Some((resource_type, target_id)) =
                target["reference"].as_str().and_then(|r| r.split_once('/'))
            else {
                continue;
            };
            if resource_type == "Patient"
                || (resource_type == "DocumentReference" && target_id == id)
                || items
                    .iter()
                    .any(|i| i.resource_type == resource_type && i.id == target_id)
            {
                continue;
            }
            let found = stmt.query_row(
                rusqlite::params![resource_type, target_id, person],
                list_item,
            );
            match found {
                Ok(item) => items.push(item),
                Err(rusqlite::Error::QueryReturnedNoRows) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(items)
    }
}
