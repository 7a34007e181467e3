//! `#[tauri::command]`s: one per use case, each a few lines that call the core. They are async,
//! so the vault's work runs on the async runtime, never on the window's main thread; progress
//! streams to the UI over `ipc::Channel`s.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ownrecord_core::audit::{AuditEntry, AuditKind, Filter, Verified};
use ownrecord_core::backup::restore::{RestoreReport, RestoreRequest, restore};
use ownrecord_core::backup::{BackupReport, BackupStatus};
use ownrecord_core::export::{self, Section, Selection, WrittenFile};
use ownrecord_core::portal::directory::{Directory, DirectoryEntry};
use ownrecord_core::portal::{ConnectRequest, Connection, client_ids};
use ownrecord_core::sync::{SyncOptions, SyncProgress, SyncReport};
use ownrecord_core::vault::browse::{Category, LabSeries, ListPage, ResourceDetail};
use ownrecord_core::vault::document::{DocumentOf, DocumentView};
use ownrecord_core::vault::people::{Person, PersonChoice};
use ownrecord_core::vault::query::{SearchHit, Summary};
use ownrecord_core::vault::resources::StoreCounts;
use ownrecord_core::wipe::WipeReport;
use ownrecord_core::{KeyProtection, SystemClock, Unlock, Vault};
use serde::Serialize;
use tauri::State;
use tauri::ipc::Channel;
use zeroize::Zeroizing;

use crate::backups::{self, BackupAttempt, Backups};
use crate::deep_link::SignIns;
use crate::error::CommandError;
use crate::jobs::{self, OpenVault};
use crate::sharing::{DemoShareHost, PendingResearch};

pub(crate) type Result<T> = std::result::Result<T, CommandError>;

pub struct AppState {
    pub vault_dir: PathBuf,
    /// The open vault, while unlocked, and the jobs running on it (see [`jobs`]).
    pub vault: Arc<OpenVault>,
    /// Automatic backups: told of each change, run by [`backups::schedule`].
    pub backups: Arc<Backups>,
    /// The demo portal `cargo xtask run` starts.
    pub demo_portal: String,
    /// The share host `cargo xtask run` starts, if it did.
    pub demo_share_host: Option<DemoShareHost>,
    /// The sign-in waiting for an `org.ownrecord.app:` callback, if any.
    pub sign_ins: SignIns,
    /// The research copy previewed and not yet given (in memory; dropped at lock).
    pub research: PendingResearch,
}

impl AppState {
    pub fn new(vault_dir: PathBuf) -> Self {
        AppState {
            vault_dir,
            vault: Arc::new(OpenVault::default()),
            backups: Arc::new(Backups::new()),
            demo_portal: std::env::var("OWNRECORD_DEMO_PORTAL")
                .unwrap_or_else(|_| "http://127.0.0.1:8765/fhir".to_owned()),
            demo_share_host: DemoShareHost::from_env(),
            sign_ins: SignIns::default(),
            research: PendingResearch::default(),
        }
    }
}

/// Runs `f` on the unlocked vault, on a blocking thread (see [`OpenVault::run`]). Async core
/// calls inside use [`block_on`].
pub(crate) async fn with_vault<T: Send + 'static>(
    state: &State<'_, AppState>,
    f: impl FnOnce(&mut Vault) -> ownrecord_core::Result<T> + Send + 'static,
) -> Result<T> {
    state.vault.run(f).await
}

/// [`with_vault`] for a command that changes the vault: a backup follows once it is quiet.
pub(crate) async fn changing<T: Send + 'static>(
    state: &State<'_, AppState>,
    f: impl FnOnce(&mut Vault) -> ownrecord_core::Result<T> + Send + 'static,
) -> Result<T> {
    let result = with_vault(state, f).await;
    state.backups.changed();
    result
}

/// Runs `f` on a blocking thread (unlocking derives a key with Argon2id, which takes a while).
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> ownrecord_core::Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| {
            CommandError::Core(ownrecord_core::Error::Internal(
                "the operation stopped unexpectedly".into(),
            ))
        })?
        .map_err(CommandError::from)
}

/// Runs a core future to its end on the current (blocking) thread.
pub(crate) fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Handle::current().block_on(future)
}

