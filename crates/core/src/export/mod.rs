//! What leaves the vault, by the patient's choice: a PDF visit summary, an International Patient
//! Summary (FHIR document), an encrypted share package, a SMART Health Link, and a full export.
//!
//! Everything is made locally from one [`record::Record`] (the vault's resources, deduplicated) and
//! one [`summary::Summary`] (the tables a clinician reads), so the PDF, the IPS narrative and the
//! HTML baseline of the benchmark show the same content. Every export and share is written to the
//! disclosure log in the transaction that puts its files in place ([`deliver`]).

pub mod folder;
pub mod full;
pub mod hosts;
pub mod html;
pub mod ips;
pub mod package;
pub mod pdf;
pub mod record;
pub mod research;
pub mod shl;
pub mod summary;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::audit::AuditKind;
use crate::error::{Error, Result};
use crate::vault::Vault;

/// The parts of a summary a patient can choose to include.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum Section {
    Problems,
    Medications,
    Allergies,
    Immunizations,
    Results,
    Vitals,
    Visits,
    Procedures,
}

impl Section {
    pub const ALL: [Section; 8] = [
        Section::Problems,
        Section::Medications,
        Section::Allergies,
        Section::Immunizations,
        Section::Results,
        Section::Vitals,
        Section::Visits,
        Section::Procedures,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Section::Problems => "problems",
            Section::Medications => "medications",
            Section::Allergies => "allergies",
            Section::Immunizations => "immunizations",
            Section::Results => "results",
            Section::Vitals => "vitals",
            Section::Visits => "visits",
            Section::Procedures => "procedures",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Section::Problems => "Problems",
            Section::Medications => "Medications",
            Section::Allergies => "Allergies and intolerances",
            Section::Immunizations => "Immunizations",
            Section::Results => "Lab results",
            Section::Vitals => "Vital signs",
            Section::Visits => "Recent visits",
            Section::Procedures => "Procedures",
        }
    }

    /// Parses a comma-separated list such as `problems,medications,results`.
    pub fn parse_list(list: &str) -> Result<BTreeSet<Section>> {
        let mut sections = BTreeSet::new();
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let section = Section::ALL
                .into_iter()
                .find(|s| s.as_str().eq_ignore_ascii_case(name))
                .ok_or_else(|| Error::UnknownSection(name.to_owned()))?;
            sections.insert(section);
        }
        if sections.is_empty() {
            return Err(Error::UnknownSection(list.to_owned()));
        }
        Ok(sections)
    }
}

/// What the patient chose to include.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// Whose record (none: the only person in the vault).
    pub person: Option<i64>,
    pub sections: BTreeSet<Section>,
    /// Dated entries (results, visits, procedures, ...) from this day on; active problems,
    /// medications and allergies are always included.
    pub since: Option<time::Date>,
}

impl Default for Selection {
    fn default() -> Self {
        Selection {
            person: None,
            sections: Section::ALL.into_iter().collect(),
            since: None,
        }
    }
}

impl Selection {
    pub fn includes(&self, section: Section) -> bool {
        self.sections.contains(&section)
    }

    pub fn section_names(&self) -> Vec<&'static str> {
        self.sections.iter().map(|s| s.as_str()).collect()
    }
}

/// Parses `YYYY-MM-DD`.
pub fn parse_date(text: &str) -> Result<time::Date> {
    time::Date::parse(
        text,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .map_err(|_| Error::BadDate(text.to_owned()))
}

/// One file an export wrote, as the disclosure log and manifests name it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct WrittenFile {
    pub path: PathBuf,
    #[serde(with = "hex::serde")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub sha256: Vec<u8>,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub bytes: u64,
}

impl WrittenFile {
    pub fn of(path: &Path, content: &[u8]) -> Self {
        WrittenFile {
            path: path.to_owned(),
            sha256: Sha256::digest(content).to_vec(),
            bytes: content.len() as u64,
        }
    }
}

