//! Sections: which kind each is (by any known templateId root, else by its LOINC code), and
//! their entries converted.

use roxmltree::Node;

use crate::document::{Ctx, Out};
use crate::entries;
use crate::report::{SectionKind, SectionReport};
use crate::xml::{self, attr, child, children};

/// Section templateId roots: C-CDA R2.1/R1.1 (entries required and entries optional), CCD 1.0,
/// IHE PCC and HITSP C32.
const TEMPLATES: &[(SectionKind, &[&str])] = &[
    (
        SectionKind::Problems,
        &[
            "2.16.840.1.113883.10.20.22.2.5",
            "2.16.840.1.113883.10.20.22.2.5.1",
            "2.16.840.1.113883.10.20.1.11",
            "1.3.6.1.4.1.19376.1.5.3.1.3.6",
            "2.16.840.1.113883.3.88.11.83.103",
            "2.16.840.1.113883.10.20.22.2.58",
        ],
    ),
    (
        SectionKind::Allergies,
        &[
            "2.16.840.1.113883.10.20.22.2.6",
            "2.16.840.1.113883.10.20.22.2.6.1",
            "2.16.840.1.113883.10.20.1.2",
            "1.3.6.1.4.1.19376.1.5.3.1.3.13",
            "2.16.840.1.113883.3.88.11.83.102",
        ],
    ),
    (
        SectionKind::Medications,
        &[
            "2.16.840.1.113883.10.20.22.2.1",
            "2.16.840.1.113883.10.20.22.2.1.1",
            "2.16.840.1.113883.10.20.1.8",
            "1.3.6.1.4.1.19376.1.5.3.1.3.19",
            "2.16.840.1.113883.3.88.11.83.112",
            "2.16.840.1.113883.10.20.22.2.38",
            "2.16.840.1.113883.10.20.22.2.11",
            "2.16.840.1.113883.10.20.22.2.11.1",
        ],
    ),
    (
        SectionKind::Immunizations,
        &[
            "2.16.840.1.113883.10.20.22.2.2",
            "2.16.840.1.113883.10.20.22.2.2.1",
            "2.16.840.1.113883.10.20.1.6",
            "1.3.6.1.4.1.19376.1.5.3.1.3.23",
            "2.16.840.1.113883.3.88.11.83.117",
        ],
    ),
    (
        SectionKind::Results,
        &[
            "2.16.840.1.113883.10.20.22.2.3",
            "2.16.840.1.113883.10.20.22.2.3.1",
            "2.16.840.1.113883.10.20.1.14",
            "1.3.6.1.4.1.19376.1.3.3.2.1",
            "2.16.840.1.113883.3.88.11.83.122",
        ],
    ),
    (
        SectionKind::VitalSigns,
        &[
            "2.16.840.1.113883.10.20.22.2.4",
            "2.16.840.1.113883.10.20.22.2.4.1",
            "2.16.840.1.113883.10.20.1.16",
            "1.3.6.1.4.1.19376.1.5.3.1.3.25",
            "1.3.6.1.4.1.19376.1.5.3.1.1.5.3.2",
            "2.16.840.1.113883.3.88.11.83.119",
        ],
    ),
    (
        SectionKind::Procedures,
        &[
            "2.16.840.1.113883.10.20.22.2.7",
            "2.16.840.1.113883.10.20.22.2.7.1",
            "2.16.840.1.113883.10.20.1.12",
            "1.3.6.1.4.1.19376.1.5.3.1.3.12",
            "2.16.840.1.113883.3.88.11.83.108",
        ],
    ),
    (
        SectionKind::Encounters,
        &[
            "2.16.840.1.113883.10.20.22.2.22",
            "2.16.840.1.113883.10.20.22.2.22.1",
            "2.16.840.1.113883.10.20.1.3",
            "1.3.6.1.4.1.19376.1.5.3.1.1.5.3.3",
            "2.16.840.1.113883.3.88.11.83.127",
        ],
    ),
    (
        SectionKind::SocialHistory,
        &[
            "2.16.840.1.113883.10.20.22.2.17",
            "2.16.840.1.113883.10.20.1.15",
            "1.3.6.1.4.1.19376.1.5.3.1.3.16",
            "2.16.840.1.113883.3.88.11.83.126",
        ],
    ),
    (
        SectionKind::PlanOfTreatment,
        &[
            "2.16.840.1.113883.10.20.22.2.10",
            "2.16.840.1.113883.10.20.1.10",
            "1.3.6.1.4.1.19376.1.5.3.1.3.31",
            "2.16.840.1.113883.10.20.21.2.3",
        ],
    ),
    (SectionKind::Goals, &["2.16.840.1.113883.10.20.22.2.60"]),
    (SectionKind::Notes, &["2.16.840.1.113883.10.20.22.2.65"]),
    (
        SectionKind::FamilyHistory,
        &[
            "2.16.840.1.113883.10.20.22.2.15",
            "2.16.840.1.113883.10.20.1.4",
            "1.3.6.1.4.1.19376.1.5.3.1.3.14",
            "2.16.840.1.113883.3.88.11.83.125",
        ],
    ),
];

