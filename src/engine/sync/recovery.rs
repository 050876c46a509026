//! What happens to a twin after its sync failed or was refused: permanent
//! failures are quarantined until something changes, temporary ones are
//! retried with exponential backoff, and deletions the mass-deletion guard
//! refused wait for a user to confirm or dismiss them.

use std::collections::HashMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::connection::Connection;
use crate::error::{Error, ErrorKind, ErrorScope, Result};
use crate::model::{ConnectionId, Issue, IssueId, IssueKey, ProjectInfo, ProjectKey};
use crate::plan::TwinState;
use crate::random::SplitMix64;
use crate::store::{
    DeletionDecision, Quarantine, QueueItem, SeenIssue, SeenProject, StoreTxn, TwinError,
};

use crate::engine::node::Node;

/// The first wait before cycles retry a temporary failure.
pub(in crate::engine) const BACKOFF_BASE: Duration = Duration::from_secs(30);
/// The longest wait between two retries of a temporary failure.
pub(in crate::engine) const BACKOFF_CAP: Duration = Duration::from_secs(30 * 60);

/// What a sync read before it failed, so that a change is noticed later,
/// and the writes it made (reported even when it fails halfway).
#[derive(Default)]
pub(in crate::engine) struct Seen {
    pub(in crate::engine) issues: Vec<SeenIssue>,
    pub(in crate::engine) project: Option<SeenProject>,
    pub(in crate::engine) writes: usize,
    /// Workflow transitions the tracker refused (the rest applied).
    pub(in crate::engine) transitions: Vec<crate::store::RefusedTransition>,
}

impl Seen {
    /// An issue the sync read, with its replica's fingerprint.
    pub(in crate::engine) fn issue(&mut self, issue: &Issue, fingerprint: u64) {
        self.issues.retain(|s| s.id != issue.id);
        self.issues
            .push(SeenIssue::new(issue.id.clone(), issue.updated, fingerprint));
    }

    /// The target project the sync read.
    pub(in crate::engine) fn project(&mut self, info: &ProjectInfo) {
        self.project = Some(SeenProject::new(
            info.key.clone(),
            project_fingerprint(info),
        ));
    }
}

/// A fingerprint of a project's metadata (issue types, default type, name).
pub(in crate::engine) fn project_fingerprint(info: &ProjectInfo) -> u64 {
    let bytes = serde_json::to_vec(info).unwrap_or_default();
    xxhash_rust::xxh3::xxh3_64(&bytes)
}

/// The wait before the retry that follows `attempts` failures in a row:
/// doubling from [`BACKOFF_BASE`] up to [`BACKOFF_CAP`], plus up to a quarter
/// more of jitter drawn from `seed` and the issue (so twins failing together
/// spread out, and a run replays exactly); a longer `Retry-After` wins.
pub(in crate::engine) fn backoff(
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
pub(in crate::engine) fn quarantines(err: &Error) -> bool {
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

/// What happens next to a twin whose last sync failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "recovery", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Recovery {
    /// A temporary failure: cycles try it again from `next_try` on (the wait
    /// doubles with each failure in a row, up to 30 minutes).
    Backoff {
        /// When cycles try it again.
        #[serde(with = "time::serde::rfc3339")]
        next_try: OffsetDateTime,
    },
    /// A permanent failure: cycles leave the twin alone until one of its
    /// issues is edited, the target project or the connection's rules
    /// change, or a user calls [`retry`](Node::retry) or
    /// [`resolve`](crate::engine::Admin::resolve).
    Quarantined {
        /// What to do about it.
        action: String,
    },
    /// Cycles try it again when its issues next change or are queued (a
    /// connection-wide failure, or a failure recorded by an earlier version).
    NextCycle,
}

impl Recovery {
    pub(in crate::engine) fn of(error: &TwinError) -> Self {
        if error.quarantine.is_some() {
            Recovery::Quarantined {
                action: action(error.kind).to_owned(),
            }
        } else if let Some(next_try) = error.next_try {
            Recovery::Backoff { next_try }
        } else {
            Recovery::NextCycle
        }
    }
}

/// Why a cycle leaves a twin alone now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(in crate::engine) enum Hold {
    /// Not held: sync it when it comes up.
    No,
    /// A temporary failure backing off until its next try.
    Backoff,
    /// A permanent failure waiting for a change.
    Quarantined,
}

