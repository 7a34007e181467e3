//! A de-identified research copy of one person's record, for a study the patient names.
//!
//! [`prepare`] makes the whole copy in memory and writes nothing: its [`ResearchPreview`] says
//! what goes (counts per type and a few rows exactly as they leave), what is removed, to whom
//! and for which study, and the consent statement the patient confirms. Only then does
//! [`export`] (plain files: NDJSON per type and a manifest) or [`share`] (an encrypted package,
//! and a link through a share host) give out those same bytes, with a disclosure row naming the
//! recipient, the study, the rules and their version, each file's SHA-256 and the consent
//! text's SHA-256. Dropping a prepared copy (cancelling) leaves no trace.
//!
//! Identifiers, references and ids become pseudonyms under a secret per study, kept in the
//! vault's preferences (`research_study/<id>`) from the first copy given: later copies for the
//! same study link up, two studies' copies cannot. [`stop`] ("stop sending updates") destroys
//! the secret, so a later copy for that study no longer links to the earlier ones. (Backups made
//! before the stop still hold it, encrypted like the rest; restoring one brings it back.)
//!
//! ```text
//! DIR/<Type>.ndjson   the person's de-identified resources of that type, one per line
//! DIR/manifest.json   the study, recipient, rules and version, and each file's SHA-256
//! ```

pub mod rules;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use zeroize::Zeroizing;

use crate::audit::AuditKind;
use crate::error::{Error, Result};
use crate::export::folder::{FolderFile, Staged};
use crate::export::record::Record;
use crate::export::{Contents, HostLink, ShareTo, Shared, hosts, sha256_hex};
use crate::vault::{Vault, preferences};
use rules::{Pseudonyms, Removed, Rules};

const STUDY_PREFIX: &str = "research_study/";
pub const MANIFEST_NAME: &str = "manifest.json";
pub const FORMAT: &str = "ownrecord-research-copy/1";
/// The purpose every research copy's disclosure row and share carry.
pub const PURPOSE: &str = "research";

/// What the patient asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResearchRequest {
    /// The study's id, as the researcher gave it (letters, digits, `.`, `-`, `_`, `:`, `/`).
    pub study: String,
    /// Who receives it.
    pub recipient: String,
    /// Whose record (none: the only person).
    pub person: Option<i64>,
    /// Keep the days between events (each date also says how many days after the record's
    /// first event it is): more useful, and easier to re-identify.
    pub keep_intervals: bool,
}

/// How many resources of a type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "ResearchTypeCount"))]
pub struct TypeCount {
    pub resource_type: String,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub count: u64,
}

/// One kind of detail taken out, in words, with the elements it covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RemovedKind {
    pub what: String,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub count: u64,
    /// The element paths (`Patient.name`, `Observation.note`, ...).
    pub elements: Vec<String>,
}

/// One row exactly as it leaves (a line of its type's NDJSON file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ExampleRow {
    pub resource_type: String,
    pub line: String,
}

/// Everything the patient sees before a research copy is given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ResearchPreview {
    pub study: String,
    pub recipient: String,
    pub purpose: String,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub person: i64,
    /// The rules and their version (`ownrecord-safe-harbor/1`).
    pub rules: String,
    pub keep_intervals: bool,
    /// Copies already given to this study link up with this one (same pseudonyms).
    pub links_to_earlier: bool,
    /// The study was stopped before: this copy does not link to the earlier ones.
    pub restarted: bool,
    /// What goes, per resource type.
    pub counts: Vec<TypeCount>,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub resources: u64,
    /// What stays home whole: resource types a research copy never carries, and resources
    /// left with nothing worth sending (e.g. `Goal (no code left once free text is removed)`).
    pub left_out: Vec<TypeCount>,
    /// What is taken out of the resources that go.
    pub removed: Vec<RemovedKind>,
    /// What is kept, in words.
    pub kept: Vec<String>,
    pub examples: Vec<ExampleRow>,
    /// The statement the patient confirms, and its SHA-256 (hex), which the confirmation sends
    /// back and the disclosure log keeps.
    pub consent: String,
    pub consent_sha256: String,
}

