//! What the patient adds to their own record: a medicine they take, an allergy, a problem, a
//! measurement, a note on any entry, an uploaded PDF or photo.
//!
//! Each is a FHIR R4 resource authored by the patient (`informationSource`, `recorder`,
//! `asserter`, `performer` or `author` is their Patient), stored like everything else (entry
//! index, search, history, audit row, backups, full export) in a source of its own per person:
//! kind `self`, named "Added by me", whose Patient (`me-<person id>`) carries the person's name,
//! birth date and sex so that it reads as the same human everywhere. The window marks these
//! entries "added by me", the PDF and IPS "patient-reported"; nothing here is ever sent to a
//! portal.

use std::io::Read;
use std::path::Path;

use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::Digest;

use crate::audit::AuditKind;
use crate::error::{Error, OwnEntryProblem, Result};
use crate::fhir::{Entry, ResourceFacts};
use crate::vault::resources::{self, ResourceWriter, SourceKind};
use crate::vault::{Vault, people};

/// The name of every person's own source.
pub const OWN_SOURCE_NAME: &str = "Added by me";

/// The tag on every resource the patient added.
pub const OWN_TAG_SYSTEM: &str = "https://ownrecord.org/fhir/CodeSystem/provenance";
pub const OWN_TAG_CODE: &str = "patient-reported";

/// The largest upload kept (a scanned letter, a photo of a prescription).
pub const MAX_UPLOAD_BYTES: usize = 32 * 1024 * 1024;

/// The longest text a field takes (a name, a dose, a note).
const MAX_TEXT_CHARS: usize = 10_000;

/// A measurement the patient takes at home.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum Measure {
    /// kg
    Weight,
    /// cm
    Height,
    /// mm[Hg], systolic and diastolic
    BloodPressure,
    /// beats per minute
    HeartRate,
    /// mg/dL
    Glucose,
    /// °C
    Temperature,
}

impl Measure {
    /// LOINC code, display, UCUM unit and the plausible range of a reading.
    fn spec(self) -> (&'static str, &'static str, &'static str, f64, f64) {
        match self {
            Measure::Weight => ("29463-7", "Body weight", "kg", 0.2, 700.0),
            Measure::Height => ("8302-2", "Body height", "cm", 20.0, 280.0),
            Measure::BloodPressure => ("85354-9", "Blood pressure panel", "mm[Hg]", 10.0, 350.0),
            Measure::HeartRate => ("8867-4", "Heart rate", "/min", 10.0, 350.0),
            Measure::Glucose => (
                "2339-0",
                "Glucose [Mass/volume] in Blood",
                "mg/dL",
                5.0,
                2000.0,
            ),
            Measure::Temperature => ("8310-5", "Body temperature", "Cel", 25.0, 45.0),
        }
    }
}

/// What the patient adds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum OwnEntry {
    /// A medicine they take (e.g. bought over the counter), since a day.
    Medication {
        name: String,
        dose: Option<String>,
        since: Option<String>,
    },
    Allergy {
        substance: String,
        reaction: Option<String>,
    },
    Problem {
        name: String,
        since: Option<String>,
    },
    /// A reading taken on `date` (`YYYY-MM-DD`); blood pressure has `second` (diastolic).
    Measurement {
        measure: Measure,
        value: f64,
        second: Option<f64>,
        date: String,
    },
    /// A note on an entry of their record (`Type/id`).
    Note {
        about: String,
        text: String,
    },
    /// A PDF or a photo (JPEG, PNG), kept encrypted in the vault.
    Upload {
        title: String,
        file_name: String,
        content_type: String,
        #[cfg_attr(feature = "ts", ts(type = "Array<number>"))]
        data: Vec<u8>,
    },
}

/// What was added.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct OwnAdded {
    pub resource_type: String,
    pub id: String,
}

/// Sets `key` of a JSON object made here.
fn set(resource: &mut Value, key: &str, value: Value) {
    if let Some(object) = resource.as_object_mut() {
        object.insert(key.to_owned(), value);
    }
}

fn text(field: &Option<String>) -> Option<&str> {
    field.as_deref().map(str::trim).filter(|t| !t.is_empty())
}

fn required(field: &str, problem: OwnEntryProblem) -> Result<&str> {
    let field = field.trim();
    if field.is_empty() {
        return Err(Error::OwnEntry(problem));
    }
    if field.chars().count() > MAX_TEXT_CHARS {
        return Err(Error::OwnEntry(OwnEntryProblem::TooLong));
    }
    Ok(field)
}

