//! Workflows: what Jira Cloud's workflow preview tells of an issue type's
//! statuses and transitions, the transitions an issue can take now (with
//! their screens' fields), and taking one.
//!
//! - [`Jira::workflow`] asks Cloud's `POST workflows/preview` for the
//!   project's id and the issue type's id, and keeps the answer for the
//!   adapter's lifetime (workflows change rarely; a stale one only makes the
//!   engine ask for a transition Jira no longer offers, which it reports).
//!   Jira answering 401, 403 or 404 there (no *Administer projects* or
//!   *View workflow* permission, or no such resource) means it does not
//!   tell: `None`. Data Center has no such resource: `None` without a call.
//! - [`Jira::transitions`] reads `GET issue/{id}/transitions` with
//!   `expand=transitions.fields`. Jira does not say where a transition that
//!   is not global starts (the issue's current status): only global ones
//!   have an empty `from`, the others name no status either, as they all
//!   start where the issue is.
//! - [`Jira::transition_issue`] posts the transition with its fields. Jira
//!   answers 400 both for a field it refuses (`errors` names it:
//!   `InvalidInput`) and for a transition it will not take (`Transition id
//!   '31' is not valid for this issue.`, or a validator's message, in
//!   `errorMessages` only: `Refused`).

use std::collections::BTreeMap;
use std::sync::Mutex;

use reqwest::Method;
use serde_json::{Value, json};

use super::super::error::JiraError;
use super::super::field_values;
use super::super::mapping::{self, Flavor};
use super::{Jira, op, unexpected};
use crate::error::{Error, ErrorKind, Result};
use crate::model::{CustomValue, IssueId, ProjectKey, Transition, Workflow};

/// More cached workflows than this and the cache starts again.
const MAX_CACHED: usize = 10_000;

/// (project, issue type lowercased) → the workflow Jira told (`None`: it
/// does not tell).
type Scope = (ProjectKey, String);

/// The workflows Jira told, per project and issue type.
#[derive(Debug, Default)]
pub(crate) struct WorkflowCache(Mutex<BTreeMap<Scope, Option<Workflow>>>);

impl WorkflowCache {
    fn get(&self, scope: &Scope) -> Option<Option<Workflow>> {
        self.lock().get(scope).cloned()
    }

