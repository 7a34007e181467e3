//! The document's header: the patient (recordTarget), its author and custodian, the visit it is
//! about (encompassingEncounter), and the DocumentReference that keeps the original.

use base64::Engine;
use roxmltree::Node;
use serde_json::{Map, Value, json};

use crate::datatypes as dt;
use crate::document::{Ctx, Out, first_id, id_for, id_from};
use crate::xml::{self, attr, child, children, path};

/// What the rest of the conversion needs from the header.
pub(crate) struct Header {
    pub patient_id: String,
    pub title: String,
    pub custodian_name: String,
    custodian: Option<String>,
    authors: Vec<String>,
    encounter: Option<String>,
}

pub(crate) fn read(
    ctx: &Ctx<'_, '_>,
    out: &mut Out,
    root: Node<'_, '_>,
    role: Node<'_, '_>,
    sha256: &str,
) -> Header {
    let patient_id = match first_id(role) {
        Some((r, e)) => id_from("Patient", r, e),
        None => id_from("Patient", "document", sha256),
    };
    out.push(patient(ctx, role, &patient_id));
    let custodian = path(
        root,
        &[
            "custodian",
            "assignedCustodian",
            "representedCustodianOrganization",
        ],
    );
    let custodian_name = custodian
        .and_then(|c| xml::text_of(child(c, "name")))
        .unwrap_or_default();
    let custodian = custodian.and_then(organization).map(|o| out.push(o));
    let mut authors = Vec::new();
    for author in children(root, "author").filter_map(|a| child(a, "assignedAuthor")) {
        if let Some(p) = practitioner(author) {
            authors.push(out.push(p));
        } else if let Some(o) = child(author, "representedOrganization").and_then(organization) {
            authors.push(out.push(o));
        }
    }
    let ctx_patient = json!({ "reference": format!("Patient/{patient_id}") });
    let encounter = path(root, &["componentOf", "encompassingEncounter"]).map(|e| {
        let mut r = base("Encounter", id_for("Encounter", e), e);
        r.insert("status".into(), json!("finished"));
        r.insert("class".into(), crate::entries::encounter_class(e));
        if let Some(t) = dt::concept(ctx, child(e, "code")) {
            r.insert("type".into(), json!([t]));
        }
        r.insert("subject".into(), ctx_patient.clone());
        if let Some(p) = dt::interval(ctx, child(e, "effectiveTime")).period() {
            r.insert("period".into(), p);
        }
        out.push(Value::Object(r))
    });
    Header {
        patient_id,
        title: xml::text_of(child(root, "title")).unwrap_or_default(),
        custodian_name,
        custodian,
        authors,
        encounter,
    }
}

/// `{resourceType, id, identifier}` for an element.
pub(crate) fn base(resource_type: &str, id: String, node: Node<'_, '_>) -> Map<String, Value> {
    let mut r = Map::new();
    r.insert("resourceType".into(), json!(resource_type));
    r.insert("id".into(), json!(id));
    let ids = dt::identifiers(node);
    if !ids.is_empty() {
        r.insert("identifier".into(), Value::Array(ids));
    }
    r
}

fn push_all(r: &mut Map<String, Value>, key: &str, items: Vec<Value>) {
    if !items.is_empty() {
        r.insert(key.into(), Value::Array(items));
    }
}

