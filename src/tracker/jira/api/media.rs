//! Images in bodies: Jira's own references ⇄ the neutral form of
//! [`model::media`](crate::model::media).
//!
//! Jira Cloud names a media file in a `media` node, not an attachment; the
//! media id of an attachment is learned from its content URL's redirect
//! (`GET /rest/api/3/attachment/content/{id}` answers 303 with a `Location`
//! holding `/file/<media id>/`), read without downloading the file. The pair
//! never changes, so it is cached, and looked up only when a body holds media
//! ids not known yet. Jira Data Center names the file by name in wiki markup
//! (`!file.png|thumbnail!`, see [`markup`](super::super::markup)).

use std::collections::HashMap;
use std::sync::Mutex;

use reqwest::Method;
use serde_json::{Map, Value};

use super::super::mapping::Flavor;
use super::super::markup::WIKI_FILE_COLLECTION;
use super::{Jira, op};
use crate::error::{ErrorKind, Result};
use crate::model::media::{MediaAction, MediaRef, map_media, media_refs, placeholder};
use crate::model::{AttachmentId, AttachmentMeta, Comment, Issue, IssueId, RichText};

/// More cached pairs than this and the cache starts again.
const MAX_CACHED: usize = 100_000;

/// Attachment id → media id, as Jira Cloud answered (never changes).
#[derive(Debug, Default)]
pub(crate) struct MediaCache(Mutex<HashMap<AttachmentId, String>>);

impl MediaCache {
    fn get(&self, id: &AttachmentId) -> Option<String> {
        self.lock().get(id).cloned()
    }

    fn put(&self, id: AttachmentId, media: String) {
        let mut map = self.lock();
        if map.len() >= MAX_CACHED {
            map.clear();
        }
        map.insert(id, media);
    }

