//! A delivery's body: the events twinsync listens to and what a hint needs
//! (the issue's project and key).

use std::fmt;

use serde_json::Value;

use crate::model::{IssueKey, ProjectKey};

/// A Jira webhook event that twinsync turns into a hint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum WebhookEvent {
    /// `jira:issue_created`
    IssueCreated,
    /// `jira:issue_updated`
    IssueUpdated,
    /// `comment_created`
    CommentCreated,
    /// `comment_updated`
    CommentUpdated,
    /// `comment_deleted`
    CommentDeleted,
    /// `attachment_created`
    AttachmentCreated,
    /// `attachment_deleted`
    AttachmentDeleted,
}

impl WebhookEvent {
    /// Every event twinsync listens to.
    pub const ALL: [WebhookEvent; 7] = [
        WebhookEvent::IssueCreated,
        WebhookEvent::IssueUpdated,
        WebhookEvent::CommentCreated,
        WebhookEvent::CommentUpdated,
        WebhookEvent::CommentDeleted,
        WebhookEvent::AttachmentCreated,
        WebhookEvent::AttachmentDeleted,
    ];

    /// Jira's name of the event, as in a delivery's `webhookEvent`.
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookEvent::IssueCreated => "jira:issue_created",
            WebhookEvent::IssueUpdated => "jira:issue_updated",
            WebhookEvent::CommentCreated => "comment_created",
            WebhookEvent::CommentUpdated => "comment_updated",
            WebhookEvent::CommentDeleted => "comment_deleted",
            WebhookEvent::AttachmentCreated => "attachment_created",
            WebhookEvent::AttachmentDeleted => "attachment_deleted",
        }
    }

    /// The event Jira names `name`, if twinsync listens to it.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == name)
    }

    /// Whether an OAuth 2.0 app can register it as a dynamic webhook (Jira
    /// offers no attachment events there; an attachment change also sends
    /// `jira:issue_updated`).
    pub fn dynamic(self) -> bool {
        !matches!(
            self,
            WebhookEvent::AttachmentCreated | WebhookEvent::AttachmentDeleted
        )
    }
}

impl fmt::Display for WebhookEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a delivery's body says.
#[derive(Debug, PartialEq)]
pub(super) enum Parsed {
    /// An event about `key` of `project`.
    Issue {
        event: WebhookEvent,
        project: ProjectKey,
        key: IssueKey,
    },
    /// An event twinsync listens to, without an issue (an attachment event
    /// may come without one; Jira also sends `jira:issue_updated` for it).
    NoIssue(WebhookEvent),
    /// An event twinsync does not listen to.
    Unknown(String),
}

/// Reads a delivery's body; `Err` says what is wrong with it (never quoting
/// the body itself).
pub(super) fn parse(body: &[u8]) -> Result<Parsed, &'static str> {
    let value: Value = serde_json::from_slice(body).map_err(|_| "the body is not JSON")?;
    let name = value
        .get("webhookEvent")
        .and_then(Value::as_str)
        .ok_or("the body has no webhookEvent")?;
    let Some(event) = WebhookEvent::from_name(name) else {
        // Logged: printable ASCII only, and short.
        let shown = name.chars().filter(char::is_ascii_graphic).take(64);
        return Ok(Parsed::Unknown(shown.collect()));
    };
    let Some(issue) = value.get("issue").filter(|i| !i.is_null()) else {
        return match event {
            WebhookEvent::AttachmentCreated | WebhookEvent::AttachmentDeleted => {
                Ok(Parsed::NoIssue(event))
            }
            _ => Err("the body has no issue"),
        };
    };
    let key = issue
        .get("key")
        .and_then(Value::as_str)
        .and_then(|k| IssueKey::new(k).ok())
        .ok_or("the issue has no valid key")?;
    let project = issue
        .pointer("/fields/project/key")
        .and_then(Value::as_str)
        .and_then(|p| ProjectKey::new(p).ok())
        .ok_or("the issue has no valid fields.project.key")?;
    Ok(Parsed::Issue {
        event,
        project,
        key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_event_project_and_key() {
        let body = br#"{"timestamp":1,"webhookEvent":"comment_created","comment":{"id":"1"},
            "issue":{"id":"10001","key":"SUP-7","fields":{"project":{"id":"10000","key":"SUP"}}}}"#;
        assert_eq!(
            parse(body),
            Ok(Parsed::Issue {
                event: WebhookEvent::CommentCreated,
                project: ProjectKey::new("SUP").unwrap(),
                key: IssueKey::new("SUP-7").unwrap(),
            })
        );
    }

    #[test]
    fn refuses_what_is_not_a_delivery() {
        assert!(parse(b"not json").is_err());
        assert!(parse(b"[]").is_err());
        assert!(parse(br#"{"webhookEvent":"jira:issue_updated"}"#).is_err());
        assert!(
            parse(br#"{"webhookEvent":"jira:issue_updated","issue":{"key":"SUP-1"}}"#).is_err()
        );
        assert!(
            parse(br#"{"webhookEvent":"jira:issue_updated","issue":{"key":"x y","fields":{"project":{"key":"SUP"}}}}"#)
                .is_err()
        );
        assert_eq!(
            parse(br#"{"webhookEvent":"sprint_started"}"#),
            Ok(Parsed::Unknown("sprint_started".into()))
        );
        assert_eq!(
            parse(br#"{"webhookEvent":"attachment_deleted","attachment":{"id":"1"}}"#),
            Ok(Parsed::NoIssue(WebhookEvent::AttachmentDeleted))
        );
    }
}