fn patient(ctx: &Ctx<'_, '_>, role: Node<'_, '_>, id: &str) -> Value {
    let mut r = base("Patient", id.to_owned(), role);
    let person = child(role, "patient");
    if let Some(p) = person {
        race_and_ethnicity(&mut r, p);
        push_all(
            &mut r,
            "name",
            children(p, "name").filter_map(dt::human_name).collect(),
        );
    }
    push_all(
        &mut r,
        "telecom",
        children(role, "telecom").filter_map(dt::telecom).collect(),
    );
    if let Some(p) = person {
        let gender = child(p, "administrativeGenderCode");
        match gender.and_then(|g| attr(g, "code")) {
            Some("M") => {
                r.insert("gender".into(), json!("male"));
            }
            Some("F") => {
                r.insert("gender".into(), json!("female"));
            }
            Some("UN") => {
                r.insert("gender".into(), json!("other"));
            }
            _ if gender.is_some() => {
                r.insert("gender".into(), json!("unknown"));
            }
            _ => {}
        }
        if let Some(birth) = dt::date(ctx, child(p, "birthTime")) {
            r.insert("birthDate".into(), json!(birth));
        }
        let deceased_time = p
            .children()
            .find(|c| c.is_element() && c.tag_name().name() == "deceasedTime");
        if let Some(t) = deceased_time.and_then(|t| dt::date_time(ctx, Some(t))) {
            r.insert("deceasedDateTime".into(), json!(t));
        } else if let Some(v) = p
            .children()
            .find(|c| c.is_element() && c.tag_name().name() == "deceasedInd")
            .and_then(|ind| ind.attribute("value"))
        {
            r.insert("deceasedBoolean".into(), json!(v == "true"));
        }
    }
    push_all(
        &mut r,
        "address",
        children(role, "addr").filter_map(dt::address).collect(),
    );
    if let Some(p) = person {
        if let Some(m) = dt::concept(ctx, child(p, "maritalStatusCode")) {
            r.insert("maritalStatus".into(), m);
        }
        let languages: Vec<Value> = children(p, "languageCommunication")
            .filter_map(|l| attr(child(l, "languageCode")?, "code"))
            .map(|code| json!({ "language": { "coding": [{ "system": "urn:ietf:bcp:47", "code": code }] } }))
            .collect();
        push_all(&mut r, "communication", languages);
    }
    Value::Object(r)
}

/// US Core race and ethnicity extensions from `raceCode`/`sdtc:raceCode` and `ethnicGroupCode`.
fn race_and_ethnicity(r: &mut Map<String, Value>, p: Node<'_, '_>) {
    const OMB_RACE: [&str; 5] = ["1002-5", "2028-9", "2054-5", "2076-8", "2106-3"];
    const OMB_ETHNICITY: [&str; 2] = ["2135-2", "2186-5"];
    let mut extensions = Vec::new();
    for (element, url, omb) in [
        (
            "raceCode",
            "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race",
            &OMB_RACE[..],
        ),
        (
            "ethnicGroupCode",
            "http://hl7.org/fhir/us/core/StructureDefinition/us-core-ethnicity",
            &OMB_ETHNICITY[..],
        ),
    ] {
        let mut parts = Vec::new();
        let mut texts = Vec::new();
        for code in p
            .children()
            .filter(|c| c.is_element() && c.tag_name().name() == element)
        {
            let Some(value) = attr(code, "code") else {
                continue;
            };
            let mut coding = json!({ "system": "urn:oid:2.16.840.1.113883.6.238", "code": value });
            if let Some(d) = attr(code, "displayName") {
                if let Some(fields) = coding.as_object_mut() {
                    fields.insert("display".into(), json!(d));
                }
                texts.push(d.to_owned());
            }
            let kind = if omb.contains(&value) {
                "ombCategory"
            } else {
                "detailed"
            };
            parts.push(json!({ "url": kind, "valueCoding": coding }));
        }
        if parts.is_empty() {
            continue;
        }
        let text = if texts.is_empty() {
            "Unknown".to_owned()
        } else {
            texts.join(", ")
        };
        parts.push(json!({ "url": "text", "valueString": text }));
        extensions.push(json!({ "url": url, "extension": parts }));
    }
    push_all(r, "extension", extensions);
}

fn organization(node: Node<'_, '_>) -> Option<Value> {
    let name = xml::text_of(child(node, "name"));
    let ids = dt::identifiers(node);
    if name.is_none() && ids.is_empty() {
        return None;
    }
    let mut r = base("Organization", id_for("Organization", node), node);
    r.insert("active".into(), json!(true));
    if let Some(name) = name {
        r.insert("name".into(), json!(name));
    }
    push_all(
        &mut r,
        "telecom",
        children(node, "telecom").filter_map(dt::telecom).collect(),
    );
    push_all(
        &mut r,
        "address",
        children(node, "addr").filter_map(dt::address).collect(),
    );
    Some(Value::Object(r))
}

/// An `assignedAuthor`/`assignedEntity` with a person → Practitioner.
pub(crate) fn practitioner(role: Node<'_, '_>) -> Option<Value> {
    let person = child(role, "assignedPerson")?;
    let names: Vec<Value> = children(person, "name")
        .filter_map(dt::human_name)
        .collect();
    let ids = dt::identifiers(role);
    if names.is_empty() && ids.is_empty() {
        return None;
    }
    let mut r = base("Practitioner", id_for("Practitioner", role), role);
    push_all(&mut r, "name", names);
    push_all(
        &mut r,
        "telecom",
        children(role, "telecom").filter_map(dt::telecom).collect(),
    );
    push_all(
        &mut r,
        "address",
        children(role, "addr").filter_map(dt::address).collect(),
    );
    Some(Value::Object(r))
}

