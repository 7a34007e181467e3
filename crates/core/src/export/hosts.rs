//! Share hosts and the shares made through them.
//!
//! A share host (`ownrecord-share-host`, or any host with the same owner API) keeps a SMART
//! Health Link's encrypted file and answers the link's manifest requests; the key stays in the
//! link. The patient configures hosts by URL and the owner token the host's operator issued.
//!
//! Everything lives in the vault's `preferences` table, so it is encrypted with the vault:
//! - `share_host/<url>`: a configured host, `{"url", "token", "added"}`;
//! - `share/<id>`: one share (any share, with or without a link), a [`Share`] plus the link's
//!   management token, which never leaves the vault.
//!
//! The disclosure log (kind `share`) holds each step as its own hash-chained row, told apart by
//! `details.event`: `pending` (written before the upload), `completed` (with the files, in the
//! transaction that stores the share), `failed`, `opened` / `refused` (from the host's access
//! events, by [`Vault::refresh_shares`]) and `revoked`.

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::audit::{self, AuditKind};
use crate::error::{Error, Result};
use crate::vault::{Vault, preferences};

const HOST_PREFIX: &str = "share_host/";
const SHARE_PREFIX: &str = "share/";

/// A configured share host (its owner token is not shown).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareHost {
    pub url: String,
    pub added: String,
    #[serde(default, skip_serializing)]
    token: String,
}

/// One access to a share's link, as its host recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Open {
    /// When the host saw it (RFC 3339).
    pub at: Option<String>,
    /// The recipient the viewer declared, as declared (not verified by anyone).
    pub recipient: Option<String>,
}

/// One share: who, why, what, when, and for a link through a host, its state there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Share {
    pub id: String,
    pub recipient: String,
    pub purpose: String,
    pub what: String,
    pub sections: Vec<String>,
    pub created: String,
    pub expires: Option<String>,
    /// The share host's URL, for a link made through one.
    pub host: Option<String>,
    /// The link's id at the host.
    pub link_id: Option<String>,
    /// `active` (the link opens), `expired`, `revoked`, or `given` (files only: nothing to
    /// take back).
    pub status: String,
    pub opens: Vec<Open>,
    /// Access events already read from the host (the host's list only grows).
    #[serde(default)]
    pub events_seen: usize,
    /// The study, for a de-identified research copy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub study: Option<String>,
}

/// A share as stored: with the link's management token.
#[derive(Serialize, Deserialize)]
struct Stored {
    #[serde(flatten)]
    share: Share,
    #[serde(default)]
    management_token: Option<String>,
}

/// What `shares refresh` found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Refreshed {
    /// Active shares asked about.
    pub checked: usize,
    /// Opens recorded now (each one disclosure row).
    pub new_opens: usize,
    /// Refused requests recorded now (a wrong or missing passcode, an inactive link).
    pub new_refusals: usize,
    /// Shares whose host could not be asked, and why.
    pub failed: Vec<RefreshFailure>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefreshFailure {
    pub id: String,
    pub why: String,
}

/// The host's answer to a created link.
#[derive(Debug, Deserialize)]
pub(crate) struct Created {
    pub id: String,
    pub manifest_url: String,
    pub management_token: String,
    /// The host's viewer page, when it serves one (`ownrecord-share-host` does, at `/view`).
    #[serde(default)]
    pub viewer_url: Option<String>,
}

/// What to send to a host for a new link.
pub(crate) struct NewLink<'a> {
    /// The link's files in manifest order, each a compact JWE of FHIR JSON under the link's key:
    /// the IPS first, then the PDF as a DocumentReference.
    pub files: &'a [&'a str],
    pub passcode: Option<&'a str>,
    pub expires_at: Option<i64>,
    pub max_uses: Option<u32>,
    pub label: &'a str,
}

/// A host URL as stored: trimmed, no trailing slash, https (plain http only on this computer).
pub fn normalize(url: &str) -> Result<String> {
    let url = url.trim().trim_end_matches('/').to_owned();
    super::shl::check_url(&url)?;
    Ok(url)
}

