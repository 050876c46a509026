//! `Node::run`, the scheduler, on virtual time: poll cadence with jitter,
//! notifications that cut the wait short, failure isolation between
//! connections, backoff from a failing tracker, graceful shutdown, and the
//! reconcile sweep that catches what polling missed.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use futures::FutureExt;
use futures::channel::oneshot;
use futures::future::BoxFuture;
use time::OffsetDateTime;
use twinsync::MemoryTracker;
use twinsync::clock::Clock;
use twinsync::engine::{LocalConnectionOptions, Node, NodeOptions, RunReport};
use twinsync::model::{ConnectionId, IssueKey, UserRef};
use twinsync::store::{MemoryStore, Store};
use twinsync::testkit::ids as lit;
use twinsync::tracker::memory::{Fault, FaultTarget, OpKind};
use twinsync::tracker::{IssueUpdate, NewIssue, RetryPolicy, Tracker};
use twinsync::trigger::TriggerSpec;

/// A virtual clock whose sleeps wait until the test moves time past them
/// (unlike `ManualClock`, whose sleeps jump ahead at once), so a test can act
/// between a run loop's cycles.
#[derive(Debug, Default)]
struct TestClock {
    inner: Arc<ClockState>,
}

#[derive(Debug)]
struct ClockState {
    now: Mutex<OffsetDateTime>,
    sleepers: Mutex<Vec<Waker>>,
}

impl Default for ClockState {
    fn default() -> Self {
        ClockState {
            now: Mutex::new(time::macros::datetime!(2026-01-01 0:00 UTC)),
            sleepers: Mutex::new(Vec::new()),
        }
    }
}

impl TestClock {
    fn advance(&self, by: Duration) {
        *self.inner.now.lock().unwrap() += by;
        for w in self.inner.sleepers.lock().unwrap().drain(..) {
            w.wake();
        }
    }
}

impl Clock for TestClock {
    fn now(&self) -> OffsetDateTime {
        *self.inner.now.lock().unwrap()
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        let state = self.inner.clone();
        let deadline = *state.now.lock().unwrap() + duration;
        Box::pin(futures::future::poll_fn(move |cx| {
            if *state.now.lock().unwrap() >= deadline {
                Poll::Ready(())
            } else {
                state.sleepers.lock().unwrap().push(cx.waker().clone());
                Poll::Pending
            }
        }))
    }
}

/// Lets the other futures of a `join` run until they wait on something.
async fn settle() {
    for _ in 0..64 {
        YieldOnce(false).await;
    }
}

struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

struct World {
    clock: Arc<TestClock>,
    tracker: MemoryTracker,
    human: MemoryTracker,
    store: Arc<MemoryStore>,
    node: Node,
    conn: ConnectionId,
}

fn options() -> NodeOptions {
    NodeOptions::default()
        .with_retry(RetryPolicy::none())
        .with_overlap(Duration::from_secs(30))
        .with_reconcile_interval(None)
}

fn world(options: NodeOptions) -> World {
    let clock = Arc::new(TestClock::default());
    let tracker = MemoryTracker::with_clock("https://run.example", clock.clone()).unwrap();
    twinsync::testkit::setup_memory_tracker(&tracker);
    let human = tracker.as_user(UserRef::new(lit::user_id("alice"), "Alice"));
    let store = Arc::new(MemoryStore::new());
    let node = futures::executor::block_on(
        Node::builder()
            .tracker(Arc::new(tracker.clone()))
            .store(store.clone())
            .clock(clock.clone())
            .options(options)
            .build(),
    )
    .unwrap();
    let conn =
        futures::executor::block_on(node.admin(&lit::user_id("ada")).create_local_connection(
            "SUP",
            "DEV",
            LocalConnectionOptions::default(),
        ))
        .unwrap()
        .id;
    World {
        clock,
        tracker,
        human,
        store,
        node,
        conn,
    }
}

impl World {
    fn create(&self, project: &str, summary: &str) -> IssueKey {
        futures::executor::block_on(self.human.create_issue(&NewIssue::new(
            lit::project(project),
            "Task",
            summary,
        )))
        .unwrap()
        .key
    }

    fn exalate(&self, key: &IssueKey) -> IssueKey {
        let info = futures::executor::block_on(self.node.exalate(&self.conn, key)).unwrap();
        info.twin.unwrap().key
    }

    fn edit(&self, key: &IssueKey, summary: &str) {
        let id = self.tracker.inspect_issue(key).unwrap().id;
        futures::executor::block_on(
            self.human
                .update_issue(&id, &IssueUpdate::new().summary(summary)),
        )
        .unwrap();
    }

