//! The records a [`Store`](super::Store) keeps of what happened to twins:
//! their failures (and quarantines), the deletions the mass-deletion guard
//! refused and what users decided about them, refused transitions, and
//! conflicts.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::ErrorKind;
use crate::model::{ConnectionId, IssueId, IssueKey, ProjectKey};
use crate::plan::Conflict;

/// The last failure of one issue's sync, kept until it is retried or
/// resolved; or a deletion the mass-deletion guard refused (kind
/// [`Refused`](ErrorKind::Refused)), kept until a user confirms or dismisses it.
///
/// Fields added after v0.1 are optional in the stored JSON, so records
/// written earlier still read (as a failure cycles retry).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
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
    /// A temporary failure: cycles try it again from this time on (backing
    /// off exponentially); before it they leave it alone.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub next_try: Option<OffsetDateTime>,
    /// A permanent failure: cycles leave the twin alone until something
    /// changes (see [`Quarantine`]) or a user retries or resolves it. On a
    /// refused deletion: what the sync saw, so that cycles plan the twin
    /// again only when something changes.
    #[serde(default)]
    pub quarantine: Option<Quarantine>,
    /// Deletions the mass-deletion guard refused on this twin, waiting for a
    /// user's decision (kept across later failures).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refused: Vec<RefusedDeletion>,
    /// What a user decided about `refused`; carried out by the next sync.
    #[serde(default)]
    pub decision: Option<DeletionDecision>,
    /// Workflow transitions the tracker refused on the way to a mapped
    /// status (the rest of the sync applied); the status is tried again when
    /// the twin next syncs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transitions: Vec<RefusedTransition>,
}

impl TwinError {
    /// A failure of the sync of `issue` (`key`) at `at`, its first in a row.
    pub fn new(
        connection: ConnectionId,
        issue: IssueId,
        key: IssueKey,
        kind: ErrorKind,
        message: impl Into<String>,
        at: OffsetDateTime,
    ) -> Self {
        TwinError {
            connection,
            issue,
            key,
            kind,
            message: message.into(),
            at,
            attempts: 1,
            next_try: None,
            quarantine: None,
            refused: Vec::new(),
            decision: None,
            transitions: Vec::new(),
        }
    }

    /// Whether this records a refused deletion only (no failure).
    pub fn is_refusal(&self) -> bool {
        self.kind == ErrorKind::Refused && !self.refused.is_empty()
    }
}

/// Why cycles leave a failed twin alone: what its failing sync saw, so that a
/// change is noticed. The twin is synced again when one of its issues is
/// edited (its `updated` time moves, or its fingerprint changes), when the
/// target project's metadata changes, when the connection's rules change, or
/// when a user retries or resolves it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Quarantine {
    /// The twin's issues as the failing sync read them.
    pub issues: Vec<SeenIssue>,
    /// The project the sync wrote to and a fingerprint of its metadata
    /// (issue types, statuses…), when it read them.
    pub project: Option<SeenProject>,
}

/// One issue as a failing sync read it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SeenIssue {
    /// The issue.
    pub id: IssueId,
    /// Its `updated` time then.
    #[serde(with = "time::serde::rfc3339")]
    pub updated: OffsetDateTime,
    /// The fingerprint of its replica under the connection's rules then.
    pub fingerprint: u64,
}

impl SeenIssue {
    /// An issue read at `updated` with replica fingerprint `fingerprint`.
    pub fn new(id: IssueId, updated: OffsetDateTime, fingerprint: u64) -> Self {
        SeenIssue {
            id,
            updated,
            fingerprint,
        }
    }
}

/// A project's metadata as a failing sync read it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SeenProject {
    /// The project.
    pub key: ProjectKey,
    /// A fingerprint of its metadata.
    pub fingerprint: u64,
}

impl SeenProject {
    /// Project `key` whose metadata had `fingerprint`.
    pub fn new(key: ProjectKey, fingerprint: u64) -> Self {
        SeenProject { key, fingerprint }
    }
}

/// What a refused deletion would have deleted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DeletedItems {
    /// Comments.
    Comments,
    /// Attachments.
    Attachments,
}

impl DeletedItems {
    /// `comments` or `attachments`.
    pub fn as_str(self) -> &'static str {
        match self {
            DeletedItems::Comments => "comments",
            DeletedItems::Attachments => "attachments",
        }
    }
}

impl fmt::Display for DeletedItems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A deletion the mass-deletion guard refused on one twin.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RefusedDeletion {
    /// What it would delete.
    pub items: DeletedItems,
    /// How many it would delete.
    pub would_delete: usize,
    /// How many are synced.
    pub synced: usize,
}

impl RefusedDeletion {
    /// A refusal to delete `would_delete` of `synced` `items`.
    pub fn new(items: DeletedItems, would_delete: usize, synced: usize) -> Self {
        RefusedDeletion {
            items,
            would_delete,
            synced,
        }
    }
}

impl fmt::Display for RefusedDeletion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "would delete {} of {} {}",
            self.would_delete, self.synced, self.items
        )
    }
}

/// A workflow transition the tracker refused while a sync moved an issue
/// to a mapped status: a condition or validator said no, a field the
/// transition requires had no value, or no path of transitions leads there.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RefusedTransition {
    /// The transition's name; empty when no transition leads to `status`.
    pub transition: String,
    /// The status the sync was moving the issue to.
    pub status: String,
    /// The status the issue stays in.
    pub reached: String,
    /// Why, in the tracker's words where it gave any.
    pub message: String,
}

impl RefusedTransition {
    /// A refusal of `transition` on the way to `status`, the issue staying in `reached`.
    pub fn new(
        transition: impl Into<String>,
        status: impl Into<String>,
        reached: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        RefusedTransition {
            transition: transition.into(),
            status: status.into(),
            reached: reached.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for RefusedTransition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.transition.is_empty() {
            write!(
                f,
                "status {:?} cannot be reached from {:?}: {}",
                self.status, self.reached, self.message
            )
        } else {
            write!(
                f,
                "transition {:?} towards status {:?} was refused (the issue stays in {:?}): {}",
                self.transition, self.status, self.reached, self.message
            )
        }
    }
}

/// What a user decided about a refused deletion.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DeletionDecision {
    /// Carry the deletion out, once.
    Confirmed,
    /// Do not delete: the items stay, no longer linked (see
    /// [`Admin::dismiss_deletion`](crate::engine::Admin::dismiss_deletion)).
    Dismissed,
}

/// The open conflicts of one twin: what the last sync of each conflicted
/// field found on both sides, kept until a sync without a conflict or a user
/// resolves them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TwinConflicts {
    /// The connection.
    pub connection: ConnectionId,
    /// The twin's origin issue (its key in the store).
    pub origin: IssueId,
    /// The conflicts, in the order the planner met them.
    pub conflicts: Vec<Conflict>,
}
