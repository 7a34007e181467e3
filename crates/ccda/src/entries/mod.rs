//! Entries → resources. An entry is recognised by its templateId first (wherever it is), else
//! by its section's kind and its element (act, observation, organizer, …).

mod activities;
mod conditions;
mod medications;
mod observations;

use roxmltree::Node;
use serde_json::{Map, Value, json};

use crate::datatypes as dt;
use crate::document::{Ctx, Out};
use crate::report::SectionKind;
use crate::xml::{self, attr, child, children};

/// Entry templateId roots (C-CDA R2.1/R1.1, CCD 1.0) → what they are.
const NOTE: &[&str] = &["2.16.840.1.113883.10.20.22.4.202"];
const PROBLEM_CONCERN: &[&str] = &[
    "2.16.840.1.113883.10.20.22.4.3",
    "2.16.840.1.113883.10.20.1.27",
];
const ALLERGY_CONCERN: &[&str] = &["2.16.840.1.113883.10.20.22.4.30"];
const MEDICATION: &[&str] = &[
    "2.16.840.1.113883.10.20.22.4.16",
    "2.16.840.1.113883.10.20.1.24",
];
/// Admission and discharge medication acts, which hold Medication Activities.
const MEDICATION_WRAPPER: &[&str] = &[
    "2.16.840.1.113883.10.20.22.4.35",
    "2.16.840.1.113883.10.20.22.4.36",
];
const IMMUNIZATION: &[&str] = &["2.16.840.1.113883.10.20.22.4.52"];
const RESULT_ORGANIZER: &[&str] = &[
    "2.16.840.1.113883.10.20.22.4.1",
    "2.16.840.1.113883.10.20.1.32",
];
const VITALS_ORGANIZER: &[&str] = &[
    "2.16.840.1.113883.10.20.22.4.26",
    "2.16.840.1.113883.10.20.1.35",
];
const PROCEDURE: &[&str] = &[
    "2.16.840.1.113883.10.20.22.4.14",
    "2.16.840.1.113883.10.20.22.4.13",
    "2.16.840.1.113883.10.20.22.4.12",
    "2.16.840.1.113883.10.20.1.29",
];
const ENCOUNTER: &[&str] = &[
    "2.16.840.1.113883.10.20.22.4.49",
    "2.16.840.1.113883.10.20.1.21",
];
const SOCIAL: &[&str] = &[
    "2.16.840.1.113883.10.20.22.4.78",
    "2.16.840.1.113883.10.20.22.4.38",
    "2.16.840.1.113883.10.20.22.4.85",
    "2.16.840.1.113883.10.20.22.4.200",
];
const PROBLEM_OBSERVATION: &[&str] = &[
    "2.16.840.1.113883.10.20.22.4.4",
    "2.16.840.1.113883.10.20.1.28",
];
const GOAL: &[&str] = &["2.16.840.1.113883.10.20.22.4.121"];

