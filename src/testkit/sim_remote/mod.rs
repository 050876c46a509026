//! The deterministic simulation of a remote connection: two nodes, each on
//! its own in-memory tracker and store, talking over an [`InProcessNetwork`]
//! that drops, duplicates, delays and reorders messages and loses answers;
//! random user edits on both sides; tracker faults; and crashes of either
//! node at any step (each restarts from its store); long stretches in which
//! one node is cut off from the network while users edit on both sides (the
//! other node backs off, messages wait, and no twin may fail because of it).
//! In some runs the destination is in a private network and pulls its
//! messages. Everything follows one seed on one virtual clock, so a failing
//! seed replays exactly.
//!
//! At the end faults heal, both nodes sync until quiet, and the invariants of
//! DESIGN.md are checked against both trackers' contents. When a node loses
//! its store, the other joins it to the connection again
//! ([`Admin::reinvite`](crate::engine::Admin::reinvite), or [`Admin::rejoin`](crate::engine::Admin::rejoin) from a private node) and the
//! twins are found again (I9).

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;

use crate::clock::ManualClock;
use crate::connection::ConnectionId;
use crate::engine::{InitiateRequest, Initiated, Node, NodeOptions};
use crate::error::{Error, ErrorKind};
use crate::model::{Issue, IssueId, IssueKey, NodeUrl, UserRef};
use crate::plan::DeletionGuard;
use crate::replica::Marker;
use crate::store::{MemoryStore, Store};
use crate::testkit::ids as lit;
use crate::tracker::memory::{Fault, RandomFaults};
use crate::tracker::{
    IssueUpdate, MemoryTracker, NewAttachment, NewComment, NewIssue, RetryPolicy, Tracker,
};
use crate::transport::{InProcessNetwork, NetworkFaults, Transport};

mod checks;
mod setup;
mod steps;

use super::block_on;
use super::crash::{CrashMode, CrashStore, CrashSwitch, CrashTracker};
use super::sim::{Rng, SimReport, edits, identity};
use setup::{options, side, start, without_guard};

/// What one remote simulation run does.
#[derive(Clone, Debug)]
pub struct RemoteSimConfig {
    /// The seed everything follows.
    pub seed: u64,
    /// User actions, syncs and deliveries before healing.
    pub steps: usize,
    /// Chance that a tracker call fails.
    pub fault_rate: f64,
    /// Chance of each network fault per message.
    pub network_fault_rate: f64,
    /// Chance per step of a crash of one node.
    pub crash_rate: f64,
    /// Chance per step that one node loses its store (the other invites it
    /// to join again, or sets the connection up again on it).
    pub wipe_rate: f64,
    /// Whether the destination is in a private network (it pulls).
    pub private_destination: bool,
    /// Chance per step that one node is cut off from the network for 10 to
    /// 40 steps (drawn apart from the other choices).
    pub outage_rate: f64,
}

impl RemoteSimConfig {
    /// The defaults for a seed: 60 steps, 5% tracker faults, 5% of each
    /// network fault, 8% crashes, 1% store loss, 3% outages; every third
    /// seed has a private destination.
    pub fn new(seed: u64) -> Self {
        RemoteSimConfig {
            seed,
            steps: 60,
            fault_rate: 0.05,
            network_fault_rate: 0.05,
            crash_rate: 0.08,
            wipe_rate: 0.01,
            private_destination: seed.is_multiple_of(3),
            outage_rate: 0.03,
        }
    }
}

/// What a twin error may not say: that the other node could not be reached.
const UNREACHABLE: [&str; 2] = ["simulated outage", "no node is reachable"];

/// One node of the simulation.
struct SimSide {
    project: &'static str,
    engine: MemoryTracker,
    human: MemoryTracker,
    switch: CrashSwitch,
    store: Arc<MemoryStore>,
    node: Node,
    reachable: bool,
    /// Cut off from the network (neither calls nor is called).
    cut: Arc<AtomicBool>,
    /// Steps the outage still lasts.
    down_for: usize,
    /// Issues exalated from this side.
    exalated: BTreeSet<IssueId>,
    /// Issues users created on this side.
    created: Vec<IssueId>,
}

