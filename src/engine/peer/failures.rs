//! Failures of a remote twin on this node: recording them (quarantine or
//! backoff), leaving quarantined issues alone, and asking the other node to
//! send one of its issues again (after a user decided about a deletion this
//! node refused, or let a failed twin be tried again, or when a replica that
//! failed here is due for another try).

use crate::connection::Connection;
use crate::error::{Error, ErrorKind, Result};
use crate::model::{Issue, IssueId};
use crate::store::{QueueItem, StoreTxn, TwinError};

use super::acks::unsynced_key;
use super::link::Link;
use super::refusal::Refusal;
use super::wire::Body;
use crate::engine::node::Node;
use crate::engine::node::origin_of;
use crate::engine::node::own_project;
use crate::engine::sync::recovery::{Hold, Seen, backoff, edited, hold};

/// The note that asks for an issue again (a refusal of kind `Refused` that
/// is temporary: a node of an earlier version records it and sends again).
fn resend_note() -> Error {
    Error::new(
        ErrorKind::Refused,
        "a change to this twin waits on this node; send the issue again",
    )
    .set_temporary(true)
}

impl Node {
    /// Whether a poll leaves one of our issues alone: its twin is
    /// quarantined (its failure is on record under `key`) and the issue did
    /// not change since.
    pub(super) fn left_alone(
        &self,
        records: &std::collections::HashMap<IssueId, crate::store::TwinError>,
        key: &IssueId,
        issue: &Issue,
        fingerprint: u64,
    ) -> bool {
        let record = records.get(key);
        hold(record, self.now()) == Hold::Quarantined
            && record.is_some_and(|r| !edited(r, issue, fingerprint))
    }

    /// Forgets the recorded error of the twin of our `issue` (it is in step).
    pub(super) fn clear_twin_error(&self, conn: &Connection, issue: &IssueId) -> Result<()> {
        let mut txn = self.txn()?;
        if let Some(t) = txn.twin_by_local(&conn.id, issue)? {
            Node::clear_failure(&mut *txn, &conn.id, &t.remote.id)?;
        }
        txn.clear_error(&conn.id, &unsynced_key(issue))?;
        txn.commit()
    }

    /// Records why one of our issues did not reach the other side:
    /// quarantined when permanent, backing off when temporary.
    pub(super) fn record_remote_error(
        &self,
        conn: &Connection,
        issue: &Issue,
        err: &Error,
    ) -> Result<()> {
        let id = self.error_key(conn, &issue.id)?;
        let mut seen = Seen::default();
        if let Ok(rules) = self.rules_for(conn) {
            let replica = rules.outgoing(issue, origin_of(self, issue), &conn.id);
            seen.issue(issue, rules.fingerprints(&replica).whole);
        }
        self.record_failure(&conn.id, &id, issue.key.clone(), err, seen)
    }

    /// The id the record of a failure of our `issue` is kept under.
    pub(super) fn error_key(&self, conn: &Connection, issue: &IssueId) -> Result<IssueId> {
        Ok(self
            .txn()?
            .twin_by_local(&conn.id, issue)?
            .map_or_else(|| unsynced_key(issue), |t| t.remote.id))
    }

