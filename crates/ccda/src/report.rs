//! What converting one document structured, section by section.

use serde::Serialize;

/// The kinds of section the converter knows, found by any of their templateId roots or LOINC code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SectionKind {
    Problems,
    Allergies,
    Medications,
    Immunizations,
    Results,
    VitalSigns,
    Procedures,
    Encounters,
    SocialHistory,
    PlanOfTreatment,
    Goals,
    Notes,
    /// About relatives, not the patient: kept as narrative only (never as the patient's entries).
    FamilyHistory,
    /// Any other section (functional status, advance directives, assessments, …): its
    /// observations become Observations; everything else is kept as narrative.
    Other,
}

impl SectionKind {
    /// The section's name as a patient reads it in a report line.
    pub fn label(self) -> &'static str {
        match self {
            SectionKind::Problems => "Problems",
            SectionKind::Allergies => "Allergies",
            SectionKind::Medications => "Medications",
            SectionKind::Immunizations => "Immunizations",
            SectionKind::Results => "Results",
            SectionKind::VitalSigns => "Vital signs",
            SectionKind::Procedures => "Procedures",
            SectionKind::Encounters => "Encounters",
            SectionKind::SocialHistory => "Social history",
            SectionKind::PlanOfTreatment => "Plan of treatment",
            SectionKind::Goals => "Goals",
            SectionKind::Notes => "Notes",
            SectionKind::FamilyHistory => "Family history",
            SectionKind::Other => "Other sections",
        }
    }
}

/// One section of the document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SectionReport {
    pub kind: SectionKind,
    /// The section's own title (document text: shown to the patient, never logged).
    pub title: String,
    /// `<entry>` elements in the section.
    pub entries: u32,
    /// Entries that became at least one resource.
    pub structured: u32,
    /// Entries that could not be structured (kept in the document's narrative only).
    pub text_only: u32,
    /// Resources made from the section's entries.
    pub resources: u32,
}

/// What was structured from one document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    pub sections: Vec<SectionReport>,
    /// Timestamps with a time but no time zone, kept at day precision.
    pub times_without_zone: u32,
    /// Narrative references (`#id`) that point at nothing in the document.
    pub missing_text_references: u32,
    /// Values that could not be read (a malformed number or date), left out.
    pub unreadable_values: u32,
}

impl Report {
    /// Per-kind totals, in the order of [`SectionKind`]: (kind, structured, text only). Sections
    /// of one kind (a document may have two results sections) are summed.
    pub fn totals(&self) -> Vec<(SectionKind, u32, u32)> {
        let mut totals: std::collections::BTreeMap<SectionKind, (u32, u32)> = Default::default();
        for s in &self.sections {
            let t = totals.entry(s.kind).or_default();
            t.0 += s.structured;
            t.1 += s.text_only;
        }
        totals.into_iter().map(|(k, (s, t))| (k, s, t)).collect()
    }

    /// One line for a person: "Problems 12, Medications 14 (2 kept as text only), …".
    pub fn summary_line(&self) -> String {
        let parts: Vec<String> = self
            .totals()
            .into_iter()
            .filter(|(kind, s, t)| *kind != SectionKind::Other || s + t > 0)
            .map(|(kind, s, t)| match (kind, t) {
                (SectionKind::Other | SectionKind::FamilyHistory, _) if s == 0 => {
                    format!("{} kept as text", kind.label())
                }
                (_, 0) if s == 0 => format!("{} (text only)", kind.label()),
                (_, 0) => format!("{} {s}", kind.label()),
                _ => format!("{} {s} ({t} kept as text only)", kind.label()),
            })
            .collect();
        if parts.is_empty() {
            return "no structured sections: kept as a document".to_owned();
        }
        parts.join(", ")
    }
}
