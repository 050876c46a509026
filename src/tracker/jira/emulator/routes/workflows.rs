//! Transitions and workflows: `GET`/`POST issue/{id}/transitions` and
//! Cloud's `POST workflows/preview`.
//!
//! An issue whose project (or issue type) follows a workflow of the
//! [`MemoryTracker`](crate::tracker::MemoryTracker)
//! ([`JiraEmulator::set_workflow`](super::super::JiraEmulator::set_workflow))
//! offers the transitions that start from its status, each with its screen's
//! fields (`expand=transitions.fields`), and takes them as Jira does: a field
//! not on the screen, a value of the wrong shape or a missing required field
//! is answered 400 under the field, a transition not offered or refused
//! ([`JiraEmulator::refuse_transition`](super::super::JiraEmulator::refuse_transition))
//! 400 with the reason in `errorMessages`. Without a workflow every issue
//! offers the global transitions To Do, In Progress and Done.

use std::collections::BTreeMap;

use hyper::StatusCode;
use serde_json::{Map, Value, json};

use super::super::render;
use super::super::values::{allowed_values, is_standard, schema};
use super::{Api, Reply, fail, field_error, fields, from_error};
use crate::error::{Error, ErrorKind};
use crate::model::{CustomValue, FieldMeta, Issue, ProjectInfo, Transition, Workflow, field_ids};
use crate::tracker::jira::field_values::RESOLUTION;
use crate::tracker::{IssueUpdate, Tracker};

/// The most ids or names one preview request may list.
const MAX_PREVIEW_LOOKUPS: usize = 25;

/// Jira's answer to a transition the issue does not offer.
fn not_valid(id: &str) -> Reply {
    fail(
        StatusCode::BAD_REQUEST,
        &format!("Transition id '{id}' is not valid for this issue."),
    )
}

/// A stable UUID-shaped text for `text` (workflow ids, status references).
fn uuid_like(text: &str) -> String {
    let h = xxhash_rust::xxh3::xxh3_128(text.as_bytes());
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        (h >> 96) as u32,
        (h >> 80) as u16,
        (h >> 64) as u16,
        (h >> 48) as u16,
        h & 0xffff_ffff_ffff
    )
}

fn status_reference(status: &str) -> String {
    uuid_like(&format!("status\u{0}{}", status.to_lowercase()))
}

/// `project` as the screen of a transition sees it: its fields are the
/// screen's (option ids are numbered by their place there).
fn screen_of(project: &ProjectInfo, transition: &Transition) -> ProjectInfo {
    let mut screen = project.clone();
    screen.fields.clone_from(&transition.fields);
    screen
}

/// A field of a transition's screen as `expand=transitions.fields` shows it.
fn field_entry(ctx: &render::Ctx, screen: &ProjectInfo, meta: &FieldMeta) -> Value {
    let schema = match meta.id.as_str() {
        RESOLUTION => json!({"type": "resolution", "system": RESOLUTION}),
        id if is_standard(id) => fields::standard_schema(id).unwrap_or_else(|| schema(meta)),
        _ => schema(meta),
    };
    let mut entry = json!({"required": meta.required, "schema": schema, "name": meta.name,
        "key": meta.id, "hasDefaultValue": false, "operations": ["set"]});
    if let Some(values) = allowed_values(ctx, screen, meta) {
        entry["allowedValues"] = values;
    }
    entry
}

/// The answer to the tracker's refusal of a transition: a refusal in
/// `errorMessages`, a bad or missing field under its id.
fn transition_refusal(err: &Error, transition: &Transition) -> Reply {
    match err.kind() {
        ErrorKind::Refused => fail(StatusCode::BAD_REQUEST, err.message()),
        ErrorKind::InvalidInput => {
            let message = err.message();
            let named = transition.fields.iter().map(|f| f.id.as_str()).find(|id| {
                message.contains(&format!("({id})")) || message.contains(&format!("field {id} "))
            });
            match named {
                Some(id) => field_error(id, message),
                None => fail(StatusCode::BAD_REQUEST, message),
            }
        }
        _ => from_error(err),
    }
}

