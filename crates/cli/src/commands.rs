//! One function per command: unlock, call the core, print text or JSON.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ownrecord_core::audit::{AuditKind, Filter};
use ownrecord_core::export::research::ResearchRequest;
use ownrecord_core::export::{self, LinkRequest, ShareRequest};
use ownrecord_core::portal::ConnectRequest;
use ownrecord_core::vault::people::{LinkedBy, PersonChoice};
use ownrecord_core::vault::{self, KeyProtection, Unlock, Vault};
use ownrecord_core::{Error, SystemClock};
use serde::Serialize;
use zeroize::Zeroizing;

use crate::args::{AuditCommand, Cli, Command, PeopleCommand, PortalsCommand};
use crate::progress::ProgressView;

pub enum Failure {
    Core(Error),
    Usage(String),
    /// Several people and none chosen: the sentence lists them.
    ChoosePerson(String),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Core(e)
    }
}

type Outcome = Result<(), Failure>;

pub fn run(cli: Cli) -> Outcome {
    let dir = cli.vault.clone().unwrap_or_else(vault::default_dir);
    let out = Output { json: cli.json };
    match cli.command {
        Command::Init { passphrase } => init(&dir, passphrase, &out),
        Command::Import { person, files } => import(&dir, person.as_deref(), &files, &out),
        Command::People { command } => people(&dir, command, &out),
        Command::Summary { person, all } => {
            let v = open(&dir)?;
            // An empty vault has nobody to choose: its (empty) counts.
            let person = match (all, v.reading_person(person.person)) {
                (true, _) | (false, Err(Error::NoPatient)) => None,
                (false, _) => Some(reading_person(&v, person.person)?),
            };
            let summary = v.summary(person)?;
            out.print(&summary, || {
                let mut text = format!(
                    "{} resources ({} earlier versions kept)\n",
                    summary.resources, summary.earlier_versions
                );
                if let (Some(from), Some(to)) = (&summary.earliest, &summary.latest) {
                    text += &format!("Dates: {from} to {to}\n");
                }
                for t in &summary.by_type {
                    text += &format!("  {:<28} {:>8}\n", t.resource_type, t.count);
                }
                text += "Sources:\n";
                for s in &summary.sources {
                    text += &format!("  {} {}: {} resources\n", s.kind, s.name, s.resources);
                }
                text
            });
            Ok(())
        }
        Command::Search {
            person,
            text,
            limit,
        } => {
            let v = open(&dir)?;
            let person = reading_person(&v, person.person)?;
            let hits = v.search(person, &text.join(" "), limit)?;
            out.print(&hits, || {
                if hits.is_empty() {
                    return "Nothing found.\n".into();
                }
                hits.iter()
                    .map(|h| {
                        format!(
                            "{}  {}/{}  {}\n",
                            h.date
                                .as_deref()
                                .map(|d| d.chars().take(10).collect::<String>())
                                .unwrap_or_else(|| "----------".into()),
                            h.resource_type,
                            h.id,
                            h.display
                        )
                    })
                    .collect()
            });
            Ok(())
        }
        Command::Check => {
            let v = open(&dir)?;
            let problems = v.integrity_problems()?;
            if !problems.is_empty() {
                return Err(Error::Corrupt(format!(
                    "{} part(s) of it fail their integrity check; restore it from a backup or an export",
                    problems.len()
                ))
                .into());
            }
            let chain = v.verify_audit()?;
            #[derive(Serialize)]
            struct Check {
                ok: bool,
                audit_entries: i64,
            }
            out.print(
                &Check {
                    ok: true,
                    audit_entries: chain.entries,
                },
                || format!("The vault is sound: database and encryption checks pass, and the audit log's {} entries verify.\n", chain.entries),
            );
            Ok(())
        }
        Command::RecoveryKey => crate::backup::recovery_key(&dir, &out),
        Command::Unlock { recovery_key } => crate::backup::unlock(&dir, recovery_key, &out),
        Command::Backup { to, command } => crate::backup::backup(&dir, to, command, &out),
        Command::Restore {
            from,
            replace,
            as_new,
        } => crate::backup::restore(&dir, &from, replace, as_new, &out),
        Command::Passphrase => {
            let mut v = open(&dir)?;
            let new = new_passphrase()?;
            v.set_passphrase(&new)?;
            out.print(&serde_json::json!({ "passphrase_set": true }), || {
                "The passphrase is set. You can now unlock this vault with it.\n".into()
            });
            Ok(())
        }
        Command::Audit { command } => audit_command(&dir, command, &out),
        Command::Connect {
            url,
            client_id,
            client_secret,
            no_browser,
            vendor,
            practice,
        } => {
            let mut request = ConnectRequest::new(&url, client_id.as_deref().unwrap_or(""));
            request.client_secret = client_secret;
            request.vendor = vendor;
            request.practice = practice;
            crate::portal::connect(&dir, request, no_browser, &out)
        }
        Command::Sync { connection, person } => {
            crate::portal::sync(&dir, connection.as_deref(), person.as_deref(), &out)
        }
        Command::Connections => crate::portal::connections(&dir, &out),
        Command::Portals {
            command: Some(PortalsCommand::Client { vendor, id, clear }),
            ..
        } => crate::portal::client_id(&dir, &vendor, id.as_deref(), clear, &out),
        Command::Portals {
            command: Some(PortalsCommand::Refresh { from }),
            ..
        } => crate::portal::refresh_directory(&dir, from.as_deref(), &out),
        Command::Portals { text, limit, .. } => {
            crate::portal::portals(&dir, &text.join(" "), limit, &out)
        }
        Command::Disconnect { connection } => crate::portal::disconnect(&dir, &connection, &out),
        Command::DemoPortal {
            port,
            page_size,
            patients,
            personality,
        } => crate::portal::demo_portal(port, page_size, patients, personality),
        Command::Export { command } => crate::export::export(&dir, command, &out),
        Command::Share {
            to,
            purpose,
            out: file,
            pdf,
            selection,
            expires,
            shl,
            upload,
            link_url,
            host,
            passcode,
            max_uses,
            research,
        } => {
            if let Some(mistake) = crate::export::research_share_mistake(
                &purpose,
                &research,
                crate::export::SummaryFlags {
                    pdf,
                    sections: selection.sections.is_some(),
                    since: selection.since.is_some(),
                    shl,
                    upload: upload.is_some(),
                    link_url: link_url.is_some(),
                    host: host.is_some(),
                },
            ) {
                return Err(Failure::Usage(mistake));
            }
            if host.is_none() && (passcode.is_some() || max_uses.is_some()) {
                return Err(Failure::Usage(
                    "--passcode and --max-uses are kept by a share host: add --shl --host URL (see `ownrecord hosts`)".into(),
                ));
            }
            let via = host.map(|host| export::HostLink {
                host,
                passcode: passcode.map(Zeroizing::new),
                max_uses,
            });
            if research.deidentify {
                let request = ResearchRequest {
                    study: research.study.unwrap_or_default(),
                    recipient: to,
                    person: selection.person,
                    keep_intervals: research.keep_intervals,
                };
                return crate::export::share_research(
                    &dir,
                    &request,
                    expires,
                    via.as_ref(),
                    &file,
                    &out,
                );
            }
            let link = match (shl, upload, link_url) {
                (false, _, _) => None,
                (true, _, _) if via.is_some() => None,
                (true, Some(url), _) => Some(LinkRequest { url, upload: true }),
                (true, None, Some(url)) => Some(LinkRequest { url, upload: false }),
                (true, None, None) => {
                    return Err(Failure::Usage(
                        "--shl needs a place for the link's encrypted file: --host URL (a share host, see `ownrecord hosts`), --upload URL (a host you choose) or --link-url URL (where you will put it)".into(),
                    ));
                }
            };
            let request = ShareRequest {
                recipient: to,
                purpose,
                selection: crate::export::selection(&selection)?,
                expires_in_days: expires,
                link,
            };
            if pdf {
                crate::export::share_pdf(&dir, &request, &file, &out)
            } else {
                crate::export::share(&dir, &request, via.as_ref(), &file, &out)
            }
        }
        Command::Hosts { command } => crate::shares::hosts(&dir, command, &out),
        Command::Shares { command } => crate::shares::shares(&dir, command, &out),
        Command::Studies { command } => crate::shares::studies(&dir, command, &out),
        Command::Wipe {
            yes,
            keep_disclosure_log,
        } => {
            if !yes {
                return Err(Failure::Usage(
                    "wipe deletes your whole vault and its key for good; run it again with --yes to confirm".into(),
                ));
            }
            let v = open(&dir)?;
            let report = crate::portal::runtime().block_on(v.wipe(keep_disclosure_log))?;
            out.print(&report, || {
                let mut text = format!(
                    "Wiped: {} files overwritten and deleted, key removed from the keyring: {}.\n",
                    report.files_removed.len(),
                    if report.keyring_entry_removed {
                        "yes"
                    } else {
                        "none was there"
                    }
                );
                if let Some(log) = &report.disclosure_log {
                    text += &format!("The disclosure log was kept in {}.\n", log.display());
                }
                if report.backups_removed > 0 {
                    text += &format!(
                        "{} backups in the backup folder were overwritten and deleted.\n",
                        report.backups_removed
                    );
                }
                if let Some(folder) = &report.backups_not_reached {
                    text += &format!(
                        "The backup folder {} was not there: delete the backups in it yourself when it is back.\n",
                        folder.display()
                    );
                }
                text += "Backups you made with `backup --to` into other folders are not deleted: delete them yourself.\n";
                text
            });
            Ok(())
        }
    }
}

