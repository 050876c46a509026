//! Creating a twin's issue: the fields its create screen takes and the
//! edit that follows with the others and the status, the bases kept when
//! that follow-up fails, the intent recorded around the create, and
//! creates sent with a batch.

use std::collections::BTreeMap;

use crate::connection::Connection;
use crate::error::{Error, Result};
use crate::model::{IssueFields, IssueId, ProjectInfo, ProjectKey, field_ids};
use crate::plan::{Op, TwinState, UNSYNCED};
use crate::store::{Intent, IntentKind, RefusedTransition};
use crate::tracker::{CreatedIssue, IssueUpdate, NewIssue};

use super::batch::Seat;
use super::status::hold_transition_fields;
use crate::engine::node::Node;

/// The fields beyond Basic of a create's `update`: those `project`'s create
/// screen has (all, when it says nothing), and an edit with the others.
pub(super) fn split_create_fields(
    update: &IssueUpdate,
    project: &ProjectInfo,
) -> (IssueFields, IssueUpdate) {
    let on_create = |id: &str| project.field(id).is_none_or(|m| m.on_create);
    let mut fields = IssueFields::default();
    let mut then = IssueUpdate::default();
    match &update.priority {
        Some(p) if on_create(field_ids::PRIORITY) => fields.priority = Some(p.clone()),
        other => then.priority.clone_from(other),
    }
    match update.due_date {
        Some(d) if on_create(field_ids::DUE_DATE) => fields.due_date = d,
        other => then.due_date = other,
    }
    match &update.components {
        Some(c) if on_create(field_ids::COMPONENTS) => fields.components.clone_from(c),
        other => then.components.clone_from(other),
    }
    match &update.fix_versions {
        Some(v) if on_create(field_ids::FIX_VERSIONS) => fields.fix_versions.clone_from(v),
        other => then.fix_versions.clone_from(other),
    }
    match &update.assignee {
        Some(a) if on_create(field_ids::ASSIGNEE) => fields.assignee.clone_from(a),
        other => then.assignee.clone_from(other),
    }
    match &update.reporter {
        Some(r) if on_create(field_ids::REPORTER) => fields.reporter = Some(r.clone()),
        other => then.reporter.clone_from(other),
    }
    // A sub-task is created with its parent (it cannot be without one).
    match &update.parent {
        Some(Some(p)) if on_create(field_ids::PARENT) => {
            fields.parent = Some(crate::model::IssueRef::new(
                p.clone(),
                crate::model::IssueKey::stand_in(p),
            ));
        }
        Some(None) => {} // nothing to remove from a new issue
        other => then.parent.clone_from(other),
    }
    for (id, value) in &update.custom {
        match value {
            // Nothing to clear on a new issue.
            None => {}
            Some(v) if on_create(id) => {
                fields.custom.insert(id.clone(), v.clone());
            }
            Some(v) => {
                then.custom.insert(id.clone(), Some(v.clone()));
            }
        }
    }
    (fields, then)
}

impl Node {
    /// The edit that follows a create (fields its screen lacks, then the
    /// status) or that an update op makes, on `issue` of `project`: a
    /// refused transition is returned, not failed.
    pub(super) async fn follow_up(
        &self,
        conn: &Connection,
        project: &ProjectKey,
        issue: &IssueId,
        mut update: IssueUpdate,
    ) -> Result<Option<RefusedTransition>> {
        let status = update.status.take();
        // The values the edit carries fill the transitions' fields too.
        let given: BTreeMap<_, _> = update
            .custom
            .iter()
            .filter_map(|(id, v)| Some((id.clone(), v.clone()?)))
            .collect();
        if status.is_some() && !update.custom.is_empty() {
            // Those the edit screen lacks go with the transitions only.
            let info = self.project_info(project).await?;
            hold_transition_fields(&mut update, &info);
        }
        if !update.is_empty() {
            self.tracker().update_issue(issue, &update).await?;
        }
        match status {
            Some(status) => self.move_to_status(conn, issue, &status, &given).await,
            None => Ok(None),
        }
    }

