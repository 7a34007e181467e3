//! The host's SQLite database: links (hashed tokens and passcodes, limits, status), their JWE
//! files (ciphertext only), the single-use file tickets behind `location` URLs, and access events.
//!
//! Every check-and-change is one statement or one immediate transaction, so the counts hold
//! under parallel requests by construction.

use std::path::Path;
use std::sync::{Arc, Mutex, mpsc};

use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};

use crate::error::{Error, Result};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS owner_tokens (
    hash BLOB PRIMARY KEY,
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS links (
    id TEXT PRIMARY KEY,
    manage_hash BLOB NOT NULL UNIQUE,
    flags TEXT NOT NULL,
    passcode_hash TEXT,
    remaining_attempts INTEGER NOT NULL,
    expires_at INTEGER,
    max_uses INTEGER,
    uses INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL CHECK (status IN ('active', 'paused', 'revoked', 'deleted')),
    label TEXT,
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS files (
    link_id TEXT NOT NULL REFERENCES links(id),
    idx INTEGER NOT NULL,
    content_type TEXT NOT NULL,
    jwe TEXT NOT NULL,
    PRIMARY KEY (link_id, idx)
);
CREATE TABLE IF NOT EXISTS file_tickets (
    hash BLOB PRIMARY KEY,
    link_id TEXT NOT NULL REFERENCES links(id),
    idx INTEGER NOT NULL,
    recipient TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    link_id TEXT NOT NULL REFERENCES links(id),
    at INTEGER NOT NULL,
    kind TEXT NOT NULL,
    recipient TEXT,
    file_index INTEGER,
    outcome TEXT NOT NULL,
    ip TEXT
);
CREATE INDEX IF NOT EXISTS events_by_link ON events(link_id, seq);
CREATE INDEX IF NOT EXISTS tickets_by_expiry ON file_tickets(expires_at);
";

/// Read-only connections beside the one writer (WAL lets them read while it writes), for the
/// files' ciphertext, the biggest reads.
const READERS: usize = 4;

/// `execute` through the connection's statement cache (the hot paths run a few statements per
/// request; parsing them each time was a good part of a request's time).
fn exec(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> rusqlite::Result<usize> {
    conn.prepare_cached(sql)?.execute(params)
}

/// `query_row` through the statement cache.
fn row<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    f: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    conn.prepare_cached(sql)?.query_row(params, f)
}

/// The database file inside the data directory.
pub const DB_FILE: &str = "share-host.sqlite3";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Active,
    Paused,
    Revoked,
    Deleted,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Paused => "paused",
            Status::Revoked => "revoked",
            Status::Deleted => "deleted",
        }
    }
    fn parse(s: &str) -> Result<Self> {
        match s {
            "active" => Ok(Status::Active),
            "paused" => Ok(Status::Paused),
            "revoked" => Ok(Status::Revoked),
            "deleted" => Ok(Status::Deleted),
            _ => Err(Error::Internal),
        }
    }
}

pub struct NewFile {
    pub content_type: String,
    pub jwe: String,
}

pub struct NewLink {
    pub id: String,
    pub manage_hash: Vec<u8>,
    pub flags: String,
    pub passcode_hash: Option<String>,
    pub max_attempts: i64,
    pub expires_at: Option<i64>,
    pub max_uses: Option<i64>,
    pub label: Option<String>,
    pub files: Vec<NewFile>,
}

#[derive(Debug, Clone)]
pub struct Link {
    pub id: String,
    pub flags: String,
    pub passcode_hash: Option<String>,
    pub remaining_attempts: i64,
    pub expires_at: Option<i64>,
    pub max_uses: Option<i64>,
    pub uses: i64,
    pub status: Status,
    pub label: Option<String>,
    pub created_at: i64,
    pub files: i64,
}

impl Link {
    pub fn has_flag(&self, flag: char) -> bool {
        self.flags.contains(flag)
    }
    /// Active, not expired, not used up. (A passcode link with no attempts left is refused by
    /// the passcode check, with `remainingAttempts: 0`.)
    pub fn is_open(&self, now: i64) -> bool {
        self.status == Status::Active
            && self.expires_at.is_none_or(|t| now < t)
            && self.max_uses.is_none_or(|m| self.uses < m)
    }
}

/// One access to a link, as recorded.
pub struct Event {
    pub at: i64,
    pub kind: &'static str,
    pub recipient: Option<String>,
    pub file_index: Option<i64>,
    pub outcome: &'static str,
    pub ip: Option<String>,
}

pub struct StoredEvent {
    pub at: i64,
    pub kind: String,
    pub recipient: Option<String>,
    pub file_index: Option<i64>,
    pub outcome: String,
    pub ip: Option<String>,
}

