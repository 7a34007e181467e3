//! What can go wrong reading a C-CDA file: kinds, positions and limits, never document content.

/// Why a file or one document in it could not be read. Nothing of it is imported.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    #[error("is not text in a known encoding ({0})")]
    Encoding(&'static str),
    #[error("is not well-formed XML at line {line}, column {column}: {problem}")]
    Xml {
        line: u32,
        column: u32,
        problem: XmlProblem,
    },
    #[error(
        "is XML but not a clinical document (its first element is not an HL7 ClinicalDocument)"
    )]
    NotClinicalDocument,
    #[error("has no patient (recordTarget), so whose record it is cannot be told")]
    NoPatient,
    #[error("names {0} patients (recordTarget), so whose record it is cannot be told")]
    SeveralPatients(usize),
    #[error("is larger than {limit_mb} MB, the most one document may be")]
    TooLarge { limit_mb: u64 },
    #[error("{0}")]
    Container(ContainerProblem),
}

/// How the XML is broken (roxmltree's error kinds, without the text it quotes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum XmlProblem {
    #[error("it declares a DTD or entities, which are refused")]
    Dtd,
    #[error("it ends too early; the file looks truncated")]
    Truncated,
    #[error("it has more elements than a clinical document can have")]
    TooManyNodes,
    #[error("it uses an undeclared namespace prefix")]
    Namespace,
    #[error("it has a malformed tag, attribute or character")]
    Malformed,
}

/// Why a zip, XDM or MIME container could not be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContainerProblem {
    #[error("is a damaged or unsupported zip archive")]
    Zip,
    #[error("unpacks to more than {limit_mb} MB (a zip bomb?), so it was not unpacked")]
    TooBigUnpacked { limit_mb: u64 },
    #[error("holds more than {limit} files, so it was not unpacked")]
    TooManyFiles { limit: usize },
    #[error("has zips nested more than {limit} deep, so it was not unpacked")]
    TooDeep { limit: usize },
    #[error("is an encrypted zip, which cannot be opened without its password")]
    Encrypted,
    #[error("is a zip compressed with a method other than stored or deflate, which is not read")]
    UnsupportedCompression,
    #[error("is a damaged MIME message")]
    Mime,
    #[error("holds no clinical document")]
    NoDocument,
}

impl Error {
    /// The error for XML that did not parse, from the parser's error and the text it read.
    /// Besides the parser's own end-of-text errors, a malformed token on the text's last line
    /// with no `>` after it is truncation: the text ended inside a tag, a name or a string.
    pub(crate) fn xml(e: roxmltree::Error, text: &str) -> Error {
        let pos = e.pos();
        let (last_row, last_line) = match text.rsplit_once('\n') {
            Some((before, last)) => (before.matches('\n').count().saturating_add(2), last),
            None => (1, text),
        };
        let cut_inside_a_tag = pos.row as usize == last_row
            && !last_line
                .chars()
                .skip((pos.col as usize).saturating_sub(1))
                .any(|c| c == '>');
        match Error::from(e) {
            Error::Xml {
                line,
                column,
                problem: XmlProblem::Malformed,
            } if cut_inside_a_tag => Error::Xml {
                line,
                column,
                problem: XmlProblem::Truncated,
            },
            other => other,
        }
    }
}

impl From<roxmltree::Error> for Error {
    fn from(e: roxmltree::Error) -> Self {
        use roxmltree::Error as E;
        let pos = e.pos();
        let problem = match e {
            E::DtdDetected | E::EntityReferenceLoop(_) | E::UnknownEntityReference(_, _) => {
                XmlProblem::Dtd
            }
            // Cut inside a tag, between tags before the root element is closed, or before the
            // root element's start tag is complete.
            E::UnexpectedEndOfStream | E::UnclosedRootNode | E::NoRootNode => XmlProblem::Truncated,
            E::NodesLimitReached | E::AttributesLimitReached | E::NamespacesLimitReached => {
                XmlProblem::TooManyNodes
            }
            E::UnknownNamespace(_, _) => XmlProblem::Namespace,
            _ => XmlProblem::Malformed,
        };
        Error::Xml {
            line: pos.row,
            column: pos.col,
            problem,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(text: &str) -> Option<XmlProblem> {
        match roxmltree::Document::parse(text) {
            Ok(_) => None,
            Err(e) => match Error::xml(e, text) {
                Error::Xml { problem, .. } => Some(problem),
                other => panic!("{other:?}"),
            },
        }
    }

    #[test]
    fn a_document_cut_anywhere_is_truncated() {
        let doc = "<?xml version=\"1.0\"?>\n<!-- a comment -->\n<ClinicalDocument xmlns=\"urn:hl7-org:v3\" \
                   xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\n  <title>Summary &amp; plan</title>\n  \
                   <code code=\"34133-9\" codeSystem='2.16.840.1.113883.6.1'/>\n  <text><![CDATA[x < y]]> é \
                   <br/></text>\n  <value xsi:type=\"PQ\" value=\"1.5\" unit=\"mg\"/>\n</ClinicalDocument>\n";
        assert_eq!(problem(doc), None);
        let end = doc.trim_end().len();
        let root = doc.find("<ClinicalDocument").unwrap();
        for cut in (root + 1..end).filter(|&i| doc.is_char_boundary(i)) {
            let head = doc.get(..cut).unwrap();
            assert_eq!(
                problem(head),
                Some(XmlProblem::Truncated),
                "cut at {cut}: {head:?}"
            );
        }
    }

    #[test]
    fn malformed_is_still_malformed() {
        assert_eq!(problem("<a><b></a>"), Some(XmlProblem::Malformed));
        assert_eq!(problem("<a>\n<b c=1></b></a>"), Some(XmlProblem::Malformed));
        assert_eq!(problem("<a>\n<b></c></a>"), Some(XmlProblem::Malformed));
        assert_eq!(
            problem("<!DOCTYPE a [<!ENTITY x \"y\">]><a/>"),
            Some(XmlProblem::Dtd)
        );
    }
}