#[derive(Serialize, ts_rs::TS)]
pub struct VaultStatus {
    pub exists: bool,
    pub unlocked: bool,
    /// Where the vault lives, to tell the patient in one sentence.
    pub dir: String,
    pub demo_portal: String,
    /// The share host on this computer for the demo (its address), when one runs.
    pub demo_share_host: Option<String>,
    /// Whether the open vault has a recovery key (none while locked): without one, the window
    /// offers to make it.
    pub has_recovery_key: Option<bool>,
}

async fn status(state: &State<'_, AppState>) -> VaultStatus {
    let has_recovery_key = state.vault.peek(Vault::has_recovery_key).await;
    VaultStatus {
        exists: ownrecord_core::vault::exists(&state.vault_dir),
        unlocked: has_recovery_key.is_some(),
        dir: state.vault_dir.display().to_string(),
        demo_portal: state.demo_portal.clone(),
        demo_share_host: state.demo_share_host.as_ref().map(|d| d.url.clone()),
        has_recovery_key,
    }
}

/// A passphrase or recovery key as typed (empty: none).
fn secret(p: Option<String>) -> Option<Zeroizing<String>> {
    p.filter(|p| !p.trim().is_empty()).map(Zeroizing::new)
}

/// A new vault, and its recovery key to show once.
#[derive(Serialize, ts_rs::TS)]
pub struct CreatedVault {
    pub status: VaultStatus,
    /// Eight groups of five characters; never stored, shown only now.
    pub recovery_key: Option<String>,
}

#[tauri::command]
pub async fn vault_status(state: State<'_, AppState>) -> Result<VaultStatus> {
    Ok(status(&state).await)
}

#[tauri::command]
pub async fn create_vault(
    state: State<'_, AppState>,
    passphrase: Option<String>,
) -> Result<CreatedVault> {
    let protection = match secret(passphrase) {
        Some(p) => KeyProtection {
            keyring: true,
            ..KeyProtection::passphrase(p)
        },
        None => KeyProtection::keyring(),
    };
    let dir = state.vault_dir.clone();
    let mut vault =
        blocking(move || Vault::create(&dir, protection, Arc::new(SystemClock))).await?;
    let recovery_key = vault
        .take_new_recovery_key()
        .map(|k| k.to_text().as_str().to_owned());
    state.vault.open(vault).await;
    Ok(CreatedVault {
        status: status(&state).await,
        recovery_key,
    })
}

/// Unlocks with the keyring, or the passphrase, or the recovery key (which also puts the key
/// back into the keyring).
#[tauri::command]
pub async fn unlock(
    state: State<'_, AppState>,
    passphrase: Option<String>,
    recovery_key: Option<String>,
) -> Result<VaultStatus> {
    let unlock = Unlock {
        passphrase: secret(passphrase),
        recovery_key: secret(recovery_key),
    };
    let dir = state.vault_dir.clone();
    let vault = blocking(move || Vault::open(&dir, unlock, Arc::new(SystemClock))).await?;
    state.vault.open(vault).await;
    Ok(status(&state).await)
}

/// Locks within a second, whatever runs: a sync or sign-in is stopped, and the vault is closed
/// as soon as the job gives it back (see [`jobs`]).
#[tauri::command]
pub async fn lock(state: State<'_, AppState>) -> Result<VaultStatus> {
    state.research.drop_copy();
    lock_vault(&state.vault, state.backups.clone()).await;
    Ok(status(&state).await)
}

/// [`lock`], also for the operating system's lock and sleep.
pub(crate) async fn lock_vault(vault: &Arc<OpenVault>, backups: Arc<Backups>) {
    vault
        .lock(jobs::LOCK_WAIT, move |vault| {
            // A change not yet backed up is backed up now; the job keeps its own copy of the
            // key only until it is done.
            let pending = match backups.take_pending() {
                true => backups::take(&vault).ok().flatten(),
                false => None,
            };
            let _ = vault.lock();
            if let Some((job, folder)) = pending {
                tauri::async_runtime::spawn(async move { backups.run(job, folder, true).await });
            }
        })
        .await;
}

/// Restores the newest backup in `from` (a backup folder, or one generation in it) into the
/// app's vault folder, which must hold no vault; the restored vault is left open.
#[tauri::command]
pub async fn restore_backup(
    state: State<'_, AppState>,
    from: String,
    recovery_key: Option<String>,
    passphrase: Option<String>,
) -> Result<RestoreReport> {
    let unlock = Unlock {
        passphrase: secret(passphrase),
        recovery_key: secret(recovery_key),
    };
    let to = state.vault_dir.clone();
    let (vault, report) = blocking(move || {
        let request = RestoreRequest {
            from: Path::new(&from),
            to: &to,
            unlock,
            replace: false,
            as_new: false,
        };
        restore(request, Arc::new(SystemClock))
    })
    .await?;
    state.vault.open(vault).await;
    Ok(report)
}

