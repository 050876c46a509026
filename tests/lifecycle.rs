//! A connection's life: deleted with or without unexalating its twins, the
//! other side told, an error fixed and the connection active again, rule
//! versions, and messages replayed at a restarted node.

use std::fmt;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use twinsync::connection::ConnectionStatus;
use twinsync::engine::{DeleteOptions, LocalConnectionOptions, Node, RuleSpec};
use twinsync::model::{IssueKey, NodeUrl, UserId};
use twinsync::replica::Marker;
use twinsync::testkit::block_on;
use twinsync::testkit::ids as lit;
use twinsync::testkit::remote_rig::RemoteRig;
use twinsync::testkit::rig::{LocalRig, test_options};
use twinsync::tracker::memory::{Fault, FaultTarget, OpKind};
use twinsync::tracker::{IssueUpdate, NewComment, NewIssue, Tracker};
use twinsync::transport::{InProcessNetwork, Transport};
use twinsync::{ErrorKind, Result};

fn key(k: &str) -> IssueKey {
    lit::key(k)
}

fn ada() -> UserId {
    lit::user_id("ada")
}

#[test]
fn deleting_a_remote_connection_stops_the_other_side_with_its_cause() {
    let rig = RemoteRig::new();
    let conn = rig.connect();
    block_on(rig.a.human.create_issue(&NewIssue::new(
        lit::project("SUP"),
        "Bug",
        "Printer on fire",
    )))
    .unwrap();
    block_on(rig.a.node.exalate(&conn.id, &key("SUP-1"))).unwrap();
    block_on(
        rig.a
            .node
            .admin(&ada())
            .delete_connection(&conn.id, DeleteOptions::default()),
    )
    .unwrap();
    assert!(rig.a.node.connections().unwrap().is_empty());
    let theirs = rig.b.node.connection(&conn.id).unwrap();
    let ConnectionStatus::Error { cause } = &theirs.status else {
        panic!("B stops: {theirs}");
    };
    assert!(
        cause.contains("https://a.example") && cause.contains("deleted"),
        "{cause}"
    );
    let err = block_on(rig.b.node.sync(&conn.id)).unwrap_err();
    assert!(err.to_string().contains("deleted"), "{err}");
    // Without unexalating, B's copy keeps its marker.
    let dev = rig.b.issue("DEV-1");
    assert!(Marker::find(&dev.properties, &conn.id).is_some());
    block_on(
        rig.b
            .node
            .admin(&ada())
            .delete_connection(&conn.id, DeleteOptions::default()),
    )
    .unwrap();
    assert!(rig.b.node.connections().unwrap().is_empty());
}

