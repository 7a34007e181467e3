//! Sharing, for the window's share wizard and its "Shared" screen: the share hosts (URL + owner
//! token), the preview of what a share holds, the share itself (an encrypted package, and a
//! SMART Health Link through a share host), the shares made, who opened them, and stopping a
//! link. Each command maps to `ownrecord_core::export`; the types here are the IPC's view of the
//! core's (which carry no TypeScript bindings), nothing more.

use std::collections::BTreeMap;
use std::path::PathBuf;

use ownrecord_core::export::hosts::{Open, Refreshed, Share, ShareHost};
use ownrecord_core::export::summary::{Summary, Table};
use ownrecord_core::export::{self, HostLink, Section, ShareRequest, WrittenFile};
use serde::{Deserialize, Serialize};
use tauri::State;
use zeroize::Zeroizing;

use crate::commands::{AppState, Result, block_on, changing, selection, with_vault};
use crate::error::CommandError;

/// The share host `cargo xtask run` starts on this computer (`OWNRECORD_DEMO_SHARE_HOST`, its
/// owner token in `OWNRECORD_DEMO_SHARE_HOST_TOKEN`). The token stays in the shell.
pub struct DemoShareHost {
    pub url: String,
    token: Zeroizing<String>,
}

impl DemoShareHost {
    pub fn from_env() -> Option<DemoShareHost> {
        let set = |name: &str| {
            std::env::var(name)
                .ok()
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        Some(DemoShareHost {
            url: set("OWNRECORD_DEMO_SHARE_HOST")?,
            token: Zeroizing::new(set("OWNRECORD_DEMO_SHARE_HOST_TOKEN")?),
        })
    }
}

/// A configured share host (never its token).
#[derive(Serialize, ts_rs::TS)]
pub struct HostView {
    pub url: String,
    /// When it was added (RFC 3339).
    pub added: String,
}

impl From<ShareHost> for HostView {
    fn from(host: ShareHost) -> Self {
        HostView {
            url: host.url,
            added: host.added,
        }
    }
}

#[tauri::command]
pub async fn share_hosts(state: State<'_, AppState>) -> Result<Vec<HostView>> {
    with_vault(&state, move |v| {
        Ok(v.share_hosts()?.into_iter().map(HostView::from).collect())
    })
    .await
}

/// Adds a host by its URL and the owner token its operator issued (or replaces the token).
#[tauri::command]
pub async fn add_share_host(
    state: State<'_, AppState>,
    url: String,
    token: String,
) -> Result<HostView> {
    let token = Zeroizing::new(token);
    changing(&state, move |v| Ok(v.add_share_host(&url, &token)?.into())).await
}

/// Adds the share host running on this computer for the demo (see [`DemoShareHost`]).
#[tauri::command]
pub async fn add_demo_share_host(state: State<'_, AppState>) -> Result<HostView> {
    let demo = state
        .demo_share_host
        .as_ref()
        .ok_or(CommandError::NoDemoShareHost)?;
    let (url, token) = (demo.url.clone(), demo.token.clone());
    changing(&state, move |v| Ok(v.add_share_host(&url, &token)?.into())).await
}

/// Forgets a host; links already made there keep working until stopped.
#[tauri::command]
pub async fn remove_share_host(state: State<'_, AppState>, url: String) -> Result<()> {
    changing(&state, move |v| v.remove_share_host(&url)).await
}

/// One cell of a preview table.
#[derive(Serialize, ts_rs::TS)]
pub struct PreviewCell {
    pub text: String,
    /// Out of range, or active: shown in bold, as in the PDF.
    pub strong: bool,
}

/// One table of the preview, as the PDF shows it.
#[derive(Serialize, ts_rs::TS)]
pub struct PreviewTable {
    /// The section (none for the table of sources).
    pub section: Option<Section>,
    pub title: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<PreviewCell>>,
    /// A line under the title, e.g. which results are shown.
    pub note: Option<String>,
    /// What the PDF says when there are no rows.
    pub empty: String,
}

impl PreviewTable {
    fn of(section: Option<Section>, title: &str, table: &Table) -> Self {
        PreviewTable {
            section,
            title: title.to_owned(),
            columns: table.columns.iter().map(|c| c.title.to_owned()).collect(),
            rows: table
                .rows
                .iter()
                .map(|r| {
                    r.cells
                        .iter()
                        .map(|c| PreviewCell {
                            text: c.text.clone(),
                            strong: c.strong,
                        })
                        .collect()
                })
                .collect(),
            note: table.note.clone(),
            empty: table.empty.to_owned(),
        }
    }
}

/// What a share would hold: the summary the PDF and the IPS are made from, for the sections and
/// date chosen, with the header naming the patient.
#[derive(Serialize, ts_rs::TS)]
pub struct SharePreview {
    pub name: String,
    pub birth_date: Option<String>,
    pub gender: Option<String>,
    /// Care identifiers (label, value); government ids are never in a share.
    pub identifiers: Vec<(String, String)>,
    pub sections: Vec<PreviewTable>,
    pub sources: PreviewTable,
}

impl From<Summary> for SharePreview {
    fn from(summary: Summary) -> Self {
        SharePreview {
            sections: summary
                .sections
                .iter()
                .map(|s| PreviewTable::of(Some(s.section), s.section.title(), &s.table))
                .collect(),
            sources: PreviewTable::of(None, "Sources", &summary.sources),
            name: summary.patient.name,
            birth_date: summary.patient.birth_date,
            gender: summary.patient.gender,
            identifiers: summary.patient.identifiers,
        }
    }
}

#[tauri::command]
pub async fn share_preview(
    state: State<'_, AppState>,
    person: i64,
    sections: Vec<Section>,
    since: Option<String>,
) -> Result<SharePreview> {
    let selection = selection(person, sections, since)?;
    with_vault(&state, move |v| {
        let (_, summary) = export::summarize(v, &selection)?;
        Ok(summary.into())
    })
    .await
}

/// What the wizard asks for a share.
#[derive(Deserialize, ts_rs::TS)]
pub struct ShareForm {
    pub recipient: String,
    /// Why, with the kind of recipient in front ("Care team: second opinion").
    pub purpose: String,
    /// The encrypted package (the link's QR code and text are written beside it).
    pub path: String,
    pub sections: Vec<Section>,
    pub since: Option<String>,
    pub expires_days: Option<u32>,
    /// Make a SMART Health Link through this share host (one the patient added).
    pub host: Option<String>,
    /// The passcode the link asks for; none or empty: one is made.
    pub passcode: Option<String>,
    /// The host serves the link at most this many times.
    pub max_uses: Option<u32>,
}

/// What the window shows after a share: the passcode once, and the link with its QR code.
#[derive(Serialize, ts_rs::TS)]
pub struct ShareView {
    /// The share's id on the Shared screen.
    pub id: String,
    pub package: String,
    /// Opens the package, and the link when it asks for one. Never stored.
    pub passcode: String,
    pub expires: Option<String>,
    pub link: Option<String>,
    /// The QR code as a `data:image/png;base64,` URL.
    pub qr: Option<String>,
    pub link_passcode_required: bool,
    /// The share host the link lives on.
    pub host: Option<String>,
}

#[tauri::command]
pub async fn share(state: State<'_, AppState>, person: i64, form: ShareForm) -> Result<ShareView> {
    use base64::Engine;
    let request = ShareRequest {
        recipient: form.recipient.trim().to_owned(),
        purpose: form.purpose.trim().to_owned(),
        selection: selection(person, form.sections, form.since)?,
        expires_in_days: form.expires_days,
        link: None,
    };
    let via = form
        .host
        .filter(|h| !h.trim().is_empty())
        .map(|host| HostLink {
            host,
            passcode: Some(
                form.passcode
                    .filter(|p| !p.trim().is_empty())
                    .map(|p| Zeroizing::new(p.trim().to_owned()))
                    .unwrap_or_else(export::package::generate_passcode),
            ),
            max_uses: form.max_uses,
        });
    let path = PathBuf::from(&form.path);
    // Like a sync, the upload runs with the vault held (its pending disclosure row comes first).
    let shared = changing(&state, move |v| {
        block_on(export::share_via(v, &request, via.as_ref(), &path))
    })
    .await?;
    let qr = shared.link.as_ref().map(|link| {
        format!(
            "data:image/png;base64,{}",
            base64::engine::general_purpose::STANDARD.encode(&link.qr_png_bytes)
        )
    });
    Ok(ShareView {
        id: shared.id.clone(),
        package: shared.package.path.display().to_string(),
        passcode: shared.passcode.to_string(),
        expires: shared.expires.clone(),
        link: shared.link.as_ref().map(|l| l.text.clone()),
        qr,
        link_passcode_required: shared.link.as_ref().is_some_and(|l| l.passcode_required),
        host: shared.link.as_ref().and_then(|l| l.host.clone()),
    })
}

/// A PDF summary saved for the recipient to be given by hand: logged as a disclosure to them
/// and listed under Shared (as given: a plain file cannot be taken back).
#[tauri::command]
pub async fn share_pdf(
    state: State<'_, AppState>,
    person: i64,
    form: ShareForm,
) -> Result<WrittenFile> {
    let request = ShareRequest {
        recipient: form.recipient.trim().to_owned(),
        purpose: form.purpose.trim().to_owned(),
        selection: selection(person, form.sections, form.since)?,
        expires_in_days: None,
        link: None,
    };
    let path = PathBuf::from(&form.path);
    let shared = changing(&state, move |v| export::share_pdf(v, &request, &path)).await?;
    Ok(shared.file)
}

/// One open of a shared link, as its host recorded it.
#[derive(Serialize, ts_rs::TS)]
pub struct OpenView {
    pub at: Option<String>,
    /// The name the viewer gave, as given (nobody checked it).
    pub recipient: Option<String>,
}

/// One share, for the Shared screen.
#[derive(Serialize, ts_rs::TS)]
pub struct ShareRecord {
    pub id: String,
    pub recipient: String,
    pub purpose: String,
    /// "share package", "share package and SMART Health Link".
    pub what: String,
    pub sections: Vec<String>,
    pub created: String,
    pub expires: Option<String>,
    pub host: Option<String>,
    /// `active`, `expired`, `revoked` or `given` (files only: nothing to take back).
    pub status: String,
    pub opens: Vec<OpenView>,
}

impl From<Share> for ShareRecord {
    fn from(s: Share) -> Self {
        ShareRecord {
            id: s.id,
            recipient: s.recipient,
            purpose: s.purpose,
            what: s.what,
            sections: s.sections,
            created: s.created,
            expires: s.expires,
            host: s.host,
            status: s.status,
            opens: s
                .opens
                .into_iter()
                .map(|Open { at, recipient }| OpenView { at, recipient })
                .collect(),
        }
    }
}

#[tauri::command]
pub async fn shares(state: State<'_, AppState>) -> Result<Vec<ShareRecord>> {
    with_vault(&state, move |v| {
        Ok(v.shares()?.into_iter().map(ShareRecord::from).collect())
    })
    .await
}

/// A share host that could not be asked for its opens.
#[derive(Serialize, ts_rs::TS)]
pub struct HostFailure {
    pub host: String,
    /// The first reason, a sentence.
    pub why: String,
    /// How many links there could not be checked.
    pub links: u32,
}

/// What "Check for new opens" found, and the shares after it.
#[derive(Serialize, ts_rs::TS)]
pub struct RefreshView {
    pub checked: u32,
    pub new_opens: u32,
    pub new_refusals: u32,
    pub failed: Vec<HostFailure>,
    pub shares: Vec<ShareRecord>,
}

/// The failures of a refresh, one per host.
fn failures_by_host(refreshed: &Refreshed, shares: &[Share]) -> Vec<HostFailure> {
    let mut by_host: BTreeMap<String, HostFailure> = BTreeMap::new();
    for failure in &refreshed.failed {
        let host = shares
            .iter()
            .find(|s| s.id == failure.id)
            .and_then(|s| s.host.clone())
            .unwrap_or_default();
        by_host
            .entry(host.clone())
            .or_insert_with(|| HostFailure {
                host,
                why: failure.why.clone(),
                links: 0,
            })
            .links += 1;
    }
    by_host.into_values().collect()
}

/// Asks each active link's host who opened it; each new open goes to the disclosure log.
#[tauri::command]
pub async fn refresh_shares(state: State<'_, AppState>) -> Result<RefreshView> {
    changing(&state, move |v| {
        let refreshed = block_on(v.refresh_shares())?;
        let shares = v.shares()?;
        let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        Ok(RefreshView {
            checked: count(refreshed.checked),
            new_opens: count(refreshed.new_opens),
            new_refusals: count(refreshed.new_refusals),
            failed: failures_by_host(&refreshed, &shares),
            shares: shares.into_iter().map(ShareRecord::from).collect(),
        })
    })
    .await
}

/// Stops a link at its host (it no longer opens) and records it.
#[tauri::command]
pub async fn revoke_share(state: State<'_, AppState>, id: String) -> Result<ShareRecord> {
    changing(&state, move |v| Ok(block_on(v.revoke_share(&id))?.into())).await
}
