//! The pure sync planner.
//!
//! [`plan`] decides, for one twin and one direction, what to write on the
//! receiving side: a [`Plan`] of ordered operations, the conflicts it met, and
//! the twin state's changes. It performs no I/O, reads no clock and uses no
//! randomness: the same [`PlanInput`] always gives the byte-identical plan. The
//! engine executes plans; Test Run shows them.
//!
//! It implements the three-way merge of DESIGN.md per field (remote changed ×
//! local changed, on fingerprints), and treats comments and attachments as sets
//! keyed by identity, with id maps in the [`TwinState`].

use serde::Serialize;

use crate::error::Result;
use std::collections::{BTreeMap, BTreeSet};

use crate::model::{
    AttachmentId, CommentId, ConnectionId, Issue, IssueId, IssueRef, LinkDirection, ProjectInfo,
    ProjectKey, RemoteLink, RichText,
};
use crate::replica::{FieldValue, Fingerprints, Replica};
use crate::rules::{Header, RuleSet, UserMatches};
use crate::tracker::IssueUpdate;

mod fields;
mod items;
mod links;
mod media;
mod options;
mod origin;
mod preview;
mod state;

pub(crate) use media::bind_media;
pub use options::{ConflictPolicy, DeletionGuard, PlanOptions, Winner};
pub use state::{AttachmentLink, CommentLink, FieldBase, TwinState, UNSYNCED};

/// Everything the planner looks at.
#[derive(Clone, Copy, Debug)]
pub struct PlanInput<'a> {
    /// The connection the twin belongs to (markers of other connections are ignored).
    pub connection: &'a ConnectionId,
    /// The replica received from the remote side.
    pub replica: &'a Replica,
    /// Its fingerprints under `rules` (see [`RuleSet::fingerprints`]).
    pub fingerprints: &'a Fingerprints,
    /// The replica received before it, if any (shown in conflicts as the base).
    pub previous: Option<&'a Replica>,
    /// The local issue as just read, or `None` when the twin is not created yet.
    pub local: Option<&'a Issue>,
    /// The twin's state, or `None` for a new twin.
    pub state: Option<&'a TwinState>,
    /// The local project (its issue types).
    pub target: &'a ProjectInfo,
    /// This side's rules.
    pub rules: &'a RuleSet,
    /// Policy, guard and matching options.
    pub options: PlanOptions,
    /// How mentions in the replica's text are written here: `None` keeps
    /// them as they are (a local connection: both sides are one site);
    /// `Some` maps them through these matches, and writes anyone unmatched
    /// as plain text (a remote connection; see
    /// [`localize_mentions`](crate::rules::localize_mentions)).
    pub users: Option<&'a UserMatches>,
    /// The twins here of the issues the replica names (its parent), looked
    /// up by the engine (see [`SyncRule::translate`](crate::rules::SyncRule::translate));
    /// `None`: none is known.
    pub issues: Option<&'a IssueMap>,
}

/// How the issues a replica names (a parent) are known on the receiving
/// side: filled by the engine from its twins, so that the planner stays pure.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct IssueMap {
    /// An issue of the sending side → its twin here.
    pub twins: BTreeMap<IssueId, IssueRef>,
    /// Issues of the sending side under sync whose twin is not created yet.
    pub pending: BTreeSet<IssueId>,
    /// Issues here, at the other end of the receiving issue's links, that
    /// are under sync: links to the others are left alone.
    pub synced_here: BTreeSet<IssueId>,
}

impl PlanInput<'_> {
    /// `text` from the replica as it is written here (mentions mapped on a
    /// remote connection), or `None` when that is `text` itself.
    pub(crate) fn localized(&self, text: &RichText) -> Option<RichText> {
        let users = self.users?;
        crate::rules::has_mention(text)
            .then(|| crate::rules::localize_mentions(text, users, &self.replica.users))
    }
}

