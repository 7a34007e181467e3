//! Importing C-CDA files (plain XML, zip, IHE XDM, MIME): each document is converted by
//! `crates/ccda`, its resources stored like any file's, and the original kept (inline, base64) as
//! the attachment of its DocumentReference. One transaction for the file.
//!
//! The source of a C-CDA file is the organization that keeps the record (the custodian) and the
//! patient, not the file name: a newer download from the same portal, whatever it is called,
//! updates the resources of the earlier one (their ids come from the entries' own ids).

use serde::Serialize;

use super::{FileReport, Format, Parser, Place, Progress};
use crate::audit::AuditKind;
use crate::ccda::{self, PartKind, SectionReport};
use crate::error::{Error, Result};
use crate::vault::Vault;
use crate::vault::people::{self, PersonChoice};
use crate::vault::resources::{self, SourceKind, StoreCounts};

/// What one document of a C-CDA file became.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DocumentReport {
    /// Where the document was in the file (`IHE_XDM/SUBSET01/DOC0001.XML`), "" for a plain file.
    pub path: String,
    /// The document's title (shown to the patient; not written to the audit log).
    pub title: String,
    /// The DocumentReference that keeps the original ("" for a document that could not be read).
    pub document_reference_id: String,
    /// "Problems 12, Medications 14 (2 kept as text only), …", or why it could not be read.
    pub summary: String,
    pub sections: Vec<SectionReport>,
    /// Why the document could not be read (nothing of it was imported), if so.
    pub error: Option<String>,
    pub times_without_zone: u32,
    pub missing_text_references: u32,
    pub unreadable_values: u32,
}

/// Whether a file's first bytes say it is C-CDA (or a container of it).
pub(super) fn is_ccda(head: &[u8]) -> bool {
    ccda::looks_like_ccda(head)
}

impl Vault {
    pub(super) fn import_ccda(
        &mut self,
        name: &str,
        bytes: Vec<u8>,
        person: PersonChoice,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<FileReport> {
        let size = bytes.len() as u64;
        let parts = ccda::unpack(&bytes, &ccda::Limits::default())
            .map_err(|e| Error::import(name, e.to_string()))?;
        drop(bytes);
        let mut documents = Vec::new();
        let mut reports = Vec::new();
        let mut attachments = Vec::new();
        for part in parts {
            match part.kind {
                PartKind::Attachment => attachments.push(part),
                PartKind::ClinicalDocument => match ccda::convert(&part.bytes) {
                    Ok(converted) => documents.push((part, converted)),
                    Err(e) => reports.push(DocumentReport::failed(part.path, e.to_string())),
                },
            }
        }
        let Some((_, first)) = documents.first() else {
            let why = match reports.first() {
                Some(r) if r.path.is_empty() => r.summary.clone(),
                Some(r) => format!(
                    "holds no document that can be read ({} {})",
                    r.path, r.summary
                ),
                None => "holds no clinical document".to_owned(),
            };
            return Err(Error::import(name, why));
        };
        let source_name = match first.facts.custodian.as_str() {
            "" => name.to_owned(),
            custodian => custodian.to_owned(),
        };
        let patient_id = first.facts.patient_id.clone();
        let now = self.now();
        let total = documents.len() as u64;
        self.write(AuditKind::Import, |tx| {
            let source_id =
                resources::source_id(tx, SourceKind::File, &source_name, &patient_id, &now)?;
            let settler = people::Settler::new(tx, source_id, name, person, &now)?;
            let mut writer = resources::ResourceWriter::with_settler(tx, settler);
            let parser = Parser::new(name);
            let mut counts = StoreCounts::default();
            let put = |writer: &mut resources::ResourceWriter<'_, '_>,
                       counts: &mut StoreCounts,
                       n: usize,
                       resource: &serde_json::Value|
             -> Result<()> {
                let prepared =
                    parser.prepare_made(resource, Place::Entry(n), n as u64)?;
                let stored = writer.put(
                    source_id,
                    &prepared.facts,
                    &prepared.entry,
                    &prepared.json,
                    &now,
                )?;
                counts.add(stored);
                Ok(())
            };
            for (done, (part, converted)) in documents.iter().enumerate() {
                for (n, resource) in converted.resources.iter().enumerate() {
                    put(&mut writer, &mut counts, n + 1, resource)?;
                }
                progress(Progress {
                    resources: counts.total(),
                    done: done as u64 + 1,
                    total,
                });
                reports.push(DocumentReport::of(&part.path, converted));
            }
            for (n, part) in attachments.iter().enumerate() {
                let resource = ccda::attachment_document(part, &patient_id);
                put(&mut writer, &mut counts, n + 1, &resource)?;
            }
            let links = writer.finish()?;
            people::refuse_replaced_patients(
                tx,
                source_id,
                name,
                &now,
                "gives its patient the record number that a document imported before, from the same organization, gives someone else (another name or birth date), so the two records would mix",
            )?;
            let report = FileReport {
                file: name.to_owned(),
                format: Format::Ccda,
                bytes: size,
                counts,
                skipped: 0,
                unresolved_references: 0,
                people: links,
                documents: reports,
            };
            Ok((report.clone(), audit_details(&report)))
        })
    }
}

/// The report as the audit log keeps it: counts and ids, without the documents' own words.
fn audit_details(report: &FileReport) -> serde_json::Value {
    // Cannot panic: a derived struct with string keys serializes.
    #[allow(clippy::expect_used)]
    let mut details = serde_json::to_value(report).expect("report serializes");
    if let Some(docs) = details.get_mut("documents").and_then(|d| d.as_array_mut()) {
        for doc in docs {
            if let Some(doc) = doc.as_object_mut() {
                doc.remove("title");
                doc.remove("summary");
                if let Some(sections) = doc.get_mut("sections").and_then(|s| s.as_array_mut()) {
                    for s in sections.iter_mut().filter_map(|s| s.as_object_mut()) {
                        s.remove("title");
                    }
                }
            }
        }
    }
    details
}

impl DocumentReport {
    fn of(path: &str, converted: &ccda::Converted) -> Self {
        let r = &converted.report;
        DocumentReport {
            path: path.to_owned(),
            title: converted.facts.title.clone(),
            document_reference_id: converted.facts.document_reference_id.clone(),
            summary: r.summary_line(),
            sections: r.sections.clone(),
            error: None,
            times_without_zone: r.times_without_zone,
            missing_text_references: r.missing_text_references,
            unreadable_values: r.unreadable_values,
        }
    }

    fn failed(path: String, why: String) -> Self {
        DocumentReport {
            path,
            title: String::new(),
            document_reference_id: String::new(),
            summary: why.clone(),
            sections: Vec::new(),
            error: Some(why),
            times_without_zone: 0,
            missing_text_references: 0,
            unreadable_values: 0,
        }
    }
}
