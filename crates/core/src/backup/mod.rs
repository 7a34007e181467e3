//! Encrypted backups of the whole vault, in generations, to a folder the patient chooses.
//!
//! A generation is a folder `ownrecord-backup-<UTC time>/` holding `vault.db` (a copy taken with
//! SQLite's online backup API from its own connection, in one step, so it is one consistent
//! snapshot even while the app or a sync writes; still encrypted with the vault key), `vault.json`
//! (the sealed keys, so the recovery key or passphrase opens it) and `manifest.json` (see
//! [`manifest`]). It is written as `.ownrecord-backup-<time>.partial/`, synced, and renamed: an
//! interrupted backup leaves only a partial folder, which restore ignores and the next backup
//! removes. After each backup the oldest generations of the same vault are thinned (see [`thin`]).

pub mod manifest;
pub mod restore;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rusqlite::OpenFlags;
use rusqlite::backup::{Backup, StepResult};
use serde::Serialize;

use crate::clock::{Clock, rfc3339};
use crate::error::{Error, Result};
use crate::vault::key::VaultKey;
use crate::vault::settings::{SETTINGS_FILE, Settings};
use crate::vault::{DB_FILE, Vault, keyed_connection};
use manifest::{BackupCounts, FileHash, MANIFEST_FILE, Manifest};

/// Generation folders start with this; the rest of the name is the UTC time.
pub const GENERATION_PREFIX: &str = "ownrecord-backup-";
const PARTIAL_SUFFIX: &str = ".partial";
/// Generations kept besides the monthly ones (see [`thin`]).
pub const DEFAULT_KEEP: usize = 10;
/// Months back for which the newest older generation of each is kept.
const MONTHLY: usize = 12;
const PREFERENCE: &str = "backup_folder";

/// Everything a backup needs from the vault, so it can run without holding the vault (the desktop
/// backs up on a worker thread while the patient goes on).
pub struct BackupJob {
    vault_dir: PathBuf,
    key: VaultKey,
    settings: Settings,
    clock: Arc<dyn Clock>,
}

/// One backup written.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct BackupReport {
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub generation: PathBuf,
    pub created: String,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub bytes: u64,
    pub counts: BackupCounts,
    /// Older generations removed by thinning.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub thinned: usize,
}

/// A generation found in a backup folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generation {
    pub path: PathBuf,
    /// The folder name's time part, e.g. `2026-12-01T154507Z` (sorts as time does).
    pub stamp: String,
}

impl Vault {
    /// What a backup of this vault needs; run it with [`BackupJob::run`].
    pub fn backup_job(&self) -> BackupJob {
        BackupJob {
            vault_dir: self.dir().to_owned(),
            key: self.key().clone(),
            settings: self.settings().clone(),
            clock: self.clock(),
        }
    }

    /// Backs up to `to` now (created if missing), keeping [`DEFAULT_KEEP`] generations.
    pub fn backup_to(&self, to: &Path) -> Result<BackupReport> {
        std::fs::create_dir_all(to).map_err(|e| Error::write(to, e))?;
        self.backup_job().run(to, DEFAULT_KEEP)
    }

    /// The folder automatic backups go to, if the patient chose one.
    pub fn backup_folder(&self) -> Result<Option<PathBuf>> {
        Ok(crate::vault::preferences::get(self.db(), PREFERENCE)?.map(PathBuf::from))
    }

    /// Chooses (or, with `None`, forgets) the folder automatic backups go to.
    pub fn set_backup_folder(&mut self, folder: Option<&Path>) -> Result<()> {
        let value = folder.map(|f| f.to_string_lossy().into_owned());
        self.write(crate::audit::AuditKind::BackupFolder, |tx| {
            crate::vault::preferences::set(tx, PREFERENCE, value.as_deref())?;
            Ok(((), serde_json::json!({ "set": value.is_some() })))
        })
    }

    /// The chosen folder, its newest backup of this vault, and what stands in the way, if anything.
    pub fn backup_status(&self) -> Result<BackupStatus> {
        let Some(folder) = self.backup_folder()? else {
            return Ok(BackupStatus::default());
        };
        let present = folder.is_dir();
        let mut status = BackupStatus {
            folder: Some(folder.clone()),
            present,
            ..Default::default()
        };
        if !present {
            status.problem = Some(Error::BackupFolderMissing(folder).to_string());
            return Ok(status);
        }
        let ours = generations_of(&folder, &self.settings().vault_id);
        status.generations = ours.len();
        if let Some(newest) = ours.last() {
            status.last_backup = Manifest::load(newest).ok().map(|m| m.created);
            status.last_generation = Some(newest.clone());
        }
        Ok(status)
    }
}