/// One write on the receiving side.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Op {
    /// Create the twin issue.
    CreateIssue {
        /// The project to create it in.
        project: ProjectKey,
        /// Its fields (issue type and summary always set).
        fields: IssueUpdate,
        /// The field bases to record once created.
        bases: Vec<FieldBase>,
        /// The origin line the description starts with (already in
        /// `fields.description`), recorded in the twin's marker so the sync
        /// never reads it as part of the description; see
        /// [`origin`](crate::rules::origin).
        #[serde(skip_serializing_if = "Option::is_none")]
        header: Option<Header>,
    },
    /// Link the twin issue to the twin of an issue the remote one is
    /// linked to.
    AddLink {
        /// The link type's name, such as `Blocks`.
        link_type: String,
        /// Which end of the link the twin issue is.
        direction: LinkDirection,
        /// The issue at the other end, here.
        other: IssueId,
        /// The field bases to record once written (on the last link op).
        bases: Vec<FieldBase>,
    },
    /// Delete a link between synced issues that the remote issue no longer
    /// has.
    DeleteLink {
        /// The link's id.
        id: String,
        /// The link type's name.
        link_type: String,
        /// The issue at the other end, here.
        other: IssueId,
        /// The field bases to record once written (on the last link op).
        bases: Vec<FieldBase>,
    },
    /// Change fields of the twin issue.
    UpdateIssue {
        /// The changed fields.
        update: IssueUpdate,
        /// The field bases to record once written.
        bases: Vec<FieldBase>,
    },
    /// Add a public comment copying a remote one.
    AddComment {
        /// The remote comment's id.
        origin: CommentId,
        /// Its author on the remote side.
        author: String,
        /// The body (without the header).
        body: RichText,
        /// The attribution header written before the body and recorded in
        /// the marker, if the rules attribute comments and the original is
        /// not itself a copy.
        #[serde(skip_serializing_if = "Option::is_none")]
        header: Option<Header>,
        /// Fingerprint of the remote body.
        remote_fp: u64,
        /// Fingerprint of the body written here (the header left out).
        local_fp: u64,
    },
    /// Replace the body of a synced comment.
    UpdateComment {
        /// The comment here.
        local: CommentId,
        /// The remote comment.
        origin: CommentId,
        /// The new body (without the header).
        body: RichText,
        /// The header the comment starts with and keeps (the one its marker
        /// recorded), if it still starts with it.
        #[serde(skip_serializing_if = "Option::is_none")]
        header: Option<Header>,
        /// Fingerprint of the remote body.
        remote_fp: u64,
        /// Fingerprint of the body written here.
        local_fp: u64,
    },
    /// Delete a synced comment whose remote original was deleted.
    DeleteComment {
        /// The comment here.
        local: CommentId,
        /// The deleted remote comment.
        origin: CommentId,
    },
    /// Copy a remote attachment here (download there, upload here).
    AddAttachment {
        /// The remote attachment's id.
        origin: AttachmentId,
        /// The file name.
        file_name: String,
        /// The media type.
        mime_type: String,
        /// The size in bytes.
        size: u64,
        /// Its fingerprint.
        fp: u64,
    },
    /// Delete a synced attachment whose remote original was deleted.
    DeleteAttachment {
        /// The attachment here.
        local: AttachmentId,
        /// The deleted remote attachment.
        origin: AttachmentId,
    },
    /// Put the remote link naming the original on the twin (replacing the
    /// link with the same global id, so repeating it adds nothing).
    SetOrigin {
        /// The link.
        link: RemoteLink,
        /// Its fingerprint, recorded once written.
        fp: u64,
    },
}

impl Op {
    /// A short name of the operation's kind.
    pub fn name(&self) -> &'static str {
        match self {
            Op::CreateIssue { .. } => "create issue",
            Op::UpdateIssue { .. } => "update issue",
            Op::AddComment { .. } => "add comment",
            Op::UpdateComment { .. } => "update comment",
            Op::DeleteComment { .. } => "delete comment",
            Op::AddAttachment { .. } => "add attachment",
            Op::DeleteAttachment { .. } => "delete attachment",
            Op::SetOrigin { .. } => "set origin link",
            Op::AddLink { .. } => "add issue link",
            Op::DeleteLink { .. } => "delete issue link",
        }
    }

    /// The body a comment op writes: its header (if any) followed by its body.
    pub fn written_body(&self) -> Option<RichText> {
        match self {
            Op::AddComment { header, body, .. } | Op::UpdateComment { header, body, .. } => {
                Some(match header {
                    Some(h) => h.compose(body),
                    None => body.clone(),
                })
            }
            _ => None,
        }
    }
}

/// What executing an [`Op`] produced, for [`TwinState::apply`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum OpOutcome {
    /// The created issue.
    Issue(IssueRef),
    /// The created comment's id.
    Comment(CommentId),
    /// The created attachment's id.
    Attachment(AttachmentId),
    /// An update or deletion was done.
    Done,
}

/// A field, comment or attachment both sides changed differently.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct Conflict {
    /// What conflicted: a field name, or `comment <remote id>`.
    pub subject: String,
    /// The remote side's value.
    pub remote: FieldValue,
    /// This side's value.
    pub local: FieldValue,
    /// The value both had before, when the previous replica shows it.
    pub base: Option<FieldValue>,
    /// Which value was kept.
    pub winner: Winner,
}

/// Deletions the mass-deletion guard refused.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Refusal {
    /// `comments` or `attachments`.
    pub items: &'static str,
    /// How many the plan would have deleted.
    pub would_delete: usize,
    /// How many are synced.
    pub synced: usize,
}

