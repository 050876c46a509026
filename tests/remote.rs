//! Remote connections between two nodes, each on its own tracker: set-up,
//! sync both ways, private nodes, lifecycle.

use twinsync::ErrorKind;
use twinsync::connection::{ConnectionStatus, InvitationStatus};
use twinsync::engine::{InitiateRequest, Initiated};
use twinsync::model::{Issue, IssueKey, ProjectKey, UserId};
use twinsync::testkit::block_on;
use twinsync::testkit::remote_rig::{RemoteRig, RigSide};
use twinsync::tracker::memory::OpKind;
use twinsync::tracker::{IssueUpdate, NewAttachment, NewComment, NewIssue, Tracker};

fn key(k: &str) -> IssueKey {
    IssueKey::new(k)
}

fn user(u: &str) -> UserId {
    UserId::new(u)
}

fn human_issue(side: &RigSide, project: &str, summary: &str) -> Issue {
    let created = block_on(
        side.human
            .create_issue(&NewIssue::new(project, "Bug", summary)),
    )
    .unwrap();
    block_on(side.human.issue(&created.id)).unwrap()
}

fn comment(side: &RigSide, k: &str, body: &str) {
    let issue = side.issue(k);
    block_on(side.human.add_comment(&issue.id, &NewComment::public(body))).unwrap();
}

fn attach(side: &RigSide, k: &str, name: &str, content: &[u8]) {
    let issue = side.issue(k);
    block_on(side.human.upload_attachment(
        &issue.id,
        &NewAttachment {
            file_name: name.into(),
            mime_type: "text/plain".into(),
            content: content.to_vec(),
        },
    ))
    .unwrap();
}

fn edit_summary(side: &RigSide, k: &str, summary: &str) {
    let issue = side.issue(k);
    let update = IssueUpdate {
        summary: Some(summary.into()),
        ..IssueUpdate::default()
    };
    block_on(side.human.update_issue(&issue.id, &update)).unwrap();
}

fn bodies(side: &RigSide, k: &str) -> Vec<String> {
    side.issue(k)
        .comments
        .iter()
        .map(|c| c.body.to_plain_text())
        .collect()
}

fn content(side: &RigSide, k: &str, name: &str) -> Vec<u8> {
    let issue = side.issue(k);
    let a = issue
        .attachments
        .iter()
        .find(|a| a.file_name == name)
        .unwrap_or_else(|| panic!("{k} has {name}"));
    block_on(side.tracker.download_attachment(&a.id)).unwrap()
}