/// Converts one `<entry>`; returns how many resources it became (0: text only).
pub(crate) fn convert(
    ctx: &Ctx<'_, '_>,
    out: &mut Out,
    kind: SectionKind,
    entry: Node<'_, '_>,
) -> u32 {
    let Some(stmt) = entry.children().find(|c| c.is_element()) else {
        return 0;
    };
    if kind == SectionKind::FamilyHistory {
        // Its observations are about relatives: never the patient's own entries.
        return 0;
    }
    let has = |roots: &[&str]| xml::has_template(stmt, roots);
    let name = stmt.tag_name().name();
    if has(NOTE) {
        return activities::note(ctx, out, stmt);
    }
    if has(PROBLEM_CONCERN) {
        return conditions::problems(ctx, out, stmt, "problem-list-item");
    }
    if has(ALLERGY_CONCERN) {
        return conditions::allergies(ctx, out, stmt);
    }
    if has(IMMUNIZATION) {
        return medications::immunization(ctx, out, stmt);
    }
    if has(MEDICATION) && kind != SectionKind::Immunizations {
        let plan = kind == SectionKind::PlanOfTreatment;
        return medications::medication(ctx, out, stmt, plan);
    }
    if has(VITALS_ORGANIZER) {
        return observations::organizer(ctx, out, stmt, "vital-signs", false);
    }
    if has(RESULT_ORGANIZER) {
        return observations::organizer(ctx, out, stmt, "laboratory", true);
    }
    if has(ENCOUNTER) && kind != SectionKind::PlanOfTreatment {
        return activities::encounter(ctx, out, stmt);
    }
    if has(PROCEDURE) && kind != SectionKind::PlanOfTreatment {
        return activities::procedure(ctx, out, stmt);
    }
    if has(PROBLEM_OBSERVATION) && name == "observation" {
        return conditions::problems(ctx, out, stmt, "problem-list-item");
    }
    if has(SOCIAL) {
        return observations::single(ctx, out, stmt, "social-history");
    }
    if has(GOAL) {
        return activities::goal(ctx, out, stmt);
    }
    if has(MEDICATION_WRAPPER) || (kind == SectionKind::Medications && name == "act") {
        // A discharge (or admission) medication act wraps the medication activities.
        let plan = kind == SectionKind::PlanOfTreatment;
        return related(stmt)
            .filter(|sa| xml::is(*sa, "substanceAdministration"))
            .map(|sa| medications::medication(ctx, out, sa, plan))
            .sum();
    }
    match (kind, name) {
        // An observation with a template of its own (a health status observation, …) is not a problem.
        (SectionKind::Problems, "observation") if xml::template_roots(stmt).next().is_some() => {
            observations::single(ctx, out, stmt, "")
        }
        (SectionKind::Problems, "act" | "observation") => {
            conditions::problems(ctx, out, stmt, "problem-list-item")
        }
        (SectionKind::Allergies, "act" | "observation") => conditions::allergies(ctx, out, stmt),
        (SectionKind::Medications, "substanceAdministration") => {
            medications::medication(ctx, out, stmt, false)
        }
        (SectionKind::Immunizations, "substanceAdministration") => {
            medications::immunization(ctx, out, stmt)
        }
        (SectionKind::Results, "organizer") => {
            observations::organizer(ctx, out, stmt, "laboratory", true)
        }
        (SectionKind::Results, "observation") => observations::single(ctx, out, stmt, "laboratory"),
        (SectionKind::VitalSigns, "organizer") => {
            observations::organizer(ctx, out, stmt, "vital-signs", false)
        }
        (SectionKind::VitalSigns, "observation") => {
            observations::single(ctx, out, stmt, "vital-signs")
        }
        (SectionKind::SocialHistory, "observation") => {
            observations::single(ctx, out, stmt, "social-history")
        }
        (SectionKind::Procedures, "procedure" | "act" | "observation") => {
            activities::procedure(ctx, out, stmt)
        }
        (SectionKind::Encounters, "encounter") => activities::encounter(ctx, out, stmt),
        (SectionKind::PlanOfTreatment, "substanceAdministration") => {
            medications::medication(ctx, out, stmt, true)
        }
        (SectionKind::PlanOfTreatment, "act" | "observation" | "procedure" | "encounter") => {
            activities::service_request(ctx, out, stmt)
        }
        (SectionKind::Goals, "observation") => activities::goal(ctx, out, stmt),
        (SectionKind::Notes, "act") => activities::note(ctx, out, stmt),
        (SectionKind::Other, "observation") => observations::single(ctx, out, stmt, ""),
        (SectionKind::Other, "organizer") => observations::organizer(ctx, out, stmt, "", false),
        _ => 0,
    }
}

pub(crate) use activities::class as encounter_class;

/// `{resourceType, id, identifier}` of an entry.
fn base(resource_type: &str, node: Node<'_, '_>) -> Map<String, Value> {
    crate::header::base(
        resource_type,
        crate::document::id_for(resource_type, node),
        node,
    )
}

/// The `statusCode/@code`.
fn status<'a>(node: Node<'a, '_>) -> Option<&'a str> {
    attr(child(node, "statusCode")?, "code")
}

/// The effectiveTime that is a point or an interval (not a frequency).
fn effective<'a, 'i>(node: Node<'a, 'i>) -> Option<Node<'a, 'i>> {
    children(node, "effectiveTime")
        .find(|e| !matches!(xml::xsi_type(*e), Some("PIVL_TS" | "EIVL_TS" | "SXPR_TS")))
}

/// The entry's first author time, as a dateTime.
fn author_time(ctx: &Ctx<'_, '_>, node: Node<'_, '_>) -> Option<String> {
    children(node, "author").find_map(|a| dt::date_time(ctx, child(a, "time")))
}

/// The clinical statements inside `entryRelationship`s (observation, act, …).
fn related<'a, 'i: 'a>(node: Node<'a, 'i>) -> impl Iterator<Item = Node<'a, 'i>> + 'a {
    children(node, "entryRelationship").filter_map(|r| r.children().find(|c| c.is_element()))
}

/// The first related observation with one of these templates or this LOINC code.
fn related_observation<'a, 'i: 'a>(
    node: Node<'a, 'i>,
    roots: &[&str],
    code: &str,
) -> Option<Node<'a, 'i>> {
    related(node).find(|r| {
        xml::is(*r, "observation")
            && (xml::has_template(*r, roots) || dt::code_of(child(*r, "code")) == Some(code))
    })
}

/// A `{coding: [{system, code}]}` concept.
fn coded(system: &str, code: &str) -> Value {
    json!({ "coding": [{ "system": system, "code": code }] })
}

fn insert_some(r: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(v) = value {
        r.insert(key.into(), v);
    }
}

/// `xDateTime`/`xPeriod` from an effectiveTime, under `prefix` (`onset`, `performed`, …).
fn insert_time(ctx: &Ctx<'_, '_>, r: &mut Map<String, Value>, prefix: &str, node: Node<'_, '_>) {
    if let Some((suffix, v)) = dt::interval(ctx, effective(node)).date_or_period() {
        r.insert(format!("{prefix}{suffix}"), v);
    }
}
