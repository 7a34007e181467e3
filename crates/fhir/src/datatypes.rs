//! FHIR R4 data types read from raw JSON: codings and concepts, references, dates with their
//! precision, quantities and reference ranges. Readers never fail: what is missing or malformed
//! reads as `None` (or empty), never as a guess.

use serde::Serialize;
use serde_json::Value;

use crate::{is_r4_resource_type, is_valid_id};

fn str_of<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Value::as_str)
}

fn string_of(value: &Value, key: &str) -> Option<String> {
    str_of(value, key).map(str::to_owned)
}

/// One `Coding`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Coding {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
}

impl Coding {
    pub fn of(coding: &Value) -> Coding {
        Coding {
            system: string_of(coding, "system"),
            code: string_of(coding, "code"),
            display: string_of(coding, "display"),
        }
    }
}

/// A `CodeableConcept`: its text and every coding, in order (a coding that is not an object
/// reads as an empty one, so positions match the JSON).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Concept {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    pub codings: Vec<Coding>,
}

impl Concept {
    pub fn of(concept: &Value) -> Concept {
        Concept {
            text: string_of(concept, "text"),
            codings: concept
                .get("coding")
                .and_then(Value::as_array)
                .map(|codings| codings.iter().map(Coding::of).collect())
                .unwrap_or_default(),
        }
    }

    /// What a reader sees: the concept's text, else the first coding that has a display, else
    /// the first coding's code, else "".
    pub fn text(&self) -> String {
        self.text
            .as_deref()
            .or_else(|| self.codings.iter().find_map(|c| c.display.as_deref()))
            .or_else(|| self.codings.first().and_then(|c| c.code.as_deref()))
            .unwrap_or("")
            .to_owned()
    }

    /// `(system, code)` of every coding that has both.
    pub fn coded(&self) -> impl Iterator<Item = (&str, &str)> {
        self.codings
            .iter()
            .filter_map(|c| Some((c.system.as_deref()?, c.code.as_deref()?)))
    }

    /// Whether any coding carries `code` (in any system).
    pub fn has_code(&self, code: &str) -> bool {
        self.codings.iter().any(|c| c.code.as_deref() == Some(code))
    }

    /// The first coding's code (`clinicalStatus`, `verificationStatus`, ...).
    pub fn first_code(&self) -> Option<&str> {
        self.codings.first().and_then(|c| c.code.as_deref())
    }
}

/// [`Concept::text`] of an optional JSON value ("" when absent).
pub fn concept_text(concept: Option<&Value>) -> String {
    concept.map(|c| Concept::of(c).text()).unwrap_or_default()
}

/// A `Reference`. `resource_type` and `id` are set for a literal reference to a known R4 type
/// (`Type/id`, `https://server/fhir/Type/id`, `Type/id/_history/n`); `urn:` references, contained
/// (`#x`) and conditional (`Type?identifier=...`) references carry no id, and then
/// `resource_type` comes from the reference's `type` element, if any.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Reference {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
}

impl Reference {
    pub fn of(reference: &Value) -> Reference {
        let literal = str_of(reference, "reference");
        let parsed = literal.and_then(parse_literal);
        Reference {
            reference: literal.map(str::to_owned),
            resource_type: parsed
                .map(|(t, _)| t)
                .or_else(|| str_of(reference, "type"))
                .map(str::to_owned),
            id: parsed.map(|(_, id)| id.to_owned()),
            display: string_of(reference, "display"),
        }
    }

    /// `Type/id`, when both are known.
    pub fn key(&self) -> Option<String> {
        Some(format!(
            "{}/{}",
            self.resource_type.as_ref()?,
            self.id.as_ref()?
        ))
    }

    /// The id of the Patient this reference names, if it names one.
    pub fn patient_id(&self) -> Option<&str> {
        (self.resource_type.as_deref() == Some("Patient"))
            .then_some(self.id.as_deref())
            .flatten()
    }
}

/// `(type, id)` of a literal reference, relative or absolute, without its `_history` part.
fn parse_literal(reference: &str) -> Option<(&str, &str)> {
    if reference.starts_with("urn:") || reference.starts_with('#') || reference.contains('?') {
        return None;
    }
    let mut parts: Vec<&str> = reference.split('/').collect();
    if parts.len() >= 4 && parts.iter().rev().nth(1) == Some(&"_history") {
        parts.truncate(parts.len() - 2);
    }
    let [.., resource_type, id] = parts.as_slice() else {
        return None;
    };
    (is_r4_resource_type(resource_type) && is_valid_id(id)).then_some((*resource_type, *id))
}

