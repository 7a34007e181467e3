//! A document's original for the window to render itself (a PDF with pdf.js, an image as a
//! `blob:` URL): the bytes the core checked against their SHA-256, as raw binary over IPC (an
//! `ArrayBuffer` in the window, not a JSON array of numbers).

use ownrecord_core::vault::document::DocumentOf;
use tauri::State;
use tauri::ipc::Response;

use crate::commands::{AppState, Result, with_vault};

/// The checked original of the document `id` of `person` (a DocumentReference, or with `of` a
/// DiagnosticReport's presented form).
#[tauri::command]
pub async fn document_original(
    state: State<'_, AppState>,
    person: i64,
    id: String,
    of: Option<DocumentOf>,
) -> Result<Response> {
    with_vault(&state, move |v| {
        v.document_original_of(person, of.unwrap_or_default(), &id)
    })
    .await
    .map(Response::new)
}