/// A research copy made in memory: the preview and exactly the bytes it describes.
pub struct ResearchCopy {
    pub preview: ResearchPreview,
    /// `<Type>.ndjson` files, then the manifest.
    files: Vec<(String, Vec<u8>)>,
    /// The de-identified resources, for a link's Bundle.
    resources: Vec<Value>,
    secret: Zeroizing<[u8; 32]>,
    /// The study's secret is new (stored when the copy is given).
    new_secret: bool,
}

impl std::fmt::Debug for ResearchCopy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResearchCopy")
            .field("study", &self.preview.study)
            .field("resources", &self.preview.resources)
            .finish_non_exhaustive()
    }
}

impl ResearchCopy {
    /// The files as they will be written: relative name and bytes (the manifest last).
    pub fn files(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.files.iter().map(|(n, b)| (n.as_str(), b.as_slice()))
    }
}

/// A research copy written as plain files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResearchExport {
    /// The share's id (`ownrecord shares`).
    pub id: String,
    pub dir: std::path::PathBuf,
    pub files: Vec<FolderFile>,
    pub resources: u64,
    pub manifest_sha256: String,
}

/// A study the patient has given copies to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Study {
    pub study: String,
    pub recipients: Vec<String>,
    pub first_copy: String,
    pub last_copy: String,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub copies: u64,
    /// When updates were stopped (the secret destroyed); none while copies still link.
    pub stopped: Option<String>,
}

/// A study as stored: with its secret while it is not stopped.
#[derive(Serialize, Deserialize)]
struct StoredStudy {
    #[serde(flatten)]
    study: Study,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
}

/// Checks a study id: 1 to 100 visible characters from a small set, so it can name a
/// preference, a file and a log row without quoting.
fn check_study(study: &str) -> Result<&str> {
    let study = study.trim();
    let fine = !study.is_empty()
        && study.chars().count() <= 100
        && study
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':' | '/'));
    if fine {
        Ok(study)
    } else {
        Err(Error::BadStudy)
    }
}

fn stored_study(vault: &Vault, study: &str) -> Result<Option<StoredStudy>> {
    preferences::get(vault.db(), &format!("{STUDY_PREFIX}{study}"))?
        .map(|json| {
            serde_json::from_str(&json)
                .map_err(|_| Error::Corrupt("a study's record is not valid JSON".into()))
        })
        .transpose()
}

fn to_json<T: Serialize>(value: &T) -> String {
    // Cannot fail: derived structs with string keys serialize.
    serde_json::to_string(value).unwrap_or_default()
}

/// The studies copies were given to, by id.
pub fn studies(vault: &Vault) -> Result<Vec<Study>> {
    preferences::list(vault.db(), STUDY_PREFIX)?
        .into_iter()
        .map(|(_, json)| {
            serde_json::from_str::<StoredStudy>(&json)
                .map(|s| s.study)
                .map_err(|_| Error::Corrupt("a study's record is not valid JSON".into()))
        })
        .collect()
}

/// "Stop sending updates": destroys the study's secret, so a later copy for it does not link
/// to the earlier ones. Recorded in the disclosure log.
pub fn stop(vault: &mut Vault, study: &str) -> Result<Study> {
    let study = check_study(study)?;
    let Some(mut stored) = stored_study(vault, study)? else {
        return Err(Error::UnknownStudy(study.to_owned()));
    };
    if stored.secret.is_none() {
        return Ok(stored.study);
    }
    stored.secret = None;
    stored.study.stopped = Some(vault.now());
    let details = json!({"event": "study_stopped", "study": study, "purpose": PURPOSE});
    let name = format!("{STUDY_PREFIX}{study}");
    let value = to_json(&stored);
    vault.write(AuditKind::Share, |tx| {
        preferences::set(tx, &name, Some(&value))?;
        Ok(((), details))
    })?;
    Ok(stored.study)
}

