//! Remote issue links (where a twin names its original).

use reqwest::Method;
use serde_json::{Value, json};

use super::{Jira, op};
use crate::error::Result;
use crate::model::{IssueId, IssueLinkType, RemoteLink};
use crate::tracker::NewIssueLink;

impl Jira {
    /// `POST issue/{id}/remotelink`: Jira replaces the issue's link with the
    /// same `globalId` instead of adding one.
    pub(crate) async fn put_remote_link(&self, issue: &IssueId, link: &RemoteLink) -> Result<()> {
        let mut object = json!({"url": link.url, "title": link.title});
        if let Some(summary) = &link.summary {
            object["summary"] = json!(summary);
        }
        let mut body = json!({
            "globalId": link.global_id,
            "application": {"type": "twinsync", "name": "twinsync"},
            "object": object,
        });
        if let Some(relationship) = &link.relationship {
            body["relationship"] = json!(relationship);
        }
        self.client
            .send(
                self.call(
                    Method::POST,
                    "issue/{}/remotelink",
                    &["issue", issue.as_str(), "remotelink"],
                )
                .issue(issue.as_str())
                .json(body),
            )
            .await
            .map_err(|e| op(e, "put remote link").with_issue(issue))?;
        Ok(())
    }

    /// `GET issue/{id}/remotelink`. A link without a global id (one a
    /// person added) reads with an empty one; an entry without a URL or
    /// title is skipped.
    pub(crate) async fn remote_links(&self, issue: &IssueId) -> Result<Vec<RemoteLink>> {
        let value = self
            .client
            .json(self.call(
                Method::GET,
                "issue/{}/remotelink",
                &["issue", issue.as_str(), "remotelink"],
            ))
            .await
            .map_err(|e| op(e, "get remote links").with_issue(issue))?;
        let text = |v: &Value, name: &str| v.get(name).and_then(Value::as_str).map(str::to_owned);
        Ok(value
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter_map(|entry| {
                let object = entry.get("object")?;
                let mut link = RemoteLink::new(
                    text(entry, "globalId").unwrap_or_default(),
                    text(object, "url")?,
                    text(object, "title")?,
                );
                link.summary = text(object, "summary");
                link.relationship = text(entry, "relationship");
                Some(link)
            })
            .collect())
    }
}

/// Links between issues.
impl Jira {
    /// `GET issueLinkType`.
    pub(crate) async fn issue_link_types(&self) -> Result<Vec<IssueLinkType>> {
        let value = self
            .client
            .json(self.call(Method::GET, "issueLinkType", &["issueLinkType"]))
            .await
            .map_err(|e| op(e, "list issue link types"))?;
        let text = |v: &Value, name: &str| v.get(name).and_then(Value::as_str).map(str::to_owned);
        Ok(value
            .get("issueLinkTypes")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter_map(|t| {
                Some(IssueLinkType::new(
                    text(t, "id")?,
                    text(t, "name")?,
                    text(t, "inward").unwrap_or_default(),
                    text(t, "outward").unwrap_or_default(),
                ))
            })
            .collect())
    }

    /// `POST issueLink`: `outwardIssue` is the link's "from" end. Jira answers
    /// a link that exists already as created, adding none.
    pub(crate) async fn add_issue_link(&self, link: &NewIssueLink) -> Result<()> {
        let body = json!({
            "type": {"name": link.link_type},
            "outwardIssue": {"id": link.outward.as_str()},
            "inwardIssue": {"id": link.inward.as_str()},
        });
        self.client
            .send(
                self.call(Method::POST, "issueLink", &["issueLink"])
                    .issue(link.outward.as_str())
                    .json(body),
            )
            .await
            .map_err(|e| op(e, "add issue link").with_issue(&link.outward))?;
        Ok(())
    }

    /// `DELETE issueLink/{id}`.
    pub(crate) async fn delete_issue_link(&self, id: &str) -> Result<()> {
        self.client
            .send(self.call(Method::DELETE, "issueLink/{}", &["issueLink", id]))
            .await
            .map_err(|e| op(e, "delete issue link").with_context("link", id))?;
        Ok(())
    }
}
