//! The tracker adapter trait, and the trackers twinsync ships.
//!
//! A tracker adapter connects the engine to one tracker instance (a Jira site,
//! the in-memory tracker, or one you write). Implement [`Tracker`] (only what
//! the engine calls) and run the conformance suite in `twinsync::testkit`
//! (feature `testkit`) against your adapter: it checks everything the engine
//! relies on. [`TrackerExt`] adds conveniences on top, such as walking every
//! page of a search; it is implemented for every tracker, never by you.
//! [`forward_tracker!`](crate::forward_tracker) writes the forwarding methods
//! of a wrapper around another tracker.

use std::collections::BTreeMap;
use std::fmt::Debug;

use async_trait::async_trait;
use serde_json::Value;
use time::OffsetDateTime;

use crate::error::Result;
use crate::model::{
    AttachmentId, AttachmentMeta, Comment, CommentId, Issue, IssueId, IssueKey, ProjectInfo,
    ProjectKey, RemoteLink, RichText, UserId, UserProfile,
};

mod ext;
mod forward;
#[cfg(feature = "jira")]
#[cfg_attr(docsrs, doc(cfg(feature = "jira")))]
pub mod jira;
pub mod memory;
mod metered;
mod paced;
pub mod retry;
mod types;
mod update;

pub use ext::TrackerExt;
pub use memory::MemoryTracker;
pub(crate) use metered::Metered;
pub use paced::{PacedTracker, RateLimits, SharedHolds};
pub use retry::{RetryPolicy, RetryTracker};
pub(crate) use types::batch_call_failed;
pub use types::{
    Capabilities, CreatedIssue, InstanceInfo, NewAttachment, NewComment, NewIssue, NewIssueLink,
    Page, SearchPage,
};
pub use update::IssueUpdate;

// For `forward_tracker!` in other crates.
#[doc(hidden)]
pub use async_trait::async_trait as __async_trait;
#[doc(hidden)]
pub use serde_json::Value as __Value;
#[doc(hidden)]
pub use time::OffsetDateTime as __OffsetDateTime;

