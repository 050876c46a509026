//! Remote connections between two nodes, each on its own tracker: set-up,
//! sync both ways, private nodes, lifecycle.

use twinsync::ErrorKind;
use twinsync::connection::{ConnectionStatus, InvitationStatus};
use twinsync::engine::{InitiateRequest, Initiated};
use twinsync::model::{Issue, IssueKey, UserId};
use twinsync::testkit::block_on;
use twinsync::testkit::ids as lit;
use twinsync::testkit::remote_rig::{RemoteRig, RigSide};
use twinsync::tracker::memory::OpKind;
use twinsync::tracker::{IssueUpdate, NewAttachment, NewComment, NewIssue, Tracker};

fn key(k: &str) -> IssueKey {
    lit::key(k)
}

fn user(u: &str) -> UserId {
    lit::user_id(u)
}

fn human_issue(side: &RigSide, project: &str, summary: &str) -> Issue {
    let created = block_on(side.human.create_issue(&NewIssue::new(
        lit::project(project),
        "Bug",
        summary,
    )))
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
        .map(twinsync::testkit::said::said)
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
    let initiated = block_on(
        rig.a
            .node
            .admin(&user("ada"))
            .initiate(InitiateRequest::new(lit::project("SUP"))),
    )
    .unwrap();
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
    let accepted = block_on(
        rig.b
            .node
            .admin(&user("ada"))
            .accept(code.as_str(), &lit::project("DEV")),
    )
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
    assert_eq!(
        twin.writes, 5,
        "1 create + 1 origin link + 2 comments + 1 upload"
    );
    let calls = rig.b.tracker.calls();
    assert_eq!(calls.writes(), 5, "{calls}");
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

#[test]
fn a_private_destination_only_calls_out_and_pulls_its_messages() {
    let rig = RemoteRig::with_private_b();
    let conn = rig.connect();
    assert!(!rig.b.node.reachable());
    // A cannot call B: its exalate waits in A's outbox.
    human_issue(&rig.a, "SUP", "Printer on fire");
    comment(&rig.a, "SUP-1", "first");
    attach(&rig.a, "SUP-1", "smoke.txt", b"lots of smoke");
    let twin = block_on(rig.a.node.exalate(&conn.id, &key("SUP-1"))).unwrap();
    assert!(twin.waiting && twin.twin.is_none(), "{twin:?}");
    assert!(rig.b.issues("DEV").is_empty());
    // B's cycle pulls, applies (fetching the attachment from A) and answers.
    let (_, rb) = rig.sync(&conn);
    assert_eq!(
        rb.writes, 4,
        "1 create + 1 origin link + 1 comment + 1 upload: {rb:?}"
    );
    assert_eq!(bodies(&rig.b, "DEV-1"), ["first"]);
    assert_eq!(content(&rig.b, "DEV-1", "smoke.txt"), b"lots of smoke");
    let panel = rig.a.node.status(&conn.id).unwrap();
    assert_eq!(panel.twins, 1, "{panel}");
    assert_eq!(panel.issues[0].origin.key.as_str(), "SUP-1", "{panel}");
    assert_eq!(panel.issues[0].twin.as_ref().unwrap().key.as_str(), "DEV-1");

    // B's changes travel by B's own calls, its attachment inside the replica.
    rig.advance(10);
    comment(&rig.b, "DEV-1", "on it");
    attach(&rig.b, "DEV-1", "photo.txt", b"a photo");
    rig.sync(&conn);
    assert_eq!(bodies(&rig.a, "SUP-1"), ["first", "on it"]);
    assert_eq!(content(&rig.a, "SUP-1", "photo.txt"), b"a photo");
    for _ in 0..3 {
        rig.sync(&conn);
    }
    rig.a.tracker.reset_calls();
    rig.b.tracker.reset_calls();
    rig.sync(&conn);
    assert_eq!(rig.a.tracker.calls().writes(), 0);
    assert_eq!(rig.b.tracker.calls().writes(), 0);
    assert_eq!(bodies(&rig.b, "DEV-1"), ["first", "on it"]);
    assert_eq!(rig.b.issue("DEV-1").attachments.len(), 2);
}

#[test]
fn admin_access_to_a_reachable_destination_establishes_directly() {
    let rig = RemoteRig::new();
    // An admin of B issues a token there and hands it to A's admin.
    let token = |rig: &RemoteRig| {
        block_on(
            rig.b
                .node
                .admin(&user("ada"))
                .issue_establish_token(&lit::project("DEV"), std::time::Duration::from_secs(600)),
        )
        .unwrap()
    };
    let request = InitiateRequest::new(lit::project("SUP"))
        .destination("https://B.example:443/twinsync/")
        .destination_project(lit::project("DEV"))
        .admin_access(true)
        .establish_token(token(&rig))
        .name("support to dev");
    let initiated = block_on(rig.a.node.admin(&user("ada")).initiate(request)).unwrap();
    let Initiated::Established(conn) = initiated else {
        panic!("established: {initiated:?}");
    };
    assert_eq!(conn.status, ConnectionStatus::Active);
    assert_eq!(conn.name, "support to dev");
    let theirs = rig.b.node.connection(&conn.id).unwrap();
    assert_eq!(theirs.status, ConnectionStatus::Active);
    assert_eq!(
        (theirs.a.clone(), theirs.b.clone()),
        (conn.a.clone(), conn.b.clone())
    );
    human_issue(&rig.a, "SUP", "Printer on fire");
    let twin = block_on(rig.a.node.exalate(&conn.id, &key("SUP-1"))).unwrap();
    assert_eq!(twin.twin.unwrap().key.as_str(), "DEV-1");

    // The destination checks the token's issuer there again: ada issued it,
    // then lost her admin rights on B.
    let request = InitiateRequest::new(lit::project("SUP"))
        .destination("https://b.example")
        .destination_project(lit::project("DEV"))
        .admin_access(true)
        .establish_token(token(&rig));
    rig.b.tracker.set_global_admin(&user("ada"), false);
    let err = block_on(rig.a.node.admin(&user("ada")).initiate(request)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");
    assert!(err.to_string().contains("https://b.example"), "{err}");
    assert_eq!(
        rig.a.node.connections().unwrap().len(),
        1,
        "nothing half-made on A"
    );
    assert_eq!(
        rig.b.node.connections().unwrap().len(),
        1,
        "nothing half-made on B"
    );
    assert_eq!(rig.a.node.invitations().unwrap().len(), 1);
}

#[test]
fn an_unreachable_destination_or_no_admin_access_gives_an_invitation() {
    let rig = RemoteRig::with_private_b();
    for request in [
        InitiateRequest::new(lit::project("SUP"))
            .destination("https://b.example")
            .destination_project(lit::project("DEV"))
            .admin_access(true),
        InitiateRequest::new(lit::project("SUP")).destination("https://elsewhere.example"),
        InitiateRequest::new(lit::project("SUP")),
    ] {
        let initiated = block_on(rig.a.node.admin(&user("ada")).initiate(request)).unwrap();
        assert!(
            matches!(initiated, Initiated::Invitation { .. }),
            "{initiated:?}"
        );
        assert_eq!(initiated.connection().status, ConnectionStatus::Pending);
    }
    assert_eq!(rig.a.node.invitations().unwrap().len(), 3);
    let mut names: Vec<String> = rig
        .a
        .node
        .connections()
        .unwrap()
        .into_iter()
        .map(|c| c.name)
        .collect();
    names.sort();
    assert_eq!(names, ["SUP_to_DEV", "SUP_to_remote", "SUP_to_remote (2)"]);
    // A node nobody can call cannot hand out invitations.
    let err = block_on(
        rig.b
            .node
            .admin(&user("ada"))
            .initiate(InitiateRequest::new(lit::project("DEV"))),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
}

#[test]
fn the_own_instance_in_any_spelling_makes_a_local_connection() {
    let rig = RemoteRig::new();
    for (i, url) in [
        "https://a.example",
        "HTTPS://A.EXAMPLE:443/",
        "https://a.example/twinsync",
        "https://a.example:443/twinsync/",
    ]
    .into_iter()
    .enumerate()
    {
        let request = InitiateRequest::new(lit::project("SUP"))
            .destination(url)
            .destination_project(lit::project("DEV"))
            .name(format!("local {i}"));
        let initiated = block_on(rig.a.node.admin(&user("ada")).initiate(request)).unwrap();
        let Initiated::Local(conn) = initiated else {
            panic!("{url}: a local connection, got {initiated:?}");
        };
        assert!(conn.is_local());
        assert_eq!(conn.status, ConnectionStatus::Active);
    }
    // A local connection needs both projects.
    let request = InitiateRequest::new(lit::project("SUP")).destination("https://a.example");
    let err = block_on(rig.a.node.admin(&user("ada")).initiate(request)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(rig.a.node.invitations().unwrap().is_empty());
}

#[test]
fn deactivating_either_side_queues_changes_and_activating_applies_them() {
    let rig = RemoteRig::new();
    let conn = rig.connect();
    human_issue(&rig.a, "SUP", "Printer on fire");
    block_on(rig.a.node.exalate(&conn.id, &key("SUP-1"))).unwrap();
    rig.sync(&conn);

    block_on(rig.b.node.admin(&user("ada")).deactivate(&conn.id)).unwrap();
    rig.advance(10);
    comment(&rig.a, "SUP-1", "while B is paused");
    rig.b.tracker.reset_calls();
    rig.sync(&conn);
    assert_eq!(
        rig.b.tracker.calls().writes(),
        0,
        "nothing written while deactivated"
    );
    assert!(bodies(&rig.b, "DEV-1").is_empty());
    assert!(rig.a.node.status(&conn.id).unwrap().queued > 0);

    block_on(rig.b.node.admin(&user("ada")).activate(&conn.id)).unwrap();
    // A's replica was refused while B was paused: A tries it again after
    // its backoff (30 s at first).
    rig.advance(40);
    rig.sync(&conn);
    assert_eq!(bodies(&rig.b, "DEV-1"), ["while B is paused"]);

    // Deactivated on A: A's own changes wait in A's queue.
    block_on(rig.a.node.admin(&user("ada")).deactivate(&conn.id)).unwrap();
    rig.advance(10);
    comment(&rig.a, "SUP-1", "while A is paused");
    let (ra, _) = rig.sync(&conn);
    assert_eq!(ra.queued, 1, "{ra:?}");
    assert_eq!(bodies(&rig.b, "DEV-1"), ["while B is paused"]);
    block_on(rig.a.node.admin(&user("ada")).activate(&conn.id)).unwrap();
    rig.sync(&conn);
    assert_eq!(
        bodies(&rig.b, "DEV-1"),
        ["while B is paused", "while A is paused"]
    );
}

#[test]
fn unexalate_stops_both_sides_and_connect_links_existing_issues() {
    let rig = RemoteRig::new();
    let conn = rig.connect();
    human_issue(&rig.a, "SUP", "Printer on fire");
    block_on(rig.a.node.exalate(&conn.id, &key("SUP-1"))).unwrap();
    rig.sync(&conn);
    let info = block_on(rig.b.node.unexalate(&conn.id, &key("DEV-1"))).unwrap();
    assert_eq!(info.origin.key.as_str(), "SUP-1", "exalated on A");
    assert_eq!(info.twin.unwrap().key.as_str(), "DEV-1");
    assert_eq!(rig.a.node.status(&conn.id).unwrap().twins, 0, "A was told");
    assert_eq!(rig.b.node.status(&conn.id).unwrap().twins, 0);
    rig.advance(10);
    edit_summary(&rig.a, "SUP-1", "changed after unexalate");
    comment(&rig.b, "DEV-1", "changed after unexalate");
    rig.sync(&conn);
    rig.sync(&conn);
    assert_eq!(rig.b.issue("DEV-1").summary, "Printer on fire");
    assert!(bodies(&rig.a, "SUP-1").is_empty());
    assert_eq!(rig.b.issues("DEV").len(), 1, "nothing created again");

    // Connect two existing issues: comments on both with the same body and
    // author are linked, not copied.
    human_issue(&rig.a, "SUP", "Disk full");
    human_issue(&rig.b, "DEV", "Disk full");
    comment(&rig.a, "SUP-2", "same words");
    comment(&rig.b, "DEV-2", "same words");
    comment(&rig.b, "DEV-2", "only on DEV");
    let info = block_on(rig.a.node.connect(&conn.id, &key("SUP-2"), &key("DEV-2"))).unwrap();
    assert_eq!(info.twin.unwrap().key.as_str(), "DEV-2");
    rig.sync(&conn);
    rig.sync(&conn);
    assert_eq!(bodies(&rig.a, "SUP-2"), ["same words", "only on DEV"]);
    assert_eq!(bodies(&rig.b, "DEV-2"), ["same words", "only on DEV"]);
    let err = block_on(rig.a.node.connect(&conn.id, &key("SUP-2"), &key("DEV-1"))).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists);
}

#[test]
fn triggers_bring_issues_under_sync_on_a_remote_connection() {
    use twinsync::trigger::TriggerSpec;
    let rig = RemoteRig::with_private_b();
    let conn = rig.connect();
    block_on(rig.a.node.admin(&user("ada")).add_trigger(
        &conn.id,
        TriggerSpec::new(lit::project("SUP"), "labels = escalate"),
    ))
    .unwrap();
    block_on(rig.b.node.admin(&user("ada")).add_trigger(
        &conn.id,
        TriggerSpec::new(lit::project("DEV"), "summary ~ outage"),
    ))
    .unwrap();
    // A trigger names a project of this node's side only.
    let err = block_on(rig.a.node.admin(&user("ada")).add_trigger(
        &conn.id,
        TriggerSpec::new(lit::project("DEV"), "labels = x"),
    ))
    .unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::InvalidInput | ErrorKind::NotFound),
        "{err}"
    );

    let mut escalated = NewIssue::new(lit::project("SUP"), "Bug", "Checkout fails");
    escalated.labels = vec!["escalate".into()];
    block_on(rig.a.human.create_issue(&escalated)).unwrap();
    block_on(
        rig.a
            .human
            .create_issue(&NewIssue::new(lit::project("SUP"), "Bug", "not for DEV")),
    )
    .unwrap();
    block_on(rig.b.human.create_issue(&NewIssue::new(
        lit::project("DEV"),
        "Task",
        "Network outage",
    )))
    .unwrap();
    rig.advance(60);
    let (ra, rb) = rig.sync(&conn);
    assert_eq!((ra.triggered, rb.triggered), (1, 1), "{ra:?} {rb:?}");
    rig.sync(&conn);
    let dev: Vec<String> = rig
        .b
        .issues("DEV")
        .iter()
        .map(|i| i.summary.clone())
        .collect();
    assert_eq!(dev, ["Network outage", "Checkout fails"]);
    let sup: Vec<String> = rig
        .a
        .issues("SUP")
        .iter()
        .map(|i| i.summary.clone())
        .collect();
    assert_eq!(sup, ["Checkout fails", "not for DEV", "Network outage"]);
    // Once each: later cycles trigger nothing more.
    rig.advance(60);
    let (ra, rb) = rig.sync(&conn);
    assert_eq!((ra.triggered, rb.triggered), (0, 0));
    assert_eq!(rig.b.issues("DEV").len(), 2);
    assert_eq!(rig.a.issues("SUP").len(), 3);
}

/// The panel's line of the twin of `key`.
fn panel_line(side: &RigSide, conn: &twinsync::connection::Connection, key: &str) -> String {
    let panel = side.node.status(&conn.id).unwrap();
    panel
        .to_string()
        .lines()
        .find(|l| l.contains(key) && l.contains('⇄'))
        .map(str::trim)
        .unwrap_or_else(|| panic!("{key} on the panel:\n{panel}"))
        .to_owned()
}

#[test]
fn both_nodes_show_the_exalated_issue_as_the_origin() {
    for rig in [RemoteRig::new(), RemoteRig::with_private_b()] {
        let conn = rig.connect();
        human_issue(&rig.a, "SUP", "Printer on fire");
        let info = block_on(rig.a.node.exalate(&conn.id, &key("SUP-1"))).unwrap();
        assert_eq!(info.origin.key.as_str(), "SUP-1");
        rig.sync(&conn);
        rig.sync(&conn);
        human_issue(&rig.b, "DEV", "Build broken");
        let info = block_on(rig.b.node.exalate(&conn.id, &key("DEV-2"))).unwrap();
        assert_eq!(info.origin.key.as_str(), "DEV-2");
        rig.sync(&conn);
        rig.sync(&conn);
        for side in [&rig.a, &rig.b] {
            let line = panel_line(side, &conn, "SUP-1");
            assert!(line.starts_with("SUP-1 ⇄ DEV-1"), "{line}");
            let line = panel_line(side, &conn, "DEV-2");
            assert!(line.starts_with("DEV-2 ⇄ SUP-2"), "{line}");
            let status = side.node.issue_status(&conn.id, &key("DEV-1")).unwrap();
            assert_eq!(status.origin.key.as_str(), "SUP-1");
            assert_eq!(status.twin.unwrap().key.as_str(), "DEV-1");
        }
        // What a retry on either node reports: the same pair.
        for (side, own) in [(&rig.a, "SUP-1"), (&rig.b, "DEV-1")] {
            let info = block_on(side.node.retry(&conn.id, &key(own))).unwrap();
            assert_eq!(info.origin.key.as_str(), "SUP-1", "{info:?}");
            assert_eq!(
                info.twin.as_ref().map(|t| t.key.as_str()),
                Some("DEV-1"),
                "{info:?}"
            );
        }
    }
}

#[test]
fn connect_makes_the_issue_connected_from_the_source_on_a_remote_connection() {
    let rig = RemoteRig::new();
    let conn = rig.connect();
    human_issue(&rig.a, "SUP", "Disk full on the build server");
    comment(&rig.a, "SUP-1", "same words");
    comment(&rig.a, "SUP-1", "only on SUP");
    // DEV-1 is newer: "newer wins" would keep its summary.
    rig.advance(60);
    human_issue(&rig.b, "DEV", "disk full");
    comment(&rig.b, "DEV-1", "same words");
    comment(&rig.b, "DEV-1", "only on DEV");
    let info = block_on(rig.a.node.connect(&conn.id, &key("SUP-1"), &key("DEV-1"))).unwrap();
    assert_eq!(info.origin.key.as_str(), "SUP-1");
    assert_eq!(info.twin.unwrap().key.as_str(), "DEV-1");
    assert_eq!(
        rig.b.issue("DEV-1").summary,
        "Disk full on the build server"
    );
    for _ in 0..3 {
        rig.sync(&conn);
    }
    assert_eq!(
        rig.a.issue("SUP-1").summary,
        "Disk full on the build server"
    );
    let sorted = |side: &RigSide, k: &str| {
        let mut b = bodies(side, k);
        b.sort();
        b
    };
    let all = ["only on DEV", "only on SUP", "same words"];
    assert_eq!(sorted(&rig.a, "SUP-1"), all);
    assert_eq!(sorted(&rig.b, "DEV-1"), all);
    for side in [&rig.a, &rig.b] {
        let status = side.node.issue_status(&conn.id, &key("SUP-1")).unwrap();
        assert_eq!(status.origin.key.as_str(), "SUP-1");
        assert_eq!(
            status.state,
            twinsync::engine::IssueState::Synchronized,
            "no conflict recorded"
        );
    }
    let (ra, rb) = rig.sync(&conn);
    assert_eq!((ra.writes, rb.writes), (0, 0), "quiet: {ra:?} {rb:?}");
}

#[test]
fn the_issue_connected_from_stays_the_source_when_the_other_side_sends_first() {
    let rig = RemoteRig::new();
    let conn = rig.connect();
    human_issue(&rig.b, "DEV", "Login page slow");
    rig.advance(60);
    human_issue(&rig.a, "SUP", "login slow");
    // B connects DEV-1 to SUP-1, but A cannot apply B's first replica (its
    // project cannot be read): A's replica of SUP-1 reaches B first.
    rig.a.tracker.inject(
        OpKind::Project,
        twinsync::tracker::memory::Fault::Fail(ErrorKind::PermissionDenied),
    );
    let err = block_on(rig.b.node.connect(&conn.id, &key("DEV-1"), &key("SUP-1"))).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");
    assert_eq!(
        rig.a.issue("SUP-1").summary,
        "login slow",
        "not applied yet"
    );
    for _ in 0..3 {
        rig.sync(&conn);
    }
    assert_eq!(rig.a.issue("SUP-1").summary, "Login page slow");
    assert_eq!(rig.b.issue("DEV-1").summary, "Login page slow");
    for side in [&rig.a, &rig.b] {
        let line = panel_line(side, &conn, "SUP-1");
        assert!(line.starts_with("DEV-1 ⇄ SUP-1"), "{line}");
        assert!(line.ends_with("synchronized"), "{line}");
    }
}

#[test]
fn a_cycle_reports_the_writes_its_replicas_made_on_the_other_node() {
    for private_b in [false, true] {
        let rig = if private_b {
            RemoteRig::with_private_b()
        } else {
            RemoteRig::new()
        };
        let conn = rig.connect();
        human_issue(&rig.a, "SUP", "Printer on fire");
        block_on(rig.a.node.exalate(&conn.id, &key("SUP-1"))).unwrap();
        for _ in 0..3 {
            rig.sync(&conn);
        }
        rig.advance(10);
        edit_summary(&rig.a, "SUP-1", "Printer on fire, floor 3");
        comment(&rig.a, "SUP-1", "still burning");
        rig.b.tracker.reset_calls();
        let ra = block_on(rig.a.node.sync(&conn.id)).unwrap();
        let rb = block_on(rig.b.node.sync(&conn.id)).unwrap();
        assert_eq!(rig.b.tracker.calls().writes(), 2, "edit + comment on B");
        if private_b {
            // B pulls A's replica: the writes are B's own, in B's report.
            assert_eq!((ra.writes, ra.peer_writes), (0, 0), "{ra:?}");
            assert_eq!((rb.writes, rb.peer_writes), (2, 0), "{rb:?}");
        } else {
            // A's replica is applied by B within A's cycle.
            assert_eq!((ra.writes, ra.peer_writes), (2, 2), "{ra:?}");
            assert_eq!((rb.writes, rb.peer_writes), (0, 0), "{rb:?}");
        }
        assert_eq!(rig.b.issue("DEV-1").summary, "Printer on fire, floor 3");
        // Echoes settle; then quiet cycles report no writes on either node.
        rig.sync(&conn);
        rig.a.tracker.reset_calls();
        rig.b.tracker.reset_calls();
        let (ra, rb) = rig.sync(&conn);
        assert_eq!((ra.writes, rb.writes), (0, 0), "{ra:?} {rb:?}");
        assert_eq!(rig.a.tracker.calls().writes(), 0);
        assert_eq!(rig.b.tracker.calls().writes(), 0);
    }
}

/// A remote twin SUP-1 ⇄ DEV-1 with ten comments; eight are deleted on A.
/// B, which applies the plan, refuses the deletions and shows it.
fn refused_on_b(rig: &RemoteRig) -> twinsync::connection::Connection {
    let conn = rig.connect();
    human_issue(&rig.a, "SUP", "Printer on fire");
    for i in 0..10 {
        comment(&rig.a, "SUP-1", &format!("c{i}"));
    }
    block_on(rig.a.node.exalate(&conn.id, &key("SUP-1"))).unwrap();
    assert_eq!(bodies(&rig.b, "DEV-1").len(), 10);
    rig.advance(10);
    let sup = rig.a.issue("SUP-1");
    for c in &sup.comments[2..] {
        block_on(rig.a.human.delete_comment(&sup.id, &c.id)).unwrap();
    }
    edit_summary(&rig.a, "SUP-1", "Printer on fire, again");
    rig.sync(&conn);
    assert_eq!(rig.b.issue("DEV-1").summary, "Printer on fire, again");
    assert_eq!(bodies(&rig.b, "DEV-1").len(), 10, "nothing deleted");
    let state = rig.b.node.issue_status(&conn.id, &key("DEV-1")).unwrap();
    assert!(
        matches!(&state.state, twinsync::engine::IssueState::Refused { deletions, decision: None }
            if deletions[0].would_delete == 8 && deletions[0].synced == 10),
        "{state:?}"
    );
    let text = rig.b.node.status(&conn.id).unwrap().to_string();
    assert!(
        text.contains("would delete 8 of 10 comments; confirm or dismiss"),
        "{text}"
    );
    // Quiet until a user decides.
    rig.a.tracker.reset_calls();
    rig.b.tracker.reset_calls();
    for _ in 0..3 {
        rig.sync(&conn);
    }
    assert_eq!(
        rig.a.tracker.calls().writes() + rig.b.tracker.calls().writes(),
        0
    );
    conn
}

#[test]
fn a_remote_refused_deletion_is_confirmed_on_the_node_that_refused_and_deleted_once() {
    let rig = RemoteRig::new();
    let conn = refused_on_b(&rig);
    block_on(
        rig.b
            .node
            .admin(&user("ada"))
            .confirm_deletion(&conn.id, &key("DEV-1")),
    )
    .unwrap();
    rig.b.tracker.reset_calls();
    rig.sync(&conn);
    assert_eq!(rig.b.tracker.calls().get(OpKind::DeleteComment), 8);
    assert_eq!(bodies(&rig.b, "DEV-1"), ["c0", "c1"]);
    let panel = rig.b.node.status(&conn.id).unwrap();
    assert!(panel.errors.is_empty(), "{panel}");
    assert!(rig.a.node.status(&conn.id).unwrap().errors.is_empty());
    rig.a.tracker.reset_calls();
    rig.b.tracker.reset_calls();
    for _ in 0..3 {
        rig.sync(&conn);
    }
    assert_eq!(
        rig.a.tracker.calls().writes() + rig.b.tracker.calls().writes(),
        0
    );
    assert_eq!(bodies(&rig.a, "SUP-1"), ["c0", "c1"]);
}

#[test]
fn a_remote_refused_deletion_dismissed_deletes_nothing_and_goes_quiet() {
    let rig = RemoteRig::new();
    let conn = refused_on_b(&rig);
    block_on(
        rig.b
            .node
            .admin(&user("ada"))
            .dismiss_deletion(&conn.id, &key("DEV-1")),
    )
    .unwrap();
    for _ in 0..2 {
        rig.sync(&conn);
    }
    assert_eq!(bodies(&rig.b, "DEV-1").len(), 10, "nothing deleted");
    let panel = rig.b.node.status(&conn.id).unwrap();
    assert!(panel.errors.is_empty(), "{panel}");
    rig.a.tracker.reset_calls();
    rig.b.tracker.reset_calls();
    for _ in 0..3 {
        rig.sync(&conn);
    }
    assert_eq!(
        rig.a.tracker.calls().writes() + rig.b.tracker.calls().writes(),
        0,
        "A: {}; B: {}",
        rig.a.tracker.calls(),
        rig.b.tracker.calls()
    );
    assert_eq!(bodies(&rig.a, "SUP-1"), bodies(&rig.b, "DEV-1"));
}

#[test]
fn a_remote_permanent_failure_is_quarantined_until_retried() {
    use twinsync::tracker::memory::Fault;
    let rig = RemoteRig::new();
    let conn = rig.connect();
    human_issue(&rig.a, "SUP", "Printer on fire");
    for _ in 0..3 {
        rig.b.tracker.inject(
            OpKind::CreateIssue,
            Fault::Fail(ErrorKind::PermissionDenied),
        );
    }
    block_on(rig.a.node.exalate(&conn.id, &key("SUP-1"))).unwrap_err();
    rig.sync(&conn);
    let attempts = |side: &RigSide| {
        side.node
            .status(&conn.id)
            .unwrap()
            .errors
            .iter()
            .map(|e| (e.attempts, e.quarantine.is_some()))
            .collect::<Vec<_>>()
    };
    assert_eq!(attempts(&rig.a), [(1, true)]);
    rig.b.tracker.reset_calls();
    for _ in 0..5 {
        rig.sync(&conn);
    }
    assert_eq!(
        rig.b.tracker.calls().get(OpKind::CreateIssue),
        0,
        "not sent again"
    );
    assert_eq!(attempts(&rig.a), [(1, true)]);
    // The permission is granted; a user retries.
    rig.b.tracker.clear_faults();
    block_on(rig.a.node.retry(&conn.id, &key("SUP-1"))).unwrap();
    assert_eq!(rig.b.issues("DEV").len(), 1);
    assert!(rig.a.node.status(&conn.id).unwrap().errors.is_empty());
    assert!(rig.b.node.status(&conn.id).unwrap().errors.is_empty());
}
