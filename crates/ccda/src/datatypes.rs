//! HL7 v3 data types → FHIR: timestamps with their precision, codes, identifiers, quantities,
//! names, addresses, telecoms. Anything that cannot be read is left out (and counted), never guessed.

use roxmltree::Node;
use serde_json::{Map, Value, json};

use ownrecord_fhir::datatypes::days_in_month;

use crate::document::Ctx;
use crate::xml::{self, attr, child, children};

pub const DATA_ABSENT_REASON: &str = "http://hl7.org/fhir/StructureDefinition/data-absent-reason";

/// A code system OID → its FHIR URI (HL7's list for the systems C-CDA uses); others `urn:oid:`.
pub fn system_uri(oid: &str) -> String {
    let known = match oid {
        "2.16.840.1.113883.6.1" => "http://loinc.org",
        "2.16.840.1.113883.6.96" => "http://snomed.info/sct",
        "2.16.840.1.113883.6.88" => "http://www.nlm.nih.gov/research/umls/rxnorm",
        "2.16.840.1.113883.12.292" => "http://hl7.org/fhir/sid/cvx",
        "2.16.840.1.113883.6.90" => "http://hl7.org/fhir/sid/icd-10-cm",
        "2.16.840.1.113883.6.3" => "http://hl7.org/fhir/sid/icd-10",
        "2.16.840.1.113883.6.103" => "http://hl7.org/fhir/sid/icd-9-cm",
        "2.16.840.1.113883.6.104" => "http://hl7.org/fhir/sid/icd-9-cm",
        "2.16.840.1.113883.6.12" => "http://www.ama-assn.org/go/cpt",
        "2.16.840.1.113883.6.4" => "http://www.cms.gov/Medicare/Coding/ICD10",
        "2.16.840.1.113883.6.285" => "urn:oid:2.16.840.1.113883.6.285",
        "2.16.840.1.113883.6.13" => "http://ada.org/cdt",
        "2.16.840.1.113883.6.69" => "http://hl7.org/fhir/sid/ndc",
        "2.16.840.1.113883.6.8" => "http://unitsofmeasure.org",
        "2.16.840.1.113883.4.9" => "http://fdasis.nlm.nih.gov",
        "2.16.840.1.113883.3.26.1.1" => "http://ncithesaurus-stage.nci.nih.gov",
        "2.16.840.1.113883.6.101" => "http://nucc.org/provider-taxonomy",
        "2.16.840.1.113883.6.24" => "urn:iso:std:iso:11073:10101",
        "2.16.840.1.113883.4.6" => "http://hl7.org/fhir/sid/us-npi",
        "2.16.840.1.113883.4.1" => "http://hl7.org/fhir/sid/us-ssn",
        "2.16.840.1.113883.5.1" => "http://terminology.hl7.org/CodeSystem/v3-AdministrativeGender",
        "2.16.840.1.113883.5.2" => "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus",
        "2.16.840.1.113883.5.4" => "http://terminology.hl7.org/CodeSystem/v3-ActCode",
        "2.16.840.1.113883.5.6" => "http://terminology.hl7.org/CodeSystem/v3-ActClass",
        "2.16.840.1.113883.5.8" => "http://terminology.hl7.org/CodeSystem/v3-ActReason",
        "2.16.840.1.113883.5.14" => "http://terminology.hl7.org/CodeSystem/v3-ActStatus",
        "2.16.840.1.113883.5.25" => "http://terminology.hl7.org/CodeSystem/v3-Confidentiality",
        "2.16.840.1.113883.5.83" => {
            "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
        }
        "2.16.840.1.113883.5.85" => "http://terminology.hl7.org/CodeSystem/v3-orderableDrugForm",
        "2.16.840.1.113883.5.88" => {
            "http://terminology.hl7.org/CodeSystem/v3-ParticipationFunction"
        }
        "2.16.840.1.113883.5.110" => "http://terminology.hl7.org/CodeSystem/v3-RoleClass",
        "2.16.840.1.113883.5.111" => "http://terminology.hl7.org/CodeSystem/v3-RoleCode",
        "2.16.840.1.113883.5.112" => {
            "http://terminology.hl7.org/CodeSystem/v3-RouteOfAdministration"
        }
        "2.16.840.1.113883.5.1001" => "http://terminology.hl7.org/CodeSystem/v3-ActMood",
        "2.16.840.1.113883.5.1008" => "http://terminology.hl7.org/CodeSystem/v3-NullFlavor",
        "2.16.840.1.113883.5.1052" => "http://terminology.hl7.org/CodeSystem/v3-ActSite",
        "2.16.840.1.113883.5.1063" => "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
        "2.16.840.1.113883.5.1076" => {
            "http://terminology.hl7.org/CodeSystem/v3-ReligiousAffiliation"
        }
        "2.16.840.1.113883.6.238" => "urn:oid:2.16.840.1.113883.6.238",
        "2.16.840.1.113883.6.121" | "2.16.840.1.113883.1.11.11526" => "urn:ietf:bcp:47",
        _ => return id_uri(oid).unwrap_or_else(|| format!("urn:oid:{oid}")),
    };
    known.to_owned()
}