/// Writes `files` beside their final paths, then, in one vault transaction, moves them into place
/// and appends the disclosure row built by `details`. If the row cannot be written the files are
/// removed again: a file the patient gave out is never missing from the log.
pub(crate) fn deliver(
    vault: &mut Vault,
    kind: AuditKind,
    files: &[(PathBuf, Vec<u8>)],
    details: impl FnOnce(&[WrittenFile]) -> serde_json::Value,
) -> Result<Vec<WrittenFile>> {
    deliver_with(vault, kind, files, details, |_| Ok(()))
}

/// [`deliver`], also making `also`'s change to the vault in the same transaction.
pub(crate) fn deliver_with(
    vault: &mut Vault,
    kind: AuditKind,
    files: &[(PathBuf, Vec<u8>)],
    details: impl FnOnce(&[WrittenFile]) -> serde_json::Value,
    also: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<()>,
) -> Result<Vec<WrittenFile>> {
    // Staged files delete themselves if anything below fails before they are moved.
    let mut staged = Vec::with_capacity(files.len());
    for (path, content) in files {
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        staged.push(write_staged(dir, content)?);
    }
    let written: Vec<WrittenFile> = files
        .iter()
        .map(|(path, content)| WrittenFile::of(path, content))
        .collect();
    let details = details(&written);
    let mut placed: Vec<PathBuf> = Vec::new();
    let result = vault.write(kind, |tx| {
        also(tx)?;
        for (temp, (path, _)) in staged.drain(..).zip(files) {
            temp.persist(path).map_err(|e| Error::io(path, e.error))?;
            placed.push(path.clone());
        }
        Ok(((), details))
    });
    if let Err(e) = result {
        for path in &placed {
            let _ = std::fs::remove_file(path);
        }
        return Err(e);
    }
    Ok(written)
}

fn write_staged(dir: &Path, content: &[u8]) -> Result<tempfile::TempPath> {
    use std::io::Write;
    let map = |e: std::io::Error| Error::write(dir, e);
    let mut file = tempfile::Builder::new()
        .prefix(".ownrecord-export-")
        .tempfile_in(dir)
        .map_err(map)?;
    file.as_file_mut().write_all(content).map_err(map)?;
    file.as_file().sync_all().map_err(map)?;
    Ok(file.into_temp_path())
}

/// The hex SHA-256 of bytes, as manifests and the disclosure log write it.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Who a file export is for, in the disclosure log.
pub(crate) const TO_SELF: &str = "the patient (file on this computer)";

/// The record and its summary for a selection, as of the vault's clock.
pub fn summarize(
    vault: &Vault,
    selection: &Selection,
) -> Result<(record::Record, summary::Summary)> {
    let record = record::Record::load(vault, selection.person)?;
    let summary = summary::Summary::build(&record, selection, vault.clock_now().date());
    Ok((record, summary))
}

/// Whose record, which parts and from when, as a disclosure row names them.
pub(crate) struct Disclosed<'a> {
    pub person: Option<i64>,
    pub sections: &'a [String],
    pub since: Option<&'a str>,
}

impl Selection {
    fn disclosed<'a>(&self, sections: &'a [String], since: Option<&'a str>) -> Disclosed<'a> {
        Disclosed {
            person: self.person,
            sections,
            since,
        }
    }

    fn section_strings(&self) -> Vec<String> {
        self.section_names().iter().map(|s| s.to_string()).collect()
    }
}

pub(crate) fn disclosure(
    what: &str,
    recipient: &str,
    purpose: &str,
    disclosed: &Disclosed<'_>,
    files: &[WrittenFile],
    expires: Option<&str>,
) -> serde_json::Value {
    serde_json::json!({
        "what": what,
        "recipient": recipient,
        "purpose": purpose,
        "person": disclosed.person,
        "sections": disclosed.sections,
        "since": disclosed.since,
        "files": files.iter().map(|f| serde_json::json!({
            "path": f.path.display().to_string(),
            "sha256": hex::encode(&f.sha256),
            "bytes": f.bytes,
        })).collect::<Vec<_>>(),
        "content_sha256": files.first().map(|f| hex::encode(&f.sha256)),
        "expires": expires,
    })
}

/// `export pdf`: the visit summary as a PDF file.
pub fn export_pdf(vault: &mut Vault, selection: &Selection, out: &Path) -> Result<WrittenFile> {
    let (_, summary) = summarize(vault, selection)?;
    export_file(vault, "PDF summary", pdf::render(&summary), selection, out)
}

