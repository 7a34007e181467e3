//! Random identifiers and tokens, and how the host keeps them: tokens as SHA-256 digests
//! (they are 256 random bits, so a fast hash is enough), passcodes as Argon2id hashes.

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