fn is_oid(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').count() >= 2
        && s.split('.').all(|arc| {
            !arc.is_empty()
                && arc.bytes().all(|b| b.is_ascii_digit())
                && (arc == "0" || !arc.starts_with('0'))
        })
}

fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// An II root as a URI: `urn:oid:` or `urn:uuid:`; None when it is neither.
fn id_uri(root: &str) -> Option<String> {
    if is_oid(root) {
        Some(format!("urn:oid:{root}"))
    } else if is_uuid(root) {
        Some(format!("urn:uuid:{}", root.to_ascii_lowercase()))
    } else {
        None
    }
}

/// An `II` → Identifier. Root and extension: system and value; root alone: the root as a URI.
pub fn identifier(node: Node<'_, '_>) -> Option<Value> {
    let root = attr(node, "root")?;
    match attr(node, "extension") {
        Some(ext) => {
            let system = match root {
                "2.16.840.1.113883.4.6" | "2.16.840.1.113883.4.1" => Some(system_uri(root)),
                _ => id_uri(root),
            };
            let mut id = Map::new();
            if let Some(system) = system {
                id.insert("system".into(), json!(system));
            }
            id.insert("value".into(), json!(ext));
            Some(Value::Object(id))
        }
        None => Some(json!({ "system": "urn:ietf:rfc:3986", "value": id_uri(root)? })),
    }
}

/// Every `<id>` child as Identifiers.
pub fn identifiers(node: Node<'_, '_>) -> Vec<Value> {
    children(node, "id").filter_map(identifier).collect()
}

/// A code or display trimmed, with inner runs of white space made one space (FHIR's `code` rule).
fn clean(s: &str) -> Option<String> {
    let out = s.split_whitespace().collect::<Vec<_>>().join(" ");
    (!out.is_empty()).then_some(out)
}

fn coding(node: Node<'_, '_>) -> Option<Value> {
    let code = attr(node, "code").and_then(clean)?;
    let mut c = Map::new();
    if let Some(system) = attr(node, "codeSystem") {
        c.insert("system".into(), json!(system_uri(system)));
    }
    c.insert("code".into(), json!(code));
    if let Some(display) = attr(node, "displayName").and_then(clean) {
        c.insert("display".into(), json!(display));
    }
    Some(Value::Object(c))
}

/// A `CD`/`CE`/`CV`/`CO` → CodeableConcept: the code and its translations as codings, the
/// originalText (or the narrative it references) as text. None when it holds nothing.
pub fn concept(ctx: &Ctx<'_, '_>, node: Option<Node<'_, '_>>) -> Option<Value> {
    let node = node?;
    let mut codings: Vec<Value> = coding(node).into_iter().collect();
    codings.extend(children(node, "translation").filter_map(coding));
    let text = ctx.original_text(node);
    let mut c = Map::new();
    if !codings.is_empty() {
        c.insert("coding".into(), Value::Array(codings));
    }
    if let Some(text) = text {
        c.insert("text".into(), json!(text));
    }
    (!c.is_empty()).then_some(Value::Object(c))
}

