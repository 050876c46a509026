//! Issue snapshots as a tracker returns them.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use super::{
    AttachmentId, CommentId, FieldMeta, IssueFields, IssueId, IssueKey, ProjectKey, RichText,
    UserId,
};
use crate::error::{Error, ErrorKind, Result};

/// A user as an issue, comment or attachment names them.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct UserRef {
    /// The account id on the tracker.
    pub id: UserId,
    /// The name shown to people.
    pub display_name: String,
}

impl UserRef {
    /// A user with an id and a display name.
    pub fn new(id: UserId, display_name: impl Into<String>) -> Self {
        UserRef {
            id,
            display_name: display_name.into(),
        }
    }
}

/// Who may see a comment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Everybody who can see the issue (Basic mode syncs every comment as public).
    #[default]
    Public,
    /// Restricted to a role or group (Jira Service Management's internal notes).
    Internal,
}

/// One comment of an issue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comment {
    /// The tracker's id of the comment.
    pub id: CommentId,
    /// Who wrote it.
    pub author: UserRef,
    /// The text.
    pub body: RichText,
    /// When it was written.
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    /// When it was last edited (equal to `created` if never).
    #[serde(with = "time::serde::rfc3339")]
    pub updated: OffsetDateTime,
    /// Who may see it.
    pub visibility: Visibility,
    /// Entity properties of the comment (sync markers live here).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub properties: BTreeMap<String, Value>,
}

/// The SHA-256 digest of an attachment's content.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Sha256(pub [u8; 32]);

impl Sha256 {
    /// The digest of `content`.
    pub fn of(content: &[u8]) -> Self {
        use sha2::Digest;
        Sha256(sha2::Sha256::digest(content).into())
    }

    /// Lowercase hexadecimal, 64 characters.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses 64 hexadecimal characters.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`] for anything else.
    pub fn from_hex(text: &str) -> Result<Self> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(text, &mut out).map_err(|e| {
            Error::new(
                ErrorKind::InvalidInput,
                format!("sha-256 must be 64 hexadecimal characters: {e}"),
            )
        })?;
        Ok(Sha256(out))
    }
}

impl fmt::Debug for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sha256({})", self.to_hex())
    }
}

impl fmt::Display for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl Serialize for Sha256 {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Sha256 {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Sha256::from_hex(&text).map_err(serde::de::Error::custom)
    }
}

/// Metadata of one attachment; the content is downloaded separately.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentMeta {
    /// The tracker's id of the attachment.
    pub id: AttachmentId,
    /// The file name as uploaded.
    pub file_name: String,
    /// The media type, such as `image/png`.
    pub mime_type: String,
    /// The size in bytes.
    pub size: u64,
    /// The SHA-256 of the content, when the tracker knows it (the in-memory
    /// tracker always does; Jira does not, so the engine computes it on download).
    pub sha256: Option<Sha256>,
    /// When it was attached.
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    /// Who attached it.
    pub author: UserRef,
}

/// A snapshot of one issue with its comments and attachment metadata.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Issue {
    /// The stable id.
    pub id: IssueId,
    /// The key, such as `DEV-42`.
    pub key: IssueKey,
    /// The project the issue is in.
    pub project: ProjectKey,
    /// The issue type's name, such as `Bug`.
    pub issue_type: String,
    /// The one-line summary.
    pub summary: String,
    /// The description.
    pub description: RichText,
    /// The comments, oldest first.
    pub comments: Vec<Comment>,
    /// The attachments' metadata, oldest first.
    pub attachments: Vec<AttachmentMeta>,
    /// The labels, sorted.
    pub labels: Vec<String>,
    /// The workflow status' name, such as `Open`.
    pub status: String,
    /// The fields beyond these: priority, people, dates, components,
    /// versions, parent, links and custom fields.
    #[serde(default, skip_serializing_if = "IssueFields::is_empty")]
    pub fields: IssueFields,
    /// Who created the issue.
    pub creator: Option<UserRef>,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    /// When anything in it last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated: OffsetDateTime,
    /// Entity properties (sync markers live here).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub properties: BTreeMap<String, Value>,
}

