//! A ready-made remote-connection setup: two nodes, each on its own
//! [`MemoryTracker`] and [`MemoryStore`], talking over an
//! [`InProcessNetwork`], on one virtual clock.
//!
//! Node A is on `https://a.example` and syncs project SUP; node B is on
//! `https://b.example` and syncs project DEV. Both trackers are set up by
//! [`setup_memory_tracker`](super::setup_memory_tracker) (users `ada`, a
//! global admin; `pat`, an admin of SUP; `uma`, a plain user).
//!
//! A node is not reached at its tracker's URL but at its own node URL
//! ([`node_url_of`]), and every node's directory lists the trackers
//! `https://{a,b,c}.example`, so initiating with either URL works.

use std::sync::Arc;
use std::time::Duration;

use crate::clock::{Clock, ManualClock};
use crate::connection::{Connection, PROTOCOL_VERSION};
use crate::engine::{CycleReport, InitiateRequest, Initiated, Node, Worker};
use crate::model::{InstanceUrl, Issue, NodeUrl, UserRef};
use crate::store::{MemoryStore, Store};
use crate::testkit::ids as lit;
use crate::tracker::MemoryTracker;
use crate::transport::{InProcessNetwork, Transport};

use super::block_on;
use super::rig::test_options;

/// One side of a [`RemoteRig`].
#[derive(Debug)]
pub struct RigSide {
    /// The engine's handle on the tracker (its calls are counted here).
    pub tracker: MemoryTracker,
    /// A user's handle on the same tracker, for edits.
    pub human: MemoryTracker,
    /// The node's store.
    pub store: Arc<MemoryStore>,
    /// The node.
    pub node: Node,
    /// Whether other nodes can call this node.
    pub reachable: bool,
}

impl RigSide {
    /// The issues of a project, read directly.
    pub fn issues(&self, project: &str) -> Vec<Issue> {
        self.tracker.inspect_issues(&lit::project(project))
    }

    /// One issue, read directly.
    ///
    /// # Panics
    ///
    /// When it does not exist.
    pub fn issue(&self, key: &str) -> Issue {
        self.tracker
            .inspect_issue(&lit::key(key))
            .unwrap_or_else(|| panic!("issue {key} exists on {}", self.tracker.url()))
    }
}

/// Two nodes, A (SUP on `https://a.example`) and B (DEV on `https://b.example`).
#[derive(Debug)]
pub struct RemoteRig {
    /// The virtual clock both nodes run on.
    pub clock: Arc<ManualClock>,
    /// The network between them.
    pub network: InProcessNetwork,
    /// Node A.
    pub a: RigSide,
    /// Node B.
    pub b: RigSide,
}

/// The node URL of the rig's node on the tracker at `tracker`: the
/// tracker's URL with `/node` appended (so the two always differ).
///
/// # Panics
///
/// Never for a tracker URL.
pub fn node_url_of(tracker: &InstanceUrl) -> NodeUrl {
    NodeUrl::parse(&format!("{tracker}/node")).expect("a tracker url with /node is a node url")
}

/// The directory every rig node is built with: the trackers
/// `https://{a,b,c}.example` and their nodes.
pub fn rig_directory() -> Vec<(InstanceUrl, NodeUrl)> {
    [
        "https://a.example",
        "https://b.example",
        "https://c.example",
    ]
    .into_iter()
    .map(|url| {
        let tracker = InstanceUrl::parse(url).expect("url");
        let node = node_url_of(&tracker);
        (tracker, node)
    })
    .collect()
}

fn tracker(url: &str, clock: &Arc<ManualClock>) -> MemoryTracker {
    let tracker = MemoryTracker::with_clock(url, clock.clone()).expect("url");
    super::setup_memory_tracker(&tracker);
    tracker
}

impl RemoteRig {
    /// Both nodes reachable, no connection yet.
    pub fn new() -> Self {
        Self::with_reachability(true, true)
    }

    /// Node B in a private network (it cannot be called), no connection yet.
    pub fn with_private_b() -> Self {
        Self::with_reachability(true, false)
    }

    /// Nodes reachable or not, as said.
    pub fn with_reachability(a: bool, b: bool) -> Self {
        let clock = Arc::new(ManualClock::default());
        let network = InProcessNetwork::new();
        let side = |url: &str, reachable: bool| {
            let tracker = tracker(url, &clock);
            let human = tracker.as_user(UserRef::new(lit::user_id("alice"), "Alice"));
            let store = Arc::new(MemoryStore::new());
            let node = Self::start(&tracker, &clock, &network, store.clone(), reachable);
            RigSide {
                tracker,
                human,
                store,
                node,
                reachable,
            }
        };
        let a = side("https://a.example", a);
        let b = side("https://b.example", b);
        RemoteRig {
            clock,
            network,
            a,
            b,
        }
    }

    /// Starts a node on `store` and registers it when it is reachable.
    ///
    /// # Panics
    ///
    /// When the node cannot start.
    pub fn start(
        tracker: &MemoryTracker,
        clock: &Arc<ManualClock>,
        network: &InProcessNetwork,
        store: Arc<dyn Store>,
        reachable: bool,
    ) -> Node {
        Self::start_speaking(tracker, clock, network, store, reachable, PROTOCOL_VERSION)
    }

