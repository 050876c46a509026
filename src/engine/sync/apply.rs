//! Applying a replica to one side of a twin: the one path that the local
//! cycle, remote receive and Test Run all take, so that what Test Run shows is
//! what a sync executes.
//!
//! [`Node::plan_apply`] reads the issue the replica lands on, checks it and
//! plans; [`Node::apply`] does the same and
//! then executes the plan and records its conflicts.

use crate::connection::Connection;
use crate::error::{Error, ErrorKind, Result};
use crate::model::{IssueId, IssueRef, ProjectKey};
use crate::plan::{IssueMap, PlanInput, PlanOptions, plan};
use crate::replica::Origin;
use crate::store::{DeletionDecision, TwinConflicts};

use super::recovery::Seen;
use super::types::{Applied, ApplyRequest, AttachmentSource, Direction, Prepared};
use crate::engine::node::Node;

impl Node {
    /// Plans a replica against the issue it lands on, writing nothing: what
    /// Test Run shows, and the first half of [`apply`](Node::apply).
    ///
    /// `seen` records what the sync read (the target issue and project), so
    /// that a twin quarantined by a failure is tried again when they change.
    pub(in crate::engine) async fn plan_apply(
        &self,
        req: &ApplyRequest<'_>,
        seen: &mut Seen,
    ) -> Result<Prepared> {
        let conn = req.conn;
        let mut state = req.state.clone();
        let target = match &state.local {
            Some(l) => match self.tracker().issue(&l.id).await {
                Ok(issue) => Some(issue),
                Err(e) if e.kind() == ErrorKind::NotFound => None,
                Err(e) => return Err(e.with_issue(&l.key)),
            },
            None => None,
        };
        if let (Some(l), Some(issue)) = (state.local.as_mut(), target.as_ref()) {
            if &issue.project != req.project {
                return Err(Error::new(
                    ErrorKind::InvalidInput,
                    format!(
                        "issue {} moved out of project {} of connection {}",
                        issue.key, req.project, conn.name
                    ),
                )
                .with_issue(&issue.key));
            }
            l.key = issue.key.clone();
        }
        if let (Some(l), None) = (&state.local, &target) {
            let what = if conn.is_local() {
                format!("unexalate {} to stop syncing it", req.replica.origin.key)
            } else {
                "unexalate it on the other side to stop syncing it".to_owned()
            };
            return Err(Error::new(
                ErrorKind::NotFound,
                format!(
                    "the twin of {} ({}) was deleted; {what}",
                    req.replica.origin.key, l.key
                ),
            ));
        }
        let project = self.project_info(req.project).await?;
        seen.project(&project);
        let rules = self.rules_for(conn)?;
        let fingerprints = rules.fingerprints(req.replica);
        if let Some(t) = &target {
            let origin = Origin {
                instance: self.instance().clone(),
                project: t.project.clone(),
                id: t.id.clone(),
                key: t.key.clone(),
            };
            let theirs = rules.outgoing(t, origin, &conn.id);
            seen.issue(t, rules.fingerprints(&theirs).whole);
        }
        // Over a remote connection, mentions name the other site's users:
        // resolved here, so that the planner stays pure.
        let users = match conn.is_local() {
            true => None,
            false => Some(self.resolve_users(conn, req.replica).await?),
        };
        // The issues the replica names (its parent, its links' other ends)
        // as known here, and which of this issue's links end at synced ones.
        let references = rules.references(req.replica);
        let links_here: Vec<IssueId> = match (&target, rules.syncs_links()) {
            (Some(t), true) => t.fields.links.iter().map(|l| l.issue.id.clone()).collect(),
            _ => Vec::new(),
        };
        let issues = match references.is_empty() && links_here.is_empty() {
            true => None,
            false => Some(self.issue_map(conn, req.project, &references, &links_here)?),
        };
        let plan = plan(&PlanInput {
            connection: &conn.id,
            replica: req.replica,
            fingerprints: &fingerprints,
            previous: None,
            local: target.as_ref(),
            state: Some(&state),
            target: &project,
            rules: &rules,
            options: PlanOptions {
                policy: conn.policy,
                guard: conn.guard,
                allow_mass_deletion: req.decision == Some(DeletionDecision::Confirmed),
                forget_refused: req.decision == Some(DeletionDecision::Dismissed),
                match_existing: req.match_existing,
                source: req.source,
            },
            users: users.as_ref(),
            issues: issues.as_ref(),
        });
        let plan = match plan {
            Ok(plan) => plan,
            Err(e) => {
                if let Some(parent) = e.context_value(crate::rules::hierarchy::BRING) {
                    self.bring_under_sync(conn, parent).await?;
                }
                return Err(e
                    .with_issue(&req.replica.origin.key)
                    .with_connection(&conn.name));
            }
        };
        Ok(Prepared { plan, state })
    }

