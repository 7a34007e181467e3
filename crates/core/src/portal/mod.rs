//! Connecting patient portals: SMART standalone launch in the system browser with a loopback
//! redirect, tokens kept only in the vault, revocation on disconnect.
//!
//! The core never opens a browser itself: [`Vault::connect`] hands the sign-in URL to a callback
//! (the CLI prints it or calls `opener`; the desktop shell uses tauri-plugin-opener).

pub mod app_redirect;
pub mod client_ids;
pub mod device;
pub mod directory;
pub mod discovery;
pub mod http;
pub mod loopback;
pub mod oauth;
pub mod profile;

use std::time::Duration;

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use crate::audit::AuditKind;
use crate::error::{Error, Result};
use crate::sync::Stop;
use crate::vault::Vault;
use app_redirect::AppCallbacks;
use oauth::{Endpoints, Tokens};
use profile::{Offline, RedirectKind, VendorProfile};

/// How long to wait for the patient to finish signing in.
pub const SIGN_IN_TIMEOUT: Duration = Duration::from_secs(10 * 60);

/// What the patient asks to connect.
#[derive(Debug, Clone)]
pub struct ConnectRequest {
    pub fhir_base: String,
    /// Empty: the id for the portal's vendor (see [`client_ids`]).
    pub client_id: String,
    pub client_secret: Option<String>,
    /// Scopes to ask for; the vendor profile's (or SMART's default) when `None`.
    pub scopes: Option<String>,
    pub timeout: Duration,
    /// The portal's vendor (a directory vendor code); the directory's when `None`.
    pub vendor: Option<String>,
    /// The practice, at portals that serve many from one base (athenahealth).
    pub practice: Option<String>,
    /// A profile other than the vendor's bundled one (a developer's own portal).
    pub profile: Option<VendorProfile>,
    /// Ends the sign-in early, waiting for the browser included (a lock): [`Error::SignInStopped`],
    /// nothing stored.
    pub stop: Stop,
}

impl ConnectRequest {
    pub fn new(fhir_base: &str, client_id: &str) -> Self {
        ConnectRequest {
            fhir_base: fhir_base.to_owned(),
            client_id: client_id.to_owned(),
            client_secret: None,
            scopes: None,
            timeout: SIGN_IN_TIMEOUT,
            vendor: None,
            practice: None,
            profile: None,
            stop: Stop::default(),
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum ConnectionStatus {
    Connected,
    NeedsSignIn,
}

/// A connection as the patient sees it (no tokens).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Connection {
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub id: i64,
    pub name: String,
    pub fhir_base: String,
    pub patient_id: String,
    pub scopes: String,
    pub status: ConnectionStatus,
    pub connected_at: String,
    pub last_sync_at: Option<String>,
    /// The vendor code, where known.
    pub vendor: Option<String>,
    /// The practice, at a portal that serves many from one base.
    pub practice: Option<String>,
    /// What needs the patient, in one sentence (sign in again, a client id, a refusal); `None`
    /// when all is well.
    pub attention: Option<String>,
    /// The kind of [`Connection::attention`], for the window's buttons: `sign_in`, `client_id`,
    /// `practice`, `refused`, `portal` or `sync`.
    pub attention_kind: Option<String>,
}

/// Everything needed to talk to a connected portal (tokens included): crate-internal.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub connection: Connection,
    pub practice: Option<String>,
    pub endpoints: Endpoints,
    pub tokens: Tokens,
}

impl Vault {
    /// Connects a portal: discovery, then sign-in in the browser (`open_browser` gets the URL),
    /// a loopback redirect, the code exchange, and the tokens stored in the vault. Connecting a
    /// portal that is already connected signs in again and replaces its tokens. A portal whose
    /// profile accepts only the private-use redirect is [`Error::RedirectNotAccepted`]: the
    /// desktop app connects it with [`Vault::connect_from_app`].
    pub async fn connect(
        &mut self,
        request: ConnectRequest,
        open_browser: impl FnOnce(&str) -> Result<()>,
    ) -> Result<Connection> {
        self.connect_through(request, None, open_browser).await
    }

    /// [`Vault::connect`] from the desktop app, which also receives the private-use redirect
    /// (`callbacks` gets the URLs the OS hands it); the vendor profile says which redirect to use.
    pub async fn connect_from_app(
        &mut self,
        request: ConnectRequest,
        callbacks: &mut AppCallbacks,
        open_browser: impl FnOnce(&str) -> Result<()>,
    ) -> Result<Connection> {
        self.connect_through(request, Some(callbacks), open_browser)
            .await
    }

