//! What happens to a twin after its sync failed or was refused: permanent
//! failures are quarantined until something changes, temporary ones are
//! retried with exponential backoff, and deletions the mass-deletion guard
//! refused wait for a user to confirm or dismiss them.

use std::collections::HashMap;
use std::time::Duration;

use time::OffsetDateTime;

use crate::connection::Connection;
use crate::error::{Error, ErrorKind, ErrorScope, Result};
use crate::model::{ConnectionId, Issue, IssueId, IssueKey, ProjectInfo, ProjectKey};
use crate::plan::{Plan, TwinState};
use crate::random::SplitMix64;
use crate::store::{
    DeletedItems, DeletionDecision, Quarantine, QueueItem, RefusedDeletion, SeenIssue, SeenProject,
    StoreTxn, TwinError,
};

use super::Node;

/// The first wait before cycles retry a temporary failure.
pub(super) const BACKOFF_BASE: Duration = Duration::from_secs(30);
/// The longest wait between two retries of a temporary failure.
pub(super) const BACKOFF_CAP: Duration = Duration::from_secs(30 * 60);

/// What a sync read before it failed, so that a change is noticed later.
#[derive(Default)]
pub(super) struct Seen {
    issues: Vec<SeenIssue>,
    project: Option<SeenProject>,
}

impl Seen {
    /// An issue the sync read, with its replica's fingerprint.
    pub(super) fn issue(&mut self, issue: &Issue, fingerprint: u64) {
        self.issues.retain(|s| s.id != issue.id);
        self.issues
            .push(SeenIssue::new(issue.id.clone(), issue.updated, fingerprint));
    }

    /// The target project the sync read.
    pub(super) fn project(&mut self, info: &ProjectInfo) {
        self.project = Some(SeenProject::new(
            info.key.clone(),
            project_fingerprint(info),
        ));
    }
}

/// A fingerprint of a project's metadata (issue types, default type, name).
pub(super) fn project_fingerprint(info: &ProjectInfo) -> u64 {
    let bytes = serde_json::to_vec(info).unwrap_or_default();
    xxhash_rust::xxh3::xxh3_64(&bytes)
}

/// The wait before the retry that follows `attempts` failures in a row:
/// doubling from [`BACKOFF_BASE`] up to [`BACKOFF_CAP`], plus up to a quarter
/// more of jitter drawn from `seed` and the issue (so twins failing together
/// spread out, and a run replays exactly); a longer `Retry-After` wins.
pub(super) fn backoff(
    seed: u64,
    issue: &IssueId,
    attempts: u32,
    retry_after: Option<Duration>,
) -> Duration {
    let doublings = attempts.saturating_sub(1).min(16);
    let wait = BACKOFF_BASE.saturating_mul(1 << doublings).min(BACKOFF_CAP);
    let spread = (wait.as_millis() as u64 / 4).max(1);
    let mut rng = SplitMix64::new(
        seed ^ xxhash_rust::xxh3::xxh3_64(issue.as_str().as_bytes()) ^ u64::from(attempts),
    );
    let jittered = (wait + Duration::from_millis(rng.next_u64() % spread)).min(BACKOFF_CAP);
    retry_after.map_or(jittered, |after| after.max(jittered))
}

/// Whether a failure quarantines its twin: permanent, about this twin only.
/// Kinds that are temporary by nature (outages, timeouts, rate limits) never
/// do, even after the tracker's own retries gave up on them.
pub(super) fn quarantines(err: &Error) -> bool {
    err.scope() == ErrorScope::Twin && !err.is_temporary() && !err.kind().is_temporary_by_default()
}

/// What to do about a quarantined failure of `kind`, in a user's words.
pub(crate) fn action(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::NotFound => "restore the missing item (or unexalate the issue), then retry",
        ErrorKind::PermissionDenied => "grant the missing permission, then retry",
        ErrorKind::InvalidInput | ErrorKind::InvalidConfig => {
            "fix the target project or the connection's rules as the message says, then retry"
        }
        ErrorKind::Incompatible => "upgrade twinsync on both nodes, then retry",
        ErrorKind::AlreadyExists | ErrorKind::Conflict => {
            "check both issues of the twin, then retry"
        }
        _ => "fix the cause above, then retry",
    }
}

