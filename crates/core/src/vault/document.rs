//! One document of a person's record as the window shows it: a DocumentReference (or a
//! DiagnosticReport's `presentedForm`, a report as its lab or imaging system printed it), its
//! original (inline as its attachment's `data`, as a C-CDA import keeps it, or in `attachments` under the
//! attachment's URL, as a sync downloads it), checked against the SHA-256 the DocumentReference
//! names (`urn:sha256:` identifier or URL) before anything is shown; what the window can show of
//! it by its kind ([`DocumentKind`]): a C-CDA document's narrative and an HTML or XHTML note as
//! sanitised HTML (for a sandboxed frame only), plain text as text, a PDF or an image (PNG, JPEG)
//! as its checked bytes for the window to render ([`Vault::document_original`]); and the entries
//! made from it (its `context.related`, or the targets of a Provenance with its id; a report's
//! `result`s). Anything else can be saved to a file.

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::audit::AuditKind;
use crate::error::{Error, Result};
use crate::export::WrittenFile;
use crate::vault::Vault;
use crate::vault::browse::{ListItem, SOURCES_OF_ENTRY, list_item};

/// Which resource holds a document: a DocumentReference (its first `content.attachment`) or a
/// DiagnosticReport (its first `presentedForm`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum DocumentOf {
    #[default]
    DocumentReference,
    DiagnosticReport,
}

impl DocumentOf {
    pub fn resource_type(self) -> &'static str {
        match self {
            DocumentOf::DocumentReference => "DocumentReference",
            DocumentOf::DiagnosticReport => "DiagnosticReport",
        }
    }

    /// Where the resource keeps the attachment.
    fn attachment(self) -> &'static str {
        match self {
            DocumentOf::DocumentReference => "/content/0/attachment",
            DocumentOf::DiagnosticReport => "/presentedForm/0",
        }
    }
}

/// How the window can show a document's original.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum DocumentKind {
    /// A clinical document (C-CDA): its sections' narrative is in `sections`.
    Narrative,
    /// An HTML or XHTML note (`text/html`, `application/xhtml+xml`): its body, sanitised, is the
    /// one section in `sections`.
    Html,
    /// Plain text (`text/plain`): in `text`.
    Text,
    /// A PDF (its bytes start `%PDF-`): the window renders [`Vault::document_original`].
    Pdf,
    /// A PNG image (by its signature): the window shows [`Vault::document_original`].
    Png,
    /// A JPEG image (by its signature): the window shows [`Vault::document_original`].
    Jpeg,
    /// Another file OwnRecord does not display (or one whose bytes are not what its type says):
    /// it can be saved.
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
    /// The DocumentReference's (or DiagnosticReport's) id.
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
    /// A plain-text document's text (kind `text`), for the window to show as text.
    pub text: Option<String>,
    /// The entries made from the document (each opens as a resource detail).
    pub entries: Vec<ListItem>,
}

/// A document's attachment, as stored.
struct Original {
    content_type: Option<String>,
    data: Vec<u8>,
}

impl Vault {
    /// The DocumentReference `id` of `person` as [`Vault::document_view_of`] shows it.
    pub fn document_view(&self, person: i64, id: &str) -> Result<DocumentView> {
        self.document_view_of(person, DocumentOf::DocumentReference, id)
    }

