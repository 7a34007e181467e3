//! The vault key (32 random bytes, used as SQLCipher's raw key) and its passphrase wrapping.
//!
//! Passphrase mode: Argon2id derives a key-encryption key from the passphrase and a random salt;
//! ChaCha20-Poly1305 seals the vault key with it, bound to the vault's id as associated data.
//! A wrong passphrase fails the AEAD tag check, so it is detected without touching the database.
//! The recovery key (see [`super::recovery`]) is sealed the same way, independently.

use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::error::{Error, Result};

/// Shortest passphrase accepted when one is set.
pub const MIN_PASSPHRASE_CHARS: usize = 8;

#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct VaultKey([u8; 32]);

impl VaultKey {
    pub fn generate() -> Self {
        VaultKey(random_bytes())
    }

    pub(crate) fn from_hex(hex_text: &str) -> Option<Self> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(hex_text.trim(), &mut bytes).ok()?;
        Some(VaultKey(bytes))
    }

    pub(crate) fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(self.0))
    }

    /// A key for another use than the database's (e.g. the backup manifest's MAC), derived with
    /// HKDF-SHA256 so that no two uses share key bytes.
    // Cannot panic: 32 bytes is within HKDF-SHA256's limit (255 × 32).
    #[allow(clippy::expect_used)]
    pub(crate) fn derive_subkey(&self, purpose: &str) -> Zeroizing<[u8; 32]> {
        let mut out = Zeroizing::new([0u8; 32]);
        hkdf::Hkdf::<sha2::Sha256>::new(None, &self.0)
            .expand(purpose.as_bytes(), out.as_mut_slice())
            .expect("32 bytes is a valid HKDF-SHA256 length");
        out
    }

    /// `PRAGMA key` statement in SQLCipher's raw-key form (no SQLCipher KDF on top of ours).
    pub(crate) fn pragma(&self) -> Zeroizing<String> {
        Zeroizing::new(format!("PRAGMA key = \"x'{}'\";", self.to_hex().as_str()))
    }
}

impl std::fmt::Debug for VaultKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VaultKey(..)")
    }
}

/// The vault key sealed under a passphrase, as kept in `vault.json`. Nothing here is secret on its own.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct WrappedKey {
    pub kdf: String,
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
    pub salt: String,
    pub nonce: String,
    pub sealed: String,
}

/// Argon2id cost: 64 MiB, 3 passes, 1 lane (above OWASP's minimum; ~0.3 s here).
const MEMORY_KIB: u32 = 64 * 1024;
const ITERATIONS: u32 = 3;
const PARALLELISM: u32 = 1;

impl WrappedKey {
    pub fn seal(key: &VaultKey, passphrase: &str, vault_id: &str) -> Result<Self> {
        if passphrase.chars().count() < MIN_PASSPHRASE_CHARS {
            return Err(Error::PassphraseTooShort(MIN_PASSPHRASE_CHARS));
        }
        Self::seal_secret(key, passphrase.as_bytes(), vault_id)
    }

    /// Seals the vault key under any secret (a passphrase's bytes, a recovery key's bits).
    pub(crate) fn seal_secret(key: &VaultKey, secret: &[u8], vault_id: &str) -> Result<Self> {
        let salt: [u8; 16] = random_bytes();
        let nonce: [u8; 12] = random_bytes();
        let kek = derive(secret, &salt, MEMORY_KIB, ITERATIONS, PARALLELISM)?;
        let sealed = ChaCha20Poly1305::new(Key::from_slice(kek.as_slice()))
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: &key.0,
                    aad: vault_id.as_bytes(),
                },
            )
            .map_err(|_| Error::Database("could not seal the vault key".into()))?;
        Ok(WrappedKey {
            kdf: "argon2id".into(),
            memory_kib: MEMORY_KIB,
            iterations: ITERATIONS,
            parallelism: PARALLELISM,
            salt: hex::encode(salt),
            nonce: hex::encode(nonce),
            sealed: hex::encode(sealed),
        })
    }

    pub fn open(&self, passphrase: &str, vault_id: &str) -> Result<VaultKey> {
        self.open_secret(passphrase.as_bytes(), vault_id)
            .ok_or(Error::WrongPassphrase)
    }

    /// The vault key, if `secret` is the one it was sealed under (for this vault).
    pub(crate) fn open_secret(&self, secret: &[u8], vault_id: &str) -> Option<VaultKey> {
        let salt = hex::decode(&self.salt).ok()?;
        let nonce = hex::decode(&self.nonce).ok()?;
        let sealed = hex::decode(&self.sealed).ok()?;
        if self.kdf != "argon2id" || nonce.len() != 12 {
            return None;
        }
        let kek = derive(
            secret,
            &salt,
            self.memory_kib,
            self.iterations,
            self.parallelism,
        )
        .ok()?;
        let plain = Zeroizing::new(
            ChaCha20Poly1305::new(Key::from_slice(kek.as_slice()))
                .decrypt(
                    Nonce::from_slice(&nonce),
                    Payload {
                        msg: &sealed,
                        aad: vault_id.as_bytes(),
                    },
                )
                .ok()?,
        );
        let bytes: [u8; 32] = plain.as_slice().try_into().ok()?;
        Some(VaultKey(bytes))
    }
}

fn derive(
    secret: &[u8],
    salt: &[u8],
    memory_kib: u32,
    iterations: u32,
    parallelism: u32,
) -> Result<Zeroizing<[u8; 32]>> {
    let params = Params::new(memory_kib, iterations, parallelism, Some(32))
        .map_err(|_| Error::Database("the passphrase settings in vault.json are invalid".into()))?;
    let mut out = Zeroizing::new([0u8; 32]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(secret, salt, out.as_mut_slice())
        .map_err(|_| Error::WrongPassphrase)?;
    Ok(out)
}

pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    // Cannot panic: OS randomness, no fallback (keys must not be guessable).
    #[allow(clippy::expect_used)]
    getrandom::fill(&mut bytes).expect("the operating system's random source is available");
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_key_opens_with_the_right_passphrase_only() {
        let key = VaultKey::generate();
        let wrapped = WrappedKey::seal(&key, "correct horse battery", "vault-1").unwrap();
        assert_eq!(
            wrapped.open("correct horse battery", "vault-1").unwrap().0,
            key.0
        );
        assert!(matches!(
            wrapped.open("wrong horse battery", "vault-1"),
            Err(Error::WrongPassphrase)
        ));
        // Bound to the vault: the same blob cannot unlock another vault.
        assert!(matches!(
            wrapped.open("correct horse battery", "vault-2"),
            Err(Error::WrongPassphrase)
        ));
    }

    #[test]
    fn short_passphrases_are_refused() {
        let key = VaultKey::generate();
        assert!(matches!(
            WrappedKey::seal(&key, "short", "v"),
            Err(Error::PassphraseTooShort(8))
        ));
    }

    #[test]
    fn debug_never_prints_key_bytes() {
        assert_eq!(format!("{:?}", VaultKey::generate()), "VaultKey(..)");
    }
}
