//! Syncing one twin: exalate, connect, unexalate, and the per-twin sync.

use futures::TryStreamExt;
use serde::Serialize;
use time::macros::format_description;
use tracing::Instrument;

use crate::connection::{Connection, ConnectionStatus};
use crate::error::{Error, ErrorKind, Result};
use crate::model::{ConnectionId, Issue, IssueId, IssueKey, IssueRef};
use crate::plan::{Conflict, Plan, TwinState, Winner};
use crate::replica::{Marker, Origin};
use crate::store::{IntentKind, QueueItem, TwinConflicts};
use crate::tracker::{Page, TrackerExt};

use super::Node;
use super::apply::ApplyRequest;
use super::recovery::Seen;
use super::refusals::refused_of;

/// Which way one sync of a twin goes, relative to its stored state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum Direction {
    /// From the origin issue (the one exalated) to its twin.
    Forward,
    /// From the twin back to the origin issue.
    Backward,
}

/// A twin as the engine reports it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct TwinInfo {
    /// The connection.
    pub connection: ConnectionId,
    /// The issue that was exalated (or the first issue given to connect).
    pub origin: IssueRef,
    /// Its twin, once created.
    pub twin: Option<IssueRef>,
    /// Writes the sync just made.
    pub writes: usize,
    /// Conflicts the sync just met (both values and the winner).
    pub conflicts: Vec<Conflict>,
    /// Whether the sync waits (a lost create settling, or a paused connection).
    pub waiting: bool,
    /// The plans the sync just executed on this node, in order (towards the
    /// twin, then back): exactly what [Test Run](Node::test_run) showed for
    /// the same issues in the same state. Empty on a remote connection, whose
    /// plans execute on the other node.
    pub plans: Vec<Plan>,
}

#[derive(Default)]
pub(super) struct Hints {
    /// A snapshot of the origin issue just read (saves a read for new twins).
    pub(super) source: Option<Issue>,
    /// Link comments that exist on both sides instead of copying them.
    pub(super) match_existing: bool,
}

#[derive(Default)]
pub(super) struct Outcome {
    pub(super) writes: usize,
    pub(super) conflicts: Vec<Conflict>,
    pub(super) waiting: bool,
    pub(super) plans: Vec<Plan>,
}

fn origin_of(node: &Node, issue: &Issue) -> Origin {
    Origin {
        instance: node.instance().clone(),
        project: issue.project.clone(),
        id: issue.id.clone(),
        key: issue.key.clone(),
    }
}

impl Node {
    /// Brings one issue under sync: the first sync creates its twin on the
    /// other side of the connection (with comments and attachments); an issue
    /// already under sync is synced again.
    ///
    /// # Errors
    ///
    /// `NotFound` for an unknown connection or issue; `InvalidInput` when the
    /// issue is in neither project of the connection; `AlreadyExists` for an
    /// issue this connection created whose twin is not recorded (yet): a lost
    /// create settling, or a store being re-derived; the sync's errors (they
    /// are also recorded in the [status](Node::status)).
    pub async fn exalate(&self, connection: &ConnectionId, key: &IssueKey) -> Result<TwinInfo> {
        let conn = self.connection(connection)?;
        let issue = self.tracker().issue_by_key(key).await?;
        self.exalate_issue(&conn, issue).await
    }

