//! The domain model: identifiers, issue snapshots, comments, attachments, rich text
//! and projects, as every tracker adapter presents them.

mod fields;
pub(crate) use fields::ymd;
mod ids;
mod issue;
pub mod media;
mod node_url;
mod remote_link;
mod rich_text;
mod users;
mod workflow;

pub use crate::connection::ConnectionId;
pub use fields::{
    CustomValue, FieldKind, FieldMeta, IssueFields, IssueLink, IssueLinkType, LinkDirection,
    field_ids,
};
pub use ids::{AttachmentId, CommentId, InstanceUrl, IssueId, IssueKey, ProjectKey, UserId};
pub use issue::{
    AttachmentMeta, Comment, Issue, IssueRef, IssueType, ProjectInfo, Sha256, UserRef, Visibility,
};
pub use node_url::NodeUrl;
pub use remote_link::RemoteLink;
pub use rich_text::RichText;
pub use users::{UserMapping, UserProfile};
pub use workflow::{Transition, Workflow};
