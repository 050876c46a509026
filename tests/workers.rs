//! Worker mode: several nodes of one tracker on one store share its work
//! (one poller at a time, twins claimed one at a time, stale writes fenced,
//! rate-limit holds shared). The store here is one `MemoryStore` shared in
//! the process; `tests/postgres_store.rs` runs workers on PostgreSQL.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::channel::oneshot;
use futures::future::BoxFuture;
use futures::{FutureExt, poll};
use time::OffsetDateTime;
use twinsync::ErrorKind;
use twinsync::clock::{Clock, ManualClock};
use twinsync::engine::{Node, Worker};
use twinsync::store::Store;
use twinsync::testkit::block_on;
use twinsync::testkit::ids as lit;
use twinsync::testkit::rig::{LocalRig, test_options};
use twinsync::tracker::memory::{Fault, FaultTarget, OpKind};
use twinsync::trigger::TriggerSpec;

const LEASE: Duration = Duration::from_secs(10);

fn worker(rig: &LocalRig, name: &str, clock: Arc<dyn Clock>) -> Node {
    block_on(
        Node::builder()
            .tracker(Arc::new(rig.tracker.clone()))
            .store(rig.store.clone())
            .clock(clock)
            .options(test_options())
            .worker(Worker::new(name).lease(LEASE))
            .build(),
    )
    .expect("worker node")
}

fn lease_holder(store: &dyn Store, name: &str) -> Option<String> {
    let mut txn = store.begin().expect("begin");
    txn.lease(name).expect("lease").map(|l| l.holder)
}

/// Brings every SUP issue labelled `sync` under sync.
fn trigger(rig: &LocalRig) {
    block_on(rig.admin().add_trigger(
        &rig.conn.id,
        TriggerSpec::new(lit::project("SUP"), "labels = sync"),
    ))
    .expect("trigger");
}

#[test]
fn three_workers_share_one_poller_and_sync_each_twin_once() {
    let rig = LocalRig::new();
    trigger(&rig);
    let workers: Vec<Node> = ["w1", "w2", "w3"]
        .iter()
        .map(|n| worker(&rig, n, rig.clock.clone()))
        .collect();
    for i in 1..=9 {
        let issue = rig
            .user()
            .create("SUP", "Bug", &format!("Broken thing {i}"));
        rig.user()
            .comment(issue.key.as_str(), &format!("first of {i}"));
        rig.user()
            .comment(issue.key.as_str(), &format!("second of {i}"));
        rig.user().set_labels(issue.key.as_str(), &["sync"]);
    }
    rig.advance(1);
    let reports = block_on(futures::future::join_all(
        workers.iter().map(|w| w.sync(&rig.conn.id)),
    ));
    let reports: Vec<_> = reports.into_iter().map(|r| r.expect("cycle")).collect();
    let polled: Vec<_> = reports.iter().filter(|r| r.seen > 0).collect();
    assert_eq!(polled.len(), 1, "one worker polls: {reports:?}");
    let poller = lease_holder(&*rig.store, &format!("poll/{}", rig.conn.id)).expect("held");
    assert!(
        poller.starts_with("w1#"),
        "the first cycle's worker polls: {poller}"
    );
    // Whatever one cycle left (twins another worker held) the next takes.
    for _ in 0..2 {
        rig.advance(1);
        for w in &workers {
            block_on(w.sync(&rig.conn.id)).expect("cycle");
        }
    }
    let dev = rig.issues("DEV");
    assert_eq!(dev.len(), 9, "one twin per issue");
    for i in 1..=9 {
        let twin = dev
            .iter()
            .find(|d| d.summary == format!("Broken thing {i}"))
            .unwrap_or_else(|| panic!("twin of issue {i}"));
        assert_eq!(
            rig.user().said(twin.key.as_str()),
            [format!("first of {i}"), format!("second of {i}")],
            "each comment once, in order"
        );
    }
    let mut txn = rig.store.begin().expect("begin");
    assert!(txn.errors(&rig.conn.id).expect("errors").is_empty());
    assert_eq!(txn.queue_len(&rig.conn.id).expect("queue"), 0);
}