    fn put(&self, scope: Scope, workflow: Option<Workflow>) {
        let mut map = self.lock();
        if map.len() >= MAX_CACHED {
            map.clear();
        }
        map.insert(scope, workflow);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<Scope, Option<Workflow>>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Jira {
    pub(crate) async fn workflow(
        &self,
        project: &ProjectKey,
        issue_type: &str,
    ) -> Result<Option<Workflow>> {
        if self.flavor == Flavor::DataCenter {
            return Ok(None);
        }
        let scope = (project.clone(), issue_type.to_lowercase());
        if let Some(known) = self.workflows.get(&scope) {
            return Ok(known);
        }
        let found = self.preview_workflow(project, issue_type).await?;
        self.workflows.put(scope, found.clone());
        Ok(found)
    }

    /// `POST workflows/preview` for one issue type of `project`.
    async fn preview_workflow(
        &self,
        project: &ProjectKey,
        issue_type: &str,
    ) -> Result<Option<Workflow>> {
        let v = self.project_json(project).await?;
        let project_id = mapping::str_field(&v, "id", "a project")
            .map_err(|e| op(e, "get project").with_context("project", project))?;
        let types: Vec<(String, String)> = match issue_types(&v) {
            found if !found.is_empty() => found,
            _ => self
                .project(project)
                .await?
                .issue_types
                .into_iter()
                .map(|t| (t.id, t.name))
                .collect(),
        };
        let Some((type_id, _)) = types
            .iter()
            .find(|(_, name)| name.eq_ignore_ascii_case(issue_type))
        else {
            let names: Vec<&str> = types.iter().map(|(_, n)| n.as_str()).collect();
            return Err(Error::new(
                ErrorKind::NotFound,
                format!(
                    "issue type {issue_type:?} is not in project {project}; available: {}",
                    names.join(", ")
                ),
            ));
        };
        let answer = self
            .client
            .json(
                self.call(Method::POST, "workflows/preview", &["workflows", "preview"])
                    .json(json!({"projectId": project_id, "issueTypeIds": [type_id]})),
            )
            .await;
        match answer {
            Ok(v) => Ok(workflow_from_preview(&v, type_id)),
            Err(e) if matches!(e.http_status(), Some(401 | 403 | 404)) => {
                tracing::debug!(%project, issue_type, error = %e, "jira does not tell the workflow");
                Ok(None)
            }
            Err(e) => Err(op(e, "preview workflow")
                .with_context("project", project)
                .with_context("issue type", issue_type)),
        }
    }

    pub(crate) async fn transitions(&self, issue: &IssueId) -> Result<Vec<Transition>> {
        let v = self
            .client
            .json(
                self.call(
                    Method::GET,
                    "issue/{}/transitions",
                    &["issue", issue.as_str(), "transitions"],
                )
                .query("expand", "transitions.fields"),
            )
            .await
            .map_err(|e| op(e, "list transitions").with_issue(issue))?;
        let items = v
            .get("transitions")
            .and_then(Value::as_array)
            .ok_or_else(|| unexpected("list transitions").with_issue(issue))?;
        Ok(items.iter().filter_map(transition_from_json).collect())
    }

    pub(crate) async fn transition_issue(
        &self,
        issue: &IssueId,
        transition: &str,
        fields: &BTreeMap<String, CustomValue>,
    ) -> Result<()> {
        let mut body = json!({"transition": {"id": transition}});
        if !fields.is_empty() {
            body["fields"] =
                Value::Object(field_values::transition_fields_json(self.flavor, fields));
        }
        self.client
            .send(
                self.call(
                    Method::POST,
                    "issue/{}/transitions",
                    &["issue", issue.as_str(), "transitions"],
                )
                .issue(issue.as_str())
                .json(body),
            )
            .await
            .map_err(|e| transition_error(e, issue, transition))?;
        Ok(())
    }
}

/// The `(id, name)` of every issue type a project's JSON lists, sub-tasks too.
fn issue_types(project: &Value) -> Vec<(String, String)> {
    project
        .get("issueTypes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| {
            let id = mapping::str_field(t, "id", "an issue type").ok()?;
            Some((id, t.get("name")?.as_str()?.to_owned()))
        })
        .collect()
}

/// Jira's refusal of a transition: a 400 without field errors is the
/// transition refused (not available, a condition or a validator), with
/// Jira's message; a 400 naming fields stays `InvalidInput`.
fn transition_error(e: JiraError, issue: &IssueId, transition: &str) -> Error {
    if e.http_status() == Some(400) && !e.has_field_errors() {
        let said = match e.messages() {
            [] => "no reason given".to_owned(),
            messages => messages.join("; "),
        };
        return Error::new(
            ErrorKind::Refused,
            format!("jira refused transition {transition} of issue {issue}: {said}"),
        )
        .with_issue(issue)
        .with_operation("transition issue")
        .with_source(e);
    }
    op(e, "transition issue")
        .with_issue(issue)
        .with_context("transition", transition)
}

/// A preview transition's type: `INITIAL`, `GLOBAL` or `DIRECTED`.
fn kind(t: &Value) -> &str {
    t.get("type").and_then(Value::as_str).unwrap_or("DIRECTED")
}

/// An id Jira sends as a string or a number.
fn id_text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// One transition of `GET issue/{id}/transitions`; `None` without an id
/// or a target status, or when Jira says it is not available.
fn transition_from_json(t: &Value) -> Option<Transition> {
    if t.get("isAvailable").and_then(Value::as_bool) == Some(false) {
        return None;
    }
    let id = id_text(t.get("id"))?;
    let to = t.get("to")?.get("name")?.as_str()?;
    let name = t.get("name").and_then(Value::as_str).unwrap_or(&id);
    let mut out = Transition::new(id.clone(), name, to);
    for (field, meta) in t
        .get("fields")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        if let Some(meta) = field_values::transition_field_meta(field, meta) {
            out = out.field(meta);
        }
    }
    Some(out)
}

