//! What a clinician's summary shows of a resource, as plain text: the patient's name and care
//! identifiers, result values with units, reference ranges and flags, dosages, notes, allergy
//! reactions; and the demographics that tell whether two Patient resources are one person.

use serde::Serialize;
use serde_json::Value;

use crate::datatypes::{Concept, Date, Quantity, Range, concept_text, number_text};

fn str_at<'a>(value: &'a Value, pointer: &str) -> Option<&'a str> {
    value.pointer(pointer).and_then(Value::as_str)
}

/// The official (or else the first) `HumanName` of a Patient.
fn chosen_name(patient: &Value) -> Option<&Value> {
    let names = patient.get("name").and_then(Value::as_array)?;
    names
        .iter()
        .find(|n| n.get("use").and_then(Value::as_str) == Some("official"))
        .or_else(|| names.first())
}

fn strings<'a>(value: &'a Value, key: &str) -> Vec<&'a str> {
    value
        .get(key)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// The official (or first) name, with prefixes and suffixes; "Name not recorded" without one.
pub fn patient_name(patient: &Value) -> String {
    let Some(name) = chosen_name(patient) else {
        return "Name not recorded".to_owned();
    };
    if let Some(text) = name.get("text").and_then(Value::as_str) {
        return text.to_owned();
    }
    let mut parts = strings(name, "prefix");
    parts.extend(strings(name, "given"));
    parts.extend(name.get("family").and_then(Value::as_str));
    parts.extend(strings(name, "suffix"));
    if parts.is_empty() {
        "Name not recorded".to_owned()
    } else {
        parts.join(" ")
    }
}

/// The Patient's medical record numbers (and usual/official identifiers without a type) as
/// (label, value). Government ids (SSN, driver's licence, passport) are left out.
pub fn care_identifiers(patient: &Value) -> Vec<(String, String)> {
    patient
        .get("identifier")
        .and_then(Value::as_array)
        .map(|ids| ids.iter().filter_map(care_identifier).collect())
        .unwrap_or_default()
}

/// One identifier as (label, value), if it is a care identifier.
pub fn care_identifier(identifier: &Value) -> Option<(String, String)> {
    let value = identifier.get("value")?.as_str()?;
    let type_code = str_at(identifier, "/type/coding/0/code");
    let usual = matches!(
        identifier.get("use").and_then(Value::as_str),
        Some("usual" | "official")
    );
    if !(matches!(type_code, Some("MR" | "MRN" | "MB" | "PI")) || usual && type_code.is_none()) {
        return None;
    }
    let label = str_at(identifier, "/type/text")
        .or_else(|| str_at(identifier, "/type/coding/0/display"))
        .map(str::to_owned)
        .or_else(|| {
            // The issuing system's host names the number for a reader ("hospital.example.org").
            let system = identifier.get("system")?.as_str()?;
            Some(url_host(system).unwrap_or_else(|| system.to_owned()))
        })
        .unwrap_or_else(|| "Identifier".to_owned());
    Some((label, value.to_owned()))
}

/// The host of a URL with an authority (`scheme://[user@]host[:port]/...`), lowercased for the
/// web's schemes; `None` for URNs, hostless or malformed URLs.
fn url_host(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once(':')?;
    let mut chars = scheme.chars();
    if !chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        || !chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    {
        return None;
    }
    let scheme = scheme.to_ascii_lowercase();
    let special = matches!(scheme.as_str(), "http" | "https" | "ws" | "wss" | "ftp");
    let after = if special {
        rest.trim_start_matches(['/', '\\'])
    } else {
        rest.strip_prefix("//")?
    };
    let authority = after
        .split(|c: char| matches!(c, '/' | '?' | '#') || special && c == '\\')
        .next()
        .unwrap_or(after);
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if host_port.starts_with('[') {
        let close = host_port.find(']')?;
        let (host, port) = host_port.split_at(close + 1);
        port.strip_prefix(':')
            .is_none_or(|p| p.bytes().all(|b| b.is_ascii_digit()))
            .then_some(host)?
    } else {
        match host_port.rsplit_once(':') {
            Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
            Some(_) => return None,
            None => host_port,
        }
    };
    if host.is_empty() {
        return None;
    }
    Some(if special {
        host.to_lowercase()
    } else {
        host.to_owned()
    })
}

