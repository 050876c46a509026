//! Sync rules: how an issue becomes a [`Replica`] (outgoing) and how a received
//! replica becomes changes to the local issue (incoming).
//!
//! Each side owns its rules and never sees the other's. [`RuleSet::basic`] is
//! the fixed Basic rule set (summary, description, issue type, comments as public
//! comments, attachments); it cannot be edited. A custom rule set
//! ([`RuleSet::custom`]) starts from the same rules and can add more, such as
//! [`StatusMapping`] and [`LabelsRule`].

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::Arc;

use crate::error::{Error, ErrorKind, Result};
use crate::model::ConnectionId;
use crate::model::{Issue, ProjectInfo};
use crate::replica::{
    FieldValue, Fingerprints, Marker, Origin, Replica, ReplicaAttachment, ReplicaComment,
};
use crate::tracker::IssueUpdate;

pub mod attribution;
mod basic;
mod custom;
mod field_io;
pub(crate) mod hierarchy;
pub(crate) mod links;
pub(crate) mod mapping;
mod media;
pub mod origin;
mod users;
mod versions;

pub use attribution::{AttributionTemplate, Header, HeaderRun};
pub use origin::{IssueOrigin, OriginTemplate};

pub use basic::{DescriptionRule, IssueTypeRule, SummaryRule, resolve_issue_type};
pub use custom::{LabelsRule, StatusMapping};
pub use hierarchy::{ParentRule, UnsyncedParent};
pub use links::LinksRule;
pub use mapping::{Fallback, FieldRule, FieldSide};
pub(crate) use media::has_media_refs;
pub use media::{issue_by_file, media_by_file};
pub use users::{UserMatches, localize_mentions, mentioned_in, mentioned_users};
pub(crate) use users::{has_mention, without_mentions};
pub use versions::{RuleHistory, RuleSpec, RuleVersion};

/// One synced field: how it goes out, how it comes in.
///
/// The planner runs the three-way merge on fingerprints of the values these
/// methods return, so a rule only maps values; it never decides *whether* to
/// write.
///
/// # Contract
///
/// - Every method MUST be pure and deterministic: same inputs, same outputs.
/// - [`current`](SyncRule::current) MUST return the value in the same terms
///   [`incoming`](SyncRule::incoming) produces, so that a value the sync wrote
///   reads back equal (otherwise the sync would echo).
pub trait SyncRule: Debug + Send + Sync + 'static {
    /// The field's name: its key in twin state and its name in plans.
    fn field(&self) -> &str;

    /// Copies this side's value of the field into an outgoing replica.
    fn outgoing(&self, issue: &Issue, replica: &mut Replica);

    /// The value a received replica carries, or `None` when it carries none
    /// (the field is then left alone).
    fn received(&self, replica: &Replica) -> Option<FieldValue>;

    /// The local issue's current value.
    fn current(&self, issue: &Issue) -> FieldValue;

    /// The value to hold locally for a received value; `Ok(None)` leaves the
    /// local field unchanged.
    ///
    /// # Errors
    ///
    /// When the value cannot be held in `target` (an issue type it lacks and no
    /// fallback): nothing of the plan is then executed.
    fn incoming(&self, received: &FieldValue, target: &ProjectInfo) -> Result<Option<FieldValue>>;

    /// Puts `value` into an update of the local issue.
    fn write(&self, value: &FieldValue, update: &mut IssueUpdate);

    /// Puts `value` into an update of an issue of `target`; the planner
    /// calls this. By default [`write`](Self::write): a rule whose field
    /// depends on the project (a [`FieldRule`]) overrides it.
    fn write_to(&self, value: &FieldValue, target: &ProjectInfo, update: &mut IssueUpdate) {
        let _ = target;
        self.write(value, update);
    }

    /// Whether values land in `target` only while its field is empty
    /// (default: no).
    fn lands_only_when_empty(&self, target: &ProjectInfo) -> bool {
        let _ = target;
        false
    }

    /// The field of `target` this rule writes, when it is not the rule's
    /// own ([`field`](Self::field)): shown with each value it produces in
    /// Test Run (default: none).
    fn target_field(&self, target: &ProjectInfo) -> Option<String> {
        let _ = target;
        None
    }

    /// The issues of the sending side a replica's value names (a parent),
    /// which the engine looks up among its twins before planning (default:
    /// none).
    fn references(&self, replica: &Replica) -> Vec<crate::model::IssueId> {
        let _ = replica;
        Vec::new()
    }

    /// Whether the issues [`references`](Self::references) names are
    /// brought under sync before the issue that names them (a parent, when
    /// the rules say so; default: no).
    fn brings_references(&self) -> bool {
        false
    }

    /// The received value as it is known here: issues it names replaced by
    /// their twins (through [`PlanInput::issues`](crate::plan::PlanInput::issues),
    /// filled with [`references`](Self::references)), users by their
    /// matches (through [`PlanInput::users`](crate::plan::PlanInput::users)
    /// on a remote connection). With it, whether everything was found
    /// (`false`: the value counts as not yet received, so a later sync tries
    /// again); `None` keeps this side's value. By default the value as
    /// received.
    ///
    /// # Errors
    ///
    /// When the value cannot land (yet): a parent whose twin is not
    /// created, a user with no match. Nothing of the plan is then executed.
    fn translate(
        &self,
        received: &FieldValue,
        input: &crate::plan::PlanInput<'_>,
    ) -> Result<Option<(FieldValue, bool)>> {
        let _ = input;
        Ok(Some((received.clone(), true)))
    }
}

