//! HIPAA Safe Harbor (45 CFR 164.514(b)(2)) over FHIR R4 JSON, one resource at a time.
//!
//! An allow-list, not a deny-list: an element is kept only when its name is known to carry
//! codes, values, units, ranges, statuses or structure ([`KEPT`]); everything else (names,
//! addresses, contact details, free text, attachments, extensions not known to be safe,
//! element names this list has never seen) is dropped and counted by its path, so the preview
//! can say what was removed. Then:
//! - every `identifier` (and an imaging study's DICOM `uid`) becomes one pseudonym, every `reference` a pseudonymous `Type/id`
//!   (the person's Patients, from any source, all one pseudonym), every resource id too:
//!   [`Pseudonyms`] is a keyed hash, so one study's copies link up and two studies' cannot;
//! - every date keeps its year only (instants, which FHIR requires to be complete, go); with
//!   [`Rules::intervals`], a date of day precision also carries the days since the record's
//!   first event (an extension on the primitive);
//! - the address keeps its state, country and the first three ZIP digits (`000` for the
//!   areas of 20,000 people or fewer); an age over 89 (the birth date's, or an `*Age`) becomes
//!   "90 or older".

use std::collections::{BTreeMap, BTreeSet};

use hmac::{Hmac, Mac};
use serde_json::{Map, Value, json};
use sha2::Sha256;
use zeroize::Zeroizing;

/// The version of these rules, written in the copy's manifest and the disclosure log.
pub const RULES_VERSION: &str = "ownrecord-safe-harbor/1";

/// The system of every pseudonymous identifier.
pub const PSEUDONYM_SYSTEM: &str = "urn:ownrecord:research-pseudonym";

/// The extension on a date: days since the first event of the copy.
pub const DAYS_URL: &str = "https://ownrecord.org/fhir/StructureDefinition/days-since-first-event";

/// The extension on a Patient whose age is over 89, in place of the birth date.
pub const AGE_GROUP_URL: &str = "https://ownrecord.org/fhir/StructureDefinition/age-group";

/// What a Patient over 89 is, in the copy.
pub const NINETY_OR_OLDER: &str = "90 or older";

/// The three-digit ZIP areas of 20,000 people or fewer (2000 census), which become `000`.
pub const RESTRICTED_ZIP3: [&str; 17] = [
    "036", "059", "063", "102", "203", "556", "692", "790", "821", "823", "830", "831", "878",
    "879", "884", "890", "893",
];

/// The person's own resource types a research copy carries (shared `Medication`s they name
/// come along); every other type (documents, bills, care teams, provenance, ...) stays home.
pub const TYPES: &[&str] = &[
    "Patient",
    "AllergyIntolerance",
    "CarePlan",
    "Condition",
    "Device",
    "DiagnosticReport",
    "Encounter",
    "Goal",
    "ImagingStudy",
    "Immunization",
    "MedicationAdministration",
    "MedicationDispense",
    "MedicationRequest",
    "MedicationStatement",
    "Observation",
    "Procedure",
];

/// Shared resources the copy carries when the person's resources refer to them.
pub const SHARED_TYPES: &[&str] = &["Medication"];

/// The elements a resource must still have to be worth sending (and to stay valid FHIR); a
/// resource that loses one (a code that was free text only) is left out and counted.
fn required(resource_type: &str) -> &'static [&'static str] {
    match resource_type {
        "Observation" | "DiagnosticReport" => &["status", "code"],
        "Goal" => &["lifecycleStatus", "description", "subject"],
        "MedicationRequest" => &["status", "intent", "medication", "subject"],
        "MedicationStatement" | "MedicationDispense" => &["status", "medication"],
        "MedicationAdministration" => &["status", "medication", "subject", "effective"],
        "Immunization" => &["status", "vaccineCode", "patient", "occurrence"],
        "Procedure" | "ImagingStudy" => &["status", "subject"],
        "Condition" => &["subject", "code"],
        "AllergyIntolerance" => &["patient", "code"],
        "Encounter" => &["status", "class"],
        "CarePlan" => &["status", "intent", "subject"],
        "Medication" => &["code"],
        _ => &[],
    }
}

