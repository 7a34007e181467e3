//! `unpack` on the containers a portal's "Download" gives: zips (nested, IHE XDM, with PDFs),
//! UTF-16 files, MIME messages, and damaged or refused ones. The zips are built here with the
//! `zip` crate's writer from the sample C-CDA documents in `shared/data/ccda` beside the repository.

use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};

use base64::Engine;
use ownrecord_ccda::{ContainerProblem, Error, Limits, Part, PartKind, unpack};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

fn samples() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/ccda");
    assert!(dir.is_dir(), "C-CDA samples not found at {}", dir.display());
    dir
}

fn sample(name: &str) -> Vec<u8> {
    std::fs::read(samples().join(name)).expect("sample document is readable")
}

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read(path).expect("fixture is readable")
}

const CCD: &str = "hl7ex/Documents__CCD__CCD_1__CCD.XML";
const REFERRAL: &str = "hl7ex/Documents__Referral_Note__Referral_Note.xml";
/// Opens with an `xml-stylesheet` instruction and a comment holding `<?xml`, no declaration.
const AMBULATORY: &str = "msft/data__SampleData__Ccda__170.314B2_Amb_CCD.ccda";

fn deflated() -> SimpleFileOptions {
    SimpleFileOptions::default().compression_method(CompressionMethod::Deflated)
}

fn stored() -> SimpleFileOptions {
    SimpleFileOptions::default().compression_method(CompressionMethod::Stored)
}

/// A zip of these (name, bytes) entries.
fn zip_of(entries: &[(&str, &[u8])], options: SimpleFileOptions) -> Vec<u8> {
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    for (name, bytes) in entries {
        if name.ends_with('/') {
            zip.add_directory(*name, options).unwrap();
        } else {
            zip.start_file(*name, options).unwrap();
            zip.write_all(bytes).unwrap();
        }
    }
    zip.finish().unwrap().into_inner()
}

/// Byte equality, without printing kilobytes of a document when it fails.
#[track_caller]
fn same_bytes(got: &[u8], want: &[u8]) {
    assert!(
        got == want,
        "bytes differ: got {} bytes, want {}",
        got.len(),
        want.len()
    );
}

fn summary(parts: &[Part]) -> Vec<(String, PartKind, String)> {
    parts
        .iter()
        .map(|p| (p.path.clone(), p.kind, p.media_type.clone()))
        .collect()
}

fn doc(path: &str) -> (String, PartKind, String) {
    (
        path.to_owned(),
        PartKind::ClinicalDocument,
        "text/xml".to_owned(),
    )
}

#[test]
fn every_sample_document_unpacks_as_itself() {
    let (mut documents, mut snippets) = (0, 0);
    for folder in std::fs::read_dir(samples()).unwrap() {
        let folder = folder.unwrap().path();
        if !folder.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(&folder).unwrap() {
            let path = file.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            let text = String::from_utf8_lossy(&bytes);
            // A few files are section or entry snippets from the implementation guide.
            let is_document = text.contains("<ClinicalDocument");
            match unpack(&bytes, &Limits::default()) {
                Ok(parts) => {
                    assert!(is_document, "{}", path.display());
                    assert_eq!(summary(&parts), vec![doc("")], "{}", path.display());
                    same_bytes(&parts[0].bytes, &bytes);
                    documents += 1;
                }
                Err(e) => {
                    assert_eq!(e, Error::NotClinicalDocument, "{}", path.display());
                    assert!(!is_document, "{}", path.display());
                    snippets += 1;
                }
            }
        }
    }
    assert!(
        documents >= 90 && snippets <= 10,
        "{documents} documents, {snippets} snippets"
    );
}

