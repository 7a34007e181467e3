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
}

impl CommandError {
    pub fn code(&self) -> &'static str {
        match self {
            CommandError::Core(e) => e.code(),
            CommandError::Locked => "locked",
            CommandError::NotConfirmed => "not_confirmed",
            CommandError::NoBackupFolder => "no_backup_folder",
        }
    }
}

impl Serialize for CommandError {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("CommandError", 2)?;
        s.serialize_field("code", self.code())?;
        s.serialize_field("message", &self.to_string())?;
        s.end()
    }
}