fn host_key(url: &str) -> String {
    format!("{HOST_PREFIX}{url}")
}

fn share_key(id: &str) -> String {
    format!("{SHARE_PREFIX}{id}")
}

/// A fresh share id: 12 lower-case hex digits.
pub(crate) fn new_id() -> String {
    let mut bytes = [0u8; 6];
    // Cannot panic: OS randomness, no fallback.
    #[allow(clippy::expect_used)]
    getrandom::fill(&mut bytes).expect("the OS random number generator works");
    hex::encode(bytes)
}

fn to_json<T: Serialize>(value: &T) -> String {
    // Cannot panic: derived structs with string keys serialize.
    #[allow(clippy::expect_used)]
    serde_json::to_string(value).expect("a share serializes")
}

pub(crate) fn store_share(
    tx: &rusqlite::Transaction<'_>,
    share: &Share,
    management_token: Option<&str>,
) -> Result<()> {
    let stored = Stored {
        share: share.clone(),
        management_token: management_token.map(str::to_owned),
    };
    preferences::set(tx, &share_key(&share.id), Some(&to_json(&stored)))
}

fn unreachable(url: &str, why: impl std::fmt::Display) -> Error {
    Error::HostUnreachable {
        url: url.to_owned(),
        why: why.to_string(),
    }
}

/// Sends a request to a host and reads its JSON answer; 401/403 is [`Error::HostRefused`],
/// 404 is `Ok(None)`.
async fn call<T: serde::de::DeserializeOwned>(
    host: &str,
    request: reqwest::RequestBuilder,
) -> Result<Option<T>> {
    let response = request
        .send()
        .await
        .map_err(|e| unreachable(host, e.without_url()))?;
    let status = response.status();
    if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
        return Err(Error::HostRefused(host.to_owned()));
    }
    if status == reqwest::StatusCode::NOT_FOUND {
        return Ok(None);
    }
    if !status.is_success() {
        return Err(unreachable(host, format!("it answered {status}")));
    }
    let value = response
        .json::<T>()
        .await
        .map_err(|e| unreachable(host, e.without_url()))?;
    Ok(Some(value))
}

/// `POST /api/links` with the owner token.
pub(crate) async fn create_link(host: &ShareHost, link: &NewLink<'_>) -> Result<Created> {
    let body = serde_json::json!({
        "files": link
            .files
            .iter()
            .map(|jwe| serde_json::json!({"jwe": jwe, "content_type": super::shl::CONTENT_TYPE}))
            .collect::<Vec<_>>(),
        "flags": if link.passcode.is_some() { "P" } else { "" },
        "passcode": link.passcode,
        "expires_at": link.expires_at,
        "max_uses": link.max_uses,
        "label": link.label,
    });
    let request = crate::portal::http::client()
        .post(format!("{}/api/links", host.url))
        .bearer_auth(&host.token)
        .json(&body);
    call::<Created>(&host.url, request)
        .await?
        .ok_or_else(|| unreachable(&host.url, "it has no owner API at this address"))
}

impl Created {
    /// The viewer to put before `#shlink:/…`: the host's, when it is on the same origin as the
    /// manifest (a host may not send the link, and with it the key, to another site).
    pub fn viewer(&self) -> Option<&str> {
        let viewer = self.viewer_url.as_deref()?;
        let same_origin = match (url::Url::parse(viewer), url::Url::parse(&self.manifest_url)) {
            (Ok(v), Ok(m)) => v.origin() == m.origin() && v.fragment().is_none(),
            _ => false,
        };
        same_origin.then_some(viewer)
    }
}

/// `POST /api/links/{id}/revoke`; a link the host no longer has counts as revoked.
pub(crate) async fn revoke_link(host: &str, link_id: &str, token: &str) -> Result<()> {
    let request = crate::portal::http::client()
        .post(format!("{host}/api/links/{link_id}/revoke"))
        .bearer_auth(token);
    call::<serde_json::Value>(host, request).await?;
    Ok(())
}