impl Issue {
    /// The comment with `id`, if present.
    pub fn comment(&self, id: &CommentId) -> Option<&Comment> {
        self.comments.iter().find(|c| &c.id == id)
    }

    /// The attachment with `id`, if present.
    pub fn attachment(&self, id: &AttachmentId) -> Option<&AttachmentMeta> {
        self.attachments.iter().find(|a| &a.id == id)
    }
}

/// The id and key of one issue, as twin state and replicas name it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct IssueRef {
    /// The stable id.
    pub id: IssueId,
    /// The key when last seen (keys change when an issue moves).
    pub key: IssueKey,
}

impl IssueRef {
    /// An id and a key.
    pub fn new(id: IssueId, key: IssueKey) -> Self {
        IssueRef { id, key }
    }
}

impl fmt::Display for IssueRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key.as_str())
    }
}

impl Issue {
    /// This issue's id and key.
    pub fn reference(&self) -> IssueRef {
        IssueRef::new(self.id.clone(), self.key.clone())
    }
}

/// An issue type of a project.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssueType {
    /// The tracker's id of the type.
    pub id: String,
    /// The name, such as `Bug` (names are matched case-insensitively).
    pub name: String,
}

/// What the engine needs to know about a project.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectInfo {
    /// The key, such as `DEV`.
    pub key: ProjectKey,
    /// The name shown to people.
    pub name: String,
    /// The issue types one can create in the project.
    pub issue_types: Vec<IssueType>,
    /// The project's default issue type, if one is set.
    pub default_issue_type: Option<String>,
    /// What the project says of its fields beyond the Basic ones (empty:
    /// the tracker does not tell).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldMeta>,
}

impl ProjectInfo {
    /// The project's metadata as the create screen of an issue of type
    /// `issue_type` sees it: a field that type's screen lacks is not
    /// [`on_create`](FieldMeta::on_create), and `required` says whether
    /// that type requires it.
    pub fn for_issue_type(&self, issue_type: &str) -> ProjectInfo {
        let mut view = self.clone();
        for field in &mut view.fields {
            field.on_create = field.on_create_for(issue_type);
            field.required = field.required_in(issue_type);
            field.required_for.clear();
            field.create_types.clear();
        }
        view
    }

    /// The project's issue type named `name` (case-insensitively), if it has one.
    pub fn issue_type(&self, name: &str) -> Option<&IssueType> {
        self.issue_types
            .iter()
            .find(|t| t.name.eq_ignore_ascii_case(name))
    }

    /// The metadata of the field with `id`, if the project has it.
    pub fn field(&self, id: &str) -> Option<&FieldMeta> {
        self.fields.iter().find(|f| f.id == id)
    }

    /// The metadata of the field named `name` (case-insensitively), if the
    /// project has one.
    pub fn field_named(&self, name: &str) -> Option<&FieldMeta> {
        self.fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }

    /// The names of the issue types, in the project's order.
    pub fn issue_type_names(&self) -> Vec<&str> {
        self.issue_types.iter().map(|t| t.name.as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::ids as lit;

    #[test]
    fn sha256_known_value_and_hex_round_trip() {
        let digest = Sha256::of(b"abc");
        assert_eq!(
            digest.to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(Sha256::from_hex(&digest.to_hex()).unwrap(), digest);
        assert_eq!(
            Sha256::from_hex("xyz").unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
    }

    #[test]
    fn issue_type_lookup_ignores_case() {
        let project = ProjectInfo {
            key: lit::project("DEV"),
            name: "Development".into(),
            issue_types: vec![IssueType {
                id: "1".into(),
                name: "Bug".into(),
            }],
            default_issue_type: None,
            fields: Vec::new(),
        };
        assert_eq!(project.issue_type("bug").map(|t| t.id.as_str()), Some("1"));
        assert!(project.issue_type("Epic").is_none());
    }
}
