//! Workflows in the in-memory tracker: a project (or one of its issue types)
//! may follow a [`Workflow`]; its issues then move between statuses only by
//! its transitions, as on Jira, and a transition's required fields and the
//! refusals an administrator set (standing in for conditions and validators)
//! are enforced.

use std::collections::BTreeMap;

use time::OffsetDateTime;

use crate::error::{Error, ErrorKind, Result};
use crate::model::{CustomValue, FieldMeta, IssueId, ProjectKey, Transition, Workflow};

use super::state::State;

/// Where a workflow applies: a project, and one of its issue types
/// (lowercased) or all of them (`None`).
pub(super) type WorkflowScope = (ProjectKey, Option<String>);

/// The workflows of a tracker and the transitions refused on them.
#[derive(Debug, Default)]
pub(super) struct Workflows {
    pub(super) by_scope: BTreeMap<WorkflowScope, Workflow>,
    /// (project, transition id) → the message a refusal answers with.
    pub(super) refusals: BTreeMap<(ProjectKey, String), String>,
}

impl Workflows {
    /// The workflow issues of `issue_type` in `project` follow, if any.
    pub(super) fn of(&self, project: &ProjectKey, issue_type: &str) -> Option<&Workflow> {
        self.by_scope
            .get(&(project.clone(), Some(issue_type.to_lowercase())))
            .or_else(|| self.by_scope.get(&(project.clone(), None)))
    }
}

fn refused(message: String) -> Error {
    Error::new(ErrorKind::Refused, message)
}

/// `value` checked against a field of a transition's screen.
fn screen_value(field: &FieldMeta, value: &CustomValue) -> Result<CustomValue> {
    if field.kind != value.kind() {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            format!(
                "field {} ({}) holds a {}, not a {}",
                field.name,
                field.id,
                field.kind,
                value.kind()
            ),
        ));
    }
    if let CustomValue::Select(v) = value
        && !field.options.is_empty()
    {
        return field
            .option(v)
            .map(|o| CustomValue::Select(o.to_owned()))
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::InvalidInput,
                    format!(
                        "{v:?} is not an option of field {} ({}); options: {}",
                        field.name,
                        field.id,
                        field.options.join(", ")
                    ),
                )
            });
    }
    Ok(value.clone().normalized())
}

impl State {
    /// The workflow `issue` follows and its current status, if it follows one.
    fn workflow_of_issue(&self, issue: &IssueId) -> Result<(Option<Workflow>, String)> {
        let current = &self.record(issue)?.current;
        Ok((
            self.workflows
                .of(&current.project, &current.issue_type)
                .cloned(),
            current.status.clone(),
        ))
    }

    /// The transitions `issue` can take from its status (none when it
    /// follows no workflow).
    pub(super) fn transitions(&self, issue: &IssueId) -> Result<Vec<Transition>> {
        let (flow, status) = self.workflow_of_issue(issue)?;
        Ok(flow
            .map(|f| f.transitions_from(&status).cloned().collect())
            .unwrap_or_default())
    }

    /// The status a new issue of `issue_type` in `project` starts in.
    pub(super) fn initial_status(&self, project: &ProjectKey, issue_type: &str) -> String {
        self.workflows
            .of(project, issue_type)
            .map_or_else(|| "Open".to_owned(), |f| f.initial.clone())
    }

