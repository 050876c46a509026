//! Per-twin sync state: the fingerprint bases of the three-way merge and the
//! comment and attachment id maps.

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, Result};
use crate::model::{AttachmentId, CommentId, ConnectionId, IssueId, IssueRef};

use super::{Op, OpOutcome};

/// A base that no value's fingerprint matches: the value on that side counts as
/// changed, so it travels on the next sync (used when a conflict keeps ours).
pub const UNSYNCED: u64 = 0;

/// The bases of one field: what the remote side last sent and what this side
/// last held, as fingerprints.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldBase {
    /// The field's name (the rule's [`field`](crate::rules::SyncRule::field)).
    #[serde(rename = "f")]
    pub field: String,
    /// Fingerprint of the value the remote side last sent.
    #[serde(rename = "r")]
    pub remote: u64,
    /// Fingerprint of the value this side last held.
    #[serde(rename = "l")]
    pub local: u64,
}

/// One synced comment: its id on each side and the fingerprints of its body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommentLink {
    /// The comment's id on the remote side.
    #[serde(rename = "r")]
    pub remote: CommentId,
    /// The comment's id on this side.
    #[serde(rename = "l")]
    pub local: CommentId,
    /// Fingerprint of the body the remote side last sent.
    #[serde(rename = "rf")]
    pub remote_fp: u64,
    /// Fingerprint of the body this side last held.
    #[serde(rename = "lf")]
    pub local_fp: u64,
}

/// One synced attachment: its id on each side and its fingerprint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentLink {
    /// The attachment's id on the remote side.
    #[serde(rename = "r")]
    pub remote: AttachmentId,
    /// The attachment's id on this side.
    #[serde(rename = "l")]
    pub local: AttachmentId,
    /// Fingerprint of file name and size.
    #[serde(rename = "f")]
    pub fp: u64,
}

/// The sync state of one twin, seen from one side ("local") of a connection.
///
/// It holds fingerprints only, so it stays small: see the README for measured
/// sizes. It changes only through [`Plan`](super::Plan)s: the planner's own
/// changes are in [`Plan::state`](super::Plan::state), and each executed
/// operation is recorded with [`apply`](TwinState::apply).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct TwinState {
    /// The connection the twin belongs to.
    #[serde(rename = "c")]
    pub connection: ConnectionId,
    /// The issue on the remote side.
    #[serde(rename = "ri")]
    pub remote: IssueRef,
    /// The issue on this side; `None` until the first sync has created it.
    #[serde(rename = "li")]
    pub local: Option<IssueRef>,
    /// Fingerprint of the last replica received from the remote side and fully applied.
    #[serde(rename = "rw")]
    pub remote_whole: u64,
    /// Fingerprint of the last replica this side sent.
    #[serde(rename = "lw")]
    pub local_whole: u64,
    /// Field bases, sorted by field name.
    #[serde(rename = "fb")]
    pub fields: Vec<FieldBase>,
    /// Comment links, in the order they were made.
    #[serde(rename = "cl")]
    pub comments: Vec<CommentLink>,
    /// Attachment links, in the order they were made.
    #[serde(rename = "al")]
    pub attachments: Vec<AttachmentLink>,
    /// Fingerprint of the origin link last written on this side's issue
    /// (see [`origin`](crate::rules::origin)); 0: none written.
    #[serde(rename = "lo", default)]
    pub local_origin: u64,
    /// Fingerprint of the origin link last written on the remote side's
    /// issue, as far as this state knows (a local connection keeps one state
    /// for both sides); 0: none known.
    #[serde(rename = "ro", default)]
    pub remote_origin: u64,
}

/// The twin state as it is written: every field in the binary encoding
/// (postcard has no optional fields); in JSON (the peer protocol), the origin
/// fields only when set, so a twin without origin links is written exactly as
/// before them.
#[derive(Serialize)]
struct Written<'a> {
    #[serde(rename = "c")]
    connection: &'a ConnectionId,
    #[serde(rename = "ri")]
    remote: &'a IssueRef,
    #[serde(rename = "li")]
    local: &'a Option<IssueRef>,
    #[serde(rename = "rw")]
    remote_whole: u64,
    #[serde(rename = "lw")]
    local_whole: u64,
    #[serde(rename = "fb")]
    fields: &'a [FieldBase],
    #[serde(rename = "cl")]
    comments: &'a [CommentLink],
    #[serde(rename = "al")]
    attachments: &'a [AttachmentLink],
    #[serde(
        rename = "lo",
        skip_serializing_if = "skipped",
        serialize_with = "origin_value"
    )]
    local_origin: (u64, bool),
    #[serde(
        rename = "ro",
        skip_serializing_if = "skipped",
        serialize_with = "origin_value"
    )]
    remote_origin: (u64, bool),
}

