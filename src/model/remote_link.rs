//! [`RemoteLink`]: a link from an issue to a page elsewhere (Jira's "remote
//! issue link"), which twinsync uses to say where a twin came from.

use serde::{Deserialize, Serialize};

/// A link from an issue to a page elsewhere, identified by a global id.
///
/// Writing a link whose `global_id` an issue already carries replaces that
/// link instead of adding a second one (Jira's `globalId` semantics), so a
/// write repeated after a lost answer leaves one link.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RemoteLink {
    /// The link's identity on its issue: writing another link with the same
    /// global id replaces it.
    pub global_id: String,
    /// The URL the link points to.
    pub url: String,
    /// The text the link shows.
    pub title: String,
    /// A longer description, shown beside the title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// How the page relates to the issue (Jira shows links grouped by it,
    /// such as "synced from").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relationship: Option<String>,
}

impl RemoteLink {
    /// A link with the given global id, URL and title (no summary or relationship).
    pub fn new(
        global_id: impl Into<String>,
        url: impl Into<String>,
        title: impl Into<String>,
    ) -> Self {
        RemoteLink {
            global_id: global_id.into(),
            url: url.into(),
            title: title.into(),
            summary: None,
            relationship: None,
        }
    }
}
