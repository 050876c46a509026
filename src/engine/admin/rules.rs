//! Rule versions and triggers, through [`Admin`].

use crate::error::Result;
use crate::model::ConnectionId;
use crate::rules::{RuleSpec, RuleVersion};
use crate::trigger::{Trigger, TriggerId, TriggerSpec, TriggerUpdate};

use super::handle::Admin;

impl Admin<'_> {
    /// Checks `spec` against the connection's projects on this node as
    /// saving a draft does (fields and options, required fields, statuses
    /// against the workflows) and returns it with field names resolved to
    /// ids; stores nothing, and works on a Basic connection too (to check a
    /// document before making it custom).
    ///
    /// Needs permission on the connection's projects on this node.
    ///
    /// # Errors
    ///
    /// `NotFound` for an unknown connection; `PermissionDenied`;
    /// `InvalidInput` listing every problem; the tracker's errors reading
    /// the projects.
    pub async fn check_rules(&self, id: &ConnectionId, spec: &RuleSpec) -> Result<RuleSpec> {
        self.node.check_rules(id, spec, &self.caller).await
    }

    /// Saves a draft of a custom connection's rules (not in use until
    /// [published](Admin::publish_rules)).
    ///
    /// Needs permission on the connection's projects on this node.
    ///
    /// # Errors
    ///
    /// `NotFound` for an unknown connection; `PermissionDenied`;
    /// `Unsupported` for a Basic connection (its rules are fixed);
    /// `InvalidInput` when the draft cannot be built.
    pub async fn save_rule_draft(&self, id: &ConnectionId, spec: RuleSpec) -> Result<()> {
        self.node.save_rule_draft(id, spec, &self.caller).await
    }

    /// Publishes the draft as the next numbered version (recording the
    /// caller as its publisher) and puts it in use.
    ///
    /// Needs permission on the connection's projects on this node.
    ///
    /// # Errors
    ///
    /// `NotFound` for an unknown connection; `PermissionDenied`;
    /// `Unsupported` for a Basic connection; `InvalidInput` when there is no
    /// draft.
    pub async fn publish_rules(&self, id: &ConnectionId) -> Result<RuleVersion> {
        self.node.publish_rules(id, &self.caller).await
    }

    /// Puts an earlier published version back in use.
    ///
    /// Needs permission on the connection's projects on this node.
    ///
    /// # Errors
    ///
    /// `NotFound` for an unknown connection or a version that was never
    /// published; `PermissionDenied`; `Unsupported` for a Basic connection.
    pub async fn rollback_rules(&self, id: &ConnectionId, version: u32) -> Result<RuleVersion> {
        self.node.rollback_rules(id, version, &self.caller).await
    }

    /// Adds a trigger to a connection: on every sync cycle, issues of
    /// `spec.project` that match `spec.query` and are not under sync yet are
    /// brought under sync (their twins created), once each.
    ///
    /// The query is checked before anything is stored, and it only ever
    /// selects issues of its project: the engine runs `project = <project>
    /// AND (<query>)` unless the query already requires `project = <project>`
    /// ([`Trigger::effective_query`]). Issues that stop matching stay under
    /// sync. Issues that matched before the trigger was added (or before the
    /// connection existed) and are not edited again are brought under sync by
    /// [`bulk_exalate_trigger`](crate::engine::Node::bulk_exalate_trigger).
    ///
    /// Needs permission on the connection's projects on this node.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use twinsync::engine::{LocalConnectionOptions, Node};
    /// # use twinsync::model::UserId;
    /// # use twinsync::store::MemoryStore;
    /// # use twinsync::MemoryTracker;
    /// use twinsync::trigger::TriggerSpec;
    ///
    /// # futures::executor::block_on(async {
    /// # let tracker = MemoryTracker::new("https://acme.example")?;
    /// # tracker.add_project("SUP", "Support", &["Bug", "Task"], Some("Task"))?;
    /// # tracker.add_project("DEV", "Development", &["Bug", "Task"], None)?;
    /// # let ada = UserId::new("ada")?;
    /// # tracker.set_global_admin(&ada, true);
    /// # let node = Node::builder().tracker(Arc::new(tracker)).store(Arc::new(MemoryStore::new())).build().await?;
    /// let admin = node.admin(&ada);
    /// let conn = admin.create_local_connection("SUP", "DEV", LocalConnectionOptions::default()).await?;
    /// let trigger = admin
    ///     .add_trigger(&conn.id, TriggerSpec::new("SUP".parse()?, "labels = escalate-to-dev").note("escalations"))
    ///     .await?;
    /// assert_eq!(
    ///     trigger.to_string(),
    ///     "trigger 1 on SUP (enabled): labels = escalate-to-dev — escalations"
    /// );
    ///
    /// let err = admin
    ///     .add_trigger(&conn.id, TriggerSpec::new("SUP".parse()?, "labels = "))
    ///     .await
    ///     .unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     r#"jql: expected a value after "=" at column 10, found end of input (connection SUP_to_DEV)"#
    /// );
    /// assert_eq!(node.triggers(&conn.id)?.len(), 1, "nothing stored");
    /// # Ok::<(), twinsync::Error>(())
    /// # }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// `NotFound` for an unknown connection; `PermissionDenied`;
    /// `InvalidInput` for a project that is not a side of the connection on
    /// this node, for a query that does not parse (the message gives the
    /// position, and the [`JqlError`](crate::trigger::JqlError) is the
    /// error's source) and for a query that demands another project.
    pub async fn add_trigger(&self, id: &ConnectionId, spec: TriggerSpec) -> Result<Trigger> {
        self.permitted(id).await?;
        self.node.add_trigger(id, spec)
    }

    /// Changes a trigger's query, note or enabled flag. A new query is
    /// checked like a new trigger's, before anything is stored.
    ///
    /// Needs permission on the connection's projects on this node.
    ///
    /// # Errors
    ///
    /// `NotFound` for an unknown connection or trigger; `PermissionDenied`;
    /// `InvalidInput` for a query that does not parse or demands another
    /// project.
    pub async fn update_trigger(
        &self,
        id: &ConnectionId,
        trigger: TriggerId,
        update: TriggerUpdate,
    ) -> Result<Trigger> {
        self.permitted(id).await?;
        self.node.update_trigger(id, trigger, update)
    }

    /// Removes a trigger and returns it; issues it brought under sync stay
    /// under sync.
    ///
    /// Needs permission on the connection's projects on this node.
    ///
    /// # Errors
    ///
    /// `NotFound` for an unknown connection or trigger; `PermissionDenied`.
    pub async fn remove_trigger(&self, id: &ConnectionId, trigger: TriggerId) -> Result<Trigger> {
        self.permitted(id).await?;
        self.node.remove_trigger(id, trigger)
    }
}