type WriteJob = Box<dyn FnOnce(&mut Connection) + Send>;
type ReadJob = Box<dyn FnOnce(&Connection) + Send>;

/// The database: one writer connection on a thread of its own, and [`READERS`] read-only
/// connections on theirs, each taking jobs from a queue. Requests queue for the writer instead
/// of holding a blocking thread each while they wait for a lock (a burst of requests had a
/// couple of hundred threads waiting on one mutex).
#[derive(Clone)]
pub struct Store {
    writer: mpsc::Sender<WriteJob>,
    readers: mpsc::Sender<ReadJob>,
}

impl Store {
    pub fn open(data: &Path) -> Result<Self> {
        std::fs::create_dir_all(data).map_err(|_| Error::Internal)?;
        let mut conn = Connection::open(data.join(DB_FILE))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // In WAL, NORMAL syncs at checkpoints, not at each commit: a power cut may lose the last
        // access events and attempt counts, never the database (a synced commit per manifest
        // and file was most of a request's time).
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.set_prepared_statement_cache_capacity(32);
        // Deleted ciphertext is overwritten, not left in free pages.
        conn.pragma_update(None, "secure_delete", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            let reader = Connection::open_with_flags(
                data.join(DB_FILE),
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            reader.busy_timeout(std::time::Duration::from_secs(5))?;
            readers.push(reader);
        }

        let (writer, jobs) = mpsc::channel::<WriteJob>();
        std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || {
                // Ends when the last Store is dropped.
                while let Ok(job) = jobs.recv() {
                    job(&mut conn);
                }
            })
            .map_err(|_| Error::Internal)?;
        let (read_tx, read_jobs) = mpsc::channel::<ReadJob>();
        let read_jobs = Arc::new(Mutex::new(read_jobs));
        for (i, reader) in readers.into_iter().enumerate() {
            let read_jobs = Arc::clone(&read_jobs);
            std::thread::Builder::new()
                .name(format!("store-reader-{i}"))
                .spawn(move || {
                    loop {
                        // The queue's lock is held only while waiting for the next job.
                        let job = match read_jobs.lock() {
                            Ok(queue) => queue.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(&reader),
                            Err(_) => return,
                        }
                    }
                })
                .map_err(|_| Error::Internal)?;
        }
        Ok(Store {
            writer,
            readers: read_tx,
        })
    }

    /// Runs `f` on a read-only connection; it sees what was committed.
    pub async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.readers
            .send(Box::new(move |c: &Connection| {
                let _ = tx.send(f(c));
            }))
            .map_err(|_| Error::Internal)?;
        rx.await.map_err(|_| Error::Internal)?
    }

    /// Runs `f` on the writer connection, after the jobs queued before it.
    pub async fn run<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.writer
            .send(Box::new(move |c: &mut Connection| {
                let _ = tx.send(f(c));
            }))
            .map_err(|_| Error::Internal)?;
        rx.await.map_err(|_| Error::Internal)?
    }

    /// The same, for the command line and set-up (no runtime): waits for the writer.
    pub fn run_sync<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (tx, rx) = mpsc::channel();
        self.writer
            .send(Box::new(move |c: &mut Connection| {
                let _ = tx.send(f(c));
            }))
            .map_err(|_| Error::Internal)?;
        rx.recv().map_err(|_| Error::Internal)?
    }
}

pub fn add_owner_token(conn: &Connection, hash: &[u8], now: i64) -> Result<()> {
    exec(
        conn,
        "INSERT INTO owner_tokens (hash, created_at) VALUES (?1, ?2)",
        params![hash, now],
    )?;
    Ok(())
}

pub fn owner_token_known(conn: &Connection, hash: &[u8]) -> Result<bool> {
    Ok(row(
        conn,
        "SELECT 1 FROM owner_tokens WHERE hash = ?1",
        params![hash],
        |_| Ok(()),
    )
    .optional()?
    .is_some())
}

pub fn insert_link(conn: &mut Connection, link: &NewLink, now: i64) -> Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    exec(
        &tx,
        "INSERT INTO links (id, manage_hash, flags, passcode_hash, remaining_attempts, expires_at,
                            max_uses, uses, status, label, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, 'active', ?8, ?9)",
        params![
            link.id,
            link.manage_hash,
            link.flags,
            link.passcode_hash,
            link.max_attempts,
            link.expires_at,
            link.max_uses,
            link.label,
            now
        ],
    )?;
    for (idx, file) in link.files.iter().enumerate() {
        let idx = i64::try_from(idx).map_err(|_| Error::Internal)?;
        exec(
            &tx,
            "INSERT INTO files (link_id, idx, content_type, jwe) VALUES (?1, ?2, ?3, ?4)",
            params![link.id, idx, file.content_type, file.jwe],
        )?;
    }
    tx.commit()?;
    Ok(())
}

