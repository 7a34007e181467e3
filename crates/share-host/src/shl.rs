//! The SMART Health Links side: the manifest request (`POST /shl/{id}`), the direct file of a
//! flag-U link (`GET /shl/{id}?recipient=`), and the single-use `location` URLs
//! (`GET /shl/file/{ticket}`). Every request for a known link leaves an access event.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Invalid, Result};
use crate::store::{self, Event};
use crate::{AppState, Client, JsonBody, secret};

const MAX_RECIPIENT_CHARS: usize = 256;
const MAX_PASSCODE_CHARS: usize = 256;

#[derive(Deserialize)]
pub struct ManifestRequest {
    pub recipient: String,
    pub passcode: Option<String>,
    #[serde(rename = "embeddedLengthMax")]
    pub embedded_length_max: Option<u64>,
}

#[derive(Serialize)]
pub struct ManifestFile {
    #[serde(rename = "contentType")]
    pub content_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub embedded: Option<String>,
}

#[derive(Serialize)]
pub struct Manifest {
    pub files: Vec<ManifestFile>,
}

fn check_recipient(recipient: &str) -> Result<()> {
    if recipient.trim().is_empty() || recipient.chars().count() > MAX_RECIPIENT_CHARS {
        return Err(Error::Invalid(Invalid::Recipient));
    }
    Ok(())
}

fn event(
    at: i64,
    kind: &'static str,
    recipient: &str,
    file_index: Option<i64>,
    outcome: &'static str,
    ip: Option<String>,
) -> Event {
    Event {
        at,
        kind,
        recipient: Some(recipient.to_owned()),
        file_index,
        outcome,
        ip,
    }
}

/// What the first look at a link decided.
enum Gate {
    /// No passcode needed: the files were handed out.
    Done(Manifest),
    /// An attempt is reserved; check this hash, `remaining` is what is left if it is wrong.
    Check { hash: String, remaining: i64 },
}

/// One manifest request's part in the database.
#[derive(Clone)]
struct Handout {
    id: String,
    recipient: String,
    ip: Option<String>,
    now: i64,
    ttl: i64,
    base: String,
    embedded_max: Option<u64>,
}

impl Handout {
    fn event(&self, outcome: &'static str) -> Event {
        event(
            self.now,
            "manifest",
            &self.recipient,
            None,
            outcome,
            self.ip.clone(),
        )
    }

    /// In one transaction: count a wrong passcode (`wrong`: the attempts left), or count the
    /// use and hand out the files, embedded when they fit, else behind new single-use tickets.
    fn files(&self, c: &mut rusqlite::Connection, wrong: Option<i64>) -> Result<Manifest> {
        let Handout { id, now, .. } = self;
        let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        if let Some(remaining) = wrong {
            store::record(&tx, id, &self.event("wrong_passcode"))?;
            tx.commit()?;
            return Err(Error::Passcode { remaining });
        }
        let link = store::load_link(&tx, id)?.ok_or(Error::NotFound)?;
        if link.has_flag('P') {
            store::refund_attempt(&tx, id)?;
        }
        if !store::take_use(&tx, id, *now, !link.has_flag('L'))? {
            store::record(&tx, id, &self.event("inactive"))?;
            tx.commit()?;
            return Err(Error::NotFound);
        }
        store::purge_tickets(&tx, *now)?;
        let mut files = Vec::new();
        for (idx, content_type, len) in store::file_list(&tx, id)? {
            if self.embedded_max.is_some_and(|max| len <= max) {
                files.push(ManifestFile {
                    content_type,
                    location: None,
                    embedded: store::file(&tx, id, idx)?,
                });
            } else {
                let ticket = secret::random_token()?;
                let expires = now.checked_add(self.ttl).ok_or(Error::Internal)?;
                store::add_ticket(
                    &tx,
                    &secret::token_hash(&ticket),
                    id,
                    idx,
                    &self.recipient,
                    expires,
                )?;
                files.push(ManifestFile {
                    content_type,
                    location: Some(format!("{}/shl/file/{ticket}", self.base)),
                    embedded: None,
                });
            }
        }
        store::record(&tx, id, &self.event("ok"))?;
        tx.commit()?;
        Ok(Manifest { files })
    }
}

