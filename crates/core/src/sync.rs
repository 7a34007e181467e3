//! Sync: downloading a connected portal's record into the vault.
//!
//! When the server offers `Patient/$everything` it is used (with `_since` on re-syncs); otherwise
//! workers (at most [`SyncOptions::concurrency`]) fetch one resource type at a time, following
//! `Bundle.link[next]`, with `_lastUpdated=gt<watermark>` on re-syncs. Each page is parsed whole and
//! stored in its own transaction by the task that owns the vault, so an interrupted sync leaves whole
//! pages only, and the next one resumes (watermarks are written with the sync's audit row, so an
//! interrupted sync's types are fetched again; storing the same content twice changes nothing). 429 (honouring Retry-After), 5xx, dropped connections and
//! malformed pages are retried with back-off; a 401 renews the access token. Then referenced
//! Medication/Organization/Practitioner/PractitionerRole/Location resources are fetched. One audit row.

#![deny(clippy::arithmetic_side_effects)]

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use url::Url;

use crate::audit::{self, AuditKind};
use crate::error::{Error, Result};
use crate::fhir::{Entry, ResourceFacts, Subject};
use crate::import::references;
use crate::portal::oauth::{self, Endpoints, Tokens};
use crate::portal::profile::VendorProfile;
use crate::portal::{ConnectionStatus, device, http};
use crate::vault::Vault;
use crate::vault::people::{self, PersonChoice};
use crate::vault::resources::{self, ResourceWriter, SourceKind, StoreCounts};

/// The US Core resource types, fetched by patient (besides the Patient itself) when a server's
/// CapabilityStatement cannot be read; otherwise every Patient-compartment type it can search by
/// patient is fetched.
pub const US_CORE_TYPES: &[&str] = &[
    "AllergyIntolerance",
    "CarePlan",
    "CareTeam",
    "Condition",
    "Coverage",
    "Device",
    "DiagnosticReport",
    "DocumentReference",
    "Encounter",
    "Goal",
    "Immunization",
    "MedicationDispense",
    "MedicationRequest",
    "Observation",
    "Procedure",
    "Provenance",
    "QuestionnaireResponse",
    "RelatedPerson",
    "ServiceRequest",
    "Specimen",
];

/// The work item (and watermark key) of a `Patient/$everything` sync.
const EVERYTHING: &str = "$everything";

/// Types fetched by id when other resources refer to them.
pub const REFERENCED_TYPES: &[&str] = &[
    "Medication",
    "Organization",
    "Practitioner",
    "PractitionerRole",
    "Location",
];

#[derive(Debug, Clone)]
pub struct SyncOptions {
    pub concurrency: usize,
    pub page_size: usize,
    pub max_attempts: u32,
    /// First back-off; doubles each retry.
    pub retry_base: Duration,
    /// Longest Retry-After honoured.
    pub max_retry_after: Duration,
    /// Whose record the portal's patient is, the first time it is synced (see [`crate::vault::people`]).
    pub person: PersonChoice,
    /// A profile other than the connection's vendor's bundled one.
    pub profile: Option<VendorProfile>,
    /// Stops the sync at its next safe point (see [`Stop`]).
    pub stop: Stop,
}

/// Stops a running sync at its next safe point, within moments: whole pages stay stored, a
/// request in flight is dropped, the tokens received so far are kept, and the next sync goes on
/// from there (the types' watermarks are written only when a sync completes). For a lock that
/// must not wait behind a download.
#[derive(Debug, Clone, Default)]
pub struct Stop {
    inner: Arc<(std::sync::atomic::AtomicBool, tokio::sync::Notify)>,
}

impl Stop {
    pub fn new() -> Self {
        Stop::default()
    }

    /// Asks every sync holding this handle to stop.
    pub fn stop(&self) {
        self.inner
            .0
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.inner.1.notify_waiters();
    }

    pub fn is_stopped(&self) -> bool {
        self.inner.0.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Completes once [`Stop::stop`] is called (at once if it was).
    pub async fn stopped(&self) {
        let notified = self.inner.1.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if self.is_stopped() {
            return;
        }
        notified.await;
    }
}

/// `work`, unless `stop` is asked first (then `None`; asked before, `work` never starts). Safe
/// to drop at any await in a sync: every write is one synchronous transaction between awaits.
async fn unless_stopped<F: std::future::Future>(stop: &Stop, work: F) -> Option<F::Output> {
    tokio::select! {
        biased;
        () = stop.stopped() => None,
        done = work => Some(done),
    }
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            concurrency: 4,
            page_size: 100,
            max_attempts: 5,
            retry_base: Duration::from_millis(500),
            max_retry_after: Duration::from_secs(60),
            person: PersonChoice::Auto,
            profile: None,
            stop: Stop::default(),
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SyncReport {
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub connection: i64,
    pub portal: String,
    pub incremental: bool,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub pages: u64,
    #[serde(flatten)]
    pub counts: StoreCounts,
    /// Referenced resources fetched by id.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub referenced: u64,
    /// Attachments (documents, report PDFs) downloaded by URL.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub attachments: u64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub retries: u64,
}

/// Progress of a sync, for a progress bar or UI events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SyncProgress {
    pub resource_type: String,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub pages: u64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub resources: u64,
    pub types_done: usize,
    pub types_total: usize,
}

/// What workers tell the task that owns the vault.
enum Message {
    Page {
        resource_type: String,
        entries: Vec<Box<RawValue>>,
    },
    TypeDone {
        resource_type: String,
    },
    Tokens(Tokens),
    Retried,
    Failed(Error),
}

/// A searchset page: raw entries (kept byte-exact) and links.
#[derive(Deserialize)]
struct Page {
    #[serde(default)]
    entry: Vec<PageEntry>,
    #[serde(default)]
    link: Vec<Link>,
}

impl Page {
    /// The `next` link, on the portal's own origin only (the access token goes nowhere else).
    fn next(&self, base: &Url) -> Option<Url> {
        self.link
            .iter()
            .find(|l| l.relation == "next")
            .and_then(|l| Url::parse(&l.url).ok())
            .filter(|u| u.origin() == base.origin())
    }