#[test]
fn plain_xml_with_boms_and_utf16() {
    let ccd = sample(CCD);
    let text = String::from_utf8(ccd.clone()).unwrap();
    let text = text.replacen("encoding=\"utf-8\"", "encoding=\"UTF-16\"", 1);
    let le: Vec<u8> = "\u{feff}"
        .encode_utf16()
        .chain(text.encode_utf16())
        .flat_map(u16::to_le_bytes)
        .collect();
    let be: Vec<u8> = "\u{feff}"
        .encode_utf16()
        .chain(text.encode_utf16())
        .flat_map(u16::to_be_bytes)
        .collect();
    let be_no_bom: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
    let mut utf8_bom = b"\xEF\xBB\xBF".to_vec();
    utf8_bom.extend_from_slice(&ccd);

    for (what, bytes) in [
        ("UTF-16 LE", &le),
        ("UTF-16 BE", &be),
        ("UTF-16 BE without BOM", &be_no_bom),
        ("UTF-8 BOM", &utf8_bom),
        ("xml-stylesheet first", &sample(AMBULATORY)),
    ] {
        let parts = unpack(bytes, &Limits::default()).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(summary(&parts), vec![doc("")], "{what}");
        same_bytes(&parts[0].bytes, bytes);
    }

    // The same UTF-16 files inside a zip are found too.
    let zipped = zip_of(&[("le.xml", &le), ("be.xml", &be)], deflated());
    let parts = unpack(&zipped, &Limits::default()).unwrap();
    assert_eq!(summary(&parts), vec![doc("le.xml"), doc("be.xml")]);
    same_bytes(&parts[0].bytes, &le);
    same_bytes(&parts[1].bytes, &be);
}

#[test]
fn plain_files_that_are_not_clinical_documents() {
    for bytes in [
        fixture("METADATA.XML"),
        fixture("CDA.xsl"),
        fixture("tiny.pdf"),
        fixture("README.TXT"),
        Vec::new(),
    ] {
        assert_eq!(
            unpack(&bytes, &Limits::default()),
            Err(Error::NotClinicalDocument)
        );
    }
}

#[test]
fn zip_of_three_documents_in_order() {
    let (ccd, referral, amb) = (sample(CCD), sample(REFERRAL), sample(AMBULATORY));
    let zipped = zip_of(
        &[
            ("records/", b""),
            ("records/ccd.xml", &ccd),
            ("records/referral.xml", &referral),
            ("ambulatory.ccda", &amb),
        ],
        deflated(),
    );
    let parts = unpack(&zipped, &Limits::default()).unwrap();
    assert_eq!(
        summary(&parts),
        vec![
            doc("records/ccd.xml"),
            doc("records/referral.xml"),
            doc("ambulatory.ccda")
        ]
    );
    same_bytes(&parts[0].bytes, &ccd);
    same_bytes(&parts[1].bytes, &referral);
    same_bytes(&parts[2].bytes, &amb);

    // Stored (uncompressed) entries read the same.
    let stored_zip = zip_of(&[("ccd.xml", &ccd)], stored());
    same_bytes(
        &unpack(&stored_zip, &Limits::default()).unwrap()[0].bytes,
        &ccd,
    );
}

#[test]
fn nested_zips_and_their_depth() {
    let (ccd, referral) = (sample(CCD), sample(REFERRAL));
    let inner = zip_of(&[("referral.xml", &referral)], deflated());
    let outer = zip_of(&[("ccd.xml", &ccd), ("more/inner.zip", &inner)], deflated());
    let parts = unpack(&outer, &Limits::default()).unwrap();
    assert_eq!(
        summary(&parts),
        vec![doc("ccd.xml"), doc("more/inner.zip/referral.xml")]
    );
    same_bytes(&parts[1].bytes, &referral);

    // Three levels: allowed with max_depth 2, refused with max_depth 1.
    let outermost = zip_of(&[("outer.zip", &outer)], stored());
    let deep = Limits {
        max_depth: 2,
        ..Limits::default()
    };
    let parts = unpack(&outermost, &deep).unwrap();
    assert_eq!(
        summary(&parts),
        vec![
            doc("outer.zip/ccd.xml"),
            doc("outer.zip/more/inner.zip/referral.xml")
        ]
    );
    let shallow = Limits {
        max_depth: 1,
        ..Limits::default()
    };
    assert_eq!(
        unpack(&outermost, &shallow),
        Err(Error::Container(ContainerProblem::TooDeep { limit: 1 }))
    );
}