    fn summary(&self, key: &IssueKey) -> String {
        self.tracker.inspect_issue(key).unwrap().summary
    }

    /// Runs the node's loop while `script` drives the world; the loop stops
    /// when the script ends.
    fn run<F: Future<Output = ()>>(
        &self,
        script: impl FnOnce(oneshot::Sender<()>) -> F,
    ) -> RunReport {
        let (stop, stopped) = oneshot::channel::<()>();
        let shutdown = stopped.map(|_| ());
        let (report, ()) = futures::executor::block_on(async {
            futures::join!(self.node.run(shutdown), script(stop))
        });
        report.unwrap()
    }

    /// Moves time on by `seconds`, one second at a time, letting the loop run.
    async fn pass(&self, seconds: u64) {
        for _ in 0..seconds {
            settle().await;
            self.clock.advance(Duration::from_secs(1));
        }
        settle().await;
    }
}

#[test]
fn cycles_come_about_every_poll_interval() {
    let w = world(options().with_poll_interval(Duration::from_secs(60)));
    let report = w.run(|stop| async {
        w.pass(600).await;
        stop.send(()).unwrap();
    });
    // One at the start, then one every 54–66 s for ten minutes.
    assert!(
        (10..=12).contains(&report.cycles),
        "cycles in 10 minutes: {report:?}"
    );
    assert_eq!(report.failed_cycles, 0);
}

#[test]
fn a_connection_poll_interval_overrides_the_nodes() {
    let w = world(
        options()
            .with_poll_interval(Duration::from_secs(60))
            .with_jitter(0.0)
            .with_connection_poll_interval("SUP_to_DEV", Duration::from_secs(300)),
    );
    let name = w.node.connections().unwrap().remove(0).name;
    assert_eq!(name, "SUP_to_DEV", "the test names the connection");
    let report = w.run(|stop| async {
        w.pass(600).await;
        stop.send(()).unwrap();
    });
    assert_eq!(report.cycles, 3, "at 0, 300 and 600 s: {report:?}");
}

#[test]
fn a_notified_change_syncs_at_once_not_at_the_next_poll() {
    let w = world(options().with_poll_interval(Duration::from_secs(3600)));
    let key = w.create("SUP", "Printer on fire");
    let twin = w.exalate(&key);
    let report = w.run(|stop| async {
        w.pass(30).await;
        let id = w.tracker.inspect_issue(&key).unwrap().id;
        w.human
            .update_issue(&id, &IssueUpdate::new().summary("Printer still on fire"))
            .await
            .unwrap();
        w.node.notify_changed(&w.conn, &key).await.unwrap();
        w.pass(1).await;
        assert_eq!(
            w.summary(&twin),
            "Printer still on fire",
            "synced within a second of the notification, not after an hour"
        );
        stop.send(()).unwrap();
    });
    assert_eq!(report.cycles, 2, "the first cycle, then the notified one");
}

#[test]
fn one_failing_connection_never_stops_the_others() {
    let w = world(options().with_poll_interval(Duration::from_secs(60)));
    let ops =
        futures::executor::block_on(w.node.admin(&lit::user_id("ada")).create_local_connection(
            "DEV",
            "SUP",
            LocalConnectionOptions::default().name("DEV_to_SUP"),
        ))
        .unwrap();
    let a = w.create("SUP", "From support");
    let b = w.create("DEV", "From development");
    let twin_a = w.exalate(&a);
    let twin_b = futures::executor::block_on(w.node.exalate(&ops.id, &b))
        .unwrap()
        .twin
        .unwrap()
        .key;
    w.edit(&a, "From support, edited");
    w.edit(&b, "From development, edited");
    // The first poll of the pass fails for good: whichever connection
    // polls first fails, the other syncs anyway.
    w.tracker.inject(
        FaultTarget::Op(OpKind::Search),
        Fault::Fail(twinsync::ErrorKind::PermissionDenied),
    );
    let report = w.run(|stop| async {
        w.pass(1).await;
        stop.send(()).unwrap();
    });
    assert_eq!(report.cycles, 2, "{report:?}");
    assert_eq!(report.failed_cycles, 1, "{report:?}");
    let synced = [
        w.summary(&twin_a) == "From support, edited",
        w.summary(&twin_b) == "From development, edited",
    ];
    assert_eq!(
        synced.iter().filter(|s| **s).count(),
        1,
        "the connection that did not fail synced: {synced:?}"
    );
}

