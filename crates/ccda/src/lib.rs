//! C-CDA → FHIR R4, locally and without I/O.
//!
//! A patient portal's "Download" gives a C-CDA document (a CCD, a visit summary, a referral note…)
//! as plain XML, a zip, an IHE XDM folder or a MIME message. [`unpack`] finds the documents (and
//! the PDFs and images beside them) in such a file; [`convert`] turns one document into FHIR R4
//! resources following HL7's "C-CDA on FHIR" mapping, with a [`Report`] of what became structured
//! and what stayed text only. Nothing is fetched, no stylesheet is run, DTDs are refused.
//!
//! Ids are deterministic: a resource's id is a hash of the C-CDA entry's own id (root and
//! extension), or of its content where it has none, so converting the same document again gives
//! the same resources and a newer document from the same system updates them.

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

mod container;
mod datatypes;
mod decode;
mod document;
mod entries;
mod error;
mod header;
pub mod narrative;
pub mod note;
mod report;
mod sections;
mod xml;

pub use container::{Limits, Part, PartKind, unpack};
pub use document::{Converted, DocumentFacts, attachment_document, convert};
pub use error::{ContainerProblem, Error, XmlProblem};
pub use report::{Report, SectionKind, SectionReport};

/// Whether these bytes look like a C-CDA file or a container of one (zip, MIME), by content
/// only: the first element is `ClinicalDocument`, or the bytes are a zip or a MIME message.
pub fn looks_like_ccda(bytes: &[u8]) -> bool {
    container::sniff(bytes).is_some()
}
