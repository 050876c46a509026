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

use super::block_on;
use super::crash::{CrashMode, CrashStore, CrashSwitch, CrashTracker};
use super::sim::{Rng, SimReport, edits, identity};

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

fn options() -> NodeOptions {
    NodeOptions::default()
        .with_settle(Duration::from_secs(60))
        .with_overlap(Duration::from_secs(30))
        .with_page_size(20)
        .with_retry(RetryPolicy::default().with_max_attempts(3).with_seed(1))
}

/// The network as one node sees it: while the node is cut off, every call
/// it makes fails as a real network's would.
#[derive(Debug)]
struct NodeNetwork {
    network: InProcessNetwork,
    cut: Arc<AtomicBool>,
}

#[async_trait]
impl Transport for NodeNetwork {
    async fn call(&self, to: &NodeUrl, request: Vec<u8>) -> crate::Result<Vec<u8>> {
        if self.cut.load(Ordering::SeqCst) {
            return Err(Error::new(
                ErrorKind::Unavailable,
                format!("{to} cannot be reached: this node is cut off (simulated outage)"),
            ));
        }
        self.network.call(to, request).await
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

fn start(
    engine: &MemoryTracker,
    clock: &Arc<ManualClock>,
    switch: &CrashSwitch,
    store: Arc<MemoryStore>,
    network: &InProcessNetwork,
    reachable: bool,
    cut: &Arc<AtomicBool>,
) -> Node {
    let tracker: Arc<dyn Tracker> =
        Arc::new(CrashTracker::new(Arc::new(engine.clone()), switch.clone()));
    let store: Arc<dyn Store> = Arc::new(CrashStore::new(store, switch.clone()));
    let transport: Arc<dyn Transport> = Arc::new(NodeNetwork {
        network: network.clone(),
        cut: cut.clone(),
    });
    let mut attempts = 0;
    loop {
        let built = block_on(
            Node::builder()
                .tracker(tracker.clone())
                .store(store.clone())
                .clock(clock.clone())
                .options(options())
                .transport(transport.clone())
                .node_url(super::remote_rig::node_url_of(engine.url()))
                .node_key(super::node_key(engine.url().as_str()))
                .reachable(reachable)
                .build(),
        );
        match built {
            Ok(node) => {
                if reachable && !cut.load(Ordering::SeqCst) {
                    network.register(node.node_url(), Arc::new(node.clone()));
                }
                return node;
            }
            Err(e) if e.is_temporary() || attempts < 50 => {
                attempts += 1;
                clock.advance(Duration::from_secs(10));
            }
            Err(e) => panic!("the node cannot start: {e}"),
        }
    }
}

fn side(
    url: &str,
    project: &'static str,
    clock: &Arc<ManualClock>,
    network: &InProcessNetwork,
    reachable: bool,
) -> SimSide {
    let engine = MemoryTracker::with_clock(url, clock.clone()).expect("url");
    engine
        .add_project(project, project, &["Bug", "Task"], None)
        .expect("project");
    engine.add_user(UserRef::new(lit::user_id("ada"), "Ada Admin"));
    engine.set_global_admin(&lit::user_id("ada"), true);
    engine.set_search_lag(Duration::from_secs(5));
    let human = engine.as_user(UserRef::new(lit::user_id("alice"), "Alice"));
    let switch = CrashSwitch::new();
    let store = Arc::new(MemoryStore::new());
    let cut = Arc::new(AtomicBool::new(false));
    let node = start(
        &engine,
        clock,
        &switch,
        store.clone(),
        network,
        reachable,
        &cut,
    );
    SimSide {
        project,
        engine,
        human,
        switch,
        store,
        node,
        reachable,
        cut,
        down_for: 0,
        exalated: BTreeSet::new(),
        created: Vec::new(),
    }
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

    fn step(&mut self) {
        let i = self.rng.below(2);
        let roll = self.rng.below(100);
        self.trace(&format!(
            "side {i} roll {roll} held {} crashed {}/{}",
            self.network.held(),
            self.sides[0].switch.crashed(),
            self.sides[1].switch.crashed()
        ));
        match roll {
            0..=9 => {
                let n = self.fresh();
                let t = ["Bug", "Task"][self.rng.below(2)];
                let project = self.sides[i].project;
                let new = NewIssue::new(lit::project(project), t, format!("issue {n}"));
                if let Ok(created) = block_on(self.sides[i].human.create_issue(&new)) {
                    self.sides[i].created.push(created.id.clone());
                    if self.rng.chance(0.8) {
                        self.exalate(i, &created.key, created.id);
                    }
                }
            }
            10..=14 => {
                let s = &self.sides[i];
                let candidates: Vec<IssueId> = s
                    .created
                    .iter()
                    .filter(|id| !s.exalated.contains(*id))
                    .cloned()
                    .collect();
                if !candidates.is_empty() {
                    let id = candidates[self.rng.below(candidates.len())].clone();
                    if let Ok(issue) = block_on(self.sides[i].human.issue(&id)) {
                        self.exalate(i, &issue.key, id);
                    }
                }
            }
            15..=27 => {
                if let Some(issue) = self.random_issue(i) {
                    let n = self.fresh();
                    let update = match self.rng.below(3) {
                        0 => IssueUpdate {
                            summary: Some(format!("summary {n}")),
                            ..Default::default()
                        },
                        1 => IssueUpdate {
                            description: Some(edits::description(&mut self.rng, &issue, n)),
                            ..Default::default()
                        },
                        _ => IssueUpdate {
                            issue_type: Some(["Bug", "Task"][self.rng.below(2)].into()),
                            ..Default::default()
                        },
                    };
                    let _ = block_on(self.sides[i].human.update_issue(&issue.id, &update));
                }
            }
            28..=41 => {
                if let Some(issue) = self.random_issue(i) {
                    let body = format!("c{}", self.fresh());
                    let comment = NewComment::public(body.as_str());
                    if block_on(self.sides[i].human.add_comment(&issue.id, &comment)).is_ok() {
                        self.written.push((i, issue.id, body));
                    }
                }
            }
            42..=47 => {
                if let Some(issue) = self.random_issue(i).filter(|x| !x.comments.is_empty()) {
                    let c = &issue.comments[self.rng.below(issue.comments.len())];
                    let n = self.fresh();
                    let body = super::sim::edits::edited_body(c, n, &mut self.headless);
                    let _ = block_on(self.sides[i].human.update_comment(&issue.id, &c.id, &body));
                }
            }
            48..=51 => {
                if let Some(issue) = self.random_issue(i).filter(|x| !x.comments.is_empty()) {
                    let c = &issue.comments[self.rng.below(issue.comments.len())];
                    if block_on(self.sides[i].human.delete_comment(&issue.id, &c.id)).is_ok() {
                        self.deleted
                            .insert(identity(&crate::testkit::said::said(c)));
                    }
                }
            }
            52..=56 => {
                if let Some(issue) = self.random_issue(i) {
                    let n = self.fresh();
                    let file = NewAttachment {
                        file_name: format!("f{n}.txt"),
                        mime_type: "text/plain".into(),
                        content: format!("content {n}").into_bytes(),
                    };
                    let _ = block_on(self.sides[i].human.upload_attachment(&issue.id, &file));
                }
            }
            57..=59 => {
                if let Some(issue) = self.random_issue(i).filter(|x| !x.attachments.is_empty()) {
                    let a = &issue.attachments[self.rng.below(issue.attachments.len())];
                    let _ = block_on(self.sides[i].human.delete_attachment(&a.id));
                }
            }
            60..=79 => self.sync(i),
            80..=86 => {
                block_on(self.network.deliver_held());
            }
            _ => self
                .clock
                .advance(Duration::from_secs(1 + self.rng.below(90) as u64)),
        }
        if self.rng.chance(self.config.crash_rate) {
            // One node dies at a step of its own sync, or while it serves the other's.
            let victim = self.rng.below(2);
            let at = 1 + self.rng.below(40) as u64;
            let mode = if self.rng.chance(0.5) {
                CrashMode::Before
            } else {
                CrashMode::After
            };
            self.sides[victim].switch.crash_in(at, mode);
            let driver = if self.rng.chance(0.5) {
                victim
            } else {
                1 - victim
            };
            self.sync(driver);
            self.report.crashes += 1;
            self.restart(victim);
        }
        if self.rng.chance(self.config.wipe_rate) {
            let victim = self.rng.below(2);
            self.wipe(victim);
        }
        self.outage_step();
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

    fn heal(&mut self) -> Result<(), String> {
        if !self.violations.is_empty() {
            return Err(self.violations.join("\n"));
        }
        self.network.set_faults(None);
        for i in 0..2 {
            if self.sides[i].down_for > 0 {
                self.reconnect(i);
            }
        }
        for i in 0..2 {
            self.sides[i].engine.random_faults(None);
            self.sides[i].engine.clear_faults();
            self.restart(i);
            let ada = lit::user_id("ada");
            let _ = block_on(self.sides[i].node.admin(&ada).activate(&self.conn));
        }
        block_on(self.network.deliver_held());
        let wait = Duration::from_secs(5) + options().settle + Duration::from_secs(1);
        for round in 1..=12 {
            self.clock.advance(wait);
            for i in 0..2 {
                for id in self.sides[i].exalated.clone() {
                    if let Ok(issue) = block_on(self.sides[i].human.issue(&id)) {
                        let _ = block_on(self.sides[i].node.exalate(&self.conn, &issue.key));
                    }
                }
            }
            self.clock.advance(wait);
            for s in &self.sides {
                s.engine.reset_calls();
            }
            let mut quiet = true;
            let mut reported = 0;
            for i in [0, 1, 0, 1] {
                let s = &self.sides[i];
                let report = block_on(s.node.sync(&self.conn))
                    .map_err(|e| format!("sync after healing: {e}"))?;
                quiet &= report.writes == 0 && report.failed == 0;
                reported += report.writes;
                if std::env::var_os("TWINSYNC_SIM_TRACE").is_some() {
                    eprintln!(
                        "HEAL round {round} node {i}: {report:?}; calls {} / {}",
                        self.sides[0].engine.calls(),
                        self.sides[1].engine.calls()
                    );
                    eprintln!(
                        "{}",
                        s.node
                            .status(&self.conn)
                            .map(|p| format!("{p}"))
                            .unwrap_or_default()
                    );
                }
                self.clock.advance(Duration::from_secs(1));
            }
            let made: u64 = self.sides.iter().map(|s| s.engine.calls().writes()).sum();
            if reported as u64 != made {
                return Err(format!(
                    "the cycles after healing reported {reported} writes, the trackers saw {made}"
                ));
            }
            for s in &self.sides {
                let panel = s.node.status(&self.conn).map_err(|e| e.to_string())?;
                // Nothing waits for the other node, which answers.
                let settled = panel
                    .peer
                    .as_ref()
                    .is_some_and(|p| p.waiting == 0 && p.unreachable_since.is_none());
                quiet &= s.engine.calls().writes() == 0
                    && panel.errors.is_empty()
                    && panel.queued == 0
                    && settled;
            }
            if quiet && self.network.held() == 0 {
                self.report.heal_cycles = round;
                return Ok(());
            }
        }
        let panels: Vec<String> = self
            .sides
            .iter()
            .map(|s| {
                s.node
                    .status(&self.conn)
                    .map(|p| p.to_string())
                    .unwrap_or_else(|e| e.to_string())
            })
            .collect();
        Err(format!(
            "no quiet cycle within 12 rounds after healing:\n{}\n{}",
            panels[0], panels[1]
        ))
    }

    fn check(&mut self) -> Result<(), String> {
        let conn = self.conn.clone();
        let issues: [Vec<Issue>; 2] = [0, 1].map(|i| {
            let s = &self.sides[i];
            s.human.inspect_issues(&lit::project(s.project))
        });
        let mut twins = 0;
        for from in 0..2 {
            let to = 1 - from;
            let by_id: BTreeMap<&IssueId, &Issue> =
                issues[from].iter().map(|i| (&i.id, i)).collect();
            // Copies on the other side, by the issue they copy.
            let mut mirrors: BTreeMap<IssueId, Vec<&Issue>> = BTreeMap::new();
            for issue in &issues[to] {
                if let Some(m) = Marker::find(&issue.properties, &conn) {
                    mirrors.entry(m.origin_issue).or_default().push(issue);
                }
            }
            let exalated = &self.sides[from].exalated;
            for (origin, copies) in &mirrors {
                if copies.len() != 1 {
                    let keys: Vec<_> = copies.iter().map(|c| c.key.to_string()).collect();
                    return Err(format!(
                        "I4: issue {origin} has {} twins: {keys:?}",
                        copies.len()
                    ));
                }
                if !exalated.contains(origin) {
                    return Err(format!(
                        "I4: {} copies {origin}, which was never exalated",
                        copies[0].key
                    ));
                }
            }
            for origin in exalated {
                let Some(copies) = mirrors.get(origin) else {
                    return Err(format!("I1: exalated issue {origin} has no twin"));
                };
                let (a, b) = (by_id[origin], copies[0]);
                self.check_pair(from, a, to, b)?;
                twins += 1;
            }
        }
        self.report.twins = twins;
        self.report.comments = issues.iter().flatten().map(|i| i.comments.len()).sum();
        // I2/I3: converged pairs sync with no writes.
        for s in &self.sides {
            s.engine.reset_calls();
        }
        for i in [0, 1, 0, 1] {
            self.clock.advance(Duration::from_secs(10));
            let report = block_on(self.sides[i].node.sync(&conn)).map_err(|e| e.to_string())?;
            if report.writes != 0 {
                return Err(format!(
                    "I2: a quiet cycle of node {i} reports {} writes ({} on the other node)",
                    report.writes, report.peer_writes
                ));
            }
        }
        for s in &self.sides {
            let calls = s.engine.calls();
            if calls.writes() != 0 {
                return Err(format!("I2: a cycle on converged twins wrote: {calls}"));
            }
        }
        Ok(())
    }

    fn check_pair(&self, sa: usize, a: &Issue, sb: usize, b: &Issue) -> Result<(), String> {
        let written = |side: usize, on: &IssueId| -> Vec<&str> {
            self.written
                .iter()
                .filter(|(s, at, _)| *s == side && at == on)
                .map(|(_, _, id)| id.as_str())
                .collect()
        };
        super::sim::check_pair(
            &self.conn,
            a,
            b,
            [&written(sa, &a.id), &written(sb, &b.id)],
            &self.deleted,
            &self.headless,
        )?;
        super::sim::check_origin(
            &self.conn,
            a,
            b,
            &self.sides[sa].engine.inspect_remote_links(&a.id),
            &self.sides[sb].engine.inspect_remote_links(&b.id),
        )
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

/// Users in the simulation delete at random: the connection's record in a
/// node's store is given no mass-deletion guard.
fn without_guard(store: &MemoryStore, conn: &ConnectionId) {
    let mut txn = store.begin().expect("store");
    let mut record = txn.connection(conn).expect("store").expect("connection");
    let mut config: crate::connection::Connection =
        serde_json::from_str(&record.config).expect("connection config");
    config.guard = DeletionGuard {
        max_share: 1.0,
        min_items: usize::MAX,
    };
    record.config = serde_json::to_string(&config).expect("json");
    txn.put_connection(&record).expect("store");
    txn.commit().expect("store");
}
