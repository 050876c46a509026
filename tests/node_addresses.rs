//! Node addresses: a node is reached at its own node URL, not its tracker's;
//! an admin may initiate with either (a tracker through the directory); an
//! invitation carries the initiator's node URL; a destination that is not a
//! twinsync node, or one of an incompatible version or without a needed
//! feature, is refused with words that say what to do, before anything is
//! made on either side.
//!
//! The rig's nodes are on trackers `https://{a,b}.example` and reached at
//! `https://{a,b}.example/node`; every rig node's directory lists both.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use twinsync::ErrorKind;
use twinsync::connection::{ConnectionStatus, Invitation, InvitationCode};
use twinsync::engine::{InitiateRequest, Initiated};
use twinsync::model::{NodeUrl, UserId};
use twinsync::testkit::block_on;
use twinsync::testkit::ids as lit;
use twinsync::testkit::remote_rig::{RemoteRig, node_url_of};
use twinsync::tracker::{NewIssue, Tracker};
use twinsync::transport::Endpoint;

fn ada() -> UserId {
    lit::user_id("ada")
}

/// (A's connections, B's connections, A's invitations).
fn counts(rig: &RemoteRig) -> (usize, usize, usize) {
    (
        rig.a.node.connections().unwrap().len(),
        rig.b.node.connections().unwrap().len(),
        rig.a.node.invitations().unwrap().len(),
    )
}

/// "Yes, I have admin access" to the node at `destination`, for DEV.
fn direct(rig: &RemoteRig, destination: &str) -> InitiateRequest {
    let token = block_on(
        rig.b
            .node
            .admin(&ada())
            .issue_establish_token(&lit::project("DEV"), Duration::from_secs(600)),
    )
    .unwrap();
    InitiateRequest::new(lit::project("SUP"))
        .destination(destination)
        .destination_project(lit::project("DEV"))
        .admin_access(true)
        .establish_token(token)
}

/// A invites without a destination: the code.
fn invite(rig: &RemoteRig) -> InvitationCode {
    let initiated = block_on(
        rig.a
            .node
            .admin(&ada())
            .initiate(InitiateRequest::new(lit::project("SUP"))),
    )
    .unwrap();
    match initiated {
        Initiated::Invitation { code, .. } => code,
        other => panic!("an invitation: {other:?}"),
    }
}

/// A fixed answer to every request: what a web server that is not a
/// twinsync node, or a node of another build, would say.
struct Fixed(Vec<u8>);

#[async_trait]
impl Endpoint for Fixed {
    async fn handle(&self, _request: Vec<u8>) -> Vec<u8> {
        self.0.clone()
    }
}

#[test]
fn a_node_is_reached_at_its_node_url_and_found_from_its_trackers_url() {
    let rig = RemoteRig::new();
    assert_eq!(rig.b.node.node_url().as_str(), "https://b.example/node");
    assert_ne!(
        rig.b.node.node_url().as_str(),
        rig.b.node.instance().as_str()
    );
    // Nothing listens at B's tracker URL: only the directory leads there.
    let mut names = Vec::new();
    for (i, destination) in [
        "https://b.example/node",
        "https://b.example/node/twinsync",
        "https://B.example:443/",
    ]
    .into_iter()
    .enumerate()
    {
        let request = direct(&rig, destination).name(format!("direct {i}"));
        let initiated = block_on(rig.a.node.admin(&ada()).initiate(request))
            .unwrap_or_else(|e| panic!("{destination}: {e}"));
        let Initiated::Established(conn) = initiated else {
            panic!("{destination}: established, got {initiated:?}");
        };
        // The other side is B's tracker, whatever URL was typed.
        assert_eq!(conn.b.instance.as_str(), "https://b.example");
        assert_eq!(conn.status, ConnectionStatus::Active);
        names.push(conn.name.clone());
    }
    assert_eq!(rig.b.node.connections().unwrap().len(), 3);

    // The last connection syncs: its messages go to B's node URL.
    let conn = rig.a.node.connections().unwrap().pop().unwrap();
    block_on(rig.a.human.create_issue(&NewIssue::new(
        lit::project("SUP"),
        "Bug",
        "Printer on fire",
    )))
    .unwrap();
    let twin = block_on(rig.a.node.exalate(&conn.id, &lit::key("SUP-1"))).unwrap();
    assert_eq!(twin.twin.unwrap().key.as_str(), "DEV-1");
    assert_eq!(rig.b.issue("DEV-1").summary, "Printer on fire");
}

