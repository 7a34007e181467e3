//! Sharing, for the window's share wizard and its "Shared" screen: the share hosts (URL + owner
//! token), the preview of what a share holds, the share itself (an encrypted package, and a
//! SMART Health Link through a share host), the shares made, who opened them, and stopping a
//! link. Each command maps to `ownrecord_core::export`; the types here are the IPC's view of the
//! core's (which carry no TypeScript bindings), nothing more.
//!
//! A research copy (the wizard's "Researcher" path) is made in two calls: `research_preview`
//! prepares it in memory (the core's `research::prepare`) and keeps it here, one at a time,
//! behind a token; `research_give` hands exactly that copy to `research::export` (plain files)
//! or `research::share` (a package, and a link), once the patient confirmed its consent
//! statement. `research_cancel`, a new preview, and locking the vault drop it: nothing written,
//! nothing logged.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use ownrecord_core::export::hosts::{Open, Refreshed, Share, ShareHost};
use ownrecord_core::export::research::{
    self, ResearchCopy, ResearchExport, ResearchPreview, ResearchRequest, Study,
};
use ownrecord_core::export::summary::{Summary, Table};
use ownrecord_core::export::{self, HostLink, Section, ShareRequest, Shared, WrittenFile};
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

impl ShareView {
    fn of(shared: &Shared) -> Self {
        use base64::Engine;
        let qr = shared.link.as_ref().map(|link| {
            format!(
                "data:image/png;base64,{}",
                base64::engine::general_purpose::STANDARD.encode(&link.qr_png_bytes)
            )
        });
        ShareView {
            id: shared.id.clone(),
            package: shared.package.path.display().to_string(),
            passcode: shared.passcode.to_string(),
            expires: shared.expires.clone(),
            link: shared.link.as_ref().map(|l| l.text.clone()),
            qr,
            link_passcode_required: shared.link.as_ref().is_some_and(|l| l.passcode_required),
            host: shared.link.as_ref().and_then(|l| l.host.clone()),
        }
    }
}

/// A link through `host` with the passcode the patient chose (none or empty: one is made).
fn host_link(host: String, passcode: Option<String>, max_uses: Option<u32>) -> HostLink {
    HostLink {
        host,
        passcode: Some(
            passcode
                .filter(|p| !p.trim().is_empty())
                .map(|p| Zeroizing::new(p.trim().to_owned()))
                .unwrap_or_else(export::package::generate_passcode),
        ),
        max_uses,
    }
}

