//! Sending this side's changes over a remote connection, and what the other
//! side answers.

use crate::connection::{Connection, ConnectionStatus};
use crate::error::{Error, ErrorKind, ErrorScope, Result};
use crate::model::{Issue, IssueId};
use crate::plan::TwinState;
use crate::store::QueueItem;

use super::acks::unsynced_key;
use super::link::{Link, Outgoing};
use super::wire::{Body, Bytes, InlineFile, ReplicaMessage};
use crate::engine::node::Node;
use crate::engine::node::origin_of;
use crate::engine::node::own_side;
use crate::engine::sync::recovery::{Hold, hold};
use crate::engine::sync::types::CycleReport;

/// What became of one of this side's changes.
pub(super) enum Pushed {
    /// The other side applied it (with that many writes); `settled` unless
    /// this side's state changed meanwhile and the twin goes again.
    Acked { writes: usize, settled: bool },
    /// It was sent already and acknowledged.
    UpToDate,
    /// The issue is not under sync (any more).
    NotUnderSync,
    /// Left in the outbox for the other node to pull.
    Posted,
    /// The other side ignored it (it has something newer): sent again later.
    Ignored,
    /// The other side failed to apply it, after `writes` writes.
    Refused { error: Error, writes: usize },
    /// The other side no longer syncs the twin: forgotten here too.
    Gone,
}

