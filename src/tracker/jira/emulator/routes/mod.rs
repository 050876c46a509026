//! The emulator's endpoints: Jira's paths, status codes and body shapes, over
//! the state held in a [`MemoryTracker`](crate::tracker::MemoryTracker).

use std::collections::BTreeMap;

use hyper::StatusCode;
use serde_json::{Value, json};

use super::render::Ctx;
use super::{Shared, lock};

mod attachments;
mod comments;
mod field_input;
mod fields;
mod issue_links;
mod issues;
mod links;
mod meta;
mod profiles;
mod search;
mod users;
mod webhooks;
mod workflows;

use crate::error::{Error, ErrorKind};
use crate::model::{AttachmentId, IssueId, IssueKey, UserRef};
use crate::tracker::MemoryTracker;

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
    /// Whether the credentials are a bearer token (an OAuth 2.0 app's).
    pub bearer: bool,
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
            let reply = match path_id::<AttachmentId>(id) {
                Ok(id) => api.content(&id).await,
                Err(reply) => reply,
            };
            (None, reply)
        }
        ["file", media, "binary"] if req.method == "GET" => {
            let reply = match api.by_media_id(media) {
                Some(id) => api.content(&id).await,
                None => fail(StatusCode::NOT_FOUND, "not found"),
            };
            (None, reply)
        }
        ["rest", "api", v @ ("2" | "3"), rest @ ..] => {
            let before = webhooks::before(shared, req.method, rest);
            let (template, reply) = api.dispatch(rest).await;
            if reply.status.is_success() {
                webhooks::after(&api, template, rest, &reply, before);
            }
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

struct Api<'a> {
    shared: &'a Shared,
    t: MemoryTracker,
    ctx: Ctx,
    query: BTreeMap<String, String>,
    req: &'a Incoming<'a>,
}

/// An issue's id (all digits) or key from a path, or `None` when it is
/// neither (no such issue).
fn issue_ref(id_or_key: &str) -> Option<Result<IssueId, IssueKey>> {
    if !id_or_key.is_empty() && id_or_key.bytes().all(|b| b.is_ascii_digit()) {
        IssueId::new(id_or_key).ok().map(Ok)
    } else {
        IssueKey::new(id_or_key).ok().map(Err)
    }
}

/// An id from a path; a malformed one names nothing there is (404).
fn path_id<T: std::str::FromStr>(text: &str) -> Result<T, Reply> {
    text.parse()
        .map_err(|_| fail(StatusCode::NOT_FOUND, &format!("Not found: {text}")))
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
            ("POST", ["issue", "bulk"]) => (Some("issue/bulk"), self.create_issues().await),
            ("GET", ["issue", id]) => (Some("issue/{issueIdOrKey}"), self.get_issue(id).await),
            ("PUT", ["issue", id]) => (Some("issue/{issueIdOrKey}"), self.edit_issue(id).await),
            ("DELETE", ["issue", id]) => {
                (Some("issue/{issueIdOrKey}"), self.delete_issue(id).await)
            }
            ("GET", ["field"]) => (Some("field"), self.fields().await),
            ("GET", ["issueLinkType"]) => (Some("issueLinkType"), self.issue_link_types().await),
            ("POST", ["issueLink"]) => (Some("issueLink"), self.add_issue_link().await),
            ("GET" | "DELETE", ["issueLink", id]) => {
                (Some("issueLink/{linkId}"), self.issue_link(id).await)
            }
            ("GET", ["issue", "createmeta", key, "issuetypes", type_id]) => (
                Some("issue/createmeta/{projectIdOrKey}/issuetypes/{issueTypeId}"),
                self.createmeta_fields(key, type_id).await,
            ),
            ("GET", ["issue", id, "editmeta"]) => (
                Some("issue/{issueIdOrKey}/editmeta"),
                self.editmeta(id).await,
            ),
            ("GET", ["issue", id, "transitions"]) => (
                Some("issue/{issueIdOrKey}/transitions"),
                self.transitions(id).await,
            ),
            ("POST", ["issue", id, "transitions"]) => (
                Some("issue/{issueIdOrKey}/transitions"),
                self.do_transition(id).await,
            ),
            // Cloud only: Data Center has no such resource.
            ("POST", ["workflows", "preview"]) if self.cloud() => {
                (Some("workflows/preview"), self.workflow_preview().await)
            }
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
            ("GET" | "POST", ["issue", id, "remotelink"]) => (
                Some("issue/{issueIdOrKey}/remotelink"),
                self.remote_links(id).await,
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
                match path_id::<AttachmentId>(id) {
                    Ok(id) => self.attachment(&id).await,
                    Err(reply) => reply,
                },
            ),
            ("GET", ["attachment", "content", id]) => (
                Some("attachment/content/{id}"),
                path_id::<AttachmentId>(id)
                    .map_or_else(|reply| reply, |id| self.content_redirect(&id)),
            ),
            ("GET" | "POST", ["search", "jql"]) if !v2 || self.cloud() => {
                (Some("search/jql"), self.search_jql().await)
            }
            ("GET" | "POST", ["search"]) if v2 && !self.cloud() => {
                (Some("search"), self.search_v2().await)
            }
            ("GET" | "POST", ["search"]) => (
                Some("search"),
                fail(
                    StatusCode::GONE,
                    &format!(
                        "The requested API has been removed. Please migrate to the /rest/api/{} API. \
                         A full migration guideline is available at \
                         https://developer.atlassian.com/changelog/#CHANGE-2046",
                        if v2 { "2/search/jql" } else { "3/search/jql" }
                    ),
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
            ("GET", ["user"]) => (Some("user"), self.user_profile().await),
            ("GET", ["user", "search"]) => (Some("user/search"), self.user_search()),
            ("GET" | "POST" | "DELETE", ["webhook"]) => (Some("webhook"), self.webhooks(rest)),
            ("PUT", ["webhook", "refresh"]) => (Some("webhook/refresh"), self.webhooks(rest)),
            _ => (None, fail(StatusCode::NOT_FOUND, "No such endpoint.")),
        }
    }

    /// Whether the site calls itself Cloud.
    fn cloud(&self) -> bool {
        self.shared.deployment == super::Deployment::Cloud
    }

    fn list_param(&self, name: &str) -> Option<Vec<String>> {
        self.q(name).map(|v| {
            v.split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        })
    }
}
