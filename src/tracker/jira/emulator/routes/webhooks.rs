//! `/rest/api/3/webhook`: dynamic webhooks of the OAuth 2.0 app (only bearer
//! credentials on a Cloud site may call it), and the deliveries each write
//! sends.

use hyper::StatusCode;
use serde_json::{Value, json};

use super::{Api, Reply, fail, issue_ref};
use crate::model::{AttachmentId, Issue};
use crate::tracker::jira::emulator::webhooks::{self, Change, DYNAMIC_LIFETIME, Dynamic};
use crate::tracker::jira::emulator::{Shared, lock};
use crate::trigger::jql::Jql;

/// The events a dynamic webhook may have (the spec's enum, as far as the
/// emulator sends them).
const DYNAMIC_EVENTS: [&str; 6] = [
    "jira:issue_created",
    "jira:issue_updated",
    "jira:issue_deleted",
    "comment_created",
    "comment_updated",
    "comment_deleted",
];

fn ms(at: time::OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

impl Api<'_> {
    fn app_only(&self) -> Option<Reply> {
        if !self.req.bearer || !self.cloud() {
            return Some(fail(
                StatusCode::FORBIDDEN,
                "Only Connect and OAuth 2.0 apps can use this operation.",
            ));
        }
        None
    }

    fn webhook_ids(&self) -> Result<Vec<u64>, Reply> {
        self.req
            .json
            .and_then(|b| b.get("webhookIds"))
            .and_then(Value::as_array)
            .and_then(|ids| ids.iter().map(Value::as_u64).collect::<Option<Vec<_>>>())
            .ok_or_else(|| fail(StatusCode::BAD_REQUEST, "webhookIds must be a list of ids"))
    }

    pub(super) fn webhooks(&self, rest: &[&str]) -> Reply {
        if let Some(refused) = self.app_only() {
            return refused;
        }
        let now = self.shared.tracker.clock().now();
        let mut hooks = lock(&self.shared.webhooks);
        match (self.req.method, rest) {
            ("GET", ["webhook"]) => {
                let start = self.q_usize("startAt", 0);
                let max = self.q_usize("maxResults", 100).clamp(1, 100);
                let values: Vec<Value> = hooks
                    .dynamic
                    .iter()
                    .skip(start)
                    .take(max)
                    .map(|h| {
                        json!({"id": h.id, "url": h.url, "events": h.events,
                               "jqlFilter": h.jql, "expirationDate": ms(h.expires)})
                    })
                    .collect();
                let total = hooks.dynamic.len();
                Reply::json(
                    StatusCode::OK,
                    json!({"startAt": start, "maxResults": max, "total": total,
                           "isLast": start + values.len() >= total, "values": values}),
                )
            }
            ("POST", ["webhook"]) => {
                let Some(body) = self.req.json else {
                    return fail(StatusCode::BAD_REQUEST, "a JSON body is required");
                };
                let (Some(url), Some(list)) = (
                    body.get("url").and_then(Value::as_str),
                    body.get("webhooks").and_then(Value::as_array),
                ) else {
                    return fail(StatusCode::BAD_REQUEST, "url and webhooks are required");
                };
                if hooks.dynamic.iter().any(|h| h.url != url) {
                    return fail(
                        StatusCode::BAD_REQUEST,
                        "Only a single URL per app is allowed to be registered.",
                    );
                }
                let mut results = Vec::new();
                for webhook in list {
                    let events: Vec<String> = webhook
                        .get("events")
                        .and_then(Value::as_array)
                        .map(|e| {
                            e.iter()
                                .filter_map(|v| v.as_str().map(str::to_owned))
                                .collect()
                        })
                        .unwrap_or_default();
                    let jql = webhook
                        .get("jqlFilter")
                        .and_then(Value::as_str)
                        .unwrap_or("");
                    let mut errors = Vec::new();
                    if events.is_empty() {
                        errors.push("At least one event is required.".to_owned());
                    }
                    for e in &events {
                        if !DYNAMIC_EVENTS.contains(&e.as_str()) {
                            errors.push(format!("The event {e} is unsupported"));
                        }
                    }
                    if let Err(e) = Jql::parse(jql) {
                        errors.push(format!("The JQL filter is invalid: {e}"));
                    }
                    if errors.is_empty() {
                        hooks.next_id += 1;
                        let id = hooks.next_id;
                        hooks.dynamic.push(Dynamic {
                            id,
                            url: url.to_owned(),
                            events,
                            jql: jql.to_owned(),
                            expires: now + DYNAMIC_LIFETIME,
                        });
                        results.push(json!({"createdWebhookId": id}));
                    } else {
                        results.push(json!({"errors": errors}));
                    }
                }
                Reply::json(
                    StatusCode::OK,
                    json!({"webhookRegistrationResult": results}),
                )
            }
            ("DELETE", ["webhook"]) => match self.webhook_ids() {
                Ok(ids) => {
                    hooks.dynamic.retain(|h| !ids.contains(&h.id));
                    Reply::empty(StatusCode::ACCEPTED)
                }
                Err(reply) => reply,
            },
            ("PUT", ["webhook", "refresh"]) => match self.webhook_ids() {
                Ok(ids) => {
                    let expires = now + DYNAMIC_LIFETIME;
                    for hook in hooks.dynamic.iter_mut().filter(|h| ids.contains(&h.id)) {
                        hook.expires = expires;
                    }
                    Reply::json(StatusCode::OK, json!({"expirationDate": ms(expires)}))
                }
                Err(reply) => reply,
            },
            _ => fail(StatusCode::NOT_FOUND, "No such endpoint."),
        }
    }
}