/// A concept that must be there: when the source has none, one saying why (data-absent-reason).
pub fn concept_or_absent(ctx: &Ctx<'_, '_>, node: Option<Node<'_, '_>>) -> Value {
    concept(ctx, node).unwrap_or_else(|| {
        let reason = node
            .and_then(xml::null_flavor)
            .map_or("unknown", absent_reason);
        json!({ "extension": [{ "url": DATA_ABSENT_REASON, "valueCode": reason }] })
    })
}

/// nullFlavor → data-absent-reason (HL7's ConceptMap CF-NullFlavorDataAbsentReason).
pub fn absent_reason(null_flavor: &str) -> &'static str {
    match null_flavor {
        "OTH" | "TRC" => "unsupported",
        "NINF" => "negative-infinity",
        "PINF" => "positive-infinity",
        "MSK" => "masked",
        "NA" => "not-applicable",
        "ASKU" => "asked-unknown",
        "NAV" => "temp-unknown",
        "NASK" => "not-asked",
        _ => "unknown",
    }
}

/// A code attribute (`@code`) alone.
pub fn code_of<'a>(node: Option<Node<'a, '_>>) -> Option<&'a str> {
    node.and_then(|n| attr(n, "code"))
}

fn digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Precision of a converted timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Precision {
    Year,
    Month,
    Day,
    /// A time with its zone.
    Time,
}

/// An HL7 `TS` (`YYYY[MM[DD[HH[MM[SS[.S+]]]]]][+/-ZZZZ]`) → FHIR dateTime, keeping its precision.
/// A time without a zone is kept at day precision (an offset is never invented); `without_zone`
/// says so. None for anything malformed.
pub fn timestamp(value: &str) -> Option<(String, Precision, bool)> {
    let value = value.trim();
    let (main, zone) = match value.find(['+', '-']) {
        Some(at) => (value.get(..at)?, Some(value.get(at..)?)),
        None => (value, None),
    };
    let (whole, fraction) = match main.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (main, None),
    };
    if !digits(whole) || !matches!(whole.len(), 4 | 6 | 8 | 10 | 12 | 14) {
        return None;
    }
    if zone.is_some_and(|z| z.len() != 5 || !digits(z.get(1..).unwrap_or(""))) {
        return None;
    }
    if fraction.is_some_and(|f| !digits(f) || f.len() > 9)
        || (fraction.is_some() && whole.len() != 14)
    {
        return None;
    }
    let num = |from: usize, to: usize| -> u32 {
        whole
            .get(from..to)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    };
    let year = num(0, 4);
    if year == 0 {
        return None;
    }
    if whole.len() == 4 {
        return Some((whole.to_owned(), Precision::Year, false));
    }
    let month = num(4, 6);
    if !(1..=12).contains(&month) {
        return None;
    }
    let ym = format!("{year:04}-{month:02}");
    if whole.len() == 6 {
        return Some((ym, Precision::Month, false));
    }
    let day = num(6, 8);
    if day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let date = format!("{ym}-{day:02}");
    if whole.len() == 8 {
        return Some((date, Precision::Day, false));
    }
    let (hour, minute, second) = (num(8, 10), num(10, 12), num(12, 14));
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let Some(zone) = zone else {
        return Some((date, Precision::Day, true));
    };
    let z = zone.get(1..)?;
    if z.len() != 4 || !digits(z) {
        return None;
    }
    let (zh, zm) = (z.get(..2)?, z.get(2..)?);
    if zh.parse::<u32>().ok()? > 14 || zm.parse::<u32>().ok()? > 59 {
        return None;
    }
    let sign = zone.get(..1)?;
    let fraction = fraction.map(|f| format!(".{f}")).unwrap_or_default();
    Some((
        format!("{date}T{hour:02}:{minute:02}:{second:02}{fraction}{sign}{zh}:{zm}"),
        Precision::Time,
        false,
    ))
}

