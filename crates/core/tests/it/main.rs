//! Integration tests of ownrecord-core against real parts: SQLCipher files on disk, the real
//! Secret Service (run under `cargo xtask test`), the Synthea sample patients.

mod audit;
mod backup;
mod browse;
mod ccda;
mod ccda_peers;
mod chart;
mod directory;
mod document;
mod export;
mod home;
mod import;
mod malformed;
mod own;
mod peers;
mod people;
mod portal;
mod research;
mod shares;
mod vault;
mod vendors;
mod viewer;
mod wipe;

use std::path::Path;
use std::sync::Arc;

use ownrecord_core::clock::FixedClock;
use ownrecord_core::{KeyProtection, Unlock, Vault};
use zeroize::Zeroizing;

pub fn clock() -> Arc<FixedClock> {
    Arc::new(FixedClock(time::macros::datetime!(2026-11-23 12:00 UTC)))
}

/// A new vault whose key is in the real Secret Service.
pub fn keyring_vault(dir: &Path) -> Vault {
    ownrecord_testkit::require_secret_service();
    Vault::create(dir, KeyProtection::keyring(), clock()).expect("vault created")
}

pub fn reopen(dir: &Path) -> Vault {
    Vault::open(dir, Unlock::default(), clock()).expect("vault reopens")
}

pub fn passphrase(p: &str) -> Zeroizing<String> {
    Zeroizing::new(p.to_owned())
}

pub fn no_progress() -> impl FnMut(ownrecord_core::import::Progress) {
    |_| {}
}

/// Opens the database file with the raw key read from the keyring by `secret-tool`, bypassing the core.
pub fn raw_connection(dir: &Path) -> rusqlite::Connection {
    let key = ownrecord_testkit::keyring_secret(&ownrecord_testkit::vault_id(dir))
        .expect("key in keyring");
    let conn = rusqlite::Connection::open(dir.join("vault.db")).unwrap();
    conn.execute_batch(&format!(
        "PRAGMA key = \"x'{key}'\"; PRAGMA cipher_page_size = {};",
        ownrecord_core::vault::CIPHER_PAGE_SIZE
    ))
    .unwrap();
    conn
}

/// (type, id) of every resource stored from portals, read with a raw connection.
pub fn stored_from_portals(dir: &Path) -> std::collections::BTreeSet<(String, String)> {
    let conn = raw_connection(dir);
    let mut stmt = conn
        .prepare(
            "SELECT resource_type, fhir_id FROM resources JOIN sources s ON s.id = source_id WHERE s.kind = 'portal'",
        )
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}
