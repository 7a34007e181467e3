//! `export pdf|ips|all|research` and `share` (a summary, a PDF, or with `--deidentify` a
//! research copy).

use std::path::Path;

use ownrecord_core::export::research::{self, ResearchPreview, ResearchRequest};
use ownrecord_core::export::{self, Section, Selection, ShareRequest};
use serde::Serialize;

use crate::args::{ExportCommand, ResearchShareArgs, SelectionArgs};
use crate::commands::{Failure, Output, open, reading_person};

pub fn selection(args: &SelectionArgs) -> Result<Selection, Failure> {
    let mut selection = Selection {
        person: args.person,
        ..Selection::default()
    };
    if let Some(list) = &args.sections {
        selection.sections = Section::parse_list(list)?;
    }
    if let Some(since) = &args.since {
        selection.since = Some(export::parse_date(since)?);
    }
    Ok(selection)
}

/// The selection with its person settled (the only one, or the one chosen).
fn chosen(v: &ownrecord_core::Vault, args: &SelectionArgs) -> Result<Selection, Failure> {
    let mut s = selection(args)?;
    s.person = Some(reading_person(v, s.person)?);
    Ok(s)
}

pub fn export(dir: &Path, command: ExportCommand, out: &Output) -> Result<(), Failure> {
    let mut v = open(dir)?;
    match command {
        ExportCommand::Pdf {
            out: file,
            selection: s,
        } => {
            let selection = chosen(&v, &s)?;
            let written = export::export_pdf(&mut v, &selection, &file)?;
            out.print(&written, || {
                format!(
                    "Wrote your PDF summary to {} ({} KB). It is a plain file: keep it safe.\n",
                    written.path.display(),
                    written.bytes.div_ceil(1024)
                )
            });
        }
        ExportCommand::Ips {
            out: file,
            selection: s,
        } => {
            let selection = chosen(&v, &s)?;
            let written = export::export_ips(&mut v, &selection, &file)?;
            out.print(&written, || {
                format!(
                    "Wrote your International Patient Summary (FHIR JSON) to {}. It is a plain file: keep it safe.\n",
                    written.path.display()
                )
            });
        }
        ExportCommand::All {
            out: folder,
            person,
        } => {
            let report = export::full::export_all(&mut v, &folder, person)?;
            out.print(&report, || {
                format!(
                    "Exported everything to {}: {} resources, {} earlier versions, {} attachments, the audit log and a manifest. These are plain files: keep them safe.\n",
                    report.dir.display(),
                    report.resources,
                    report.earlier_versions,
                    report.attachments
                )
            });
        }
        ExportCommand::Research {
            study,
            to,
            out: folder,
            person,
            keep_intervals,
            preview,
        } => {
            let request = ResearchRequest {
                study,
                recipient: to,
                person: Some(reading_person(&v, person)?),
                keep_intervals,
            };
            let copy = research::prepare(&v, &request)?;
            let folder = match folder {
                Some(folder) if !preview => folder,
                _ => {
                    out.print(&ResearchReport::of(&copy.preview, None), || {
                        preview_text(&copy.preview)
                    });
                    return Ok(());
                }
            };
            // Running the command (without --preview) is the patient's confirmation of the
            // statement the preview shows, as with the other exports.
            let written = research::export(&mut v, &copy, &folder, &copy.preview.consent_sha256)?;
            let p = &copy.preview;
            out.print(
                &ResearchReport::of(p, Some(&written)),
                || {
                    let types: Vec<String> = p
                        .counts
                        .iter()
                        .map(|c| format!("{} {}", c.resource_type, c.count))
                        .collect();
                    format!(
                        "Wrote a de-identified research copy for the study \"{}\" to {}: {} entries ({}) in {} files, with manifest.json. It is share {} for {}, in your disclosure log with the consent statement you confirmed:\n\n{}\n\nRemoved: {}.\nThese are plain files: keep them safe until you give them. To stop sending updates to this study: ownrecord studies stop {}\n",
                        p.study,
                        written.dir.display(),
                        p.resources,
                        types.join(", "),
                        written.files.len(),
                        written.id,
                        p.recipient,
                        indented(&p.consent),
                        removed_summary(p),
                        p.study,
                    )
                },
            );
        }
    }
    Ok(())
}

