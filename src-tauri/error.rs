//! Errors cross IPC as `{code, message}`, with the core's patient-facing message.

use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Core(#[from] ownrecord_core::Error),
    #[error("The vault is locked. Unlock it first.")]
    Locked,
    #[error("Type DELETE (in capitals) to confirm. Nothing was deleted.")]
    NotConfirmed,
    #[error("Choose a folder for your backups first. No backup was made.")]
    NoBackupFolder,
    #[error(
        "No share host runs on this computer for the demo. Add a share host by its address and owner token instead."
    )]
    NoDemoShareHost,
    #[error(
        "This preview is no longer ready (it was cancelled, a newer one replaced it, or the vault was locked): nothing was given. Look at the preview again."
    )]
    ResearchPreviewGone,
    #[error(
        "A file is added by its path (Upload a PDF or photo), not sent as bytes. Nothing was added."
    )]
    UploadByPath,
}

impl CommandError {
    pub fn code(&self) -> &'static str {
        match self {
            CommandError::Core(e) => e.code(),
            CommandError::Locked => "locked",
            CommandError::NotConfirmed => "not_confirmed",
            CommandError::NoBackupFolder => "no_backup_folder",
            CommandError::NoDemoShareHost => "no_demo_share_host",
            CommandError::ResearchPreviewGone => "research_preview_gone",
            CommandError::UploadByPath => "upload_by_path",
        }
    }

    /// The sentence the window shows: the core's, except where it names a CLI command.
    pub fn message(&self) -> String {
        use ownrecord_core::Error;
        match self {
            CommandError::Core(Error::UnknownHost(url)) => format!(
                "No share host {url} is set up. Add it under Share hosts (its address and the owner token its operator gave you)."
            ),
            CommandError::Core(Error::UnknownShare(_)) => {
                "OwnRecord has no record of this share. Open the Shared screen again.".to_owned()
            }
            CommandError::Core(e @ Error::NeedsSignIn(_)) => {
                format!("{e} Use Sign in again under Connections.")
            }
            CommandError::Core(e @ Error::NoClientId { .. }) => {
                format!("{e} Give it under Connections, with the portal.")
            }
            other => other.to_string(),
        }
    }
}

impl Serialize for CommandError {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("CommandError", 2)?;
        s.serialize_field("code", self.code())?;
        s.serialize_field("message", &self.message())?;
        s.end()
    }
}

#[cfg(test)]
mod tests {
    use super::CommandError;
    use ownrecord_core::Error;

    #[test]
    fn sharing_errors_speak_of_the_window_not_the_cli() {
        for e in [
            CommandError::Core(Error::UnknownHost("https://share.example.org".into())),
            CommandError::Core(Error::UnknownShare("abc".into())),
            CommandError::NoDemoShareHost,
            CommandError::ResearchPreviewGone,
        ] {
            let message = e.message();
            assert!(!message.contains("ownrecord "), "{message}");
            assert!(message.ends_with('.'), "{message}");
        }
        assert!(
            CommandError::Core(Error::UnknownHost("https://share.example.org".into()))
                .message()
                .contains("under Share hosts")
        );
        // Other errors keep the core's sentence.
        let locked = CommandError::Core(Error::ShareRevoked("abc".into()));
        assert_eq!(locked.message(), locked.to_string());
    }
}
