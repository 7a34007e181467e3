//! The FHIR R4 Patient compartment: which resources belong to one patient, and to whom.
//!
//! The table is data, not code: `data/patient-compartment.json`, our compact form of the R4
//! (4.0.1) CompartmentDefinition `http://hl7.org/fhir/CompartmentDefinition/patient` (resource
//! type → the search params that put it in a compartment) and, for each param, the element(s)
//! its R4 SearchParameter expression reads. The file says where each part comes from.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::datatypes::Reference;

/// Whom a resource is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Subject {
    /// A Patient: its own id.
    Itself(String),
    /// Exactly one Patient is referenced.
    Patient(String),
    /// The primary params name different Patients (ids in the order found).
    Several(Vec<String>),
    /// In the compartment, but no Patient reference was found (or a Patient without an id).
    Missing,
    /// Not a patient-compartment type: Organization, Practitioner, Location, Medication, ...
    Shared,
}

impl Subject {
    /// The Patient's id, for [`Subject::Itself`] and [`Subject::Patient`].
    pub fn patient_id(&self) -> Option<&str> {
        match self {
            Subject::Itself(id) | Subject::Patient(id) => Some(id),
            _ => None,
        }
    }
}

#[derive(Deserialize)]
struct Table {
    compartment: BTreeMap<String, Vec<String>>,
    elements: BTreeMap<String, BTreeMap<String, Vec<String>>>,
    outside: BTreeMap<String, Vec<String>>,
}

// Cannot panic: a bundled asset, parsed by a unit test (`the_table_parses_and_names_r4_types`).
#[allow(clippy::expect_used)]
fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        serde_json::from_str(include_str!("../data/patient-compartment.json"))
            .expect("data/patient-compartment.json is valid (tested)")
    })
}

/// Whether resources of this type belong to a patient's compartment in R4 (Patient itself too).
pub fn in_patient_compartment(resource_type: &str) -> bool {
    table().compartment.contains_key(resource_type)
}

/// The element paths a param of a type searches.
fn elements<'a>(resource_type: &str, param: &'a str) -> Vec<&'a str> {
    let t = table();
    t.elements
        .get(resource_type)
        .and_then(|m| m.get(param))
        .or_else(|| t.elements.get("*").and_then(|m| m.get(param)))
        .map(|paths| paths.iter().map(String::as_str).collect())
        .unwrap_or_else(|| vec![param])
}

/// Every value at a dotted path, walking arrays.
fn values_at<'v>(value: &'v Value, path: &str, out: &mut Vec<&'v Value>) {
    let (head, rest) = match path.split_once('.') {
        Some((head, rest)) => (head, Some(rest)),
        None => (path, None),
    };
    let Some(next) = value.get(head) else {
        return;
    };
    let items: Vec<&Value> = match next {
        Value::Array(items) => items.iter().collect(),
        one => vec![one],
    };
    for item in items {
        match rest {
            Some(rest) => values_at(item, rest, out),
            None => out.push(item),
        }
    }
}

/// Adds the ids of the Patients that the params' elements reference, each once.
fn patients_in(resource: &Value, resource_type: &str, params: &[String], ids: &mut Vec<String>) {
    for param in params {
        for path in elements(resource_type, param) {
            let mut found = Vec::new();
            values_at(resource, path, &mut found);
            for reference in found {
                if let Some(id) = Reference::of(reference).patient_id()
                    && !ids.iter().any(|known| known == id)
                {
                    ids.push(id.to_owned());
                }
            }
        }
    }
}