/// The DocumentReference that keeps the original document (inline, base64) and names, in
/// `context.related`, every resource made from it (each of which names it in `meta.source`).
pub(crate) fn document_reference(
    ctx: &Ctx<'_, '_>,
    root: Node<'_, '_>,
    header: &Header,
    original: &[u8],
    sha256: &str,
    made: &[String],
) -> Value {
    let id = match first_id(root) {
        Some((r, e)) => id_from("DocumentReference", r, e),
        None => id_from("DocumentReference", "sha256", sha256),
    };
    let mut r = Map::new();
    r.insert("resourceType".into(), json!("DocumentReference"));
    r.insert("id".into(), json!(id));
    if let Some(master) = child(root, "id").and_then(dt::identifier) {
        r.insert("masterIdentifier".into(), master);
    }
    r.insert(
        "identifier".into(),
        json!([{ "system": "urn:ietf:rfc:3986", "value": format!("urn:sha256:{sha256}") }]),
    );
    r.insert("status".into(), json!("current"));
    r.insert("docStatus".into(), json!("final"));
    r.insert(
        "type".into(),
        dt::concept_or_absent(ctx, child(root, "code")),
    );
    r.insert(
        "category".into(),
        json!([{ "coding": [{ "system": "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category", "code": "clinical-note", "display": "Clinical Note" }] }]),
    );
    r.insert("subject".into(), ctx.patient.clone());
    let effective = child(root, "effectiveTime");
    if let Some(date) = dt::instant(ctx, effective) {
        r.insert("date".into(), json!(date));
    }
    let authors: Vec<Value> = header
        .authors
        .iter()
        .map(|a| json!({ "reference": a }))
        .collect();
    push_all(&mut r, "author", authors.clone());
    if let Some(c) = &header.custodian {
        r.insert("custodian".into(), json!({ "reference": c }));
    }
    let replaces: Vec<Value> = children(root, "relatedDocument")
        .filter(|d| d.attribute("typeCode") == Some("RPLC"))
        .filter_map(|d| first_id(child(d, "parentDocument")?))
        .map(|(r, e)| json!({ "code": "replaces", "target": { "reference": format!("DocumentReference/{}", id_from("DocumentReference", r, e)) } }))
        .collect();
    push_all(&mut r, "relatesTo", replaces);
    if !header.title.is_empty() {
        r.insert("description".into(), json!(header.title));
    }
    if let Some(label) = dt::concept(ctx, child(root, "confidentialityCode")) {
        r.insert("securityLabel".into(), json!([label]));
    }
    let mut attachment = Map::new();
    attachment.insert("contentType".into(), json!("text/xml"));
    if let Some(lang) = child(root, "languageCode").and_then(|l| attr(l, "code")) {
        attachment.insert("language".into(), json!(lang));
    }
    attachment.insert(
        "data".into(),
        json!(base64::engine::general_purpose::STANDARD.encode(original)),
    );
    attachment.insert("size".into(), json!(original.len()));
    if !header.title.is_empty() {
        attachment.insert("title".into(), json!(header.title));
    }
    if let Some(t) = dt::date_time(ctx, effective) {
        attachment.insert("creation".into(), json!(t));
    }
    r.insert(
        "content".into(),
        json!([{ "attachment": attachment, "format": { "system": "http://ihe.net/fhir/ihe.formatcode.fhir/CodeSystem/formatcode", "code": "urn:hl7-org:sdwg:ccda-structuredBody:2.1" } }]),
    );
    let mut context = Map::new();
    if let Some(e) = &header.encounter {
        context.insert("encounter".into(), json!([{ "reference": e }]));
    }
    if let Some(t) = dt::date_time(ctx, effective) {
        context.insert("period".into(), json!({ "start": t }));
    }
    let related: Vec<Value> = made.iter().map(|m| json!({ "reference": m })).collect();
    if !related.is_empty() {
        context.insert("related".into(), Value::Array(related));
    }
    if !context.is_empty() {
        r.insert("context".into(), Value::Object(context));
    }

    Value::Object(r)
}
