//! The emulator's endpoints: Jira's paths, status codes and body shapes, over
//! the state held in a [`MemoryTracker`](crate::tracker::MemoryTracker).

use std::collections::BTreeMap;

use hyper::StatusCode;
use serde_json::{Value, json};

use super::render::{self, Ctx};
use super::{Shared, lock, multipart};
use crate::error::{Error, ErrorKind};
use crate::model::{
    AttachmentId, AttachmentMeta, CommentId, Issue, IssueId, IssueKey, ProjectKey, RichText,
    UserId, UserRef,
};
use crate::tracker::jira::markup;
use crate::tracker::{
    IssueUpdate, MemoryTracker, NewAttachment, NewComment, NewIssue, Page, Tracker,
};

/// A request, as the routes see it.
pub(crate) struct Incoming<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    pub content_type: &'a str,
    pub xsrf_no_check: bool,
    pub body: &'a [u8],
    pub json: Option<&'a Value>,
    pub user: UserRef,
}

/// An answer's body.
pub(crate) enum Body {
    Json(Value),
    Bytes(Vec<u8>, String),
    Empty,
}

/// An answer.
pub(crate) struct Reply {
    pub status: StatusCode,
    pub body: Body,
    pub headers: Vec<(String, String)>,
}

impl Reply {
    pub(crate) fn json(status: StatusCode, body: Value) -> Self {
        Reply {
            status,
            body: Body::Json(body),
            headers: Vec::new(),
        }
    }

    fn empty(status: StatusCode) -> Self {
        Reply {
            status,
            body: Body::Empty,
            headers: Vec::new(),
        }
    }

    pub(crate) fn header(mut self, name: &str, value: String) -> Self {
        self.headers.push((name.to_owned(), value));
        self
    }
}

fn fail(status: StatusCode, message: &str) -> Reply {
    Reply::json(status, json!({"errorMessages": [message], "errors": {}}))
}

fn field_error(field: &str, message: &str) -> Reply {
    Reply::json(
        StatusCode::BAD_REQUEST,
        json!({"errorMessages": [], "errors": {field: message}}),
    )
}

fn from_error(err: &Error) -> Reply {
    let status = match err.kind() {
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::InvalidInput | ErrorKind::AlreadyExists => StatusCode::BAD_REQUEST,
        ErrorKind::PermissionDenied => StatusCode::FORBIDDEN,
        ErrorKind::Unauthenticated => StatusCode::UNAUTHORIZED,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    fail(status, err.message())
}

const NO_ISSUE: &str = "Issue does not exist or you do not have permission to see it.";

type Routed = (Option<String>, Reply);

/// Answers one authenticated request.
pub(crate) async fn route(shared: &Shared, req: Incoming<'_>) -> Routed {
    let segments: Vec<String> = req
        .path
        .trim_start_matches('/')
        .split('/')
        .map(percent_encoding_decode)
        .collect();
    let seg: Vec<&str> = segments.iter().map(String::as_str).collect();
    let ctx = Ctx {
        base: lock(&shared.base_url).clone(),
        v2: seg.get(2) == Some(&"2"),
    };
    let api = Api {
        shared,
        t: shared.tracker.as_user(req.user.clone()),
        ctx,
        query: url::form_urlencoded::parse(req.query.as_bytes())
            .into_owned()
            .collect(),
        req: &req,
    };
    match seg.as_slice() {
        ["secure", "attachment", id, _] if req.method == "GET" => {
            (None, api.content(&AttachmentId::new(*id)).await)
        }
        ["rest", "api", v @ ("2" | "3"), rest @ ..] => {
            let (template, reply) = api.dispatch(rest).await;
            (template.map(|t| format!("/rest/api/{v}/{t}")), reply)
        }
        _ => (None, fail(StatusCode::NOT_FOUND, "not found")),
    }
}

fn percent_encoding_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// What a search asks for.
struct SearchParams {
    jql: String,
    token: Option<String>,
    max: usize,
    fields: Option<Vec<String>>,
    properties: Option<Vec<String>>,
    start: usize,
}

struct Api<'a> {
    shared: &'a Shared,
    t: MemoryTracker,
    ctx: Ctx,
    query: BTreeMap<String, String>,
    req: &'a Incoming<'a>,
}

fn issue_ref(id_or_key: &str) -> Result<IssueId, IssueKey> {
    if !id_or_key.is_empty() && id_or_key.bytes().all(|b| b.is_ascii_digit()) {
        Ok(IssueId::new(id_or_key))
    } else {
        Err(IssueKey::new(id_or_key))
    }
}