/// Whom a resource is about, by the R4 Patient compartment.
///
/// The first param listed for a type is its primary one (who the resource is about: `patient`,
/// `subject`, `beneficiary`, ...); when it names one Patient, that Patient is the subject even if
/// other params (performer, author, recorder, asserter) name other Patients, as when a parent
/// asserts a child's allergy. A Patient named through several params is one Patient.
/// [`Subject::Several`] when the primary param names different Patients (or, with no Patient in
/// the primary param, the other params do). Only references to a Patient count (`Patient/x`,
/// absolute, or with `type: "Patient"` and an id); `urn:` references do not, so the caller resolves
/// them first (import rewrites them to `Patient/<id>`).
///
/// One addition of ours (the data file's `outside`): a Device naming a Patient in `Device.patient`
/// is that Patient's; otherwise, like every type outside the compartment, it is [`Subject::Shared`].
pub fn subject(resource: &Value) -> Subject {
    let Some(resource_type) = resource.get("resourceType").and_then(Value::as_str) else {
        return Subject::Shared;
    };
    if resource_type == "Patient" {
        return match resource.get("id").and_then(Value::as_str) {
            Some(id) => Subject::Itself(id.to_owned()),
            None => Subject::Missing,
        };
    }
    let t = table();
    let Some(params) = t.compartment.get(resource_type) else {
        let mut ids = Vec::new();
        if let Some(params) = t.outside.get(resource_type) {
            patients_in(resource, resource_type, params, &mut ids);
        }
        return match <[String; 1]>::try_from(ids) {
            Ok([id]) => Subject::Patient(id),
            Err(_) => Subject::Shared,
        };
    };
    let (primary, others) = params.split_at(1.min(params.len()));
    let mut ids = Vec::new();
    patients_in(resource, resource_type, primary, &mut ids);
    if ids.is_empty() {
        patients_in(resource, resource_type, others, &mut ids);
    }
    match ids.len() {
        0 => Subject::Missing,
        1 => Subject::Patient(ids.remove(0)),
        _ => Subject::Several(ids),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_table_parses_and_names_r4_types() {
        let t = table();
        assert!(t.compartment.len() > 60);
        for name in t
            .compartment
            .keys()
            .chain(t.outside.keys())
            .chain(t.elements.keys().filter(|k| *k != "*"))
        {
            assert!(crate::is_r4_resource_type(name), "{name}");
        }
        for (name, params) in &t.elements {
            if name != "*" {
                let listed = &t.compartment[name];
                assert!(params.keys().all(|p| listed.contains(p)), "{name}");
            }
        }
        assert!(t.compartment.values().all(|params| !params.is_empty()));
    }

    #[test]
    fn compartment_membership() {
        for t in [
            "Patient",
            "Observation",
            "Claim",
            "ExplanationOfBenefit",
            "Coverage",
            "Provenance",
            "SupplyDelivery",
        ] {
            assert!(in_patient_compartment(t), "{t}");
        }
        for t in [
            "Organization",
            "Practitioner",
            "Location",
            "Medication",
            "Device",
            "Bundle",
            "Nope",
        ] {
            assert!(!in_patient_compartment(t), "{t}");
        }
    }

    fn patient(id: &str) -> Subject {
        Subject::Patient(id.to_owned())
    }

    #[test]
    fn subjects_of_common_resources() {
        let cases = [
            (
                json!({"resourceType": "Observation", "subject": {"reference": "Patient/a"}}),
                patient("a"),
            ),
            (
                json!({"resourceType": "AllergyIntolerance", "patient": {"reference": "Patient/a"}}),
                patient("a"),
            ),
            (
                json!({"resourceType": "Claim", "patient": {"reference": "Patient/a"},
                    "provider": {"reference": "Organization/o"}}),
                patient("a"),
            ),
            (
                json!({"resourceType": "ExplanationOfBenefit", "patient": {"reference": "https://x/fhir/Patient/a"}}),
                patient("a"),
            ),
            (
                json!({"resourceType": "Provenance", "target": [
                    {"reference": "Observation/o"}, {"reference": "Patient/a"}]}),
                patient("a"),
            ),
            (
                json!({"resourceType": "Coverage", "beneficiary": {"reference": "Patient/child"},
                    "subscriber": {"reference": "Patient/parent"}, "policyHolder": {"reference": "Patient/parent"}}),
                patient("child"),
            ),
            (
                json!({"resourceType": "Coverage", "policyHolder": {"reference": "Patient/parent"}}),
                patient("parent"),
            ),
            (
                json!({"resourceType": "Encounter", "subject": {"reference": "Patient/a"},
                    "participant": [{"individual": {"reference": "Practitioner/p"}}]}),
                patient("a"),
            ),
            (
                json!({"resourceType": "Procedure", "subject": {"reference": "Group/g"},
                    "performer": [{"actor": {"reference": "Patient/a"}}]}),
                patient("a"),
            ),
            (
                json!({"resourceType": "Patient", "id": "me", "link": [{"other": {"reference": "Patient/b"}}]}),
                Subject::Itself("me".into()),
            ),
            (json!({"resourceType": "Patient"}), Subject::Missing),
            (
                json!({"resourceType": "Organization", "id": "o"}),
                Subject::Shared,
            ),
            (
                json!({"resourceType": "Practitioner", "id": "p"}),
                Subject::Shared,
            ),
            (json!({"resourceType": "Observation"}), Subject::Missing),
            (
                json!({"resourceType": "Observation", "subject": {"reference": "urn:uuid:1"}}),
                Subject::Missing,
            ),
            (
                json!({"resourceType": "Observation", "subject": {"reference": "Group/g"}}),
                Subject::Missing,
            ),
            (
                json!({"resourceType": "Device", "patient": {"reference": "Patient/a"}}),
                patient("a"),
            ),
            (json!({"resourceType": "Device"}), Subject::Shared),
            (json!({"id": "x"}), Subject::Shared),
        ];
        for (resource, expected) in cases {
            assert_eq!(subject(&resource), expected, "{resource}");
        }
    }

    #[test]
    fn newer_synthea_shapes() {
        // Synthea 3.x adds these types; their Patient is found once references are resolved.
        for resource in [
            json!({"resourceType": "Provenance", "target": [{"reference": "Encounter/e"},
                {"reference": "Patient/a"}, {"reference": "Observation/o"}],
                "agent": [{"who": {"reference": "Practitioner/p"}}]}),
            json!({"resourceType": "SupplyDelivery", "patient": {"reference": "Patient/a"}}),
            json!({"resourceType": "Device", "patient": {"reference": "Patient/a"}}),
            json!({"resourceType": "DocumentReference", "subject": {"reference": "Patient/a"},
                "author": [{"reference": "Practitioner/p"}]}),
            json!({"resourceType": "MedicationAdministration", "subject": {"reference": "Patient/a"}}),
            json!({"resourceType": "CareTeam", "subject": {"reference": "Patient/a"},
                "participant": [{"member": {"reference": "Patient/a"}}]}),
            json!({"resourceType": "Media", "subject": {"reference": "Patient/a"}}),
        ] {
            assert_eq!(subject(&resource), patient("a"), "{resource}");
        }
        let medication = json!({"resourceType": "Medication", "code": {"text": "x"}});
        assert_eq!(subject(&medication), Subject::Shared);
    }

    #[test]
    fn one_patient_through_several_params_is_one() {
        let o = json!({"resourceType": "Observation", "subject": {"reference": "Patient/a"},
            "performer": [{"reference": "Patient/a/_history/2"}, {"reference": "Practitioner/p"}]});
        assert_eq!(subject(&o), patient("a"));
        let typed = json!({"resourceType": "DocumentReference",
            "subject": {"reference": "https://x/fhir/Patient/a", "type": "Patient"},
            "author": [{"reference": "Patient/a"}]});
        assert_eq!(subject(&typed), patient("a"));
    }

    #[test]
    fn different_primary_patients_are_several() {
        let o = json!({"resourceType": "Group", "member": [
            {"entity": {"reference": "Patient/a"}}, {"entity": {"reference": "Patient/b"}}]});
        assert_eq!(subject(&o), Subject::Several(vec!["a".into(), "b".into()]));
        let o = json!({"resourceType": "AuditEvent",
            "agent": [{"who": {"reference": "Patient/a"}}],
            "entity": [{"what": {"reference": "Patient/b"}}]});
        assert_eq!(subject(&o), Subject::Several(vec!["a".into(), "b".into()]));
    }

    #[test]
    fn a_parent_asserting_a_childs_allergy() {
        let a = json!({"resourceType": "AllergyIntolerance",
            "patient": {"reference": "Patient/child"},
            "asserter": {"reference": "Patient/parent"},
            "recorder": {"reference": "Practitioner/dr"}});
        assert_eq!(subject(&a), patient("child"));
        let c = json!({"resourceType": "Condition",
            "subject": {"reference": "Patient/child"}, "asserter": {"reference": "Patient/parent"}});
        assert_eq!(subject(&c), patient("child"));
        // Without the primary param, the others decide.
        let a = json!({"resourceType": "AllergyIntolerance", "asserter": {"reference": "Patient/parent"}});
        assert_eq!(subject(&a), patient("parent"));
    }

    #[test]
    fn subjects_serialize_plainly() {
        assert_eq!(
            serde_json::to_string(&patient("a")).unwrap(),
            r#"{"patient":"a"}"#
        );
        assert_eq!(
            serde_json::to_string(&Subject::Shared).unwrap(),
            r#""shared""#
        );
        assert_eq!(patient("a").patient_id(), Some("a"));
        assert_eq!(Subject::Several(vec![]).patient_id(), None);
    }
}
