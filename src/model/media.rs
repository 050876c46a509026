//! Images and files shown in rich text, and the tracker-neutral way an
//! [`Issue`](super::Issue) names the attachment one shows.
//!
//! Jira Cloud shows an image in a description or a comment as an ADF `media`
//! node (inside `mediaSingle`, `mediaGroup`) or a `mediaInline` node, whose
//! `attrs.id` names a *media file*, not an attachment. Ids differ on every
//! site, so twinsync carries such a reference in three forms:
//!
//! | where | the node's `attrs` | read as |
//! |---|---|---|
//! | an [`Issue`](super::Issue) read from any tracker, and bodies written to one ([`IssueUpdate`](crate::tracker::IssueUpdate), [`NewIssue`](crate::tracker::NewIssue), [`NewComment`](crate::tracker::NewComment)) | `{"type": "file", "attachment": "<attachment id>"}` | [`MediaRef::Attachment`]: that attachment of the same issue |
//! | a [`Replica`](crate::replica::Replica), and the values rules compare | `{"type": "file", "attachment": {"fileName": "a.png", "size": 1234}}` | [`MediaRef::File`]: the attachment of this issue with that file name and size |
//! | anything else (external images, files of other issues) | kept as the tracker gave it | [`MediaRef::Other`] |
//!
//! Other attributes (`width`, `height`, `alt`) are kept. Adapters translate the
//! neutral form to their own: Jira Cloud to the attachment's media id, Jira
//! Data Center to `!file.png|thumbnail!` wiki markup. The outgoing rules turn
//! each neutral reference into its file form (attachments are matched across
//! sides by file name and size already), so replicas and fingerprints never
//! depend on either side's ids; the receiving side turns it back into its own
//! copy of that attachment. A reference that cannot be shown there becomes the
//! visible [`placeholder`] text, never a reference to nothing.

use serde_json::{Map, Value, json};

use super::{AttachmentId, RichText};

/// The attribute of a `media` (or `mediaInline`) node that names an attachment.
pub const ATTACHMENT_ATTR: &str = "attachment";

/// The `collection` of a media node that names a file of the issue by its
/// name, as Jira wiki markup does (`!file.png!`): its `id` is the file name.
/// Such a node is valid ADF; adapters resolve it to the attachment.
pub const WIKI_FILE_COLLECTION: &str = "twinsync:wiki-file";

/// What one media node shows.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum MediaRef {
    /// An attachment of the same issue, by its id on this tracker (the neutral form).
    Attachment(AttachmentId),
    /// The attachment of the same issue with this file name and size (the replica form).
    File {
        /// The file name.
        file_name: String,
        /// The size in bytes.
        size: u64,
    },
    /// Something else: an external image, a file of another issue, a media id
    /// no attachment of the issue has.
    Other,
}

impl MediaRef {
    /// What the `attrs` of a media node show.
    pub fn of_attrs(attrs: &Map<String, Value>) -> MediaRef {
        match attrs.get(ATTACHMENT_ATTR) {
            Some(Value::String(id)) => id.parse().map_or(MediaRef::Other, MediaRef::Attachment),
            Some(Value::Object(file)) => {
                match (
                    file.get("fileName").and_then(Value::as_str),
                    file.get("size").and_then(Value::as_u64),
                ) {
                    (Some(name), Some(size)) => MediaRef::File {
                        file_name: name.to_owned(),
                        size,
                    },
                    _ => MediaRef::Other,
                }
            }
            _ => MediaRef::Other,
        }
    }

    /// Writes this reference into `attrs` (replacing a tracker's own id);
    /// [`Other`](MediaRef::Other) leaves them as they are.
    pub fn set_on(&self, attrs: &mut Map<String, Value>) {
        let value = match self {
            MediaRef::Attachment(id) => json!(id.as_str()),
            MediaRef::File { file_name, size } => json!({"fileName": file_name, "size": size}),
            MediaRef::Other => return,
        };
        attrs.remove("id");
        attrs.remove("collection");
        attrs.remove("occurrenceKey");
        attrs.insert("type".into(), json!("file"));
        attrs.insert(ATTACHMENT_ATTR.into(), value);
    }
}

/// The visible text that stands for an image the receiving side cannot show:
/// `[image: name.png]`.
pub fn placeholder(file_name: &str) -> String {
    format!("[image: {file_name}]")
}

/// What to do with one media node, as [`map_media`] asks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MediaAction {
    /// Keep the node (with the attributes as the callback left them).
    Keep,
    /// Replace the node with this visible text (a paragraph for a block, text
    /// for an inline node).
    Text(String),
    /// Remove the node (a block left with no media goes too).
    Remove,
}

const BLOCK_MEDIA: &[&str] = &["mediaSingle", "mediaGroup"];

/// Calls `f` on the `attrs` of every `media` and `mediaInline` node of `text`,
/// in document order, letting it change them or replace the node with text.
/// Plain text has no media and is returned as it is.
pub fn map_media(
    text: &RichText,
    f: &mut dyn FnMut(&mut Map<String, Value>) -> MediaAction,
) -> RichText {
    match text {
        RichText::Plain(_) => text.clone(),
        RichText::Adf(doc) => {
            let mut doc = doc.clone();
            if let Some(content) = doc.get_mut("content").and_then(Value::as_array_mut) {
                map_content(content, f);
            }
            RichText::Adf(doc)
        }
    }
}

