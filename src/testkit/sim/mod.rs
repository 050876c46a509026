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

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;
use std::time::Duration;

use crate::clock::ManualClock;
use crate::engine::{LocalConnectionOptions, Node, NodeOptions};
use crate::model::{ConnectionId, IssueId, UserId, UserRef};
use crate::plan::DeletionGuard;
use crate::store::{MemoryStore, Store};
use crate::testkit::ids as lit;
#[cfg(doc)]
use crate::tracker::MemoryTracker;
use crate::tracker::RetryPolicy;

use super::crash::CrashSwitch;

mod backend;
mod beyond;
mod check;
mod config;
mod crashes;
pub(crate) mod edits;
mod invariants;
mod steps;
mod trace;
mod workers;

pub use config::{SimConfig, SimReport};
pub(crate) use invariants::{check_origin, check_pair};

#[cfg(feature = "jira-emulator")]
pub use super::jira::JiraFlavor;
use backend::Backend;
use workers::Stalled;

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
    /// Issues a user made a parent (beyond Basic: brought under sync with
    /// their children).
    parented: BTreeSet<IssueId>,
    next: u64,
    report: SimReport,
}

const PROJECTS: [&str; 2] = ["SUP", "DEV"];

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
        assert!(
            !config.beyond_basic || config.workers == 1,
            "rules beyond Basic are simulated on one node"
        );
        if config.beyond_basic {
            beyond::set_up(backend.contents());
        }
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
            parented: BTreeSet::new(),
            next: 0,
            report: SimReport::default(),
        }
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
    if config.beyond_basic {
        sim.publish_rules();
    }
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
