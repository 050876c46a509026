//! [`StoreTxn`]'s methods as SQL on a [`PgTxn`]: one statement (or two)
//! each, keyed by the schema's primary keys and indexes, with the column
//! values of `store::columns` that the SQLite store writes too. The longer
//! ones are in `twins.rs` (twins, intents, conflicts), `queue.rs` (the queue,
//! errors, watermarks), `peer.rs` (what a node keeps about its peer) and
//! `records.rs` (connections, invitations, rule versions, bulk progress, the
//! node record); the statement shapes they share in `rows.rs`.

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

use super::rows::bigint;
use super::txn::PgTxn;

impl StoreTxn for PgTxn<'_> {
    fn connection(&mut self, id: &ConnectionId) -> Result<Option<ConnectionRecord>> {
        self.read_connection(id)
    }

    fn connections(&mut self) -> Result<Vec<ConnectionRecord>> {
        self.all_connections()
    }

    fn put_connection(&mut self, c: &ConnectionRecord) -> Result<()> {
        self.run(
            "cannot write connection",
            "INSERT INTO connections (id, name, config) VALUES ($1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, config = excluded.config",
            &[&c.id.as_str(), &c.name, &c.config],
        )
        .map_err(|e| e.with_connection(&c.id))?;
        Ok(())
    }

    fn delete_connection(&mut self, id: &ConnectionId) -> Result<()> {
        self.remove_connection(id)
    }

    fn twin_by_remote(
        &mut self,
        connection: &ConnectionId,
        remote: &IssueId,
    ) -> Result<Option<TwinState>> {
        let row = self
            .row(
                "cannot read twin",
                "SELECT state FROM twins WHERE connection = $1 AND remote = $2",
                &[&connection.as_str(), &remote.as_str()],
            )
            .map_err(|e| e.with_connection(connection).with_issue(remote))?;
        row.map(|r| self.twin(self.get(&r, 0, "twin")?)).transpose()
    }

    fn twin_by_local(
        &mut self,
        connection: &ConnectionId,
        local: &IssueId,
    ) -> Result<Option<TwinState>> {
        let row = self
            .row(
                "cannot read twin",
                "SELECT state FROM twins WHERE connection = $1 AND local = $2",
                &[&connection.as_str(), &local.as_str()],
            )
            .map_err(|e| e.with_connection(connection).with_issue(local))?;
        row.map(|r| self.twin(self.get(&r, 0, "twin")?)).transpose()
    }

    fn put_twin(&mut self, twin: &TwinState) -> Result<()> {
        self.write_twin(twin)
    }

    fn delete_twin(&mut self, connection: &ConnectionId, remote: &IssueId) -> Result<()> {
        self.run(
            "cannot delete twin",
            "DELETE FROM twins WHERE connection = $1 AND remote = $2",
            &[&connection.as_str(), &remote.as_str()],
        )
        .map_err(|e| e.with_connection(connection).with_issue(remote))?;
        Ok(())
    }

    fn twins(&mut self, connection: &ConnectionId) -> Result<Vec<TwinState>> {
        let rows = self
            .rows(
                "cannot read twins",
                "SELECT state FROM twins WHERE connection = $1 ORDER BY remote",
                &[&connection.as_str()],
            )
            .map_err(|e| e.with_connection(connection))?;
        rows.iter()
            .map(|r| self.twin(self.get(r, 0, "twin")?))
            .collect()
    }

    fn twin_count(&mut self, connection: &ConnectionId) -> Result<u64> {
        self.twins_counted(connection)
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
        self.records(
            "intent",
            "SELECT record FROM intents WHERE connection = $1 ORDER BY created_ns, id",
            connection,
        )
    }

    fn delete_intent(&mut self, id: &str) -> Result<()> {
        self.run(
            "cannot delete intent",
            "DELETE FROM intents WHERE id = $1",
            &[&id],
        )
        .map_err(|e| e.with_context("intent", id))?;
        Ok(())
    }

    fn enqueue(&mut self, item: &QueueItem) -> Result<u64> {
        self.append_to_queue(item)
    }

    fn queue(&mut self, connection: &ConnectionId, limit: usize) -> Result<Vec<QueueItem>> {
        self.queued(connection, limit)
    }

    fn queue_len(&mut self, connection: &ConnectionId) -> Result<u64> {
        self.count_of("cannot count the queue", "queue", connection)
    }

    fn is_queued(&mut self, connection: &ConnectionId, issue: &IssueId) -> Result<bool> {
        self.waits_in_queue(connection, issue)
    }

    fn dequeue(&mut self, seq: u64) -> Result<()> {
        // A number above i64::MAX was never handed out: nothing to remove.
        if let Ok(seq) = i64::try_from(seq) {
            self.run(
                "cannot dequeue",
                "DELETE FROM queue WHERE seq = $1",
                &[&seq],
            )
            .map_err(|e| e.with_context("seq", seq))?;
        }
        Ok(())
    }

    fn put_error(&mut self, error: &TwinError) -> Result<()> {
        self.write_error(error)
    }

    fn errors(&mut self, connection: &ConnectionId) -> Result<Vec<TwinError>> {
        self.records(
            "twin error",
            "SELECT record FROM errors WHERE connection = $1 ORDER BY issue",
            connection,
        )
    }

    fn clear_error(&mut self, connection: &ConnectionId, issue: &IssueId) -> Result<()> {
        self.run(
            "cannot clear twin error",
            "DELETE FROM errors WHERE connection = $1 AND issue = $2",
            &[&connection.as_str(), &issue.as_str()],
        )
        .map_err(|e| e.with_connection(connection).with_issue(issue))?;
        Ok(())
    }

    fn watermark(
        &mut self,
        connection: &ConnectionId,
        project: &ProjectKey,
    ) -> Result<Option<OffsetDateTime>> {
        self.read_watermark(connection, project)
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
        self.read_last_sync(connection)
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
        self.write_conflicts(record)
    }

    fn peer_link(&mut self, connection: &ConnectionId) -> Result<Option<PeerLink>> {
        self.read_peer_link(connection)
    }

    fn put_peer_link(&mut self, link: &PeerLink) -> Result<()> {
        self.write_peer_link(link)
    }

    fn delete_peer_link(&mut self, connection: &ConnectionId) -> Result<()> {
        self.delete_of("cannot delete the peer link", "peer_links", connection)
    }

    fn seq_mark(&mut self, connection: &ConnectionId, mark: &SeqMark) -> Result<Option<u64>> {
        self.read_seq_mark(connection, mark)
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
        self.flag("peer_gone", connection, issue)
    }

    fn set_peer_gone(
        &mut self,
        connection: &ConnectionId,
        issue: &IssueId,
        gone: bool,
    ) -> Result<()> {
        self.set_flag("peer_gone", connection, issue, gone)
    }

    fn origin_here(&mut self, connection: &ConnectionId, issue: &IssueId) -> Result<bool> {
        self.flag("origins", connection, issue)
    }

    fn set_origin_here(
        &mut self,
        connection: &ConnectionId,
        issue: &IssueId,
        here: bool,
    ) -> Result<()> {
        self.set_flag("origins", connection, issue, here)
    }

    fn outgoing(&mut self, connection: &ConnectionId) -> Result<Vec<OutgoingRecord>> {
        self.outgoing_records(connection)
    }

    fn put_outgoing(&mut self, r: &OutgoingRecord) -> Result<()> {
        self.write_outgoing(r)
    }

    fn delete_outgoing(&mut self, connection: &ConnectionId, issue: &IssueId) -> Result<()> {
        self.run(
            "cannot delete an outgoing record",
            "DELETE FROM outgoing WHERE connection = $1 AND issue = $2",
            &[&connection.as_str(), &issue.as_str()],
        )
        .map_err(|e| e.with_connection(connection).with_issue(issue))?;
        Ok(())
    }

    fn post_outbox(&mut self, m: &OutboxMessage) -> Result<u64> {
        self.append_to_outbox(m)
    }

    fn outbox(&mut self, connection: &ConnectionId, limit: usize) -> Result<Vec<OutboxMessage>> {
        self.outbox_page(connection, limit)
    }

    fn outbox_len(&mut self, connection: &ConnectionId) -> Result<u64> {
        self.count_of("cannot count the outbox", "outbox", connection)
    }

    fn remove_outbox(&mut self, connection: &ConnectionId, through: u64) -> Result<()> {
        self.run(
            "cannot remove taken messages",
            "DELETE FROM outbox WHERE connection = $1 AND seq <= $2",
            &[&connection.as_str(), &bigint(through)],
        )
        .map_err(|e| e.with_connection(connection))?;
        Ok(())
    }

    fn peer_outage(&mut self, connection: &ConnectionId) -> Result<Option<PeerOutage>> {
        self.record(
            "peer outage",
            "SELECT record FROM peer_outages WHERE connection = $1",
            &[connection.as_str()],
        )
        .map_err(|e| e.with_connection(connection))
    }

    fn put_peer_outage(&mut self, outage: &PeerOutage) -> Result<()> {
        self.write_peer_outage(outage)
    }

    fn clear_peer_outage(&mut self, connection: &ConnectionId) -> Result<()> {
        self.delete_of("cannot delete the peer outage", "peer_outages", connection)
    }

    fn invitations(&mut self) -> Result<Vec<InvitationRecord>> {
        self.all_invitations()
    }

    fn put_invitation(&mut self, r: &InvitationRecord) -> Result<()> {
        self.write_invitation(r)
    }

    fn delete_invitation(&mut self, connection: &ConnectionId) -> Result<()> {
        self.delete_of("cannot delete an invitation", "invitations", connection)
    }

    fn rule_history(&mut self, connection: &ConnectionId) -> Result<Option<RuleHistory>> {
        self.record(
            "rule versions",
            "SELECT record FROM rule_histories WHERE connection = $1",
            &[connection.as_str()],
        )
        .map_err(|e| e.with_connection(connection))
    }

    fn put_rule_history(&mut self, connection: &ConnectionId, history: &RuleHistory) -> Result<()> {
        self.write_rule_history(connection, history)
    }

    fn bulk_progress(
        &mut self,
        connection: &ConnectionId,
        query: &str,
    ) -> Result<Option<BulkProgress>> {
        self.read_bulk_progress(connection, query)
    }

    fn put_bulk_progress(&mut self, p: &BulkProgress) -> Result<()> {
        self.write_bulk_progress(p)
    }

    fn delete_bulk_progress(&mut self, connection: &ConnectionId, query: &str) -> Result<()> {
        self.run(
            "cannot delete bulk progress",
            "DELETE FROM bulk_progress WHERE connection = $1 AND query = $2",
            &[&connection.as_str(), &query],
        )
        .map_err(|e| e.with_connection(connection))?;
        Ok(())
    }

    fn node_record(&mut self) -> Result<NodeRecord> {
        let found = self.record("node record", "SELECT record FROM node WHERE id = 1", &[])?;
        Ok(found.unwrap_or_default())
    }

    fn put_node_record(&mut self, record: &NodeRecord) -> Result<()> {
        self.write_node_record(record)
    }

    fn lease(&mut self, name: &str) -> Result<Option<Lease>> {
        self.lease_locked(name)
    }

    fn put_lease(&mut self, lease: &Lease) -> Result<()> {
        self.write_lease(lease)
    }

    fn delete_lease(&mut self, name: &str) -> Result<()> {
        self.remove_lease(name)
    }

    fn next_lease_epoch(&mut self) -> Result<u64> {
        self.draw_lease_epoch()
    }

    fn hold(&mut self, name: &str) -> Result<Option<OffsetDateTime>> {
        self.read_hold(name)
    }

    fn put_hold(&mut self, name: &str, until: OffsetDateTime) -> Result<()> {
        self.write_hold(name, until)
    }

    fn commit(mut self: Box<Self>) -> Result<()> {
        self.finish()
    }
}
