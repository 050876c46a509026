//! Images in descriptions and comments survive syncing, over real HTTP
//! against the loopback emulator with the real adapters and engine: twins
//! Cloud ⇄ Cloud (media nodes naming media files), Data Center ⇄ Data Center
//! (wiki `!file.png|thumbnail!`) and Cloud ⇄ Data Center (one project spoken
//! to through `JiraCloud`, the other through `JiraDataCenter`). People edit the text around the images on both
//! sides for many rounds, add, edit and delete comments with images; after
//! every round every image still shows on both sides (it names an attachment
//! of its own issue), no attachment was deleted (the emulator deletes an
//! attachment whose last reference an edit removes, as Jira may), and the
//! sync converges with no echo writes.

use std::sync::Arc;

use serde_json::{Value, json};
use twinsync::model::media::{MediaRef, media_refs};
use twinsync::model::{
    AttachmentId, AttachmentMeta, Comment, CommentId, Issue, IssueId, IssueKey, ProjectInfo,
    ProjectKey, RichText, UserId, UserProfile,
};
use twinsync::testkit::ids as lit;
use twinsync::testkit::jira::{JiraFlavor, JiraRig, JiraSite};
use twinsync::tracker::{
    Capabilities, CreatedIssue, InstanceInfo, IssueUpdate, MemoryTracker, NewAttachment,
    NewComment, NewIssue, Page, SearchPage, Tracker,
};

/// One emulator, project SUP spoken to as Jira Cloud (REST v3, ADF, media
/// ids) and DEV as Jira Data Center (REST v2, wiki markup): Cloud ⇄ Data
/// Center twins through the real adapters.
#[derive(Debug)]
struct CloudAndDataCenter {
    cloud: Arc<dyn Tracker>,
    dc: Arc<dyn Tracker>,
    contents: MemoryTracker,
}

impl CloudAndDataCenter {
    fn for_project(&self, project: &str) -> &dyn Tracker {
        if project == "DEV" {
            &*self.dc
        } else {
            &*self.cloud
        }
    }

    fn for_issue(&self, id: &IssueId) -> &dyn Tracker {
        let dev = self.contents.inspect_issues(&lit::project("DEV"));
        self.for_project(if dev.iter().any(|i| &i.id == id) {
            "DEV"
        } else {
            "SUP"
        })
    }

    fn for_attachment(&self, id: &AttachmentId) -> &dyn Tracker {
        let dev = self.contents.inspect_issues(&lit::project("DEV"));
        let on_dev = dev.iter().any(|i| i.attachment(id).is_some());
        self.for_project(if on_dev { "DEV" } else { "SUP" })
    }
}

