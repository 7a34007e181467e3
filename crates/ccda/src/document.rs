//! One C-CDA document → FHIR resources + report.

use std::cell::Cell;
use std::collections::HashMap;

use base64::Engine;
use roxmltree::Node;
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::container::Limits;
use crate::datatypes::{self, Precision};
use crate::error::Error;
use crate::report::Report;
use crate::{decode, header, sections, xml};

/// What the document says about itself (for the vault's source and the import's report).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DocumentFacts {
    /// The DocumentReference that keeps the original (inline, as its attachment's data).
    pub document_reference_id: String,
    /// The Patient id made from the recordTarget.
    pub patient_id: String,
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
    /// DocumentReference that keeps the original last. References between them are `Type/id`.
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

/// The most elements (and text nodes) one document may have: far above any real document,
/// low enough that memory stays bounded (roxmltree keeps every node).
const MAX_NODES: u32 = 4_000_000;

/// Converts one C-CDA document (bytes as in the file: any BOM, UTF-8 or UTF-16).
pub fn convert(bytes: &[u8]) -> Result<Converted, Error> {
    let limit = Limits::default().max_document_bytes;
    if bytes.len() as u64 > limit {
        return Err(Error::TooLarge {
            limit_mb: limit / (1024 * 1024),
        });
    }
    let text = decode::text(bytes)?;
    let mut declared = String::new();
    let doc = parse(&text, &mut declared)?;
    let root = doc.root_element();
    if !xml::is(root, "ClinicalDocument") {
        return Err(Error::NotClinicalDocument);
    }
    let targets: Vec<Node<'_, '_>> = xml::children(root, "recordTarget")
        .filter_map(|t| xml::child(t, "patientRole"))
        .collect();
    let patient_role = match targets.as_slice() {
        [] => return Err(Error::NoPatient),
        [one] => *one,
        many => return Err(Error::SeveralPatients(many.len())),
    };
    let sha256 = hex::encode(Sha256::digest(bytes));
    let ctx = Ctx::new(&doc);
    let mut out = Out::default();
    let header = header::read(&ctx, &mut out, root, patient_role, &sha256);
    let ctx = ctx.with_patient(&header.patient_id);
    let mut report = Report::default();
    if let Some(body) = xml::path(root, &["component", "structuredBody"]) {
        for section in xml::children(body, "component").filter_map(|c| xml::child(c, "section")) {
            sections::convert(&ctx, &mut out, section, &mut report.sections);
        }
    }
    report.times_without_zone = ctx.times_without_zone.get();
    report.missing_text_references = ctx.missing_references.get();
    report.unreadable_values = ctx.unreadable_values.get();
    let made: Vec<String> = out.references();
    let document_reference = header::document_reference(&ctx, root, &header, bytes, &sha256, &made);
    let document_reference_id = document_reference
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let source = format!("DocumentReference/{document_reference_id}");
    let mut resources = out.resources;
    for r in &mut resources {
        r["meta"] = json!({ "source": source });
    }
    resources.push(document_reference);
    Ok(Converted {
        facts: DocumentFacts {
            document_reference_id,
            patient_id: header.patient_id,
            sha256,
            title: header.title,
            custodian: header.custodian_name,
        },
        resources,
        report,
    })
}

/// Parses a document's text as the converter does, declaring the common prefixes it forgot
/// (the declared copy is kept in `declared`, which the document then borrows).
pub(crate) fn parse<'t>(
    text: &'t str,
    declared: &'t mut String,
) -> Result<roxmltree::Document<'t>, Error> {
    match roxmltree::Document::parse_with_options(text, parse_options()) {
        Ok(doc) => Ok(doc),
        Err(roxmltree::Error::UnknownNamespace(..)) => {
            *declared = declare_common_prefixes(text)?.into_owned();
            roxmltree::Document::parse_with_options(declared, parse_options())
                .map_err(|e| Error::xml(e, declared))
        }
        Err(e) => Err(Error::xml(e, text)),
    }
}

/// DTDs (and so entities, internal or external) refused; the number of nodes capped.
pub(crate) fn parse_options<'a>() -> roxmltree::ParsingOptions<'a> {
    roxmltree::ParsingOptions {
        allow_dtd: false,
        nodes_limit: MAX_NODES,
        ..Default::default()
    }
}

/// Namespace prefixes C-CDA documents use, which some senders forget to declare.
const COMMON_PREFIXES: &[(&str, &str)] = &[
    ("xsi", xml::XSI),
    ("sdtc", "urn:hl7-org:sdtc"),
    ("voc", "urn:hl7-org:v3/voc"),
    ("cda", xml::HL7),
];