#[test]
fn initiate_invite_accept_then_sync_both_ways_with_comments_and_attachments() {
    let rig = RemoteRig::new();
    // A initiates without a URL: an invitation, pending until accepted.
    let initiated = block_on(rig.a.node.initiate(InitiateRequest::new("SUP", "ada"))).unwrap();
    let Initiated::Invitation { connection, code } = initiated else {
        panic!("an invitation: {initiated:?}");
    };
    assert_eq!(connection.status, ConnectionStatus::Pending);
    assert!(code.as_str().starts_with("twinsync-invite-"));
    assert!(!format!("{connection:?} {code:?}").contains(&code.as_str()[20..]));
    let listed = rig.a.node.invitations().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].status, InvitationStatus::Pending);
    let err = block_on(rig.a.node.sync(&connection.id)).unwrap_err();
    assert!(err.to_string().contains("pending"), "{err}");

    // B accepts with its project DEV: both sides active.
    let accepted = block_on(rig.b.node.accept(
        code.as_str(),
        &ProjectKey::new("DEV"),
        &user("ada"),
    ))
    .unwrap();
    assert_eq!(accepted.id, connection.id);
    assert_eq!(accepted.status, ConnectionStatus::Active);
    let conn = rig.a.node.connection(&connection.id).unwrap();
    assert_eq!(conn.status, ConnectionStatus::Active);
    assert_eq!(conn.b.project.as_str(), "DEV");
    assert_eq!(conn.b.instance.as_str(), "https://b.example");
    assert_eq!(accepted.a, conn.a);
    assert_eq!(accepted.b, conn.b);
    assert!(matches!(
        rig.a.node.invitations().unwrap()[0].status,
        InvitationStatus::Used { .. }
    ));

    // Exalate on A: the twin appears on B with comments and the attachment.
    human_issue(&rig.a, "SUP", "Printer on fire");
    comment(&rig.a, "SUP-1", "first");
    comment(&rig.a, "SUP-1", "second");
    attach(&rig.a, "SUP-1", "smoke.txt", b"lots of smoke");
    rig.b.tracker.reset_calls();
    let twin = block_on(rig.a.node.exalate(&conn.id, &key("SUP-1"))).unwrap();
    assert_eq!(twin.twin.as_ref().map(|t| t.key.as_str()), Some("DEV-1"));
    assert!(!twin.waiting);
    assert_eq!(twin.writes, 4, "1 create + 2 comments + 1 upload");
    let calls = rig.b.tracker.calls();
    assert_eq!(calls.writes(), 4, "{calls}");
    let dev = rig.b.issue("DEV-1");
    assert_eq!(dev.summary, "Printer on fire");
    assert_eq!(dev.issue_type, "Bug");
    assert_eq!(bodies(&rig.b, "DEV-1"), ["first", "second"]);
    assert_eq!(content(&rig.b, "DEV-1", "smoke.txt"), b"lots of smoke");

    // The other way: B's edit, comment and attachment reach A.
    rig.advance(10);
    edit_summary(&rig.b, "DEV-1", "Printer on fire, floor 3");
    comment(&rig.b, "DEV-1", "on it");
    attach(&rig.b, "DEV-1", "photo.txt", b"a photo");
    rig.sync(&conn);
    let sup = rig.a.issue("SUP-1");
    assert_eq!(sup.summary, "Printer on fire, floor 3");
    assert_eq!(bodies(&rig.a, "SUP-1"), ["first", "second", "on it"]);
    assert_eq!(content(&rig.a, "SUP-1", "photo.txt"), b"a photo");

    // Echoes settle; then quiet cycles write nothing on either side.
    rig.sync(&conn);
    rig.sync(&conn);
    rig.a.tracker.reset_calls();
    rig.b.tracker.reset_calls();
    let (ra, rb) = rig.sync(&conn);
    assert_eq!((ra.writes, rb.writes), (0, 0));
    assert_eq!(
        rig.a.tracker.calls().writes(),
        0,
        "{}",
        rig.a.tracker.calls()
    );
    assert_eq!(
        rig.b.tracker.calls().writes(),
        0,
        "{}",
        rig.b.tracker.calls()
    );
    assert!(rig.a.tracker.calls().get(OpKind::Search) <= 1);
    assert_eq!(bodies(&rig.b, "DEV-1"), ["first", "second", "on it"]);
    assert_eq!(rig.b.issue("DEV-1").attachments.len(), 2);
    assert_eq!(rig.a.issue("SUP-1").attachments.len(), 2);

    // B exalates one of its own issues: it lands on A.
    human_issue(&rig.b, "DEV", "Build broken");
    comment(&rig.b, "DEV-2", "since Monday");
    let twin = block_on(rig.b.node.exalate(&conn.id, &key("DEV-2"))).unwrap();
    assert_eq!(twin.twin.as_ref().map(|t| t.key.as_str()), Some("SUP-2"));
    assert_eq!(bodies(&rig.a, "SUP-2"), ["since Monday"]);

    // Both sync panels show the twins.
    let panel = rig.a.node.status(&conn.id).unwrap();
    assert_eq!(panel.twins, 2, "{panel}");
    let panel = rig.b.node.status(&conn.id).unwrap();
    assert_eq!(panel.twins, 2, "{panel}");
    assert!(panel.errors.is_empty(), "{panel}");
}