fn audit_command(dir: &Path, command: AuditCommand, out: &Output) -> Outcome {
    let v = open(dir)?;
    match command {
        AuditCommand::List { disclosures } => {
            let filter = Filter {
                kinds: if disclosures {
                    vec![AuditKind::Export, AuditKind::Share]
                } else {
                    Vec::new()
                },
            };
            let entries = v.audit_entries(&filter)?;
            out.print(&entries, || {
                entries
                    .iter()
                    .map(|e| format!("{:>5}  {}  {:<15} {}\n", e.seq, e.at, e.kind, e.details))
                    .collect()
            });
        }
        AuditCommand::Verify => {
            let verified = v.verify_audit()?;
            out.print(&verified, || {
                format!(
                    "The audit log is intact: {} entries, none changed.\n",
                    verified.entries
                )
            });
        }
        AuditCommand::Export { out: path } => {
            let count = v.export_audit(&path)?;
            out.print(
                &serde_json::json!({ "entries": count, "out": path }),
                || format!("Wrote {count} audit entries to {}.\n", path.display()),
            );
        }
    }
    Ok(())
}

fn init(dir: &Path, ask_passphrase: bool, out: &Output) -> Outcome {
    let protection = match passphrase_from_env() {
        Some(p) => KeyProtection::passphrase(p),
        None if ask_passphrase => KeyProtection::passphrase(new_passphrase()?),
        None => KeyProtection::keyring(),
    };
    let uses_keyring = protection.keyring;
    let mut v = Vault::create(dir, protection, Arc::new(SystemClock))?;
    let recovery_key = v.take_new_recovery_key().ok_or_else(|| {
        Failure::Core(Error::Internal("the new vault has no recovery key".into()))
    })?;
    out.print(
        &serde_json::json!({
            "vault": dir,
            "keyring": uses_keyring,
            "recovery_key": recovery_key.to_text().as_str(),
        }),
        || {
            format!(
                "Created an encrypted vault in {}. Its key is {}.\n\n{}",
                dir.display(),
                if uses_keyring {
                    "in your system keyring"
                } else {
                    "sealed with your passphrase"
                },
                crate::backup::recovery_key_text(&recovery_key)
            )
        },
    );
    Ok(())
}

