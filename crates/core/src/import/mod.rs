//! Importing FHIR R4 from files: a Bundle of any type, NDJSON, or a single resource.
//!
//! One transaction per file: a file that fails changes nothing, and the error names the file, the
//! entry or line, and what is wrong (never the clinical content). Bundles are read twice, streaming:
//! the first pass maps each `fullUrl` to its resource's `Type/id` (so forward references resolve) and
//! the second stores the resources. NDJSON is read line by line. Memory is bounded by the largest single
//! resource ([`MAX_RESOURCE_BYTES`]), not by the file.

mod bundle;
pub mod ccda;
mod lines;
pub mod references;

use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use crate::audit::AuditKind;
use crate::error::{Error, Result};
use crate::fhir::{self, Entry, ResourceFacts, Subject};
use crate::vault::Vault;
use crate::vault::people::{self, Link, PersonChoice};
use crate::vault::resources::{self, SourceKind, StoreCounts};
use bundle::ParseError;

/// The largest single resource (one Bundle entry, one NDJSON line, one file) accepted.
pub const MAX_RESOURCE_BYTES: u64 = 64 * 1024 * 1024;

/// Files up to this size are read into memory (faster); larger ones are streamed.
const IN_MEMORY_MAX_BYTES: u64 = 256 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    Bundle,
    Ndjson,
    Resource,
    /// C-CDA (plain XML, zip, IHE XDM or MIME).
    Ccda,
}

/// What importing one file did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileReport {
    pub file: String,
    pub format: Format,
    pub bytes: u64,
    #[serde(flatten)]
    pub counts: StoreCounts,
    /// Entries without a resource (e.g. DELETE requests, search outcomes).
    pub skipped: u64,
    /// `urn:` and conditional references that matched nothing in the file or the vault.
    pub unresolved_references: u64,
    /// Patients of the file linked to a person by this import (ids only).
    pub people: Vec<Link>,
    /// C-CDA files: what each document became.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub documents: Vec<ccda::DocumentReport>,
}

/// Progress through one file, reported every few hundred resources.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub resources: u64,
    /// Work done and total, in units that only make sense as a fraction.
    pub done: u64,
    pub total: u64,
}

const PROGRESS_EVERY: u64 = 500;

impl Vault {
    /// Imports one file in one transaction, recording an audit row (file name, counts, people
    /// linked) with it. A Patient in the file not yet linked to a person is linked as `person`
    /// says; when it cannot be told whose the file is, nothing is imported ([`Error::WhoIsThis`]).
    pub fn import_file(
        &mut self,
        path: &Path,
        person: PersonChoice,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<FileReport> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        let bytes = std::fs::metadata(path)
            .map_err(|e| Error::io(path, e))?
            .len();
        if ccda::is_ccda(&head(path)?) {
            if bytes > MAX_CCDA_FILE_BYTES {
                return Err(Error::import(
                    &name,
                    format!(
                        "is larger than {} MB, the most a C-CDA file may be",
                        MAX_CCDA_FILE_BYTES / (1024 * 1024)
                    ),
                ));
            }
            let data = std::fs::read(path).map_err(|e| Error::io(path, e))?;
            return self.import_ccda(&name, data, person, progress);
        }
        let now = self.now();
        self.write(AuditKind::Import, |tx| {
            let source_id = resources::source_id(tx, SourceKind::File, &name, "", &now)?;
            let settler = people::Settler::new(tx, source_id, &name, person, &now)?;
            let mut store = VaultStore {
                writer: resources::ResourceWriter::with_settler(tx, settler),
                source_id,
                now: &now,
            };
            let mut job = Job::new(&mut store, &name, bytes, progress);
            job.run(path)?;
            let report = job.report;
            let links = store.writer.finish()?;
            people::refuse_replaced_patients(
                tx,
                source_id,
                &name,
                &now,
                "has the name of a file imported before, but its patient is someone else; rename the file and import it again",
            )?;
            let mut report = report;
            report.people = links;
            // Cannot panic: a derived struct with string keys serializes.
            #[allow(clippy::expect_used)]
            let details = serde_json::to_value(&report).expect("report serializes");
            Ok((report, details))
        })
    }
}

/// The largest C-CDA file (a zip may hold many documents; each is capped on its own).
const MAX_CCDA_FILE_BYTES: u64 = 512 * 1024 * 1024;

