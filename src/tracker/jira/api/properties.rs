//! Entity properties of issues and comments (where the sync markers live).

use reqwest::Method;
use serde_json::Value;

use super::{Jira, op};
use crate::error::Result;
use crate::model::{CommentId, IssueId};

impl Jira {
    pub(crate) async fn issue_property(&self, issue: &IssueId, key: &str) -> Result<Option<Value>> {
        let result = self
            .client
            .json(self.call(
                Method::GET,
                "issue/{}/properties/{}",
                &["issue", issue.as_str(), "properties", key],
            ))
            .await;
        match result {
            Ok(v) => Ok(v.get("value").cloned()),
            Err(e) if e.http_status() == Some(404) => {
                // Missing property or missing issue: Jira says 404 to both.
                self.client
                    .send(
                        self.call(Method::GET, "issue/{}", &["issue", issue.as_str()])
                            .query("fields", "id"),
                    )
                    .await
                    .map_err(|e| op(e, "get issue property").with_issue(issue))?;
                Ok(None)
            }
            Err(e) => Err(op(e, "get issue property")
                .with_issue(issue)
                .with_context("property", key)),
        }
    }

    pub(crate) async fn set_issue_property(
        &self,
        issue: &IssueId,
        key: &str,
        value: &Value,
    ) -> Result<()> {
        self.client
            .send(
                self.call(
                    Method::PUT,
                    "issue/{}/properties/{}",
                    &["issue", issue.as_str(), "properties", key],
                )
                .issue(issue.as_str())
                .json(value.clone()),
            )
            .await
            .map_err(|e| {
                op(e, "set issue property")
                    .with_issue(issue)
                    .with_context("property", key)
            })?;
        Ok(())
    }

    pub(crate) async fn comment_property(
        &self,
        comment: &CommentId,
        key: &str,
    ) -> Result<Option<Value>> {
        let result = self
            .client
            .json(self.call(
                Method::GET,
                "comment/{}/properties/{}",
                &["comment", comment.as_str(), "properties", key],
            ))
            .await;
        match result {
            Ok(v) => Ok(v.get("value").cloned()),
            Err(e) if e.http_status() == Some(404) => {
                self.client
                    .send(self.call(
                        Method::GET,
                        "comment/{}/properties",
                        &["comment", comment.as_str(), "properties"],
                    ))
                    .await
                    .map_err(|e| op(e, "get comment property").with_context("comment", comment))?;
                Ok(None)
            }
            Err(e) => Err(op(e, "get comment property")
                .with_context("comment", comment)
                .with_context("property", key)),
        }
    }

    pub(crate) async fn set_comment_property(
        &self,
        comment: &CommentId,
        key: &str,
        value: &Value,
    ) -> Result<()> {
        self.client
            .send(
                self.call(
                    Method::PUT,
                    "comment/{}/properties/{}",
                    &["comment", comment.as_str(), "properties", key],
                )
                .json(value.clone()),
            )
            .await
            .map_err(|e| {
                op(e, "set comment property")
                    .with_context("comment", comment)
                    .with_context("property", key)
            })?;
        Ok(())
    }
}
