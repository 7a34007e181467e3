//! The International Patient Summary (IPS STU2, FHIR R4): a document Bundle whose first entry is
//! a Composition (LOINC 60591-5) authored by the patient, then the Patient, then the resources
//! each section lists. The three required sections (medications, allergies, problems) are always
//! there, with an `emptyReason` when empty or left out. References are rewritten to the bundle's
//! `urn:uuid:` fullUrls, and references to resources outside the document are dropped.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::export::html;
use crate::export::record::Record;
use crate::export::summary::{Row, Summary, Table, key};
use crate::export::{Section, Selection};
use crate::fhir::clinical::patient_name;

const LOINC: &str = "http://loinc.org";
const EMPTY_REASON: &str = "http://terminology.hl7.org/CodeSystem/list-empty-reason";

/// An IPS section: LOINC code, display and title.
struct IpsSection {
    code: &'static str,
    display: &'static str,
    title: &'static str,
}

const PROBLEMS: IpsSection = IpsSection {
    code: "11450-4",
    display: "Problem list - Reported",
    title: "Problem List",
};
const MEDICATIONS: IpsSection = IpsSection {
    code: "10160-0",
    display: "History of Medication use Narrative",
    title: "Medication Summary",
};
const ALLERGIES: IpsSection = IpsSection {
    code: "48765-2",
    display: "Allergies and adverse reactions Document",
    title: "Allergies and Intolerances",
};
const PAST_ILLNESS: IpsSection = IpsSection {
    code: "11348-0",
    display: "History of Past illness Narrative",
    title: "History of Past Illness",
};
const IMMUNIZATIONS: IpsSection = IpsSection {
    code: "11369-6",
    display: "History of Immunization Narrative",
    title: "History of Immunizations",
};
const RESULTS: IpsSection = IpsSection {
    code: "30954-2",
    display: "Relevant diagnostic tests/laboratory data Narrative",
    title: "Diagnostic Results",
};
const VITALS: IpsSection = IpsSection {
    code: "8716-3",
    display: "Vital signs",
    title: "Vital Signs",
};
const PROCEDURES: IpsSection = IpsSection {
    code: "47519-4",
    display: "History of Procedures Document",
    title: "History of Procedures",
};

/// A deterministic `urn:uuid:` for a `Type/id` (SHA-256 based, RFC 9562 version 8 layout).
pub fn uuid_url(name: &str) -> String {
    let h: [u8; 32] = Sha256::digest(name.as_bytes()).into();
    let mut b = [0u8; 16];
    b.copy_from_slice(&h[..16]);
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        hex::encode(&b[..4]),
        hex::encode(&b[4..6]),
        hex::encode(&b[6..8]),
        hex::encode(&b[8..10]),
        hex::encode(&b[10..])
    )
}

