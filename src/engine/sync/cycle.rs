//! One sync cycle of a connection: the queue, then polling both sides.

use std::collections::{BTreeMap, HashMap, HashSet};

use futures::StreamExt;
use tracing::Instrument;

use crate::connection::{Connection, ConnectionStatus};
use crate::error::{Error, ErrorKind, ErrorScope, Result};
use crate::model::{ConnectionId, Issue, IssueId, IssueKey};
use crate::tracker::TrackerExt;

use super::recovery::{Hold, edited, hold};
use super::types::{CycleReport, Direction, Hints};
use crate::engine::node::Node;

impl Node {
    /// Runs one sync cycle of every active or deactivated connection.
    ///
    /// # Errors
    ///
    /// The first connection-wide failure; per-twin failures are recorded in
    /// the status instead.
    pub async fn sync_all(&self) -> Result<CycleReport> {
        let mut total = CycleReport::default();
        for conn in self.connections()? {
            if matches!(
                conn.status,
                ConnectionStatus::Active | ConnectionStatus::Deactivated
            ) {
                total.absorb(&self.sync(&conn.id).await?);
            }
        }
        Ok(total)
    }

    /// Tells the node that an issue changed: it is read, queued and synced by
    /// the next [`sync`](Node::sync); a running [`run`](Node::run) loop runs
    /// that cycle at once. A webhook receiver calls
    /// [`hint_changed`](Node::hint_changed) instead, which reads nothing.
    ///
    /// # Errors
    ///
    /// `NotFound` for an unknown connection or issue.
    pub async fn notify_changed(&self, connection: &ConnectionId, key: &IssueKey) -> Result<()> {
        let conn = self.connection(connection)?;
        let issue = self.tracker().issue_by_key(key).await?;
        self.enqueue(&conn, &issue)?;
        self.inner.schedule.notify(&conn.id);
        Ok(())
    }

    /// Runs one sync cycle of a connection: the queued backlog in order, then
    /// every issue changed on either side since the last cycle. Changed issues
    /// that are not under sync and match an enabled trigger of this node are
    /// brought under sync, once each (see [`add_trigger`](crate::engine::Admin::add_trigger)).
    /// While the connection is deactivated, changes are only queued.
    ///
    /// # Errors
    ///
    /// Connection-wide failures (authentication, a missing project), which
    /// also put the connection in the Error status; `InvalidInput` for a
    /// pending connection.
    pub async fn sync(&self, connection: &ConnectionId) -> Result<CycleReport> {
        let conn = self.connection(connection)?;
        let span = tracing::info_span!("cycle", connection = %conn.name);
        syncable(&conn)?;
        let start = self.now();
        let result = self.cycle_of(conn.clone()).instrument(span).await;
        self.observe_cycle(&conn, start, &result);
        result
    }

    /// The cycle of a local or a remote connection.
    async fn cycle_of(&self, conn: Connection) -> Result<CycleReport> {
        // A worker follows the rule version another worker may publish.
        let rules = match self.working() {
            Some(_) => self.follow_published_rules(&conn),
            None => Ok(()),
        };
        if let Err(err) = rules.and_then(|()| self.rules_for(&conn).map(drop)) {
            return Err(self.connection_failure(&conn, err));
        }
        if !conn.is_local() {
            // Its messages and outbox: one worker at a time.
            let lease = crate::engine::worker::cycle_lease(&conn.id);
            if self.take_lease(&lease)?.is_none() {
                return Ok(CycleReport::default());
            }
            return self.remote_cycle(conn).await;
        }
        self.cycle(conn).await
    }