/// `export research` as JSON: the preview (what goes, what is removed and kept, the consent
/// statement), and for a copy written its share id, folder, files and manifest digest.
#[derive(Serialize)]
struct ResearchReport<'a> {
    #[serde(flatten)]
    preview: &'a ResearchPreview,
    /// False for `--preview`: nothing was written and nothing logged.
    written: bool,
    /// The share's id (`ownrecord shares`).
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dir: Option<&'a Path>,
    #[serde(skip_serializing_if = "Option::is_none")]
    files: Option<&'a [export::folder::FolderFile]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    manifest_sha256: Option<&'a str>,
}

impl<'a> ResearchReport<'a> {
    fn of(preview: &'a ResearchPreview, written: Option<&'a research::ResearchExport>) -> Self {
        ResearchReport {
            preview,
            written: written.is_some(),
            id: written.map(|w| w.id.as_str()),
            dir: written.map(|w| w.dir.as_path()),
            files: written.map(|w| w.files.as_slice()),
            manifest_sha256: written.map(|w| w.manifest_sha256.as_str()),
        }
    }
}

/// `text` indented by four spaces, wrapped at about 90 columns.
fn indented(text: &str) -> String {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.len() + 1 + word.len() > 86 {
            lines.push(format!("    {line}"));
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(format!("    {line}"));
    }
    lines.join("\n")
}

/// What is removed, in words, on one line.
fn removed_summary(p: &ResearchPreview) -> String {
    p.removed
        .iter()
        .map(|k| {
            let mut chars = k.what.chars();
            chars
                .next()
                .map(|first| first.to_lowercase().chain(chars).collect())
                .unwrap_or_default()
        })
        .collect::<Vec<String>>()
        .join("; ")
}

/// The preview of a research copy, as the patient reads it before giving it.
fn preview_text(p: &ResearchPreview) -> String {
    const ELEMENTS_SHOWN: usize = 8;
    let mut text = format!(
        "Preview of a de-identified research copy for the study \"{}\", for {}. Nothing was written.\n\nWhat goes ({} entries):\n",
        p.study, p.recipient, p.resources
    );
    for c in &p.counts {
        text += &format!("  {:<28} {:>8}\n", c.resource_type, c.count);
    }
    if !p.left_out.is_empty() {
        text += "\nWhat stays home whole:\n";
        for c in &p.left_out {
            text += &format!("  {:<28} {:>8}\n", c.resource_type, c.count);
        }
    }
    text += "\nWhat is removed:\n";
    for k in &p.removed {
        text += &format!("  - {}", k.what);
        if !k.elements.is_empty() {
            let shown: Vec<&str> = k
                .elements
                .iter()
                .take(ELEMENTS_SHOWN)
                .map(String::as_str)
                .collect();
            text += &format!(" ({} times: {}", k.count, shown.join(", "));
            if k.elements.len() > ELEMENTS_SHOWN {
                text += &format!(
                    " and {} more; --json lists them all",
                    k.elements.len() - ELEMENTS_SHOWN
                );
            }
            text += ")";
        }
        text += "\n";
    }
    text += "\nWhat is kept:\n";
    for k in &p.kept {
        text += &format!("  - {k}\n");
    }
    if !p.examples.is_empty() {
        text += "\nA few entries exactly as they leave:\n";
        for e in &p.examples {
            text += &format!("  {}: {}\n", e.resource_type, e.line);
        }
    }
    text += &format!(
        "\nThe consent statement (running the command again without --preview confirms it):\n\n{}\n",
        indented(&p.consent)
    );
    text
}

