//! Results (DiagnosticReport + Observations), vital signs and social history (Observations).

use roxmltree::Node;
use serde_json::{Map, Value, json};

use super::{base, coded, insert_some, insert_time, status};
use crate::datatypes as dt;
use crate::document::{Ctx, Out};
use crate::xml::{self, child, children};

const CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/observation-category";
const SMOKING_STATUS: &[&str] = &["2.16.840.1.113883.10.20.22.4.78"];

/// A result status (HL7's ConceptMap CF-ResultStatus).
fn result_status(node: Node<'_, '_>) -> &'static str {
    match status(node) {
        Some("active" | "held" | "suspended") => "registered",
        Some("aborted" | "cancelled") => "cancelled",
        Some("nullified") => "entered-in-error",
        _ => "final",
    }
}

/// An organizer: its component observations, and over them a DiagnosticReport (results) or a
/// panel Observation with `hasMember` (vital signs and other organizers, as C-CDA on FHIR maps
/// the vital signs organizer).
pub(super) fn organizer(
    ctx: &Ctx<'_, '_>,
    out: &mut Out,
    org: Node<'_, '_>,
    category: &str,
    report: bool,
) -> u32 {
    let mut results = Vec::new();
    for obs in
        children(org, "component").filter_map(|c| c.children().find(|o| xml::is(*o, "observation")))
    {
        results.push(out.push(observation(ctx, obs, category)));
    }
    let mut made = results.len() as u32;
    let refs: Vec<Value> = results.iter().map(|x| json!({ "reference": x })).collect();
    if report {
        let mut r = base("DiagnosticReport", org);
        r.insert("status".into(), json!(result_status(org)));
        r.insert(
            "category".into(),
            json!([coded(
                "http://terminology.hl7.org/CodeSystem/v2-0074",
                "LAB"
            )]),
        );
        r.insert(
            "code".into(),
            dt::concept_or_absent(ctx, child(org, "code")),
        );
        r.insert("subject".into(), ctx.patient.clone());
        insert_time(ctx, &mut r, "effective", org);
        if !refs.is_empty() {
            r.insert("result".into(), Value::Array(refs));
        }
        out.push(Value::Object(r));
        made += 1;
    } else if !refs.is_empty() {
        let mut r = base("Observation", org);
        r.insert("status".into(), json!(result_status(org)));
        if !category.is_empty() {
            r.insert("category".into(), json!([coded(CATEGORY, category)]));
        }
        r.insert(
            "code".into(),
            dt::concept_or_absent(ctx, child(org, "code")),
        );
        r.insert("subject".into(), ctx.patient.clone());
        insert_time(ctx, &mut r, "effective", org);
        r.insert("hasMember".into(), Value::Array(refs));
        out.push(Value::Object(r));
        made += 1;
    }
    made
}

/// An observation outside an organizer.
/// Its component observations (`entryRelationship typeCode="COMP"`: an assessment scale's
/// questions, …) become Observations too, named in its `hasMember`, down to [`MAX_MEMBER_DEPTH`].
pub(super) fn single(ctx: &Ctx<'_, '_>, out: &mut Out, obs: Node<'_, '_>, category: &str) -> u32 {
    if !xml::is(obs, "observation") {
        return 0;
    }
    with_members(ctx, out, obs, category, 0).1
}

const MAX_MEMBER_DEPTH: usize = 3;

/// (the observation's reference, resources made).
fn with_members(
    ctx: &Ctx<'_, '_>,
    out: &mut Out,
    obs: Node<'_, '_>,
    category: &str,
    depth: usize,
) -> (String, u32) {
    let mut made = 1;
    let mut members = Vec::new();
    if depth < MAX_MEMBER_DEPTH {
        let parts = children(obs, "entryRelationship")
            .filter(|r| r.attribute("typeCode") == Some("COMP"))
            .filter_map(|r| r.children().find(|o| xml::is(*o, "observation")));
        for part in parts {
            let (reference, n) = with_members(ctx, out, part, category, depth + 1);
            members.push(json!({ "reference": reference }));
            made += n;
        }
    }
    let mut resource = observation(ctx, obs, category);
    if !members.is_empty()
        && let Some(fields) = resource.as_object_mut()
    {
        fields.insert("hasMember".into(), Value::Array(members));
    }
    (out.push(resource), made)
}

fn observation(ctx: &Ctx<'_, '_>, obs: Node<'_, '_>, category: &str) -> Value {
    let mut r = base("Observation", obs);
    r.insert("status".into(), json!(result_status(obs)));
    if !category.is_empty() {
        r.insert("category".into(), json!([coded(CATEGORY, category)]));
    }
    let code_node = child(obs, "code");
    let code = match dt::code_of(code_node) {
        // C-CDA R1.1's smoking status is coded ASSERTION; its meaning is LOINC 72166-2.
        Some("ASSERTION") if xml::has_template(obs, SMOKING_STATUS) => json!({
            "coding": [{ "system": "http://loinc.org", "code": "72166-2", "display": "Tobacco smoking status" }]
        }),
        _ => dt::concept_or_absent(ctx, code_node),
    };
    r.insert("code".into(), code);
    r.insert("subject".into(), ctx.patient.clone());
    insert_time(ctx, &mut r, "effective", obs);
    let value = child(obs, "value");
    match value.and_then(|v| dt::observation_value(ctx, v)) {
        Some((key, v)) => {
            r.insert(key.into(), v);
        }
        None => {
            if let Some(reason) = value.and_then(xml::null_flavor) {
                r.insert(
                    "dataAbsentReason".into(),
                    coded(
                        "http://terminology.hl7.org/CodeSystem/data-absent-reason",
                        dt::absent_reason(reason),
                    ),
                );
            }
        }
    }
    let interpretation: Vec<Value> = children(obs, "interpretationCode")
        .filter_map(|i| dt::concept(ctx, Some(i)))
        .collect();
    if !interpretation.is_empty() {
        r.insert("interpretation".into(), Value::Array(interpretation));
    }
    insert_some(
        &mut r,
        "bodySite",
        dt::concept(ctx, child(obs, "targetSiteCode")),
    );
    insert_some(&mut r, "method", dt::concept(ctx, child(obs, "methodCode")));
    let ranges: Vec<Value> = children(obs, "referenceRange")
        .filter_map(|rr| child(rr, "observationRange"))
        .filter_map(|range| {
            let mut m = Map::new();
            if let Some(Value::Object(lh)) = dt::range(ctx, child(range, "value")) {
                m.extend(lh);
            }
            let text = xml::text_of(child(range, "text"))
                .or_else(|| child(range, "text").and_then(|t| ctx.referenced_text(t)));
            insert_some(&mut m, "text", text.map(Value::from));
            (!m.is_empty()).then_some(Value::Object(m))
        })
        .collect();
    if !ranges.is_empty() {
        r.insert("referenceRange".into(), Value::Array(ranges));
    }
    Value::Object(r)
}
