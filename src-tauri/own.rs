//! The patient's own entries ("Add to my record", "Add a note"): thin commands over the core's
//! `Vault::add_own` and `Vault::add_own_file`. An upload crosses IPC as the path the system
//! dialog gave, never as its bytes; the core reads it (size-capped, typed by its first bytes).

use std::path::PathBuf;

use ownrecord_core::vault::own::{OwnAdded, OwnEntry};
use tauri::State;

use crate::commands::{AppState, Result, changing, chosen_path};
use crate::error::CommandError;

/// Adds a medicine, an allergy, a problem, a measurement or a note to `person`'s record as
/// their own. A file goes through [`add_upload`] instead.
#[tauri::command]
pub async fn add_own(state: State<'_, AppState>, person: i64, entry: OwnEntry) -> Result<OwnAdded> {
    if matches!(entry, OwnEntry::Upload { .. }) {
        return Err(CommandError::UploadByPath);
    }
    changing(&state, move |v| v.add_own(person, &entry)).await
}

/// The system's open dialog for a PDF or a photo to add. `None` when cancelled.
#[tauri::command]
pub async fn choose_upload_file<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
) -> Result<Option<String>> {
    use tauri_plugin_dialog::DialogExt;
    let (sender, chosen) = tokio::sync::oneshot::channel();
    app.dialog()
        .file()
        .add_filter("PDF or photo", &["pdf", "jpg", "jpeg", "png"])
        .pick_file(move |path| {
            let _ = sender.send(path);
        });
    Ok(chosen_path(chosen).await)
}

/// Adds the PDF or photo at `path` to `person`'s record, titled `title`, kept encrypted in the
/// vault.
#[tauri::command]
pub async fn add_upload(
    state: State<'_, AppState>,
    person: i64,
    path: String,
    title: String,
) -> Result<OwnAdded> {
    changing(&state, move |v| {
        v.add_own_file(person, &PathBuf::from(&path), &title)
    })
    .await
}
