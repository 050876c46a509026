//! Rule-set versions of custom connections: a draft, published numbered
//! versions, and rolling back to an earlier one.
//!
//! Rule sets are code ([`SyncRule`](crate::rules::SyncRule) values), so what
//! a version stores is a [`RuleSpec`]: a description of a rule set built from
//! the rules twinsync ships (a status mapping table, labels, comments and
//! attachments on or off). A rule set set in code with
//! [`Admin::set_rules`](crate::engine::Admin::set_rules) is not versioned; publishing a version replaces it.
//! The Basic rule set is fixed: a Basic connection has no drafts or versions,
//! and says so.

use crate::connection::Connection;
use crate::error::{Error, ErrorKind, ErrorScope, Result};
use crate::model::{ConnectionId, ProjectInfo, UserId};
use crate::rules::{RuleHistory, RuleSet, RuleSetKind, RuleSpec, RuleVersion};

use crate::engine::node::Node;

fn fixed(conn: &Connection) -> Error {
    Error::new(
        ErrorKind::Unsupported,
        format!(
            "connection {} uses the basic rule set, which is fixed and has no versions; \
             upgrade it to a custom rule set to edit its rules",
            conn.name
        ),
    )
    .with_connection(&conn.name)
}

impl Node {
    /// The rule versions of a connection (none for a Basic connection).
    ///
    /// # Errors
    ///
    /// `NotFound` for an unknown connection; `Storage`.
    pub fn rule_history(&self, id: &ConnectionId) -> Result<RuleHistory> {
        self.connection(id)?;
        self.load_history(id)
    }

    fn load_history(&self, id: &ConnectionId) -> Result<RuleHistory> {
        Ok(self.txn()?.rule_history(id)?.unwrap_or_default())
    }

    fn save_history(&self, id: &ConnectionId, history: &RuleHistory) -> Result<()> {
        let mut txn = self.txn()?;
        txn.put_rule_history(id, history)?;
        txn.commit()
    }

    /// `spec` checked against the current metadata of the connection's
    /// projects on this node (read afresh, and kept for planning), with
    /// field names resolved to ids, and built once.
    async fn checked(&self, conn: &Connection, spec: &RuleSpec) -> Result<RuleSpec> {
        let mut projects = Vec::new();
        for side in [&conn.a, &conn.b] {
            if &side.instance != self.instance()
                || projects.iter().any(|p: &ProjectInfo| p.key == side.project)
            {
                continue;
            }
            projects.push(self.refresh_project_info(&side.project).await?);
        }
        let checked = spec.check(&projects)?;
        checked.build()?;
        self.check_statuses(&checked, &projects, conn.is_local())
            .await?;
        Ok(checked)
    }

