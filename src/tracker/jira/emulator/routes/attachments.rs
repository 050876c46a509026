//! Attachment uploads, metadata, redirects and content.

use hyper::StatusCode;
use serde_json::{Value, json};

use super::super::render;
use super::super::{lock, multipart};
use super::{Api, Body, Reply, fail, from_error};
use crate::model::{AttachmentId, AttachmentMeta, Issue, ProjectKey};
use crate::tracker::{NewAttachment, Tracker};

impl Api<'_> {
    pub(super) async fn upload(&self, id: &str) -> Reply {
        if !self.req.xsrf_no_check {
            return fail(StatusCode::FORBIDDEN, "XSRF check failed");
        }
        let issue = match self.find_issue(id).await {
            Ok(issue) => issue,
            Err(reply) => return reply,
        };
        let parts = multipart::boundary(self.req.content_type)
            .and_then(|b| multipart::parse(self.req.body, &b));
        let Some(parts) = parts else {
            return fail(
                StatusCode::BAD_REQUEST,
                "The request is not a multipart upload.",
            );
        };
        let mut out = Vec::new();
        for part in parts.into_iter().filter(|p| p.name == "file") {
            let file = NewAttachment {
                file_name: part.file_name.unwrap_or_else(|| "file".to_owned()),
                mime_type: part
                    .content_type
                    .unwrap_or_else(|| "application/octet-stream".to_owned()),
                content: part.data,
            };
            match self.t.upload_attachment(&issue.id, &file).await {
                Ok(meta) => out.push(render::attachment(&self.ctx, &meta)),
                Err(err) => return from_error(&err),
            }
        }
        if out.is_empty() {
            return fail(
                StatusCode::BAD_REQUEST,
                "No file part named 'file' was sent.",
            );
        }
        Reply::json(StatusCode::OK, Value::Array(out))
    }

    pub(super) fn all_issues(&self) -> Vec<Issue> {
        let keys: Vec<ProjectKey> = lock(&self.shared.projects)
            .iter()
            .map(|(k, _)| k.clone())
            .collect();
        keys.iter()
            .flat_map(|k| self.shared.tracker.inspect_issues(k))
            .collect()
    }

    pub(super) fn find_attachment(&self, id: &AttachmentId) -> Option<AttachmentMeta> {
        self.all_issues()
            .into_iter()
            .flat_map(|i| i.attachments)
            .find(|a| &a.id == id)
    }

    pub(super) async fn attachment(&self, id: &AttachmentId) -> Reply {
        let missing = || {
            fail(
                StatusCode::NOT_FOUND,
                &format!("The attachment with id '{id}' does not exist"),
            )
        };
        let Some(meta) = self.find_attachment(id) else {
            return missing();
        };
        if self.req.method == "DELETE" {
            return match self.t.delete_attachment(id).await {
                Ok(()) => Reply::empty(StatusCode::NO_CONTENT),
                Err(err) => from_error(&err),
            };
        }
        let mut v = render::attachment(&self.ctx, &meta);
        if let Ok(n) = id.as_str().parse::<u64>() {
            v["id"] = json!(n);
        }
        v["properties"] = json!({});
        Reply::json(StatusCode::OK, v)
    }

    pub(super) fn content_redirect(&self, id: &AttachmentId) -> Reply {
        let Some(meta) = self.find_attachment(id) else {
            return fail(
                StatusCode::NOT_FOUND,
                &format!("The attachment with id '{id}' does not exist"),
            );
        };
        // As Jira Cloud: to the media file, whose id is in the path.
        let target = format!(
            "{}/file/{}/binary?name={}",
            self.ctx.base,
            super::super::media::media_id(&self.ctx.base, &meta.id),
            url::form_urlencoded::byte_serialize(meta.file_name.as_bytes()).collect::<String>()
        );
        if self.q("redirect") == Some("false") {
            return Reply {
                status: StatusCode::OK,
                body: Body::Empty,
                headers: Vec::new(),
            }
            .header("X-Twinsync-Content", target);
        }
        Reply::empty(StatusCode::SEE_OTHER).header("Location", target)
    }

    /// The attachment whose media id is `media`.
    pub(super) fn by_media_id(&self, media: &str) -> Option<AttachmentId> {
        self.all_issues()
            .into_iter()
            .flat_map(|i| i.attachments)
            .find(|a| super::super::media::media_id(&self.ctx.base, &a.id) == media)
            .map(|a| a.id)
    }

    /// After an edit of `before`: deletes the attachments whose last
    /// reference the edit removed (when the emulator models that).
    pub(super) async fn drop_unreferenced(&self, before: &Issue) {
        if !self.shared.delete_unreferenced {
            return;
        }
        let Ok(after) = self.find_issue(before.id.as_str()).await else {
            return;
        };
        let base = &self.ctx.base;
        let kept = super::super::media::referenced(base, &after);
        for id in super::super::media::referenced(base, before) {
            if !kept.contains(&id) && after.attachments.iter().any(|a| a.id == id) {
                // A failure here leaves the attachment: what Jira does is "may".
                let _ = self.t.delete_attachment(&id).await;
            }
        }
    }

    pub(super) async fn content(&self, id: &AttachmentId) -> Reply {
        let Some(meta) = self.find_attachment(id) else {
            return fail(
                StatusCode::NOT_FOUND,
                &format!("The attachment with id '{id}' does not exist"),
            );
        };
        match self.t.download_attachment(id).await {
            Ok(bytes) => Reply {
                status: StatusCode::OK,
                body: Body::Bytes(bytes, meta.mime_type),
                headers: Vec::new(),
            },
            Err(err) => from_error(&err),
        }
    }
}
