//! The engine over real HTTP (feature `jira-emulator`): the loopback Jira
//! emulator on its own tokio runtime, a node whose tracker is a
//! [`JiraCloud`](crate::tracker::jira::JiraCloud) or
//! [`JiraDataCenter`](crate::tracker::jira::JiraDataCenter) adapter pointed at it, and a "human"
//! who edits the emulator's contents directly.
//!
//! The emulator, the adapter's rate-limit holds and the node share one
//! [`ManualClock`]: Jira's minute-precision `updated` searches, the search
//! lag and every `Retry-After` run on virtual time, and nothing really sleeps.
//! The node's calls are counted as the HTTP requests the emulator answered.
//!
//! ```
//! use twinsync::testkit::jira::{JiraFlavor, JiraRig};
//! use twinsync::tracker::{NewIssue, Tracker};
//!
//! let rig = JiraRig::new(JiraFlavor::Cloud);
//! let created = rig.block_on(rig.human.create_issue(&NewIssue::new("SUP".parse()?, "Bug", "Printer on fire")))?;
//! let twin = rig.block_on(rig.node.exalate(&rig.conn.id, &created.key))?;
//! assert_eq!(rig.issue(twin.twin.unwrap().key.as_str()).summary, "Printer on fire");
//! # Ok::<(), twinsync::Error>(())
//! ```

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::{Clock, ManualClock};
use crate::connection::Connection;
use crate::engine::{Admin, CycleReport, LocalConnectionOptions, Node};
use crate::model::{Issue, UserId, UserRef};
use crate::store::{MemoryStore, Store};
use crate::testkit::ids as lit;
use crate::tracker::jira::emulator::{Deployment, EmulatorOptions, Exchange, JiraEmulator};
use crate::tracker::{MemoryTracker, Tracker};

/// Which Jira adapter the node uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JiraFlavor {
    /// [`JiraCloud`](crate::tracker::jira::JiraCloud): REST v3, ADF.
    Cloud,
    /// [`JiraDataCenter`](crate::tracker::jira::JiraDataCenter): REST v2, wiki markup.
    DataCenter,
}

/// A loopback Jira: the emulator (projects `SUP` and `DEV`, see
/// [`emulator`](crate::tracker::jira::emulator)) served by a current-thread
/// tokio runtime that runs whenever [`block_on`](JiraSite::block_on) does.
pub struct JiraSite {
    // Dropped first: the server stops before its runtime goes.
    emulator: JiraEmulator,
    runtime: tokio::runtime::Runtime,
    flavor: JiraFlavor,
}

impl fmt::Debug for JiraSite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JiraSite")
            .field("emulator", &self.emulator)
            .field("flavor", &self.flavor)
            .finish_non_exhaustive()
    }
}

impl JiraSite {
    /// Starts the emulator on 127.0.0.1 (a free port) and `clock`, calling
    /// itself Cloud or Data Center as `flavor` is.
    ///
    /// # Panics
    ///
    /// When no runtime can be built or no port bound.
    pub fn start(flavor: JiraFlavor, clock: Arc<dyn Clock>) -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let emulator = runtime
            .block_on(JiraEmulator::start_with(
                EmulatorOptions::default()
                    .clock(clock)
                    .deployment(match flavor {
                        JiraFlavor::Cloud => Deployment::Cloud,
                        JiraFlavor::DataCenter => Deployment::DataCenter,
                    }),
            ))
            .expect("the jira emulator starts on loopback");
        JiraSite {
            emulator,
            runtime,
            flavor,
        }
    }

    /// Runs a future on the site's runtime (the emulator serves meanwhile).
    /// Everything that talks HTTP must run here.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// The emulator, for faults, search lag and its request log.
    pub fn emulator(&self) -> &JiraEmulator {
        &self.emulator
    }

    /// The emulator's contents, read and written directly (no HTTP).
    pub fn contents(&self) -> &MemoryTracker {
        self.emulator.tracker()
    }

    /// The adapter flavor.
    pub fn flavor(&self) -> JiraFlavor {
        self.flavor
    }

    /// A new adapter of the site's flavor, signed in as the integration user,
    /// on the emulator's clock.
    ///
    /// # Panics
    ///
    /// When the adapter cannot be built (a bug in twinsync).
    pub fn adapter(&self) -> Arc<dyn Tracker> {
        match self.flavor {
            JiraFlavor::Cloud => Arc::new(self.emulator.cloud().expect("a cloud adapter")),
            JiraFlavor::DataCenter => {
                Arc::new(self.emulator.data_center().expect("a data center adapter"))
            }
        }
    }

    /// The HTTP requests answered since the last [`reset_calls`](Self::reset_calls).
    pub fn calls(&self) -> HttpCalls {
        HttpCalls(self.emulator.exchanges())
    }

    /// Forgets the requests answered so far.
    pub fn reset_calls(&self) {
        self.emulator.clear_exchanges();
    }
}

/// HTTP requests the emulator answered, counted the way Jira's rate limits
/// count them.
#[derive(Clone, Debug, PartialEq)]
pub struct HttpCalls(pub Vec<Exchange>);

impl HttpCalls {
    /// Requests that change something: every `POST`, `PUT` and `DELETE`
    /// (searches are `GET`s) but `POST workflows/preview`, a read.
    pub fn writes(&self) -> usize {
        self.0
            .iter()
            .filter(|e| e.method != "GET" && !e.path.ends_with("/workflows/preview"))
            .count()
    }

