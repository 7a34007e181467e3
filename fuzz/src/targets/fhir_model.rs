//! `fhir-model`: the clinical model's reader (`crates/fhir`) over one JSON value, as import, sync
//! and the summary call it: the resource's facts and `Entry` (kind, codes, date, subject...), the
//! summary's texts, Patient demographics and their matching; then every object inside it read as
//! a reference, concept, coding, quantity and range, and every string as a date, an id, a type
//! and a name.

use ownrecord_core::fhir::{
    self, Coding, Concept, Date, Demographics, Entry, Kind, Quantity, Range, Reference,
    ResourceFacts, clinical, entry,
};
use serde_json::Value;

/// The elements a summary reads dates from, as `day_of` pointers.
const DAY_POINTERS: &[&str] = &[
    "/onsetDateTime",
    "/effectiveDateTime",
    "/effectivePeriod/start",
    "/recordedDate",
    "/authoredOn",
    "/birthDate",
    "/period/start",
];

pub fn run(data: &[u8]) -> String {
    if let Ok(text) = std::str::from_utf8(data) {
        std::hint::black_box(fhir::minified(text));
    }
    let value: Value = match serde_json::from_slice(data) {
        Ok(value) => value,
        Err(e) => return format!("not JSON: {e}"),
    };
    let facts = ResourceFacts::of(&value);
    let read = Entry::read(&value);
    std::hint::black_box(fhir::subject(&value));
    std::hint::black_box((
        Kind::of(&value),
        entry::main_concept(&value),
        entry::detail(&value),
        entry::observation_values(&value),
        entry::has_category(&value, "laboratory"),
        fhir::clinical_date(&value),
        fhir::display(&value),
    ));
    std::hint::black_box((
        clinical::patient_name(&value),
        clinical::care_identifiers(&value),
        clinical::result_values(&value),
        clinical::result_values_combined(&value),
        clinical::interpretation(&value),
        clinical::flag(&value, None),
        clinical::dosage_text(&value),
        clinical::notes(&value),
        clinical::allergy_reactions(&value),
        clinical::criticality(&value),
        clinical::day_of(&value, DAY_POINTERS),
    ));
    let demographics = Demographics::of(&value);
    std::hint::black_box((
        demographics.matches(&demographics),
        demographics.matches(&Demographics::default()),
        demographics.normalised_family(),
        demographics.normalised_given(),
    ));
    let mut counts = [0usize; 2];
    walk(&value, &mut counts);
    format!(
        "facts: {}; entry: kind {:?}, subject {:?}, date {:?}; {} object(s), {} string(s)",
        match &facts {
            Ok(f) => format!("{} {:?}", f.resource_type, f.id),
            Err(e) => e.to_string(),
        },
        read.kind,
        read.subject,
        read.date,
        counts[0],
        counts[1],
    )
}

/// Reads every object and string inside `value` as the datatypes they could be.
fn walk(value: &Value, counts: &mut [usize; 2]) {
    match value {
        Value::Object(map) => {
            if let Some(n) = counts.get_mut(0) {
                *n = n.saturating_add(1);
            }
            let reference = Reference::of(value);
            std::hint::black_box((reference.key(), reference.patient_id()));
            let concept = Concept::of(value);
            std::hint::black_box((
                concept.text(),
                concept.coded().count(),
                concept.first_code(),
                concept.has_code("1234-5"),
            ));
            std::hint::black_box((
                Coding::of(value),
                Quantity::of(value),
                Range::of(value),
                clinical::care_identifier(value),
                clinical::value_of(String::new(), value),
                fhir::subject(value),
                Entry::read(value).display,
            ));
            for (key, inner) in map {
                std::hint::black_box(fhir::number_text(inner));
                std::hint::black_box(fhir::in_patient_compartment(key));
                walk(inner, counts);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| walk(v, counts)),
        Value::String(text) => {
            if let Some(n) = counts.get_mut(1) {
                *n = n.saturating_add(1);
            }
            if let Some(date) = Date::parse(text) {
                std::hint::black_box((
                    date.day(),
                    date.day_or_text(),
                    date.year(),
                    date.sort_key(),
                ));
            }
            std::hint::black_box((
                fhir::is_valid_id(text),
                fhir::is_r4_resource_type(text),
                Kind::parse(text),
                clinical::normalise_name(text),
                fhir::minified(text),
            ));
        }
        _ => {}
    }
}