/// One value of an Observation, as the results and vitals tables show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResultValue {
    /// The test's name (`Observation: component` for a component).
    pub name: String,
    pub value: String,
    pub unit: String,
    /// The first reference range's text.
    pub range: String,
    /// An abnormal interpretation as a word, else `Low`/`High` against the range, else "".
    pub flag: String,
    /// The value as a number, when it is one.
    pub number: Option<f64>,
}

/// One line per value an Observation holds (its own value, then each component); a line with
/// the data-absent reason (or "no value") when it holds none.
pub fn result_values(o: &Value) -> Vec<ResultValue> {
    let name = concept_text(o.get("code"));
    let mut lines = Vec::new();
    if has_value(o) {
        lines.push(value_of(name.clone(), o));
    }
    for component in o
        .get("component")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let part = concept_text(component.get("code"));
        lines.push(value_of(format!("{name}: {part}"), component));
    }
    if lines.is_empty() {
        let reason = o
            .get("dataAbsentReason")
            .map(|r| concept_text(Some(r)))
            .unwrap_or_else(|| "no value".to_owned());
        lines.push(ResultValue {
            name,
            value: reason,
            unit: String::new(),
            range: String::new(),
            flag: String::new(),
            number: None,
        });
    }
    lines
}

/// Like [`result_values`], but a blood pressure's two components read as one `120/80`.
pub fn result_values_combined(o: &Value) -> Vec<ResultValue> {
    let components = o.get("component").and_then(Value::as_array);
    if let Some([systolic, diastolic]) = components.map(Vec::as_slice) {
        let s = value_of(String::new(), systolic);
        let d = value_of(String::new(), diastolic);
        if s.unit == d.unit && !has_value(o) {
            return vec![ResultValue {
                name: concept_text(o.get("code")),
                value: format!("{}/{}", s.value, d.value),
                unit: s.unit,
                range: String::new(),
                flag: String::new(),
                number: None,
            }];
        }
    }
    result_values(o)
}

fn has_value(o: &Value) -> bool {
    o.as_object()
        .is_some_and(|m| m.keys().any(|k| k.starts_with("value")))
}

/// The value of an Observation or of one of its components.
pub fn value_of(name: String, o: &Value) -> ResultValue {
    let (value, unit, number) = if let Some(q) = o.get("valueQuantity") {
        let number = q.get("value").and_then(Value::as_f64);
        let comparator = q.get("comparator").and_then(Value::as_str).unwrap_or("");
        (
            format!(
                "{comparator}{}",
                q.get("value").map(number_text).unwrap_or_default()
            ),
            q.get("unit")
                .or_else(|| q.get("code"))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
            number,
        )
    } else if let Some(c) = o.get("valueCodeableConcept") {
        (concept_text(Some(c)), String::new(), None)
    } else if let Some(s) = o.get("valueString").and_then(Value::as_str) {
        (s.to_owned(), String::new(), None)
    } else if let Some(b) = o.get("valueBoolean").and_then(Value::as_bool) {
        (
            (if b { "yes" } else { "no" }).to_owned(),
            String::new(),
            None,
        )
    } else if let Some(v) = o.get("valueInteger") {
        (number_text(v), String::new(), v.as_f64())
    } else {
        (String::new(), String::new(), None)
    };
    let range = o.pointer("/referenceRange/0");
    ResultValue {
        name,
        value,
        unit,
        range: range.map(|r| Range::of(r).text).unwrap_or_default(),
        flag: flag(o, number),
        number,
    }
}

/// The number an Observation's component holds, found by its coding (a blood pressure's
/// systolic is LOINC 8480-6, its diastolic 8462-4, in a panel 85354-9 or 55284-4).
#[derive(Debug, Clone, PartialEq)]
pub struct ComponentValue {
    /// The component's `valueQuantity` (its `value` is a number).
    pub quantity: Quantity,
    /// The component's first reference range.
    pub range: Option<Range>,
}

