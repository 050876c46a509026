//! Triggers on a node: adding, listing, changing and removing them, running
//! them on each sync cycle, and bulk exalate by trigger.

use crate::connection::Connection;
use crate::error::{Error, ErrorKind, Result};
use crate::model::{ConnectionId, Issue, IssueId, ProjectKey};
use crate::plan::TwinState;
use crate::replica::Marker;
use crate::trigger::{Jql, Trigger, TriggerId, TriggerSpec, TriggerUpdate, foreign_project};

use crate::engine::node::Node;
use crate::engine::sync::bulk::{BulkEvent, BulkReport};

/// An enabled trigger, parsed once per cycle.
pub(in crate::engine) struct ActiveTrigger {
    id: TriggerId,
    project: ProjectKey,
    query: Jql,
}

impl Node {
    /// Adds a trigger, its query checked first (behind
    /// [`Admin::add_trigger`](crate::engine::Admin::add_trigger), which checks the caller).
    pub(in crate::engine) fn add_trigger(
        &self,
        connection: &ConnectionId,
        spec: TriggerSpec,
    ) -> Result<Trigger> {
        let now = self.now();
        let instance = self.instance().clone();
        self.edit_connection(connection, |conn| {
            let project = trigger_side(&instance, conn, &spec.project)?;
            check_query(conn, &project, &spec.query)?;
            let id = TriggerId(conn.triggers.iter().map(|t| t.id.0).max().unwrap_or(0) + 1);
            let trigger = Trigger {
                id,
                project,
                query: spec.query,
                note: spec.note,
                enabled: spec.enabled,
                created: now,
            };
            conn.triggers.push(trigger.clone());
            tracing::info!(connection = %conn.name, %trigger, "trigger added");
            Ok(trigger)
        })
    }

    /// The triggers of a connection, in the order they were added.
    ///
    /// # Errors
    ///
    /// `NotFound` for an unknown connection.
    pub fn triggers(&self, connection: &ConnectionId) -> Result<Vec<Trigger>> {
        Ok(self.connection(connection)?.triggers)
    }

    /// Changes a trigger (behind [`Admin::update_trigger`](crate::engine::Admin::update_trigger)).
    pub(in crate::engine) fn update_trigger(
        &self,
        connection: &ConnectionId,
        id: TriggerId,
        update: TriggerUpdate,
    ) -> Result<Trigger> {
        self.edit_connection(connection, |conn| {
            let at = trigger_index(conn, id)?;
            if let Some(query) = &update.query {
                check_query(conn, &conn.triggers[at].project, query)?;
            }
            let trigger = &mut conn.triggers[at];
            if let Some(query) = update.query {
                trigger.query = query;
            }
            if let Some(note) = update.note {
                trigger.note = note;
            }
            if let Some(enabled) = update.enabled {
                trigger.enabled = enabled;
            }
            tracing::info!(connection = %conn.name, trigger = %conn.triggers[at], "trigger updated");
            Ok(conn.triggers[at].clone())
        })
    }

    /// Removes a trigger (behind [`Admin::remove_trigger`](crate::engine::Admin::remove_trigger)).
    pub(in crate::engine) fn remove_trigger(
        &self,
        connection: &ConnectionId,
        id: TriggerId,
    ) -> Result<Trigger> {
        self.edit_connection(connection, |conn| {
            let at = trigger_index(conn, id)?;
            let trigger = conn.triggers.remove(at);
            tracing::info!(connection = %conn.name, %trigger, "trigger removed");
            Ok(trigger)
        })
    }

    /// Bulk exalate by trigger: runs the trigger's query now (through the
    /// tracker's search, page by page) and brings every matching issue under
    /// sync, like [`bulk_exalate`](Node::bulk_exalate) with the trigger's
    /// [effective query](Trigger::effective_query). Matching issues already
    /// under sync are re-checked: synced both ways, and reported as
    /// [`BulkEvent::Skipped`] when they were in step. This also works for a
    /// disabled trigger, and it is how issues that matched before the trigger
    /// (or the connection) existed come under sync.
    ///
    /// # Errors
    ///
    /// `NotFound` for an unknown connection or trigger; the errors of
    /// [`bulk_exalate`](Node::bulk_exalate).
    pub async fn bulk_exalate_trigger(
        &self,
        connection: &ConnectionId,
        id: TriggerId,
        progress: impl FnMut(&BulkEvent),
    ) -> Result<BulkReport> {
        let conn = self.connection(connection)?;
        let trigger = &conn.triggers[trigger_index(&conn, id)?];
        let query = trigger
            .effective_query()
            .map_err(|e| Error::from(e).with_connection(&conn.name))?;
        tracing::info!(connection = %conn.name, %trigger, "bulk exalate by trigger");
        self.bulk_exalate(&conn.id, &query.to_string(), progress)
            .await
    }
}