/// `POST /shl/{id}`: the manifest.
pub async fn manifest(
    State(state): State<AppState>,
    client: Client,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<ManifestRequest>,
) -> Result<Response> {
    state.limit(&client, Some(&id))?;
    check_recipient(&req.recipient)?;
    if req
        .passcode
        .as_ref()
        .is_some_and(|p| p.chars().count() > MAX_PASSCODE_CHARS)
    {
        return Err(Error::Invalid(Invalid::Passcode));
    }
    let has_passcode = req.passcode.is_some();
    let handout = Handout {
        id,
        recipient: req.recipient.clone(),
        ip: client.logged_ip(&state),
        now: state.clock.now(),
        ttl: state.settings.location_ttl_secs,
        base: state.settings.public_url.clone(),
        embedded_max: req.embedded_length_max,
    };

    // 1. Is the link open? Without a passcode, hand out the files in the same visit to the
    //    database; with one, reserve an attempt.
    let gate = {
        let handout = handout.clone();
        state
            .store
            .run(move |c| {
                let Handout { id, now, .. } = &handout;
                let link = store::load_link(c, id)?.ok_or(Error::NotFound)?;
                if !link.is_open(*now) {
                    store::record(c, id, &handout.event("inactive"))?;
                    return Err(Error::NotFound);
                }
                if !link.has_flag('P') {
                    return handout.files(c, None).map(Gate::Done);
                }
                if !has_passcode {
                    store::record(c, id, &handout.event("missing_passcode"))?;
                    return Err(Error::Passcode {
                        remaining: link.remaining_attempts,
                    });
                }
                let hash = link.passcode_hash.ok_or(Error::NotFound)?;
                match store::reserve_attempt(c, id)? {
                    Some(remaining) => Ok(Gate::Check { hash, remaining }),
                    None => {
                        store::record(c, id, &handout.event("disabled"))?;
                        Err(Error::Passcode { remaining: 0 })
                    }
                }
            })
            .await?
    };

    // 2. The passcode, on an Argon2id thread (slow on purpose, and few at once); then count the
    //    use and hand out the files, or count the wrong passcode.
    let manifest = match gate {
        Gate::Done(manifest) => manifest,
        Gate::Check { hash, remaining } => {
            let given = req.passcode.clone().unwrap_or_default();
            let right = secret::passcode_matches_queued(hash, given).await?;
            let wrong = (!right).then_some(remaining);
            state.store.run(move |c| handout.files(c, wrong)).await?
        }
    };
    Ok(Json(manifest).into_response())
}

fn jose(jwe: String) -> Response {
    let mut response = jwe.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/jose"),
    );
    response
}

#[derive(Deserialize)]
pub struct DirectQuery {
    pub recipient: Option<String>,
}

/// `GET /shl/{id}?recipient=...`: the sole file of a flag-U link.
pub async fn direct(
    State(state): State<AppState>,
    client: Client,
    Path(id): Path<String>,
    query: std::result::Result<Query<DirectQuery>, QueryRejection>,
) -> Result<Response> {
    state.limit(&client, Some(&id))?;
    let recipient = query
        .ok()
        .and_then(|Query(q)| q.recipient)
        .ok_or(Error::Invalid(Invalid::Recipient))?;
    check_recipient(&recipient)?;
    let now = state.clock.now();
    let ip = client.logged_ip(&state);
    let jwe = state
        .store
        .run(move |c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let link = store::load_link(&tx, &id)?.ok_or(Error::NotFound)?;
            if !link.has_flag('U') {
                return Err(Error::NotFound);
            }
            let ev = |outcome| event(now, "direct", &recipient, Some(0), outcome, ip.clone());
            if !store::take_use(&tx, &id, now, !link.has_flag('L'))? {
                store::record(&tx, &id, &ev("inactive"))?;
                tx.commit()?;
                return Err(Error::NotFound);
            }
            let jwe = store::file(&tx, &id, 0)?.ok_or(Error::NotFound)?;
            store::record(&tx, &id, &ev("ok"))?;
            tx.commit()?;
            Ok(jwe)
        })
        .await?;
    Ok(jose(jwe))
}

/// `GET /shl/file/{ticket}`: a `location` URL, good once and for a minute.
pub async fn file(
    State(state): State<AppState>,
    client: Client,
    Path(ticket): Path<String>,
) -> Result<Response> {
    state.limit(&client, None)?;
    let hash = secret::token_hash(&ticket);
    let now = state.clock.now();
    let ip = client.logged_ip(&state);
    let taken = state
        .store
        .run(move |c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let t = store::take_ticket(&tx, &hash)?.ok_or(Error::NotFound)?;
            let ev = |outcome| event(now, "file", &t.recipient, Some(t.idx), outcome, ip.clone());
            let outcome = if t.expires_at <= now {
                Some("expired")
            } else if !store::is_live(&tx, &t.link_id, now)? {
                Some("inactive")
            } else {
                None
            };
            if let Some(outcome) = outcome {
                store::record(&tx, &t.link_id, &ev(outcome))?;
                tx.commit()?;
                return Err(Error::NotFound);
            }
            store::record(&tx, &t.link_id, &ev("ok"))?;
            tx.commit()?;
            Ok((t.link_id, t.idx))
        })
        .await?;
    // The ciphertext is read beside the writer, after the ticket is taken and the access kept.
    let (link_id, idx) = taken;
    let jwe = state
        .store
        .read(move |c| store::file(c, &link_id, idx))
        .await?
        .ok_or(Error::NotFound)?;
    Ok(jose(jwe))
}
