//! [`StoreTxn`]'s methods as SQL on a [`SqliteTxn`]: one statement (or two)
//! each, keyed by the schema's primary keys and indexes. The longer ones are
//! in `twins.rs` and `queue.rs`, the records added in schema version 2 in
//! `typed.rs`.

use rusqlite::params;
use time::OffsetDateTime;

use crate::error::Result;
use crate::model::{ConnectionId, IssueId, ProjectKey};
use crate::plan::{Conflict, TwinState};
use crate::rules::RuleHistory;
use crate::store::{
    BulkProgress, ConnectionRecord, Intent, InvitationRecord, NodeRecord, OutboxMessage,
    OutgoingRecord, PeerLink, PeerOutage, QueueItem, SeqMark, StatusCounts, StoreTxn,
    TwinConflicts, TwinError, TwinQuery,
};

use super::error::invalid;
use super::txn::SqliteTxn;
use crate::store::columns::{CONNECTION_TABLES, time_text, to_json};

impl StoreTxn for SqliteTxn<'_> {
    fn connection(&mut self, id: &ConnectionId) -> Result<Option<ConnectionRecord>> {
        let row = self.row(
            "cannot read connection",
            "SELECT name, config FROM connections WHERE id = ?1",
            [id.as_str()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok(row.map(|(name, config)| ConnectionRecord {
            id: id.clone(),
            name,
            config,
        }))
    }

    fn connections(&mut self) -> Result<Vec<ConnectionRecord>> {
        let rows: Vec<(String, String, String)> = self.rows(
            "cannot read connections",
            "SELECT id, name, config FROM connections ORDER BY id",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        rows.into_iter()
            .map(|(id, name, config)| {
                let id = ConnectionId::parse(&id).map_err(|e| {
                    invalid(self.db, format!("stored connection id is unreadable: {e}"))
                })?;
                Ok(ConnectionRecord { id, name, config })
            })
            .collect()
    }

    fn put_connection(&mut self, c: &ConnectionRecord) -> Result<()> {
        self.run(
            "cannot write connection",
            "INSERT INTO connections (id, name, config) VALUES (?1, ?2, ?3) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, config = excluded.config",
            params![c.id.as_str(), c.name, c.config],
        )
        .map_err(|e| e.with_connection(&c.id))?;
        Ok(())
    }

    fn delete_connection(&mut self, id: &ConnectionId) -> Result<()> {
        for table in CONNECTION_TABLES {
            self.run(
                &format!("cannot delete the {table} of a connection"),
                &format!("DELETE FROM {table} WHERE connection = ?1"),
                [id.as_str()],
            )
            .map_err(|e| e.with_connection(id))?;
        }
        self.run(
            "cannot delete connection",
            "DELETE FROM connections WHERE id = ?1",
            [id.as_str()],
        )
        .map_err(|e| e.with_connection(id))?;
        Ok(())
    }

    fn twin_by_remote(
        &mut self,
        connection: &ConnectionId,
        remote: &IssueId,
    ) -> Result<Option<TwinState>> {
        let bytes: Option<Vec<u8>> = self
            .row(
                "cannot read twin",
                "SELECT state FROM twins WHERE connection = ?1 AND remote = ?2",
                [connection.as_str(), remote.as_str()],
                |r| r.get(0),
            )
            .map_err(|e| e.with_connection(connection).with_issue(remote))?;
        bytes.map(|b| self.twin(&b)).transpose()
    }

    fn twin_by_local(
        &mut self,
        connection: &ConnectionId,
        local: &IssueId,
    ) -> Result<Option<TwinState>> {
        let bytes: Option<Vec<u8>> = self
            .row(
                "cannot read twin",
                "SELECT state FROM twins WHERE connection = ?1 AND local = ?2",
                [connection.as_str(), local.as_str()],
                |r| r.get(0),
            )
            .map_err(|e| e.with_connection(connection).with_issue(local))?;
        bytes.map(|b| self.twin(&b)).transpose()
    }

    fn put_twin(&mut self, twin: &TwinState) -> Result<()> {
        self.write_twin(twin)
    }

    fn delete_twin(&mut self, connection: &ConnectionId, remote: &IssueId) -> Result<()> {
        self.run(
            "cannot delete twin",
            "DELETE FROM twins WHERE connection = ?1 AND remote = ?2",
            [connection.as_str(), remote.as_str()],
        )
        .map_err(|e| e.with_connection(connection).with_issue(remote))?;
        Ok(())
    }

    fn twins(&mut self, connection: &ConnectionId) -> Result<Vec<TwinState>> {
        let blobs: Vec<Vec<u8>> = self
            .rows(
                "cannot read twins",
                "SELECT state FROM twins WHERE connection = ?1 ORDER BY remote",
                [connection.as_str()],
                |r| r.get(0),
            )
            .map_err(|e| e.with_connection(connection))?;
        blobs.iter().map(|b| self.twin(b)).collect()
    }

    fn twin_count(&mut self, connection: &ConnectionId) -> Result<u64> {
        let n: Option<i64> = self
            .row(
                "cannot count twins",
                "SELECT twins FROM twin_counts WHERE connection = ?1",
                [connection.as_str()],
                |r| r.get(0),
            )
            .map_err(|e| e.with_connection(connection))?;
        Ok(n.unwrap_or(0).unsigned_abs())
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
        let records: Vec<String> = self
            .rows(
                "cannot read intents",
                "SELECT record FROM intents WHERE connection = ?1 ORDER BY created_ns, id",
                [connection.as_str()],
                |r| r.get(0),
            )
            .map_err(|e| e.with_connection(connection))?;
        records.iter().map(|r| self.json("intent", r)).collect()
    }

    fn delete_intent(&mut self, id: &str) -> Result<()> {
        self.run(
            "cannot delete intent",
            "DELETE FROM intents WHERE id = ?1",
            [id],
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
        let n: Option<i64> = self
            .row(
                "cannot count the queue",
                "SELECT count(*) FROM queue WHERE connection = ?1",
                [connection.as_str()],
                |r| r.get(0),
            )
            .map_err(|e| e.with_connection(connection))?;
        Ok(n.unwrap_or(0).unsigned_abs())
    }

    fn is_queued(&mut self, connection: &ConnectionId, issue: &IssueId) -> Result<bool> {
        self.waits_in_queue(connection, issue.as_str())
    }

    fn dequeue(&mut self, seq: u64) -> Result<()> {
        // A number above i64::MAX was never handed out: nothing to remove.
        if let Ok(seq) = i64::try_from(seq) {
            self.run("cannot dequeue", "DELETE FROM queue WHERE seq = ?1", [seq])
                .map_err(|e| e.with_context("seq", seq))?;
        }
        Ok(())
    }

    fn put_error(&mut self, error: &TwinError) -> Result<()> {
        let record = to_json("twin error", error)?;
        self.run(
            "cannot write twin error",
            "INSERT INTO errors (connection, issue, record) VALUES (?1, ?2, ?3) \
             ON CONFLICT (connection, issue) DO UPDATE SET record = excluded.record",
            params![error.connection.as_str(), error.issue.as_str(), record],
        )
        .map_err(|e| {
            e.with_connection(&error.connection)
                .with_issue(&error.issue)
        })?;
        Ok(())
    }

    fn errors(&mut self, connection: &ConnectionId) -> Result<Vec<TwinError>> {
        let records: Vec<String> = self
            .rows(
                "cannot read twin errors",
                "SELECT record FROM errors WHERE connection = ?1 ORDER BY issue",
                [connection.as_str()],
                |r| r.get(0),
            )
            .map_err(|e| e.with_connection(connection))?;
        records.iter().map(|r| self.json("twin error", r)).collect()
    }

    fn clear_error(&mut self, connection: &ConnectionId, issue: &IssueId) -> Result<()> {
        self.run(
            "cannot clear twin error",
            "DELETE FROM errors WHERE connection = ?1 AND issue = ?2",
            [connection.as_str(), issue.as_str()],
        )
        .map_err(|e| e.with_connection(connection).with_issue(issue))?;
        Ok(())
    }

    fn watermark(
        &mut self,
        connection: &ConnectionId,
        project: &ProjectKey,
    ) -> Result<Option<OffsetDateTime>> {
        let text: Option<String> = self
            .row(
                "cannot read watermark",
                "SELECT at FROM watermarks WHERE connection = ?1 AND project = ?2",
                [connection.as_str(), project.as_str()],
                |r| r.get(0),
            )
            .map_err(|e| {
                e.with_connection(connection)
                    .with_context("project", project)
            })?;
        text.map(|t| self.time("watermark", &t)).transpose()
    }

    fn set_watermark(
        &mut self,
        connection: &ConnectionId,
        project: &ProjectKey,
        at: OffsetDateTime,
    ) -> Result<()> {
        let text = time_text("watermark", at)?;
        self.run(
            "cannot write watermark",
            "INSERT INTO watermarks (connection, project, at) VALUES (?1, ?2, ?3) \
             ON CONFLICT (connection, project) DO UPDATE SET at = excluded.at",
            params![connection.as_str(), project.as_str(), text],
        )
        .map_err(|e| {
            e.with_connection(connection)
                .with_context("project", project)
        })?;
        Ok(())
    }

    fn last_sync(&mut self, connection: &ConnectionId) -> Result<Option<OffsetDateTime>> {
        self.on(connection)?.last_sync(connection)
    }

    fn set_last_sync(&mut self, connection: &ConnectionId, at: OffsetDateTime) -> Result<()> {
        self.on(connection)?.set_last_sync(connection, at)
    }

    fn twin_conflicts(
        &mut self,
        connection: &ConnectionId,
        origin: &IssueId,
    ) -> Result<Vec<Conflict>> {
        self.on(connection)?.twin_conflicts(connection, origin)
    }

    fn conflicts(&mut self, connection: &ConnectionId) -> Result<Vec<TwinConflicts>> {
        self.on(connection)?.conflicts(connection)
    }

    fn put_conflicts(&mut self, record: &TwinConflicts) -> Result<()> {
        self.on(&record.connection)?.put_conflicts(record)
    }

    fn peer_link(&mut self, connection: &ConnectionId) -> Result<Option<PeerLink>> {
        self.on(connection)?.peer_link(connection)
    }

    fn put_peer_link(&mut self, link: &PeerLink) -> Result<()> {
        self.on(&link.connection)?.put_peer_link(link)
    }

    fn delete_peer_link(&mut self, connection: &ConnectionId) -> Result<()> {
        self.on(connection)?.delete_peer_link(connection)
    }

    fn seq_mark(&mut self, connection: &ConnectionId, mark: &SeqMark) -> Result<Option<u64>> {
        self.on(connection)?.seq_mark(connection, mark)
    }

    fn set_seq_mark(
        &mut self,
        connection: &ConnectionId,
        mark: &SeqMark,
        value: Option<u64>,
    ) -> Result<()> {
        self.on(connection)?.set_seq_mark(connection, mark, value)
    }

    fn peer_gone(&mut self, connection: &ConnectionId, issue: &IssueId) -> Result<bool> {
        self.on(connection)?.peer_gone(connection, issue)
    }

    fn set_peer_gone(
        &mut self,
        connection: &ConnectionId,
        issue: &IssueId,
        gone: bool,
    ) -> Result<()> {
        self.on(connection)?.set_peer_gone(connection, issue, gone)
    }

    fn origin_here(&mut self, connection: &ConnectionId, issue: &IssueId) -> Result<bool> {
        self.on(connection)?.origin_here(connection, issue)
    }

    fn set_origin_here(
        &mut self,
        connection: &ConnectionId,
        issue: &IssueId,
        here: bool,
    ) -> Result<()> {
        self.on(connection)?
            .set_origin_here(connection, issue, here)
    }

    fn outgoing(&mut self, connection: &ConnectionId) -> Result<Vec<OutgoingRecord>> {
        self.on(connection)?.outgoing(connection)
    }

    fn put_outgoing(&mut self, record: &OutgoingRecord) -> Result<()> {
        self.on(&record.connection)?.put_outgoing(record)
    }

    fn delete_outgoing(&mut self, connection: &ConnectionId, issue: &IssueId) -> Result<()> {
        self.on(connection)?.delete_outgoing(connection, issue)
    }

    fn post_outbox(&mut self, message: &OutboxMessage) -> Result<u64> {
        self.on(&message.connection)?.post_outbox(message)
    }

    fn outbox(&mut self, connection: &ConnectionId, limit: usize) -> Result<Vec<OutboxMessage>> {
        self.on(connection)?.outbox(connection, limit)
    }

    fn outbox_len(&mut self, connection: &ConnectionId) -> Result<u64> {
        self.on(connection)?.outbox_len(connection)
    }

    fn remove_outbox(&mut self, connection: &ConnectionId, through: u64) -> Result<()> {
        self.on(connection)?.remove_outbox(connection, through)
    }

    fn peer_outage(&mut self, connection: &ConnectionId) -> Result<Option<PeerOutage>> {
        self.on(connection)?.peer_outage(connection)
    }

    fn put_peer_outage(&mut self, outage: &PeerOutage) -> Result<()> {
        self.on(&outage.connection)?.put_peer_outage(outage)
    }

    fn clear_peer_outage(&mut self, connection: &ConnectionId) -> Result<()> {
        self.on(connection)?.clear_peer_outage(connection)
    }

    fn invitations(&mut self) -> Result<Vec<InvitationRecord>> {
        self.records()?.invitations()
    }

    fn put_invitation(&mut self, record: &InvitationRecord) -> Result<()> {
        self.on(&record.connection)?.put_invitation(record)
    }

    fn delete_invitation(&mut self, connection: &ConnectionId) -> Result<()> {
        self.on(connection)?.delete_invitation(connection)
    }

    fn rule_history(&mut self, connection: &ConnectionId) -> Result<Option<RuleHistory>> {
        self.on(connection)?.rule_history(connection)
    }

    fn put_rule_history(&mut self, connection: &ConnectionId, history: &RuleHistory) -> Result<()> {
        self.on(connection)?.put_rule_history(connection, history)
    }

    fn bulk_progress(
        &mut self,
        connection: &ConnectionId,
        query: &str,
    ) -> Result<Option<BulkProgress>> {
        self.on(connection)?.bulk_progress(connection, query)
    }

    fn put_bulk_progress(&mut self, progress: &BulkProgress) -> Result<()> {
        self.on(&progress.connection)?.put_bulk_progress(progress)
    }

    fn delete_bulk_progress(&mut self, connection: &ConnectionId, query: &str) -> Result<()> {
        self.on(connection)?.delete_bulk_progress(connection, query)
    }

    fn node_record(&mut self) -> Result<NodeRecord> {
        self.records()?.node_record()
    }

    fn put_node_record(&mut self, record: &NodeRecord) -> Result<()> {
        self.records()?.put_node_record(record)
    }

    fn commit(self: Box<Self>) -> Result<()> {
        // On failure, dropping `self` rolls back what is still open.
        self.active()?
            .execute_batch("COMMIT")
            .map_err(self.fail("cannot commit"))
    }
}