    async fn cycle(&self, conn: Connection) -> Result<CycleReport> {
        let active = conn.status == ConnectionStatus::Active;
        let mut report = CycleReport::default();
        let mut jobs = Jobs::default();
        if active && let Err(err) = self.release_changed_projects(&conn).await {
            return Err(self.connection_failure(&conn, err));
        }
        let hinted = self.inner.schedule.take_hints(&conn.id);
        let records = self.twin_errors(&conn.id)?;
        let now = self.now();
        // Quarantined twins something changed for in this cycle.
        let mut released: HashSet<IssueId> = HashSet::new();
        // A worker polls only while it holds the connection's polling, and
        // sends what it finds to the queue all workers share, which it then
        // works like the others: after the poll, so that what it found is in
        // it, and all at once (the claims keep each twin's order).
        let shared = self.working().is_some();
        let queued = if shared {
            Vec::new()
        } else {
            self.txn()?.queue(&conn.id, usize::MAX)?
        };
        let in_queue: HashSet<IssueId> = queued.iter().map(|q| q.issue.clone()).collect();
        let polls = !shared
            || self
                .take_lease(&crate::engine::worker::poll_lease(&conn.id))?
                .is_some();
        let direct = active && !shared;
        if active && !shared {
            self.queued_jobs(&conn, queued, &records, now, &mut released, &mut jobs)?;
        }
        let backlog = jobs.order.len();
        let mut marks = Vec::new();
        let triggers = self.active_triggers(&conn);
        // Issues a trigger brings under sync, with the snapshot the poll returned.
        let mut fresh: HashMap<IssueId, Issue> = HashMap::new();
        for side in [&conn.a, &conn.b] {
            let (mut issues, newest) = if polls {
                match self.poll(&conn, &side.project).await {
                    Ok(p) => p,
                    Err(err) => return Err(self.connection_failure(&conn, err)),
                }
            } else {
                (Vec::new(), None)
            };
            // Hinted issues the search does not show yet (the watermark
            // stays where the poll put it).
            self.add_hinted(&side.project, &mut issues, &hinted).await;
            report.seen += issues.len();
            // A second copy that could not be deleted for now keeps the
            // watermark where it was, so that the next poll returns it again.
            let mut stray_left = false;
            for issue in issues {
                let Some((origin, dir)) = self.locate(&conn, &issue.id)? else {
                    // (Read in a statement of its own: no transaction
                    // lives across the await below.)
                    let stray_of = if active {
                        Self::twin_issue_of_stray(&mut *self.txn()?, &conn, &issue)?
                    } else {
                        None
                    };
                    if let Some(kept) = stray_of {
                        // A second copy of a twin's issue: repaired, never synced.
                        if let Err(err) = self.remove_stray(&conn, &kept, &issue).await {
                            tracing::warn!(error = %err, issue = %issue.key, "cannot delete a second copy; trying again next cycle");
                            report.failed += 1;
                            stray_left |= err.is_temporary();
                        }
                        continue;
                    }
                    if let Some(trigger) = self.triggered(&conn, &triggers, &issue)
                        && let Some(origin) = self.claim_twin(&conn, &issue)?
                    {
                        tracing::info!(issue = %issue.key, %trigger, "matched a trigger");
                        report.triggered += 1;
                        if direct {
                            jobs.add(origin.clone(), Direction::Forward);
                            fresh.insert(origin, issue);
                        } else {
                            self.enqueue(&conn, &issue)?;
                            report.queued += 1;
                        }
                    }
                    continue;
                };
                let fingerprint = self.polled_fingerprint(&conn, &issue)?;
                if self.unchanged(&conn, fingerprint, &origin, dir)? {
                    continue;
                }
                if active {
                    let record = records.get(&origin);
                    match hold(record, now) {
                        Hold::Backoff => {
                            // Kept for its next try.
                            let queued_already = if shared {
                                self.txn()?.is_queued(&conn.id, &issue.id)?
                            } else {
                                in_queue.contains(&issue.id)
                            };
                            if !queued_already {
                                self.enqueue(&conn, &issue)?;
                            }
                            continue;
                        }
                        Hold::Quarantined if !released.contains(&origin) => {
                            if !record.is_some_and(|r| edited(r, &issue, fingerprint)) {
                                continue;
                            }
                            tracing::info!(issue = %issue.key, "a quarantined twin changed; trying it again");
                            released.insert(origin.clone());
                        }
                        _ => {}
                    }
                }
                if direct {
                    jobs.add(origin, dir);
                } else {
                    self.enqueue(&conn, &issue)?;
                    if !active {
                        report.queued += 1;
                    }
                }
            }
            if let Some(newest) = newest.filter(|_| !stray_left) {
                marks.push((side.project.clone(), newest));
            }
        }
        if active && shared {
            let queued = self.txn()?.queue(&conn.id, usize::MAX)?;
            self.queued_jobs(&conn, queued, &records, now, &mut released, &mut jobs)?;
        }
        let Jobs {
            jobs,
            order,
            mut dequeue,
        } = jobs;
        // The backlog first, in order; then the rest, several twins at once.
        let run = |origin: IssueId| {
            let dirs = jobs.get(&origin).cloned().unwrap_or_default();
            let hints = Hints {
                source: fresh.get(&origin).cloned(),
                match_existing: false,
                batch: None,
            };
            let conn = &conn;
            async move {
                if self.stopping() {
                    // Shutting down: left for the next cycle.
                    return (origin, None);
                }
                let result = self.sync_twin_recorded(conn, &origin, &dirs, hints).await;
                if result
                    .as_ref()
                    .is_err_and(|e| e.kind() == ErrorKind::Superseded)
                {
                    // Another worker has it: its queue entries stay.
                    return (origin, None);
                }
                (origin, Some(result))
            }
        };
        let mut results = Vec::new();
        for origin in order.iter().take(backlog).cloned() {
            results.push(run(origin).await);
        }
        let rest: Vec<_> = futures::stream::iter(order.iter().skip(backlog).cloned())
            .map(run)
            .buffer_unordered(self.options().concurrency)
            .collect()
            .await;
        results.extend(rest);
        let mut requeue = HashSet::new();
        // Children that waited for a parent: by origin, their directions and the parent.
        let mut waiting = BTreeMap::new();
        for (origin, result) in results {
            let Some(result) = result else {
                // Not started: its queue entries stay, and a twin found by
                // this cycle's poll is queued, since the watermark moves on.
                if !dequeue.contains_key(&origin) {
                    requeue.insert(origin.clone());
                }
                dequeue.remove(&origin);
                continue;
            };
            let seqs = dequeue.remove(&origin).unwrap_or_default();
            if let Some(parent) = self.settle(&conn, &origin, result, seqs, &mut report)? {
                let dirs = jobs.get(&origin).cloned().unwrap_or_default();
                waiting.insert(origin, (dirs, parent));
            }
        }
        if active {
            self.follow_parents(&conn, waiting, &mut report).await?;
        }
        let mut txn = self.txn()?;
        for origin in &requeue {
            if self.requeue_in(&mut *txn, &conn, origin)? {
                report.queued += 1;
            }
        }
        for (project, newest) in marks {
            txn.set_watermark(&conn.id, &project, newest)?;
        }
        if active {
            txn.set_last_sync(&conn.id, self.now())?;
        }
        txn.commit()?;
        tracing::info!(?report, "cycle done");
        Ok(report)
    }