/// `--person ID|new` for import and sync.
pub fn person_choice(text: Option<&str>) -> Result<PersonChoice, Failure> {
    match text {
        None => Ok(PersonChoice::Auto),
        Some(text) => text.parse().map_err(|_| {
            Failure::Usage(format!(
                "--person takes a person's number (see `ownrecord people`) or `new`, not \"{text}\""
            ))
        }),
    }
}

/// Whose record a read is about: the one chosen, or the only person; with several and none
/// chosen, one sentence listing them.
pub fn reading_person(v: &Vault, chosen: Option<i64>) -> Result<i64, Failure> {
    match v.reading_person(chosen) {
        Err(Error::ChoosePerson(_)) => {
            let listed: Vec<String> = v
                .people()?
                .iter()
                .map(|p| match &p.birth_date {
                    Some(born) => format!("{} {} (born {born})", p.id, p.name),
                    None => format!("{} {}", p.id, p.name),
                })
                .collect();
            Err(Failure::ChoosePerson(format!(
                "This vault holds the records of {}; choose whose with --person ID.",
                listed.join(", ")
            )))
        }
        other => Ok(other?),
    }
}

fn import(dir: &Path, person: Option<&str>, files: &[PathBuf], out: &Output) -> Outcome {
    let choice = person_choice(person)?;
    let mut v = open(dir)?;
    let mut reports = Vec::new();
    for file in files {
        let mut view = ProgressView::new(format!("Importing {}", file.display()), out.json);
        let result = v.import_file(file, choice, &mut |p| view.update(p));
        view.finish();
        let report = result?;
        if !out.json {
            println!("{}: {}", report.file, counts_text(&report.counts));
            for doc in &report.documents {
                let name = match (doc.path.as_str(), doc.title.as_str()) {
                    ("", "") => "the document".to_owned(),
                    ("", title) => format!("\"{title}\""),
                    (path, "") => path.to_owned(),
                    (path, title) => format!("{path} (\"{title}\")"),
                };
                match &doc.error {
                    Some(why) => {
                        println!("  {name} could not be read and was not imported: it {why}")
                    }
                    None => println!("  {name}: {}", doc.summary),
                }
            }
            for link in &report.people {
                let person = v.person(link.person)?;
                let how = match link.by {
                    LinkedBy::Matched => "matched to",
                    LinkedBy::First | LinkedBy::New => "added as",
                    LinkedBy::Chosen | LinkedBy::SamePatient => "linked to",
                };
                println!("  {how} person {} ({})", person.id, person.name);
            }
        }
        reports.push(report);
    }
    if out.json {
        out.print(&reports, String::new);
    }
    crate::backup::after_change(&v);
    Ok(())
}

