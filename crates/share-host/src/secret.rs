//! Random identifiers and tokens, and how the host keeps them: tokens as SHA-256 digests
//! (they are 256 random bits, so a fast hash is enough), passcodes as Argon2id hashes.

use std::sync::{Arc, Mutex, OnceLock, mpsc};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// 32 random bytes, base64url without padding: 43 characters.
pub fn random_token() -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|_| Error::Internal)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// What the database holds for a token.
pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// An Argon2id hash (PHC string, random salt) of a passcode.
pub fn hash_passcode(passcode: &str) -> Result<String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|_| Error::Internal)?;
    let salt = SaltString::encode_b64(&salt).map_err(|_| Error::Internal)?;
    argon2::Argon2::default()
        .hash_password(passcode.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| Error::Internal)
}

/// Whether `passcode` matches the stored hash. A hash that does not parse matches nothing.
pub fn passcode_matches(stored: &str, passcode: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(hash) => argon2::Argon2::default()
            .verify_password(passcode.as_bytes(), &hash)
            .is_ok(),
        Err(_) => false,
    }
}

/// Most Argon2id runs at once. Each takes about 19 MiB (the default memory cost), and the
/// allocator keeps a thread's freed blocks for that thread, so a few threads of their own (not
/// the runtime's up to 512 blocking threads) bound both the work at once and the memory kept.
const MAX_ARGON2_THREADS: usize = 4;

type Job = Box<dyn FnOnce() + Send>;

/// The queue of the Argon2id threads, started at first use; `None` if none could be started.
fn argon2_queue() -> Option<&'static mpsc::Sender<Job>> {
    static QUEUE: OnceLock<Option<mpsc::Sender<Job>>> = OnceLock::new();
    QUEUE
        .get_or_init(|| {
            let (tx, rx) = mpsc::channel::<Job>();
            let rx = Arc::new(Mutex::new(rx));
            let threads = std::thread::available_parallelism()
                .map_or(1, |n| n.get())
                .clamp(1, MAX_ARGON2_THREADS);
            let started = (0..threads)
                .filter(|i| {
                    let rx = Arc::clone(&rx);
                    std::thread::Builder::new()
                        .name(format!("argon2-{i}"))
                        .spawn(move || {
                            loop {
                                // The lock is held only while waiting for the next job.
                                let job = match rx.lock() {
                                    Ok(queue) => queue.recv(),
                                    Err(_) => return,
                                };
                                match job {
                                    Ok(job) => job(),
                                    Err(_) => return,
                                }
                            }
                        })
                        .is_ok()
                })
                .count();
            (started > 0).then_some(tx)
        })
        .as_ref()
}

/// Runs `f` on an Argon2id thread and waits for it without holding up the async threads.
async fn on_argon2_thread<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    argon2_queue()
        .ok_or(Error::Internal)?
        .send(Box::new(move || {
            let _ = tx.send(f());
        }))
        .map_err(|_| Error::Internal)?;
    rx.await.map_err(|_| Error::Internal)
}

/// [`hash_passcode`] on an Argon2id thread.
pub async fn hash_passcode_queued(passcode: String) -> Result<String> {
    on_argon2_thread(move || hash_passcode(&passcode)).await?
}

/// [`passcode_matches`] on an Argon2id thread.
pub async fn passcode_matches_queued(stored: String, passcode: String) -> Result<bool> {
    on_argon2_thread(move || passcode_matches(&stored, &passcode)).await
}

/// The bearer token of an `Authorization: Bearer ...` header, if there is one.
pub fn bearer(headers: &axum::http::HeaderMap) -> Option<&str> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    if scheme.eq_ignore_ascii_case("bearer") {
        let token = token.trim();
        (!token.is_empty()).then_some(token)
    } else {
        None
    }
}