    /// The twins here of `ids`, issues of the side a replica comes from (on
    /// a remote connection its twins' remote issues, on a local one either
    /// end), and which of `here`, issues of this side, are under sync.
    fn issue_map(
        &self,
        conn: &Connection,
        project: &ProjectKey,
        ids: &[IssueId],
        here: &[IssueId],
    ) -> Result<IssueMap> {
        // On a local connection both ends are on this tracker: a twin found
        // counts only when it is in the receiving project.
        let prefix = format!("{project}-");
        let in_project = |r: &IssueRef| !conn.is_local() || r.key.as_str().starts_with(&prefix);
        let mut map = IssueMap::default();
        let mut txn = self.txn()?;
        for id in here {
            let synced = txn.twin_by_local(&conn.id, id)?.is_some()
                || (conn.is_local() && txn.twin_by_remote(&conn.id, id)?.is_some());
            if synced {
                map.synced_here.insert(id.clone());
            }
        }
        for id in ids {
            if let Some(twin) = txn.twin_by_remote(&conn.id, id)? {
                match twin.local {
                    Some(here) if in_project(&here) => map.twins.insert(id.clone(), here),
                    Some(_) => None,
                    None => {
                        map.pending.insert(id.clone());
                        None
                    }
                };
            } else if conn.is_local()
                && let Some(twin) = txn.twin_by_local(&conn.id, id)?
                && in_project(&twin.remote)
            {
                map.twins.insert(id.clone(), twin.remote);
            }
        }
        Ok(map)
    }

    /// Brings the issue `id` of this node's tracker under sync on a local
    /// connection (queued for the next cycle), for a child that waits for
    /// it. On a remote connection the parent lives on the other node, which
    /// brings it itself.
    async fn bring_under_sync(&self, conn: &Connection, id: &str) -> Result<()> {
        if !conn.is_local() {
            return Ok(());
        }
        let mut id = IssueId::new(id)?;
        let mut issue = self.tracker().issue(&id).await?;
        // A copy this connection made (its state lost with a store) comes
        // back with its original, which links it again.
        if let Some(marker) = crate::replica::Marker::find(&issue.properties, &conn.id) {
            id = marker.origin_issue;
            issue = self.tracker().issue(&id).await?;
        }
        super::types::refuse_sync_copy(conn, &issue)?;
        let mut txn = self.txn()?;
        if txn.twin_by_remote(&conn.id, &id)?.is_none()
            && txn.twin_by_local(&conn.id, &id)?.is_none()
        {
            txn.put_twin(&crate::plan::TwinState::new(
                conn.id.clone(),
                issue.reference(),
            ))?;
        }
        self.enqueue_in(&mut *txn, conn, &issue)?;
        txn.commit()?;
        tracing::info!(connection = %conn.name, parent = %issue.key, "parent brought under sync");
        Ok(())
    }

    /// Plans a replica as [`plan_apply`](Node::plan_apply) does, executes the
    /// plan (state recorded after every write, intents and markers around
    /// creates), and records its conflicts.
    pub(in crate::engine) async fn apply(
        &self,
        req: ApplyRequest<'_>,
        dir: Direction,
        files: &dyn AttachmentSource,
        seen: &mut Seen,
    ) -> Result<Applied> {
        let Prepared { plan, state } = self.plan_apply(&req, seen).await?;
        if !plan.refusals.is_empty() {
            tracing::warn!(plan = %plan, "deletions refused by the mass-deletion guard");
        }
        tracing::debug!(issue = %req.replica.origin.key, %plan, "applying a replica");
        let before = seen.writes;
        self.execute(&req, &plan, &state, dir, files, seen).await?;
        let writes = seen.writes - before;
        // An edit of a twin that existed already, now written.
        if writes > 0 && state.local.is_some() {
            self.observe_latency(req.conn, req.replica.updated);
        }
        if !plan.conflicts.is_empty() {
            let mut txn = self.txn()?;
            txn.put_conflicts(&TwinConflicts {
                connection: req.conn.id.clone(),
                origin: req.twin.clone(),
                conflicts: plan.conflicts.clone(),
            })?;
            txn.commit()?;
        }
        Ok(Applied { plan, writes })
    }
}
