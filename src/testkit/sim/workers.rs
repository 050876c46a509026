//! The simulated nodes: starting one (as a worker of a run with several),
//! restarting it, picking the one that syncs, and the stall of a worker in
//! the middle of a cycle while the others work and the clock runs on.

use std::sync::Arc;
use std::time::Duration;

use crate::clock::{Clock, ManualClock};
use crate::engine::{Node, NodeOptions, Worker};
use crate::store::Store;
use crate::tracker::Tracker;

use super::super::crash::{CrashStore, CrashSwitch, CrashTracker};
use super::Sim;
use super::backend::Backend;

/// A worker paused in the middle of a cycle.
pub(super) struct Stalled {
    worker: usize,
    go: futures::channel::oneshot::Sender<()>,
    cycle: std::pin::Pin<
        Box<dyn std::future::Future<Output = crate::Result<crate::engine::CycleReport>>>,
    >,
    since: time::OffsetDateTime,
    steps_left: usize,
}

/// How long a worker of a run with several holds its work.
const WORKER_LEASE: Duration = Duration::from_secs(30);

/// Chance per step that a worker of a run with several stalls.
const STALL_RATE: f64 = 0.1;

impl Sim {
    pub(super) fn start(
        backend: &Backend,
        options: &NodeOptions,
        clock: &Arc<ManualClock>,
        switch: &CrashSwitch,
        store: Arc<dyn Store>,
        worker: Option<usize>,
    ) -> Node {
        let tracker: Arc<dyn Tracker> =
            Arc::new(CrashTracker::new(backend.node_tracker(), switch.clone()));
        let store: Arc<dyn Store> = Arc::new(CrashStore::new(store, switch.clone()));
        // A process that cannot reach its tracker at start tries again later.
        let mut attempts = 0;
        loop {
            let mut builder = Node::builder()
                .tracker(tracker.clone())
                .store(store.clone())
                .clock(clock.clone())
                .options(options.clone());
            if let Some(i) = worker {
                builder = builder.worker(Worker::new(format!("w{i}")).lease(WORKER_LEASE));
            }
            let built = backend.run(builder.build());
            match built {
                Ok(node) => return node,
                Err(e) if e.is_temporary() || attempts < 50 => {
                    attempts += 1;
                    clock.advance(Duration::from_secs(10));
                }
                Err(e) => panic!("the node cannot start: {e}"),
            }
        }
    }

    pub(super) fn restart(&mut self) {
        self.switch.revive();
        let shared = self.config.workers > 1;
        self.node = Self::start(
            &self.backend,
            &self.options,
            &self.clock,
            &self.switch,
            self.store.clone(),
            shared.then_some(0),
        );
    }

    /// Restarts every worker but the first (after a store loss, or to heal).
    pub(super) fn restart_others(&mut self) {
        for i in 0..self.others.len() {
            self.restart_other(i);
        }
    }

    pub(super) fn restart_other(&mut self, i: usize) {
        let switch = self.others[i].1.clone();
        switch.revive();
        self.others[i].0 = Self::start(
            &self.backend,
            &self.options,
            &self.clock,
            &switch,
            self.store.clone(),
            Some(i + 1),
        );
    }

    /// A random worker: `None` for the first (the only one outside worker
    /// mode, drawing nothing), `Some(i)` for `others[i]`.
    pub(super) fn pick(&mut self) -> Option<usize> {
        if self.others.is_empty() {
            return None;
        }
        let picked = self.rng.below(self.others.len() + 1).checked_sub(1);
        // A stalled worker does nothing else until it goes on.
        picked.filter(|i| self.stalled.as_ref().is_none_or(|s| s.worker != *i))
    }

    /// Now and then stalls a worker in the middle of a cycle; lets a stalled
    /// one go on when its time comes.
    pub(super) fn stall_or_go_on(&mut self) {
        if let Some(stalled) = &mut self.stalled {
            stalled.steps_left = stalled.steps_left.saturating_sub(1);
            if stalled.steps_left == 0 {
                self.go_on();
            }
            return;
        }
        if self.others.is_empty() || !self.rng.chance(STALL_RATE) {
            return;
        }
        let worker = self.rng.below(self.others.len());
        let at = 1 + self.rng.below(30) as u64;
        let steps_left = 2 + self.rng.below(9);
        let go = self.others[worker].1.stall_in(at);
        let node = self.others[worker].0.clone();
        let conn = self.conn.clone();
        self.clock.advance(Duration::from_secs(1));
        let mut cycle: std::pin::Pin<Box<dyn std::future::Future<Output = _>>> =
            Box::pin(async move { node.sync(&conn).await });
        let waker = futures::task::noop_waker();
        let mut cx = std::task::Context::from_waker(&waker);
        if cycle.as_mut().poll(&mut cx).is_ready() {
            // The cycle ended before the call that would have stalled.
            drop(go);
            self.others[worker].1.clear_stall();
            return;
        }
        if super::trace::on() {
            eprintln!(
                "stall worker {} before its call {at}, for {steps_left} steps",
                worker + 1
            );
        }
        self.stalled = Some(Stalled {
            worker,
            go,
            cycle,
            since: self.clock.now(),
            steps_left,
        });
    }

    /// Lets the stalled worker, if any, finish its cycle.
    pub(super) fn go_on(&mut self) {
        let Some(stalled) = self.stalled.take() else {
            return;
        };
        if self.clock.now() - stalled.since > WORKER_LEASE {
            self.report.stalls += 1;
        }
        if super::trace::on() {
            eprintln!(
                "worker {} goes on, stalled {} s",
                stalled.worker + 1,
                (self.clock.now() - stalled.since).whole_seconds()
            );
        }
        let _ = stalled.go.send(());
        let switch = self.others[stalled.worker].1.clone();
        if self.backend.run(stalled.cycle).is_err() && !switch.crashed() {
            let _ = self
                .backend
                .run(self.node.admin(&self.admin).activate(&self.conn));
        }
    }
    /// A sync cycle of the first node (`None`) or of another worker.
    pub(super) fn sync_by(&mut self, who: Option<usize>) {
        self.clock.advance(Duration::from_secs(1));
        if super::trace::on() {
            eprintln!("sync by worker {}", who.map_or(0, |i| i + 1));
        }
        let (node, switch) = match who {
            None => (&self.node, &self.switch),
            Some(i) => (&self.others[i].0, &self.others[i].1),
        };
        if self.backend.run(node.sync(&self.conn)).is_err() && !switch.crashed() {
            // A connection-wide failure (an injected 401): a user fixes it and reactivates.
            let _ = self
                .backend
                .run(self.node.admin(&self.admin).activate(&self.conn));
        }
    }
}