/// The workflow of issue type `type_id` in a `WorkflowPreviewResponse`:
/// the one whose query context names the type (else the first). Status
/// references become the statuses' names; the `INITIAL` transition gives
/// the initial status (else the first status). A transition whose target,
/// or every start, names no status of the answer is left out. `None` when
/// the answer holds no workflow with a status.
pub(crate) fn workflow_from_preview(v: &Value, type_id: &str) -> Option<Workflow> {
    let names: BTreeMap<&str, &str> = v
        .get("statuses")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|s| {
            let reference = s.get("statusReference")?.as_str()?;
            let name = s
                .get("name")
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty())
                .or_else(|| s.get("rawName").and_then(Value::as_str))?;
            Some((reference, name))
        })
        .collect();
    let name_of = |reference: Option<&Value>| -> Option<String> {
        names
            .get(reference?.as_str()?)
            .map(|name| (*name).to_owned())
    };
    let flows = v.get("workflows").and_then(Value::as_array)?;
    let names_type = |flow: &&Value| {
        flow.get("queryContext")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|c| c.get("issueTypes").and_then(Value::as_array))
            .flatten()
            .any(|t| t.as_str() == Some(type_id))
    };
    let flow = flows.iter().find(names_type).or_else(|| flows.first())?;
    let statuses: Vec<String> = flow
        .get("statuses")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|s| name_of(s.get("statusReference")))
        .collect();
    let transitions = flow
        .get("transitions")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    let initial = transitions
        .iter()
        .filter(|t| kind(t) == "INITIAL")
        .find_map(|t| name_of(t.get("toStatusReference")))
        .or_else(|| statuses.first().cloned())?;
    let mut workflow = Workflow::new(initial);
    if let Some(name) = flow.get("name").and_then(Value::as_str) {
        workflow = workflow.named(name);
    }
    for status in statuses {
        if workflow.status(&status).is_none() {
            workflow.statuses.push(status);
        }
    }
    for t in transitions.iter().filter(|t| kind(t) != "INITIAL") {
        let (Some(id), Some(to)) = (id_text(t.get("id")), name_of(t.get("toStatusReference")))
        else {
            continue;
        };
        let name = t.get("name").and_then(Value::as_str).unwrap_or(&id);
        let mut transition = Transition::new(id.clone(), name, to);
        if kind(t) != "GLOBAL" {
            let mut from: Vec<String> = Vec::new();
            let links = t
                .get("links")
                .and_then(Value::as_array)
                .into_iter()
                .flatten();
            for status in links.filter_map(|l| name_of(l.get("fromStatusReference"))) {
                if !from.iter().any(|s| s.eq_ignore_ascii_case(&status)) {
                    from.push(status);
                }
            }
            if from.is_empty() {
                continue;
            }
            transition = transition.from(from);
        }
        workflow = workflow.with(transition);
    }
    Some(workflow)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::FieldKind;

    /// The example answer of Atlassian's spec, translated statuses and all.
    fn spec_example() -> Value {
        json!({
            "statuses": [
                {"id": "1", "name": "Zrobic", "rawName": "To Do", "statusReference": "1"},
                {"id": "2", "name": "W toku", "rawName": "In Progress", "statusReference": "2"},
                {"id": "3", "name": "Zrobione", "rawName": "Done", "statusReference": "3"}
            ],
            "workflows": [{
                "id": "b9ff2384", "name": "Sample Workflow",
                "queryContext": [{"issueTypes": ["10001", "10002"], "project": "10000"}],
                "statuses": [{"statusReference": "1"}, {"statusReference": "2"}, {"statusReference": "3"}],
                "transitions": [
                    {"id": "1", "name": "Create", "links": [], "toStatusReference": "1", "type": "INITIAL"},
                    {"id": "21", "name": "Start Progress", "links": [{"fromPort": 0, "fromStatusReference": "1", "toPort": 0}], "toStatusReference": "2", "type": "DIRECTED"},
                    {"id": "31", "name": "Done", "links": [{"fromStatusReference": "2"}], "toStatusReference": "3", "type": "DIRECTED"},
                    {"id": 41, "name": "Reopen", "links": [], "toStatusReference": "1", "type": "GLOBAL"}
                ]
            }]
        })
    }

    #[test]
    fn a_preview_reads_as_a_workflow() {
        let flow = workflow_from_preview(&spec_example(), "10001").unwrap();
        assert_eq!(flow.name, "Sample Workflow");
        assert_eq!(flow.initial, "Zrobic");
        assert_eq!(flow.statuses, ["Zrobic", "W toku", "Zrobione"]);
        let ids: Vec<&str> = flow.transitions.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(
            ids,
            ["21", "31", "41"],
            "the initial transition is not one to take"
        );
        assert_eq!(flow.transitions[0].from, ["Zrobic"]);
        assert!(flow.transitions[2].from.is_empty(), "global");
        let path = flow.path("Zrobic", "Zrobione").unwrap();
        assert_eq!(path.len(), 2);
    }

    #[test]
    fn the_workflow_of_the_type_asked_for_is_chosen() {
        let mut v = spec_example();
        let mut other = v["workflows"][0].clone();
        other["name"] = json!("Bugs");
        other["queryContext"] = json!([{"issueTypes": ["10005"], "project": "10000"}]);
        v["workflows"].as_array_mut().unwrap().push(other);
        assert_eq!(workflow_from_preview(&v, "10005").unwrap().name, "Bugs");
        assert_eq!(
            workflow_from_preview(&v, "10001").unwrap().name,
            "Sample Workflow"
        );
    }

    #[test]
    fn unknown_references_are_left_out_and_odd_answers_do_not_panic() {
        let mut v = spec_example();
        v["workflows"][0]["transitions"][2]["links"] = json!([{"fromStatusReference": "nope"}]);
        v["workflows"][0]["transitions"][0]["toStatusReference"] = json!("nope");
        let flow = workflow_from_preview(&v, "10001").unwrap();
        assert_eq!(
            flow.initial, "Zrobic",
            "the first status, for want of INITIAL"
        );
        let ids: Vec<&str> = flow.transitions.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(
            ids,
            ["21", "41"],
            "a directed transition from nowhere is left out"
        );
        for odd in [
            json!(null),
            json!([]),
            json!({"workflows": []}),
            json!({"workflows": [{}]}),
            json!({"statuses": [{"statusReference": 1}], "workflows": [{"statuses": 3}]}),
        ] {
            assert_eq!(workflow_from_preview(&odd, "1"), None, "{odd}");
        }
    }

    #[test]
    fn transitions_read_their_screens_fields() {
        let t = json!({
            "id": "31", "name": "Resolve", "isAvailable": true,
            "to": {"id": "5", "name": "Resolved"},
            "fields": {
                "resolution": {"required": true, "name": "Resolution",
                    "schema": {"type": "resolution", "system": "resolution"},
                    "allowedValues": [{"id": "1", "name": "Fixed"}, {"id": "2", "name": "Won't Do"}]},
                "customfield_10010": {"required": false, "name": "Severity",
                    "schema": {"type": "option", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:select"},
                    "allowedValues": [{"id": "7", "value": "S1"}]},
                "comment": {"required": false, "name": "Comment", "schema": {"type": "comments-page", "system": "comment"}}
            }
        });
        let t = transition_from_json(&t).unwrap();
        assert_eq!(
            (t.id.as_str(), t.name.as_str(), t.to.as_str()),
            ("31", "Resolve", "Resolved")
        );
        let required: Vec<&str> = t.required_fields().map(|f| f.id.as_str()).collect();
        assert_eq!(required, ["resolution"]);
        assert_eq!(
            t.fields.len(),
            2,
            "a field of a kind twinsync does not model is left out"
        );
        let resolution = t.fields.iter().find(|f| f.id == "resolution").unwrap();
        assert_eq!(resolution.kind, FieldKind::Select);
        assert_eq!(resolution.options, ["Fixed", "Won't Do"]);
        assert!(transition_from_json(&json!({"id": "1", "to": {}})).is_none());
        assert!(
            transition_from_json(&json!({"id": "1", "to": {"name": "X"}, "isAvailable": false}))
                .is_none()
        );
    }

    #[test]
    fn refusals_and_field_errors_map_to_their_kinds() {
        let issue: IssueId = "10001".parse().unwrap();
        let refused = transition_error(
            JiraError::status(
                400,
                br#"{"errorMessages":["Transition id '31' is not valid for this issue."],"errors":{}}"#,
                None,
                None,
            ),
            &issue,
            "31",
        );
        assert_eq!(refused.kind(), ErrorKind::Refused);
        assert!(
            refused.message().contains("is not valid for this issue"),
            "{refused}"
        );
        let missing = transition_error(
            JiraError::status(
                400,
                br#"{"errorMessages":[],"errors":{"resolution":"Resolution is required."}}"#,
                None,
                None,
            ),
            &issue,
            "31",
        );
        assert_eq!(missing.kind(), ErrorKind::InvalidInput);
        assert!(
            missing
                .message()
                .contains("resolution: Resolution is required."),
            "{missing}"
        );
        let gone = transition_error(JiraError::status(404, b"", None, None), &issue, "31");
        assert_eq!(gone.kind(), ErrorKind::NotFound);
    }
}
