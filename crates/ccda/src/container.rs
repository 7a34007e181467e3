//! Finding the documents in what a portal's "Download" gives: plain XML, a zip (nested zips, IHE
//! XDM) or a MIME message. PDFs and images beside the documents are kept as parts too.

use crate::error::Error;

/// Caps that keep a hostile file from using unbounded memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest single document (or attached file).
    pub max_document_bytes: u64,
    /// The most all parts of one container may unpack to.
    pub max_unpacked_bytes: u64,
    /// The most files one container (with its nested zips) may hold.
    pub max_files: usize,
    /// How deep zips may nest.
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_document_bytes: 64 * 1024 * 1024,
            max_unpacked_bytes: 512 * 1024 * 1024,
            max_files: 2_000,
            max_depth: 4,
        }
    }
}

/// What a part of a container is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartKind {
    /// A C-CDA (or CDA R2) document: give its bytes to [`crate::convert`].
    ClinicalDocument,
    /// A PDF or image kept as a document of its own.
    Attachment,
}

/// One document or file found in a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// Where it was in the container (`IHE_XDM/SUBSET01/DOC0001.XML`), or empty for a plain file.
    pub path: String,
    pub kind: PartKind,
    /// `text/xml`, `application/pdf`, `image/png`, …
    pub media_type: String,
    pub bytes: Vec<u8>,
}

/// The shape of a file, read from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    Xml,
}

pub(crate) fn sniff(bytes: &[u8]) -> Option<Shape> {
    is_clinical_document(bytes).then_some(Shape::Xml)
}

/// Whether the first element of this XML is a `ClinicalDocument` (any prefix), reading only the
/// first few kilobytes.
pub(crate) fn is_clinical_document(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(8192)];
    // UTF-16 heads decode cleanly only at an even length.
    let head = &head[..head.len() - head.len() % 2];
    let Ok(text) = crate::decode::text(head) else {
        return false;
    };
    let mut rest = text.trim_start_matches('\u{feff}');
    loop {
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix("<?") {
            let Some(end) = after.find("?>") else {
                return false;
            };
            rest = &after[end + 2..];
        } else if let Some(after) = rest.strip_prefix("<!--") {
            let Some(end) = after.find("-->") else {
                return false;
            };
            rest = &after[end + 3..];
        } else if let Some(after) = rest.strip_prefix('<') {
            let name: String = after
                .chars()
                .take_while(|c| !c.is_whitespace() && *c != '>' && *c != '/')
                .collect();
            let local = name.rsplit(':').next().unwrap_or("");
            return local == "ClinicalDocument";
        } else {
            return false;
        }
    }
}

/// The documents and attachments in a file. A plain XML clinical document is one part.
pub fn unpack(bytes: &[u8], limits: &Limits) -> Result<Vec<Part>, Error> {
    if bytes.len() as u64 > limits.max_document_bytes {
        return Err(Error::TooLarge {
            limit_mb: limits.max_document_bytes / (1024 * 1024),
        });
    }
    Ok(vec![Part {
        path: String::new(),
        kind: PartKind::ClinicalDocument,
        media_type: "text/xml".to_owned(),
        bytes: bytes.to_vec(),
    }])
}
