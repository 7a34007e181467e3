//! The open vault and the jobs that run on it, so that a lock takes effect at once (within a
//! second) even while a sync, a sign-in or another long job holds the vault.
//!
//! Every command runs its work with the vault taken out of its slot, on a blocking thread, one
//! at a time ([`OpenVault::run`]); a read waits behind a sync. A job that can end early holds a
//! [`Job`]: its [`Stop`] is what the core's sync and sign-in honour. [`OpenVault::lock`] first
//! marks the vault locked (a command that has not yet begun gets [`CommandError::Locked`], and so
//! does any waiting behind the job), then stops every job, then waits a bounded time for the
//! vault to come back and closes it (its key is zeroised as it drops). A job that does not give
//! the vault back in time does not hold the lock up: the window shows the lock screen anyway, and
//! the vault is closed the moment the job ends, before any later unlock puts a new one in (the
//! slot's mutex is fair: the closing waits in line ahead of it), so a half-used vault is never
//! handed to a later session.
//!
//! What stops early, and where:
//! - a sync (`sync_portal`): between pages, a request in flight dropped ([`Stop`]);
//! - a sign-in (`connect_portal`): anywhere before its one write, the wait for the browser
//!   included;
//! - "Check for new opens" (`refresh_shares`): between hosts' answers (each host's new opens are
//!   written in one transaction as they come).
//!
//! The rest runs to its end, then the vault is closed: an import (one file, one transaction),
//! an export or a file given by hand (built in memory, written and recorded at once), an upload
//! to a share host or a study (its pending row, one request, its completed row: stopping between
//! them would leave a pending share), a revocation or a disconnect (one request each), adding a
//! file of one's own (at most 32 MB read). Each is short next to a sync, or bounded by the
//! network's time-outs.

use std::sync::Arc;
use std::time::Duration;

use ownrecord_core::Vault;
use ownrecord_core::sync::Stop;
use tokio::sync::Mutex;

use crate::error::CommandError;

/// How long a lock waits for a running job to give the vault back before it returns anyway.
pub const LOCK_WAIT: Duration = Duration::from_millis(800);

pub struct OpenVault {
    vault: Mutex<Option<Vault>>,
    jobs: std::sync::Mutex<Jobs>,
}

#[derive(Default)]
struct Jobs {
    /// No vault is open for the window: before the first unlock, and from a lock to the next.
    locked: bool,
    /// The jobs running now that can end early.
    running: Vec<(u64, Stop)>,
    next: u64,
}

/// A job that ends early when the vault is locked: hand [`Job::stop`] to the core.
pub struct Job<'a> {
    open: &'a OpenVault,
    id: u64,
    stop: Stop,
}

impl Job<'_> {
    pub fn stop(&self) -> Stop {
        self.stop.clone()
    }
}

impl Drop for Job<'_> {
    fn drop(&mut self) {
        self.open.jobs().running.retain(|(id, _)| *id != self.id);
    }
}

impl Default for OpenVault {
    fn default() -> Self {
        OpenVault {
            vault: Mutex::new(None),
            jobs: std::sync::Mutex::new(Jobs {
                locked: true,
                ..Jobs::default()
            }),
        }
    }
}

impl OpenVault {
    fn jobs(&self) -> std::sync::MutexGuard<'_, Jobs> {
        self.jobs.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn is_locked(&self) -> bool {
        self.jobs().locked
    }