#[test]
fn a_tracker_outage_backs_off_and_sync_resumes_after_it() {
    let w = world(
        options()
            .with_poll_interval(Duration::from_secs(5))
            .with_jitter(0.0)
            .with_outage_backoff(Duration::from_secs(30), Duration::from_secs(600)),
    );
    let key = w.create("SUP", "Printer on fire");
    let twin = w.exalate(&key);
    w.edit(&key, "Printer still on fire");
    let start = w.clock.now();
    w.tracker
        .outage(start + Duration::from_secs(300), Fault::ServerError);
    let report = w.run(|stop| async {
        w.pass(300).await;
        assert_eq!(
            w.summary(&twin),
            "Printer on fire",
            "nothing syncs in the outage"
        );
        w.pass(300).await;
        stop.send(()).unwrap();
    });
    // Failing at 0, 30, 90, 210 s (waits of 30, 60, 120 s); the cycle at
    // 450 s succeeds. Polling every 5 s would have failed 60 times.
    assert_eq!(report.failed_cycles, 4, "{report:?}");
    assert_eq!(
        w.summary(&twin),
        "Printer still on fire",
        "synced after the outage"
    );
}

#[test]
fn a_rate_limit_holds_the_connection_for_the_time_the_tracker_asked() {
    let w = world(
        options()
            .with_poll_interval(Duration::from_secs(5))
            .with_jitter(0.0),
    );
    w.tracker.inject(
        FaultTarget::Op(OpKind::Search),
        Fault::RateLimited(Duration::from_secs(120)),
    );
    let report = w.run(|stop| async {
        w.pass(121).await;
        stop.send(()).unwrap();
    });
    // Polling every 5 s would have made 24 cycles; the hold made one more.
    assert_eq!(report.failed_cycles, 1, "{report:?}");
    assert_eq!(report.cycles, 2, "{report:?}");
}

#[test]
fn shutdown_finishes_the_twin_in_flight_and_leaves_the_rest_queued() {
    let w = world(
        options()
            .with_poll_interval(Duration::from_secs(60))
            .with_concurrency(1),
    );
    futures::executor::block_on(w.node.admin(&lit::user_id("ada")).add_trigger(
        &w.conn,
        TriggerSpec::new(lit::project("SUP"), "project = SUP"),
    ))
    .unwrap();
    let keys: Vec<IssueKey> = (1..=5)
        .map(|i| w.create("SUP", &format!("Issue {i}")))
        .collect();
    w.tracker.set_latency(Duration::from_secs(1));
    let report = w.run(|stop| async {
        // The two polls take 2 s; the first twin is in flight at 3 s.
        w.pass(3).await;
        stop.send(()).unwrap();
        w.pass(60).await;
    });
    assert_eq!(report.cycles, 1);
    let made = w.tracker.inspect_issues(&lit::project("DEV")).len();
    assert!(
        (1..5).contains(&made),
        "the twin in flight was finished, the others not started: {made} made"
    );
    // The next cycle (a restarted loop, here one sync) brings the rest, once each.
    w.tracker.set_latency(Duration::ZERO);
    futures::executor::block_on(w.node.sync(&w.conn)).unwrap();
    let mut made: Vec<String> = w
        .tracker
        .inspect_issues(&lit::project("DEV"))
        .into_iter()
        .map(|i| i.summary)
        .collect();
    made.sort();
    let wanted: Vec<String> = (1..=keys.len()).map(|i| format!("Issue {i}")).collect();
    assert_eq!(made, wanted, "one twin per issue");
}

#[test]
fn the_reconcile_sweep_catches_a_change_polling_missed() {
    let w = world(
        options()
            .with_poll_interval(Duration::from_secs(60))
            .with_reconcile_interval(Some(Duration::from_secs(3600)))
            .with_jitter(0.0),
    );
    let key = w.create("SUP", "Printer on fire");
    let twin = w.exalate(&key);
    // The watermark is ahead of the edit (as after a lost webhook and a
    // clock jump): polls never see it.
    {
        let mut txn = w.store.begin().unwrap();
        txn.set_watermark(
            &w.conn,
            &lit::project("SUP"),
            w.clock.now() + Duration::from_secs(7200),
        )
        .unwrap();
        txn.commit().unwrap();
    }
    w.edit(&key, "Printer still on fire");
    let report = w.run(|stop| async {
        w.pass(1200).await;
        assert_eq!(
            w.summary(&twin),
            "Printer on fire",
            "polling missed the edit"
        );
        w.pass(2500).await;
        stop.send(()).unwrap();
    });
    assert_eq!(report.reconciles, 1, "{report:?}");
    assert_eq!(
        w.summary(&twin),
        "Printer still on fire",
        "the sweep synced it"
    );
}