/// The numeric `valueQuantity` of the first component of `o` coded `system|code`; `None` when
/// there is no such component or it holds no number.
pub fn component_value(o: &Value, system: &str, code: &str) -> Option<ComponentValue> {
    let component = o
        .get("component")
        .and_then(Value::as_array)?
        .iter()
        .find(|c| {
            c.get("code").is_some_and(|concept| {
                Concept::of(concept)
                    .coded()
                    .any(|coding| coding == (system, code))
            })
        })?;
    let quantity = Quantity::of(component.get("valueQuantity")?);
    quantity.value?;
    Some(ComponentValue {
        quantity,
        range: component.pointer("/referenceRange/0").map(Range::of),
    })
}

/// The flag of a value: its abnormal interpretation as a word, else `Low` or `High` when the
/// number is outside the first reference range, else "".
pub fn flag(o: &Value, number: Option<f64>) -> String {
    interpretation(o).unwrap_or_else(|| match (number, o.pointer("/referenceRange/0")) {
        (Some(n), Some(r)) => {
            let range = Range::of(r);
            if range.low.is_some_and(|low| n < low) {
                "Low".to_owned()
            } else if range.high.is_some_and(|high| n > high) {
                "High".to_owned()
            } else {
                String::new()
            }
        }
        _ => String::new(),
    })
}

/// An abnormal interpretation as a word; normal ones are not flagged.
pub fn interpretation(o: &Value) -> Option<String> {
    let coding = o.pointer("/interpretation/0/coding/0")?;
    let code = coding.get("code")?.as_str()?;
    let word = match code {
        "N" => return None,
        "H" => "High",
        "HH" | "HU" => "Critical high",
        "L" => "Low",
        "LL" | "LU" => "Critical low",
        "A" => "Abnormal",
        "AA" => "Critical",
        "POS" => "Positive",
        "DET" => "Detected",
        _ => {
            return coding
                .get("display")
                .and_then(Value::as_str)
                .map(str::to_owned);
        }
    };
    Some(word.to_owned())
}

/// A medication's first dosage: its text, else dose, frequency and "as needed" from its structure.
pub fn dosage_text(m: &Value) -> String {
    let Some(dosage) = m
        .get("dosageInstruction")
        .or_else(|| m.get("dosage"))
        .and_then(|d| d.get(0))
    else {
        return String::new();
    };
    if let Some(text) = dosage.get("text").and_then(Value::as_str) {
        return text.to_owned();
    }
    let mut parts = Vec::new();
    if let Some(q) = dosage.pointer("/doseAndRate/0/doseQuantity") {
        let value = q.get("value").map(number_text).unwrap_or_default();
        let unit = q.get("unit").and_then(Value::as_str).unwrap_or("");
        parts.push(format!("{value} {unit}").trim().to_owned());
    }
    if let Some(repeat) = dosage.pointer("/timing/repeat") {
        let frequency = repeat.get("frequency").and_then(Value::as_i64);
        let period = repeat.get("period").map(number_text);
        let unit = repeat.get("periodUnit").and_then(Value::as_str);
        if let (Some(f), Some(p), Some(u)) = (frequency, period, unit) {
            let unit = match u {
                "h" => "hour",
                "d" => "day",
                "wk" => "week",
                "mo" => "month",
                "a" => "year",
                "min" => "minute",
                other => other,
            };
            let every = if p == "1" {
                unit.to_owned()
            } else {
                format!("{p} {unit}s")
            };
            parts.push(format!("{f}× per {every}"));
        }
    }
    if dosage.get("asNeededBoolean").and_then(Value::as_bool) == Some(true) {
        parts.push("as needed".to_owned());
    }
    parts.join(", ")
}

