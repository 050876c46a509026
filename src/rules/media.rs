//! Images in rich text as rules see them: each reference to an attachment of
//! the issue becomes "the attachment (file name, size) of this issue"
//! ([`MediaRef::File`]), so replicas, field values and fingerprints never
//! depend on either side's attachment ids (see [`model::media`](crate::model::media)).

use crate::model::media::{MediaAction, MediaRef, map_media, placeholder};

/// What the placeholder of an image whose attachment is gone names.
const MISSING: &str = "missing attachment";
use crate::model::{AttachmentMeta, Issue, RichText};

/// `text` with every neutral reference to one of `attachments` in its file
/// form, and one to an attachment the issue no longer has as the placeholder
/// `[image: missing attachment]`; other media nodes (and file forms already)
/// are kept.
///
/// The rules' outgoing values and the values they read from the local issue
/// ([`SyncRule::current`](super::SyncRule::current), the planner's comment
/// fingerprints) both go through it, so a body the sync wrote reads back equal.
///
/// ```
/// use serde_json::json;
/// use twinsync::model::media::{MediaRef, media_refs};
/// use twinsync::model::RichText;
/// use twinsync::rules::media_by_file;
///
/// let body = RichText::adf(json!({"type": "doc", "version": 1, "content": [
///     {"type": "mediaSingle", "content": [
///         {"type": "media", "attrs": {"type": "file", "attachment": "10001"}}]}]}))?;
/// # let attachment = twinsync::model::AttachmentMeta {
/// #     id: "10001".parse()?, file_name: "shot.png".into(), mime_type: "image/png".into(),
/// #     size: 42, sha256: None, created: time::OffsetDateTime::UNIX_EPOCH,
/// #     author: twinsync::model::UserRef::new("u".parse()?, "U") };
/// let replica_form = media_by_file(&body, &[attachment]);
/// assert_eq!(media_refs(&replica_form), [MediaRef::File { file_name: "shot.png".into(), size: 42 }]);
/// # Ok::<(), twinsync::Error>(())
/// ```
pub fn media_by_file(text: &RichText, attachments: &[AttachmentMeta]) -> RichText {
    if !has_media_refs(text) {
        return text.clone();
    }
    map_media(text, &mut |attrs| {
        if let MediaRef::Attachment(id) = MediaRef::of_attrs(attrs) {
            match attachments.iter().find(|a| a.id == id) {
                Some(a) => MediaRef::File {
                    file_name: a.file_name.clone(),
                    size: a.size,
                }
                .set_on(attrs),
                // Its attachment is gone: it shows nothing, on either side.
                None => return MediaAction::Text(placeholder(MISSING)),
            }
        }
        MediaAction::Keep
    })
}

/// `issue` with its description and comment bodies in the file form of
/// [`media_by_file`] (what the planner compares).
pub fn issue_by_file(issue: &Issue) -> Issue {
    let mut out = issue.clone();
    out.description = media_by_file(&issue.description, &issue.attachments);
    for c in &mut out.comments {
        c.body = media_by_file(&c.body, &issue.attachments);
    }
    out
}

/// Whether `text` may hold media nodes (a cheap check that skips most bodies).
pub(crate) fn has_media_refs(text: &RichText) -> bool {
    match text {
        RichText::Plain(_) => false,
        RichText::Adf(doc) => any_media(doc),
    }
}

fn any_media(node: &serde_json::Value) -> bool {
    node.get("type")
        .and_then(serde_json::Value::as_str)
        .is_some_and(|t| t.starts_with("media"))
        || node
            .get("content")
            .and_then(serde_json::Value::as_array)
            .is_some_and(|c| c.iter().any(any_media))
}
