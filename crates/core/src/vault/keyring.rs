//! The vault key in the OS keyring (Secret Service on Linux, Keychain on macOS,
//! Credential Manager on Windows). One entry per vault: service `ownrecord`, account = vault id.

use crate::error::{Error, Result};
use crate::vault::key::VaultKey;

const SERVICE: &str = "ownrecord";

fn entry(vault_id: &str) -> Result<keyring::Entry> {
    select_store();
    keyring::Entry::new(SERVICE, &format!("vault-{vault_id}")).map_err(keyring_error)
}

/// On Linux, use the Secret Service (persistent; gnome-keyring, KWallet), never the
/// kernel keyutils store, whose entries vanish with the login session.
fn select_store() {
    #[cfg(target_os = "linux")]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            keyring::set_default_credential_builder(
                keyring::secret_service::default_credential_builder(),
            )
        });
    }
}

pub fn store(vault_id: &str, key: &VaultKey) -> Result<()> {
    let entry = entry(vault_id)?;
    entry.set_password(&key.to_hex()).map_err(keyring_error)?;
    // Read it back: a keyring that silently drops writes must not leave a vault nobody can open.
    match entry.get_password() {
        Ok(stored) if VaultKey::from_hex(&stored).is_some() => Ok(()),
        Ok(_) => Err(Error::Keyring(
            "the keyring returned a different key".into(),
        )),
        Err(e) => Err(keyring_error(e)),
    }
}

pub fn load(vault_id: &str) -> Result<VaultKey> {
    match entry(vault_id)?.get_password() {
        Ok(hex) => VaultKey::from_hex(&hex).ok_or(Error::KeyMissing),
        Err(keyring::Error::NoEntry) => Err(Error::KeyMissing),
        Err(e) => Err(keyring_error(e)),
    }
}

/// Removes the entry. Returns whether there was one.
pub fn delete(vault_id: &str) -> Result<bool> {
    match entry(vault_id)?.delete_credential() {
        Ok(()) => Ok(true),
        Err(keyring::Error::NoEntry) => Ok(false),
        Err(e) => Err(keyring_error(e)),
    }
}

/// Whether the keyring holds an entry for this vault (used by wipe's verification).
pub fn exists(vault_id: &str) -> Result<bool> {
    match entry(vault_id)?.get_password() {
        Ok(_) => Ok(true),
        Err(keyring::Error::NoEntry) => Ok(false),
        Err(e) => Err(keyring_error(e)),
    }
}

fn keyring_error(e: keyring::Error) -> Error {
    let why = match e {
        keyring::Error::NoStorageAccess(_) => "it is locked or access was refused".to_owned(),
        keyring::Error::PlatformFailure(inner) => format!("no keyring service answered: {inner}"),
        other => other.to_string(),
    };
    Error::Keyring(why)
}