/// The texts of a resource's `note`s, joined by spaces.
pub fn notes(resource: &Value) -> String {
    resource
        .get("note")
        .and_then(Value::as_array)
        .map(|notes| {
            notes
                .iter()
                .filter_map(|n| n.get("text").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}

/// One text per reaction of an AllergyIntolerance: its manifestations, then `(severity)`.
pub fn allergy_reactions(allergy: &Value) -> Vec<String> {
    allergy
        .get("reaction")
        .and_then(Value::as_array)
        .map(|rs| {
            rs.iter()
                .map(|r| {
                    let what: Vec<String> = r
                        .get("manifestation")
                        .and_then(Value::as_array)
                        .map(|ms| ms.iter().map(|m| concept_text(Some(m))).collect())
                        .unwrap_or_default();
                    let mut text = what.join(", ");
                    if let Some(severity) = r.get("severity").and_then(Value::as_str) {
                        text.push_str(&format!(" ({severity})"));
                    }
                    text
                })
                .collect()
        })
        .unwrap_or_default()
}

/// An AllergyIntolerance's criticality for reading (`high`, `low`, `unable to assess`), or "".
pub fn criticality(allergy: &Value) -> String {
    allergy
        .get("criticality")
        .and_then(Value::as_str)
        .unwrap_or("")
        .replace('-', " ")
}

/// The date at the first of `pointers` that holds a string: `YYYY-MM-DD` when it names a day,
/// `YYYY` or `YYYY-MM` as written; `None` when there is none or it is not a valid FHIR date.
pub fn day_of(resource: &Value, pointers: &[&str]) -> Option<String> {
    pointers
        .iter()
        .find_map(|p| str_at(resource, p))
        .and_then(Date::parse)
        .map(|d| d.day_or_text().to_owned())
}

/// A Patient's demographics, for telling whether two Patient resources are one person.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Demographics {
    /// Of the official (or else the first) name.
    pub family: Option<String>,
    pub given: Vec<String>,
    pub birth_date: Option<String>,
    pub gender: Option<String>,
    /// `(system, value)` of every identifier that has both.
    pub identifiers: Vec<(String, String)>,
}

/// Whether two sets of demographics are one person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Match {
    Same,
    Different,
}

impl Demographics {
    pub fn of(patient: &Value) -> Demographics {
        let name = chosen_name(patient);
        let owned = |v: Option<&str>| v.map(str::to_owned);
        Demographics {
            family: owned(name.and_then(|n| n.get("family")).and_then(Value::as_str)),
            given: name
                .map(|n| strings(n, "given").into_iter().map(str::to_owned).collect())
                .unwrap_or_default(),
            birth_date: owned(str_at(patient, "/birthDate")),
            gender: owned(str_at(patient, "/gender")),
            identifiers: patient
                .get("identifier")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|i| {
                    let system = i.get("system")?.as_str()?;
                    let value = i.get("value")?.as_str()?;
                    Some((system.to_owned(), value.to_owned()))
                })
                .collect(),
        }
    }

    /// The family name for comparing: see [`normalise_name`].
    pub fn normalised_family(&self) -> String {
        self.family
            .as_deref()
            .map(normalise_name)
            .unwrap_or_default()
    }

    /// The given names for comparing, each by [`normalise_name`]; empty ones dropped.
    pub fn normalised_given(&self) -> Vec<String> {
        self.given
            .iter()
            .map(|g| normalise_name(g))
            .filter(|g| !g.is_empty())
            .collect()
    }

    /// Whether `self` and `other` are one person:
    ///
    /// - birth dates both present and different: [`Match::Different`], whatever else agrees;
    /// - else a shared identifier (same non-empty system, same value; e.g. a hospital's MRN or
    ///   an SSN): [`Match::Same`];
    /// - else the same birth date (present on both), the same gender (compared without case;
    ///   both absent counts as the same), the same normalised family name and the same
    ///   normalised first given name (neither empty): [`Match::Same`];
    /// - else [`Match::Different`].
    pub fn matches(&self, other: &Demographics) -> Match {
        fn birth(d: &Demographics) -> Option<&str> {
            d.birth_date.as_deref().map(str::trim)
        }
        if let (Some(a), Some(b)) = (birth(self), birth(other))
            && a != b
        {
            return Match::Different;
        }
        let shared_identifier = self.identifiers.iter().any(|(system, value)| {
            !system.is_empty()
                && other
                    .identifiers
                    .iter()
                    .any(|(s, v)| s == system && v == value)
        });
        if shared_identifier {
            return Match::Same;
        }
        let gender = |d: &Demographics| d.gender.as_deref().map(str::to_ascii_lowercase);
        let family = self.normalised_family();
        let first = self.normalised_given().into_iter().next();
        let same_person = birth(self).is_some()
            && birth(self) == birth(other)
            && gender(self) == gender(other)
            && !family.is_empty()
            && family == other.normalised_family()
            && first.is_some()
            && first == other.normalised_given().into_iter().next();
        if same_person {
            Match::Same
        } else {
            Match::Different
        }
    }
}

