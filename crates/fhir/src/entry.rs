//! The clinical entry: what every view (lists, timeline, search index, summaries) reads of one
//! resource — its kind, codes, clinical date, status, the one name shown for it, a short detail,
//! a numeric value with its range and flag, and whom it is about.

use serde::Serialize;
use serde_json::Value;

use crate::clinical;
use crate::compartment::{Subject, subject};
use crate::datatypes::{Coding, Concept, Date, Quantity, Range, Reference, number_text};

/// What a resource is, for the record's categories.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Patient,
    /// Condition.
    Problem,
    /// MedicationRequest, MedicationStatement, MedicationAdministration, MedicationDispense.
    Medication,
    /// AllergyIntolerance.
    Allergy,
    Immunization,
    /// An Observation with category `laboratory`.
    Lab,
    /// An Observation with category `vital-signs`.
    Vital,
    /// Other Observations: social history, surveys, exams, ...
    Observation,
    /// Encounter.
    Visit,
    Procedure,
    /// DocumentReference.
    Document,
    /// DiagnosticReport.
    Report,
    /// CarePlan, CareTeam, Goal.
    CarePlan,
    /// Claim, ExplanationOfBenefit.
    Claim,
    Coverage,
    Device,
    /// ImagingStudy.
    Imaging,
    Other,
}

impl Kind {
    pub const ALL: [Kind; 18] = [
        Kind::Patient,
        Kind::Problem,
        Kind::Medication,
        Kind::Allergy,
        Kind::Immunization,
        Kind::Lab,
        Kind::Vital,
        Kind::Observation,
        Kind::Visit,
        Kind::Procedure,
        Kind::Document,
        Kind::Report,
        Kind::CarePlan,
        Kind::Claim,
        Kind::Coverage,
        Kind::Device,
        Kind::Imaging,
        Kind::Other,
    ];

    /// The snake_case name (as serialized).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Patient => "patient",
            Kind::Problem => "problem",
            Kind::Medication => "medication",
            Kind::Allergy => "allergy",
            Kind::Immunization => "immunization",
            Kind::Lab => "lab",
            Kind::Vital => "vital",
            Kind::Observation => "observation",
            Kind::Visit => "visit",
            Kind::Procedure => "procedure",
            Kind::Document => "document",
            Kind::Report => "report",
            Kind::CarePlan => "care_plan",
            Kind::Claim => "claim",
            Kind::Coverage => "coverage",
            Kind::Device => "device",
            Kind::Imaging => "imaging",
            Kind::Other => "other",
        }
    }

    pub fn parse(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// The kind of a resource. Labs and vitals are Observations whose `category` has a coding
    /// with code `laboratory` or `vital-signs` (laboratory first when both).
    pub fn of(resource: &Value) -> Kind {
        let resource_type = resource.get("resourceType").and_then(Value::as_str);
        match resource_type.unwrap_or("") {
            "Patient" => Kind::Patient,
            "Condition" => Kind::Problem,
            "MedicationRequest"
            | "MedicationStatement"
            | "MedicationAdministration"
            | "MedicationDispense" => Kind::Medication,
            "AllergyIntolerance" => Kind::Allergy,
            "Immunization" => Kind::Immunization,
            "Observation" if has_category(resource, "laboratory") => Kind::Lab,
            "Observation" if has_category(resource, "vital-signs") => Kind::Vital,
            "Observation" => Kind::Observation,
            "Encounter" => Kind::Visit,
            "Procedure" => Kind::Procedure,
            "DocumentReference" => Kind::Document,
            "DiagnosticReport" => Kind::Report,
            "CarePlan" | "CareTeam" | "Goal" => Kind::CarePlan,
            "Claim" | "ExplanationOfBenefit" => Kind::Claim,
            "Coverage" => Kind::Coverage,
            "Device" => Kind::Device,
            "ImagingStudy" => Kind::Imaging,
            _ => Kind::Other,
        }
    }
}

/// Whether any `category` of the resource has a coding with this code.
pub fn has_category(resource: &Value, code: &str) -> bool {
    resource
        .get("category")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|c| Concept::of(c).has_code(code))
}

fn is_medication_type(resource_type: &str) -> bool {
    matches!(
        resource_type,
        "MedicationRequest"
            | "MedicationStatement"
            | "MedicationAdministration"
            | "MedicationDispense"
    )
}

