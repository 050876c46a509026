//! Nothing is lost while the other node is down: messages wait in the
//! durable outbox and arrive in order, an unreachable node is backed off
//! and shown on the panel, no twin fails because of it, and a node in a
//! private network gets its notices even across crashes.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use twinsync::ErrorKind;
use twinsync::engine::{IssueState, Node};
use twinsync::model::{IssueKey, NodeUrl};
use twinsync::testkit::block_on;
use twinsync::testkit::ids as lit;
use twinsync::testkit::remote_rig::{RemoteRig, RigSide, node_url_of, rig_directory};
use twinsync::testkit::rig::test_options;
use twinsync::tracker::{IssueUpdate, NewComment, NewIssue, Tracker};
use twinsync::transport::{InProcessNetwork, Transport};

fn key(k: &str) -> IssueKey {
    lit::key(k)
}

fn new_issue(side: &RigSide, project: &str, summary: &str) {
    block_on(
        side.human
            .create_issue(&NewIssue::new(lit::project(project), "Bug", summary)),
    )
    .unwrap();
}

fn comment(side: &RigSide, k: &str, body: &str) {
    let issue = side.issue(k);
    block_on(side.human.add_comment(&issue.id, &NewComment::public(body))).unwrap();
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

fn exalate(side: &RigSide, conn: &twinsync::connection::Connection, k: &str) {
    block_on(side.node.exalate(&conn.id, &key(k))).unwrap();
}

/// The pairs a node's panel shows, as "origin ⇄ twin".
fn pairs(side: &RigSide, conn: &twinsync::connection::Connection) -> Vec<String> {
    side.node
        .status(&conn.id)
        .unwrap()
        .issues
        .iter()
        .map(|i| {
            let twin = i.twin.as_ref().map_or("—", |t| t.key.as_str());
            format!("{} ⇄ {twin}", i.origin.key)
        })
        .collect()
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

fn quiet(rig: &RemoteRig, conn: &twinsync::connection::Connection) {
    rig.a.tracker.reset_calls();
    rig.b.tracker.reset_calls();
    rig.sync(conn);
    assert_eq!(rig.a.tracker.calls().writes(), 0, "a quiet cycle on A");
    assert_eq!(rig.b.tracker.calls().writes(), 0, "a quiet cycle on B");
}

/// The network as node A sees it, counting A's calls (those to a node
/// that is not there included).
#[derive(Debug)]
struct Counting {
    network: InProcessNetwork,
    calls: AtomicU64,
}

#[async_trait]
impl Transport for Counting {
    async fn call(&self, to: &NodeUrl, request: Vec<u8>) -> twinsync::Result<Vec<u8>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.network.call(to, request).await
    }
}

/// Node `side` rebuilt on its store and tracker with `transport`
/// (registered when other nodes may call it).
fn rebuild(rig: &RemoteRig, side: &RigSide, transport: Arc<dyn Transport>) -> Node {
    let node = block_on(
        Node::builder()
            .tracker(Arc::new(side.tracker.clone()))
            .store(side.store.clone())
            .clock(rig.clock.clone())
            .options(test_options())
            .transport(transport)
            .node_url(node_url_of(side.tracker.url()))
            .directory(rig_directory())
            .node_key(twinsync::testkit::node_key(side.tracker.url().as_str()))
            .reachable(side.reachable)
            .build(),
    )
    .unwrap();
    if side.reachable {
        rig.network
            .register(node.node_url(), Arc::new(node.clone()));
    }
    node
}

/// Rebuilds node A so that its calls are counted.
fn count_calls_of_a(rig: &mut RemoteRig) -> Arc<Counting> {
    let counting = Arc::new(Counting {
        network: rig.network.clone(),
        calls: AtomicU64::new(0),
    });
    rig.a.node = rebuild(rig, &rig.a, counting.clone());
    counting
}

#[test]
fn a_peer_down_for_many_cycles_fails_no_twin_and_everything_arrives_once_in_order_when_back() {
    let mut rig = RemoteRig::new();
    let counting = count_calls_of_a(&mut rig);
    let conn = rig.connect();
    for summary in ["Printer on fire", "Disk full", "Fan noisy"] {
        new_issue(&rig.a, "SUP", summary);
    }
    comment(&rig.a, "SUP-1", "a1");
    for k in ["SUP-1", "SUP-2", "SUP-3"] {
        exalate(&rig.a, &conn, k);
    }
    rig.sync(&conn);
    assert_eq!(bodies(&rig.b, "DEV-1"), ["a1"]);

    // B goes down: its node neither answers nor runs, and users edit on
    // both sides meanwhile.
    rig.network.unregister(rig.b.node.node_url());
    rig.advance(10);
    let down_at = rig.now();
    new_issue(&rig.a, "SUP", "Network slow");
    let info = block_on(rig.a.node.exalate(&conn.id, &key("SUP-4"))).unwrap();
    assert!(info.waiting && info.twin.is_none(), "{info:?}");
    comment(&rig.a, "SUP-1", "a2");
    comment(&rig.b, "DEV-1", "b1");
    edit_summary(&rig.a, "SUP-2", "Disk full again");
    block_on(rig.a.node.unexalate(&conn.id, &key("SUP-3"))).unwrap();
    comment(&rig.a, "SUP-1", "a3");
    let calls = counting.calls.load(Ordering::SeqCst);
    for _ in 0..30 {
        rig.advance(60);
        let report = block_on(rig.a.node.sync(&conn.id)).expect("a cycle goes on while B is down");
        assert!(report.peer_unreachable, "{report:?}");
        assert_eq!(report.failed, 0, "{report:?}");
    }
    let tries = counting.calls.load(Ordering::SeqCst) - calls;
    assert!(
        (5..15).contains(&tries),
        "30 cycles in 30 minutes tried B {tries} times, backing off"
    );

    let panel = rig.a.node.status(&conn.id).unwrap();
    assert!(panel.errors.is_empty(), "no twin failed:\n{panel}");
    let peer = panel.peer.clone().expect("a remote connection's peer line");
    assert_eq!(peer.unreachable_since, Some(down_at), "{panel}");
    assert_eq!(
        peer.waiting, 4,
        "SUP-1, SUP-2 and SUP-4 queued, the unexalate of SUP-3 in the outbox: {panel}"
    );
    let line = panel.to_string();
    assert!(
        line.contains(&format!(
            "peer https://b.example at https://b.example/node unreachable since {} (",
            rfc3339(down_at)
        )),
        "{panel}"
    );
    assert!(
        line.contains("), 4 messages waiting; next try at"),
        "{panel}"
    );
    for issue in &panel.issues {
        assert!(
            !matches!(issue.state, IssueState::Error { .. }),
            "{}: {}",
            issue.origin.key,
            issue.state
        );
    }

    // B is back. Its own cycle calls A, which then tries B at once.
    rig.network
        .register(rig.b.node.node_url(), Arc::new(rig.b.node.clone()));
    for _ in 0..4 {
        rig.sync(&conn);
    }
    assert_eq!(bodies(&rig.a, "SUP-1"), ["a1", "a2", "a3", "b1"]);
    assert_eq!(bodies(&rig.b, "DEV-1"), ["a1", "b1", "a2", "a3"]);
    assert_eq!(rig.b.issue("DEV-2").summary, "Disk full again");
    assert_eq!(rig.b.issue("DEV-4").summary, "Network slow");
    assert_eq!(rig.b.issues("DEV").len(), 4, "one copy each");
    assert_eq!(
        pairs(&rig.b, &conn),
        ["SUP-1 ⇄ DEV-1", "SUP-2 ⇄ DEV-2", "SUP-4 ⇄ DEV-4"],
        "B was told of the unexalate of SUP-3"
    );
    let panel = rig.a.node.status(&conn.id).unwrap();
    let peer = panel.peer.clone().unwrap();
    assert_eq!(peer.unreachable_since, None, "{panel}");
    assert_eq!(peer.waiting, 0, "{panel}");
    assert!(panel.errors.is_empty(), "{panel}");
    quiet(&rig, &conn);
}

#[test]
fn an_unreachable_peer_is_tried_again_after_waits_that_double_up_to_the_cap() {
    let mut rig = RemoteRig::new();
    let counting = count_calls_of_a(&mut rig);
    let conn = rig.connect();
    new_issue(&rig.a, "SUP", "Printer on fire");
    exalate(&rig.a, &conn, "SUP-1");
    rig.sync(&conn);
    rig.network.unregister(rig.b.node.node_url());
    edit_summary(&rig.a, "SUP-1", "changed while B is down");
    rig.advance(1);
    let start = rig.now();
    let mut tries = Vec::new();
    let mut calls = counting.calls.load(Ordering::SeqCst);
    // A cycle every second of the node's clock for 25 minutes.
    for _ in 0..1500 {
        let report = block_on(rig.a.node.sync(&conn.id)).unwrap();
        assert!(report.peer_unreachable && report.failed == 0, "{report:?}");
        let now = counting.calls.load(Ordering::SeqCst);
        if now > calls {
            assert_eq!(now - calls, 1, "one attempt per try");
            tries.push((rig.now() - start).whole_seconds());
        }
        calls = now;
        rig.advance(1);
    }
    // 5 s, doubling, at most 5 minutes (the defaults).
    assert_eq!(tries, [0, 5, 15, 35, 75, 155, 315, 615, 915, 1215]);
    let peer = rig.a.node.peer_status(&conn.id).unwrap().unwrap();
    assert_eq!(peer.unreachable_since, Some(start));
    assert_eq!(peer.attempts, 10);
    assert_eq!(peer.next_try, Some(start + Duration::from_secs(1515)));
    assert!(
        peer.cause
            .as_deref()
            .is_some_and(|c| c.contains("https://b.example")),
        "{peer:?}"
    );

    // Back: the next try reaches B, the outage ends and what waited arrives.
    rig.network
        .register(rig.b.node.node_url(), Arc::new(rig.b.node.clone()));
    rig.clock.set(start + Duration::from_secs(1515));
    let report = block_on(rig.a.node.sync(&conn.id)).unwrap();
    assert!(!report.peer_unreachable, "{report:?}");
    assert_eq!(report.synced, 1, "{report:?}");
    assert_eq!(rig.b.issue("DEV-1").summary, "changed while B is down");
    let peer = rig.a.node.peer_status(&conn.id).unwrap().unwrap();
    assert_eq!((peer.unreachable_since, peer.waiting), (None, 0));
}

#[test]
fn notices_for_a_private_node_survive_a_crash_of_the_node_keeping_them() {
    let mut rig = RemoteRig::with_private_b();
    let conn = rig.connect();
    new_issue(&rig.a, "SUP", "Printer on fire");
    new_issue(&rig.a, "SUP", "Disk full");
    exalate(&rig.a, &conn, "SUP-1");
    exalate(&rig.a, &conn, "SUP-2");
    rig.sync(&conn);
    rig.sync(&conn);
    assert_eq!(pairs(&rig.b, &conn), ["SUP-1 ⇄ DEV-1", "SUP-2 ⇄ DEV-2"]);

    // A unexalates SUP-1: B, which A cannot call, is told when it pulls.
    block_on(rig.a.node.unexalate(&conn.id, &key("SUP-1"))).unwrap();
    let peer = rig.a.node.peer_status(&conn.id).unwrap().unwrap();
    assert_eq!(peer.waiting, 1, "{peer}");
    assert!(!peer.calls);
    // A crashes and is rebuilt from its store before B pulls.
    rig.restart_a();
    assert_eq!(
        rig.a.node.peer_status(&conn.id).unwrap().unwrap().waiting,
        1,
        "the notice outlived the crash"
    );
    rig.advance(5);
    let report = block_on(rig.b.node.sync(&conn.id)).unwrap();
    assert_eq!(report.failed, 0, "{report:?}");
    assert_eq!(pairs(&rig.b, &conn), ["SUP-2 ⇄ DEV-2"], "B was told");
    assert_eq!(
        rig.a.node.peer_status(&conn.id).unwrap().unwrap().waiting,
        0,
        "B's pull said it took the notice"
    );
    comment(&rig.b, "DEV-1", "after the unexalate");
    rig.sync(&conn);
    rig.sync(&conn);
    assert!(
        bodies(&rig.a, "SUP-1").is_empty(),
        "DEV-1 no longer travels"
    );
}

/// The network as node B sees it, losing the `n`-th call from when it is
/// armed (the request never arrives, as if B died before sending it).
#[derive(Debug)]
struct LoseCall {
    network: InProcessNetwork,
    countdown: AtomicU64,
}

#[async_trait]
impl Transport for LoseCall {
    async fn call(&self, to: &NodeUrl, request: Vec<u8>) -> twinsync::Result<Vec<u8>> {
        let left = self.countdown.load(Ordering::SeqCst);
        if left > 0 {
            self.countdown.store(left - 1, Ordering::SeqCst);
            if left == 1 {
                return Err(twinsync::Error::new(
                    ErrorKind::Timeout,
                    format!("no answer from {to} (lost on purpose)"),
                ));
            }
        }
        self.network.call(to, request).await
    }
}

#[test]
fn messages_a_private_node_took_but_did_not_acknowledge_come_again_and_change_nothing_twice() {
    let mut rig = RemoteRig::with_private_b();
    let lossy = Arc::new(LoseCall {
        network: rig.network.clone(),
        countdown: AtomicU64::new(0),
    });
    rig.b.node = rebuild(&rig, &rig.b, lossy.clone());
    let conn = rig.connect();
    new_issue(&rig.a, "SUP", "Printer on fire");
    comment(&rig.a, "SUP-1", "first");
    exalate(&rig.a, &conn, "SUP-1");
    rig.sync(&conn);
    assert_eq!(pairs(&rig.b, &conn), ["SUP-1 ⇄ DEV-1"]);

    // Unexalated and exalated again: the notice and the replica wait in
    // that order.
    rig.advance(5);
    block_on(rig.a.node.unexalate(&conn.id, &key("SUP-1"))).unwrap();
    comment(&rig.a, "SUP-1", "second");
    exalate(&rig.a, &conn, "SUP-1");
    assert_eq!(
        rig.a.node.peer_status(&conn.id).unwrap().unwrap().waiting,
        2
    );
    // B pulls and handles both, answers, but its next pull (which says
    // what it took) is lost.
    rig.advance(5);
    lossy.countdown.store(3, Ordering::SeqCst);
    let report = block_on(rig.b.node.pull(&conn.id)).unwrap();
    assert!(report.peer_unreachable, "{report:?}");
    assert_eq!(report.synced, 1, "{report:?}");
    assert_eq!(
        pairs(&rig.b, &conn),
        ["SUP-1 ⇄ DEV-2"],
        "a new twin (the old one was unexalated)"
    );
    assert_eq!(
        rig.a.node.peer_status(&conn.id).unwrap().unwrap().waiting,
        2,
        "A keeps what B did not say it took"
    );

    // B's next pull gets both again: nothing happens twice.
    rig.advance(10);
    let report = block_on(rig.b.node.pull(&conn.id)).unwrap();
    assert!(!report.peer_unreachable, "{report:?}");
    assert_eq!((report.synced, report.writes), (0, 0), "{report:?}");
    assert_eq!(
        rig.a.node.peer_status(&conn.id).unwrap().unwrap().waiting,
        0
    );
    assert_eq!(
        pairs(&rig.b, &conn),
        ["SUP-1 ⇄ DEV-2"],
        "the unexalate delivered again left the new twin alone"
    );
    assert_eq!(bodies(&rig.b, "DEV-2"), ["first", "second"]);
    assert_eq!(rig.b.issues("DEV").len(), 2, "no third copy");

    // The twin goes on at once: B did not take the old notice for a new
    // unexalate (it would answer A's next replica with "gone").
    rig.advance(10);
    comment(&rig.a, "SUP-1", "third");
    block_on(rig.a.node.sync(&conn.id)).unwrap();
    rig.advance(1);
    let report = block_on(rig.b.node.pull(&conn.id)).unwrap();
    assert_eq!(report.synced, 1, "{report:?}");
    assert_eq!(bodies(&rig.b, "DEV-2"), ["first", "second", "third"]);
    assert_eq!(pairs(&rig.a, &conn), ["SUP-1 ⇄ DEV-2"]);
    rig.sync(&conn);
    quiet(&rig, &conn);
}

#[test]
fn a_private_node_pulls_at_its_interval_and_waits_out_an_unreachable_peer() {
    let rig = RemoteRig::with_private_b();
    let conn = rig.connect();
    assert_eq!(
        rig.a.node.next_pull(&conn.id).unwrap(),
        None,
        "A is called; it does not pull"
    );
    let err = block_on(rig.a.node.pull(&conn.id)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert_eq!(
        rig.b.node.next_pull(&conn.id).unwrap(),
        Some(rig.now()),
        "not pulled since B started"
    );
    block_on(rig.b.node.pull(&conn.id)).unwrap();
    let interval = Duration::from_secs(20);
    assert_eq!(
        rig.b.node.next_pull(&conn.id).unwrap(),
        Some(rig.now() + interval)
    );

    new_issue(&rig.a, "SUP", "Printer on fire");
    exalate(&rig.a, &conn, "SUP-1");
    rig.advance(20);
    let report = block_on(rig.b.node.pull(&conn.id)).unwrap();
    assert_eq!(report.synced, 1, "{report:?}");
    assert_eq!(rig.b.issue("DEV-1").summary, "Printer on fire");

    // A is down: B's pulls wait for the next try, and nothing fails.
    rig.network.unregister(rig.a.node.node_url());
    rig.advance(20);
    let down_at = rig.now();
    let report = block_on(rig.b.node.pull(&conn.id)).unwrap();
    assert!(report.peer_unreachable, "{report:?}");
    assert_eq!(
        rig.b.node.next_pull(&conn.id).unwrap(),
        Some(down_at + Duration::from_secs(5)),
        "the next try, not the interval"
    );
    comment(&rig.b, "DEV-1", "on it");
    rig.advance(1);
    let report = block_on(rig.b.node.sync(&conn.id)).unwrap();
    assert!(report.peer_unreachable && report.failed == 0, "{report:?}");
    let panel = rig.b.node.status(&conn.id).unwrap();
    assert!(panel.errors.is_empty(), "{panel}");
    let peer = panel.peer.clone().unwrap();
    assert_eq!(peer.unreachable_since, Some(down_at), "{panel}");
    assert_eq!(peer.waiting, 1, "DEV-1's change: {panel}");

    // A is back: B's next pull ends the outage, its change goes.
    rig.network
        .register(rig.a.node.node_url(), Arc::new(rig.a.node.clone()));
    rig.advance(30);
    block_on(rig.b.node.pull(&conn.id)).unwrap();
    rig.sync(&conn);
    assert_eq!(bodies(&rig.a, "SUP-1"), ["on it"]);
    let peer = rig.b.node.peer_status(&conn.id).unwrap().unwrap();
    assert_eq!((peer.unreachable_since, peer.waiting), (None, 0), "{peer}");
}