/// Whether an origin field is left out: zero, in a human-readable format.
fn skipped(field: &(u64, bool)) -> bool {
    field.1 && field.0 == 0
}

/// An origin field is written as its number.
fn origin_value<S: serde::Serializer>(
    field: &(u64, bool),
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_u64(field.0)
}

impl Serialize for TwinState {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let human = s.is_human_readable();
        Written {
            connection: &self.connection,
            remote: &self.remote,
            local: &self.local,
            remote_whole: self.remote_whole,
            local_whole: self.local_whole,
            fields: &self.fields,
            comments: &self.comments,
            attachments: &self.attachments,
            local_origin: (self.local_origin, human),
            remote_origin: (self.remote_origin, human),
        }
        .serialize(s)
    }
}

/// The twin state as format 1 stored it (before origin links).
#[derive(Deserialize)]
struct TwinStateV1 {
    connection: ConnectionId,
    remote: IssueRef,
    local: Option<IssueRef>,
    remote_whole: u64,
    local_whole: u64,
    fields: Vec<FieldBase>,
    comments: Vec<CommentLink>,
    attachments: Vec<AttachmentLink>,
}

/// The twin state as v0.1 stored it: positional postcard, no format byte,
/// and a revision counter that nothing checked. Read only to migrate.
#[derive(Deserialize)]
#[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
struct TwinStateV0 {
    connection: ConnectionId,
    remote: IssueRefV0,
    local: Option<IssueRefV0>,
    remote_whole: u64,
    local_whole: u64,
    fields: Vec<FieldBase>,
    comments: Vec<CommentLink>,
    attachments: Vec<AttachmentLink>,
    _revision: u64,
}

/// An issue as twinsync 0.1 stored it: its key may be the bare issue id
/// (0.1 used the id where it knew no key yet), which is not a valid key now.
#[derive(Deserialize)]
#[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
struct IssueRefV0 {
    id: IssueId,
    key: String,
}

#[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
impl IssueRefV0 {
    /// The issue, with the stand-in key the engine uses now for an issue
    /// known only by its id when the stored key is not a valid key.
    fn upgrade(self) -> IssueRef {
        let key = self
            .key
            .parse()
            .unwrap_or_else(|_| crate::model::IssueKey::stand_in(&self.id));
        IssueRef::new(self.id, key)
    }
}

/// The format byte that starts every encoded twin state (1: before origin
/// links, still read).
const FORMAT: u8 = 2;

impl TwinState {
    /// The state of a twin whose remote issue is known and whose local issue is not created yet.
    pub fn new(connection: ConnectionId, remote: IssueRef) -> Self {
        TwinState {
            connection,
            remote,
            local: None,
            remote_whole: 0,
            local_whole: 0,
            fields: Vec::new(),
            comments: Vec::new(),
            attachments: Vec::new(),
            local_origin: 0,
            remote_origin: 0,
        }
    }

    /// The bases of `field`, if known.
    pub fn field(&self, field: &str) -> Option<&FieldBase> {
        self.fields
            .binary_search_by(|b| b.field.as_str().cmp(field))
            .ok()
            .map(|i| &self.fields[i])
    }

    /// Sets the bases of a field.
    pub fn set_field(&mut self, field: &str, remote: u64, local: u64) {
        match self
            .fields
            .binary_search_by(|b| b.field.as_str().cmp(field))
        {
            Ok(i) => {
                self.fields[i].remote = remote;
                self.fields[i].local = local;
            }
            Err(i) => self.fields.insert(
                i,
                FieldBase {
                    field: field.to_owned(),
                    remote,
                    local,
                },
            ),
        }
    }

