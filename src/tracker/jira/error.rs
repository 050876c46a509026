//! Jira's failures, and the one place where they become twinsync [`Error`]s.

use std::time::Duration;

use serde_json::Value;

use crate::error::{Error, ErrorKind};

/// What went wrong talking to Jira. Private: callers only ever see [`Error`].
#[derive(Debug, thiserror::Error)]
pub(crate) enum JiraError {
    /// Jira answered with a status that is not a success.
    #[error("jira answered {status}{}", reason_suffix(.messages))]
    Status {
        status: u16,
        messages: Vec<String>,
        fields: Vec<String>,
        retry_after: Option<Duration>,
        rate_limit_reason: Option<String>,
    },
    /// No answer arrived within the adapter's timeout.
    #[error("no answer from jira within the timeout")]
    Timeout(#[source] reqwest::Error),
    /// The connection could not be opened.
    #[error("cannot connect to jira")]
    Connect(#[source] reqwest::Error),
    /// The connection broke after the request was sent: it may have been applied.
    #[error("the connection to jira broke before the answer arrived")]
    Lost(#[source] reqwest::Error),
    /// Jira sent something twinsync cannot read.
    #[error("jira sent {what} that twinsync cannot read: {detail}")]
    Malformed { what: &'static str, detail: String },
    /// A request could not be built (a bad value from the caller).
    #[error("{0}")]
    Request(String),
}

fn reason_suffix(messages: &[String]) -> String {
    if messages.is_empty() {
        String::new()
    } else {
        format!(": {}", messages.join("; "))
    }
}

impl JiraError {
    /// An error answer: the status, the headers that matter and Jira's
    /// `{errorMessages, errors}` body (any other body is kept as a short text).
    pub(crate) fn status(
        status: u16,
        body: &[u8],
        retry_after: Option<Duration>,
        rate_limit_reason: Option<String>,
    ) -> Self {
        JiraError::Status {
            status,
            messages: error_messages(body),
            fields: error_fields(body),
            retry_after,
            rate_limit_reason,
        }
    }

    /// The HTTP status of an error answer.
    pub(crate) fn http_status(&self) -> Option<u16> {
        match self {
            JiraError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether Jira's `errors` object names `field` (such as `project`).
    pub(crate) fn names_field(&self, field: &str) -> bool {
        matches!(self, JiraError::Status { fields, .. } if fields.iter().any(|f| f == field))
    }

    /// Whether Jira's `errors` object names any field.
    pub(crate) fn has_field_errors(&self) -> bool {
        matches!(self, JiraError::Status { fields, .. } if !fields.is_empty())
    }

    /// The messages of an error answer (`errorMessages`, then `errors` as
    /// `field: message`); empty for other failures.
    pub(crate) fn messages(&self) -> &[String] {
        match self {
            JiraError::Status { messages, .. } => messages,
            _ => &[],
        }
    }

    /// A response body that does not have the expected shape.
    pub(crate) fn malformed(what: &'static str, detail: impl std::fmt::Display) -> Self {
        JiraError::Malformed {
            what,
            detail: detail.to_string(),
        }
    }

    /// Classifies a transport failure of reqwest.
    pub(crate) fn transport(err: reqwest::Error) -> Self {
        if err.is_timeout() {
            JiraError::Timeout(err)
        } else if err.is_connect() {
            JiraError::Connect(err)
        } else if err.is_builder() {
            JiraError::Request(format!("cannot build the request: {err}"))
        } else {
            JiraError::Lost(err)
        }
    }
}

/// The messages of Jira's error body: `errorMessages` first, then `errors` as
/// `field: message`, sorted by field. A body of another shape is kept as text
/// (shortened), an empty body gives nothing.
pub(crate) fn error_messages(body: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => {
            if let Some(Value::Array(messages)) = map.get("errorMessages") {
                out.extend(messages.iter().filter_map(Value::as_str).map(str::to_owned));
            }
            if let Some(Value::Object(errors)) = map.get("errors") {
                let mut fields: Vec<_> = errors.iter().collect();
                fields.sort_by(|a, b| a.0.cmp(b.0));
                for (field, message) in fields {
                    let text = message
                        .as_str()
                        .map_or_else(|| message.to_string(), str::to_owned);
                    out.push(format!("{field}: {text}"));
                }
            }
            if out.is_empty()
                && let Some(message) = map.get("message").and_then(Value::as_str)
            {
                out.push(message.to_owned());
            }
        }
        _ => {
            let text = String::from_utf8_lossy(body);
            let text = text.trim();
            if !text.is_empty() {
                let short: String = text.chars().take(200).collect();
                out.push(short);
            }
        }
    }
    out
}

/// The field names of Jira's `errors` object.
fn error_fields(body: &[u8]) -> Vec<String> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => match map.get("errors") {
            Some(Value::Object(errors)) => errors.keys().cloned().collect(),
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

/// The error kind for an HTTP status, the one mapping every Jira call uses.
pub(crate) fn kind_for_status(status: u16) -> ErrorKind {
    match status {
        400 | 413 | 422 => ErrorKind::InvalidInput,
        401 => ErrorKind::Unauthenticated,
        403 => ErrorKind::PermissionDenied,
        404 => ErrorKind::NotFound,
        409 => ErrorKind::Conflict,
        410 => ErrorKind::Incompatible,
        429 => ErrorKind::RateLimited,
        500..=599 => ErrorKind::Unavailable,
        _ => ErrorKind::Unexpected,
    }
}

impl From<JiraError> for Error {
    fn from(err: JiraError) -> Self {
        let (kind, retry_after) = match &err {
            JiraError::Status {
                status,
                retry_after,
                ..
            } => (kind_for_status(*status), *retry_after),
            JiraError::Timeout(_) | JiraError::Lost(_) => (ErrorKind::Timeout, None),
            JiraError::Connect(_) => (ErrorKind::Unavailable, None),
            JiraError::Malformed { .. } => (ErrorKind::Unexpected, None),
            JiraError::Request(_) => (ErrorKind::InvalidInput, None),
        };
        let mut out = Error::new(kind, err.to_string());
        if let JiraError::Status {
            rate_limit_reason: Some(reason),
            ..
        } = &err
        {
            out = out.with_context("rate limit", reason);
        }
        if let Some(wait) = retry_after {
            out = out.with_retry_after(wait);
        }
        out.with_source(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapped(status: u16, body: &str, retry_after: Option<u64>) -> Error {
        JiraError::status(
            status,
            body.as_bytes(),
            retry_after.map(Duration::from_secs),
            None,
        )
        .into()
    }

    #[test]
    fn statuses_map_to_kinds_and_temporariness() {
        let cases = [
            (400, ErrorKind::InvalidInput, false),
            (401, ErrorKind::Unauthenticated, false),
            (403, ErrorKind::PermissionDenied, false),
            (404, ErrorKind::NotFound, false),
            (409, ErrorKind::Conflict, false),
            (410, ErrorKind::Incompatible, false),
            (429, ErrorKind::RateLimited, true),
            (500, ErrorKind::Unavailable, true),
            (503, ErrorKind::Unavailable, true),
        ];
        for (status, kind, temporary) in cases {
            let err = mapped(status, "", None);
            assert_eq!(err.kind(), kind, "{status}");
            assert_eq!(err.is_temporary(), temporary, "{status}");
        }
    }

    #[test]
    fn message_lists_error_messages_and_field_errors() {
        let err = mapped(
            400,
            r#"{"errorMessages":["Bad request"],"errors":{"summary":"You must specify a summary","issuetype":"Specify a valid issue type"}}"#,
            None,
        );
        assert_eq!(
            err.to_string(),
            "jira answered 400: Bad request; issuetype: Specify a valid issue type; summary: You must specify a summary"
        );
    }

    #[test]
    fn retry_after_and_reason_are_kept() {
        let err: Error = JiraError::status(
            429,
            b"",
            Some(Duration::from_secs(7)),
            Some("jira-burst-based".into()),
        )
        .into();
        assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
        assert_eq!(err.context_value("rate limit"), Some("jira-burst-based"));
        let outage = mapped(503, "<html>down</html>", Some(30));
        assert_eq!(outage.retry_after(), Some(Duration::from_secs(30)));
        assert!(outage.to_string().contains("<html>down</html>"));
    }

    #[test]
    fn odd_bodies_do_not_panic() {
        for body in [
            "",
            "null",
            "[1,2]",
            "{\"errors\":[1]}",
            "{\"errorMessages\":\"x\"}",
        ] {
            let _ = mapped(400, body, None).to_string();
        }
    }
}
