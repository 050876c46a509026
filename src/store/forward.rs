//! [`forward_store_txn!`]: the one list of [`StoreTxn`](super::StoreTxn)
//! methods that transaction wrappers forward.

/// Implements every [`StoreTxn`] method but `commit` by forwarding it to the
/// field `$inner`, for wrappers that change only how a transaction commits
/// (adding a method to the trait then cannot be forgotten in a wrapper).
macro_rules! forward_store_txn {
    ($inner:ident) => {
        $crate::store::forward_twin_writes!($inner);
        $crate::store::forward_store_txn_but_twin_writes!($inner);
    };
}
pub(crate) use forward_store_txn;

/// The writes of a twin's own state ([`StoreTxn::put_twin`](super::StoreTxn::put_twin),
/// `delete_twin`, `put_intent`, `put_conflicts`) forwarded to `$inner`.
macro_rules! forward_twin_writes {
    ($inner:ident) => {
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
        fn put_intent(&mut self, intent: &$crate::store::Intent) -> $crate::error::Result<()> {
            self.$inner.put_intent(intent)
        }
        fn put_conflicts(
            &mut self,
            record: &$crate::store::TwinConflicts,
        ) -> $crate::error::Result<()> {
            self.$inner.put_conflicts(record)
        }
    };
}
pub(crate) use forward_twin_writes;

/// Every method but `commit` and the twin writes of [`forward_twin_writes!`],
/// forwarded to `$inner`: for a wrapper that checks the twin writes.
macro_rules! forward_store_txn_but_twin_writes {
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
        fn twin_page(
            &mut self,
            connection: &$crate::model::ConnectionId,
            query: &$crate::store::TwinQuery,
        ) -> $crate::error::Result<Vec<$crate::plan::TwinState>> {
            self.$inner.twin_page(connection, query)
        }
        fn status_counts(
            &mut self,
            connection: &$crate::model::ConnectionId,
        ) -> $crate::error::Result<$crate::store::StatusCounts> {
            self.$inner.status_counts(connection)
        }
        fn is_queued(
            &mut self,
            connection: &$crate::model::ConnectionId,
            issue: &$crate::model::IssueId,
        ) -> $crate::error::Result<bool> {
            self.$inner.is_queued(connection, issue)
        }
        fn intents(
            &mut self,
            connection: &$crate::model::ConnectionId,
        ) -> $crate::error::Result<Vec<$crate::store::Intent>> {
            self.$inner.intents(connection)
        }
        fn intents_of(
            &mut self,
            connection: &$crate::model::ConnectionId,
            origins: &[&$crate::model::IssueId],
        ) -> $crate::error::Result<Vec<$crate::store::Intent>> {
            self.$inner.intents_of(connection, origins)
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
        fn lease(&mut self, name: &str) -> $crate::error::Result<Option<$crate::store::Lease>> {
            self.$inner.lease(name)
        }
        fn put_lease(&mut self, lease: &$crate::store::Lease) -> $crate::error::Result<()> {
            self.$inner.put_lease(lease)
        }
        fn delete_lease(&mut self, name: &str) -> $crate::error::Result<()> {
            self.$inner.delete_lease(name)
        }
        fn next_lease_epoch(&mut self) -> $crate::error::Result<u64> {
            self.$inner.next_lease_epoch()
        }
        fn hold(&mut self, name: &str) -> $crate::error::Result<Option<time::OffsetDateTime>> {
            self.$inner.hold(name)
        }
        fn put_hold(
            &mut self,
            name: &str,
            until: time::OffsetDateTime,
        ) -> $crate::error::Result<()> {
            self.$inner.put_hold(name, until)
        }
    };
}
pub(crate) use forward_store_txn_but_twin_writes;