/// Makes the research copy of `request` in memory; nothing is written.
pub fn prepare(vault: &Vault, request: &ResearchRequest) -> Result<ResearchCopy> {
    let study = check_study(&request.study)?.to_owned();
    let recipient = request.recipient.trim().to_owned();
    if recipient.is_empty() {
        return Err(Error::NoRecipient);
    }
    let record = Record::load_types(vault, request.person, rules::TYPES, rules::SHARED_TYPES)?;
    let person = record.person.id;
    let stored = stored_study(vault, &study)?;
    let earlier = stored
        .as_ref()
        .and_then(|s| s.secret.as_deref())
        .and_then(|hex_text| <[u8; 32]>::try_from(hex::decode(hex_text).ok()?).ok());
    let restarted = stored.is_some() && earlier.is_none();
    let (secret, new_secret) = match earlier {
        Some(bytes) => (Zeroizing::new(bytes), false),
        None => (
            Zeroizing::new(crate::vault::key::random_bytes::<32>()),
            true,
        ),
    };
    let pseudonyms = Pseudonyms::new(secret.clone());

    // The person's resources (one Patient: the record's), and the Medications they name.
    let mut inputs: Vec<&Value> = vec![&record.patient];
    for resource_type in rules::TYPES.iter().filter(|t| **t != "Patient") {
        inputs.extend(record.all(resource_type));
    }
    let named_medications: BTreeSet<String> = inputs
        .iter()
        .filter_map(|r| r.pointer("/medicationReference/reference")?.as_str())
        .filter_map(|r| r.strip_prefix("Medication/"))
        .map(str::to_owned)
        .collect();
    inputs.extend(record.all("Medication").filter(|m| {
        m.get("id")
            .and_then(Value::as_str)
            .is_some_and(|id| named_medications.contains(id))
    }));
    let rules = Rules {
        pseudonyms: &pseudonyms,
        patient_ids: record
            .person
            .sources
            .iter()
            .map(|s| s.patient_id.clone())
            .chain(std::iter::once(record.patient_id().to_owned()))
            .collect(),
        person: pseudonyms.of("person", &person.to_string()),
        today: vault.clock_now().date(),
        intervals: request
            .keep_intervals
            .then(|| rules::first_event(&inputs))
            .flatten(),
    };
    let mut removed = Removed::default();
    let mut by_type: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    let mut resources = Vec::new();
    for input in &inputs {
        let Some(out) = rules.resource(input, &mut removed) else {
            continue;
        };
        let resource_type = out
            .get("resourceType")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let id = out
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        by_type
            .entry(resource_type)
            .or_default()
            .push((id, out.to_string()));
        resources.push(out);
    }
    // By pseudonym: the order of the lines tells nothing about the record.
    for lines in by_type.values_mut() {
        lines.sort();
        lines.dedup();
    }
    resources.sort_by(|a, b| {
        let key = |r: &Value| (r["resourceType"].to_string(), r["id"].to_string());
        key(a).cmp(&key(b))
    });

    let counts: Vec<TypeCount> = by_type
        .iter()
        .map(|(t, lines)| TypeCount {
            resource_type: t.clone(),
            count: lines.len() as u64,
        })
        .collect();
    let total: u64 = counts.iter().map(|c| c.count).sum();
    let mut left_out: Vec<TypeCount> = vault
        .summary(Some(person))?
        .by_type
        .into_iter()
        .filter(|t| !rules::TYPES.contains(&t.resource_type.as_str()))
        .map(|t| TypeCount {
            resource_type: t.resource_type,
            count: u64::try_from(t.count).unwrap_or(0),
        })
        .collect();
    left_out.extend(removed.left_out.iter().map(|(what, count)| TypeCount {
        resource_type: what.clone(),
        count: *count,
    }));
    let mut kinds: BTreeMap<&'static str, RemovedKind> = BTreeMap::new();
    for (path, count) in &removed.by_path {
        let what = rules::category(path.split(['(', ' ']).next().unwrap_or(path));
        let kind = kinds.entry(what).or_insert_with(|| RemovedKind {
            what: what.to_owned(),
            count: 0,
            elements: Vec::new(),
        });
        kind.count = kind.count.saturating_add(*count);
        kind.elements.push(path.clone());
    }
    let mut removed_kinds: Vec<RemovedKind> = kinds.into_values().collect();
    removed_kinds.push(RemovedKind {
        what: "Days and months of every date (the year stays)".into(),
        count: 0,
        elements: Vec::new(),
    });
    removed_kinds.push(RemovedKind {
        what:
            "Record numbers and other identifiers, replaced by codes only this study's copies share"
                .into(),
        count: 0,
        elements: Vec::new(),
    });
    let mut kept = vec![
        "Codes of problems, medicines, allergies, immunizations, procedures, tests and visits".to_owned(),
        "Results with their values, units and reference ranges; statuses".to_owned(),
        "Sex, the year of birth (\"90 or older\" past 89), race and ethnicity, the state and the first three digits of the ZIP code".to_owned(),
        "The year of each date".to_owned(),
    ];
    if request.keep_intervals {
        kept.push(
            "The number of days between events (this makes the record easier to recognise)".into(),
        );
    }

    let examples: Vec<ExampleRow> = [
        "Patient",
        "Condition",
        "Observation",
        "MedicationRequest",
        "Immunization",
        "Procedure",
    ]
    .iter()
    .filter_map(|t| {
        let (_, line) = by_type.get(*t)?.first()?;
        Some(ExampleRow {
            resource_type: (*t).to_owned(),
            line: line.clone(),
        })
    })
    .collect();

    let consent = consent_text(
        &study,
        &recipient,
        total,
        request.keep_intervals,
        stored.is_some() && !restarted,
        restarted,
    );
    let consent_sha256 = sha256_hex(consent.as_bytes());

    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let mut listed = Vec::new();
    for (resource_type, lines) in &by_type {
        let mut bytes = Vec::new();
        for (_, line) in lines {
            bytes.extend_from_slice(line.as_bytes());
            bytes.push(b'\n');
        }
        let name = format!("{resource_type}.ndjson");
        listed.push(json!({
            "path": name,
            "resource_type": resource_type,
            "resources": lines.len(),
            "bytes": bytes.len(),
            "sha256": sha256_hex(&bytes),
        }));
        files.push((name, bytes));
    }
    let manifest = json!({
        "format": FORMAT,
        "rules": rules::RULES_VERSION,
        "deidentification": "HIPAA Safe Harbor, 45 CFR 164.514(b)(2)",
        "study": study,
        "recipient": recipient,
        "purpose": PURPOSE,
        "subject": format!("Patient/{}", rules.person),
        "pseudonyms": {
            "identifier_system": rules::PSEUDONYM_SYSTEM,
            "stable_within": "this study's copies",
        },
        "intervals": {
            "kept": request.keep_intervals,
            "extension": request.keep_intervals.then_some(rules::DAYS_URL),
        },
        "ages_over_89": {"extension": rules::AGE_GROUP_URL, "value": rules::NINETY_OR_OLDER},
        "resources": total,
        "removed": removed_kinds.iter().map(|k| &k.what).collect::<Vec<_>>(),
        "kept": kept,
        "files": listed,
    });
    // Cannot fail: a JSON value serializes.
    let manifest_bytes = serde_json::to_vec_pretty(&manifest).unwrap_or_default();
    files.push((MANIFEST_NAME.to_owned(), manifest_bytes));

    Ok(ResearchCopy {
        preview: ResearchPreview {
            study,
            recipient,
            purpose: PURPOSE.into(),
            person,
            rules: rules::RULES_VERSION.into(),
            keep_intervals: request.keep_intervals,
            links_to_earlier: !new_secret,
            restarted,
            counts,
            resources: total,
            left_out,
            removed: removed_kinds,
            kept,
            examples,
            consent,
            consent_sha256,
        },
        files,
        resources,
        secret,
        new_secret,
    })
}

