//! Bad input: a clear error naming the file and place, and nothing imported.

use ownrecord_core::vault::people::PersonChoice;
use std::io::Write;
use std::path::Path;

use ownrecord_core::Error;

use crate::{keyring_vault, no_progress};

fn assert_refused(dir: &Path, file: &Path, expect: &str) {
    let mut vault = keyring_vault(dir);
    let before = vault.summary(None).unwrap();
    let audit_before = vault.audit_entries(&Default::default()).unwrap().len();
    let err = vault
        .import_file(file, PersonChoice::New, &mut no_progress())
        .unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, Error::Import { .. }), "{message}");
    assert!(
        message.contains(expect),
        "{message:?} should say {expect:?}"
    );
    assert!(
        message.starts_with(&file.file_name().unwrap().to_string_lossy().into_owned()),
        "{message}"
    );
    assert!(
        message.ends_with("Nothing from this file was imported."),
        "{message}"
    );
    assert_eq!(vault.summary(None).unwrap(), before, "nothing imported");
    assert_eq!(
        vault.audit_entries(&Default::default()).unwrap().len(),
        audit_before
    );
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn truncated_json() {
    let files = tempfile::tempdir().unwrap();
    let whole = std::fs::read(&ownrecord_testkit::patient_files()[0]).unwrap();
    let path = write(
        files.path(),
        "truncated.json",
        &whole[..whole.len() * 2 / 3],
    );
    assert_refused(
        tempfile::tempdir().unwrap().path(),
        &path,
        "looks truncated",
    );
}

#[test]
fn wrong_resource_type() {
    let files = tempfile::tempdir().unwrap();
    let path = write(
        files.path(),
        "bad-type.json",
        br#"{"resourceType":"Bundle","type":"collection","entry":[
            {"resource":{"resourceType":"Patient","id":"a"}},
            {"resource":{"resourceType":"Patientt","id":"b"}}]}"#,
    );
    assert_refused(
        tempfile::tempdir().unwrap().path(),
        &path,
        "entry 2 is not usable: its resourceType is not a FHIR R4 resource type",
    );
    let single = write(
        files.path(),
        "single.json",
        br#"{"resourceType":"Banana","id":"x"}"#,
    );
    assert_refused(
        tempfile::tempdir().unwrap().path(),
        &single,
        "not a FHIR R4 resource type",
    );
    let not_fhir = write(files.path(), "not-fhir.json", br#"{"hello":"world"}"#);
    assert_refused(
        tempfile::tempdir().unwrap().path(),
        &not_fhir,
        "has no resourceType",
    );
}

/// A 200 MB single NDJSON line is refused after reading the 64 MB limit, not buffered whole.
#[test]
fn a_200_mb_single_line() {
    let files = tempfile::tempdir().unwrap();
    let path = files.path().join("huge.ndjson");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    f.write_all(br#"{"resourceType":"Patient","id":"ok"}"#)
        .unwrap();
    f.write_all(b"\n{\"resourceType\":\"Observation\",\"id\":\"big\",\"valueString\":\"")
        .unwrap();
    let chunk = vec![b'a'; 1 << 20];
    for _ in 0..200 {
        f.write_all(&chunk).unwrap();
    }
    f.write_all(b"\"}\n").unwrap();
    drop(f);
    assert_refused(
        tempfile::tempdir().unwrap().path(),
        &path,
        "line 2 is larger than 64 MB",
    );
}

#[test]
fn duplicate_full_urls() {
    let files = tempfile::tempdir().unwrap();
    let path = write(
        files.path(),
        "dupes.json",
        br#"{"resourceType":"Bundle","type":"transaction","entry":[
            {"fullUrl":"urn:uuid:1","resource":{"resourceType":"Patient","id":"a"}},
            {"fullUrl":"urn:uuid:2","resource":{"resourceType":"Patient","id":"b"}},
            {"fullUrl":"urn:uuid:1","resource":{"resourceType":"Patient","id":"c"}}]}"#,
    );
    assert_refused(
        tempfile::tempdir().unwrap().path(),
        &path,
        "entries 1 and 3 have the same fullUrl",
    );
}

#[test]
fn non_utf8() {
    let files = tempfile::tempdir().unwrap();
    let mut bytes = br#"{"resourceType":"Patient","id":"a","name":[{"family":""#.to_vec();
    bytes.extend_from_slice(b"M\xfcller\"}]}");
    let path = write(files.path(), "latin1.json", &bytes);
    assert_refused(
        tempfile::tempdir().unwrap().path(),
        &path,
        "is not UTF-8 text",
    );
    let nd = write(files.path(), "latin1.ndjson", &bytes);
    assert_refused(
        tempfile::tempdir().unwrap().path(),
        &nd,
        "line 1 is not UTF-8 text",
    );
}

/// Error text names the place but never quotes the content.
#[test]
fn errors_do_not_quote_clinical_content() {
    let files = tempfile::tempdir().unwrap();
    let path = write(
        files.path(),
        "shape.json",
        br#"{"resourceType":"Bundle","type":"collection","entry":[{"resource":"Jane Secretname has HIV"}]}"#,
    );
    let dir = tempfile::tempdir().unwrap();
    let mut vault = keyring_vault(dir.path());
    let message = vault
        .import_file(&path, PersonChoice::New, &mut no_progress())
        .unwrap_err()
        .to_string();
    assert!(
        !message.contains("Secretname") && !message.contains("HIV"),
        "{message}"
    );
}

/// A bad entry after many good ones rolls the whole file back.
#[test]
fn a_late_error_rolls_back_the_whole_file() {
    let files = tempfile::tempdir().unwrap();
    let mut text = String::from(
        r#"{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient","id":"p"}},"#,
    );
    for i in 0..1999 {
        text += &format!(
            r#"{{"resource":{{"resourceType":"Observation","id":"o{i}","subject":{{"reference":"Patient/p"}}}}}},"#
        );
    }
    text += r#"{"resource":{"resourceType":"Observation","id":"bad id!"}}]}"#;
    let path = write(files.path(), "late.json", text.as_bytes());
    assert_refused(
        tempfile::tempdir().unwrap().path(),
        &path,
        "entry 2001 is not usable: its id is not a valid FHIR id",
    );
}
