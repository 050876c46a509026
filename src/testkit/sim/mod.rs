//! The deterministic simulation: two projects on one in-memory tracker, a
//! node syncing them, random user edits on both sides, injected faults (5xx,
//! lost answers, 429s, search lag) and crashes (the node dies at any step and
//! restarts from its store; sometimes the store is lost). Everything runs on a
//! virtual clock from one seed, so a failing seed replays exactly.
//!
//! At the end faults heal, the node syncs until quiet, and the invariants of
//! DESIGN.md are checked against the tracker's own contents.
//!
//! [`run_local`] runs it on a [`MemoryTracker`]; with feature
//! `jira-emulator`, `run_jira` runs the same simulation with the node
//! syncing through a Jira adapter over HTTP against the loopback emulator.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;
use std::time::Duration;

use crate::clock::{Clock, ManualClock};
use crate::engine::{DeleteOptions, LocalConnectionOptions, Node, NodeOptions, Worker};
use crate::model::{ConnectionId, Issue, IssueId, IssueKey, RichText, UserId, UserRef};
use crate::plan::DeletionGuard;
use crate::replica::Marker;
use crate::store::{MemoryStore, Store};
use crate::testkit::ids as lit;
#[cfg(doc)]
use crate::tracker::MemoryTracker;
use crate::tracker::{IssueUpdate, NewAttachment, NewComment, NewIssue, RetryPolicy, Tracker};

use super::block_on;
use super::crash::{CrashMode, CrashStore, CrashSwitch, CrashTracker};

mod backend;
pub(crate) mod edits;
mod invariants;
mod trace;

pub(crate) use invariants::{check_origin, check_pair};

#[cfg(feature = "jira-emulator")]
pub use super::jira::JiraFlavor;
use backend::Backend;

/// What one simulation run does.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// The seed everything follows.
    pub seed: u64,
    /// User actions and syncs before healing.
    pub steps: usize,
    /// Chance that a tracker call of the node fails.
    pub fault_rate: f64,
    /// Chance per step of a crash during the next sync.
    pub crash_rate: f64,
    /// Chance per step that the store is lost.
    pub wipe_rate: f64,
    /// How far searches lag behind writes.
    pub search_lag: Duration,
    /// Worker nodes sharing the store (1: one node, not in worker mode).
    /// With several, each sync step and each crash picks one at random; a
    /// crashed worker restarts at once, and the twins and polling it held
    /// pass to the others when its leases lapse. Now and then a worker
    /// stalls in the middle of a cycle, before one of its tracker calls,
    /// while the others work and the clock runs on (often past its lease),
    /// and then carries on.
    pub workers: usize,
}

impl SimConfig {
    /// The defaults for a seed: 60 steps, 5% faults, 8% crashes, 1% store loss, 5 s lag.
    pub fn new(seed: u64) -> Self {
        SimConfig {
            seed,
            steps: 60,
            fault_rate: 0.05,
            crash_rate: 0.08,
            wipe_rate: 0.01,
            search_lag: Duration::from_secs(5),
            workers: 1,
        }
    }
}

/// What a successful run did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SimReport {
    /// Twins at the end.
    pub twins: usize,
    /// Comments at the end (both sides).
    pub comments: usize,
    /// Crashes.
    pub crashes: usize,
    /// Store losses.
    pub wipes: usize,
    /// Stretches of steps in which one node of a remote run was cut off
    /// from the network (it could neither call nor be called).
    pub outages: usize,
    /// Sync cycles needed to converge after healing.
    pub heal_cycles: usize,
    /// Workers stalled in a cycle for longer than their lease.
    pub stalls: usize,
}

pub(super) struct Rng(pub(super) u64);

impl Rng {
    pub(super) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub(super) fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    pub(super) fn chance(&mut self, p: f64) -> bool {
        ((self.next() >> 11) as f64 / (1u64 << 53) as f64) < p
    }
}