    pub(super) async fn exalate_issue(&self, conn: &Connection, issue: Issue) -> Result<TwinInfo> {
        if !conn.is_local() {
            return self.exalate_remote(conn, issue).await;
        }
        if conn.side_of(&issue.project).is_none() {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "issue {} is in project {}, which connection {} does not sync ({} ↔ {})",
                    issue.key, issue.project, conn.name, conn.a.project, conn.b.project
                ),
            ));
        }
        let (origin, new) = {
            let mut txn = self.txn()?;
            let existing = match txn.twin_by_remote(&conn.id, &issue.id)? {
                Some(t) => Some(t),
                None => txn.twin_by_local(&conn.id, &issue.id)?,
            };
            match existing {
                Some(t) => (t.remote.id, false),
                None => {
                    super::triggers::refuse_sync_copy(conn, &issue)?;
                    txn.put_twin(&TwinState::new(conn.id.clone(), issue.reference()))?;
                    txn.commit()?;
                    (issue.id.clone(), true)
                }
            }
        };
        if conn.status != ConnectionStatus::Active {
            self.enqueue(conn, &issue)?;
            return self.twin_info(conn, &origin, None);
        }
        let hints = Hints {
            source: new.then_some(issue),
            match_existing: false,
        };
        let dirs: &[Direction] = if new {
            &[Direction::Forward]
        } else {
            &[Direction::Forward, Direction::Backward]
        };
        let outcome = self.sync_twin_recorded(conn, &origin, dirs, hints).await?;
        self.twin_info(conn, &origin, Some(outcome))
    }

    /// Links an existing issue to an existing issue on the other side of the
    /// connection, then syncs them both ways.
    ///
    /// `origin`, the issue connected from, is the source at that moment: its
    /// summary, description and issue type (and any other synced field that
    /// differs) overwrite the twin's, with no conflict recorded. Comments
    /// present on both with the same body and author are matched, not copied;
    /// every other comment is copied to the other issue, both ways. From then
    /// on edits travel both ways as for any twin. The same holds on a remote
    /// connection, where `origin` is this node's issue and `twin` the key of
    /// the other node's issue.
    ///
    /// # Errors
    ///
    /// `AlreadyExists` when either issue is under sync already; `InvalidInput`
    /// when they are not one in each project of the connection.
    pub async fn connect(
        &self,
        connection: &ConnectionId,
        origin: &IssueKey,
        twin: &IssueKey,
    ) -> Result<TwinInfo> {
        let conn = self.connection(connection)?;
        if !conn.is_local() {
            return self.connect_remote(&conn, origin, twin).await;
        }
        let a = self.tracker().issue_by_key(origin).await?;
        let b = self.tracker().issue_by_key(twin).await?;
        let sides_ok = conn
            .other_side(&a.project)
            .is_some_and(|s| s.project == b.project);
        if !sides_ok {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "connect needs one issue in {} and one in {}; got {} ({}) and {} ({})",
                    conn.a.project, conn.b.project, a.key, a.project, b.key, b.project
                ),
            ));
        }
        {
            let mut txn = self.txn()?;
            for issue in [&a, &b] {
                let taken = txn.twin_by_remote(&conn.id, &issue.id)?.is_some()
                    || txn.twin_by_local(&conn.id, &issue.id)?.is_some();
                if taken {
                    return Err(Error::new(
                        ErrorKind::AlreadyExists,
                        format!(
                            "issue {} is already under sync on connection {}",
                            issue.key, conn.name
                        ),
                    ));
                }
            }
            let mut state = TwinState::new(conn.id.clone(), a.reference());
            state.local = Some(b.reference());
            txn.put_twin(&state)?;
            txn.commit()?;
        }
        let hints = Hints {
            source: None,
            match_existing: true,
        };
        let outcome = self
            .sync_twin_recorded(
                &conn,
                &a.id,
                &[Direction::Forward, Direction::Backward],
                hints,
            )
            .await?;
        self.twin_info(&conn, &a.id, Some(outcome))
    }

    /// Stops syncing an issue and its twin; both issues stay, later edits no
    /// longer travel.
    ///
    /// # Errors
    ///
    /// `NotFound` when the issue is not under sync on the connection.
    pub async fn unexalate(&self, connection: &ConnectionId, key: &IssueKey) -> Result<TwinInfo> {
        let conn = self.connection(connection)?;
        if !conn.is_local() {
            return self.unexalate_remote(&conn, key).await;
        }
        let issue = self.tracker().issue_by_key(key).await?;
        let mut txn = self.txn()?;
        let state = match txn.twin_by_remote(&conn.id, &issue.id)? {
            Some(t) => t,
            None => txn.twin_by_local(&conn.id, &issue.id)?.ok_or_else(|| {
                Error::new(
                    ErrorKind::NotFound,
                    format!("issue {key} is not under sync on connection {}", conn.name),
                )
            })?,
        };
        txn.delete_twin(&conn.id, &state.remote.id)?;
        for id in std::iter::once(&state.remote.id).chain(state.local.as_ref().map(|l| &l.id)) {
            txn.clear_error(&conn.id, id)?;
        }
        for intent in txn.intents(&conn.id)? {
            if intent.origin == state.remote.id
                || state.local.as_ref().is_some_and(|l| l.id == intent.origin)
            {
                txn.delete_intent(&intent.id)?;
            }
        }
        txn.put_conflicts(&TwinConflicts {
            connection: conn.id.clone(),
            origin: state.remote.id.clone(),
            conflicts: Vec::new(),
        })?;
        txn.commit()?;
        tracing::info!(connection = %conn.name, issue = %key, "unexalated");
        Ok(TwinInfo {
            connection: conn.id,
            origin: state.remote,
            twin: state.local,
            writes: 0,
            conflicts: Vec::new(),
            waiting: false,
            plans: Vec::new(),
        })
    }

    pub(super) fn twin_info(
        &self,
        conn: &Connection,
        origin: &IssueId,
        outcome: Option<Outcome>,
    ) -> Result<TwinInfo> {
        let state = self
            .txn()?
            .twin_by_remote(&conn.id, origin)?
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::NotFound,
                    format!("issue {origin} is not under sync on {}", conn.name),
                )
            })?;
        let outcome = outcome.unwrap_or(Outcome {
            waiting: true,
            ..Outcome::default()
        });
        Ok(TwinInfo {
            connection: conn.id.clone(),
            origin: state.remote,
            twin: state.local,
            writes: outcome.writes,
            conflicts: outcome.conflicts,
            waiting: outcome.waiting,
            plans: outcome.plans,
        })
    }

    pub(super) fn enqueue(&self, conn: &Connection, issue: &Issue) -> Result<()> {
        let mut txn = self.txn()?;
        txn.enqueue(&QueueItem {
            seq: 0,
            connection: conn.id.clone(),
            project: issue.project.clone(),
            issue: issue.id.clone(),
            queued: self.now(),
        })?;
        txn.commit()
    }

    /// Syncs a twin and records its failure: quarantined when permanent,
    /// backing off when temporary (see [`recovery`](super::recovery)).
    pub(super) async fn sync_twin_recorded(
        &self,
        conn: &Connection,
        origin: &IssueId,
        dirs: &[Direction],
        hints: Hints,
    ) -> Result<Outcome> {
        let span = tracing::info_span!("twin", connection = %conn.name, origin = %origin);
        let mut seen = Seen::default();
        let result = self
            .sync_twin(conn, origin, dirs, hints, &mut seen)
            .instrument(span)
            .await;
        if let Err(err) = &result {
            tracing::warn!(error = %err, "twin sync failed");
            let key = self
                .txn()?
                .twin_by_remote(&conn.id, origin)?
                .map_or_else(|| IssueKey::stand_in(origin), |t| t.remote.key);
            self.record_failure(&conn.id, origin, key, err, seen)?;
        }
        result
    }

    async fn sync_twin(
        &self,
        conn: &Connection,
        origin: &IssueId,
        dirs: &[Direction],
        mut hints: Hints,
        seen: &mut Seen,
    ) -> Result<Outcome> {
        let mut total = Outcome::default();
        let decision = self.deletion_decision(&conn.id, origin)?;
        let mut refused = Vec::new();
        for dir in dirs {
            let Some(stored) = self.txn()?.twin_by_remote(&conn.id, origin)? else {
                return Ok(total); // unexalated meanwhile
            };
            let Some(stored) = self.resolve_intents(conn, stored).await? else {
                total.waiting = true;
                return Ok(total);
            };
            let perspective = match dir {
                Direction::Forward => stored.clone(),
                Direction::Backward => match stored.flipped() {
                    Some(s) => s,
                    None => continue, // the twin does not exist yet
                },
            };
            let source = match hints.source.take().filter(|_| *dir == Direction::Forward) {
                Some(s) => s,
                None => self
                    .tracker()
                    .issue(&perspective.remote.id)
                    .await
                    .map_err(|e| e.with_issue(&perspective.remote.key))?,
            };
            let target_side = conn.other_side(&source.project).ok_or_else(|| {
                Error::new(
                    ErrorKind::InvalidInput,
                    format!(
                        "issue {} moved out of the projects of connection {}",
                        source.key, conn.name
                    ),
                )
                .with_issue(&source.key)
            })?;
            let rules = self.rules_for(conn)?;
            let replica = rules.outgoing(&source, origin_of(self, &source), &conn.id);
            seen.issue(&source, rules.fingerprints(&replica).whole);
            let request = ApplyRequest {
                conn,
                twin: origin,
                replica: &replica,
                state: perspective,
                project: &target_side.project,
                match_existing: hints.match_existing,
                // Connecting: the first issue given (the origin) is the source.
                source: hints.match_existing.then_some(match dir {
                    Direction::Forward => Winner::Remote,
                    Direction::Backward => Winner::Local,
                }),
                decision,
            };
            let files = super::execute::SameTracker(&**self.tracker());
            let applied = self.apply(request, *dir, &files, seen).await?;
            refused.extend(refused_of(&applied.plan));
            total.writes += applied.writes;
            total
                .conflicts
                .extend(applied.plan.conflicts.iter().cloned());
            total.plans.push(applied.plan);
        }
        let mut txn = self.txn()?;
        let key = txn
            .twin_by_remote(&conn.id, origin)?
            .map_or_else(|| IssueKey::stand_in(origin), |t| t.remote.key);
        self.record_success(
            &mut *txn,
            &conn.id,
            origin,
            key,
            refused,
            std::mem::take(seen),
        )?;
        txn.commit()?;
        Ok(total)
    }

    /// Settles the open intents of a twin; `None` while a lost create is
    /// still within its settle window.
    pub(super) async fn resolve_intents(
        &self,
        conn: &Connection,
        mut stored: TwinState,
    ) -> Result<Option<TwinState>> {
        let intents: Vec<_> = self
            .txn()?
            .intents(&conn.id)?
            .into_iter()
            .filter(|i| {
                // A remote connection's intents always name the other side's
                // issue (its ids may equal this side's).
                i.origin == stored.remote.id
                    || (conn.is_local() && stored.local.as_ref().is_some_and(|l| l.id == i.origin))
            })
            .collect();
        for intent in intents {
            if let (IntentKind::CreateIssue { project }, None) = (&intent.kind, &stored.local) {
                let since = intent.indeterminate_since.unwrap_or(intent.created);
                if self.now() < since + self.options().settle {
                    return Ok(None);
                }
                if let Some(found) = self
                    .find_marked_issue(conn, project, &intent.origin, intent.created)
                    .await?
                {
                    tracing::info!(twin = %found.key, "adopted an issue created by a lost request");
                    stored.local = Some(found);
                }
            }
            // Comments and attachments need no search: the planner adopts what
            // a fresh read shows (markers, names and sizes).
            let mut txn = self.txn()?;
            txn.put_twin(&stored)?;
            txn.delete_intent(&intent.id)?;
            txn.commit()?;
        }
        Ok(Some(stored))
    }

    async fn find_marked_issue(
        &self,
        conn: &Connection,
        project: &crate::model::ProjectKey,
        origin: &IssueId,
        since: time::OffsetDateTime,
    ) -> Result<Option<IssueRef>> {
        let from = since - time::Duration::minutes(2);
        let text = from
            .format(format_description!("[year]-[month]-[day] [hour]:[minute]"))
            .map_err(|e| Error::new(ErrorKind::Unexpected, format!("cannot format a date: {e}")))?;
        let jql = format!("project = {project} AND created >= \"{text}\"");
        let mut pages = self
            .tracker()
            .search_pages(&jql, Page::first(self.options().page_size));
        while let Some(result) = pages.try_next().await? {
            for issue in &result.issues {
                if Marker::find(&issue.properties, &conn.id)
                    .is_some_and(|m| &m.origin_issue == origin)
                {
                    return Ok(Some(issue.reference()));
                }
            }
        }
        Ok(None)
    }
}
