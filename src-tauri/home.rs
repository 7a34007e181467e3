//! The home and the visits of one person: thin commands over the core's `Vault::home` and
//! `Vault::visits` (the record's bills go through `list_items` with `Category::Bills`).

use ownrecord_core::vault::home::Home;
use ownrecord_core::vault::visits::VisitPage;
use tauri::State;

use crate::commands::{AppState, Result, with_vault};

/// Whose home it is (name, age or the year of death), the PDF summary's tables (allergies
/// first) and each source with what needs the patient.
#[tauri::command]
pub async fn home(state: State<'_, AppState>, person: i64) -> Result<Home> {
    with_vault(&state, move |v| v.home(Some(person))).await
}

/// The days `offset ..offset + limit` of `person`'s visits, newest first.
#[tauri::command]
pub async fn visits(
    state: State<'_, AppState>,
    person: i64,
    offset: i64,
    limit: i64,
) -> Result<VisitPage> {
    with_vault(&state, move |v| {
        v.visits(person, offset.max(0), limit.clamp(1, 100))
    })
    .await
}
