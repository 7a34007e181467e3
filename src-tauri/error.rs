//! Errors cross IPC as `{code, message}`, with the core's patient-facing message.

use serde::Serialize;

#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct CommandError(#[from] ownrecord_core::Error);

impl Serialize for CommandError {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("CommandError", 2)?;
        s.serialize_field("code", self.0.code())?;
        s.serialize_field("message", &self.0.to_string())?;
        s.end()
    }
}