    /// [`Vault::sign_in`] until `request.stop` asks it to end. Dropping the sign-in at any await
    /// is safe: its one write (the connection, its tokens and the audit row, in one transaction)
    /// comes after its last await, so a stopped sign-in has stored nothing.
    async fn connect_through(
        &mut self,
        request: ConnectRequest,
        callbacks: Option<&mut AppCallbacks>,
        open_browser: impl FnOnce(&str) -> Result<()>,
    ) -> Result<Connection> {
        let stop = request.stop.clone();
        tokio::select! {
            biased;
            () = stop.stopped() => Err(Error::SignInStopped),
            connected = self.sign_in(request, callbacks, open_browser) => connected,
        }
    }

    async fn sign_in(
        &mut self,
        request: ConnectRequest,
        callbacks: Option<&mut AppCallbacks>,
        open_browser: impl FnOnce(&str) -> Result<()>,
    ) -> Result<Connection> {
        let base = http::check_portal_url(&request.fhir_base)?;
        let base_text = base.as_str().trim_end_matches('/').to_owned();
        let directory = directory::Directory::for_vault(self.dir());
        // The portal's name as the directory has it; a portal it does not list by its host.
        let name = directory
            .name_of(&request.fhir_base)
            .unwrap_or_else(|| base.host_str().unwrap_or("portal").to_owned());
        let vendor = request
            .vendor
            .clone()
            .or_else(|| directory.vendor_of(&request.fhir_base));
        let profile = request
            .profile
            .clone()
            .unwrap_or_else(|| VendorProfile::of(vendor.as_deref()));
        if profile.needs_practice && request.practice.as_deref().unwrap_or("").is_empty() {
            return Err(Error::NeedsPractice { portal: name });
        }
        // Decided before anything is sent: the client id and a redirect the portal accepts.
        let client_id = match (
            request.client_id.as_str(),
            directory.vendor_of(&request.fhir_base),
        ) {
            ("", Some(listed)) => self.client_id_of_vendor(Some(&listed))?,
            // An unlisted portal (a practice's test server, say): the patient's own id for the
            // vendor they named, else the default; the shipped ids are for the listed portals.
            ("", None) => match vendor.as_deref() {
                Some(named) => self.vendor_client_id(named)?,
                None => None,
            }
            .unwrap_or_else(|| client_ids::DEFAULT_CLIENT_ID.to_owned()),
            (given, _) => given.to_owned(),
        };
        let use_app_redirect = match (&callbacks, profile.redirect.first()) {
            (Some(_), Some(RedirectKind::PrivateUse)) => true,
            _ if profile.redirect.contains(&RedirectKind::Loopback) => false,
            _ => return Err(Error::RedirectNotAccepted { portal: name }),
        };
        let client = http::client();
        let config = discovery::discover(&client, &base).await?;
        let endpoints = Endpoints {
            client_id,
            client_secret: request.client_secret.clone(),
            authorization_endpoint: config.authorization_endpoint.clone(),
            token_endpoint: config.token_endpoint.clone(),
            revocation_endpoint: config.revocation_endpoint.clone(),
            device: None,
        };
        let scopes = request
            .scopes
            .clone()
            .unwrap_or_else(|| profile.scopes(config.default_scopes()).to_owned());
        let aud = match profile.aud {
            profile::AudRule::Omit => None,
            profile::AudRule::NoTrailingSlash => Some(base_text.as_str()),
        };
        let (code, redirect_uri, authorization) = if use_app_redirect {
            // Cannot panic: `use_app_redirect` is true only with callbacks.
            #[allow(clippy::expect_used)]
            let callbacks = callbacks.expect("chosen only with callbacks");
            let redirect_uri = app_redirect::REDIRECT_URI.to_owned();
            let authorization =
                oauth::authorization(&endpoints, &redirect_uri, &scopes, aud, profile.nonce)?;
            open_browser(&authorization.url)?;
            let code = callbacks
                .wait_for_code(&authorization.state, request.timeout)
                .await?;
            (code, redirect_uri, authorization)
        } else {
            let listener = loopback::Loopback::bind().await?;
            let redirect_uri = listener.redirect_uri().to_owned();
            let authorization =
                oauth::authorization(&endpoints, &redirect_uri, &scopes, aud, profile.nonce)?;
            open_browser(&authorization.url)?;
            let code = listener
                .wait_for_code(&authorization.state, request.timeout)
                .await?;
            (code, redirect_uri, authorization)
        };
        let tokens = oauth::exchange_code(
            &client,
            &endpoints,
            &redirect_uri,
            authorization,
            code,
            self.unix_now(),
            &profile.patient_from,
        )
        .await?;
        let Some(patient_id) = tokens.patient.clone() else {
            return Err(Error::SignInFailed(
                "the portal did not say which patient record to use".into(),
            ));
        };
        // No refresh token for a public client: register this computer for later tokens.
        let device = match (profile.offline, &tokens.refresh_token) {
            (Offline::DynamicRegistration, None) => {
                let Some(registration) = &config.registration_endpoint else {
                    return Err(Error::RegistrationRefused {
                        portal: name,
                        why: "it offers no registration".into(),
                    });
                };
                Some(
                    device::register(
                        &client,
                        registration,
                        &tokens.access_token,
                        &endpoints.client_id,
                        &redirect_uri,
                        &name,
                    )
                    .await?,
                )
            }
            _ => None,
        };
        let granted = tokens.scope.clone().unwrap_or(scopes);
        let now = self.now();
        let details = serde_json::json!({
            "portal": base_text,
            "scopes": granted,
            "vendor": vendor,
            "device_registered": device.is_some(),
        });
        let (device_client_id, device_key) = match &device {
            Some(d) => (Some(d.client_id.as_str()), Some(d.key.as_str())),
            None => (None, None),
        };
        let id = self.write(AuditKind::Connect, |tx| {
            tx.execute(
                "INSERT INTO connections (fhir_base, name, client_id, client_secret, authorization_endpoint,
                     token_endpoint, revocation_endpoint, scopes, patient_id, access_token, access_expires_at,
                     refresh_token, status, connected_at, vendor, practice, device_client_id, device_key)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, 'connected', ?13, ?14, ?15, ?16, ?17)
                 ON CONFLICT (fhir_base, patient_id) DO UPDATE SET client_id = ?3, client_secret = ?4,
                     authorization_endpoint = ?5, token_endpoint = ?6, revocation_endpoint = ?7, scopes = ?8,
                     access_token = ?10, access_expires_at = ?11, refresh_token = ?12,
                     status = 'connected', vendor = ?14, practice = ?15, device_client_id = ?16,
                     device_key = ?17, last_error = NULL",
                params![
                    base_text,
                    name,
                    endpoints.client_id,
                    endpoints.client_secret,
                    endpoints.authorization_endpoint,
                    endpoints.token_endpoint,
                    endpoints.revocation_endpoint,
                    granted,
                    patient_id,
                    tokens.access_token,
                    tokens.expires_at,
                    tokens.refresh_token,
                    now,
                    vendor,
                    request.practice,
                    device_client_id,
                    device_key,
                ],
            )?;
            let id: i64 = tx.query_row(
                "SELECT id FROM connections WHERE fhir_base = ?1 AND patient_id = ?2",
                params![base_text, patient_id],
                |r| r.get(0),
            )?;
            Ok((id, details))
        })?;
        self.connection(id)
    }

    /// Every connection, oldest first.
    pub fn connections(&self) -> Result<Vec<Connection>> {
        let mut stmt = self.connection_sql("ORDER BY id")?;
        let rows = stmt.query_map([], row_to_connection)?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    pub fn connection(&self, id: i64) -> Result<Connection> {
        let mut stmt = self.connection_sql("WHERE id = ?1")?;
        stmt.query_row([id], row_to_connection)
            .optional()?
            .ok_or_else(|| Error::NoSuchConnection(id.to_string()))
    }

    /// A connection by id, FHIR base URL or name.
    pub fn find_connection(&self, key: &str) -> Result<Connection> {
        let all = self.connections()?;
        all.into_iter()
            .find(|c| {
                c.id.to_string() == key || c.fhir_base == key.trim_end_matches('/') || c.name == key
            })
            .ok_or_else(|| Error::NoSuchConnection(key.to_owned()))
    }

    fn connection_sql(&self, tail: &str) -> rusqlite::Result<rusqlite::Statement<'_>> {
        self.db().prepare(&format!(
            "SELECT id, name, fhir_base, patient_id, scopes, status, connected_at, last_sync_at, vendor, last_error,
                    practice
             FROM connections {tail}"
        ))
    }

    /// Revokes access at the portal (RFC 7009, when offered), then deletes the connection with its
    /// tokens and this computer's registration key. Downloaded records stay in the vault.
    pub async fn disconnect(&mut self, id: i64) -> Result<bool> {
        let session = self.session(id)?;
        let revoked = match &session.tokens.refresh_token {
            Some(token) => oauth::revoke(&http::client(), &session.endpoints, token)
                .await
                .unwrap_or(false),
            None => false,
        };
        let details =
            serde_json::json!({ "portal": session.connection.fhir_base, "revoked": revoked });
        self.write(AuditKind::Disconnect, |tx| {
            tx.execute("DELETE FROM connections WHERE id = ?1", [id])?;
            Ok(((), details))
        })?;
        Ok(revoked)
    }

    /// Revokes every connection's tokens at its portal (best effort; used by wipe).
    pub async fn revoke_all_connections(&mut self) -> Result<usize> {
        let mut revoked = 0;
        for c in self.connections()? {
            let session = self.session(c.id)?;
            if let Some(token) = &session.tokens.refresh_token
                && oauth::revoke(&http::client(), &session.endpoints, token)
                    .await
                    .unwrap_or(false)
            {
                revoked += 1;
            }
        }
        Ok(revoked)
    }

    pub(crate) fn session(&self, id: i64) -> Result<Session> {
        let connection = self.connection(id)?;
        let (endpoints, tokens, practice) = self.db().query_row(
            "SELECT client_id, client_secret, authorization_endpoint, token_endpoint, revocation_endpoint,
                    access_token, access_expires_at, refresh_token, patient_id, scopes,
                    device_client_id, device_key, practice
             FROM connections WHERE id = ?1",
            [id],
            |r| {
                let device = match (r.get::<_, Option<String>>(10)?, r.get::<_, Option<String>>(11)?) {
                    (Some(client_id), Some(key)) => Some(device::Device { client_id, key }),
                    _ => None,
                };
                Ok((
                    Endpoints {
                        client_id: r.get(0)?,
                        client_secret: r.get(1)?,
                        authorization_endpoint: r.get(2)?,
                        token_endpoint: r.get(3)?,
                        revocation_endpoint: r.get(4)?,
                        device,
                    },
                    Tokens {
                        access_token: r.get::<_, Option<String>>(5)?.unwrap_or_default(),
                        expires_at: r.get(6)?,
                        refresh_token: r.get(7)?,
                        patient: r.get(8)?,
                        scope: r.get(9)?,
                    },
                    r.get::<_, Option<String>>(12)?,
                ))
            },
        )?;
        Ok(Session {
            connection,
            practice,
            endpoints,
            tokens,
        })
    }

    /// Stores renewed tokens (rotation: the old refresh token is replaced).
    pub(crate) fn save_tokens(&self, id: i64, tokens: &Tokens) -> Result<()> {
        self.db().execute(
            "UPDATE connections SET access_token = ?2, access_expires_at = ?3, refresh_token = ?4, status = 'connected'
             WHERE id = ?1",
            params![id, tokens.access_token, tokens.expires_at, tokens.refresh_token],
        )?;
        Ok(())
    }

    /// Marks a connection as needing the patient to sign in again; its data stays.
    pub(crate) fn mark_needs_sign_in(&self, id: i64) -> Result<()> {
        self.db().execute(
            "UPDATE connections SET status = 'needs_sign_in', access_token = NULL WHERE id = ?1",
            [id],
        )?;
        Ok(())
    }

    pub(crate) fn unix_now(&self) -> i64 {
        self.clock_now().unix_timestamp()
    }
}