fn people(dir: &Path, command: Option<PeopleCommand>, out: &Output) -> Outcome {
    let mut v = open(dir)?;
    match command {
        None => {
            let people = v.people()?;
            out.print(&people, || {
                if people.is_empty() {
                    return "No one yet: import a file or sync a portal.\n".into();
                }
                let mut text = String::new();
                for p in &people {
                    text += &format!(
                        "{}  {}{}  {} resources\n",
                        p.id,
                        p.name,
                        p.birth_date
                            .as_deref()
                            .map(|b| format!(", born {b}"))
                            .unwrap_or_default(),
                        p.resources
                    );
                    for s in &p.sources {
                        text += &format!("     source {}: {} {}\n", s.id, s.kind, s.name);
                    }
                }
                text
            });
        }
        Some(PeopleCommand::Rename { id, name }) => {
            v.rename_person(id, &name.join(" "))?;
            let person = v.person(id)?;
            out.print(&person, || {
                format!("Person {id} is now called {}.\n", person.name)
            });
        }
        Some(PeopleCommand::Link { id, other }) => {
            v.link_people(id, other)?;
            let person = v.person(id)?;
            out.print(&person, || {
                format!(
                    "Person {other}'s records are now part of person {id} ({}).\n",
                    person.name
                )
            });
        }
        Some(PeopleCommand::Unlink { id, source }) => {
            let new = v.unlink_source(id, source)?;
            let person = v.person(new)?;
            out.print(&person, || {
                format!(
                    "Source {source} is now the record of a new person, {new} ({}).\n",
                    person.name
                )
            });
        }
        Some(PeopleCommand::Remove { id }) => {
            let deleted = v.remove_person(id)?;
            out.print(
                &serde_json::json!({ "removed": id, "resources": deleted }),
                || format!("Person {id} and their {deleted} resources were deleted. The audit and disclosure log keep their rows.\n"),
            );
        }
    }
    Ok(())
}

