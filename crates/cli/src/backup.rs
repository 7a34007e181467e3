//! `recovery-key`, `unlock`, `backup` and `restore`: keeping the record safe from a lost keyring,
//! a forgotten passphrase and a dead disk.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ownrecord_core::backup::restore::{RestoreRequest, restore as restore_backup};
use ownrecord_core::backup::{BackupReport, BackupStatus};
use ownrecord_core::vault::recovery::RecoveryKey;
use ownrecord_core::vault::{Unlock, Vault};
use ownrecord_core::{Error, SystemClock};
use zeroize::Zeroizing;

use crate::args::BackupCommand;
use crate::commands::{Failure, Output, open, recovery_key_from_env};

/// The sentences that go with a recovery key shown for the first (and only) time.
pub fn recovery_key_text(key: &RecoveryKey) -> String {
    format!(
        "Your recovery key (shown only now; write it down and keep it somewhere safe, away from this computer):\n\n    {}\n\nIt opens your vault, and its backups, if this computer's keyring entry or your passphrase is lost.\n",
        key.to_text().as_str()
    )
}

pub fn recovery_key(dir: &Path, out: &Output) -> Result<(), Failure> {
    let mut v = open(dir)?;
    let key = v.new_recovery_key()?;
    out.print(
        &serde_json::json!({ "recovery_key": key.to_text().as_str() }),
        || {
            recovery_key_text(&key)
                + "The old recovery key no longer opens this vault. Backups made before now still open with the old key or your passphrase.\n"
        },
    );
    // The newest backup should open with the new key.
    after_change(&v);
    Ok(())
}

pub fn unlock(dir: &Path, with_recovery_key: bool, out: &Output) -> Result<(), Failure> {
    let v = if with_recovery_key {
        let typed = match recovery_key_from_env() {
            Some(key) => key,
            None => ask("Recovery key: ")?,
        };
        Vault::open(dir, Unlock::recovery_key(typed), Arc::new(SystemClock))?
    } else {
        open(dir)?
    };
    let keyring = v.settings().keyring
        && ownrecord_core::vault::keyring::exists(&v.settings().vault_id).unwrap_or(false);
    out.print(
        &serde_json::json!({ "unlocked": true, "keyring": keyring }),
        || {
            if keyring {
                "The vault opens, and its key is in your system keyring: OwnRecord opens it without asking from now on.\n".into()
            } else {
                "The vault opens.\n".into()
            }
        },
    );
    Ok(())
}

pub fn backup(
    dir: &Path,
    to: Option<PathBuf>,
    command: Option<BackupCommand>,
    out: &Output,
) -> Result<(), Failure> {
    let mut v = open(dir)?;
    match (to, command) {
        (Some(to), _) => {
            let report = v.backup_to(&to)?;
            print_report(&report, out);
        }
        (None, Some(BackupCommand::Set { folder })) => {
            std::fs::create_dir_all(&folder)
                .map_err(|_| Failure::Core(Error::BackupFolderMissing(folder.clone())))?;
            let folder = std::fs::canonicalize(&folder).unwrap_or(folder);
            v.set_backup_folder(Some(&folder))?;
            let report = v.backup_to(&folder)?;
            if !out.json {
                println!(
                    "Backups go to {} from now on: after each import and sync (and, while the app runs, after changes and at least daily).",
                    folder.display()
                );
            }
            print_report(&report, out);
        }
        (None, Some(BackupCommand::Off)) => {
            v.set_backup_folder(None)?;
            out.print(&serde_json::json!({ "folder": null }), || {
                "Automatic backups are off. Backups already made stay where they are.\n".into()
            });
        }
        (None, Some(BackupCommand::Status)) => {
            let status = v.backup_status()?;
            out.print(&status, || status_text(&status));
        }
        (None, None) => match v.backup_folder()? {
            Some(folder) => {
                let report = v
                    .backup_job()
                    .run(&folder, ownrecord_core::backup::DEFAULT_KEEP)?;
                print_report(&report, out);
            }
            None => {
                return Err(Failure::Usage(
                    "say where to: `ownrecord backup --to DIR`, or choose a folder for automatic backups with `ownrecord backup set DIR`".into(),
                ));
            }
        },
    }
    Ok(())
}

