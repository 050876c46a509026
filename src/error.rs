//! The crate's one public error type.
//!
//! Every fallible operation in twinsync returns [`Result<T>`](Result). An [`Error`]
//! carries an [`ErrorKind`] that says *what* went wrong, a temporary flag that says
//! whether trying again later may succeed, the context it happened in (issue,
//! connection, operation) and the underlying cause.

use std::fmt;
use std::time::Duration;

/// Shorthand for `Result<T, twinsync::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What kind of failure an [`Error`] is.
///
/// New kinds may be added in minor releases, so match with a wildcard arm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The issue, comment, attachment, project or connection does not exist.
    NotFound,
    /// The thing to create exists already.
    AlreadyExists,
    /// The write conflicts with the current state of the target.
    Conflict,
    /// The caller is known but not allowed to do this.
    PermissionDenied,
    /// The credentials are missing, wrong or expired.
    Unauthenticated,
    /// The tracker asked us to slow down; see [`Error::retry_after`].
    RateLimited,
    /// The tracker or store does not support the operation (see its capabilities).
    Unsupported,
    /// An argument or payload is malformed.
    InvalidInput,
    /// The configuration (a connection, a rule set, a builder) is not usable.
    InvalidConfig,
    /// The other side speaks an incompatible protocol or format version.
    Incompatible,
    /// The service is unreachable or failing (a 5xx answer, a refused connection).
    Unavailable,
    /// No answer arrived in time: the request may or may not have been applied.
    Timeout,
    /// The state store failed.
    Storage,
    /// A mass deletion or another guard refused the operation.
    Refused,
    /// Another worker took this work over (this worker's lease on it lapsed),
    /// so what this worker was about to write was refused; the other worker
    /// carries the work on.
    Superseded,
    /// Anything else: a bug in a tracker or in twinsync.
    Unexpected,
}

impl ErrorKind {
    /// A short lowercase name, as used in messages and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::NotFound => "not found",
            ErrorKind::AlreadyExists => "already exists",
            ErrorKind::Conflict => "conflict",
            ErrorKind::PermissionDenied => "permission denied",
            ErrorKind::Unauthenticated => "unauthenticated",
            ErrorKind::RateLimited => "rate limited",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::InvalidInput => "invalid input",
            ErrorKind::InvalidConfig => "invalid configuration",
            ErrorKind::Incompatible => "incompatible",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Storage => "storage",
            ErrorKind::Refused => "refused",
            ErrorKind::Superseded => "superseded",
            ErrorKind::Unexpected => "unexpected",
        }
    }

    /// Whether errors of this kind are temporary unless said otherwise.
    ///
    /// Rate limits, unavailability and timeouts heal by themselves; everything
    /// else needs somebody to act.
    pub fn is_temporary_by_default(self) -> bool {
        matches!(
            self,
            ErrorKind::RateLimited | ErrorKind::Unavailable | ErrorKind::Timeout
        )
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

type Source = Box<dyn std::error::Error + Send + Sync + 'static>;

/// How far a failure reaches: one issue's sync, its whole connection, or
/// the other node of a remote connection.
///
/// Set where the error is made: a missing project or a refused sign-in stops
/// every twin of a connection alike, so the engine stops the connection (its
/// status becomes Error, with the cause) instead of failing each twin; the
/// other node not answering makes everything for it wait, and nothing fail.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorScope {
    /// One operation or one twin; the others go on.
    #[default]
    Twin,
    /// Every twin of the connection: the connection stops until fixed.
    Connection,
    /// The other node of a remote connection could not be reached (the
    /// transport said `Unavailable` or `Timeout`): what goes to it waits, the
    /// connection backs off and shows since when; no twin fails.
    Peer,
}

