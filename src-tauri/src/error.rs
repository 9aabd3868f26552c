//! The error every command returns: serialised as `{code, message}` so the UI can both branch on
//! it and show it to people.

use serde::Serialize;

/// A failed command. `code` is stable for programs; `message` is a sentence for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{message}")]
pub struct CommandError {
    pub code: &'static str,
    pub message: String,
}

impl CommandError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        CommandError {
            code,
            message: message.into(),
        }
    }
}

impl From<crate::settings::SettingsError> for CommandError {
    fn from(e: crate::settings::SettingsError) -> Self {
        CommandError::new("settings", e.to_string())
    }
}

impl From<crate::downloads::DownloadError> for CommandError {
    fn from(e: crate::downloads::DownloadError) -> Self {
        let code = match e {
            crate::downloads::DownloadError::TooMany(_) => "busy",
            crate::downloads::DownloadError::Io { .. } => "disk",
            _ => "bad-request",
        };
        CommandError::new(code, e.to_string())
    }
}

impl From<crate::host::HostError> for CommandError {
    fn from(e: crate::host::HostError) -> Self {
        CommandError::new("host", e.to_string())
    }
}

impl From<crate::address::AddressError> for CommandError {
    fn from(e: crate::address::AddressError) -> Self {
        CommandError::new("bad-address", e.to_string())
    }
}

impl From<signaling::IceConfigError> for CommandError {
    fn from(e: signaling::IceConfigError) -> Self {
        CommandError::new("ice-config", e.to_string())
    }
}