    /// The jobs of the queued `items`: each item's twin, unless it waits
    /// for its next try or stays quarantined; items of twins no longer
    /// under sync, and of quarantined twins nothing changed for, are dropped.
    pub(super) fn queued_jobs(
        &self,
        conn: &Connection,
        items: Vec<crate::store::QueueItem>,
        records: &HashMap<IssueId, crate::store::TwinError>,
        now: time::OffsetDateTime,
        released: &mut HashSet<IssueId>,
        jobs: &mut Jobs,
    ) -> Result<()> {
        for item in items {
            let Some((origin, dir)) = self.locate(conn, &item.issue)? else {
                let mut txn = self.txn()?;
                txn.dequeue(item.seq)?;
                txn.commit()?;
                continue;
            };
            let record = records.get(&origin);
            match hold(record, now) {
                // It stays queued until its next try.
                Hold::Backoff => continue,
                // Queued after the failure: something changed.
                Hold::Quarantined if record.is_some_and(|r| item.queued > r.at) => {
                    released.insert(origin.clone());
                }
                Hold::Quarantined if !released.contains(&origin) => {
                    let mut txn = self.txn()?;
                    txn.dequeue(item.seq)?;
                    txn.commit()?;
                    continue;
                }
                _ => {}
            }
            jobs.dequeue
                .entry(origin.clone())
                .or_default()
                .push(item.seq);
            jobs.add(origin, dir);
        }
        Ok(())
    }

