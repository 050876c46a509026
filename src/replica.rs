//! [`Replica`]: the snapshot of an issue's synced part that travels between sides,
//! and the fingerprints twin state is kept as.
//!
//! # Fingerprints
//!
//! A fingerprint is a 64-bit [XXH3] hash (the `xxhash-rust` crate, seed 0) over a
//! tagged, length-prefixed byte encoding of a value. JSON (ADF documents) is
//! hashed in a canonical walk with object keys sorted, so key order never
//! matters. XXH3 is specified byte for byte, so fingerprints are the same on
//! every platform and in every run, and stored twin state stays valid across
//! upgrades as long as [`FINGERPRINT_SCHEME`] does not change.
//!
//! [XXH3]: https://github.com/Cyan4973/xxHash/blob/dev/doc/xxhash_spec.md

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use xxhash_rust::xxh3::Xxh3;

use crate::error::{Error, ErrorKind, Result};
use crate::model::{
    AttachmentId, CommentId, ConnectionId, InstanceUrl, IssueId, IssueKey, ProjectKey, RichText,
    Sha256, UserProfile,
};

/// The replica format this version of twinsync writes and reads.
pub const REPLICA_FORMAT_VERSION: u32 = 1;

/// The name of the fingerprint scheme: XXH3-64 over twinsync's tagged encoding.
pub const FINGERPRINT_SCHEME: &str = "xxh3-64/v1";

/// The entity property that marks issues and comments twinsync created.
pub const MARKER_PROPERTY: &str = "twinsync.marker";

/// The comment property of a comment the engine moved to a twin's issue from
/// a second copy of it before deleting that copy (a worker that stalled past
/// its lease created it): `{"issue": "<id>", "comment": "<id>"}`, the second
/// issue and the comment there. A merge cut short and done again skips
/// comments it finds named here.
pub const MOVED_PROPERTY: &str = "twinsync.moved";

/// Where a replica comes from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    /// The instance the issue lives on.
    pub instance: InstanceUrl,
    /// Its project.
    pub project: ProjectKey,
    /// Its stable id.
    pub id: IssueId,
    /// Its key.
    pub key: IssueKey,
}

/// A comment as it travels in a replica.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicaComment {
    /// The comment's id on the origin side.
    pub id: CommentId,
    /// The author's display name on the origin side.
    pub author: String,
    /// The text.
    pub body: RichText,
    /// When it was written.
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    /// When it was last edited.
    #[serde(with = "time::serde::rfc3339")]
    pub updated: OffsetDateTime,
    /// When this comment is itself a copy that twinsync made of a comment of the
    /// receiving side, that comment's id (read from its marker).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mirror_of: Option<CommentId>,
    /// Whether the comment is a copy twinsync made (on any connection), so its
    /// body names its author already: the receiving side adds no attribution
    /// header. Absent (false) in replicas of older versions.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub attributed: bool,
}

/// Attachment metadata as it travels in a replica (the content is fetched separately).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicaAttachment {
    /// The attachment's id on the origin side.
    pub id: AttachmentId,
    /// The file name.
    pub file_name: String,
    /// The media type.
    pub mime_type: String,
    /// The size in bytes.
    pub size: u64,
    /// The content's SHA-256, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<Sha256>,
    /// When it was attached.
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
}

impl ReplicaAttachment {
    /// The attachment's fingerprint: file name, size and (when known) content hash.
    pub fn fingerprint(&self) -> u64 {
        attachment_fingerprint(&self.file_name, self.size)
    }
}

/// The fingerprint of an attachment by file name and size; attachments are
/// matched across sides by it (content hashes are not known on every tracker).
pub fn attachment_fingerprint(file_name: &str, size: u64) -> u64 {
    let mut h = Xxh3::new();
    put_str(&mut h, b'a', file_name);
    h.update(&size.to_le_bytes());
    h.digest()
}