/// `export ips`: the International Patient Summary as a FHIR document Bundle (JSON).
pub fn export_ips(vault: &mut Vault, selection: &Selection, out: &Path) -> Result<WrittenFile> {
    let (_, bytes) = ips_bytes(vault, selection)?;
    export_file(vault, "IPS document", bytes, selection, out)
}

/// Writes one exported file for the patient and its disclosure row.
fn export_file(
    vault: &mut Vault,
    what: &str,
    bytes: Vec<u8>,
    selection: &Selection,
    out: &Path,
) -> Result<WrittenFile> {
    let mut written = deliver(
        vault,
        AuditKind::Export,
        &[(out.to_owned(), bytes)],
        |files| {
            let sections = selection.section_strings();
            let since = selection.since.map(|d| d.to_string());
            disclosure(
                what,
                TO_SELF,
                "export",
                &selection.disclosed(&sections, since.as_deref()),
                files,
                None,
            )
        },
    )?;
    Ok(written.remove(0))
}

/// The IPS document as pretty JSON bytes.
fn ips_bytes(vault: &Vault, selection: &Selection) -> Result<(summary::Summary, Vec<u8>)> {
    let (record, summary) = summarize(vault, selection)?;
    let bundle = ips::bundle(&record, &summary, selection, &vault.now());
    // Cannot panic: serializing a JSON value does not fail.
    #[allow(clippy::expect_used)]
    let bytes = serde_json::to_vec_pretty(&bundle).expect("a bundle serializes");
    Ok((summary, bytes))
}

/// The share's PDF as a FHIR DocumentReference (JSON), the second file of a link through a
/// share host: its viewer offers it to download.
fn pdf_document(pdf: &[u8], summary: &summary::Summary, now: &str) -> Vec<u8> {
    use base64::Engine;
    let day = now.get(..10).unwrap_or(now);
    let document = serde_json::json!({
        "resourceType": "DocumentReference",
        "status": "current",
        "type": {"coding": [{
            "system": "http://loinc.org",
            "code": "60591-5",
            "display": "Patient summary Document",
        }]},
        "subject": {"display": summary.patient.name},
        "date": now,
        "description": format!("Health summary (PDF) made {day}"),
        "content": [{"attachment": {
            "contentType": "application/pdf",
            "data": base64::engine::general_purpose::STANDARD.encode(pdf),
            "title": format!("health-summary-{day}.pdf"),
            "creation": now,
        }}],
    });
    // Cannot panic: serializing a JSON value does not fail.
    #[allow(clippy::expect_used)]
    let bytes = serde_json::to_vec(&document).expect("a document serializes");
    bytes
}

/// What to share, with whom and why.
#[derive(Debug, Clone)]
pub struct ShareRequest {
    pub recipient: String,
    pub purpose: String,
    pub selection: Selection,
    pub expires_in_days: Option<u32>,
    /// Also make a SMART Health Link.
    pub link: Option<LinkRequest>,
}

/// Where a SMART Health Link's encrypted file will live.
#[derive(Debug, Clone)]
pub struct LinkRequest {
    /// The address the recipient's app fetches the file from.
    pub url: String,
    /// Upload the file there (HTTP PUT); otherwise it is written next to the link for the patient
    /// to place.
    pub upload: bool,
}

/// What a share produced. The passcode and the link text are shown once and never stored.
#[derive(Debug)]
pub struct Shared {
    /// The share's id (see `Vault::shares`).
    pub id: String,
    pub package: WrittenFile,
    pub passcode: zeroize::Zeroizing<String>,
    pub expires: Option<String>,
    pub manifest: package::Manifest,
    pub link: Option<SharedLink>,
}

#[derive(Debug, Serialize)]
pub struct SharedLink {
    pub text: String,
    pub url: String,
    pub uploaded: bool,
    pub link_file: WrittenFile,
    pub qr_png: WrittenFile,
    /// The QR code's PNG bytes, for a window to show.
    #[serde(skip)]
    pub qr_png_bytes: Vec<u8>,
    /// The encrypted file, when the patient places it themselves.
    pub encrypted_file: Option<WrittenFile>,
    /// The share host the link lives on, when made through one.
    pub host: Option<String>,
    /// Whether the link asks for the passcode (flag P).
    pub passcode_required: bool,
}