/// The side of `conn` on `instance` (this node's) whose project is
/// `project` (any case), spelled as the connection spells it.
fn trigger_side(
    instance: &crate::model::InstanceUrl,
    conn: &Connection,
    project: &ProjectKey,
) -> Result<ProjectKey> {
    let side = [&conn.a, &conn.b]
        .into_iter()
        .find(|s| s.project.as_str().eq_ignore_ascii_case(project.as_str()))
        .ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "project {project} is not a side of connection {} ({} ↔ {}); \
                         a trigger selects issues of one of them",
                    conn.name, conn.a.project, conn.b.project
                ),
            )
        })?;
    if &side.instance != instance {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            format!(
                "project {} of connection {} is on {}; add its triggers on the node of that instance",
                side.project, conn.name, side.instance
            ),
        ));
    }
    Ok(side.project.clone())
}

impl Node {
    /// The enabled triggers of `conn` that this node runs, parsed. A stored
    /// query that no longer parses is skipped with a warning.
    pub(in crate::engine) fn active_triggers(&self, conn: &Connection) -> Vec<ActiveTrigger> {
        conn.triggers
            .iter()
            .filter(|t| t.enabled)
            .filter(|t| {
                conn.side_of(&t.project)
                    .is_some_and(|s| &s.instance == self.instance())
            })
            .filter_map(|t| match t.effective_query() {
                Ok(query) => Some(ActiveTrigger {
                    id: t.id,
                    project: t.project.clone(),
                    query,
                }),
                Err(err) => {
                    tracing::warn!(connection = %conn.name, trigger = %t, error = %err, "trigger skipped");
                    None
                }
            })
            .collect()
    }

    /// Whether a polled issue that is not under sync matches one of
    /// `triggers` (evaluated on the snapshot, at the clock's now). Issues
    /// this connection created are never triggered: they are twins whose
    /// state is being settled or re-derived, and exalating them would make a
    /// twin of a twin.
    pub(in crate::engine) fn triggered(
        &self,
        conn: &Connection,
        triggers: &[ActiveTrigger],
        issue: &Issue,
    ) -> Option<TriggerId> {
        if triggers.is_empty() || Marker::find(&issue.properties, &conn.id).is_some() {
            return None;
        }
        let now = self.now();
        triggers
            .iter()
            .find(|t| t.project == issue.project && t.query.matches(issue, now))
            .map(|t| t.id)
    }

    /// Records a new twin for `issue` unless it is under sync already (checked
    /// and written in one transaction, so two triggers or a trigger and a
    /// bulk run never make two twins); returns whether it was new.
    pub(in crate::engine) fn claim_twin(
        &self,
        conn: &Connection,
        issue: &Issue,
    ) -> Result<Option<IssueId>> {
        let mut txn = self.txn()?;
        let taken = txn.twin_by_remote(&conn.id, &issue.id)?.is_some()
            || txn.twin_by_local(&conn.id, &issue.id)?.is_some();
        if taken {
            return Ok(None);
        }
        txn.put_twin(&TwinState::new(conn.id.clone(), issue.reference()))?;
        txn.commit()?;
        Ok(Some(issue.id.clone()))
    }
}

fn trigger_index(conn: &Connection, id: TriggerId) -> Result<usize> {
    conn.triggers
        .iter()
        .position(|t| t.id == id)
        .ok_or_else(|| {
            Error::new(
                ErrorKind::NotFound,
                format!("trigger {id} does not exist on connection {}", conn.name),
            )
        })
}

/// Checks a trigger's query before it is stored.
fn check_query(conn: &Connection, project: &ProjectKey, query: &str) -> Result<()> {
    let jql = Jql::parse(query).map_err(|e| Error::from(e).with_connection(&conn.name))?;
    if let Some(other) = foreign_project(&jql, project) {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            format!(
                "the query selects project {other}, but the trigger is on project {project}; \
                 it would never match (a trigger only selects issues of its own project)"
            ),
        )
        .with_connection(&conn.name));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::ids as lit;
    use crate::testkit::rig::LocalRig;

    #[test]
    fn connections_stored_without_triggers_still_load() {
        let rig = LocalRig::new();
        let mut json: serde_json::Value = serde_json::to_value(&rig.conn).unwrap();
        assert!(json.get("triggers").is_none(), "no triggers, no field");
        json.as_object_mut().unwrap().remove("triggers");
        let conn: Connection = serde_json::from_value(json).unwrap();
        assert!(conn.triggers.is_empty());
        assert_eq!(conn.id, rig.conn.id);
    }

    #[test]
    fn trigger_ids_are_not_reused_while_a_later_one_exists() {
        let rig = LocalRig::new();
        let add = |q: &str| {
            rig.node
                .add_trigger(&rig.conn.id, TriggerSpec::new(lit::project("SUP"), q))
                .unwrap()
                .id
        };
        assert_eq!(
            (add("labels = a"), add("labels = b")),
            (TriggerId(1), TriggerId(2))
        );
        rig.node.remove_trigger(&rig.conn.id, TriggerId(1)).unwrap();
        assert_eq!(add("labels = c"), TriggerId(3));
    }
}