struct Sim {
    rng: Rng,
    clock: Arc<ManualClock>,
    backend: Backend,
    options: NodeOptions,
    human: crate::tracker::MemoryTracker,
    switch: CrashSwitch,
    store: Arc<dyn Store>,
    /// Makes the empty store of a start and of each store loss.
    fresh_store: StoreMaker,
    node: Node,
    /// The other workers, each with its crash switch (worker mode only).
    others: Vec<(Node, CrashSwitch)>,
    /// A worker stalled in a cycle: which, what lets it go, its cycle, when
    /// it stalled, and the steps left until it goes on.
    stalled: Option<Stalled>,
    conn: ConnectionId,
    /// The tracker's own user, a global admin: who administers the connection.
    admin: UserId,
    config: SimConfig,
    exalated: BTreeSet<IssueId>,
    human_issues: Vec<IssueId>,
    /// Comment identities ("c17") by the issue a user wrote them on, in order.
    written: Vec<(IssueId, String)>,
    deleted: HashSet<String>,
    /// Identities of comments whose copy's attribution header a user removed.
    headless: HashSet<String>,
    next: u64,
    report: SimReport,
}

const PROJECTS: [&str; 2] = ["SUP", "DEV"];

/// A worker paused in the middle of a cycle.
struct Stalled {
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

/// Makes an empty store.
type StoreMaker = Box<dyn Fn() -> Arc<dyn Store>>;

fn options() -> NodeOptions {
    NodeOptions::default()
        .with_settle(Duration::from_secs(60))
        .with_overlap(Duration::from_secs(30))
        .with_page_size(20)
        .with_retry(RetryPolicy::default().with_max_attempts(3).with_seed(1))
}

/// Users in the simulation delete at random: no mass-deletion guard.
fn connection_options() -> LocalConnectionOptions {
    LocalConnectionOptions::default().guard(DeletionGuard {
        max_share: 1.0,
        min_items: usize::MAX,
    })
}

pub(super) fn identity(body: &str) -> String {
    body.split('.').next().unwrap_or(body).to_owned()
}

impl Sim {
    fn new(
        config: SimConfig,
        clock: Arc<ManualClock>,
        backend: Backend,
        options: NodeOptions,
        fresh_store: StoreMaker,
    ) -> Self {
        backend.contents().set_search_lag(config.search_lag);
        let human = backend
            .contents()
            .as_user(UserRef::new(lit::user_id("alice"), "Alice"));
        let switch = CrashSwitch::new();
        let store = fresh_store();
        let shared = config.workers > 1;
        let node = Self::start(
            &backend,
            &options,
            &clock,
            &switch,
            store.clone(),
            shared.then_some(0),
        );
        let others = (1..config.workers)
            .map(|i| {
                let switch = CrashSwitch::new();
                let node = Self::start(&backend, &options, &clock, &switch, store.clone(), Some(i));
                (node, switch)
            })
            .collect();
        let opts = connection_options();
        let admin = backend.contents().user().id.clone();
        let conn = backend
            .run(
                node.admin(&admin)
                    .create_local_connection("SUP", "DEV", opts),
            )
            .expect("connection")
            .id;
        Sim {
            rng: Rng(config.seed),
            clock,
            backend,
            options,
            human,
            switch,
            store,
            fresh_store,
            node,
            others,
            stalled: None,
            conn,
            admin,
            config,
            exalated: BTreeSet::new(),
            human_issues: Vec::new(),
            written: Vec::new(),
            deleted: HashSet::new(),
            headless: HashSet::new(),
            next: 0,
            report: SimReport::default(),
        }
    }