#[async_trait::async_trait]
impl Tracker for CloudAndDataCenter {
    fn capabilities(&self) -> Capabilities {
        self.cloud.capabilities()
    }
    async fn instance(&self) -> twinsync::Result<InstanceInfo> {
        self.cloud.instance().await
    }
    async fn project(&self, key: &ProjectKey) -> twinsync::Result<ProjectInfo> {
        self.for_project(key.as_str()).project(key).await
    }
    async fn issue(&self, id: &IssueId) -> twinsync::Result<Issue> {
        self.for_issue(id).issue(id).await
    }
    async fn issue_by_key(&self, key: &IssueKey) -> twinsync::Result<Issue> {
        let project = key.as_str().split('-').next().unwrap_or("");
        self.for_project(project).issue_by_key(key).await
    }
    async fn search(&self, jql: &str, page: &Page) -> twinsync::Result<SearchPage> {
        let project = if jql.contains("\"DEV\"") {
            "DEV"
        } else {
            "SUP"
        };
        self.for_project(project).search(jql, page).await
    }
    async fn updated_since(
        &self,
        project: &ProjectKey,
        since: time::OffsetDateTime,
        page: &Page,
    ) -> twinsync::Result<SearchPage> {
        self.for_project(project.as_str())
            .updated_since(project, since, page)
            .await
    }
    async fn create_issue(&self, issue: &NewIssue) -> twinsync::Result<CreatedIssue> {
        self.for_project(issue.project.as_str())
            .create_issue(issue)
            .await
    }
    async fn update_issue(&self, id: &IssueId, update: &IssueUpdate) -> twinsync::Result<()> {
        self.for_issue(id).update_issue(id, update).await
    }
    async fn add_comment(&self, issue: &IssueId, c: &NewComment) -> twinsync::Result<Comment> {
        self.for_issue(issue).add_comment(issue, c).await
    }
    async fn update_comment(
        &self,
        issue: &IssueId,
        comment: &CommentId,
        body: &RichText,
    ) -> twinsync::Result<Comment> {
        self.for_issue(issue)
            .update_comment(issue, comment, body)
            .await
    }
    async fn delete_comment(&self, issue: &IssueId, comment: &CommentId) -> twinsync::Result<()> {
        self.for_issue(issue).delete_comment(issue, comment).await
    }
    async fn download_attachment(&self, id: &AttachmentId) -> twinsync::Result<Vec<u8>> {
        self.for_attachment(id).download_attachment(id).await
    }
    async fn upload_attachment(
        &self,
        issue: &IssueId,
        file: &NewAttachment,
    ) -> twinsync::Result<AttachmentMeta> {
        self.for_issue(issue).upload_attachment(issue, file).await
    }
    async fn delete_attachment(&self, id: &AttachmentId) -> twinsync::Result<()> {
        self.for_attachment(id).delete_attachment(id).await
    }
    async fn set_issue_property(
        &self,
        issue: &IssueId,
        key: &str,
        value: &Value,
    ) -> twinsync::Result<()> {
        self.for_issue(issue)
            .set_issue_property(issue, key, value)
            .await
    }
    async fn put_remote_link(
        &self,
        issue: &IssueId,
        link: &twinsync::model::RemoteLink,
    ) -> twinsync::Result<()> {
        self.for_issue(issue).put_remote_link(issue, link).await
    }
    async fn remote_links(
        &self,
        issue: &IssueId,
    ) -> twinsync::Result<Vec<twinsync::model::RemoteLink>> {
        self.for_issue(issue).remote_links(issue).await
    }
    async fn is_global_admin(&self, user: &UserId) -> twinsync::Result<bool> {
        self.cloud.is_global_admin(user).await
    }
    async fn is_project_admin(
        &self,
        user: &UserId,
        project: &ProjectKey,
    ) -> twinsync::Result<bool> {
        self.cloud.is_project_admin(user, project).await
    }
    async fn group_members(&self, group: &str) -> twinsync::Result<Option<Vec<UserId>>> {
        self.cloud.group_members(group).await
    }
    // It claims the cloud's capabilities, `users` among them, so it answers
    // user lookups too rather than the trait's `Unsupported`.
    async fn user_profile(&self, id: &UserId) -> twinsync::Result<UserProfile> {
        self.cloud.user_profile(id).await
    }
    async fn users_by_email(&self, email: &str) -> twinsync::Result<Vec<UserProfile>> {
        self.cloud.users_by_email(email).await
    }
}

fn cloud_and_data_center(site: &JiraSite) -> Arc<dyn Tracker> {
    Arc::new(CloudAndDataCenter {
        cloud: Arc::new(site.emulator().cloud().unwrap()),
        dc: Arc::new(site.emulator().data_center().unwrap()),
        contents: site.contents().clone(),
    })
}

fn image(id: &AttachmentId) -> Value {
    json!({"type": "mediaSingle", "attrs": {"layout": "center"}, "content": [
        {"type": "media", "attrs": {"type": "file", "attachment": id.as_str()}}]})
}

fn para(text: &str) -> Value {
    json!({"type": "paragraph", "content": [{"type": "text", "text": text}]})
}

fn doc(content: Vec<Value>) -> RichText {
    RichText::adf(json!({"type": "doc", "version": 1, "content": content})).unwrap()
}

/// The issue as the node's adapter reads it (images in the neutral form).
fn read(rig: &JiraRig, key: &str) -> Issue {
    let id = rig.issue(key).id;
    rig.block_on(rig.tracker.issue(&id)).unwrap()
}

fn attachment(issue: &Issue, name: &str) -> AttachmentId {
    issue
        .attachments
        .iter()
        .find(|a| a.file_name == name)
        .unwrap_or_else(|| panic!("{} has {name}", issue.key))
        .id
        .clone()
}

/// Every image of `key` shows one of its own attachments; returns their file
/// names, description first, then by comment.
fn shown(rig: &JiraRig, key: &str) -> Vec<String> {
    let issue = read(rig, key);
    let mut names = Vec::new();
    let bodies = std::iter::once(&issue.description).chain(issue.comments.iter().map(|c| &c.body));
    for body in bodies {
        assert!(
            !body.to_plain_text().contains("[image:"),
            "{key}: an image became text: {body:?}"
        );
        for r in media_refs(body) {
            let MediaRef::Attachment(id) = &r else {
                panic!("{key}: an image names no attachment of its issue: {r:?} in {body:?}");
            };
            let a = issue
                .attachment(id)
                .unwrap_or_else(|| panic!("{key}: image of a missing attachment {id}"));
            names.push(a.file_name.clone());
        }
    }
    names
}