/// Why a cycle leaves a twin alone now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Hold {
    /// Not held: sync it when it comes up.
    No,
    /// A temporary failure backing off until its next try.
    Backoff,
    /// A permanent failure waiting for a change.
    Quarantined,
}

/// Whether a cycle at `now` leaves the twin of `record` alone.
pub(super) fn hold(record: Option<&TwinError>, now: OffsetDateTime) -> Hold {
    match record {
        // A user decided: the next sync carries it out.
        Some(r) if r.is_refusal() && r.decision.is_some() => Hold::No,
        Some(r) if r.quarantine.is_some() => Hold::Quarantined,
        Some(r) if r.next_try.is_some_and(|t| now < t) => Hold::Backoff,
        _ => Hold::No,
    }
}

/// Whether a polled snapshot of one of its issues releases a quarantined
/// twin: edited since the failing sync read it, or never read by it and
/// edited after the failure.
pub(super) fn edited(record: &TwinError, issue: &Issue, fingerprint: u64) -> bool {
    let Some(q) = &record.quarantine else {
        return true;
    };
    match q.issues.iter().find(|s| s.id == issue.id) {
        Some(seen) => issue.updated > seen.updated || fingerprint != seen.fingerprint,
        None => issue.updated > record.at,
    }
}

/// The refused deletions of a plan, as recorded.
pub(super) fn refused_of(plan: &Plan) -> Vec<RefusedDeletion> {
    plan.refusals
        .iter()
        .map(|r| {
            let items = if r.items == "attachments" {
                DeletedItems::Attachments
            } else {
                DeletedItems::Comments
            };
            RefusedDeletion::new(items, r.would_delete, r.synced)
        })
        .collect()
}

impl Node {
    /// The recorded errors and refusals of a connection, by issue.
    pub(super) fn twin_errors(&self, conn: &ConnectionId) -> Result<HashMap<IssueId, TwinError>> {
        Ok(self
            .txn()?
            .errors(conn)?
            .into_iter()
            .map(|e| (e.issue.clone(), e))
            .collect())
    }

    /// The decision a user made about the refused deletions of a twin.
    pub(super) fn deletion_decision(
        &self,
        conn: &ConnectionId,
        issue: &IssueId,
    ) -> Result<Option<DeletionDecision>> {
        Ok(self
            .txn()?
            .errors(conn)?
            .into_iter()
            .find(|e| &e.issue == issue)
            .and_then(|e| e.decision))
    }

    /// Records a failed sync of the twin whose record is under `issue`:
    /// quarantined when permanent, backing off when temporary. A refused
    /// deletion on record (and a decision about it) is kept.
    pub(super) fn record_failure(
        &self,
        conn: &ConnectionId,
        issue: &IssueId,
        key: IssueKey,
        err: &Error,
        seen: Seen,
    ) -> Result<()> {
        let mut txn = self.txn()?;
        let previous = txn.errors(conn)?.into_iter().find(|e| &e.issue == issue);
        let now = self.now();
        let mut record = TwinError::new(
            conn.clone(),
            issue.clone(),
            key,
            err.kind(),
            err.to_string(),
            now,
        );
        if let Some(p) = previous {
            // A refusal on record is not a failure in a row.
            record.attempts = if p.is_refusal() { 1 } else { p.attempts + 1 };
            record.refused = p.refused;
            record.decision = p.decision;
        }
        if quarantines(err) {
            record.quarantine = Some(Quarantine {
                issues: seen.issues,
                project: seen.project,
            });
            tracing::warn!(issue = %record.key, error = %err, "twin quarantined until something changes");
        } else if err.scope() == ErrorScope::Twin {
            let wait = backoff(
                self.options().retry.seed,
                issue,
                record.attempts,
                err.retry_after(),
            );
            record.next_try = Some(now + wait);
        }
        txn.put_error(&record)?;
        txn.commit()
    }