/// One tracker instance, as the sync engine sees it: the minimum the engine
/// calls, and nothing else.
///
/// The trait is object safe (the engine holds an `Arc<dyn Tracker>`), so it uses
/// `#[async_trait]` until `dyn`-compatible async traits are stable.
///
/// # Contract
///
/// - Reads MUST be consistent with the adapter's own completed writes: after a
///   write returns, [`issue`](Tracker::issue) MUST show it. Searches MAY lag.
/// - A method that fails MUST return an [`Error`](crate::Error) whose kind says
///   why: a missing issue, comment, attachment or project is
///   [`NotFound`](crate::ErrorKind::NotFound); bad credentials
///   [`Unauthenticated`](crate::ErrorKind::Unauthenticated); a refusal
///   [`PermissionDenied`](crate::ErrorKind::PermissionDenied); a 429
///   [`RateLimited`](crate::ErrorKind::RateLimited) with its
///   [`retry_after`](crate::Error::retry_after) when the tracker said; 5xx
///   [`Unavailable`](crate::ErrorKind::Unavailable); a lost answer
///   [`Timeout`](crate::ErrorKind::Timeout). Rate limits, outages and timeouts
///   MUST be marked temporary, everything else permanent.
/// - An adapter MUST NOT retry writes by itself: a create repeated after a lost
///   answer makes a duplicate. The engine decides (using markers).
/// - Entity properties passed with a create MUST be stored by the same request,
///   so that an issue or comment never exists without its marker. A node
///   refuses a tracker whose [`capabilities`](Tracker::capabilities) lack
///   `issue_properties` or `comment_properties`: without markers it cannot
///   tell a lost create from one never made.
/// - An issue snapshot ([`issue`](Tracker::issue), searches) MUST carry the
///   issue's entity properties, its comments (oldest first, each with its
///   properties) and its attachments' metadata (oldest first).
/// - An operation the adapter does not support MUST return
///   [`Unsupported`](crate::ErrorKind::Unsupported), and
///   [`capabilities`](Tracker::capabilities) MUST say so. That includes a
///   create carrying properties the adapter cannot store: it MUST fail, never
///   drop them.
/// - An adapter MUST NOT panic on anything a server sends.
#[async_trait]
pub trait Tracker: Debug + Send + Sync + 'static {
    /// What this adapter supports.
    fn capabilities(&self) -> Capabilities;

    /// The instance's normalized base URL, product and version.
    ///
    /// # Errors
    ///
    /// Connection and authentication failures.
    async fn instance(&self) -> Result<InstanceInfo>;

    /// A project's name, issue types and default issue type.
    ///
    /// # Errors
    ///
    /// `NotFound` when the project does not exist or is not visible.
    async fn project(&self, key: &ProjectKey) -> Result<ProjectInfo>;

    /// One issue by id, with its comments, attachment metadata and properties.
    ///
    /// # Errors
    ///
    /// `NotFound` when the issue does not exist.
    async fn issue(&self, id: &IssueId) -> Result<Issue>;

    /// One issue by key, with its comments, attachment metadata and properties.
    ///
    /// # Errors
    ///
    /// `NotFound` when no issue has the key.
    async fn issue_by_key(&self, key: &IssueKey) -> Result<Issue>;

    /// The issues matching a JQL query, one page at a time.
    ///
    /// Paging through all pages with no writes in between MUST return every
    /// matching issue exactly once. Results MAY lag behind recent writes.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a query the tracker rejects, with the reason.
    async fn search(&self, jql: &str, page: &Page) -> Result<SearchPage>;

    /// The issues of `project` updated at or after `since`, oldest change first.
    ///
    /// This is the change-detection query; results MAY lag behind recent writes,
    /// so callers poll with an overlap window.
    ///
    /// # Errors
    ///
    /// `NotFound` when the project does not exist.
    async fn updated_since(
        &self,
        project: &ProjectKey,
        since: OffsetDateTime,
        page: &Page,
    ) -> Result<SearchPage>;

    /// Creates an issue, storing `issue.properties` in the same request.
    ///
    /// # Errors
    ///
    /// `NotFound` for a missing project, `InvalidInput` for an issue type the
    /// project lacks. A `Timeout` means the issue may or may not exist.
    async fn create_issue(&self, issue: &NewIssue) -> Result<CreatedIssue>;

    /// Creates several issues, each with its `properties` stored in the same
    /// request as the issue (as [`create_issue`](Tracker::create_issue)
    /// does), and answers one result per element, in order.
    ///
    /// A tracker with a batch call sends up to
    /// [`Capabilities::batch_create`] issues in one call, splitting a longer
    /// slice into several calls. The default body creates them one by one
    /// with [`create_issue`](Tracker::create_issue), so every tracker supports
    /// it; its `batch_create` is 1.
    ///
    /// An element that fails on its own (an issue type the project lacks, an
    /// empty summary) is that element's `Err`, and the others are still
    /// created. An element's `Timeout` means that issue may or may not exist.
    ///
    /// # Errors
    ///
    /// The outer `Err` is a failure of the first call as a whole (a rate
    /// limit, an outage, a lost answer, bad credentials). **The outer error
    /// may mean some issues were created** (a `Timeout` or `Unavailable` on a
    /// call that was applied): settle each element by its marker property,
    /// never by repeating the batch. Once one call has succeeded, a later
    /// call's failure is reported on each of its elements instead, so that an
    /// outer error never hides issues known to be created.
    async fn create_issues(&self, issues: &[NewIssue]) -> Result<Vec<Result<CreatedIssue>>> {
        let mut results = Vec::with_capacity(issues.len());
        for issue in issues {
            results.push(self.create_issue(issue).await);
        }
        Ok(results)
    }

    /// Changes the fields given in `update`.
    ///
    /// # Errors
    ///
    /// `NotFound` for a missing issue, `InvalidInput` for a bad value.
    async fn update_issue(&self, id: &IssueId, update: &IssueUpdate) -> Result<()>;

    /// Adds a comment, storing `comment.properties` in the same request.
    ///
    /// # Errors
    ///
    /// `NotFound` for a missing issue. A `Timeout` means the comment may or may
    /// not exist.
    async fn add_comment(&self, issue: &IssueId, comment: &NewComment) -> Result<Comment>;

    /// Replaces a comment's body.
    ///
    /// # Errors
    ///
    /// `NotFound` for a missing issue or comment.
    async fn update_comment(
        &self,
        issue: &IssueId,
        comment: &CommentId,
        body: &RichText,
    ) -> Result<Comment>;

    /// Deletes a comment.
    ///
    /// # Errors
    ///
    /// `NotFound` for a missing issue or comment.
    async fn delete_comment(&self, issue: &IssueId, comment: &CommentId) -> Result<()>;

    /// Deletes an issue, with its comments and attachments.
    ///
    /// The default body answers `Unsupported`: an adapter that implements it
    /// sets the `delete_issues` capability.
    ///
    /// # Errors
    ///
    /// `NotFound` for a missing issue; `Unsupported` without the
    /// `delete_issues` capability.
    async fn delete_issue(&self, id: &IssueId) -> Result<()> {
        Err(crate::Error::new(
            crate::ErrorKind::Unsupported,
            "this tracker cannot delete issues",
        )
        .with_issue(id))
    }

    /// The kinds of links between issues the tracker has.
    ///
    /// The default body answers `Unsupported`: an adapter that implements
    /// the link methods sets the `issue_links` capability.
    ///
    /// # Errors
    ///
    /// `Unsupported` without the `issue_links` capability.
    async fn issue_link_types(&self) -> Result<Vec<crate::model::IssueLinkType>> {
        Err(crate::Error::new(
            crate::ErrorKind::Unsupported,
            "this tracker cannot link issues",
        ))
    }

    /// Links two issues. Adding a link both issues already have (same type,
    /// same ends) changes nothing.
    ///
    /// # Errors
    ///
    /// `NotFound` for a missing issue; `InvalidInput` for an unknown link
    /// type or an issue linked to itself; `Unsupported` without the
    /// `issue_links` capability.
    async fn add_issue_link(&self, link: &NewIssueLink) -> Result<()> {
        Err(crate::Error::new(
            crate::ErrorKind::Unsupported,
            "this tracker cannot link issues",
        )
        .with_issue(&link.outward))
    }

    /// Deletes a link between issues by its id ([`IssueLink::id`](crate::model::IssueLink::id)).
    ///
    /// # Errors
    ///
    /// `NotFound` for a missing link; `Unsupported` without the
    /// `issue_links` capability.
    async fn delete_issue_link(&self, id: &str) -> Result<()> {
        Err(crate::Error::new(
            crate::ErrorKind::Unsupported,
            format!("this tracker cannot delete issue link {id}"),
        ))
    }

    /// The workflow that issues of `issue_type` in `project` follow; `None`
    /// when the tracker does not tell it (then a status is set through
    /// [`IssueUpdate::status`], by one transition).
    ///
    /// The default body answers `None`.
    ///
    /// # Errors
    ///
    /// `NotFound` for a missing project or issue type.
    async fn workflow(
        &self,
        project: &ProjectKey,
        issue_type: &str,
    ) -> Result<Option<crate::model::Workflow>> {
        let _ = (project, issue_type);
        Ok(None)
    }

    /// The transitions `issue` can take now, from its current status, each
    /// with the fields its screen shows.
    ///
    /// # Errors
    ///
    /// `NotFound` for a missing issue; `Unsupported` without the `workflows`
    /// capability.
    async fn transitions(&self, issue: &IssueId) -> Result<Vec<crate::model::Transition>> {
        Err(crate::Error::new(
            crate::ErrorKind::Unsupported,
            "this tracker does not tell its transitions",
        )
        .with_issue(issue))
    }

    /// Takes the transition with id `transition` on `issue`, giving `fields`
    /// (field id → value) to its screen.
    ///
    /// # Errors
    ///
    /// `NotFound` for a missing issue; `Refused` when the transition is not
    /// available from the issue's status or a condition or validator refuses
    /// it, with the tracker's message; `InvalidInput` for a required field
    /// not given or a value the field cannot hold; `Unsupported` without the
    /// `workflows` capability.
    async fn transition_issue(
        &self,
        issue: &IssueId,
        transition: &str,
        fields: &BTreeMap<String, crate::model::CustomValue>,
    ) -> Result<()> {
        let _ = fields;
        Err(crate::Error::new(
            crate::ErrorKind::Unsupported,
            format!("this tracker cannot take transition {transition}"),
        )
        .with_issue(issue))
    }

    /// An attachment's content.
    ///
    /// # Errors
    ///
    /// `NotFound` for a missing attachment.
    async fn download_attachment(&self, id: &AttachmentId) -> Result<Vec<u8>>;

    /// Attaches a file to an issue.
    ///
    /// # Errors
    ///
    /// `NotFound` for a missing issue. A `Timeout` means the file may or may
    /// not be attached.
    async fn upload_attachment(
        &self,
        issue: &IssueId,
        file: &NewAttachment,
    ) -> Result<AttachmentMeta>;

    /// Deletes an attachment.
    ///
    /// # Errors
    ///
    /// `NotFound` for a missing attachment.
    async fn delete_attachment(&self, id: &AttachmentId) -> Result<()>;

    /// Sets an issue's entity property (the engine clears a marker by setting
    /// it to `null` when it unexalates an issue).
    ///
    /// # Errors
    ///
    /// `NotFound` for a missing issue; `InvalidInput` for a value the tracker
    /// refuses; `Unsupported` without the `issue_properties` capability.
    async fn set_issue_property(&self, issue: &IssueId, key: &str, value: &Value) -> Result<()>;

    /// Whether `user` administers the whole instance.
    ///
    /// # Errors
    ///
    /// `Unsupported` when the adapter cannot tell.
    async fn is_global_admin(&self, user: &UserId) -> Result<bool>;

    /// Whether `user` administers `project`.
    ///
    /// # Errors
    ///
    /// `NotFound` for a missing project.
    async fn is_project_admin(&self, user: &UserId, project: &ProjectKey) -> Result<bool>;

    /// The members of the group named `group`, or `None` when no such group exists.
    ///
    /// # Errors
    ///
    /// `Unsupported` when the adapter cannot tell.
    async fn group_members(&self, group: &str) -> Result<Option<Vec<UserId>>>;

    /// A user by account id: display name and, when the tracker shows it,
    /// email address. Remote connections look up the users a replica's text
    /// mentions (see [`UserMapping`](crate::model::UserMapping)).
    ///
    /// The default body answers `Unsupported`: an adapter that implements it
    /// sets the `users` capability.
    ///
    /// # Errors
    ///
    /// `NotFound` for an unknown account; `Unsupported` without the `users`
    /// capability.
    async fn user_profile(&self, id: &UserId) -> Result<UserProfile> {
        Err(crate::Error::new(
            crate::ErrorKind::Unsupported,
            "this tracker cannot look up users",
        )
        .with_context("user", id))
    }

    /// The users whose email address is exactly `email` (compared
    /// case-insensitively; never a partial match), as far as the tracker
    /// shows emails: an empty list when nobody has it or emails are hidden.
    ///
    /// The default body answers `Unsupported`: an adapter that implements it
    /// sets the `users` capability.
    ///
    /// # Errors
    ///
    /// `Unsupported` without the `users` capability.
    async fn users_by_email(&self, email: &str) -> Result<Vec<UserProfile>> {
        let _ = email;
        Err(crate::Error::new(
            crate::ErrorKind::Unsupported,
            "this tracker cannot find users by email",
        ))
    }

    /// Puts a remote link on an issue: the issue's link with the same
    /// [`global_id`](RemoteLink::global_id) is replaced, otherwise the link is
    /// added. Repeating the call (after a lost answer) leaves one link.
    ///
    /// The default body answers `Unsupported`: an adapter that implements it
    /// sets the `remote_links` capability.
    ///
    /// # Errors
    ///
    /// `NotFound` for a missing issue; `Unsupported` without the
    /// `remote_links` capability.
    async fn put_remote_link(&self, issue: &IssueId, link: &RemoteLink) -> Result<()> {
        let _ = link;
        Err(crate::Error::new(
            crate::ErrorKind::Unsupported,
            "this tracker cannot hold remote links",
        )
        .with_context("issue", issue))
    }

    /// The remote links of an issue, in the order they were added.
    ///
    /// The default body answers `Unsupported`: an adapter that implements it
    /// sets the `remote_links` capability.
    ///
    /// # Errors
    ///
    /// `NotFound` for a missing issue; `Unsupported` without the
    /// `remote_links` capability.
    async fn remote_links(&self, issue: &IssueId) -> Result<Vec<RemoteLink>> {
        Err(crate::Error::new(
            crate::ErrorKind::Unsupported,
            "this tracker cannot hold remote links",
        )
        .with_context("issue", issue))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn _object_safe(_: &dyn Tracker) {}
}