/// A name for comparing: lowercase, Latin letters without their diacritics (á→a, ü→u, ñ→n,
/// ç→c, ø→o, ß→ss, æ→ae, ...), digits (Synthea's "Bruno518"), punctuation and symbols removed,
/// whitespace collapsed to single spaces and trimmed. Letters of other scripts are kept.
pub fn normalise_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut space = false;
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_whitespace() {
            space = !out.is_empty();
            continue;
        }
        if !c.is_alphabetic() {
            // Digits, punctuation, symbols and combining marks (a decomposed "é").
            continue;
        }
        if space {
            out.push(' ');
            space = false;
        }
        match latin_base(c) {
            Some(base) => out.push_str(base),
            None => out.push(c),
        }
    }
    out
}

/// The plain letters of a lowercase Latin letter with a diacritic (or a ligature).
fn latin_base(c: char) -> Option<&'static str> {
    const MAP: &[(&str, &str)] = &[
        ("àáâãäåāăąǎ", "a"),
        ("æ", "ae"),
        ("çćĉċč", "c"),
        ("ďđð", "d"),
        ("èéêëēĕėęě", "e"),
        ("ĝğġģ", "g"),
        ("ĥħ", "h"),
        ("ìíîïĩīĭįıǐ", "i"),
        ("ĵ", "j"),
        ("ķ", "k"),
        ("ĺļľŀł", "l"),
        ("ñńņňŉ", "n"),
        ("òóôõöøōŏőǒ", "o"),
        ("œ", "oe"),
        ("ŕŗř", "r"),
        ("śŝşšș", "s"),
        ("ß", "ss"),
        ("ţťŧț", "t"),
        ("þ", "th"),
        ("ùúûüũūŭůűųǔ", "u"),
        ("ŵ", "w"),
        ("ýÿŷ", "y"),
        ("źżž", "z"),
    ];
    MAP.iter()
        .find(|(from, _)| from.contains(c))
        .map(|(_, to)| *to)
}

/// Where and with whom a visit was: an Encounter's locations and service provider, and its
/// participants, as references (their `display`, or the resource they name, tells the name).
pub fn encounter_parties(encounter: &Value) -> (Vec<crate::Reference>, Vec<crate::Reference>) {
    let places = encounter
        .get("location")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|l| l.get("location"))
        .chain(encounter.get("serviceProvider"))
        .map(crate::Reference::of)
        .collect();
    let people = encounter
        .get("participant")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|p| p.get("individual"))
        .map(crate::Reference::of)
        .collect();
    (places, people)
}

