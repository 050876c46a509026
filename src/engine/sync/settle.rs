//! How a cycle's twin jobs end: counted, taken off the queue and queued
//! again when they are to be tried again, in one transaction; and children
//! that waited for a parent whose twin the same cycle created, which then
//! follow it.

use std::collections::{BTreeMap, HashSet};

use crate::connection::Connection;
use crate::error::{ErrorKind, ErrorScope, Result};
use crate::model::IssueId;
use crate::rules::hierarchy::awaited_parent;
use crate::store::StoreTxn;

use super::recovery::quarantines;
use super::types::{CycleReport, Direction, Hints, Outcome};
use crate::engine::node::Node;

/// How many rounds a cycle gives waiting children to follow their parents
/// (each round syncs the parents brought under sync, then the children
/// whose parent's twin exists): enough for an epic, its story and the
/// story's sub-task brought along by the sub-task.
const ROUNDS: usize = 6;

impl Node {
    /// Records how the job of the twin of `origin` ended: counts it, takes
    /// its queue entries (`seqs`) off the queue and, when it is to be tried
    /// again, queues it again in the same transaction, so a crash in
    /// between cannot lose it. Returns the parent (its id on the sending
    /// side) a child waits for.
    ///
    /// # Errors
    ///
    /// A connection-wide failure of the job (the connection is put in the
    /// Error status), or the store's.
    pub(super) fn settle(
        &self,
        conn: &Connection,
        origin: &IssueId,
        result: Result<Outcome>,
        seqs: Vec<u64>,
        report: &mut CycleReport,
    ) -> Result<Option<IssueId>> {
        if result
            .as_ref()
            .is_err_and(|e| e.kind() == ErrorKind::Superseded)
        {
            // Another worker has it: its queue entries stay.
            return Ok(None);
        }
        let mut parent = None;
        let again = match result {
            Ok(outcome) => {
                report.synced += 1;
                report.writes += outcome.writes;
                report.conflicts += outcome.conflicts.len();
                outcome.waiting
            }
            Err(err) => {
                if err.scope() == ErrorScope::Connection {
                    return Err(self.connection_failure(conn, err));
                }
                report.failed += 1;
                parent = awaited_parent(&err);
                // Tried again at its next try (backoff); a quarantined twin
                // waits for a change instead.
                !quarantines(&err)
            }
        };
        let mut txn = self.txn()?;
        for seq in seqs {
            txn.dequeue(seq)?;
        }
        if again && self.requeue_in(&mut *txn, conn, origin)? {
            report.queued += 1;
        }
        txn.commit()?;
        Ok(parent)
    }

    /// Queues both issues of the twin of `origin` in `txn`, so that both
    /// directions are tried again; false when it is no longer under sync.
    pub(super) fn requeue_in(
        &self,
        txn: &mut dyn StoreTxn,
        conn: &Connection,
        origin: &IssueId,
    ) -> Result<bool> {
        let Some(state) = txn.twin_by_remote(&conn.id, origin)? else {
            return Ok(false);
        };
        self.enqueue_twin(txn, conn, &state)?;
        Ok(true)
    }

    /// Lets children that waited for a parent (`waiting`: each child's
    /// origin, the directions it was to sync, and the parent) follow it in
    /// this cycle: the parents brought under sync meanwhile are synced
    /// first, from the queue; then each child whose parent's twin exists
    /// now is synced again; round after round while that gets somewhere.
    /// Children whose parent's twin still does not exist keep their
    /// failure and wait for their next try.
    pub(super) async fn follow_parents(
        &self,
        conn: &Connection,
        mut waiting: BTreeMap<IssueId, (Vec<Direction>, IssueId)>,
        report: &mut CycleReport,
    ) -> Result<()> {
        for _ in 0..ROUNDS {
            if waiting.is_empty() || self.stopping() {
                break;
            }
            let brought = self
                .sync_brought_parents(conn, &mut waiting, report)
                .await?;
            let mut ready = Vec::new();
            for (child, (_, parent)) in &waiting {
                if self.has_twin(conn, parent)? {
                    ready.push(child.clone());
                }
            }
            if brought == 0 && ready.is_empty() {
                break;
            }
            for child in ready {
                let Some((dirs, _)) = waiting.remove(&child) else {
                    continue;
                };
                let hints = Hints {
                    source: None,
                    match_existing: false,
                    batch: None,
                };
                // Its wait counted as a failure queued again; this try replaces it.
                report.failed = report.failed.saturating_sub(1);
                report.queued = report.queued.saturating_sub(1);
                let result = self.sync_twin_recorded(conn, &child, &dirs, hints).await;
                let seqs = self.queued_entries(conn, &child)?;
                if let Some(parent) = self.settle(conn, &child, result, seqs, report)? {
                    waiting.insert(child, (dirs, parent));
                }
            }
        }
        Ok(())
    }

    /// Syncs the queued twins not held back by a failure: the parents
    /// children brought under sync. One that waits for a parent itself
    /// joins `waiting`. Returns how many synced through or joined `waiting`.
    async fn sync_brought_parents(
        &self,
        conn: &Connection,
        waiting: &mut BTreeMap<IssueId, (Vec<Direction>, IssueId)>,
        report: &mut CycleReport,
    ) -> Result<usize> {
        let queued = self.txn()?.queue(&conn.id, usize::MAX)?;
        let records = self.twin_errors(&conn.id)?;
        let mut jobs = super::cycle::Jobs::default();
        self.queued_jobs(
            conn,
            queued,
            &records,
            self.now(),
            &mut HashSet::new(),
            &mut jobs,
        )?;
        let mut synced = 0;
        for origin in jobs.order {
            if waiting.contains_key(&origin) || self.stopping() {
                continue;
            }
            let dirs = jobs.jobs.get(&origin).cloned().unwrap_or_default();
            let hints = Hints {
                source: None,
                match_existing: false,
                batch: None,
            };
            let result = self.sync_twin_recorded(conn, &origin, &dirs, hints).await;
            let through = matches!(&result, Ok(outcome) if !outcome.waiting);
            let seqs = jobs.dequeue.remove(&origin).unwrap_or_default();
            if let Some(parent) = self.settle(conn, &origin, result, seqs, report)? {
                // It waits for a parent of its own, which it may have brought.
                waiting.insert(origin, (dirs, parent));
                synced += 1;
            } else if through {
                synced += 1;
            }
        }
        Ok(synced)
    }

    /// Whether the issue `id` of a replica's sending side has its twin
    /// created (on a local connection it may be either end).
    fn has_twin(&self, conn: &Connection, id: &IssueId) -> Result<bool> {
        let mut txn = self.txn()?;
        Ok(txn
            .twin_by_remote(&conn.id, id)?
            .is_some_and(|t| t.local.is_some())
            || (conn.is_local() && txn.twin_by_local(&conn.id, id)?.is_some()))
    }

    /// The queue entries of the twin of `origin`.
    fn queued_entries(&self, conn: &Connection, origin: &IssueId) -> Result<Vec<u64>> {
        let mut txn = self.txn()?;
        let Some(state) = txn.twin_by_remote(&conn.id, origin)? else {
            return Ok(Vec::new());
        };
        let local = state.local.map(|l| l.id);
        Ok(txn
            .queue(&conn.id, usize::MAX)?
            .into_iter()
            .filter(|q| &q.issue == origin || local.as_ref() == Some(&q.issue))
            .map(|q| q.seq)
            .collect())
    }
}
