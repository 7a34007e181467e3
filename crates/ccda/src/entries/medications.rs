//! Medication activities (MedicationRequest) and immunizations (Immunization).

use roxmltree::Node;
use serde_json::{Map, Value, json};

use super::{author_time, base, effective, insert_some, related, status};
use crate::datatypes::{self as dt, DATA_ABSENT_REASON};
use crate::document::{Ctx, Out};
use crate::xml::{self, attr, child, children, path};

const INSTRUCTION: &[&str] = &[
    "2.16.840.1.113883.10.20.22.4.20",
    "2.16.840.1.113883.10.20.22.4.147",
];

fn product<'a, 'i>(sa: Node<'a, 'i>) -> Option<Node<'a, 'i>> {
    path(
        sa,
        &["consumable", "manufacturedProduct", "manufacturedMaterial"],
    )
}

/// A Medication Activity → MedicationRequest (HL7's ConceptMaps CF-MedicationStatus and
/// CF-MedActivityMood). `plan`: from the Plan of Treatment section.
pub(super) fn medication(ctx: &Ctx<'_, '_>, out: &mut Out, sa: Node<'_, '_>, plan: bool) -> u32 {
    let mut r = base("MedicationRequest", sa);
    let state = match status(sa) {
        Some("active") => "active",
        Some("suspended") => "on-hold",
        Some("aborted") => "stopped",
        Some("completed") => "completed",
        Some("nullified") => "entered-in-error",
        Some("cancelled") => "cancelled",
        _ => "unknown",
    };
    r.insert("status".into(), json!(state));
    let intent = match sa.attribute("moodCode") {
        _ if plan => "plan",
        Some("INT" | "RQO") => "order",
        Some("PRP") => "proposal",
        _ => "plan",
    };
    r.insert("intent".into(), json!(intent));
    if xml::negated(sa) {
        r.insert("doNotPerform".into(), json!(true));
    }
    r.insert(
        "medicationCodeableConcept".into(),
        dt::concept_or_absent(ctx, product(sa).and_then(|m| child(m, "code"))),
    );
    r.insert("subject".into(), ctx.patient.clone());
    insert_some(&mut r, "authoredOn", author_time(ctx, sa).map(Value::from));
    let mut dosage = Map::new();
    let sig = related(sa)
        .find(|i| xml::has_template(*i, INSTRUCTION))
        .and_then(|i| {
            ctx.referenced_text(child(i, "text")?)
                .or_else(|| xml::text_of(child(i, "text")))
        })
        .or_else(|| child(sa, "text").and_then(|t| ctx.referenced_text(t)));
    insert_some(&mut dosage, "text", sig.map(Value::from));
    let mut repeat = Map::new();
    insert_some(
        &mut repeat,
        "boundsPeriod",
        dt::interval(ctx, effective(sa)).period(),
    );
    if let Some(pivl) = children(sa, "effectiveTime").find(|e| xml::xsi_type(*e) == Some("PIVL_TS"))
    {
        let period = child(pivl, "period");
        let value = period.and_then(|p| attr(p, "value")).and_then(dt::decimal);
        let unit = period.and_then(|p| attr(p, "unit")).and_then(|u| match u {
            "s" | "min" | "h" | "d" | "wk" | "mo" | "a" => Some(u),
            _ => None,
        });
        if let (Some(value), Some(unit)) = (value, unit) {
            repeat.insert("period".into(), value);
            repeat.insert("periodUnit".into(), json!(unit));
        } else if period.is_some() {
            ctx.unreadable();
        }
    }
    if !repeat.is_empty() {
        dosage.insert("timing".into(), json!({ "repeat": repeat }));
    }
    insert_some(
        &mut dosage,
        "route",
        dt::concept(ctx, child(sa, "routeCode")),
    );
    if let Some(dose) = dt::quantity(ctx, child(sa, "doseQuantity")) {
        dosage.insert("doseAndRate".into(), json!([{ "doseQuantity": dose }]));
    }
    if !dosage.is_empty() {
        r.insert("dosageInstruction".into(), json!([dosage]));
    }
    out.push(Value::Object(r));
    1
}

/// An Immunization Activity → Immunization (HL7's ConceptMap CF-ImmunizationStatus).
pub(super) fn immunization(ctx: &Ctx<'_, '_>, out: &mut Out, sa: Node<'_, '_>) -> u32 {
    let mut r = base("Immunization", sa);
    let state = match (xml::negated(sa), status(sa)) {
        (true, _) => "not-done",
        (false, Some("nullified")) => "entered-in-error",
        (false, Some("completed") | None) => "completed",
        (false, Some(_)) => "not-done",
    };
    r.insert("status".into(), json!(state));
    let material = product(sa);
    r.insert(
        "vaccineCode".into(),
        dt::concept_or_absent(ctx, material.and_then(|m| child(m, "code"))),
    );
    r.insert("patient".into(), ctx.patient.clone());
    let time = dt::interval(ctx, effective(sa));
    match time.start() {
        Some(t) => {
            r.insert("occurrenceDateTime".into(), json!(t));
        }
        // occurrence[x] is required: a record without a date says so in words.
        None => {
            r.insert("occurrenceString".into(), json!("date not recorded"));
        }
    }
    // C-CDA does not say whether the record came from whoever gave the vaccine.
    r.insert(
        "_primarySource".into(),
        json!({ "extension": [{ "url": DATA_ABSENT_REASON, "valueCode": "unsupported" }] }),
    );
    insert_some(
        &mut r,
        "lotNumber",
        material
            .and_then(|m| xml::text_of(child(m, "lotNumberText")))
            .map(Value::from),
    );
    let manufacturer = path(
        sa,
        &[
            "consumable",
            "manufacturedProduct",
            "manufacturerOrganization",
            "name",
        ],
    );
    insert_some(
        &mut r,
        "manufacturer",
        xml::text_of(manufacturer).map(|n| json!({ "display": n })),
    );
    insert_some(&mut r, "route", dt::concept(ctx, child(sa, "routeCode")));
    insert_some(
        &mut r,
        "site",
        dt::concept(ctx, child(sa, "approachSiteCode")),
    );
    insert_some(
        &mut r,
        "doseQuantity",
        dt::quantity(ctx, child(sa, "doseQuantity")),
    );
    insert_some(&mut r, "recorded", author_time(ctx, sa).map(Value::from));
    out.push(Value::Object(r));
    1
}