/// Element names kept wherever they appear (their content is then checked the same way).
/// Names of free text (`text`, `note`, `comment`, `description` strings, `valueString`, ...),
/// of people and places, and of attachments are deliberately absent.
const KEPT: &[&str] = &[
    // structure and codes
    "status",
    "category",
    "code",
    "coding",
    "system",
    "version",
    "userSelected",
    "type",
    "use",
    "rank",
    "sequence",
    "priority",
    "active",
    "language",
    "intent",
    "doNotPerform",
    // references (their `reference` is rewritten, their `display` dropped)
    "subject",
    "patient",
    "encounter",
    "context",
    "focus",
    "basedOn",
    "partOf",
    "hasMember",
    "derivedFrom",
    "specimen",
    "device",
    "performer",
    "actor",
    "function",
    "onBehalfOf",
    "requester",
    "recorder",
    "asserter",
    "informationSource",
    "reasonReference",
    "reasonCode",
    "resultsInterpreter",
    "imagingStudy",
    "individual",
    "serviceProvider",
    "location",
    "episodeOfCare",
    "account",
    "generalPractitioner",
    "managingOrganization",
    "addresses",
    "goal",
    "careTeam",
    "supportingInfo",
    "author",
    "contributor",
    "expressedBy",
    "outcomeReference",
    "usedReference",
    "report",
    "result",
    "condition",
    "endpoint",
    "complicationDetail",
    "itemReference",
    "medicationReference",
    "productReference",
    "detail",
    // values, units, ranges
    "value",
    "unit",
    "comparator",
    "low",
    "high",
    "numerator",
    "denominator",
    "interpretation",
    "referenceRange",
    "appliesTo",
    "age",
    "component",
    "dataAbsentReason",
    "bodySite",
    "method",
    "valueQuantity",
    "valueCodeableConcept",
    "valueBoolean",
    "valueInteger",
    "valueRange",
    "valueRatio",
    "valuePeriod",
    "valueDateTime",
    "valueCode",
    "valueCoding",
    "valueDecimal",
    "valueDate",
    "valuePositiveInt",
    "valueUnsignedInt",
    // dates (kept to the year)
    "effectiveDateTime",
    "effectivePeriod",
    "start",
    "end",
    "period",
    "onsetDateTime",
    "onsetPeriod",
    "onsetRange",
    "abatementDateTime",
    "abatementPeriod",
    "abatementRange",
    "recordedDate",
    "authoredOn",
    "dateAsserted",
    "occurrenceDateTime",
    "performedDateTime",
    "performedPeriod",
    "lastOccurrence",
    "onset",
    "date",
    "created",
    "started",
    "birthDate",
    "deceasedDateTime",
    "deceasedBoolean",
    "startDate",
    "dueDate",
    "statusDate",
    "manufactureDate",
    "expirationDate",
    "whenPrepared",
    "whenHandedOver",
    "validityPeriod",
    "boundsPeriod",
    "scheduledPeriod",
    "event",
    // conditions and allergies
    "clinicalStatus",
    "verificationStatus",
    "severity",
    "stage",
    "summary",
    "assessment",
    "evidence",
    "criticality",
    "reaction",
    "substance",
    "manifestation",
    "exposureRoute",
    // medications
    "medicationCodeableConcept",
    "courseOfTherapyType",
    "dosageInstruction",
    "dosage",
    "timing",
    "repeat",
    "boundsDuration",
    "boundsRange",
    "count",
    "countMax",
    "duration",
    "durationMax",
    "durationUnit",
    "frequency",
    "frequencyMax",
    "periodMax",
    "periodUnit",
    "dayOfWeek",
    "timeOfDay",
    "when",
    "offset",
    "asNeededBoolean",
    "asNeededCodeableConcept",
    "site",
    "route",
    "doseAndRate",
    "doseQuantity",
    "doseRange",
    "rateQuantity",
    "rateRange",
    "rateRatio",
    "maxDosePerPeriod",
    "maxDosePerAdministration",
    "maxDosePerLifetime",
    "dispenseRequest",
    "numberOfRepeatsAllowed",
    "quantity",
    "expectedSupplyDuration",
    "initialFill",
    "dispenseInterval",
    "substitution",
    "allowedBoolean",
    "allowedCodeableConcept",
    "reason",
    "statusReason",
    "dose",
    "form",
    "ingredient",
    "itemCodeableConcept",
    "isActive",
    "strength",
    "amount",
    "daysSupply",
    "reportedBoolean",
    // immunizations and procedures
    "vaccineCode",
    "primarySource",
    "reportOrigin",
    "isSubpotent",
    "subpotentReason",
    "protocolApplied",
    "targetDisease",
    "doseNumberPositiveInt",
    "seriesDosesPositiveInt",
    "fundingSource",
    "programEligibility",
    "reported",
    "outcome",
    "complication",
    "followUp",
    "usedCode",
    // encounters
    "class",
    "serviceType",
    "length",
    "diagnosis",
    "hospitalization",
    "admitSource",
    "reAdmission",
    "dischargeDisposition",
    "dietPreference",
    "specialCourtesy",
    "specialArrangement",
    "participant",
    "physicalType",
    "classHistory",
    "statusHistory",
    // reports, plans, goals, imaging
    "conclusionCode",
    "activity",
    "kind",
    "outcomeCodeableConcept",
    "productCodeableConcept",
    "dailyAmount",
    "lifecycleStatus",
    "achievementStatus",
    "description",
    "startCodeableConcept",
    "target",
    "measure",
    "detailQuantity",
    "detailRange",
    "detailCodeableConcept",
    "detailInteger",
    "detailBoolean",
    "detailRatio",
    "dueDuration",
    "outcomeCode",
    "modality",
    "numberOfSeries",
    "numberOfInstances",
    "procedureCode",
    "series",
    "number",
    "laterality",
    "instance",
    "sopClass",
    // the patient
    "gender",
    "maritalStatus",
    "multipleBirthBoolean",
    "multipleBirthInteger",
    "communication",
    "preferred",
];