/// Builds the IPS document for the summary's selection. `now` is RFC 3339.
pub fn bundle(record: &Record, summary: &Summary, selection: &Selection, now: &str) -> Value {
    let patient_key = key(&record.patient);
    let table_of = |section: Section| {
        summary
            .sections
            .iter()
            .find(|s| s.section == section)
            .map(|s| &s.table)
    };
    let is_active = |row: &Row| {
        let (t, id) = row.resource.split_once('/').unwrap_or_default();
        record.get(t, id).is_some_and(|c| {
            matches!(
                c.pointer("/clinicalStatus/coding/0/code")
                    .and_then(Value::as_str),
                Some("active" | "recurrence" | "relapse")
            )
        })
    };
    let problems = table_of(Section::Problems).map(|t| filtered(t, |r| is_active(r)));
    let past = table_of(Section::Problems).map(|t| filtered(t, |r| !is_active(r)));

    // (section, its table when the patient chose it, required by IPS)
    let mut plan: Vec<(&IpsSection, Option<Table>, bool)> = vec![
        (&MEDICATIONS, table_of(Section::Medications).cloned(), true),
        (&ALLERGIES, table_of(Section::Allergies).cloned(), true),
        (&PROBLEMS, problems, true),
    ];
    for (ips, table) in [
        (&PAST_ILLNESS, past),
        (&IMMUNIZATIONS, table_of(Section::Immunizations).cloned()),
        (&RESULTS, table_of(Section::Results).cloned()),
        (&VITALS, table_of(Section::Vitals).cloned()),
        (&PROCEDURES, table_of(Section::Procedures).cloned()),
    ] {
        if table.as_ref().is_some_and(|t| !t.rows.is_empty()) {
            plan.push((ips, table, false));
        }
    }

    // Every resource the document holds, in order: Patient, then by section.
    let mut keys: Vec<String> = vec![patient_key.clone()];
    let mut section_keys: Vec<Vec<String>> = Vec::new();
    for (_, table, _) in &plan {
        let mut listed = Vec::new();
        for resource in table.iter().flat_map(|t| t.resources()) {
            listed.push(resource.to_owned());
            if !keys.iter().any(|k| k == resource) {
                keys.push(resource.to_owned());
            }
        }
        section_keys.push(listed);
    }
    // Medications named by reference travel with their orders.
    let medication_refs: Vec<String> = keys
        .iter()
        .filter_map(|k| {
            let (t, id) = k.split_once('/')?;
            let reference = record
                .get(t, id)?
                .pointer("/medicationReference/reference")?;
            let (rt, rid) = reference.as_str()?.rsplit_once('/')?;
            let rt = rt.rsplit('/').next()?;
            record.get(rt, rid).map(key)
        })
        .collect();
    for k in medication_refs {
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    let mut urls: BTreeMap<String, String> =
        keys.iter().map(|k| (k.clone(), uuid_url(k))).collect();
    // The person's Patient in every other source is the same patient.
    let patient_url = urls
        .get(&patient_key)
        .cloned()
        .unwrap_or_else(|| uuid_url(&patient_key));
    for source in &record.person.sources {
        urls.entry(format!("Patient/{}", source.patient_id))
            .or_insert_with(|| patient_url.clone());
    }

    let sections: Vec<Value> = plan
        .iter()
        .zip(&section_keys)
        .map(|((ips, table, _), listed)| section(ips, table.as_ref(), listed, &urls))
        .collect();
    let name = patient_name(&record.patient);
    let day = now.get(..10).unwrap_or(now);
    let composition_uuid = uuid_url(&format!("{patient_key}@{now}"));
    let composition_key = format!(
        "Composition/ips-{}",
        composition_uuid.trim_start_matches("urn:uuid:")
    );
    let composition_url = uuid_url(&composition_key);
    let patient_url = &patient_url;
    let composition = json!({
        "resourceType": "Composition",
        "id": composition_key.trim_start_matches("Composition/"),
        "text": {
            "status": "generated",
            "div": format!(
                "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>Patient summary of {}, made {} by OwnRecord at the patient's request. Sections included: {}.</p></div>",
                html::escape(&name),
                html::escape(day),
                html::escape(&selection.section_names().join(", "))
            )
        },
        "status": "final",
        "type": {"coding": [{"system": LOINC, "code": "60591-5", "display": "Patient summary Document"}]},
        "subject": {"reference": patient_url, "display": name},
        "date": now,
        "author": [{"reference": patient_url, "display": name}],
        "title": format!("Patient Summary as of {day}"),
        "section": sections,
    });

    let mut entries = vec![json!({"fullUrl": composition_url, "resource": composition})];
    for k in &keys {
        let (t, id) = k.split_once('/').unwrap_or_default();
        let Some(resource) = record.get(t, id) else {
            continue;
        };
        let mut resource = resource.clone();
        if t == "Patient" {
            without_government_ids(&mut resource);
        }
        relink(&mut resource, &urls);
        let full_url = urls.get(k).cloned().unwrap_or_else(|| uuid_url(k));
        entries.push(json!({"fullUrl": full_url, "resource": resource}));
    }
    let identifier = uuid_url(&format!("Bundle/{composition_key}"));
    json!({
        "resourceType": "Bundle",
        "id": identifier.trim_start_matches("urn:uuid:"),
        "identifier": {"system": "urn:ietf:rfc:3986", "value": identifier},
        "type": "document",
        "timestamp": now,
        "entry": entries,
    })
}

/// A summary for a clinician does not carry social security, passport or driver's licence
/// numbers: the patient's copy keeps them, the shared document does not.
fn without_government_ids(patient: &mut Value) {
    if let Some(Value::Array(ids)) = patient.get_mut("identifier") {
        ids.retain(|id| {
            !matches!(
                id.pointer("/type/coding/0/code").and_then(Value::as_str),
                Some("SS" | "SB" | "DL" | "PPN" | "TAX" | "NI")
            )
        });
        if ids.is_empty() {
            patient.as_object_mut().map(|p| p.remove("identifier"));
        }
    }
}

fn filtered(table: &Table, keep: impl Fn(&Row) -> bool) -> Table {
    let mut table = table.clone();
    table.rows.retain(|r| keep(r));
    table
}

fn section(
    ips: &IpsSection,
    table: Option<&Table>,
    listed: &[String],
    urls: &BTreeMap<String, String>,
) -> Value {
    let mut section = Map::new();
    section.insert("title".into(), json!(ips.title));
    section.insert(
        "code".into(),
        json!({"coding": [{"system": LOINC, "code": ips.code, "display": ips.display}]}),
    );
    let (div, empty_reason) = match table {
        Some(t) if !t.rows.is_empty() => (html::table(t), None),
        Some(t) => (
            format!("<p>{}</p>", html::escape(t.empty)),
            Some(("unavailable", "Unavailable")),
        ),
        None => (
            "<p>Left out of this summary by the patient.</p>".to_owned(),
            Some(("withheld", "Information Withheld")),
        ),
    };
    section.insert(
        "text".into(),
        json!({"status": "generated", "div": format!("<div xmlns=\"http://www.w3.org/1999/xhtml\">{div}</div>")}),
    );
    match empty_reason {
        None => {
            let entries: Vec<Value> = listed
                .iter()
                .map(|k| json!({"reference": urls[k]}))
                .collect();
            section.insert("entry".into(), Value::Array(entries));
        }
        Some((code, display)) => {
            section.insert(
                "emptyReason".into(),
                json!({"coding": [{"system": EMPTY_REASON, "code": code, "display": display}]}),
            );
        }
    }
    Value::Object(section)
}

/// Rewrites `Type/id` references to the document's fullUrls; drops references to anything the
/// document does not hold (keeping a `display` if there is one), and elements left empty.
/// Returns whether `value` still holds anything.
fn relink(value: &mut Value, urls: &BTreeMap<String, String>) -> bool {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get("reference")
                && !reference.starts_with('#')
            {
                match reference_key(reference).and_then(|k| urls.get(&k)) {
                    Some(url) => {
                        map.insert("reference".into(), Value::String(url.clone()));
                    }
                    None => {
                        map.remove("reference");
                    }
                }
            }
            map.retain(|_, child| relink(child, urls));
            !map.is_empty()
        }
        Value::Array(items) => {
            items.retain_mut(|item| relink(item, urls));
            !items.is_empty()
        }
        _ => true,
    }
}