/// A day as `YYYY-MM-DD`, not after today.
fn day(text: &str, today: time::Date) -> Result<String> {
    let date = crate::export::parse_date(text.trim())?;
    if date > today {
        return Err(Error::OwnEntry(OwnEntryProblem::InTheFuture));
    }
    Ok(date.to_string())
}

impl OwnEntry {
    /// The resource, authored by the patient `patient` (`Patient/<id>` is them), made `now`.
    fn resource(&self, id: &str, patient: &str, now: &str, today: time::Date) -> Result<Value> {
        let me = json!({"reference": patient});
        let tag = json!({"tag": [{"system": OWN_TAG_SYSTEM, "code": OWN_TAG_CODE, "display": "Added by the patient"}]});
        let resource = match self {
            OwnEntry::Medication { name, dose, since } => {
                let name = required(name, OwnEntryProblem::NoName)?;
                let mut r = json!({
                    "resourceType": "MedicationStatement", "id": id, "meta": tag,
                    "status": "active",
                    "medicationCodeableConcept": {"text": name},
                    "subject": me, "informationSource": me, "dateAsserted": now,
                });
                if let Some(dose) = text(dose) {
                    set(
                        &mut r,
                        "dosage",
                        json!([{"text": required(dose, OwnEntryProblem::NoName)?}]),
                    );
                }
                if let Some(since) = text(since) {
                    set(
                        &mut r,
                        "effectivePeriod",
                        json!({"start": day(since, today)?}),
                    );
                }
                r
            }
            OwnEntry::Allergy {
                substance,
                reaction,
            } => {
                let substance = required(substance, OwnEntryProblem::NoName)?;
                let mut r = json!({
                    "resourceType": "AllergyIntolerance", "id": id, "meta": tag,
                    "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "code": "active"}]},
                    "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification", "code": "unconfirmed"}]},
                    "code": {"text": substance},
                    "patient": me, "recordedDate": now, "recorder": me, "asserter": me,
                });
                if let Some(reaction) = text(reaction) {
                    set(
                        &mut r,
                        "reaction",
                        json!([{"manifestation": [{"text": required(reaction, OwnEntryProblem::NoName)?}]}]),
                    );
                }
                r
            }
            OwnEntry::Problem { name, since } => {
                let name = required(name, OwnEntryProblem::NoName)?;
                let mut r = json!({
                    "resourceType": "Condition", "id": id, "meta": tag,
                    "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]},
                    "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "provisional"}]},
                    "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-category", "code": "problem-list-item"}]}],
                    "code": {"text": name},
                    "subject": me, "recordedDate": now, "recorder": me, "asserter": me,
                });
                if let Some(since) = text(since) {
                    set(&mut r, "onsetDateTime", json!(day(since, today)?));
                }
                r
            }
            OwnEntry::Measurement {
                measure,
                value,
                second,
                date,
            } => {
                let (code, display, unit, low, high) = measure.spec();
                let plausible = |v: f64| v.is_finite() && (low..=high).contains(&v);
                let quantity = |v: f64| json!({"value": v, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit});
                if !plausible(*value) || second.is_some_and(|s| !plausible(s)) {
                    return Err(Error::OwnEntry(OwnEntryProblem::Implausible));
                }
                let mut r = json!({
                    "resourceType": "Observation", "id": id, "meta": tag,
                    "status": "final",
                    "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}]}],
                    "code": {"coding": [{"system": "http://loinc.org", "code": code, "display": display}], "text": display},
                    "subject": me, "performer": [me],
                    "effectiveDateTime": day(date, today)?,
                });
                match (measure, second) {
                    (Measure::BloodPressure, Some(diastolic)) => {
                        set(
                            &mut r,
                            "component",
                            json!([
                                {"code": {"coding": [{"system": "http://loinc.org", "code": "8480-6", "display": "Systolic blood pressure"}]}, "valueQuantity": quantity(*value)},
                                {"code": {"coding": [{"system": "http://loinc.org", "code": "8462-4", "display": "Diastolic blood pressure"}]}, "valueQuantity": quantity(*diastolic)},
                            ]),
                        );
                    }
                    (Measure::BloodPressure, None) => {
                        return Err(Error::OwnEntry(OwnEntryProblem::Implausible));
                    }
                    _ => set(&mut r, "valueQuantity", quantity(*value)),
                }
                r
            }
            OwnEntry::Note { about, text } => {
                let text = required(text, OwnEntryProblem::NoText)?;
                let encoded = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
                json!({
                    "resourceType": "DocumentReference", "id": id, "meta": tag,
                    "status": "current",
                    "type": {"coding": [{"system": "http://loinc.org", "code": "51855-5", "display": "Patient Note"}]},
                    "subject": me, "date": now, "author": [me],
                    "description": "Note added by the patient",
                    "content": [{"attachment": {"contentType": "text/plain; charset=utf-8", "data": encoded, "title": "Note", "creation": now}}],
                    "context": {"related": [{"reference": about}]},
                })
            }
            OwnEntry::Upload {
                title,
                file_name,
                content_type,
                data,
            } => {
                let title = required(title, OwnEntryProblem::NoName)?;
                let content_type = content_type.trim().to_ascii_lowercase();
                // One of the three kinds, and the bytes are one.
                if sniff_content_type(data) != Some(content_type.as_str()) {
                    return Err(Error::OwnEntry(OwnEntryProblem::FileType));
                }
                if data.len() > MAX_UPLOAD_BYTES {
                    return Err(Error::OwnEntry(OwnEntryProblem::TooLarge));
                }
                let engine = base64::engine::general_purpose::STANDARD;
                json!({
                    "resourceType": "DocumentReference", "id": id, "meta": tag,
                    "status": "current",
                    // What the lists show: the patient's own title.
                    "type": {"text": title},
                    "subject": me, "date": now, "author": [me],
                    "description": title,
                    "content": [{"attachment": {
                        "contentType": content_type,
                        "data": engine.encode(data),
                        "title": file_name.trim(),
                        "size": data.len(),
                        "creation": now,
                    }}],
                    // The document view shows the upload only if it still has this SHA-256.
                    "identifier": [{"system": "urn:ietf:rfc:3986",
                                    "value": format!("urn:sha256:{}", hex::encode(sha2::Sha256::digest(data)))}],
                })
            }
        };
        Ok(resource)
    }

    fn kind(&self) -> &'static str {
        match self {
            OwnEntry::Medication { .. } => "medication",
            OwnEntry::Allergy { .. } => "allergy",
            OwnEntry::Problem { .. } => "problem",
            OwnEntry::Measurement { .. } => "measurement",
            OwnEntry::Note { .. } => "note",
            OwnEntry::Upload { .. } => "upload",
        }
    }
}