/// `backup status`: where automatic backups go and how they stand.
#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct BackupStatus {
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub folder: Option<PathBuf>,
    /// Whether the folder is there now (a drive may be unplugged).
    pub present: bool,
    /// Complete generations of this vault in the folder.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub generations: usize,
    pub last_backup: Option<String>,
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub last_generation: Option<PathBuf>,
    /// One sentence when something stands in the way.
    pub problem: Option<String>,
}

impl BackupJob {
    /// Writes a new generation into `to` (which must exist), then thins older generations of
    /// this vault down to `keep` (plus monthly ones). A failure leaves no partial generation.
    pub fn run(&self, to: &Path, keep: usize) -> Result<BackupReport> {
        if !to.is_dir() {
            return Err(Error::BackupFolderMissing(to.to_owned()));
        }
        remove_partials(to);
        let now = self.clock.now();
        let created = rfc3339(now);
        let name = free_name(to, &stamp(now));
        let partial = to.join(format!(".{name}{PARTIAL_SUFFIX}"));
        crate::vault::create_private_dir(&partial).map_err(|e| full_or(e, to))?;
        let written = self.write_generation(&partial, created.clone());
        let (counts, bytes) = match written {
            Ok(done) => done,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&partial);
                return Err(full_or(e, to));
            }
        };
        let generation = to.join(&name);
        let installed = std::fs::rename(&partial, &generation).and_then(|()| sync_dir(to));
        if let Err(e) = installed {
            let _ = std::fs::remove_dir_all(&partial);
            return Err(full_or(Error::write(to, e), to));
        }
        let thinned = thin_folder(to, &self.settings.vault_id, keep);
        Ok(BackupReport {
            generation,
            created,
            bytes,
            counts,
            thinned,
        })
    }

    fn write_generation(&self, partial: &Path, created: String) -> Result<(BackupCounts, u64)> {
        let copy = partial.join(DB_FILE);
        let schema;
        let counts;
        {
            let source = keyed_connection(
                &self.vault_dir.join(DB_FILE),
                &self.key,
                OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            source.busy_timeout(std::time::Duration::from_secs(30))?;
            let mut target = keyed_connection(
                &copy,
                &self.key,
                OpenFlags::SQLITE_OPEN_READ_WRITE
                    | OpenFlags::SQLITE_OPEN_CREATE
                    | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            {
                let backup = Backup::new(&source, &mut target)?;
                // All pages in one step: one read transaction, so one consistent snapshot
                // (a writer in WAL mode goes on meanwhile; a step cut short would restart).
                loop {
                    match backup.step(-1)? {
                        StepResult::Done => break,
                        StepResult::More | StepResult::Busy | StepResult::Locked => {
                            std::thread::sleep(std::time::Duration::from_millis(50))
                        }
                        _ => std::thread::sleep(std::time::Duration::from_millis(50)),
                    }
                }
            }
            // The copy is one self-contained file: no WAL beside it.
            target.execute_batch("PRAGMA journal_mode = DELETE;")?;
            schema = target.pragma_query_value(None, "user_version", |r| r.get(0))?;
            counts = BackupCounts::of(&target)?;
            target.close().map_err(|(_, e)| Error::from(e))?;
        }
        let settings_path = partial.join(SETTINGS_FILE);
        // Cannot panic: a derived struct with string keys serializes.
        #[allow(clippy::expect_used)]
        let settings_json = serde_json::to_vec_pretty(&self.settings).expect("settings serialize");
        write_synced(&settings_path, &settings_json)?;
        sync_file(&copy)?;
        let files = vec![
            FileHash::of(&copy).map_err(|e| Error::io(&copy, e))?,
            FileHash::of(&settings_path).map_err(|e| Error::io(&settings_path, e))?,
        ];
        let bytes = files.iter().map(|f| f.bytes).sum();
        let manifest = Manifest::new(
            &self.settings.vault_id,
            created,
            schema,
            counts,
            files,
            &self.key,
        );
        write_synced(&partial.join(MANIFEST_FILE), &manifest.to_json())?;
        sync_dir(partial).map_err(|e| Error::write(partial, e))?;
        Ok((counts, bytes))
    }
}

/// The complete generations in `folder`, oldest first (partial ones are not listed).
pub fn generations(folder: &Path) -> Vec<Generation> {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return Vec::new();
    };
    let mut found: Vec<Generation> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .filter_map(|e| {
            let name = e.file_name().to_str()?.to_owned();
            let stamp = name.strip_prefix(GENERATION_PREFIX)?.to_owned();
            Some(Generation {
                path: e.path(),
                stamp,
            })
        })
        .collect();
    found.sort_by(|a, b| a.stamp.cmp(&b.stamp));
    found
}

