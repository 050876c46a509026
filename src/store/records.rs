//! The records a [`Store`](super::Store) keeps besides twin state.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::ErrorKind;
use crate::model::{AttachmentId, CommentId, ConnectionId, IssueId, IssueKey, ProjectKey};

/// A connection as stored: its id and name for lookups, the rest as the
/// engine's serialized configuration (opaque to stores).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionRecord {
    /// The id.
    pub id: ConnectionId,
    /// The unique name.
    pub name: String,
    /// The engine's configuration of the connection, as JSON.
    pub config: String,
}

/// What an [`Intent`] is about to create.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum IntentKind {
    /// The twin issue, in `project`.
    CreateIssue {
        /// The target project.
        project: ProjectKey,
    },
    /// A comment copying the remote comment `origin` onto `issue`.
    AddComment {
        /// The target issue.
        issue: IssueId,
        /// The remote comment.
        origin: CommentId,
    },
    /// An attachment copying the remote attachment `origin` onto `issue`.
    AddAttachment {
        /// The target issue.
        issue: IssueId,
        /// The remote attachment.
        origin: AttachmentId,
    },
}

/// A create recorded durably before it is sent, so that a lost answer is
/// resolved by looking for its marker instead of creating again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Intent {
    /// The operation id (also in the marker).
    pub id: String,
    /// The connection.
    pub connection: ConnectionId,
    /// The remote (origin) issue of the twin.
    pub origin: IssueId,
    /// What is being created.
    pub kind: IntentKind,
    /// When it was recorded.
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    /// When its outcome became unknown (a lost answer), if it did.
    #[serde(with = "time::serde::rfc3339::option")]
    pub indeterminate_since: Option<OffsetDateTime>,
}

/// An issue waiting to be synced.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueItem {
    /// The sequence number (assigned by the store; 0 when enqueuing).
    pub seq: u64,
    /// The connection.
    pub connection: ConnectionId,
    /// The project the change happened in.
    pub project: ProjectKey,
    /// The changed issue.
    pub issue: IssueId,
    /// When it was queued.
    #[serde(with = "time::serde::rfc3339")]
    pub queued: OffsetDateTime,
}

/// The last failure of one issue's sync, kept until it is retried or resolved.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TwinError {
    /// The connection.
    pub connection: ConnectionId,
    /// The issue whose sync failed.
    pub issue: IssueId,
    /// Its key.
    pub key: IssueKey,
    /// The error's kind.
    pub kind: ErrorKind,
    /// The error's message (never a secret).
    pub message: String,
    /// When it last failed.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// How many times in a row it failed.
    pub attempts: u32,
}