/// What one direction of one twin needs: operations in order, conflicts,
/// refusals, notes, and the twin state after the planner's own changes.
///
/// Start from [`state`](Plan::state) (or the state you passed in when it is
/// `None`), execute the ops in order recording each success with
/// [`TwinState::apply`], and when all succeeded call [`finish`](Plan::finish).
/// [`start_state`](Plan::start_state) does the first step. A plan prints as a readable preview:
///
/// ```text
/// SUP-1 → DEV (new twin)
///   create DEV issue: type "Task", summary "Printer on fire"
///   add comment 10002 by Alice: "Extinguisher applied."
///   note: issue type "Epic" is not in DEV; using "Task"
/// ```
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Plan {
    /// The remote issue.
    pub remote: IssueRef,
    /// The local project.
    pub project: ProjectKey,
    /// The twin here, when it exists.
    pub local: Option<IssueRef>,
    /// The writes, in order.
    pub ops: Vec<Op>,
    /// Conflicts met, with both values and the winner.
    pub conflicts: Vec<Conflict>,
    /// Deletions refused by the guard.
    pub refusals: Vec<Refusal>,
    /// Things worth telling a user (issue-type fallbacks, kept edits).
    pub notes: Vec<String>,
    /// The twin state after the planner's own changes (bases of fields that
    /// needed no write, adopted links), or `None` when the planner left the
    /// state as it was given; ops' effects are not in it yet.
    pub state: Option<TwinState>,
    /// The replica fingerprint to record when every op succeeded.
    pub remote_whole: u64,
}

impl Plan {
    /// Whether the plan writes nothing.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// The state to execute this plan from: the planner's, or `given` (the state
    /// that was passed in) when the planner left it unchanged.
    pub fn start_state(&self, given: Option<&TwinState>) -> Option<TwinState> {
        self.state.clone().or_else(|| given.cloned())
    }

    /// Marks `state` as having applied this plan completely (after every op
    /// succeeded). With refused deletions pending, the replica stays unapplied
    /// so the next sync looks again.
    pub fn finish(&self, state: &mut TwinState) {
        if self.refusals.is_empty() {
            state.remote_whole = self.remote_whole;
        }
    }
}

/// Plans one direction of one twin. See the [module docs](self).
///
/// # Errors
///
/// When a received value cannot be held on this side (an issue type missing
/// with no fallback): the error names the project, the wanted type and the
/// available ones, and nothing is to be written.
pub fn plan(input: &PlanInput<'_>) -> Result<Plan> {
    let replica = input.replica;
    let mut plan = Plan {
        remote: origin_ref(replica),
        project: input.target.key.clone(),
        local: input.local.map(Issue::reference),
        ops: Vec::new(),
        conflicts: Vec::new(),
        refusals: Vec::new(),
        notes: Vec::new(),
        state: None,
        remote_whole: input.fingerprints.whole,
    };
    if let Some(s) = input.state {
        // Remote unchanged since it was last applied: nothing to do (this is
        // what stops echo), but second copies of its comments to delete.
        if s.remote_whole == input.fingerprints.whole {
            plan.ops = items::second_copies(input, s, &mut plan);
            return Ok(plan);
        }
        if s.local.is_some() && input.local.is_none() {
            plan.notes.push(format!(
                "the twin of {} was deleted here; unexalate it or bring it under sync again",
                replica.origin.key
            ));
            return Ok(plan);
        }
    }
    // Bodies here compared in the replica's terms: images by file name and size.
    let by_file = input
        .local
        .filter(|l| {
            std::iter::once(&l.description)
                .chain(l.comments.iter().map(|c| &c.body))
                .any(crate::rules::has_media_refs)
        })
        .map(crate::rules::issue_by_file);
    // A twin's origin line is not part of its description.
    let without_origin = input
        .local
        .map(|l| crate::rules::origin::local_description(l, input.connection))
        .filter(|l| matches!(l, std::borrow::Cow::Owned(_)));
    let by_file = by_file.map(|issue| {
        crate::rules::origin::local_description(&issue, input.connection).into_owned()
    });
    let input = &PlanInput {
        local: by_file
            .as_ref()
            .or(without_origin.as_deref())
            .or(input.local),
        ..*input
    };
    let mut state = match input.state {
        Some(s) => s.clone(),
        None => TwinState::new(input.connection.clone(), origin_ref(replica)),
    };
    state.remote = origin_ref(replica);
    fields::merge(input, &mut state, &mut plan)?;
    links::merge(input, &mut state, &mut plan);
    if input.rules.syncs_comments() {
        items::merge_comments(input, &mut state, &mut plan);
    }
    if input.rules.syncs_attachments() {
        items::merge_attachments(input, &mut state, &mut plan);
    }
    media::settle(input, &mut state, &mut plan);
    origin::settle(input, &state, &mut plan);
    if input.state.is_some_and(|before| before != &state) {
        // Links or bases changed: what the other direction last applied from here
        // no longer describes this twin, so its fast path must not skip it.
        state.local_whole = 0;
    }
    // From here the state holds this replica partly applied, whatever the
    // last fully applied one was: should the plan stop halfway and the
    // remote side return to that replica's content (a comment added, then
    // deleted), the fast path above must not take the partial state for it.
    // `finish` records this replica once every op succeeded.
    state.remote_whole = UNSYNCED;
    plan.state = Some(state);
    Ok(plan)
}

fn origin_ref(replica: &Replica) -> IssueRef {
    IssueRef::new(replica.origin.id.clone(), replica.origin.key.clone())
}

#[cfg(test)]
mod tests;

#[cfg(test)]
#[path = "origin_tests.rs"]
mod origin_tests;
