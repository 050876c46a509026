//! Jira adapters (feature `jira`): [`JiraCloud`] over REST v3 with ADF bodies,
//! and [`JiraDataCenter`] over REST v2 with wiki-markup bodies.
//!
//! Both run on tokio (the HTTP client needs a tokio runtime) and speak rustls
//! TLS. With feature `jira-emulator`, [`emulator::JiraEmulator`] is a stateful
//! fake Jira on loopback for tests and manual use.
//!
//! # Errors
//!
//! Jira's answers become [`Error`](crate::Error)s in one place, from the status
//! and Jira's `{errorMessages, errors}` body:
//!
//! | status | kind | temporary |
//! |---|---|---|
//! | 400 | `InvalidInput` (`NotFound` when a create names a missing project; `Refused` when a transition is refused without naming a field) | no |
//! | 401 | `Unauthenticated` | no |
//! | 403 | `PermissionDenied` | no |
//! | 404 | `NotFound` | no |
//! | 409 | `Conflict` | no |
//! | 429 | `RateLimited`, with `Retry-After` | yes |
//! | 5xx | `Unavailable`, with `Retry-After` when sent | yes |
//! | no answer in time, connection lost | `Timeout` (the write may have happened) | yes |
//!
//! # Rate limits
//!
//! The adapters never repeat a request by themselves: a create repeated after
//! a lost answer would make a duplicate, so the engine decides, using markers.
//! What they do is hold back the calls Jira has said it would refuse:
//!
//! | Jira answers | held back until `Retry-After` has passed |
//! |---|---|
//! | 429, `RateLimit-Reason: jira-per-issue-on-write` | writes to that issue only |
//! | 429, `RateLimit-Reason: jira-burst-based` (or no reason) | calls to that endpoint |
//! | 429, `jira-quota-global-based` or `jira-quota-tenant-based` | every call |
//! | 503 with `Retry-After` | calls to that endpoint |
//!
//! `X-RateLimit-NearLimit: true` makes the adapter run one call at a time for
//! ten seconds.

mod api;
mod client;
mod cloud;
mod datacenter;
#[cfg(feature = "jira-emulator")]
pub mod emulator;
mod error;
mod field_values;
mod mapping;
pub mod markup;
mod ratelimit;
mod webhooks;

pub use cloud::{JiraCloud, JiraCloudBuilder};
pub use datacenter::{JiraDataCenter, JiraDataCenterBuilder};
pub use webhooks::{DynamicWebhook, NewDynamicWebhook, Registered};

/// The issue property searches return by default: the sync marker.
pub const MARKER_PROPERTY: &str = "twinsync.marker";