fn consent_text(
    study: &str,
    recipient: &str,
    resources: u64,
    keep_intervals: bool,
    links: bool,
    restarted: bool,
) -> String {
    let mut text = format!(
        "I agree to give {recipient} a de-identified copy of my health record for the study \"{study}\". \
         It holds {resources} entries: codes, results with their values and units, and the year of each date. \
         It leaves out my name, my address except the state and the first three digits of my ZIP code, \
         every day and month of a date, my phone numbers and email, my record numbers and other identifiers, \
         and all free text, notes and documents."
    );
    if keep_intervals {
        text += " It keeps the number of days between events, which makes my record easier to recognise.";
    }
    if links {
        text += " It can be linked with the copies I gave this study before.";
    } else if restarted {
        text += " I stopped updates to this study before: this copy cannot be linked with the earlier ones.";
    }
    text += " Once given, a copy cannot be taken back; I can stop sending updates to this study at any time.";
    text
}

impl ResearchCopy {
    fn check_consent(&self, consent_sha256: &str) -> Result<()> {
        if consent_sha256
            .trim()
            .eq_ignore_ascii_case(&self.preview.consent_sha256)
        {
            Ok(())
        } else {
            Err(Error::ConsentNotGiven)
        }
    }

    /// The study's record after this copy, to store with its disclosure row.
    fn study_after(&self, vault: &Vault) -> Result<(String, String)> {
        let now = vault.now();
        let study = &self.preview.study;
        let mut stored = match stored_study(vault, study)? {
            Some(stored) => stored,
            None => StoredStudy {
                study: Study {
                    study: study.clone(),
                    recipients: Vec::new(),
                    first_copy: now.clone(),
                    last_copy: now.clone(),
                    copies: 0,
                    stopped: None,
                },
                secret: None,
            },
        };
        if self.new_secret {
            stored.secret = Some(hex::encode(self.secret.as_slice()));
            stored.study.stopped = None;
        }
        stored.study.copies = stored.study.copies.saturating_add(1);
        stored.study.last_copy = now;
        if !stored.study.recipients.contains(&self.preview.recipient) {
            stored.study.recipients.push(self.preview.recipient.clone());
        }
        Ok((format!("{STUDY_PREFIX}{study}"), to_json(&stored)))
    }

