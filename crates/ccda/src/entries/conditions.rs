//! Problems (Condition) and allergies (AllergyIntolerance): each observation inside a concern
//! act is its own resource; status from the Status Observation, else the concern's statusCode.

use roxmltree::Node;
use serde_json::{Value, json};

use super::{
    author_time, base, coded, effective, insert_some, related, related_observation, status,
};
use crate::datatypes::{self as dt, DATA_ABSENT_REASON};
use crate::document::{Ctx, Out};
use crate::xml::{self, child, children};

const CLINICAL: &str = "http://terminology.hl7.org/CodeSystem/condition-clinical";
pub(super) const PROBLEM_OBSERVATION: &[&str] = &[
    "2.16.840.1.113883.10.20.22.4.4",
    "2.16.840.1.113883.10.20.1.28",
];
const PROBLEM_STATUS: &[&str] = &[
    "2.16.840.1.113883.10.20.22.4.6",
    "2.16.840.1.113883.10.20.1.50",
];
const ALLERGY_OBSERVATION: &[&str] = &[
    "2.16.840.1.113883.10.20.22.4.7",
    "2.16.840.1.113883.10.20.1.18",
];
const ALLERGY_STATUS: &[&str] = &[
    "2.16.840.1.113883.10.20.22.4.28",
    "2.16.840.1.113883.10.20.1.39",
];
const REACTION: &[&str] = &[
    "2.16.840.1.113883.10.20.22.4.9",
    "2.16.840.1.113883.10.20.1.54",
];
const SEVERITY: &[&str] = &[
    "2.16.840.1.113883.10.20.22.4.8",
    "2.16.840.1.113883.10.20.1.55",
];
const CRITICALITY: &[&str] = &["2.16.840.1.113883.10.20.22.4.145"];

/// The observations a concern act holds (or the statement itself when it is an observation):
/// those with the expected template when any has it, else every observation that is not a
/// status observation.
pub(super) fn concerned<'a, 'i: 'a>(stmt: Node<'a, 'i>, templates: &[&str]) -> Vec<Node<'a, 'i>> {
    if xml::is(stmt, "observation") {
        return vec![stmt];
    }
    let observations: Vec<Node<'a, 'i>> = related(stmt)
        .filter(|r| xml::is(*r, "observation"))
        .collect();
    let typed: Vec<Node<'a, 'i>> = observations
        .iter()
        .copied()
        .filter(|o| xml::has_template(*o, templates))
        .collect();
    if !typed.is_empty() {
        return typed;
    }
    observations
        .into_iter()
        .filter(|o| dt::code_of(child(*o, "code")) != Some("33999-4"))
        .collect()
}

/// A problem concern act (or a bare problem observation) → one Condition per observation.
pub(super) fn problems(
    ctx: &Ctx<'_, '_>,
    out: &mut Out,
    stmt: Node<'_, '_>,
    category: &str,
) -> u32 {
    let concern = xml::is(stmt, "act").then_some(stmt);
    let mut made = 0;
    for obs in concerned(stmt, PROBLEM_OBSERVATION) {
        out.push(condition(ctx, obs, concern, category, None));
        made += 1;
    }
    made
}

/// One problem observation → Condition. `encounter` is the visit of an encounter diagnosis.
pub(super) fn condition(
    ctx: &Ctx<'_, '_>,
    obs: Node<'_, '_>,
    concern: Option<Node<'_, '_>>,
    category: &str,
    encounter: Option<&str>,
) -> Value {
    let mut r = base("Condition", obs);
    let time = dt::interval(ctx, effective(obs));
    let clinical = related_observation(obs, PROBLEM_STATUS, "33999-4")
        .and_then(|s| dt::code_of(child(s, "value")))
        .and_then(|code| match code {
            "55561003" => Some("active"),
            "73425007" => Some("inactive"),
            "413322009" => Some("resolved"),
            "246455001" => Some("recurrence"),
            "263855007" => Some("relapse"),
            "277022003" => Some("remission"),
            _ => None,
        })
        .or_else(|| {
            concern.and_then(status).map(|s| match s {
                "active" => "active",
                _ => "inactive",
            })
        });
    // An end date (or "ended, date unknown") means the problem is no longer active.
    let ended = time.high.is_some() || time.high_unknown;
    let clinical = match clinical {
        Some("active" | "recurrence" | "relapse") if ended => Some("inactive"),
        None if ended => Some("inactive"),
        other => other,
    };
    if let Some(c) = clinical {
        r.insert("clinicalStatus".into(), coded(CLINICAL, c));
    }
    if xml::negated(obs) {
        r.insert(
            "verificationStatus".into(),
            coded(
                "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                "refuted",
            ),
        );
    }
    r.insert(
        "category".into(),
        json!([coded(
            "http://terminology.hl7.org/CodeSystem/condition-category",
            category
        )]),
    );
    r.insert(
        "code".into(),
        dt::concept_or_absent(ctx, child(obs, "value")),
    );
    r.insert("subject".into(), ctx.patient.clone());
    if let Some(e) = encounter {
        r.insert("encounter".into(), json!({ "reference": e }));
    }
    if let Some(onset) = time.low.as_ref().or(time.point.as_ref()) {
        r.insert("onsetDateTime".into(), json!(onset));
    }
    match &time.high {
        Some(end) => {
            r.insert("abatementDateTime".into(), json!(end));
        }
        None if time.high_unknown => {
            r.insert(
                "_abatementDateTime".into(),
                json!({ "extension": [{ "url": DATA_ABSENT_REASON, "valueCode": "unknown" }] }),
            );
        }
        None => {}
    }
    insert_some(
        &mut r,
        "recordedDate",
        author_time(ctx, obs)
            .or_else(|| concern.and_then(|c| author_time(ctx, c)))
            .map(Value::from),
    );
    Value::Object(r)
}