/// Replaces the text of every paragraph of `body`, keeping its images.
fn retext(body: &RichText, text: &str) -> RichText {
    let mut adf = body.to_adf();
    for block in adf["content"].as_array_mut().unwrap() {
        if block["type"] == "paragraph" {
            *block = para(text);
        }
    }
    RichText::adf(adf).unwrap()
}

fn sync_until_quiet(rig: &JiraRig) {
    for _ in 0..6 {
        if rig.sync().writes == 0 {
            return;
        }
    }
    panic!("the sync did not converge in 6 cycles");
}

fn images_survive_edits_on_both_sides(rig: JiraRig, sup_native: &str, dev_native: &str) {
    let sup = rig.user().create("SUP", "Bug", "Printer on fire");
    for (name, bytes) in [
        ("smoke.png", &b"png: smoke"[..]),
        ("tray.png", b"png: the tray"),
    ] {
        let file = NewAttachment {
            file_name: name.into(),
            mime_type: "image/png".into(),
            content: bytes.to_vec(),
        };
        rig.block_on(rig.tracker.upload_attachment(&sup.id, &file))
            .unwrap();
    }
    let issue = read(&rig, "SUP-1");
    let (smoke, tray) = (
        attachment(&issue, "smoke.png"),
        attachment(&issue, "tray.png"),
    );
    let description = doc(vec![
        para("Smoke:"),
        image(&smoke),
        para("and the tray:"),
        image(&tray),
    ]);
    rig.block_on(
        rig.tracker
            .update_issue(&sup.id, &IssueUpdate::new().description(description)),
    )
    .unwrap();
    let comment = NewComment::public(doc(vec![para("see"), image(&tray)]));
    rig.block_on(rig.tracker.add_comment(&sup.id, &comment))
        .unwrap();
    assert_eq!(shown(&rig, "SUP-1"), ["smoke.png", "tray.png", "tray.png"]);

    rig.reset_calls();
    rig.block_on(rig.node.exalate(&rig.conn.id, &lit::key("SUP-1")))
        .unwrap();
    let calls = rig.calls();
    assert_eq!(calls.count("POST", "/issue"), 1, "{calls}");
    assert_eq!(calls.count("POST", "/attachments"), 2, "{calls}");
    assert_eq!(
        calls.writes(),
        6,
        "1 create + 1 origin link + 2 uploads + the description's images + 1 comment: {calls}"
    );
    assert_eq!(shown(&rig, "DEV-1"), ["smoke.png", "tray.png", "tray.png"]);
    // As the emulator stores it: Cloud names media files, Data Center file names.
    let stored = |key: &str| rig.issue(key).description.to_adf().to_string();
    assert!(stored("SUP-1").contains(sup_native), "{}", stored("SUP-1"));
    assert!(stored("DEV-1").contains(dev_native), "{}", stored("DEV-1"));
    sync_until_quiet(&rig);

    let attachments = |key: &str| read(&rig, key).attachments.len();
    let mut comment_on_dev = None;
    for round in 0..10 {
        rig.advance(70);
        let (key, other) = if round % 2 == 0 {
            ("SUP-1", "DEV-1")
        } else {
            ("DEV-1", "SUP-1")
        };
        let issue = read(&rig, key);
        // Edit the text around the images.
        let text = format!("round {round}: the text around the images changed");
        rig.block_on(rig.tracker.update_issue(
            &issue.id,
            &IssueUpdate::new().description(retext(&issue.description, &text)),
        ))
        .unwrap();
        match round % 5 {
            1 => {
                // A new comment showing this side's copy of an image.
                let body = doc(vec![
                    para(&format!("comment {round}")),
                    image(&attachment(&issue, "smoke.png")),
                ]);
                let c = rig
                    .block_on(
                        rig.tracker
                            .add_comment(&issue.id, &NewComment::public(body)),
                    )
                    .unwrap();
                comment_on_dev = Some((key, c.id));
            }
            2 | 3 => {
                // Edit the text of a comment with an image.
                let c = issue.comments.last().unwrap();
                rig.block_on(rig.tracker.update_comment(
                    &issue.id,
                    &c.id,
                    &retext(&c.body, &format!("edited in round {round}")),
                ))
                .unwrap();
            }
            4 => {
                // Delete a comment with an image (the image is in the description too).
                if let Some((on, id)) = comment_on_dev.take() {
                    let owner = read(&rig, on);
                    rig.block_on(rig.tracker.delete_comment(&owner.id, &id))
                        .unwrap();
                }
            }
            _ => {}
        }
        sync_until_quiet(&rig);
        let (here, there) = (shown(&rig, key), shown(&rig, other));
        assert_eq!(
            here, there,
            "round {round}: both sides show the same images"
        );
        assert!(
            here.starts_with(&["smoke.png".into(), "tray.png".into()]),
            "round {round}: {here:?}"
        );
        assert_eq!(
            attachments("SUP-1"),
            2,
            "round {round}: no attachment deleted on SUP-1"
        );
        assert_eq!(
            attachments("DEV-1"),
            2,
            "round {round}: no attachment deleted on DEV-1"
        );
        assert_eq!(
            read(&rig, "SUP-1").description.to_plain_text(),
            read(&rig, "DEV-1").description.to_plain_text(),
            "round {round}"
        );
        rig.reset_calls();
        let quiet = rig.sync();
        assert_eq!(quiet.writes, 0, "round {round}: no echo");
        assert_eq!(rig.calls().writes(), 0, "round {round}: {}", rig.calls());
    }
}

