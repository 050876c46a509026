//! Bulk exalate on a tracker that creates issues in batches (the in-memory
//! tracker, 50 per call like Jira Cloud): how many calls the creates take,
//! what a lost answer, a refused element or a crash leaves (never a
//! duplicate), and how pacing keeps the tracker's 429s away.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::future::BoxFuture;
use time::OffsetDateTime;
use twinsync::clock::Clock;
use twinsync::engine::{BulkEvent, BulkReport, LocalConnectionOptions, Node, NodeOptions, Pacing};
use twinsync::model::{ConnectionId, Issue, UserRef};
use twinsync::replica::Marker;
use twinsync::store::{MemoryStore, Store};
use twinsync::testkit::block_on;
use twinsync::testkit::crash::{CrashMode, CrashStore, CrashSwitch, CrashTracker};
use twinsync::testkit::ids as lit;
use twinsync::testkit::rig::{LocalRig, test_options};
use twinsync::tracker::memory::{Fault, OpKind, RateLimits};
use twinsync::tracker::{MemoryTracker, NewComment, NewIssue, RetryPolicy, Tracker};
use twinsync::{Error, Result};

/// `n` issues in SUP, each with one comment.
fn issues_with_a_comment(rig: &LocalRig, n: usize) {
    for i in 0..n {
        let issue = rig.user().create("SUP", "Bug", &format!("issue {i}"));
        rig.user().comment(&issue.key, &format!("hello {i}"));
    }
}

fn node_on(rig: &LocalRig, tracker: Arc<dyn Tracker>, store: Arc<dyn Store>) -> Node {
    block_on(
        Node::builder()
            .tracker(tracker)
            .store(store)
            .clock(rig.clock.clone())
            .options(test_options())
            .build(),
    )
    .expect("node")
}

fn bulk(node: &Node, conn: &ConnectionId) -> Result<BulkReport> {
    block_on(node.bulk_exalate(conn, "project = SUP", |_| {}))
}

/// Exactly one twin per SUP issue in DEV, each carrying its own comment once.
fn assert_one_twin_each(rig: &LocalRig, n: usize, label: &str) {
    let dev = rig.issues("DEV");
    assert_eq!(dev.len(), n, "{label}: one twin per issue, no duplicate");
    let mut origins: Vec<_> = dev
        .iter()
        .filter_map(|i| Marker::find(&i.properties, &rig.conn.id).map(|m| m.origin_issue))
        .collect();
    origins.sort();
    origins.dedup();
    assert_eq!(origins.len(), n, "{label}: each twin copies another issue");
    for twin in &dev {
        let said = rig.user().said(twin.key.as_str());
        let n = twin.summary.trim_start_matches("issue ");
        assert_eq!(
            said,
            [format!("hello {n}")],
            "{label}: {} has its comment once",
            twin.key
        );
    }
}

#[test]
fn bulk_exalate_creates_new_twins_fifty_to_a_call() {
    let rig = LocalRig::new();
    issues_with_a_comment(&rig, 120);
    rig.tracker.reset_calls();
    let report = bulk(&rig.node, &rig.conn.id).unwrap();
    assert_eq!(report.synced, 120, "{report:?}");
    let calls = rig.tracker.calls();
    // Pages of 100: 50 + 50, then 20.
    assert_eq!(calls.get(OpKind::CreateIssues), 3, "{calls}");
    assert_eq!(calls.get(OpKind::CreateIssue), 0, "{calls}");
    assert_eq!(calls.get(OpKind::AddComment), 120, "{calls}");
    assert_one_twin_each(&rig, 120, "batched");
    // Once under sync, another bulk creates nothing.
    rig.tracker.reset_calls();
    let again = bulk(&rig.node, &rig.conn.id).unwrap();
    assert_eq!(again.skipped, 120, "{again:?}");
    assert_eq!(rig.tracker.calls().writes(), 0);
}

