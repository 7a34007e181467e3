//! `#[tauri::command]`s: check and delegate to the core.

use std::path::PathBuf;

use serde::Serialize;
use tauri::State;

use crate::error::CommandError;

pub struct AppState {
    pub vault_dir: PathBuf,
}

#[derive(Serialize)]
pub struct VaultStatus {
    exists: bool,
    dir: PathBuf,
}

#[tauri::command]
pub fn vault_status(state: State<'_, AppState>) -> Result<VaultStatus, CommandError> {
    Ok(VaultStatus {
        exists: ownrecord_core::vault::exists(&state.vault_dir),
        dir: state.vault_dir.clone(),
    })
}