struct RemoteSim {
    rng: Rng,
    clock: Arc<ManualClock>,
    network: InProcessNetwork,
    sides: [SimSide; 2],
    conn: ConnectionId,
    config: RemoteSimConfig,
    /// Comment identities ("c17") by (side, issue) they were written on, in order.
    written: Vec<(usize, IssueId, String)>,
    deleted: HashSet<String>,
    /// Identities of comments whose copy's attribution header a user removed.
    headless: HashSet<String>,
    next: u64,
    report: SimReport,
    /// Draws of outages, apart from `rng`.
    outages: Rng,
    /// Broken invariants seen during the run (checked at the end).
    violations: Vec<String>,
}

impl RemoteSim {
    fn new(config: RemoteSimConfig) -> Self {
        let clock = Arc::new(ManualClock::default());
        let network = InProcessNetwork::new();
        let a = side("https://a.sim.example", "SUP", &clock, &network, true);
        let b = side(
            "https://b.sim.example",
            "DEV",
            &clock,
            &network,
            !config.private_destination,
        );
        let ada = lit::user_id("ada");
        let initiated = block_on(
            a.node
                .admin(&ada)
                .initiate(InitiateRequest::new(lit::project("SUP"))),
        )
        .expect("initiate");
        let Initiated::Invitation { connection, code } = initiated else {
            panic!("an invitation: {initiated:?}");
        };
        block_on(
            b.node
                .admin(&ada)
                .accept(code.as_str(), &lit::project("DEV")),
        )
        .expect("accept");
        without_guard(&a.store, &connection.id);
        without_guard(&b.store, &connection.id);
        let outages = Rng(config.seed ^ 0x6f75_7461_6765);
        RemoteSim {
            rng: Rng(config.seed),
            clock,
            network,
            sides: [a, b],
            conn: connection.id,
            config,
            written: Vec::new(),
            deleted: HashSet::new(),
            headless: HashSet::new(),
            next: 0,
            report: SimReport::default(),
            outages,
            violations: Vec::new(),
        }
    }

    /// Cuts node `i` off from the network for `steps` steps.
    fn disconnect(&mut self, i: usize, steps: usize) {
        self.trace(&format!("OUTAGE of node {i} for {steps} steps"));
        self.report.outages += 1;
        let s = &mut self.sides[i];
        s.down_for = steps;
        s.cut.store(true, Ordering::SeqCst);
        self.network.unregister(s.node.node_url());
    }

    /// Node `i` is back on the network.
    fn reconnect(&mut self, i: usize) {
        self.trace(&format!("node {i} back"));
        let s = &mut self.sides[i];
        s.down_for = 0;
        s.cut.store(false, Ordering::SeqCst);
        if s.reachable {
            self.network
                .register(s.node.node_url(), Arc::new(s.node.clone()));
        }
    }

    /// Outages end after their steps; a new one may begin.
    fn outage_step(&mut self) {
        for i in 0..2 {
            if self.sides[i].down_for > 0 {
                self.sides[i].down_for -= 1;
                if self.sides[i].down_for == 0 {
                    self.reconnect(i);
                }
            }
        }
        if self.outages.chance(self.config.outage_rate)
            && self.sides.iter().all(|s| s.down_for == 0)
        {
            let i = self.outages.below(2);
            let steps = 10 + self.outages.below(31);
            self.disconnect(i, steps);
        }
    }

    /// No recorded twin error may say the other node could not be reached.
    fn check_no_unreachable_errors(&mut self) {
        for (i, s) in self.sides.iter().enumerate() {
            let Ok(panel) = s.node.status(&self.conn) else {
                continue;
            };
            for e in &panel.errors {
                if UNREACHABLE.iter().any(|m| e.message.contains(m)) {
                    self.violations.push(format!(
                        "a twin of node {i} failed because the other node could not be reached: {} {}",
                        e.key, e.message
                    ));
                }
            }
        }
    }

    fn restart(&mut self, i: usize) {
        let s = &mut self.sides[i];
        s.switch.revive();
        s.node = start(
            &s.engine,
            &self.clock,
            &s.switch,
            s.store.clone(),
            &self.network,
            s.reachable,
            &s.cut,
        );
    }

    fn fresh(&mut self) -> u64 {
        self.next += 1;
        self.next
    }

    fn random_issue(&mut self, i: usize) -> Option<Issue> {
        let s = &self.sides[i];
        let all = s.human.inspect_issues(&lit::project(s.project));
        if all.is_empty() {
            return None;
        }
        let n = self.rng.below(all.len());
        Some(all[n].clone())
    }

