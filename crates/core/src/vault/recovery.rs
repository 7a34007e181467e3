//! The recovery key: a second way to the vault key, for when the keyring entry is gone (a new
//! computer, a reinstalled system) and the passphrase is forgotten or was never set.
//!
//! 160 random bits and a 40-bit checksum (the first 5 bytes of their SHA-256), written in
//! Crockford's base32 as 8 groups of 5 characters: `7QK2M-…`. Crockford's alphabet has no I, L,
//! O or U; reading back, lower case is accepted, I and L read as 1, O as 0, and spaces and dashes
//! are ignored. The checksum tells a typo ("check each group") from a wrong key. The 160 bits seal
//! the vault key like a passphrase does (Argon2id + ChaCha20-Poly1305, bound to the vault id).

use std::sync::LazyLock;

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::vault::key::random_bytes;

const SECRET_BYTES: usize = 20;
const CHECKSUM_BYTES: usize = 5;
const GROUP: usize = 5;

// Cannot panic: a fixed specification, used by every recovery-key test.
#[allow(clippy::expect_used)]
static CROCKFORD: LazyLock<data_encoding::Encoding> = LazyLock::new(|| {
    let mut spec = data_encoding::Specification::new();
    spec.symbols.push_str("0123456789ABCDEFGHJKMNPQRSTVWXYZ");
    spec.translate.from.push_str("abcdefghjkmnpqrstvwxyzILOilo");
    spec.translate.to.push_str("ABCDEFGHJKMNPQRSTVWXYZ110110");
    spec.ignore.push_str("- \t\n");
    spec.encoding()
        .expect("Crockford's base32 is a valid encoding")
});

/// A recovery key, held as the 160 bits it stands for. Never printed by `Debug`.
pub struct RecoveryKey(Zeroizing<[u8; SECRET_BYTES]>);

impl RecoveryKey {
    pub fn generate() -> Self {
        RecoveryKey(Zeroizing::new(random_bytes()))
    }

    /// Reads a key as the patient typed it. A checksum mismatch is a typo, not a wrong key.
    pub fn parse(text: &str) -> Result<Self> {
        let decoded = Zeroizing::new(
            CROCKFORD
                .decode(text.trim().as_bytes())
                .map_err(|_| Error::RecoveryKeyTypo)?,
        );
        if decoded.len() != SECRET_BYTES + CHECKSUM_BYTES {
            return Err(Error::RecoveryKeyTypo);
        }
        let (secret, checksum) = decoded.split_at(SECRET_BYTES);
        let digest: [u8; 32] = Sha256::digest(secret).into();
        if checksum != &digest[..CHECKSUM_BYTES] {
            return Err(Error::RecoveryKeyTypo);
        }
        let mut bytes = Zeroizing::new([0u8; SECRET_BYTES]);
        bytes.copy_from_slice(secret);
        Ok(RecoveryKey(bytes))
    }

    /// The key as the patient writes it down: 8 groups of 5 characters.
    pub fn to_text(&self) -> Zeroizing<String> {
        let mut raw = Zeroizing::new(Vec::with_capacity(SECRET_BYTES + CHECKSUM_BYTES));
        raw.extend_from_slice(self.0.as_slice());
        let digest: [u8; 32] = Sha256::digest(self.0.as_slice()).into();
        raw.extend_from_slice(&digest[..CHECKSUM_BYTES]);
        let plain = Zeroizing::new(CROCKFORD.encode(&raw));
        let mut text = Zeroizing::new(String::with_capacity(plain.len() + plain.len() / GROUP));
        for (i, c) in plain.chars().enumerate() {
            if i > 0 && i % GROUP == 0 {
                text.push('-');
            }
            text.push(c);
        }
        text
    }

    /// The bits that seal the vault key.
    pub(crate) fn secret(&self) -> &[u8] {
        self.0.as_slice()
    }
}

impl std::fmt::Debug for RecoveryKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecoveryKey(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_reads_back_as_written_and_as_commonly_mistyped() {
        let key = RecoveryKey::generate();
        let text = key.to_text();
        assert_eq!(text.len(), 8 * 5 + 7);
        assert_eq!(text.split('-').count(), 8);
        assert!(
            text.chars()
                .all(|c| c == '-' || "0123456789ABCDEFGHJKMNPQRSTVWXYZ".contains(c))
        );
        let same = |typed: &str| RecoveryKey::parse(typed).unwrap().secret() == key.secret();
        assert!(same(&text));
        assert!(same(&text.to_lowercase()));
        assert!(same(&text.replace('-', " ")));
        assert!(same(&text.replace('-', "")));
        assert!(same(&text.replace('0', "O").replace('1', "l")));
    }

    #[test]
    fn a_typo_is_told_apart() {
        let text = RecoveryKey::generate().to_text();
        // Change one character to another valid one.
        let mut typo: Vec<char> = text.chars().collect();
        typo[3] = if typo[3] == 'A' { 'B' } else { 'A' };
        let typo: String = typo.into_iter().collect();
        assert!(matches!(
            RecoveryKey::parse(&typo),
            Err(Error::RecoveryKeyTypo)
        ));
        // A group left out, a character no key has.
        assert!(matches!(
            RecoveryKey::parse(text.get(6..).unwrap()),
            Err(Error::RecoveryKeyTypo)
        ));
        assert!(matches!(
            RecoveryKey::parse(&text.replace('-', "U")),
            Err(Error::RecoveryKeyTypo)
        ));
        assert!(matches!(
            RecoveryKey::parse(""),
            Err(Error::RecoveryKeyTypo)
        ));
    }

    #[test]
    fn debug_never_prints_the_key() {
        assert_eq!(format!("{:?}", RecoveryKey::generate()), "RecoveryKey(..)");
    }
}
