//! Random identifiers and tokens, and how the host keeps them: tokens as SHA-256 digests
//! (they are 256 random bits, so a fast hash is enough), passcodes as Argon2id hashes.

use std::sync::{Arc, Mutex, OnceLock, mpsc};

use std::cell::RefCell;

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
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

/// Argon2id into `out`, with this thread's own block buffer: allocated at the first run and
/// reused, so the memory an Argon2id thread holds is one run's, however many runs it makes.
fn argon2id(params: &Params, version: Version, pwd: &[u8], salt: &[u8], out: &mut [u8]) -> bool {
    thread_local! {
        static BLOCKS: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
    }
    BLOCKS.with_borrow_mut(|blocks| {
        blocks.resize(params.block_count(), Block::default());
        Argon2::new(Algorithm::Argon2id, version, params.clone())
            .hash_password_into_with_memory(pwd, salt, out, blocks.as_mut_slice())
            .is_ok()
    })
}

/// An Argon2id hash (PHC string, random salt, the crate's default cost) of a passcode.
pub fn hash_passcode(passcode: &str) -> Result<String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|_| Error::Internal)?;
    let params = Params::default();
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    if !argon2id(
        &params,
        Version::V0x13,
        passcode.as_bytes(),
        &salt,
        &mut out,
    ) {
        return Err(Error::Internal);
    }
    let salt = SaltString::encode_b64(&salt).map_err(|_| Error::Internal)?;
    let hash = PasswordHash {
        algorithm: argon2::ARGON2ID_IDENT,
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|_| Error::Internal)?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(|_| Error::Internal)?),
    };
    Ok(hash.to_string())
}

/// Whether `passcode` matches the stored hash (compared in constant time). A hash that does not
/// parse, or is not Argon2id, matches nothing.
pub fn passcode_matches(stored: &str, passcode: &str) -> bool {
    let Ok(hash) = PasswordHash::new(stored) else {
        return false;
    };
    let (Some(expected), Some(salt)) = (hash.hash, hash.salt) else {
        return false;
    };
    let version = match hash.version.map(Version::try_from) {
        None => Version::V0x13,
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    let Ok(params) = Params::try_from(&hash) else {
        return false;
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let mut out = vec![0u8; expected.len()];
    hash.algorithm == argon2::ARGON2ID_IDENT
        && argon2id(&params, version, passcode.as_bytes(), salt, &mut out)
        && Output::new(&out).is_ok_and(|computed| computed == expected)
}

/// Most Argon2id runs at once. Each takes about 19 MiB (the default memory cost), kept by its
/// thread for the next run, so a few threads of their own (not the runtime's up to 512 blocking
/// threads) bound both the work at once and the memory held.
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

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::{PasswordHasher, PasswordVerifier};

    #[test]
    fn hashes_are_standard_phc_argon2id_both_ways() {
        let ours = hash_passcode("lee-4321-ok").unwrap();
        assert!(
            ours.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{ours}"
        );
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"lee-4321-ok", &parsed)
                .is_ok()
        );
        assert!(
            Argon2::default()
                .verify_password(b"lee-4321-no", &parsed)
                .is_err()
        );
        let salt = SaltString::encode_b64(&[9u8; 16]).unwrap();
        let theirs = Argon2::default()
            .hash_password(b"lee-4321-ok", &salt)
            .unwrap()
            .to_string();
        assert!(passcode_matches(&theirs, "lee-4321-ok"));
        assert!(!passcode_matches(&theirs, "lee-4321-ok "));
        assert!(!passcode_matches(&ours, "lee-4321-no"));
        assert!(!passcode_matches(
            "$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$AAAA",
            "x"
        ));
        assert!(!passcode_matches("not a hash", "x"));
    }
}
