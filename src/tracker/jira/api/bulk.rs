//! Creating issues in batches: Jira Cloud's `POST issue/bulk`.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::super::error::JiraError;
use super::writes::{create_error, created_issue};
use super::{Jira, op};
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
            let (status, answer) = self
                .client
                .json_accepting(
                    self.call(Method::POST, "issue/bulk", &["issue", "bulk"])
                        .json(json!({"issueUpdates": updates})),
                    &[400],
                )
                .await
                .map_err(|e| op(e, "create issues"))?;
            settle(status, &answer, chunk, &sent, &mut results)?;
        }
        Ok(finish(results))
    }
}

/// Each element's result; an element nothing answered is a `Timeout`.
fn finish(results: Vec<Option<Result<CreatedIssue>>>) -> Vec<Result<CreatedIssue>> {
    results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err(unanswered())))
        .collect()
}

/// Fills `results` from Jira's `{issues, errors}` answer: each error at its
/// `failedElementNumber`, the created issues in order on the elements that
/// did not fail. A 400 of another shape (a refusal of the whole request)
/// fails the call. A success answer Jira's answer does not tie to elements
/// (unreadable errors, more or fewer issues than elements left) leaves
/// those elements unanswered: they may exist.
fn settle(
    status: StatusCode,
    answer: &Value,
    chunk: &[NewIssue],
    sent: &[usize],
    results: &mut [Option<Result<CreatedIssue>>],
) -> Result<()> {
    let issues = answer.get("issues").and_then(Value::as_array);
    let errors = answer.get("errors").and_then(Value::as_array);
    let elements = issues.zip(errors).and_then(|(issues, errors)| {
        let failed = errors
            .iter()
            .map(|e| element_error(e, chunk, sent))
            .collect::<Option<Vec<_>>>()?;
        Some((issues, failed))
    });
    let Some((issues, failed)) = elements else {
        if status.is_success() {
            return Ok(());
        }
        let body = serde_json::to_vec(answer).unwrap_or_default();
        let err = JiraError::status(status.as_u16(), &body, None, None);
        return Err(op(err, "create issues"));
    };
    let mut refused = vec![false; sent.len()];
    for (n, err) in failed {
        refused[n] = true;
        results[sent[n]] = Some(Err(err));
    }
    let created: Vec<usize> = sent
        .iter()
        .zip(&refused)
        .filter(|(_, refused)| !**refused)
        .map(|(at, _)| *at)
        .collect();
    if created.len() == issues.len() {
        for (at, v) in created.into_iter().zip(issues) {
            results[at] = Some(created_issue(v, &chunk[at]));
        }
    }
    Ok(())
}

/// One element of Jira's `errors`: its number in the request and its error;
/// `None` when it names no element of the request.
fn element_error(error: &Value, chunk: &[NewIssue], sent: &[usize]) -> Option<(usize, Error)> {
    let n = error
        .get("failedElementNumber")
        .and_then(Value::as_u64)
        .and_then(|n| usize::try_from(n).ok())
        .filter(|n| *n < sent.len())?;
    let status = error
        .get("status")
        .and_then(Value::as_u64)
        .and_then(|s| u16::try_from(s).ok())
        .filter(|s| *s >= 400)
        .unwrap_or(400);
    let body = error.get("elementErrors").unwrap_or(&Value::Null);
    let body = serde_json::to_vec(body).unwrap_or_default();
    let err = create_error(
        JiraError::status(status, &body, None, None),
        &chunk[sent[n]],
    );
    Some((n, err))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::ids as lit;

    /// The results of a request of `n` issues that Jira answered `status`, `answer`.
    fn answered(status: u16, answer: Value, n: usize) -> Result<Vec<Result<CreatedIssue>>> {
        let chunk: Vec<NewIssue> = (0..n)
            .map(|i| NewIssue::new(lit::project("SUP"), "Bug", format!("s{i}")))
            .collect();
        let sent: Vec<usize> = (0..n).collect();
        let mut results = Vec::new();
        results.resize_with(n, || None);
        let status = StatusCode::from_u16(status).unwrap();
        settle(status, &answer, &chunk, &sent, &mut results)?;
        Ok(finish(results))
    }

    fn created(id: &str, key: &str) -> Value {
        json!({"id": id, "key": key, "self": format!("https://x.example/rest/api/3/issue/{id}")})
    }

    fn refused(n: usize) -> Value {
        json!({"status": 400, "failedElementNumber": n,
            "elementErrors": {"errorMessages": [], "errors": {"issuetype": "The issue type selected is invalid."}}})
    }

    #[test]
    fn created_issues_fill_the_elements_that_did_not_fail_in_order() {
        let results = answered(
            201,
            json!({"issues": [created("10", "SUP-1"), created("11", "SUP-2")], "errors": [refused(1)]}),
            3,
        )
        .unwrap();
        assert_eq!(results[0].as_ref().unwrap().key.as_str(), "SUP-1");
        let err = results[1].as_ref().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(
            err.to_string().contains("issue type selected is invalid"),
            "{err}"
        );
        assert_eq!(results[2].as_ref().unwrap().key.as_str(), "SUP-2");
    }

    #[test]
    fn elements_the_answer_does_not_account_for_may_exist() {
        // One issue for two elements that did not fail: which is which is unknown.
        let results = answered(
            201,
            json!({"issues": [created("10", "SUP-1")], "errors": []}),
            2,
        )
        .unwrap();
        for result in &results {
            let err = result.as_ref().unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Timeout);
            assert!(
                err.may_have_applied() && err.to_string().contains("marker"),
                "{err}"
            );
        }
        // An unreadable success answer: nothing is known of any element.
        let results = answered(201, json!({"unexpected": true}), 2).unwrap();
        assert!(
            results
                .iter()
                .all(|r| r.as_ref().is_err_and(|e| e.may_have_applied()))
        );
    }

    #[test]
    fn all_refused_is_per_element_and_a_plain_400_fails_the_call() {
        let results = answered(
            400,
            json!({"issues": [], "errors": [refused(0), refused(1)]}),
            2,
        )
        .unwrap();
        assert!(results.iter().all(|r| {
            r.as_ref()
                .is_err_and(|e| e.kind() == ErrorKind::InvalidInput)
        }));
        let err =
            answered(400, json!({"errorMessages": ["too many"], "errors": {}}), 2).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.to_string().contains("too many"), "{err}");
    }
}