/// The media references of `text`, in document order.
pub fn media_refs(text: &RichText) -> Vec<MediaRef> {
    let mut out = Vec::new();
    map_media(text, &mut |attrs| {
        out.push(MediaRef::of_attrs(attrs));
        MediaAction::Keep
    });
    out
}

fn attrs_of(node: &mut Value) -> Option<&mut Map<String, Value>> {
    let obj = node.as_object_mut()?;
    if !obj.get("attrs").is_some_and(Value::is_object) {
        obj.insert("attrs".into(), json!({}));
    }
    obj.get_mut("attrs").and_then(Value::as_object_mut)
}

fn kind(node: &Value) -> &str {
    node.get("type").and_then(Value::as_str).unwrap_or("")
}

fn paragraph(text: &str) -> Value {
    json!({"type": "paragraph", "content": [{"type": "text", "text": text}]})
}

fn map_content(
    content: &mut Vec<Value>,
    f: &mut dyn FnMut(&mut Map<String, Value>) -> MediaAction,
) {
    let mut out = Vec::with_capacity(content.len());
    for mut node in content.drain(..) {
        let k = kind(&node).to_owned();
        if BLOCK_MEDIA.contains(&k.as_str()) {
            let mut texts = Vec::new();
            if let Some(children) = node.get_mut("content").and_then(Value::as_array_mut) {
                children.retain_mut(|child| {
                    if kind(child) != "media" {
                        return true;
                    }
                    match attrs_of(child).map(&mut *f) {
                        Some(MediaAction::Text(t)) => {
                            texts.push(t);
                            false
                        }
                        Some(MediaAction::Remove) => false,
                        _ => true,
                    }
                });
                let empty = children.iter().all(|c| kind(c) != "media");
                if !empty {
                    out.push(node);
                }
            }
            if !texts.is_empty() {
                out.push(paragraph(&texts.join(" ")));
            }
            continue;
        }
        if k == "media" || k == "mediaInline" {
            match attrs_of(&mut node).map(&mut *f) {
                Some(MediaAction::Text(t)) if k == "mediaInline" => {
                    out.push(json!({"type": "text", "text": t}));
                }
                Some(MediaAction::Text(t)) => out.push(paragraph(&t)),
                Some(MediaAction::Remove) => {}
                _ => out.push(node),
            }
            continue;
        }
        if let Some(children) = node.get_mut("content").and_then(Value::as_array_mut) {
            map_content(children, f);
        }
        out.push(node);
    }
    *content = out;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(content: Value) -> RichText {
        RichText::Adf(json!({"type": "doc", "version": 1, "content": content}))
    }

    #[test]
    fn the_three_forms_read_back() {
        let mut attrs = Map::new();
        attrs.insert("id".into(), json!("5f1c-media"));
        attrs.insert("collection".into(), json!(""));
        attrs.insert("width".into(), json!(300));
        assert_eq!(MediaRef::of_attrs(&attrs), MediaRef::Other);
        let neutral = MediaRef::Attachment("10001".parse().unwrap());
        neutral.set_on(&mut attrs);
        assert_eq!(MediaRef::of_attrs(&attrs), neutral);
        assert_eq!(attrs.get("id"), None, "the tracker's media id goes");
        assert_eq!(attrs.get("width"), Some(&json!(300)), "sizes stay");
        let file = MediaRef::File {
            file_name: "a.png".into(),
            size: 12,
        };
        file.set_on(&mut attrs);
        assert_eq!(MediaRef::of_attrs(&attrs), file);
    }

    #[test]
    fn placeholders_replace_block_group_and_inline_media() {
        let text = doc(json!([
            {"type": "paragraph", "content": [{"type": "text", "text": "before"}]},
            {"type": "mediaSingle", "attrs": {"layout": "center"}, "content": [
                {"type": "media", "attrs": {"type": "file", "attachment": "1"}}]},
            {"type": "mediaGroup", "content": [
                {"type": "media", "attrs": {"type": "file", "attachment": "2"}},
                {"type": "media", "attrs": {"type": "file", "attachment": "3"}}]},
            {"type": "paragraph", "content": [
                {"type": "text", "text": "see "},
                {"type": "mediaInline", "attrs": {"type": "file", "attachment": "4"}}]}
        ]));
        assert_eq!(media_refs(&text).len(), 4);
        let out = map_media(&text, &mut |attrs| match MediaRef::of_attrs(attrs) {
            MediaRef::Attachment(id) if id.as_str() != "3" => {
                MediaAction::Text(placeholder(&format!("f{id}.png")))
            }
            _ => MediaAction::Keep,
        });
        assert_eq!(
            out.to_plain_text(),
            "before\n[image: f1.png]\n\n[image: f2.png]\nsee [image: f4.png]"
        );
        assert_eq!(
            media_refs(&out),
            vec![MediaRef::Attachment("3".parse().unwrap())],
            "the kept image of the group stays"
        );
    }

    #[test]
    fn malformed_media_does_not_panic() {
        let text = doc(
            json!([{"type": "mediaSingle", "content": [{"type": "media"}, 5]},
            {"type": "mediaInline", "attrs": 7}, {"type": "media", "attrs": {"attachment": 5}}]),
        );
        assert_eq!(
            media_refs(&text),
            vec![MediaRef::Other, MediaRef::Other, MediaRef::Other]
        );
    }
}