impl Api<'_> {
    /// The workflow `issue` follows, if any.
    async fn workflow_of(&self, issue: &Issue) -> Option<Workflow> {
        self.t
            .workflow(&issue.project, &issue.issue_type)
            .await
            .ok()
            .flatten()
    }

    /// The global transitions an issue following no workflow offers.
    fn fixed_transitions(&self) -> Vec<Value> {
        [("11", "To Do"), ("21", "In Progress"), ("31", "Done")]
            .iter()
            .map(|(id, name)| {
                json!({"id": id, "name": name, "to": render::status(&self.ctx, name), "hasScreen": false, "isGlobal": true, "isInitial": false, "isAvailable": true, "isConditional": false, "isLooped": false})
            })
            .collect()
    }

    /// `GET issue/{issueIdOrKey}/transitions`.
    pub(super) async fn transitions(&self, id: &str) -> Reply {
        let issue = match self.find_issue(id).await {
            Ok(issue) => issue,
            Err(reply) => return reply,
        };
        if self.workflow_of(&issue).await.is_none() {
            return Reply::json(
                StatusCode::OK,
                json!({"transitions": self.fixed_transitions()}),
            );
        }
        let offered = match self.t.transitions(&issue.id).await {
            Ok(offered) => offered,
            Err(err) => return from_error(&err),
        };
        let info = match self.project_info(issue.project.as_str()).await {
            Ok(info) => info,
            Err(reply) => return reply,
        };
        let with_fields = self
            .q("expand")
            .is_some_and(|e| e.split(',').any(|x| x.trim() == "transitions.fields"));
        let wanted = self.q("transitionId");
        let list: Vec<Value> = offered
            .iter()
            .filter(|t| wanted.is_none_or(|w| w == t.id))
            .map(|t| {
                let mut v = json!({"id": t.id, "name": t.name,
                    "to": render::status(&self.ctx, &t.to), "hasScreen": !t.fields.is_empty(),
                    "isGlobal": t.from.is_empty(), "isInitial": false, "isAvailable": true,
                    "isConditional": false, "isLooped": false});
                if with_fields {
                    let screen = screen_of(&info, t);
                    let fields: Map<String, Value> = t
                        .fields
                        .iter()
                        .map(|m| (m.id.clone(), field_entry(&self.ctx, &screen, m)))
                        .collect();
                    v["fields"] = Value::Object(fields);
                }
                v
            })
            .collect();
        let mut body = json!({"transitions": list});
        if with_fields {
            body["expand"] = json!("transitions");
        }
        Reply::json(StatusCode::OK, body)
    }

    /// `POST issue/{issueIdOrKey}/transitions`: 204 once taken.
    pub(super) async fn do_transition(&self, id: &str) -> Reply {
        let issue = match self.find_issue(id).await {
            Ok(issue) => issue,
            Err(reply) => return reply,
        };
        let body = self.req.json.unwrap_or(&Value::Null);
        let wanted = body.pointer("/transition/id").and_then(|v| {
            v.as_str()
                .map(str::to_owned)
                .or_else(|| v.as_u64().map(|n| n.to_string()))
        });
        let Some(wanted) = wanted else {
            return fail(
                StatusCode::BAD_REQUEST,
                "Missing 'transition' identifier: give transition.id.",
            );
        };
        if self.workflow_of(&issue).await.is_none() {
            return self.fixed_transition(&issue, &wanted).await;
        }
        let offered = match self.t.transitions(&issue.id).await {
            Ok(offered) => offered,
            Err(err) => return from_error(&err),
        };
        let Some(transition) = offered.into_iter().find(|t| t.id == wanted) else {
            return not_valid(&wanted);
        };
        let info = match self.project_info(issue.project.as_str()).await {
            Ok(info) => info,
            Err(reply) => return reply,
        };
        let values = match body.get("fields") {
            None | Some(Value::Null) => BTreeMap::new(),
            Some(Value::Object(given)) => match self.screen_values(&info, &transition, given) {
                Ok(values) => values,
                Err(reply) => return reply,
            },
            Some(_) => return fail(StatusCode::BAD_REQUEST, "'fields' must be an object."),
        };
        match self
            .t
            .transition_issue(&issue.id, &transition.id, &values)
            .await
        {
            Ok(()) => Reply::empty(StatusCode::NO_CONTENT),
            Err(err) => transition_refusal(&err, &transition),
        }
    }

    /// The values a transition's `fields` give, read by the kinds of its
    /// screen's fields; a field not on the screen is refused.
    fn screen_values(
        &self,
        project: &ProjectInfo,
        transition: &Transition,
        given: &Map<String, Value>,
    ) -> Result<BTreeMap<String, CustomValue>, Reply> {
        let screen = screen_of(project, transition);
        let mut out = BTreeMap::new();
        for (id, v) in given {
            let Some(meta) = transition.fields.iter().find(|m| &m.id == id) else {
                return Err(fields::not_on_screen(id));
            };
            if v.is_null() {
                continue;
            }
            let value = match id.as_str() {
                RESOLUTION | field_ids::PRIORITY => Some(CustomValue::Select(
                    self.option(&screen, id, "name", &meta.name, v)?,
                )),
                field_ids::COMPONENTS | field_ids::FIX_VERSIONS => {
                    let Some(items) = v.as_array() else {
                        return Err(field_error(id, "Field expects an array of {\"name\"}."));
                    };
                    let names = items
                        .iter()
                        .map(|item| self.option(&screen, id, "name", &meta.name, item))
                        .collect::<Result<Vec<_>, _>>()?;
                    (!names.is_empty()).then_some(CustomValue::MultiSelect(names))
                }
                _ => self.custom_value(&screen, meta, v)?,
            };
            if let Some(value) = value {
                out.insert(id.clone(), value);
            }
        }
        Ok(out)
    }

    /// A transition of an issue following no workflow: one of the fixed
    /// global ones, setting the status directly.
    async fn fixed_transition(&self, issue: &Issue, wanted: &str) -> Reply {
        let target = self
            .fixed_transitions()
            .into_iter()
            .find(|t| t.get("id").and_then(Value::as_str) == Some(wanted));
        let Some(name) =
            target.and_then(|t| t.get("name").and_then(Value::as_str).map(str::to_owned))
        else {
            return not_valid(wanted);
        };
        let update = IssueUpdate {
            status: Some(name),
            ..IssueUpdate::default()
        };
        match self.t.update_issue(&issue.id, &update).await {
            Ok(()) => Reply::empty(StatusCode::NO_CONTENT),
            Err(err) => from_error(&err),
        }
    }

    /// `POST workflows/preview` (Cloud only): the workflows of a project
    /// that the request's issue type ids, workflow names or workflow ids
    /// select, in the order it names them. An issue type following no
    /// workflow of the emulator has none to preview (404).
    pub(super) async fn workflow_preview(&self) -> Reply {
        let Some(body) = self.req.json else {
            return fail(StatusCode::BAD_REQUEST, "The request body must be JSON.");
        };
        let project_id = match body.get("projectId") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => return fail(StatusCode::BAD_REQUEST, "The projectId must be provided."),
        };
        let list = |name: &str| -> Result<Vec<String>, Reply> {
            match body.get(name) {
                None | Some(Value::Null) => Ok(Vec::new()),
                Some(Value::Array(items)) if items.len() <= MAX_PREVIEW_LOOKUPS => items
                    .iter()
                    .map(|i| i.as_str().map(str::to_owned))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| {
                        fail(
                            StatusCode::BAD_REQUEST,
                            &format!("{name} must be a list of strings."),
                        )
                    }),
                Some(_) => Err(fail(
                    StatusCode::BAD_REQUEST,
                    &format!("{name} must be a list of at most {MAX_PREVIEW_LOOKUPS} strings."),
                )),
            }
        };
        let (type_ids, names, ids) = match (
            list("issueTypeIds"),
            list("workflowNames"),
            list("workflowIds"),
        ) {
            (Ok(t), Ok(n), Ok(i)) => (t, n, i),
            (Err(reply), _, _) | (_, Err(reply), _) | (_, _, Err(reply)) => return reply,
        };
        if type_ids.is_empty() && names.is_empty() && ids.is_empty() {
            return fail(
                StatusCode::BAD_REQUEST,
                "Give at least one of workflowNames, workflowIds or issueTypeIds.",
            );
        }
        let info = match project_id.parse::<u64>() {
            Ok(_) => match self.project_info(&project_id).await {
                Ok(info) => info,
                Err(reply) => return reply,
            },
            Err(_) => {
                return fail(
                    StatusCode::NOT_FOUND,
                    &format!("No project could be found with id '{project_id}'."),
                );
            }
        };
        // Every workflow of the project, with the issue types following it.
        let mut flows: Vec<(Workflow, Vec<String>)> = Vec::new();
        for t in &info.issue_types {
            if let Ok(Some(flow)) = self.t.workflow(&info.key, &t.name).await {
                match flows.iter_mut().find(|(f, _)| *f == flow) {
                    Some((_, types)) => types.push(t.id.clone()),
                    None => flows.push((flow, vec![t.id.clone()])),
                }
            }
        }
        let mut chosen: Vec<usize> = Vec::new();
        let lookups = type_ids
            .iter()
            .map(|t| (t, "issue type"))
            .chain(names.iter().map(|n| (n, "workflow name")))
            .chain(ids.iter().map(|i| (i, "workflow id")));
        for (wanted, what) in lookups {
            let found = flows.iter().position(|(flow, types)| match what {
                "issue type" => types.contains(wanted),
                "workflow name" => workflow_name(&info, flow) == *wanted,
                _ => workflow_id(&info, flow) == *wanted,
            });
            match found {
                Some(at) if !chosen.contains(&at) => chosen.push(at),
                Some(_) => {}
                None => {
                    return fail(
                        StatusCode::NOT_FOUND,
                        &format!("No workflow could be found for {what} '{wanted}'."),
                    );
                }
            }
        }
        let project_id = self.project_id(&info.key).to_string();
        let mut statuses: Vec<String> = Vec::new();
        let mut workflows = Vec::new();
        for (flow, types) in chosen.iter().filter_map(|at| flows.get(*at)) {
            for status in &flow.statuses {
                if !statuses.iter().any(|s| s.eq_ignore_ascii_case(status)) {
                    statuses.push(status.clone());
                }
            }
            workflows.push(preview(&info, &project_id, flow, types));
        }
        let statuses: Vec<Value> = statuses
            .iter()
            .map(|s| {
                json!({"id": render::status_id(s), "name": s, "rawName": s, "description": "",
                    "statusReference": status_reference(s), "scope": {"type": "GLOBAL"},
                    "statusCategory": category(s)})
            })
            .collect();
        Reply::json(
            StatusCode::OK,
            json!({"statuses": statuses, "workflows": workflows}),
        )
    }
}