/// Which generations (oldest first, by stamp) thinning removes: all but the newest `keep`, and,
/// of the older ones, the newest of each of the [`MONTHLY`] most recent months.
pub fn thin(stamps: &[String], keep: usize) -> Vec<usize> {
    let older = stamps.len().saturating_sub(keep.max(1));
    let mut kept_months: Vec<&str> = Vec::new();
    let mut removed = Vec::new();
    for i in (0..older).rev() {
        let month = stamps.get(i).and_then(|s| s.get(..7)).unwrap_or_default();
        if kept_months.len() < MONTHLY && !kept_months.contains(&month) {
            kept_months.push(month);
        } else {
            removed.push(i);
        }
    }
    removed.reverse();
    removed
}

/// The complete generations of one vault in `folder`, oldest first (by their manifest's vault id;
/// another vault's backups in the same folder are left alone).
pub fn generations_of(folder: &Path, vault_id: &str) -> Vec<PathBuf> {
    generations(folder)
        .into_iter()
        .filter(|g| Manifest::load(&g.path).is_ok_and(|m| m.vault_id == vault_id))
        .map(|g| g.path)
        .collect()
}

fn thin_folder(folder: &Path, vault_id: &str, keep: usize) -> usize {
    let ours = generations_of(folder, vault_id);
    let stamps: Vec<String> = ours
        .iter()
        .filter_map(|p| {
            p.file_name()?
                .to_str()?
                .strip_prefix(GENERATION_PREFIX)
                .map(str::to_owned)
        })
        .collect();
    if stamps.len() != ours.len() {
        return 0;
    }
    thin(&stamps, keep)
        .into_iter()
        .filter_map(|i| ours.get(i))
        .filter(|g| std::fs::remove_dir_all(g).is_ok())
        .count()
}

/// Removes what interrupted backups left (`.ownrecord-backup-*.partial`).
pub(crate) fn remove_partials(folder: &Path) {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return;
    };
    for entry in entries.filter_map(|e| e.ok()) {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.starts_with(&format!(".{GENERATION_PREFIX}")) && name.ends_with(PARTIAL_SUFFIX) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// `2026-12-01T154507Z`: sorts as time does, and has no `:` (which FAT drives refuse).
// Cannot panic: a fixed format description of numeric components always formats.
#[allow(clippy::expect_used)]
fn stamp(at: time::OffsetDateTime) -> String {
    at.format(time::macros::format_description!(
        "[year]-[month]-[day]T[hour][minute][second]Z"
    ))
    .expect("a UTC time formats")
}

/// A generation name not yet taken (two backups in one second get `-1`, `-2`, ...).
fn free_name(folder: &Path, stamp: &str) -> String {
    let mut name = format!("{GENERATION_PREFIX}{stamp}");
    let mut n = 0u32;
    while folder.join(&name).exists() {
        n = n.saturating_add(1);
        name = format!("{GENERATION_PREFIX}{stamp}-{n}");
    }
    name
}

/// A full disk while writing into the backup folder says so about that folder.
fn full_or(e: Error, folder: &Path) -> Error {
    match e {
        Error::DiskFull => Error::BackupDiskFull(folder.to_owned()),
        other => other,
    }
}

pub(crate) fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let write = || -> std::io::Result<()> {
        let mut file = std::fs::File::create(path)?;
        file.write_all(bytes)?;
        file.sync_all()
    };
    write().map_err(|e| Error::write(path, e))
}

pub(crate) fn sync_file(path: &Path) -> Result<()> {
    std::fs::File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|e| Error::write(path, e))
}

pub(crate) fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    std::fs::File::open(dir)?.sync_all()?;
    let _ = dir;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamps(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn thinning_keeps_the_newest_and_one_per_month() {
        let all = stamps(&[
            "2025-10-03T100000Z",
            "2025-10-20T100000Z",
            "2025-11-02T100000Z",
            "2025-11-30T100000Z",
            "2026-01-05T100000Z",
            "2026-01-06T100000Z",
            "2026-01-07T100000Z",
        ]);
        // The newest 2; of the 5 older: the newest of Jan, Nov and Oct stay.
        assert_eq!(thin(&all, 2), vec![0, 2]);
        assert!(thin(&all, 10).is_empty());
        // At least one generation is always kept.
        assert_eq!(thin(&all, 0).len(), thin(&all, 1).len());
    }

    #[test]
    fn thinning_keeps_at_most_twelve_months() {
        let all: Vec<String> = (1..=24)
            .map(|m| format!("{}-{:02}-01T000000Z", 2024 + (m - 1) / 12, (m - 1) % 12 + 1))
            .collect();
        let removed = thin(&all, 1);
        // 23 older ones, 12 months kept: the 11 oldest go.
        assert_eq!(removed, (0..11).collect::<Vec<_>>());
    }

    #[test]
    fn stamps_sort_as_time_does_and_avoid_colons() {
        let a = stamp(time::macros::datetime!(2026-02-09 23:59:59 UTC));
        let b = stamp(time::macros::datetime!(2026-12-01 00:00:00 UTC));
        assert_eq!(a, "2026-02-09T235959Z");
        assert!(a < b && !a.contains(':'));
    }
}