#[tauri::command]
pub async fn share(state: State<'_, AppState>, person: i64, form: ShareForm) -> Result<ShareView> {
    let request = ShareRequest {
        recipient: form.recipient.trim().to_owned(),
        purpose: form.purpose.trim().to_owned(),
        selection: selection(person, form.sections, form.since)?,
        expires_in_days: form.expires_days,
        link: None,
    };
    let (passcode, max_uses) = (form.passcode, form.max_uses);
    let via = form
        .host
        .filter(|h| !h.trim().is_empty())
        .map(|host| host_link(host, passcode, max_uses));
    let path = PathBuf::from(&form.path);
    // Like a sync, the upload runs with the vault held (its pending disclosure row comes first).
    let shared = changing(&state, move |v| {
        block_on(export::share_via(v, &request, via.as_ref(), &path))
    })
    .await?;
    Ok(ShareView::of(&shared))
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

/// Asks each active link's host who opened it; each new open goes to the disclosure log. A lock
/// ends it between hosts' answers (the opens recorded so far stay; the rest come next time).
#[tauri::command]
pub async fn refresh_shares(state: State<'_, AppState>) -> Result<RefreshView> {
    let job = state.vault.job();
    let stop = job.stop();
    changing(&state, move |v| {
        let refreshed = block_on(async {
            tokio::select! {
                biased;
                () = stop.stopped() => None,
                refreshed = v.refresh_shares() => Some(refreshed),
            }
        });
        let Some(refreshed) = refreshed.transpose()? else {
            return Ok(None);
        };
        let shares = v.shares()?;
        let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        Ok(Some(RefreshView {
            checked: count(refreshed.checked),
            new_opens: count(refreshed.new_opens),
            new_refusals: count(refreshed.new_refusals),
            failed: failures_by_host(&refreshed, &shares),
            shares: shares.into_iter().map(ShareRecord::from).collect(),
        }))
    })
    .await?
    .ok_or(CommandError::Locked)
}

/// Stops a link at its host (it no longer opens) and records it.
#[tauri::command]
pub async fn revoke_share(state: State<'_, AppState>, id: String) -> Result<ShareRecord> {
    changing(&state, move |v| Ok(block_on(v.revoke_share(&id))?.into())).await
}

/// The research copy the window previewed and has not given yet: at most one, in memory only.
#[derive(Default)]
pub struct PendingResearch {
    slot: std::sync::Mutex<Slot>,
}

#[derive(Default)]
struct Slot {
    /// Counts each preview asked for and each drop: a preview is kept only if nothing came
    /// after it was asked for (a newer preview, a cancel, the vault locked).
    asked: u64,
    pending: Option<Pending>,
}

struct Pending {
    token: String,
    copy: Arc<ResearchCopy>,
}

impl PendingResearch {
    fn slot(&self) -> std::sync::MutexGuard<'_, Slot> {
        // A panic elsewhere while holding it leaves nothing half-done: the slot is one value.
        self.slot.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Drops the copy (cancelled, the vault locked or wiped), and any preview still being made.
    pub fn drop_copy(&self) {
        let mut slot = self.slot();
        slot.asked += 1;
        slot.pending = None;
    }

    /// A new preview is asked for: the one kept so far is dropped.
    fn ask(&self) -> u64 {
        let mut slot = self.slot();
        slot.asked += 1;
        slot.pending = None;
        slot.asked
    }

    /// Keeps the copy prepared for `asked` (if nothing came since) and names it by a token.
    fn keep(&self, asked: u64, copy: ResearchCopy) -> Option<String> {
        let mut slot = self.slot();
        if slot.asked != asked {
            return None;
        }
        let token = export::package::generate_passcode().to_string();
        slot.pending = Some(Pending {
            token: token.clone(),
            copy: Arc::new(copy),
        });
        Some(token)
    }

    /// Takes the copy named `token` out, so that it is given once.
    fn take(&self, token: &str) -> Option<(u64, Pending)> {
        let mut slot = self.slot();
        if slot.pending.as_ref().is_some_and(|p| p.token == token) {
            Some((slot.asked, slot.pending.take()?))
        } else {
            None
        }
    }

    /// A copy that could not be given (a folder not empty, a host not answering) waits again,
    /// unless something came since it was taken.
    fn put_back(&self, asked: u64, pending: Pending) {
        let mut slot = self.slot();
        if slot.asked == asked && slot.pending.is_none() {
            slot.pending = Some(pending);
        }
    }
}

/// A research copy made in memory, and the token that gives exactly it.
#[derive(Serialize, ts_rs::TS)]
pub struct ResearchPreviewView {
    /// Names this copy to `research_give`; a newer preview, a cancel or a lock drops it.
    pub token: String,
    pub preview: ResearchPreview,
}

/// Prepares the de-identified copy of `person`'s record for `study` (nothing is written) and
/// keeps it for `research_give`, in place of any copy previewed before.
#[tauri::command]
pub async fn research_preview(
    state: State<'_, AppState>,
    study: String,
    recipient: String,
    person: i64,
    keep_intervals: bool,
) -> Result<ResearchPreviewView> {
    let request = ResearchRequest {
        study,
        recipient,
        person: Some(person),
        keep_intervals,
    };
    let asked = state.research.ask();
    let copy = with_vault(&state, move |v| research::prepare(v, &request)).await?;
    let preview = copy.preview.clone();
    let token = state
        .research
        .keep(asked, copy)
        .ok_or(CommandError::ResearchPreviewGone)?;
    Ok(ResearchPreviewView { token, preview })
}

/// How a research copy reaches the researcher.
#[derive(Deserialize, ts_rs::TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ResearchHow {
    /// The plain files (one NDJSON file per type and a manifest) into a new or empty folder.
    Folder { dir: String },
    /// An encrypted package: a file plus a passcode.
    Package { path: String },
    /// A SMART Health Link through a share host (one the patient added); the package is
    /// written to `path` beside it.
    Link {
        path: String,
        host: String,
        /// None or empty: one is made.
        passcode: Option<String>,
        max_uses: Option<u32>,
        expires_days: Option<u32>,
    },
}