/// A new recovery key, to show once; the old one no longer opens the vault.
#[tauri::command]
pub async fn new_recovery_key(state: State<'_, AppState>) -> Result<String> {
    changing(&state, move |v| {
        Ok(v.new_recovery_key()?.to_text().as_str().to_owned())
    })
    .await
}

/// What the Backups view shows: the folder and its newest backup (read from the folder), and
/// the last backup this app made or tried.
#[derive(Serialize, ts_rs::TS)]
pub struct BackupsView {
    pub status: BackupStatus,
    pub last_attempt: Option<BackupAttempt>,
}

#[tauri::command]
pub async fn backup_status(state: State<'_, AppState>) -> Result<BackupsView> {
    let status = with_vault(&state, move |v| v.backup_status()).await?;
    Ok(BackupsView {
        status,
        last_attempt: state.backups.last(),
    })
}

/// Chooses the folder automatic backups go to (made if missing), or with none stops them.
#[tauri::command]
pub async fn set_backup_folder(
    state: State<'_, AppState>,
    folder: Option<String>,
) -> Result<BackupsView> {
    let folder = folder.filter(|f| !f.trim().is_empty()).map(PathBuf::from);
    let status = changing(&state, move |v| {
        let folder = match folder {
            Some(f) => {
                std::fs::create_dir_all(&f)
                    .map_err(|_| ownrecord_core::Error::BackupFolderMissing(f.clone()))?;
                Some(std::fs::canonicalize(&f).unwrap_or(f))
            }
            None => None,
        };
        v.set_backup_folder(folder.as_deref())?;
        v.backup_status()
    })
    .await?;
    Ok(BackupsView {
        status,
        last_attempt: state.backups.last(),
    })
}

/// Backs up into the chosen folder now, off the vault's lock.
#[tauri::command]
pub async fn back_up_now(state: State<'_, AppState>) -> Result<BackupReport> {
    let (job, folder) = with_vault(&state, move |v| backups::take(v))
        .await?
        .ok_or(CommandError::NoBackupFolder)?;
    Ok(state.backups.run(job, folder, false).await?)
}

/// The system's folder dialog, for the backup folder or a backup to restore. `None` when
/// cancelled.
#[tauri::command]
pub async fn choose_backup_folder<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
) -> Result<Option<String>> {
    use tauri_plugin_dialog::DialogExt;
    let (sender, chosen) = tokio::sync::oneshot::channel();
    app.dialog().file().pick_folder(move |path| {
        let _ = sender.send(path);
    });
    Ok(chosen_path(chosen).await)
}

#[tauri::command]
pub async fn people(state: State<'_, AppState>) -> Result<Vec<Person>> {
    with_vault(&state, move |v| v.people()).await
}

#[tauri::command]
pub async fn rename_person(state: State<'_, AppState>, person: i64, name: String) -> Result<()> {
    changing(&state, move |v| v.rename_person(person, &name)).await
}

/// `other` is the same human as `keep`: `other`'s record moves into `keep`'s.
#[tauri::command]
pub async fn link_people(state: State<'_, AppState>, keep: i64, other: i64) -> Result<()> {
    changing(&state, move |v| v.link_people(keep, other)).await
}

/// Splits one source off a person into a new person; returns the new person's id.
#[tauri::command]
pub async fn unlink_source(state: State<'_, AppState>, person: i64, source: i64) -> Result<i64> {
    changing(&state, move |v| v.unlink_source(person, source)).await
}

/// Deletes a person and their resources. The patient types DELETE to confirm, as for a wipe.
#[tauri::command]
pub async fn remove_person(
    state: State<'_, AppState>,
    person: i64,
    confirmation: String,
) -> Result<u64> {
    if confirmation != "DELETE" {
        return Err(CommandError::NotConfirmed);
    }
    changing(&state, move |v| v.remove_person(person)).await
}

#[tauri::command]
pub async fn record_summary(state: State<'_, AppState>, person: i64) -> Result<Summary> {
    with_vault(&state, move |v| v.summary(Some(person))).await
}