    /// The resources of the page, search outcomes left out.
    fn resources(self) -> Vec<Box<RawValue>> {
        self.entry
            .into_iter()
            .filter(|e| e.search.as_ref().and_then(|s| s.mode.as_deref()) != Some("outcome"))
            .filter_map(|e| e.resource)
            .collect()
    }
}

/// What sync makes of a portal's answers, without a network or a vault: the fuzzer's entry
/// points (`fuzz/`, targets `search-page` and `smart`).
#[doc(hidden)]
pub mod fuzzing {
    use super::*;

    /// A search page's body as a sync reads it: the page (malformed: an error, which sync
    /// retries), its `next` link, each resource checked and read as before storing it. Returns
    /// the number of resources, the references and attachments they name, and the next URL.
    pub fn read_page(body: &[u8], base: &Url) -> Result<(usize, usize, usize, Option<Url>)> {
        let page: Page = serde_json::from_slice(body).map_err(|_| Error::Portal {
            portal: base.origin().ascii_serialization(),
            why: "it sent a page that is not valid FHIR JSON".into(),
        })?;
        let next = page.next(base);
        let entries = page.resources();
        let prepared = prepare_page(&entries, base)?;
        Ok((
            prepared.resources.len(),
            prepared.referenced.len(),
            prepared.attachments.len(),
            next,
        ))
    }

    /// A CapabilityStatement's body as sync reads it: the types it would fetch by patient, and
    /// whether it would ask for `Patient/$everything`; `None` when it cannot be read.
    pub fn read_capability_statement(body: &[u8]) -> Option<(Vec<String>, bool)> {
        let metadata: serde_json::Value = serde_json::from_slice(body).ok()?;
        capabilities_of(&metadata).map(|c| (c.patient_types(), c.everything))
    }