/// The first bytes of a file, to tell its format by content.
fn head(path: &Path) -> Result<Vec<u8>> {
    use std::io::Read;
    let mut head = Vec::with_capacity(8192);
    File::open(path)
        .and_then(|f| f.take(8192).read_to_end(&mut head))
        .map_err(|e| Error::io(path, e))?;
    Ok(head)
}

/// Reads a FHIR file (a Bundle, NDJSON, or a single resource) exactly as [`Vault::import_file`]
/// does (format by content and extension, both passes over a Bundle, references resolved from the
/// file, each resource checked and its facts and entry read), but stores nothing: conditional
/// references the file does not resolve stay unresolved. C-CDA files are refused. Pure apart from
/// reading `path`; the fuzzer's entry point (`fuzz/`, target `fhir-import`).
#[doc(hidden)]
pub fn read_file(path: &Path) -> Result<FileReport> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let bytes = std::fs::metadata(path)
        .map_err(|e| Error::io(path, e))?
        .len();
    if ccda::is_ccda(&head(path)?) {
        return Err(Error::import(
            &name,
            "is C-CDA, which read_file does not read",
        ));
    }
    let mut store = NoStore;
    let mut progress = |_: Progress| {};
    let mut job = Job::new(&mut store, &name, bytes, &mut progress);
    job.run(path)?;
    Ok(job.report)
}

/// Where an import's prepared resources go.
trait Store {
    /// Stores one resource; `report` counts what that did.
    fn put(&mut self, prepared: Prepared, report: &mut FileReport) -> Result<()>;
}

/// The vault's side of an import: owns the transaction.
struct VaultStore<'a, 't> {
    writer: resources::ResourceWriter<'a, 't>,
    source_id: i64,
    now: &'a str,
}

/// [`read_file`]'s: nothing is kept, every resource counts as new.
struct NoStore;

impl Store for NoStore {
    fn put(&mut self, prepared: Prepared, report: &mut FileReport) -> Result<()> {
        std::hint::black_box(&prepared);
        report.counts.add(resources::Stored::New);
        Ok(())
    }
}

/// The writing side of an import: hands what the parser prepared to its store.
struct Job<'a> {
    store: &'a mut dyn Store,
    file: &'a str,
    report: FileReport,
    progress: &'a mut dyn FnMut(Progress),
}

/// The parsing side of an import (runs on its own thread): checks each resource, resolves its
/// references from the file's own entries, and extracts its facts. Read-only.
struct Parser<'a> {
    file: &'a str,
    /// fullUrl → `Type/id`, from the first pass over a Bundle.
    full_urls: HashMap<String, String>,
    /// (type, system, value) → id, from the first pass, for conditional references within the file.
    identifiers: HashMap<(String, String, String), String>,
}

/// One resource, ready to store.
struct Prepared {
    json: String,
    facts: ResourceFacts,
    entry: Entry,
    /// `urn:` references that matched no entry of the file.
    unresolved: u64,
    /// Conditional references the file could not resolve: look for them in the vault.
    look_in_vault: bool,
    /// Progress through the file (entry number or bytes read).
    done: u64,
}

enum Item {
    Resource(Box<Prepared>),
    Skipped,
}

/// How many prepared resources may wait between the two threads.
const PIPELINE_DEPTH: usize = 256;

/// First pass: only what is needed to resolve references.
#[derive(Deserialize)]
struct EntryHead {
    #[serde(rename = "fullUrl")]
    full_url: Option<String>,
    resource: Option<ResourceHead>,
}

#[derive(Deserialize)]
struct ResourceHead {
    #[serde(rename = "resourceType")]
    resource_type: Option<String>,
    id: Option<String>,
    identifier: Option<Vec<IdentifierHead>>,
}

#[derive(Deserialize)]
struct IdentifierHead {
    system: Option<String>,
    value: Option<String>,
}

/// Second pass: the resource's raw bytes.
#[derive(Deserialize)]
struct EntryBody {
    #[serde(rename = "fullUrl")]
    full_url: Option<String>,
    resource: Option<Box<RawValue>>,
    search: Option<EntrySearch>,
}

#[derive(Deserialize)]
struct EntrySearch {
    mode: Option<String>,
}

