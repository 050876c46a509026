//! Comments and entity properties of issues and comments.

use hyper::StatusCode;
use serde_json::{Value, json};

use super::super::render;
use super::{Api, Reply, fail, field_error, from_error};
use crate::model::CommentId;
use crate::tracker::{NewComment, Tracker};

impl Api<'_> {
    pub(super) fn wants_properties(&self) -> bool {
        self.q("expand")
            .is_some_and(|e| e.split(',').any(|x| x.trim() == "properties"))
    }

    pub(super) async fn comments(&self, id: &str) -> Reply {
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

    pub(super) async fn add_comment(&self, id: &str) -> Reply {
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

    pub(super) async fn one_comment(&self, id: &str, cid: &str) -> Reply {
        let issue = match self.find_issue(id).await {
            Ok(issue) => issue,
            Err(reply) => return reply,
        };
        let missing = || {
            fail(
                StatusCode::NOT_FOUND,
                &format!("Can not find a comment for the id: {cid}."),
            )
        };
        let Ok(comment_id) = CommentId::new(cid) else {
            return missing();
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
                    Ok(c) => {
                        self.drop_unreferenced(&issue).await;
                        Reply::json(
                            StatusCode::OK,
                            render::comment(
                                &self.ctx,
                                issue.id.as_str(),
                                &c,
                                self.wants_properties(),
                            ),
                        )
                    }
                    Err(err) => from_error(&err),
                }
            }
        }
    }

    pub(super) async fn issue_property_keys(&self, id: &str) -> Reply {
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

    pub(super) async fn issue_property(&self, id: &str, key: &str) -> Reply {
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

    pub(super) fn find_comment(&self, cid: &CommentId) -> Option<crate::model::Comment> {
        self.all_issues()
            .into_iter()
            .flat_map(|i| i.comments)
            .find(|c| &c.id == cid)
    }

    pub(super) fn comment_property_keys(&self, cid: &str) -> Reply {
        let Some(comment) = CommentId::new(cid)
            .ok()
            .and_then(|id| self.find_comment(&id))
        else {
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

    pub(super) async fn comment_property(&self, cid: &str, key: &str) -> Reply {
        let Ok(comment_id) = CommentId::new(cid) else {
            return fail(
                StatusCode::NOT_FOUND,
                &format!("Can not find a comment for the id: {cid}."),
            );
        };
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
}
