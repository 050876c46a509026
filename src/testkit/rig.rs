//! A ready-made local-connection setup for engine tests: a [`MemoryTracker`]
//! with projects SUP and DEV, a [`Node`] on a [`MemoryStore`], a virtual
//! clock, and a "human" handle for user edits that the engine's call counts
//! do not include.

use std::sync::Arc;
use std::time::Duration;

use crate::clock::{Clock, ManualClock};
use crate::connection::Connection;
use crate::engine::{Admin, LocalConnectionOptions, Node, NodeOptions};
use crate::model::{Issue, UserId, UserRef};
use crate::store::{MemoryStore, Store};
use crate::testkit::ids as lit;
use crate::tracker::{MemoryTracker, RetryPolicy};

/// A local connection SUP ↔ DEV on one in-memory tracker.
#[derive(Debug)]
pub struct LocalRig {
    /// The virtual clock everything runs on.
    pub clock: Arc<ManualClock>,
    /// The engine's handle on the tracker (its calls are counted here).
    pub tracker: MemoryTracker,
    /// A user's handle on the same tracker, for edits.
    pub human: MemoryTracker,
    /// The node's store.
    pub store: Arc<MemoryStore>,
    /// The node.
    pub node: Node,
    /// The connection SUP_to_DEV.
    pub conn: Connection,
    /// A global admin (`ada`), who created the connection; administer the
    /// connection as them with [`admin`](LocalRig::admin).
    pub admin: UserId,
}

/// Options for tests: small settle and overlap windows, fast deterministic retries.
pub fn test_options() -> NodeOptions {
    NodeOptions::default()
        .with_settle(Duration::from_secs(60))
        .with_overlap(Duration::from_secs(30))
        .with_retry(RetryPolicy::default().with_max_attempts(4).with_seed(7))
}

impl LocalRig {
    /// A fresh rig (projects as in [`setup_memory_tracker`](super::setup_memory_tracker)).
    ///
    /// # Panics
    ///
    /// When the set-up fails (a bug in twinsync).
    pub fn new() -> Self {
        let clock = Arc::new(ManualClock::default());
        let tracker = MemoryTracker::with_clock("https://rig.example", clock.clone()).expect("url");
        super::setup_memory_tracker(&tracker);
        let human = tracker.as_user(UserRef::new(lit::user_id("alice"), "Alice"));
        let store = Arc::new(MemoryStore::new());
        let node = Self::start(&tracker, &clock, store.clone());
        let admin = lit::user_id("ada");
        let conn = super::block_on(node.admin(&admin).create_local_connection(
            "SUP",
            "DEV",
            LocalConnectionOptions::default(),
        ))
        .expect("connection");
        LocalRig {
            clock,
            tracker,
            human,
            store,
            node,
            conn,
            admin,
        }
    }

    /// The node's [`Admin`] handle for the rig's global admin.
    pub fn admin(&self) -> Admin<'_> {
        self.node.admin(&self.admin)
    }

    /// Starts a node on `store` (as after a restart).
    ///
    /// # Panics
    ///
    /// When the node cannot start.
    pub fn start(tracker: &MemoryTracker, clock: &Arc<ManualClock>, store: Arc<dyn Store>) -> Node {
        super::block_on(
            Node::builder()
                .tracker(Arc::new(tracker.clone()))
                .store(store)
                .clock(clock.clone())
                .options(test_options())
                .build(),
        )
        .expect("node")
    }

    /// Drops the node and starts a new one on the same store (a crash and restart).
    pub fn restart(&mut self) {
        self.node = Self::start(&self.tracker, &self.clock, self.store.clone());
    }

    /// Loses the store: a new, empty one; the connection is created again
    /// under the same name.
    ///
    /// # Panics
    ///
    /// When the connection cannot be re-created.
    pub fn wipe_store(&mut self) {
        self.store = Arc::new(MemoryStore::new());
        self.restart();
        self.conn = super::block_on(self.admin().create_local_connection(
            "SUP",
            "DEV",
            LocalConnectionOptions::default(),
        ))
        .expect("connection again");
    }

    /// The person who edits the tracker (its calls are not the engine's).
    pub fn user(&self) -> super::User<'_> {
        super::User(&self.human)
    }

    /// Advances the clock.
    pub fn advance(&self, secs: u64) {
        self.clock.advance(Duration::from_secs(secs));
    }

    /// The current time.
    pub fn now(&self) -> time::OffsetDateTime {
        self.clock.now()
    }

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
            .unwrap_or_else(|| panic!("issue {key} exists"))
    }

    /// Runs one sync cycle after advancing the clock a little.
    ///
    /// # Panics
    ///
    /// When the cycle fails connection-wide.
    pub fn sync(&self) -> crate::engine::CycleReport {
        self.advance(1);
        super::block_on(self.node.sync(&self.conn.id)).expect("sync cycle")
    }
}

impl Default for LocalRig {
    fn default() -> Self {
        LocalRig::new()
    }
}