    /// After a sync that applied its plans: records the deletions the guard
    /// refused (the rest of the plans applied), or clears the record.
    pub(super) fn record_success(
        &self,
        txn: &mut dyn StoreTxn,
        conn: &ConnectionId,
        issue: &IssueId,
        key: IssueKey,
        refused: Vec<RefusedDeletion>,
        seen: Seen,
    ) -> Result<()> {
        if refused.is_empty() {
            return txn.clear_error(conn, issue);
        }
        let message = refused
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        tracing::warn!(issue = %key, %message, "deletions refused by the mass-deletion guard");
        let mut record = TwinError::new(
            conn.clone(),
            issue.clone(),
            key,
            ErrorKind::Refused,
            format!("the mass-deletion guard refused: {message}"),
            self.now(),
        );
        record.refused = refused;
        // Cycles plan it again only when something changes.
        record.quarantine = Some(Quarantine {
            issues: seen.issues,
            project: seen.project,
        });
        txn.put_error(&record)
    }

    /// Forgets the failure on record for `issue` (its twin is in step), but
    /// not a refused deletion: that waits for a user's decision.
    pub(super) fn clear_failure(
        txn: &mut dyn StoreTxn,
        conn: &ConnectionId,
        issue: &IssueId,
    ) -> Result<()> {
        let refusal = txn
            .errors(conn)?
            .iter()
            .any(|e| &e.issue == issue && e.is_refusal());
        if refusal {
            return Ok(());
        }
        txn.clear_error(conn, issue)
    }

    /// Queues both issues of a twin, so that the next cycle syncs it.
    pub(super) fn enqueue_twin(
        &self,
        txn: &mut dyn StoreTxn,
        conn: &Connection,
        twin: &TwinState,
    ) -> Result<()> {
        let issues: Vec<(&crate::model::ProjectKey, &IssueId)> = if conn.is_local() {
            std::iter::once((&conn.a.project, &twin.remote.id))
                .chain(twin.local.as_ref().map(|l| (&conn.b.project, &l.id)))
                .collect()
        } else {
            // This node's issue is the one it sends.
            let own = super::remote::own_project(conn, self.instance())?;
            twin.local
                .as_ref()
                .map(|l| (own, &l.id))
                .into_iter()
                .collect()
        };
        for (project, issue) in issues {
            txn.enqueue(&QueueItem {
                seq: 0,
                connection: conn.id.clone(),
                project: project.clone(),
                issue: issue.clone(),
                queued: self.now(),
            })?;
        }
        Ok(())
    }

    /// Lets cycles try the quarantined twins of a connection again (its rules
    /// changed): each is queued, its failure stays on record until it syncs.
    pub(super) fn release_quarantines(&self, connection: &ConnectionId) -> Result<usize> {
        let conn = self.connection(connection)?;
        let mut txn = self.txn()?;
        let mut released = 0;
        for mut record in txn.errors(&conn.id)? {
            if record.quarantine.take().is_none() {
                continue;
            }
            if let Some(twin) = txn.twin_by_remote(&conn.id, &record.issue)? {
                self.enqueue_twin(&mut *txn, &conn, &twin)?;
            }
            txn.put_error(&record)?;
            released += 1;
        }
        txn.commit()?;
        if released > 0 {
            tracing::info!(connection = %conn.name, released, "quarantined twins released");
        }
        Ok(released)
    }