    /// The same state seen from the other side: remote and local swapped.
    ///
    /// A local connection keeps one state per twin and plans each direction on
    /// the state flipped accordingly.
    ///
    /// # Panics
    ///
    /// Never; a state whose local issue is not created flips to one whose
    /// remote issue is unknown, which is why `flipped` returns an `Option`.
    pub fn flipped(&self) -> Option<TwinState> {
        let local = self.local.clone()?;
        Some(TwinState {
            connection: self.connection.clone(),
            remote: local,
            local: Some(self.remote.clone()),
            remote_whole: self.local_whole,
            local_whole: self.remote_whole,
            fields: self
                .fields
                .iter()
                .map(|b| FieldBase {
                    field: b.field.clone(),
                    remote: b.local,
                    local: b.remote,
                })
                .collect(),
            comments: self
                .comments
                .iter()
                .map(|c| CommentLink {
                    remote: c.local.clone(),
                    local: c.remote.clone(),
                    remote_fp: c.local_fp,
                    local_fp: c.remote_fp,
                })
                .collect(),
            attachments: self
                .attachments
                .iter()
                .map(|a| AttachmentLink {
                    remote: a.local.clone(),
                    local: a.remote.clone(),
                    fp: a.fp,
                })
                .collect(),
            local_origin: self.remote_origin,
            remote_origin: self.local_origin,
        })
    }

    /// Records that `op` was executed with `outcome`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`] when the outcome does not fit the operation
    /// (a created comment id for an issue create, say).
    pub fn apply(&mut self, op: &Op, outcome: &OpOutcome) -> Result<()> {
        let mismatch = || {
            Error::new(
                ErrorKind::InvalidInput,
                format!("outcome {outcome:?} does not fit operation {}", op.name()),
            )
        };
        match (op, outcome) {
            (Op::CreateIssue { bases, .. }, OpOutcome::Issue(created)) => {
                self.local = Some(created.clone());
                for b in bases {
                    self.set_field(&b.field, b.remote, b.local);
                }
            }
            (
                Op::UpdateIssue { bases, .. }
                | Op::AddLink { bases, .. }
                | Op::DeleteLink { bases, .. },
                OpOutcome::Done,
            ) => {
                for b in bases {
                    self.set_field(&b.field, b.remote, b.local);
                }
            }
            (
                Op::AddComment {
                    origin,
                    remote_fp,
                    local_fp,
                    ..
                },
                OpOutcome::Comment(id),
            ) => {
                self.comments.retain(|c| &c.remote != origin);
                self.comments.push(CommentLink {
                    remote: origin.clone(),
                    local: id.clone(),
                    remote_fp: *remote_fp,
                    local_fp: *local_fp,
                });
            }
            (
                Op::UpdateComment {
                    local,
                    remote_fp,
                    local_fp,
                    ..
                },
                OpOutcome::Done,
            ) => {
                if let Some(link) = self.comments.iter_mut().find(|c| &c.local == local) {
                    link.remote_fp = *remote_fp;
                    link.local_fp = *local_fp;
                }
            }
            (Op::DeleteComment { local, .. }, OpOutcome::Done) => {
                self.comments.retain(|c| &c.local != local);
            }
            (Op::AddAttachment { origin, fp, .. }, OpOutcome::Attachment(id)) => {
                self.attachments.retain(|a| &a.remote != origin);
                self.attachments.push(AttachmentLink {
                    remote: origin.clone(),
                    local: id.clone(),
                    fp: *fp,
                });
            }
            (Op::DeleteAttachment { local, .. }, OpOutcome::Done) => {
                self.attachments.retain(|a| &a.local != local);
            }
            (Op::SetOrigin { fp, .. }, OpOutcome::Done) => {
                // Not part of any replica: the other direction has nothing new to see.
                self.local_origin = *fp;
                return Ok(());
            }
            _ => return Err(mismatch()),
        }
        // This side changed: the other direction must look at it again.
        self.local_whole = 0;
        Ok(())
    }

    /// The state in twinsync's compact binary encoding: a format byte, then
    /// the fields (postcard). Stores keep these bytes as they are.
    pub fn to_bytes(&self) -> Vec<u8> {
        let bytes = vec![FORMAT];
        postcard::to_extend(self, bytes).unwrap_or_else(|e| unreachable!("twin state encodes: {e}"))
    }

