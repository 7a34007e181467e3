//! # ownrecord-core
//!
//! All of OwnRecord's domain logic, usable without a window or a terminal:
//!
//! - [`vault`]: the encrypted SQLCipher vault, its key (OS keyring, passphrase, recovery key) and schema.
//! - [`import`]: FHIR R4 Bundles, NDJSON and single resources from files, one transaction per file.
//! - [`audit`]: the append-only, hash-chained audit & disclosure log.
//! - [`portal`]: connecting patient portals (SMART on FHIR, OAuth2 + PKCE, loopback redirect).
//! - [`sync`]: downloading a connected portal's record, paged and incremental.
//! - [`export`]: PDF summary, IPS document, encrypted share package, SMART Health Link, full export.
//! - [`backup`]: encrypted backups in generations, and restoring them on any computer.
//! - [`wipe`]: verified deletion of a vault.
//! - [`fhir`]: small read views over raw FHIR JSON.
//!
//! The desktop shell and the CLI call this crate; it knows nothing of either
//! (`cargo tree -p ownrecord-core -i tauri` finds nothing, checked in CI).

#![deny(
    clippy::indexing_slicing,
    clippy::string_slice,
    clippy::unwrap_used,
    clippy::expect_used
)]
#![cfg_attr(
    test,
    allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

pub mod audit;
pub mod backup;
pub mod clock;
pub mod error;
pub mod export;
pub use ownrecord_ccda as ccda;
pub use ownrecord_fhir as fhir;
pub mod import;
pub mod portal;
pub mod sync;
pub mod vault;
pub mod wipe;

pub use clock::{Clock, SystemClock};
pub use error::{Error, Result};
pub use vault::{KeyProtection, Unlock, Vault};
