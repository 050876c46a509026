//! [`forward_tracker!`](crate::forward_tracker): the one list of the
//! [`Tracker`](super::Tracker) trait's methods that wrappers forward.

/// Implements [`Tracker`](crate::tracker::Tracker) for a wrapper by
/// forwarding every method to the tracker in one of its fields, each call
/// optionally passed through an `around` macro of the wrapper's own.
///
/// The trait's methods are listed in this macro and nowhere else, so a method
/// added to the trait reaches every wrapper, and a wrapper states only what it
/// changes.
///
/// ```text
/// forward_tracker!([generics] Wrapper, field);
/// forward_tracker!([generics] Wrapper, field, around);
/// ```
///
/// `around!(self, method, kind, (arguments), call)` becomes the body of each
/// method, where:
///
/// - `method` is the method's name, to match on (`capabilities`, `instance`, …);
/// - `kind` is `local` (answered without calling the tracker, not async:
///   `capabilities`), `read`, `write` (safe to repeat), or `create`
///   (repeating it after a lost answer may make a duplicate);
/// - `(arguments)` are the method's argument names, for an arm that inspects them;
/// - `call` is the forwarded call, already awaited
///   (`self.field.method(arguments).await`), which `around` may evaluate once,
///   several times or not at all.
///
/// Without `around`, every method returns `call`.
///
/// ```
/// use std::sync::Arc;
/// use twinsync::tracker::Tracker;
///
/// /// A tracker that claims it cannot delete comments (and refuses to).
/// #[derive(Debug)]
/// struct NoDeletes(Arc<dyn Tracker>);
///
/// macro_rules! no_deletes {
///     ($self:ident, capabilities, $kind:ident, $args:tt, $call:expr) => {{
///         let mut capabilities = $call;
///         capabilities.delete_comments = false;
///         capabilities
///     }};
///     ($self:ident, delete_comment, $kind:ident, $args:tt, $call:expr) => {
///         Err(twinsync::Error::new(
///             twinsync::ErrorKind::Unsupported,
///             "comments cannot be deleted",
///         ))
///     };
///     ($self:ident, $method:ident, $kind:ident, $args:tt, $call:expr) => {
///         $call
///     };
/// }
///
/// twinsync::forward_tracker!([] NoDeletes, 0, no_deletes);
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! forward_tracker {
    ([$($generics:tt)*] $wrapper:ty, $field:tt) => {
        $crate::forward_tracker!(
            @impl [$($generics)*] $wrapper, $field, $crate::__forward_tracker_plain
        );
    };
    ([$($generics:tt)*] $wrapper:ty, $field:tt, $around:ident) => {
        $crate::forward_tracker!(@impl [$($generics)*] $wrapper, $field, $around);
    };
    (@impl [$($generics:tt)*] $wrapper:ty, $field:tt, $($around:tt)+) => {
        #[$crate::tracker::__async_trait]
        impl<$($generics)*> $crate::tracker::Tracker for $wrapper {
            fn capabilities(&self) -> $crate::tracker::Capabilities {
                $($around)+!(self, capabilities, local, (), self.$field.capabilities())
            }

            async fn instance(&self) -> $crate::Result<$crate::tracker::InstanceInfo> {
                $($around)+!(self, instance, read, (), self.$field.instance().await)
            }

            async fn project(
                &self,
                key: &$crate::model::ProjectKey,
            ) -> $crate::Result<$crate::model::ProjectInfo> {
                $($around)+!(self, project, read, (key), self.$field.project(key).await)
            }

            async fn issue(
                &self,
                id: &$crate::model::IssueId,
            ) -> $crate::Result<$crate::model::Issue> {
                $($around)+!(self, issue, read, (id), self.$field.issue(id).await)
            }

            async fn issue_by_key(
                &self,
                key: &$crate::model::IssueKey,
            ) -> $crate::Result<$crate::model::Issue> {
                $($around)+!(self, issue_by_key, read, (key), self.$field.issue_by_key(key).await)
            }

            async fn search(
                &self,
                jql: &str,
                page: &$crate::tracker::Page,
            ) -> $crate::Result<$crate::tracker::SearchPage> {
                $($around)+!(self, search, read, (jql, page), self.$field.search(jql, page).await)
            }

            async fn updated_since(
                &self,
                project: &$crate::model::ProjectKey,
                since: $crate::tracker::__OffsetDateTime,
                page: &$crate::tracker::Page,
            ) -> $crate::Result<$crate::tracker::SearchPage> {
                $($around)+!(
                    self,
                    updated_since,
                    read,
                    (project, since, page),
                    self.$field.updated_since(project, since, page).await
                )
            }

            async fn create_issue(
                &self,
                issue: &$crate::tracker::NewIssue,
            ) -> $crate::Result<$crate::tracker::CreatedIssue> {
                $($around)+!(
                    self,
                    create_issue,
                    create,
                    (issue),
                    self.$field.create_issue(issue).await
                )
            }

            async fn create_issues(
                &self,
                issues: &[$crate::tracker::NewIssue],
            ) -> $crate::Result<
                ::std::vec::Vec<$crate::Result<$crate::tracker::CreatedIssue>>,
            > {
                $($around)+!(
                    self,
                    create_issues,
                    create,
                    (issues),
                    self.$field.create_issues(issues).await
                )
            }

            async fn update_issue(
                &self,
                id: &$crate::model::IssueId,
                update: &$crate::tracker::IssueUpdate,
            ) -> $crate::Result<()> {
                $($around)+!(
                    self,
                    update_issue,
                    write,
                    (id, update),
                    self.$field.update_issue(id, update).await
                )
            }

            async fn add_comment(
                &self,
                issue: &$crate::model::IssueId,
                comment: &$crate::tracker::NewComment,
            ) -> $crate::Result<$crate::model::Comment> {
                $($around)+!(
                    self,
                    add_comment,
                    create,
                    (issue, comment),
                    self.$field.add_comment(issue, comment).await
                )
            }

            async fn update_comment(
                &self,
                issue: &$crate::model::IssueId,
                comment: &$crate::model::CommentId,
                body: &$crate::model::RichText,
            ) -> $crate::Result<$crate::model::Comment> {
                $($around)+!(
                    self,
                    update_comment,
                    write,
                    (issue, comment, body),
                    self.$field.update_comment(issue, comment, body).await
                )
            }

            async fn delete_comment(
                &self,
                issue: &$crate::model::IssueId,
                comment: &$crate::model::CommentId,
            ) -> $crate::Result<()> {
                $($around)+!(
                    self,
                    delete_comment,
                    write,
                    (issue, comment),
                    self.$field.delete_comment(issue, comment).await
                )
            }

            async fn download_attachment(
                &self,
                id: &$crate::model::AttachmentId,
            ) -> $crate::Result<Vec<u8>> {
                $($around)+!(
                    self,
                    download_attachment,
                    read,
                    (id),
                    self.$field.download_attachment(id).await
                )
            }

            async fn upload_attachment(
                &self,
                issue: &$crate::model::IssueId,
                file: &$crate::tracker::NewAttachment,
            ) -> $crate::Result<$crate::model::AttachmentMeta> {
                $($around)+!(
                    self,
                    upload_attachment,
                    create,
                    (issue, file),
                    self.$field.upload_attachment(issue, file).await
                )
            }

            async fn delete_attachment(
                &self,
                id: &$crate::model::AttachmentId,
            ) -> $crate::Result<()> {
                $($around)+!(
                    self,
                    delete_attachment,
                    write,
                    (id),
                    self.$field.delete_attachment(id).await
                )
            }

            async fn set_issue_property(
                &self,
                issue: &$crate::model::IssueId,
                key: &str,
                value: &$crate::tracker::__Value,
            ) -> $crate::Result<()> {
                $($around)+!(
                    self,
                    set_issue_property,
                    write,
                    (issue, key, value),
                    self.$field.set_issue_property(issue, key, value).await
                )
            }

            async fn is_global_admin(
                &self,
                user: &$crate::model::UserId,
            ) -> $crate::Result<bool> {
                $($around)+!(
                    self,
                    is_global_admin,
                    read,
                    (user),
                    self.$field.is_global_admin(user).await
                )
            }

            async fn is_project_admin(
                &self,
                user: &$crate::model::UserId,
                project: &$crate::model::ProjectKey,
            ) -> $crate::Result<bool> {
                $($around)+!(
                    self,
                    is_project_admin,
                    read,
                    (user, project),
                    self.$field.is_project_admin(user, project).await
                )
            }

            async fn group_members(
                &self,
                group: &str,
            ) -> $crate::Result<Option<Vec<$crate::model::UserId>>> {
                $($around)+!(
                    self,
                    group_members,
                    read,
                    (group),
                    self.$field.group_members(group).await
                )
            }

            async fn delete_issue(&self, id: &$crate::model::IssueId) -> $crate::Result<()> {
                $($around)+!(
                    self,
                    delete_issue,
                    write,
                    (id),
                    self.$field.delete_issue(id).await
                )
            }

            async fn issue_link_types(
                &self,
            ) -> $crate::Result<::std::vec::Vec<$crate::model::IssueLinkType>> {
                $($around)+!(
                    self,
                    issue_link_types,
                    read,
                    (),
                    self.$field.issue_link_types().await
                )
            }

            async fn add_issue_link(
                &self,
                link: &$crate::tracker::NewIssueLink,
            ) -> $crate::Result<()> {
                $($around)+!(
                    self,
                    add_issue_link,
                    write,
                    (link),
                    self.$field.add_issue_link(link).await
                )
            }

            async fn delete_issue_link(&self, id: &str) -> $crate::Result<()> {
                $($around)+!(
                    self,
                    delete_issue_link,
                    write,
                    (id),
                    self.$field.delete_issue_link(id).await
                )
            }

            async fn workflow(
                &self,
                project: &$crate::model::ProjectKey,
                issue_type: &str,
            ) -> $crate::Result<::std::option::Option<$crate::model::Workflow>> {
                $($around)+!(
                    self,
                    workflow,
                    read,
                    (project, issue_type),
                    self.$field.workflow(project, issue_type).await
                )
            }

            async fn transitions(
                &self,
                issue: &$crate::model::IssueId,
            ) -> $crate::Result<::std::vec::Vec<$crate::model::Transition>> {
                $($around)+!(
                    self,
                    transitions,
                    read,
                    (issue),
                    self.$field.transitions(issue).await
                )
            }

            async fn transition_issue(
                &self,
                issue: &$crate::model::IssueId,
                transition: &str,
                fields: &::std::collections::BTreeMap<
                    ::std::string::String,
                    $crate::model::CustomValue,
                >,
            ) -> $crate::Result<()> {
                $($around)+!(
                    self,
                    transition_issue,
                    write,
                    (issue, transition, fields),
                    self.$field.transition_issue(issue, transition, fields).await
                )
            }

            async fn user_profile(
                &self,
                id: &$crate::model::UserId,
            ) -> $crate::Result<$crate::model::UserProfile> {
                $($around)+!(
                    self,
                    user_profile,
                    read,
                    (id),
                    self.$field.user_profile(id).await
                )
            }

            async fn users_by_email(
                &self,
                email: &str,
            ) -> $crate::Result<::std::vec::Vec<$crate::model::UserProfile>> {
                $($around)+!(
                    self,
                    users_by_email,
                    read,
                    (email),
                    self.$field.users_by_email(email).await
                )
            }

            async fn put_remote_link(
                &self,
                issue: &$crate::model::IssueId,
                link: &$crate::model::RemoteLink,
            ) -> $crate::Result<()> {
                $($around)+!(
                    self,
                    put_remote_link,
                    write,
                    (issue, link),
                    self.$field.put_remote_link(issue, link).await
                )
            }

            async fn remote_links(
                &self,
                issue: &$crate::model::IssueId,
            ) -> $crate::Result<::std::vec::Vec<$crate::model::RemoteLink>> {
                $($around)+!(
                    self,
                    remote_links,
                    read,
                    (issue),
                    self.$field.remote_links(issue).await
                )
            }
        }
    };
}

/// The `around` of [`forward_tracker!`](crate::forward_tracker) that changes nothing.
#[doc(hidden)]
#[macro_export]
macro_rules! __forward_tracker_plain {
    ($self:ident, $method:ident, $kind:ident, $args:tt, $call:expr) => {
        $call
    };
}
