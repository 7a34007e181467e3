//! What to type next, added by the CLI to the core's sentence (the core speaks of what happened,
//! not of commands: the desktop shows the same errors with its own hints).

use ownrecord_core::Error;

/// The CLI's hint for `e`, if it has one.
pub fn hint(e: &Error) -> Option<String> {
    let text = match e {
        Error::NoVault(_) => "Create one with `ownrecord init`.".to_owned(),
        Error::PassphraseNeeded | Error::Keyring(_) => {
            "In a script, set OWNRECORD_PASSPHRASE.".to_owned()
        }
        Error::KeyMissing => {
            "Set OWNRECORD_PASSPHRASE, or use `ownrecord unlock --recovery-key`.".to_owned()
        }
        Error::NeedsSignIn(_) => "Sign in with `ownrecord connect`.".to_owned(),
        Error::NoSuchConnection(_) => "See `ownrecord connections`.".to_owned(),
        Error::WhoIsThis { .. } => {
            "Add --person ID (see `ownrecord people`) or --person new.".to_owned()
        }
        Error::ChoosePerson(_) => "Add --person ID (see `ownrecord people`).".to_owned(),
        Error::NoSuchPerson(_) => "See `ownrecord people`.".to_owned(),
        Error::NoRecoveryKey => "Make one with `ownrecord recovery-key`.".to_owned(),
        Error::NoClientId { vendor, .. } => {
            format!("Set it with `ownrecord portals client {vendor} ID`.")
        }
        Error::RestoreOverVault(_) => "Add --replace to roll it back.".to_owned(),
        Error::UnknownHost(_) => {
            "Add it with `ownrecord hosts add URL --token TOKEN` (see `ownrecord hosts`)."
                .to_owned()
        }
        Error::UnknownShare(_) | Error::UnknownStudy(_) => {
            "See `ownrecord shares` and `ownrecord studies`.".to_owned()
        }
        _ => return None,
    };
    Some(text)
}

/// The core's sentence and the CLI's hint.
pub fn message(e: &Error) -> String {
    match hint(e) {
        Some(hint) => format!("{e} {hint}"),
        None => e.to_string(),
    }
}