    /// Lets cycles try the quarantined failures of a connection whose target
    /// project's metadata changed since they failed (each project is read
    /// afresh once, only when a quarantined failure saw it): each is queued.
    /// Returns the released records.
    pub(super) async fn release_changed_projects(
        &self,
        conn: &Connection,
    ) -> Result<Vec<TwinError>> {
        let quarantined: Vec<TwinError> = self
            .txn()?
            .errors(&conn.id)?
            .into_iter()
            .filter(|r| !r.is_refusal())
            .filter(|r| r.quarantine.as_ref().is_some_and(|q| q.project.is_some()))
            .collect();
        let mut now: HashMap<ProjectKey, u64> = HashMap::new();
        let mut released = Vec::new();
        for mut record in quarantined {
            let Some(seen) = record.quarantine.as_ref().and_then(|q| q.project.clone()) else {
                continue;
            };
            let fingerprint = match now.get(&seen.key) {
                Some(f) => *f,
                None => {
                    let info = self
                        .tracker()
                        .project(&seen.key)
                        .await
                        .map_err(|e| super::project_error(e, &seen.key))?;
                    let f = project_fingerprint(&info);
                    now.insert(seen.key.clone(), f);
                    f
                }
            };
            if fingerprint == seen.fingerprint {
                continue;
            }
            self.forget_project(&seen.key);
            tracing::info!(issue = %record.key, project = %seen.key, "the project changed; trying a quarantined twin again");
            let mut txn = self.txn()?;
            record.quarantine = None;
            txn.put_error(&record)?;
            if let Some(twin) = txn.twin_by_remote(&conn.id, &record.issue)? {
                self.enqueue_twin(&mut *txn, conn, &twin)?;
            }
            txn.commit()?;
            released.push(record);
        }
        Ok(released)
    }

    /// Confirms the deletion the mass-deletion guard refused on the twin of
    /// `key`: the next sync of that twin carries it out, once (the twin is
    /// queued for the next cycle), and the refusal is cleared. On a remote
    /// connection, call it on the node that refused (whose panel shows it);
    /// it asks the other node to send the issue again.
    ///
    /// # Errors
    ///
    /// `NotFound` when the issue is not under sync on the connection or no
    /// deletion of its twin is refused.
    pub async fn confirm_deletion(&self, connection: &ConnectionId, key: &IssueKey) -> Result<()> {
        self.decide_deletion(connection, key, DeletionDecision::Confirmed)
            .await
    }

    /// Dismisses the deletion the mass-deletion guard refused on the twin of
    /// `key`: nothing is deleted. The next sync forgets the links of the
    /// items deleted on the other side, so they are not planned for deletion
    /// again; the items left on this side are then copies of nothing, which
    /// the sync back copies to the side that deleted them. Both sides hold
    /// the items again, linked anew, and later cycles are quiet: a dismissed
    /// deletion is undone rather than left half-applied. On a remote
    /// connection, call it on the node that refused.
    ///
    /// # Errors
    ///
    /// `NotFound` when the issue is not under sync on the connection or no
    /// deletion of its twin is refused.
    pub async fn dismiss_deletion(&self, connection: &ConnectionId, key: &IssueKey) -> Result<()> {
        self.decide_deletion(connection, key, DeletionDecision::Dismissed)
            .await
    }

    async fn decide_deletion(
        &self,
        connection: &ConnectionId,
        key: &IssueKey,
        decision: DeletionDecision,
    ) -> Result<()> {
        let conn = self.connection(connection)?;
        let twin = self.twin_of_key(connection, key)?;
        {
            let mut txn = self.txn()?;
            let mut record = txn
                .errors(&conn.id)?
                .into_iter()
                .find(|e| e.issue == twin.remote.id && !e.refused.is_empty())
                .ok_or_else(|| {
                    Error::new(
                        ErrorKind::NotFound,
                        format!(
                            "no deletion is refused on issue {key} of connection {}",
                            conn.name
                        ),
                    )
                })?;
            record.decision = Some(decision);
            txn.put_error(&record)?;
            // The next replica is planned in full, even one this node's
            // state counts as applied (a remote twin's acknowledgements
            // carry that state).
            let mut state = twin.clone();
            state.remote_whole = crate::plan::UNSYNCED;
            txn.put_twin(&state)?;
            self.enqueue_twin(&mut *txn, &conn, &twin)?;
            txn.commit()?;
        }
        tracing::info!(connection = %conn.name, issue = %key, ?decision, "refused deletion decided");
        if !conn.is_local() {
            self.ask_resend(&conn, &twin.remote.id).await?;
        }
        Ok(())
    }
}
