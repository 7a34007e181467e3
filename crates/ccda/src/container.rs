//! Finding the documents in what a portal's "Download" gives: plain XML, a zip (nested zips, IHE
//! XDM) or a MIME message. PDFs and images beside the documents are kept as parts too.
//!
//! Everything here treats the file as hostile. Nothing trusts a size a zip declares: each entry
//! is read through `Read::take` one byte past what may still be unpacked, so memory stays
//! bounded by [`Limits`] whatever the headers say. Entries that are not documents (XDM's
//! `METADATA.XML`, stylesheets, readmes, anything whose first bytes are neither XML, a PDF, an
//! image nor a container) are never inflated past their first few kilobytes.

// Sizes and counts here come from the file: no arithmetic that can overflow.
#![deny(clippy::arithmetic_side_effects)]

use std::io::{Cursor, Read};

use crate::error::{ContainerProblem, Error};

/// Caps that keep a hostile file from using unbounded memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest single document (or attached file, or nested zip).
    pub max_document_bytes: u64,
    /// The most all parts of one container may unpack to (and the largest container read).
    pub max_unpacked_bytes: u64,
    /// The most files one container (with its nested zips) may hold.
    pub max_files: usize,
    /// How deep containers may nest: 0 allows a zip but no zip inside it, 1 a zip in a zip, …
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_document_bytes: 40 * 1024 * 1024,
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
    /// Where it was in the container, or empty for a plain file. A zip entry is named by its path
    /// in the zip (`IHE_XDM/SUBSET01/DOC0001.XML`); an entry of a nested zip by the nested zip's
    /// path, a `/`, and its path in that zip (`inner.zip/DOC0001.XML`). A MIME part is named by
    /// its file name (Content-Disposition `filename`, or Content-Type `name`), or else by its
    /// position, `part1`, `part2.1` (the first part of the second part), ….
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
    Zip,
    Mime,
}

/// How many leading bytes decide what a file is.
const SNIFF_BYTES: usize = 8192;

/// How far a MIME header block may run before the first blank line for the bytes to count as
/// a MIME message.
const MIME_HEADER_BYTES: usize = 16 * 1024;

pub(crate) fn sniff(bytes: &[u8]) -> Option<Shape> {
    if is_zip(bytes) {
        Some(Shape::Zip)
    } else if is_clinical_document(bytes) {
        Some(Shape::Xml)
    } else if is_mime(bytes) {
        Some(Shape::Mime)
    } else {
        None
    }
}

/// A zip's local file header, an empty zip's end record, or a split-archive marker.
fn is_zip(bytes: &[u8]) -> bool {
    [b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08"]
        .iter()
        .any(|magic| bytes.starts_with(*magic))
}

/// Whether the bytes open with a MIME header block (`Name: value` lines, folded lines, a blank
/// line) that has a `Content-Type`.
fn is_mime(bytes: &[u8]) -> bool {
    let head = bytes.get(..MIME_HEADER_BYTES).unwrap_or(bytes);
    let mut headers = 0usize;
    let mut content_type = false;
    for line in head.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        match line.first() {
            None => return content_type,
            Some(b' ' | b'\t') if headers > 0 => continue,
            _ => {}
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            return false;
        };
        let (name, _) = line.split_at(colon);
        let token = |b: &u8| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_';
        if name.is_empty() || !name.iter().all(token) {
            return false;
        }
        content_type |= name.eq_ignore_ascii_case(b"content-type");
        headers = headers.saturating_add(1);
    }
    false
}

/// Whether the first element of this XML is a `ClinicalDocument` (any prefix), reading only the
/// first few kilobytes. A DOCTYPE before it is passed over, so that such a document reaches
/// [`crate::convert`] and is refused there as a DTD rather than mistaken for something else.
pub(crate) fn is_clinical_document(bytes: &[u8]) -> bool {
    let head = bytes.get(..SNIFF_BYTES).unwrap_or(bytes);
    // UTF-16 heads decode cleanly only at an even length.
    let head = head.as_chunks::<2>().0.as_flattened();
    let Ok(text) = crate::decode::text(head) else {
        return false;
    };
    let mut rest = text.trim_start_matches('\u{feff}');
    loop {
        rest = rest.trim_start();
        let after = if let Some(after) = rest.strip_prefix("<?") {
            after.split_once("?>").map(|(_, after)| after)
        } else if let Some(after) = rest.strip_prefix("<!--") {
            after.split_once("-->").map(|(_, after)| after)
        } else if let Some(after) = rest.strip_prefix("<!DOCTYPE") {
            skip_doctype(after)
        } else if let Some(after) = rest.strip_prefix('<') {
            let name: String = after
                .chars()
                .take_while(|c| !c.is_whitespace() && *c != '>' && *c != '/')
                .collect();
            let local = name.rsplit(':').next().unwrap_or("");
            return local == "ClinicalDocument";
        } else {
            return false;
        };
        match after {
            Some(after) => rest = after,
            None => return false,
        }
    }
}