#[derive(Deserialize)]
struct Events {
    events: Vec<Event>,
}

#[derive(Deserialize)]
struct Event {
    at: Option<String>,
    kind: String,
    recipient: Option<String>,
    outcome: String,
}

impl Vault {
    /// Adds (or replaces the token of) a share host.
    pub fn add_share_host(&mut self, url: &str, token: &str) -> Result<ShareHost> {
        let url = normalize(url)?;
        let token = token.trim();
        if token.is_empty() {
            return Err(Error::HostRefused(url));
        }
        let host = ShareHost {
            url: url.clone(),
            added: self.now(),
            token: token.to_owned(),
        };
        let stored = serde_json::json!({"url": host.url, "added": host.added, "token": token});
        self.write(AuditKind::ShareHost, |tx| {
            preferences::set(tx, &host_key(&url), Some(&stored.to_string()))?;
            Ok(((), serde_json::json!({"event": "host_added", "url": url})))
        })?;
        Ok(host)
    }

    /// Forgets a share host (links already made there keep working until revoked).
    pub fn remove_share_host(&mut self, url: &str) -> Result<()> {
        let url = url.trim().trim_end_matches('/').to_owned();
        if preferences::get(self.db(), &host_key(&url))?.is_none() {
            return Err(Error::UnknownHost(url));
        }
        self.write(AuditKind::ShareHost, |tx| {
            preferences::set(tx, &host_key(&url), None)?;
            Ok(((), serde_json::json!({"event": "host_removed", "url": url})))
        })
    }

    pub fn share_hosts(&self) -> Result<Vec<ShareHost>> {
        preferences::list(self.db(), HOST_PREFIX)?
            .into_iter()
            .map(|(_, value)| {
                serde_json::from_str(&value)
                    .map_err(|e| Error::Internal(format!("a stored share host: {e}")))
            })
            .collect()
    }

    pub(crate) fn share_host(&self, url: &str) -> Result<ShareHost> {
        let url = url.trim().trim_end_matches('/');
        let value = preferences::get(self.db(), &host_key(url))?
            .ok_or_else(|| Error::UnknownHost(url.to_owned()))?;
        serde_json::from_str(&value)
            .map_err(|e| Error::Internal(format!("a stored share host: {e}")))
    }

    fn stored_shares(&self) -> Result<Vec<Stored>> {
        preferences::list(self.db(), SHARE_PREFIX)?
            .into_iter()
            .map(|(_, value)| {
                serde_json::from_str(&value)
                    .map_err(|e| Error::Internal(format!("a stored share: {e}")))
            })
            .collect()
    }

    fn stored_share(&self, id: &str) -> Result<Stored> {
        let value = preferences::get(self.db(), &share_key(id.trim()))?
            .ok_or_else(|| Error::UnknownShare(id.to_owned()))?;
        serde_json::from_str(&value).map_err(|e| Error::Internal(format!("a stored share: {e}")))
    }

    /// Every share, oldest first; an active link past its expiry shows as `expired`.
    pub fn shares(&self) -> Result<Vec<Share>> {
        let now = self.clock_now();
        let mut shares: Vec<Share> = self
            .stored_shares()?
            .into_iter()
            .map(|s| {
                let mut share = s.share;
                let past = share
                    .expires
                    .as_deref()
                    .and_then(|e| {
                        time::OffsetDateTime::parse(
                            e,
                            &time::format_description::well_known::Rfc3339,
                        )
                        .ok()
                    })
                    .is_some_and(|e| e <= now);
                if share.status == "active" && past {
                    share.status = "expired".into();
                }
                share
            })
            .collect();
        shares.sort_by(|a, b| (&a.created, &a.id).cmp(&(&b.created, &b.id)));
        Ok(shares)
    }

    pub fn share_record(&self, id: &str) -> Result<Share> {
        Ok(self.stored_share(id)?.share)
    }