#[tauri::command]
pub async fn list_items(
    state: State<'_, AppState>,
    person: i64,
    category: Category,
    offset: i64,
    limit: i64,
) -> Result<ListPage> {
    with_vault(&state, move |v| {
        v.list(person, category, offset, limit.clamp(1, 500))
    })
    .await
}

#[tauri::command]
pub async fn resource_detail(
    state: State<'_, AppState>,
    person: i64,
    resource_type: String,
    id: String,
) -> Result<ResourceDetail> {
    with_vault(&state, move |v| v.resource(person, &resource_type, &id)).await
}

/// A document (a DocumentReference, or with `of` a DiagnosticReport's presented form) with what
/// the window shows of it (narrative and notes sanitised, text) and the entries made from it.
#[tauri::command]
pub async fn document_view(
    state: State<'_, AppState>,
    person: i64,
    id: String,
    of: Option<DocumentOf>,
) -> Result<DocumentView> {
    with_vault(&state, move |v| {
        v.document_view_of(person, of.unwrap_or_default(), &id)
    })
    .await
}

/// A document's original (a PDF, an image, the C-CDA XML) to a path the patient chose.
#[tauri::command]
pub async fn save_document(
    state: State<'_, AppState>,
    person: i64,
    id: String,
    path: String,
    of: Option<DocumentOf>,
) -> Result<WrittenFile> {
    changing(&state, move |v| {
        v.save_document_of(person, of.unwrap_or_default(), &id, &PathBuf::from(&path))
    })
    .await
}

#[tauri::command]
pub async fn search_record(
    state: State<'_, AppState>,
    person: i64,
    text: String,
) -> Result<Vec<SearchHit>> {
    with_vault(&state, move |v| v.search(person, &text, 100)).await
}

#[tauri::command]
pub async fn lab_trend(state: State<'_, AppState>, person: i64, code: String) -> Result<LabSeries> {
    with_vault(&state, move |v| v.lab_series(person, &code)).await
}

#[tauri::command]
pub async fn portal_directory(text: String) -> Result<Vec<DirectoryEntry>> {
    Ok(Directory::bundled().search(&text))
}

#[tauri::command]
pub async fn connections(state: State<'_, AppState>) -> Result<Vec<Connection>> {
    with_vault(&state, move |v| v.connections()).await
}

/// A vendor for the connection screen's "Made by" choice and its client-id field.
#[derive(Serialize, ts_rs::TS)]
pub struct Vendor {
    pub code: String,
    pub name: String,
    /// The client id OwnRecord signs in with there (the patient's own, else the shipped one).
    pub client_id: Option<String>,
}

#[tauri::command]
pub async fn portal_vendors(state: State<'_, AppState>) -> Result<Vec<Vendor>> {
    with_vault(&state, move |v| {
        client_ids::vendors()
            .into_iter()
            .map(|(code, name)| {
                Ok(Vendor {
                    code: code.to_owned(),
                    name: name.to_owned(),
                    client_id: v.vendor_client_id(code)?,
                })
            })
            .collect()
    })
    .await
}

/// What the connection screen asks to connect.
#[derive(serde::Deserialize, ts_rs::TS)]
pub struct ConnectForm {
    /// The portal's FHIR base URL (from the directory, or typed).
    pub url: String,
    /// Who made the portal (a vendor code); the directory's vendor when empty.
    pub vendor: Option<String>,
    /// The practice, at a portal that serves many (athenahealth).
    pub practice: Option<String>,
    /// The patient's own client id for the vendor: saved for it, then used.
    pub client_id: Option<String>,
}

/// The core's request for `form`. The patient's own client id is saved for the vendor first;
/// without one, a chosen vendor's id is used (the core looks up only the directory's vendor).
fn connect_request(v: &mut Vault, form: ConnectForm) -> ownrecord_core::Result<ConnectRequest> {
    let given = |s: Option<String>| s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    let (vendor, own_id) = (given(form.vendor), given(form.client_id));
    if let (Some(vendor), Some(id)) = (&vendor, &own_id) {
        v.set_client_id(vendor, Some(id))?;
    }
    // None given: the core chooses, the patient's own for the vendor or the shipped one (see
    // ownrecord_core::portal::client_ids).
    let client_id = own_id.unwrap_or_default();
    Ok(ConnectRequest {
        vendor,
        practice: given(form.practice),
        ..ConnectRequest::new(form.url.trim(), &client_id)
    })
}