pub fn load_link(conn: &Connection, id: &str) -> Result<Option<Link>> {
    let row = row(
        conn,
        "SELECT id, flags, passcode_hash, remaining_attempts, expires_at, max_uses, uses, status,
                    label, created_at, (SELECT COUNT(*) FROM files WHERE link_id = links.id)
             FROM links WHERE id = ?1",
        params![id],
        |r| {
            Ok((
                Link {
                    id: r.get(0)?,
                    flags: r.get(1)?,
                    passcode_hash: r.get(2)?,
                    remaining_attempts: r.get(3)?,
                    expires_at: r.get(4)?,
                    max_uses: r.get(5)?,
                    uses: r.get(6)?,
                    status: Status::Active,
                    label: r.get(8)?,
                    created_at: r.get(9)?,
                    files: r.get(10)?,
                },
                r.get::<_, String>(7)?,
            ))
        },
    )
    .optional()?;
    match row {
        None => Ok(None),
        Some((mut link, status)) => {
            link.status = Status::parse(&status)?;
            Ok(Some(link))
        }
    }
}

/// The management token's check: `NotFound` for an unknown id, `Unauthorized` for a wrong token.
pub fn authorize_manager(conn: &Connection, id: &str, token_hash: &[u8]) -> Result<()> {
    let stored: Option<Vec<u8>> = row(
        conn,
        "SELECT manage_hash FROM links WHERE id = ?1",
        params![id],
        |r| r.get(0),
    )
    .optional()?;
    match stored {
        None => Err(Error::NotFound),
        Some(h) if h == token_hash => Ok(()),
        Some(_) => Err(Error::Unauthorized),
    }
}

pub fn record(conn: &Connection, link_id: &str, e: &Event) -> Result<()> {
    exec(
        conn,
        "INSERT INTO events (link_id, at, kind, recipient, file_index, outcome, ip)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            link_id,
            e.at,
            e.kind,
            e.recipient,
            e.file_index,
            e.outcome,
            e.ip
        ],
    )?;
    Ok(())
}

pub fn events(conn: &Connection, link_id: &str) -> Result<Vec<StoredEvent>> {
    let mut stmt = conn.prepare(
        "SELECT at, kind, recipient, file_index, outcome, ip FROM events
         WHERE link_id = ?1 ORDER BY seq",
    )?;
    let rows = stmt.query_map(params![link_id], |r| {
        Ok(StoredEvent {
            at: r.get(0)?,
            kind: r.get(1)?,
            recipient: r.get(2)?,
            file_index: r.get(3)?,
            outcome: r.get(4)?,
            ip: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<std::result::Result<Vec<_>, _>>()?)
}

/// Reserves one passcode attempt before the passcode is checked, so parallel guesses can never
/// be evaluated more times than attempts remain. `None`: no attempts left.
pub fn reserve_attempt(conn: &Connection, id: &str) -> Result<Option<i64>> {
    Ok(row(
        conn,
        "UPDATE links SET remaining_attempts = remaining_attempts - 1
             WHERE id = ?1 AND remaining_attempts > 0 RETURNING remaining_attempts",
        params![id],
        |r| r.get(0),
    )
    .optional()?)
}

/// Gives back the attempt a right passcode reserved (only wrong ones count).
pub fn refund_attempt(conn: &Connection, id: &str) -> Result<()> {
    exec(
        conn,
        "UPDATE links SET remaining_attempts = remaining_attempts + 1 WHERE id = ?1",
        params![id],
    )?;
    Ok(())
}

/// Counts one use if the link is still open; `false` if it is not (revoked, paused, expired or
/// used up in the meantime). With `count` false only the openness is checked.
pub fn take_use(conn: &Connection, id: &str, now: i64, count: bool) -> Result<bool> {
    let increment: i64 = if count { 1 } else { 0 };
    let changed = exec(
        conn,
        "UPDATE links SET uses = uses + ?3
         WHERE id = ?1 AND status = 'active'
           AND (expires_at IS NULL OR expires_at > ?2)
           AND (max_uses IS NULL OR uses < max_uses)",
        params![id, now, increment],
    )?;
    Ok(changed == 1)
}

/// Whether the link is active and not expired (a `location` fetched after the manifest used the
/// last use is still served).
pub fn is_live(conn: &Connection, id: &str, now: i64) -> Result<bool> {
    Ok(row(
        conn,
        "SELECT 1 FROM links WHERE id = ?1 AND status = 'active'
               AND (expires_at IS NULL OR expires_at > ?2)",
        params![id, now],
        |_| Ok(()),
    )
    .optional()?
    .is_some())
}

/// A link's files without their ciphertext: (index, content type, JWE length in bytes).
pub fn file_list(conn: &Connection, link_id: &str) -> Result<Vec<(i64, String, u64)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT idx, content_type, length(CAST(jwe AS BLOB)) FROM files WHERE link_id = ?1
         ORDER BY idx",
    )?;
    let rows = stmt.query_map(params![link_id], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)?))
    })?;
    rows.map(|row| {
        let (idx, content_type, len) = row?;
        Ok((idx, content_type, u64::try_from(len).unwrap_or(0)))
    })
    .collect()
}