/// A SMART Health Link through a configured share host (`ownrecord hosts add`).
#[derive(Debug, Clone)]
pub struct HostLink {
    /// The host's URL, as configured.
    pub host: String,
    /// The passcode the link asks for (flag P); it also opens the package. None: the package
    /// gets a generated passcode and the link opens without one.
    pub passcode: Option<zeroize::Zeroizing<String>>,
    /// The host serves the link at most this many times.
    pub max_uses: Option<u32>,
}

/// `share`: an age-encrypted package (PDF + IPS + manifest) and, if asked, a SMART Health Link
/// to the IPS with its QR code. One disclosure row records all of it.
pub async fn share(vault: &mut Vault, request: &ShareRequest, out: &Path) -> Result<Shared> {
    share_via(vault, request, None, out).await
}

/// A PDF summary given to someone: the file, a disclosure row naming them and the purpose,
/// and a share (status `given`: a plain file cannot be taken back) on the list of shares.
#[derive(Debug)]
pub struct SharedPdf {
    /// The share's id (see `Vault::shares`).
    pub id: String,
    pub file: WrittenFile,
}

/// `share --pdf`: the PDF summary for `request.recipient`, logged as a disclosure to them (not
/// as the patient's own export). `request.link` and `expires_in_days` do not apply to a file.
pub fn share_pdf(vault: &mut Vault, request: &ShareRequest, out: &Path) -> Result<SharedPdf> {
    if request.link.is_some() {
        return Err(Error::Internal("a PDF share has no link".into()));
    }
    let selection = &request.selection;
    let (_, summary) = summarize(vault, selection)?;
    let pdf = pdf::render(&summary);
    let id = hosts::new_id();
    let what = "PDF summary";
    let record = hosts::Share {
        id: id.clone(),
        recipient: request.recipient.clone(),
        purpose: request.purpose.clone(),
        what: what.to_owned(),
        sections: selection.section_strings(),
        created: crate::clock::rfc3339(vault.clock_now()),
        expires: None,
        host: None,
        link_id: None,
        status: "given".into(),
        opens: Vec::new(),
        events_seen: 0,
        study: None,
    };
    let mut written = deliver_with(
        vault,
        AuditKind::Share,
        &[(out.to_owned(), pdf)],
        |files| {
            let sections = selection.section_strings();
            let since = selection.since.map(|d| d.to_string());
            let mut details = disclosure(
                what,
                &request.recipient,
                &request.purpose,
                &selection.disclosed(&sections, since.as_deref()),
                files,
                None,
            );
            if let Some(fields) = details.as_object_mut() {
                fields.insert("share_id".into(), serde_json::json!(id));
            }
            details
        },
        |tx| hosts::store_share(tx, &record, None),
    )?;
    Ok(SharedPdf {
        id,
        file: written.remove(0),
    })
}

/// [`share`], with the link made through a share host when `via` says so (then
/// `request.link` must be `None`). A pending disclosure row is written before the upload and
/// a completed one, with the files and the share's record, after it; a failed upload appends a
/// `failed` row and leaves nothing else.
pub async fn share_via(
    vault: &mut Vault,
    request: &ShareRequest,
    via: Option<&HostLink>,
    out: &Path,
) -> Result<Shared> {
    let selection = &request.selection;
    let created = crate::clock::rfc3339(vault.clock_now());
    let (summary, ips) = ips_bytes(vault, selection)?;
    let pdf = pdf::render(&summary);
    let pdf_document = pdf_document(&pdf, &summary, &created);
    let pdf_sha256 = sha256_hex(&pdf);
    let contents = Contents {
        files: vec![
            (package::PDF_NAME.to_owned(), "application/pdf", pdf),
            (package::IPS_NAME.to_owned(), shl::CONTENT_TYPE, ips),
        ],
        link_files: vec![2],
        link_extra: vec![pdf_document],
        link_digest: Some(("pdf_sha256", pdf_sha256)),
        what: ("share package", "share package and SMART Health Link"),
        label: format!("Health summary for {}", request.recipient),
        person: selection.person,
        sections: selection.section_strings(),
        since: selection.since.map(|d| d.to_string()),
        details: serde_json::Map::new(),
        study: None,
    };
    share_contents(vault, &request.to(), via, out, contents, |_| Ok(())).await
}