/// Where in a file a resource came from, for error messages.
#[derive(Clone, Copy)]
enum Place {
    Entry(usize),
    Line(u64),
    File,
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Place::Entry(n) => write!(f, "entry {n}"),
            Place::Line(n) => write!(f, "line {n}"),
            Place::File => f.write_str("the resource"),
        }
    }
}

impl<'a> Job<'a> {
    fn new(
        store: &'a mut dyn Store,
        file: &'a str,
        bytes: u64,
        progress: &'a mut dyn FnMut(Progress),
    ) -> Self {
        Job {
            store,
            file,
            report: FileReport {
                file: file.to_owned(),
                format: Format::Resource,
                bytes,
                counts: StoreCounts::default(),
                skipped: 0,
                unresolved_references: 0,
                people: Vec::new(),
                documents: Vec::new(),
            },
            progress,
        }
    }

    fn fail(&self, problem: impl Into<String>) -> Error {
        Error::import(self.file, problem)
    }

    fn run(&mut self, path: &Path) -> Result<()> {
        let is_ndjson = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("ndjson") || e.eq_ignore_ascii_case("jsonl"));
        if is_ndjson {
            return self.ndjson(path);
        }
        if self.report.bytes <= IN_MEMORY_MAX_BYTES {
            let data = std::fs::read(path).map_err(|e| Error::io(path, e))?;
            let data = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&data);
            if let Err(e) = std::str::from_utf8(data) {
                return Err(self.fail(format!("is not UTF-8 text (at byte {})", e.valid_up_to())));
            }
            return self.document(path, || Ok(serde_json::Deserializer::from_slice(data)));
        }
        self.document(path, || {
            let file = File::open(path).map_err(|e| Error::io(path, e))?;
            Ok(serde_json::Deserializer::from_reader(
                BufReader::with_capacity(1 << 16, file),
            ))
        })
    }

    /// A JSON document: a Bundle (streamed in two passes) or a single resource.
    fn document<'de, R>(
        &mut self,
        path: &Path,
        open: impl Fn() -> Result<serde_json::Deserializer<R>> + Sync,
    ) -> Result<()>
    where
        R: serde_json::de::Read<'de> + Send,
    {
        // Pass 1: map fullUrls and identifiers.
        let mut heads: Vec<(usize, EntryHead)> = Vec::new();
        let mut de = open()?;
        let top = match bundle::for_each_entry(&mut de, &mut |n, head: EntryHead| {
            heads.push((n, head));
            Ok(())
        }) {
            Ok(top) => top,
            Err(ParseError::Json(e)) if is_trailing_data(&e) => return self.ndjson(path),
            Err(ParseError::Json(e)) => return Err(self.fail(describe_json_error(&e))),
            Err(ParseError::Entry(e)) => return Err(e),
        };
        if let Err(e) = de.end() {
            return match is_trailing_data(&e) {
                true => self.ndjson(path),
                false => Err(self.fail(describe_json_error(&e))),
            };
        }
        match top.resource_type.as_deref() {
            None => return Err(self.fail("is not a FHIR resource: it has no resourceType")),
            Some("Bundle") => {}
            Some(_) => return self.single_resource(path),
        }
        self.report.format = Format::Bundle;
        let parser = Parser::with_entries(self.file, heads)?;

        // Pass 2, on the parser thread: prepare each entry's resource; store them here.
        let total = top.entries as u64;
        self.pipeline(total, |emit| {
            let mut de = match open() {
                Ok(de) => de,
                Err(e) => return emit(Err(e)),
            };
            let mut on_entry = |n: usize, entry: EntryBody| -> Result<()> {
                let item = parser.entry(n, entry);
                if emit(item) {
                    Ok(())
                } else {
                    Err(Error::import("", "stopped"))
                }
            };
            match bundle::for_each_entry(&mut de, &mut on_entry) {
                Ok(_) => true,
                Err(ParseError::Json(e)) => emit(Err(parser.fail(describe_json_error(&e)))),
                // The entry's error was already sent (or the writer stopped).
                Err(ParseError::Entry(_)) => false,
            }
        })
    }

    fn single_resource(&mut self, path: &Path) -> Result<()> {
        self.report.format = Format::Resource;
        if self.report.bytes > MAX_RESOURCE_BYTES {
            return Err(self.fail(too_large(Place::File)));
        }
        let data = std::fs::read_to_string(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::InvalidData => self.fail("is not UTF-8 text"),
            _ => Error::io(path, e),
        })?;
        let data = data.strip_prefix('\u{feff}').unwrap_or(&data);
        let parser = Parser::new(self.file);
        let prepared = parser.prepare(data.trim(), None, Place::File, 1)?;
        self.put(prepared)
    }

    fn ndjson(&mut self, path: &Path) -> Result<()> {
        self.report.format = Format::Ndjson;
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let parser = Parser::new(self.file);
        let total = self.report.bytes;
        self.pipeline(total, move |emit| {
            let mut reader = lines::BoundedLines::new(
                BufReader::with_capacity(1 << 16, file),
                MAX_RESOURCE_BYTES as usize,
            );
            let mut line_no = 0u64;
            loop {
                line_no += 1;
                let (line, consumed) = match reader.next_line() {
                    Ok(Some(read)) => read,
                    Ok(None) => return true,
                    Err(lines::LineError::TooLong) => {
                        return emit(Err(parser.fail(too_large(Place::Line(line_no)))));
                    }
                    Err(lines::LineError::Io(e)) => return emit(Err(Error::io(path, e))),
                };
                let line = if line_no == 1 {
                    line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line)
                } else {
                    line
                };
                let Ok(text) = std::str::from_utf8(line) else {
                    return emit(Err(parser.fail(format!("line {line_no} is not UTF-8 text"))));
                };
                let text = text.trim();
                if text.is_empty() {
                    continue;
                }
                let item = parser.prepare(text, None, Place::Line(line_no), consumed);
                let failed = item.is_err();
                if !emit(item.map(|p| Item::Resource(Box::new(p)))) || failed {
                    return false;
                }
            }
        })
    }

    /// Runs `produce` on a second thread, handing prepared resources over a bounded channel to this
    /// thread, which stores them. `produce` gets an `emit` that returns false once it should stop.
    fn pipeline(
        &mut self,
        total: u64,
        produce: impl FnOnce(&mut dyn FnMut(Result<Item>) -> bool) -> bool + Send,
    ) -> Result<()> {
        std::thread::scope(|scope| {
            let (sender, receiver) = std::sync::mpsc::sync_channel::<Result<Item>>(PIPELINE_DEPTH);
            scope.spawn(move || {
                let mut emit = |item: Result<Item>| sender.send(item).is_ok();
                produce(&mut emit);
            });
            // Returning drops the receiver, which stops the parser at its next send.
            self.consume(receiver, total)
        })
    }

    fn consume(
        &mut self,
        items: std::sync::mpsc::Receiver<Result<Item>>,
        total: u64,
    ) -> Result<()> {
        for item in items {
            match item? {
                Item::Skipped => self.report.skipped += 1,
                Item::Resource(prepared) => {
                    let done = prepared.done;
                    self.put(*prepared)?;
                    if self.report.counts.total().is_multiple_of(PROGRESS_EVERY) {
                        (self.progress)(Progress {
                            resources: self.report.counts.total(),
                            done,
                            total,
                        });
                    }
                }
            }
        }
        Ok(())
    }

    fn put(&mut self, prepared: Prepared) -> Result<()> {
        self.report.unresolved_references += prepared.unresolved;
        self.store.put(prepared, &mut self.report)
    }
}