impl Vault {
    /// Adds `entry` to `person`'s record as their own (source "Added by me"), with an audit
    /// row naming its kind (never its content).
    pub fn add_own(&mut self, person: i64, entry: &OwnEntry) -> Result<OwnAdded> {
        let who = self.person(person)?;
        if let OwnEntry::Note { about, .. } = entry {
            let (resource_type, id) = about
                .split_once('/')
                .ok_or_else(|| Error::NoSuchResource(about.clone()))?;
            // Only on an entry of this person's record.
            self.resource(person, resource_type, id)?;
        }
        let now = self.now();
        let today = self.clock_now().date();
        let patient_id = format!("me-{person}");
        let id = crate::export::hosts::new_id();
        let resource = entry.resource(&id, &format!("Patient/{patient_id}"), &now, today)?;
        let mut patient = json!({
            "resourceType": "Patient", "id": patient_id,
            "meta": {"tag": [{"system": OWN_TAG_SYSTEM, "code": OWN_TAG_CODE}]},
            "name": [{"text": who.name}],
        });
        if let Some(birth) = &who.birth_date {
            set(&mut patient, "birthDate", json!(birth));
        }
        if let Some(gender) = &who.gender {
            set(&mut patient, "gender", json!(gender));
        }
        let resource_type = resource
            .get("resourceType")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let details = json!({
            "what": entry.kind(),
            "resource_type": resource_type,
            "person": person,
            "source": OWN_SOURCE_NAME,
        });
        self.write(AuditKind::OwnEntry, |tx| {
            let source =
                resources::source_id(tx, SourceKind::Own, OWN_SOURCE_NAME, &patient_id, &now)?;
            if people::linked_person(tx, source, &patient_id)?.is_none() {
                people::link_own_patient(tx, source, &patient_id, person, &now)?;
            }
            let mut writer = ResourceWriter::new(tx);
            for value in [&patient, &resource] {
                let facts = ResourceFacts::of(value)
                    .map_err(|_| Error::Internal("an own entry is not a resource".into()))?;
                let entry = Entry::read(value);
                writer.put(source, &facts, &entry, &value.to_string(), &now)?;
            }
            writer.finish()?;
            Ok(((), details))
        })?;
        Ok(OwnAdded { resource_type, id })
    }
}