/// Kept as a concept (`CarePlan.description` is a string of free text, `Goal.description` a
/// CodeableConcept): as a string, free text, so it goes.
const FREE_TEXT_IF_STRING: &[&str] = &["description", "summary", "outcome", "reason", "detail"];

/// Instants must be complete in FHIR, so they cannot be cut to a year: they go.
const INSTANTS: &[&str] = &["issued", "lastUpdated", "effectiveInstant", "valueInstant"];

/// Extensions known to be safe (and useful): race, ethnicity and sex assigned at birth.
const KEPT_EXTENSIONS: &[&str] = &[
    "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race",
    "http://hl7.org/fhir/us/core/StructureDefinition/us-core-ethnicity",
    "http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex",
];

/// What each removed element is, in words, for the preview (matched on the element's name).
pub fn category(path: &str) -> &'static str {
    let leaf = path.rsplit('.').next().unwrap_or(path);
    match leaf {
        "name" | "telecom" | "contact" | "photo" | "link" | "deviceName" | "alias" => {
            "Names, phone numbers, email addresses and contacts"
        }
        "line" | "city" | "district" | "postalCode" | "address" | "birthPlace" => {
            "Street, city and the full ZIP code (the state and the first three digits stay)"
        }
        "display" => "Names of doctors, clinics and places",
        "text" | "note" | "comment" | "description" | "valueString" | "conclusion"
        | "patientInstruction" | "title" | "progress" | "occurrenceString" | "valueMarkdown"
        | "scheduledString" | "doseNumberString" | "summary" => {
            "Free text: narratives, notes, comments and descriptions"
        }
        "content" | "presentedForm" | "attachment" | "valueAttachment" | "media" | "data" => {
            "Documents, photos and attachments"
        }
        "serialNumber" | "lotNumber" | "udiCarrier" | "distinctIdentifier" | "modelNumber"
        | "uid" => "Device identifiers, serial and lot numbers",
        "url" | "valueUri" | "valueUrl" | "instantiatesUri" | "instantiatesCanonical" => {
            "Web addresses"
        }
        "issued" | "lastUpdated" | "effectiveInstant" | "valueInstant" | "valueTime" => {
            "Exact times"
        }
        "extension" | "modifierExtension" => "Other details (extensions) not known to be safe",
        "id" => "The record's own ids (replaced by study codes)",
        "meta" | "implicitRules" => "Where and when each entry was stored",
        _ => "Other details not known to be safe",
    }
}

/// Keyed pseudonyms: HMAC-SHA256 under the study's secret.
pub struct Pseudonyms {
    key: Zeroizing<[u8; 32]>,
}

impl Pseudonyms {
    pub fn new(key: Zeroizing<[u8; 32]>) -> Self {
        Pseudonyms { key }
    }

    /// 32 letters `a`–`p` (one per half byte) for (`kind`, `value`), a valid FHIR id. No
    /// digits, so a pseudonym can never spell a ZIP code, a date or a phone number.
    pub fn of(&self, kind: &str, value: &str) -> String {
        // Cannot fail: HMAC takes a key of any length.
        let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(self.key.as_slice()) else {
            return String::new();
        };
        mac.update(kind.as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        let digest = mac.finalize().into_bytes();
        digest
            .iter()
            .take(16)
            .flat_map(|byte| [byte >> 4, byte & 0x0f])
            .map(|nibble| char::from(b'a'.saturating_add(nibble)))
            .collect()
    }
}

/// What was taken out, by element path (`Patient.name`, `Observation.note`, ...).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Removed {
    pub by_path: BTreeMap<String, u64>,
    /// Resources left out whole, by type (no code left, an unknown modifier).
    pub left_out: BTreeMap<String, u64>,
}

impl Removed {
    fn add(&mut self, path: String) {
        let count = self.by_path.entry(path).or_insert(0);
        *count = count.saturating_add(1);
    }
}

/// The rules for one copy: its pseudonyms, the person, the day ages are taken at, and whether
/// intervals are kept.
pub struct Rules<'a> {
    pub pseudonyms: &'a Pseudonyms,
    /// The person's Patient ids (one per source): every reference to one is the person.
    pub patient_ids: BTreeSet<String>,
    /// The person's pseudonym (their Patient's id in the copy).
    pub person: String,
    /// The day ages are taken at when the person is alive (the day of the copy).
    pub today: time::Date,
    /// Keep the days between events: the first event's day, counted from.
    pub intervals: Option<time::Date>,
}