/// The snapshot of the synced part of an issue that one side sends the other.
///
/// Replicas serialize to JSON. Reading one with a newer format version fails
/// with [`ErrorKind::Incompatible`]; unknown fields are ignored, so a newer
/// peer can add fields without breaking older ones.
///
/// ```
/// use twinsync::replica::Replica;
///
/// let json = r#"{"format": 1, "origin": {"instance": "https://a.example", "project": "SUP",
///   "id": "1", "key": "SUP-1"}, "updated": "2026-01-01T00:00:00Z", "issue_type": "Bug",
///   "summary": "Printer on fire", "description": {"format": "plain", "value": ""},
///   "comments": [], "attachments": [], "added_in_v9": true}"#;
/// let replica = Replica::from_json(json)?;
/// assert_eq!(replica.summary, "Printer on fire");
///
/// let newer = json.replace(r#""format": 1"#, r#""format": 9"#);
/// assert!(Replica::from_json(&newer).is_err());
/// # Ok::<(), twinsync::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Replica {
    /// The format version ([`REPLICA_FORMAT_VERSION`] when written by this crate).
    pub format: u32,
    /// The issue this replica was taken from.
    pub origin: Origin,
    /// When the origin issue last changed (for the newer-edit-wins policy).
    #[serde(with = "time::serde::rfc3339")]
    pub updated: OffsetDateTime,
    /// The issue type's name.
    pub issue_type: String,
    /// The summary.
    pub summary: String,
    /// The description.
    pub description: RichText,
    /// The comments, oldest first.
    pub comments: Vec<ReplicaComment>,
    /// The attachments' metadata, oldest first.
    pub attachments: Vec<ReplicaAttachment>,
    /// When the origin issue is itself a copy twinsync made of an issue of the
    /// receiving side, that issue's id (read from its marker).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mirror_of: Option<IssueId>,
    /// Further fields, for rule sets beyond Basic (such as `status`, `labels`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, Value>,
    /// The users the description and comments mention, as the origin's
    /// tracker shows them (sorted by id; filled by the engine on remote
    /// connections). The receiving side maps each through its
    /// [`UserMapping`](crate::model::UserMapping); a mention of a user not
    /// listed (a replica from an older peer) arrives as plain text. Not part
    /// of any fingerprint.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<UserProfile>,
}

impl Replica {
    /// An empty replica of `origin` (rules fill in the rest).
    pub fn new(origin: Origin, updated: OffsetDateTime) -> Self {
        Replica {
            format: REPLICA_FORMAT_VERSION,
            origin,
            updated,
            issue_type: String::new(),
            summary: String::new(),
            description: RichText::default(),
            comments: Vec::new(),
            attachments: Vec::new(),
            mirror_of: None,
            fields: BTreeMap::new(),
            users: Vec::new(),
        }
    }

    /// The replica as JSON.
    pub fn to_json(&self) -> String {
        // A replica holds only strings, numbers and JSON values: it always serializes.
        serde_json::to_string(self).unwrap_or_else(|e| unreachable!("replica serializes: {e}"))
    }

    /// Reads a replica from JSON.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Incompatible`] for a newer format version (the message names
    /// both), [`ErrorKind::InvalidInput`] for anything malformed.
    pub fn from_json(json: &str) -> Result<Self> {
        #[derive(Deserialize)]
        struct Probe {
            format: Option<u32>,
        }
        let probe: Probe = serde_json::from_str(json)
            .map_err(|e| Error::new(ErrorKind::InvalidInput, format!("malformed replica: {e}")))?;
        match probe.format {
            None => Err(Error::new(
                ErrorKind::InvalidInput,
                "malformed replica: no format version",
            )),
            Some(v) if v > REPLICA_FORMAT_VERSION => Err(Error::new(
                ErrorKind::Incompatible,
                format!(
                    "replica format {v} is newer than this node reads ({REPLICA_FORMAT_VERSION}); upgrade twinsync"
                ),
            )),
            Some(_) => serde_json::from_str(json).map_err(|e| {
                Error::new(ErrorKind::InvalidInput, format!("malformed replica: {e}"))
            }),
        }
    }
}

/// A field's value as rules see it, in the side's own terms.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum FieldValue {
    /// Nothing (an unset field).
    Empty,
    /// A line of text (summary, issue type, status).
    Text(String),
    /// Rich text (description).
    Rich(RichText),
    /// A set of strings (labels), sorted.
    List(Vec<String>),
}

impl FieldValue {
    /// The value's fingerprint.
    pub fn fingerprint(&self) -> u64 {
        let mut h = Xxh3::new();
        match self {
            FieldValue::Empty => h.update(b"e"),
            FieldValue::Text(s) => put_str(&mut h, b't', s),
            FieldValue::Rich(r) => put_rich(&mut h, r),
            FieldValue::List(items) => {
                h.update(b"l");
                h.update(&(items.len() as u64).to_le_bytes());
                for item in items {
                    put_str(&mut h, b's', item);
                }
            }
        }
        h.digest()
    }

