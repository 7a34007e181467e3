//! Procedures, encounters (with their diagnoses), planned care (ServiceRequest), goals and notes.

use base64::Engine;
use roxmltree::Node;
use serde_json::{Value, json};

use super::{author_time, base, coded, conditions, insert_some, insert_time, related, status};
use crate::datatypes::{self as dt, DATA_ABSENT_REASON};
use crate::document::{Ctx, Out};
use crate::xml::{self, attr, child, children};

const ENCOUNTER_DIAGNOSIS: &[&str] = &["2.16.840.1.113883.10.20.22.4.80"];

/// A Procedure Activity (procedure, act or observation) → Procedure (HL7's ConceptMap
/// CF-ProcedureStatus).
pub(super) fn procedure(ctx: &Ctx<'_, '_>, out: &mut Out, stmt: Node<'_, '_>) -> u32 {
    let mut r = base("Procedure", stmt);
    let state = match (xml::negated(stmt), status(stmt)) {
        (true, _) => "not-done",
        (false, Some("completed")) => "completed",
        (false, Some("active")) => "in-progress",
        (false, Some("aborted")) => "stopped",
        (false, Some("cancelled")) => "not-done",
        (false, Some("nullified")) => "entered-in-error",
        (false, _) => "unknown",
    };
    r.insert("status".into(), json!(state));
    r.insert(
        "code".into(),
        dt::concept_or_absent(ctx, child(stmt, "code")),
    );
    r.insert("subject".into(), ctx.patient.clone());
    insert_time(ctx, &mut r, "performed", stmt);
    let sites: Vec<Value> = children(stmt, "targetSiteCode")
        .filter_map(|s| dt::concept(ctx, Some(s)))
        .collect();
    if !sites.is_empty() {
        r.insert("bodySite".into(), Value::Array(sites));
    }
    out.push(Value::Object(r));
    1
}

/// An Encounter Activity → Encounter, and each encounter diagnosis → Condition
/// (category encounter-diagnosis) linked both ways (HL7's ConceptMap CF-EncounterStatus).
pub(super) fn encounter(ctx: &Ctx<'_, '_>, out: &mut Out, enc: Node<'_, '_>) -> u32 {
    let mut r = base("Encounter", enc);
    let id = format!(
        "Encounter/{}",
        r.get("id").and_then(Value::as_str).unwrap_or_default()
    );
    let time = dt::interval(ctx, super::effective(enc));
    let state = match status(enc) {
        Some("completed") => "finished",
        Some("active") => "in-progress",
        Some("cancelled") => "cancelled",
        Some("held") => "planned",
        Some("suspended") => "onleave",
        Some("nullified") => "entered-in-error",
        Some(_) => "unknown",
        None if enc.attribute("moodCode") == Some("EVN") && time.start().is_some() => "finished",
        None => "unknown",
    };
    r.insert("status".into(), json!(state));
    r.insert("class".into(), class(enc));
    insert_some(
        &mut r,
        "type",
        dt::concept(ctx, child(enc, "code")).map(|c| json!([c])),
    );
    r.insert("subject".into(), ctx.patient.clone());
    insert_some(&mut r, "period", time.period());
    let locations: Vec<Value> = children(enc, "participant")
        .filter(|p| p.attribute("typeCode") == Some("LOC"))
        .filter_map(|p| xml::text_of(xml::path(p, &["participantRole", "playingEntity", "name"])))
        .map(|name| json!({ "location": { "display": name } }))
        .collect();
    if !locations.is_empty() {
        r.insert("location".into(), Value::Array(locations));
    }
    let reasons: Vec<Value> = children(enc, "entryRelationship")
        .filter(|er| er.attribute("typeCode") == Some("RSON"))
        .filter_map(|er| er.children().find(|c| xml::is(*c, "observation")))
        .filter_map(|o| dt::concept(ctx, child(o, "value")))
        .collect();
    if !reasons.is_empty() {
        r.insert("reasonCode".into(), Value::Array(reasons));
    }
    let mut made = 1;
    let mut diagnoses = Vec::new();
    for act in related(enc).filter(|a| xml::has_template(*a, ENCOUNTER_DIAGNOSIS)) {
        for obs in conditions::concerned(act, conditions::PROBLEM_OBSERVATION) {
            let condition = conditions::condition(ctx, obs, None, "encounter-diagnosis", Some(&id));
            diagnoses.push(json!({ "condition": { "reference": out.push(condition) } }));
            made += 1;
        }
    }
    if !diagnoses.is_empty() {
        r.insert("diagnosis".into(), Value::Array(diagnoses));
    }
    out.push(Value::Object(r));
    made
}