    /// What every disclosure row of this copy adds.
    fn details(&self) -> serde_json::Map<String, Value> {
        let mut fields = serde_json::Map::new();
        fields.insert("study".into(), json!(self.preview.study));
        fields.insert("rules".into(), json!(self.preview.rules));
        fields.insert("keep_intervals".into(), json!(self.preview.keep_intervals));
        fields.insert("consent_sha256".into(), json!(self.preview.consent_sha256));
        fields.insert("resources".into(), json!(self.preview.resources));
        fields
    }

    fn share_record(&self, id: &str, what: &str, created: String) -> hosts::Share {
        hosts::Share {
            id: id.to_owned(),
            recipient: self.preview.recipient.clone(),
            purpose: PURPOSE.into(),
            what: what.to_owned(),
            sections: self
                .preview
                .counts
                .iter()
                .map(|c| c.resource_type.clone())
                .collect(),
            created,
            expires: None,
            host: None,
            link_id: None,
            status: "given".into(),
            opens: Vec::new(),
            events_seen: 0,
            study: Some(self.preview.study.clone()),
        }
    }
}

/// `export research`: writes `copy` as plain files into `dir` (new or empty), with its
/// disclosure row, once the patient confirmed the consent statement whose SHA-256 is
/// `consent_sha256`.
pub fn export(
    vault: &mut Vault,
    copy: &ResearchCopy,
    dir: &Path,
    consent_sha256: &str,
) -> Result<ResearchExport> {
    copy.check_consent(consent_sha256)?;
    let staged = Staged::new(dir)?;
    let mut files = Vec::new();
    for (name, bytes) in &copy.files {
        files.push(staged.write(name, bytes)?);
    }
    let manifest_sha256 = files
        .iter()
        .find(|f| f.path == MANIFEST_NAME)
        .map(|f| f.sha256.clone())
        .unwrap_or_default();
    let id = hosts::new_id();
    let what = "research copy (de-identified files)";
    let mut details = json!({
        "what": what,
        "recipient": copy.preview.recipient,
        "purpose": PURPOSE,
        "person": copy.preview.person,
        "folder": dir.display().to_string(),
        "files": files,
        "content_sha256": manifest_sha256,
        "share_id": id,
    });
    if let Some(fields) = details.as_object_mut() {
        fields.extend(copy.details());
    }
    let (study_name, study_value) = copy.study_after(vault)?;
    let record = copy.share_record(&id, what, crate::clock::rfc3339(vault.clock_now()));
    staged.place(vault, AuditKind::Share, details, |tx| {
        preferences::set(tx, &study_name, Some(&study_value))?;
        hosts::store_share(tx, &record, None)
    })?;
    Ok(ResearchExport {
        id,
        dir: dir.to_owned(),
        files,
        resources: copy.preview.resources,
        manifest_sha256,
    })
}

