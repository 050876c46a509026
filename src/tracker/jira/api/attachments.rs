//! Attachments: list, upload (multipart), download (following the redirect), delete.

use reqwest::Method;
use serde_json::Value;

use super::super::error::JiraError;
use super::super::mapping::{self, Flavor};
use super::{Jira, op, unexpected};
use crate::error::Result;
use crate::model::{AttachmentId, AttachmentMeta, IssueId};
use crate::tracker::NewAttachment;

impl Jira {
    pub(crate) async fn attachments(&self, issue: &IssueId) -> Result<Vec<AttachmentMeta>> {
        let v = self
            .client
            .json(
                self.call(Method::GET, "issue/{}", &["issue", issue.as_str()])
                    .query("fields", "attachment"),
            )
            .await
            .map_err(|e| op(e, "list attachments").with_issue(issue))?;
        mapping::attachments(v.get("fields").unwrap_or(&Value::Null))
            .map_err(|e| op(e, "list attachments").with_issue(issue))
    }

    pub(crate) async fn download_attachment(&self, id: &AttachmentId) -> Result<Vec<u8>> {
        let context = |e: JiraError| op(e, "download attachment").with_context("attachment", id);
        let call = match self.flavor {
            Flavor::Cloud => self.call(
                Method::GET,
                "attachment/content/{}",
                &["attachment", "content", id.as_str()],
            ),
            Flavor::DataCenter => {
                let meta = self
                    .client
                    .json(self.call(Method::GET, "attachment/{}", &["attachment", id.as_str()]))
                    .await
                    .map_err(context)?;
                let url = meta
                    .get("content")
                    .and_then(Value::as_str)
                    .ok_or_else(|| unexpected("get attachment"))?;
                self.client.same_origin_call(url).map_err(context)?
            }
        };
        let (_, body) = self.client.send(call).await.map_err(context)?;
        Ok(body)
    }

    pub(crate) async fn upload_attachment(
        &self,
        issue: &IssueId,
        file: &NewAttachment,
    ) -> Result<AttachmentMeta> {
        let v = self
            .client
            .json(
                self.call(
                    Method::POST,
                    "issue/{}/attachments",
                    &["issue", issue.as_str(), "attachments"],
                )
                .issue(issue.as_str())
                .file(file.clone()),
            )
            .await
            .map_err(|e| {
                op(e, "upload attachment")
                    .with_issue(issue)
                    .with_context("file", &file.file_name)
            })?;
        let first = v
            .as_array()
            .and_then(|a| a.first())
            .ok_or_else(|| unexpected("upload attachment").with_issue(issue))?;
        mapping::attachment(first).map_err(|e| op(e, "upload attachment").with_issue(issue))
    }

    pub(crate) async fn delete_attachment(&self, id: &AttachmentId) -> Result<()> {
        self.client
            .send(self.call(
                Method::DELETE,
                "attachment/{}",
                &["attachment", id.as_str()],
            ))
            .await
            .map_err(|e| op(e, "delete attachment").with_context("attachment", id))?;
        Ok(())
    }
}
