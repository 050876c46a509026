//! Projects, issue types, issues and transitions.

use std::collections::BTreeMap;

use hyper::StatusCode;
use serde_json::{Value, json};

use super::super::render;
use super::super::{adf, lock};
use super::field_input;
use super::fields::{self, Screen};
use super::{Api, NO_ISSUE, Reply, fail, field_error, from_error, issue_ref};
use crate::model::{Issue, ProjectKey, RichText};
use crate::tracker::jira::markup;
use crate::tracker::{IssueUpdate, NewComment, NewIssue, Tracker};

/// The most issues `POST issue/bulk` creates in one request.
const MAX_BULK_CREATE: usize = 50;

/// Jira Cloud's answer to a body that is not a valid ADF document: a field
/// error for a description, `INVALID_INPUT` for a comment.
fn invalid_adf(field: &str) -> Reply {
    if field == "comment" {
        return Reply::json(
            StatusCode::BAD_REQUEST,
            json!({"errorMessages": ["INVALID_INPUT"], "errors": {}}),
        );
    }
    field_error(
        field,
        "Operation value must be an Atlassian Document (see the Atlassian Document Format)",
    )
}

impl Api<'_> {
    pub(super) fn project_id(&self, key: &ProjectKey) -> u64 {
        let mut projects = lock(&self.shared.projects);
        if let Some((_, id)) = projects.iter().find(|(k, _)| k == key) {
            return *id;
        }
        let id = 10_000 + projects.len() as u64;
        projects.push((key.clone(), id));
        id
    }

    pub(super) fn project_key_by_id(&self, id: u64) -> Option<ProjectKey> {
        lock(&self.shared.projects)
            .iter()
            .find(|(_, i)| *i == id)
            .map(|(k, _)| k.clone())
    }

    pub(super) async fn project_info(
        &self,
        key_or_id: &str,
    ) -> Result<crate::model::ProjectInfo, Reply> {
        let key = match key_or_id.parse::<u64>() {
            Ok(id) => self.project_key_by_id(id),
            Err(_) => ProjectKey::new(key_or_id).ok(),
        };
        let not_found = || {
            fail(
                StatusCode::NOT_FOUND,
                &format!("No project could be found with key '{key_or_id}'."),
            )
        };
        let key = key.ok_or_else(not_found)?;
        self.t.project(&key).await.map_err(|_| not_found())
    }

    pub(super) async fn project(&self, key: &str) -> Reply {
        match self.project_info(key).await {
            Ok(info) => {
                let id = self.project_id(&info.key);
                Reply::json(StatusCode::OK, render::project(&self.ctx, &info, id))
            }
            Err(reply) => reply,
        }
    }

    pub(super) async fn createmeta(&self, key: &str) -> Reply {
        let info = match self.project_info(key).await {
            Ok(info) => info,
            Err(reply) => return reply,
        };
        let start = self.q_usize("startAt", 0);
        let max = self.q_usize("maxResults", 50).min(200);
        if self.q_usize("maxResults", 50) > 200 {
            return fail(
                StatusCode::BAD_REQUEST,
                "Parameter 'maxResults' must not exceed the limit '200'",
            );
        }
        let types: Vec<Value> = info
            .issue_types
            .iter()
            .skip(start)
            .take(max)
            .map(|t| render::issue_type(&self.ctx, &t.id, &t.name))
            .collect();
        let total = info.issue_types.len();
        if self.ctx.v2 && !self.cloud() {
            Reply::json(
                StatusCode::OK,
                json!({"values": types, "startAt": start, "maxResults": max, "total": total, "isLast": start + max >= total}),
            )
        } else {
            Reply::json(
                StatusCode::OK,
                json!({"issueTypes": types, "startAt": start, "maxResults": max, "total": total}),
            )
        }
    }

    pub(super) async fn find_issue(&self, id_or_key: &str) -> Result<Issue, Reply> {
        let found = match issue_ref(id_or_key) {
            Some(Ok(id)) => self.t.issue(&id).await,
            Some(Err(key)) => self.t.issue_by_key(&key).await,
            None => return Err(fail(StatusCode::NOT_FOUND, NO_ISSUE)),
        };
        found.map_err(|_| fail(StatusCode::NOT_FOUND, NO_ISSUE))
    }

    pub(super) async fn render_issue(
        &self,
        issue: &Issue,
        fields: Option<&[String]>,
        properties: Option<&[String]>,
    ) -> Value {
        let info = self.t.project(&issue.project).await.ok();
        let type_id = info
            .as_ref()
            .and_then(|p| p.issue_type(&issue.issue_type))
            .map_or_else(|| "1".to_owned(), |t| t.id.clone());
        let info = info.unwrap_or_else(|| crate::model::ProjectInfo {
            key: issue.project.clone(),
            name: String::new(),
            issue_types: Vec::new(),
            default_issue_type: None,
            fields: Vec::new(),
        });
        let link_types = if issue.fields.links.is_empty() {
            Vec::new()
        } else {
            self.t.issue_link_types().await.unwrap_or_default()
        };
        let parent_summary = match &issue.fields.parent {
            Some(parent) => self.t.issue(&parent.id).await.ok().map(|p| p.summary),
            None => None,
        };
        let extra = super::super::values::Extra {
            project: &info,
            project_id: self.project_id(&issue.project),
            type_id,
            link_types: &link_types,
            parent_summary,
        };
        render::issue(&self.ctx, issue, &extra, fields, properties)
    }

    pub(super) async fn get_issue(&self, id: &str) -> Reply {
        let issue = match self.find_issue(id).await {
            Ok(issue) => issue,
            Err(reply) => return reply,
        };
        let fields = render::wanted_fields(self.q("fields"), true);
        let properties = self.list_param("properties");
        let v = self
            .render_issue(&issue, fields.as_deref(), properties.as_deref())
            .await;
        Reply::json(StatusCode::OK, v)
    }

    /// A description or comment body from a request: ADF for v3, wiki for v2.
    pub(super) fn body_from(&self, value: Option<&Value>, field: &str) -> Result<RichText, Reply> {
        match value {
            None | Some(Value::Null) => Ok(RichText::default()),
            Some(Value::String(text)) if self.ctx.v2 => RichText::adf(markup::wiki_to_adf(text))
                .map_err(|e| field_error(field, e.message())),
            Some(doc @ Value::Object(_)) if !self.ctx.v2 => match adf::problem(doc) {
                None => RichText::adf(doc.clone()).map_err(|_| invalid_adf(field)),
                Some(_) => Err(invalid_adf(field)),
            },
            Some(_) if self.ctx.v2 => Err(field_error(field, "Operation value must be a string")),
            Some(_) => Err(invalid_adf(field)),
        }
    }

    pub(super) fn labels_from(value: Option<&Value>) -> Result<Vec<String>, Reply> {
        let Some(value) = value else {
            return Ok(Vec::new());
        };
        let Some(items) = value.as_array() else {
            return Err(field_error("labels", "Labels must be an array of strings."));
        };
        let mut labels = Vec::new();
        for item in items {
            let Some(label) = item.as_str() else {
                return Err(field_error("labels", "Labels must be an array of strings."));
            };
            if label.is_empty() || label.chars().any(char::is_whitespace) {
                return Err(field_error(
                    "labels",
                    &format!("The label '{label}' contains spaces which is invalid."),
                ));
            }
            labels.push(label.to_owned());
        }
        Ok(labels)
    }

    pub(super) fn properties_from(value: Option<&Value>) -> Result<BTreeMap<String, Value>, Reply> {
        let mut out = BTreeMap::new();
        for item in value.and_then(Value::as_array).into_iter().flatten() {
            match (item.get("key").and_then(Value::as_str), item.get("value")) {
                (Some(k), Some(v)) => {
                    out.insert(k.to_owned(), v.clone());
                }
                _ => {
                    return Err(fail(
                        StatusCode::BAD_REQUEST,
                        "Each property needs a key and a value.",
                    ));
                }
            }
        }
        Ok(out)
    }

    pub(super) async fn issue_type_name(
        &self,
        project: &crate::model::ProjectInfo,
        value: Option<&Value>,
    ) -> Option<String> {
        let value = value?;
        if let Some(id) = value.get("id").and_then(Value::as_str) {
            return project
                .issue_types
                .iter()
                .find(|t| t.id == id)
                .map(|t| t.name.clone());
        }
        let name = value.get("name")?.as_str()?;
        project.issue_type(name).map(|t| t.name.clone())
    }

    pub(super) async fn create_issue(&self) -> Reply {
        let Some(body) = self.req.json else {
            return fail(StatusCode::BAD_REQUEST, "The request body must be JSON.");
        };
        self.create_from(body).await
    }

    /// `POST issue/bulk`: up to 50 creates in one request, each as
    /// `POST issue` would make it; 201 when any was created, 400 when none.
    pub(super) async fn create_issues(&self) -> Reply {
        let Some(body) = self.req.json else {
            return fail(StatusCode::BAD_REQUEST, "The request body must be JSON.");
        };
        let Some(updates) = body.get("issueUpdates").and_then(Value::as_array) else {
            return field_error("issueUpdates", "Issue updates must be an array.");
        };
        if updates.len() > MAX_BULK_CREATE {
            return fail(
                StatusCode::BAD_REQUEST,
                &format!("Cannot create more than {MAX_BULK_CREATE} issues in one request."),
            );
        }
        let mut issues = Vec::new();
        let mut errors = Vec::new();
        for (n, update) in updates.iter().enumerate() {
            let reply = self.create_from(update).await;
            let answer = match reply.body {
                super::Body::Json(v) => v,
                _ => json!({}),
            };
            if reply.status == StatusCode::CREATED {
                issues.push(answer);
            } else {
                errors.push(json!({
                    "status": reply.status.as_u16(),
                    "elementErrors": {
                        "errorMessages": answer.get("errorMessages").cloned().unwrap_or_else(|| json!([])),
                        "errors": answer.get("errors").cloned().unwrap_or_else(|| json!({})),
                    },
                    "failedElementNumber": n,
                }));
            }
        }
        let status = if issues.is_empty() && !errors.is_empty() {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::CREATED
        };
        Reply::json(status, json!({"issues": issues, "errors": errors}))
    }

    async fn create_from(&self, body: &Value) -> Reply {
        let fields = body.get("fields").unwrap_or(&Value::Null);
        let project = fields.get("project");
        let project_key = project
            .and_then(|p| p.get("key").and_then(Value::as_str).map(str::to_owned))
            .or_else(|| {
                let id = project?.get("id")?;
                let id = id
                    .as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| id.to_string());
                Some(id)
            });
        let info = match &project_key {
            Some(key) => self.project_info(key).await.ok(),
            None => None,
        };
        if let Err(reply) = fields::check_screen(body, Screen::Create, info.as_ref()) {
            return reply;
        }
        let ups = match fields::updates(body) {
            Ok(u) => u,
            Err(reply) => return reply,
        };
        if project_key.is_none() {
            return field_error("project", "Specify a valid project ID or key");
        }
        let Some(info) = info else {
            return field_error("project", "valid project is required");
        };
        let issue_type_value = ups.issue_type.as_ref().or(fields.get("issuetype"));
        let Some(issue_type) = self.issue_type_name(&info, issue_type_value).await else {
            return field_error("issuetype", "Specify a valid issue type");
        };
        // The create screen of this issue type.
        let info = info.for_issue_type(&issue_type);
        if let Err(reply) = fields::check_screen(body, Screen::Create, Some(&info)) {
            return reply;
        }
        let summary = ups
            .summary
            .as_ref()
            .or(fields.get("summary"))
            .and_then(Value::as_str)
            .unwrap_or("");
        if summary.trim().is_empty() {
            return field_error("summary", "You must specify a summary of the issue.");
        }
        let description_value = ups.description.as_ref().or(fields.get("description"));
        let description = match self.body_from(description_value, "description") {
            Ok(d) => d,
            Err(reply) => return reply,
        };
        let labels = match Self::labels_from(fields.get("labels")).and_then(|l| ups.apply_labels(l))
        {
            Ok(l) => l,
            Err(reply) => return reply,
        };
        let comments = match self.comments_to_add(&ups) {
            Ok(c) => c,
            Err(reply) => return reply,
        };
        let properties = match Self::properties_from(body.get("properties")) {
            Ok(p) => p,
            Err(reply) => return reply,
        };
        let given = field_input::beyond_basic(fields, &ups.sets);
        let beyond = match self.changes(&info, &given).await {
            Ok(changes) => changes.into_fields(&info, &issue_type),
            Err(reply) => return reply,
        };
        let beyond = match beyond {
            Ok(f) => f,
            Err(reply) => return reply,
        };
        let mut new = NewIssue::new(info.key.clone(), issue_type, summary)
            .description(description)
            .labels(labels)
            .fields(beyond);
        new.properties = properties;
        let created = self.t.create_issue(&new).await;
        if let Ok(created) = &created {
            for text in comments {
                if let Err(err) = self
                    .t
                    .add_comment(&created.id, &NewComment::public(text))
                    .await
                {
                    return from_error(&err);
                }
            }
        }
        match created {
            Ok(created) => Reply::json(
                StatusCode::CREATED,
                json!({"id": created.id.as_str(), "key": created.key.as_str(), "self": format!("{}/issue/{}", self.ctx.api(), created.id)}),
            ),
            Err(err) => field_input::refusal(&err, &given),
        }
    }

    pub(super) async fn edit_issue(&self, id: &str) -> Reply {
        let issue = match self.find_issue(id).await {
            Ok(issue) => issue,
            Err(reply) => return reply,
        };
        let Some(body) = self.req.json else {
            return fail(StatusCode::BAD_REQUEST, "The request body must be JSON.");
        };
        let info = match self.project_info(issue.project.as_str()).await {
            Ok(info) => info,
            Err(reply) => return reply,
        };
        if let Err(reply) = fields::check_screen(body, Screen::Edit, Some(&info)) {
            return reply;
        }
        let ups = match fields::updates(body) {
            Ok(u) => u,
            Err(reply) => return reply,
        };
        let comments = match self.comments_to_add(&ups) {
            Ok(c) => c,
            Err(reply) => return reply,
        };
        let fields = body.get("fields").unwrap_or(&Value::Null);
        let mut update = IssueUpdate::default();
        if let Some(summary) = ups.summary.as_ref().or(fields.get("summary")) {
            match summary.as_str() {
                Some(s) if !s.trim().is_empty() => update.summary = Some(s.to_owned()),
                _ => return field_error("summary", "You must specify a summary of the issue."),
            }
        }
        if let Some(description) = ups.description.as_ref().or(fields.get("description")) {
            match self.body_from(Some(description), "description") {
                Ok(d) => update.description = Some(d),
                Err(reply) => return reply,
            }
        }
        if let Some(issue_type) = ups.issue_type.as_ref().or(fields.get("issuetype")) {
            match self.issue_type_name(&info, Some(issue_type)).await {
                Some(name) => update.issue_type = Some(name),
                None => return field_error("issuetype", "Specify a valid issue type"),
            }
        }
        if fields.get("labels").is_some() || !ups.labels.is_empty() {
            let start = match fields.get("labels") {
                Some(given) => Self::labels_from(Some(given)),
                None => Ok(issue.labels.clone()),
            };
            match start.and_then(|l| ups.apply_labels(l)) {
                Ok(l) => update.labels = Some(l),
                Err(reply) => return reply,
            }
        }
        let given = field_input::beyond_basic(fields, &ups.sets);
        let applied = match self.changes(&info, &given).await {
            Ok(changes) => {
                let kind = update.issue_type.clone();
                changes.apply(
                    &info,
                    kind.as_deref().unwrap_or(&issue.issue_type),
                    &mut update,
                )
            }
            Err(reply) => return reply,
        };
        if let Err(reply) = applied {
            return reply;
        }
        if !update.is_empty()
            && let Err(err) = self.t.update_issue(&issue.id, &update).await
        {
            return field_input::refusal(&err, &given);
        }
        for text in comments {
            if let Err(err) = self
                .t
                .add_comment(&issue.id, &NewComment::public(text))
                .await
            {
                return from_error(&err);
            }
        }
        // Jira may delete an attachment no body refers to any more.
        self.drop_unreferenced(&issue).await;
        if self.q("returnIssue") != Some("true") {
            return Reply::empty(StatusCode::NO_CONTENT);
        }
        // As a GET would answer it.
        self.get_issue(issue.id.as_str()).await
    }

    /// `DELETE /rest/api/{2,3}/issue/{issueIdOrKey}`: the issue goes with its
    /// comments and attachments (the emulator has no sub-tasks).
    pub(super) async fn delete_issue(&self, id: &str) -> Reply {
        let issue = match self.find_issue(id).await {
            Ok(issue) => issue,
            Err(reply) => return reply,
        };
        match self.shared.tracker.remove_issue(&issue.id) {
            Ok(()) => Reply::empty(StatusCode::NO_CONTENT),
            Err(err) => from_error(&err),
        }
    }

    /// The bodies of an `update`'s `comment: [{"add": …}]` operations.
    fn comments_to_add(&self, ups: &fields::Updates) -> Result<Vec<RichText>, Reply> {
        let mut comments = Vec::new();
        for body in &ups.comments {
            match self.body_from(Some(body), "comment") {
                Ok(text) if !text.is_empty() => comments.push(text),
                Ok(_) => return Err(field_error("comment", "Comment body can not be empty!")),
                Err(reply) => return Err(reply),
            }
        }
        Ok(comments)
    }
}
