//! Durable state: the [`Store`] trait, its records, and [`MemoryStore`].
//!
//! A node keeps everything it must not forget in a store: connections, twins
//! and their [`TwinState`], intents (creates in flight), the sync queue, errors,
//! watermarks, conflicts, what it knows of the other node of a remote
//! connection (peer link, sequence marks, outgoing flags, the outbox of
//! messages waiting for it, its outage), invitations, rule
//! versions and bulk progress: every record typed, none opaque. Every change happens in a transaction
//! ([`StoreTxn`]) that commits as a whole or not at all; dropping a transaction
//! without [`commit`](StoreTxn::commit) rolls it back.
//!
//! # Synchronous, short transactions
//!
//! The trait is synchronous, and that is a design decision, not a
//! convenience: a transaction is a few reads and writes with no I/O of the
//! engine between them. The engine never holds one across an `.await`
//! (transactions are not `Send` and every future of a node is, so the
//! compiler refuses code that would), so no transaction ever waits for a
//! tracker, and a node never starts a transaction inside another (it is
//! refused with an error). The embedded stores (memory, SQLite) answer in
//! microseconds, so the engine runs their transactions where it is.
//!
//! A store that answers over the network (a PostgreSQL store shared by
//! several nodes) implements the same trait with a blocking client from a
//! connection pool; its transactions must not block an async executor's
//! thread, so a node built on such a store runs each of its transactions on
//! a thread meant for blocking work. Because transactions are short and
//! never span an `.await`, a transaction is one unit that can move to such a
//! thread whole.
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
    BulkProgress, ConnectionRecord, DeletedItems, DeletionDecision, EstablishTokenRecord, Intent,
    IntentKind, InvitationRecord, NodeRecord, OutboxMessage, OutgoingRecord, PeerLink, PeerOutage,
    Quarantine, QueueItem, RefusedDeletion, SeenIssue, SeenProject, SeqMark, StoredSecret,
    TwinConflicts, TwinError,
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
    /// sequence marks, gone and origin marks, outgoing records, outbox, peer
    /// outage, invitation, rule versions and bulk progress. Nothing of it is
    /// left.
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
    fn set_last_sync(&mut self, connection: &ConnectionId, at: time::OffsetDateTime) -> Result<()>;

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
    fn set_peer_gone(
        &mut self,
        connection: &ConnectionId,
        issue: &IssueId,
        gone: bool,
    ) -> Result<()>;

    /// Whether this node's issue `issue` is the origin of its twin on a
    /// remote connection (exalated or connected from this side, so the
    /// peer's issue is the copy).
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn origin_here(&mut self, connection: &ConnectionId, issue: &IssueId) -> Result<bool>;

    /// Marks (`true`) or unmarks this node's issue as the origin of its twin.
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn set_origin_here(
        &mut self,
        connection: &ConnectionId,
        issue: &IssueId,
        here: bool,
    ) -> Result<()>;

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

    /// Appends a message to the connection's outbox and returns its number,
    /// greater than every number the store handed out before (for any
    /// connection, even after the messages were removed). A message with an
    /// `issue` first removes the waiting message of the same connection and
    /// issue: the new one takes the last place. `seq` is ignored.
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn post_outbox(&mut self, message: &OutboxMessage) -> Result<u64>;

    /// Up to `limit` waiting messages of a connection, in number order.
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn outbox(&mut self, connection: &ConnectionId, limit: usize) -> Result<Vec<OutboxMessage>>;

    /// How many messages of a connection wait.
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn outbox_len(&mut self, connection: &ConnectionId) -> Result<u64>;

    /// Removes the messages of a connection numbered `through` or lower (the
    /// other node took them); the others stay.
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn remove_outbox(&mut self, connection: &ConnectionId, through: u64) -> Result<()>;

    /// The outage of a connection's other node, if it is unreachable.
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn peer_outage(&mut self, connection: &ConnectionId) -> Result<Option<PeerOutage>>;

    /// Inserts or replaces the outage of a connection's other node.
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn put_peer_outage(&mut self, outage: &PeerOutage) -> Result<()>;

    /// Forgets the outage of a connection's other node (nothing when there is none).
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn clear_peer_outage(&mut self, connection: &ConnectionId) -> Result<()>;

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
    fn put_rule_history(&mut self, connection: &ConnectionId, history: &RuleHistory) -> Result<()>;

    /// Where a bulk exalate of `query` on the connection stopped.
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn bulk_progress(
        &mut self,
        connection: &ConnectionId,
        query: &str,
    ) -> Result<Option<BulkProgress>>;

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

