//! Conformance: images that show the issue's own attachments.

use serde_json::json;

use crate::model::RichText;
use crate::model::media::{MediaRef, media_refs};
use crate::testkit::TrackerFixture;
use crate::tracker::{IssueUpdate, NewAttachment, NewComment};

/// A description and a comment showing an attachment of their issue (the
/// neutral form of [`model::media`](crate::model::media)) read back naming
/// that attachment, with their text; the tracker's own media ids never show.
pub async fn attachment_references_round_trip(f: &TrackerFixture) {
    let (id, _) = super::create(f, &super::unique("images")).await;
    if !f.tracker.capabilities().attachments {
        return;
    }
    let file = NewAttachment {
        file_name: "shot.png".to_owned(),
        mime_type: "image/png".to_owned(),
        content: b"not really a png".to_vec(),
    };
    let meta = f
        .tracker
        .upload_attachment(&id, &file)
        .await
        .expect("upload_attachment()");
    let body = |text: &str| {
        RichText::adf(json!({"type": "doc", "version": 1, "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": text}]},
            {"type": "mediaSingle", "attrs": {"layout": "center"}, "content": [
                {"type": "media", "attrs": {"type": "file", "attachment": meta.id.as_str()}}]}
        ]}))
        .expect("an adf document")
    };
    f.tracker
        .update_issue(&id, &IssueUpdate::new().description(body("the smoke:")))
        .await
        .expect("update_issue() with an image");
    f.tracker
        .add_comment(&id, &NewComment::public(body("see this")))
        .await
        .expect("add_comment() with an image");
    let issue = f.tracker.issue(&id).await.expect("issue()");
    let want = [MediaRef::Attachment(meta.id.clone())];
    assert_eq!(
        media_refs(&issue.description),
        want,
        "the description shows the attachment: {:?}",
        issue.description
    );
    assert_eq!(
        issue.description.to_plain_text().lines().next(),
        Some("the smoke:")
    );
    let comment = issue.comments.last().expect("the comment");
    assert_eq!(
        media_refs(&comment.body),
        want,
        "the comment shows the attachment: {:?}",
        comment.body
    );
    assert_eq!(
        comment.body.to_plain_text().lines().next(),
        Some("see this")
    );
}
