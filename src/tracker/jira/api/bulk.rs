//! Creating issues in batches: Jira Cloud's `POST issue/bulk`.

use reqwest::Method;
use serde_json::{Value, json};

use super::super::error::JiraError;
use super::writes::{create_error, created_issue};
use super::{Jira, op, unexpected};
use crate::error::{Error, ErrorKind, Result};
use crate::tracker::{CreatedIssue, NewIssue, batch_call_failed};

/// The most issues Jira Cloud creates in one `POST issue/bulk`.
pub(crate) const MAX_BULK_CREATE: usize = 50;

impl Jira {
    /// Creates `issues` in calls of up to 50, one result per element in order.
    pub(crate) async fn create_issues(
        &self,
        issues: &[NewIssue],
    ) -> Result<Vec<Result<CreatedIssue>>> {
        let mut results = Vec::with_capacity(issues.len());
        for chunk in issues.chunks(MAX_BULK_CREATE) {
            match self.create_chunk(chunk).await {
                Ok(created) => results.extend(created),
                Err(err) if results.is_empty() => return Err(err),
                Err(err) => results.extend(chunk.iter().map(|_| Err(batch_call_failed(&err)))),
            }
        }
        Ok(results)
    }

    /// One `POST issue/bulk` of up to 50 issues.
    async fn create_chunk(&self, chunk: &[NewIssue]) -> Result<Vec<Result<CreatedIssue>>> {
        let mut results: Vec<Option<Result<CreatedIssue>>> = Vec::with_capacity(chunk.len());
        // Which element of `chunk` each element of the request is.
        let mut sent = Vec::with_capacity(chunk.len());
        let mut updates = Vec::with_capacity(chunk.len());
        for (at, issue) in chunk.iter().enumerate() {
            match self.create_body(issue).await {
                Ok(body) => {
                    sent.push(at);
                    updates.push(body);
                    results.push(None);
                }
                Err(err) => results.push(Some(Err(err))),
            }
        }
        if !updates.is_empty() {
            let (_, answer) = self
                .client
                .json_accepting(
                    self.call(Method::POST, "issue/bulk", &["issue", "bulk"])
                        .json(json!({"issueUpdates": updates})),
                    &[400],
                )
                .await
                .map_err(|e| op(e, "create issues"))?;
            settle(&answer, chunk, &sent, &mut results)?;
        }
        Ok(results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(unanswered())))
            .collect())
    }
}

/// Fills `results` from Jira's `{issues, errors}` answer: each error at its
/// `failedElementNumber`, the created issues in order on the elements that
/// did not fail. An answer of another shape (a 400 that is not about the
/// elements) fails the call.
fn settle(
    answer: &Value,
    chunk: &[NewIssue],
    sent: &[usize],
    results: &mut [Option<Result<CreatedIssue>>],
) -> Result<()> {
    let issues = answer.get("issues").and_then(Value::as_array);
    let errors = answer.get("errors").and_then(Value::as_array);
    let (Some(issues), Some(errors)) = (issues, errors) else {
        let body = serde_json::to_vec(answer).unwrap_or_default();
        let err = JiraError::status(400, &body, None, None);
        return Err(op(err, "create issues"));
    };
    let mut failed = vec![false; sent.len()];
    for error in errors {
        let number = error
            .get("failedElementNumber")
            .and_then(Value::as_u64)
            .and_then(|n| usize::try_from(n).ok());
        let Some(n) = number.filter(|n| *n < sent.len()) else {
            return Err(unexpected("create issues").set_temporary(false));
        };
        let status = error
            .get("status")
            .and_then(Value::as_u64)
            .and_then(|s| u16::try_from(s).ok())
            .filter(|s| *s >= 400)
            .unwrap_or(400);
        let body = error.get("elementErrors").unwrap_or(&Value::Null);
        let body = serde_json::to_vec(body).unwrap_or_default();
        let issue = &chunk[sent[n]];
        failed[n] = true;
        results[sent[n]] = Some(Err(create_error(
            JiraError::status(status, &body, None, None),
            issue,
        )));
    }
    let created = sent
        .iter()
        .zip(&failed)
        .filter(|(_, failed)| !**failed)
        .map(|(at, _)| *at);
    for (at, v) in created.zip(issues) {
        results[at] = Some(created_issue(v, &chunk[at]));
    }
    Ok(())
}

/// An element Jira's answer names neither created nor failed.
fn unanswered() -> Error {
    Error::new(
        ErrorKind::Timeout,
        "jira's answer to the batch create says nothing of this issue: it may or may not \
         exist; find it by its marker",
    )
    .with_operation("create issues")
}