    fn attachment_of(&self, media: &str) -> Option<AttachmentId> {
        self.lock()
            .iter()
            .find(|(_, m)| m.as_str() == media)
            .map(|(a, _)| a.clone())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<AttachmentId, String>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The media id in a content redirect's location (`…/file/<media id>/…`).
pub(crate) fn media_id_in(location: &str) -> Option<String> {
    let path = location.split(['?', '#']).next()?;
    let mut segments = path.split('/');
    segments.find(|s| *s == "file")?;
    segments
        .next()
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
}

/// A Cloud media node's media id (a file node without a neutral reference).
fn media_id_of(attrs: &Map<String, Value>) -> Option<&str> {
    if attrs.get("type").and_then(Value::as_str) != Some("file")
        || attrs.contains_key(crate::model::media::ATTACHMENT_ATTR)
        || attrs.get("collection").and_then(Value::as_str) == Some(WIKI_FILE_COLLECTION)
    {
        return None;
    }
    attrs
        .get("id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

fn bodies(issue: &Issue) -> impl Iterator<Item = &RichText> {
    std::iter::once(&issue.description).chain(issue.comments.iter().map(|c| &c.body))
}

impl Jira {
    /// The media id of an attachment (cached), or `None` when Jira has no
    /// such attachment.
    async fn media_id(&self, id: &AttachmentId) -> Result<Option<String>> {
        if let Some(media) = self.media.get(id) {
            return Ok(Some(media));
        }
        let call = self.call(
            Method::GET,
            "attachment/content/{}",
            &["attachment", "content", id.as_str()],
        );
        let location = match self.client.location(call).await {
            Ok(location) => location,
            Err(e) if e.http_status() == Some(404) => return Ok(None),
            Err(e) => {
                return Err(op(e, "find an attachment's media id").with_context("attachment", id));
            }
        };
        let media = location.as_deref().and_then(media_id_in);
        if let Some(media) = &media {
            self.media.put(id.clone(), media.clone());
        }
        Ok(media)
    }

    /// Rewrites the images of `issue` (read from Jira) that show its own
    /// attachments into the neutral form.
    pub(crate) async fn neutral_issue(&self, issue: &mut Issue) -> Result<()> {
        if !bodies(issue).any(crate::rules::has_media_refs) {
            return Ok(());
        }
        let by_media = match self.flavor {
            Flavor::Cloud => {
                let mut wanted = Vec::new();
                for body in bodies(issue) {
                    map_media(body, &mut |attrs| {
                        if let Some(m) = media_id_of(attrs) {
                            wanted.push(m.to_owned());
                        }
                        MediaAction::Keep
                    });
                }
                if wanted.is_empty() {
                    return Ok(());
                }
                self.media_ids(&issue.attachments, &wanted).await?
            }
            Flavor::DataCenter => HashMap::new(),
        };
        let attachments = issue.attachments.clone();
        let neutral = |text: &RichText| {
            map_media(text, &mut |attrs| {
                let found = match self.flavor {
                    Flavor::Cloud => media_id_of(attrs).and_then(|m| by_media.get(m)).cloned(),
                    Flavor::DataCenter => by_name(attrs, &attachments),
                };
                if let Some(id) = found {
                    MediaRef::Attachment(id).set_on(attrs);
                }
                MediaAction::Keep
            })
        };
        issue.description = neutral(&issue.description);
        for c in &mut issue.comments {
            c.body = neutral(&c.body);
        }
        Ok(())
    }

    /// Media id → attachment id for the attachments of an issue, looking up
    /// only until every id in `wanted` is found.
    async fn media_ids(
        &self,
        attachments: &[AttachmentMeta],
        wanted: &[String],
    ) -> Result<HashMap<String, AttachmentId>> {
        let mut out = HashMap::new();
        let mut unknown = Vec::new();
        for a in attachments {
            match self.media.get(&a.id) {
                Some(m) => {
                    out.insert(m, a.id.clone());
                }
                None => unknown.push(&a.id),
            }
        }
        for id in unknown {
            if wanted.iter().all(|w| out.contains_key(w)) {
                break;
            }
            if let Some(m) = self.media_id(id).await? {
                out.insert(m, id.clone());
            }
        }
        Ok(out)
    }

    /// A comment Jira answered a write with, its images in the neutral form
    /// as far as the cache knows them.
    pub(crate) fn neutral_comment(&self, mut comment: Comment) -> Comment {
        if self.flavor == Flavor::Cloud && crate::rules::has_media_refs(&comment.body) {
            comment.body = map_media(&comment.body, &mut |attrs| {
                if let Some(id) = media_id_of(attrs).and_then(|m| self.media.attachment_of(m)) {
                    MediaRef::Attachment(id).set_on(attrs);
                }
                MediaAction::Keep
            });
        }
        comment
    }

    /// `body` as this Jira shows images: Cloud with media ids, Data Center
    /// with file names. An image whose attachment `issue` lacks becomes its
    /// placeholder text.
    pub(crate) async fn native_body(
        &self,
        issue: Option<&IssueId>,
        body: &RichText,
    ) -> Result<RichText> {
        let refs: Vec<AttachmentId> = media_refs(body)
            .into_iter()
            .filter_map(|r| match r {
                MediaRef::Attachment(id) => Some(id),
                _ => None,
            })
            .collect();
        let files = media_refs(body)
            .iter()
            .any(|r| matches!(r, MediaRef::File { .. }));
        if refs.is_empty() && !files {
            return Ok(body.clone());
        }
        // id → (media id for Cloud, file name for Data Center)
        let mut native: HashMap<AttachmentId, String> = HashMap::new();
        match self.flavor {
            Flavor::Cloud => {
                for id in refs {
                    if let Some(m) = self.media_id(&id).await? {
                        native.insert(id, m);
                    }
                }
            }
            Flavor::DataCenter if !refs.is_empty() => {
                let attachments = match issue {
                    Some(issue) => match self.attachments(issue).await {
                        Ok(a) => a,
                        Err(e) if e.kind() == ErrorKind::NotFound => Vec::new(),
                        Err(e) => return Err(e),
                    },
                    None => Vec::new(),
                };
                for a in attachments {
                    native.insert(a.id, a.file_name);
                }
            }
            Flavor::DataCenter => {}
        }
        Ok(map_media(
            body,
            &mut |attrs| match MediaRef::of_attrs(attrs) {
                MediaRef::Attachment(id) => match native.get(&id) {
                    Some(value) => {
                        attrs.remove(crate::model::media::ATTACHMENT_ATTR);
                        attrs.insert("type".into(), "file".into());
                        match self.flavor {
                            Flavor::Cloud => {
                                attrs.insert("id".into(), value.clone().into());
                                attrs.insert("collection".into(), "".into());
                            }
                            Flavor::DataCenter => {
                                attrs.insert("id".into(), value.clone().into());
                                attrs.insert("collection".into(), WIKI_FILE_COLLECTION.into());
                            }
                        }
                        MediaAction::Keep
                    }
                    None => MediaAction::Text(placeholder(&format!("attachment {id}"))),
                },
                MediaRef::File { file_name, .. } => MediaAction::Text(placeholder(&file_name)),
                MediaRef::Other => MediaAction::Keep,
            },
        ))
    }
}

/// The newest attachment named as a wiki image names it.
fn by_name(attrs: &Map<String, Value>, attachments: &[AttachmentMeta]) -> Option<AttachmentId> {
    if attrs.get("collection").and_then(Value::as_str) != Some(WIKI_FILE_COLLECTION) {
        return None;
    }
    let name = attrs.get("id").and_then(Value::as_str)?;
    attachments
        .iter()
        .rev()
        .find(|a| a.file_name == name)
        .map(|a| a.id.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_ids_are_read_from_content_redirects() {
        assert_eq!(
            media_id_in("https://api.media.atlassian.com/file/5f1c-77/binary?token=x&name=a.png")
                .as_deref(),
            Some("5f1c-77")
        );
        assert_eq!(
            media_id_in("http://127.0.0.1:9/file/abc/").as_deref(),
            Some("abc")
        );
        assert_eq!(
            media_id_in("https://x.example/secure/attachment/1/a.png"),
            None
        );
        assert_eq!(media_id_in("https://x.example/file/"), None);
    }
}