impl Rules<'_> {
    /// The de-identified resource, or `None` when it is not sent (another type, or nothing
    /// worth sending is left); what was taken out is added to `removed`.
    pub fn resource(&self, resource: &Value, removed: &mut Removed) -> Option<Value> {
        let object = resource.as_object()?;
        let resource_type = object.get("resourceType")?.as_str()?;
        let shared = SHARED_TYPES.contains(&resource_type);
        if !TYPES.contains(&resource_type) && !shared {
            return None;
        }
        let mut left_out = |why: &str| {
            let count = removed
                .left_out
                .entry(format!("{resource_type} ({why})"))
                .or_insert(0);
            *count = count.saturating_add(1);
            None
        };
        if object.contains_key("modifierExtension") {
            return left_out("a modifier this copy cannot keep");
        }
        // Counted apart and merged only if the resource is sent, so the preview's "removed"
        // speaks of what leaves.
        let mut here = Removed::default();
        let mut out = self.object(resource_type, object, &mut here);
        out.insert("resourceType".into(), json!(resource_type));
        let id = object.get("id").and_then(Value::as_str);
        let new_id = match (resource_type, id) {
            ("Patient", _) => Some(self.person.clone()),
            (_, Some(id)) => Some(self.pseudonyms.of("id", &format!("{resource_type}/{id}"))),
            _ => None,
        };
        if let Some(new_id) = new_id {
            out.insert("id".into(), json!(new_id));
        }
        if resource_type == "Patient" {
            self.patient_age(object, &mut out, &mut here);
        }
        let missing = required(resource_type)
            .iter()
            .any(|name| !out.keys().any(|k| k == name || is_choice_of(k, name)));
        if missing {
            return left_out("no code left once free text is removed");
        }
        for (path, count) in here.by_path {
            let total = removed.by_path.entry(path).or_insert(0);
            *total = total.saturating_add(count);
        }
        Some(Value::Object(out))
    }

    fn object(
        &self,
        path: &str,
        object: &Map<String, Value>,
        removed: &mut Removed,
    ) -> Map<String, Value> {
        let is_coding = object.contains_key("code") || object.contains_key("system");
        let mut out = Map::new();
        for (key, value) in object {
            let here = || format!("{path}.{key}");
            match key.as_str() {
                "resourceType" | "id" => {}
                "identifier" => {
                    if let Some(kept) = self.identifiers(value) {
                        out.insert(key.clone(), kept);
                    }
                }
                // An imaging series' or instance's DICOM UID (required): a pseudonym too.
                "uid" => match value.as_str() {
                    Some(uid) => {
                        out.insert(key.clone(), json!(self.pseudonyms.of("uid", uid)));
                    }
                    None => removed.add(here()),
                },
                "reference" => match value.as_str().and_then(|r| self.reference(r)) {
                    Some(kept) => {
                        out.insert(key.clone(), json!(kept));
                    }
                    None => removed.add(here()),
                },
                "display" if is_coding && value.is_string() => {
                    out.insert(key.clone(), value.clone());
                }
                "extension" => {
                    if let Some(kept) = self.extensions(&here(), value, removed) {
                        out.insert(key.clone(), kept);
                    }
                }
                "address" => {
                    if let Some(kept) = self.addresses(&here(), value, removed) {
                        out.insert(key.clone(), kept);
                    }
                }
                "contained" => {
                    let kept: Vec<Value> = value
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|r| self.contained(r, removed))
                        .collect();
                    if !kept.is_empty() {
                        out.insert(key.clone(), Value::Array(kept));
                    }
                }
                k if k.ends_with("Age") && k.len() > 3 => {
                    if let Some(kept) = age_quantity(value) {
                        out.insert(key.clone(), kept);
                    }
                }
                k if FREE_TEXT_IF_STRING.contains(&k) && value.is_string() => removed.add(here()),
                k if KEPT.contains(&k) && !INSTANTS.contains(&k) => {
                    let path = here();
                    if let Some(date) = value.as_str().and_then(DayOrYear::of) {
                        out.insert(key.clone(), json!(date.year));
                        // Not the Patient's: days from birth would be an exact age.
                        let days = (!path.starts_with("Patient."))
                            .then(|| self.days_since_first(&date))
                            .flatten();
                        if let Some(days) = days {
                            out.insert(
                                format!("_{key}"),
                                json!({"extension": [{"url": DAYS_URL, "valueInteger": days}]}),
                            );
                        }
                    } else if let Some(kept) = self.value(&path, value, removed) {
                        out.insert(key.clone(), kept);
                    }
                }
                _ => removed.add(here()),
            }
        }
        out
    }

    fn value(&self, path: &str, value: &Value, removed: &mut Removed) -> Option<Value> {
        match value {
            Value::Object(object) => {
                let kept = self.object(path, object, removed);
                (!kept.is_empty()).then_some(Value::Object(kept))
            }
            Value::Array(items) => {
                let kept: Vec<Value> = items
                    .iter()
                    .filter_map(|item| match item.as_str().and_then(DayOrYear::of) {
                        Some(date) => Some(json!(date.year)),
                        None => self.value(path, item, removed),
                    })
                    .collect();
                (!kept.is_empty()).then_some(Value::Array(kept))
            }
            Value::Null => None,
            other => Some(other.clone()),
        }
    }

    fn contained(&self, resource: &Value, removed: &mut Removed) -> Option<Value> {
        let mut kept = self.resource(resource, removed)?;
        let local = resource.get("id").and_then(Value::as_str)?;
        if let Some(object) = kept.as_object_mut() {
            object.insert("id".into(), json!(self.pseudonyms.of("local", local)));
        }
        Some(kept)
    }

    /// Each identifier becomes its pseudonym (same system and value, same pseudonym).
    fn identifiers(&self, value: &Value) -> Option<Value> {
        let one = |identifier: &Value| {
            let system = identifier
                .get("system")
                .and_then(Value::as_str)
                .unwrap_or("");
            let value = identifier.get("value").and_then(Value::as_str)?;
            Some(json!({
                "system": PSEUDONYM_SYSTEM,
                "value": self.pseudonyms.of("identifier", &format!("{system}|{value}")),
            }))
        };
        match value {
            Value::Array(list) => {
                let kept: Vec<Value> = list.iter().filter_map(one).collect();
                (!kept.is_empty()).then_some(Value::Array(kept))
            }
            single => one(single),
        }
    }

    /// `Type/id` (relative, absolute or versioned) to a pseudonymous `Type/id`; a contained
    /// `#id` to its pseudonym; anything else (a `urn:uuid:` left unresolved, a search) goes.
    fn reference(&self, reference: &str) -> Option<String> {
        if let Some(local) = reference.strip_prefix('#') {
            return Some(format!("#{}", self.pseudonyms.of("local", local)));
        }
        if reference.starts_with("urn:") || reference.contains('?') {
            return None;
        }
        let mut parts: Vec<&str> = reference.split('/').filter(|p| !p.is_empty()).collect();
        if let Some(at) = parts.iter().position(|p| *p == "_history") {
            parts.truncate(at);
        }
        let (resource_type, id) = match parts.as_slice() {
            [.., t, id] => (*t, *id),
            _ => return None,
        };
        if !resource_type.starts_with(|c: char| c.is_ascii_uppercase()) {
            return None;
        }
        if resource_type == "Patient" && self.patient_ids.contains(id) {
            return Some(format!("Patient/{}", self.person));
        }
        Some(format!(
            "{resource_type}/{}",
            self.pseudonyms.of("id", &format!("{resource_type}/{id}"))
        ))
    }

    fn extensions(&self, path: &str, value: &Value, removed: &mut Removed) -> Option<Value> {
        let kept: Vec<Value> = value
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|extension| {
                let url = extension.get("url").and_then(Value::as_str)?;
                if KEPT_EXTENSIONS.contains(&url) {
                    Some(safe_extension(extension))
                } else {
                    removed.add(format!("{path}({})", short_url(url)));
                    None
                }
            })
            .collect();
        (!kept.is_empty()).then_some(Value::Array(kept))
    }

    /// An address keeps its use, type, state, country and a ZIP code's first three digits.
    fn addresses(&self, path: &str, value: &Value, removed: &mut Removed) -> Option<Value> {
        let one = |address: &Value, removed: &mut Removed| -> Option<Value> {
            let object = address.as_object()?;
            let mut out = Map::new();
            let country = object.get("country").and_then(Value::as_str);
            for (key, value) in object {
                match key.as_str() {
                    "use" | "type" | "state" | "country" if value.is_string() => {
                        out.insert(key.clone(), value.clone());
                    }
                    "postalCode" => match value.as_str().and_then(|zip| zip3(zip, country)) {
                        Some(area) => {
                            out.insert(key.clone(), json!(area));
                        }
                        None => removed.add(format!("{path}.postalCode")),
                    },
                    other => removed.add(format!("{path}.{other}")),
                }
            }
            (!out.is_empty()).then_some(Value::Object(out))
        };
        match value {
            Value::Array(list) => {
                let kept: Vec<Value> = list.iter().filter_map(|a| one(a, removed)).collect();
                (!kept.is_empty()).then_some(Value::Array(kept))
            }
            single => one(single, removed),
        }
    }

    /// A Patient over 89 (at the copy's day, or at death) keeps no birth year: one age group.
    fn patient_age(
        &self,
        patient: &Map<String, Value>,
        out: &mut Map<String, Value>,
        removed: &mut Removed,
    ) {
        let Some(birth) = patient
            .get("birthDate")
            .and_then(Value::as_str)
            .and_then(DayOrYear::of_any)
        else {
            return;
        };
        let at = patient
            .get("deceasedDateTime")
            .and_then(Value::as_str)
            .and_then(DayOrYear::of_any)
            .and_then(|d| d.day)
            .unwrap_or(self.today);
        if !birth.may_be_over_89(at) {
            return;
        }
        out.remove("birthDate");
        out.remove("_birthDate");
        removed.add("Patient.birthDate (age over 89)".into());
        let extensions = out
            .entry("extension")
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Some(list) = extensions.as_array_mut() {
            list.push(json!({"url": AGE_GROUP_URL, "valueString": NINETY_OR_OLDER}));
        }
    }

    fn days_since_first(&self, date: &DayOrYear) -> Option<i64> {
        let first = self.intervals?;
        Some((date.day? - first).whole_days())
    }
}