/// What follows a `<!DOCTYPE` declaration (with or without an internal subset `[…]`).
fn skip_doctype(after: &str) -> Option<&str> {
    let end = after.find(['[', '>'])?;
    let (_, from) = after.split_at(end);
    if let Some(subset) = from.strip_prefix('[') {
        let (_, tail) = subset.split_once(']')?;
        tail.trim_start().strip_prefix('>')
    } else {
        from.strip_prefix('>')
    }
}

/// The media type of a PDF or an image this importer keeps, by its magic bytes.
fn attachment_type(bytes: &[u8]) -> Option<&'static str> {
    const MAGIC: [(&[u8], &str); 7] = [
        (b"%PDF-", "application/pdf"),
        (b"\x89PNG\r\n\x1a\n", "image/png"),
        (b"\xFF\xD8\xFF", "image/jpeg"),
        (b"GIF87a", "image/gif"),
        (b"GIF89a", "image/gif"),
        (b"II*\0", "image/tiff"),
        (b"MM\0*", "image/tiff"),
    ];
    MAGIC
        .iter()
        .find(|(magic, _)| bytes.starts_with(magic))
        .map(|(_, media_type)| *media_type)
}

/// What one file inside a container is, from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Content {
    Container(Shape),
    Document,
    Attachment(&'static str),
    Other,
}

fn content(head: &[u8]) -> Content {
    if let Some(media_type) = attachment_type(head) {
        return Content::Attachment(media_type);
    }
    match sniff(head) {
        Some(Shape::Xml) => Content::Document,
        Some(shape) => Content::Container(shape),
        None => Content::Other,
    }
}

/// Zip entries that are known not to be documents, by name: XDM's metadata, index and readme,
/// stylesheets and web pages shipped to display the documents, and macOS's resource forks.
fn skipped_by_name(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    let file = lower.rsplit('/').next().unwrap_or(&lower);
    let extension = file.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    lower.starts_with("__macosx/")
        || file.starts_with("._")
        || matches!(file, "metadata.xml" | "index.htm" | "readme.txt")
        || matches!(extension, "xsl" | "xslt" | "css" | "htm" | "html")
}

/// The documents and attachments in a file.
///
/// - A plain XML clinical document (any BOM, UTF-8 or UTF-16, stylesheet instructions) is one
///   part with an empty path; larger than `max_document_bytes` it is [`Error::TooLarge`]; other
///   XML, and any other file that is not a container, is [`Error::NotClinicalDocument`].
/// - A zip (IHE XDM is one), or a MIME message, gives its clinical documents and its PDFs and
///   images in the order they are stored; nested zips and MIME messages are opened up to
///   `max_depth`. Other XML (XDM's `METADATA.XML`, stylesheets) and other files are skipped.
///   A container larger than `max_unpacked_bytes` is not opened.
/// - A container with attachments but no clinical document gives the attachments: whether a
///   PDF alone is kept is the caller's choice. Only a container with nothing usable in it is
///   [`ContainerProblem::NoDocument`].
///
/// Errors are kinds and limits, never content from the file.
pub fn unpack(bytes: &[u8], limits: &Limits) -> Result<Vec<Part>, Error> {
    match sniff(bytes) {
        Some(Shape::Xml) => {
            if bytes.len() as u64 > limits.max_document_bytes {
                return Err(too_large(limits));
            }
            Ok(vec![Part {
                path: String::new(),
                kind: PartKind::ClinicalDocument,
                media_type: "text/xml".to_owned(),
                bytes: bytes.to_vec(),
            }])
        }
        Some(shape) => {
            if bytes.len() as u64 > limits.max_unpacked_bytes {
                return Err(too_big_unpacked(limits));
            }
            let mut walk = Walk {
                limits,
                files: 0,
                unpacked: 0,
                parts: Vec::new(),
            };
            walk.container(shape, bytes, "", 0)?;
            if walk.parts.is_empty() {
                return Err(Error::Container(ContainerProblem::NoDocument));
            }
            Ok(walk.parts)
        }
        None => Err(Error::NotClinicalDocument),
    }
}

fn mb(bytes: u64) -> u64 {
    bytes / (1024 * 1024)
}

fn too_large(limits: &Limits) -> Error {
    Error::TooLarge {
        limit_mb: mb(limits.max_document_bytes),
    }
}

fn too_big_unpacked(limits: &Limits) -> Error {
    Error::Container(ContainerProblem::TooBigUnpacked {
        limit_mb: mb(limits.max_unpacked_bytes),
    })
}