/// Implements [`Tracker`](crate::Tracker) for an adapter holding a `jira: Jira`;
/// a trailing `create_issues` overrides the one-by-one default of
/// [`Tracker::create_issues`](crate::Tracker::create_issues) with the batch call.
macro_rules! delegate_tracker {
    ($ty:ty, $product:expr, $capabilities:expr $(, $create_issues:ident)?) => {
        // `async_trait` because the engine holds trackers as `dyn Tracker`.
        #[async_trait::async_trait]
        impl $crate::tracker::Tracker for $ty {
            fn capabilities(&self) -> $crate::tracker::Capabilities {
                $capabilities
            }

            async fn instance(&self) -> $crate::Result<$crate::tracker::InstanceInfo> {
                self.jira.instance($product).await
            }

            async fn project(
                &self,
                key: &$crate::model::ProjectKey,
            ) -> $crate::Result<$crate::model::ProjectInfo> {
                self.jira.project(key).await
            }

            async fn issue(
                &self,
                id: &$crate::model::IssueId,
            ) -> $crate::Result<$crate::model::Issue> {
                self.jira.issue(id.as_str()).await
            }

            async fn issue_by_key(
                &self,
                key: &$crate::model::IssueKey,
            ) -> $crate::Result<$crate::model::Issue> {
                self.jira.issue(key.as_str()).await
            }

            async fn search(
                &self,
                jql: &str,
                page: &$crate::tracker::Page,
            ) -> $crate::Result<$crate::tracker::SearchPage> {
                self.jira.search(jql, page).await
            }

            async fn updated_since(
                &self,
                project: &$crate::model::ProjectKey,
                since: time::OffsetDateTime,
                page: &$crate::tracker::Page,
            ) -> $crate::Result<$crate::tracker::SearchPage> {
                self.jira.updated_since(project, since, page).await
            }

            async fn create_issue(
                &self,
                issue: &$crate::tracker::NewIssue,
            ) -> $crate::Result<$crate::tracker::CreatedIssue> {
                self.jira.create_issue(issue).await
            }

            $(
                async fn create_issues(
                    &self,
                    issues: &[$crate::tracker::NewIssue],
                ) -> $crate::Result<Vec<$crate::Result<$crate::tracker::CreatedIssue>>> {
                    self.jira.$create_issues(issues).await
                }
            )?

            async fn update_issue(
                &self,
                id: &$crate::model::IssueId,
                update: &$crate::tracker::IssueUpdate,
            ) -> $crate::Result<()> {
                self.jira.update_issue(id, update).await
            }

            async fn add_comment(
                &self,
                issue: &$crate::model::IssueId,
                comment: &$crate::tracker::NewComment,
            ) -> $crate::Result<$crate::model::Comment> {
                self.jira.add_comment(issue, comment).await
            }

            async fn update_comment(
                &self,
                issue: &$crate::model::IssueId,
                comment: &$crate::model::CommentId,
                body: &$crate::model::RichText,
            ) -> $crate::Result<$crate::model::Comment> {
                self.jira.update_comment(issue, comment, body).await
            }

            async fn delete_comment(
                &self,
                issue: &$crate::model::IssueId,
                comment: &$crate::model::CommentId,
            ) -> $crate::Result<()> {
                self.jira.delete_comment(issue, comment).await
            }

            async fn delete_issue(&self, id: &$crate::model::IssueId) -> $crate::Result<()> {
                self.jira.delete_issue(id).await
            }

            async fn workflow(
                &self,
                project: &$crate::model::ProjectKey,
                issue_type: &str,
            ) -> $crate::Result<Option<$crate::model::Workflow>> {
                self.jira.workflow(project, issue_type).await
            }

            async fn transitions(
                &self,
                issue: &$crate::model::IssueId,
            ) -> $crate::Result<Vec<$crate::model::Transition>> {
                self.jira.transitions(issue).await
            }

            async fn transition_issue(
                &self,
                issue: &$crate::model::IssueId,
                transition: &str,
                fields: &std::collections::BTreeMap<String, $crate::model::CustomValue>,
            ) -> $crate::Result<()> {
                self.jira.transition_issue(issue, transition, fields).await
            }

            async fn download_attachment(
                &self,
                id: &$crate::model::AttachmentId,
            ) -> $crate::Result<Vec<u8>> {
                self.jira.download_attachment(id).await
            }

            async fn upload_attachment(
                &self,
                issue: &$crate::model::IssueId,
                file: &$crate::tracker::NewAttachment,
            ) -> $crate::Result<$crate::model::AttachmentMeta> {
                self.jira.upload_attachment(issue, file).await
            }

            async fn delete_attachment(
                &self,
                id: &$crate::model::AttachmentId,
            ) -> $crate::Result<()> {
                self.jira.delete_attachment(id).await
            }

            async fn set_issue_property(
                &self,
                issue: &$crate::model::IssueId,
                key: &str,
                value: &serde_json::Value,
            ) -> $crate::Result<()> {
                self.jira.set_issue_property(issue, key, value).await
            }

            async fn is_global_admin(&self, user: &$crate::model::UserId) -> $crate::Result<bool> {
                self.jira.is_global_admin(user).await
            }

            async fn is_project_admin(
                &self,
                user: &$crate::model::UserId,
                project: &$crate::model::ProjectKey,
            ) -> $crate::Result<bool> {
                self.jira.is_project_admin(user, project).await
            }

            async fn group_members(
                &self,
                group: &str,
            ) -> $crate::Result<Option<Vec<$crate::model::UserId>>> {
                self.jira.group_members(group).await
            }

            async fn user_profile(
                &self,
                id: &$crate::model::UserId,
            ) -> $crate::Result<$crate::model::UserProfile> {
                self.jira.user_profile(id).await
            }

            async fn users_by_email(
                &self,
                email: &str,
            ) -> $crate::Result<Vec<$crate::model::UserProfile>> {
                self.jira.users_by_email(email).await
            }

            async fn put_remote_link(
                &self,
                issue: &$crate::model::IssueId,
                link: &$crate::model::RemoteLink,
            ) -> $crate::Result<()> {
                self.jira.put_remote_link(issue, link).await
            }

            async fn remote_links(
                &self,
                issue: &$crate::model::IssueId,
            ) -> $crate::Result<Vec<$crate::model::RemoteLink>> {
                self.jira.remote_links(issue).await
            }

            async fn issue_link_types(
                &self,
            ) -> $crate::Result<Vec<$crate::model::IssueLinkType>> {
                self.jira.issue_link_types().await
            }

            async fn add_issue_link(
                &self,
                link: &$crate::tracker::NewIssueLink,
            ) -> $crate::Result<()> {
                self.jira.add_issue_link(link).await
            }

            async fn delete_issue_link(&self, id: &str) -> $crate::Result<()> {
                self.jira.delete_issue_link(id).await
            }
        }

        /// Reads and writes the engine does not need (so
        /// [`Tracker`](crate::Tracker) does not ask for them).
        impl $ty {
            /// The attachments' metadata of an issue, oldest first.
            ///
            /// # Errors
            ///
            /// `NotFound` for a missing issue.
            pub async fn attachments(
                &self,
                issue: &$crate::model::IssueId,
            ) -> $crate::Result<Vec<$crate::model::AttachmentMeta>> {
                self.jira.attachments(issue).await
            }

            /// An issue's entity property, `None` when it is not set.
            ///
            /// # Errors
            ///
            /// `NotFound` for a missing issue.
            pub async fn issue_property(
                &self,
                issue: &$crate::model::IssueId,
                key: &str,
            ) -> $crate::Result<Option<serde_json::Value>> {
                self.jira.issue_property(issue, key).await
            }

            /// A comment's entity property, `None` when it is not set.
            ///
            /// # Errors
            ///
            /// `NotFound` for a missing comment.
            pub async fn comment_property(
                &self,
                comment: &$crate::model::CommentId,
                key: &str,
            ) -> $crate::Result<Option<serde_json::Value>> {
                self.jira.comment_property(comment, key).await
            }

            /// Sets a comment's entity property.
            ///
            /// # Errors
            ///
            /// `NotFound` for a missing comment.
            pub async fn set_comment_property(
                &self,
                comment: &$crate::model::CommentId,
                key: &str,
                value: &serde_json::Value,
            ) -> $crate::Result<()> {
                self.jira.set_comment_property(comment, key, value).await
            }

            /// The user the adapter acts as (the integration user).
            ///
            /// # Errors
            ///
            /// `Unauthenticated` for bad credentials.
            pub async fn myself(&self) -> $crate::Result<$crate::model::UserRef> {
                self.jira.myself().await
            }
        }
    };
}
pub(crate) use delegate_tracker;
