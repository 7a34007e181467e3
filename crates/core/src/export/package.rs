//! The share package: one file, encrypted in the age format with a generated passcode (scrypt),
//! holding a tar archive of the PDF summary, the IPS JSON and a manifest (what, for whom, why,
//! when, until when, and the SHA-256 of each file). The standard `age` tool opens it:
//! `age -d -o summary.tar package.age && tar xf summary.tar`.

use std::io::Write;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::export::sha256_hex;

pub const PDF_NAME: &str = "patient-summary.pdf";
pub const IPS_NAME: &str = "patient-summary.ips.json";
pub const MANIFEST_NAME: &str = "manifest.json";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    /// Who the package is for.
    pub recipient: String,
    pub purpose: String,
    pub created: String,
    pub expires: Option<String>,
    pub sections: Vec<String>,
    pub since: Option<String>,
    pub files: Vec<ManifestFile>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestFile {
    pub name: String,
    pub content_type: String,
    pub bytes: u64,
    pub sha256: String,
}

impl ManifestFile {
    pub fn of(name: &str, content_type: &str, content: &[u8]) -> Self {
        ManifestFile {
            name: name.to_owned(),
            content_type: content_type.to_owned(),
            bytes: content.len() as u64,
            sha256: sha256_hex(content),
        }
    }
}

/// A passcode of 25 characters from a 32-letter alphabet (125 bits), in groups of five.
pub fn generate_passcode() -> Zeroizing<String> {
    // Crockford's base32 alphabet, lower case: no i, l, o, u to misread.
    const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
    let mut random = Zeroizing::new([0u8; 25]);
    // Cannot panic: OS randomness, no fallback (a passcode must not be guessable).
    #[allow(clippy::expect_used)]
    getrandom::fill(random.as_mut_slice()).expect("the OS random number generator works");
    let mut passcode = Zeroizing::new(String::with_capacity(29));
    for (i, byte) in random.iter().enumerate() {
        if i > 0 && i % 5 == 0 {
            passcode.push('-');
        }
        // Cannot panic: `byte & 31` is below the alphabet's 32.
        #[allow(clippy::indexing_slicing)]
        passcode.push(ALPHABET[usize::from(byte & 31)] as char);
    }
    passcode
}

/// A tar archive of `files` (name, bytes), every entry stamped with `mtime` (Unix seconds).
pub fn archive(files: &[(&str, &[u8])], mtime: u64) -> Result<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::new());
    builder.mode(tar::HeaderMode::Deterministic);
    for (name, content) in files {
        let mut header = tar::Header::new_ustar();
        header.set_size(content.len() as u64);
        header.set_mode(0o600);
        header.set_mtime(mtime);
        header.set_entry_type(tar::EntryType::Regular);
        builder
            .append_data(&mut header, name, *content)
            .map_err(|e| Error::Internal(format!("building the package archive: {e}")))?;
    }
    builder
        .into_inner()
        .map_err(|e| Error::Internal(format!("building the package archive: {e}")))
}

/// Encrypts `plaintext` with age (scrypt recipient) under `passcode`.
pub fn encrypt(plaintext: &[u8], passcode: &str) -> Result<Vec<u8>> {
    let encryptor =
        age::Encryptor::with_user_passphrase(age::secrecy::SecretString::from(passcode.to_owned()));
    let mut out = Vec::with_capacity(plaintext.len() + 1024);
    let failed = |e: std::io::Error| Error::Internal(format!("encrypting the package: {e}"));
    let mut writer = encryptor.wrap_output(&mut out).map_err(failed)?;
    writer.write_all(plaintext).map_err(failed)?;
    writer.finish().map_err(failed)?;
    Ok(out)
}

/// Decrypts a package (for checks and for the patient's own copy); a wrong passcode is an error.
pub fn decrypt(package: &[u8], passcode: &str) -> Result<Vec<u8>> {
    use std::io::Read;
    let identity =
        age::scrypt::Identity::new(age::secrecy::SecretString::from(passcode.to_owned()));
    let decryptor = age::Decryptor::new(package).map_err(|_| Error::WrongPasscode)?;
    let mut reader = decryptor
        .decrypt(std::iter::once(&identity as &dyn age::Identity))
        .map_err(|_| Error::WrongPasscode)?;
    let mut plaintext = Vec::new();
    reader
        .read_to_end(&mut plaintext)
        .map_err(|_| Error::WrongPasscode)?;
    Ok(plaintext)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passcodes_are_long_and_fresh() {
        let a = generate_passcode();
        let b = generate_passcode();
        assert_eq!(a.len(), 29);
        assert_ne!(*a, *b);
        assert!(a.split('-').all(|g| g.len() == 5));
    }

    #[test]
    fn round_trip_and_wrong_passcode() {
        let tar = archive(&[("a.txt", b"hello")], 0).unwrap();
        let sealed = encrypt(&tar, "right-passcode").unwrap();
        assert!(sealed.starts_with(b"age-encryption.org/v1"));
        assert_eq!(decrypt(&sealed, "right-passcode").unwrap(), tar);
        assert!(matches!(
            decrypt(&sealed, "wrong-passcode"),
            Err(Error::WrongPasscode)
        ));
    }
}