/// Signs in to a portal in the system browser; the sign-in address also goes to `on_sign_in`
/// so the window can offer it as a link if no browser opened. The portal comes back to a
/// loopback address or, where its vendor accepts only that, to `org.ownrecord.app:/callback`,
/// which reaches this sign-in through [`SignIns`] while it waits.
#[tauri::command]
pub async fn connect_portal(
    state: State<'_, AppState>,
    form: ConnectForm,
    on_sign_in: Channel<String>,
) -> Result<Connection> {
    let (mut callbacks, _waiting) = state.sign_ins.wait();
    // A lock ends the wait for the browser.
    let job = state.vault.job();
    let stop = job.stop();
    changing(&state, move |v| {
        let request = ConnectRequest {
            stop,
            ..connect_request(v, form)?
        };
        block_on(v.connect_from_app(request, &mut callbacks, move |sign_in| {
            let _ = on_sign_in.send(sign_in.to_owned());
            // No browser (e.g. a test machine) is not an error: the window shows the link.
            let _ = opener::open_browser(sign_in);
            Ok(())
        }))
    })
    .await
}

/// Syncs a portal. `person` says whose record it is when the first sync asks (`who_is_this`).
#[tauri::command]
pub async fn sync_portal(
    state: State<'_, AppState>,
    id: i64,
    person: Option<PersonChoice>,
    on_progress: Channel<SyncProgress>,
) -> Result<SyncReport> {
    // A lock stops the sync between pages (whole pages are kept; the next sync goes on).
    let job = state.vault.job();
    let options = SyncOptions {
        person: person.unwrap_or_default(),
        stop: job.stop(),
        ..SyncOptions::default()
    };
    changing(&state, move |v| {
        block_on(v.sync(id, options, &mut |p| {
            let _ = on_progress.send(p);
        }))
    })
    .await
}

/// The system's open dialog for a FHIR or C-CDA file, opened by the shell. `None` when cancelled.
#[tauri::command]
pub async fn choose_import_file<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
) -> Result<Option<String>> {
    use tauri_plugin_dialog::DialogExt;
    let (sender, chosen) = tokio::sync::oneshot::channel();
    app.dialog()
        .file()
        .add_filter("FHIR or C-CDA", &["json", "ndjson", "xml", "zip"])
        .add_filter("FHIR (JSON, NDJSON)", &["json", "ndjson"])
        .add_filter("C-CDA (XML, zip)", &["xml", "zip"])
        .pick_file(move |path| {
            let _ = sender.send(path);
        });
    Ok(chosen_path(chosen).await)
}

/// What importing one file did, for the window.
#[derive(Serialize, ts_rs::TS)]
pub struct ImportReport {
    pub file: String,
    #[serde(flatten)]
    pub counts: StoreCounts,
    /// The clinical documents (C-CDA) the file held, each with what was structured from it.
    pub documents: Vec<ImportedDocument>,
}

/// One clinical document of an imported file.
#[derive(Serialize, ts_rs::TS)]
pub struct ImportedDocument {
    /// Where in the file it was (the file itself, or an entry of a zip).
    pub path: String,
    pub title: String,
    /// The DocumentReference that keeps the original.
    pub document_reference_id: String,
    /// "Problems 12, Medications 14 (2 kept as text only), …".
    pub summary: String,
}

/// How far an import is, as a fraction `done / total`.
#[derive(Clone, Serialize, ts_rs::TS)]
pub struct ImportProgress {
    #[ts(type = "number")]
    pub resources: u64,
    #[ts(type = "number")]
    pub done: u64,
    #[ts(type = "number")]
    pub total: u64,
}

/// Imports one file. `person` says whose record it is when the import asks (`who_is_this`).
#[tauri::command]
pub async fn import_file(
    state: State<'_, AppState>,
    path: String,
    person: Option<PersonChoice>,
    on_progress: Channel<ImportProgress>,
) -> Result<ImportReport> {
    let report = changing(&state, move |v| {
        v.import_file(
            &PathBuf::from(&path),
            person.unwrap_or_default(),
            &mut |p| {
                let _ = on_progress.send(ImportProgress {
                    resources: p.resources,
                    done: p.done,
                    total: p.total,
                });
            },
        )
    })
    .await?;
    Ok(ImportReport {
        file: report.file,
        counts: report.counts,
        documents: report
            .documents
            .into_iter()
            .map(|d| ImportedDocument {
                path: d.path,
                title: d.title,
                document_reference_id: d.document_reference_id,
                summary: d.summary,
            })
            .collect(),
    })
}