/// `Type/id` of a relative or absolute reference (`.../Patient/123/_history/2` too).
fn reference_key(reference: &str) -> Option<String> {
    let path = reference.split("/_history/").next()?;
    let mut parts = path.rsplit('/');
    let id = parts.next()?;
    let resource_type = parts.next()?;
    Some(format!("{resource_type}/{id}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_outside_the_document_are_dropped() {
        let urls: BTreeMap<String, String> = [("Patient/p1".to_owned(), uuid_url("Patient/p1"))]
            .into_iter()
            .collect();
        let mut c = json!({
            "resourceType": "Condition",
            "subject": {"reference": "Patient/p1"},
            "encounter": {"reference": "Encounter/e9"},
            "asserter": {"reference": "https://x.example/fhir/Practitioner/9", "display": "Dr. Who"},
            "evidence": [{"detail": [{"reference": "Observation/o1"}]}],
            "contained": [{"resourceType": "Medication", "id": "m"}],
            "note": [{"authorReference": {"reference": "#m"}, "text": "kept"}]
        });
        relink(&mut c, &urls);
        assert_eq!(c["subject"]["reference"], uuid_url("Patient/p1"));
        assert!(c.get("encounter").is_none());
        assert!(c.get("evidence").is_none());
        assert_eq!(c["asserter"], json!({"display": "Dr. Who"}));
        assert_eq!(c["note"][0]["authorReference"]["reference"], "#m");
    }

    #[test]
    fn uuid_urls_are_stable_and_well_formed() {
        let u = uuid_url("Patient/p1");
        assert_eq!(u, uuid_url("Patient/p1"));
        assert_ne!(u, uuid_url("Patient/p2"));
        let hex = u.trim_start_matches("urn:uuid:");
        assert_eq!(hex.len(), 36);
        assert_eq!(hex.get(14..15), Some("8"));
    }
}