    /// Asks each active link's host for its access events and writes every new one to the
    /// disclosure log (one hash-chained row each). Events already recorded are not recorded
    /// again. A host that cannot be asked is reported and the others still are.
    pub async fn refresh_shares(&mut self) -> Result<Refreshed> {
        let mut report = Refreshed::default();
        for stored in self.stored_shares()? {
            let Stored {
                share,
                management_token,
            } = stored;
            let (Some(host), Some(link_id), Some(token)) =
                (share.host.clone(), share.link_id.clone(), management_token)
            else {
                continue;
            };
            if share.status != "active" {
                continue;
            }
            report.checked += 1;
            let request = crate::portal::http::client()
                .get(format!("{host}/api/links/{link_id}/events"))
                .bearer_auth(&token);
            let events = match call::<Events>(&host, request).await {
                Ok(Some(events)) => events.events,
                Ok(None) => {
                    report.failed.push(RefreshFailure {
                        id: share.id.clone(),
                        why: format!("{host} no longer has this link"),
                    });
                    continue;
                }
                Err(e) => {
                    report.failed.push(RefreshFailure {
                        id: share.id.clone(),
                        why: e.to_string(),
                    });
                    continue;
                }
            };
            let fresh: Vec<&Event> = events.iter().skip(share.events_seen).collect();
            if fresh.is_empty() {
                continue;
            }
            let at = self.now();
            let mut updated = share.clone();
            updated.events_seen = events.len();
            let (opens, refusals) = self.write_part(|tx| {
                let (mut opens, mut refusals) = (0, 0);
                for event in fresh {
                    // File fetches follow a manifest request: the open is the request.
                    if event.kind != "manifest" && event.kind != "direct" {
                        continue;
                    }
                    let declared = event.recipient.as_deref().unwrap_or("(not declared)");
                    let when = event.at.as_deref().unwrap_or("an unknown time");
                    let opened = event.outcome == "ok";
                    let text = if opened {
                        format!("opened by '{declared}' at {when}")
                    } else {
                        format!(
                            "refused to '{declared}' at {when} ({})",
                            event.outcome.replace('_', " ")
                        )
                    };
                    audit::append(
                        tx,
                        &at,
                        AuditKind::Share,
                        &serde_json::json!({
                            "event": if opened { "opened" } else { "refused" },
                            "share_id": share.id,
                            "text": text,
                            "recipient": event.recipient,
                            "declared_recipient": event.recipient,
                            "opened_at": event.at,
                            "outcome": event.outcome,
                            "shared_with": share.recipient,
                            "purpose": share.purpose,
                            "host": host,
                        }),
                    )?;
                    if opened {
                        opens += 1;
                        updated.opens.push(Open {
                            at: event.at.clone(),
                            recipient: event.recipient.clone(),
                        });
                    } else {
                        refusals += 1;
                    }
                }
                store_share(tx, &updated, Some(&token))?;
                Ok((opens, refusals))
            })?;
            report.new_opens += opens;
            report.new_refusals += refusals;
        }
        Ok(report)
    }

    /// Revokes a share's link at its host (it answers 404 from then on) and records it.
    pub async fn revoke_share(&mut self, id: &str) -> Result<Share> {
        let Stored {
            share,
            management_token,
        } = self.stored_share(id)?;
        if share.status == "revoked" {
            return Err(Error::ShareRevoked(share.id));
        }
        let (Some(host), Some(link_id), Some(token)) =
            (share.host.clone(), share.link_id.clone(), management_token)
        else {
            return Err(Error::ShareNotRevocable(share.id));
        };
        let token = Zeroizing::new(token);
        revoke_link(&host, &link_id, &token).await?;
        let mut updated = share;
        updated.status = "revoked".into();
        let details = serde_json::json!({
            "event": "revoked",
            "share_id": updated.id,
            "text": format!("link for '{}' revoked at {host}", updated.recipient),
            "recipient": updated.recipient,
            "purpose": updated.purpose,
            "host": host,
        });
        self.write(AuditKind::Share, |tx| {
            store_share(tx, &updated, Some(&token))?;
            Ok(((), details))
        })?;
        Ok(updated)
    }
}
