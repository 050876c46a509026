//! The records a [`Store`](super::Store) keeps besides twin state and what
//! happened to twins (their failures and refusals, in `twin_records`).

use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::connection::{InvitationState, ProjectLevelPolicy, Role};
use crate::model::{
    AttachmentId, CommentId, ConnectionId, InstanceUrl, IssueId, IssueKey, NodeUrl, ProjectKey,
};

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
