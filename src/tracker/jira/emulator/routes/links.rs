//! Remote issue links: `GET` and `POST issue/{id}/remotelink`, where a `POST`
//! whose `globalId` the issue already has replaces that link (200) instead of
//! adding one (201), as Jira does.

use hyper::StatusCode;
use serde_json::{Value, json};

use super::{Api, Reply, fail, field_error, from_error};
use crate::model::RemoteLink;
use crate::tracker::Tracker;

/// The id Jira would give the link at `index` of its issue.
fn link_id(issue: &crate::model::IssueId, index: usize) -> u64 {
    let issue: u64 = issue.as_str().parse().unwrap_or(0);
    issue * 1000 + index as u64 + 1
}

fn text(value: &Value, name: &str) -> Option<String> {
    value
        .get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .map(str::to_owned)
}

impl Api<'_> {
    pub(super) async fn remote_links(&self, id: &str) -> Reply {
        let issue = match self.find_issue(id).await {
            Ok(issue) => issue,
            Err(reply) => return reply,
        };
        let links = match self.t.remote_links(&issue.id).await {
            Ok(links) => links,
            Err(err) => return from_error(&err),
        };
        match self.req.method {
            "GET" => {
                let shown: Vec<Value> = links
                    .iter()
                    .enumerate()
                    .map(|(i, l)| self.render_link(&issue.id, i, l))
                    .collect();
                Reply::json(StatusCode::OK, Value::Array(shown))
            }
            _ => self.put_link(&issue.id, &links).await,
        }
    }

    fn render_link(&self, issue: &crate::model::IssueId, index: usize, link: &RemoteLink) -> Value {
        let id = link_id(issue, index);
        let mut object = json!({"url": link.url, "title": link.title});
        if let Some(summary) = &link.summary {
            object["summary"] = json!(summary);
        }
        let mut shown = json!({
            "id": id,
            "self": format!("{}/issue/{issue}/remotelink/{id}", self.ctx.api()),
            "globalId": link.global_id,
            "application": {},
            "object": object,
        });
        if let Some(r) = &link.relationship {
            shown["relationship"] = json!(r);
        }
        shown
    }

    async fn put_link(&self, issue: &crate::model::IssueId, links: &[RemoteLink]) -> Reply {
        let Some(body) = self.req.json else {
            return fail(StatusCode::BAD_REQUEST, "The request body must be JSON.");
        };
        let Some(object) = body.get("object").filter(|o| o.is_object()) else {
            return field_error("object", "'object' is required.");
        };
        let (Some(url), Some(title)) = (text(object, "url"), text(object, "title")) else {
            return field_error("object", "'url' and 'title' of 'object' are required.");
        };
        let global_id = text(body, "globalId").unwrap_or_default();
        if global_id.chars().count() > 255 {
            return field_error("globalId", "The globalId must be at most 255 characters.");
        }
        let mut link = RemoteLink::new(global_id.clone(), url, title);
        link.summary = text(object, "summary");
        link.relationship = text(body, "relationship");
        // Without a global id every POST adds a link; the memory tracker
        // keys links by it, so such a link gets one of its own.
        if link.global_id.is_empty() {
            link.global_id = format!("emulator:{}", links.len() + 1);
        }
        let existing = links.iter().position(|l| l.global_id == link.global_id);
        if let Err(err) = self.t.put_remote_link(issue, &link).await {
            return from_error(&err);
        }
        let index = existing.unwrap_or(links.len());
        let id = link_id(issue, index);
        let answer = json!({
            "id": id,
            "self": format!("{}/issue/{issue}/remotelink/{id}", self.ctx.api()),
        });
        let status = if existing.is_some() {
            StatusCode::OK
        } else {
            StatusCode::CREATED
        };
        Reply::json(status, answer)
    }
}