#[test]
fn ihe_xdm_package() {
    let (ccd, referral) = (sample(CCD), sample(REFERRAL));
    let metadata = fixture("METADATA.XML");
    let xdm = zip_of(
        &[
            (
                "INDEX.HTM",
                b"<html><body><a href=\"IHE_XDM/SUBSET01/DOC0001.XML\">CCD</a></body></html>",
            ),
            ("README.TXT", &fixture("README.TXT")),
            ("IHE_XDM/", b""),
            ("IHE_XDM/SUBSET01/", b""),
            ("IHE_XDM/SUBSET01/METADATA.XML", &metadata),
            ("IHE_XDM/SUBSET01/DOC0001.XML", &ccd),
            ("IHE_XDM/SUBSET01/CDA.XSL", &fixture("CDA.xsl")),
            ("IHE_XDM/SUBSET02/METADATA.XML", &metadata),
            ("IHE_XDM/SUBSET02/DOC0001.XML", &referral),
            // Under another name, the metadata and stylesheet are still no documents.
            ("IHE_XDM/SUBSET02/SUBMISSION.XML", &metadata),
            ("IHE_XDM/SUBSET02/STYLE.XML", &fixture("CDA.xsl")),
        ],
        deflated(),
    );
    let parts = unpack(&xdm, &Limits::default()).unwrap();
    assert_eq!(
        summary(&parts),
        vec![
            doc("IHE_XDM/SUBSET01/DOC0001.XML"),
            doc("IHE_XDM/SUBSET02/DOC0001.XML")
        ]
    );
    same_bytes(&parts[0].bytes, &ccd);
    same_bytes(&parts[1].bytes, &referral);
}

#[test]
fn pdfs_and_images_are_attachments() {
    let ccd = sample(CCD);
    let pdf = fixture("tiny.pdf");
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    let jpeg = b"\xFF\xD8\xFF\xE0\0\x10JFIF\0".to_vec();
    let zipped = zip_of(
        &[
            ("ccd.xml", &ccd),
            ("scan.pdf", &pdf),
            ("photo.png", &png),
            ("photo.jpg", &jpeg),
            ("notes.txt", b"not kept"),
        ],
        deflated(),
    );
    let parts = unpack(&zipped, &Limits::default()).unwrap();
    let attachment = |path: &str, media_type: &str| {
        (path.to_owned(), PartKind::Attachment, media_type.to_owned())
    };
    assert_eq!(
        summary(&parts),
        vec![
            doc("ccd.xml"),
            attachment("scan.pdf", "application/pdf"),
            attachment("photo.png", "image/png"),
            attachment("photo.jpg", "image/jpeg"),
        ]
    );
    same_bytes(&parts[1].bytes, &pdf);

    // A PDF with no document beside it is still given back: the caller decides.
    let only_pdf = zip_of(&[("scan.pdf", &pdf)], deflated());
    let parts = unpack(&only_pdf, &Limits::default()).unwrap();
    assert_eq!(
        summary(&parts),
        vec![attachment("scan.pdf", "application/pdf")]
    );
}

#[test]
fn nothing_usable_is_no_document() {
    let readme = zip_of(&[("README.TXT", &fixture("README.TXT"))], deflated());
    let metadata_only = zip_of(
        &[
            ("IHE_XDM/SUBSET01/METADATA.XML", &fixture("METADATA.XML")),
            ("IHE_XDM/SUBSET01/OTHER.XML", &fixture("METADATA.XML")),
        ],
        deflated(),
    );
    let empty = zip_of(&[], deflated());
    for zipped in [readme, metadata_only, empty] {
        assert_eq!(
            unpack(&zipped, &Limits::default()),
            Err(Error::Container(ContainerProblem::NoDocument))
        );
    }
}

#[test]
fn damaged_zips() {
    let ccd = sample(CCD);
    let zipped = zip_of(&[("ccd.xml", &ccd)], deflated());
    let damaged = Err(Error::Container(ContainerProblem::Zip));

    // Cut short: the central directory is gone.
    assert_eq!(
        unpack(&zipped[..zipped.len() / 2], &Limits::default()),
        damaged
    );
    assert_eq!(unpack(b"PK\x03\x04", &Limits::default()), damaged);

    // The compressed data garbled in the middle: inflating or the CRC check fails.
    let mut garbled = zipped.clone();
    let middle = garbled.len() / 2;
    for byte in &mut garbled[middle..middle + 64] {
        *byte = !*byte;
    }
    assert_eq!(unpack(&garbled, &Limits::default()), damaged);

    // Stored data changed: only the CRC tells.
    let mut stored_zip = zip_of(&[("ccd.xml", &ccd)], stored());
    let middle = stored_zip.len() / 2;
    stored_zip[middle] ^= 0x20;
    assert_eq!(unpack(&stored_zip, &Limits::default()), damaged);
}

/// Sets the "encrypted" bit (bit 0 of the general purpose flags) of every entry, in its local
/// header (flags at offset 6) and its central directory record (flags at offset 8).
fn mark_encrypted(zipped: &mut [u8]) {
    let mut marked = 0;
    for i in 0..zipped.len().saturating_sub(10) {
        match &zipped[i..i + 4] {
            b"PK\x03\x04" => zipped[i + 6] |= 1,
            b"PK\x01\x02" => {
                zipped[i + 8] |= 1;
                marked += 1;
            }
            _ => {}
        }
    }
    assert!(marked > 0);
}