pub fn share(
    dir: &Path,
    request: &ShareRequest,
    via: Option<&export::HostLink>,
    file: &Path,
    out: &Output,
) -> Result<(), Failure> {
    let mut v = open(dir)?;
    let mut request = request.clone();
    request.selection.person = Some(reading_person(&v, request.selection.person)?);
    let shared =
        crate::portal::runtime().block_on(export::share_via(&mut v, &request, via, file))?;
    print_shared(&shared, &request.recipient, None, out);
    Ok(())
}

/// The summary flags of `share`, which a research copy does not take.
pub struct SummaryFlags {
    pub pdf: bool,
    pub sections: bool,
    pub since: bool,
    pub shl: bool,
    pub upload: bool,
    pub link_url: bool,
    pub host: bool,
}

/// The sentence saying what is wrong with `share`'s research flags, if anything: `--deidentify`
/// needs `--study` and `--purpose research`, takes none of the summary's flags, and makes its
/// link only through a share host; `--study` and `--keep-intervals` need `--deidentify`.
pub fn research_share_mistake(
    purpose: &str,
    research: &ResearchShareArgs,
    flags: SummaryFlags,
) -> Option<String> {
    if !research.deidentify {
        return if research.study.is_some() {
            Some("--study names the study a de-identified research copy is for: add --purpose research --deidentify, or leave out --study.".into())
        } else if research.keep_intervals {
            Some("--keep-intervals is for a de-identified research copy: add --purpose research --study ID --deidentify, or leave out --keep-intervals.".into())
        } else {
            None
        };
    }
    let mistake = if research.study.is_none() {
        "A de-identified research copy is given for one study: name it with --study ID."
    } else if !purpose.trim().eq_ignore_ascii_case(research::PURPOSE) {
        "A de-identified research copy is given only for research: use --purpose research with --deidentify."
    } else if flags.pdf {
        "A research copy is de-identified files in an encrypted package, not a PDF: leave out --pdf."
    } else if flags.sections {
        "A research copy holds the whole de-identified record, not chosen sections: leave out --sections."
    } else if flags.since {
        "A research copy holds the whole de-identified record, not the entries since a day: leave out --since."
    } else if flags.upload || flags.link_url {
        "A research copy's link goes only through a share host you added: use --shl --host URL instead of --upload or --link-url."
    } else if flags.shl && !flags.host {
        "A research copy's link goes through a share host: add --host URL (see `ownrecord hosts`), or leave out --shl."
    } else {
        return None;
    };
    Some(mistake.into())
}

/// `share --purpose research --study ID --deidentify`: the de-identified research copy in an
/// encrypted package, and with `via` a link through a share host.
pub fn share_research(
    dir: &Path,
    request: &ResearchRequest,
    expires_in_days: Option<u32>,
    via: Option<&export::HostLink>,
    file: &Path,
    out: &Output,
) -> Result<(), Failure> {
    let mut v = open(dir)?;
    let mut request = request.clone();
    request.person = Some(reading_person(&v, request.person)?);
    let copy = research::prepare(&v, &request)?;
    // Running the command is the patient's confirmation of the copy's consent statement.
    let consent = copy.preview.consent_sha256.clone();
    let shared = crate::portal::runtime().block_on(research::share(
        &mut v,
        &copy,
        &consent,
        expires_in_days,
        via,
        file,
    ))?;
    print_shared(&shared, &copy.preview.recipient, Some(&copy.preview), out);
    Ok(())
}

