//! Issue and comment writes: create (with properties), edit, transition, comment.

use reqwest::Method;
use serde_json::{Value, json};

use super::super::error::JiraError;
use super::super::field_values;
use super::super::mapping::{self};
use super::{Jira, op, unexpected};
use crate::error::{Error, ErrorKind, Result};
use crate::model::{Comment, CommentId, IssueId, RichText, Visibility};
use crate::tracker::{CreatedIssue, IssueUpdate, NewComment, NewIssue};

impl Jira {
    pub(crate) async fn create_issue(&self, issue: &NewIssue) -> Result<CreatedIssue> {
        let body = self.create_body(issue).await?;
        let v = self
            .client
            .json(self.call(Method::POST, "issue", &["issue"]).json(body))
            .await
            .map_err(|e| create_error(e, issue))?;
        created_issue(&v, issue)
    }

    /// The body of one create: fields and, in the same request, properties.
    pub(super) async fn create_body(&self, issue: &NewIssue) -> Result<Value> {
        let mut fields = json!({
            "project": {"key": issue.project.as_str()},
            "issuetype": {"name": issue.issue_type},
            "summary": issue.summary,
            "labels": issue.labels,
        });
        if !issue.description.is_empty() {
            let description = self.native_body(None, &issue.description).await?;
            fields["description"] = self.flavor.body_to_json(&description);
        }
        if let Value::Object(map) = &mut fields {
            field_values::new_fields_json(self.flavor, &issue.fields, map);
        }
        let mut body = json!({"fields": fields});
        if !issue.properties.is_empty() {
            body["properties"] = mapping::property_list(&issue.properties);
        }
        Ok(body)
    }

    pub(crate) async fn update_issue(&self, id: &IssueId, update: &IssueUpdate) -> Result<()> {
        let mut fields = serde_json::Map::new();
        if let Some(summary) = &update.summary {
            fields.insert("summary".into(), json!(summary));
        }
        if let Some(description) = &update.description {
            let value = if description.is_empty() {
                Value::Null
            } else {
                let description = self.native_body(Some(id), description).await?;
                self.flavor.body_to_json(&description)
            };
            fields.insert("description".into(), value);
        }
        if let Some(issue_type) = &update.issue_type {
            fields.insert("issuetype".into(), json!({"name": issue_type}));
        }
        if let Some(labels) = &update.labels {
            fields.insert("labels".into(), json!(labels));
        }
        field_values::update_fields_json(self.flavor, update, &mut fields);
        if !fields.is_empty() {
            self.client
                .send(
                    self.call(Method::PUT, "issue/{}", &["issue", id.as_str()])
                        .issue(id.as_str())
                        .json(json!({"fields": fields})),
                )
                .await
                .map_err(|e| op(e, "update issue").with_issue(id))?;
        }
        if let Some(status) = &update.status {
            self.transition(id, status).await?;
        }
        Ok(())
    }

