//! Versions of a custom connection's rules: the [`RuleSpec`] a draft or a
//! published version holds, and a connection's [`RuleHistory`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::Result;
use crate::model::UserId;

use super::{AttributionTemplate, IssueOrigin, LabelsRule, RuleSet, StatusMapping};

fn yes() -> bool {
    true
}

fn default_attribution() -> Option<AttributionTemplate> {
    Some(AttributionTemplate::default())
}

/// A custom rule set, described: what a draft or a published version holds.
///
/// ```
/// use twinsync::rules::RuleSpec;
///
/// let spec = RuleSpec::default().map_status("In Progress", "Doing").with_labels();
/// let rules = spec.build()?;
/// assert!(rules.rules().iter().any(|r| r.field() == "status"));
/// assert!(rules.rules().iter().any(|r| r.field() == "labels"));
/// # Ok::<(), twinsync::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RuleSpec {
    /// Their status → our status; empty: statuses are not synced.
    #[serde(default)]
    pub status_mapping: BTreeMap<String, String>,
    /// Whether labels are synced.
    #[serde(default)]
    pub labels: bool,
    /// Whether comments are synced.
    #[serde(default = "yes")]
    pub comments: bool,
    /// Whether attachments are synced.
    #[serde(default = "yes")]
    pub attachments: bool,
    /// The header of synced comments (`null`: none); absent: the default
    /// template `{author} commented on {key}`.
    #[serde(default = "default_attribution")]
    pub comment_attribution: Option<AttributionTemplate>,
    /// How a twin says where it came from; absent: a remote link (see
    /// [`IssueOrigin`]).
    #[serde(default)]
    pub issue_origin: IssueOrigin,
}

impl Default for RuleSpec {
    /// The Basic fields, as a custom rule set: comments and attachments on.
    fn default() -> Self {
        RuleSpec {
            status_mapping: BTreeMap::new(),
            labels: false,
            comments: true,
            attachments: true,
            comment_attribution: default_attribution(),
            issue_origin: IssueOrigin::RemoteLink,
        }
    }
}

impl RuleSpec {
    /// Adds "their `theirs` → our `ours`" to the status mapping.
    pub fn map_status(mut self, theirs: impl Into<String>, ours: impl Into<String>) -> Self {
        self.status_mapping.insert(theirs.into(), ours.into());
        self
    }

    /// Syncs labels too.
    pub fn with_labels(mut self) -> Self {
        self.labels = true;
        self
    }

    /// Turns comment sync on or off.
    pub fn comments(mut self, on: bool) -> Self {
        self.comments = on;
        self
    }

    /// Turns attachment sync on or off.
    pub fn attachments(mut self, on: bool) -> Self {
        self.attachments = on;
        self
    }

    /// Sets the header of synced comments (`None`: no header).
    pub fn comment_attribution(mut self, template: Option<AttributionTemplate>) -> Self {
        self.comment_attribution = template;
        self
    }

    /// Sets how a twin says where it came from.
    pub fn issue_origin(mut self, origin: IssueOrigin) -> Self {
        self.issue_origin = origin;
        self
    }

    /// The rule set this describes.
    ///
    /// # Errors
    ///
    /// None today; a future rule that cannot be built would say why.
    pub fn build(&self) -> Result<RuleSet> {
        let mut rules = RuleSet::custom();
        if !self.status_mapping.is_empty() {
            rules.add(StatusMapping::new(self.status_mapping.clone()))?;
        }
        if self.labels {
            rules.add(LabelsRule)?;
        }
        rules.set_comments(self.comments)?;
        rules.set_attachments(self.attachments)?;
        rules.set_comment_attribution(self.comment_attribution.clone())?;
        rules.set_issue_origin(self.issue_origin.clone())?;
        Ok(rules)
    }
}

/// One published version of a connection's rules.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RuleVersion {
    /// 1, 2, 3, … in publishing order; numbers are never reused.
    pub number: u32,
    /// The rules.
    pub spec: RuleSpec,
    /// When it was published.
    #[serde(with = "time::serde::rfc3339")]
    pub published_at: OffsetDateTime,
    /// Who published it.
    pub published_by: UserId,
}

/// The rule versions of a connection on this node.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RuleHistory {
    /// The draft being edited, not in use yet.
    pub draft: Option<RuleSpec>,
    /// Every published version, oldest first.
    pub versions: Vec<RuleVersion>,
    /// The version in use.
    pub active: Option<u32>,
}

impl RuleHistory {
    /// The version in use.
    pub fn active_version(&self) -> Option<&RuleVersion> {
        let active = self.active?;
        self.versions.iter().find(|v| v.number == active)
    }
}