/// Prints a share: its id, the package and the passcode that opens it, the link; for a research
/// copy (`research`) also what it is and the consent statement confirmed (with `--json`, the
/// preview's fields).
fn print_shared(
    shared: &export::Shared,
    recipient: &str,
    research: Option<&ResearchPreview>,
    out: &Output,
) {
    #[derive(Serialize)]
    struct Report<'a> {
        /// The share's id (`ownrecord shares`, `shares revoke ID`).
        id: &'a str,
        /// The link: the share host's viewer address with `#shlink:/…`, or the `shlink:/` text.
        link: Option<&'a str>,
        /// Opens the package, and the link when it asks for one.
        passcode: &'a str,
        link_passcode_required: bool,
        package: &'a export::WrittenFile,
        expires: Option<&'a str>,
        manifest: &'a export::package::Manifest,
        shl: Option<&'a export::SharedLink>,
        /// A research copy: what goes, what was removed and kept, the consent statement.
        #[serde(flatten)]
        research: Option<&'a ResearchPreview>,
    }
    let (what, tar) = match research {
        Some(_) => ("research copy", "research-copy.tar"),
        None => ("summary", "summary.tar"),
    };
    out.print(
        &Report {
            id: &shared.id,
            link: shared.link.as_ref().map(|l| l.text.as_str()),
            passcode: &shared.passcode,
            link_passcode_required: shared.link.as_ref().is_some_and(|l| l.passcode_required),
            package: &shared.package,
            expires: shared.expires.as_deref(),
            manifest: &shared.manifest,
            shl: shared.link.as_ref(),
            research,
        },
        || {
            let mut text = String::new();
            if let Some(p) = research {
                text += &format!(
                    "This is a de-identified research copy for the study \"{}\": {} entries; removed: {}.\n\n",
                    p.study,
                    p.resources,
                    removed_summary(p)
                );
            }
            text += &format!(
                "Share {}: wrote the encrypted package for {} to {}.\n\nPasscode (give it to {} separately, e.g. by phone; it is not stored anywhere):\n\n    {}\n\nThey open the package with the age tool: age -d -o {tar} {} && tar xf {tar}\n",
                shared.id,
                recipient,
                shared.package.path.display(),
                recipient,
                shared.passcode.as_str(),
                shared.package.path.display(),
            );
            if let Some(expires) = &shared.expires {
                text += &format!("It expires {expires}.\n");
            }
            if let Some(link) = &shared.link {
                text += &format!(
                    "\nSMART Health Link (anyone with it can open the {what}; share it like the passcode):\n{}\nQR code: {}\n",
                    link.text,
                    link.qr_png.path.display()
                );
                if link.passcode_required {
                    text += "The link asks for the same passcode.\n";
                }
                match &link.encrypted_file {
                    _ if link.host.is_some() => {
                        text += &format!(
                            "The link lives on the share host {}: see who opened it with `ownrecord shares refresh`, stop it with `ownrecord shares revoke {}`.\n",
                            link.host.as_deref().unwrap_or_default(),
                            shared.id
                        )
                    }
                    Some(file) => {
                        text += &format!(
                            "Put the encrypted file {} at {} before you give the link.\n",
                            file.path.display(),
                            link.url
                        )
                    }
                    None => text += &format!("The encrypted file was uploaded to {}.\n", link.url),
                }
            }
            if let Some(p) = research {
                text += &format!(
                    "\nYour disclosure log records it with the consent statement you confirmed:\n\n{}\n\nTo stop sending updates to this study: ownrecord studies stop {}\n",
                    indented(&p.consent),
                    p.study
                );
            }
            text
        },
    );
}

/// `share --pdf`: a plain PDF summary for the recipient, logged as given to them.
pub fn share_pdf(
    dir: &Path,
    request: &ShareRequest,
    file: &Path,
    out: &Output,
) -> Result<(), Failure> {
    let mut v = open(dir)?;
    let mut request = request.clone();
    request.selection.person = Some(reading_person(&v, request.selection.person)?);
    let shared = export::share_pdf(&mut v, &request, file)?;
    #[derive(Serialize)]
    struct Report<'a> {
        /// The share's id (`ownrecord shares`).
        id: &'a str,
        pdf: &'a export::WrittenFile,
    }
    out.print(
        &Report {
            id: &shared.id,
            pdf: &shared.file,
        },
        || {
            format!(
                "Share {}: wrote the PDF summary for {} to {}. It is a plain file: anyone who has it can read it, and it cannot be taken back. Your disclosure log says you gave it to {}.\n",
                shared.id,
                request.recipient,
                shared.file.path.display(),
                request.recipient,
            )
        },
    );
    Ok(())
}