/// How the emulator stores an image that Cloud writes, and one Data Center writes.
const CLOUD_NATIVE: &str = "\"collection\":\"\"";
const WIKI_NATIVE: &str = "\"id\":\"smoke.png\"";

#[test]
fn cloud_twins_keep_their_images() {
    let rig = JiraRig::new(JiraFlavor::Cloud);
    images_survive_edits_on_both_sides(rig, CLOUD_NATIVE, CLOUD_NATIVE);
}

#[test]
fn data_center_twins_keep_their_images() {
    let rig = JiraRig::new(JiraFlavor::DataCenter);
    images_survive_edits_on_both_sides(rig, WIKI_NATIVE, WIKI_NATIVE);
}

#[test]
fn cloud_and_data_center_twins_keep_their_images() {
    // A site that calls itself Data Center still serves the v3 paths, so one
    // site is read through both adapters (SUP as Cloud, DEV as Data Center).
    let rig = JiraRig::with_adapter(JiraFlavor::DataCenter, cloud_and_data_center);
    images_survive_edits_on_both_sides(rig, CLOUD_NATIVE, WIKI_NATIVE);
}

#[test]
fn the_emulator_deletes_an_attachment_whose_last_reference_an_edit_removes() {
    for flavor in [JiraFlavor::Cloud, JiraFlavor::DataCenter] {
        let rig = JiraRig::new(flavor);
        let sup = rig.user().create("SUP", "Bug", "Printer on fire");
        rig.user().attach("SUP-1", "smoke.png", b"png: smoke");
        rig.user().attach("SUP-1", "plain.txt", b"never shown");
        let smoke = attachment(&read(&rig, "SUP-1"), "smoke.png");
        let set = |body: RichText| {
            rig.block_on(
                rig.tracker
                    .update_issue(&sup.id, &IssueUpdate::new().description(body)),
            )
            .unwrap()
        };
        set(doc(vec![para("a"), image(&smoke)]));
        set(doc(vec![para("b"), image(&smoke)]));
        assert_eq!(read(&rig, "SUP-1").attachments.len(), 2, "{flavor:?}");
        set(doc(vec![para("c")]));
        let left: Vec<String> = read(&rig, "SUP-1")
            .attachments
            .iter()
            .map(|a| a.file_name.clone())
            .collect();
        assert_eq!(
            left,
            ["plain.txt"],
            "{flavor:?}: only the image whose reference went"
        );
    }
}

#[test]
fn a_cloud_media_node_names_the_twins_own_media_file() {
    let rig = JiraRig::new(JiraFlavor::Cloud);
    let sup = rig.user().create("SUP", "Bug", "Printer on fire");
    rig.user().attach("SUP-1", "smoke.png", b"png: smoke");
    let smoke = attachment(&read(&rig, "SUP-1"), "smoke.png");
    rig.block_on(rig.tracker.update_issue(
        &sup.id,
        &IssueUpdate::new().description(doc(vec![image(&smoke)])),
    ))
    .unwrap();
    rig.block_on(rig.node.exalate(&rig.conn.id, &lit::key("SUP-1")))
        .unwrap();
    // As stored by the emulator (what Jira Cloud keeps): media ids, which differ.
    let stored_media = |key: &str| {
        let adf = rig.issue(key).description.to_adf();
        adf["content"][0]["content"][0]["attrs"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{key}: a media id in {adf}"))
            .to_owned()
    };
    let (sup_media, dev_media) = (stored_media("SUP-1"), stored_media("DEV-1"));
    assert_ne!(sup_media, dev_media, "the twin shows its own copy");
    let dev = rig.issue("DEV-1");
    assert_eq!(
        dev_media,
        rig.site.emulator().media_id(&dev.attachments[0].id),
        "the twin's media node names its own attachment's media file"
    );
}