impl Api<'_> {
    fn q(&self, name: &str) -> Option<&str> {
        self.query.get(name).map(String::as_str)
    }

    fn q_usize(&self, name: &str, default: usize) -> usize {
        self.q(name).and_then(|v| v.parse().ok()).unwrap_or(default)
    }

    async fn dispatch(&self, rest: &[&str]) -> (Option<&'static str>, Reply) {
        let m = self.req.method;
        let v2 = self.ctx.v2;
        match (m, rest) {
            ("GET", ["serverInfo"]) => (Some("serverInfo"), self.server_info()),
            ("GET", ["myself"]) => (Some("myself"), self.myself()),
            ("GET", ["project", key]) => {
                (Some("project/{projectIdOrKey}"), self.project(key).await)
            }
            ("GET", ["issue", "createmeta", key, "issuetypes"]) => (
                Some("issue/createmeta/{projectIdOrKey}/issuetypes"),
                self.createmeta(key).await,
            ),
            ("POST", ["issue"]) => (Some("issue"), self.create_issue().await),
            ("GET", ["issue", id]) => (Some("issue/{issueIdOrKey}"), self.get_issue(id).await),
            ("PUT", ["issue", id]) => (Some("issue/{issueIdOrKey}"), self.edit_issue(id).await),
            ("GET", ["issue", id, "transitions"]) => (
                Some("issue/{issueIdOrKey}/transitions"),
                self.transitions(id).await,
            ),
            ("POST", ["issue", id, "transitions"]) => (
                Some("issue/{issueIdOrKey}/transitions"),
                self.do_transition(id).await,
            ),
            ("GET", ["issue", id, "comment"]) => (
                Some("issue/{issueIdOrKey}/comment"),
                self.comments(id).await,
            ),
            ("POST", ["issue", id, "comment"]) => (
                Some("issue/{issueIdOrKey}/comment"),
                self.add_comment(id).await,
            ),
            ("GET" | "PUT" | "DELETE", ["issue", id, "comment", cid]) => (
                Some("issue/{issueIdOrKey}/comment/{id}"),
                self.one_comment(id, cid).await,
            ),
            ("POST", ["issue", id, "attachments"]) => (
                Some("issue/{issueIdOrKey}/attachments"),
                self.upload(id).await,
            ),
            ("GET", ["issue", id, "properties"]) => (
                Some("issue/{issueIdOrKey}/properties"),
                self.issue_property_keys(id).await,
            ),
            ("GET" | "PUT" | "DELETE", ["issue", id, "properties", key]) => (
                Some("issue/{issueIdOrKey}/properties/{propertyKey}"),
                self.issue_property(id, key).await,
            ),
            ("GET", ["comment", cid, "properties"]) => (
                Some("comment/{commentId}/properties"),
                self.comment_property_keys(cid),
            ),
            ("GET" | "PUT", ["comment", cid, "properties", key]) => (
                Some("comment/{commentId}/properties/{propertyKey}"),
                self.comment_property(cid, key).await,
            ),
            ("GET" | "DELETE", ["attachment", id]) if *id != "content" => (
                Some("attachment/{id}"),
                self.attachment(&AttachmentId::new(*id)).await,
            ),
            ("GET", ["attachment", "content", id]) => (
                Some("attachment/content/{id}"),
                self.content_redirect(&AttachmentId::new(*id)),
            ),
            ("GET" | "POST", ["search", "jql"]) if !v2 => {
                (Some("search/jql"), self.search_jql().await)
            }
            ("GET" | "POST", ["search"]) if v2 => (Some("search"), self.search_v2().await),
            ("GET" | "POST", ["search"]) => (
                Some("search"),
                fail(
                    StatusCode::GONE,
                    "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API.",
                ),
            ),
            ("POST", ["permissions", "check"]) => {
                (Some("permissions/check"), self.permissions_check().await)
            }
            ("GET", ["mypermissions"]) => (Some("mypermissions"), self.my_permissions().await),
            ("GET", ["user", "permission", "search"]) => (
                Some("user/permission/search"),
                self.users_with_permission().await,
            ),
            ("GET", ["group", "member"]) => (Some("group/member"), self.group_members().await),
            _ => (None, fail(StatusCode::NOT_FOUND, "No such endpoint.")),
        }
    }

    fn server_info(&self) -> Reply {
        Reply::json(
            StatusCode::OK,
            json!({
                "baseUrl": self.ctx.base,
                "displayUrl": self.ctx.base,
                "version": "1001.0.0-SNAPSHOT",
                "versionNumbers": [1001, 0, 0],
                "deploymentType": "Cloud",
                "buildNumber": 100_000,
                "buildDate": "2026-01-01T00:00:00.000+0000",
                "serverTime": crate::tracker::jira::mapping::format_time(time::OffsetDateTime::now_utc()),
                "scmInfo": "twinsync-emulator",
                "serverTitle": "Jira (twinsync emulator)",
            }),
        )
    }

    fn myself(&self) -> Reply {
        Reply::json(StatusCode::OK, render::user(&self.ctx, &self.req.user))
    }

    fn project_id(&self, key: &ProjectKey) -> u64 {
        let mut projects = lock(&self.shared.projects);
        if let Some((_, id)) = projects.iter().find(|(k, _)| k == key) {
            return *id;
        }
        let id = 10_000 + projects.len() as u64;
        projects.push((key.clone(), id));
        id
    }

    fn project_key_by_id(&self, id: u64) -> Option<ProjectKey> {
        lock(&self.shared.projects)
            .iter()
            .find(|(_, i)| *i == id)
            .map(|(k, _)| k.clone())
    }

    async fn project_info(&self, key_or_id: &str) -> Result<crate::model::ProjectInfo, Reply> {
        let key = match key_or_id.parse::<u64>() {
            Ok(id) => self.project_key_by_id(id),
            Err(_) => Some(ProjectKey::new(key_or_id)),
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

    async fn project(&self, key: &str) -> Reply {
        match self.project_info(key).await {
            Ok(info) => {
                let id = self.project_id(&info.key);
                Reply::json(StatusCode::OK, render::project(&self.ctx, &info, id))
            }
            Err(reply) => reply,
        }
    }

    async fn createmeta(&self, key: &str) -> Reply {
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
        if self.ctx.v2 {
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

    async fn find_issue(&self, id_or_key: &str) -> Result<Issue, Reply> {
        let found = match issue_ref(id_or_key) {
            Ok(id) => self.t.issue(&id).await,
            Err(key) => self.t.issue_by_key(&key).await,
        };
        found.map_err(|_| fail(StatusCode::NOT_FOUND, NO_ISSUE))
    }

    async fn render_issue(
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
        let name = info.as_ref().map_or_else(String::new, |p| p.name.clone());
        render::issue(
            &self.ctx,
            issue,
            self.project_id(&issue.project),
            &name,
            &type_id,
            fields,
            properties,
        )
    }

    fn list_param(&self, name: &str) -> Option<Vec<String>> {
        self.q(name).map(|v| {
            v.split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        })
    }

    async fn get_issue(&self, id: &str) -> Reply {
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
    fn body_from(&self, value: Option<&Value>, field: &str) -> Result<RichText, Reply> {
        match value {
            None | Some(Value::Null) => Ok(RichText::default()),
            Some(Value::String(text)) if self.ctx.v2 => RichText::adf(markup::wiki_to_adf(text))
                .map_err(|e| field_error(field, e.message())),
            Some(doc @ Value::Object(_)) if !self.ctx.v2 => RichText::adf(doc.clone()).map_err(|_| {
                field_error(field, "Operation value must be an Atlassian Document (see the Atlassian Document Format)")
            }),
            Some(_) if self.ctx.v2 => Err(field_error(field, "Operation value must be a string")),
            Some(_) => Err(field_error(
                field,
                "Operation value must be an Atlassian Document (see the Atlassian Document Format)",
            )),
        }
    }

    fn labels_from(value: Option<&Value>) -> Result<Vec<String>, Reply> {
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

    fn properties_from(value: Option<&Value>) -> Result<BTreeMap<String, Value>, Reply> {
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

    async fn issue_type_name(
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

    async fn create_issue(&self) -> Reply {
        let Some(body) = self.req.json else {
            return fail(StatusCode::BAD_REQUEST, "The request body must be JSON.");
        };
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
        let Some(project_key) = project_key else {
            return field_error("project", "Specify a valid project ID or key");
        };
        let info = match self.project_info(&project_key).await {
            Ok(info) => info,
            Err(_) => return field_error("project", "valid project is required"),
        };
        let Some(issue_type) = self.issue_type_name(&info, fields.get("issuetype")).await else {
            return field_error("issuetype", "Specify a valid issue type");
        };
        let summary = fields.get("summary").and_then(Value::as_str).unwrap_or("");
        if summary.trim().is_empty() {
            return field_error("summary", "You must specify a summary of the issue.");
        }
        let description = match self.body_from(fields.get("description"), "description") {
            Ok(d) => d,
            Err(reply) => return reply,
        };
        let labels = match Self::labels_from(fields.get("labels")) {
            Ok(l) => l,
            Err(reply) => return reply,
        };
        let properties = match Self::properties_from(body.get("properties")) {
            Ok(p) => p,
            Err(reply) => return reply,
        };
        let mut new = NewIssue::new(info.key.clone(), issue_type, summary)
            .description(description)
            .labels(labels);
        new.properties = properties;
        match self.t.create_issue(&new).await {
            Ok(created) => Reply::json(
                StatusCode::CREATED,
                json!({"id": created.id.as_str(), "key": created.key.as_str(), "self": format!("{}/issue/{}", self.ctx.api(), created.id)}),
            ),
            Err(err) => from_error(&err),
        }
    }

    async fn edit_issue(&self, id: &str) -> Reply {
        let issue = match self.find_issue(id).await {
            Ok(issue) => issue,
            Err(reply) => return reply,
        };
        let Some(body) = self.req.json else {
            return fail(StatusCode::BAD_REQUEST, "The request body must be JSON.");
        };
        let fields = body.get("fields").unwrap_or(&Value::Null);
        let mut update = IssueUpdate::default();
        if let Some(summary) = fields.get("summary") {
            match summary.as_str() {
                Some(s) if !s.trim().is_empty() => update.summary = Some(s.to_owned()),
                _ => return field_error("summary", "You must specify a summary of the issue."),
            }
        }
        if fields.get("description").is_some() {
            match self.body_from(fields.get("description"), "description") {
                Ok(d) => update.description = Some(d),
                Err(reply) => return reply,
            }
        }
        if fields.get("issuetype").is_some() {
            let info = match self.project_info(issue.project.as_str()).await {
                Ok(info) => info,
                Err(reply) => return reply,
            };
            match self.issue_type_name(&info, fields.get("issuetype")).await {
                Some(name) => update.issue_type = Some(name),
                None => return field_error("issuetype", "Specify a valid issue type"),
            }
        }
        if fields.get("labels").is_some() {
            match Self::labels_from(fields.get("labels")) {
                Ok(l) => update.labels = Some(l),
                Err(reply) => return reply,
            }
        }
        if update.is_empty() {
            return Reply::empty(StatusCode::NO_CONTENT);
        }
        match self.t.update_issue(&issue.id, &update).await {
            Ok(()) => Reply::empty(StatusCode::NO_CONTENT),
            Err(err) => from_error(&err),
        }
    }

    fn transition_list(&self) -> Vec<Value> {
        [("11", "To Do"), ("21", "In Progress"), ("31", "Done")]
            .iter()
            .map(|(id, name)| {
                json!({"id": id, "name": name, "to": render::status(&self.ctx, name), "hasScreen": false, "isGlobal": true, "isInitial": false, "isAvailable": true, "isConditional": false, "isLooped": false})
            })
            .collect()
    }

    async fn transitions(&self, id: &str) -> Reply {
        if let Err(reply) = self.find_issue(id).await {
            return reply;
        }
        Reply::json(
            StatusCode::OK,
            json!({"transitions": self.transition_list()}),
        )
    }

    async fn do_transition(&self, id: &str) -> Reply {
        let issue = match self.find_issue(id).await {
            Ok(issue) => issue,
            Err(reply) => return reply,
        };
        let wanted = self
            .req
            .json
            .and_then(|b| b.pointer("/transition/id"))
            .and_then(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .or_else(|| v.as_u64().map(|n| n.to_string()))
            });
        let target = self
            .transition_list()
            .into_iter()
            .find(|t| t.get("id").and_then(Value::as_str) == wanted.as_deref());
        let Some(name) =
            target.and_then(|t| t.get("name").and_then(Value::as_str).map(str::to_owned))
        else {
            return fail(
                StatusCode::BAD_REQUEST,
                "Transition id is not valid for this issue.",
            );
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

    fn wants_properties(&self) -> bool {
        self.q("expand")
            .is_some_and(|e| e.split(',').any(|x| x.trim() == "properties"))
    }

    async fn comments(&self, id: &str) -> Reply {
        let issue = match self.find_issue(id).await {
            Ok(issue) => issue,
            Err(reply) => return reply,
        };
        let start = self.q_usize("startAt", 0);
        let max = self.q_usize("maxResults", 100).clamp(1, 5000);
        let mut comments = issue.comments.clone();
        if self.q("orderBy") == Some("-created") {
            comments.reverse();
        }
        let page: Vec<Value> = comments
            .iter()
            .skip(start)
            .take(max)
            .map(|c| render::comment(&self.ctx, issue.id.as_str(), c, self.wants_properties()))
            .collect();
        Reply::json(
            StatusCode::OK,
            json!({"comments": page, "startAt": start, "maxResults": max, "total": comments.len()}),
        )
    }

    async fn add_comment(&self, id: &str) -> Reply {
        let issue = match self.find_issue(id).await {
            Ok(issue) => issue,
            Err(reply) => return reply,
        };
        let Some(body) = self.req.json else {
            return fail(StatusCode::BAD_REQUEST, "The request body must be JSON.");
        };
        let text = match self.body_from(body.get("body"), "comment") {
            Ok(t) if !t.is_empty() => t,
            Ok(_) => return field_error("comment", "Comment body can not be empty!"),
            Err(reply) => return reply,
        };
        let properties = match Self::properties_from(body.get("properties")) {
            Ok(p) => p,
            Err(reply) => return reply,
        };
        let mut new = NewComment::public(text);
        new.properties = properties;
        match self.t.add_comment(&issue.id, &new).await {
            Ok(c) => Reply::json(
                StatusCode::CREATED,
                render::comment(&self.ctx, issue.id.as_str(), &c, self.wants_properties()),
            ),
            Err(err) => from_error(&err),
        }
    }

    async fn one_comment(&self, id: &str, cid: &str) -> Reply {
        let issue = match self.find_issue(id).await {
            Ok(issue) => issue,
            Err(reply) => return reply,
        };
        let comment_id = CommentId::new(cid);
        let missing = || {
            fail(
                StatusCode::NOT_FOUND,
                &format!("Can not find a comment for the id: {cid}."),
            )
        };
        let Some(existing) = issue.comment(&comment_id).cloned() else {
            return missing();
        };
        match self.req.method {
            "GET" => Reply::json(
                StatusCode::OK,
                render::comment(
                    &self.ctx,
                    issue.id.as_str(),
                    &existing,
                    self.wants_properties(),
                ),
            ),
            "DELETE" => match self.t.delete_comment(&issue.id, &comment_id).await {
                Ok(()) => Reply::empty(StatusCode::NO_CONTENT),
                Err(err) => from_error(&err),
            },
            _ => {
                let text =
                    match self.body_from(self.req.json.and_then(|b| b.get("body")), "comment") {
                        Ok(t) if !t.is_empty() => t,
                        Ok(_) => return field_error("comment", "Comment body can not be empty!"),
                        Err(reply) => return reply,
                    };
                match self.t.update_comment(&issue.id, &comment_id, &text).await {
                    Ok(c) => Reply::json(
                        StatusCode::OK,
                        render::comment(&self.ctx, issue.id.as_str(), &c, self.wants_properties()),
                    ),
                    Err(err) => from_error(&err),
                }
            }
        }
    }

    async fn upload(&self, id: &str) -> Reply {
        if !self.req.xsrf_no_check {
            return fail(StatusCode::FORBIDDEN, "XSRF check failed");
        }
        let issue = match self.find_issue(id).await {
            Ok(issue) => issue,
            Err(reply) => return reply,
        };
        let parts = multipart::boundary(self.req.content_type)
            .and_then(|b| multipart::parse(self.req.body, &b));
        let Some(parts) = parts else {
            return fail(
                StatusCode::BAD_REQUEST,
                "The request is not a multipart upload.",
            );
        };
        let mut out = Vec::new();
        for part in parts.into_iter().filter(|p| p.name == "file") {
            let file = NewAttachment {
                file_name: part.file_name.unwrap_or_else(|| "file".to_owned()),
                mime_type: part
                    .content_type
                    .unwrap_or_else(|| "application/octet-stream".to_owned()),
                content: part.data,
            };
            match self.t.upload_attachment(&issue.id, &file).await {
                Ok(meta) => out.push(render::attachment(&self.ctx, &meta)),
                Err(err) => return from_error(&err),
            }
        }
        if out.is_empty() {
            return fail(
                StatusCode::BAD_REQUEST,
                "No file part named 'file' was sent.",
            );
        }
        Reply::json(StatusCode::OK, Value::Array(out))
    }

    fn all_issues(&self) -> Vec<Issue> {
        let keys: Vec<ProjectKey> = lock(&self.shared.projects)
            .iter()
            .map(|(k, _)| k.clone())
            .collect();
        keys.iter()
            .flat_map(|k| self.shared.tracker.inspect_issues(k))
            .collect()
    }

    fn find_attachment(&self, id: &AttachmentId) -> Option<AttachmentMeta> {
        self.all_issues()
            .into_iter()
            .flat_map(|i| i.attachments)
            .find(|a| &a.id == id)
    }

    async fn attachment(&self, id: &AttachmentId) -> Reply {
        let missing = || {
            fail(
                StatusCode::NOT_FOUND,
                &format!("The attachment with id '{id}' does not exist"),
            )
        };
        let Some(meta) = self.find_attachment(id) else {
            return missing();
        };
        if self.req.method == "DELETE" {
            return match self.t.delete_attachment(id).await {
                Ok(()) => Reply::empty(StatusCode::NO_CONTENT),
                Err(err) => from_error(&err),
            };
        }
        let mut v = render::attachment(&self.ctx, &meta);
        if let Ok(n) = id.as_str().parse::<u64>() {
            v["id"] = json!(n);
        }
        v["properties"] = json!({});
        Reply::json(StatusCode::OK, v)
    }

    fn content_redirect(&self, id: &AttachmentId) -> Reply {
        let Some(meta) = self.find_attachment(id) else {
            return fail(
                StatusCode::NOT_FOUND,
                &format!("The attachment with id '{id}' does not exist"),
            );
        };
        let target = format!(
            "{}/secure/attachment/{}/{}",
            self.ctx.base,
            meta.id,
            url::form_urlencoded::byte_serialize(meta.file_name.as_bytes()).collect::<String>()
        );
        if self.q("redirect") == Some("false") {
            return Reply {
                status: StatusCode::OK,
                body: Body::Empty,
                headers: Vec::new(),
            }
            .header("X-Twinsync-Content", target);
        }
        Reply::empty(StatusCode::SEE_OTHER).header("Location", target)
    }

    async fn content(&self, id: &AttachmentId) -> Reply {
        let Some(meta) = self.find_attachment(id) else {
            return fail(
                StatusCode::NOT_FOUND,
                &format!("The attachment with id '{id}' does not exist"),
            );
        };
        match self.t.download_attachment(id).await {
            Ok(bytes) => Reply {
                status: StatusCode::OK,
                body: Body::Bytes(bytes, meta.mime_type),
                headers: Vec::new(),
            },
            Err(err) => from_error(&err),
        }
    }

    async fn issue_property_keys(&self, id: &str) -> Reply {
        let issue = match self.find_issue(id).await {
            Ok(issue) => issue,
            Err(reply) => return reply,
        };
        let keys: Vec<Value> = issue
            .properties
            .keys()
            .map(|k| json!({"key": k, "self": format!("{}/issue/{}/properties/{k}", self.ctx.api(), issue.id)}))
            .collect();
        Reply::json(StatusCode::OK, json!({"keys": keys}))
    }

    async fn issue_property(&self, id: &str, key: &str) -> Reply {
        let issue = match self.find_issue(id).await {
            Ok(issue) => issue,
            Err(reply) => return reply,
        };
        let existing = issue.properties.get(key).cloned();
        match self.req.method {
            "GET" => match existing {
                Some(value) => Reply::json(StatusCode::OK, json!({"key": key, "value": value})),
                None => fail(
                    StatusCode::NOT_FOUND,
                    &format!("The property with key '{key}' does not exist."),
                ),
            },
            "PUT" => {
                let Some(value) = self.req.json else {
                    return fail(StatusCode::BAD_REQUEST, "The property value must be JSON.");
                };
                match self.t.set_issue_property(&issue.id, key, value).await {
                    Ok(()) if existing.is_some() => Reply::json(StatusCode::OK, json!({})),
                    Ok(()) => Reply::json(StatusCode::CREATED, json!({})),
                    Err(err) => from_error(&err),
                }
            }
            _ => fail(
                StatusCode::METHOD_NOT_ALLOWED,
                "Deleting properties is not emulated.",
            ),
        }
    }

    fn find_comment(&self, cid: &CommentId) -> Option<crate::model::Comment> {
        self.all_issues()
            .into_iter()
            .flat_map(|i| i.comments)
            .find(|c| &c.id == cid)
    }

    fn comment_property_keys(&self, cid: &str) -> Reply {
        let Some(comment) = self.find_comment(&CommentId::new(cid)) else {
            return fail(
                StatusCode::NOT_FOUND,
                &format!("Can not find a comment for the id: {cid}."),
            );
        };
        let keys: Vec<Value> = comment
            .properties
            .keys()
            .map(|k| json!({"key": k, "self": format!("{}/comment/{cid}/properties/{k}", self.ctx.api())}))
            .collect();
        Reply::json(StatusCode::OK, json!({"keys": keys}))
    }

    async fn comment_property(&self, cid: &str, key: &str) -> Reply {
        let comment_id = CommentId::new(cid);
        let existing = match self.t.comment_property(&comment_id, key).await {
            Ok(v) => v,
            Err(_) => {
                return fail(
                    StatusCode::NOT_FOUND,
                    &format!("Can not find a comment for the id: {cid}."),
                );
            }
        };
        if self.req.method == "GET" {
            return match existing {
                Some(value) => Reply::json(StatusCode::OK, json!({"key": key, "value": value})),
                None => fail(
                    StatusCode::NOT_FOUND,
                    &format!("The property with key '{key}' does not exist."),
                ),
            };
        }
        let Some(value) = self.req.json else {
            return fail(StatusCode::BAD_REQUEST, "The property value must be JSON.");
        };
        match self.t.set_comment_property(&comment_id, key, value).await {
            Ok(()) if existing.is_some() => Reply::json(StatusCode::OK, json!({})),
            Ok(()) => Reply::json(StatusCode::CREATED, json!({})),
            Err(err) => from_error(&err),
        }
    }

    /// All issues matching `jql`, sorted as its `ORDER BY updated` asks.
    async fn matching(&self, jql: &str) -> Result<Vec<Issue>, Reply> {
        if let Some(project) = jql_project(jql)
            && self
                .t
                .project(&ProjectKey::new(project.as_str()))
                .await
                .is_err()
        {
            return Err(fail(
                StatusCode::BAD_REQUEST,
                &format!("The value '{project}' does not exist for the field 'project'."),
            ));
        }
        let mut issues = Vec::new();
        let mut page = Page::first(100);
        for _ in 0..10_000 {
            let found = self.t.search(jql, &page).await.map_err(|e| {
                fail(
                    StatusCode::BAD_REQUEST,
                    &format!("Error in the JQL Query: {}", e.message()),
                )
            })?;
            issues.extend(found.issues);
            match found.next_page {
                Some(token) => page = Page::next(token, 100),
                None => break,
            }
        }
        let lower = jql.to_ascii_lowercase();
        if let Some(at) = lower.find("order by") {
            let order = &lower[at + 8..];
            if order.trim_start().starts_with("updated") {
                issues.sort_by(|a, b| {
                    a.updated.cmp(&b.updated).then_with(|| {
                        a.id.as_str()
                            .len()
                            .cmp(&b.id.as_str().len())
                            .then_with(|| a.id.cmp(&b.id))
                    })
                });
                if order.contains("desc") {
                    issues.reverse();
                }
            }
        }
        Ok(issues)
    }

    /// Search parameters from the query or a POST body.
    fn search_params(&self) -> SearchParams {
        let body = self.req.json;
        let from_body = |name: &str| body.and_then(|b| b.get(name));
        let list_from_body = |name: &str| {
            from_body(name).and_then(Value::as_array).map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
        };
        let jql = self
            .q("jql")
            .map(str::to_owned)
            .or_else(|| from_body("jql").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or_default();
        let token = self.q("nextPageToken").map(str::to_owned).or_else(|| {
            from_body("nextPageToken")
                .and_then(Value::as_str)
                .map(str::to_owned)
        });
        let max = self
            .q("maxResults")
            .and_then(|v| v.parse().ok())
            .or_else(|| {
                from_body("maxResults")
                    .and_then(Value::as_u64)
                    .map(|n| n as usize)
            })
            .unwrap_or(50)
            .clamp(1, 100);
        let fields = self
            .list_param("fields")
            .or_else(|| list_from_body("fields"));
        let properties = self
            .list_param("properties")
            .or_else(|| list_from_body("properties"));
        let start = self
            .q("startAt")
            .and_then(|v| v.parse().ok())
            .or_else(|| {
                from_body("startAt")
                    .and_then(Value::as_u64)
                    .map(|n| n as usize)
            })
            .unwrap_or(0);
        SearchParams {
            jql,
            token,
            max,
            fields,
            properties,
            start,
        }
    }

    async fn search_jql(&self) -> Reply {
        let SearchParams {
            jql,
            token,
            max,
            fields,
            properties,
            ..
        } = self.search_params();
        if jql.trim().is_empty() {
            return fail(
                StatusCode::BAD_REQUEST,
                "Unbounded JQL queries are not allowed here. Please add a search restriction to your query.",
            );
        }
        let hash = xxhash_rust::xxh3::xxh3_64(jql.as_bytes());
        let start = match token.as_deref() {
            None => 0,
            Some(t) => match t.split_once('.') {
                Some((offset, h)) if h == format!("{hash:x}") => {
                    match usize::from_str_radix(offset, 16) {
                        Ok(n) => n,
                        Err(_) => return fail(StatusCode::BAD_REQUEST, "Invalid nextPageToken."),
                    }
                }
                _ => return fail(StatusCode::BAD_REQUEST, "Invalid nextPageToken."),
            },
        };
        let issues = match self.matching(&jql).await {
            Ok(i) => i,
            Err(reply) => return reply,
        };
        let fields = render::wanted_fields(fields.as_ref().map(|f| f.join(",")).as_deref(), false);
        let mut page = Vec::new();
        for issue in issues.iter().skip(start).take(max) {
            page.push(
                self.render_issue(issue, fields.as_deref(), properties.as_deref())
                    .await,
            );
        }
        let next = start + max;
        let mut v = json!({"issues": page, "isLast": next >= issues.len()});
        if next < issues.len() {
            v["nextPageToken"] = json!(format!("{next:x}.{hash:x}"));
        }
        Reply::json(StatusCode::OK, v)
    }

    async fn search_v2(&self) -> Reply {
        let SearchParams {
            jql,
            max,
            fields,
            properties,
            start,
            ..
        } = self.search_params();
        let issues = match self.matching(&jql).await {
            Ok(i) => i,
            Err(reply) => return reply,
        };
        let fields = render::wanted_fields(fields.as_ref().map(|f| f.join(",")).as_deref(), true);
        let mut page = Vec::new();
        for issue in issues.iter().skip(start).take(max) {
            page.push(
                self.render_issue(issue, fields.as_deref(), properties.as_deref())
                    .await,
            );
        }
        Reply::json(
            StatusCode::OK,
            json!({"expand": "schema,names", "startAt": start, "maxResults": max, "total": issues.len(), "issues": page}),
        )
    }

    async fn has_permission(
        &self,
        user: &UserId,
        permission: &str,
        project: Option<&ProjectKey>,
    ) -> bool {
        match permission {
            "ADMINISTER" | "SYSTEM_ADMIN" => self.t.is_global_admin(user).await.unwrap_or(false),
            "ADMINISTER_PROJECTS" => match project {
                Some(p) => self.t.is_project_admin(user, p).await.unwrap_or(false),
                None => false,
            },
            _ => true,
        }
    }

    async fn permissions_check(&self) -> Reply {
        let body = self.req.json.cloned().unwrap_or(Value::Null);
        let caller = self.req.user.id.clone();
        let target = body
            .get("accountId")
            .and_then(Value::as_str)
            .map_or_else(|| caller.clone(), UserId::new);
        if target != caller && !self.t.is_global_admin(&caller).await.unwrap_or(false) {
            return fail(
                StatusCode::FORBIDDEN,
                "Only Jira administrators can perform this operation.",
            );
        }
        let mut global = Vec::new();
        for p in body
            .get("globalPermissions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(p) = p.as_str()
                && self.has_permission(&target, p, None).await
            {
                global.push(json!(p));
            }
        }
        let mut grants = Vec::new();
        for request in body
            .get("projectPermissions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let projects: Vec<u64> = request
                .get("projects")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_u64)
                .collect();
            for p in request
                .get("permissions")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let Some(p) = p.as_str() else { continue };
                let mut granted = Vec::new();
                for id in &projects {
                    if let Some(key) = self.project_key_by_id(*id)
                        && self.has_permission(&target, p, Some(&key)).await
                    {
                        granted.push(json!(id));
                    }
                }
                if !granted.is_empty() {
                    grants.push(json!({"permission": p, "projects": granted, "issues": []}));
                }
            }
        }
        Reply::json(
            StatusCode::OK,
            json!({"globalPermissions": global, "projectPermissions": grants}),
        )
    }

    async fn my_permissions(&self) -> Reply {
        let Some(list) = self.q("permissions") else {
            return fail(
                StatusCode::BAD_REQUEST,
                "The permissions parameter is required.",
            );
        };
        let project = self.q("projectKey").map(ProjectKey::new);
        let mut out = serde_json::Map::new();
        for p in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let have = self
                .has_permission(&self.req.user.id, p, project.as_ref())
                .await;
            out.insert(
                p.to_owned(),
                json!({"id": "0", "key": p, "name": p, "type": if p == "ADMINISTER" { "GLOBAL" } else { "PROJECT" }, "description": "", "havePermission": have}),
            );
        }
        Reply::json(StatusCode::OK, json!({"permissions": out}))
    }

    fn users(&self) -> Vec<UserRef> {
        let mut users: Vec<UserRef> = lock(&self.shared.credentials).values().cloned().collect();
        users.sort();
        users.dedup();
        users
    }

    async fn users_with_permission(&self) -> Reply {
        let Some(list) = self.q("permissions") else {
            return fail(
                StatusCode::BAD_REQUEST,
                "The permissions parameter is required.",
            );
        };
        let project = match self.q("projectKey") {
            Some(key) => match self.project_info(key).await {
                Ok(info) => Some(info.key),
                Err(reply) => return reply,
            },
            None => None,
        };
        let name = self.q("username").unwrap_or("").to_ascii_lowercase();
        let mut out = Vec::new();
        for user in self.users() {
            if !user.id.as_str().to_ascii_lowercase().starts_with(&name) {
                continue;
            }
            let mut all = true;
            for p in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                all &= self.has_permission(&user.id, p, project.as_ref()).await;
            }
            if all {
                out.push(render::user(&self.ctx, &user));
            }
        }
        Reply::json(StatusCode::OK, Value::Array(out))
    }

    async fn group_members(&self) -> Reply {
        let Some(group) = self.q("groupname") else {
            return fail(
                StatusCode::BAD_REQUEST,
                "You must specify a group name or id.",
            );
        };
        let members = match self.t.group_members(group).await {
            Ok(Some(m)) => m,
            Ok(None) => return fail(StatusCode::NOT_FOUND, "Specified group does not exist."),
            Err(err) => return from_error(&err),
        };
        let users = self.users();
        let start = self.q_usize("startAt", 0);
        let max = self.q_usize("maxResults", 50).clamp(1, 50);
        let values: Vec<Value> = members
            .iter()
            .skip(start)
            .take(max)
            .map(|id| {
                let user = users
                    .iter()
                    .find(|u| &u.id == id)
                    .cloned()
                    .unwrap_or_else(|| UserRef::new(id.clone(), id.as_str()));
                render::user(&self.ctx, &user)
            })
            .collect();
        Reply::json(
            StatusCode::OK,
            json!({
                "self": format!("{}/group/member?groupname={group}&startAt={start}&maxResults={max}", self.ctx.api()),
                "startAt": start,
                "maxResults": max,
                "total": members.len(),
                "isLast": start + max >= members.len(),
                "values": values,
            }),
        )
    }
}

/// The project a JQL query names with `project = X`, if any.
fn jql_project(jql: &str) -> Option<String> {
    let lower = jql.to_ascii_lowercase();
    let at = lower.find("project")?;
    let rest = jql[at + "project".len()..].trim_start();
    let rest = rest.strip_prefix('=')?.trim_start();
    let rest = rest.trim_start_matches(['"', '\'']);
    let key: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (!key.is_empty()).then_some(key)
}
