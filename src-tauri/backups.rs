//! Automatic backups while the app runs, as small glue over the core's [`BackupJob`]: once the
//! vault has been quiet for a minute after a change (`OWNRECORD_BACKUP_DELAY_SECS` sets another
//! delay, for tests), when it is locked with a change not yet backed up, and at least once a day.
//! The vault's mutex is held only to take the job (which owns what it needs) and the chosen
//! folder; the job runs on a blocking thread while the patient goes on.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use ownrecord_core::backup::{BackupJob, BackupReport, DEFAULT_KEEP};
use ownrecord_core::clock::rfc3339;
use ownrecord_core::{Clock, SystemClock, Vault};
use serde::Serialize;
use tokio::sync::{Mutex, Notify};

use crate::jobs::OpenVault;

const DEFAULT_DELAY: Duration = Duration::from_secs(60);
const DAILY: Duration = Duration::from_secs(24 * 60 * 60);
/// How often the loop looks whether the newest backup is a day old.
const CHECK_EVERY: Duration = Duration::from_secs(15 * 60);

/// The last backup this app made or tried since it started, for the Backups view.
#[derive(Clone, Serialize, ts_rs::TS)]
pub struct BackupAttempt {
    /// When it ended (RFC 3339).
    pub at: String,
    /// Made on its own (after changes, or daily), not by "Back up now".
    pub automatic: bool,
    /// The generation written, when it worked.
    pub report: Option<BackupReport>,
    /// The core's sentence, when it did not.
    pub error: Option<String>,
}

pub struct Backups {
    changed: Notify,
    /// A change not yet in a backup.
    pending: AtomicBool,
    delay: Duration,
    /// One backup at a time: a second one would remove the first one's partial folder.
    running: Mutex<()>,
    last: std::sync::Mutex<Option<BackupAttempt>>,
}

impl Backups {
    pub fn new() -> Self {
        let delay = std::env::var("OWNRECORD_BACKUP_DELAY_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .map_or(DEFAULT_DELAY, Duration::from_secs);
        Backups {
            changed: Notify::new(),
            pending: AtomicBool::new(false),
            delay,
            running: Mutex::new(()),
            last: std::sync::Mutex::new(None),
        }
    }

    /// A command changed the vault: back it up once it has been quiet for the delay.
    pub fn changed(&self) {
        self.pending.store(true, Ordering::SeqCst);
        self.changed.notify_one();
    }

    /// Whether a change is not yet in a backup (and forgets it).
    pub fn take_pending(&self) -> bool {
        self.pending.swap(false, Ordering::SeqCst)
    }

    /// Waits for a backup that is running, and holds the next one off while the guard lives
    /// (a wipe must not race a backup reading the files it deletes).
    pub async fn hold(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.pending.store(false, Ordering::SeqCst);
        self.running.lock().await
    }

    pub fn last(&self) -> Option<BackupAttempt> {
        self.last.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Runs `job` into `folder` on a blocking thread and keeps its outcome.
    pub async fn run(
        &self,
        job: BackupJob,
        folder: PathBuf,
        automatic: bool,
    ) -> ownrecord_core::Result<BackupReport> {
        let _one = self.running.lock().await;
        // The copy is taken from here on, so it holds every change made until now.
        self.pending.store(false, Ordering::SeqCst);
        let result = tokio::task::spawn_blocking(move || job.run(&folder, DEFAULT_KEEP))
            .await
            .unwrap_or_else(|_| {
                Err(ownrecord_core::Error::Internal(
                    "the backup stopped unexpectedly".into(),
                ))
            });
        let attempt = BackupAttempt {
            at: rfc3339(SystemClock.now()),
            automatic,
            report: result.as_ref().ok().cloned(),
            error: result.as_ref().err().map(|e| e.to_string()),
        };
        *self.last.lock().unwrap_or_else(|p| p.into_inner()) = Some(attempt);
        result
    }
}

impl Default for Backups {
    fn default() -> Self {
        Self::new()
    }
}

/// What a backup of `vault` needs: the job and the chosen folder (none chosen: no backup).
pub fn take(vault: &Vault) -> ownrecord_core::Result<Option<(BackupJob, PathBuf)>> {
    Ok(vault.backup_folder()?.map(|f| (vault.backup_job(), f)))
}

/// Whether the newest backup (RFC 3339, UTC, as the core writes it) is a day old, or missing.
fn a_day_since(last_backup: Option<&str>) -> bool {
    let a_day_ago = rfc3339(SystemClock.now() - DAILY);
    last_backup.is_none_or(|at| at < a_day_ago.as_str())
}

/// The automatic backups, for as long as the app runs. Nothing happens while the vault is
/// locked or no folder is chosen.
pub async fn schedule(vault: Arc<OpenVault>, backups: Arc<Backups>) {
    loop {
        let changed = tokio::time::timeout(CHECK_EVERY, backups.changed.notified())
            .await
            .is_ok();
        if changed {
            // Each further change starts the quiet time again.
            while tokio::time::timeout(backups.delay, backups.changed.notified())
                .await
                .is_ok()
            {}
            if !backups.pending.load(Ordering::SeqCst) {
                continue; // "Back up now" or the lock took it meanwhile.
            }
        }
        let taken = vault
            .run(move |v| {
                if !changed && !a_day_since(v.backup_status()?.last_backup.as_deref()) {
                    return Ok(None);
                }
                take(v)
            })
            .await;
        if let Ok(Some((job, folder))) = taken {
            // The outcome, a failure too, is kept for the Backups view.
            let _ = backups.run(job, folder, true).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backup_is_due_once_the_newest_is_a_day_old() {
        assert!(a_day_since(None));
        assert!(a_day_since(Some("2020-01-01T00:00:00Z")));
        assert!(!a_day_since(Some(&rfc3339(SystemClock.now()))));
        let hours_ago = |h: u64| rfc3339(SystemClock.now() - Duration::from_secs(h * 3600));
        assert!(!a_day_since(Some(&hours_ago(23))));
        assert!(a_day_since(Some(&hours_ago(25))));
    }
}