/// How much of a date is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Precision {
    Year,
    Month,
    Day,
    /// A dateTime or instant with a time (and so a time zone).
    Time,
}

/// A valid FHIR R4 `date`, `dateTime` or `instant`, kept as written.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Date {
    pub text: String,
    pub precision: Precision,
}

impl Date {
    /// `YYYY`, `YYYY-MM`, `YYYY-MM-DD` or `YYYY-MM-DDThh:mm:ss[.fraction](Z|+hh:mm|-hh:mm)`, with
    /// a real month and day (leap years counted), hours 00–23, minutes 00–59, seconds 00–60 (a
    /// leap second) and an offset up to ±14:00. Anything else (also any non-ASCII text) is `None`.
    pub fn parse(text: &str) -> Option<Date> {
        let precision = precision_of(text.as_bytes())?;
        Some(Date {
            text: text.to_owned(),
            precision,
        })
    }

    /// `YYYY-MM-DD` when the date names a day.
    pub fn day(&self) -> Option<&str> {
        (self.precision >= Precision::Day)
            .then(|| self.text.get(..10))
            .flatten()
    }

    /// `YYYY-MM-DD` when the date names a day, else the text as written (`YYYY`, `YYYY-MM`).
    pub fn day_or_text(&self) -> &str {
        self.day().unwrap_or(&self.text)
    }

    /// `YYYY` (the whole text of a `Date` built by hand that does not start with 4 ASCII digits).
    pub fn year(&self) -> &str {
        self.text.get(..4).unwrap_or(&self.text)
    }

    /// The text, which sorts chronologically for dates of the same time zone.
    pub fn sort_key(&self) -> &str {
        &self.text
    }
}

fn digits(b: &[u8], at: usize, n: usize) -> Option<u32> {
    let part = b.get(at..at + n)?;
    part.iter().try_fold(0u32, |acc, &d| {
        d.is_ascii_digit().then(|| acc * 10 + u32::from(d - b'0'))
    })
}

/// The days of a month (Gregorian leap years).
pub fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn precision_of(b: &[u8]) -> Option<Precision> {
    let year = digits(b, 0, 4).filter(|&y| y > 0)?;
    if b.len() == 4 {
        return Some(Precision::Year);
    }
    (b.get(4) == Some(&b'-')).then_some(())?;
    let month = digits(b, 5, 2).filter(|m| (1..=12).contains(m))?;
    if b.len() == 7 {
        return Some(Precision::Month);
    }
    (b.get(7) == Some(&b'-')).then_some(())?;
    digits(b, 8, 2).filter(|&d| (1..=days_in_month(year, month)).contains(&d))?;
    if b.len() == 10 {
        return Some(Precision::Day);
    }
    let at = |i: usize, c: u8| (b.get(i) == Some(&c)).then_some(());
    at(10, b'T')?;
    digits(b, 11, 2).filter(|&h| h <= 23)?;
    at(13, b':')?;
    digits(b, 14, 2).filter(|&m| m <= 59)?;
    at(16, b':')?;
    digits(b, 17, 2).filter(|&s| s <= 60)?;
    let mut i = 19;
    if b.get(i) == Some(&b'.') {
        let fraction = b
            .iter()
            .skip(i + 1)
            .take_while(|d| d.is_ascii_digit())
            .count();
        (fraction > 0).then_some(())?;
        i += 1 + fraction;
    }
    match b.get(i)? {
        b'Z' if b.len() == i + 1 => Some(Precision::Time),
        b'+' | b'-' if b.len() == i + 6 => {
            let hours = digits(b, i + 1, 2)?;
            at(i + 3, b':')?;
            let minutes = digits(b, i + 4, 2)?;
            (hours <= 13 && minutes <= 59 || hours == 14 && minutes == 0).then_some(Precision::Time)
        }
        _ => None,
    }
}

/// A `Quantity` (or `SimpleQuantity`, `Age`, ...).
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Quantity {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// The value for reading ([`number_text`]); "" when there is none.
    pub value_text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comparator: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
}

impl Quantity {
    pub fn of(quantity: &Value) -> Quantity {
        let value = quantity.get("value");
        Quantity {
            value: value.and_then(Value::as_f64),
            value_text: value.map(number_text).unwrap_or_default(),
            comparator: string_of(quantity, "comparator"),
            unit: string_of(quantity, "unit"),
            code: string_of(quantity, "code"),
            system: string_of(quantity, "system"),
        }
    }
}