impl Store for VaultStore<'_, '_> {
    /// Stores a prepared resource, first resolving in the vault any conditional reference the
    /// file itself could not.
    fn put(&mut self, mut prepared: Prepared, report: &mut FileReport) -> Result<()> {
        if prepared.look_in_vault {
            let tx = self.writer.transaction();
            let mut missing = 0;
            let resolved = references::resolve(&prepared.json, |reference| {
                let (resource_type, system, value) = references::parse_conditional(reference)?;
                let found = resources::find_by_identifier(tx, resource_type, system, value)
                    .ok()
                    .flatten()
                    .map(|id| format!("{resource_type}/{id}"));
                missing += u64::from(found.is_none());
                found
            });
            if let std::borrow::Cow::Owned(json) = resolved {
                // What the entry read may have pointed through a reference just resolved.
                if let Ok(value) = serde_json::from_str(&json) {
                    prepared.entry = Entry::read(&value);
                }
                prepared.json = json;
            }
            report.unresolved_references += missing;
        }
        let stored = self.writer.put(
            self.source_id,
            &prepared.facts,
            &prepared.entry,
            &prepared.json,
            self.now,
        )?;
        report.counts.add(stored);
        Ok(())
    }
}

impl<'a> Parser<'a> {
    fn new(file: &'a str) -> Self {
        Parser {
            file,
            full_urls: HashMap::new(),
            identifiers: HashMap::new(),
        }
    }