    /// After the follow-up of a create failed: keeps the bases of the fields
    /// the created issue shows as planned, and marks the others (the
    /// follow-up's) as not written, so the next sync writes them. When the
    /// issue cannot be read either, the bases stay unknown: the next sync
    /// settles equal values and records a conflict for the others.
    pub(super) async fn confirm_bases(
        &self,
        conn: &Connection,
        op: &Op,
        twin: &IssueId,
        state: &mut TwinState,
    ) {
        let Op::CreateIssue { bases, .. } = op else {
            return;
        };
        let issue = match self.tracker().issue(twin).await {
            Ok(issue) => issue,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read a created twin; its field bases stay unknown");
                return;
            }
        };
        let Ok(rules) = self.rules_for(conn) else {
            return; // the cycle stops the connection on this error
        };
        // Its origin line is not part of its description.
        let issue = crate::rules::origin::local_description(&issue, &conn.id);
        for b in bases {
            let Some(rule) = rules.rules().iter().find(|r| r.field() == b.field) else {
                continue;
            };
            let current = rule.current(&issue).fingerprint();
            if current == b.local {
                state.set_field(&b.field, b.remote, b.local);
            } else {
                state.set_field(&b.field, UNSYNCED, current);
            }
        }
    }

    /// Records an intent for a create, durably, before it is sent.
    pub(super) fn open_intent(
        &self,
        conn: &Connection,
        origin: &IssueId,
        kind: IntentKind,
    ) -> Result<Intent> {
        let intent = Intent {
            id: self.op_id(),
            connection: conn.id.clone(),
            origin: origin.clone(),
            kind,
            created: self.now(),
            indeterminate_since: None,
        };
        let mut txn = self.txn()?;
        txn.put_intent(&intent)?;
        txn.commit()?;
        Ok(intent)
    }

    /// Closes an intent whose create failed: kept (marked indeterminate) when
    /// the create may have happened, deleted when it surely did not.
    pub(super) fn fail_intent(&self, mut intent: Intent, err: &Error) -> Result<()> {
        let mut txn = self.txn()?;
        if err.may_have_applied() {
            intent.indeterminate_since = Some(self.now());
            txn.put_intent(&intent)?;
        } else {
            txn.delete_intent(&intent.id)?;
        }
        txn.commit()
    }

    /// Creates `new` (its intent recorded already): with the batch of
    /// `batch` when given, else alone. An element that failed on its own
    /// without being applied is created again alone, through the same single
    /// call as any create; one that may have been applied (its answer lost,
    /// alone or with its whole batch) is left to its marker.
    pub(super) async fn create_issue(
        &self,
        new: &NewIssue,
        batch: Option<&Seat>,
    ) -> Result<CreatedIssue> {
        let tracker = self.tracker();
        let answer = match batch {
            Some(seat) => seat.create(new).await,
            None => None,
        };
        match answer {
            None => tracker.create_issue(new).await,
            Some(Ok(Ok(created))) => Ok(created),
            Some(Ok(Err(err))) if !err.may_have_applied() => {
                tracing::debug!(error = %err, "an issue of a batch failed alone; creating it alone");
                tracker.create_issue(new).await
            }
            Some(Ok(Err(err)) | Err(err)) => Err(err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::split_create_fields;
    use crate::model::{CustomValue, FieldKind, FieldMeta, ProjectInfo};
    use crate::testkit::ids as lit;
    use crate::tracker::IssueUpdate;

    /// A field only Bugs' create screen shows goes with a Bug's create, and
    /// in the edit right after a Task's.
    #[test]
    fn a_field_another_types_screen_shows_follows_in_an_edit() {
        let project = ProjectInfo {
            key: lit::project("DEV"),
            name: "Development".into(),
            issue_types: Vec::new(),
            default_issue_type: None,
            fields: vec![
                FieldMeta::new("customfield_10050", "Steps", FieldKind::Text).create_types(["Bug"]),
            ],
        };
        let steps = CustomValue::Text("Plug it in".into());
        let update = IssueUpdate::new().custom("customfield_10050", Some(steps.clone()));

        let (create, then) = split_create_fields(&update, &project.for_issue_type("bug"));
        assert_eq!(create.custom.get("customfield_10050"), Some(&steps));
        assert!(then.is_empty(), "{then:?}");

        let (create, then) = split_create_fields(&update, &project.for_issue_type("Task"));
        assert!(create.custom.is_empty(), "{create:?}");
        assert_eq!(then.custom.get("customfield_10050"), Some(&Some(steps)));
    }
}
