//! One error type for the core. Messages are written for a patient: they say what
//! happened and what to do, and never quote clinical content.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("No vault was found in {0}.")]
    NoVault(PathBuf),

    #[error("A vault already exists in {0}.")]
    VaultExists(PathBuf),

    #[error("The passphrase is wrong. Nothing was changed.")]
    WrongPassphrase,

    #[error("This vault is locked with a passphrase: enter it to unlock.")]
    PassphraseNeeded,

    #[error("The passphrase is too short: use at least {0} characters.")]
    PassphraseTooShort(usize),

    #[error(
        "The system keyring could not be used ({0}). Unlock your keyring, or use a passphrase instead."
    )]
    Keyring(String),

    #[error(
        "The key for this vault is not in the system keyring. Unlock it with your passphrase, if you set one, or with your recovery key."
    )]
    KeyMissing,

    #[error(
        "The vault could not be opened with its key: the key is wrong or the vault file is not a vault."
    )]
    WrongKey,

    #[error("The vault file is damaged: {0}.")]
    Corrupt(String),

    #[error(
        "The disk is full (or the file is too large to write). Nothing was changed; free some space and try again."
    )]
    DiskFull,

    #[error("{file}: {problem}. Nothing from this file was imported.")]
    Import { file: String, problem: String },

    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("The audit log has been tampered with: entry {seq} {why}.")]
    AuditBroken { seq: i64, why: String },

    #[error("Wipe did not finish: {0}.")]
    WipeIncomplete(String),

    #[error("The vault settings file {0} is damaged.")]
    BadSettings(PathBuf),

    #[error("The vault database failed: {0}.")]
    Database(String),

    #[error("{url} is not a SMART on FHIR patient portal: {why}.")]
    NotSmart { url: String, why: String },

    #[error(
        "The portal address must start with https:// (plain http is only allowed on this computer)."
    )]
    InsecurePortal,

    #[error(
        "The portal does not offer secure sign-in for apps (PKCE with S256), so OwnRecord will not connect to it."
    )]
    NoPkce,

    #[error("The portal refused the sign-in: {0}")]
    SignInRefused(String),

    #[error("Sign-in did not complete: {0}.")]
    SignInFailed(String),

    #[error(
        "Your sign-in to {0} has expired. Sign in to it again to keep syncing; nothing was lost."
    )]
    NeedsSignIn(String),

    #[error("The portal {portal} did not answer as expected: {why}.")]
    Portal { portal: String, why: String },

    /// An HTTP status the request cannot go on from (kept as a number, so callers decide by it).
    #[error("The portal {portal} did not answer as expected: it answered {status}.")]
    PortalAnswered { portal: String, status: u16 },

    #[error("There is no connection {0}.")]
    NoSuchConnection(String),

    #[error(
        "There is no section \"{0}\". Choose from: problems, medications, allergies, immunizations, results, vitals, visits, procedures."
    )]
    UnknownSection(String),

    #[error("\"{0}\" is not a date: write it as YYYY-MM-DD.")]
    BadDate(String),

    #[error("The vault holds no patient record yet: import or sync your record first.")]
    NoPatient,

    #[error(
        "A study is named by the id its researchers gave it: 1 to 100 letters, digits or the signs . - _ : and /."
    )]
    BadStudy,

    #[error("{0}")]
    OwnEntry(OwnEntryProblem),

    #[error(
        "The sync was stopped before it finished. Everything downloaded so far is kept; the next sync goes on from there."
    )]
    SyncStopped,

    #[error(
        "The sign-in was stopped before it finished. Nothing was connected; connect again to sign in."
    )]
    SignInStopped,

    #[error("Say who receives the copy.")]
    NoRecipient,

    #[error("No copy was given to the study \"{0}\".")]
    UnknownStudy(String),

    #[error(
        "The consent statement confirmed is not the one for this copy. Nothing was given; look at the preview again."
    )]
    ConsentNotGiven,

    #[error("The passcode is wrong, or the file is not a share package.")]
    WrongPasscode,

    #[error("{0} is not empty: choose a new or empty folder for the export.")]
    OutputNotEmpty(PathBuf),

    #[error(
        "The link's file must live at an https:// address (plain http only on this computer), not {0}."
    )]
    BadLinkHost(String),

    #[error("This is not a valid SMART Health Link, or its key does not open the file.")]
    BadLink,

    #[error("The encrypted file could not be uploaded to {url}: {why}. Nothing was shared.")]
    LinkUpload { url: String, why: String },

    #[error("The record has no {0}.")]
    NoSuchResource(String),

    #[error(
        "The record in {file} is of someone OwnRecord cannot match to one person in your vault, so nothing from it was imported. Say whose it is: someone already in your vault, or someone new."
    )]
    WhoIsThis { file: String },

    #[error(
        "This vault holds {} people: choose whose record.", .0.len()
    )]
    ChoosePerson(Vec<i64>),

    #[error("There is no person {0} in this vault.")]
    NoSuchPerson(String),

    #[error("{0}")]
    PeopleChange(&'static str),

    #[error(
        "The original of this document is not in the vault (it was never downloaded or was removed)."
    )]
    OriginalMissing,

    #[error(
        "That recovery key has a typo: check each group of five characters against what you wrote down. Nothing was changed."
    )]
    RecoveryKeyTypo,

    #[error(
        "That recovery key does not open this vault (it may be an older one, replaced since). Nothing was changed."
    )]
    WrongRecoveryKey,

    #[error(
        "This vault has no recovery key yet. Unlock it with your keyring or passphrase, then make one."
    )]
    NoRecoveryKey,

    #[error("The portal list {list} could not be read ({why}), so the directory was not changed.")]
    DirectoryList { list: &'static str, why: String },

    #[error(
        "OwnRecord has no registration (client id) with {name} yet, so it cannot sign you in there. If OwnRecord was registered with {name} for you, give its client id."
    )]
    NoClientId { vendor: String, name: String },

    #[error(
        "The downloaded {vendor} list holds {downloaded} portals where the bundled directory has {bundled}: more than 20% apart, so the directory was not changed."
    )]
    DirectoryRefused {
        vendor: String,
        bundled: usize,
        downloaded: usize,
    },

    #[error("The vendor profile is not valid: {0}.")]
    BadProfile(String),

    #[error(
        "{portal} did not let this computer register for staying signed in ({why}), so the connection was not saved. Try again later."
    )]
    RegistrationRefused { portal: String, why: String },

    #[error(
        "{portal} only lets the OwnRecord desktop app sign in (it does not accept the command line's sign-in address). Connect it from the desktop app."
    )]
    RedirectNotAccepted { portal: String },

    #[error(
        "{portal} serves many practices from one address: say which practice is yours (its id, as the portal directory lists it)."
    )]
    NeedsPractice { portal: String },

    #[error(
        "There is no vendor \"{0}\". Choose from: epic, oracle, athena, healow, veradigm, va, bluebutton."
    )]
    UnknownVendor(String),

    #[error("No backup was found in {0}.")]
    NoBackup(PathBuf),

    #[error("The backup folder {0} is not there (is the drive plugged in?). No backup was made.")]
    BackupFolderMissing(PathBuf),

    #[error(
        "The backup folder {0} is full (or does not take files this large): no backup was made, and the vault is unchanged. Free some space there or choose another folder."
    )]
    BackupDiskFull(PathBuf),

    #[error(
        "The backup in {backup} is damaged or was changed ({why}), so nothing was restored. Try an older backup."
    )]
    BackupDamaged { backup: PathBuf, why: &'static str },

    #[error(
        "{0} already holds another vault, so nothing was restored there. Restore into a new, empty folder."
    )]
    RestoreOverOtherVault(PathBuf),

    #[error(
        "{0} already holds this vault. Roll it back to the backup (what changed since is lost), or restore into a new folder."
    )]
    RestoreOverVault(PathBuf),

    #[error(
        "The original of this document in the vault does not match its checksum, so it is not shown. Import it again."
    )]
    OriginalDamaged,

    #[error("The original of this document cannot be read as a clinical document.")]
    DocumentUnreadable,

    #[error(
        "No share host {0} is set up. Add it first, with the owner token its operator gave you."
    )]
    UnknownHost(String),

    #[error(
        "The share host {0} refused the token OwnRecord gave it. Ask its operator for a new owner token and add the host again."
    )]
    HostRefused(String),

    #[error(
        "The share host {url} could not be reached or answered in a way OwnRecord does not understand ({why})."
    )]
    HostUnreachable { url: String, why: String },

    #[error("There is no share {0}.")]
    UnknownShare(String),

    #[error("The share {0} was already stopped: its link no longer opens.")]
    ShareRevoked(String),

    #[error(
        "The share {0} is files you gave out, not a link on a share host: it cannot be taken back."
    )]
    ShareNotRevocable(String),

    #[error("Something went wrong inside OwnRecord ({0}). Nothing was changed.")]
    Internal(String),
}