    /// Checks that each status the mapping moves issues to is a status of
    /// a workflow of the connection's projects on this node, when every
    /// issue type of them follows a workflow the tracker tells (else
    /// nothing is known).
    ///
    /// On a remote connection only this node's project is known, and one
    /// document may serve both nodes: a mapping whose `their` status is one
    /// of this project's serves the other node and is not checked here; one
    /// whose `their` status this project lacks can only come from the other
    /// side, so its `our` status must be one of this project's.
    async fn check_statuses(
        &self,
        spec: &RuleSpec,
        projects: &[ProjectInfo],
        local: bool,
    ) -> Result<()> {
        if spec.status_mapping.is_empty() || !self.tracker().capabilities().workflows {
            return Ok(());
        }
        let (mut statuses, mut reachable): (Vec<String>, Vec<String>) = (Vec::new(), Vec::new());
        for project in projects {
            for issue_type in &project.issue_types {
                let Some(flow) = self
                    .tracker()
                    .workflow(&project.key, &issue_type.name)
                    .await?
                else {
                    return Ok(());
                };
                for status in &flow.statuses {
                    if !statuses.iter().any(|s| s.eq_ignore_ascii_case(status)) {
                        statuses.push(status.clone());
                    }
                    // Issues start in the initial status; any other is
                    // reached only by a transition leading to it.
                    let entered = flow.initial.eq_ignore_ascii_case(status)
                        || flow.transitions.iter().any(|t| t.leads_to(status));
                    if entered && !reachable.iter().any(|s| s.eq_ignore_ascii_case(status)) {
                        reachable.push(status.clone());
                    }
                }
            }
        }
        let keys = projects
            .iter()
            .map(|p| p.key.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let has =
            |list: &[String], status: &str| list.iter().any(|s| s.eq_ignore_ascii_case(status));
        let problems: Vec<String> = spec
            .status_mapping
            .iter()
            .filter(|(theirs, _)| local || !has(&statuses, theirs))
            .filter_map(|(theirs, ours)| {
                if !has(&statuses, ours) {
                    Some(format!(
                        "status mapping {theirs:?} → {ours:?}: no workflow of {keys} has status \
                         {ours:?}; their statuses: {}",
                        statuses.join(", ")
                    ))
                } else if !has(&reachable, ours) {
                    Some(format!(
                        "status mapping {theirs:?} → {ours:?}: no transition of the workflows of \
                         {keys} reaches status {ours:?}, and no issue starts in it"
                    ))
                } else {
                    None
                }
            })
            .collect();
        if problems.is_empty() {
            return Ok(());
        }
        Err(Error::new(ErrorKind::InvalidInput, problems.join("\n")))
    }

    async fn custom_connection(&self, id: &ConnectionId, caller: &UserId) -> Result<Connection> {
        let conn = self.connection(id)?;
        self.check_connection_permission(&conn, caller).await?;
        if conn.rules == RuleSetKind::Basic {
            return Err(fixed(&conn));
        }
        Ok(conn)
    }

    /// Checks `spec` for `caller`, whose permission it checks (behind
    /// [`Admin::check_rules`](crate::engine::Admin::check_rules)).
    pub(in crate::engine) async fn check_rules(
        &self,
        id: &ConnectionId,
        spec: &RuleSpec,
        caller: &UserId,
    ) -> Result<RuleSpec> {
        let conn = self.connection(id)?;
        self.check_connection_permission(&conn, caller).await?;
        self.checked(&conn, spec).await
    }

    /// Saves a draft for `caller`, whose permission it checks (behind
    /// [`Admin::save_rule_draft`](crate::engine::Admin::save_rule_draft)).
    pub(in crate::engine) async fn save_rule_draft(
        &self,
        id: &ConnectionId,
        spec: RuleSpec,
        caller: &UserId,
    ) -> Result<()> {
        let conn = self.custom_connection(id, caller).await?;
        let spec = self.checked(&conn, &spec).await?;
        let mut history = self.load_history(id)?;
        history.draft = Some(spec);
        self.save_history(id, &history)
    }

    /// Publishes the draft for `caller`, whose permission it checks (behind
    /// [`Admin::publish_rules`](crate::engine::Admin::publish_rules)); quarantined
    /// twins of the connection are tried again by the next cycle.
    pub(in crate::engine) async fn publish_rules(
        &self,
        id: &ConnectionId,
        caller: &UserId,
    ) -> Result<RuleVersion> {
        let conn = self.custom_connection(id, caller).await?;
        let mut history = self.load_history(id)?;
        let draft = history.draft.as_ref().ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidInput,
                format!("connection {} has no draft to publish", conn.name),
            )
        })?;
        // The projects may have changed since the draft was saved: a draft
        // that no longer fits stays a draft.
        let spec = self.checked(&conn, draft).await?;
        history.draft = None;
        let rules = spec.build()?;
        let number = history.versions.last().map_or(1, |v| v.number + 1);
        let version = RuleVersion {
            number,
            spec,
            published_at: self.now(),
            published_by: caller.clone(),
        };
        history.versions.push(version.clone());
        history.active = Some(number);
        self.save_history(id, &history)?;
        self.use_rules(id, rules, number);
        self.release_quarantines(id)?;
        tracing::info!(connection = %conn.name, version = number, by = %caller, "rules published");
        Ok(version)
    }

    /// Rolls back for `caller`, whose permission it checks (behind
    /// [`Admin::rollback_rules`](crate::engine::Admin::rollback_rules)); quarantined
    /// twins of the connection are tried again by the next cycle.
    pub(in crate::engine) async fn rollback_rules(
        &self,
        id: &ConnectionId,
        version: u32,
        caller: &UserId,
    ) -> Result<RuleVersion> {
        let conn = self.custom_connection(id, caller).await?;
        let mut history = self.load_history(id)?;
        let found = history
            .versions
            .iter()
            .find(|v| v.number == version)
            .cloned()
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::NotFound,
                    format!("connection {} has no rule version {version}", conn.name),
                )
            })?;
        let rules = found.spec.build()?;
        history.active = Some(version);
        self.save_history(id, &history)?;
        self.use_rules(id, rules, version);
        self.release_quarantines(id)?;
        tracing::info!(connection = %conn.name, version, by = %caller, "rules rolled back");
        Ok(found)
    }

    /// Puts published version `version` of a connection's rules in use.
    fn use_rules(&self, id: &ConnectionId, rules: RuleSet, version: u32) {
        self.inner
            .rules
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.clone(), rules);
        self.inner
            .rule_versions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.clone(), version);
    }

    /// Puts the published rule versions in use (when a node starts).
    pub(in crate::engine) fn load_published_rules(&self) -> Result<()> {
        for conn in self.connections()? {
            self.follow_published_rules(&conn)?;
        }
        Ok(())
    }

    /// Puts the version of `conn`'s rules published in the store in use,
    /// unless it is in use already: what a worker does before each cycle,
    /// so that a version another worker published or rolled back to
    /// reaches it. Rules set in code since are kept until another version
    /// is published.
    pub(in crate::engine) fn follow_published_rules(&self, conn: &Connection) -> Result<()> {
        if conn.rules != RuleSetKind::Custom {
            return Ok(());
        }
        let history = self.load_history(&conn.id)?;
        let Some(version) = history.active_version() else {
            return Ok(());
        };
        let in_use = self
            .inner
            .rule_versions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&conn.id)
            .copied();
        if in_use != Some(version.number) {
            let rules = version.spec.build().map_err(|e| {
                e.with_connection(&conn.name)
                    .with_scope(ErrorScope::Connection)
            })?;
            self.use_rules(&conn.id, rules, version.number);
            if in_use.is_some() {
                tracing::info!(connection = %conn.name, version = version.number, "published rules taken up");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::model::{Transition, Workflow};
    use crate::rules::RuleSpec;
    use crate::testkit::block_on;
    use crate::testkit::ids as lit;
    use crate::testkit::remote_rig::RemoteRig;

    /// A mapped status a workflow names but no transition enters (nor do
    /// issues start in it) is refused when saving, naming it.
    #[test]
    fn a_status_no_transition_reaches_is_refused() {
        use crate::testkit::rig::LocalRig;

        let mut rig = LocalRig::new();
        let flow = Workflow::new("To Do")
            .with(Transition::new("1", "Start", "In Progress"))
            .with(Transition::new("2", "Unpark", "To Do").from(["Parked"]));
        for project in ["SUP", "DEV"] {
            rig.tracker
                .set_workflow(project, None, flow.clone())
                .unwrap();
        }
        rig.restart();
        block_on(rig.admin().upgrade_to_custom(&rig.conn.id)).unwrap();
        let fine = RuleSpec::default().map_status("Doing", "In Progress");
        block_on(rig.admin().check_rules(&rig.conn.id, &fine)).unwrap();
        let parked = fine.map_status("Waiting", "Parked");
        let err = block_on(rig.admin().save_rule_draft(&rig.conn.id, parked)).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::InvalidInput);
        assert!(
            err.message().contains(
                "status mapping \"Waiting\" → \"Parked\": no transition of the workflows of \
                 SUP, DEV reaches status \"Parked\""
            ),
            "{err}"
        );
    }

    /// On a remote connection the node of DEV checks the statuses one
    /// document maps into DEV against DEV's workflow: the mappings that
    /// serve SUP's node pass, a status DEV lacks is refused.
    #[test]
    fn a_remote_node_checks_the_statuses_it_maps_into_its_project() {
        let mut rig = RemoteRig::new();
        let conn = rig.connect();
        rig.b
            .tracker
            .set_workflow(
                "DEV",
                None,
                Workflow::new("Backlog")
                    .with(Transition::new("1", "Start", "In Progress"))
                    .with(Transition::new("2", "Finish", "Done")),
            )
            .unwrap();
        rig.restart_b();
        let admin = rig.b.node.admin(&lit::user_id("ada"));
        block_on(admin.upgrade_to_custom(&conn.id)).unwrap();
        let both_ways = RuleSpec::default()
            .map_status("To Do", "Backlog")
            .map_status("Backlog", "To Do")
            .map_status("Done", "Done");
        block_on(admin.save_rule_draft(&conn.id, both_ways.clone())).unwrap();

        let typo = both_ways.map_status("Waiting", "On Hold");
        let err = block_on(admin.save_rule_draft(&conn.id, typo)).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::InvalidInput);
        let message = err.message();
        assert!(
            message
                .contains("\"Waiting\" → \"On Hold\": no workflow of DEV has status \"On Hold\""),
            "{message}"
        );
        assert_eq!(message.lines().count(), 1, "{message}");
    }
}