/// Encounter.class (required): an ActCode in the code or its translations; else said unknown.
pub(crate) fn class(enc: Node<'_, '_>) -> Value {
    const ACT_CODE: &str = "2.16.840.1.113883.5.4";
    let code = child(enc, "code");
    let found = code
        .into_iter()
        .chain(code.into_iter().flat_map(|c| children(c, "translation")))
        .find(|c| attr(*c, "codeSystem") == Some(ACT_CODE))
        .and_then(|c| attr(c, "code"));
    match found {
        Some(c) => {
            json!({ "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": c })
        }
        None => json!({ "extension": [{ "url": DATA_ABSENT_REASON, "valueCode": "unknown" }] }),
    }
}

/// A planned act, observation, procedure or encounter → ServiceRequest.
pub(super) fn service_request(ctx: &Ctx<'_, '_>, out: &mut Out, stmt: Node<'_, '_>) -> u32 {
    let mut r = base("ServiceRequest", stmt);
    let state = match status(stmt) {
        Some("completed") => "completed",
        Some("cancelled" | "aborted") => "revoked",
        Some("suspended" | "held") => "on-hold",
        Some("nullified") => "entered-in-error",
        _ => "active",
    };
    r.insert("status".into(), json!(state));
    let intent = match stmt.attribute("moodCode") {
        Some("RQO" | "ARQ" | "APT") => "order",
        Some("PRP") => "proposal",
        _ => "plan",
    };
    r.insert("intent".into(), json!(intent));
    if xml::negated(stmt) {
        r.insert("doNotPerform".into(), json!(true));
    }
    r.insert(
        "code".into(),
        dt::concept_or_absent(ctx, child(stmt, "code")),
    );
    r.insert("subject".into(), ctx.patient.clone());
    insert_time(ctx, &mut r, "occurrence", stmt);
    insert_some(
        &mut r,
        "authoredOn",
        author_time(ctx, stmt).map(Value::from),
    );
    out.push(Value::Object(r));
    1
}

/// A Goal Observation → Goal.
pub(super) fn goal(ctx: &Ctx<'_, '_>, out: &mut Out, obs: Node<'_, '_>) -> u32 {
    if !xml::is(obs, "observation") {
        return 0;
    }
    let mut r = base("Goal", obs);
    let state = match status(obs) {
        Some("completed") => "completed",
        Some("cancelled" | "aborted") => "cancelled",
        Some("suspended" | "held") => "on-hold",
        Some("nullified") => "entered-in-error",
        _ => "active",
    };
    r.insert("lifecycleStatus".into(), json!(state));
    let description = dt::concept(ctx, child(obs, "code"))
        .or_else(|| dt::concept(ctx, child(obs, "value")))
        .or_else(|| {
            child(obs, "text")
                .and_then(|t| ctx.referenced_text(t))
                .map(|t| json!({ "text": t }))
        })
        .unwrap_or_else(|| dt::concept_or_absent(ctx, child(obs, "code")));
    r.insert("description".into(), description);
    r.insert("subject".into(), ctx.patient.clone());
    let time = dt::interval(ctx, super::effective(obs));
    if let Some(start) = time.low.as_ref().or(time.point.as_ref()) {
        r.insert("startDate".into(), json!(start.get(..10).unwrap_or(start)));
    }
    out.push(Value::Object(r));
    1
}

/// A Note Activity → DocumentReference holding the note's text.
pub(super) fn note(ctx: &Ctx<'_, '_>, out: &mut Out, act: Node<'_, '_>) -> u32 {
    let Some(text) =
        child(act, "text").and_then(|t| ctx.referenced_text(t).or_else(|| xml::text_of(Some(t))))
    else {
        return 0;
    };
    let mut r = base("DocumentReference", act);
    r.insert("status".into(), json!("current"));
    r.insert(
        "type".into(),
        dt::concept_or_absent(ctx, child(act, "code")),
    );
    r.insert(
        "category".into(),
        json!([coded(
            "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category",
            "clinical-note"
        )]),
    );
    r.insert("subject".into(), ctx.patient.clone());
    let when = children(act, "author").find_map(|a| dt::instant(ctx, child(a, "time")));
    insert_some(&mut r, "date", when.map(Value::from));
    let data = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
    let mut attachment = serde_json::Map::new();
    attachment.insert("contentType".into(), json!("text/plain; charset=utf-8"));
    attachment.insert("data".into(), json!(data));
    insert_some(
        &mut attachment,
        "creation",
        dt::interval(ctx, super::effective(act))
            .start()
            .map(|s| json!(s)),
    );
    r.insert("content".into(), json!([{ "attachment": attachment }]));
    out.push(Value::Object(r));
    1
}