/// One file of a research copy's folder.
#[derive(Serialize, ts_rs::TS)]
pub struct FolderFileView {
    pub path: String,
    #[ts(type = "number")]
    pub bytes: u64,
    pub sha256: String,
}

/// A research copy written as plain files.
#[derive(Serialize, ts_rs::TS)]
pub struct ResearchFolder {
    pub dir: String,
    pub files: Vec<FolderFileView>,
    pub manifest_sha256: String,
}

/// What the window shows once a research copy is given: the folder, or the package and link.
#[derive(Serialize, ts_rs::TS)]
pub struct ResearchGiven {
    /// The share's id on the Shared screen.
    pub id: String,
    pub study: String,
    pub recipient: String,
    #[ts(type = "number")]
    pub resources: u64,
    pub folder: Option<ResearchFolder>,
    pub shared: Option<ShareView>,
}

impl ResearchFolder {
    fn of(written: ResearchExport) -> Self {
        ResearchFolder {
            dir: written.dir.display().to_string(),
            files: written
                .files
                .into_iter()
                .map(|f| FolderFileView {
                    path: f.path,
                    bytes: f.bytes,
                    sha256: f.sha256,
                })
                .collect(),
            manifest_sha256: written.manifest_sha256,
        }
    }
}

/// The share's id, and the folder written or the package and link made.
type Given = (String, Option<ResearchFolder>, Option<ShareView>);

fn folder_given(written: ResearchExport) -> Given {
    (written.id.clone(), Some(ResearchFolder::of(written)), None)
}

fn share_given(shared: Shared) -> Given {
    (shared.id.clone(), None, Some(ShareView::of(&shared)))
}

/// Gives the copy `token` names, once the patient confirmed the consent statement whose
/// SHA-256 is `consent_sha256`: exactly the bytes previewed leave, with their disclosure row.
#[tauri::command]
pub async fn research_give(
    state: State<'_, AppState>,
    token: String,
    consent_sha256: String,
    how: ResearchHow,
) -> Result<ResearchGiven> {
    let (asked, pending) = state
        .research
        .take(&token)
        .ok_or(CommandError::ResearchPreviewGone)?;
    let copy = pending.copy.clone();
    // Like a share, an upload runs with the vault held.
    let given = changing(&state, move |v| match how {
        ResearchHow::Folder { dir } => {
            research::export(v, &copy, &PathBuf::from(dir.trim()), &consent_sha256)
                .map(folder_given)
        }
        ResearchHow::Package { path } => block_on(research::share(
            v,
            &copy,
            &consent_sha256,
            None,
            None,
            &PathBuf::from(path.trim()),
        ))
        .map(share_given),
        ResearchHow::Link {
            path,
            host,
            passcode,
            max_uses,
            expires_days,
        } => {
            let via = host_link(host, passcode, max_uses);
            block_on(research::share(
                v,
                &copy,
                &consent_sha256,
                expires_days,
                Some(&via),
                &PathBuf::from(path.trim()),
            ))
            .map(share_given)
        }
    })
    .await;
    let (id, folder, shared) = match given {
        Ok(given) => given,
        Err(e) => {
            state.research.put_back(asked, pending);
            return Err(e);
        }
    };
    let preview = &pending.copy.preview;
    Ok(ResearchGiven {
        id,
        study: preview.study.clone(),
        recipient: preview.recipient.clone(),
        resources: preview.resources,
        folder,
        shared,
    })
}