/// The name of an Organization or Location (`name`), or of a person (their HumanName).
pub fn name_of(resource: &Value) -> Option<String> {
    match resource.get("name") {
        Some(Value::String(name)) => Some(name.clone()),
        Some(Value::Array(_)) => Some(patient_name(resource)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_component_by_its_coding() {
        let loinc = "http://loinc.org";
        let bp = json!({"resourceType": "Observation",
            "code": {"coding": [{"system": loinc, "code": "85354-9"}]}, "component": [
            {"code": {"coding": [{"system": loinc, "code": "8462-4"}]},
                "valueQuantity": {"value": 81, "unit": "mm[Hg]"}},
            {"code": {"coding": [{"system": "urn:local", "code": "sys"}, {"system": loinc, "code": "8480-6"}]},
                "valueQuantity": {"value": 128.5, "unit": "mm[Hg]"},
                "referenceRange": [{"high": {"value": 120}}]},
            {"code": {"coding": [{"system": loinc, "code": "8867-4"}]}, "valueString": "n/a"}]});
        let systolic = component_value(&bp, loinc, "8480-6").unwrap();
        assert_eq!(systolic.quantity.value, Some(128.5));
        assert_eq!(systolic.quantity.unit.as_deref(), Some("mm[Hg]"));
        assert_eq!(systolic.range.and_then(|r| r.high), Some(120.0));
        let diastolic = component_value(&bp, loinc, "8462-4").unwrap();
        assert_eq!(
            (diastolic.quantity.value, diastolic.range),
            (Some(81.0), None)
        );
        // The code in another system, a component without a number, no components at all.
        assert_eq!(component_value(&bp, "urn:local", "8480-6"), None);
        assert_eq!(component_value(&bp, loinc, "8867-4"), None);
        assert_eq!(
            component_value(&json!({"valueQuantity": {"value": 1}}), loinc, "8480-6"),
            None
        );
    }

    #[test]
    fn flags_values_outside_the_reference_range() {
        let o = json!({"code": {"text": "Glucose"}, "valueQuantity": {"value": 182.5, "unit": "mg/dL"},
            "referenceRange": [{"low": {"value": 70}, "high": {"value": 99}}]});
        let v = value_of("Glucose".into(), &o);
        assert_eq!(
            (v.name.as_str(), v.value.as_str(), v.unit.as_str()),
            ("Glucose", "182.5", "mg/dL")
        );
        assert_eq!((v.range.as_str(), v.flag.as_str()), ("70–99", "High"));
        assert_eq!(v.number, Some(182.5));
        let low =
            json!({"valueQuantity": {"value": 3}, "referenceRange": [{"low": {"value": 70}}]});
        assert_eq!(value_of(String::new(), &low).flag, "Low");
        let normal = json!({"valueQuantity": {"value": 80}, "interpretation": [{"coding": [{"code": "N"}]}],
            "referenceRange": [{"low": {"value": 70}, "high": {"value": 99}}]});
        assert_eq!(value_of(String::new(), &normal).flag, "");
        let critical = json!({"valueQuantity": {"value": 80, "comparator": "<", "code": "mg"},
            "interpretation": [{"coding": [{"code": "HH"}]}]});
        let v = value_of(String::new(), &critical);
        assert_eq!(
            (v.value.as_str(), v.unit.as_str(), v.flag.as_str()),
            ("<80", "mg", "Critical high")
        );
        let other = json!({"interpretation": [{"coding": [{"code": "W", "display": "Worse"}]}]});
        assert_eq!(interpretation(&other).as_deref(), Some("Worse"));
    }

    #[test]
    fn values_of_every_kind() {
        let o = json!({"code": {"text": "Smoking"}, "valueCodeableConcept": {"text": "Never"}});
        assert_eq!(result_values(&o)[0].value, "Never");
        let o = json!({"code": {"text": "Pregnant"}, "valueBoolean": false});
        assert_eq!(result_values(&o)[0].value, "no");
        let o = json!({"code": {"text": "Count"}, "valueInteger": 7});
        assert_eq!(result_values(&o)[0].number, Some(7.0));
        let o = json!({"code": {"text": "Note"}, "valueString": "fine"});
        assert_eq!(result_values(&o)[0].value, "fine");
        let o = json!({"code": {"text": "Glucose"}, "dataAbsentReason": {"text": "Not done"}});
        assert_eq!(result_values(&o)[0].value, "Not done");
        let o = json!({"code": {"text": "Glucose"}});
        assert_eq!(result_values(&o)[0].value, "no value");
    }

    #[test]
    fn blood_pressure_reads_as_one_value() {
        let bp = json!({"code": {"text": "Blood pressure"}, "component": [
            {"code": {"text": "Systolic"}, "valueQuantity": {"value": 120, "unit": "mm[Hg]"}},
            {"code": {"text": "Diastolic"}, "valueQuantity": {"value": 80, "unit": "mm[Hg]"}}]});
        let lines = result_values_combined(&bp);
        assert_eq!(lines.len(), 1);
        assert_eq!(
            (lines[0].value.as_str(), lines[0].unit.as_str()),
            ("120/80", "mm[Hg]")
        );
        let lines = result_values(&bp);
        assert_eq!(
            lines.iter().map(|l| l.name.as_str()).collect::<Vec<_>>(),
            ["Blood pressure: Systolic", "Blood pressure: Diastolic"]
        );
    }

    #[test]
    fn government_identifiers_are_left_out() {
        let p = json!({"name": [{"use": "official", "given": ["Ana"], "family": "Díaz", "prefix": ["Ms."]}],
            "identifier": [
                {"type": {"coding": [{"code": "MR"}], "text": "Medical Record Number"}, "value": "MRN-1"},
                {"type": {"coding": [{"code": "SS"}]}, "value": "999-99-9999"},
                {"system": "https://hospital.example.org/ids", "value": "H-7", "use": "usual"},
                {"system": "https://github.com/synthetichealth/synthea", "value": "not-for-clinicians"}]});
        assert_eq!(patient_name(&p), "Ms. Ana Díaz");
        assert_eq!(
            care_identifiers(&p),
            vec![
                ("Medical Record Number".to_owned(), "MRN-1".to_owned()),
                ("hospital.example.org".to_owned(), "H-7".to_owned())
            ]
        );
        assert_eq!(patient_name(&json!({})), "Name not recorded");
        assert_eq!(patient_name(&json!({"name": [{}]})), "Name not recorded");
        assert_eq!(
            patient_name(&json!({"name": [{"text": "A B"}, {"use": "official", "family": "C"}]})),
            "C"
        );
    }

    #[test]
    fn identifier_labels_from_the_systems_host() {
        let label = |system: &str| {
            care_identifier(&json!({"system": system, "value": "1", "use": "official"}))
                .map(|l| l.0)
        };
        for (system, expected) in [
            (
                "https://Hospital.Example.org:8443/ids",
                "hospital.example.org",
            ),
            ("http://user:pw@h.example/x?y#z", "h.example"),
            ("http://[::1]:80/x", "[::1]"),
            ("urn:oid:1.2.3", "urn:oid:1.2.3"),
            ("foo://Opaque/x", "Opaque"),
            ("not a url", "not a url"),
            ("http://", "http://"),
            ("http://h:port/", "http://h:port/"),
        ] {
            assert_eq!(label(system).as_deref(), Some(expected), "{system}");
        }
        let plain = json!({"value": "1", "use": "usual"});
        assert_eq!(care_identifier(&plain).unwrap().0, "Identifier");
    }

    #[test]
    fn dosage_from_structure() {
        let m = json!({"dosageInstruction": [{"doseAndRate": [{"doseQuantity": {"value": 1, "unit": "tablet"}}],
            "timing": {"repeat": {"frequency": 2, "period": 1, "periodUnit": "d"}}}]});
        assert_eq!(dosage_text(&m), "1 tablet, 2× per day");
        let m = json!({"dosage": [{"timing": {"repeat": {"frequency": 1, "period": 8, "periodUnit": "h"}},
            "asNeededBoolean": true}]});
        assert_eq!(dosage_text(&m), "1× per 8 hours, as needed");
        assert_eq!(
            dosage_text(&json!({"dosageInstruction": [{"text": "as told"}]})),
            "as told"
        );
        assert_eq!(dosage_text(&json!({})), "");
    }

    #[test]
    fn notes_reactions_and_criticality() {
        let a = json!({"criticality": "unable-to-assess", "note": [{"text": "a"}, {"text": "b"}],
            "reaction": [
                {"manifestation": [{"text": "Hives"}, {"coding": [{"display": "Rash"}]}], "severity": "mild"},
                {"manifestation": [{"text": "Anaphylaxis"}]}]});
        assert_eq!(notes(&a), "a b");
        assert_eq!(allergy_reactions(&a), ["Hives, Rash (mild)", "Anaphylaxis"]);
        assert_eq!(criticality(&a), "unable to assess");
        assert_eq!(criticality(&json!({})), "");
    }

    #[test]
    fn days_of_valid_dates_only() {
        let r = json!({"onsetDateTime": "2020-05-01T10:00:00+02:00", "recordedDate": "2021",
            "bad": "2020-02-30", "month": "2020-02", "odd": "2024-01-0é1"});
        assert_eq!(
            day_of(&r, &["/missing", "/onsetDateTime"]).as_deref(),
            Some("2020-05-01")
        );
        assert_eq!(day_of(&r, &["/recordedDate"]).as_deref(), Some("2021"));
        assert_eq!(day_of(&r, &["/month"]).as_deref(), Some("2020-02"));
        assert_eq!(day_of(&r, &["/bad", "/recordedDate"]), None);
        assert_eq!(day_of(&r, &["/odd"]), None);
        assert_eq!(day_of(&r, &["/missing"]), None);
    }

    fn person(family: &str, given: &str, birth: &str, ids: &[(&str, &str)]) -> Demographics {
        Demographics::of(&json!({"resourceType": "Patient",
            "name": [{"family": family, "given": [given]}], "gender": "female", "birthDate": birth,
            "identifier": ids.iter().map(|(s, v)| json!({"system": s, "value": v})).collect::<Vec<_>>()}))
    }

    #[test]
    fn normalised_names() {
        assert_eq!(normalise_name("Bruno518"), "bruno");
        assert_eq!(normalise_name("  O'Keefe611 "), "okeefe");
        assert_eq!(normalise_name("Núñez  García-Ø"), "nunez garciao");
        assert_eq!(normalise_name("Françoise Müller"), "francoise muller");
        assert_eq!(normalise_name("Straße"), "strasse");
        assert_eq!(normalise_name("Jose\u{301}"), "jose");
        assert_eq!(normalise_name("Иван"), "иван");
        let d = person("Díaz118", "Ána", "1990-01-01", &[]);
        assert_eq!(d.normalised_family(), "diaz");
        assert_eq!(d.normalised_given(), ["ana"]);
    }

    #[test]
    fn demographics_matching() {
        let synthea = person("Kuhlman279", "Brady765", "1975-03-02", &[]);
        let portal = person("Kuhlman", "Brady", "1975-03-02", &[]);
        assert_eq!(synthea.matches(&portal), Match::Same);
        let accents = person("Müller", "Zoë", "1980-01-01", &[]);
        assert_eq!(
            accents.matches(&person("MULLER", "zoe", "1980-01-01", &[])),
            Match::Same
        );
        assert_eq!(
            synthea.matches(&person("Kuhlman", "Rhett", "1975-03-02", &[])),
            Match::Different
        );
        let mut male = portal.clone();
        male.gender = Some("male".into());
        assert_eq!(synthea.matches(&male), Match::Different);
        let mut no_birth = portal.clone();
        no_birth.birth_date = None;
        assert_eq!(synthea.matches(&no_birth), Match::Different);

        let mrn = [("http://hospital.example/mrn", "M-1")];
        let a = person("Smith", "Ann", "1970-01-01", &mrn);
        let renamed = person("Jones", "Ann", "1970-01-01", &mrn);
        assert_eq!(a.matches(&renamed), Match::Same);
        let mut undated = renamed.clone();
        undated.birth_date = None;
        assert_eq!(a.matches(&undated), Match::Same);
        // A different birth date wins over a shared identifier.
        let other_birth = person("Smith", "Ann", "1971-01-01", &mrn);
        assert_eq!(a.matches(&other_birth), Match::Different);
        // An identifier without a system proves nothing.
        let b = person("Jones", "Ann", "1970-01-01", &[("", "M-1")]);
        let c = person("Smith", "Bea", "1970-01-01", &[("", "M-1")]);
        assert_eq!(b.matches(&c), Match::Different);
        let d = person(
            "Smith",
            "Ann",
            "1970-01-01",
            &[("http://hospital.example/mrn", "M-2")],
        );
        assert_eq!(
            renamed.matches(&d),
            Match::Different,
            "same system, other value"
        );
    }
}