fn zip_error(e: zip::result::ZipError) -> Error {
    use zip::result::ZipError as Z;
    Error::Container(match e {
        Z::UnsupportedArchive(Z::PASSWORD_REQUIRED) | Z::InvalidPassword => {
            ContainerProblem::Encrypted
        }
        Z::CompressionMethodNotSupported(_) => ContainerProblem::UnsupportedCompression,
        _ => ContainerProblem::Zip,
    })
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}/{name}")
    }
}

/// One unpacking: what has been counted so far, across nested containers.
struct Walk<'l> {
    limits: &'l Limits,
    files: usize,
    unpacked: u64,
    parts: Vec<Part>,
}

impl Walk<'_> {
    fn count_files(&mut self, n: usize) -> Result<(), Error> {
        self.files = self.files.saturating_add(n);
        if self.files > self.limits.max_files {
            return Err(Error::Container(ContainerProblem::TooManyFiles {
                limit: self.limits.max_files,
            }));
        }
        Ok(())
    }

    /// Counts `len` more unpacked bytes of one file, or says which limit that passes.
    fn count_bytes(&mut self, len: usize) -> Result<(), Error> {
        let len = len as u64;
        let remaining = self.limits.max_unpacked_bytes.saturating_sub(self.unpacked);
        if len > remaining {
            return Err(too_big_unpacked(self.limits));
        }
        if len > self.limits.max_document_bytes {
            return Err(too_large(self.limits));
        }
        self.unpacked = self.unpacked.saturating_add(len);
        Ok(())
    }

    fn container(
        &mut self,
        shape: Shape,
        bytes: &[u8],
        prefix: &str,
        depth: usize,
    ) -> Result<(), Error> {
        match shape {
            Shape::Zip => self.zip(bytes, prefix, depth),
            Shape::Mime => self.mime(bytes, prefix, depth),
            Shape::Xml => {
                self.keep(bytes.to_vec(), prefix.to_owned());
                Ok(())
            }
        }
    }

    /// Keeps a file found in a container, or opens it if it is a container itself.
    fn file(&mut self, bytes: Vec<u8>, path: String, depth: usize) -> Result<(), Error> {
        match content(&bytes) {
            Content::Container(shape) => {
                let depth = depth.saturating_add(1);
                if depth > self.limits.max_depth {
                    return Err(Error::Container(ContainerProblem::TooDeep {
                        limit: self.limits.max_depth,
                    }));
                }
                self.container(shape, &bytes, &path, depth)
            }
            _ => {
                self.keep(bytes, path);
                Ok(())
            }
        }
    }

    fn keep(&mut self, mut bytes: Vec<u8>, path: String) {
        let (kind, media_type) = match content(&bytes) {
            Content::Document => (PartKind::ClinicalDocument, "text/xml"),
            Content::Attachment(media_type) => (PartKind::Attachment, media_type),
            Content::Container(_) | Content::Other => return,
        };
        bytes.shrink_to_fit();
        self.parts.push(Part {
            path,
            kind,
            media_type: media_type.to_owned(),
            bytes,
        });
    }

    fn zip(&mut self, bytes: &[u8], prefix: &str, depth: usize) -> Result<(), Error> {
        let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(zip_error)?;
        self.count_files(archive.len())?;
        for index in 0..archive.len() {
            let entry = archive.by_index_data(index).map_err(zip_error)?;
            let name = String::from_utf8_lossy(entry.name_raw()).into_owned();
            if entry.is_dir() || skipped_by_name(&name) {
                continue;
            }
            if entry.encrypted() {
                return Err(Error::Container(ContainerProblem::Encrypted));
            }
            let mut file = archive.by_index(index).map_err(zip_error)?;
            let Some(unpacked) = self.read_entry(&mut file)? else {
                continue;
            };
            drop(file);
            self.file(unpacked, join(prefix, &name), depth)?;
        }
        Ok(())
    }

    /// Reads one zip entry whose first bytes say it may be kept, never more than one byte past
    /// what the limits still allow; `None` for an entry that is not worth reading.
    fn read_entry(&mut self, file: &mut impl Read) -> Result<Option<Vec<u8>>, Error> {
        let remaining = self.limits.max_unpacked_bytes.saturating_sub(self.unpacked);
        let allowed = self.limits.max_document_bytes.min(remaining);
        let cap = allowed.saturating_add(1);
        let damaged = |_| Error::Container(ContainerProblem::Zip);
        let mut bytes = Vec::new();
        file.take(cap.min(SNIFF_BYTES as u64))
            .read_to_end(&mut bytes)
            .map_err(damaged)?;
        if content(&bytes) == Content::Other {
            self.count_bytes(bytes.len())?;
            return Ok(None);
        }
        let rest = cap.saturating_sub(bytes.len() as u64);
        file.take(rest).read_to_end(&mut bytes).map_err(damaged)?;
        self.count_bytes(bytes.len())?;
        Ok(Some(bytes))
    }

    fn mime(&mut self, bytes: &[u8], prefix: &str, depth: usize) -> Result<(), Error> {
        let mail =
            mailparse::parse_mail(bytes).map_err(|_| Error::Container(ContainerProblem::Mime))?;
        self.mime_part(&mail, prefix, "", depth)
    }

    fn mime_part(
        &mut self,
        part: &mailparse::ParsedMail<'_>,
        prefix: &str,
        position: &str,
        depth: usize,
    ) -> Result<(), Error> {
        if !part.subparts.is_empty() {
            for (i, sub) in part.subparts.iter().enumerate() {
                let n = i.saturating_add(1);
                let position = if position.is_empty() {
                    n.to_string()
                } else {
                    format!("{position}.{n}")
                };
                self.mime_part(sub, prefix, &position, depth)?;
            }
            return Ok(());
        }
        if part.ctype.mimetype.starts_with("multipart/") {
            // A multipart body without its boundary: nothing in it can be told apart.
            return Ok(());
        }
        self.count_files(1)?;
        // A body decodes whole (it is no larger than the message, which the limits bound).
        let body = part
            .get_body_raw()
            .map_err(|_| Error::Container(ContainerProblem::Mime))?;
        if content(&body) == Content::Other {
            return Ok(());
        }
        self.count_bytes(body.len())?;
        let name = mime_file_name(part).unwrap_or_else(|| {
            if position.is_empty() {
                "part1".to_owned()
            } else {
                format!("part{position}")
            }
        });
        self.file(body, join(prefix, &name), depth)
    }
}