/// The content type of an upload, from its first bytes (never from its name): PDF, JPEG or PNG.
pub fn sniff_content_type(data: &[u8]) -> Option<&'static str> {
    if data.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else if data.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if data.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else {
        None
    }
}

/// The bytes of the file at `path`, refused before reading when over [`MAX_UPLOAD_BYTES`] (and
/// never more than that read, should it grow meanwhile).
fn read_upload(path: &Path) -> Result<Vec<u8>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let metadata = file.metadata().map_err(|e| Error::io(path, e))?;
    if !metadata.is_file() {
        return Err(Error::OwnEntry(OwnEntryProblem::FileType));
    }
    if metadata.len() > MAX_UPLOAD_BYTES as u64 {
        return Err(Error::OwnEntry(OwnEntryProblem::TooLarge));
    }
    let mut data = Vec::with_capacity(metadata.len() as usize);
    file.take(MAX_UPLOAD_BYTES as u64 + 1)
        .read_to_end(&mut data)
        .map_err(|e| Error::io(path, e))?;
    if data.len() > MAX_UPLOAD_BYTES {
        return Err(Error::OwnEntry(OwnEntryProblem::TooLarge));
    }
    Ok(data)
}

impl Vault {
    /// Adds the PDF or photo at `path` (chosen by the patient) to `person`'s record as an
    /// upload titled `title`. Its size is checked before it is read and its type comes from its
    /// first bytes, so the shell hands over a path, never the bytes.
    pub fn add_own_file(&mut self, person: i64, path: &Path, title: &str) -> Result<OwnAdded> {
        self.person(person)?;
        required(title, OwnEntryProblem::NoName)?;
        let data = read_upload(path)?;
        let content_type =
            sniff_content_type(&data).ok_or(Error::OwnEntry(OwnEntryProblem::FileType))?;
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        self.add_own(
            person,
            &OwnEntry::Upload {
                title: title.to_owned(),
                file_name,
                content_type: content_type.to_owned(),
                data,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> time::Date {
        time::macros::date!(2026 - 12 - 02)
    }

    #[test]
    fn readings_out_of_any_plausible_range_are_refused() {
        for value in [f64::NAN, f64::INFINITY, -1.0, 1e9] {
            let entry = OwnEntry::Measurement {
                measure: Measure::Weight,
                value,
                second: None,
                date: "2026-11-01".into(),
            };
            assert!(matches!(
                entry.resource("x", "Patient/me-1", "now", today()),
                Err(Error::OwnEntry(OwnEntryProblem::Implausible))
            ));
        }
    }

    #[test]
    fn a_future_or_invalid_day_and_an_empty_name_are_refused() {
        let med = |name: &str, since: &str| OwnEntry::Medication {
            name: name.into(),
            dose: None,
            since: Some(since.into()),
        };
        assert!(
            med("Ibuprofen", "2027-01-01")
                .resource("x", "p", "n", today())
                .is_err()
        );
        assert!(
            med("Ibuprofen", "2024-01-0é1")
                .resource("x", "p", "n", today())
                .is_err()
        );
        assert!(
            med("  ", "2024-01-01")
                .resource("x", "p", "n", today())
                .is_err()
        );
        let ok = med("Ibuprofen 200 mg", "2024-01-01")
            .resource("x", "Patient/me-1", "n", today())
            .unwrap();
        assert_eq!(ok["informationSource"]["reference"], "Patient/me-1");
        assert_eq!(ok["meta"]["tag"][0]["code"], OWN_TAG_CODE);
    }

    #[test]
    fn an_upload_must_be_what_it_says() {
        let upload = |content_type: &str, data: &[u8]| OwnEntry::Upload {
            title: "Letter".into(),
            file_name: "letter.pdf".into(),
            content_type: content_type.into(),
            data: data.to_vec(),
        };
        assert!(
            upload("application/pdf", b"%PDF-1.7 ...")
                .resource("x", "p", "n", today())
                .is_ok()
        );
        assert!(
            upload("application/pdf", b"<html>")
                .resource("x", "p", "n", today())
                .is_err()
        );
        assert!(
            upload("text/html", b"<html>")
                .resource("x", "p", "n", today())
                .is_err()
        );
        assert!(
            upload("image/png", b"\x89PNG\r\n\x1a\n...")
                .resource("x", "p", "n", today())
                .is_ok()
        );
    }
}