    fn fail(&self, problem: impl Into<String>) -> Error {
        Error::import(self.file, problem)
    }

    /// Maps each entry's fullUrl to `Type/id`, and identifiers to ids; refuses repeated fullUrls.
    fn with_entries(file: &'a str, heads: Vec<(usize, EntryHead)>) -> Result<Self> {
        let mut parser = Parser::new(file);
        let mut first_seen: HashMap<String, usize> = HashMap::new();
        for (n, head) in heads {
            let Some(resource) = head.resource else {
                continue;
            };
            let Some(resource_type) = resource.resource_type else {
                return Err(parser.fail(format!(
                    "entry {n} is not a FHIR resource: it has no resourceType"
                )));
            };
            let id = resource
                .id
                .or_else(|| head.full_url.as_deref().and_then(id_from_full_url));
            if let Some(full_url) = head.full_url {
                if let Some(earlier) = first_seen.insert(full_url.clone(), n) {
                    return Err(
                        parser.fail(format!("entries {earlier} and {n} have the same fullUrl"))
                    );
                }
                if let Some(id) = &id {
                    parser
                        .full_urls
                        .insert(full_url, format!("{resource_type}/{id}"));
                }
            }
            if let Some(id) = id {
                for i in resource.identifier.unwrap_or_default() {
                    if let Some(value) = i.value {
                        parser.identifiers.insert(
                            (resource_type.clone(), i.system.unwrap_or_default(), value),
                            id.clone(),
                        );
                    }
                }
            }
        }
        Ok(parser)
    }

    fn entry(&self, n: usize, entry: EntryBody) -> Result<Item> {
        let Some(resource) = entry.resource else {
            return Ok(Item::Skipped);
        };
        if entry.search.and_then(|s| s.mode).as_deref() == Some("outcome") {
            return Ok(Item::Skipped);
        }
        let prepared = self.prepare(
            resource.get(),
            entry.full_url.as_deref(),
            Place::Entry(n),
            n as u64,
        )?;
        Ok(Item::Resource(Box::new(prepared)))
    }

    /// Resolves references from the file, checks the resource and extracts its facts.
    fn prepare(
        &self,
        raw: &str,
        full_url: Option<&str>,
        place: Place,
        done: u64,
    ) -> Result<Prepared> {
        if raw.len() as u64 > MAX_RESOURCE_BYTES {
            return Err(self.fail(too_large(place)));
        }
        let mut unresolved = 0;
        let mut look_in_vault = false;
        let resolved = references::resolve(raw, |reference| {
            let target = self.resolve_reference(reference);
            if target.is_none() {
                if reference.starts_with("urn:") {
                    unresolved += 1;
                } else if references::parse_conditional(reference).is_some() {
                    look_in_vault = true;
                }
            }
            target
        });
        let mut value: serde_json::Value = serde_json::from_str(&resolved)
            .map_err(|e| self.fail(format!("{place} {}", describe_json_error(&e))))?;
        // A resource without an id (a transaction's, named by its `urn:uuid:` fullUrl) gets
        // one before it is read, so that a Patient without an id is its own subject.
        let json = match value.get("id") {
            Some(_) => resolved.into_owned(),
            None => {
                let id = full_url.and_then(id_from_full_url).unwrap_or_else(|| {
                    let digest: [u8; 32] = Sha256::digest(resolved.as_bytes()).into();
                    hex::encode(&digest[..16])
                });
                let with_id = insert_id(&resolved, &id);
                if let Some(object) = value.as_object_mut() {
                    object.insert("id".into(), serde_json::Value::String(id));
                }
                with_id
            }
        };
        let (facts, entry) = self.read(&value, place)?;
        Ok(Prepared {
            json,
            facts,
            entry,
            unresolved,
            look_in_vault,
            done,
        })
    }