/// Implements every [`StoreTxn`] method but `commit` by forwarding it to the
/// field `$inner`, for wrappers that change only how a transaction commits
/// (adding a method to the trait then cannot be forgotten in a wrapper).
macro_rules! forward_store_txn {
    ($inner:ident) => {
        fn connection(
            &mut self,
            id: &$crate::model::ConnectionId,
        ) -> $crate::error::Result<Option<$crate::store::ConnectionRecord>> {
            self.$inner.connection(id)
        }
        fn connections(&mut self) -> $crate::error::Result<Vec<$crate::store::ConnectionRecord>> {
            self.$inner.connections()
        }
        fn put_connection(
            &mut self,
            connection: &$crate::store::ConnectionRecord,
        ) -> $crate::error::Result<()> {
            self.$inner.put_connection(connection)
        }
        fn delete_connection(
            &mut self,
            id: &$crate::model::ConnectionId,
        ) -> $crate::error::Result<()> {
            self.$inner.delete_connection(id)
        }
        fn twin_by_remote(
            &mut self,
            connection: &$crate::model::ConnectionId,
            remote: &$crate::model::IssueId,
        ) -> $crate::error::Result<Option<$crate::plan::TwinState>> {
            self.$inner.twin_by_remote(connection, remote)
        }
        fn twin_by_local(
            &mut self,
            connection: &$crate::model::ConnectionId,
            local: &$crate::model::IssueId,
        ) -> $crate::error::Result<Option<$crate::plan::TwinState>> {
            self.$inner.twin_by_local(connection, local)
        }
        fn put_twin(&mut self, twin: &$crate::plan::TwinState) -> $crate::error::Result<()> {
            self.$inner.put_twin(twin)
        }
        fn delete_twin(
            &mut self,
            connection: &$crate::model::ConnectionId,
            remote: &$crate::model::IssueId,
        ) -> $crate::error::Result<()> {
            self.$inner.delete_twin(connection, remote)
        }
        fn twins(
            &mut self,
            connection: &$crate::model::ConnectionId,
        ) -> $crate::error::Result<Vec<$crate::plan::TwinState>> {
            self.$inner.twins(connection)
        }
        fn twin_count(
            &mut self,
            connection: &$crate::model::ConnectionId,
        ) -> $crate::error::Result<u64> {
            self.$inner.twin_count(connection)
        }
        fn put_intent(&mut self, intent: &$crate::store::Intent) -> $crate::error::Result<()> {
            self.$inner.put_intent(intent)
        }
        fn intents(
            &mut self,
            connection: &$crate::model::ConnectionId,
        ) -> $crate::error::Result<Vec<$crate::store::Intent>> {
            self.$inner.intents(connection)
        }
        fn delete_intent(&mut self, id: &str) -> $crate::error::Result<()> {
            self.$inner.delete_intent(id)
        }
        fn enqueue(&mut self, item: &$crate::store::QueueItem) -> $crate::error::Result<u64> {
            self.$inner.enqueue(item)
        }
        fn queue(
            &mut self,
            connection: &$crate::model::ConnectionId,
            limit: usize,
        ) -> $crate::error::Result<Vec<$crate::store::QueueItem>> {
            self.$inner.queue(connection, limit)
        }
        fn queue_len(
            &mut self,
            connection: &$crate::model::ConnectionId,
        ) -> $crate::error::Result<u64> {
            self.$inner.queue_len(connection)
        }
        fn dequeue(&mut self, seq: u64) -> $crate::error::Result<()> {
            self.$inner.dequeue(seq)
        }
        fn put_error(&mut self, error: &$crate::store::TwinError) -> $crate::error::Result<()> {
            self.$inner.put_error(error)
        }
        fn errors(
            &mut self,
            connection: &$crate::model::ConnectionId,
        ) -> $crate::error::Result<Vec<$crate::store::TwinError>> {
            self.$inner.errors(connection)
        }
        fn clear_error(
            &mut self,
            connection: &$crate::model::ConnectionId,
            issue: &$crate::model::IssueId,
        ) -> $crate::error::Result<()> {
            self.$inner.clear_error(connection, issue)
        }
        fn watermark(
            &mut self,
            connection: &$crate::model::ConnectionId,
            project: &$crate::model::ProjectKey,
        ) -> $crate::error::Result<Option<::time::OffsetDateTime>> {
            self.$inner.watermark(connection, project)
        }
        fn set_watermark(
            &mut self,
            connection: &$crate::model::ConnectionId,
            project: &$crate::model::ProjectKey,
            at: ::time::OffsetDateTime,
        ) -> $crate::error::Result<()> {
            self.$inner.set_watermark(connection, project, at)
        }
        fn last_sync(
            &mut self,
            connection: &$crate::model::ConnectionId,
        ) -> $crate::error::Result<Option<::time::OffsetDateTime>> {
            self.$inner.last_sync(connection)
        }
        fn set_last_sync(
            &mut self,
            connection: &$crate::model::ConnectionId,
            at: ::time::OffsetDateTime,
        ) -> $crate::error::Result<()> {
            self.$inner.set_last_sync(connection, at)
        }
        fn twin_conflicts(
            &mut self,
            connection: &$crate::model::ConnectionId,
            origin: &$crate::model::IssueId,
        ) -> $crate::error::Result<Vec<$crate::plan::Conflict>> {
            self.$inner.twin_conflicts(connection, origin)
        }
        fn conflicts(
            &mut self,
            connection: &$crate::model::ConnectionId,
        ) -> $crate::error::Result<Vec<$crate::store::TwinConflicts>> {
            self.$inner.conflicts(connection)
        }
        fn put_conflicts(
            &mut self,
            record: &$crate::store::TwinConflicts,
        ) -> $crate::error::Result<()> {
            self.$inner.put_conflicts(record)
        }
        fn peer_link(
            &mut self,
            connection: &$crate::model::ConnectionId,
        ) -> $crate::error::Result<Option<$crate::store::PeerLink>> {
            self.$inner.peer_link(connection)
        }
        fn put_peer_link(&mut self, link: &$crate::store::PeerLink) -> $crate::error::Result<()> {
            self.$inner.put_peer_link(link)
        }
        fn delete_peer_link(
            &mut self,
            connection: &$crate::model::ConnectionId,
        ) -> $crate::error::Result<()> {
            self.$inner.delete_peer_link(connection)
        }
        fn seq_mark(
            &mut self,
            connection: &$crate::model::ConnectionId,
            mark: &$crate::store::SeqMark,
        ) -> $crate::error::Result<Option<u64>> {
            self.$inner.seq_mark(connection, mark)
        }
        fn set_seq_mark(
            &mut self,
            connection: &$crate::model::ConnectionId,
            mark: &$crate::store::SeqMark,
            value: Option<u64>,
        ) -> $crate::error::Result<()> {
            self.$inner.set_seq_mark(connection, mark, value)
        }
        fn peer_gone(
            &mut self,
            connection: &$crate::model::ConnectionId,
            issue: &$crate::model::IssueId,
        ) -> $crate::error::Result<bool> {
            self.$inner.peer_gone(connection, issue)
        }
        fn set_peer_gone(
            &mut self,
            connection: &$crate::model::ConnectionId,
            issue: &$crate::model::IssueId,
            gone: bool,
        ) -> $crate::error::Result<()> {
            self.$inner.set_peer_gone(connection, issue, gone)
        }
        fn origin_here(
            &mut self,
            connection: &$crate::model::ConnectionId,
            issue: &$crate::model::IssueId,
        ) -> $crate::error::Result<bool> {
            self.$inner.origin_here(connection, issue)
        }
        fn set_origin_here(
            &mut self,
            connection: &$crate::model::ConnectionId,
            issue: &$crate::model::IssueId,
            here: bool,
        ) -> $crate::error::Result<()> {
            self.$inner.set_origin_here(connection, issue, here)
        }
        fn outgoing(
            &mut self,
            connection: &$crate::model::ConnectionId,
        ) -> $crate::error::Result<Vec<$crate::store::OutgoingRecord>> {
            self.$inner.outgoing(connection)
        }
        fn put_outgoing(
            &mut self,
            record: &$crate::store::OutgoingRecord,
        ) -> $crate::error::Result<()> {
            self.$inner.put_outgoing(record)
        }
        fn delete_outgoing(
            &mut self,
            connection: &$crate::model::ConnectionId,
            issue: &$crate::model::IssueId,
        ) -> $crate::error::Result<()> {
            self.$inner.delete_outgoing(connection, issue)
        }
        fn post_outbox(
            &mut self,
            message: &$crate::store::OutboxMessage,
        ) -> $crate::error::Result<u64> {
            self.$inner.post_outbox(message)
        }
        fn outbox(
            &mut self,
            connection: &$crate::model::ConnectionId,
            limit: usize,
        ) -> $crate::error::Result<Vec<$crate::store::OutboxMessage>> {
            self.$inner.outbox(connection, limit)
        }
        fn outbox_len(
            &mut self,
            connection: &$crate::model::ConnectionId,
        ) -> $crate::error::Result<u64> {
            self.$inner.outbox_len(connection)
        }
        fn remove_outbox(
            &mut self,
            connection: &$crate::model::ConnectionId,
            through: u64,
        ) -> $crate::error::Result<()> {
            self.$inner.remove_outbox(connection, through)
        }
        fn peer_outage(
            &mut self,
            connection: &$crate::model::ConnectionId,
        ) -> $crate::error::Result<Option<$crate::store::PeerOutage>> {
            self.$inner.peer_outage(connection)
        }
        fn put_peer_outage(
            &mut self,
            outage: &$crate::store::PeerOutage,
        ) -> $crate::error::Result<()> {
            self.$inner.put_peer_outage(outage)
        }
        fn clear_peer_outage(
            &mut self,
            connection: &$crate::model::ConnectionId,
        ) -> $crate::error::Result<()> {
            self.$inner.clear_peer_outage(connection)
        }
        fn invitations(&mut self) -> $crate::error::Result<Vec<$crate::store::InvitationRecord>> {
            self.$inner.invitations()
        }
        fn put_invitation(
            &mut self,
            record: &$crate::store::InvitationRecord,
        ) -> $crate::error::Result<()> {
            self.$inner.put_invitation(record)
        }
        fn delete_invitation(
            &mut self,
            connection: &$crate::model::ConnectionId,
        ) -> $crate::error::Result<()> {
            self.$inner.delete_invitation(connection)
        }
        fn rule_history(
            &mut self,
            connection: &$crate::model::ConnectionId,
        ) -> $crate::error::Result<Option<$crate::rules::RuleHistory>> {
            self.$inner.rule_history(connection)
        }
        fn put_rule_history(
            &mut self,
            connection: &$crate::model::ConnectionId,
            history: &$crate::rules::RuleHistory,
        ) -> $crate::error::Result<()> {
            self.$inner.put_rule_history(connection, history)
        }
        fn bulk_progress(
            &mut self,
            connection: &$crate::model::ConnectionId,
            query: &str,
        ) -> $crate::error::Result<Option<$crate::store::BulkProgress>> {
            self.$inner.bulk_progress(connection, query)
        }
        fn put_bulk_progress(
            &mut self,
            progress: &$crate::store::BulkProgress,
        ) -> $crate::error::Result<()> {
            self.$inner.put_bulk_progress(progress)
        }
        fn delete_bulk_progress(
            &mut self,
            connection: &$crate::model::ConnectionId,
            query: &str,
        ) -> $crate::error::Result<()> {
            self.$inner.delete_bulk_progress(connection, query)
        }
        fn node_record(&mut self) -> $crate::error::Result<$crate::store::NodeRecord> {
            self.$inner.node_record()
        }
        fn put_node_record(
            &mut self,
            record: &$crate::store::NodeRecord,
        ) -> $crate::error::Result<()> {
            self.$inner.put_node_record(record)
        }
    };
}
pub(crate) use forward_store_txn;

#[cfg(test)]
mod tests {
    use super::*;

    fn _object_safe(_: &dyn Store, _: &dyn StoreTxn) {}
}
