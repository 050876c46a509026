//! Inputs and outputs of the [`Tracker`](super::Tracker) trait's methods.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, ErrorKind, Result};
use crate::model::{
    InstanceUrl, Issue, IssueFields, IssueId, IssueKey, ProjectKey, RichText, Visibility,
};

/// What a tracker says about itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceInfo {
    /// The normalized base URL.
    pub url: InstanceUrl,
    /// The product, such as `jira-cloud`, `jira-data-center` or `memory`.
    pub product: String,
    /// The product's version as it reports it.
    pub version: String,
}

/// What a tracker adapter supports. Shared tests and the engine consult it
/// before calling an optional operation; an operation a capability turns off
/// fails with [`Unsupported`](crate::ErrorKind::Unsupported).
///
/// A node needs `issue_properties` and `comment_properties` (the sync
/// markers); the others are optional. More capabilities may come, so build
/// one from [`all`](Capabilities::all) and turn off what you lack:
///
/// ```
/// let mut capabilities = twinsync::tracker::Capabilities::all(50);
/// capabilities.attachments = false;
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Capabilities {
    /// Entity properties on issues, including in the create request (sync markers).
    pub issue_properties: bool,
    /// Entity properties on comments, including in the create request.
    pub comment_properties: bool,
    /// Attachments can be downloaded, uploaded and deleted.
    pub attachments: bool,
    /// Comments can be deleted.
    pub delete_comments: bool,
    /// Issues can be deleted ([`Tracker::delete_issue`](super::Tracker::delete_issue)):
    /// the engine deletes a second copy of a twin's issue that a worker
    /// stalled past its lease created; without it, such a copy is reported
    /// on the twin for a person to delete.
    #[serde(default)]
    pub delete_issues: bool,
    /// Admin and group queries for project-level permissions.
    pub permissions: bool,
    /// Users can be looked up by account id and found by email
    /// ([`Tracker::user_profile`](super::Tracker::user_profile),
    /// [`Tracker::users_by_email`](super::Tracker::users_by_email)); without
    /// it, mentions on remote connections arrive as plain text.
    #[serde(default)]
    pub users: bool,
    /// Remote links can be written and read
    /// ([`Tracker::put_remote_link`](super::Tracker::put_remote_link),
    /// [`Tracker::remote_links`](super::Tracker::remote_links)); without it,
    /// a twin's origin falls back to a line at the top of its description.
    #[serde(default)]
    pub remote_links: bool,
    /// Links between issues can be listed by type, added and deleted
    /// ([`Tracker::add_issue_link`](super::Tracker::add_issue_link),
    /// [`Tracker::delete_issue_link`](super::Tracker::delete_issue_link),
    /// [`Tracker::issue_link_types`](super::Tracker::issue_link_types));
    /// an issue shows its links in [`IssueFields::links`].
    #[serde(default)]
    pub issue_links: bool,
    /// Issues move between statuses along a workflow the tracker tells
    /// ([`Tracker::workflow`](super::Tracker::workflow),
    /// [`Tracker::transitions`](super::Tracker::transitions),
    /// [`Tracker::transition_issue`](super::Tracker::transition_issue)): the
    /// engine takes the shortest path of transitions to a mapped status and
    /// fills their required fields. Without it, a status is set through
    /// [`IssueUpdate::status`](super::IssueUpdate::status).
    #[serde(default)]
    pub workflows: bool,
    /// The largest page a search returns.
    pub max_page_size: u32,
    /// The most issues one call of
    /// [`Tracker::create_issues`](super::Tracker::create_issues) creates: 1
    /// when the tracker has no batch call (issues are created one by one),
    /// 50 for Jira Cloud.
    #[serde(default = "one")]
    pub batch_create: u32,
    /// The rate limits the tracker documents, which a node paces its calls
    /// to (see [`Pacing`](crate::engine::Pacing)); `None` when it documents
    /// none (a 429's `Retry-After` is still honoured).
    #[serde(default)]
    pub rate_limits: Option<super::RateLimits>,
}

fn one() -> u32 {
    1
}

impl Capabilities {
    /// Everything supported, pages of up to `max_page_size` issues; issues
    /// are created one by one (`batch_create` 1).
    pub fn all(max_page_size: u32) -> Self {
        Capabilities {
            issue_properties: true,
            comment_properties: true,
            attachments: true,
            delete_comments: true,
            delete_issues: true,
            permissions: true,
            users: true,
            remote_links: true,
            issue_links: true,
            workflows: true,
            max_page_size,
            batch_create: 1,
            rate_limits: None,
        }
    }

    /// Whether a node can sync with a tracker that has these capabilities:
    /// `Unsupported`, naming the capability, when a marker cannot be written
    /// with a create.
    pub(crate) fn check_markers(&self) -> Result<()> {
        let missing = |capability: &str, what: &str| {
            Error::new(
                ErrorKind::Unsupported,
                format!(
                    "the tracker lacks capability {capability}: it cannot store a sync marker \
                     with a new {what}, and without markers a create whose answer was lost \
                     would be repeated as a duplicate"
                ),
            )
            .with_context("capability", capability)
        };
        if !self.issue_properties {
            return Err(missing("issue_properties", "issue"));
        }
        if !self.comment_properties {
            return Err(missing("comment_properties", "comment"));
        }
        Ok(())
    }
}

/// The error of each element of a later call of a
/// [`create_issues`](super::Tracker::create_issues) batch, when that call
/// failed after an earlier one succeeded: the call's kind, temporary flag,
/// `Retry-After` and context, on each element it carried.
pub(crate) fn batch_call_failed(err: &Error) -> Error {
    let mut element = Error::new(
        err.kind(),
        format!("the call creating this issue failed: {}", err.message()),
    )
    .set_temporary(err.is_temporary())
    .with_scope(err.scope());
    if let Some(after) = err.retry_after() {
        element = element.with_retry_after(after);
    }
    for (key, value) in err.context() {
        element = element.with_context(key, value);
    }
    element
}