/// An allowed extension, its nested extensions and coded or short values only.
fn safe_extension(extension: &Value) -> Value {
    let mut out = Map::new();
    if let Some(object) = extension.as_object() {
        for (key, value) in object {
            match key.as_str() {
                "url" | "valueCoding" | "valueCode" | "valueCodeableConcept" | "valueBoolean" => {
                    out.insert(key.clone(), value.clone());
                }
                // The race and ethnicity extensions' `text`: the category's name.
                "valueString" => {
                    out.insert(key.clone(), value.clone());
                }
                "extension" => {
                    let nested: Vec<Value> = value
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(safe_extension)
                        .collect();
                    out.insert(key.clone(), Value::Array(nested));
                }
                _ => {}
            }
        }
    }
    Value::Object(out)
}

/// The last segment of an extension's URL, for the list of what was removed.
fn short_url(url: &str) -> &str {
    url.rsplit('/').next().unwrap_or(url)
}

/// `medicationCodeableConcept` is a choice of `medication`.
fn is_choice_of(key: &str, name: &str) -> bool {
    key.strip_prefix(name)
        .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_uppercase()))
}

/// The first three digits of a US ZIP code, `000` for the restricted areas; `None` for
/// anything else (a postal code of another country cannot be judged, so it goes).
pub fn zip3(zip: &str, country: Option<&str>) -> Option<String> {
    let us = country.is_none_or(|c| {
        matches!(
            c.trim().to_ascii_uppercase().as_str(),
            "US" | "USA" | "UNITED STATES" | "UNITED STATES OF AMERICA"
        )
    });
    let zip = zip.trim();
    let digits: Vec<char> = zip.chars().filter(char::is_ascii_digit).collect();
    let shaped = zip.chars().all(|c| c.is_ascii_digit() || c == '-')
        && (digits.len() == 5 || digits.len() == 9);
    if !us || !shaped {
        return None;
    }
    let area: String = digits.iter().take(3).collect();
    Some(if RESTRICTED_ZIP3.contains(&area.as_str()) {
        "000".into()
    } else {
        area
    })
}