pub fn file(conn: &Connection, link_id: &str, idx: i64) -> Result<Option<String>> {
    Ok(row(
        conn,
        "SELECT jwe FROM files WHERE link_id = ?1 AND idx = ?2",
        params![link_id, idx],
        |r| r.get(0),
    )
    .optional()?)
}

pub fn add_ticket(
    conn: &Connection,
    hash: &[u8],
    link_id: &str,
    idx: i64,
    recipient: &str,
    expires_at: i64,
) -> Result<()> {
    exec(
        conn,
        "INSERT INTO file_tickets (hash, link_id, idx, recipient, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![hash, link_id, idx, recipient, expires_at],
    )?;
    Ok(())
}

pub fn purge_tickets(conn: &Connection, now: i64) -> Result<()> {
    exec(
        conn,
        "DELETE FROM file_tickets WHERE expires_at <= ?1",
        params![now],
    )?;
    Ok(())
}

pub struct Ticket {
    pub link_id: String,
    pub idx: i64,
    pub recipient: String,
    pub expires_at: i64,
}

/// Takes a ticket: it is gone after this, whatever the answer.
pub fn take_ticket(conn: &Connection, hash: &[u8]) -> Result<Option<Ticket>> {
    Ok(row(
        conn,
        "DELETE FROM file_tickets WHERE hash = ?1
             RETURNING link_id, idx, recipient, expires_at",
        params![hash],
        |r| {
            Ok(Ticket {
                link_id: r.get(0)?,
                idx: r.get(1)?,
                recipient: r.get(2)?,
                expires_at: r.get(3)?,
            })
        },
    )
    .optional()?)
}

/// A management change of status.
#[derive(Debug, Clone, Copy)]
pub enum Change {
    Revoke,
    Pause,
    Resume,
    Delete,
}

/// A link's status; NotFound for an unknown id.
fn status_of(conn: &Connection, id: &str) -> Result<Status> {
    let status: String = row(
        conn,
        "SELECT status FROM links WHERE id = ?1",
        params![id],
        |r| r.get(0),
    )
    .optional()?
    .ok_or(Error::NotFound)?;
    Status::parse(&status)
}

pub fn change_status(conn: &mut Connection, id: &str, change: Change) -> Result<Status> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let current = status_of(&tx, id)?;
    let next = match (change, current) {
        (_, Status::Deleted) => match change {
            Change::Delete | Change::Revoke => Status::Deleted,
            _ => return Err(Error::Conflict),
        },
        (Change::Revoke, _) => Status::Revoked,
        (Change::Delete, _) => Status::Deleted,
        (Change::Pause, Status::Active | Status::Paused) => Status::Paused,
        (Change::Resume, Status::Active | Status::Paused) => Status::Active,
        (Change::Pause | Change::Resume, Status::Revoked) => return Err(Error::Conflict),
    };
    exec(
        &tx,
        "UPDATE links SET status = ?2 WHERE id = ?1",
        params![id, next.as_str()],
    )?;
    if next != Status::Active {
        exec(
            &tx,
            "DELETE FROM file_tickets WHERE link_id = ?1",
            params![id],
        )?;
    }
    if next == Status::Deleted {
        exec(&tx, "DELETE FROM files WHERE link_id = ?1", params![id])?;
        exec(
            &tx,
            "UPDATE links SET passcode_hash = NULL, label = NULL WHERE id = ?1",
            params![id],
        )?;
    }
    tx.commit()?;
    Ok(next)
}

pub fn extend(conn: &mut Connection, id: &str, expires_at: Option<i64>) -> Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    match status_of(&tx, id)? {
        Status::Active | Status::Paused => {}
        Status::Revoked | Status::Deleted => return Err(Error::Conflict),
    }
    exec(
        &tx,
        "UPDATE links SET expires_at = ?2 WHERE id = ?1",
        params![id, expires_at],
    )?;
    tx.commit()?;
    Ok(())
}
