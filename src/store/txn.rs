//! [`StoreTxn`]: one transaction on a [`Store`](super::Store), and the
//! typed reads and writes it offers.

use super::*;
use crate::model::{ConnectionId, IssueId, ProjectKey};
use crate::plan::{Conflict, TwinState};
use crate::rules::RuleHistory;

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

    /// One page of a connection's twins, as `query` asks: at most
    /// `query.limit` twins, ordered by remote issue id (the order of
    /// [`twins`](StoreTxn::twins)), each with a remote issue id greater than
    /// `query.after` when set, and, when `query.key` is set, only twins whose
    /// remote or local key matches it ([`KeyMatch::matches`]: exact or
    /// prefix, ignoring ASCII case). A `limit` of 0 returns nothing.
    ///
    /// It must cost about the page, not the connection: a store answers it
    /// from an index on (connection, remote issue id), and a key match from
    /// indexes on the keys (the SQLite store keeps both keys in indexed
    /// columns), never by reading every twin.
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn twin_page(&mut self, connection: &ConnectionId, query: &TwinQuery)
    -> Result<Vec<TwinState>>;

    /// How many twins, errors, twins with open conflicts, open intents and
    /// queued items a connection has ([`StatusCounts`]), each equal to the
    /// length of the matching listing ([`twin_count`](StoreTxn::twin_count),
    /// [`errors`](StoreTxn::errors), [`conflicts`](StoreTxn::conflicts),
    /// [`intents`](StoreTxn::intents), [`queue_len`](StoreTxn::queue_len)).
    /// It must be answered by counting (from indexes), never by loading the
    /// records: the status panel asks it on every view.
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn status_counts(&mut self, connection: &ConnectionId) -> Result<StatusCounts>;

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

    /// The open intents of a connection about one of `origins`, oldest first.
    ///
    /// A store may answer it without reading the connection's other intents
    /// (a twin's sync asks it once per run, while many twins have intents
    /// open); by default it filters [`intents`](StoreTxn::intents).
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn intents_of(
        &mut self,
        connection: &ConnectionId,
        origins: &[&IssueId],
    ) -> Result<Vec<Intent>> {
        let mut intents = self.intents(connection)?;
        intents.retain(|i| origins.contains(&&i.origin));
        Ok(intents)
    }

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

    /// Whether the issue `issue` of a connection waits in the queue (an
    /// index lookup, as [`enqueue`](StoreTxn::enqueue) does to keep an issue
    /// queued once).
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn is_queued(&mut self, connection: &ConnectionId, issue: &IssueId) -> Result<bool>;

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

    /// The lease `name` (see [`lease`](super::lease)), if it is taken.
    ///
    /// # Errors
    ///
    /// `Storage`; `Unsupported` (the default) for a store that keeps one
    /// node's state and so has no leases.
    fn lease(&mut self, name: &str) -> Result<Option<Lease>> {
        let _ = name;
        Err(super::lease::unsupported())
    }

    /// Stores a lease, replacing the one of its name.
    ///
    /// # Errors
    ///
    /// `Storage`; `Unsupported` (the default).
    fn put_lease(&mut self, lease: &Lease) -> Result<()> {
        let _ = lease;
        Err(super::lease::unsupported())
    }

    /// Forgets lease `name` (nothing when there is none).
    ///
    /// # Errors
    ///
    /// `Storage`; `Unsupported` (the default).
    fn delete_lease(&mut self, name: &str) -> Result<()> {
        let _ = name;
        Err(super::lease::unsupported())
    }

    /// A lease epoch never given out before by this store, greater than
    /// every earlier one (gaps allowed; one a rolled-back transaction drew
    /// is never given again).
    ///
    /// # Errors
    ///
    /// `Storage`; `Unsupported` (the default).
    fn next_lease_epoch(&mut self) -> Result<u64> {
        Err(super::lease::unsupported())
    }

    /// Until when every call to the tracker `name` waits (a rate limit's
    /// `Retry-After` one worker learned), if a hold was recorded.
    ///
    /// # Errors
    ///
    /// `Storage`; `Unsupported` (the default).
    fn hold(&mut self, name: &str) -> Result<Option<time::OffsetDateTime>> {
        let _ = name;
        Err(super::lease::unsupported())
    }

    /// Records a hold of `name` until `until`, keeping a later one recorded
    /// before.
    ///
    /// # Errors
    ///
    /// `Storage`; `Unsupported` (the default).
    fn put_hold(&mut self, name: &str, until: time::OffsetDateTime) -> Result<()> {
        let _ = (name, until);
        Err(super::lease::unsupported())
    }

    /// Makes every change of this transaction durable and visible.
    ///
    /// # Errors
    ///
    /// `Storage`; the transaction is then rolled back.
    fn commit(self: Box<Self>) -> Result<()>;
}