    /// As [`start`](Self::start), announcing protocol version `protocol`.
    ///
    /// # Panics
    ///
    /// When the node cannot start.
    pub fn start_speaking(
        tracker: &MemoryTracker,
        clock: &Arc<ManualClock>,
        network: &InProcessNetwork,
        store: Arc<dyn Store>,
        reachable: bool,
        protocol: u16,
    ) -> Node {
        Self::start_node(tracker, clock, network, store, reachable, protocol, None)
    }

    fn start_node(
        tracker: &MemoryTracker,
        clock: &Arc<ManualClock>,
        network: &InProcessNetwork,
        store: Arc<dyn Store>,
        reachable: bool,
        protocol: u16,
        worker: Option<Worker>,
    ) -> Node {
        let transport: Arc<dyn Transport> = Arc::new(network.clone());
        let mut builder = Node::builder()
            .tracker(Arc::new(tracker.clone()))
            .store(store)
            .clock(clock.clone())
            .options(test_options())
            .transport(transport)
            .node_url(node_url_of(tracker.url()))
            .directory(rig_directory())
            .node_key(super::node_key(tracker.url().as_str()))
            .reachable(reachable)
            .protocol_version(protocol);
        if let Some(worker) = worker {
            builder = builder.worker(worker);
        }
        let node = block_on(builder.build()).expect("node");
        if reachable {
            network.register(node.node_url(), Arc::new(node.clone()));
        }
        node
    }

    /// Restarts node A on its store (a crash and restart).
    pub fn restart_a(&mut self) {
        self.a.node = Self::start(
            &self.a.tracker,
            &self.clock,
            &self.network,
            self.a.store.clone(),
            self.a.reachable,
        );
    }

    /// Restarts node A on its store, announcing protocol version `protocol`.
    pub fn restart_a_speaking(&mut self, protocol: u16) {
        self.a.node = Self::start_speaking(
            &self.a.tracker,
            &self.clock,
            &self.network,
            self.a.store.clone(),
            self.a.reachable,
            protocol,
        );
    }

    /// Restarts node B on its store, announcing protocol version `protocol`.
    pub fn restart_b_speaking(&mut self, protocol: u16) {
        self.b.node = Self::start_speaking(
            &self.b.tracker,
            &self.clock,
            &self.network,
            self.b.store.clone(),
            self.b.reachable,
            protocol,
        );
    }

    /// Loses node B's store: B restarts on a new, empty one (its connection
    /// is gone; join it again with [`Admin::reinvite`](crate::engine::Admin::reinvite) on A).
    pub fn wipe_b(&mut self) {
        self.b.store = Arc::new(MemoryStore::new());
        self.restart_b();
    }

    /// A third node on the same network and clock, at `url` (projects, users
    /// and groups as the others).
    pub fn another_node(&self, url: &str, reachable: bool) -> RigSide {
        let tracker = tracker(url, &self.clock);
        let human = tracker.as_user(UserRef::new(lit::user_id("alice"), "Alice"));
        let store = Arc::new(MemoryStore::new());
        let node = Self::start(
            &tracker,
            &self.clock,
            &self.network,
            store.clone(),
            reachable,
        );
        RigSide {
            tracker,
            human,
            store,
            node,
            reachable,
        }
    }

    /// Restarts node B on its store as worker `worker` (one of several
    /// sharing B's store; the others are for the test to play).
    pub fn restart_b_as(&mut self, worker: Worker) {
        self.b.node = Self::start_node(
            &self.b.tracker,
            &self.clock,
            &self.network,
            self.b.store.clone(),
            self.b.reachable,
            PROTOCOL_VERSION,
            Some(worker),
        );
    }

    /// Restarts node B on its store.
    pub fn restart_b(&mut self) {
        self.b.node = Self::start(
            &self.b.tracker,
            &self.clock,
            &self.network,
            self.b.store.clone(),
            self.b.reachable,
        );
    }

    /// A invites (no URL, as `ada`) and B accepts with DEV (as `ada`): the
    /// connection, as A holds it.
    ///
    /// # Panics
    ///
    /// When either step fails.
    pub fn connect(&self) -> Connection {
        let ada = lit::user_id("ada");
        let request = InitiateRequest::new(lit::project("SUP"));
        let initiated = block_on(self.a.node.admin(&ada).initiate(request)).expect("initiate");
        let Initiated::Invitation { connection, code } = initiated else {
            panic!("an invitation, got {initiated:?}");
        };
        block_on(
            self.b
                .node
                .admin(&ada)
                .accept(code.as_str(), &lit::project("DEV")),
        )
        .expect("accept");
        self.a.node.connection(&connection.id).expect("connection")
    }

    /// Advances the clock.
    pub fn advance(&self, secs: u64) {
        self.clock.advance(Duration::from_secs(secs));
    }

    /// The current time.
    pub fn now(&self) -> time::OffsetDateTime {
        self.clock.now()
    }

    /// One cycle of A, then one of B, after advancing the clock a little.
    ///
    /// # Panics
    ///
    /// When a cycle fails connection-wide.
    pub fn sync(&self, conn: &Connection) -> (CycleReport, CycleReport) {
        self.advance(1);
        let a = block_on(self.a.node.sync(&conn.id)).expect("sync on A");
        self.advance(1);
        let b = block_on(self.b.node.sync(&conn.id)).expect("sync on B");
        (a, b)
    }
}

impl Default for RemoteRig {
    fn default() -> Self {
        RemoteRig::new()
    }
}