    /// The document `id` (a DocumentReference, or a DiagnosticReport, of `person`) with its
    /// original checked against its SHA-256, what the window shows of it by its kind and the
    /// entries made from it.
    pub fn document_view_of(&self, person: i64, of: DocumentOf, id: &str) -> Result<DocumentView> {
        let (reference, json) = self.document_resource(person, of, id)?;
        let original = self.original(&json, of)?;
        let content_type = original.content_type.clone();
        let kind = kind_of(content_type.as_deref(), &original.data);
        let titles: &[&str] = match of {
            DocumentOf::DocumentReference => &[
                "/content/0/attachment/title",
                "/description",
                "/type/text",
                "/type/coding/0/display",
            ],
            DocumentOf::DiagnosticReport => &[
                "/presentedForm/0/title",
                "/code/text",
                "/code/coding/0/display",
            ],
        };
        let title = titles
            .iter()
            .filter_map(|path| json.pointer(path).and_then(Value::as_str))
            .find(|t| !t.trim().is_empty())
            .map_or_else(|| reference.display.clone(), str::to_owned);
        let mut text = None;
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
            DocumentKind::Html => vec![DocumentSection {
                title: title.clone(),
                html: ownrecord_ccda::note::sanitise(&decode_text(
                    &original.data,
                    content_type.as_deref(),
                )),
                depth: 0,
            }],
            DocumentKind::Text => {
                text = Some(decode_text(&original.data, content_type.as_deref()));
                Vec::new()
            }
            DocumentKind::Pdf | DocumentKind::Png | DocumentKind::Jpeg | DocumentKind::File => {
                Vec::new()
            }
        };
        let authors: Vec<String> = json
            .get(match of {
                DocumentOf::DocumentReference => "author",
                DocumentOf::DiagnosticReport => "performer",
            })
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|a| self.name_of(person, a))
            .collect();
        Ok(DocumentView {
            id: id.to_owned(),
            title,
            date: [
                "/date",
                "/context/period/start",
                "/effectiveDateTime",
                "/effectivePeriod/start",
                "/issued",
            ]
            .into_iter()
            .find_map(|path| json.pointer(path).and_then(Value::as_str))
            .map(str::to_owned),
            author: (!authors.is_empty()).then(|| authors.join(", ")),
            custodian: self.name_of(person, json.get("custodian").unwrap_or(&Value::Null)),
            content_type,
            kind,
            bytes: original.data.len() as u64,
            sections,
            text,
            entries: self.made_from(person, of, id, &json)?,
        })
    }

    /// The original of the DocumentReference `id` of `person`, checked against its SHA-256 as
    /// [`Vault::document_view`] checks it: the bytes the window renders for a PDF or an image.
    pub fn document_original(&self, person: i64, id: &str) -> Result<Vec<u8>> {
        self.document_original_of(person, DocumentOf::DocumentReference, id)
    }

    /// [`Vault::document_original`] of a DocumentReference or a DiagnosticReport.
    pub fn document_original_of(&self, person: i64, of: DocumentOf, id: &str) -> Result<Vec<u8>> {
        let (_, json) = self.document_resource(person, of, id)?;
        Ok(self.original(&json, of)?.data)
    }

    /// Saves the original of the DocumentReference `id` of `person` to `path`, the file the
    /// patient chose, with its disclosure row (like every export).
    pub fn save_document(&mut self, person: i64, id: &str, path: &Path) -> Result<WrittenFile> {
        self.save_document_of(person, DocumentOf::DocumentReference, id, path)
    }

    /// [`Vault::save_document`] of a DocumentReference or a DiagnosticReport.
    pub fn save_document_of(
        &mut self,
        person: i64,
        of: DocumentOf,
        id: &str,
        path: &Path,
    ) -> Result<WrittenFile> {
        let (_, json) = self.document_resource(person, of, id)?;
        let original = self.original(&json, of)?;
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

    /// The resource holding the document `id` of `person`, and its JSON.
    fn document_resource(
        &self,
        person: i64,
        of: DocumentOf,
        id: &str,
    ) -> Result<(crate::vault::browse::ResourceDetail, Value)> {
        let resource = self.resource(person, of.resource_type(), id)?;
        let json: Value = serde_json::from_str(&resource.json)
            .map_err(|_| Error::Internal(format!("a stored {} is not JSON", of.resource_type())))?;
        Ok((resource, json))
    }

    /// The bytes of a document's attachment (a DocumentReference's first `content`, a
    /// DiagnosticReport's first `presentedForm`; inline, or stored under its URL), checked: their
    /// SHA-256 must be the one the resource names (an identifier or URL `urn:sha256:<hex>`) and,
    /// when stored, the one stored with them.
    fn original(&self, reference: &Value, of: DocumentOf) -> Result<Original> {
        use base64::Engine as _;
        let attachment = reference.pointer(of.attachment()).unwrap_or(&Value::Null);
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
    /// and the document itself left out); a DiagnosticReport's `result`s.
    fn made_from(
        &self,
        person: i64,
        of: DocumentOf,
        id: &str,
        reference: &Value,
    ) -> Result<Vec<ListItem>> {
        let mut refs: Vec<Value> = reference
            .pointer(match of {
                DocumentOf::DocumentReference => "/context/related",
                DocumentOf::DiagnosticReport => "/result",
            })
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if refs.is_empty() && of == DocumentOf::DocumentReference {
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
                || (resource_type == of.resource_type() && target_id == id)
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

/// What the window can show of an original of `content_type` (as the DocumentReference or the
/// download named it) holding `data`. A PDF or an image is shown only when its bytes are one
/// (their signature), so a mislabelled file is offered to save instead; without a type (or with
/// `application/octet-stream`) the bytes alone decide between a C-CDA document, a PDF and an
/// image.
fn kind_of(content_type: Option<&str>, data: &[u8]) -> DocumentKind {
    let sniffed = if data
        .get(..1024)
        .unwrap_or(data)
        .windows(5)
        .any(|w| w == b"%PDF-")
    {
        Some(DocumentKind::Pdf)
    } else if data.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(DocumentKind::Png)
    } else if data.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(DocumentKind::Jpeg)
    } else {
        None
    };
    let media = content_type.map(|t| {
        t.split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
    });
    let expect = |kind: DocumentKind| {
        if sniffed == Some(kind) {
            kind
        } else {
            DocumentKind::File
        }
    };
    match media.as_deref() {
        Some("text/plain") => DocumentKind::Text,
        Some("text/html" | "application/xhtml+xml") => DocumentKind::Html,
        Some("application/pdf") => expect(DocumentKind::Pdf),
        Some("image/png") => expect(DocumentKind::Png),
        Some("image/jpeg" | "image/jpg" | "image/pjpeg") => expect(DocumentKind::Jpeg),
        Some(t) if t.contains("xml") && !t.starts_with("image/") => DocumentKind::Narrative,
        None | Some("application/octet-stream") => match sniffed {
            Some(kind) => kind,
            None if ownrecord_ccda::looks_like_ccda(data) => DocumentKind::Narrative,
            None => DocumentKind::File,
        },
        Some(_) => DocumentKind::File,
    }
}

/// A text or HTML original as text: UTF-8 (with or without a BOM) or UTF-16 by its BOM; bytes
/// that are not UTF-8 are read as Windows-1252's Latin-1 part when the content type or an HTML
/// `<meta charset>` near the start names a Latin-1 encoding, else with replacement characters.
fn decode_text(data: &[u8], content_type: Option<&str>) -> String {
    if let Some(rest) = data.strip_prefix(b"\xEF\xBB\xBF") {
        return String::from_utf8_lossy(rest).into_owned();
    }
    for (bom, read) in [
        (b"\xFF\xFE", u16::from_le_bytes as fn([u8; 2]) -> u16),
        (b"\xFE\xFF", u16::from_be_bytes),
    ] {
        if let Some(rest) = data.strip_prefix(bom) {
            let (pairs, _) = rest.as_chunks::<2>();
            return char::decode_utf16(pairs.iter().map(|&p| read(p)))
                .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
                .collect();
        }
    }
    match std::str::from_utf8(data) {
        Ok(text) => text.to_owned(),
        Err(_) => {
            let head =
                String::from_utf8_lossy(data.get(..1024).unwrap_or(data)).to_ascii_lowercase();
            let declared = content_type.unwrap_or_default().to_ascii_lowercase();
            let latin1 = ["iso-8859-1", "windows-1252", "latin1", "latin-1"]
                .iter()
                .any(|e| {
                    declared.contains(e)
                        || head.contains(&format!("charset={e}"))
                        || head.contains(&format!("charset=\"{e}"))
                });
            if latin1 {
                data.iter().map(|&b| char::from(b)).collect()
            } else {
                String::from_utf8_lossy(data).into_owned()
            }
        }
    }
}