#[test]
fn polling_passes_to_another_worker_when_the_poller_is_lost() {
    let rig = LocalRig::new();
    trigger(&rig);
    let w1 = worker(&rig, "w1", rig.clock.clone());
    let w2 = worker(&rig, "w2", rig.clock.clone());
    rig.user().create("SUP", "Bug", "First");
    rig.user().set_labels("SUP-1", &["sync"]);
    rig.advance(1);
    assert_eq!(block_on(w1.sync(&rig.conn.id)).expect("cycle").seen, 1);
    rig.user().create("SUP", "Bug", "Second");
    rig.user().set_labels("SUP-2", &["sync"]);
    rig.advance(1);
    assert_eq!(
        block_on(w2.sync(&rig.conn.id)).expect("cycle").seen,
        0,
        "w1 holds the polling"
    );
    drop(w1); // lost: its lease lapses
    rig.advance(LEASE.as_secs() + 1);
    let report = block_on(w2.sync(&rig.conn.id)).expect("cycle");
    assert!(report.seen >= 1, "w2 polls now: {report:?}");
    assert_eq!(report.triggered, 1, "and brings the new issue under sync");
    assert_eq!(rig.issues("DEV").len(), 2);
}

/// A clock whose next sleep waits until the test opens it: a worker
/// stalled in a tracker call's retry.
#[derive(Debug)]
struct StallClock {
    inner: Arc<ManualClock>,
    gate: Mutex<Option<oneshot::Receiver<()>>>,
}

impl Clock for StallClock {
    fn now(&self) -> OffsetDateTime {
        self.inner.now()
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        let gate = self.gate.lock().unwrap_or_else(|e| e.into_inner()).take();
        match gate {
            Some(gate) => async move {
                let _ = gate.await;
            }
            .boxed(),
            None => self.inner.sleep(duration),
        }
    }
}

#[test]
fn a_worker_stalled_past_its_lease_has_its_write_refused_and_moves_on() {
    let rig = LocalRig::new();
    let (open, gate) = oneshot::channel();
    let stall = Arc::new(StallClock {
        inner: rig.clock.clone(),
        gate: Mutex::new(Some(gate)),
    });
    let slow = worker(&rig, "slow", stall);
    let fast = worker(&rig, "fast", rig.clock.clone());
    rig.user().create("SUP", "Bug", "Printer on fire");
    block_on(fast.exalate(&rig.conn.id, &lit::key("SUP-1"))).expect("exalate");
    rig.advance(5);
    rig.user().edit_summary("SUP-1", "Printer on fire, floor 2");
    rig.advance(1);

    // The slow worker polls, claims the twin, and stalls reading the issue
    // (a 500 answer, then a retry that waits).
    rig.tracker
        .inject(FaultTarget::Op(OpKind::GetIssue), Fault::ServerError);
    let mut stalled = Box::pin(slow.sync(&rig.conn.id));
    block_on(async {
        assert!(poll!(&mut stalled).is_pending(), "the slow worker stalls");
    });
    let twin = format!("twin/{}/{}", rig.conn.id, rig.issue("SUP-1").id);
    assert!(
        lease_holder(&*rig.store, &twin).is_some_and(|h| h.starts_with("slow#")),
        "the slow worker holds the twin"
    );

    // Its lease lapses; the fast worker takes the twin over and syncs a
    // newer edit.
    rig.advance(LEASE.as_secs() + 5);
    rig.user()
        .edit_summary("SUP-1", "Printer on fire, floors 2 and 3");
    rig.advance(1);
    let report = block_on(fast.sync(&rig.conn.id)).expect("fast cycle");
    assert_eq!(report.synced, 1, "{report:?}");
    assert_eq!(
        rig.issue("DEV-1").summary,
        "Printer on fire, floors 2 and 3"
    );
    let after_fast = {
        let mut txn = rig.store.begin().expect("begin");
        txn.twin_by_remote(&rig.conn.id, &rig.issue("SUP-1").id)
            .expect("read")
            .expect("twin")
    };

    // The slow worker wakes: its write of the twin is refused, it records
    // no error and carries on.
    open.send(()).expect("open the gate");
    let report = block_on(stalled).expect("the slow cycle ends");
    assert_eq!(
        (report.synced, report.failed),
        (0, 0),
        "the superseded twin is neither synced nor failed by the slow worker"
    );
    let mut txn = rig.store.begin().expect("begin");
    assert!(txn.errors(&rig.conn.id).expect("errors").is_empty());
    let now = txn
        .twin_by_remote(&rig.conn.id, &rig.issue("SUP-1").id)
        .expect("read")
        .expect("twin");
    assert_eq!(now, after_fast, "the fast worker's state stands");
    drop(txn);
    assert_eq!(
        rig.issue("DEV-1").summary,
        "Printer on fire, floors 2 and 3"
    );
}

