//! [`LimitedTracker`]: a tracker that supports less than the one it wraps,
//! to see how the conformance suite and the engine treat a smaller adapter.

use std::fmt;
use std::sync::Arc;

use crate::error::{Error, ErrorKind, Result};
use crate::tracker::{Capabilities, Tracker};

/// Wraps a tracker and turns capabilities off: it reports the inner tracker's
/// capabilities without those turned off here, and refuses with
/// [`Unsupported`](ErrorKind::Unsupported) each operation they cover, before
/// it reaches the inner tracker, as the [`Tracker`] contract asks of an
/// adapter that lacks them.
///
/// ```
/// use std::sync::Arc;
/// use twinsync::testkit::{self, LimitedTracker};
///
/// let mut without = twinsync::tracker::Capabilities::all(100);
/// without.attachments = false;
/// let tracker = LimitedTracker::new(Arc::new(testkit::memory_tracker()), without);
/// # use twinsync::Tracker;
/// assert!(!tracker.capabilities().attachments);
/// ```
pub struct LimitedTracker {
    inner: Arc<dyn Tracker>,
    capabilities: Capabilities,
}

impl fmt::Debug for LimitedTracker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LimitedTracker")
            .field("inner", &self.inner)
            .field("capabilities", &self.capabilities)
            .finish()
    }
}

impl LimitedTracker {
    /// Wraps `inner`, keeping only what both `capabilities` and the inner
    /// tracker support (and the smaller page size).
    pub fn new(inner: Arc<dyn Tracker>, capabilities: Capabilities) -> Self {
        let own = inner.capabilities();
        let capabilities = Capabilities {
            issue_properties: own.issue_properties && capabilities.issue_properties,
            comment_properties: own.comment_properties && capabilities.comment_properties,
            attachments: own.attachments && capabilities.attachments,
            delete_comments: own.delete_comments && capabilities.delete_comments,
            delete_issues: own.delete_issues && capabilities.delete_issues,
            permissions: own.permissions && capabilities.permissions,
            users: own.users && capabilities.users,
            remote_links: own.remote_links && capabilities.remote_links,
            issue_links: own.issue_links && capabilities.issue_links,
            workflows: own.workflows && capabilities.workflows,
            max_page_size: own.max_page_size.min(capabilities.max_page_size),
            // The inner tracker batches as it does: not a capability to turn off.
            batch_create: own.batch_create,
            // Its limits are the inner tracker's.
            rate_limits: own.rate_limits,
        };
        LimitedTracker {
            inner,
            capabilities,
        }
    }

    /// `Ok` when `needed` is false or the capability is on.
    fn allow(&self, needed: bool, on: fn(&Capabilities) -> bool, name: &str) -> Result<()> {
        if !needed || on(&self.capabilities) {
            return Ok(());
        }
        Err(Error::new(
            ErrorKind::Unsupported,
            format!("the tracker does not support {name} (limited by the test kit)"),
        )
        .with_context("capability", name))
    }
}

/// The calls of [`LimitedTracker`]: each checks its capability first.
macro_rules! limit {
    ($self:ident, capabilities, $kind:ident, $args:tt, $call:expr) => {
        $self.capabilities
    };
    ($self:ident, create_issue, $kind:ident, ($issue:ident), $call:expr) => {{
        let with_marker = !$issue.properties.is_empty();
        $self.allow(with_marker, |c| c.issue_properties, "issue_properties")?;
        $call
    }};
    ($self:ident, create_issues, $kind:ident, ($issues:ident), $call:expr) => {{
        let with_marker = $issues.iter().any(|i| !i.properties.is_empty());
        $self.allow(with_marker, |c| c.issue_properties, "issue_properties")?;
        $call
    }};
    ($self:ident, add_comment, $kind:ident, ($issue:ident, $comment:ident), $call:expr) => {{
        let with_marker = !$comment.properties.is_empty();
        $self.allow(with_marker, |c| c.comment_properties, "comment_properties")?;
        $call
    }};
    ($self:ident, set_issue_property, $kind:ident, $args:tt, $call:expr) => {{
        $self.allow(true, |c| c.issue_properties, "issue_properties")?;
        $call
    }};
    ($self:ident, delete_comment, $kind:ident, $args:tt, $call:expr) => {{
        $self.allow(true, |c| c.delete_comments, "delete_comments")?;
        $call
    }};
    ($self:ident, delete_issue, $kind:ident, $args:tt, $call:expr) => {{
        $self.allow(true, |c| c.delete_issues, "delete_issues")?;
        $call
    }};
    ($self:ident, download_attachment, $kind:ident, $args:tt, $call:expr) => {{
        $self.allow(true, |c| c.attachments, "attachments")?;
        $call
    }};
    ($self:ident, upload_attachment, $kind:ident, $args:tt, $call:expr) => {{
        $self.allow(true, |c| c.attachments, "attachments")?;
        $call
    }};
    ($self:ident, delete_attachment, $kind:ident, $args:tt, $call:expr) => {{
        $self.allow(true, |c| c.attachments, "attachments")?;
        $call
    }};
    ($self:ident, is_global_admin, $kind:ident, $args:tt, $call:expr) => {{
        $self.allow(true, |c| c.permissions, "permissions")?;
        $call
    }};
    ($self:ident, is_project_admin, $kind:ident, $args:tt, $call:expr) => {{
        $self.allow(true, |c| c.permissions, "permissions")?;
        $call
    }};
    ($self:ident, group_members, $kind:ident, $args:tt, $call:expr) => {{
        $self.allow(true, |c| c.permissions, "permissions")?;
        $call
    }};
    ($self:ident, user_profile, $kind:ident, $args:tt, $call:expr) => {{
        $self.allow(true, |c| c.users, "users")?;
        $call
    }};
    ($self:ident, users_by_email, $kind:ident, $args:tt, $call:expr) => {{
        $self.allow(true, |c| c.users, "users")?;
        $call
    }};
    ($self:ident, put_remote_link, $kind:ident, $args:tt, $call:expr) => {{
        $self.allow(true, |c| c.remote_links, "remote_links")?;
        $call
    }};
    ($self:ident, issue_link_types, $kind:ident, $args:tt, $call:expr) => {{
        $self.allow(true, |c| c.issue_links, "issue_links")?;
        $call
    }};
    ($self:ident, add_issue_link, $kind:ident, $args:tt, $call:expr) => {{
        $self.allow(true, |c| c.issue_links, "issue_links")?;
        $call
    }};
    ($self:ident, delete_issue_link, $kind:ident, $args:tt, $call:expr) => {{
        $self.allow(true, |c| c.issue_links, "issue_links")?;
        $call
    }};
    ($self:ident, workflow, $kind:ident, $args:tt, $call:expr) => {{
        if $self.capabilities.workflows {
            $call
        } else {
            Ok(None)
        }
    }};
    ($self:ident, transitions, $kind:ident, $args:tt, $call:expr) => {{
        $self.allow(true, |c| c.workflows, "workflows")?;
        $call
    }};
    ($self:ident, transition_issue, $kind:ident, $args:tt, $call:expr) => {{
        $self.allow(true, |c| c.workflows, "workflows")?;
        $call
    }};
    ($self:ident, remote_links, $kind:ident, $args:tt, $call:expr) => {{
        $self.allow(true, |c| c.remote_links, "remote_links")?;
        $call
    }};
    ($self:ident, $method:ident, $kind:ident, $args:tt, $call:expr) => {
        $call
    };
}

crate::forward_tracker!([] LimitedTracker, inner, limit);