/// Drops the previewed copy: nothing was written, nothing is logged.
#[tauri::command]
pub async fn research_cancel(state: State<'_, AppState>) -> Result<()> {
    state.research.drop_copy();
    Ok(())
}

/// The studies the patient gave copies to.
#[tauri::command]
pub async fn studies(state: State<'_, AppState>) -> Result<Vec<Study>> {
    with_vault(&state, move |v| research::studies(v)).await
}

/// "Stop sending updates": a later copy for `study` no longer links to the earlier ones.
#[tauri::command]
pub async fn stop_study(state: State<'_, AppState>, study: String) -> Result<Study> {
    changing(&state, move |v| research::stop(v, &study)).await
}

#[cfg(test)]
mod tests {
    use super::PendingResearch;
    use ownrecord_core::export::research::{self, ResearchCopy, ResearchRequest};
    use ownrecord_core::vault::people::PersonChoice;
    use ownrecord_core::{KeyProtection, SystemClock, Vault};

    /// Two research copies of a one-condition record, as the shell would keep them.
    fn copies(n: usize) -> Vec<ResearchCopy> {
        let work = tempfile::tempdir().unwrap();
        let mut vault = Vault::create(
            &work.path().join("vault"),
            KeyProtection::passphrase(zeroize::Zeroizing::new("correct horse battery".into())),
            std::sync::Arc::new(SystemClock),
        )
        .unwrap();
        let bundle = serde_json::json!({"resourceType": "Bundle", "type": "collection", "entry": [
            {"resource": {"resourceType": "Patient", "id": "p1", "name": [{"family": "Okafor"}]}},
            {"resource": {"resourceType": "Condition", "id": "c1", "subject": {"reference": "Patient/p1"},
                "code": {"coding": [{"system": "http://snomed.info/sct", "code": "195967001"}]}}}]});
        let file = work.path().join("bundle.json");
        std::fs::write(&file, bundle.to_string()).unwrap();
        vault
            .import_file(&file, PersonChoice::New, &mut |_| {})
            .unwrap();
        let request = ResearchRequest {
            study: "NCT0001".into(),
            recipient: "Heart Lab".into(),
            person: None,
            keep_intervals: false,
        };
        (0..n)
            .map(|_| research::prepare(&vault, &request).unwrap())
            .collect()
    }

    #[test]
    fn only_the_newest_preview_waits_and_it_is_given_once_by_its_token() {
        let pending = PendingResearch::default();
        let mut made = copies(4).into_iter();

        // Kept behind a token; a wrong token takes nothing.
        let asked = pending.ask();
        let token = pending.keep(asked, made.next().unwrap()).unwrap();
        assert!(pending.take("not the token").is_none());
        let (at, copy) = pending.take(&token).unwrap();
        // Taken, it cannot be given a second time meanwhile; a failed give puts it back.
        assert!(pending.take(&token).is_none());
        pending.put_back(at, copy);
        let (at, copy) = pending.take(&token).unwrap();

        // A newer preview asked for while it was being given: it does not come back.
        let newer = pending.ask();
        pending.put_back(at, copy);
        assert!(pending.take(&token).is_none());

        // Two previews in flight: only the one asked last is kept, whatever finishes first.
        let newest = pending.ask();
        let newest_token = pending.keep(newest, made.next().unwrap()).unwrap();
        assert!(pending.keep(newer, made.next().unwrap()).is_none());
        assert!(pending.take(&newest_token).is_some());

        // Cancelled (or locked) while a preview was being made: it is not kept.
        let asked = pending.ask();
        pending.drop_copy();
        assert!(pending.keep(asked, made.next().unwrap()).is_none());
    }

    #[test]
    fn cancelling_drops_the_copy() {
        let pending = PendingResearch::default();
        let asked = pending.ask();
        let token = pending
            .keep(asked, copies(1).into_iter().next().unwrap())
            .unwrap();
        pending.drop_copy();
        assert!(pending.take(&token).is_none());
    }
}