    /// The other side could not apply the replica of our `issue` it pulled.
    pub(super) async fn peer_failed(
        &self,
        conn: &Connection,
        link: &Link,
        issue: &IssueId,
        refusal: Refusal,
    ) -> Result<()> {
        if is_resend(&refusal) {
            return self.resend(conn, issue);
        }
        let Some(peer) = &link.peer else {
            return Ok(());
        };
        let err = refusal.into_error(peer);
        match self.tracker().issue(issue).await {
            Ok(found) => {
                self.record_remote_error(conn, &found, &err)?;
                // It goes again (the error on record makes sure of it).
                let mut txn = self.txn()?;
                txn.enqueue(&QueueItem {
                    seq: 0,
                    connection: conn.id.clone(),
                    project: found.project.clone(),
                    issue: found.id.clone(),
                    queued: self.now(),
                })?;
                txn.commit()
            }
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Asks the other node to send again its issues whose replica failed
    /// here and whose next try is due (`records` are the connection's
    /// errors): the sender may never learn of such a failure (its call gave
    /// up before the answer came, or the replica was an old one delivered
    /// late) and then holds its issue in step. A failure of one of this
    /// side's issues is left to the queue, which sends it again. The next
    /// try of each one asked for moves on by its backoff, so that it is
    /// asked for once per wait; applying what comes clears the failure.
    pub(super) fn ask_again_when_due(
        &self,
        conn: &Connection,
        records: &std::collections::HashMap<IssueId, TwinError>,
    ) -> Result<()> {
        let now = self.now();
        let due: Vec<&TwinError> = records
            .values()
            .filter(|r| !r.is_refusal() && r.quarantine.is_none())
            .filter(|r| r.next_try.is_some_and(|t| t <= now))
            .collect();
        if due.is_empty() {
            return Ok(());
        }
        let mut txn = self.txn()?;
        let queued: std::collections::HashSet<IssueId> = txn
            .queue(&conn.id, usize::MAX)?
            .into_iter()
            .map(|q| q.issue)
            .collect();
        for record in due {
            // Only the twin of an issue of theirs (an issue of ours not yet
            // under sync is recorded under a key of its own).
            let Some(state) = txn.twin_by_remote(&conn.id, &record.issue)? else {
                continue;
            };
            if state.local.as_ref().is_some_and(|l| queued.contains(&l.id)) {
                continue; // our change goes again from the queue
            }
            tracing::info!(issue = %record.key, "asking the other node to send the issue again");
            self.ask_resend_in(&mut *txn, conn, &record.issue)?;
            let mut paced = record.clone();
            let wait = backoff(
                self.options().retry.seed,
                &record.issue,
                record.attempts,
                None,
            );
            paced.next_try = Some(now + wait);
            txn.put_error(&paced)?;
        }
        txn.commit()
    }

    /// Asks the other node to send its issue `theirs` again: the request
    /// waits in the outbox, and goes with the next delivery (the next cycle,
    /// or the next pull of a node in a private network).
    ///
    /// # Errors
    ///
    /// `Storage`.
    pub(in crate::engine) fn ask_resend(&self, conn: &Connection, theirs: &IssueId) -> Result<()> {
        let mut txn = self.txn()?;
        self.ask_resend_in(&mut *txn, conn, theirs)?;
        txn.commit()
    }

    /// As [`ask_resend`](Self::ask_resend), in `txn`.
    pub(in crate::engine) fn ask_resend_in(
        &self,
        txn: &mut dyn StoreTxn,
        conn: &Connection,
        theirs: &IssueId,
    ) -> Result<()> {
        let body = Body::Failed {
            issue: theirs.clone(),
            refusal: Refusal::of(&resend_note()),
        };
        self.post(txn, &conn.id, None, &body)
    }

    /// The other node asks for `issue` again: it is queued and sent even if
    /// this node's state says the other side has it.
    pub(super) fn resend(&self, conn: &Connection, issue: &IssueId) -> Result<()> {
        let mut txn = self.txn()?;
        let Some(mut state) = txn.twin_by_local(&conn.id, issue)? else {
            return Ok(()); // not under sync here (any more)
        };
        state.local_whole = crate::plan::UNSYNCED;
        txn.put_twin(&state)?;
        // What failed there may go now: a quarantine here ends.
        for mut record in txn.errors(&conn.id)? {
            if record.issue == state.remote.id && !record.is_refusal() {
                record.quarantine = None;
                record.next_try = None;
                txn.put_error(&record)?;
            }
        }
        txn.enqueue(&QueueItem {
            seq: 0,
            connection: conn.id.clone(),
            project: own_project(conn, self.instance())?.clone(),
            issue: issue.clone(),
            queued: self.now(),
        })?;
        txn.commit()
    }
}

/// Whether a refusal the other node sent is a request to send again.
pub(super) fn is_resend(refusal: &Refusal) -> bool {
    refusal.kind == ErrorKind::Refused && refusal.temporary
}