/// The text, with a declaration added to the root element for each of the [`COMMON_PREFIXES`]
/// it uses without declaring (found by parsing; any other XML error is returned as it is).
fn declare_common_prefixes(text: &str) -> Result<std::borrow::Cow<'_, str>, Error> {
    let mut text = std::borrow::Cow::Borrowed(text);
    for _ in 0..COMMON_PREFIXES.len() {
        let missing = match roxmltree::Document::parse_with_options(&text, parse_options()) {
            Ok(_) => return Ok(text),
            Err(roxmltree::Error::UnknownNamespace(prefix, pos)) => COMMON_PREFIXES
                .iter()
                .find(|(p, _)| *p == prefix)
                .ok_or_else(|| {
                    Error::xml(roxmltree::Error::UnknownNamespace(prefix, pos), &text)
                })?,
            Err(e) => return Err(Error::xml(e, &text)),
        };
        let at = root_name_end(&text).ok_or(Error::NotClinicalDocument)?;
        let (head, tail) = text.split_at(at);
        text = std::borrow::Cow::Owned(format!(
            "{head} xmlns:{}=\"{}\"{tail}",
            missing.0, missing.1
        ));
    }
    Ok(text)
}

/// The byte offset just after the root element's name in its start tag.
fn root_name_end(text: &str) -> Option<usize> {
    const NAME: &str = "ClinicalDocument";
    text.match_indices(NAME)
        .map(|(at, _)| at)
        .find(|&at| {
            let before = text.get(..at).and_then(|b| b.chars().next_back());
            let after = text.get(at + NAME.len()..).and_then(|a| a.chars().next());
            matches!(before, Some('<' | ':'))
                && after.is_some_and(|c| c.is_whitespace() || c == '>')
        })
        .map(|at| at + NAME.len())
}

/// What converting reads from everywhere in the document: the narrative's ids (for
/// `originalText` references), the patient, and counters for the report.
pub(crate) struct Ctx<'a, 'i> {
    narrative: HashMap<&'a str, Node<'a, 'i>>,
    /// `Patient/<id>`.
    pub patient: Value,
    pub times_without_zone: Cell<u32>,
    pub missing_references: Cell<u32>,
    pub unreadable_values: Cell<u32>,
}

impl<'a, 'i> Ctx<'a, 'i> {
    fn new(doc: &'a roxmltree::Document<'i>) -> Self {
        let narrative = doc
            .descendants()
            .filter_map(|n| Some((n.attribute("ID").or_else(|| n.attribute("id"))?, n)))
            .collect();
        Ctx {
            narrative,
            patient: Value::Null,
            times_without_zone: Cell::new(0),
            missing_references: Cell::new(0),
            unreadable_values: Cell::new(0),
        }
    }

    fn with_patient(mut self, id: &str) -> Self {
        self.patient = json!({ "reference": format!("Patient/{id}") });
        self
    }

    /// The text a `reference value="#id"` points at; None (and counted) when it points at nothing.
    pub fn referenced_text(&self, node: Node<'_, '_>) -> Option<String> {
        let target = xml::attr(xml::child(node, "reference")?, "value")?;
        let id = target.strip_prefix('#').unwrap_or(target);
        match self.narrative.get(id) {
            Some(n) => xml::text_of(Some(*n)),
            None => {
                self.missing_references
                    .set(self.missing_references.get().saturating_add(1));
                None
            }
        }
    }

    /// A coded element's `originalText`: its text, or the narrative it references.
    pub fn original_text(&self, node: Node<'_, '_>) -> Option<String> {
        let original = xml::child(node, "originalText")?;
        self.referenced_text(original).or_else(|| {
            let own: String = original
                .children()
                .filter(|c| c.is_text())
                .filter_map(|c| c.text())
                .collect();
            let own = own.split_whitespace().collect::<Vec<_>>().join(" ");
            (!own.is_empty()).then_some(own)
        })
    }

    /// A `TS`-valued element's `@value` as a FHIR dateTime and its precision.
    pub fn timestamp_of(&self, node: Node<'_, '_>) -> Option<(String, Precision)> {
        let value = xml::attr(node, "value")?;
        match datatypes::timestamp(value) {
            Some((v, p, without_zone)) => {
                if without_zone {
                    self.times_without_zone
                        .set(self.times_without_zone.get().saturating_add(1));
                }
                Some((v, p))
            }
            None => {
                self.unreadable();
                None
            }
        }
    }

    pub fn unreadable(&self) {
        self.unreadable_values
            .set(self.unreadable_values.get().saturating_add(1));
    }
}

