//! The desktop shell: maps Tauri commands to ownrecord-core. No SQL, no FHIR here.

mod backups;
pub mod commands;
mod deep_link;
mod documents;
mod error;
mod home;
mod jobs;
mod own;
mod sharing;
mod system_lock;
mod text_size;

use tauri::{Builder, Runtime};

/// The commands the window may call (also listed in `build.rs` and the capability file).
#[macro_export]
macro_rules! handlers {
    () => {
        tauri::generate_handler![
            $crate::commands::vault_status,
            $crate::commands::create_vault,
            $crate::commands::unlock,
            $crate::commands::lock,
            $crate::commands::restore_backup,
            $crate::commands::new_recovery_key,
            $crate::commands::backup_status,
            $crate::commands::set_backup_folder,
            $crate::commands::back_up_now,
            $crate::commands::choose_backup_folder,
            $crate::commands::people,
            $crate::commands::rename_person,
            $crate::commands::link_people,
            $crate::commands::unlink_source,
            $crate::commands::remove_person,
            $crate::commands::record_summary,
            $crate::home::home,
            $crate::home::visits,
            $crate::commands::list_items,
            $crate::commands::resource_detail,
            $crate::commands::document_view,
            $crate::commands::save_document,
            $crate::documents::document_original,
            $crate::commands::search_record,
            $crate::commands::lab_trend,
            $crate::commands::portal_directory,
            $crate::commands::portal_vendors,
            $crate::commands::connections,
            $crate::commands::connect_portal,
            $crate::commands::sync_portal,
            $crate::commands::disconnect_portal,
            $crate::commands::choose_import_file,
            $crate::commands::import_file,
            $crate::commands::choose_save_path,
            $crate::commands::export_pdf,
            $crate::commands::export_ips,
            $crate::own::add_own,
            $crate::own::choose_upload_file,
            $crate::own::add_upload,
            $crate::sharing::share_hosts,
            $crate::sharing::add_share_host,
            $crate::sharing::add_demo_share_host,
            $crate::sharing::remove_share_host,
            $crate::sharing::share_preview,
            $crate::sharing::share,
            $crate::sharing::share_pdf,
            $crate::sharing::shares,
            $crate::sharing::refresh_shares,
            $crate::sharing::revoke_share,
            $crate::sharing::research_preview,
            $crate::sharing::research_give,
            $crate::sharing::research_cancel,
            $crate::sharing::studies,
            $crate::sharing::stop_study,
            $crate::commands::audit_log,
            $crate::commands::audit_verify,
            $crate::commands::wipe,
        ]
    };
}

/// Runs the app with the real runtime.
pub fn run() {
    run_app(Builder::default());
}

/// Builds and runs the app on `builder`. The vault lives in `OWNRECORD_VAULT` or the platform's
/// data folder.
pub fn run_app<R: Runtime>(builder: Builder<R>) {
    let chosen_vault = std::env::var_os("OWNRECORD_VAULT").map(std::path::PathBuf::from);
    let vault_dir = chosen_vault
        .clone()
        .unwrap_or_else(ownrecord_core::vault::default_dir);
    let context = tauri::generate_context!();
    let instance = deep_link::instance_id(&context.config().identifier, chosen_vault.as_deref());
    let state = commands::AppState::new(vault_dir);
    let (vault, backups) = (state.vault.clone(), state.backups.clone());
    builder
        // First, so that a second instance (the OS handing over an org.ownrecord.app: callback)
        // passes its arguments to the running one and exits before anything else starts; the
        // deep-link plugin then turns them into an open-URL event (see deep_link.rs).
        .plugin(
            tauri_plugin_single_instance::Builder::new()
                .dbus_id(instance)
                .callback(|app, _args, _cwd| deep_link::show(app))
                .build(),
        )
        .plugin(tauri_plugin_deep_link::init())
        // The file and folder dialogs, called from the `choose_*` commands only: the window is
        // granted none of the plugin's own commands (nor the deep-link plugin's).
        .plugin(tauri_plugin_dialog::init())
        .manage(state)
        .setup(move |app| {
            text_size::follow_system(app);
            deep_link::listen(app.handle());
            system_lock::listen(app.handle());
            tauri::async_runtime::spawn(backups::schedule(vault, backups));
            Ok(())
        })
        .invoke_handler(handlers!())
        .run(context)
        .expect("the OwnRecord window could not start");
}

/// Writes the TypeScript declarations of every type the IPC carries into `dir` (one file per
/// type, as ts-rs names them). The UI imports them from `ui/src/bindings`; a test checks that
/// the committed files are what this writes.
pub fn export_bindings(dir: &std::path::Path) -> Result<(), ts_rs::ExportError> {
    use ownrecord_core::{audit, backup, export, portal, sync, vault, wipe};
    use ts_rs::TS;
    commands::VaultStatus::export_all_to(dir)?;
    commands::CreatedVault::export_all_to(dir)?;
    commands::BackupsView::export_all_to(dir)?;
    backup::BackupReport::export_all_to(dir)?;
    backup::restore::RestoreReport::export_all_to(dir)?;
    sharing::ShareView::export_all_to(dir)?;
    sharing::ShareForm::export_all_to(dir)?;
    sharing::HostView::export_all_to(dir)?;
    sharing::SharePreview::export_all_to(dir)?;
    sharing::ShareRecord::export_all_to(dir)?;
    sharing::RefreshView::export_all_to(dir)?;
    sharing::ResearchPreviewView::export_all_to(dir)?;
    sharing::ResearchHow::export_all_to(dir)?;
    sharing::ResearchGiven::export_all_to(dir)?;
    export::research::Study::export_all_to(dir)?;
    commands::ImportReport::export_all_to(dir)?;
    commands::ImportProgress::export_all_to(dir)?;
    commands::ConnectForm::export_all_to(dir)?;
    commands::Vendor::export_all_to(dir)?;
    vault::people::Person::export_all_to(dir)?;
    vault::people::PersonChoice::export_all_to(dir)?;
    vault::query::Summary::export_all_to(dir)?;
    vault::home::Home::export_all_to(dir)?;
    vault::visits::VisitPage::export_all_to(dir)?;
    vault::query::SearchHit::export_all_to(dir)?;
    vault::browse::Category::export_all_to(dir)?;
    vault::browse::ListPage::export_all_to(dir)?;
    vault::browse::ResourceDetail::export_all_to(dir)?;
    vault::browse::LabSeries::export_all_to(dir)?;
    vault::document::DocumentView::export_all_to(dir)?;
    vault::document::DocumentOf::export_all_to(dir)?;
    portal::Connection::export_all_to(dir)?;
    portal::directory::DirectoryEntry::export_all_to(dir)?;
    sync::SyncProgress::export_all_to(dir)?;
    sync::SyncReport::export_all_to(dir)?;
    audit::AuditEntry::export_all_to(dir)?;
    audit::Verified::export_all_to(dir)?;
    wipe::WipeReport::export_all_to(dir)?;
    export::WrittenFile::export_all_to(dir)?;
    export::Section::export_all_to(dir)?;
    vault::own::OwnEntry::export_all_to(dir)?;
    vault::own::OwnAdded::export_all_to(dir)?;
    Ok(())
}