#[test]
fn a_side_that_missed_the_deletion_stops_when_it_next_sends() {
    let rig = RemoteRig::new();
    let conn = rig.connect();
    block_on(rig.a.human.create_issue(&NewIssue::new(
        lit::project("SUP"),
        "Bug",
        "Printer on fire",
    )))
    .unwrap();
    block_on(rig.a.node.exalate(&conn.id, &key("SUP-1"))).unwrap();
    // B deletes while A cannot be told (no reply reaches it).
    rig.network.unregister(rig.a.node.node_url());
    block_on(
        rig.b
            .node
            .admin(&ada())
            .delete_connection(&conn.id, DeleteOptions::default()),
    )
    .unwrap();
    rig.network
        .register(rig.a.node.node_url(), Arc::new(rig.a.node.clone()));
    rig.advance(10);
    let issue = rig.a.issue("SUP-1");
    let update = IssueUpdate {
        summary: Some("changed".into()),
        ..IssueUpdate::default()
    };
    block_on(rig.a.human.update_issue(&issue.id, &update)).unwrap();
    let err = block_on(rig.a.node.sync(&conn.id)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    let ConnectionStatus::Error { cause } = rig.a.node.connection(&conn.id).unwrap().status else {
        panic!("A stops");
    };
    assert!(
        cause.contains("does not exist on the node at https://b.example"),
        "{cause}"
    );
}

#[test]
fn deleting_with_unexalate_clears_the_markers_so_a_new_connection_starts_afresh() {
    for unexalate in [false, true] {
        let rig = LocalRig::new();
        block_on(rig.human.create_issue(&NewIssue::new(
            lit::project("SUP"),
            "Bug",
            "Printer on fire",
        )))
        .unwrap();
        block_on(rig.node.exalate(&rig.conn.id, &key("SUP-1"))).unwrap();
        let options = if unexalate {
            DeleteOptions::unexalating()
        } else {
            DeleteOptions::default()
        };
        block_on(
            rig.node
                .admin(&ada())
                .delete_connection(&rig.conn.id, options),
        )
        .unwrap();
        let marked = Marker::find(&rig.issue("DEV-1").properties, &rig.conn.id).is_some();
        assert_eq!(marked, !unexalate);
        // The same connection made again finds its twins only if they were kept.
        let conn = block_on(rig.admin().create_local_connection(
            "SUP",
            "DEV",
            LocalConnectionOptions::default(),
        ))
        .unwrap();
        let twins = rig.node.status(&conn.id).unwrap().twins;
        assert_eq!(twins, u64::from(!unexalate), "unexalate: {unexalate}");
    }
}

#[test]
fn a_connection_in_error_is_active_again_once_its_cause_is_fixed() {
    let rig = RemoteRig::new();
    let conn = rig.connect();
    rig.b.tracker.inject(
        FaultTarget::Op(OpKind::Search),
        Fault::Fail(ErrorKind::Unauthenticated),
    );
    let err = block_on(rig.b.node.sync(&conn.id)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated, "{err}");
    let status = rig.b.node.connection(&conn.id).unwrap().status;
    assert!(matches!(status, ConnectionStatus::Error { .. }), "{status}");
    assert!(
        block_on(rig.b.node.sync(&conn.id)).is_err(),
        "stays stopped"
    );
    rig.b.tracker.clear_faults();
    block_on(rig.b.node.admin(&ada()).activate(&conn.id)).unwrap();
    block_on(rig.b.node.sync(&conn.id)).unwrap();
}

#[test]
fn basic_rules_are_fixed_and_custom_rules_are_versioned() {
    let mut rig = LocalRig::new();
    let id = rig.conn.id.clone();
    let err = block_on(
        rig.node
            .admin(&ada())
            .save_rule_draft(&id, RuleSpec::default()),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
    assert!(
        err.to_string().contains("basic rule set, which is fixed"),
        "{err}"
    );
    assert!(rig.node.rule_history(&id).unwrap().versions.is_empty());

    block_on(rig.admin().upgrade_to_custom(&id)).unwrap();
    let err = block_on(rig.node.admin(&ada()).publish_rules(&id)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "no draft: {err}");
    let err = block_on(
        rig.node
            .admin(&lit::user_id("uma"))
            .save_rule_draft(&id, RuleSpec::default()),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    block_on(
        rig.node
            .admin(&ada())
            .save_rule_draft(&id, RuleSpec::default().with_labels()),
    )
    .unwrap();
    assert_eq!(
        block_on(rig.node.admin(&ada()).publish_rules(&id))
            .unwrap()
            .number,
        1
    );
    block_on(
        rig.node
            .admin(&ada())
            .save_rule_draft(&id, RuleSpec::default()),
    )
    .unwrap();
    assert_eq!(
        block_on(rig.node.admin(&ada()).publish_rules(&id))
            .unwrap()
            .number,
        2
    );

    // Version 2 does not sync labels.
    let mut new = NewIssue::new(lit::project("SUP"), "Bug", "Printer on fire");
    new.labels = vec!["urgent".into()];
    block_on(rig.human.create_issue(&new)).unwrap();
    block_on(rig.node.exalate(&id, &key("SUP-1"))).unwrap();
    assert!(rig.issue("DEV-1").labels.is_empty());

    // Back to version 1, kept across a restart: labels travel.
    let back = block_on(rig.node.admin(&ada()).rollback_rules(&id, 1)).unwrap();
    assert!(back.spec.labels);
    let history = rig.node.rule_history(&id).unwrap();
    assert_eq!(history.active, Some(1));
    assert_eq!(history.versions.len(), 2);
    rig.restart();
    rig.advance(10);
    let sup = rig.issue("SUP-1");
    let update = IssueUpdate {
        labels: Some(vec!["urgent".into(), "floor-3".into()]),
        ..IssueUpdate::default()
    };
    block_on(rig.human.update_issue(&sup.id, &update)).unwrap();
    rig.sync();
    let mut labels = rig.issue("DEV-1").labels;
    labels.sort();
    assert_eq!(labels, ["floor-3", "urgent"]);
    let err = block_on(rig.node.admin(&ada()).rollback_rules(&id, 7)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
}

/// A transport that keeps a copy of every request, to replay them.
struct Tap {
    network: InProcessNetwork,
    seen: Mutex<Vec<(NodeUrl, Vec<u8>)>>,
}

impl fmt::Debug for Tap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Tap")
    }
}

#[async_trait]
impl Transport for Tap {
    async fn call(&self, to: &NodeUrl, request: Vec<u8>) -> Result<Vec<u8>> {
        self.seen
            .lock()
            .unwrap()
            .push((to.clone(), request.clone()));
        self.network.call(to, request).await
    }
}

#[test]
fn replayed_or_altered_messages_change_nothing_even_after_a_restart() {
    let mut rig = RemoteRig::new();
    let conn = rig.connect();
    let tap = Arc::new(Tap {
        network: rig.network.clone(),
        seen: Mutex::new(Vec::new()),
    });
    rig.a.node = block_on(
        Node::builder()
            .tracker(Arc::new(rig.a.tracker.clone()))
            .store(rig.a.store.clone())
            .clock(rig.clock.clone())
            .options(test_options())
            .transport(tap.clone())
            .node_key(twinsync::testkit::node_key("https://a.example"))
            .build(),
    )
    .unwrap();
    rig.network
        .register(rig.a.node.node_url(), Arc::new(rig.a.node.clone()));
    block_on(
        rig.a
            .human
            .create_issue(&NewIssue::new(lit::project("SUP"), "Bug", "first summary")),
    )
    .unwrap();
    block_on(rig.a.node.exalate(&conn.id, &key("SUP-1"))).unwrap();
    let first = tap.seen.lock().unwrap().last().cloned().unwrap();
    rig.advance(5);
    let sup = rig.a.issue("SUP-1");
    let update = IssueUpdate {
        summary: Some("second summary".into()),
        ..IssueUpdate::default()
    };
    block_on(rig.a.human.update_issue(&sup.id, &update)).unwrap();
    let issue = rig.a.issue("SUP-1");
    block_on(
        rig.a
            .human
            .add_comment(&issue.id, &NewComment::public("a comment")),
    )
    .unwrap();
    rig.sync(&conn);
    assert_eq!(rig.b.issue("DEV-1").summary, "second summary");

    // Before a restart the authenticator knows the nonce.
    let answer = block_on(rig.network.call(&first.0, first.1.clone())).unwrap();
    assert!(String::from_utf8_lossy(&answer).contains("replayed"));
    // After one it does not, but the store knows the message is old.
    rig.restart_b();
    rig.b.tracker.reset_calls();
    block_on(rig.network.call(&first.0, first.1.clone())).unwrap();
    assert_eq!(
        rig.b.tracker.calls().writes(),
        0,
        "{}",
        rig.b.tracker.calls()
    );
    assert_eq!(rig.b.issue("DEV-1").summary, "second summary");
    assert_eq!(rig.b.issue("DEV-1").comments.len(), 1);
    // An altered message is refused.
    let mut altered = first.1.clone();
    let text = String::from_utf8(altered.clone()).unwrap();
    let pos = text.find("first summary").unwrap();
    altered[pos] = b'F';
    let answer = block_on(rig.network.call(&first.0, altered)).unwrap();
    assert!(String::from_utf8_lossy(&answer).contains("signature does not match"));
    assert_eq!(rig.b.issue("DEV-1").summary, "second summary");
    assert_eq!(
        rig.b.node.connection(&conn.id).unwrap().status,
        ConnectionStatus::Active
    );
}

#[test]
fn a_side_that_lost_its_store_joins_again_without_duplicates_or_deletions() {
    let mut rig = RemoteRig::new();
    let conn = rig.connect();
    // SUP-1 goes to B as DEV-1; B's own DEV-2 comes to A as SUP-2.
    block_on(
        rig.a
            .human
            .create_issue(&NewIssue::new(lit::project("SUP"), "Bug", "from A")),
    )
    .unwrap();
    let sup1 = rig.a.issue("SUP-1");
    block_on(rig.a.human.add_comment(&sup1.id, &NewComment::public("a1"))).unwrap();
    block_on(rig.a.node.exalate(&conn.id, &key("SUP-1"))).unwrap();
    block_on(
        rig.b
            .human
            .create_issue(&NewIssue::new(lit::project("DEV"), "Bug", "from B")),
    )
    .unwrap();
    let dev2 = rig.b.issue("DEV-2");
    block_on(rig.b.human.add_comment(&dev2.id, &NewComment::public("b1"))).unwrap();
    block_on(rig.b.node.exalate(&conn.id, &key("DEV-2"))).unwrap();
    rig.sync(&conn);
    rig.sync(&conn);

    rig.wipe_b();
    assert!(rig.b.node.connections().unwrap().is_empty());
    let err = block_on(rig.a.node.admin(&lit::user_id("uma")).reinvite(&conn.id)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    let code = block_on(rig.a.node.admin(&ada()).reinvite(&conn.id)).unwrap();
    let joined = block_on(
        rig.b
            .node
            .admin(&ada())
            .accept(code.as_str(), &lit::project("DEV")),
    )
    .unwrap();
    assert_eq!(joined.id, conn.id);
    // Edits made meanwhile on both sides still travel.
    rig.advance(10);
    let update = IssueUpdate {
        summary: Some("from B, edited".into()),
        ..IssueUpdate::default()
    };
    block_on(rig.b.human.update_issue(&dev2.id, &update)).unwrap();
    block_on(rig.a.human.add_comment(&sup1.id, &NewComment::public("a2"))).unwrap();
    for _ in 0..3 {
        rig.sync(&conn);
    }
    assert_eq!(rig.a.issues("SUP").len(), 2, "nothing created twice on A");
    assert_eq!(rig.b.issues("DEV").len(), 2, "nothing created twice on B");
    let comments = |i: &twinsync::model::Issue| -> Vec<String> {
        i.comments
            .iter()
            .map(twinsync::testkit::said::said)
            .collect()
    };
    assert_eq!(comments(&rig.b.issue("DEV-1")), ["a1", "a2"]);
    assert_eq!(comments(&rig.a.issue("SUP-2")), ["b1"]);
    assert_eq!(rig.a.issue("SUP-2").summary, "from B, edited");
    assert_eq!(rig.b.node.status(&conn.id).unwrap().twins, 2);
    assert_eq!(
        rig.a.node.connection(&conn.id).unwrap().status,
        ConnectionStatus::Active
    );
    // The old code no longer opens anything; quiet cycles write nothing.
    rig.a.tracker.reset_calls();
    rig.b.tracker.reset_calls();
    rig.sync(&conn);
    assert_eq!(
        rig.a.tracker.calls().writes() + rig.b.tracker.calls().writes(),
        0
    );
}
