//! [`StoreTxn`]'s methods on a [`MemoryTxn`]'s maps; the longer ones are in
//! `twins.rs`, `queue.rs`, `peer.rs` and `records.rs`. Every write records
//! its undo (`undo.rs`).

use time::OffsetDateTime;

use crate::error::Result;
use crate::model::{ConnectionId, IssueId, ProjectKey};
use crate::plan::{Conflict, TwinState};
use crate::rules::RuleHistory;
use crate::store::{
    BulkProgress, ConnectionRecord, Intent, InvitationRecord, Lease, NodeRecord, OutboxMessage,
    OutgoingRecord, PeerLink, PeerOutage, QueueItem, SeqMark, StatusCounts, StoreTxn,
    TwinConflicts, TwinError, TwinQuery,
};

use super::MemoryTxn;
use super::undo::{put, remove, set};

impl StoreTxn for MemoryTxn<'_> {
    fn connection(&mut self, id: &ConnectionId) -> Result<Option<ConnectionRecord>> {
        Ok(self.data.connections.get(id).cloned())
    }

    fn connections(&mut self) -> Result<Vec<ConnectionRecord>> {
        Ok(self.data.connections.values().cloned().collect())
    }

    fn put_connection(&mut self, connection: &ConnectionRecord) -> Result<()> {
        self.write_connection(connection)
    }

    fn delete_connection(&mut self, id: &ConnectionId) -> Result<()> {
        self.remove_connection(id)
    }

    fn twin_by_remote(
        &mut self,
        connection: &ConnectionId,
        remote: &IssueId,
    ) -> Result<Option<TwinState>> {
        self.twin_of_remote(connection, remote)
    }

    fn twin_by_local(
        &mut self,
        connection: &ConnectionId,
        local: &IssueId,
    ) -> Result<Option<TwinState>> {
        self.twin_of_local(connection, local)
    }

    fn put_twin(&mut self, twin: &TwinState) -> Result<()> {
        self.write_twin(twin)
    }

    fn delete_twin(&mut self, connection: &ConnectionId, remote: &IssueId) -> Result<()> {
        self.remove_twin(&(connection.clone(), remote.clone()));
        Ok(())
    }

    fn twins(&mut self, connection: &ConnectionId) -> Result<Vec<TwinState>> {
        Ok(self
            .data
            .twins
            .range((connection.clone(), IssueId::lowest())..)
            .take_while(|((c, _), _)| c == connection)
            .map(|(_, t)| t.clone())
            .collect())
    }

    fn twin_count(&mut self, connection: &ConnectionId) -> Result<u64> {
        Ok(self
            .data
            .twins
            .range((connection.clone(), IssueId::lowest())..)
            .take_while(|((c, _), _)| c == connection)
            .count() as u64)
    }

    fn twin_page(
        &mut self,
        connection: &ConnectionId,
        query: &TwinQuery,
    ) -> Result<Vec<TwinState>> {
        self.page_of_twins(connection, query)
    }

    fn status_counts(&mut self, connection: &ConnectionId) -> Result<StatusCounts> {
        self.counts(connection)
    }

    fn put_intent(&mut self, intent: &Intent) -> Result<()> {
        self.write_intent(intent)
    }

    fn intents(&mut self, connection: &ConnectionId) -> Result<Vec<Intent>> {
        self.open_intents(connection)
    }

    fn intents_of(
        &mut self,
        connection: &ConnectionId,
        origins: &[&IssueId],
    ) -> Result<Vec<Intent>> {
        self.intents_of_origins(connection, origins)
    }

    fn delete_intent(&mut self, id: &str) -> Result<()> {
        let data = &mut *self.data;
        remove(&mut self.undo, &mut data.intents, &id.to_owned(), |d| {
            &mut d.intents
        });
        Ok(())
    }

    fn enqueue(&mut self, item: &QueueItem) -> Result<u64> {
        self.append_to_queue(item)
    }

    fn queue(&mut self, connection: &ConnectionId, limit: usize) -> Result<Vec<QueueItem>> {
        self.queued(connection, limit)
    }

    fn queue_len(&mut self, connection: &ConnectionId) -> Result<u64> {
        Ok(self
            .data
            .queue
            .values()
            .filter(|q| &q.connection == connection)
            .count() as u64)
    }

    fn is_queued(&mut self, connection: &ConnectionId, issue: &IssueId) -> Result<bool> {
        Ok(self
            .data
            .queued
            .contains_key(&(connection.clone(), issue.clone())))
    }

    fn dequeue(&mut self, seq: u64) -> Result<()> {
        self.remove_queued(seq);
        Ok(())
    }

    fn put_error(&mut self, error: &TwinError) -> Result<()> {
        let data = &mut *self.data;
        let key = (error.connection.clone(), error.issue.clone());
        put(&mut self.undo, &mut data.errors, key, error.clone(), |d| {
            &mut d.errors
        });
        Ok(())
    }

    fn errors(&mut self, connection: &ConnectionId) -> Result<Vec<TwinError>> {
        Ok(self
            .data
            .errors
            .values()
            .filter(|e| &e.connection == connection)
            .cloned()
            .collect())
    }

    fn clear_error(&mut self, connection: &ConnectionId, issue: &IssueId) -> Result<()> {
        self.remove_error(connection, issue)
    }

    fn watermark(
        &mut self,
        connection: &ConnectionId,
        project: &ProjectKey,
    ) -> Result<Option<OffsetDateTime>> {
        self.watermark_of(connection, project)
    }

    fn set_watermark(
        &mut self,
        connection: &ConnectionId,
        project: &ProjectKey,
        at: OffsetDateTime,
    ) -> Result<()> {
        self.write_watermark(connection, project, at)
    }

    fn last_sync(&mut self, connection: &ConnectionId) -> Result<Option<OffsetDateTime>> {
        Ok(self.data.last_sync.get(connection).copied())
    }

    fn set_last_sync(&mut self, connection: &ConnectionId, at: OffsetDateTime) -> Result<()> {
        self.write_last_sync(connection, at)
    }

    fn twin_conflicts(
        &mut self,
        connection: &ConnectionId,
        origin: &IssueId,
    ) -> Result<Vec<Conflict>> {
        self.conflicts_of(connection, origin)
    }

    fn conflicts(&mut self, connection: &ConnectionId) -> Result<Vec<TwinConflicts>> {
        self.all_conflicts(connection)
    }

    fn put_conflicts(&mut self, record: &TwinConflicts) -> Result<()> {
        let data = &mut *self.data;
        let key = (record.connection.clone(), record.origin.clone());
        let value = (!record.conflicts.is_empty()).then(|| record.conflicts.clone());
        set(&mut self.undo, &mut data.conflicts, key, value, |d| {
            &mut d.conflicts
        });
        Ok(())
    }

    fn peer_link(&mut self, connection: &ConnectionId) -> Result<Option<PeerLink>> {
        Ok(self.data.links.get(connection).cloned())
    }

    fn put_peer_link(&mut self, link: &PeerLink) -> Result<()> {
        let data = &mut *self.data;
        let key = link.connection.clone();
        put(&mut self.undo, &mut data.links, key, link.clone(), |d| {
            &mut d.links
        });
        Ok(())
    }

    fn delete_peer_link(&mut self, connection: &ConnectionId) -> Result<()> {
        let data = &mut *self.data;
        remove(&mut self.undo, &mut data.links, connection, |d| {
            &mut d.links
        });
        Ok(())
    }

    fn seq_mark(&mut self, connection: &ConnectionId, mark: &SeqMark) -> Result<Option<u64>> {
        Ok(self
            .data
            .seq_marks
            .get(&(connection.clone(), mark.clone()))
            .copied())
    }

    fn set_seq_mark(
        &mut self,
        connection: &ConnectionId,
        mark: &SeqMark,
        value: Option<u64>,
    ) -> Result<()> {
        self.write_seq_mark(connection, mark, value)
    }

    fn peer_gone(&mut self, connection: &ConnectionId, issue: &IssueId) -> Result<bool> {
        Ok(self
            .data
            .gone
            .contains_key(&(connection.clone(), issue.clone())))
    }

    fn set_peer_gone(
        &mut self,
        connection: &ConnectionId,
        issue: &IssueId,
        gone: bool,
    ) -> Result<()> {
        self.write_peer_gone(connection, issue, gone)
    }

    fn origin_here(&mut self, connection: &ConnectionId, issue: &IssueId) -> Result<bool> {
        Ok(self
            .data
            .origins
            .contains_key(&(connection.clone(), issue.clone())))
    }

    fn set_origin_here(
        &mut self,
        connection: &ConnectionId,
        issue: &IssueId,
        here: bool,
    ) -> Result<()> {
        self.write_origin_here(connection, issue, here)
    }

    fn outgoing(&mut self, connection: &ConnectionId) -> Result<Vec<OutgoingRecord>> {
        Ok(self
            .data
            .outgoing
            .range((connection.clone(), IssueId::lowest())..)
            .take_while(|((c, _), _)| c == connection)
            .map(|(_, r)| r.clone())
            .collect())
    }

    fn put_outgoing(&mut self, record: &OutgoingRecord) -> Result<()> {
        self.write_outgoing(record)
    }

    fn delete_outgoing(&mut self, connection: &ConnectionId, issue: &IssueId) -> Result<()> {
        let data = &mut *self.data;
        let key = (connection.clone(), issue.clone());
        remove(&mut self.undo, &mut data.outgoing, &key, |d| {
            &mut d.outgoing
        });
        Ok(())
    }

    fn post_outbox(&mut self, message: &OutboxMessage) -> Result<u64> {
        self.append_to_outbox(message)
    }

    fn outbox(&mut self, connection: &ConnectionId, limit: usize) -> Result<Vec<OutboxMessage>> {
        self.outbox_page(connection, limit)
    }

    fn outbox_len(&mut self, connection: &ConnectionId) -> Result<u64> {
        Ok(self
            .data
            .outbox
            .values()
            .filter(|m| &m.connection == connection)
            .count() as u64)
    }

    fn remove_outbox(&mut self, connection: &ConnectionId, through: u64) -> Result<()> {
        self.remove_taken(connection, through)
    }

    fn peer_outage(&mut self, connection: &ConnectionId) -> Result<Option<PeerOutage>> {
        Ok(self.data.outages.get(connection).cloned())
    }

    fn put_peer_outage(&mut self, outage: &PeerOutage) -> Result<()> {
        self.write_peer_outage(outage)
    }

    fn clear_peer_outage(&mut self, connection: &ConnectionId) -> Result<()> {
        let data = &mut *self.data;
        remove(&mut self.undo, &mut data.outages, connection, |d| {
            &mut d.outages
        });
        Ok(())
    }

    fn invitations(&mut self) -> Result<Vec<InvitationRecord>> {
        Ok(self.data.invitations.values().cloned().collect())
    }

    fn put_invitation(&mut self, record: &InvitationRecord) -> Result<()> {
        self.write_invitation(record)
    }

    fn delete_invitation(&mut self, connection: &ConnectionId) -> Result<()> {
        let data = &mut *self.data;
        remove(&mut self.undo, &mut data.invitations, connection, |d| {
            &mut d.invitations
        });
        Ok(())
    }

    fn rule_history(&mut self, connection: &ConnectionId) -> Result<Option<RuleHistory>> {
        Ok(self.data.rule_histories.get(connection).cloned())
    }

    fn put_rule_history(&mut self, connection: &ConnectionId, history: &RuleHistory) -> Result<()> {
        self.write_rule_history(connection, history)
    }

    fn bulk_progress(
        &mut self,
        connection: &ConnectionId,
        query: &str,
    ) -> Result<Option<BulkProgress>> {
        self.progress_of(connection, query)
    }

    fn put_bulk_progress(&mut self, progress: &BulkProgress) -> Result<()> {
        let data = &mut *self.data;
        let key = (progress.connection.clone(), progress.query.clone());
        put(&mut self.undo, &mut data.bulk, key, progress.clone(), |d| {
            &mut d.bulk
        });
        Ok(())
    }

    fn delete_bulk_progress(&mut self, connection: &ConnectionId, query: &str) -> Result<()> {
        let data = &mut *self.data;
        let key = (connection.clone(), query.to_owned());
        remove(&mut self.undo, &mut data.bulk, &key, |d| &mut d.bulk);
        Ok(())
    }

    fn node_record(&mut self) -> Result<NodeRecord> {
        Ok(self.data.node.get(&()).cloned().unwrap_or_default())
    }

    fn put_node_record(&mut self, record: &NodeRecord) -> Result<()> {
        let data = &mut *self.data;
        put(&mut self.undo, &mut data.node, (), record.clone(), |d| {
            &mut d.node
        });
        Ok(())
    }

    fn lease(&mut self, name: &str) -> Result<Option<Lease>> {
        Ok(self.data.leases.get(name).cloned())
    }

    fn put_lease(&mut self, lease: &Lease) -> Result<()> {
        self.write_lease(lease)
    }

    fn delete_lease(&mut self, name: &str) -> Result<()> {
        let data = &mut *self.data;
        remove(&mut self.undo, &mut data.leases, &name.to_owned(), |d| {
            &mut d.leases
        });
        Ok(())
    }

    fn next_lease_epoch(&mut self) -> Result<u64> {
        self.data.last_epoch += 1;
        Ok(self.data.last_epoch)
    }

    fn hold(&mut self, name: &str) -> Result<Option<OffsetDateTime>> {
        Ok(self.data.holds.get(name).copied())
    }

    fn put_hold(&mut self, name: &str, until: OffsetDateTime) -> Result<()> {
        self.write_hold(name, until)
    }

    fn commit(mut self: Box<Self>) -> Result<()> {
        self.committed = true;
        self.undo.clear();
        self.data.commits += 1;
        Ok(())
    }
}
