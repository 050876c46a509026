//! Terse ids for tests: `key("SUP-1")` instead of `IssueKey::new("SUP-1")?`.
//!
//! Each helper **panics** on a malformed value, naming it: it is meant for
//! the literals a test writes itself. Values from a tracker, a user, a file or
//! the network go through the ids' fallible constructors (`new`, `parse`,
//! `try_from`) instead.
//!
//! ```
//! use twinsync::testkit::ids::{key, project};
//!
//! assert_eq!(key("SUP-1").as_str(), "SUP-1");
//! assert_eq!(project("SUP").to_string(), "SUP");
//! ```

use crate::model::{AttachmentId, CommentId, IssueId, IssueKey, ProjectKey, UserId};

fn literal<T: std::str::FromStr<Err = crate::Error>>(text: &str) -> T {
    text.parse()
        .unwrap_or_else(|e: crate::Error| panic!("a test's literal id is malformed: {e}"))
}

/// A project key from a test's literal, such as `project("SUP")`; panics when malformed.
pub fn project(text: impl AsRef<str>) -> ProjectKey {
    literal(text.as_ref())
}

/// An issue key from a test's literal, such as `key("SUP-1")`; panics when malformed.
pub fn key(text: impl AsRef<str>) -> IssueKey {
    literal(text.as_ref())
}

/// An issue id from a test's literal, such as `issue_id("10001")`; panics when malformed.
pub fn issue_id(text: impl AsRef<str>) -> IssueId {
    literal(text.as_ref())
}

/// A comment id from a test's literal; panics when malformed.
pub fn comment_id(text: impl AsRef<str>) -> CommentId {
    literal(text.as_ref())
}

/// An attachment id from a test's literal; panics when malformed.
pub fn attachment_id(text: impl AsRef<str>) -> AttachmentId {
    literal(text.as_ref())
}

/// A user id from a test's literal, such as `user_id("ada")`; panics when malformed.
pub fn user_id(text: impl AsRef<str>) -> UserId {
    literal(text.as_ref())
}
