//! `hosts` (the share hosts links go through), `shares` (everything shared: list, refresh
//! who opened the links, revoke one) and `studies` (the studies given research copies; stop
//! sending updates to one).

use std::path::Path;

use ownrecord_core::export::research;

use crate::args::{HostsCommand, SharesCommand, StudiesCommand};
use crate::commands::{Failure, Output, open};

pub fn hosts(dir: &Path, command: Option<HostsCommand>, out: &Output) -> Result<(), Failure> {
    let mut v = open(dir)?;
    match command {
        Some(HostsCommand::Add { url, token }) => {
            let host = v.add_share_host(&url, &token)?;
            out.print(&host, || {
                format!(
                    "Added the share host {}. Make a link through it with `ownrecord share ... --shl --host {}`.\n",
                    host.url, host.url
                )
            });
        }
        Some(HostsCommand::Remove { url }) => {
            v.remove_share_host(&url)?;
            out.print(&serde_json::json!({ "removed": url }), || {
                format!(
                    "Removed the share host {url}. Links already made there keep working until you revoke them.\n"
                )
            });
        }
        None => {
            let hosts = v.share_hosts()?;
            out.print(&hosts, || {
                if hosts.is_empty() {
                    return "No share hosts. Add one with `ownrecord hosts add URL --token TOKEN`.\n"
                        .into();
                }
                hosts
                    .iter()
                    .map(|h| format!("{}  (added {})\n", h.url, h.added))
                    .collect()
            });
        }
    }
    Ok(())
}

pub fn shares(dir: &Path, command: Option<SharesCommand>, out: &Output) -> Result<(), Failure> {
    let mut v = open(dir)?;
    match command {
        None => {
            let shares = v.shares()?;
            out.print(&shares, || {
                if shares.is_empty() {
                    return "Nothing shared yet.\n".into();
                }
                let mut text = String::new();
                for s in &shares {
                    text += &format!(
                        "{}  {}  to {} for {:?}: {} ({}), expires {}, {} opens\n",
                        s.id,
                        s.created,
                        s.recipient,
                        s.purpose,
                        s.what,
                        s.status,
                        s.expires.as_deref().unwrap_or("never"),
                        s.opens.len()
                    );
                    for open in &s.opens {
                        text += &format!(
                            "      opened by '{}' at {}\n",
                            open.recipient.as_deref().unwrap_or("(not declared)"),
                            open.at.as_deref().unwrap_or("an unknown time")
                        );
                    }
                }
                text
            });
        }
        Some(SharesCommand::Refresh) => {
            let report = crate::portal::runtime().block_on(v.refresh_shares())?;
            out.print(&report, || {
                let mut text = format!(
                    "{} new opens of your links ({} links checked).\n",
                    report.new_opens, report.checked
                );
                if report.new_refusals > 0 {
                    text += &format!(
                        "{} requests were refused (a wrong or missing passcode, or a link no longer open).\n",
                        report.new_refusals
                    );
                }
                for f in &report.failed {
                    text += &format!("Share {} could not be checked: {}\n", f.id, f.why);
                }
                text
            });
        }
        Some(SharesCommand::Revoke { id }) => {
            let share = crate::portal::runtime().block_on(v.revoke_share(&id))?;
            out.print(&share, || {
                format!(
                    "Stopped share {} (for {}): its link no longer opens.\n",
                    share.id, share.recipient
                )
            });
        }
    }
    Ok(())
}

pub fn studies(dir: &Path, command: Option<StudiesCommand>, out: &Output) -> Result<(), Failure> {
    let mut v = open(dir)?;
    match command {
        None => {
            let studies = research::studies(&v)?;
            out.print(&studies, || {
                if studies.is_empty() {
                    return "No research copies given yet.\n".into();
                }
                studies
                    .iter()
                    .map(|s| {
                        format!(
                            "{}  to {}: {} {}, first {}, last {}; {}\n",
                            s.study,
                            s.recipients.join(", "),
                            s.copies,
                            if s.copies == 1 { "copy" } else { "copies" },
                            s.first_copy,
                            s.last_copy,
                            match &s.stopped {
                                Some(at) => format!("updates stopped {at}"),
                                None => "later copies link with these".into(),
                            }
                        )
                    })
                    .collect()
            });
        }
        Some(StudiesCommand::Stop { study }) => {
            let stopped = research::stop(&mut v, &study)?;
            out.print(&stopped, || {
                format!(
                    "Stopped sending updates to the study \"{}\"{}: a copy you give it from now on cannot be linked with the earlier ones. The {} given already stay with {}.\n",
                    stopped.study,
                    stopped
                        .stopped
                        .as_deref()
                        .map(|at| format!(" ({at})"))
                        .unwrap_or_default(),
                    match stopped.copies {
                        1 => "copy".to_owned(),
                        n => format!("{n} copies"),
                    },
                    stopped.recipients.join(", "),
                )
            });
        }
    }
    Ok(())
}