    /// A resource made here (C-CDA), its references already `Type/id` and its id set.
    fn prepare_made(&self, value: &serde_json::Value, place: Place, done: u64) -> Result<Prepared> {
        let json = value.to_string();
        if json.len() as u64 > MAX_RESOURCE_BYTES {
            return Err(self.fail(too_large(place)));
        }
        let (facts, entry) = self.read(value, place)?;
        Ok(Prepared {
            json,
            facts,
            entry,
            unresolved: 0,
            look_in_vault: false,
            done,
        })
    }

    /// A resource's facts and clinical entry; refused when whose it is cannot be told.
    fn read(&self, value: &serde_json::Value, place: Place) -> Result<(ResourceFacts, Entry)> {
        let facts = ResourceFacts::of(value)
            .map_err(|why| self.fail(format!("{place} is not usable: {why}")))?;
        let entry = Entry::read(value);
        match &entry.subject {
            Subject::Missing => Err(self.fail(format!(
                "{place} names no patient, so whose record it is cannot be told"
            ))),
            Subject::Several(_) => Err(self.fail(format!(
                "{place} names several patients, so whose record it is cannot be told"
            ))),
            _ => Ok((facts, entry)),
        }
    }

    fn resolve_reference(&self, reference: &str) -> Option<String> {
        if let Some(target) = self.full_urls.get(reference) {
            return Some(target.clone());
        }
        let (resource_type, system, value) = references::parse_conditional(reference)?;
        let key = (
            resource_type.to_owned(),
            system.to_owned(),
            value.to_owned(),
        );
        self.identifiers
            .get(&key)
            .map(|id| format!("{resource_type}/{id}"))
    }
}

/// `urn:uuid:<uuid>` → the uuid (a valid FHIR id); the last path segment of a RESTful URL.
fn id_from_full_url(full_url: &str) -> Option<String> {
    let candidate = full_url.strip_prefix("urn:uuid:").or_else(|| {
        full_url
            .rsplit('/')
            .next()
            .filter(|_| full_url.contains("://"))
    })?;
    fhir::is_valid_id(candidate).then(|| candidate.to_owned())
}

/// Adds `"id"` as the first element of a resource object that has none.
fn insert_id(raw: &str, id: &str) -> String {
    match raw.split_once('{') {
        // An empty object (refused when read, as it names no type) stays valid JSON.
        Some((before, after)) if after.trim_start().starts_with('}') => {
            format!("{before}{{\"id\":\"{id}\"{after}")
        }
        Some((before, after)) => format!("{before}{{\"id\":\"{id}\",{after}"),
        // Not reached: only JSON objects are resources.
        None => raw.to_owned(),
    }
}

fn too_large(place: Place) -> String {
    format!(
        "{place} is larger than {} MB, the most one resource may be",
        MAX_RESOURCE_BYTES / (1024 * 1024)
    )
}

fn is_trailing_data(e: &serde_json::Error) -> bool {
    e.is_syntax() && e.to_string().starts_with("trailing characters")
}

/// Describes a JSON error by kind and position only: serde's own messages can quote values.
fn describe_json_error(e: &serde_json::Error) -> String {
    let at = format!("line {}, column {}", e.line(), e.column());
    match e.classify() {
        serde_json::error::Category::Eof => {
            format!("ends too early, at {at}: the file looks truncated")
        }
        serde_json::error::Category::Syntax => format!("is not valid JSON at {at}"),
        serde_json::error::Category::Data => format!("has a value of the wrong kind at {at}"),
        serde_json::error::Category::Io => "could not be read to the end".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_from_full_urls() {
        assert_eq!(
            id_from_full_url("urn:uuid:0a1b-2c").as_deref(),
            Some("0a1b-2c")
        );
        assert_eq!(
            id_from_full_url("https://x.org/fhir/Patient/42").as_deref(),
            Some("42")
        );
        assert_eq!(id_from_full_url("urn:oid:1.2.3"), None);
    }

    #[test]
    fn insert_id_keeps_the_rest() {
        assert_eq!(
            insert_id(r#" {"resourceType":"Patient"}"#, "abc"),
            r#" {"id":"abc","resourceType":"Patient"}"#
        );
    }
}