/// Section LOINC codes, for sections whose templateIds are missing or unknown.
const CODES: &[(SectionKind, &[&str])] = &[
    (
        SectionKind::Problems,
        &["11450-4", "75310-3", "11348-0", "11535-2", "46241-6"],
    ),
    (SectionKind::Allergies, &["48765-2"]),
    (
        SectionKind::Medications,
        &["10160-0", "29549-3", "10183-2", "42346-7"],
    ),
    (SectionKind::Immunizations, &["11369-6"]),
    (SectionKind::Results, &["30954-2"]),
    (SectionKind::VitalSigns, &["8716-3"]),
    (SectionKind::Procedures, &["47519-4"]),
    (SectionKind::Encounters, &["46240-8"]),
    (SectionKind::SocialHistory, &["29762-2"]),
    (SectionKind::PlanOfTreatment, &["18776-5"]),
    (SectionKind::Goals, &["61146-7"]),
    (SectionKind::Notes, &["11488-4", "34109-9"]),
    (SectionKind::FamilyHistory, &["10157-6"]),
];

/// The kind of a section: any known templateId root first, else its LOINC code.
pub fn kind(section: Node<'_, '_>) -> SectionKind {
    let by_template = xml::template_roots(section).find_map(|root| {
        TEMPLATES
            .iter()
            .find(|(_, roots)| roots.contains(&root))
            .map(|(k, _)| *k)
    });
    by_template
        .or_else(|| {
            let code = attr(child(section, "code")?, "code")?;
            CODES
                .iter()
                .find(|(_, codes)| codes.contains(&code))
                .map(|(k, _)| *k)
        })
        .unwrap_or(SectionKind::Other)
}

/// Converts a section's entries and those of its nested sections (walked with a stack, not
/// recursion, so a hostile nesting depth cannot exhaust the stack), adding to `reports`.
pub(crate) fn convert(
    ctx: &Ctx<'_, '_>,
    out: &mut Out,
    section: Node<'_, '_>,
    reports: &mut Vec<SectionReport>,
) {
    let mut pending = vec![section];
    while let Some(section) = pending.pop() {
        reports.push(convert_one(ctx, out, section));
        let nested: Vec<Node<'_, '_>> = children(section, "component")
            .filter_map(|c| child(c, "section"))
            .collect();
        pending.extend(nested.into_iter().rev());
    }
}

fn convert_one(ctx: &Ctx<'_, '_>, out: &mut Out, section: Node<'_, '_>) -> SectionReport {
    let kind = kind(section);
    let mut report = SectionReport {
        kind,
        title: xml::text_of(child(section, "title")).unwrap_or_default(),
        entries: 0,
        structured: 0,
        text_only: 0,
        resources: 0,
    };
    for entry in children(section, "entry") {
        report.entries = report.entries.saturating_add(1);
        let made = entries::convert(ctx, out, kind, entry);
        if made > 0 {
            report.structured = report.structured.saturating_add(1);
            report.resources = report.resources.saturating_add(made);
        } else {
            report.text_only = report.text_only.saturating_add(1);
        }
    }
    report
}