    /// A short human-readable rendering, for plan previews and conflicts.
    pub fn preview(&self) -> String {
        let text = match self {
            FieldValue::Empty => return "(empty)".to_owned(),
            FieldValue::Text(s) => s.clone(),
            FieldValue::Rich(r) => r.to_plain_text(),
            FieldValue::List(items) => items.join(", "),
        };
        let one_line = text.replace('\n', " ⏎ ");
        let mut chars = one_line.chars();
        let short: String = chars.by_ref().take(60).collect();
        if chars.next().is_some() {
            format!("{short:?}…")
        } else {
            format!("{short:?}")
        }
    }
}

/// The fingerprint of rich text (a comment body or a description).
pub fn rich_fingerprint(text: &RichText) -> u64 {
    let mut h = Xxh3::new();
    put_rich(&mut h, text);
    h.digest()
}

fn put_str(h: &mut Xxh3, tag: u8, s: &str) {
    h.update(&[tag]);
    h.update(&(s.len() as u64).to_le_bytes());
    h.update(s.as_bytes());
}

fn put_rich(h: &mut Xxh3, text: &RichText) {
    match text {
        RichText::Plain(s) => put_str(h, b'p', s),
        RichText::Adf(doc) => {
            h.update(b"j");
            put_json(h, doc);
        }
    }
}

fn put_json(h: &mut Xxh3, value: &Value) {
    match value {
        Value::Null => h.update(b"n"),
        Value::Bool(b) => h.update(if *b { b"T" } else { b"F" }),
        Value::Number(n) => put_str(h, b'#', &n.to_string()),
        Value::String(s) => put_str(h, b'"', s),
        Value::Array(items) => {
            h.update(b"[");
            h.update(&(items.len() as u64).to_le_bytes());
            for item in items {
                put_json(h, item);
            }
        }
        Value::Object(map) => {
            h.update(b"{");
            h.update(&(map.len() as u64).to_le_bytes());
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            for key in keys {
                put_str(h, b'k', key);
                put_json(h, &map[key]);
            }
        }
    }
}

/// A replica's fingerprints under a rule set: one per field, one per comment
/// and attachment, and one over everything (to skip unchanged replicas at once).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Fingerprints {
    /// Over everything below.
    pub whole: u64,
    /// Per rule field, by field name.
    pub fields: BTreeMap<String, u64>,
    /// Per comment body, in the replica's order.
    pub comments: Vec<u64>,
    /// Per attachment, in the replica's order.
    pub attachments: Vec<u64>,
}

impl Fingerprints {
    /// Computes `whole` from the parts and the replica's ids.
    pub(crate) fn seal(mut self, replica: &Replica) -> Self {
        let mut h = Xxh3::new();
        for (name, fp) in &self.fields {
            put_str(&mut h, b'f', name);
            h.update(&fp.to_le_bytes());
        }
        // `mirror_of` is left out: it comes from a marker that never changes,
        // and trackers whose searches return no comment properties could not
        // reproduce it, so an unchanged issue would look changed.
        for (c, fp) in replica.comments.iter().zip(&self.comments) {
            put_str(&mut h, b'c', c.id.as_str());
            h.update(&fp.to_le_bytes());
        }
        for (a, fp) in replica.attachments.iter().zip(&self.attachments) {
            put_str(&mut h, b'a', a.id.as_str());
            h.update(&fp.to_le_bytes());
        }
        self.whole = h.digest();
        self
    }
}

/// The marker twinsync stores (as the [`MARKER_PROPERTY`] entity property) on
/// every issue and comment it creates, in the same request that creates it.
///
/// It names the connection and the origin, so that after a lost answer or a
/// lost state store the engine finds what it created instead of creating it again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Marker {
    /// The connection that created the entity.
    pub connection: ConnectionId,
    /// The origin issue's id on the other side.
    pub origin_issue: IssueId,
    /// For a comment: the origin comment's id on the other side.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin_comment: Option<CommentId>,
    /// The id of the operation that created it.
    pub op: String,
    /// For a comment: the attribution header it was written with (absent in
    /// markers of older versions and of copies written without one). Reading
    /// the comment strips its first block only when it equals this header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<crate::rules::Header>,
}