/// "3 new, 1 updated, 40 unchanged" (+ older versions kept in history, if any).
pub fn counts_text(c: &ownrecord_core::vault::resources::StoreCounts) -> String {
    let mut text = format!(
        "{} new, {} updated, {} unchanged",
        c.new, c.updated, c.unchanged
    );
    if c.older > 0 {
        text += &format!(", {} older versions kept in history", c.older);
    }
    text
}

/// Opens the vault: keyring, or the passphrase from OWNRECORD_PASSPHRASE, or the recovery key
/// from OWNRECORD_RECOVERY_KEY, or the passphrase asked on the terminal. A vault without a
/// recovery key is offered one.
pub fn open(dir: &Path) -> Result<Vault, Failure> {
    let clock = Arc::new(SystemClock);
    let unlock = Unlock {
        passphrase: passphrase_from_env(),
        recovery_key: recovery_key_from_env(),
    };
    let v = match Vault::open(dir, unlock, clock.clone()) {
        Err(Error::PassphraseNeeded) if std::io::stdin().is_terminal() => {
            let typed = rpassword::prompt_password("Vault passphrase: ")
                .map_err(|_| Failure::Core(Error::PassphraseNeeded))?;
            Vault::open(dir, Unlock::passphrase(Zeroizing::new(typed)), clock)?
        }
        other => other?,
    };
    if !v.has_recovery_key() {
        eprintln!(
            "ownrecord: this vault has no recovery key yet; make one with `ownrecord recovery-key` and keep it somewhere safe."
        );
    }
    Ok(v)
}

pub fn passphrase_from_env() -> Option<Zeroizing<String>> {
    std::env::var("OWNRECORD_PASSPHRASE")
        .ok()
        .filter(|p| !p.is_empty())
        .map(Zeroizing::new)
}

pub fn recovery_key_from_env() -> Option<Zeroizing<String>> {
    std::env::var("OWNRECORD_RECOVERY_KEY")
        .ok()
        .filter(|p| !p.trim().is_empty())
        .map(Zeroizing::new)
}

fn new_passphrase() -> Result<Zeroizing<String>, Failure> {
    if let Some(p) = std::env::var("OWNRECORD_NEW_PASSPHRASE")
        .ok()
        .filter(|p| !p.is_empty())
    {
        return Ok(Zeroizing::new(p));
    }
    if !std::io::stdin().is_terminal() {
        return Err(Failure::Usage(
            "set OWNRECORD_NEW_PASSPHRASE, or run this on a terminal to type it".into(),
        ));
    }
    let first = Zeroizing::new(
        rpassword::prompt_password("New passphrase: ")
            .map_err(|e| Failure::Usage(e.to_string()))?,
    );
    let again = Zeroizing::new(
        rpassword::prompt_password("Same passphrase again: ")
            .map_err(|e| Failure::Usage(e.to_string()))?,
    );
    if first != again {
        return Err(Failure::Usage(
            "the two passphrases differ; nothing was changed".into(),
        ));
    }
    Ok(first)
}

pub struct Output {
    pub json: bool,
}

impl Output {
    pub fn print<T: Serialize>(&self, value: &T, human: impl FnOnce() -> String) {
        if self.json {
            // Cannot panic: the outputs are derived structs and JSON values with string keys.
            #[allow(clippy::expect_used)]
            let text = serde_json::to_string_pretty(value).expect("output serializes");
            println!("{text}");
        } else {
            print!("{}", human());
        }
    }
}