/// An instant (DocumentReference.date, …): only a timestamp with a time and a zone.
pub fn instant(ctx: &Ctx<'_, '_>, node: Option<Node<'_, '_>>) -> Option<String> {
    let (value, precision) = ctx.timestamp_of(node?)?;
    (precision == Precision::Time).then_some(value)
}

/// A `TS` element's `@value` → dateTime.
pub fn date_time(ctx: &Ctx<'_, '_>, node: Option<Node<'_, '_>>) -> Option<String> {
    ctx.timestamp_of(node?).map(|(v, _)| v)
}

/// A date only (Patient.birthDate): the day (or month, year) of a timestamp.
pub fn date(ctx: &Ctx<'_, '_>, node: Option<Node<'_, '_>>) -> Option<String> {
    let (value, _) = ctx.timestamp_of(node?)?;
    Some(value.get(..10).unwrap_or(&value).to_owned())
}

/// An `IVL_TS` (or a `TS`): its point, low and high.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Interval {
    pub point: Option<String>,
    pub low: Option<String>,
    pub high: Option<String>,
    /// `high` says "ended, date unknown" (nullFlavor UNK).
    pub high_unknown: bool,
}

impl Interval {
    /// The point, else the start, else the end.
    pub fn start(&self) -> Option<&String> {
        self.point
            .as_ref()
            .or(self.low.as_ref())
            .or(self.high.as_ref())
    }

    /// As a FHIR Period (None when empty).
    pub fn period(&self) -> Option<Value> {
        let mut p = Map::new();
        if let Some(start) = self.low.as_ref().or(self.point.as_ref()) {
            p.insert("start".into(), json!(start));
        }
        if let Some(end) = &self.high {
            p.insert("end".into(), json!(end));
        }
        (!p.is_empty()).then_some(Value::Object(p))
    }

    /// As `xDateTime` when a point (or only a start), else `xPeriod`: (suffix, value).
    pub fn date_or_period(&self) -> Option<(&'static str, Value)> {
        match (&self.point, &self.low, &self.high) {
            (Some(p), None, None) | (None, Some(p), None) => Some(("DateTime", json!(p))),
            _ => self.period().map(|p| ("Period", p)),
        }
    }
}

/// The first `effectiveTime` that is an interval or a point (medication activities carry a
/// second, periodic one for the frequency).
pub fn interval(ctx: &Ctx<'_, '_>, node: Option<Node<'_, '_>>) -> Interval {
    let Some(node) = node else {
        return Interval::default();
    };
    let point = attr(node, "value")
        .and_then(|_| ctx.timestamp_of(node))
        .map(|(v, _)| v);
    let center = date_time(ctx, child(node, "center"));
    let high_node = child(node, "high");
    Interval {
        point: point.or(center),
        low: date_time(ctx, child(node, "low")),
        high: date_time(ctx, high_node),
        high_unknown: high_node.and_then(xml::null_flavor) == Some("UNK"),
    }
}

/// A FHIR decimal from HL7 text (`7.0`, `.5`, `+3`); None when it is not a number.
pub fn decimal(text: &str) -> Option<Value> {
    let t = text.trim();
    let t = t.strip_prefix('+').unwrap_or(t);
    let (sign, unsigned) = match t.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", t),
    };
    let (int, frac) = match unsigned.split_once('.') {
        Some((i, f)) => (if i.is_empty() { "0" } else { i }, Some(f)),
        None => (unsigned, None),
    };
    if !unsigned.bytes().any(|b| b.is_ascii_digit()) {
        return None;
    }
    if !digits(int) || frac.is_some_and(|f| !f.is_empty() && !digits(f)) || int.len() > 30 {
        return None;
    }
    let int = int.trim_start_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    let text = match frac.filter(|f| !f.is_empty()) {
        Some(f) if f.len() <= 30 => format!("{sign}{int}.{f}"),
        Some(_) => return None,
        None => format!("{sign}{int}"),
    };
    serde_json::from_str::<serde_json::Number>(&text)
        .ok()
        .map(Value::Number)
}