/// A tracker whose first create waits for a gate: a worker stalled just
/// before sending it.
#[derive(Debug)]
struct GatedCreates {
    inner: twinsync::MemoryTracker,
    gate: Mutex<Option<oneshot::Receiver<()>>>,
}

macro_rules! gated {
    ($self:ident, create_issue, $kind:ident, $args:tt, $call:expr) => {{
        let gate = $self.gate.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(gate) = gate {
            let _ = gate.await;
        }
        $call
    }};
    ($self:ident, $method:ident, $kind:ident, $args:tt, $call:expr) => {
        $call
    };
}

twinsync::forward_tracker!([] GatedCreates, inner, gated);

/// A worker stalled past its lease just before creating the issue of a new
/// twin sends its create after another worker, finding no issue by the
/// marker, created it. Returns the other worker, the origin issue and the
/// twin's issue; DEV then holds two issues.
fn a_late_second_issue(rig: &LocalRig) -> (Node, twinsync::model::Issue, twinsync::model::IssueId) {
    trigger(rig);
    let (open, gate) = oneshot::channel();
    let gated = GatedCreates {
        inner: rig.tracker.clone(),
        gate: Mutex::new(Some(gate)),
    };
    let slow = block_on(
        Node::builder()
            .tracker(Arc::new(gated))
            .store(rig.store.clone())
            .clock(rig.clock.clone())
            .options(test_options())
            .worker(Worker::new("slow").lease(LEASE))
            .build(),
    )
    .expect("worker node");
    let fast = worker(rig, "fast", rig.clock.clone());
    let sup = rig.user().create("SUP", "Bug", "Printer on fire");
    rig.user().set_labels(sup.key.as_str(), &["sync"]);
    rig.advance(1);

    // The slow worker claims the new twin, records its create, and stalls
    // just before sending it.
    let mut stalled = Box::pin(slow.sync(&rig.conn.id));
    block_on(async {
        assert!(poll!(&mut stalled).is_pending(), "the slow worker stalls");
    });
    assert!(rig.issues("DEV").is_empty(), "nothing created yet");

    // Its lease lapses and the create settles: the fast worker, finding no
    // issue by the marker, creates the twin's issue.
    rig.advance(LEASE.as_secs() + 65);
    block_on(fast.sync(&rig.conn.id)).expect("fast cycle");
    let first = rig.issues("DEV");
    assert_eq!(first.len(), 1, "the fast worker created the twin's issue");

    // The slow worker wakes and sends its create: a second issue.
    open.send(()).expect("open the gate");
    block_on(stalled).expect("the slow cycle ends");
    assert_eq!(
        rig.issues("DEV").len(),
        2,
        "the late create made a second issue"
    );
    (fast, sup, first[0].id.clone())
}

/// The second issue of a late create, carrying the twin's marker, is
/// deleted when the next poll returns it; the twin keeps the first.
#[test]
fn a_second_issue_a_stalled_worker_creates_is_deleted_by_the_next_poll() {
    let rig = LocalRig::new();
    let (fast, sup, first) = a_late_second_issue(&rig);
    rig.advance(5);
    block_on(fast.sync(&rig.conn.id)).expect("fast cycle");
    let dev = rig.issues("DEV");
    assert_eq!(dev.len(), 1, "the second copy is deleted: {dev:?}");
    assert_eq!(dev[0].id, first, "the twin's issue stays");
    let mut txn = rig.store.begin().expect("begin");
    let twin = txn
        .twin_by_remote(&rig.conn.id, &sup.id)
        .expect("read")
        .expect("twin");
    assert_eq!(twin.local.map(|l| l.id), Some(first));
    assert!(txn.errors(&rig.conn.id).expect("errors").is_empty());
}