    fn start(
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

    fn restart(&mut self) {
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
    fn restart_others(&mut self) {
        for i in 0..self.others.len() {
            self.restart_other(i);
        }
    }

    fn restart_other(&mut self, i: usize) {
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
    fn pick(&mut self) -> Option<usize> {
        if self.others.is_empty() {
            return None;
        }
        let picked = self.rng.below(self.others.len() + 1).checked_sub(1);
        // A stalled worker does nothing else until it goes on.
        picked.filter(|i| self.stalled.as_ref().is_none_or(|s| s.worker != *i))
    }

    /// Now and then stalls a worker in the middle of a cycle; lets a stalled
    /// one go on when its time comes.
    fn stall_or_go_on(&mut self) {
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
        self.stalled = Some(Stalled {
            worker,
            go,
            cycle,
            since: self.clock.now(),
            steps_left,
        });
    }

    /// Lets the stalled worker, if any, finish its cycle.
    fn go_on(&mut self) {
        let Some(stalled) = self.stalled.take() else {
            return;
        };
        if self.clock.now() - stalled.since > WORKER_LEASE {
            self.report.stalls += 1;
        }
        let _ = stalled.go.send(());
        let switch = self.others[stalled.worker].1.clone();
        if self.backend.run(stalled.cycle).is_err() && !switch.crashed() {
            let _ = self
                .backend
                .run(self.node.admin(&self.admin).activate(&self.conn));
        }
    }

    fn fresh(&mut self) -> u64 {
        self.next += 1;
        self.next
    }

    fn random_issue(&mut self) -> Option<Issue> {
        let all: Vec<Issue> = PROJECTS
            .iter()
            .flat_map(|p| self.human.inspect_issues(&lit::project(*p)))
            .collect();
        if all.is_empty() {
            return None;
        }
        let i = self.rng.below(all.len());
        Some(all[i].clone())
    }

    fn step(&mut self) {
        let roll = self.rng.below(100);
        if trace::on() {
            let state = self
                .node
                .status(&self.conn)
                .map(|p| p.to_string())
                .unwrap_or_default();
            eprintln!(
                "step roll={roll} crashed={}\n{}{state}",
                self.switch.crashed(),
                trace::describe(&self.human, &PROJECTS, &*self.store, &self.conn)
            );
        }
        match roll {
            0..=9 => {
                let project = PROJECTS[self.rng.below(2)];
                let n = self.fresh();
                let t = ["Bug", "Task"][self.rng.below(2)];
                if let Ok(created) = block_on(self.human.create_issue(&NewIssue::new(
                    lit::project(project),
                    t,
                    format!("issue {n}"),
                ))) {
                    self.human_issues.push(created.id.clone());
                    if self.rng.chance(0.8) {
                        self.exalate(&created.key, created.id);
                    }
                }
            }
            10..=14 => {
                let candidates: Vec<IssueId> = self
                    .human_issues
                    .iter()
                    .filter(|i| !self.exalated.contains(*i))
                    .cloned()
                    .collect();
                if !candidates.is_empty() {
                    let id = candidates[self.rng.below(candidates.len())].clone();
                    if let Ok(issue) = block_on(self.human.issue(&id)) {
                        self.exalate(&issue.key, id);
                    }
                }
            }
            15..=29 => {
                if let Some(issue) = self.random_issue() {
                    let n = self.fresh();
                    let update = match self.rng.below(3) {
                        0 => IssueUpdate {
                            summary: Some(format!("summary {n}")),
                            ..Default::default()
                        },
                        1 => IssueUpdate {
                            description: Some(self.random_description(&issue, n)),
                            ..Default::default()
                        },
                        _ => IssueUpdate {
                            issue_type: Some(["Bug", "Task"][self.rng.below(2)].into()),
                            ..Default::default()
                        },
                    };
                    let _ = block_on(self.human.update_issue(&issue.id, &update));
                }
            }
            30..=44 => {
                if let Some(issue) = self.random_issue() {
                    let body = format!("c{}", self.fresh());
                    if block_on(
                        self.human
                            .add_comment(&issue.id, &NewComment::public(body.as_str())),
                    )
                    .is_ok()
                    {
                        self.written.push((issue.id, body));
                    }
                }
            }
            45..=51 => {
                if let Some(issue) = self.random_issue().filter(|i| !i.comments.is_empty()) {
                    let c = &issue.comments[self.rng.below(issue.comments.len())];
                    let n = self.fresh();
                    let body = edits::edited_body(c, n, &mut self.headless);
                    let _ = block_on(self.human.update_comment(&issue.id, &c.id, &body));
                }
            }
            52..=56 => {
                if let Some(issue) = self.random_issue().filter(|i| !i.comments.is_empty()) {
                    let c = &issue.comments[self.rng.below(issue.comments.len())];
                    if block_on(self.human.delete_comment(&issue.id, &c.id)).is_ok() {
                        self.deleted
                            .insert(identity(&crate::testkit::said::said(c)));
                    }
                }
            }
            57..=61 => {
                if let Some(issue) = self.random_issue() {
                    let n = self.fresh();
                    let file = NewAttachment {
                        file_name: format!("f{n}.txt"),
                        mime_type: "text/plain".into(),
                        content: format!("content {n}").into_bytes(),
                    };
                    let _ = block_on(self.human.upload_attachment(&issue.id, &file));
                }
            }
            62..=64 => {
                if let Some(issue) = self.random_issue().filter(|i| !i.attachments.is_empty()) {
                    let a = &issue.attachments[self.rng.below(issue.attachments.len())];
                    let _ = block_on(self.human.delete_attachment(&a.id));
                }
            }
            65..=84 => {
                let who = self.pick();
                self.sync_by(who);
            }
            _ => self
                .clock
                .advance(Duration::from_secs(1 + self.rng.below(90) as u64)),
        }
        if self.rng.chance(self.config.crash_rate) {
            let at = 1 + self.rng.below(40) as u64;
            let mode = if self.rng.chance(0.5) {
                CrashMode::Before
            } else {
                CrashMode::After
            };
            let who = self.pick();
            match who {
                None => self.switch.crash_in(at, mode),
                Some(i) => self.others[i].1.crash_in(at, mode),
            }
            self.sync_by(who);
            self.report.crashes += 1;
            match who {
                None => self.restart(),
                Some(i) => self.restart_other(i),
            }
        }
        if self.rng.chance(self.config.wipe_rate) {
            self.wipe();
        }
        self.stall_or_go_on();
    }

    /// A new description (see [`edits::description`]); images only on the
    /// in-memory backend, where users write the neutral form.
    fn random_description(&mut self, issue: &Issue, n: u64) -> RichText {
        if matches!(self.backend, backend::Backend::Memory(_)) {
            edits::description(&mut self.rng, issue, n)
        } else {
            RichText::plain(format!("text {n}"))
        }
    }

    fn exalate(&mut self, key: &IssueKey, id: IssueId) {
        self.exalated.insert(id);
        self.clock.advance(Duration::from_secs(1));
        let _ = self.backend.run(self.node.exalate(&self.conn, key));
    }

    /// A sync cycle of the first node (`None`) or of another worker.
    fn sync_by(&mut self, who: Option<usize>) {
        self.clock.advance(Duration::from_secs(1));
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

    fn wipe(&mut self) {
        self.report.wipes += 1;
        self.go_on();
        self.store = (self.fresh_store)();
        self.restart();
        self.restart_others();
        // The connection is re-created after the loss is noticed, later than the search lag.
        self.clock
            .advance(self.config.search_lag + Duration::from_secs(1));
        let opts = connection_options();
        let mut attempts = 0;
        loop {
            match self
                .backend
                .run(self.node.admin(&self.admin).create_local_connection(
                    "SUP",
                    "DEV",
                    opts.clone(),
                )) {
                Ok(c) => {
                    self.conn = c.id;
                    break;
                }
                Err(_) if attempts < 20 => {
                    // Faults are still on: a partly made connection is deleted and made again.
                    attempts += 1;
                    let _ = self.backend.run(
                        self.node
                            .admin(&self.admin)
                            .delete_connection(&self.conn, DeleteOptions::default()),
                    );
                }
                Err(e) => panic!("cannot re-create the connection: {e}"),
            }
        }
    }

    fn heal(&mut self) -> Result<(), String> {
        self.go_on();
        self.backend.heal();
        self.restart();
        self.restart_others();
        let _ = self
            .backend
            .run(self.node.admin(&self.admin).activate(&self.conn));
        let wait = self.config.search_lag + self.options.settle + Duration::from_secs(1);
        for round in 1..=12 {
            self.clock.advance(wait);
            for id in self.exalated.clone() {
                if let Ok(issue) = block_on(self.human.issue(&id)) {
                    let _ = self.backend.run(self.node.exalate(&self.conn, &issue.key));
                }
            }
            self.clock.advance(wait);
            self.backend.reset_calls();
            let report = self
                .backend
                .run(self.node.sync(&self.conn))
                .map_err(|e| format!("sync after healing: {e}"))?;
            let panel = self.node.status(&self.conn).map_err(|e| e.to_string())?;
            if report.writes == 0
                && self.backend.writes().0 == 0
                && panel.errors.is_empty()
                && panel.queued == 0
            {
                self.report.heal_cycles = round;
                return Ok(());
            }
        }
        let panel = self.node.status(&self.conn).map_err(|e| e.to_string())?;
        Err(format!(
            "no quiet cycle within 12 rounds after healing:\n{panel}"
        ))
    }

    fn check(&mut self) -> Result<(), String> {
        let conn = self.conn.clone();
        let issues: Vec<Issue> = PROJECTS
            .iter()
            .flat_map(|p| self.human.inspect_issues(&lit::project(*p)))
            .collect();
        let issues = self.backend.shown(issues)?;
        let by_id: BTreeMap<&IssueId, &Issue> = issues.iter().map(|i| (&i.id, i)).collect();
        // I4: each exalated issue has exactly one twin; nothing else was created.
        let mut mirrors: BTreeMap<IssueId, Vec<&Issue>> = BTreeMap::new();
        for issue in &issues {
            if let Some(m) = Marker::find(&issue.properties, &conn) {
                mirrors.entry(m.origin_issue).or_default().push(issue);
            }
        }
        for (origin, copies) in &mirrors {
            if copies.len() != 1 {
                let keys: Vec<_> = copies.iter().map(|c| c.key.to_string()).collect();
                return Err(format!(
                    "I4: issue {origin} has {} twins: {keys:?}",
                    copies.len()
                ));
            }
            if !self.exalated.contains(origin) {
                return Err(format!(
                    "I4: {} copies {origin}, which was never exalated",
                    copies[0].key
                ));
            }
        }
        for origin in &self.exalated {
            let Some(copies) = mirrors.get(origin) else {
                return Err(format!("I1: exalated issue {origin} has no twin"));
            };
            let (a, b) = (by_id[origin], copies[0]);
            let written = |on: &IssueId| -> Vec<&str> {
                self.written
                    .iter()
                    .filter(|(at, _)| at == on)
                    .map(|(_, id)| id.as_str())
                    .collect()
            };
            invariants::check_pair(
                &conn,
                a,
                b,
                [&written(&a.id), &written(&b.id)],
                &self.deleted,
                &self.headless,
            )?;
            invariants::check_origin(
                &conn,
                a,
                b,
                &self.human.inspect_remote_links(&a.id),
                &self.human.inspect_remote_links(&b.id),
            )?;
        }
        self.report.twins = mirrors.len();
        self.report.comments = issues.iter().map(|i| i.comments.len()).sum();
        // I2/I3: a converged pair syncs with no writes.
        self.backend.reset_calls();
        self.clock.advance(Duration::from_secs(10));
        self.backend
            .run(self.node.sync(&conn))
            .map_err(|e| e.to_string())?;
        let (writes, calls) = self.backend.writes();
        if writes != 0 {
            return Err(format!("I2: a cycle on converged twins wrote: {calls}"));
        }
        Ok(())
    }
}

/// Runs one simulation on a [`MemoryTracker`]; `Err` names the broken
/// invariant (and replays from the seed).
pub fn run_local(config: SimConfig) -> Result<SimReport, String> {
    run_local_on(config, || Arc::new(MemoryStore::new()))
}

/// As [`run_local`], with the node's state in stores `fresh_store` makes:
/// one at the start and one after each store loss, each empty. For store
/// authors: the engine on their store under the same faults, crashes and
/// losses.
pub fn run_local_on(
    config: SimConfig,
    fresh_store: impl Fn() -> Arc<dyn Store> + 'static,
) -> Result<SimReport, String> {
    let clock = Arc::new(ManualClock::default());
    let backend = Backend::memory(clock.clone(), &PROJECTS);
    run(config, clock, backend, options(), Box::new(fresh_store))
}

/// Runs one simulation with the node syncing through the `flavor` Jira
/// adapter over HTTP against the loopback emulator, which injects the faults
/// into its answers (5xx, 429 with each `RateLimit-Reason` and `Retry-After`,
/// lost answers). The emulator, the adapter and the node share the virtual
/// clock, so nothing really sleeps. The node syncs one twin at a time, so
/// the requests, and the faults rolled for them, replay from the seed.
#[cfg(feature = "jira-emulator")]
pub fn run_jira(config: SimConfig, flavor: JiraFlavor) -> Result<SimReport, String> {
    let clock = Arc::new(ManualClock::default());
    let backend = Backend::jira(flavor, clock.clone());
    let memory = || -> Arc<dyn Store> { Arc::new(MemoryStore::new()) };
    run(
        config,
        clock,
        backend,
        options().with_concurrency(1),
        Box::new(memory),
    )
}

fn run(
    config: SimConfig,
    clock: Arc<ManualClock>,
    backend: Backend,
    options: NodeOptions,
    fresh_store: StoreMaker,
) -> Result<SimReport, String> {
    let seed = config.seed;
    let mut sim = Sim::new(config.clone(), clock, backend, options, fresh_store);
    sim.backend.random_faults(seed, config.fault_rate);
    for _ in 0..config.steps {
        sim.step();
    }
    let checked = sim.heal().and_then(|()| sim.check());
    if checked.is_err() && trace::on() {
        let end = trace::describe(&sim.human, &PROJECTS, &*sim.store, &sim.conn);
        eprintln!("at the end:\n{end}");
    }
    checked.map_err(|e| format!("seed {seed}: {e}"))?;
    Ok(sim.report)
}