pub fn restore(
    dir: &Path,
    from: &Path,
    replace: bool,
    as_new: bool,
    out: &Output,
) -> Result<(), Failure> {
    let unlock = restore_unlock(from)?;
    let request = RestoreRequest {
        from,
        to: dir,
        unlock,
        replace,
        as_new,
    };
    let (mut v, report) = restore_backup(request, Arc::new(SystemClock))?;
    let new_key = v.take_new_recovery_key();
    // Cannot panic: a derived struct with string keys.
    #[allow(clippy::expect_used)]
    let mut value = serde_json::to_value(&report).expect("a report serializes");
    if let (Some(key), Some(object)) = (&new_key, value.as_object_mut()) {
        object.insert("recovery_key".into(), key.to_text().as_str().into());
    }
    out.print(&value, || {
        let mut text = format!(
            "Restored the backup of {} into {}: {} resources, {} audit entries, all checks pass.\n",
            report.created,
            dir.display(),
            report.counts.resources,
            report.counts.audit_entries
        );
        if report.keyring {
            text += "Its key is in this computer's keyring: OwnRecord opens it without asking.\n";
        }
        if let Some(key) = &new_key {
            text += &recovery_key_text(key);
        }
        text
    });
    Ok(())
}

/// What opens the backup: OWNRECORD_RECOVERY_KEY or OWNRECORD_PASSPHRASE, else asked (a typed
/// recovery key is told from a passphrase by its form), else the keyring (same computer).
fn restore_unlock(from: &Path) -> Result<Unlock, Failure> {
    if let Some(key) = recovery_key_from_env() {
        return Ok(Unlock::recovery_key(key));
    }
    if let Some(p) = crate::commands::passphrase_from_env() {
        return Ok(Unlock::passphrase(p));
    }
    if !std::io::stdin().is_terminal() {
        return Ok(Unlock::default());
    }
    eprintln!("Restoring from {}.", from.display());
    let typed = ask("Recovery key or passphrase (Enter to use this computer's keyring): ")?;
    Ok(if typed.trim().is_empty() {
        Unlock::default()
    } else if RecoveryKey::parse(&typed).is_ok() {
        Unlock::recovery_key(typed)
    } else {
        Unlock::passphrase(typed)
    })
}

fn ask(prompt: &str) -> Result<Zeroizing<String>, Failure> {
    if !std::io::stdin().is_terminal() {
        return Err(Failure::Usage(
            "set OWNRECORD_RECOVERY_KEY, or run this on a terminal to type the recovery key".into(),
        ));
    }
    rpassword::prompt_password(prompt)
        .map(Zeroizing::new)
        .map_err(|e| Failure::Usage(e.to_string()))
}

fn print_report(report: &BackupReport, out: &Output) {
    out.print(report, || {
        format!(
            "Backed up {} resources ({} MB, encrypted) to {}.\n",
            report.counts.resources,
            report.bytes / 1_000_000,
            report.generation.display()
        )
    });
}

fn status_text(status: &BackupStatus) -> String {
    let Some(folder) = &status.folder else {
        return "No folder is chosen for automatic backups: choose one with `ownrecord backup set DIR` (a USB drive, or a folder your cloud client syncs).\n".into();
    };
    let mut text = format!("Backups go to {}.\n", folder.display());
    match &status.last_backup {
        Some(at) => {
            text += &format!(
                "The last backup was at {at} ({} kept).\n",
                status.generations
            )
        }
        None if status.present => text += "No backup has been made there yet.\n",
        None => {}
    }
    if let Some(problem) = &status.problem {
        text += problem;
        text += "\n";
    }
    text
}

/// After a command changed the record: a backup to the chosen folder, if there is one. A failed
/// backup does not fail the command; it is said in one sentence.
pub fn after_change(v: &Vault) {
    let Ok(Some(folder)) = v.backup_folder() else {
        return;
    };
    match v
        .backup_job()
        .run(&folder, ownrecord_core::backup::DEFAULT_KEEP)
    {
        Ok(report) => eprintln!("ownrecord: backed up to {}", report.generation.display()),
        Err(e) => eprintln!("ownrecord: no backup was made: {e}"),
    }
}