/// The issue with id or key `id_or_key`, as it is now.
fn find(shared: &Shared, id_or_key: &str) -> Option<Issue> {
    let wanted = issue_ref(id_or_key)?;
    let projects = lock(&shared.projects).clone();
    projects.iter().find_map(|(project, _)| {
        shared
            .tracker
            .inspect_issues(project)
            .into_iter()
            .find(|i| match &wanted {
                Ok(id) => &i.id == id,
                Err(key) => &i.key == key,
            })
    })
}

/// What a write is about, known before it runs: a deleted attachment's issue.
pub(super) fn before(shared: &Shared, method: &str, rest: &[&str]) -> Option<(Issue, Value)> {
    let ["attachment", id] = rest else {
        return None;
    };
    if method != "DELETE" {
        return None;
    }
    let id: AttachmentId = id.parse().ok()?;
    let projects = lock(&shared.projects).clone();
    projects.iter().find_map(|(project, _)| {
        shared
            .tracker
            .inspect_issues(project)
            .into_iter()
            .find_map(|i| {
                let meta = i.attachment(&id)?;
                let attachment = json!({"id": meta.id.as_str(), "filename": meta.file_name,
                                    "mimeType": meta.mime_type, "size": meta.size});
                Some((i.clone(), attachment))
            })
    })
}

/// Sends the deliveries of a successful write.
pub(super) fn after(
    api: &Api<'_>,
    template: Option<&str>,
    rest: &[&str],
    reply: &Reply,
    before: Option<(Issue, Value)>,
) {
    let shared = api.shared;
    let body = match &reply.body {
        super::Body::Json(v) => Some(v),
        _ => None,
    };
    let method = api.req.method;
    if (method, template) == ("POST", Some("issue/bulk")) {
        let created = body
            .and_then(|b| b.get("issues"))
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice);
        for one in created {
            let key = one.get("key").and_then(Value::as_str);
            if let Some(issue) = key.and_then(|k| find(shared, k)) {
                announce(api, "jira:issue_created", &issue, None, None);
            }
        }
        return;
    }
    let (event, issue, comment, attachment) = match (method, template, rest) {
        ("POST", Some("issue"), _) => {
            let key = body.and_then(|b| b.get("key")).and_then(Value::as_str);
            (
                "jira:issue_created",
                key.and_then(|k| find(shared, k)),
                None,
                None,
            )
        }
        ("PUT", Some("issue/{issueIdOrKey}"), [_, id])
        | ("POST", Some("issue/{issueIdOrKey}/transitions"), [_, id, _]) => {
            ("jira:issue_updated", find(shared, id), None, None)
        }
        ("POST", Some("issue/{issueIdOrKey}/comment"), [_, id, _]) => {
            let comment = body.map(|b| json!({"id": b.get("id"), "self": b.get("self")}));
            ("comment_created", find(shared, id), comment, None)
        }
        (m @ ("PUT" | "DELETE"), Some("issue/{issueIdOrKey}/comment/{id}"), [_, id, _, cid]) => {
            let event = if m == "PUT" {
                "comment_updated"
            } else {
                "comment_deleted"
            };
            (event, find(shared, id), Some(json!({"id": cid})), None)
        }
        ("POST", Some("issue/{issueIdOrKey}/attachments"), [_, id, _]) => {
            let attachment = body
                .and_then(|b| b.get(0))
                .map(|a| json!({"id": a.get("id"), "filename": a.get("filename")}));
            ("attachment_created", find(shared, id), None, attachment)
        }
        ("DELETE", Some("attachment/{id}"), _) => match before {
            Some((issue, attachment)) => {
                ("attachment_deleted", Some(issue), None, Some(attachment))
            }
            None => return,
        },
        _ => return,
    };
    let Some(issue) = issue else {
        return;
    };
    announce(api, event, &issue, comment, attachment);
}

/// Delivers one event about `issue` to the registered webhooks.
fn announce(
    api: &Api<'_>,
    event: &'static str,
    issue: &Issue,
    comment: Option<Value>,
    attachment: Option<Value>,
) {
    let shared = api.shared;
    let project_id = lock(&shared.projects)
        .iter()
        .find(|(p, _)| p == &issue.project)
        .map_or(0, |(_, id)| *id);
    let change = Change {
        event,
        issue,
        project_id,
        base: &api.ctx.base,
        user: &api.req.user,
        comment,
        attachment,
    };
    webhooks::deliver(&shared.webhooks, shared.tracker.clock(), &change);
}