    fn sync(&mut self, i: usize) {
        self.clock.advance(Duration::from_secs(1));
        let s = &self.sides[i];
        if block_on(s.node.sync(&self.conn)).is_err() && !s.switch.crashed() {
            // A connection-wide failure (an injected 401): a user fixes it and reactivates.
            let _ = block_on(s.node.admin(&lit::user_id("ada")).activate(&self.conn));
        }
        if self.sides.iter().any(|s| s.down_for > 0) {
            self.check_no_unreachable_errors();
        }
    }

    fn exalate(&mut self, i: usize, key: &IssueKey, id: IssueId) {
        self.sides[i].exalated.insert(id);
        self.clock.advance(Duration::from_secs(1));
        let _ = block_on(self.sides[i].node.exalate(&self.conn, key));
    }

    fn trace(&self, what: &str) {
        if std::env::var_os("TWINSYNC_SIM_TRACE").is_none() {
            return;
        }
        eprintln!("-- {what}");
        for s in &self.sides {
            for issue in s.human.inspect_issues(&lit::project(s.project)) {
                let comments: Vec<String> = issue
                    .comments
                    .iter()
                    .map(|c| format!("{}:{}", c.id, c.body.to_plain_text()))
                    .collect();
                eprintln!("   {} {:?} {comments:?}", issue.key, issue.summary);
            }
            if let Ok(panel) = s.node.status(&self.conn) {
                eprint!("{panel}");
            }
        }
    }

    /// Node `i` loses its store; the other joins it to the connection again.
    fn wipe(&mut self, i: usize) {
        self.trace(&format!("WIPE {i}"));
        self.report.wipes += 1;
        // Joining again takes both nodes on the network.
        for side in 0..2 {
            if self.sides[side].down_for > 0 {
                self.reconnect(side);
            }
        }
        self.sides[i].store = Arc::new(MemoryStore::new());
        self.restart(i);
        self.clock.advance(Duration::from_secs(6));
        let other = 1 - i;
        let ada = lit::user_id("ada");
        let project = lit::project(self.sides[i].project);
        let mut last = String::new();
        for _ in 0..30 {
            self.clock.advance(Duration::from_secs(1));
            let survivor = &self.sides[other].node;
            if !self.sides[other].reachable {
                // An admin of the node that lost its store lets the other
                // set the connection up there again.
                let issued = block_on(
                    self.sides[i]
                        .node
                        .admin(&ada)
                        .issue_establish_token(&project, Duration::from_secs(3600)),
                );
                let token = match issued {
                    Ok(token) => token,
                    Err(e) => {
                        last = e.to_string();
                        continue;
                    }
                };
                match block_on(survivor.admin(&ada).rejoin(&self.conn, &token)) {
                    Ok(_) => return without_guard(&self.sides[i].store, &self.conn),
                    Err(e) => last = e.to_string(),
                }
                continue;
            }
            let code = match block_on(survivor.admin(&ada).reinvite(&self.conn)) {
                Ok(code) => code,
                Err(e) => {
                    last = e.to_string();
                    continue;
                }
            };
            for _ in 0..5 {
                self.clock.advance(Duration::from_secs(1));
                match block_on(
                    self.sides[i]
                        .node
                        .admin(&ada)
                        .accept(code.as_str(), &project),
                ) {
                    Ok(_) => return without_guard(&self.sides[i].store, &self.conn),
                    Err(e) => last = e.to_string(),
                }
            }
        }
        panic!("node {i} cannot join the connection again: {last}");
    }
}

/// Runs one remote simulation; `Err` names the broken invariant (and replays
/// from the seed).
pub fn run_remote(config: RemoteSimConfig) -> Result<SimReport, String> {
    let seed = config.seed;
    if std::env::var_os("TWINSYNC_SIM_TRACE").is_some() {
        eprintln!("== seed {seed}");
    }
    let mut sim = RemoteSim::new(config.clone());
    for (i, s) in sim.sides.iter().enumerate() {
        s.engine.random_faults(Some(RandomFaults {
            seed: seed.wrapping_mul(2).wrapping_add(i as u64),
            probability: config.fault_rate,
            faults: vec![
                Fault::ServerError,
                Fault::LoseResponse,
                Fault::RateLimited(Duration::from_secs(2)),
            ],
        }));
    }
    sim.network.set_faults(Some(NetworkFaults::uniform(
        seed,
        config.network_fault_rate,
    )));
    for _ in 0..config.steps {
        sim.step();
    }
    sim.heal()
        .and_then(|()| sim.check())
        .map_err(|e| format!("seed {seed}: {e}"))?;
    Ok(sim.report)
}