#[tauri::command]
pub async fn disconnect_portal(state: State<'_, AppState>, id: i64) -> Result<bool> {
    changing(&state, move |v| block_on(v.disconnect(id))).await
}

pub(crate) fn selection(
    person: i64,
    sections: Vec<Section>,
    since: Option<String>,
) -> Result<Selection> {
    let mut selection = Selection {
        person: Some(person),
        ..Selection::default()
    };
    if !sections.is_empty() {
        selection.sections = sections.into_iter().collect();
    }
    if let Some(since) = since.filter(|s| !s.is_empty()) {
        selection.since = Some(export::parse_date(&since)?);
    }
    Ok(selection)
}

/// The system's save dialog, opened by the shell (the window itself has no file-system access).
/// `None` when the patient cancels.
#[tauri::command]
pub async fn choose_save_path<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
    suggested_name: String,
) -> Result<Option<String>> {
    use tauri_plugin_dialog::DialogExt;
    let (sender, chosen) = tokio::sync::oneshot::channel();
    app.dialog()
        .file()
        .set_file_name(suggested_name)
        .save_file(move |path| {
            let _ = sender.send(path);
        });
    Ok(chosen_path(chosen).await)
}

/// The path the patient chose in a system dialog (none when they cancelled).
pub(crate) async fn chosen_path(
    chosen: tokio::sync::oneshot::Receiver<Option<tauri_plugin_dialog::FilePath>>,
) -> Option<String> {
    chosen
        .await
        .ok()
        .flatten()
        .and_then(|p| p.into_path().ok())
        .map(|p| p.display().to_string())
}

/// The PDF summary or the IPS file, to a path the patient chose.
type ExportFn = fn(&mut Vault, &Selection, &std::path::Path) -> ownrecord_core::Result<WrittenFile>;

async fn export_to(
    state: State<'_, AppState>,
    export: ExportFn,
    person: i64,
    path: String,
    sections: Vec<Section>,
    since: Option<String>,
) -> Result<WrittenFile> {
    let selection = selection(person, sections, since)?;
    changing(&state, move |v| {
        export(v, &selection, &PathBuf::from(&path))
    })
    .await
}

#[tauri::command]
pub async fn export_pdf(
    state: State<'_, AppState>,
    person: i64,
    path: String,
    sections: Vec<Section>,
    since: Option<String>,
) -> Result<WrittenFile> {
    export_to(state, export::export_pdf, person, path, sections, since).await
}

#[tauri::command]
pub async fn export_ips(
    state: State<'_, AppState>,
    person: i64,
    path: String,
    sections: Vec<Section>,
    since: Option<String>,
) -> Result<WrittenFile> {
    export_to(state, export::export_ips, person, path, sections, since).await
}

#[tauri::command]
pub async fn audit_log(
    state: State<'_, AppState>,
    disclosures_only: bool,
) -> Result<Vec<AuditEntry>> {
    let filter = Filter {
        kinds: if disclosures_only {
            vec![AuditKind::Export, AuditKind::Share]
        } else {
            Vec::new()
        },
    };
    with_vault(&state, move |v| v.audit_entries(&filter)).await
}

#[tauri::command]
pub async fn audit_verify(state: State<'_, AppState>) -> Result<Verified> {
    with_vault(&state, move |v| v.verify_audit()).await
}

/// Wipes the vault. The patient types DELETE to confirm; anything else changes nothing.
#[tauri::command]
pub async fn wipe(state: State<'_, AppState>, confirmation: String) -> Result<WipeReport> {
    if confirmation != "DELETE" {
        return Err(CommandError::NotConfirmed);
    }
    state.research.drop_copy();
    let _no_backup = state.backups.hold().await;
    let vault = state.vault.take().await.ok_or(CommandError::Locked)?;
    let report = tokio::task::spawn_blocking(move || block_on(vault.wipe(false)))
        .await
        .map_err(|_| {
            ownrecord_core::Error::WipeIncomplete("the wipe stopped unexpectedly".into())
        })?;
    Ok(report?)
}
