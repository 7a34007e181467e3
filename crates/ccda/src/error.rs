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
    #[error("is XML but not a clinical document (its first element is not an HL7 ClinicalDocument)")]
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
    #[error("is a damaged MIME message")]
    Mime,
    #[error("holds no clinical document")]
    NoDocument,
}

impl From<roxmltree::Error> for Error {
    fn from(e: roxmltree::Error) -> Self {
        use roxmltree::Error as E;
        let pos = e.pos();
        let problem = match e {
            E::DtdDetected | E::EntityReferenceLoop(_) | E::UnknownEntityReference(_, _) => {
                XmlProblem::Dtd
            }
            E::UnexpectedEndOfStream => XmlProblem::Truncated,
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