/// A unit as written → a UCUM code when it is UCUM or a common non-UCUM spelling of one.
fn ucum(unit: &str) -> Option<&str> {
    let mapped = match unit {
        "lbs" | "lb" | "LBS" | "pounds" => "[lb_av]",
        "in" | "inch" | "inches" | "IN" => "[in_i]",
        "C" | "°C" | "degC" | "deg C" | "Celsius" => "Cel",
        "F" | "°F" | "degF" | "deg F" | "Fahrenheit" => "[degF]",
        "bpm" | "BPM" | "beats/min" | "/min " => "/min",
        "breaths/min" => "/min",
        "mmHg" | "mm Hg" => "mm[Hg]",
        "kgs" => "kg",
        "oz" => "[oz_av]",
        "ft" => "[ft_i]",
        _ => {
            let plausible = !unit.is_empty()
                && unit.len() <= 40
                && unit.chars().all(|c| c.is_ascii_graphic())
                && !unit.contains(['"', '\\']);
            return plausible.then_some(unit);
        }
    };
    Some(mapped)
}

/// A `PQ` → Quantity (None when its value is missing or malformed).
pub fn quantity(ctx: &Ctx<'_, '_>, node: Option<Node<'_, '_>>) -> Option<Value> {
    let node = node?;
    let raw = attr(node, "value")?;
    let Some(value) = decimal(raw) else {
        ctx.unreadable();
        return None;
    };
    let mut q = Map::new();
    q.insert("value".into(), value);
    if let Some(unit) = attr(node, "unit") {
        q.insert("unit".into(), json!(unit));
        if let Some(code) = ucum(unit) {
            q.insert("system".into(), json!("http://unitsofmeasure.org"));
            q.insert("code".into(), json!(code));
        }
    }
    Some(Value::Object(q))
}

/// An `IVL_PQ` → Range (either end may be missing).
pub fn range(ctx: &Ctx<'_, '_>, node: Option<Node<'_, '_>>) -> Option<Value> {
    let node = node?;
    let mut r = Map::new();
    if let Some(low) = quantity(ctx, child(node, "low")) {
        r.insert("low".into(), low);
    }
    if let Some(high) = quantity(ctx, child(node, "high")) {
        r.insert("high".into(), high);
    }
    (!r.is_empty()).then_some(Value::Object(r))
}

/// An observation's `value` → (`value[x]` name, value). An interval with one end is a quantity
/// with a comparator (`<= 5`); an interval with both, a Range.
pub fn observation_value(ctx: &Ctx<'_, '_>, node: Node<'_, '_>) -> Option<(&'static str, Value)> {
    match xsi_type_or_guess(node) {
        "PQ" => quantity(ctx, Some(node)).map(|q| ("valueQuantity", q)),
        "IVL_PQ" => {
            let low = quantity(ctx, child(node, "low"));
            let high = quantity(ctx, child(node, "high"));
            let inclusive = |end: &str| {
                child(node, end).and_then(|n| n.attribute("inclusive")) != Some("false")
            };
            match (low, high) {
                (Some(l), Some(h)) => Some(("valueRange", json!({ "low": l, "high": h }))),
                (Some(mut l), None) => {
                    if let Some(q) = l.as_object_mut() {
                        let comparator = if inclusive("low") { ">=" } else { ">" };
                        q.insert("comparator".into(), json!(comparator));
                    }
                    Some(("valueQuantity", l))
                }
                (None, Some(mut h)) => {
                    if let Some(q) = h.as_object_mut() {
                        let comparator = if inclusive("high") { "<=" } else { "<" };
                        q.insert("comparator".into(), json!(comparator));
                    }
                    Some(("valueQuantity", h))
                }
                (None, None) => None,
            }
        }
        "INT" | "REAL" => {
            let raw = attr(node, "value")?;
            match decimal(raw) {
                Some(v) if xml::xsi_type(node) == Some("INT") && v.is_i64() => {
                    Some(("valueInteger", v))
                        .filter(|(_, v)| v.as_i64().is_some_and(|i| i32::try_from(i).is_ok()))
                }
                Some(v) => Some(("valueQuantity", json!({ "value": v }))),
                None => {
                    ctx.unreadable();
                    None
                }
            }
        }
        "BL" => match attr(node, "value") {
            Some("true") => Some(("valueBoolean", json!(true))),
            Some("false") => Some(("valueBoolean", json!(false))),
            _ => None,
        },
        "TS" => date_time(ctx, Some(node)).map(|t| ("valueDateTime", json!(t))),
        "ST" | "ED" => xml::text_of(Some(node))
            .or_else(|| ctx.original_text(node))
            .map(|t| ("valueString", json!(t))),
        _ => concept(ctx, Some(node)).map(|c| ("valueCodeableConcept", c)),
    }
}