impl Error {
    /// A stable, machine-readable code for the UI and `--json` output.
    pub fn code(&self) -> &'static str {
        match self {
            Error::NoVault(_) => "no_vault",
            Error::VaultExists(_) => "vault_exists",
            Error::WrongPassphrase => "wrong_passphrase",
            Error::PassphraseNeeded => "passphrase_needed",
            Error::PassphraseTooShort(_) => "passphrase_too_short",
            Error::Keyring(_) => "keyring_unavailable",
            Error::KeyMissing => "key_missing",
            Error::WrongKey => "wrong_key",
            Error::Corrupt(_) => "corrupt",
            Error::DiskFull => "disk_full",
            Error::Import { .. } => "bad_import",
            Error::Io { .. } => "io",
            Error::AuditBroken { .. } => "audit_broken",
            Error::WipeIncomplete(_) => "wipe_incomplete",
            Error::BadSettings(_) => "bad_settings",
            Error::Database(_) => "database",
            Error::NotSmart { .. } => "not_smart",
            Error::InsecurePortal => "insecure_portal",
            Error::NoPkce => "no_pkce",
            Error::SignInRefused(_) => "sign_in_refused",
            Error::SignInFailed(_) => "sign_in_failed",
            Error::NeedsSignIn(_) => "needs_sign_in",
            Error::Portal { .. } | Error::PortalAnswered { .. } => "portal",
            Error::NoSuchConnection(_) => "no_such_connection",
            Error::UnknownSection(_) => "unknown_section",
            Error::BadDate(_) => "bad_date",
            Error::NoPatient => "no_patient",
            Error::WrongPasscode => "wrong_passcode",
            Error::BadStudy => "bad_study",
            Error::SyncStopped => "sync_stopped",
            Error::SignInStopped => "sign_in_stopped",
            Error::OwnEntry(_) => "own_entry_refused",
            Error::NoRecipient => "no_recipient",
            Error::UnknownStudy(_) => "unknown_study",
            Error::ConsentNotGiven => "consent_not_given",
            Error::OutputNotEmpty(_) => "output_not_empty",
            Error::BadLinkHost(_) => "bad_link_host",
            Error::BadLink => "bad_link",
            Error::LinkUpload { .. } => "link_upload_failed",
            Error::UnknownHost(_) => "unknown_host",
            Error::HostRefused(_) => "host_refused_token",
            Error::HostUnreachable { .. } => "host_unreachable",
            Error::UnknownShare(_) => "unknown_share",
            Error::ShareRevoked(_) => "share_already_revoked",
            Error::ShareNotRevocable(_) => "share_not_revocable",
            Error::NoSuchResource(_) => "not_found",
            Error::WhoIsThis { .. } => "who_is_this",
            Error::ChoosePerson(_) => "choose_person",
            Error::NoSuchPerson(_) => "no_such_person",
            Error::PeopleChange(_) => "people_change_refused",
            Error::OriginalMissing => "original_missing",
            Error::RecoveryKeyTypo => "recovery_key_typo",
            Error::WrongRecoveryKey => "wrong_recovery_key",
            Error::NoRecoveryKey => "no_recovery_key",
            Error::DirectoryList { .. } => "directory_list",
            Error::NoClientId { .. } => "no_client_id",
            Error::UnknownVendor(_) => "unknown_vendor",
            Error::BadProfile(_) => "bad_profile",
            Error::DirectoryRefused { .. } => "directory_refused",
            Error::RegistrationRefused { .. } => "registration_refused",
            Error::RedirectNotAccepted { .. } => "redirect_not_accepted",
            Error::NeedsPractice { .. } => "needs_practice",
            Error::NoBackup(_) => "no_backup",
            Error::BackupFolderMissing(_) => "backup_folder_missing",
            Error::BackupDiskFull(_) => "backup_disk_full",
            Error::BackupDamaged { .. } => "backup_damaged",
            Error::RestoreOverOtherVault(_) => "restore_over_other_vault",
            Error::RestoreOverVault(_) => "restore_over_vault",
            Error::OriginalDamaged => "original_damaged",
            Error::DocumentUnreadable => "document_unreadable",
            Error::Internal(_) => "internal",
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// An I/O error writing `path`: a full disk (ENOSPC, or EFBIG past a file-size limit) is
    /// [`Error::DiskFull`], anything else names the path.
    pub(crate) fn write(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        use std::io::ErrorKind;
        let full = matches!(source.raw_os_error(), Some(28 | 27))
            || matches!(
                source.kind(),
                ErrorKind::StorageFull | ErrorKind::FileTooLarge
            );
        if full {
            Error::DiskFull
        } else {
            Error::io(path, source)
        }
    }

    pub(crate) fn import(file: &str, problem: impl Into<String>) -> Self {
        Error::Import {
            file: file.to_owned(),
            problem: problem.into(),
        }
    }
}

/// Why something the patient adds themselves cannot be kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OwnEntryProblem {
    #[error("Give it a name.")]
    NoName,
    #[error("Write the note first.")]
    NoText,
    #[error("That is too long: keep it under 10,000 characters.")]
    TooLong,
    #[error("That day is in the future.")]
    InTheFuture,
    #[error("That reading is outside any possible range: check the number and its unit.")]
    Implausible,
    #[error("Only PDF files and JPEG or PNG photos can be added, and the file must be one.")]
    FileType,
    #[error("The file is larger than 32 MB.")]
    TooLarge,
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ffi::ErrorCode;
        match e.sqlite_error_code() {
            Some(ErrorCode::DiskFull | ErrorCode::TooBig) => Error::DiskFull,
            Some(ErrorCode::NotADatabase) => Error::WrongKey,
            Some(ErrorCode::DatabaseCorrupt) => Error::Corrupt("the database is malformed".into()),
            // Extended I/O errors on write are how SQLite reports EFBIG / ENOSPC from the OS.
            Some(ErrorCode::SystemIoFailure) if is_write_failure(&e) => Error::DiskFull,
            // rusqlite's messages name tables and constraints, never row values.
            _ => Error::Database(e.to_string()),
        }
    }
}

