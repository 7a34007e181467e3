//! `export pdf|ips|all` and `share`.

use std::path::Path;

use ownrecord_core::export::{self, Section, Selection, ShareRequest};
use serde::Serialize;

use crate::args::{ExportCommand, SelectionArgs};
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
    }
    Ok(())
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
    }
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
        },
        || {
            let mut text = format!(
                "Share {}: wrote the encrypted package for {} to {}.\n\nPasscode (give it to {} separately, e.g. by phone; it is not stored anywhere):\n\n    {}\n\nThey open the package with the age tool: age -d -o summary.tar {} && tar xf summary.tar\n",
                shared.id,
                request.recipient,
                shared.package.path.display(),
                request.recipient,
                shared.passcode.as_str(),
                shared.package.path.display(),
            );
            if let Some(expires) = &shared.expires {
                text += &format!("It expires {expires}.\n");
            }
            if let Some(link) = &shared.link {
                text += &format!(
                    "\nSMART Health Link (anyone with it can open the summary; share it like the passcode):\n{}\nQR code: {}\n",
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
            text
        },
    );
    Ok(())
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