/// `share --purpose research --deidentify`: `copy` in an encrypted package (its files and
/// manifest), and with `via` a SMART Health Link through a share host to the same resources
/// as one FHIR Bundle (type collection); one disclosure row records it all.
pub async fn share(
    vault: &mut Vault,
    copy: &ResearchCopy,
    consent_sha256: &str,
    expires_in_days: Option<u32>,
    via: Option<&HostLink>,
    out: &Path,
) -> Result<Shared> {
    copy.check_consent(consent_sha256)?;
    let bundle = json!({
        "resourceType": "Bundle",
        "type": "collection",
        "entry": copy.resources.iter().map(|r| json!({"resource": r})).collect::<Vec<_>>(),
    });
    // Cannot fail: a JSON value serializes.
    let bundle_bytes = serde_json::to_vec(&bundle).unwrap_or_default();
    // The package holds the files as `export research` writes them, its own manifest beside.
    let mut files: Vec<(String, &'static str, Vec<u8>)> = copy
        .files
        .iter()
        .map(|(name, bytes)| {
            if name == MANIFEST_NAME {
                (
                    PACKAGED_MANIFEST.to_owned(),
                    "application/json",
                    bytes.clone(),
                )
            } else {
                (name.clone(), "application/fhir+ndjson", bytes.clone())
            }
        })
        .collect();
    files.push((
        BUNDLE_NAME.to_owned(),
        crate::export::shl::CONTENT_TYPE,
        bundle_bytes,
    ));
    let bundle_index = files.len();
    let (study_name, study_value) = copy.study_after(vault)?;
    let contents = Contents {
        files,
        link_files: vec![bundle_index],
        link_extra: Vec::new(),
        link_digest: None,
        what: (
            "research copy (de-identified package)",
            "research copy (de-identified package and SMART Health Link)",
        ),
        label: format!("De-identified record for study {}", copy.preview.study),
        person: Some(copy.preview.person),
        sections: copy
            .preview
            .counts
            .iter()
            .map(|c| c.resource_type.clone())
            .collect(),
        since: None,
        details: copy.details(),
        study: Some(copy.preview.study.clone()),
    };
    let to = ShareTo {
        recipient: copy.preview.recipient.clone(),
        purpose: PURPOSE.into(),
        expires_in_days,
        link: None,
    };
    crate::export::share_contents(vault, &to, via, out, contents, |tx| {
        preferences::set(tx, &study_name, Some(&study_value))
    })
    .await
}

/// The Bundle of the whole copy inside a package (and the file a link resolves to).
pub const BUNDLE_NAME: &str = "research-copy.bundle.json";

/// The research manifest's name inside a package (beside the package's own `manifest.json`).
pub const PACKAGED_MANIFEST: &str = "research-manifest.json";