fn is_write_failure(e: &rusqlite::Error) -> bool {
    const SQLITE_IOERR_WRITE: i32 = 10 | (3 << 8);
    const SQLITE_IOERR_FSYNC: i32 = 10 | (4 << 8);
    const SQLITE_IOERR_TRUNCATE: i32 = 10 | (6 << 8);
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, _)
            if matches!(f.extended_code, SQLITE_IOERR_WRITE | SQLITE_IOERR_FSYNC | SQLITE_IOERR_TRUNCATE)
    )
}

impl From<rusqlite_migration::Error> for Error {
    fn from(e: rusqlite_migration::Error) -> Self {
        match e {
            rusqlite_migration::Error::RusqliteError { err, .. } => err.into(),
            other => Error::Database(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The core speaks of what happened; the CLI and the desktop add what to do in their own
    /// words (a command line, a button), so no message names a command, a flag or a variable.
    #[test]
    fn no_message_names_a_cli_command_a_flag_or_a_variable() {
        let errors = [
            Error::NoVault("/v".into()),
            Error::PassphraseNeeded,
            Error::Keyring("locked".into()),
            Error::KeyMissing,
            Error::NeedsSignIn("Demo".into()),
            Error::NoSuchConnection("3".into()),
            Error::WhoIsThis {
                file: "a.json".into(),
            },
            Error::ChoosePerson(vec![1, 2]),
            Error::NoSuchPerson("9".into()),
            Error::NoRecoveryKey,
            Error::NoClientId {
                vendor: "epic".into(),
                name: "Epic".into(),
            },
            Error::RestoreOverVault("/v".into()),
            Error::UnknownHost("https://h".into()),
            Error::UnknownShare("s".into()),
            Error::UnknownStudy("x".into()),
            Error::BadStudy,
            Error::ConsentNotGiven,
        ];
        for e in errors {
            let message = e.to_string();
            for word in ["ownrecord ", "--", "OWNRECORD_", "`"] {
                assert!(!message.contains(word), "{message}");
            }
            assert!(message.ends_with('.'), "{message}");
        }
    }
}