#[test]
fn a_lost_batch_answer_is_settled_twin_by_twin_by_marker() {
    let rig = LocalRig::new();
    issues_with_a_comment(&rig, 10);
    // The batch is applied, its answer lost.
    rig.tracker
        .inject(OpKind::CreateIssues, Fault::LoseResponse);
    let first = bulk(&rig.node, &rig.conn.id).unwrap();
    assert_eq!(first.failed, 10, "nothing is known of the batch: {first:?}");
    assert_eq!(rig.issues("DEV").len(), 10, "the lost call created them");
    // Within the settle window nothing is created again; after it, each
    // twin finds its issue by its marker.
    rig.advance(120);
    rig.tracker.reset_calls();
    let second = bulk(&rig.node, &rig.conn.id).unwrap();
    assert_eq!(second.synced, 10, "{second:?}");
    let calls = rig.tracker.calls();
    assert_eq!(
        calls.get(OpKind::CreateIssue) + calls.get(OpKind::CreateIssues),
        0,
        "no create repeated: {calls}"
    );
    assert_one_twin_each(&rig, 10, "after a lost answer");
}

/// Refuses one element of a batch on its own (a 429 for that element only),
/// once; everything else goes to the tracker.
#[derive(Debug)]
struct RefusesOneElement {
    inner: MemoryTracker,
    summary: String,
    refused: AtomicBool,
}

macro_rules! refuse_one {
    ($self:ident, create_issues, $kind:ident, ($issues:ident), $call:expr) => {{
        match $issues.iter().position(|i| i.summary == $self.summary) {
            Some(at) if !$self.refused.swap(true, Ordering::SeqCst) => {
                let rest: Vec<NewIssue> = $issues
                    .iter()
                    .enumerate()
                    .filter(|(n, _)| *n != at)
                    .map(|(_, i)| i.clone())
                    .collect();
                let mut results = $self.inner.create_issues(&rest).await?;
                results.insert(
                    at,
                    Err(Error::rate_limited(
                        "too many creates in this project (429)",
                        None,
                    )),
                );
                Ok(results)
            }
            _ => $call,
        }
    }};
    ($self:ident, $method:ident, $kind:ident, $args:tt, $call:expr) => {
        $call
    };
}

twinsync::forward_tracker!([] RefusesOneElement, inner, refuse_one);

#[test]
fn an_element_refused_alone_is_created_alone_and_the_others_with_their_batch() {
    let rig = LocalRig::new();
    issues_with_a_comment(&rig, 8);
    let tracker = Arc::new(RefusesOneElement {
        inner: rig.tracker.clone(),
        summary: "issue 3".to_owned(),
        refused: AtomicBool::new(false),
    });
    let node = node_on(&rig, tracker.clone(), rig.store.clone());
    rig.tracker.reset_calls();
    let report = bulk(&node, &rig.conn.id).unwrap();
    assert_eq!(report.synced, 8, "{report:?}");
    assert!(
        tracker.refused.load(Ordering::SeqCst),
        "the element was refused"
    );
    let calls = rig.tracker.calls();
    assert_eq!(calls.get(OpKind::CreateIssues), 1, "one batch: {calls}");
    assert_eq!(
        calls.get(OpKind::CreateIssue),
        1,
        "the refused element alone, never the batch again: {calls}"
    );
    assert_one_twin_each(&rig, 8, "one element refused");
}

/// Arms its crash switch as a batch of creates goes out.
#[derive(Debug)]
struct CrashAtBatch {
    inner: CrashTracker,
    switch: CrashSwitch,
    mode: CrashMode,
}

macro_rules! crash_at_batch {
    ($self:ident, create_issues, $kind:ident, $args:tt, $call:expr) => {{
        $self.switch.crash_in(1, $self.mode);
        $call
    }};
    ($self:ident, $method:ident, $kind:ident, $args:tt, $call:expr) => {
        $call
    };
}

twinsync::forward_tracker!([] CrashAtBatch, inner, crash_at_batch);