/// An `Age` over 89 becomes "90 or older" (`>=` 90); a younger age stays.
fn age_quantity(value: &Value) -> Option<Value> {
    let object = value.as_object()?;
    let years = object.get("value").and_then(Value::as_f64)?;
    let unit_is_years = ["unit", "code"].iter().any(|k| {
        object
            .get(*k)
            .and_then(Value::as_str)
            .is_some_and(|u| matches!(u, "a" | "yr" | "year" | "years" | "Years"))
    });
    let mut out = Map::new();
    for key in ["unit", "system", "code"] {
        if let Some(v) = object.get(key).filter(|v| v.is_string()) {
            out.insert(key.into(), v.clone());
        }
    }
    if unit_is_years && years >= 90.0 {
        out.insert("value".into(), json!(90));
        out.insert("comparator".into(), json!(">="));
    } else {
        out.insert("value".into(), object.get("value")?.clone());
        if let Some(c) = object.get("comparator") {
            out.insert("comparator".into(), c.clone());
        }
    }
    Some(Value::Object(out))
}

/// A FHIR date or dateTime seen as its year (always) and its day (when it has one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayOrYear {
    pub year: String,
    pub day: Option<time::Date>,
}

impl DayOrYear {
    /// A date with more than a year (`YYYY-MM…`): the ones to cut. A bare year is left alone.
    pub fn of(text: &str) -> Option<DayOrYear> {
        let mut chars = text.chars();
        let year: String = chars.by_ref().take(4).collect();
        let dash = chars.next();
        let month: String = chars.by_ref().take(2).collect();
        let shaped = year.len() == 4
            && year.chars().all(|c| c.is_ascii_digit())
            && dash == Some('-')
            && month.len() == 2
            && month.chars().all(|c| c.is_ascii_digit());
        if !shaped {
            return None;
        }
        let day = text.get(..10).and_then(|d| {
            time::Date::parse(d, time::macros::format_description!("[year]-[month]-[day]")).ok()
        });
        Some(DayOrYear { year, day })
    }

    /// [`DayOrYear::of`], also taking a bare year.
    fn of_any(text: &str) -> Option<DayOrYear> {
        DayOrYear::of(text).or_else(|| {
            let year = text
                .get(..4)
                .filter(|y| y.chars().all(|c| c.is_ascii_digit()))?;
            (text.len() == 4).then(|| DayOrYear {
                year: year.to_owned(),
                day: None,
            })
        })
    }

    /// Whether someone born on this date may be 90 or older on `at` (with the year only,
    /// the oldest they can be).
    fn may_be_over_89(&self, at: time::Date) -> bool {
        let Ok(born) = self.year.parse::<i32>() else {
            return true;
        };
        let mut age = at.year().saturating_sub(born);
        if let Some(day) = self.day
            && (at.month() as u8, at.day()) < (day.month() as u8, day.day())
        {
            age = age.saturating_sub(1);
        }
        age >= 90
    }
}

