//! Durable state: the [`Store`] trait, its records, and [`MemoryStore`].
//!
//! A node keeps everything it must not forget in a store: connections, twins
//! and their [`TwinState`], intents (creates in flight), the sync queue, errors,
//! watermarks, conflicts, what it knows of the other node of a remote
//! connection (peer link, sequence marks, outgoing flags), invitations, rule
//! versions and bulk progress: every record typed, none opaque. Every change happens in a transaction
//! ([`StoreTxn`]) that commits as a whole or not at all; dropping a transaction
//! without [`commit`](StoreTxn::commit) rolls it back.
//!
//! The trait is synchronous: transactions are short and never held across an
//! `.await` (the engine reads, commits, then calls the tracker). The embedded
//! stores (memory, SQLite) answer in microseconds.
//!
//! Store authors run the conformance suite in
//! `testkit::store` (feature `testkit`).

use std::fmt::Debug;

use crate::error::Result;
use crate::model::{ConnectionId, IssueId, ProjectKey};
use crate::plan::{Conflict, TwinState};
use crate::rules::RuleHistory;

mod memory;
mod records;
#[cfg(feature = "sqlite")]
mod sqlite;

pub use memory::MemoryStore;
pub use records::{
    BulkProgress, ConnectionRecord, Intent, IntentKind, InvitationRecord, NodeRecord,
    OutgoingRecord, PeerLink, QueueItem, SeqMark, StoredSecret, TwinConflicts, TwinError,
};
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub use sqlite::SqliteStore;

/// A place to keep a node's state.
///
/// # Contract
///
/// - Transactions MUST be atomic and isolated: a transaction sees its own
///   writes, other transactions see them only after `commit`, and a
///   transaction dropped without `commit` leaves no trace.
/// - After `commit` returns `Ok`, the changes MUST survive a crash of the
///   process (for durable stores) .
/// - Failures MUST be [`ErrorKind::Storage`](crate::ErrorKind::Storage) errors
///   (or `InvalidInput` for records the store cannot hold).
pub trait Store: Debug + Send + Sync + 'static {
    /// Starts a transaction. Transactions may be exclusive: do not start a
    /// second one on the same thread while one is open.
    ///
    /// # Errors
    ///
    /// `Storage` when the store cannot be used.
    fn begin(&self) -> Result<Box<dyn StoreTxn + '_>>;
}

/// One transaction on a [`Store`]. Dropping it without
/// [`commit`](StoreTxn::commit) rolls it back.
///
/// Every method fails with [`ErrorKind::Storage`](crate::ErrorKind::Storage)
/// when the store does.
pub trait StoreTxn {
    /// The connection with `id`.
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn connection(&mut self, id: &ConnectionId) -> Result<Option<ConnectionRecord>>;

    /// Every connection, by id.
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn connections(&mut self) -> Result<Vec<ConnectionRecord>>;

    /// Inserts or replaces a connection.
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn put_connection(&mut self, connection: &ConnectionRecord) -> Result<()>;

    /// Deletes a connection and everything it owns: its twins, intents,
    /// queue, errors, watermarks, last sync time, conflicts, peer link,
    /// sequence marks, gone marks, outgoing records, invitation, rule
    /// versions and bulk progress. Nothing of it is left.
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn delete_connection(&mut self, id: &ConnectionId) -> Result<()>;

    /// The twin whose remote issue is `remote`.
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn twin_by_remote(
        &mut self,
        connection: &ConnectionId,
        remote: &IssueId,
    ) -> Result<Option<TwinState>>;

    /// The twin whose local issue is `local`.
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn twin_by_local(
        &mut self,
        connection: &ConnectionId,
        local: &IssueId,
    ) -> Result<Option<TwinState>>;

    /// Inserts or replaces a twin, keyed by (connection, remote issue id); its
    /// local issue id (when set) is indexed too.
    ///
    /// # Errors
    ///
    /// `Storage`; `InvalidInput` when another twin of the connection already
    /// has the same local issue (a twin per issue per connection, I4).
    fn put_twin(&mut self, twin: &TwinState) -> Result<()>;

    /// Deletes the twin whose remote issue is `remote`.
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn delete_twin(&mut self, connection: &ConnectionId, remote: &IssueId) -> Result<()>;

    /// Every twin of a connection, ordered by remote issue id.
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn twins(&mut self, connection: &ConnectionId) -> Result<Vec<TwinState>>;

    /// How many twins a connection has.
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn twin_count(&mut self, connection: &ConnectionId) -> Result<u64>;

    /// Records an intent (a create about to be sent).
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn put_intent(&mut self, intent: &Intent) -> Result<()>;

    /// The open intents of a connection, oldest first.
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn intents(&mut self, connection: &ConnectionId) -> Result<Vec<Intent>>;

    /// Closes an intent.
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn delete_intent(&mut self, id: &str) -> Result<()>;

    /// Appends to the sync queue; returns the item's sequence number. An issue
    /// already queued keeps its place (and its first sequence number).
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn enqueue(&mut self, item: &QueueItem) -> Result<u64>;

    /// Up to `limit` queued items of a connection, in sequence order.
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn queue(&mut self, connection: &ConnectionId, limit: usize) -> Result<Vec<QueueItem>>;

    /// How many items a connection has queued.
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn queue_len(&mut self, connection: &ConnectionId) -> Result<u64>;