/// A second issue someone already commented on and attached a file to is
/// merged into the twin's issue, then deleted: the comment is posted there
/// under a line naming its author and the second issue, the file uploaded,
/// and both reach the other side. A merge done again (a crash before the
/// delete) moves nothing twice.
#[test]
fn a_second_issue_someone_commented_on_is_merged_into_the_twin() {
    let rig = LocalRig::new();
    let (fast, sup, first) = a_late_second_issue(&rig);
    let stray = rig
        .issues("DEV")
        .into_iter()
        .find(|i| i.id != first)
        .expect("the second issue");
    rig.user().comment(stray.key.as_str(), "looking into it");
    rig.user()
        .attach(stray.key.as_str(), "trace.log", b"paper jam at tray 2");
    // The deletion fails for a while, after the move: the merge is done
    // again by the next poll.
    for _ in 0..50 {
        rig.tracker.inject(
            FaultTarget::Op(OpKind::DeleteIssue),
            Fault::Fail(ErrorKind::Unavailable),
        );
    }
    rig.advance(5);
    block_on(fast.sync(&rig.conn.id)).expect("fast cycle");
    let dev: Vec<_> = rig.issues("DEV").into_iter().map(|i| i.id).collect();
    assert!(
        dev.contains(&stray.id),
        "the failed delete leaves it: {dev:?}"
    );
    let twin_key = rig
        .issues("DEV")
        .into_iter()
        .find(|i| i.id == first)
        .expect("the twin's issue")
        .key;
    assert!(
        rig.user()
            .said(twin_key.as_str())
            .iter()
            .any(|s| s.ends_with("looking into it")),
        "the comment moved before the deletion failed"
    );
    rig.tracker.clear_faults();
    rig.advance(5);
    block_on(fast.sync(&rig.conn.id)).expect("fast cycle");
    block_on(fast.sync(&rig.conn.id)).expect("fast cycle");

    let dev = rig.issues("DEV");
    assert_eq!(dev.len(), 1, "the second copy is deleted: {dev:?}");
    let twin = &dev[0];
    assert_eq!(twin.id, first, "the twin's issue stays");
    let said = rig.user().said(twin.key.as_str());
    let moved: Vec<_> = said
        .iter()
        .filter(|s| s.ends_with("looking into it"))
        .collect();
    assert_eq!(moved.len(), 1, "moved once: {said:?}");
    assert!(
        moved[0].contains(stray.key.as_str()) && moved[0].contains("wrote this on"),
        "the moved comment names where it was written: {:?}",
        moved[0]
    );
    let files = |issue: &twinsync::model::Issue| -> Vec<String> {
        issue
            .attachments
            .iter()
            .map(|a| a.file_name.clone())
            .collect()
    };
    assert_eq!(files(twin), ["trace.log"], "the file moved once");
    let sup = rig.issue(sup.key.as_str());
    assert!(
        rig.user()
            .said(sup.key.as_str())
            .iter()
            .any(|s| s.ends_with("looking into it")),
        "the moved comment reached the other side: {:?}",
        rig.user().said(sup.key.as_str())
    );
    assert_eq!(
        files(&sup),
        ["trace.log"],
        "the file reached the other side"
    );
}

/// A tracker that says it cannot delete issues (and refuses to).
#[derive(Debug)]
struct NoIssueDeletes(twinsync::tracker::memory::MemoryTracker);

macro_rules! no_issue_deletes {
    ($self:ident, capabilities, $kind:ident, $args:tt, $call:expr) => {{
        let mut capabilities = $call;
        capabilities.delete_issues = false;
        capabilities
    }};
    ($self:ident, delete_issue, $kind:ident, $args:tt, $call:expr) => {
        Err(twinsync::Error::new(
            ErrorKind::Unsupported,
            "issues cannot be deleted",
        ))
    };
    ($self:ident, $method:ident, $kind:ident, $args:tt, $call:expr) => {
        $call
    };
}