impl Node {
    /// One sync cycle of a remote connection: pull (when the other node
    /// cannot call this one), poll this side, deliver what waits in the
    /// outbox, send what changed. While the other node cannot be reached,
    /// nothing is sent to it (changes stay queued) and nothing fails; the
    /// report says so.
    pub(in crate::engine) async fn remote_cycle(&self, conn: Connection) -> Result<CycleReport> {
        let link = self.link(&conn.id)?;
        let own = own_side(&conn, self.instance())?.clone();
        let active = conn.status == ConnectionStatus::Active;
        let mut report = CycleReport::default();
        // Whether this cycle calls the other node: not while backing off.
        let mut reach = active && self.backing_off(&conn.id)?.is_none();
        if reach
            && !self.reachable()
            && let Err(e) = self.pull_from_peer(&conn, &link, &mut report).await
        {
            match e.scope() {
                ErrorScope::Peer => reach = false,
                ErrorScope::Connection => return Err(self.remote_failure(&conn, e)),
                _ => {
                    tracing::warn!(error = %e, "pulling from the other node failed; trying again next cycle");
                }
            }
        }
        let hinted = self.inner.schedule.take_hints(&conn.id);
        let (mut issues, newest) = match self.poll(&conn, &own.project).await {
            Ok(p) => p,
            Err(e) => return Err(self.connection_failure(&conn, e)),
        };
        self.add_hinted(&own.project, &mut issues, &hinted).await;
        report.seen = issues.len();
        let rules = self.rules_for(&conn)?;
        let triggers = self.active_triggers(&conn);
        if active {
            // Quarantined twins whose target project changed go again, and
            // the other node sends what failed here again.
            let released = match self.release_changed_projects(&conn).await {
                Ok(r) => r,
                Err(e) => return Err(self.connection_failure(&conn, e)),
            };
            for record in released {
                if let Err(e) = self.ask_resend(&conn, &record.issue) {
                    tracing::warn!(error = %e, issue = %record.key, "cannot ask the other node to send again");
                }
            }
        }
        let polled_records = self.twin_errors(&conn.id)?;
        let mut strays = Vec::new();
        {
            let mut txn = self.txn()?;
            let mut outgoing = self.outgoing(&mut *txn, &conn.id)?;
            let mut claimed = false;
            for issue in issues {
                if outgoing.contains_key(&issue.id) {
                    let replica = rules.outgoing(&issue, origin_of(self, &issue), &conn.id);
                    let fp = rules.fingerprints(&replica).whole;
                    let key = txn
                        .twin_by_local(&conn.id, &issue.id)?
                        .map_or_else(|| unsynced_key(&issue.id), |t| t.remote.id);
                    if self.left_alone(&polled_records, &key, &issue, fp) {
                        continue;
                    }
                } else {
                    match txn.twin_by_local(&conn.id, &issue.id)? {
                        Some(state) => {
                            let replica = rules.outgoing(&issue, origin_of(self, &issue), &conn.id);
                            let fp = rules.fingerprints(&replica).whole;
                            if fp == state.local_whole {
                                continue;
                            }
                            if self.left_alone(&polled_records, &state.remote.id, &issue, fp) {
                                continue;
                            }
                        }
                        None => {
                            if let Some(kept) = Self::twin_issue_of_stray(&mut *txn, &conn, &issue)?
                            {
                                // A second copy of a twin's issue: repaired
                                // below, never synced.
                                strays.push((kept, issue));
                                continue;
                            }
                            // Not under sync: a trigger may bring it under sync.
                            let Some(trigger) = self.triggered(&conn, &triggers, &issue) else {
                                continue;
                            };
                            tracing::info!(issue = %issue.key, %trigger, "matched a trigger");
                            report.triggered += 1;
                            self.mark_origin(&mut *txn, &conn.id, &issue.id, true)?;
                            outgoing.insert(
                                issue.id.clone(),
                                Outgoing {
                                    key: issue.key.clone(),
                                    new: true,
                                    match_existing: false,
                                },
                            );
                            claimed = true;
                        }
                    }
                }
                txn.enqueue(&QueueItem {
                    seq: 0,
                    connection: conn.id.clone(),
                    project: own.project.clone(),
                    issue: issue.id.clone(),
                    queued: self.now(),
                })?;
                if !active {
                    report.queued += 1;
                }
            }
            if claimed {
                self.put_outgoing(&mut *txn, &conn.id, &outgoing)?;
            }
            // Safe before sending: what changed is queued durably. (With
            // second copies to delete, once they are deleted.)
            if let Some(newest) = newest.filter(|_| strays.is_empty()) {
                txn.set_watermark(&conn.id, &own.project, newest)?;
            }
            txn.commit()?;
        }
        if !active {
            return Ok(report);
        }
        if !strays.is_empty() {
            // A second copy that could not be deleted for now keeps the
            // watermark where it was, so that the next poll returns it again.
            let mut stray_left = false;
            for (kept, stray) in strays {
                if let Err(err) = self.remove_stray(&conn, &kept, &stray).await {
                    tracing::warn!(error = %err, issue = %stray.key, "cannot delete a second copy; trying again next cycle");
                    report.failed += 1;
                    stray_left |= err.is_temporary();
                }
            }
            if let Some(newest) = newest.filter(|_| !stray_left) {
                let mut txn = self.txn()?;
                txn.set_watermark(&conn.id, &own.project, newest)?;
                txn.commit()?;
            }
        }
        // Replicas that failed here go again when due (asked for before the
        // outbox is delivered).
        self.ask_again_when_due(&conn, &polled_records)?;
        if reach {
            // What waits goes first, in order (an unexalate before the
            // replica of an issue exalated again).
            match self.flush_outbox(&conn, &link).await {
                Ok(_) => {}
                Err(e) if e.scope() == ErrorScope::Peer => reach = false,
                Err(e) if e.scope() == ErrorScope::Connection => {
                    return Err(self.remote_failure(&conn, e));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "a message for the other node waits; trying again next cycle");
                }
            }
        }
        let queue = self.txn()?.queue(&conn.id, usize::MAX)?;
        let records = self.twin_errors(&conn.id)?;
        let now = self.now();
        for item in queue {
            if self.stopping() {
                // Shutting down: the rest stays queued for the next cycle.
                break;
            }
            let record = records.get(&self.error_key(&conn, &item.issue)?);
            match hold(record, now) {
                Hold::Backoff => continue, // it stays queued until its next try
                // Queued before it failed: left alone until a change queues it again.
                Hold::Quarantined if record.is_some_and(|r| item.queued <= r.at) => {
                    self.dequeue_seq(item.seq)?;
                    continue;
                }
                _ => {}
            }
            if link.peer_reachable && !reach {
                // It waits in the queue until the other node answers again.
                report.queued += 1;
                continue;
            }
            // Read afresh: a search's snapshot may lag behind writes, and a
            // replica of an old snapshot would undo what was synced since.
            let issue = match self.tracker().issue(&item.issue).await {
                Ok(issue) => issue,
                Err(e) if e.kind() == ErrorKind::NotFound => {
                    self.dequeue_seq(item.seq)?;
                    continue;
                }
                Err(e) => {
                    report.failed += 1;
                    tracing::warn!(error = %e, issue = %item.issue, "cannot read a queued issue");
                    continue;
                }
            };
            match self.push_issue(&conn, &link, &issue).await {
                Ok(Pushed::Acked { writes, settled }) => {
                    report.synced += 1;
                    report.writes += writes;
                    report.peer_writes += writes;
                    if settled {
                        self.dequeue_seq(item.seq)?;
                    }
                }
                Ok(Pushed::UpToDate) => {
                    self.dequeue_seq(item.seq)?;
                    self.clear_twin_error(&conn, &issue.id)?;
                }
                Ok(Pushed::NotUnderSync | Pushed::Gone) => {
                    self.dequeue_seq(item.seq)?;
                }
                Ok(Pushed::Posted) => report.queued += 1,
                Ok(Pushed::Ignored) => {}
                Ok(Pushed::Refused { error, writes }) => {
                    // Applied halfway: its writes are reported all the same.
                    report.writes += writes;
                    report.peer_writes += writes;
                    if error.scope() == ErrorScope::Connection {
                        return Err(self.remote_failure(&conn, error));
                    }
                    self.record_remote_error(&conn, &issue, &error)?;
                    report.failed += 1;
                }
                Err(e) if e.scope() == ErrorScope::Peer => {
                    // No twin is at fault: it waits, and so does the rest.
                    reach = false;
                    report.queued += 1;
                }
                // Another worker of this node holds the twin: it stays
                // queued, and is no failure.
                Err(e) if e.kind() == ErrorKind::Superseded => report.queued += 1,
                Err(e) => {
                    if e.scope() == ErrorScope::Connection {
                        return Err(self.remote_failure(&conn, e));
                    }
                    self.record_remote_error(&conn, &issue, &e)?;
                    report.failed += 1;
                }
            }
        }
        if reach {
            // Nothing went to the other node this cycle: an outage on record
            // ends only when it answers a call.
            match self.probe_peer(&conn, &link).await {
                Ok(()) => {}
                Err(e) if e.scope() == ErrorScope::Peer => reach = false,
                Err(e) if e.scope() == ErrorScope::Connection => {
                    return Err(self.remote_failure(&conn, e));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "the other node answered an empty message with an error");
                }
            }
        }
        report.peer_unreachable = !reach;
        let mut txn = self.txn()?;
        txn.set_last_sync(&conn.id, self.now())?;
        txn.commit()?;
        tracing::info!(?report, "remote cycle done");
        Ok(report)
    }

    /// Stops a connection the other side refuses as a whole (deleted there,
    /// or holding another secret).
    pub(super) fn remote_failure(&self, conn: &Connection, err: Error) -> Error {
        if let Err(store) = self.fail_connection(&conn.id, err.to_string()) {
            return store;
        }
        err.with_connection(&conn.name)
    }

    fn dequeue_seq(&self, seq: u64) -> Result<()> {
        let mut txn = self.txn()?;
        txn.dequeue(seq)?;
        txn.commit()
    }

    pub(super) fn dequeue_issue(&self, conn: &Connection, issue: &IssueId) -> Result<()> {
        let mut txn = self.txn()?;
        for item in txn.queue(&conn.id, usize::MAX)? {
            if &item.issue == issue {
                txn.dequeue(item.seq)?;
            }
        }
        txn.commit()
    }

    /// Sends the replica of one of this side's issues if the other side does
    /// not have it yet.
    pub(super) async fn push_issue(
        &self,
        conn: &Connection,
        link: &Link,
        issue: &Issue,
    ) -> Result<Pushed> {
        let (state, flags) = {
            let mut txn = self.txn()?;
            let state = txn.twin_by_local(&conn.id, &issue.id)?;
            let flags = self.outgoing(&mut *txn, &conn.id)?.remove(&issue.id);
            (state, flags)
        };
        if state.is_none() && flags.is_none() {
            return Ok(Pushed::NotUnderSync);
        }
        let rules = self.rules_for(conn)?;
        let mut replica = rules.outgoing(issue, origin_of(self, issue), &conn.id);
        // A parent the rules bring under sync goes first, so that the child
        // finds its twin on the other side.
        for parent in rules.brought(&replica) {
            if self.txn()?.twin_by_local(&conn.id, &parent)?.is_some() {
                continue;
            }
            let parent = self.tracker().issue(&parent).await?;
            if conn.side_of(&parent.project).is_none() {
                continue; // not of this connection's project: the child waits
            }
            tracing::info!(connection = %conn.name, parent = %parent.key, child = %issue.key,
                "bringing a parent under sync");
            self.mark_outgoing(conn, &parent)?;
            Box::pin(self.push_issue(conn, link, &parent)).await?;
        }
        let fp = rules.fingerprints(&replica).whole;
        let failed = match &state {
            Some(s) => self
                .txn()?
                .errors(&conn.id)?
                .iter()
                .any(|e| e.issue == s.remote.id && !e.is_refusal()),
            None => false,
        };
        if flags.is_none()
            && !failed
            && state.as_ref().is_some_and(|s| s.local_whole == fp)
            // Replicas wait in the outbox only for a node this one cannot call.
            && (link.peer_reachable || !self.replica_waits(&conn.id, &issue.id)?)
        {
            // In step. (With a failure on record it goes once more, so that
            // the other side clears the failure it recorded; and a replica
            // still waiting for a private node is replaced by this one: the
            // issue came back to what the other side has, and that older
            // replica must not be taken after all.)
            return Ok(Pushed::UpToDate);
        }
        let files = if self.reachable() {
            Vec::new()
        } else {
            // After a failure, every attachment: the other side may lack one
            // this side's state says it has (it lost its store, say).
            self.inline_files(issue, state.as_ref().filter(|_| !failed))
                .await?
        };
        // Who its text mentions, for the other side's user mapping.
        self.fill_users(&mut replica).await?;
        let flags = flags.unwrap_or(Outgoing {
            key: issue.key.clone(),
            new: false,
            match_existing: false,
        });
        let message = ReplicaMessage {
            seq: self.next_seq(&conn.id)?,
            fp,
            exalate: flags.new,
            match_existing: flags.match_existing,
            replica,
            files,
        };
        let body = Body::Replica(Box::new(message));
        tracing::debug!(issue = %issue.key, fp, "sending a replica");
        if !link.peer_reachable {
            let mut txn = self.txn()?;
            self.post(&mut *txn, &conn.id, Some(&issue.id), &body)?;
            txn.commit()?;
            return Ok(Pushed::Posted);
        }
        match self.exchange_answer(conn, link, &body).await? {
            (Body::Refused(r), peer) => Ok(Pushed::Refused {
                writes: r.writes,
                error: r.into_error(&peer),
            }),
            (Body::Ack(ack), _) => {
                let writes = ack.writes;
                self.record_ack(conn, *ack)?;
                let settled = self
                    .txn()?
                    .twin_by_local(&conn.id, &issue.id)?
                    .is_some_and(|s| s.local_whole == fp);
                Ok(Pushed::Acked { writes, settled })
            }
            (Body::Gone { issue: gone }, _) => {
                self.peer_gone(conn, &gone)?;
                Ok(Pushed::Gone)
            }
            (Body::Done, _) => Ok(Pushed::Ignored),
            _ => Err(Error::new(
                ErrorKind::Incompatible,
                "the other node answered a replica with something else",
            )),
        }
    }

    /// The content of the attachments of `issue` that the twin state does not
    /// link yet (sent by a node the other cannot call).
    async fn inline_files(
        &self,
        issue: &Issue,
        state: Option<&TwinState>,
    ) -> Result<Vec<InlineFile>> {
        let mut files = Vec::new();
        for a in &issue.attachments {
            let linked = state.is_some_and(|s| s.attachments.iter().any(|l| l.local == a.id));
            if !linked {
                let content = self.tracker().download_attachment(&a.id).await?;
                files.push(InlineFile {
                    id: a.id.clone(),
                    content: Bytes(content),
                });
            }
        }
        Ok(files)
    }
}