#[test]
fn encrypted_zip_is_refused() {
    let mut zipped = zip_of(&[("ccd.xml", &sample(CCD))], stored());
    assert_eq!(unpack(&zipped, &Limits::default()).unwrap().len(), 1);
    mark_encrypted(&mut zipped);
    assert_eq!(
        unpack(&zipped, &Limits::default()),
        Err(Error::Container(ContainerProblem::Encrypted))
    );
}

#[test]
fn too_many_files() {
    let ccd = sample(CCD);
    let names: Vec<String> = (0..6).map(|i| format!("doc{i}.xml")).collect();
    let entries: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &ccd[..])).collect();
    let limits = Limits {
        max_files: 5,
        ..Limits::default()
    };
    let six = zip_of(&entries, deflated());
    assert_eq!(
        unpack(&six, &limits),
        Err(Error::Container(ContainerProblem::TooManyFiles {
            limit: 5
        }))
    );
    let five = zip_of(&entries[..5], deflated());
    assert_eq!(unpack(&five, &limits).unwrap().len(), 5);

    // Nested zips count towards the same limit: 1 + 3 outside, 3 inside.
    let inner = zip_of(&entries[..3], deflated());
    let mut outer_entries = entries[..3].to_vec();
    outer_entries.push(("inner.zip", &inner));
    let outer = zip_of(&outer_entries, deflated());
    assert_eq!(
        unpack(&outer, &limits),
        Err(Error::Container(ContainerProblem::TooManyFiles {
            limit: 5
        }))
    );
}

#[test]
fn a_document_over_the_size_limit_in_a_zip() {
    let ccd = sample(CCD);
    let zipped = zip_of(&[("ccd.xml", &ccd)], deflated());
    let limits = Limits {
        max_document_bytes: ccd.len() as u64 - 1,
        ..Limits::default()
    };
    assert_eq!(
        unpack(&zipped, &limits),
        Err(Error::TooLarge { limit_mb: 0 })
    );
    let limits = Limits {
        max_document_bytes: ccd.len() as u64,
        ..Limits::default()
    };
    same_bytes(&unpack(&zipped, &limits).unwrap()[0].bytes, &ccd);

    // Two documents that each fit but together pass the container's limit.
    let two = zip_of(&[("a.xml", &ccd), ("b.xml", &ccd)], deflated());
    let limits = Limits {
        max_unpacked_bytes: 2 * ccd.len() as u64 - 1,
        ..Limits::default()
    };
    assert_eq!(
        unpack(&two, &limits),
        Err(Error::Container(ContainerProblem::TooBigUnpacked {
            limit_mb: 0
        }))
    );
}

fn base64_lines(bytes: &[u8]) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    let lines: Vec<&str> = encoded
        .as_bytes()
        .chunks(76)
        .map(|line| std::str::from_utf8(line).unwrap())
        .collect();
    lines.join("\r\n")
}

/// Quoted-printable (RFC 2045 6.7): `=XX` for `=` and bytes outside printable ASCII, soft line
/// breaks to keep lines under 76 characters.
fn quoted_printable(bytes: &[u8]) -> String {
    let mut out = String::new();
    let mut line = 0;
    for (i, &b) in bytes.iter().enumerate() {
        // Spaces and tabs at the end of a line are dropped by decoders unless encoded.
        let ends_line = matches!(bytes.get(i + 1), None | Some(b'\n' | b'\r'));
        let piece = match b {
            b'\n' => {
                out.push_str("\r\n");
                line = 0;
                continue;
            }
            b'\r' => continue,
            b' ' | b'\t' if ends_line => format!("={b:02X}"),
            b'=' | 0..=8 | 10..=31 | 127..=255 => format!("={b:02X}"),
            _ => (b as char).to_string(),
        };
        if line + piece.len() > 75 {
            out.push_str("=\r\n");
            line = 0;
        }
        line += piece.len();
        out.push_str(&piece);
    }
    out
}