/// The CodeableConcept that names a resource (`code`, `vaccineCode`, `type[0]`, ...).
pub fn main_concept(resource: &Value) -> Option<&Value> {
    let resource_type = resource.get("resourceType").and_then(Value::as_str)?;
    let first = |key: &str| match resource.get(key) {
        Some(Value::Array(items)) => items.first(),
        other => other,
    };
    match resource_type {
        "Immunization" => resource.get("vaccineCode"),
        t if is_medication_type(t) => resource.get("medicationCodeableConcept"),
        "Encounter"
        | "DocumentReference"
        | "Claim"
        | "ExplanationOfBenefit"
        | "Coverage"
        | "Device" => first("type"),
        "CarePlan" | "CareTeam" => first("category"),
        "Goal" => resource.get("description"),
        "ImagingStudy" => first("procedureCode"),
        "Patient" => None,
        _ => resource.get("code"),
    }
}

/// What every view reads of one resource.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    pub kind: Kind,
    /// Every coding of the main concept that has a system and a code.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub codes: Vec<Coding>,
    /// The clinical date ([`crate::clinical_date`]), when it is a valid FHIR date.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<Date>,
    /// `clinicalStatus`'s code, else `status`, else a Goal's `lifecycleStatus`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// The one name every view shows (see [`Entry::read`]).
    pub display: String,
    /// A short detail for a list line: an Observation's values ([`observation_values`]), else
    /// the status code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// An Observation's `valueQuantity`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Quantity>,
    /// Its first reference range.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub range: Option<Range>,
    /// Its flag ([`clinical::flag`]): `High`, `Low`, `Critical high`, ...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flag: Option<String>,
    pub subject: Subject,
    /// A medication's `medicationReference`, for the caller to resolve.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub medication: Option<Reference>,
    /// The id of the Encounter (visit) it happened at ([`encounter_of`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encounter: Option<String>,
}

/// The id of the Encounter a resource names as its visit: `encounter` (most clinical types),
/// `context` (MedicationStatement, MedicationAdministration in R4), or a DocumentReference's
/// `context.encounter`.
pub fn encounter_of(resource: &Value) -> Option<String> {
    let reference = resource
        .get("encounter")
        .or_else(|| {
            resource
                .get("context")
                .filter(|c| c.get("reference").is_some())
        })
        .or_else(|| resource.pointer("/context/encounter/0"))?;
    let target = Reference::of(reference);
    (target.resource_type.as_deref() == Some("Encounter"))
        .then_some(target.id)
        .flatten()
}

impl Entry {
    /// Reads a resource. `display` is the main concept's [`Concept::text`]; for a medication
    /// named by `medicationReference`, that reference's display or "" (the caller resolves the
    /// Medication: `medication` holds the reference); for a Patient, its name
    /// ([`clinical::patient_name`]); for an Encounter without a type, its class; else
    /// [`crate::display`]; else the resource type.
    pub fn read(resource: &Value) -> Entry {
        let resource_type = resource
            .get("resourceType")
            .and_then(Value::as_str)
            .unwrap_or("");
        let concept = main_concept(resource).map(Concept::of).unwrap_or_default();
        let medication = (is_medication_type(resource_type)
            && resource.get("medicationCodeableConcept").is_none())
        .then(|| resource.get("medicationReference").map(Reference::of))
        .flatten();
        let display = if resource_type == "Patient" {
            clinical::patient_name(resource)
        } else {
            let text = concept.text();
            if !text.is_empty() {
                text
            } else if let Some(m) = &medication {
                m.display.clone().unwrap_or_default()
            } else {
                fallback_name(resource, resource_type)
                    .or_else(|| crate::display(resource))
                    .unwrap_or_else(|| resource_type.to_owned())
            }
        };
        let status = resource
            .pointer("/clinicalStatus/coding/0/code")
            .or_else(|| resource.get("status"))
            .or_else(|| resource.pointer("/lifecycleStatus"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let quantity = (resource_type == "Observation")
            .then(|| resource.get("valueQuantity"))
            .flatten();
        let value = quantity.map(Quantity::of);
        let (range, flag) = match &value {
            Some(q) => (
                resource.pointer("/referenceRange/0").map(Range::of),
                Some(clinical::flag(resource, q.value)).filter(|f| !f.is_empty()),
            ),
            None => (None, None),
        };
        Entry {
            kind: Kind::of(resource),
            codes: concept
                .codings
                .iter()
                .filter(|c| c.system.is_some() && c.code.is_some())
                .cloned()
                .collect(),
            date: crate::clinical_date(resource)
                .or_else(|| extra_date(resource, resource_type))
                .and_then(Date::parse),
            status,
            display,
            detail: if resource_type == "Observation" {
                observation_values(resource)
            } else {
                detail(resource)
            },
            value,
            range,
            flag,
            subject: subject(resource),
            medication,
            encounter: encounter_of(resource),
        }
    }
}

/// A date for the types whose date element is not among [`crate::clinical_date`]'s (which the
/// vault's `clinical_date` column keeps as it was): an ImagingStudy's `started`, a Goal's
/// `startDate`.
fn extra_date<'a>(resource: &'a Value, resource_type: &str) -> Option<&'a str> {
    let element = match resource_type {
        "ImagingStudy" => "started",
        "Goal" => "startDate",
        _ => return None,
    };
    resource.get(element).and_then(Value::as_str)
}