fn xsi_type_or_guess<'a>(node: Node<'a, '_>) -> &'a str {
    match xml::xsi_type(node) {
        Some(t @ ("PQ" | "IVL_PQ" | "INT" | "REAL" | "BL" | "TS" | "ST" | "ED")) => t,
        Some(_) => "CD",
        None if attr(node, "unit").is_some() => "PQ",
        None if attr(node, "code").is_some() => "CD",
        None if node.has_children() && child(node, "low").is_some() => "IVL_PQ",
        None => "ST",
    }
}

/// A `PN` → HumanName.
pub fn human_name(node: Node<'_, '_>) -> Option<Value> {
    let mut n = Map::new();
    if let Some(u) = attr(node, "use") {
        let mapped = match u.split_whitespace().next().unwrap_or("") {
            "L" => Some("usual"),
            "C" => Some("official"),
            "A" | "P" => Some("nickname"),
            _ => None,
        };
        if let Some(m) = mapped {
            n.insert("use".into(), json!(m));
        }
    }
    let parts = |name: &str| -> Vec<String> {
        children(node, name)
            .filter_map(|p| clean(&xml::text(p)))
            .collect()
    };
    let family = parts("family");
    let given = parts("given");
    let prefix = parts("prefix");
    let suffix = parts("suffix");
    if let Some(f) = family.first() {
        n.insert("family".into(), json!(family.join(" ").trim()));
        let _ = f;
    }
    if !given.is_empty() {
        n.insert("given".into(), json!(given));
    }
    if !prefix.is_empty() {
        n.insert("prefix".into(), json!(prefix));
    }
    if !suffix.is_empty() {
        n.insert("suffix".into(), json!(suffix));
    }
    if family.is_empty() && given.is_empty() {
        // A name written as plain text.
        let whole: String = node
            .children()
            .filter(|c| c.is_text())
            .filter_map(|c| c.text())
            .collect::<Vec<_>>()
            .join(" ");
        n.insert("text".into(), json!(clean(&whole)?));
    }
    Some(Value::Object(n))
}

/// An `AD` → Address.
pub fn address(node: Node<'_, '_>) -> Option<Value> {
    let mut a = Map::new();
    if let Some(u) = attr(node, "use") {
        let mapped = match u.split_whitespace().next().unwrap_or("") {
            "H" | "HP" | "HV" => Some("home"),
            "WP" | "DIR" | "PUB" => Some("work"),
            "TMP" => Some("temp"),
            "BAD" => Some("old"),
            _ => None,
        };
        if let Some(m) = mapped {
            a.insert("use".into(), json!(m));
        }
    }
    let lines: Vec<String> = children(node, "streetAddressLine")
        .filter_map(|l| clean(&xml::text(l)))
        .collect();
    if !lines.is_empty() {
        a.insert("line".into(), json!(lines));
    }
    for (element, field) in [
        ("city", "city"),
        ("state", "state"),
        ("postalCode", "postalCode"),
        ("country", "country"),
        ("county", "district"),
    ] {
        if let Some(v) = child(node, element).and_then(|e| clean(&xml::text(e))) {
            a.insert(field.into(), json!(v));
        }
    }
    (!a.is_empty()).then_some(Value::Object(a))
}

