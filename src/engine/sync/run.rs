//! Running one twin's sync: settling what a crash left (intents, creates
//! whose answer was lost), then each direction through the one apply path,
//! recording the failure if it fails.

use futures::TryStreamExt;
use time::macros::format_description;
use tracing::Instrument;

use crate::connection::Connection;
use crate::error::{Error, ErrorKind, Result};
use crate::model::{IssueId, IssueKey};
use crate::plan::{TwinState, Winner};
use crate::replica::Marker;
use crate::store::IntentKind;
use crate::tracker::{Page, TrackerExt};

use super::recovery::Seen;
use super::refusals::refused_of;
use super::types::{ApplyRequest, Direction, Hints, Outcome};
use crate::engine::node::{Node, origin_of};

impl Node {
    /// Syncs a twin and records its failure: quarantined when permanent,
    /// backing off when temporary (see [`recovery`](super::recovery)). A
    /// worker syncs it under its claim on the twin, and fails with
    /// `Superseded` (recorded nowhere) while another worker holds it or
    /// when another took it over meanwhile.
    pub(in crate::engine) async fn sync_twin_recorded(
        &self,
        conn: &Connection,
        origin: &IssueId,
        dirs: &[Direction],
        hints: Hints<'_>,
    ) -> Result<Outcome> {
        // `issue` (the origin issue's key) is filled in once the twin is read.
        let span = tracing::info_span!(
            "twin",
            connection = %conn.name,
            origin = %origin,
            issue = tracing::field::Empty
        );
        let mut seen = Seen::default();
        let claim = self.claim(&conn.id, origin)?;
        let result = self
            .sync_twin(conn, origin, dirs, hints, &mut seen)
            .instrument(span)
            .await;
        self.unclaim(claim)?;
        if let Err(err) = &result
            && err.kind() == ErrorKind::Superseded
        {
            tracing::info!(error = %err, "another worker took the twin over");
        } else if let Err(err) = &result {
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
        mut hints: Hints<'_>,
        seen: &mut Seen,
    ) -> Result<Outcome> {
        let mut total = Outcome::default();
        let decision = self.deletion_decision(&conn.id, origin)?;
        let mut refused = Vec::new();
        let mut dirs: Vec<Direction> = dirs.to_vec();
        let mut next = 0;
        while let Some(dir) = dirs.get(next).copied() {
            next += 1;
            let dir = &dir;
            let Some(stored) = self.txn()?.twin_by_remote(&conn.id, origin)? else {
                return Ok(total); // unexalated meanwhile
            };
            tracing::Span::current().record("issue", tracing::field::display(&stored.remote.key));
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
                batch: hints.batch,
            };
            let files = super::types::SameTracker(&**self.tracker());
            let applied = self.apply(request, *dir, &files, seen).await?;
            refused.extend(refused_of(&applied.plan));
            total.writes += applied.writes;
            total
                .conflicts
                .extend(applied.plan.conflicts.iter().cloned());
            total.plans.push(applied.plan);
            // A value this side kept (the other side has none, or ours won
            // a conflict) counts as changed here: it travels back now,
            // rather than waiting for a later edit of this side's issue.
            let other = match dir {
                Direction::Forward => Direction::Backward,
                Direction::Backward => Direction::Forward,
            };
            if !dirs.contains(&other)
                && self
                    .txn()?
                    .twin_by_remote(&conn.id, origin)?
                    .is_some_and(|s| {
                        s.local.is_some()
                            && s.fields.iter().any(|b| match other {
                                Direction::Backward => b.local == crate::plan::UNSYNCED,
                                Direction::Forward => b.remote == crate::plan::UNSYNCED,
                            })
                    })
            {
                dirs.push(other);
            }
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
    pub(in crate::engine) async fn resolve_intents(
        &self,
        conn: &Connection,
        mut stored: TwinState,
    ) -> Result<Option<TwinState>> {
        // A remote connection's intents always name the other side's issue
        // (its ids may equal this side's).
        let mut origins = vec![&stored.remote.id];
        if conn.is_local()
            && let Some(local) = &stored.local
        {
            origins.push(&local.id);
        }
        let intents = self.txn()?.intents_of(&conn.id, &origins)?;
        for intent in intents {
            if let (IntentKind::CreateIssue { project }, None) = (&intent.kind, &stored.local) {
                let since = intent.indeterminate_since.unwrap_or(intent.created);
                if self.now() < since + self.options().settle {
                    return Ok(None);
                }
                let mut found = self
                    .find_marked_issues(conn, project, &intent.origin, intent.created)
                    .await?
                    .into_iter();
                if let Some(first) = found.next() {
                    let kept = first.reference();
                    tracing::info!(twin = %kept.key, "adopted an issue created by a lost request");
                    // Any other is a second copy (a worker stalled past its lease).
                    for stray in found {
                        self.remove_stray(conn, &kept, &stray).await?;
                    }
                    stored.local = Some(kept);
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

    /// The issues of `project` created since `since` (less two minutes)
    /// that carry the marker of `origin`, in the search's order.
    async fn find_marked_issues(
        &self,
        conn: &Connection,
        project: &crate::model::ProjectKey,
        origin: &IssueId,
        since: time::OffsetDateTime,
    ) -> Result<Vec<crate::model::Issue>> {
        let from = since - time::Duration::minutes(2);
        let text = from
            .format(format_description!("[year]-[month]-[day] [hour]:[minute]"))
            .map_err(|e| Error::new(ErrorKind::Unexpected, format!("cannot format a date: {e}")))?;
        let jql = format!("project = {project} AND created >= \"{text}\"");
        let mut pages = self
            .tracker()
            .search_pages(&jql, Page::first(self.options().page_size));
        let mut found = Vec::new();
        while let Some(result) = pages.try_next().await? {
            found.extend(result.issues.into_iter().filter(|issue| {
                Marker::find(&issue.properties, &conn.id).is_some_and(|m| &m.origin_issue == origin)
            }));
        }
        Ok(found)
    }
}
