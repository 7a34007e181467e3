//! The desktop shell: maps Tauri commands to ownrecord-core. No SQL, no FHIR here.

mod commands;
mod error;

use tauri::{Builder, Runtime};

/// Runs the app with the real runtime.
pub fn run() {
    run_app(Builder::default());
}

/// Builds and runs the app on `builder` (tests pass a mock builder).
pub fn run_app<R: Runtime>(builder: Builder<R>) {
    builder
        .manage(commands::AppState {
            vault_dir: ownrecord_core::vault::default_dir(),
        })
        .invoke_handler(tauri::generate_handler![commands::vault_status])
        .run(tauri::generate_context!())
        .expect("the OwnRecord window could not start");
}