fn workflow_name(project: &ProjectInfo, flow: &Workflow) -> String {
    match flow.name.is_empty() {
        true => format!("Software Simplified Workflow for Project {}", project.key),
        false => flow.name.clone(),
    }
}

fn workflow_id(project: &ProjectInfo, flow: &Workflow) -> String {
    let text = serde_json::to_string(flow).unwrap_or_default();
    uuid_like(&format!("{}\u{0}{text}", project.key))
}

/// A status's category, guessed from its name as the emulator has no other.
fn category(status: &str) -> &'static str {
    match status.to_lowercase().as_str() {
        "done" | "closed" | "resolved" => "DONE",
        "to do" | "open" | "backlog" | "new" => "TODO",
        _ => "IN_PROGRESS",
    }
}

/// One `WorkflowPreview`: an `INITIAL` transition to the initial status,
/// `GLOBAL` ones for transitions from any status, `DIRECTED` ones with a
/// link from each status they start from.
fn preview(project: &ProjectInfo, project_id: &str, flow: &Workflow, types: &[String]) -> Value {
    let statuses: Vec<Value> = flow
        .statuses
        .iter()
        .enumerate()
        .map(|(at, s)| {
            json!({"statusReference": status_reference(s), "deprecated": false,
                "layout": {"x": 200.0 * at as f64, "y": 0.0}})
        })
        .collect();
    let mut transitions = vec![json!({
        "id": "1", "name": "Create", "description": "", "type": "INITIAL",
        "toStatusReference": status_reference(&flow.initial), "links": [],
        "actions": [], "validators": [], "triggers": [],
    })];
    for t in &flow.transitions {
        let links: Vec<Value> = t
            .from
            .iter()
            .map(
                |s| json!({"fromStatusReference": status_reference(s), "fromPort": 0, "toPort": 0}),
            )
            .collect();
        transitions.push(json!({
            "id": t.id, "name": t.name, "description": "",
            "type": if t.from.is_empty() { "GLOBAL" } else { "DIRECTED" },
            "toStatusReference": status_reference(&t.to), "links": links,
            "actions": [], "validators": [], "triggers": [],
        }));
    }
    json!({
        "id": workflow_id(project, flow),
        "name": workflow_name(project, flow),
        "description": "",
        "scope": {"type": "GLOBAL"},
        "queryContext": [{"project": project_id, "issueTypes": types}],
        "startPointLayout": {"x": -100.0, "y": 0.0},
        "statuses": statuses,
        "transitions": transitions,
        "version": {"id": uuid_like(&format!("version\u{0}{}", workflow_id(project, flow))), "versionNumber": 1},
    })
}