#[test]
fn a_crash_between_the_intents_and_the_batch_leaves_no_duplicate() {
    // Before: the intents are recorded, the batch never sent. After: the
    // batch applied, the process dead before its answer.
    for mode in [CrashMode::Before, CrashMode::After] {
        let rig = LocalRig::new();
        issues_with_a_comment(&rig, 12);
        let switch = CrashSwitch::new();
        let store: Arc<dyn Store> = Arc::new(CrashStore::new(rig.store.clone(), switch.clone()));
        let tracker = Arc::new(CrashAtBatch {
            inner: CrashTracker::new(Arc::new(rig.tracker.clone()), switch.clone()),
            switch: switch.clone(),
            mode,
        });
        let node = node_on(&rig, tracker, store);
        let _dead = bulk(&node, &rig.conn.id);
        assert!(switch.crashed(), "{mode:?}: the crash happened");
        drop(node);
        let created = rig.issues("DEV").len();
        match mode {
            CrashMode::Before => assert_eq!(created, 0, "nothing sent"),
            CrashMode::After => assert_eq!(created, 12, "the batch applied"),
        }
        // Restarted on the same store, after the settle window.
        switch.revive();
        rig.advance(120);
        let node = node_on(&rig, Arc::new(rig.tracker.clone()), rig.store.clone());
        let report = bulk(&node, &rig.conn.id).unwrap();
        assert_eq!(report.failed, 0, "{mode:?}: {report:?}");
        assert_one_twin_each(&rig, 12, &format!("crash {mode:?} the batch"));
    }
}

/// Tokio's (paused, auto-advancing) clock as a twinsync clock.
#[derive(Debug)]
struct TokioClock {
    base: OffsetDateTime,
    start: tokio::time::Instant,
}

impl Clock for TokioClock {
    fn now(&self) -> OffsetDateTime {
        self.base + (tokio::time::Instant::now() - self.start)
    }
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// A bulk of 300 issues with 4 comments each on a tracker that answers in
/// 300 ms and enforces Jira Cloud's limits, 100 twins at once: the calls
/// made, and the twins.
async fn limited_bulk(pacing: Pacing) -> (twinsync::tracker::memory::CallCounts, Vec<Issue>) {
    let clock = Arc::new(TokioClock {
        base: time::macros::datetime!(2026-01-01 0:00 UTC),
        start: tokio::time::Instant::now(),
    });
    let tracker = MemoryTracker::with_clock("https://paced.example", clock.clone()).unwrap();
    tracker
        .add_project("SUP", "Support", &["Bug"], None)
        .unwrap();
    tracker
        .add_project("DEV", "Development", &["Bug"], None)
        .unwrap();
    let human = tracker.as_user(UserRef::new(lit::user_id("alice"), "Alice"));
    for i in 0..300 {
        let issue = human
            .create_issue(&NewIssue::new(
                lit::project("SUP"),
                "Bug",
                format!("issue {i}"),
            ))
            .await
            .unwrap();
        for c in 0..4 {
            human
                .add_comment(&issue.id, &NewComment::public(format!("comment {c}")))
                .await
                .unwrap();
        }
    }
    tracker.set_latency(Duration::from_millis(300));
    tracker.set_rate_limits(Some(RateLimits::jira_cloud()));
    let options = NodeOptions::default()
        .with_concurrency(100)
        .with_pacing(pacing)
        .with_retry(RetryPolicy::default().with_max_attempts(1000));
    let node = Node::builder()
        .tracker(Arc::new(tracker.clone()))
        .store(Arc::new(MemoryStore::new()))
        .clock(clock)
        .options(options)
        .build()
        .await
        .unwrap();
    let conn = node
        .admin(&tracker.user().id)
        .create_local_connection("SUP", "DEV", LocalConnectionOptions::default())
        .await
        .unwrap();
    tracker.reset_calls();
    let report = node
        .bulk_exalate(&conn.id, "project = SUP", |e| {
            assert!(!matches!(e, BulkEvent::Failed { .. }), "{e:?}");
        })
        .await
        .unwrap();
    assert_eq!(report.synced, 300);
    (
        tracker.calls(),
        tracker.inspect_issues(&lit::project("DEV")),
    )
}

fn paused_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap()
}

#[test]
fn pacing_keeps_429s_under_one_percent_where_unpaced_calls_meet_many() {
    let (paced, twins) = paused_runtime().block_on(limited_bulk(Pacing::Documented));
    assert_eq!(twins.len(), 300);
    assert!(twins.iter().all(|t| t.comments.len() == 4));
    assert!(
        paced.rate_limited() * 100 < paced.total(),
        "paced: {} of {} calls answered 429",
        paced.rate_limited(),
        paced.total()
    );
    let (unpaced, twins) = paused_runtime().block_on(limited_bulk(Pacing::Off));
    assert_eq!(twins.len(), 300);
    assert!(
        unpaced.rate_limited() * 100 >= unpaced.total(),
        "without pacing the same run meets 429s: {unpaced}"
    );
}