impl ShareRequest {
    fn to(&self) -> ShareTo {
        ShareTo {
            recipient: self.recipient.clone(),
            purpose: self.purpose.clone(),
            expires_in_days: self.expires_in_days,
            link: self.link.clone(),
        }
    }
}

/// Who a share is for, why, until when, and where a link made without a share host lives.
#[derive(Debug, Clone)]
pub(crate) struct ShareTo {
    pub recipient: String,
    pub purpose: String,
    pub expires_in_days: Option<u32>,
    pub link: Option<LinkRequest>,
}

/// What a share carries, made before anything leaves.
pub(crate) struct Contents {
    /// The package's files beside its manifest: name, content type, bytes.
    pub files: Vec<(String, &'static str, Vec<u8>)>,
    /// A link resolves to `files[link_files[0] - 1]` (1-based, so 0 never names a file);
    /// only the first is used for a link without a share host. The rest follow it.
    pub link_files: Vec<usize>,
    /// Files only the link carries (after `link_files`), sealed under the same key.
    pub link_extra: Vec<Vec<u8>>,
    /// Named in a host link's disclosure (the summary's PDF, whose file the link wraps).
    pub link_digest: Option<(&'static str, String)>,
    /// What the disclosure log calls the share, without and with a link.
    pub what: (&'static str, &'static str),
    pub label: String,
    pub person: Option<i64>,
    pub sections: Vec<String>,
    pub since: Option<String>,
    /// Added to each disclosure row of the share (a study, its rules, the consent's hash).
    pub details: serde_json::Map<String, serde_json::Value>,
    /// The study, for a research copy (kept with the share).
    pub study: Option<String>,
}

impl Contents {
    /// The link's files, in manifest order.
    fn linked(&self) -> Vec<&[u8]> {
        self.link_files
            .iter()
            .filter_map(|i| i.checked_sub(1).and_then(|i| self.files.get(i)))
            .map(|(_, _, bytes)| bytes.as_slice())
            .chain(self.link_extra.iter().map(Vec::as_slice))
            .collect()
    }
}

/// Makes and records a share of `contents`: the age package (its manifest first), and a link
/// when asked (through a share host when `via` says so). `also` makes a further change in the
/// transaction that records it.
pub(crate) async fn share_contents(
    vault: &mut Vault,
    request: &ShareTo,
    via: Option<&HostLink>,
    out: &Path,
    contents: Contents,
    also: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<()>,
) -> Result<Shared> {
    if via.is_some() && request.link.is_some() {
        return Err(Error::Internal(
            "a link goes either through a share host or to an address, not both".into(),
        ));
    }
    let host = via.map(|v| vault.share_host(&v.host)).transpose()?;
    let id = hosts::new_id();
    let now = vault.clock_now();
    let created = crate::clock::rfc3339(now);
    let expires_at = request
        .expires_in_days
        .map(|days| now + time::Duration::days(i64::from(days)));
    let expires = expires_at.map(crate::clock::rfc3339);
    let linked = contents.linked();
    let Some(&main) = linked.first() else {
        return Err(Error::Internal("a share carries at least one file".into()));
    };
    let content_sha256 = sha256_hex(main);
    let manifest = package::Manifest {
        format: "ownrecord-share/1".into(),
        recipient: request.recipient.clone(),
        purpose: request.purpose.clone(),
        created: created.clone(),
        expires: expires.clone(),
        sections: contents.sections.clone(),
        since: contents.since.clone(),
        files: contents
            .files
            .iter()
            .map(|(name, content_type, bytes)| package::ManifestFile::of(name, content_type, bytes))
            .collect(),
    };
    // Cannot panic: a derived struct with string keys serializes.
    #[allow(clippy::expect_used)]
    let manifest_bytes = serde_json::to_vec_pretty(&manifest).expect("a manifest serializes");
    let entries: Vec<(&str, &[u8])> =
        std::iter::once((package::MANIFEST_NAME, manifest_bytes.as_slice()))
            .chain(
                contents
                    .files
                    .iter()
                    .map(|(name, _, bytes)| (name.as_str(), bytes.as_slice())),
            )
            .collect();
    let tar = package::archive(&entries, u64::try_from(now.unix_timestamp()).unwrap_or(0))?;
    let passcode = match via.and_then(|v| v.passcode.as_ref()) {
        Some(chosen) if chosen.trim().is_empty() => {
            return Err(Error::Internal("the passcode is empty".into()));
        }
        Some(chosen) => chosen.clone(),
        None => package::generate_passcode(),
    };
    let sealed = package::encrypt(&tar, &passcode)?;
    let mut files = vec![(out.to_owned(), sealed)];
    let with_details = |mut details: serde_json::Value| {
        if let Some(fields) = details.as_object_mut() {
            for (k, v) in &contents.details {
                fields.insert(k.clone(), v.clone());
            }
        }
        details
    };

    let sibling = |suffix: &str| {
        let stem = out
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "share".into());
        out.with_file_name(format!("{stem}{suffix}"))
    };
    let label = &contents.label;
    let exp = expires_at.map(|t| t.unix_timestamp());
    let mut link_parts = None;
    if let Some(link_request) = &request.link {
        let link = shl::make(main, &link_request.url, label, exp)?;
        files.push((
            sibling(".shlink.txt"),
            format!("{}\n", link.text).into_bytes(),
        ));
        files.push((sibling(".qr.png"), link.qr_png.clone()));
        if link_request.upload {
            shl::upload(&link_request.url, &link.jwe).await?;
        } else {
            files.push((sibling(".jwe"), link.jwe.clone().into_bytes()));
        }
        link_parts = Some((link, link_request.clone(), None));
    }
    if let (Some(host), Some(via)) = (&host, via) {
        let sealed_main = shl::seal(main)?;
        let mut jwes = vec![sealed_main.jwe.clone()];
        for also in linked.iter().skip(1) {
            jwes.push(sealed_main.seal_also(also)?);
        }
        let pending = with_details(serde_json::json!({
            "event": "pending",
            "share_id": id,
            "what": contents.what.1,
            "recipient": request.recipient,
            "purpose": request.purpose,
            "person": contents.person,
            "sections": contents.sections,
            "since": contents.since,
            "expires": expires,
            "host": host.url,
            "content_sha256": content_sha256,
        }));
        vault.write(AuditKind::Share, |_| Ok(((), pending)))?;
        let failed = |vault: &mut Vault, e: &Error| {
            let details = serde_json::json!({
                "event": "failed",
                "share_id": id,
                "recipient": request.recipient,
                "host": host.url,
                "why": e.code(),
            });
            // The upload's own error is the one to report; this row is best effort.
            let _ = vault.write(AuditKind::Share, |_| Ok(((), details)));
        };
        let jwe_refs: Vec<&str> = jwes.iter().map(String::as_str).collect();
        let created = hosts::create_link(
            host,
            &hosts::NewLink {
                files: &jwe_refs,
                passcode: via.passcode.as_deref().map(String::as_str),
                expires_at: exp,
                max_uses: via.max_uses,
                label,
            },
        )
        .await;
        let created = match created {
            Ok(created) => created,
            Err(e) => {
                failed(vault, &e);
                return Err(e);
            }
        };
        let flag = if via.passcode.is_some() { "P" } else { "" };
        let link = match shl::link(
            sealed_main,
            &created.manifest_url,
            label,
            exp,
            flag,
            created.viewer(),
        ) {
            Ok(link) => link,
            Err(e) => {
                let _ = hosts::revoke_link(&host.url, &created.id, &created.management_token).await;
                failed(vault, &e);
                return Err(e);
            }
        };
        files.push((
            sibling(".shlink.txt"),
            format!("{}\n", link.text).into_bytes(),
        ));
        files.push((sibling(".qr.png"), link.qr_png.clone()));
        let request = LinkRequest {
            url: created.manifest_url.clone(),
            upload: true,
        };
        link_parts = Some((link, request, Some(created)));
    }

    let what = if link_parts.is_some() {
        contents.what.1
    } else {
        contents.what.0
    };
    let link_details = link_parts.as_ref().map(|(link, req, created)| {
        let mut details = serde_json::json!({
            "url": link.payload.url,
            "flag": link.payload.flag,
            "exp": link.payload.exp,
            "uploaded": req.upload,
            "content_sha256": content_sha256,
            "host": host.as_ref().map(|h| h.url.clone()),
            "link_id": created.as_ref().map(|c| c.id.clone()),
            "max_uses": via.and_then(|v| v.max_uses),
        });
        if let (Some(fields), Some((name, digest))) =
            (details.as_object_mut(), &contents.link_digest)
        {
            fields.insert(
                (*name).into(),
                serde_json::json!(created.as_ref().map(|_| digest)),
            );
        }
        details
    });
    let created_link = link_parts.as_ref().and_then(|(_, _, c)| c.as_ref());
    let record = hosts::Share {
        id: id.clone(),
        recipient: request.recipient.clone(),
        purpose: request.purpose.clone(),
        what: what.to_owned(),
        sections: manifest.sections.clone(),
        created: created.clone(),
        expires: expires.clone(),
        host: created_link.and(host.as_ref()).map(|h| h.url.clone()),
        link_id: created_link.map(|c| c.id.clone()),
        status: if created_link.is_some() {
            "active".into()
        } else {
            "given".into()
        },
        opens: Vec::new(),
        events_seen: 0,
        study: contents.study.clone(),
    };
    let management_token = created_link.map(|c| c.management_token.clone());
    let delivered = deliver_with(
        vault,
        AuditKind::Share,
        &files,
        |written| {
            let mut details = disclosure(
                what,
                &request.recipient,
                &request.purpose,
                &Disclosed {
                    person: contents.person,
                    sections: &contents.sections,
                    since: contents.since.as_deref(),
                },
                written,
                expires.as_deref(),
            );
            if let Some(fields) = details.as_object_mut() {
                fields.insert("package_contents".into(), serde_json::json!(manifest.files));
                fields.insert(
                    "link".into(),
                    link_details.unwrap_or(serde_json::Value::Null),
                );
                fields.insert("share_id".into(), serde_json::json!(id));
                if host.is_some() {
                    fields.insert("event".into(), serde_json::json!("completed"));
                }
            }
            with_details(details)
        },
        |tx| {
            hosts::store_share(tx, &record, management_token.as_deref())?;
            also(tx)
        },
    );
    let mut written = match delivered {
        Ok(written) => written.into_iter(),
        Err(e) => {
            if let (Some(host), Some(created)) = (&host, created_link) {
                // The files could not be put in place: take the link back at the host.
                let _ = hosts::revoke_link(&host.url, &created.id, &created.management_token).await;
                let details = serde_json::json!({
                    "event": "failed",
                    "share_id": id,
                    "recipient": request.recipient,
                    "host": host.url,
                    "why": e.code(),
                });
                let _ = vault.write(AuditKind::Share, |_| Ok(((), details)));
            }
            return Err(e);
        }
    };
    // Cannot panic (here and for the link): `deliver` returns one path for each file given, in
    // order, and `files` holds the package, then the link's two files when there is a link.
    #[allow(clippy::expect_used)]
    let package_file = written.next().expect("the package was written");
    let host_url = host.map(|h| h.url);
    #[allow(clippy::expect_used)]
    let link = link_parts.map(|(link, req, created)| SharedLink {
        passcode_required: link.payload.flag.contains('P'),
        host: created.and(host_url.clone()),
        text: link.text,
        url: req.url,
        uploaded: req.upload,
        link_file: written.next().expect("the link was written"),
        qr_png: written.next().expect("the QR code was written"),
        qr_png_bytes: link.qr_png,
        encrypted_file: written.next(),
    });
    Ok(Shared {
        id,
        package: package_file,
        passcode,
        expires,
        manifest,
        link,
    })
}