fn row_to_connection(r: &rusqlite::Row<'_>) -> rusqlite::Result<Connection> {
    let name: String = r.get(1)?;
    let status = match r.get::<_, String>(5)?.as_str() {
        "connected" => ConnectionStatus::Connected,
        _ => ConnectionStatus::NeedsSignIn,
    };
    let last_error: Option<String> = r.get(9)?;
    let (attention_kind, attention) = match attention(&name, &status, last_error.as_deref()) {
        Some((kind, sentence)) => (Some(kind.to_owned()), Some(sentence)),
        None => (None, None),
    };
    Ok(Connection {
        id: r.get(0)?,
        fhir_base: r.get(2)?,
        patient_id: r.get(3)?,
        scopes: r.get(4)?,
        status,
        connected_at: r.get(6)?,
        last_sync_at: r.get(7)?,
        vendor: r.get(8)?,
        practice: r.get(10)?,
        attention,
        attention_kind,
        name,
    })
}

/// What needs the patient at a connection, from its status and last sync's error code: its kind
/// and a sentence.
fn attention(
    name: &str,
    status: &ConnectionStatus,
    last_error: Option<&str>,
) -> Option<(&'static str, String)> {
    if *status == ConnectionStatus::NeedsSignIn {
        return Some((
            "sign_in",
            format!("Sign in to {name} again to keep your record up to date."),
        ));
    }
    Some(match last_error? {
        "no_client_id" => (
            "client_id",
            format!("OwnRecord has no client id for {name}: set one to sign in there."),
        ),
        "needs_practice" => ("practice", format!("Choose your practice at {name}.")),
        "sign_in_refused" | "registration_refused" => (
            "refused",
            format!("{name} refused OwnRecord's access: sign in again, and allow access."),
        ),
        "not_smart" | "portal" => (
            "portal",
            format!("{name} did not answer as expected at the last sync: it will be tried again."),
        ),
        _ => (
            "sync",
            format!("The last sync with {name} did not finish: it will be tried again."),
        ),
    })
}