twinsync::forward_tracker!([] NoIssueDeletes, 0, no_issue_deletes);

/// A tracker that cannot delete issues keeps the second issue untouched:
/// nothing is moved that would then be held twice.
#[test]
fn a_second_issue_stays_whole_where_issues_cannot_be_deleted() {
    let rig = LocalRig::new();
    let (fast, _, first) = a_late_second_issue(&rig);
    let stray = rig
        .issues("DEV")
        .into_iter()
        .find(|i| i.id != first)
        .expect("the second issue");
    rig.user().comment(stray.key.as_str(), "looking into it");
    drop(fast);
    let keeper = block_on(
        Node::builder()
            .tracker(Arc::new(NoIssueDeletes(rig.tracker.clone())))
            .store(rig.store.clone())
            .clock(rig.clock.clone())
            .options(test_options())
            .worker(Worker::new("keeper").lease(LEASE))
            .build(),
    )
    .expect("worker node");
    rig.advance(5);
    block_on(keeper.sync(&rig.conn.id)).expect("keeper cycle");
    let dev: Vec<_> = rig.issues("DEV").into_iter().map(|i| i.id).collect();
    assert!(dev.contains(&stray.id), "the copy stays: {dev:?}");
    let twin = rig
        .issues("DEV")
        .into_iter()
        .find(|i| i.id == first)
        .expect("the twin's issue");
    assert!(
        !rig.user()
            .said(twin.key.as_str())
            .iter()
            .any(|s| s.ends_with("looking into it")),
        "its comment is not copied anywhere"
    );
    assert_eq!(
        rig.user().said(stray.key.as_str()),
        ["looking into it"],
        "the second issue keeps its comment"
    );
}

#[test]
fn a_rate_limit_hold_one_worker_learns_holds_the_others() {
    let rig = LocalRig::new();
    // Each worker has its own clock, as on separate machines.
    let own = Arc::new(ManualClock::new(rig.clock.now()));
    let w1 = worker(&rig, "w1", own);
    let w2 = worker(&rig, "w2", rig.clock.clone());
    rig.user().create("SUP", "Bug", "Printer on fire");
    rig.tracker.inject(
        FaultTarget::Op(OpKind::GetIssue),
        Fault::RateLimited(Duration::from_secs(90)),
    );
    let start = rig.clock.now();
    block_on(w1.exalate(&rig.conn.id, &lit::key("SUP-1"))).expect("exalate after the hold");
    let name = format!("tracker/{}", rig.tracker.url());
    let held = {
        let mut txn = rig.store.begin().expect("begin");
        txn.hold(&name).expect("hold").expect("w1 shared its hold")
    };
    assert!(
        held >= start + Duration::from_secs(90),
        "{held} after {start}"
    );
    assert_eq!(rig.clock.now(), start, "w1 waited on its own clock");
    rig.user().edit_summary("SUP-1", "Printer on fire, floor 2");
    block_on(w2.sync(&rig.conn.id)).expect("w2 cycle");
    assert!(
        rig.clock.now() >= held,
        "w2's calls waited for the hold w1 learned ({} < {held})",
        rig.clock.now()
    );
}

#[cfg(feature = "sqlite")]
#[test]
fn a_store_of_one_node_is_refused_for_a_worker() {
    let rig = LocalRig::new();
    let store = twinsync::store::SqliteStore::in_memory().expect("open");
    let err = block_on(
        Node::builder()
            .tracker(Arc::new(rig.tracker.clone()))
            .store(Arc::new(store))
            .worker(Worker::new("w1"))
            .build(),
    )
    .expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::InvalidConfig);
    assert!(err.to_string().contains("store its workers share"), "{err}");
}