/// Whether a rule set is the fixed Basic set or an editable custom one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleSetKind {
    /// Exalate-style Basic mode: fixed, cannot be edited.
    Basic,
    /// Custom: rules can be added.
    Custom,
}

/// The rules of one side of a connection.
#[derive(Clone, Debug)]
pub struct RuleSet {
    kind: RuleSetKind,
    rules: Vec<Arc<dyn SyncRule>>,
    comments: bool,
    attachments: bool,
    comment_attribution: Option<AttributionTemplate>,
    issue_origin: IssueOrigin,
    transition_fields: BTreeMap<String, String>,
}

impl RuleSet {
    /// The fixed Basic rule set: summary, description, issue type (mirrored by
    /// name, falling back to the project's default type, then `Task`),
    /// comments (always created as public comments, each starting with the
    /// header `{author} commented on {key}`, see [`attribution`]) and
    /// attachments; a twin it creates carries a remote link to its original
    /// (or, on a tracker without remote links, starts its description with
    /// `Synced from {key} on {instance}`; see [`origin`]).
    pub fn basic() -> Self {
        RuleSet {
            kind: RuleSetKind::Basic,
            rules: vec![
                Arc::new(IssueTypeRule),
                Arc::new(SummaryRule),
                Arc::new(DescriptionRule),
            ],
            comments: true,
            attachments: true,
            comment_attribution: Some(AttributionTemplate::default()),
            issue_origin: IssueOrigin::RemoteLink,
            transition_fields: BTreeMap::new(),
        }
    }

    /// A custom rule set starting from the Basic rules; add more with [`add`](Self::add).
    pub fn custom() -> Self {
        RuleSet {
            kind: RuleSetKind::Custom,
            ..RuleSet::basic()
        }
    }

    /// Basic or custom.
    pub fn kind(&self) -> RuleSetKind {
        self.kind
    }

    /// The field rules, in order.
    pub fn rules(&self) -> &[Arc<dyn SyncRule>] {
        &self.rules
    }

    /// Whether comments are synced.
    pub fn syncs_comments(&self) -> bool {
        self.comments
    }

    /// Whether attachments are synced.
    pub fn syncs_attachments(&self) -> bool {
        self.attachments
    }

    /// The header template of synced comments; `None` when comments are not attributed.
    pub fn comment_attribution(&self) -> Option<&AttributionTemplate> {
        self.comment_attribution.as_ref()
    }

    /// How a twin says where it came from.
    pub fn issue_origin(&self) -> &IssueOrigin {
        &self.issue_origin
    }

    /// These rules on a tracker that does or does not hold remote links (see
    /// [`IssueOrigin::on_tracker`]); the engine plans with them.
    pub(crate) fn on_tracker(mut self, remote_links: bool) -> Self {
        self.issue_origin = self.issue_origin.on_tracker(remote_links);
        self
    }

    fn editable(&self) -> Result<()> {
        match self.kind {
            RuleSetKind::Custom => Ok(()),
            RuleSetKind::Basic => Err(Error::new(
                ErrorKind::Unsupported,
                "the basic rule set cannot be changed; upgrade the connection to a custom rule set",
            )),
        }
    }

    /// Adds a rule (replacing one for the same field).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Unsupported`] on the Basic rule set, saying to upgrade.
    pub fn add(&mut self, rule: impl SyncRule) -> Result<&mut Self> {
        self.editable()?;
        self.rules.retain(|r| r.field() != rule.field());
        self.rules.push(Arc::new(rule));
        Ok(self)
    }