#[test]
fn mime_multipart_message() {
    let (ccd, referral, pdf) = (sample(CCD), sample(REFERRAL), fixture("tiny.pdf"));
    let zipped = zip_of(&[("IHE_XDM/SUBSET01/DOC0001.XML", &ccd)], deflated());
    let message = format!(
        "From: portal@example.org\r\n\
         To: patient@example.org\r\n\
         Subject: Your health summary\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed;\r\n boundary=\"outer-boundary\"\r\n\
         \r\n\
         This is a multi-part message in MIME format.\r\n\
         --outer-boundary\r\n\
         Content-Type: multipart/alternative; boundary=\"inner\"\r\n\
         \r\n\
         --inner\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         \r\n\
         Your summary is attached.\r\n\
         --inner\r\n\
         Content-Type: text/html; charset=utf-8\r\n\
         \r\n\
         <p>Your summary is attached.</p>\r\n\
         --inner--\r\n\
         --outer-boundary\r\n\
         Content-Type: application/xml; name=\"ccd.xml\"\r\n\
         Content-Transfer-Encoding: base64\r\n\
         Content-Disposition: attachment; filename=\"summary.xml\"\r\n\
         \r\n\
         {ccd}\r\n\
         --outer-boundary\r\n\
         Content-Type: text/xml; charset=utf-8\r\n\
         Content-Transfer-Encoding: quoted-printable\r\n\
         \r\n\
         {referral}\r\n\
         --outer-boundary\r\n\
         Content-Type: application/pdf; name=\"scan.pdf\"\r\n\
         Content-Transfer-Encoding: base64\r\n\
         \r\n\
         {pdf}\r\n\
         --outer-boundary\r\n\
         Content-Type: application/zip\r\n\
         Content-Transfer-Encoding: base64\r\n\
         Content-Disposition: attachment; filename=\"xdm.zip\"\r\n\
         \r\n\
         {zipped}\r\n\
         --outer-boundary--\r\n",
        ccd = base64_lines(&ccd),
        referral = quoted_printable(&referral),
        pdf = base64_lines(&pdf),
        zipped = base64_lines(&zipped),
    );
    let parts = unpack(message.as_bytes(), &Limits::default()).unwrap();
    assert_eq!(
        summary(&parts),
        vec![
            doc("summary.xml"),
            doc("part3"),
            (
                "scan.pdf".to_owned(),
                PartKind::Attachment,
                "application/pdf".to_owned()
            ),
            doc("xdm.zip/IHE_XDM/SUBSET01/DOC0001.XML"),
        ]
    );
    same_bytes(&parts[0].bytes, &ccd);
    // Quoted-printable text has CRLF line ends; the sample's are LF.
    let got: Vec<u8> = parts[1]
        .bytes
        .iter()
        .copied()
        .filter(|&b| b != b'\r')
        .collect();
    same_bytes(&got, &referral);
    same_bytes(&parts[2].bytes, &pdf);
    same_bytes(&parts[3].bytes, &ccd);
}

#[test]
fn mime_single_part_message_and_one_without_documents() {
    let ccd = sample(CCD);
    let message = format!(
        "MIME-Version: 1.0\nContent-Type: text/xml\nContent-Transfer-Encoding: base64\n\n{}\n",
        base64_lines(&ccd)
    );
    let parts = unpack(message.as_bytes(), &Limits::default()).unwrap();
    assert_eq!(summary(&parts), vec![doc("part1")]);
    same_bytes(&parts[0].bytes, &ccd);

    let no_document = "MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nNothing attached.\r\n";
    assert_eq!(
        unpack(no_document.as_bytes(), &Limits::default()),
        Err(Error::Container(ContainerProblem::NoDocument))
    );
}

/// Cut and garbled containers are errors, never panics.
#[test]
fn damaged_containers_never_panic() {
    let (ccd, pdf) = (sample(CCD), fixture("tiny.pdf"));
    let inner = zip_of(&[("a.xml", &ccd[..2000])], deflated());
    let zipped = zip_of(
        &[("a.xml", &ccd[..4000]), ("b.pdf", &pdf), ("c.zip", &inner)],
        deflated(),
    );
    let message = format!(
        "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/xml\nContent-Transfer-Encoding: base64\n\n{}\n--b--\n",
        base64_lines(&ccd[..3000])
    );
    let limits = Limits::default();
    for original in [zipped, message.into_bytes()] {
        for cut in (0..original.len()).step_by(7) {
            let _ = unpack(&original[..cut], &limits);
        }
        let mut seed = 0x9E37_79B9_7F4A_7C15_u64;
        for _ in 0..400 {
            let mut bytes = original.clone();
            for _ in 0..4 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let at = (seed % bytes.len() as u64) as usize;
                bytes[at] = (seed >> 32) as u8;
            }
            let _ = unpack(&bytes, &limits);
        }
    }
}
