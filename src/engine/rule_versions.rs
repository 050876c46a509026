//! Rule-set versions of custom connections: a draft, published numbered
//! versions, and rolling back to an earlier one.
//!
//! Rule sets are code ([`SyncRule`](crate::rules::SyncRule) values), so what
//! a version stores is a [`RuleSpec`]: a description of a rule set built from
//! the rules twinsync ships (a status mapping table, labels, comments and
//! attachments on or off). A rule set set in code with
//! [`Node::set_rules`] is not versioned; publishing a version replaces it.
//! The Basic rule set is fixed: a Basic connection has no drafts or versions,
//! and says so.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::connection::Connection;
use crate::error::{Error, ErrorKind, Result};
use crate::model::{ConnectionId, UserId};
use crate::rules::{LabelsRule, RuleSet, RuleSetKind, StatusMapping};

use super::Node;

pub(super) fn history_key(conn: &ConnectionId) -> String {
    format!("rules/{conn}")
}

fn yes() -> bool {
    true
}

/// A custom rule set, described: what a draft or a published version holds.
///
/// ```
/// use twinsync::engine::RuleSpec;
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
}

impl Default for RuleSpec {
    /// The Basic fields, as a custom rule set: comments and attachments on.
    fn default() -> Self {
        RuleSpec {
            status_mapping: BTreeMap::new(),
            labels: false,
            comments: true,
            attachments: true,
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

fn fixed(conn: &Connection) -> Error {
    Error::new(
        ErrorKind::Unsupported,
        format!(
            "connection {} uses the basic rule set, which is fixed and has no versions; \
             upgrade it to a custom rule set to edit its rules",
            conn.name
        ),
    )
    .with_connection(&conn.name)
}

impl Node {
    /// The rule versions of a connection (none for a Basic connection).
    ///
    /// # Errors
    ///
    /// `NotFound` for an unknown connection; `Storage`.
    pub fn rule_history(&self, id: &ConnectionId) -> Result<RuleHistory> {
        self.connection(id)?;
        self.load_history(id)
    }

    fn load_history(&self, id: &ConnectionId) -> Result<RuleHistory> {
        match self.txn()?.meta(&history_key(id))? {
            Some(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                Error::new(
                    ErrorKind::Storage,
                    format!("the stored rule versions of {id} are unreadable: {e}"),
                )
            }),
            None => Ok(RuleHistory::default()),
        }
    }

    fn save_history(&self, id: &ConnectionId, history: &RuleHistory) -> Result<()> {
        let mut txn = self.txn()?;
        txn.set_meta(&history_key(id), Some(&serde_json::to_vec(history)?))?;
        txn.commit()
    }

    async fn custom_connection(&self, id: &ConnectionId, caller: &UserId) -> Result<Connection> {
        let conn = self.connection(id)?;
        self.check_connection_permission(&conn, caller).await?;
        if conn.rules == RuleSetKind::Basic {
            return Err(fixed(&conn));
        }
        Ok(conn)
    }

    /// Saves a draft of a custom connection's rules (not in use until published).
    ///
    /// # Errors
    ///
    /// `Unsupported` for a Basic connection (its rules are fixed);
    /// `PermissionDenied`; `InvalidInput` when the draft cannot be built.
    pub async fn save_rule_draft(
        &self,
        id: &ConnectionId,
        spec: RuleSpec,
        caller: &UserId,
    ) -> Result<()> {
        self.custom_connection(id, caller).await?;
        spec.build()?;
        let mut history = self.load_history(id)?;
        history.draft = Some(spec);
        self.save_history(id, &history)
    }

    /// Publishes the draft as the next numbered version and puts it in use.
    ///
    /// # Errors
    ///
    /// `Unsupported` for a Basic connection; `InvalidInput` when there is no
    /// draft; `PermissionDenied`.
    pub async fn publish_rules(&self, id: &ConnectionId, caller: &UserId) -> Result<RuleVersion> {
        let conn = self.custom_connection(id, caller).await?;
        let mut history = self.load_history(id)?;
        let spec = history.draft.take().ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidInput,
                format!("connection {} has no draft to publish", conn.name),
            )
        })?;
        let rules = spec.build()?;
        let number = history.versions.last().map_or(1, |v| v.number + 1);
        let version = RuleVersion {
            number,
            spec,
            published_at: self.now(),
            published_by: caller.clone(),
        };
        history.versions.push(version.clone());
        history.active = Some(number);
        self.save_history(id, &history)?;
        self.use_rules(id, rules);
        tracing::info!(connection = %conn.name, version = number, by = %caller, "rules published");
        Ok(version)
    }

    /// Puts an earlier published version back in use.
    ///
    /// # Errors
    ///
    /// `Unsupported` for a Basic connection; `NotFound` for a version that was
    /// never published; `PermissionDenied`.
    pub async fn rollback_rules(
        &self,
        id: &ConnectionId,
        version: u32,
        caller: &UserId,
    ) -> Result<RuleVersion> {
        let conn = self.custom_connection(id, caller).await?;
        let mut history = self.load_history(id)?;
        let found = history
            .versions
            .iter()
            .find(|v| v.number == version)
            .cloned()
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::NotFound,
                    format!("connection {} has no rule version {version}", conn.name),
                )
            })?;
        let rules = found.spec.build()?;
        history.active = Some(version);
        self.save_history(id, &history)?;
        self.use_rules(id, rules);
        tracing::info!(connection = %conn.name, version, by = %caller, "rules rolled back");
        Ok(found)
    }

    fn use_rules(&self, id: &ConnectionId, rules: RuleSet) {
        self.inner
            .rules
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.clone(), rules);
    }

    /// Puts the published rule versions in use (when a node starts).
    pub(super) fn load_published_rules(&self) -> Result<()> {
        for conn in self.connections()? {
            if conn.rules != RuleSetKind::Custom {
                continue;
            }
            if let Some(version) = self.load_history(&conn.id)?.active_version() {
                self.use_rules(&conn.id, version.spec.build()?);
            }
        }
        Ok(())
    }
}