impl Marker {
    /// The marker as a property value.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or_else(|e| unreachable!("marker serializes: {e}"))
    }

    /// Reads the marker from an entity's properties, if it carries one of `connection`.
    pub fn find(properties: &BTreeMap<String, Value>, connection: &ConnectionId) -> Option<Marker> {
        let marker: Marker =
            serde_json::from_value(properties.get(MARKER_PROPERTY)?.clone()).ok()?;
        (&marker.connection == connection).then_some(marker)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::ids as lit;
    use serde_json::json;

    #[test]
    fn fingerprints_are_stable_across_runs_and_platforms() {
        // Fixed values: a change here would invalidate every stored twin state.
        assert_eq!(
            FieldValue::Text("Printer on fire".into()).fingerprint(),
            0xf55c_3666_a625_7d00
        );
        assert_eq!(
            FieldValue::Empty.fingerprint(),
            FieldValue::Empty.fingerprint()
        );
        assert_ne!(
            FieldValue::Text("a".into()).fingerprint(),
            FieldValue::List(vec!["a".into()]).fingerprint()
        );
    }

    #[test]
    fn json_key_order_does_not_change_a_fingerprint() {
        let a: Value = serde_json::from_str(r#"{"type":"doc","version":1,"content":[]}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"content":[],"version":1,"type":"doc"}"#).unwrap();
        assert_eq!(
            rich_fingerprint(&RichText::Adf(a)),
            rich_fingerprint(&RichText::Adf(b))
        );
        assert_ne!(
            rich_fingerprint(&RichText::plain("x")),
            rich_fingerprint(&RichText::Adf(json!({"type": "doc", "content": []})))
        );
    }

    #[test]
    fn text_boundaries_matter() {
        let ab_c = FieldValue::List(vec!["ab".into(), "c".into()]).fingerprint();
        let a_bc = FieldValue::List(vec!["a".into(), "bc".into()]).fingerprint();
        assert_ne!(ab_c, a_bc);
    }

    #[test]
    fn malformed_replicas_are_rejected_clearly() {
        let err = Replica::from_json("{").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        let err = Replica::from_json(r#"{"summary": "x"}"#).unwrap_err();
        assert!(err.to_string().contains("no format version"), "{err}");
        let err = Replica::from_json(r#"{"format": 2}"#).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Incompatible);
        assert!(
            err.to_string().contains("format 2") && err.to_string().contains("(1)"),
            "{err}"
        );
    }

    #[test]
    fn a_replica_with_an_empty_or_malformed_id_is_refused() {
        let replica = Replica::new(
            Origin {
                instance: InstanceUrl::parse("https://a.example").unwrap(),
                project: lit::project("SUP"),
                id: lit::issue_id("10001"),
                key: lit::key("SUP-1"),
            },
            time::macros::datetime!(2026-01-01 0:00 UTC),
        );
        let json = replica.to_json();
        assert_eq!(
            Replica::from_json(&json).unwrap(),
            replica,
            "valid ids round-trip"
        );
        for (from, to, want) in [
            (
                r#""key":"SUP-1""#,
                r#""key":"""#,
                r#"issue key "" is empty"#,
            ),
            (
                r#""key":"SUP-1""#,
                r#""key":"SUP""#,
                r#"issue key "SUP" is not a project key"#,
            ),
            (
                r#""project":"SUP""#,
                r#""project":"""#,
                r#"project key "" is empty"#,
            ),
            (r#""id":"10001""#, r#""id":"""#, r#"issue id "" is empty"#),
        ] {
            assert!(json.contains(from), "{json}");
            let err = Replica::from_json(&json.replace(from, to)).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
            assert!(err.to_string().contains(want), "{err}");
        }
    }

    #[test]
    fn markers_round_trip_and_belong_to_one_connection() {
        let marker = Marker {
            connection: ConnectionId::parse("SUP_to_DEV").unwrap(),
            origin_issue: lit::issue_id("10001"),
            origin_comment: Some(lit::comment_id("10005")),
            op: "op-1".into(),
            header: None,
        };
        let mut props = BTreeMap::new();
        props.insert(MARKER_PROPERTY.to_owned(), marker.to_value());
        assert_eq!(
            Marker::find(&props, &ConnectionId::parse("SUP_to_DEV").unwrap()),
            Some(marker)
        );
        assert_eq!(
            Marker::find(&props, &ConnectionId::parse("other").unwrap()),
            None
        );
        props.insert(MARKER_PROPERTY.to_owned(), json!("garbage"));
        assert_eq!(
            Marker::find(&props, &ConnectionId::parse("SUP_to_DEV").unwrap()),
            None
        );
    }
}