    /// Removes a queued item by sequence number.
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn dequeue(&mut self, seq: u64) -> Result<()>;

    /// Records (or replaces) the error of one issue.
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn put_error(&mut self, error: &TwinError) -> Result<()>;

    /// The recorded errors of a connection.
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn errors(&mut self, connection: &ConnectionId) -> Result<Vec<TwinError>>;

    /// Clears the error of one issue.
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn clear_error(&mut self, connection: &ConnectionId, issue: &IssueId) -> Result<()>;

    /// The change-detection watermark of one side (project) of a connection.
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn watermark(
        &mut self,
        connection: &ConnectionId,
        project: &ProjectKey,
    ) -> Result<Option<time::OffsetDateTime>>;

    /// Sets a watermark.
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn set_watermark(
        &mut self,
        connection: &ConnectionId,
        project: &ProjectKey,
        at: time::OffsetDateTime,
    ) -> Result<()>;

    /// When the connection last finished a sync cycle while active.
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn last_sync(&mut self, connection: &ConnectionId) -> Result<Option<time::OffsetDateTime>>;

    /// Records when the connection last finished a sync cycle.
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn set_last_sync(&mut self, connection: &ConnectionId, at: time::OffsetDateTime)
    -> Result<()>;

    /// The open conflicts of one twin (empty when it has none).
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn twin_conflicts(
        &mut self,
        connection: &ConnectionId,
        origin: &IssueId,
    ) -> Result<Vec<Conflict>>;

    /// Every twin of a connection with open conflicts, ordered by origin issue id.
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn conflicts(&mut self, connection: &ConnectionId) -> Result<Vec<TwinConflicts>>;

    /// Replaces the open conflicts of one twin; an empty list removes them.
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn put_conflicts(&mut self, record: &TwinConflicts) -> Result<()>;

    /// The other node of a remote connection, as this node knows it.
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn peer_link(&mut self, connection: &ConnectionId) -> Result<Option<PeerLink>>;

    /// Inserts or replaces the peer link of a connection.
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn put_peer_link(&mut self, link: &PeerLink) -> Result<()>;

    /// Deletes the peer link of a connection (nothing when there is none).
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn delete_peer_link(&mut self, connection: &ConnectionId) -> Result<()>;

    /// A sequence mark of a remote connection.
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn seq_mark(&mut self, connection: &ConnectionId, mark: &SeqMark) -> Result<Option<u64>>;

    /// Sets (`Some`) or removes (`None`) a sequence mark.
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn set_seq_mark(
        &mut self,
        connection: &ConnectionId,
        mark: &SeqMark,
        value: Option<u64>,
    ) -> Result<()>;

    /// Whether this node stopped syncing the peer's issue `issue` (so a
    /// replica of it is answered with "gone" until it is exalated again).
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn peer_gone(&mut self, connection: &ConnectionId, issue: &IssueId) -> Result<bool>;

    /// Marks (`true`) or unmarks the peer's issue as no longer synced here.
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn set_peer_gone(&mut self, connection: &ConnectionId, issue: &IssueId, gone: bool)
    -> Result<()>;

    /// This node's issues of a remote connection whose next replica carries
    /// flags, ordered by issue id.
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn outgoing(&mut self, connection: &ConnectionId) -> Result<Vec<OutgoingRecord>>;

    /// Inserts or replaces an outgoing record (keyed by connection and issue).
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn put_outgoing(&mut self, record: &OutgoingRecord) -> Result<()>;

    /// Deletes an outgoing record (nothing when there is none).
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn delete_outgoing(&mut self, connection: &ConnectionId, issue: &IssueId) -> Result<()>;

    /// Every invitation this node issued and still keeps, ordered by connection id.
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn invitations(&mut self) -> Result<Vec<InvitationRecord>>;

    /// Inserts or replaces the invitation of a connection.
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn put_invitation(&mut self, record: &InvitationRecord) -> Result<()>;

    /// Deletes the invitation of a connection (nothing when there is none).
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn delete_invitation(&mut self, connection: &ConnectionId) -> Result<()>;

    /// The rule versions of a custom connection.
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn rule_history(&mut self, connection: &ConnectionId) -> Result<Option<RuleHistory>>;

    /// Replaces the rule versions of a connection.
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn put_rule_history(&mut self, connection: &ConnectionId, history: &RuleHistory)
    -> Result<()>;

    /// Where a bulk exalate of `query` on the connection stopped.
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn bulk_progress(&mut self, connection: &ConnectionId, query: &str)
    -> Result<Option<BulkProgress>>;

    /// Records where a bulk exalate stopped.
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn put_bulk_progress(&mut self, progress: &BulkProgress) -> Result<()>;

    /// Forgets a finished bulk exalate (nothing when there is none).
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn delete_bulk_progress(&mut self, connection: &ConnectionId, query: &str) -> Result<()>;

    /// What the node keeps about itself (the default when nothing was saved).
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn node_record(&mut self) -> Result<NodeRecord>;

    /// Replaces what the node keeps about itself.
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn put_node_record(&mut self, record: &NodeRecord) -> Result<()>;

    /// Makes every change of this transaction durable and visible.
    ///
    /// # Errors
    ///
    /// `Storage`; the transaction is then rolled back.
    fn commit(self: Box<Self>) -> Result<()>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn _object_safe(_: &dyn Store, _: &dyn StoreTxn) {}
}
