//! How a command fails: a clean message and a documented exit code.

use std::fmt;

use twinsync::ErrorKind;

use crate::config::ConfigError;

/// Exit code: the operation failed (Jira, the other node or the engine said no).
pub const FAILED: u8 = 1;
/// Exit code: bad config file or credentials.
pub const CONFIG: u8 = 3;
/// Exit code: the state file is in use by another node.
pub const IN_USE: u8 = 4;
/// Exit code: finished, but some issues failed.
pub const PARTIAL: u8 = 5;

/// A failed command: what to print and the exit code.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    /// A failure with `code`.
    pub fn new(code: u8, message: impl Into<String>) -> Self {
        Failure {
            code,
            message: message.into(),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<twinsync::Error> for Failure {
    fn from(e: twinsync::Error) -> Self {
        let message = e.to_string();
        let code = if e.kind() == ErrorKind::Storage
            && message.contains("in use by another twinsync node")
        {
            IN_USE
        } else if matches!(
            e.kind(),
            ErrorKind::InvalidConfig | ErrorKind::Unauthenticated
        ) {
            CONFIG
        } else {
            FAILED
        };
        Failure { code, message }
    }
}

impl From<ConfigError> for Failure {
    fn from(e: ConfigError) -> Self {
        Failure::new(CONFIG, e.to_string())
    }
}

/// The result of a command.
pub type Outcome<T = ()> = Result<T, Failure>;