/// A replica another node pushes to a worker is applied only while that
/// worker holds the twin: while another worker of the node holds it, the
/// push is refused for now (nothing recorded against the twin on the
/// worker's side) and lands with a later cycle of the sender.
#[test]
fn a_pushed_replica_waits_while_another_worker_holds_its_twin() {
    use twinsync::testkit::remote_rig::RemoteRig;
    use twinsync::tracker::{IssueUpdate, NewIssue, Tracker};

    let mut rig = RemoteRig::new();
    let conn = rig.connect();
    rig.restart_b_as(Worker::new("b1").lease(LEASE));
    let created = block_on(rig.a.human.create_issue(&NewIssue::new(
        lit::project("SUP"),
        "Bug",
        "Printer on fire",
    )))
    .expect("create");
    block_on(rig.a.node.exalate(&conn.id, &created.key)).expect("exalate");
    assert_eq!(rig.b.issue("DEV-1").summary, "Printer on fire");

    // Another worker of B (played here) holds the twin.
    let lease = format!("twin/{}/{}", conn.id, created.id);
    let now = rig.now();
    let held = rig
        .b
        .store
        .take_lease(&lease, "b2#1", now, now + time::Duration::minutes(10))
        .expect("take")
        .expect("free");
    rig.advance(5);
    let update = IssueUpdate {
        summary: Some("Printer on fire, floor 3".into()),
        ..IssueUpdate::default()
    };
    block_on(rig.a.human.update_issue(&created.id, &update)).expect("edit");
    rig.sync(&conn);
    assert_eq!(
        rig.b.issue("DEV-1").summary,
        "Printer on fire",
        "not applied beside the other worker"
    );
    let panel = rig.b.node.status(&conn.id).expect("panel");
    assert!(panel.errors.is_empty(), "nothing recorded on B: {panel}");

    // Once the other worker gives the twin back, the change lands.
    rig.b
        .store
        .release_lease(&lease, "b2#1", held.epoch)
        .expect("release");
    rig.sync(&conn);
    rig.sync(&conn);
    assert_eq!(rig.b.issue("DEV-1").summary, "Printer on fire, floor 3");
    assert_eq!(lease_holder(&*rig.b.store, &lease), None, "given back");
    let panel = rig.a.node.status(&conn.id).expect("panel");
    assert!(panel.errors.is_empty(), "settled on A: {panel}");
}

/// A rule version one worker publishes reaches the other workers with
/// their next cycle, without a restart.
#[test]
fn a_rule_version_one_worker_publishes_reaches_the_others() {
    use twinsync::rules::RuleSpec;

    let rig = LocalRig::new();
    trigger(&rig);
    block_on(rig.admin().upgrade_to_custom(&rig.conn.id)).expect("custom");
    block_on(
        rig.admin()
            .save_rule_draft(&rig.conn.id, RuleSpec::default()),
    )
    .expect("draft");
    block_on(rig.admin().publish_rules(&rig.conn.id)).expect("version 1: no labels");
    let w1 = worker(&rig, "w1", rig.clock.clone());
    let w2 = worker(&rig, "w2", rig.clock.clone());
    let issue = rig.user().create("SUP", "Bug", "Broken thing");
    rig.user()
        .set_labels(issue.key.as_str(), &["sync", "printer"]);
    rig.advance(1);
    block_on(w2.sync(&rig.conn.id)).expect("cycle");
    let dev = rig.issues("DEV");
    assert_eq!(dev.len(), 1);
    assert!(dev[0].labels.is_empty(), "version 1 keeps labels home");

    // w1 publishes version 2 with labels; w2 alone syncs the next change.
    let admin = w1.admin(&lit::user_id("ada"));
    block_on(admin.save_rule_draft(&rig.conn.id, RuleSpec::default().with_labels()))
        .expect("draft");
    let v2 = block_on(admin.publish_rules(&rig.conn.id)).expect("version 2");
    assert_eq!(v2.number, 2);
    rig.advance(1);
    rig.user()
        .set_labels(issue.key.as_str(), &["sync", "printer", "urgent"]);
    rig.advance(1);
    block_on(w2.sync(&rig.conn.id)).expect("cycle");
    let mut labels = rig.issues("DEV")[0].labels.clone();
    labels.sort();
    assert_eq!(
        labels,
        ["printer", "sync", "urgent"],
        "version 2 in use on w2"
    );
}