/// A name from outside the main concept: an Encounter's class; an ImagingStudy's description,
/// else its first series' modality and body site ("Digital Radiography: Knee").
fn fallback_name(resource: &Value, resource_type: &str) -> Option<String> {
    let coding_text = |c: &Value| {
        c.get("display")
            .or_else(|| c.get("code"))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    match resource_type {
        "Encounter" => resource.get("class").and_then(coding_text),
        "ImagingStudy" => resource
            .get("description")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| {
                let series = resource.pointer("/series/0")?;
                let modality = series.get("modality").and_then(coding_text)?;
                Some(match series.get("bodySite").and_then(coding_text) {
                    Some(site) => format!("{modality}: {site}"),
                    None => modality,
                })
            }),
        _ => None,
    }
}

/// What an Observation holds, as read: every value with its unit (a blood pressure as one
/// `120/80 mm[Hg]`), joined by "; "; `None` when it holds no value. The list line's detail, and
/// what two results must agree on to be one fact.
pub fn observation_values(o: &Value) -> Option<String> {
    let holds_value = o
        .as_object()
        .is_some_and(|m| m.keys().any(|k| k.starts_with("value")) || m.contains_key("component"));
    if !holds_value {
        return None;
    }
    let text = clinical::result_values_combined(o)
        .iter()
        .map(|v| format!("{} {}", v.value, v.unit).trim().to_owned())
        .filter(|v| !v.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    (!text.is_empty()).then_some(text)
}

/// A short plain-text detail for a list line: `value unit` of a `valueQuantity`, else the
/// clinical status code, else `status`.
pub fn detail(resource: &Value) -> Option<String> {
    if let Some(q) = resource.get("valueQuantity") {
        let value = q.get("value").map(number_text).unwrap_or_default();
        let unit = q.get("unit").and_then(Value::as_str).unwrap_or("");
        return Some(format!("{value} {unit}").trim().to_owned());
    }
    for pointer in ["/clinicalStatus/coding/0/code", "/status"] {
        if let Some(s) = resource.pointer(pointer).and_then(Value::as_str) {
            return Some(s.to_owned());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn observation(category: &str) -> Value {
        json!({"resourceType": "Observation", "id": "o",
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": category}]}],
            "code": {"coding": [{"system": "http://loinc.org", "code": "2339-0", "display": "Glucose"}]},
            "subject": {"reference": "Patient/p"},
            "effectiveDateTime": "2020-05-01T10:00:00Z",
            "valueQuantity": {"value": 182.5, "unit": "mg/dL"},
            "referenceRange": [{"low": {"value": 70}, "high": {"value": 99}}]})
    }

    #[test]
    fn kinds_names_round_trip() {
        for kind in Kind::ALL {
            assert_eq!(Kind::parse(kind.as_str()), Some(kind));
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                json!(kind.as_str()),
                "{kind:?}"
            );
        }
        assert_eq!(Kind::parse("CarePlan"), None);
    }

    #[test]
    fn observations_by_category() {
        assert_eq!(Kind::of(&observation("laboratory")), Kind::Lab);
        assert_eq!(Kind::of(&observation("vital-signs")), Kind::Vital);
        assert_eq!(Kind::of(&observation("social-history")), Kind::Observation);
        // The category is read, not searched for: a note mentioning it changes nothing.
        let mut o = observation("survey");
        o["note"] = json!([{"text": "\"laboratory\""}]);
        assert_eq!(Kind::of(&o), Kind::Observation);
        for (t, kind) in [
            ("Claim", Kind::Claim),
            ("ExplanationOfBenefit", Kind::Claim),
            ("Goal", Kind::CarePlan),
            ("CareTeam", Kind::CarePlan),
            ("MedicationDispense", Kind::Medication),
            ("DocumentReference", Kind::Document),
            ("DiagnosticReport", Kind::Report),
            ("Organization", Kind::Other),
        ] {
            assert_eq!(Kind::of(&json!({ "resourceType": t })), kind, "{t}");
        }
    }

    #[test]
    fn a_lab_entry() {
        let e = Entry::read(&observation("laboratory"));
        assert_eq!(e.kind, Kind::Lab);
        assert_eq!(e.display, "Glucose");
        assert_eq!(
            e.codes,
            vec![Coding {
                system: Some("http://loinc.org".into()),
                code: Some("2339-0".into()),
                display: Some("Glucose".into())
            }]
        );
        assert_eq!(e.date.as_ref().and_then(Date::day), Some("2020-05-01"));
        assert_eq!(e.detail.as_deref(), Some("182.5 mg/dL"));
        assert_eq!(e.value.as_ref().and_then(|q| q.value), Some(182.5));
        assert_eq!(e.range.as_ref().map(|r| r.text.as_str()), Some("70–99"));
        assert_eq!(e.flag.as_deref(), Some("High"));
        assert_eq!(e.subject, Subject::Patient("p".into()));
        assert_eq!(e.medication, None);
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["kind"], "lab");
        assert_eq!(json["date"]["precision"], "time");
        assert_eq!(json["subject"]["patient"], "p");
        assert!(json.get("medication").is_none());
    }

    #[test]
    fn an_invalid_date_is_no_date() {
        let mut o = observation("laboratory");
        o["effectiveDateTime"] = json!("2020-02-30");
        assert_eq!(Entry::read(&o).date, None);
    }

    #[test]
    fn a_claim_entry() {
        let c = json!({"resourceType": "Claim", "id": "c", "status": "active",
            "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "professional"}]},
            "patient": {"reference": "Patient/p"}, "created": "2020-01-01T00:00:00Z",
            "billablePeriod": {"start": "2019-12-31T00:00:00Z"}});
        let e = Entry::read(&c);
        assert_eq!(e.kind, Kind::Claim);
        assert_eq!(e.display, "professional");
        assert_eq!(e.status.as_deref(), Some("active"));
        assert_eq!(e.subject, Subject::Patient("p".into()));
        assert_eq!(
            e.date.map(|d| d.text).as_deref(),
            Some("2020-01-01T00:00:00Z")
        );
        assert_eq!(e.value, None);
    }

    #[test]
    fn medications_by_concept_or_reference() {
        let by_concept = json!({"resourceType": "MedicationRequest", "status": "active",
            "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "1", "display": "Aspirin"}]},
            "subject": {"reference": "Patient/p"}, "authoredOn": "2020-01-01"});
        let e = Entry::read(&by_concept);
        assert_eq!((e.kind, e.display.as_str()), (Kind::Medication, "Aspirin"));
        assert_eq!(e.codes.len(), 1);
        assert_eq!(e.medication, None);

        let by_reference = json!({"resourceType": "MedicationStatement", "status": "active",
            "category": {"text": "Community"},
            "medicationReference": {"reference": "Medication/m", "display": "Metformin 500 mg"},
            "subject": {"reference": "Patient/p"}});
        let e = Entry::read(&by_reference);
        assert_eq!(e.display, "Metformin 500 mg");
        assert_eq!(
            e.medication.as_ref().and_then(Reference::key).as_deref(),
            Some("Medication/m")
        );
        assert!(e.codes.is_empty());

        let mut unnamed = by_reference.clone();
        unnamed["medicationReference"] = json!({"reference": "Medication/m"});
        let e = Entry::read(&unnamed);
        assert_eq!(e.display, "", "the caller names it from the Medication");
        assert!(e.medication.is_some());
    }

    #[test]
    fn display_rules() {
        let read = |v: Value| Entry::read(&v).display;
        assert_eq!(
            read(
                json!({"resourceType": "Patient", "name": [{"given": ["Ada"], "family": "L", "prefix": ["Dr."]}]})
            ),
            "Dr. Ada L"
        );
        assert_eq!(
            read(json!({"resourceType": "Patient"})),
            "Name not recorded"
        );
        assert_eq!(
            read(
                json!({"resourceType": "Encounter", "type": [{"text": "Checkup"}], "class": {"code": "AMB"}})
            ),
            "Checkup"
        );
        assert_eq!(
            read(
                json!({"resourceType": "Encounter", "class": {"code": "AMB", "display": "ambulatory"}})
            ),
            "ambulatory"
        );
        assert_eq!(
            read(json!({"resourceType": "Encounter", "class": {"code": "AMB"}})),
            "AMB"
        );
        assert_eq!(
            read(json!({"resourceType": "Immunization", "vaccineCode": {"text": "Influenza"}})),
            "Influenza"
        );
        assert_eq!(
            read(
                json!({"resourceType": "CarePlan", "category": [{"coding": [{"code": "x", "display": "Diabetes plan"}]}]})
            ),
            "Diabetes plan"
        );
        assert_eq!(
            read(json!({"resourceType": "Goal", "description": {"text": "Lose weight"}})),
            "Lose weight"
        );
        assert_eq!(
            read(json!({"resourceType": "Organization", "name": "General Hospital"})),
            "General Hospital"
        );
        assert_eq!(read(json!({"resourceType": "Basic"})), "Basic");
        let study = json!({"resourceType": "ImagingStudy", "started": "2017-03-21T23:37:54+00:00",
            "series": [{"modality": {"code": "DX", "display": "Digital Radiography"},
                "bodySite": {"code": "72696002", "display": "Knee"}}]});
        let e = Entry::read(&study);
        assert_eq!(
            (e.kind, e.display.as_str()),
            (Kind::Imaging, "Digital Radiography: Knee")
        );
        assert_eq!(
            e.date.and_then(|d| d.day().map(str::to_owned)).as_deref(),
            Some("2017-03-21")
        );
        assert_eq!(
            crate::clinical_date(&study),
            None,
            "the vault's column is unchanged"
        );
        assert_eq!(
            read(json!({"resourceType": "Condition", "code": {"coding": [{"code": "44054006"}]}})),
            "44054006"
        );
    }

    #[test]
    fn statuses_and_details() {
        let c = json!({"resourceType": "Condition",
            "clinicalStatus": {"coding": [{"code": "resolved"}]}, "subject": {"reference": "Patient/p"}});
        let e = Entry::read(&c);
        assert_eq!(e.kind, Kind::Problem);
        assert_eq!(e.status.as_deref(), Some("resolved"));
        assert_eq!(e.detail.as_deref(), Some("resolved"));
        let g = json!({"resourceType": "Goal", "lifecycleStatus": "active"});
        assert_eq!(Entry::read(&g).status.as_deref(), Some("active"));
        assert_eq!(Entry::read(&g).detail, None);
        let i = json!({"resourceType": "Immunization", "status": "completed"});
        assert_eq!(Entry::read(&i).detail.as_deref(), Some("completed"));
    }

    #[test]
    fn observation_values_tell_readings_apart() {
        let bp = |s: i64, d: i64| {
            json!({"resourceType": "Observation", "code": {"text": "Blood pressure"}, "component": [
                {"code": {"text": "Systolic"}, "valueQuantity": {"value": s, "unit": "mm[Hg]"}},
                {"code": {"text": "Diastolic"}, "valueQuantity": {"value": d, "unit": "mm[Hg]"}}]})
        };
        assert_eq!(
            Entry::read(&bp(120, 80)).detail.as_deref(),
            Some("120/80 mm[Hg]")
        );
        assert_ne!(
            Entry::read(&bp(120, 80)).detail,
            Entry::read(&bp(140, 90)).detail
        );
        let none = json!({"resourceType": "Observation", "status": "final", "code": {"text": "x"}});
        assert_eq!(Entry::read(&none).detail, None);
    }
}
