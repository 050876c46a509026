//! Applying a replica to one side of a twin: the one path that the local
//! cycle, remote receive and Test Run all take, so that what Test Run shows is
//! what a sync executes.
//!
//! [`Node::plan_apply`] reads the issue the replica lands on, checks it and
//! plans; [`Node::apply`] does the same and
//! then executes the plan and records its conflicts.

use crate::error::{Error, ErrorKind, Result};
use crate::plan::{PlanInput, PlanOptions, plan};
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
        })
        .map_err(|e| {
            e.with_issue(&req.replica.origin.key)
                .with_connection(&conn.name)
        })?;
        Ok(Prepared { plan, state })
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