/// Which page of a search to return.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page {
    /// The token from the previous [`SearchPage::next_page`]; `None` for the first page.
    pub token: Option<String>,
    /// The most issues to return; adapters cap it at their `max_page_size`
    /// (0 means the adapter's default).
    pub max_results: u32,
}

impl Page {
    /// The first page with up to `max_results` issues.
    pub fn first(max_results: u32) -> Self {
        Page {
            token: None,
            max_results,
        }
    }

    /// The page after the one that returned `token`.
    pub fn next(token: String, max_results: u32) -> Self {
        Page {
            token: Some(token),
            max_results,
        }
    }
}

/// One page of search results.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchPage {
    /// Complete issue snapshots (comments, attachment metadata and properties included).
    pub issues: Vec<Issue>,
    /// The token of the next page, `None` on the last page.
    pub next_page: Option<String>,
}

/// An issue to create.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewIssue {
    /// The project to create it in.
    pub project: ProjectKey,
    /// The issue type's name; it must exist in the project.
    pub issue_type: String,
    /// The summary.
    pub summary: String,
    /// The description.
    pub description: RichText,
    /// The labels.
    pub labels: Vec<String>,
    /// The fields beyond these (their `links` are not created with the
    /// issue: a link needs both ends).
    #[serde(default, skip_serializing_if = "IssueFields::is_empty")]
    pub fields: IssueFields,
    /// Entity properties stored with the issue **in the same request** (the sync marker).
    pub properties: BTreeMap<String, Value>,
}

impl NewIssue {
    /// An issue with a type and a summary, nothing else.
    pub fn new(
        project: ProjectKey,
        issue_type: impl Into<String>,
        summary: impl Into<String>,
    ) -> Self {
        NewIssue {
            project,
            issue_type: issue_type.into(),
            summary: summary.into(),
            description: RichText::default(),
            labels: Vec::new(),
            fields: IssueFields::default(),
            properties: BTreeMap::new(),
        }
    }

    /// Sets the fields beyond Basic.
    pub fn fields(mut self, fields: IssueFields) -> Self {
        self.fields = fields;
        self
    }

    /// Sets the description.
    pub fn description(mut self, description: impl Into<RichText>) -> Self {
        self.description = description.into();
        self
    }

    /// Sets the labels.
    pub fn labels<I, S>(mut self, labels: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.labels = labels.into_iter().map(Into::into).collect();
        self
    }

    /// Adds an entity property.
    pub fn property(mut self, key: impl Into<String>, value: Value) -> Self {
        self.properties.insert(key.into(), value);
        self
    }
}

/// A link to add between two issues: `outward` is the end that reads the
/// type's outward name (`DEV-1 blocks DEV-2`: outward `DEV-1`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewIssueLink {
    /// The link type's name, such as `Blocks`.
    pub link_type: String,
    /// The outward end.
    pub outward: IssueId,
    /// The inward end.
    pub inward: IssueId,
}

impl NewIssueLink {
    /// `outward` `link_type` `inward`, such as `DEV-1 blocks DEV-2`.
    pub fn new(link_type: impl Into<String>, outward: IssueId, inward: IssueId) -> Self {
        NewIssueLink {
            link_type: link_type.into(),
            outward,
            inward,
        }
    }
}

/// The id and key of a created issue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedIssue {
    /// The stable id.
    pub id: IssueId,
    /// The key.
    pub key: IssueKey,
}

/// A comment to add.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewComment {
    /// The text.
    pub body: RichText,
    /// Who may see it.
    pub visibility: Visibility,
    /// Entity properties stored with the comment **in the same request** (the sync marker).
    pub properties: BTreeMap<String, Value>,
}

impl NewComment {
    /// A public comment with `body` and no properties.
    pub fn public(body: impl Into<RichText>) -> Self {
        NewComment {
            body: body.into(),
            visibility: Visibility::Public,
            properties: BTreeMap::new(),
        }
    }

    /// Adds an entity property.
    pub fn property(mut self, key: impl Into<String>, value: Value) -> Self {
        self.properties.insert(key.into(), value);
        self
    }
}

/// A file to attach.
#[derive(Clone, PartialEq, Eq)]
pub struct NewAttachment {
    /// The file name.
    pub file_name: String,
    /// The media type.
    pub mime_type: String,
    /// The content.
    pub content: Vec<u8>,
}

impl NewAttachment {
    /// A file with a name and content, as `application/octet-stream`.
    ///
    /// ```
    /// use twinsync::tracker::NewAttachment;
    ///
    /// let file = NewAttachment::new("log.txt", b"boom".to_vec()).mime_type("text/plain");
    /// assert_eq!((file.file_name.as_str(), file.mime_type.as_str()), ("log.txt", "text/plain"));
    /// ```
    pub fn new(file_name: impl Into<String>, content: impl Into<Vec<u8>>) -> Self {
        NewAttachment {
            file_name: file_name.into(),
            mime_type: "application/octet-stream".to_owned(),
            content: content.into(),
        }
    }

    /// Sets the media type.
    pub fn mime_type(mut self, mime_type: impl Into<String>) -> Self {
        self.mime_type = mime_type.into();
        self
    }
}

impl fmt::Debug for NewAttachment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewAttachment")
            .field("file_name", &self.file_name)
            .field("mime_type", &self.mime_type)
            .field("size", &self.content.len())
            .finish()
    }
}