    async fn transition(&self, id: &IssueId, status: &str) -> Result<()> {
        let v = self
            .client
            .json(self.call(
                Method::GET,
                "issue/{}/transitions",
                &["issue", id.as_str(), "transitions"],
            ))
            .await
            .map_err(|e| op(e, "list transitions").with_issue(id))?;
        let transitions = v
            .get("transitions")
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice);
        let target = |t: &Value| {
            t.get("to")
                .and_then(|to| to.get("name"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let Some(transition) = transitions
            .iter()
            .find(|t| target(t).is_some_and(|n| n.eq_ignore_ascii_case(status)))
        else {
            let available: Vec<String> = transitions.iter().filter_map(target).collect();
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "no transition leads issue {id} to status {status:?}; reachable: {}",
                    available.join(", ")
                ),
            ));
        };
        let transition_id = transition.get("id").cloned().unwrap_or(Value::Null);
        self.client
            .send(
                self.call(
                    Method::POST,
                    "issue/{}/transitions",
                    &["issue", id.as_str(), "transitions"],
                )
                .issue(id.as_str())
                .json(json!({"transition": {"id": transition_id}})),
            )
            .await
            .map_err(|e| op(e, "transition issue").with_issue(id))?;
        Ok(())
    }

    pub(crate) async fn add_comment(
        &self,
        issue: &IssueId,
        comment: &NewComment,
    ) -> Result<Comment> {
        let mut properties = comment.properties.clone();
        if comment.visibility == Visibility::Internal {
            properties.insert("sd.public.comment".into(), json!({"internal": true}));
        }
        let native = self.native_body(Some(issue), &comment.body).await?;
        let mut body = json!({"body": self.flavor.body_to_json(&native)});
        if !properties.is_empty() {
            body["properties"] = mapping::property_list(&properties);
        }
        let v = self
            .client
            .json(
                self.call(
                    Method::POST,
                    "issue/{}/comment",
                    &["issue", issue.as_str(), "comment"],
                )
                .issue(issue.as_str())
                .query("expand", "properties")
                .json(body),
            )
            .await
            .map_err(|e| op(e, "add comment").with_issue(issue))?;
        let mut created = self.neutral_comment(
            mapping::comment(&v, self.flavor)
                .map_err(|e| op(e, "add comment").with_issue(issue))?,
        );
        for (k, value) in properties {
            created.properties.entry(k).or_insert(value);
        }
        Ok(created)
    }

    pub(crate) async fn update_comment(
        &self,
        issue: &IssueId,
        comment: &CommentId,
        body: &RichText,
    ) -> Result<Comment> {
        let native = self.native_body(Some(issue), body).await?;
        let v = self
            .client
            .json(
                self.call(
                    Method::PUT,
                    "issue/{}/comment/{}",
                    &["issue", issue.as_str(), "comment", comment.as_str()],
                )
                .issue(issue.as_str())
                .query("expand", "properties")
                .json(json!({"body": self.flavor.body_to_json(&native)})),
            )
            .await
            .map_err(|e| {
                op(e, "update comment")
                    .with_issue(issue)
                    .with_context("comment", comment)
            })?;
        mapping::comment(&v, self.flavor)
            .map(|c| self.neutral_comment(c))
            .map_err(|e| op(e, "update comment").with_issue(issue))
    }

    /// `DELETE issue/{id}` (its sub-tasks are not deleted: Jira refuses
    /// then, and the refusal is the error).
    pub(crate) async fn delete_issue(&self, issue: &IssueId) -> Result<()> {
        self.client
            .send(
                self.call(Method::DELETE, "issue/{}", &["issue", issue.as_str()])
                    .issue(issue.as_str()),
            )
            .await
            .map_err(|e| op(e, "delete issue").with_issue(issue))?;
        Ok(())
    }

    pub(crate) async fn delete_comment(&self, issue: &IssueId, comment: &CommentId) -> Result<()> {
        self.client
            .send(
                self.call(
                    Method::DELETE,
                    "issue/{}/comment/{}",
                    &["issue", issue.as_str(), "comment", comment.as_str()],
                )
                .issue(issue.as_str()),
            )
            .await
            .map_err(|e| {
                op(e, "delete comment")
                    .with_issue(issue)
                    .with_context("comment", comment)
            })?;
        Ok(())
    }
}

/// Jira's refusal of a create: a 400 naming the project is a missing project.
pub(super) fn create_error(e: JiraError, issue: &NewIssue) -> Error {
    let missing_project = e.http_status() == Some(400) && e.names_field("project");
    let err = op(e, "create issue").with_context("project", &issue.project);
    if missing_project {
        Error::new(
            ErrorKind::NotFound,
            format!("project {} does not exist in jira", issue.project),
        )
        .with_source(err)
    } else {
        err
    }
}

/// The `{id, key}` of a created issue.
pub(super) fn created_issue(v: &Value, issue: &NewIssue) -> Result<CreatedIssue> {
    let id = v.get("id").and_then(Value::as_str);
    let key = v.get("key").and_then(Value::as_str);
    match (id, key) {
        (Some(id), Some(key)) => Ok(CreatedIssue {
            id: mapping::parse_id(id, "a created issue")?,
            key: mapping::parse_id(key, "a created issue")?,
        }),
        _ => Err(unexpected("create issue")
            .with_context("project", &issue.project)
            .set_temporary(false)),
    }
}