/// An Observation's `referenceRange` element.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Range {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub low: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub high: Option<f64>,
    /// The range's own text, else `low–high`, `≥ low` or `≤ high`, else "".
    pub text: String,
}

impl Range {
    pub fn of(range: &Value) -> Range {
        let bound = |key: &str| range.get(key).and_then(|q| q.get("value"));
        Range {
            low: bound("low").and_then(Value::as_f64),
            high: bound("high").and_then(Value::as_f64),
            text: range_text(range),
        }
    }
}

fn range_text(range: &Value) -> String {
    if let Some(text) = str_of(range, "text") {
        return text.to_owned();
    }
    let bound = |key: &str| range.get(key).and_then(|q| q.get("value")).map(number_text);
    match (bound("low"), bound("high")) {
        (Some(low), Some(high)) => format!("{low}–{high}"),
        (Some(low), None) => format!("≥ {low}"),
        (None, Some(high)) => format!("≤ {high}"),
        (None, None) => String::new(),
    }
}

/// A number for reading: integers as they are; decimals to two places (three significant
/// digits below 1), trailing zeros dropped. Strings (FHIR's exact decimals) as written.
pub fn number_text(v: &Value) -> String {
    match v {
        Value::Number(n) if n.is_f64() => {
            let f = n.as_f64().unwrap_or_default();
            let places = if f.abs() >= 1.0 || f == 0.0 {
                2
            } else {
                (2 - f.abs().log10().floor() as i32).clamp(2, 12) as usize
            };
            let rounded = format!("{f:.places$}");
            rounded
                .trim_end_matches('0')
                .trim_end_matches('.')
                .to_owned()
        }
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn valid_dates_and_their_precision() {
        for (text, precision) in [
            ("2024", Precision::Year),
            ("2024-02", Precision::Month),
            ("2024-02-29", Precision::Day),
            ("2000-02-29", Precision::Day),
            ("2024-12-31T23:59:59Z", Precision::Time),
            ("2024-06-30T23:59:60Z", Precision::Time),
            ("2019-02-17T19:33:18.715-05:00", Precision::Time),
            ("2019-02-17T00:00:00+14:00", Precision::Time),
            ("2019-02-17T00:00:00-13:59", Precision::Time),
        ] {
            let date = Date::parse(text).unwrap_or_else(|| panic!("{text} is valid"));
            assert_eq!(date.precision, precision, "{text}");
            assert_eq!(Some(date.year()), text.get(..4));
            assert_eq!(date.sort_key(), text);
        }
        let d = Date::parse("2019-02-17T19:33:18-05:00").unwrap();
        assert_eq!(d.day(), Some("2019-02-17"));
        assert_eq!(Date::parse("2019-02").unwrap().day(), None);
        assert_eq!(Date::parse("2019-02").unwrap().day_or_text(), "2019-02");
    }

    #[test]
    fn a_hand_built_date_with_a_multibyte_character_at_a_cut_does_not_panic() {
        // The fields are public, so a `Date` need not have come from `parse`: 'é' spans bytes 3–4
        // (the year's cut) and 9–10 (the day's cut).
        let date = Date {
            text: "202é-01-é".to_owned(),
            precision: Precision::Day,
        };
        assert_eq!(date.day(), None);
        assert_eq!(date.day_or_text(), "202é-01-é");
        assert_eq!(date.year(), "202é-01-é");
    }

    #[test]
    fn invalid_dates_are_none() {
        for text in [
            "",
            "0000",
            "202",
            "20240",
            "2024-",
            "2024-1",
            "2024-00",
            "2024-13",
            "2024-01-00",
            "2024-01-32",
            "2024-04-31",
            "2023-02-29",
            "1900-02-29",
            "2024-01-01T",
            "2024-01-01 10:00:00Z",
            "2024-01-01T10:00Z",
            "2024-01-01T10:00:00",
            "2024-01-01T24:00:00Z",
            "2024-01-01T10:60:00Z",
            "2024-01-01T10:00:61Z",
            "2024-01-01T10:00:00.Z",
            "2024-01-01T10:00:00+5:00",
            "2024-01-01T10:00:00+14:30",
            "2024-01-01T10:00:00+05:00x",
            "2024-01-01T10:00:00ZZ",
            "2024-01-01x",
            "2024-01-0é1",
            "2024-0é-01",
            "é024",
            "2024-01-01T10:00:00+0é:00",
            "２０２４",
            "-2024",
        ] {
            assert_eq!(Date::parse(text), None, "{text:?}");
        }
    }

    #[test]
    fn references_parse_relative_absolute_and_history() {
        let r = Reference::of(&json!({"reference": "Patient/p-1", "display": "Ana"}));
        assert_eq!(
            (r.resource_type.as_deref(), r.id.as_deref()),
            (Some("Patient"), Some("p-1"))
        );
        assert_eq!(r.display.as_deref(), Some("Ana"));
        assert_eq!(r.patient_id(), Some("p-1"));
        assert_eq!(r.key().as_deref(), Some("Patient/p-1"));

        let r = Reference::of(&json!({"reference": "https://x.example/fhir/Observation/o.9"}));
        assert_eq!(r.key().as_deref(), Some("Observation/o.9"));
        assert_eq!(r.patient_id(), None);

        let r = Reference::of(&json!({"reference": "Patient/p-1/_history/3"}));
        assert_eq!(r.key().as_deref(), Some("Patient/p-1"));
        let r = Reference::of(&json!({"reference": "https://x/fhir/Patient/p/_history/2"}));
        assert_eq!(r.key().as_deref(), Some("Patient/p"));

        for literal in [
            "urn:uuid:1f1c1a6e-0000-4000-8000-000000000000",
            "Patient?identifier=urn:x|1",
            "#contained",
            "Patientt/1",
            "Patient/",
            "Patient/a b",
            "p-1",
        ] {
            let r = Reference::of(&json!({ "reference": literal }));
            assert_eq!(r.id, None, "{literal}");
            assert_eq!(r.reference.as_deref(), Some(literal));
        }
        let typed = Reference::of(&json!({"reference": "urn:uuid:abc", "type": "Patient"}));
        assert_eq!(typed.resource_type.as_deref(), Some("Patient"));
        assert_eq!(typed.patient_id(), None);
        assert_eq!(Reference::of(&json!("Patient/1")), Reference::default());
    }

    #[test]
    fn concept_text_rules() {
        let c = |v: Value| Concept::of(&v).text();
        assert_eq!(
            c(json!({"text": "Sugar", "coding": [{"display": "Glucose"}]})),
            "Sugar"
        );
        assert_eq!(
            c(json!({"coding": [{"code": "1"}, {"code": "2", "display": "Two"}]})),
            "Two"
        );
        assert_eq!(c(json!({"coding": [{"code": "1"}, {"code": "2"}]})), "1");
        assert_eq!(c(json!({"coding": [{"system": "s"}, {"code": "2"}]})), "");
        assert_eq!(c(json!({})), "");
        assert_eq!(c(json!("not a concept")), "");
        assert_eq!(concept_text(None), "");

        let concept = Concept::of(&json!({"coding": [
            {"system": "http://loinc.org", "code": "2339-0"}, {"code": "x"}, {"system": "s"}]}));
        assert_eq!(
            concept.coded().collect::<Vec<_>>(),
            vec![("http://loinc.org", "2339-0")]
        );
        assert!(concept.has_code("x") && concept.has_code("2339-0") && !concept.has_code("s"));
    }

    #[test]
    fn quantities_and_ranges() {
        let q = Quantity::of(
            &json!({"value": 107.6934, "comparator": "<", "unit": "mg/dL",
            "system": "http://unitsofmeasure.org", "code": "mg/dL"}),
        );
        assert_eq!(q.value, Some(107.6934));
        assert_eq!(q.value_text, "107.69");
        assert_eq!(q.comparator.as_deref(), Some("<"));
        assert_eq!(number_text(&json!(0.004567)), "0.00457");
        assert_eq!(number_text(&json!(5)), "5");
        assert_eq!(number_text(&json!("5.10")), "5.10");

        let r = Range::of(&json!({"low": {"value": 70}, "high": {"value": 99.5}}));
        assert_eq!(
            (r.low, r.high, r.text.as_str()),
            (Some(70.0), Some(99.5), "70–99.5")
        );
        assert_eq!(Range::of(&json!({"low": {"value": 1}})).text, "≥ 1");
        assert_eq!(Range::of(&json!({"high": {"value": 1}})).text, "≤ 1");
        assert_eq!(
            Range::of(&json!({"text": "normal", "high": {"value": 1}})).text,
            "normal"
        );
    }
}