    /// Removes the rule for `field`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Unsupported`] on the Basic rule set; `NotFound` when no rule
    /// has that field.
    pub fn remove(&mut self, field: &str) -> Result<&mut Self> {
        self.editable()?;
        let before = self.rules.len();
        self.rules.retain(|r| r.field() != field);
        if self.rules.len() == before {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!("no rule syncs field {field:?}"),
            ));
        }
        Ok(self)
    }

    /// Turns comment sync on or off.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Unsupported`] on the Basic rule set.
    pub fn set_comments(&mut self, on: bool) -> Result<&mut Self> {
        self.editable()?;
        self.comments = on;
        Ok(self)
    }

    /// Turns attachment sync on or off.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Unsupported`] on the Basic rule set.
    pub fn set_attachments(&mut self, on: bool) -> Result<&mut Self> {
        self.editable()?;
        self.attachments = on;
        Ok(self)
    }

    /// Sets the header of synced comments (`None`: comments get no header).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Unsupported`] on the Basic rule set.
    pub fn set_comment_attribution(
        &mut self,
        template: Option<AttributionTemplate>,
    ) -> Result<&mut Self> {
        self.editable()?;
        self.comment_attribution = template;
        Ok(self)
    }

    /// Sets how a twin says where it came from ([`IssueOrigin::Off`]: it does not).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Unsupported`] on the Basic rule set.
    pub fn set_issue_origin(&mut self, origin: IssueOrigin) -> Result<&mut Self> {
        self.editable()?;
        self.issue_origin = origin;
        Ok(self)
    }

    /// The issues `replica` names that the rules bring under sync before
    /// it (its parent, with [`UnsyncedParent::Bring`]).
    pub fn brought(&self, replica: &Replica) -> Vec<crate::model::IssueId> {
        self.rules
            .iter()
            .filter(|r| r.brings_references())
            .flat_map(|r| r.references(replica))
            .collect()
    }

    /// Whether issue links are synced ([`LinksRule`]).
    pub fn syncs_links(&self) -> bool {
        self.rules.iter().any(|r| r.field() == links::LINKS)
    }

    /// The issues of the sending side `replica` names (its parent, when
    /// parents are synced), to look up among the twins before planning.
    pub fn references(&self, replica: &Replica) -> Vec<crate::model::IssueId> {
        let mut ids: Vec<_> = self
            .rules
            .iter()
            .flat_map(|r| r.references(replica))
            .collect();
        ids.sort();
        ids.dedup();
        ids
    }

    /// Values for the fields a workflow transition requires (field id or
    /// name → value, as a rule document writes it), used when moving an
    /// issue to a mapped status and the sync's own values give none.
    pub fn transition_fields(&self) -> &BTreeMap<String, String> {
        &self.transition_fields
    }

    /// Sets the values for fields workflow transitions require (see
    /// [`transition_fields`](Self::transition_fields)).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Unsupported`] on the Basic rule set.
    pub fn set_transition_fields(&mut self, values: BTreeMap<String, String>) -> Result<&mut Self> {
        self.editable()?;
        self.transition_fields = values;
        Ok(self)
    }

    /// Builds the outgoing replica of `issue` (the outgoing half of the rules).
    ///
    /// `connection` names the connection the replica travels on: comments and
    /// issues carrying its marker are sent as mirrors (see
    /// [`ReplicaComment::mirror_of`]), so the other side links them instead of
    /// copying them back.
    pub fn outgoing(&self, issue: &Issue, origin: Origin, connection: &ConnectionId) -> Replica {
        // A twin's origin line stays on this side.
        let issue = &*origin::local_description(issue, connection);
        let mut replica = Replica::new(origin, issue.updated);
        for rule in &self.rules {
            rule.outgoing(issue, &mut replica);
        }
        replica.mirror_of = Marker::find(&issue.properties, connection).map(|m| m.origin_issue);
        if self.comments {
            replica.comments = issue
                .comments
                .iter()
                .map(|c| ReplicaComment {
                    id: c.id.clone(),
                    author: c.author.display_name.clone(),
                    // A copy's header stays on this side.
                    body: media_by_file(
                        &attribution::local_comment_body(c, connection),
                        &issue.attachments,
                    ),
                    created: c.created,
                    updated: c.updated,
                    mirror_of: Marker::find(&c.properties, connection)
                        .and_then(|m| m.origin_comment),
                    attributed: attribution::is_twinsync_copy(c),
                })
                .collect();
        }
        if self.attachments {
            replica.attachments = issue
                .attachments
                .iter()
                .map(|a| ReplicaAttachment {
                    id: a.id.clone(),
                    file_name: a.file_name.clone(),
                    mime_type: a.mime_type.clone(),
                    size: a.size,
                    sha256: a.sha256,
                    created: a.created,
                })
                .collect();
        }
        replica
    }

    /// The fingerprints of a replica under these rules.
    pub fn fingerprints(&self, replica: &Replica) -> Fingerprints {
        let fields = self
            .rules
            .iter()
            .filter_map(|r| Some((r.field().to_owned(), r.received(replica)?.fingerprint())))
            .collect();
        let comments = if self.comments {
            replica
                .comments
                .iter()
                .map(|c| crate::replica::rich_fingerprint(&c.body))
                .collect()
        } else {
            Vec::new()
        };
        let attachments = if self.attachments {
            replica
                .attachments
                .iter()
                .map(ReplicaAttachment::fingerprint)
                .collect()
        } else {
            Vec::new()
        };
        Fingerprints {
            whole: 0,
            fields,
            comments,
            attachments,
        }
        .seal(replica)
    }
}

impl Default for RuleSet {
    fn default() -> Self {
        RuleSet::basic()
    }
}