    /// A job that a lock stops (already stopped if the vault is locked).
    pub fn job(&self) -> Job<'_> {
        let stop = Stop::new();
        let mut jobs = self.jobs();
        if jobs.locked {
            stop.stop();
        }
        let id = jobs.next;
        jobs.next = id.wrapping_add(1);
        jobs.running.push((id, stop.clone()));
        Job {
            open: self,
            id,
            stop,
        }
    }

    /// Puts a vault just opened (unlocked, created, restored) in the slot; a vault a slow job
    /// left there after a lock is closed first.
    pub async fn open(&self, vault: Vault) {
        let mut slot = self.vault.lock().await;
        if let Some(old) = slot.replace(vault) {
            let _ = old.lock();
        }
        self.jobs().locked = false;
    }

    /// Runs `f` on the unlocked vault, on a blocking thread (SQLite and the core's network calls
    /// never hold up the window or the async workers). One at a time: others wait in line.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Vault) -> ownrecord_core::Result<T> + Send + 'static,
    ) -> Result<T, CommandError> {
        let mut slot = self.vault.lock().await;
        if self.is_locked() {
            return Err(CommandError::Locked);
        }
        let mut vault = slot.take().ok_or(CommandError::Locked)?;
        let joined = tokio::task::spawn_blocking(move || {
            let result = f(&mut vault);
            (vault, result)
        })
        .await;
        match joined {
            // Back in the slot even when a lock came meanwhile: the lock's closing is next in
            // line for it.
            Ok((vault, result)) => {
                *slot = Some(vault);
                Ok(result?)
            }
            // The task panicked: the vault was dropped (closed); the window shows the lock screen.
            Err(_) => Err(CommandError::Core(ownrecord_core::Error::Internal(
                "the operation stopped unexpectedly; unlock the vault again".into(),
            ))),
        }
    }

    /// `f` of the open vault; `None`, at once, while locked (a running job is not waited for).
    pub async fn peek<T>(&self, f: impl FnOnce(&Vault) -> T) -> Option<T> {
        if self.is_locked() {
            return None;
        }
        let slot = self.vault.lock().await;
        if self.is_locked() {
            return None;
        }
        slot.as_ref().map(f)
    }

    /// Takes the vault out for good (a wipe), once the job holding it is done.
    pub async fn take(&self) -> Option<Vault> {
        let mut slot = self.vault.lock().await;
        self.jobs().locked = true;
        slot.take()
    }

    /// Locks: no new job starts, running jobs are asked to stop, and once the vault is back it
    /// goes to `close` (which backs up what is pending and closes it). Returns after `within`
    /// at the latest; the closing then happens when the job ends. Already locked: at once.
    pub async fn lock(
        self: &Arc<Self>,
        within: Duration,
        close: impl FnOnce(Vault) + Send + 'static,
    ) {
        {
            let mut jobs = self.jobs();
            if jobs.locked {
                return;
            }
            jobs.locked = true;
            for (_, stop) in &jobs.running {
                stop.stop();
            }
        }
        let open = self.clone();
        let closing = tokio::spawn(async move {
            let mut slot = open.vault.lock().await;
            // Unlocked again meanwhile: the vault there is the new session's.
            if !open.is_locked() {
                return;
            }
            if let Some(vault) = slot.take() {
                close(vault);
            }
        });
        let _ = tokio::time::timeout(within, closing).await;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Instant;

    use ownrecord_core::{KeyProtection, SystemClock};
    use zeroize::Zeroizing;

    use super::*;

    fn new_vault(dir: &std::path::Path) -> Vault {
        Vault::create(
            dir,
            KeyProtection::passphrase(Zeroizing::new("correct horse".into())),
            Arc::new(SystemClock),
        )
        .unwrap()
    }

    /// Records that `close` was given the vault, and closes it.
    fn closing(closed: &Arc<AtomicBool>) -> impl FnOnce(Vault) + Send + 'static {
        let closed = closed.clone();
        move |vault| {
            vault.lock().unwrap();
            closed.store(true, Ordering::SeqCst);
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_lock_stops_the_running_job_and_closes_the_vault_within_a_second() {
        let dir = tempfile::tempdir().unwrap();
        let open = Arc::new(OpenVault::default());
        open.open(new_vault(dir.path())).await;
        let running = {
            let open = open.clone();
            tokio::spawn(async move {
                let job = open.job();
                let stop = job.stop();
                open.run(move |_| -> ownrecord_core::Result<()> {
                    // A long job that looks at its stop between steps, as a sync does.
                    while !stop.is_stopped() {
                        std::thread::sleep(Duration::from_millis(10));
                    }
                    Err(ownrecord_core::Error::SyncStopped)
                })
                .await
            })
        };
        tokio::time::sleep(Duration::from_millis(200)).await;
        let closed = Arc::new(AtomicBool::new(false));
        let asked = Instant::now();
        open.lock(Duration::from_secs(5), closing(&closed)).await;
        assert!(
            asked.elapsed() < Duration::from_secs(1),
            "{:?}",
            asked.elapsed()
        );
        assert!(closed.load(Ordering::SeqCst), "the vault was closed");
        assert!(matches!(
            running.await.unwrap(),
            Err(CommandError::Core(ownrecord_core::Error::SyncStopped))
        ));
        assert!(open.is_locked());
        assert!(open.peek(|_| ()).await.is_none());
        assert!(matches!(
            open.run(|_| Ok(())).await,
            Err(CommandError::Locked)
        ));
        assert!(
            open.job().stop().is_stopped(),
            "a job begun while locked is stopped"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_job_that_does_not_stop_does_not_hold_the_lock_up_nor_reach_the_next_unlock() {
        let dir = tempfile::tempdir().unwrap();
        let open = Arc::new(OpenVault::default());
        open.open(new_vault(dir.path())).await;
        let running = {
            let open = open.clone();
            tokio::spawn(async move {
                open.run(|_| {
                    std::thread::sleep(Duration::from_secs(2));
                    Ok(())
                })
                .await
            })
        };
        tokio::time::sleep(Duration::from_millis(200)).await;
        // A read waiting behind the job when the lock comes.
        let waiting = {
            let open = open.clone();
            tokio::spawn(async move { open.run(|v| v.people()).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        let closed = Arc::new(AtomicBool::new(false));
        let asked = Instant::now();
        open.lock(LOCK_WAIT, closing(&closed)).await;
        assert!(
            asked.elapsed() < Duration::from_secs(1),
            "{:?}",
            asked.elapsed()
        );
        assert!(open.peek(|_| ()).await.is_none(), "locked for the window");
        assert!(!closed.load(Ordering::SeqCst), "the job still has it");

        // Unlocked again while the old job runs: the old vault is closed before the new one
        // is in, and the read that waited got none of them.
        let reopened = Vault::open(
            dir.path(),
            ownrecord_core::Unlock::passphrase(Zeroizing::new("correct horse".into())),
            Arc::new(SystemClock),
        )
        .unwrap();
        open.open(reopened).await;
        assert!(closed.load(Ordering::SeqCst), "closed as the job ended");
        assert!(running.await.unwrap().is_ok());
        assert!(matches!(waiting.await.unwrap(), Err(CommandError::Locked)));
        assert!(
            open.run(|v| v.people()).await.is_ok(),
            "the new session works"
        );
    }
}