/// A MIME part's file name, from its Content-Disposition or Content-Type.
fn mime_file_name(part: &mailparse::ParsedMail<'_>) -> Option<String> {
    let disposition = part.get_content_disposition();
    disposition
        .params
        .get("filename")
        .or_else(|| part.ctype.params.get("name"))
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_shapes() {
        let doc = b"<?xml version=\"1.0\"?>\n<?xml-stylesheet type=\"text/xsl\" href=\"CDA.xsl\"?>\n<!-- c -->\n<ClinicalDocument xmlns=\"urn:hl7-org:v3\"/>";
        assert_eq!(sniff(doc), Some(Shape::Xml));
        assert_eq!(sniff(b"<cda:ClinicalDocument/>"), Some(Shape::Xml));
        assert_eq!(sniff(b"<Other/>"), None);
        assert_eq!(
            sniff(b"<!DOCTYPE ClinicalDocument [<!ENTITY a \"b\">]>\n<ClinicalDocument/>"),
            Some(Shape::Xml)
        );
        assert_eq!(
            sniff(b"<!DOCTYPE ClinicalDocument [<!ENTITY a \"b\">"),
            None
        );
        assert_eq!(sniff(b"PK\x03\x04rest"), Some(Shape::Zip));
        assert_eq!(sniff(b"PK\x05\x06"), Some(Shape::Zip));
        let mime =
            b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed;\r\n boundary=x\r\n\r\n--x\r\n";
        assert_eq!(sniff(mime), Some(Shape::Mime));
        assert_eq!(sniff(b"Subject: hi\n\nbody"), None, "no Content-Type");
        assert_eq!(sniff(b"Content-Type: text/plain"), None, "no blank line");
        assert_eq!(sniff(b"not a header\n\n"), None);
        assert_eq!(sniff(b""), None);
        assert_eq!(sniff(b"\xFF\xFE"), None);
        assert_eq!(sniff(b"<"), None);
    }

    #[test]
    fn attachments_by_magic() {
        assert_eq!(attachment_type(b"%PDF-1.7\n"), Some("application/pdf"));
        assert_eq!(attachment_type(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(attachment_type(b"\xFF\xD8\xFF\xE0"), Some("image/jpeg"));
        assert_eq!(attachment_type(b"GIF89a"), Some("image/gif"));
        assert_eq!(attachment_type(b"II*\0"), Some("image/tiff"));
        assert_eq!(attachment_type(b"MM\0*"), Some("image/tiff"));
        assert_eq!(attachment_type(b"%PD"), None);
        assert_eq!(attachment_type(b""), None);
    }

    #[test]
    fn names_that_are_not_documents() {
        for name in [
            "IHE_XDM/SUBSET01/METADATA.XML",
            "INDEX.HTM",
            "README.TXT",
            "IHE_XDM/SUBSET01/CDA.XSL",
            "style.css",
            "__MACOSX/IHE_XDM/._DOC0001.XML",
            "IHE_XDM/SUBSET01/._DOC0001.XML",
        ] {
            assert!(skipped_by_name(name), "{name}");
        }
        for name in [
            "IHE_XDM/SUBSET01/DOC0001.XML",
            "ccd.xml",
            "scan.pdf",
            "noext",
        ] {
            assert!(!skipped_by_name(name), "{name}");
        }
    }
}