/// An allergy concern act (or a bare allergy observation) → one AllergyIntolerance each.
pub(super) fn allergies(ctx: &Ctx<'_, '_>, out: &mut Out, stmt: Node<'_, '_>) -> u32 {
    let concern = xml::is(stmt, "act").then_some(stmt);
    let observations = concerned(stmt, ALLERGY_OBSERVATION);
    let mut made = 0;
    for obs in observations {
        out.push(allergy(ctx, obs, concern));
        made += 1;
    }
    made
}

fn allergy(ctx: &Ctx<'_, '_>, obs: Node<'_, '_>, concern: Option<Node<'_, '_>>) -> Value {
    let mut r = base("AllergyIntolerance", obs);
    let type_code = dt::code_of(child(obs, "value"));
    let substance = children(obs, "participant")
        .filter_map(|p| xml::path(p, &["participantRole", "playingEntity", "code"]))
        .next();
    let substance_concept = dt::concept(ctx, substance);
    let clinical = related_observation(obs, ALLERGY_STATUS, "33999-4")
        .and_then(|s| dt::code_of(child(s, "value")))
        .and_then(|code| match code {
            "55561003" => Some("active"),
            "73425007" => Some("inactive"),
            "413322009" => Some("resolved"),
            _ => None,
        })
        .or_else(|| {
            concern
                .and_then(status)
                .map(|s| if s == "active" { "active" } else { "inactive" })
        });
    if let Some(c) = clinical {
        r.insert(
            "clinicalStatus".into(),
            coded(
                "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
                c,
            ),
        );
    }
    let verification = if xml::negated(obs) && substance_concept.is_some() {
        "refuted"
    } else {
        "confirmed"
    };
    r.insert(
        "verificationStatus".into(),
        coded(
            "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification",
            verification,
        ),
    );
    let kind = match type_code {
        Some("414285001" | "416098002" | "419199007") => Some("allergy"),
        Some("235719002" | "59037007") => Some("intolerance"),
        _ => None,
    };
    insert_some(&mut r, "type", kind.map(Value::from));
    let category = match type_code {
        Some("235719002" | "414285001" | "418471000") => Some("food"),
        Some("416098002" | "419511003" | "59037007") => Some("medication"),
        _ => None,
    };
    insert_some(&mut r, "category", category.map(|c| json!([c])));
    let criticality = related_observation(obs, CRITICALITY, "82606-5")
        .and_then(|c| dt::code_of(child(c, "value")))
        .and_then(|c| match c {
            "CRITH" => Some("high"),
            "CRITL" => Some("low"),
            "CRITU" => Some("unable-to-assess"),
            _ => None,
        });
    insert_some(&mut r, "criticality", criticality.map(Value::from));
    // "No known allergies": negated, with no substance (HL7's ConceptMap CF-NoKnownAllergies).
    let code = match (xml::negated(obs), substance_concept) {
        (true, None) => {
            let (code, display) = match type_code {
                Some("416098002") => ("409137002", "No known drug allergy"),
                Some("414285001") => ("429625007", "No known food allergy"),
                _ => ("716186003", "No known allergy"),
            };
            json!({ "coding": [{ "system": "http://snomed.info/sct", "code": code, "display": display }] })
        }
        (_, Some(c)) => c,
        (false, None) => dt::concept_or_absent(ctx, substance),
    };
    r.insert("code".into(), code);
    r.insert("patient".into(), ctx.patient.clone());
    let time = dt::interval(ctx, effective(obs));
    insert_some(
        &mut r,
        "onsetDateTime",
        time.low.or(time.point).map(Value::from),
    );
    insert_some(
        &mut r,
        "recordedDate",
        author_time(ctx, obs)
            .or_else(|| concern.and_then(|c| author_time(ctx, c)))
            .map(Value::from),
    );
    let reactions: Vec<Value> = related(obs)
        .filter(|o| {
            xml::is(*o, "observation")
                && (xml::has_template(*o, REACTION)
                    || o.parent().and_then(|p| p.attribute("typeCode")) == Some("MFST"))
        })
        .filter_map(|reaction| {
            let manifestation = dt::concept(ctx, child(reaction, "value"))?;
            let mut m = serde_json::Map::new();
            m.insert("manifestation".into(), json!([manifestation]));
            let severity = related_observation(reaction, SEVERITY, "SEV")
                .and_then(|s| dt::code_of(child(s, "value")))
                .and_then(|c| match c {
                    "255604002" => Some("mild"),
                    "6736007" => Some("moderate"),
                    "24484000" => Some("severe"),
                    _ => None,
                });
            insert_some(&mut m, "severity", severity.map(Value::from));
            let onset = dt::interval(ctx, effective(reaction));
            insert_some(&mut m, "onset", onset.low.or(onset.point).map(Value::from));
            Some(Value::Object(m))
        })
        .collect();
    if !reactions.is_empty() {
        r.insert("reaction".into(), Value::Array(reactions));
    }
    Value::Object(r)
}