    /// Reads a state written by [`to_bytes`](Self::to_bytes).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Storage`] when the bytes are not a twin state, or one in a
    /// format newer than this twinsync reads.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        match bytes.split_first() {
            Some((&FORMAT, rest)) => postcard::from_bytes(rest).map_err(unreadable),
            Some((1, rest)) => {
                let old: TwinStateV1 = postcard::from_bytes(rest).map_err(unreadable)?;
                Ok(TwinState {
                    connection: old.connection,
                    remote: old.remote,
                    local: old.local,
                    remote_whole: old.remote_whole,
                    local_whole: old.local_whole,
                    fields: old.fields,
                    comments: old.comments,
                    attachments: old.attachments,
                    local_origin: 0,
                    remote_origin: 0,
                })
            }
            Some((&other, _)) => Err(Error::new(
                ErrorKind::Storage,
                format!(
                    "stored twin state has format {other}, which this twinsync does not read \
                     (it reads formats 1 to {FORMAT}); open the store with the twinsync that wrote it"
                ),
            )),
            None => Err(Error::new(ErrorKind::Storage, "stored twin state is empty")),
        }
    }

    /// Reads a state as twinsync 0.1 encoded it (no format byte), to migrate
    /// stores written by it.
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    pub(crate) fn from_v0_1_bytes(bytes: &[u8]) -> Result<Self> {
        let old: TwinStateV0 = postcard::from_bytes(bytes).map_err(|e| {
            Error::new(
                ErrorKind::Storage,
                format!("stored twin state (twinsync 0.1 format) is unreadable: {e}"),
            )
        })?;
        Ok(TwinState {
            connection: old.connection,
            remote: old.remote.upgrade(),
            local: old.local.map(IssueRefV0::upgrade),
            remote_whole: old.remote_whole,
            local_whole: old.local_whole,
            fields: old.fields,
            comments: old.comments,
            attachments: old.attachments,
            local_origin: 0,
            remote_origin: 0,
        })
    }
}

fn unreadable(e: postcard::Error) -> Error {
    Error::new(
        ErrorKind::Storage,
        format!("stored twin state is unreadable: {e}"),
    )
}

#[cfg(test)]
mod v0_1_tests {
    use super::*;

    /// The layout twinsync 0.1 wrote (postcard, fields in order).
    #[derive(Serialize)]
    struct Old<'a> {
        connection: &'a str,
        remote: (&'a str, &'a str),
        local: Option<(&'a str, &'a str)>,
        remote_whole: u64,
        local_whole: u64,
        fields: Vec<FieldBase>,
        comments: Vec<CommentLink>,
        attachments: Vec<AttachmentLink>,
        revision: u64,
    }

    fn old(remote_key: &str) -> Vec<u8> {
        postcard::to_allocvec(&Old {
            connection: "c1",
            remote: ("10001", remote_key),
            local: Some(("20002", "DEV-2")),
            remote_whole: 7,
            local_whole: 9,
            fields: Vec::new(),
            comments: Vec::new(),
            attachments: Vec::new(),
            revision: 3,
        })
        .expect("encode")
    }

    #[test]
    fn a_format_1_twin_state_reads_with_no_origin_written() {
        let mut state = TwinState::from_v0_1_bytes(&old("SUP-1")).expect("read");
        let encoded = state.to_bytes();
        assert_eq!(encoded[0], 2);
        // Format 1 is format 2 without its last two fields (each 0: one byte).
        let mut v1 = encoded[..encoded.len() - 2].to_vec();
        v1[0] = 1;
        assert_eq!(TwinState::from_bytes(&v1).expect("format 1 reads"), state);
        state.local_origin = 7;
        state.remote_origin = 9;
        let again = TwinState::from_bytes(&state.to_bytes()).expect("round trip");
        assert_eq!((again.local_origin, again.remote_origin), (7, 9));
        let flipped = again.flipped().expect("flips");
        assert_eq!((flipped.local_origin, flipped.remote_origin), (9, 7));
    }

    #[test]
    fn a_0_1_twin_state_reads_with_its_keys() {
        let state = TwinState::from_v0_1_bytes(&old("SUP-1")).expect("read");
        assert_eq!(state.remote.key.as_str(), "SUP-1");
        assert_eq!(state.local.as_ref().map(|l| l.key.as_str()), Some("DEV-2"));
        assert_eq!((state.remote_whole, state.local_whole), (7, 9));
    }

    #[test]
    fn a_0_1_twin_known_only_by_its_id_gets_a_stand_in_key() {
        // 0.1 recorded the bare id as the key of an issue found by its marker.
        let state = TwinState::from_v0_1_bytes(&old("10001")).expect("read");
        assert_eq!(state.remote.id.as_str(), "10001");
        assert_eq!(state.remote.key.as_str(), "ID-10001");
        let again = TwinState::from_bytes(&state.to_bytes()).expect("round trip");
        assert_eq!(again, state);
    }
}