/// The first day of the events in `resources` (dates of day precision), for intervals. The
/// Patient's dates do not count: days from birth would be an exact age.
pub fn first_event(resources: &[&Value]) -> Option<time::Date> {
    fn walk(value: &Value, first: &mut Option<time::Date>) {
        match value {
            Value::String(text) => {
                if let Some(day) = DayOrYear::of(text).and_then(|d| d.day) {
                    *first = Some(first.map_or(day, |f| f.min(day)));
                }
            }
            Value::Array(items) => items.iter().for_each(|i| walk(i, first)),
            Value::Object(object) => object
                .iter()
                .filter(|(k, _)| !INSTANTS.contains(&k.as_str()) && k.as_str() != "meta")
                .for_each(|(_, v)| walk(v, first)),
            _ => {}
        }
    }
    let mut first = None;
    for resource in resources {
        if resource.get("resourceType").and_then(Value::as_str) != Some("Patient") {
            walk(resource, &mut first);
        }
    }
    first
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(pseudonyms: &Pseudonyms, intervals: Option<time::Date>) -> Rules<'_> {
        Rules {
            pseudonyms,
            patient_ids: ["p1".to_owned(), "p2".to_owned()].into(),
            person: pseudonyms.of("person", "1"),
            today: time::macros::date!(2026 - 12 - 02),
            intervals,
        }
    }

    fn key(byte: u8) -> Pseudonyms {
        Pseudonyms::new(Zeroizing::new([byte; 32]))
    }

    #[test]
    fn a_patient_keeps_gender_year_state_and_zip3_only() {
        let p = key(1);
        let patient = json!({
            "resourceType": "Patient", "id": "p1",
            "name": [{"family": "Smith", "given": ["Ann"]}],
            "telecom": [{"system": "phone", "value": "555-1234"}],
            "gender": "female", "birthDate": "1970-04-05",
            "address": [{"line": ["1 Main St"], "city": "Boston", "state": "MA",
                         "postalCode": "02138", "country": "US",
                         "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/geolocation"}]}],
            "identifier": [{"system": "http://hospital/mrn", "value": "MRN-77"}],
            "extension": [
                {"url": "http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex", "valueCode": "F"},
                {"url": "http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName", "valueString": "Jones"}
            ],
            "text": {"status": "generated", "div": "<div>Ann Smith</div>"}
        });
        let mut removed = Removed::default();
        let out = rules(&p, None).resource(&patient, &mut removed).unwrap();
        let text = out.to_string();
        for gone in [
            "Smith",
            "Ann",
            "555-1234",
            "1 Main St",
            "Boston",
            "02138",
            "MRN-77",
            "Jones",
            "1970-04-05",
        ] {
            assert!(!text.contains(gone), "{gone} left in {text}");
        }
        assert_eq!(out["birthDate"], "1970");
        assert_eq!(out["gender"], "female");
        assert_eq!(out["address"][0]["postalCode"], "021");
        assert_eq!(out["address"][0]["state"], "MA");
        assert_eq!(out["id"], p.of("person", "1"));
        assert_eq!(out["identifier"][0]["system"], PSEUDONYM_SYSTEM);
        assert_eq!(out["extension"].as_array().unwrap().len(), 1);
        assert!(removed.by_path.contains_key("Patient.name"));
        assert!(removed.by_path.contains_key("Patient.address.city"));
        assert!(removed.by_path.contains_key("Patient.text"));
    }

    #[test]
    fn restricted_zip_areas_become_000_and_foreign_codes_go() {
        assert_eq!(zip3("03601", None).as_deref(), Some("000"));
        assert_eq!(zip3("89301-1234", Some("USA")).as_deref(), Some("000"));
        assert_eq!(zip3("02138", Some("US")).as_deref(), Some("021"));
        assert_eq!(zip3("SW1A 1AA", Some("GB")), None);
        assert_eq!(zip3("0213", None), None);
        for area in RESTRICTED_ZIP3 {
            assert_eq!(zip3(&format!("{area}99"), None).as_deref(), Some("000"));
        }
    }

    #[test]
    fn ages_over_89_are_one_group() {
        let p = key(1);
        let r = rules(&p, None);
        let old = json!({"resourceType": "Patient", "id": "p1", "birthDate": "1936-12-01"});
        let out = r.resource(&old, &mut Removed::default()).unwrap();
        assert!(out.get("birthDate").is_none(), "{out}");
        assert_eq!(out["extension"][0]["valueString"], NINETY_OR_OLDER);
        // 89 until tomorrow: the year stays.
        let young = json!({"resourceType": "Patient", "id": "p1", "birthDate": "1936-12-03"});
        let out = r.resource(&young, &mut Removed::default()).unwrap();
        assert_eq!(out["birthDate"], "1936");
        // Dead at 95 in 2000: the age at death counts.
        let dead = json!({"resourceType": "Patient", "id": "p1", "birthDate": "1905-01-01",
                          "deceasedDateTime": "2000-06-01T00:00:00Z"});
        let out = r.resource(&dead, &mut Removed::default()).unwrap();
        assert!(out.get("birthDate").is_none());
        assert_eq!(out["deceasedDateTime"], "2000");
        let onset = json!({"resourceType": "Condition", "id": "c", "subject": {"reference": "Patient/p1"},
                           "code": {"coding": [{"system": "http://snomed.info/sct", "code": "1"}]},
                           "onsetAge": {"value": 93, "unit": "years", "system": "http://unitsofmeasure.org", "code": "a"}});
        let out = r.resource(&onset, &mut Removed::default()).unwrap();
        assert_eq!(out["onsetAge"]["value"], 90);
        assert_eq!(out["onsetAge"]["comparator"], ">=");
    }

    #[test]
    fn an_observation_keeps_codes_values_units_and_ranges_but_no_text_dates_or_names() {
        let p = key(1);
        let obs = json!({
            "resourceType": "Observation", "id": "o1", "status": "final",
            "meta": {"lastUpdated": "2020-01-01T00:00:00Z", "source": "https://portal/x"},
            "code": {"coding": [{"system": "http://loinc.org", "code": "2345-7", "display": "Glucose"}], "text": "glucose typed by Dr. Who"},
            "subject": {"reference": "https://portal.example/fhir/Patient/p2", "display": "Ann Smith"},
            "performer": [{"display": "Dr. Who"}],
            "effectiveDateTime": "2019-05-03T10:00:00-05:00",
            "issued": "2019-05-03T12:00:00Z",
            "valueQuantity": {"value": 105, "unit": "mg/dL", "system": "http://unitsofmeasure.org", "code": "mg/dL"},
            "referenceRange": [{"low": {"value": 70, "unit": "mg/dL"}, "high": {"value": 99, "unit": "mg/dL"}, "text": "70-99"}],
            "interpretation": [{"coding": [{"code": "H"}]}],
            "note": [{"text": "patient fasting, lives at 1 Main St"}]
        });
        let first = time::macros::date!(2019 - 05 - 01);
        let mut removed = Removed::default();
        let out = rules(&p, Some(first)).resource(&obs, &mut removed).unwrap();
        let text = out.to_string();
        for gone in [
            "Dr. Who",
            "Ann Smith",
            "Main St",
            "portal",
            "05-03",
            "70-99",
        ] {
            assert!(!text.contains(gone), "{gone} left in {text}");
        }
        assert_eq!(
            out["subject"]["reference"],
            format!("Patient/{}", p.of("person", "1"))
        );
        assert_eq!(out["code"]["coding"][0]["display"], "Glucose");
        assert_eq!(out["valueQuantity"]["value"], 105);
        assert_eq!(out["referenceRange"][0]["high"]["value"], 99);
        assert_eq!(out["effectiveDateTime"], "2019");
        assert_eq!(out["_effectiveDateTime"]["extension"][0]["valueInteger"], 2);
        assert!(out.get("issued").is_none() && out.get("performer").is_none());
        assert!(removed.by_path.contains_key("Observation.note"));
        // Without intervals, the year only.
        let out = rules(&p, None)
            .resource(&obs, &mut Removed::default())
            .unwrap();
        assert!(out.get("_effectiveDateTime").is_none());
    }

    #[test]
    fn pseudonyms_are_stable_within_a_study_and_differ_between_studies() {
        let (a, b) = (key(1), key(2));
        let cond = json!({"resourceType": "Condition", "id": "c1", "subject": {"reference": "Patient/p1"},
                          "code": {"coding": [{"system": "s", "code": "1"}]},
                          "identifier": [{"system": "x", "value": "42"}]});
        let one = rules(&a, None)
            .resource(&cond, &mut Removed::default())
            .unwrap();
        let again = rules(&a, None)
            .resource(&cond, &mut Removed::default())
            .unwrap();
        let other = rules(&b, None)
            .resource(&cond, &mut Removed::default())
            .unwrap();
        assert_eq!(one, again);
        assert_ne!(one["id"], other["id"]);
        assert_ne!(one["identifier"], other["identifier"]);
        assert_ne!(one["subject"], other["subject"]);
    }

    #[test]
    fn a_resource_left_without_its_code_is_left_out_and_counted() {
        let p = key(1);
        let goal = json!({"resourceType": "Goal", "id": "g", "lifecycleStatus": "active",
                          "description": {"text": "Lose weight before Ann's wedding"},
                          "subject": {"reference": "Patient/p1"}});
        let mut removed = Removed::default();
        assert!(rules(&p, None).resource(&goal, &mut removed).is_none());
        assert_eq!(removed.left_out.values().sum::<u64>(), 1);
        assert!(removed.by_path.is_empty(), "only what leaves is counted");
        let doc = json!({"resourceType": "DocumentReference", "id": "d"});
        assert!(rules(&p, None).resource(&doc, &mut removed).is_none());
    }

    #[test]
    fn dates_are_recognised_without_slicing_text() {
        assert_eq!(DayOrYear::of("2024-01-0é1").unwrap().year, "2024");
        assert_eq!(DayOrYear::of("2024-01-0é1").unwrap().day, None);
        assert!(DayOrYear::of("2024").is_none());
        assert!(DayOrYear::of("é").is_none());
        assert!(DayOrYear::of("12345-67").is_none());
        assert_eq!(
            DayOrYear::of("2024-02-29T23:59:59+14:00").unwrap().day,
            Some(time::macros::date!(2024 - 02 - 29))
        );
    }
}