/// A `TEL` → ContactPoint.
pub fn telecom(node: Node<'_, '_>) -> Option<Value> {
    let value = attr(node, "value")?;
    let (system, rest) = match value.split_once(':') {
        Some(("tel", r)) => ("phone", r),
        Some(("mailto", r)) => ("email", r),
        Some(("fax" | "x-text-fax", r)) => ("fax", r),
        Some(("sms", r)) => ("sms", r),
        Some(("http" | "https", _)) => ("url", value),
        _ => ("other", value),
    };
    let rest = clean(rest)?;
    let mut t = Map::new();
    t.insert("system".into(), json!(system));
    t.insert("value".into(), json!(rest));
    if let Some(u) = attr(node, "use") {
        let mapped = match u.split_whitespace().next().unwrap_or("") {
            "H" | "HP" | "HV" => Some("home"),
            "WP" | "DIR" | "PUB" | "AS" => Some("work"),
            "MC" | "PG" => Some("mobile"),
            "TMP" => Some("temp"),
            "BAD" => Some("old"),
            _ => None,
        };
        if let Some(m) = mapped {
            t.insert("use".into(), json!(m));
        }
    }
    Some(Value::Object(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_keep_precision_and_never_invent_a_zone() {
        let t = |v| timestamp(v).map(|(s, _, nz)| (s, nz));
        assert_eq!(t("2023"), Some(("2023".into(), false)));
        assert_eq!(t("202302"), Some(("2023-02".into(), false)));
        assert_eq!(t("20230228"), Some(("2023-02-28".into(), false)));
        assert_eq!(t("20230229"), None);
        assert_eq!(t("20240229").map(|x| x.0), Some("2024-02-29".into()));
        assert_eq!(
            t("20231015123005-0500"),
            Some(("2023-10-15T12:30:05-05:00".into(), false))
        );
        assert_eq!(
            t("20231015123005.123+0130").map(|x| x.0),
            Some("2023-10-15T12:30:05.123+01:30".into())
        );
        assert_eq!(t("202310151230"), Some(("2023-10-15".into(), true)));
        assert_eq!(
            t("2023101512-0500").map(|x| x.0),
            Some("2023-10-15T12:00:00-05:00".into())
        );
        assert_eq!(t("20231015-0500").map(|x| x.0), Some("2023-10-15".into()));
        for bad in [
            "",
            "20231",
            "2023-10-15",
            "20231301",
            "20231015256000",
            "0000",
            "20231015120000+5",
            "2023101512000a",
            "20231015120000+9900",
            "2023\u{e9}101",
        ] {
            assert_eq!(timestamp(bad), None, "{bad}");
        }
    }

    #[test]
    fn decimals() {
        assert_eq!(decimal("7.0"), Some(json!(7.0)));
        assert_eq!(decimal(".5"), Some(json!(0.5)));
        assert_eq!(decimal("+3"), Some(json!(3)));
        assert_eq!(decimal("-0012"), Some(json!(-12)));
        for bad in [
            "",
            "1,2",
            "<5",
            "1e999",
            "abc",
            "5.5.5",
            "9".repeat(40).as_str(),
            ".",
        ] {
            assert_eq!(decimal(bad), None, "{bad}");
        }
    }

    #[test]
    fn identifiers_and_systems() {
        let doc = roxmltree::Document::parse(
            r#"<x><id root="2.16.840.1.113883.4.6" extension="123"/><id root="1.2.3"/><id root="6E3B2B56-0000-4000-8000-000000000001"/><id root="not an oid"/></x>"#,
        )
        .unwrap();
        let ids = identifiers(doc.root_element());
        assert_eq!(
            ids[0],
            json!({"system": "http://hl7.org/fhir/sid/us-npi", "value": "123"})
        );
        assert_eq!(
            ids[1],
            json!({"system": "urn:ietf:rfc:3986", "value": "urn:oid:1.2.3"})
        );
        assert_eq!(
            ids[2]["value"],
            "urn:uuid:6e3b2b56-0000-4000-8000-000000000001"
        );
        assert_eq!(ids.len(), 3);
        assert_eq!(
            system_uri("2.16.840.1.113883.6.96"),
            "http://snomed.info/sct"
        );
        assert_eq!(system_uri("1.2.3.4"), "urn:oid:1.2.3.4");
    }
}