    /// Requests with `method` whose route (as Atlassian's spec writes it)
    /// ends with `route_end`, such as `("POST", "/comment")` or `("GET", "/search/jql")`.
    pub fn count(&self, method: &str, route_end: &str) -> usize {
        self.0
            .iter()
            .filter(|e| {
                e.method == method && e.route.as_deref().is_some_and(|r| r.ends_with(route_end))
            })
            .count()
    }

    /// Searches of either API (`/search/jql` or v2 `/search`).
    pub fn searches(&self) -> usize {
        self.count("GET", "/search/jql") + self.count("GET", "/2/search")
    }
}

impl fmt::Display for HttpCalls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} requests:", self.0.len())?;
        for e in &self.0 {
            write!(f, " {} {} → {};", e.method, e.path, e.status)?;
        }
        Ok(())
    }
}

/// A local connection SUP ↔ DEV on the Jira emulator, synced by a node
/// through a Jira adapter over HTTP: [`LocalRig`](super::rig::LocalRig)'s
/// counterpart.
#[derive(Debug)]
pub struct JiraRig {
    /// The virtual clock everything runs on (emulator, adapter, node).
    pub clock: Arc<ManualClock>,
    /// The node.
    pub node: Node,
    /// The connection SUP_to_DEV.
    pub conn: Connection,
    /// The integration user the adapter signs in as, a global admin (Jira
    /// Data Center can only tell for its own user), who created the
    /// connection; administer as them with [`admin`](JiraRig::admin).
    pub admin: UserId,
    /// The node's adapter.
    pub tracker: Arc<dyn Tracker>,
    /// A user (`alice`) editing the emulator's contents directly.
    pub human: MemoryTracker,
    /// The node's store.
    pub store: Arc<MemoryStore>,
    /// The emulator and its runtime (declared last: dropped after the node's
    /// HTTP connections).
    pub site: JiraSite,
}

impl JiraRig {
    /// A fresh rig with a node using `flavor`'s adapter.
    ///
    /// # Panics
    ///
    /// When the set-up fails (a bug in twinsync).
    pub fn new(flavor: JiraFlavor) -> Self {
        Self::with_adapter(flavor, JiraSite::adapter)
    }

    /// A fresh rig on an emulator of `flavor`, the node using the tracker
    /// `adapter` makes for the site (such as one speaking Cloud for SUP and
    /// Data Center for DEV).
    ///
    /// # Panics
    ///
    /// When the set-up fails (a bug in twinsync).
    pub fn with_adapter(
        flavor: JiraFlavor,
        adapter: impl FnOnce(&JiraSite) -> Arc<dyn Tracker>,
    ) -> Self {
        let clock = Arc::new(ManualClock::default());
        let site = JiraSite::start(flavor, clock.clone());
        let tracker = adapter(&site);
        let human = site
            .contents()
            .as_user(UserRef::new(lit::user_id("alice"), "Alice"));
        let store = Arc::new(MemoryStore::new());
        let node = Self::start_node(&site, tracker.clone(), &clock, store.clone());
        let admin = site.contents().user().id.clone();
        let conn = site
            .block_on(node.admin(&admin).create_local_connection(
                "SUP",
                "DEV",
                LocalConnectionOptions::default(),
            ))
            .expect("connection");
        JiraRig {
            clock,
            node,
            conn,
            admin,
            tracker,
            human,
            store,
            site,
        }
    }

    /// Starts a node on `store` with the [test options](super::rig::test_options).
    ///
    /// # Panics
    ///
    /// When the node cannot start.
    pub fn start_node(
        site: &JiraSite,
        tracker: Arc<dyn Tracker>,
        clock: &Arc<ManualClock>,
        store: Arc<dyn Store>,
    ) -> Node {
        site.block_on(
            Node::builder()
                .tracker(tracker)
                .store(store)
                .clock(clock.clone())
                .options(super::rig::test_options())
                .build(),
        )
        .expect("node")
    }

    /// The node's [`Admin`] handle for the rig's admin.
    pub fn admin(&self) -> Admin<'_> {
        self.node.admin(&self.admin)
    }

    /// Runs a future on the site's runtime; node calls must run here.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.site.block_on(future)
    }

    /// Drops the node and starts a new one on the same store (a crash and restart).
    pub fn restart(&mut self) {
        self.node = Self::start_node(
            &self.site,
            self.tracker.clone(),
            &self.clock,
            self.store.clone(),
        );
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
        self.conn = self
            .block_on(self.admin().create_local_connection(
                "SUP",
                "DEV",
                LocalConnectionOptions::default(),
            ))
            .expect("connection again");
    }

    /// The person who edits the emulator's contents (not counted as the node's calls).
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

    /// The issues of a project, read from the emulator's contents.
    pub fn issues(&self, project: &str) -> Vec<Issue> {
        self.site.contents().inspect_issues(&lit::project(project))
    }

    /// One issue, read from the emulator's contents.
    ///
    /// # Panics
    ///
    /// When it does not exist.
    pub fn issue(&self, key: &str) -> Issue {
        self.site
            .contents()
            .inspect_issue(&lit::key(key))
            .unwrap_or_else(|| panic!("issue {key} exists"))
    }

    /// The HTTP requests the node made since the last [`reset_calls`](Self::reset_calls).
    pub fn calls(&self) -> HttpCalls {
        self.site.calls()
    }

    /// Forgets the requests made so far.
    pub fn reset_calls(&self) {
        self.site.reset_calls();
    }

    /// Runs one sync cycle after advancing the clock a little.
    ///
    /// # Panics
    ///
    /// When the cycle fails connection-wide.
    pub fn sync(&self) -> CycleReport {
        self.advance(1);
        self.block_on(self.node.sync(&self.conn.id))
            .expect("sync cycle")
    }
}