/// The resources made so far, with their ids kept unique.
#[derive(Default)]
pub(crate) struct Out {
    pub resources: Vec<Value>,
    /// `Type/id` → where that resource is in `resources`.
    seen: HashMap<String, usize>,
}

impl Out {
    /// Adds a resource and returns its reference (`Type/id`). The same entry seen twice (a
    /// problem listed in two sections) is kept once; two different entries that claim the same
    /// id (a sending system's error) both kept, the second under an id from its content.
    pub fn push(&mut self, mut resource: Value) -> String {
        let text = |key: &str| {
            resource
                .get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
        };
        let resource_type = text("resourceType").to_owned();
        let id = text("id").to_owned();
        let key = format!("{resource_type}/{id}");
        let Some(&earlier) = self.seen.get(&key) else {
            self.seen.insert(key.clone(), self.resources.len());
            self.resources.push(resource);
            return key;
        };
        if self.resources.get(earlier) == Some(&resource) {
            return key;
        }
        // Another entry under a taken id: its id from its content (the same each time).
        let hash: [u8; 32] = Sha256::digest(resource.to_string().as_bytes()).into();
        let id = content_id(&resource_type, &hash);
        if let Some(fields) = resource.as_object_mut() {
            fields.insert("id".into(), json!(id));
        }
        let key = format!("{resource_type}/{id}");
        if !self.seen.contains_key(&key) {
            self.seen.insert(key.clone(), self.resources.len());
            self.resources.push(resource);
        }
        key
    }

    /// Every resource made so far, as references.
    fn references(&self) -> Vec<String> {
        self.resources
            .iter()
            .map(|r| {
                format!(
                    "{}/{}",
                    r["resourceType"].as_str().unwrap_or_default(),
                    r["id"].as_str().unwrap_or_default()
                )
            })
            .collect()
    }
}

/// A resource id from a C-CDA `II` (root and extension): the same entry gets the same id in
/// every document that carries it. 32 hex characters (128 bits of SHA-256).
pub(crate) fn id_from(resource_type: &str, root: &str, extension: &str) -> String {
    let mut h = Sha256::new();
    for part in [resource_type, root, extension] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    let digest: [u8; 32] = h.finalize().into();
    hex::encode(&digest[..16])
}

fn content_id(resource_type: &str, hash: &[u8; 32]) -> String {
    id_from(resource_type, "content", &hex::encode(hash))
}

/// A resource's id from an element: its first usable `<id>`, else the element's own XML text
/// (so an entry without an id still gets the same id each time the same document is read).
pub(crate) fn id_for(resource_type: &str, node: Node<'_, '_>) -> String {
    if let Some((root, extension)) = first_id(node) {
        return id_from(resource_type, root, extension);
    }
    let source = node
        .document()
        .input_text()
        .get(node.range())
        .unwrap_or_default();
    let hash: [u8; 32] = Sha256::digest(source.as_bytes()).into();
    content_id(resource_type, &hash)
}

/// The first `<id>` with a root: (root, extension or "").
pub(crate) fn first_id<'a>(node: Node<'a, '_>) -> Option<(&'a str, &'a str)> {
    xml::children(node, "id").find_map(|i| {
        Some((
            xml::attr(i, "root")?,
            xml::attr(i, "extension").unwrap_or(""),
        ))
    })
}

/// A PDF or image found beside the documents (in a zip or a MIME message), kept inline as a
/// DocumentReference of the patient `patient_id`.
pub fn attachment_document(part: &crate::Part, patient_id: &str) -> Value {
    let sha256 = hex::encode(Sha256::digest(&part.bytes));
    let title = part
        .path
        .rsplit('/')
        .next()
        .unwrap_or(&part.path)
        .to_owned();
    let mut attachment = serde_json::Map::new();
    attachment.insert("contentType".into(), json!(part.media_type));
    attachment.insert(
        "data".into(),
        json!(base64::engine::general_purpose::STANDARD.encode(&part.bytes)),
    );
    attachment.insert("size".into(), json!(part.bytes.len()));
    if !title.is_empty() {
        attachment.insert("title".into(), json!(title));
    }
    json!({
        "resourceType": "DocumentReference",
        "id": id_from("DocumentReference", "sha256", &sha256),
        "identifier": [{ "system": "urn:ietf:rfc:3986", "value": format!("urn:sha256:{sha256}") }],
        "status": "current",
        "category": [{ "coding": [{ "system": "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category", "code": "clinical-note" }] }],
        "subject": { "reference": format!("Patient/{patient_id}") },
        "content": [{ "attachment": attachment }],
    })
}