    /// An attachment's body as stored: its content type and length.
    pub fn read_attachment(body: &[u8]) -> (Option<String>, usize) {
        let (content_type, data) = binary_content(body);
        (content_type, data.len())
    }
}

#[derive(Deserialize)]
struct PageEntry {
    resource: Option<Box<RawValue>>,
    search: Option<EntrySearch>,
}

#[derive(Deserialize)]
struct EntrySearch {
    mode: Option<String>,
}

#[derive(Deserialize)]
struct Link {
    relation: String,
    url: String,
}

struct Capabilities {
    types: BTreeSet<String>,
    /// Types the server says it searches by `patient`.
    by_patient: BTreeSet<String>,
    /// The server offers `Patient/$everything`.
    everything: bool,
}

impl Capabilities {
    /// The types to fetch by patient: every type of the R4 Patient compartment the server can
    /// search by `patient` (claims, imaging studies... as well as US Core), and the US Core types
    /// it lists without naming its search parameters.
    fn patient_types(&self) -> Vec<String> {
        self.types
            .iter()
            .filter(|t| *t != "Patient" && crate::fhir::in_patient_compartment(t))
            .filter(|t| self.by_patient.contains(*t) || US_CORE_TYPES.contains(&t.as_str()))
            .cloned()
            .collect()
    }
}

/// Access to the portal shared by the workers; renews tokens once for everyone.
struct Portal {
    http: reqwest::Client,
    base: Url,
    name: String,
    /// The signed-in patient (the subject of JWT-bearer assertions).
    patient: String,
    profile: VendorProfile,
    /// The profile's query parameters, which every FHIR request carries.
    params: Vec<(String, String)>,
    /// When the next request may start, for portals with a request budget.
    next_slot: tokio::sync::Mutex<tokio::time::Instant>,
    endpoints: Endpoints,
    tokens: tokio::sync::Mutex<Tokens>,
    /// Set when tokens were renewed and the vault has not stored them yet.
    rotated: std::sync::atomic::AtomicBool,
    options: SyncOptions,
    clock: Arc<dyn crate::Clock>,
}

impl Vault {
    /// Downloads what is new at a connected portal. Returns counts; progress goes to `progress`.
    pub async fn sync(
        &mut self,
        id: i64,
        options: SyncOptions,
        progress: &mut (dyn FnMut(SyncProgress) + Send),
    ) -> Result<SyncReport> {
        let session = self.session(id)?;
        if session.connection.status == ConnectionStatus::NeedsSignIn {
            return Err(Error::NeedsSignIn(session.connection.name.clone()));
        }
        let base = Url::parse(&session.connection.fhir_base)
            .map_err(|_| Error::NoSuchConnection(id.to_string()))?;
        let patient = session.connection.patient_id.clone();
        let now = self.unix_now();
        let profile = options
            .profile
            .clone()
            .unwrap_or_else(|| VendorProfile::of(session.connection.vendor.as_deref()));
        let portal = Arc::new(Portal {
            http: http::client(),
            base: base.clone(),
            name: session.connection.name.clone(),
            patient: patient.clone(),
            params: profile.fhir_params(session.practice.as_deref()),
            profile,
            next_slot: tokio::sync::Mutex::new(tokio::time::Instant::now()),
            endpoints: session.endpoints.clone(),
            tokens: tokio::sync::Mutex::new(session.tokens.clone()),
            rotated: Default::default(),
            options: options.clone(),
            clock: self.clock(),
        });
        let stop = options.stop.clone();
        let report = SyncReport {
            connection: id,
            portal: session.connection.fhir_base.clone(),
            incremental: false,
            pages: 0,
            counts: StoreCounts::default(),
            referenced: 0,
            attachments: 0,
            retries: 0,
        };
        // Renew before starting if the access token is (nearly) expired.
        if session
            .tokens
            .expires_at
            .is_some_and(|t| t <= now.saturating_add(60))
        {
            match unless_stopped(&stop, portal.renew(&session.tokens.access_token)).await {
                None => return self.sync_stopped(id, &portal, &report).await,
                Some(Ok(tokens)) => self.save_tokens(id, &tokens)?,
                Some(Err(e)) => return self.sync_failed(id, e),
            }
        }

        let watermarks = self.watermarks(id)?;
        let incremental = !watermarks.is_empty();
        let Some(capabilities) = unless_stopped(&stop, portal.capabilities()).await else {
            return self.sync_stopped(id, &portal, &report).await;
        };
        let types: Vec<String> = match (&capabilities, &portal.profile.types) {
            // A payer's profile names its types (claims, coverage).
            (_, Some(listed)) => std::iter::once("Patient".to_owned())
                .chain(listed.iter().cloned())
                .collect(),
            (Some(c), None) if c.everything && portal.profile.everything => {
                vec![EVERYTHING.to_owned()]
            }
            (Some(c), None) => std::iter::once("Patient".to_owned())
                .chain(c.patient_types())
                .collect(),
            (None, None) => std::iter::once("Patient")
                .chain(US_CORE_TYPES.iter().copied())
                .map(str::to_owned)
                .collect(),
        };
        let now_text = self.now();
        let source_id = self.write_part(|tx| {
            resources::source_id(
                tx,
                SourceKind::Portal,
                &session.connection.fhir_base,
                &patient,
                &now_text,
            )
        })?;
        // Whose record this is, decided before anything is downloaded: the portal's Patient is
        // fetched and stored with its link to a person, or nothing is.
        let settled = unless_stopped(
            &stop,
            self.settle_portal_patient(&portal, id, source_id, &patient, options.person),
        )
        .await;
        let settle_retries = match settled {
            None => return self.sync_stopped(id, &portal, &report).await,
            Some(Ok(retried)) => retried,
            Some(Err(e)) => return self.sync_failed(id, e),
        };

        let mut report = SyncReport {
            incremental,
            retries: settle_retries,
            ..report
        };
        let (sender, mut receiver) =
            tokio::sync::mpsc::channel::<Message>(options.concurrency.max(1).saturating_mul(2));
        let queue: Arc<Mutex<VecDeque<String>>> =
            Arc::new(Mutex::new(types.iter().cloned().collect()));
        let mut workers = Vec::new();
        for _ in 0..options.concurrency.max(1) {
            let (portal, queue, sender, patient, watermarks) = (
                portal.clone(),
                queue.clone(),
                sender.clone(),
                patient.clone(),
                watermarks.clone(),
            );
            workers.push(tokio::spawn(async move {
                loop {
                    let Some(resource_type) = queue
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .pop_front()
                    else {
                        return;
                    };
                    let since = watermarks.get(&resource_type).cloned();
                    if let Err(e) = portal
                        .fetch_type(&resource_type, &patient, since.as_deref(), &sender)
                        .await
                    {
                        let _ = sender.send(Message::Failed(e)).await;
                        return;
                    }
                    if sender
                        .send(Message::TypeDone { resource_type })
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
            }));
        }
        drop(sender);

        let mut newest: HashMap<String, String> = HashMap::new();
        // Types fully fetched, with their newest lastUpdated: the next sync asks only for newer.
        let mut complete: Vec<(String, String)> = Vec::new();
        let mut types_done = 0;
        let mut failure = None;
        let mut stopped = false;
        loop {
            let message = tokio::select! {
                message = receiver.recv() => message,
                () = stop.stopped() => {
                    stopped = true;
                    None
                }
            };
            let Some(message) = message else {
                break;
            };
            match message {
                Message::Page {
                    resource_type,
                    entries,
                } => {
                    let stored = self.store_page(id, source_id, &entries, &portal.base)?;
                    report.pages = report.pages.saturating_add(1);
                    report.counts.merge(stored.0);
                    if let Some(latest) = stored.1 {
                        let entry = newest.entry(resource_type.clone()).or_default();
                        if latest > *entry {
                            *entry = latest;
                        }
                    }
                    progress(SyncProgress {
                        resource_type,
                        pages: report.pages,
                        resources: report.counts.total(),
                        types_done,
                        types_total: types.len(),
                    });
                }
                Message::TypeDone { resource_type } => {
                    types_done = types_done.saturating_add(1);
                    if let Some(latest) = newest.get(&resource_type) {
                        complete.push((resource_type, latest.clone()));
                    }
                }
                Message::Tokens(tokens) => self.save_tokens(id, &tokens)?,
                Message::Retried => report.retries = report.retries.saturating_add(1),
                Message::Failed(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        drop(receiver);
        for worker in workers {
            worker.abort();
        }
        if stopped {
            return self.sync_stopped(id, &portal, &report).await;
        }
        if let Some(e) = failure {
            return self.sync_failed(id, e);
        }

        // Resources the record refers to (who treated the patient, where, with which medication),
        // including those an interrupted sync recorded but did not fetch: fetched concurrently,
        // stored together with the clearing of their pending marks.
        // Only types the server serves (a payer's lists no Practitioner, say) are asked for.
        let pending: Vec<(String, String)> = self
            .pending_references(id, source_id)?
            .into_iter()
            .filter(|(t, _)| capabilities.as_ref().is_none_or(|c| c.types.contains(t)))
            .collect();
        let retried = std::sync::atomic::AtomicU64::new(0);
        let fetching = futures_util::stream::iter(pending.iter().map(|(resource_type, rid)| {
            let portal = portal.clone();
            let url = http::join(&portal.base, &format!("{resource_type}/{rid}"));
            let retried = &retried;
            async move { portal.get_with_retry(&url, &mut |_| count(retried)).await }
        }))
        .buffered(options.concurrency.max(1))
        .collect::<Vec<_>>();
        let fetched = tokio::select! {
            fetched = fetching => Some(fetched),
            () = stop.stopped() => None,
        };
        let Some(fetched) = fetched else {
            return self.sync_stopped(id, &portal, &report).await;
        };
        report.retries = report.retries.saturating_add(retried.into_inner());
        let mut found = Vec::new();
        for ((resource_type, _), result) in pending.iter().zip(fetched) {
            match result {
                Ok(bytes) => found.push(
                    serde_json::from_slice::<Box<RawValue>>(&bytes)
                        .map_err(|_| portal.malformed(resource_type))?,
                ),
                // Gone at the portal: nothing to fetch.
                Err(Error::PortalAnswered { status: 404, .. }) => {}
                Err(e) => return self.sync_failed(id, e),
            }
        }
        if !pending.is_empty() {
            let stored = self.store_page(id, source_id, &found, &portal.base)?;
            report.referenced = report
                .referenced
                .saturating_add(stored.0.new.saturating_add(stored.0.updated));
            report.counts.merge(stored.0);
            self.write_part(|tx| {
                let mut done = tx.prepare(
                    "DELETE FROM sync_references WHERE connection_id = ?1 AND resource_type = ?2 AND fhir_id = ?3",
                )?;
                for (resource_type, rid) in &pending {
                    done.execute(rusqlite::params![id, resource_type, rid])?;
                }
                Ok(())
            })?;
        }
        let attachments = tokio::select! {
            done = self.fetch_attachments(id, source_id, &portal, &mut report) => Some(done),
            () = stop.stopped() => None,
        };
        match attachments {
            None => return self.sync_stopped(id, &portal, &report).await,
            Some(Err(e)) => return self.sync_failed(id, e),
            Some(Ok(())) => {}
        }
        let tokens = portal.tokens.lock().await.clone();
        self.save_tokens(id, &tokens)?;
        // Cannot panic: a derived struct with string keys serializes.
        #[allow(clippy::expect_used)]
        let details = serde_json::to_value(&report).expect("report serializes");
        let at = self.now();
        self.write(AuditKind::Sync, |tx| {
            tx.execute(
                "UPDATE connections SET last_sync_at = ?2, last_error = NULL WHERE id = ?1",
                rusqlite::params![id, at],
            )?;
            let mut save = tx.prepare(
                "INSERT INTO sync_watermarks (connection_id, resource_type, last_updated) VALUES (?1, ?2, ?3)
                 ON CONFLICT (connection_id, resource_type) DO UPDATE SET last_updated = ?3",
            )?;
            for (resource_type, latest) in &complete {
                save.execute(rusqlite::params![id, resource_type, latest])?;
            }
            Ok(((), details))
        })?;
        Ok(report)
    }

    /// Links the portal's patient to a person on the first sync (a no-op once linked). Returns
    /// how many times the Patient read was retried.
    async fn settle_portal_patient(
        &mut self,
        portal: &Portal,
        connection_id: i64,
        source_id: i64,
        patient: &str,
        choice: PersonChoice,
    ) -> Result<u64> {
        let linked = self.write_part(|tx| people::linked_person(tx, source_id, patient))?;
        if linked.is_some() {
            return Ok(0);
        }
        let url = http::join(&portal.base, &format!("Patient/{patient}"));
        let mut retried = 0;
        let raw: Box<RawValue> = portal.get_parsed(&url, "Patient", &mut retried).await?;
        let name = portal.name.clone();
        let now = self.now();
        self.store_page_then(connection_id, source_id, &[raw], &portal.base, |tx| {
            let links = people::Settler::new(tx, source_id, &name, choice, &now)?.finish(tx)?;
            if links.is_empty() {
                return Err(Error::Portal {
                    portal: portal.base.origin().ascii_serialization(),
                    why: "it did not send the signed-in patient's Patient resource".into(),
                });
            }
            audit::append(
                tx,
                &now,
                AuditKind::People,
                &serde_json::json!({ "linked": links }),
            )?;
            Ok(())
        })?;
        Ok(retried)
    }

    /// Records a failed sync (one audit row, no clinical content) and returns the error.
    /// A sync stopped by [`Stop`]: the tokens received so far kept, an audit row, and
    /// [`Error::SyncStopped`]. Not a failure of the portal: the connection's state is unchanged.
    async fn sync_stopped<T>(
        &mut self,
        id: i64,
        portal: &Arc<Portal>,
        report: &SyncReport,
    ) -> Result<T> {
        let tokens = portal.tokens.lock().await.clone();
        self.save_tokens(id, &tokens)?;
        let details = serde_json::json!({
            "connection": id,
            "stopped": true,
            "pages": report.pages,
            "new": report.counts.new,
            "updated": report.counts.updated,
        });
        self.write(AuditKind::Sync, |_| Ok(((), details)))?;
        Err(Error::SyncStopped)
    }

    fn sync_failed<T>(&mut self, id: i64, error: Error) -> Result<T> {
        if matches!(error, Error::NeedsSignIn(_)) {
            self.mark_needs_sign_in(id)?;
        }
        let details = serde_json::json!({ "connection": id, "error": error.code() });
        self.write(AuditKind::Sync, |tx| {
            tx.execute(
                "UPDATE connections SET last_error = ?2 WHERE id = ?1",
                rusqlite::params![id, error.code()],
            )?;
            Ok(((), details))
        })?;
        Err(error)
    }

    /// Stores one page in one transaction, with the references to [`REFERENCED_TYPES`] it makes.
    /// Returns the counts and the newest meta.lastUpdated.
    fn store_page(
        &mut self,
        connection_id: i64,
        source_id: i64,
        entries: &[Box<RawValue>],
        base: &Url,
    ) -> Result<(StoreCounts, Option<String>)> {
        self.store_page_then(connection_id, source_id, entries, base, |_| Ok(()))
    }

    /// [`Self::store_page`], running `then` in the same transaction before it commits.
    fn store_page_then(
        &mut self,
        connection_id: i64,
        source_id: i64,
        entries: &[Box<RawValue>],
        base: &Url,
        then: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<()>,
    ) -> Result<(StoreCounts, Option<String>)> {
        let now = self.now();
        let PreparedPage {
            resources: prepared,
            referenced,
            attachments,
        } = prepare_page(entries, base)?;
        self.write_part(|tx| {
            let mut writer = ResourceWriter::new(tx);
            let mut counts = StoreCounts::default();
            let mut newest: Option<String> = None;
            for (facts, entry, json) in &prepared {
                counts.add(writer.put(source_id, facts, entry, json, &now)?);
                if let Some(updated) = &facts.last_updated
                    && newest.as_ref().is_none_or(|n| updated > n)
                {
                    newest = Some(updated.clone());
                }
            }
            writer.finish()?;
            let mut remember = tx.prepare_cached(
                "INSERT OR IGNORE INTO sync_references (connection_id, resource_type, fhir_id) VALUES (?1, ?2, ?3)",
            )?;
            for (t, rid) in &referenced {
                remember.execute(rusqlite::params![connection_id, t, rid])?;
            }
            let mut remember =
                tx.prepare_cached("INSERT OR IGNORE INTO sync_attachments (connection_id, url) VALUES (?1, ?2)")?;
            for url in &attachments {
                remember.execute(rusqlite::params![connection_id, url])?;
            }
            then(tx)?;
            Ok((counts, newest))
        })
    }

    /// Downloads recorded attachment URLs (concurrently) and stores each with its content type and
    /// SHA-256, clearing its pending mark in the same transaction.
    async fn fetch_attachments(
        &mut self,
        id: i64,
        source_id: i64,
        portal: &Arc<Portal>,
        report: &mut SyncReport,
    ) -> Result<()> {
        let pending: Vec<String> = {
            let mut stmt = self.db().prepare(
                "SELECT url FROM sync_attachments WHERE connection_id = ?1 ORDER BY url",
            )?;
            let rows = stmt.query_map([id], |r| r.get(0))?;
            rows.collect::<rusqlite::Result<Vec<_>>>()?
        };
        let retried = std::sync::atomic::AtomicU64::new(0);
        let fetched: Vec<_> = futures_util::stream::iter(pending.iter().map(|url| {
            let portal = portal.clone();
            let retried = &retried;
            async move {
                let parsed = Url::parse(url).map_err(|_| portal.malformed("attachment"))?;
                portal
                    .get_with_retry(&parsed, &mut |_| count(retried))
                    .await
            }
        }))
        .buffered(portal.options.concurrency.max(1))
        .collect()
        .await;
        report.retries = report.retries.saturating_add(retried.into_inner());
        let now = self.now();
        for (url, result) in pending.iter().zip(fetched) {
            let body = match result {
                Ok(body) => Some(body),
                Err(Error::PortalAnswered { status: 404, .. }) => None,
                Err(e) => return Err(e),
            };
            let content = body.map(|b| binary_content(&b));
            self.write_part(|tx| {
                if let Some((content_type, data)) = &content {
                    resources::put_attachment(
                        tx,
                        url,
                        source_id,
                        content_type.as_deref(),
                        data,
                        &now,
                    )?;
                }
                tx.execute(
                    "DELETE FROM sync_attachments WHERE connection_id = ?1 AND url = ?2",
                    rusqlite::params![id, url],
                )?;
                Ok(())
            })?;
            report.attachments = report
                .attachments
                .saturating_add(u64::from(content.is_some()));
        }
        Ok(())
    }

    /// Recorded references not yet in the vault for this source (the others are cleared).
    fn pending_references(&mut self, id: i64, source_id: i64) -> Result<Vec<(String, String)>> {
        self.write_part(|tx| {
            tx.execute(
                "DELETE FROM sync_references WHERE connection_id = ?1 AND EXISTS (
                     SELECT 1 FROM resources r WHERE r.source_id = ?2
                     AND r.resource_type = sync_references.resource_type AND r.fhir_id = sync_references.fhir_id)",
                rusqlite::params![id, source_id],
            )?;
            let mut stmt = tx.prepare(
                "SELECT resource_type, fhir_id FROM sync_references WHERE connection_id = ?1 ORDER BY resource_type, fhir_id",
            )?;
            let rows = stmt.query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    fn watermarks(&self, id: i64) -> Result<HashMap<String, String>> {
        let mut stmt = self.db().prepare(
            "SELECT resource_type, last_updated FROM sync_watermarks WHERE connection_id = ?1",
        )?;
        let rows = stmt.query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<HashMap<_, _>>>()?)
    }
}

/// A page's resources checked and read before they are stored, with the references and
/// attachment URLs they name.
struct PreparedPage<'r> {
    resources: Vec<(ResourceFacts, Entry, &'r str)>,
    referenced: BTreeSet<(String, String)>,
    attachments: BTreeSet<String>,
}

/// Checks and reads each resource of a page; refuses the page if one is not usable.
fn prepare_page<'r>(entries: &'r [Box<RawValue>], base: &Url) -> Result<PreparedPage<'r>> {
    let mut referenced: BTreeSet<(String, String)> = BTreeSet::new();
    let mut attachments: BTreeSet<String> = BTreeSet::new();
    let mut prepared = Vec::with_capacity(entries.len());
    for raw in entries {
        let value: serde_json::Value =
            serde_json::from_str(raw.get()).map_err(|_| Error::Portal {
                portal: base.origin().ascii_serialization(),
                why: "it sent a resource that is not valid JSON".into(),
            })?;
        let facts = ResourceFacts::of(&value)
            .ok()
            .filter(|f| f.id.is_some())
            .ok_or_else(|| Error::Portal {
                portal: base.origin().ascii_serialization(),
                why: "it sent a resource without a type or id".into(),
            })?;
        references::resolve(raw.get(), |reference| {
            if let Some(target) = referenced_target(reference, base) {
                referenced.insert(target);
            }
            None
        });
        attachments.extend(attachment_urls(&value, base));
        let entry = Entry::read(&value);
        if matches!(entry.subject, Subject::Missing | Subject::Several(_)) {
            return Err(Error::Portal {
                portal: base.origin().ascii_serialization(),
                why: "it sent a resource that names no patient, or several".into(),
            });
        }
        prepared.push((facts, entry, raw.get()));
    }
    Ok(PreparedPage {
        resources: prepared,
        referenced,
        attachments,
    })
}

/// US Core categories, for servers that search Observation and Condition only by category.
fn categories(resource_type: &str) -> &'static [&'static str] {
    match resource_type {
        "Observation" => &[
            "laboratory",
            "vital-signs",
            "social-history",
            "survey",
            "exam",
            "imaging",
            "procedure",
            "therapy",
            "activity",
            "sdoh",
        ],
        "Condition" => &["problem-list-item", "encounter-diagnosis", "health-concern"],
        _ => &[],
    }
}

/// URLs of attachments to download: DocumentReference.content.attachment and
/// DiagnosticReport.presentedForm without inline data, on the portal's own origin only (the access
/// token is never sent anywhere else).
fn attachment_urls(resource: &serde_json::Value, base: &Url) -> Vec<String> {
    let attachments: Vec<&serde_json::Value> = match resource["resourceType"].as_str() {
        Some("DocumentReference") => resource["content"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| &c["attachment"])
            .collect(),
        Some("DiagnosticReport") => resource["presentedForm"]
            .as_array()
            .into_iter()
            .flatten()
            .collect(),
        _ => Vec::new(),
    };
    attachments
        .into_iter()
        .filter(|a| a.get("data").is_none())
        .filter_map(|a| a["url"].as_str())
        .filter_map(|u| {
            Url::parse(u)
                .ok()
                .or_else(|| http::join(base, "").join(u).ok())
        })
        .filter(|u| u.origin() == base.origin())
        .map(String::from)
        .collect()
}

/// An attachment's content type and bytes: a FHIR Binary resource is unwrapped (its base64
/// `data`); anything else is kept as sent.
fn binary_content(body: &[u8]) -> (Option<String>, Vec<u8>) {
    use base64::Engine;
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(body)
        && value.get("resourceType").and_then(|t| t.as_str()) == Some("Binary")
        && let Some(data) = value.get("data").and_then(|d| d.as_str())
        && let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(data)
    {
        let content_type = value.get("contentType").and_then(|t| t.as_str());
        return (content_type.map(str::to_owned), bytes);
    }
    (None, body.to_vec())
}

/// `Type/id` (or `<base>/Type/id`) of a type fetched by reference.
fn referenced_target(reference: &str, base: &Url) -> Option<(String, String)> {
    let base_text = base.as_str().trim_end_matches('/');
    let relative = reference
        .strip_prefix(base_text)
        .map(|r| r.trim_start_matches('/'))
        .unwrap_or(reference);
    let (t, id) = relative.split_once('/')?;
    (REFERENCED_TYPES.contains(&t) && crate::fhir::is_valid_id(id))
        .then(|| (t.to_owned(), id.to_owned()))
}

impl Portal {
    fn malformed(&self, what: &str) -> Error {
        Error::Portal {
            portal: self.name.clone(),
            why: format!("it sent a {what} page that is not valid FHIR JSON"),
        }
    }

    /// What the CapabilityStatement says; `None` if it cannot be read (then every type is tried).
    async fn capabilities(&self) -> Option<Capabilities> {
        let bytes = self
            .get_with_retry(&http::join(&self.base, "metadata"), &mut |_| {})
            .await
            .ok()?;
        let metadata: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
        capabilities_of(&metadata)
    }
}

/// What a CapabilityStatement says; `None` if it names no types.
fn capabilities_of(metadata: &serde_json::Value) -> Option<Capabilities> {
    let resources: Vec<&serde_json::Value> = metadata
        .get("rest")?
        .as_array()?
        .iter()
        .flat_map(|rest| rest["resource"].as_array().into_iter().flatten())
        .collect();
    let types: BTreeSet<String> = resources
        .iter()
        .filter_map(|r| r["type"].as_str().map(str::to_owned))
        .collect();
    let by_patient: BTreeSet<String> = resources
        .iter()
        .filter(|r| {
            r["searchParam"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|p| p["name"] == "patient")
        })
        .filter_map(|r| r["type"].as_str().map(str::to_owned))
        .collect();
    let everything = resources
        .iter()
        .filter(|r| r["type"] == "Patient")
        .any(|r| {
            r["operation"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|o| o["name"] == "everything" || o["name"] == "$everything")
        });
    (!types.is_empty()).then_some(Capabilities {
        types,
        by_patient,
        everything,
    })
}

impl Portal {
    /// Fetches every page of one type for the patient and hands each to the vault task. Servers that
    /// refuse an Observation or Condition search without a category (400) are asked per US Core
    /// category instead.
    async fn fetch_type(
        &self,
        resource_type: &str,
        patient: &str,
        since: Option<&str>,
        sender: &tokio::sync::mpsc::Sender<Message>,
    ) -> Result<()> {
        // The profile says the portal searches this type only by category.
        if let Some(categories) = self.profile.search_categories.get(resource_type) {
            for category in categories {
                self.fetch_search(resource_type, patient, since, Some(category), sender)
                    .await?;
            }
            return Ok(());
        }
        match self
            .fetch_search(resource_type, patient, since, None, sender)
            .await
        {
            // Advertised but refused: one search per type instead.
            Err(Error::PortalAnswered { status, .. })
                if resource_type == EVERYTHING && (400..500).contains(&status) =>
            {
                for t in std::iter::once("Patient").chain(US_CORE_TYPES.iter().copied()) {
                    Box::pin(self.fetch_type(t, patient, None, sender)).await?;
                }
                Ok(())
            }
            Err(Error::PortalAnswered { status: 400, .. })
                if !categories(resource_type).is_empty() =>
            {
                for category in categories(resource_type) {
                    self.fetch_search(resource_type, patient, since, Some(category), sender)
                        .await?;
                }
                Ok(())
            }
            other => other,
        }
    }

    async fn fetch_search(
        &self,
        resource_type: &str,
        patient: &str,
        since: Option<&str>,
        category: Option<&str>,
        sender: &tokio::sync::mpsc::Sender<Message>,
    ) -> Result<()> {
        if resource_type == EVERYTHING {
            let mut url = http::join(&self.base, &format!("Patient/{patient}/$everything"));
            {
                let mut query = url.query_pairs_mut();
                query.append_pair("_count", &self.options.page_size.to_string());
                if let Some(since) = since {
                    query.append_pair("_since", since);
                }
            }
            return self.fetch_pages(url, resource_type, sender).await;
        }
        let mut url = http::join(&self.base, resource_type);
        {
            let mut query = url.query_pairs_mut();
            if resource_type == "Patient" {
                query.append_pair("_id", patient);
            } else {
                query.append_pair("patient", patient);
            }
            if let Some(category) = category {
                query.append_pair("category", category);
            }
            query.append_pair("_count", &self.options.page_size.to_string());
            if let Some(since) = since {
                query.append_pair("_lastUpdated", &format!("gt{since}"));
            }
        }
        self.fetch_pages(url, resource_type, sender).await
    }

    /// Follows a search's `next` links, sending each page to the vault task.
    /// GETs `url` and parses it as `T`; a malformed answer is treated like a failed request:
    /// retried, then an error naming `what`. Counts retries in `retried`.
    async fn get_parsed<T: serde::de::DeserializeOwned>(
        &self,
        url: &Url,
        what: &str,
        retried: &mut u64,
    ) -> Result<T> {
        let mut malformed = 0u32;
        loop {
            let bytes = self
                .get_with_retry(url, &mut |_| *retried = retried.saturating_add(1))
                .await?;
            match serde_json::from_slice::<T>(&bytes) {
                Ok(parsed) => return Ok(parsed),
                Err(_) if malformed.saturating_add(1) < self.options.max_attempts => {
                    malformed = malformed.saturating_add(1);
                    *retried = retried.saturating_add(1);
                    tokio::time::sleep(self.options.retry_base).await;
                }
                Err(_) => return Err(self.malformed(what)),
            }
        }
    }

    async fn fetch_pages(
        &self,
        url: Url,
        resource_type: &str,
        sender: &tokio::sync::mpsc::Sender<Message>,
    ) -> Result<()> {
        let mut next = Some(url);
        while let Some(url) = next.take() {
            let mut retried = 0u64;
            let page: Page = self.get_parsed(&url, resource_type, &mut retried).await?;
            for _ in 0..retried {
                let _ = sender.send(Message::Retried).await;
            }
            if let Some(tokens) = self.take_rotated().await {
                let _ = sender.send(Message::Tokens(tokens)).await;
            }
            next = page.next(&self.base);
            let entries = page.resources();
            let message = Message::Page {
                resource_type: resource_type.to_owned(),
                entries,
            };
            if sender.send(message).await.is_err() {
                return Ok(());
            }
        }
        Ok(())
    }

    /// GET with the access token: retries 429 (after Retry-After), 5xx and broken connections with
    /// exponential back-off; renews the token once on 401.
    async fn get_with_retry(
        &self,
        url: &Url,
        on_retry: &mut (dyn FnMut(u32) + Send),
    ) -> Result<bytes::Bytes> {
        let url = &self.with_params(url);
        let mut delay = self.options.retry_base;
        let mut renewed = false;
        let mut last = String::new();
        // A renewal on 401 is not an attempt: the request is sent again with the new token.
        let mut attempt = 0;
        while attempt < self.options.max_attempts {
            attempt = attempt.saturating_add(1);
            self.wait_for_slot().await;
            let token = self.tokens.lock().await.access_token.clone();
            let sent = self
                .http
                .get(url.clone())
                .bearer_auth(&token)
                .header("Accept", "application/fhir+json")
                .send()
                .await;
            if let Ok(response) = &sent {
                self.note_budget(response.headers()).await;
            }
            let wait = match sent {
                Ok(response) if response.status().is_success() => match response.bytes().await {
                    Ok(bytes) => return Ok(bytes),
                    Err(e) => {
                        last = http::describe(&e);
                        delay
                    }
                },
                Ok(response)
                    if response.status() == reqwest::StatusCode::UNAUTHORIZED && !renewed =>
                {
                    renewed = true;
                    self.renew(&token).await?;
                    attempt = attempt.saturating_sub(1);
                    continue;
                }
                Ok(response) if response.status() == reqwest::StatusCode::TOO_MANY_REQUESTS => {
                    last = "it asked to slow down (429)".into();
                    response
                        .headers()
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .map(Duration::from_secs)
                        .unwrap_or(delay)
                        .min(self.options.max_retry_after)
                }
                Ok(response) if response.status().is_server_error() => {
                    last = format!("it answered {}", response.status());
                    delay
                }
                Ok(response) => {
                    return Err(Error::PortalAnswered {
                        portal: self.name.clone(),
                        status: response.status().as_u16(),
                    });
                }
                Err(e) => {
                    last = http::describe(&e);
                    delay
                }
            };
            if attempt == self.options.max_attempts {
                break;
            }
            on_retry(attempt);
            tokio::time::sleep(wait).await;
            delay = delay.saturating_mul(2);
        }
        Err(Error::Portal {
            portal: self.name.clone(),
            why: format!("{last}, even after {} tries", self.options.max_attempts),
        })
    }

    /// `url` with the profile's query parameters (those it does not carry already).
    fn with_params(&self, url: &Url) -> Url {
        let mut url = url.clone();
        let missing: Vec<&(String, String)> = self
            .params
            .iter()
            .filter(|(k, _)| !url.query_pairs().any(|(have, _)| have == k.as_str()))
            .collect();
        if !missing.is_empty() {
            url.query_pairs_mut()
                .extend_pairs(missing.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        }
        url
    }

    /// Waits until the profile's request budget allows the next request (shared by the workers).
    async fn wait_for_slot(&self) {
        let Some(spacing) = self.profile.request_spacing() else {
            return;
        };
        let start = {
            let mut next = self.next_slot.lock().await;
            let start = (*next).max(tokio::time::Instant::now());
            *next = start.checked_add(spacing).unwrap_or(start);
            start
        };
        tokio::time::sleep_until(start).await;
    }

    /// At a portal with a budget, one that says it is spent (`X-RateLimit-Remaining: 0`) is not
    /// asked again before `X-RateLimit-Reset` seconds.
    async fn note_budget(&self, headers: &reqwest::header::HeaderMap) {
        if self.profile.request_spacing().is_none() {
            return;
        }
        let number = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        if number("x-ratelimit-remaining") == Some(0)
            && let Some(reset) = number("x-ratelimit-reset")
        {
            let pause = Duration::from_secs(reset).min(self.options.max_retry_after);
            let mut next = self.next_slot.lock().await;
            let now = tokio::time::Instant::now();
            *next = (*next).max(now.checked_add(pause).unwrap_or(now));
        }
    }

    /// Renews the access token unless another worker already did since `failed_token` was used:
    /// with the refresh token, else with this computer's registration (JWT bearer), else the
    /// patient signs in again.
    async fn renew(&self, failed_token: &str) -> Result<Tokens> {
        let mut tokens = self.tokens.lock().await;
        if tokens.access_token != failed_token {
            return Ok(tokens.clone());
        }
        let now = self.clock.now().unix_timestamp();
        let renewed = match (&tokens.refresh_token, &self.endpoints.device) {
            (Some(refresh_token), _) => {
                let scope = tokens
                    .scope
                    .clone()
                    .filter(|_| self.profile.refresh_repeats_scope);
                oauth::refresh(
                    &self.http,
                    &self.endpoints,
                    refresh_token,
                    now,
                    &self.name,
                    scope.as_deref(),
                )
                .await?
            }
            (None, Some(registered)) => {
                device::renew(
                    &self.http,
                    &self.endpoints,
                    registered,
                    &self.patient,
                    now,
                    &self.name,
                )
                .await?
            }
            (None, None) => return Err(Error::NeedsSignIn(self.name.clone())),
        };
        *tokens = renewed.clone();
        self.rotated
            .store(true, std::sync::atomic::Ordering::SeqCst);
        Ok(renewed)
    }

    /// Tokens renewed since the last call (the vault task stores them right away: with rotation,
    /// losing a new refresh token would mean signing in again).
    async fn take_rotated(&self) -> Option<Tokens> {
        let tokens = self.tokens.lock().await;
        self.rotated
            .swap(false, std::sync::atomic::Ordering::SeqCst)
            .then(|| tokens.clone())
    }
}

/// Counts one retry of a request made concurrently with others.
fn count(retried: &std::sync::atomic::AtomicU64) {
    retried.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}
