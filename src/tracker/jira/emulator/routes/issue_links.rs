//! Links between issues: `GET issueLinkType`, `POST issueLink` (201 with no
//! body; a link that exists already is answered as created, adding none),
//! `GET` and `DELETE issueLink/{linkId}`.

use hyper::StatusCode;
use serde_json::{Value, json};

use super::super::{lock, values};
use super::{Api, NO_ISSUE, Reply, fail, from_error};
use crate::error::ErrorKind;
use crate::model::{Issue, LinkDirection};
use crate::tracker::{NewIssueLink, Tracker};

impl Api<'_> {
    /// `GET issueLinkType`.
    pub(super) async fn issue_link_types(&self) -> Reply {
        match self.t.issue_link_types().await {
            Ok(types) => Reply::json(
                StatusCode::OK,
                json!({"issueLinkTypes": types.iter().map(|t| values::link_type(&self.ctx, t)).collect::<Vec<_>>()}),
            ),
            Err(err) => from_error(&err),
        }
    }

    /// An end of a link in a request: `{"id"}` or `{"key"}`.
    async fn link_end(&self, v: Option<&Value>) -> Result<Issue, Reply> {
        let given = v.and_then(|v| {
            v.get("id").or_else(|| v.get("key")).and_then(|x| match x {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
        });
        match given {
            Some(given) => self.find_issue(&given).await,
            None => Err(fail(StatusCode::NOT_FOUND, NO_ISSUE)),
        }
    }

    /// `POST issueLink`: `outwardIssue` is the link's "from" end.
    pub(super) async fn add_issue_link(&self) -> Reply {
        let Some(body) = self.req.json else {
            return fail(StatusCode::BAD_REQUEST, "The request body must be JSON.");
        };
        let types = match self.t.issue_link_types().await {
            Ok(types) => types,
            Err(err) => return from_error(&err),
        };
        let kind = body.get("type");
        let by_name = kind.and_then(|k| k.get("name")).and_then(Value::as_str);
        let by_id = kind.and_then(|k| k.get("id")).and_then(Value::as_str);
        let found = types.iter().find(|t| {
            by_name.is_some_and(|n| t.name.eq_ignore_ascii_case(n)) || by_id == Some(t.id.as_str())
        });
        let Some(found) = found else {
            let named = by_name.or(by_id).unwrap_or("");
            return fail(
                StatusCode::BAD_REQUEST,
                &format!("No issue link type with name or id '{named}' found."),
            );
        };
        let outward = match self.link_end(body.get("outwardIssue")).await {
            Ok(issue) => issue,
            Err(reply) => return reply,
        };
        let inward = match self.link_end(body.get("inwardIssue")).await {
            Ok(issue) => issue,
            Err(reply) => return reply,
        };
        if outward.id == inward.id {
            return fail(
                StatusCode::BAD_REQUEST,
                &format!("You cannot link issue {} to itself.", outward.key),
            );
        }
        let link = NewIssueLink::new(found.name.clone(), outward.id, inward.id);
        match self.t.add_issue_link(&link).await {
            Ok(()) => Reply::empty(StatusCode::CREATED),
            Err(err) => from_error(&err),
        }
    }

    /// The link with `id`, from the issue that is its outward end.
    fn find_link(&self, id: &str) -> Option<(Issue, crate::model::IssueLink)> {
        let projects = lock(&self.shared.projects).clone();
        projects.iter().find_map(|(project, _)| {
            self.shared
                .tracker
                .inspect_issues(project)
                .into_iter()
                .find_map(|issue| {
                    let link = issue
                        .fields
                        .links
                        .iter()
                        .find(|l| l.id == id && l.direction == LinkDirection::Outward)?
                        .clone();
                    Some((issue, link))
                })
        })
    }

    /// `GET` or `DELETE issueLink/{linkId}`.
    pub(super) async fn issue_link(&self, id: &str) -> Reply {
        let missing = || {
            fail(
                StatusCode::NOT_FOUND,
                &format!("No issue link with id '{id}' exists."),
            )
        };
        if self.req.method == "DELETE" {
            return match self.t.delete_issue_link(id).await {
                Ok(()) => Reply::empty(StatusCode::NO_CONTENT),
                Err(err) if err.kind() == ErrorKind::NotFound => missing(),
                Err(err) => from_error(&err),
            };
        }
        let Some((outward, link)) = self.find_link(id) else {
            return missing();
        };
        let types = self.t.issue_link_types().await.unwrap_or_default();
        let kind = types
            .iter()
            .find(|t| t.name.eq_ignore_ascii_case(&link.link_type))
            .map_or_else(
                || json!({"name": link.link_type}),
                |t| values::link_type(&self.ctx, t),
            );
        let end = |id: &str, key: &str| json!({"id": id, "key": key, "self": format!("{}/issue/{id}", self.ctx.api())});
        Reply::json(
            StatusCode::OK,
            json!({
                "id": link.id,
                "self": format!("{}/issueLink/{}", self.ctx.api(), link.id),
                "type": kind,
                "outwardIssue": end(outward.id.as_str(), outward.key.as_str()),
                "inwardIssue": end(link.issue.id.as_str(), link.issue.key.as_str()),
            }),
        )
    }
}