#[test]
fn an_invitation_carries_the_initiators_node_url_and_the_acceptor_calls_it() {
    let rig = RemoteRig::new();
    let code = invite(&rig);
    let invitation = Invitation::parse(code.as_str()).unwrap();
    assert_eq!(invitation.initiator().as_str(), "https://a.example");
    assert_eq!(&invitation.initiator_node(), rig.a.node.node_url());
    let conn = block_on(
        rig.b
            .node
            .admin(&ada())
            .accept(code.as_str(), &lit::project("DEV")),
    )
    .unwrap();
    assert_eq!(conn.status, ConnectionStatus::Active);
    assert_eq!(conn.a.instance.as_str(), "https://a.example");
}

#[test]
fn a_url_that_is_no_twinsync_node_says_what_to_enter_instead() {
    let rig = RemoteRig::new();
    // A Jira site answers /twinsync with a page of its own.
    let jira = NodeUrl::parse("https://partner.atlassian.example").unwrap();
    rig.network
        .register(&jira, Arc::new(Fixed(b"<html>Not found</html>".to_vec())));
    let before = counts(&rig);
    let err = block_on(
        rig.a
            .node
            .admin(&ada())
            .initiate(direct(&rig, "https://partner.atlassian.example")),
    )
    .unwrap_err();
    let text = err.to_string();
    assert_eq!(err.kind(), ErrorKind::Incompatible, "{text}");
    for words in [
        "did not answer as a twinsync node",
        "node URL",
        "directory",
        "invitation code",
    ] {
        assert!(text.contains(words), "{words:?} in {text}");
    }
    assert_eq!(counts(&rig), before, "nothing made on either side");
}

#[test]
fn a_node_of_an_incompatible_version_is_refused_on_both_sides_before_anything_is_made() {
    let mut rig = RemoteRig::new();
    rig.restart_b_speaking(0);
    let before = counts(&rig);
    let err = block_on(
        rig.a
            .node
            .admin(&ada())
            .initiate(direct(&rig, "https://b.example")),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Incompatible, "{err}");
    assert!(err.to_string().contains("version 0"), "{err}");
    assert!(err.to_string().contains("upgrade twinsync"), "{err}");
    assert_eq!(counts(&rig), before);

    // The old node accepting a new node's code: refused by the new one.
    let code = invite(&rig);
    let err = block_on(
        rig.b
            .node
            .admin(&ada())
            .accept(code.as_str(), &lit::project("DEV")),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Incompatible, "{err}");
    assert!(rig.b.node.connections().unwrap().is_empty());
    let pending = rig.a.node.connections().unwrap();
    assert!(
        pending
            .iter()
            .all(|c| c.status == ConnectionStatus::Pending),
        "A still waits: {pending:?}"
    );
}

#[test]
fn a_private_node_is_refused_by_a_peer_that_cannot_keep_its_messages() {
    let rig = RemoteRig::with_private_b();
    // A node of this protocol version that does not announce private-pull.
    let other = NodeUrl::parse("https://c.example/node").unwrap();
    let hello = serde_json::json!({
        "type": "hello",
        "protocol": twinsync::connection::PROTOCOL_VERSION,
        "instance": "https://c.example",
        "node": other.as_str(),
        "features": ["attachment-fetch", "node-urls"],
    });
    rig.network
        .register(&other, Arc::new(Fixed(serde_json::to_vec(&hello).unwrap())));
    assert_eq!(&node_url_of(&"https://c.example".parse().unwrap()), &other);
    let token_free = InitiateRequest::new(lit::project("DEV"))
        .destination("https://c.example")
        .destination_project(lit::project("SUP"))
        .admin_access(true);
    let err = block_on(rig.b.node.admin(&ada()).initiate(token_free)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Incompatible, "{err}");
    assert!(err.to_string().contains("\"private-pull\""), "{err}");
    assert!(rig.b.node.connections().unwrap().is_empty());
}

#[test]
fn the_own_node_url_in_any_spelling_makes_a_local_connection() {
    let rig = RemoteRig::new();
    for (i, url) in [
        "https://a.example/node",
        "https://A.example/node/twinsync/",
        "https://a.example",
    ]
    .into_iter()
    .enumerate()
    {
        let request = InitiateRequest::new(lit::project("SUP"))
            .destination(url)
            .destination_project(lit::project("DEV"))
            .name(format!("local {i}"));
        let initiated = block_on(rig.a.node.admin(&ada()).initiate(request)).unwrap();
        let Initiated::Local(conn) = initiated else {
            panic!("{url}: a local connection, got {initiated:?}");
        };
        assert!(conn.is_local());
    }
    assert!(rig.b.node.connections().unwrap().is_empty());
}