/// The error of every fallible twinsync operation.
///
/// Build one with [`Error::new`] and add context with the `with_*` methods:
///
/// ```
/// use twinsync::{Error, ErrorKind};
///
/// let err = Error::new(ErrorKind::NotFound, "issue does not exist")
///     .with_issue("DEV-7")
///     .with_operation("get issue");
/// assert_eq!(err.kind(), ErrorKind::NotFound);
/// assert!(!err.is_temporary());
/// assert_eq!(err.to_string(), "issue does not exist (issue DEV-7, operation get issue)");
/// ```
pub struct Error {
    kind: ErrorKind,
    temporary: bool,
    scope: ErrorScope,
    message: String,
    context: Vec<(&'static str, String)>,
    retry_after: Option<Duration>,
    source: Option<Source>,
}

impl Error {
    /// A new error of `kind` with a lowercase message naming what went wrong.
    ///
    /// The temporary flag starts at [`ErrorKind::is_temporary_by_default`];
    /// the scope at [`ErrorScope::Connection`] for
    /// [`ErrorKind::Unauthenticated`] (credentials serve every twin alike),
    /// else [`ErrorScope::Twin`].
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            temporary: kind.is_temporary_by_default(),
            scope: if kind == ErrorKind::Unauthenticated {
                ErrorScope::Connection
            } else {
                ErrorScope::Twin
            },
            message: message.into(),
            context: Vec::new(),
            retry_after: None,
            source: None,
        }
    }

    /// A [`ErrorKind::RateLimited`] error that asks to wait `retry_after` (if known).
    pub fn rate_limited(message: impl Into<String>, retry_after: Option<Duration>) -> Self {
        let mut err = Error::new(ErrorKind::RateLimited, message);
        err.retry_after = retry_after;
        err
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Whether trying again later may succeed (rate limits, outages, timeouts).
    pub fn is_temporary(&self) -> bool {
        self.temporary
    }

    /// How far the failure reaches: one twin, or the whole connection.
    pub fn scope(&self) -> ErrorScope {
        self.scope
    }

    /// Sets how far the failure reaches.
    pub fn with_scope(mut self, scope: ErrorScope) -> Self {
        self.scope = scope;
        self
    }

    /// Whether a write that failed with this error may nevertheless have been applied.
    ///
    /// True for timeouts and outages (the answer was lost, not necessarily the
    /// request); false for refusals such as rate limits and 4xx answers.
    pub fn may_have_applied(&self) -> bool {
        matches!(self.kind, ErrorKind::Timeout | ErrorKind::Unavailable)
    }

    /// How long the service asked us to wait before trying again, when it said.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// The message, without context.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The context entries (`issue`, `connection`, `operation`, …) in the order added.
    pub fn context(&self) -> &[(&'static str, String)] {
        &self.context
    }

    /// The context value for `key`, if any.
    pub fn context_value(&self, key: &str) -> Option<&str> {
        self.context
            .iter()
            .rev()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Marks the error temporary (`true`) or permanent (`false`).
    ///
    /// A retry layer marks an error permanent when it gives up on it.
    pub fn set_temporary(mut self, temporary: bool) -> Self {
        self.temporary = temporary;
        self
    }

    /// Sets how long to wait before trying again.
    pub fn with_retry_after(mut self, retry_after: Duration) -> Self {
        self.retry_after = Some(retry_after);
        self
    }

    /// Adds a context entry such as `("project", "DEV")`.
    pub fn with_context(mut self, key: &'static str, value: impl fmt::Display) -> Self {
        self.context.push((key, value.to_string()));
        self
    }

    /// Adds the issue the error concerns.
    pub fn with_issue(self, issue: impl fmt::Display) -> Self {
        self.with_context("issue", issue)
    }

    /// Adds the connection the error concerns.
    pub fn with_connection(self, connection: impl fmt::Display) -> Self {
        self.with_context("connection", connection)
    }

    /// Adds the operation that failed.
    pub fn with_operation(self, operation: impl fmt::Display) -> Self {
        self.with_context("operation", operation)
    }

    /// Attaches the underlying cause.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if !self.context.is_empty() {
            f.write_str(" (")?;
            for (i, (k, v)) in self.context.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{k} {v}")?;
            }
            f.write_str(")")?;
        }
        if let Some(wait) = self.retry_after {
            write!(f, "; retry after {} ms", wait.as_millis())?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.kind)
            .field("temporary", &self.temporary)
            .field("scope", &self.scope)
            .field("message", &self.message);
        if !self.context.is_empty() {
            d.field("context", &self.context);
        }
        if let Some(wait) = self.retry_after {
            d.field("retry_after", &wait);
        }
        if let Some(source) = &self.source {
            d.field("source", source);
        }
        d.finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|s| s as &(dyn std::error::Error + 'static))
    }
}

impl From<serde_json::Error> for Error {
    fn from(err: serde_json::Error) -> Self {
        Error::new(ErrorKind::InvalidInput, format!("malformed json: {err}")).with_source(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_follows_kind_and_can_be_overridden() {
        assert!(Error::new(ErrorKind::Unavailable, "down").is_temporary());
        assert!(!Error::new(ErrorKind::NotFound, "gone").is_temporary());
        let gave_up = Error::new(ErrorKind::Unavailable, "down").set_temporary(false);
        assert!(!gave_up.is_temporary());
    }

    #[test]
    fn display_lists_context_and_retry_after() {
        let err = Error::rate_limited("too many requests", Some(Duration::from_secs(3)))
            .with_connection("SUP_to_DEV");
        assert_eq!(
            err.to_string(),
            "too many requests (connection SUP_to_DEV); retry after 3000 ms"
        );
        assert_eq!(err.context_value("connection"), Some("SUP_to_DEV"));
    }

    #[test]
    fn source_is_exposed() {
        let io = std::io::Error::other("disk full");
        let err = Error::new(ErrorKind::Storage, "cannot save twin state").with_source(io);
        let source = std::error::Error::source(&err).expect("source");
        assert_eq!(source.to_string(), "disk full");
    }
}