    /// The issues of `project` changed since its watermark (minus the
    /// overlap), and the newest change time seen.
    pub(in crate::engine) async fn poll(
        &self,
        conn: &Connection,
        project: &crate::model::ProjectKey,
    ) -> Result<(Vec<Issue>, Option<time::OffsetDateTime>)> {
        let mark = self
            .txn()?
            .watermark(&conn.id, project)?
            .unwrap_or(conn.created);
        // A reconcile sweep reads everything since the connection began.
        let from = if self.full_scan(&conn.id) {
            conn.created.min(mark)
        } else {
            mark
        };
        let since = from - self.options().overlap;
        let issues = self
            .tracker()
            .updated_since_all(project, since, self.options().page_size)
            .await
            .map_err(|e| crate::engine::node::project_error(e, project))?;
        let newest = issues.iter().map(|issue| issue.updated).max();
        Ok((issues, newest.map(|n| n.max(mark))))
    }

    /// The twin an issue belongs to: its origin issue and the direction in
    /// which a change of this issue travels.
    fn locate(&self, conn: &Connection, issue: &IssueId) -> Result<Option<(IssueId, Direction)>> {
        let mut txn = self.txn()?;
        if txn.twin_by_remote(&conn.id, issue)?.is_some() {
            return Ok(Some((issue.clone(), Direction::Forward)));
        }
        Ok(txn
            .twin_by_local(&conn.id, issue)?
            .map(|t| (t.remote.id, Direction::Backward)))
    }

    /// The fingerprint of a polled snapshot's replica under the connection's rules.
    fn polled_fingerprint(&self, conn: &Connection, issue: &Issue) -> Result<u64> {
        let rules = self.rules_for(conn)?;
        let origin_info = crate::replica::Origin {
            instance: self.instance().clone(),
            project: issue.project.clone(),
            id: issue.id.clone(),
            key: issue.key.clone(),
        };
        let replica = rules.outgoing(issue, origin_info, &conn.id);
        Ok(rules.fingerprints(&replica).whole)
    }

    /// Whether a polled snapshot (its replica's `fingerprint`) is what was
    /// last applied from it (no read needed).
    fn unchanged(
        &self,
        conn: &Connection,
        fingerprint: u64,
        origin: &IssueId,
        dir: Direction,
    ) -> Result<bool> {
        let Some(state) = self.txn()?.twin_by_remote(&conn.id, origin)? else {
            return Ok(true);
        };
        let last = match dir {
            Direction::Forward => state.remote_whole,
            Direction::Backward => state.local_whole,
        };
        Ok(last != 0 && fingerprint == last)
    }

    pub(in crate::engine) fn connection_failure(&self, conn: &Connection, err: Error) -> Error {
        if err.scope() == ErrorScope::Connection {
            let cause = err.to_string();
            if let Err(store) = self.fail_connection(&conn.id, cause) {
                return store;
            }
        }
        err.with_connection(&conn.name)
    }
}

/// A cycle's work: by origin issue, the directions to sync, in order, and
/// the queue entries done with it.
#[derive(Default)]
pub(super) struct Jobs {
    pub(super) jobs: BTreeMap<IssueId, Vec<Direction>>,
    pub(super) order: Vec<IssueId>,
    pub(super) dequeue: BTreeMap<IssueId, Vec<u64>>,
}

impl Jobs {
    fn add(&mut self, origin: IssueId, dir: Direction) {
        let dirs = self.jobs.entry(origin.clone()).or_insert_with(|| {
            self.order.push(origin);
            Vec::new()
        });
        if !dirs.contains(&dir) {
            dirs.push(dir);
        }
    }
}

/// Whether a connection may run a cycle: not while pending or stopped.
fn syncable(conn: &Connection) -> Result<()> {
    match &conn.status {
        ConnectionStatus::Pending => Err(Error::new(
            ErrorKind::InvalidInput,
            format!(
                "connection {} is pending; it syncs once accepted",
                conn.name
            ),
        )),
        ConnectionStatus::Error { cause } => Err(Error::new(
            ErrorKind::InvalidConfig,
            format!(
                "connection {} is stopped: {cause}; fix it and activate the connection",
                conn.name
            ),
        )),
        _ => Ok(()),
    }
}