/// Whether a cycle at `now` leaves the twin of `record` alone.
pub(in crate::engine) fn hold(record: Option<&TwinError>, now: OffsetDateTime) -> Hold {
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
pub(in crate::engine) fn edited(record: &TwinError, issue: &Issue, fingerprint: u64) -> bool {
    let Some(q) = &record.quarantine else {
        return true;
    };
    match q.issues.iter().find(|s| s.id == issue.id) {
        Some(seen) => issue.updated > seen.updated || fingerprint != seen.fingerprint,
        None => issue.updated > record.at,
    }
}

impl Node {
    /// The recorded errors and refusals of a connection, by issue.
    pub(in crate::engine) fn twin_errors(
        &self,
        conn: &ConnectionId,
    ) -> Result<HashMap<IssueId, TwinError>> {
        Ok(self
            .txn()?
            .errors(conn)?
            .into_iter()
            .map(|e| (e.issue.clone(), e))
            .collect())
    }

    /// The decision a user made about the refused deletions of a twin.
    pub(in crate::engine) fn deletion_decision(
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
    /// deletion on record (and a decision about it) is kept. A write another
    /// worker superseded is no failure of the twin's: it is not recorded.
    pub(in crate::engine) fn record_failure(
        &self,
        conn: &ConnectionId,
        issue: &IssueId,
        key: IssueKey,
        err: &Error,
        seen: Seen,
    ) -> Result<()> {
        if err.kind() == ErrorKind::Superseded {
            tracing::info!(error = %err, issue = %key, "another worker holds the twin");
            return Ok(());
        }
        self.observe_twin_failure(conn, err);
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

    /// Forgets the failure on record for `issue` (its twin is in step), but
    /// not a refused deletion: that waits for a user's decision.
    pub(in crate::engine) fn clear_failure(
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
    pub(in crate::engine) fn enqueue_twin(
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
            let own = crate::engine::node::own_project(conn, self.instance())?;
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
    pub(in crate::engine) fn release_quarantines(
        &self,
        connection: &ConnectionId,
    ) -> Result<usize> {
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
    pub(in crate::engine) async fn release_changed_projects(
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
                        .map_err(|e| crate::engine::node::project_error(e, &seen.key))?;
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::ids as lit;

    #[test]
    fn backoff_doubles_from_30_seconds_up_to_30_minutes_with_bounded_jitter() {
        let id = lit::issue_id("10001");
        let secs = |n| backoff(7, &id, n, None).as_secs();
        for (attempts, low) in [(1, 30), (2, 60), (3, 120), (4, 240)] {
            let s = secs(attempts);
            assert!((low..=low + low / 4).contains(&s), "{attempts}: {s}");
        }
        assert_eq!(secs(20), 30 * 60, "capped");
        assert_eq!(secs(2), secs(2), "the same wait for the same seed");
        let longer = backoff(7, &id, 1, Some(Duration::from_secs(600)));
        assert_eq!(
            longer,
            Duration::from_secs(600),
            "a longer Retry-After wins"
        );
    }

    #[test]
    fn temporary_kinds_never_quarantine_even_when_marked_permanent() {
        let gave_up = Error::new(ErrorKind::Unavailable, "server error").set_temporary(false);
        assert!(!quarantines(&gave_up));
        assert!(quarantines(&Error::new(
            ErrorKind::InvalidConfig,
            "no type"
        )));
        let wide = Error::new(ErrorKind::NotFound, "no project").with_scope(ErrorScope::Connection);
        assert!(!quarantines(&wide));
    }

    #[test]
    fn a_record_written_before_quarantines_reads_as_retried_next_cycle() {
        let old = r#"{"connection":"c1","issue":"1","key":"SUP-1","kind":"NotFound",
            "message":"gone","at":"2026-01-01T00:00:00Z","attempts":2}"#;
        let record: TwinError = serde_json::from_str(old).unwrap();
        assert_eq!(record.attempts, 2);
        assert_eq!(hold(Some(&record), record.at), Hold::No);
        assert_eq!(Recovery::of(&record), Recovery::NextCycle);
    }
}
