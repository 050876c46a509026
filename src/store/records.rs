//! The records a [`Store`](super::Store) keeps besides twin state.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::connection::{InvitationState, ProjectLevelPolicy, Role};
use crate::error::ErrorKind;
use crate::model::{
    AttachmentId, CommentId, ConnectionId, InstanceUrl, IssueId, IssueKey, NodeUrl, ProjectKey,
};
use crate::plan::Conflict;

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

/// A connection's secret as a store keeps it: opaque bytes.
///
/// The node seals every secret with its
/// [`NodeKey`](crate::connection::NodeKey) before it reaches the store, so a
/// store only ever sees ciphertext (files of older twinsync versions hold
/// the invitation code's text, which the node seals when it starts with a
/// key). A store MUST keep the bytes exactly, whatever their values and
/// length, and never show them.
///
/// `Debug` never shows them; they are wiped from memory when dropped. They
/// serialize as base64url text.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredSecret(Zeroizing<Vec<u8>>);

impl StoredSecret {
    /// Wraps a secret's bytes, as the store read them.
    pub fn from_bytes(bytes: impl Into<Vec<u8>>) -> Self {
        StoredSecret(Zeroizing::new(bytes.into()))
    }

    /// The bytes, for the store to write and the node to open. Never log them.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for StoredSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StoredSecret(***)")
    }
}

impl Serialize for StoredSecret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use base64::Engine as _;
        let text =
            Zeroizing::new(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&*self.0));
        s.serialize_str(&text)
    }
}

impl<'de> Deserialize<'de> for StoredSecret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        use base64::Engine as _;
        let text = Zeroizing::new(String::deserialize(d)?);
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text.as_bytes())
            .map(StoredSecret::from_bytes)
            .map_err(|_| serde::de::Error::custom("a stored secret is base64url text"))
    }
}

/// What a node keeps about the other node of a remote connection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerLink {
    /// The connection.
    pub connection: ConnectionId,
    /// Whether this node initiated the connection or accepted it.
    pub role: Role,
    /// The other node's instance (its tracker's URL), once known.
    pub peer: Option<InstanceUrl>,
    /// Where the other node is reached, when that is not its instance URL.
    pub peer_node: Option<NodeUrl>,
    /// Whether this node can call the other.
    pub peer_reachable: bool,
    /// The protocol version both speak.
    pub protocol: u16,
    /// The connection's secret (its invitation code), sealed.
    pub code: StoredSecret,
}

/// A sequence number a node keeps for the messages of a remote connection.
///
/// Sequence numbers only grow; a store keeps the value it is given.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "mark", content = "issue", rename_all = "snake_case")]
#[non_exhaustive]
pub enum SeqMark {
    /// The last number this node gave one of its messages on the connection.
    Sent,
    /// The last number applied from the peer's issue (or the floor its
    /// acknowledgement set).
    Applied(IssueId),
    /// The last acknowledgement taken for this node's issue.
    Acked(IssueId),
}

/// One of this node's issues of a remote connection whose next replica
/// carries flags, kept until the peer acknowledges it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutgoingRecord {
    /// The connection.
    pub connection: ConnectionId,
    /// This node's issue.
    pub issue: IssueId,
    /// Its key.
    pub key: IssueKey,
    /// Exalated here and not acknowledged yet: the peer creates the twin.
    pub new: bool,
    /// Just connected: the peer links comments both sides hold.
    pub match_existing: bool,
}

/// An invitation this node issued, with its state (waiting, used, revoked).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationRecord {
    /// The pending connection the invitation is for.
    pub connection: ConnectionId,
    /// The invitation code (it carries the secret), sealed.
    pub code: StoredSecret,
    /// Its state.
    pub state: InvitationState,
}

/// Where a bulk exalate stopped: the next page of its query, so that running
/// it again carries on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkProgress {
    /// The connection.
    pub connection: ConnectionId,
    /// The query, as given.
    pub query: String,
    /// The tracker's token for the next page.
    pub next_page: String,
}

/// What a node keeps about itself.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct NodeRecord {
    /// How many times a node started on this store (operation ids include
    /// it, so they never repeat across restarts).
    pub starts: u64,
    /// Who may set up connections besides the tracker's administrators.
    pub policy: Option<ProjectLevelPolicy>,
    /// The establish tokens this node's admins issued and that have not
    /// expired yet (used ones included, until they expire).
    pub establish_tokens: Vec<EstablishTokenRecord>,
}

/// An establish token a destination admin issued on this node, so that an
/// admin of another node can set up a connection here directly. Only the
/// token's digest is kept, never the token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EstablishTokenRecord {
    /// SHA-256 of the token, as hex: what the node compares a presented
    /// token's digest with.
    pub digest: String,
    /// The project on this node the token lets a connection be set up with.
    pub project: ProjectKey,
    /// The admin who issued it (their permission is checked again when the
    /// token is used).
    pub issued_by: crate::model::UserId,
    /// When it was issued.
    #[serde(with = "time::serde::rfc3339")]
    pub issued: OffsetDateTime,
    /// When it stops working.
    #[serde(with = "time::serde::rfc3339")]
    pub expires: OffsetDateTime,
    /// The connection it set up, once used.
    #[serde(default)]
    pub used_for: Option<ConnectionId>,
}

/// A message waiting for the other node of a remote connection, kept until
/// that node took it: it answered it, or it pulled it and said so in its
/// next pull.
///
/// Messages of a connection are numbered in the order they were posted; a
/// replica (a message with an `issue`) replaces the one of the same issue
/// still waiting, so only the latest replica of an issue waits, behind
/// everything posted before it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxMessage {
    /// Its place in the connection's outbox: assigned by the store when it is
    /// posted (0 when posting), greater than every number handed out before.
    pub seq: u64,
    /// The connection.
    pub connection: ConnectionId,
    /// The issue whose replica this is; `None` for a notice (an unexalate,
    /// a request to send an issue again), which replaces nothing.
    pub issue: Option<IssueId>,
    /// The message as the node-to-node protocol writes it (JSON); opaque to
    /// stores.
    pub body: String,
    /// When it was posted.
    #[serde(with = "time::serde::rfc3339")]
    pub posted: OffsetDateTime,
}

/// The other node of a remote connection could not be reached: since when,
/// how many times in a row, and when this node tries again (it backs off
/// exponentially). Kept until the other node answers again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PeerOutage {
    /// The connection.
    pub connection: ConnectionId,
    /// The first failed attempt of this outage.
    #[serde(with = "time::serde::rfc3339")]
    pub since: OffsetDateTime,
    /// Failed attempts in a row.
    pub attempts: u32,
    /// Cycles leave the other node alone until then.
    #[serde(with = "time::serde::rfc3339")]
    pub next_try: OffsetDateTime,
    /// The last failure, as the transport said it (never a secret).
    pub cause: String,
}

impl PeerOutage {
    /// An outage of `connection` that began at `since`, after one failed
    /// attempt, trying again at `next_try`.
    pub fn new(
        connection: ConnectionId,
        since: OffsetDateTime,
        next_try: OffsetDateTime,
        cause: impl Into<String>,
    ) -> Self {
        PeerOutage {
            connection,
            since,
            attempts: 1,
            next_try,
            cause: cause.into(),
        }
    }
}