    /// Checks that `issue` may move to `status` by `update_issue`: directly
    /// when it follows no workflow, else by one transition from its status
    /// that needs no field and is not refused. The status to set.
    pub(super) fn status_by_update(&self, issue: &IssueId, status: &str) -> Result<String> {
        let (flow, current) = self.workflow_of_issue(issue)?;
        let Some(flow) = flow else {
            return Ok(status.to_owned());
        };
        let project = &self.record(issue)?.current.project;
        let available: Vec<&Transition> = flow.transitions_from(&current).collect();
        let open = |t: &&&Transition| {
            t.required_fields().next().is_none()
                && !self
                    .workflows
                    .refusals
                    .contains_key(&(project.clone(), t.id.clone()))
        };
        match available.iter().filter(open).find(|t| t.leads_to(status)) {
            Some(t) => Ok(t.to.clone()),
            None => Err(Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "no transition leads issue {issue} from status {current:?} to status \
                     {status:?}; reachable: {}",
                    available
                        .iter()
                        .map(|t| t.to.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
        }
    }

    /// Takes transition `id` on `issue`, giving `fields` to its screen.
    pub(super) fn transition_issue(
        &mut self,
        issue: &IssueId,
        id: &str,
        fields: &BTreeMap<String, CustomValue>,
        now: OffsetDateTime,
    ) -> Result<()> {
        let (flow, current) = self.workflow_of_issue(issue)?;
        let record = &self.record(issue)?.current;
        let (project, key) = (record.project.clone(), record.key.clone());
        let Some(flow) = flow else {
            return Err(refused(format!(
                "issue {key} follows no workflow: set its status by an update"
            )));
        };
        let Some(transition) = flow
            .transitions
            .iter()
            .find(|t| t.id == id && t.starts_from(&current))
        else {
            return Err(refused(format!(
                "transition {id} is not available for issue {key} in status {current:?}"
            )));
        };
        if let Some(message) = self
            .workflows
            .refusals
            .get(&(project.clone(), transition.id.clone()))
        {
            return Err(refused(message.clone()));
        }
        let mut given = BTreeMap::new();
        for field in &transition.fields {
            match fields.get(&field.id) {
                Some(value) if !value.is_empty() => {
                    given.insert(field.id.clone(), screen_value(field, value)?);
                }
                _ if field.required => {
                    return Err(Error::new(
                        ErrorKind::InvalidInput,
                        format!(
                            "transition {} of issue {key} needs field {} ({})",
                            transition.name, field.name, field.id
                        ),
                    ));
                }
                _ => {}
            }
        }
        if let Some(extra) = fields
            .keys()
            .find(|f| transition.fields.iter().all(|m| &m.id != *f))
        {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "field {extra} cannot be set by transition {}: it is not on its screen",
                    transition.name
                ),
            ));
        }
        // Values of the project's own fields stay on the issue; others (a
        // resolution) belong to the transition.
        let info = self.project(&project)?.clone();
        let to = transition.to.clone();
        self.modify(issue, now, |issue| {
            for (field, value) in given {
                if info.field(&field).is_some() {
                    issue.fields.custom.insert(field, value);
                }
            }
            issue.status = to;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use crate::ErrorKind;
    use crate::model::{CustomValue, FieldKind, FieldMeta, ProjectKey, Transition, Workflow};
    use crate::testkit::{block_on, ids as lit};
    use crate::tracker::memory::MemoryTracker;
    use crate::tracker::{IssueUpdate, NewIssue, Tracker};

    const NOTE: &str = "customfield_10030";

    fn tracker() -> MemoryTracker {
        let t = MemoryTracker::new("https://memory.example").unwrap();
        t.add_project("DEV", "Development", &["Bug", "Task"], None)
            .unwrap();
        t.add_field(
            "DEV",
            FieldMeta::new(NOTE, "Release note", FieldKind::Text).on_edit(false),
        )
        .unwrap();
        t.set_workflow(
            "DEV",
            Some("Bug"),
            Workflow::new("Triage")
                .with(Transition::new("1", "Accept", "Open").from(["Triage"]))
                .with(
                    Transition::new("2", "Close", "Closed")
                        .from(["Open"])
                        .field(
                            FieldMeta::new("resolution", "Resolution", FieldKind::Select)
                                .options(["Fixed", "Won't Do"])
                                .required(),
                        )
                        .field(FieldMeta::new(NOTE, "Release note", FieldKind::Text)),
                ),
        )
        .unwrap();
        t
    }

    fn dev() -> ProjectKey {
        lit::project("DEV")
    }

    #[test]
    fn issues_start_in_their_workflow_and_move_by_its_transitions() {
        let t = tracker();
        let bug = block_on(t.create_issue(&NewIssue::new(dev(), "Bug", "Crash"))).unwrap();
        let task = block_on(t.create_issue(&NewIssue::new(dev(), "Task", "Tidy"))).unwrap();
        assert_eq!(block_on(t.issue(&bug.id)).unwrap().status, "Triage");
        assert_eq!(
            block_on(t.issue(&task.id)).unwrap().status,
            "Open",
            "no workflow"
        );
        assert!(block_on(t.workflow(&dev(), "task")).unwrap().is_none());
        assert_eq!(
            block_on(t.workflow(&dev(), "bug"))
                .unwrap()
                .unwrap()
                .initial,
            "Triage"
        );

        // An update reaches a status one open transition away, no further.
        let err =
            block_on(t.update_issue(&bug.id, &IssueUpdate::new().status("Closed"))).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.message().contains("reachable: Open"), "{err}");
        block_on(t.update_issue(&bug.id, &IssueUpdate::new().status("open"))).unwrap();
        assert_eq!(block_on(t.issue(&bug.id)).unwrap().status, "Open");

        // Close needs its resolution; the note lands on the issue.
        let offered = block_on(t.transitions(&bug.id)).unwrap();
        assert_eq!(offered.len(), 1);
        assert_eq!(offered[0].required_fields().count(), 1);
        let err = block_on(t.transition_issue(&bug.id, "2", &BTreeMap::new())).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.message().contains("Resolution (resolution)"), "{err}");
        let wrong = BTreeMap::from([("resolution".into(), CustomValue::Select("Maybe".into()))]);
        let err = block_on(t.transition_issue(&bug.id, "2", &wrong)).unwrap_err();
        assert!(err.message().contains("\"Maybe\""), "{err}");
        assert_eq!(
            block_on(t.issue(&bug.id)).unwrap().status,
            "Open",
            "unchanged"
        );
        let fields = BTreeMap::from([
            ("resolution".into(), CustomValue::Select("fixed".into())),
            (NOTE.into(), CustomValue::Text("Fixed the crash".into())),
        ]);
        block_on(t.transition_issue(&bug.id, "2", &fields)).unwrap();
        let closed = block_on(t.issue(&bug.id)).unwrap();
        assert_eq!(closed.status, "Closed");
        assert_eq!(
            closed.fields.custom.get(NOTE),
            Some(&CustomValue::Text("Fixed the crash".into()))
        );
        // Not from Closed.
        let err = block_on(t.transition_issue(&bug.id, "1", &BTreeMap::new())).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Refused);
    }

    #[test]
    fn a_refused_transition_answers_with_its_message() {
        let t = tracker();
        let bug = block_on(t.create_issue(&NewIssue::new(dev(), "Bug", "Crash"))).unwrap();
        t.refuse_transition("DEV", "1", Some("Only triagers accept bugs"))
            .unwrap();
        let err = block_on(t.transition_issue(&bug.id, "1", &BTreeMap::new())).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Refused);
        assert_eq!(err.message(), "Only triagers accept bugs");
        assert!(
            block_on(t.update_issue(&bug.id, &IssueUpdate::new().status("Open"))).is_err(),
            "nor by an update"
        );
        t.refuse_transition("DEV", "1", None).unwrap();
        block_on(t.transition_issue(&bug.id, "1", &BTreeMap::new())).unwrap();
        assert_eq!(block_on(t.issue(&bug.id)).unwrap().status, "Open");
    }

    #[test]
    fn workflows_and_refusals_are_saved_with_the_contents() {
        let t = tracker();
        t.refuse_transition("DEV", "2", Some("Frozen")).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tracker.json");
        t.save(&path).unwrap();
        let back =
            MemoryTracker::load(&path, std::sync::Arc::new(crate::clock::SystemClock)).unwrap();
        let bug = block_on(back.create_issue(&NewIssue::new(dev(), "Bug", "Crash"))).unwrap();
        assert_eq!(block_on(back.issue(&bug.id)).unwrap().status, "Triage");
        block_on(back.transition_issue(&bug.id, "1", &BTreeMap::new())).unwrap();
        let fields = BTreeMap::from([("resolution".into(), CustomValue::Select("Fixed".into()))]);
        let err = block_on(back.transition_issue(&bug.id, "2", &fields)).unwrap_err();
        assert_eq!(err.message(), "Frozen");
    }
}
