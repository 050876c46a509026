//! [`NodeBuilder`]: how a [`Node`] is made.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, RwLock};

use crate::clock::{Clock, SystemClock};
use crate::connection::node_key::KeyRing;
use crate::connection::{NodeKey, PROTOCOL_VERSION};
use crate::error::{Error, ErrorKind, Result};
use crate::model::{InstanceUrl, NodeUrl};
use crate::store::Store;
use crate::tracker::{Metered, PacedTracker, RateLimits, RetryTracker, Tracker};

use super::options::Pacing;
use super::worker::{StoredHolds, Worker, Working};
use crate::transport::Transport;

use super::node::{Inner, Node};
use super::options::NodeOptions;
use super::peer::runtime::Runtime;

impl Node {
    /// A builder.
    pub fn builder() -> NodeBuilder {
        NodeBuilder::default()
    }
}

/// Builds a [`Node`].
#[derive(Default)]
pub struct NodeBuilder {
    tracker: Option<Arc<dyn Tracker>>,
    store: Option<Arc<dyn Store>>,
    clock: Option<Arc<dyn Clock>>,
    options: NodeOptions,
    transport: Option<Arc<dyn Transport>>,
    reachable: Option<bool>,
    protocol: Option<u16>,
    node_url: Option<NodeUrl>,
    directory: BTreeMap<InstanceUrl, NodeUrl>,
    node_key: Option<NodeKey>,
    worker: Option<Worker>,
}

impl fmt::Debug for NodeBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeBuilder")
            .field("tracker", &self.tracker)
            .field("store", &self.store)
            .field("options", &self.options)
            .field("transport", &self.transport)
            .field("node_key", &self.node_key)
            .field("worker", &self.worker)
            .finish_non_exhaustive()
    }
}

impl NodeBuilder {
    /// The tracker the node syncs (required).
    pub fn tracker(mut self, tracker: Arc<dyn Tracker>) -> Self {
        self.tracker = Some(tracker);
        self
    }

    /// Where the node keeps its state (required).
    pub fn store(mut self, store: Arc<dyn Store>) -> Self {
        self.store = Some(store);
        self
    }

    /// The clock for timestamps and waits (default: the system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Tunables.
    pub fn options(mut self, options: NodeOptions) -> Self {
        self.options = options;
        self
    }

    /// How this node talks to other nodes, for remote connections (none by
    /// default: local connections only).
    pub fn transport(mut self, transport: Arc<dyn Transport>) -> Self {
        self.transport = Some(transport);
        self
    }

    /// Whether other nodes can call this node through the transport at its
    /// instance URL (default: yes). A node in a private network says no: it
    /// then only opens connections itself and pulls its messages.
    pub fn reachable(mut self, reachable: bool) -> Self {
        self.reachable = Some(reachable);
        self
    }

    /// Where other nodes reach this node (its public sync URL, Exalate's
    /// "Exalate URL"; requests arrive at this URL joined with
    /// [`SYNC_ENDPOINT_PATH`](crate::transport::SYNC_ENDPOINT_PATH)). Default:
    /// the tracker's URL, which only an in-process network can route to.
    /// Invitations carry it, so set it on every node others call over a real
    /// network.
    pub fn node_url(mut self, url: NodeUrl) -> Self {
        self.node_url = Some(url);
        self
    }

    /// Where the nodes of other trackers are reached: each entry maps a
    /// tracker URL (`https://partner.atlassian.net`) to the node URL of the
    /// twinsync node that syncs it, so an admin may initiate with either.
    /// Entries add up over calls; a later entry for a tracker replaces an
    /// earlier one.
    pub fn directory(mut self, entries: impl IntoIterator<Item = (InstanceUrl, NodeUrl)>) -> Self {
        self.directory.extend(entries);
        self
    }

    /// The protocol version this node announces (default
    /// [`PROTOCOL_VERSION`]); set it only to test how nodes of other
    /// versions are met.
    pub fn protocol_version(mut self, version: u16) -> Self {
        self.protocol = Some(version);
        self
    }

    /// The node's own key, kept apart from its store: every connection
    /// secret is sealed with it before it is stored, so that a copy of the
    /// state file alone cannot impersonate the node. Needed for remote
    /// connections (local ones have no secret); read it with
    /// [`NodeKey::from_env`] or [`NodeKey::from_file`].
    ///
    /// Secrets an older twinsync stored in the clear are sealed when the
    /// node is built; to change the key, see
    /// [`Node::rotate_node_key`](super::Node::rotate_node_key).
    pub fn node_key(mut self, key: NodeKey) -> Self {
        self.node_key = Some(key);
        self
    }

    /// Makes the node one of several workers of one tracker sharing one
    /// store and its work (default: the only node on its store); see the
    /// [`worker`](super::worker) module for how they share it. The store
    /// must keep leases: a [`PostgresStore`](crate::store::PostgresStore)
    /// built with [`workers`](crate::store::PostgresStoreBuilder::workers),
    /// or one [`MemoryStore`](crate::store::MemoryStore) shared in a
    /// process.
    pub fn worker(mut self, worker: Worker) -> Self {
        self.worker = Some(worker);
        self
    }

    /// Asks the tracker who it is and returns the node.
    ///
    /// # Errors
    ///
    /// `InvalidConfig` when the tracker or store is missing, and when the
    /// store holds connection secrets and the node has no key or another
    /// key than the one that sealed them (naming both key ids; nothing is
    /// changed); the tracker's errors when it cannot be reached.
    pub async fn build(self) -> Result<Node> {
        let missing = |what: &str| {
            Error::new(
                ErrorKind::InvalidConfig,
                format!("a node needs a {what}; call .{what}(…) on the builder"),
            )
        };
        let raw = self.tracker.ok_or_else(|| missing("tracker"))?;
        // No markers, no guarantee against duplicates: refuse before any write.
        raw.capabilities().check_markers()?;
        let store = self.store.ok_or_else(|| missing("store"))?;
        if self.worker.is_some() {
            // A store without leases cannot share work: refuse before anything.
            let mut txn = store.begin()?;
            txn.lease("").map_err(|e| {
                Error::new(
                    ErrorKind::InvalidConfig,
                    format!("a worker node needs a store its workers share: {e}"),
                )
            })?;
        }
        let clock = self.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let instance = RetryTracker::new(raw.clone(), clock.clone(), self.options.retry)
            .instance()
            .await?
            .url;
        // Calls are counted below the retries: each attempt is a call.
        let limits = match self.options.pacing {
            // A worker paces at least to the holds all workers share.
            Pacing::Documented if self.worker.is_some() => Some(
                raw.capabilities()
                    .rate_limits
                    .unwrap_or_else(RateLimits::unlimited),
            ),
            Pacing::Documented => raw.capabilities().rate_limits,
            Pacing::Limits(limits) => Some(limits),
            Pacing::Off => None,
        };
        let probe: Arc<dyn Tracker> = Arc::new(Metered::new(raw, instance.as_str()));
        // Each attempt waits its turn: paced below the retries.
        // Workers share the holds of 429 answers through the store.
        let shared = self.worker.as_ref().map(|_| {
            Arc::new(StoredHolds {
                store: store.clone(),
                name: format!("tracker/{instance}"),
                clock: clock.clone(),
                cache: Mutex::default(),
            })
        });
        let paced: Arc<dyn Tracker> = match (limits, shared) {
            (Some(limits), Some(shared)) => Arc::new(
                PacedTracker::new(probe.clone(), clock.clone(), limits).with_shared_holds(shared),
            ),
            (Some(limits), None) => {
                Arc::new(PacedTracker::new(probe.clone(), clock.clone(), limits))
            }
            (None, _) => probe.clone(),
        };
        let tracker: Arc<dyn Tracker> =
            Arc::new(RetryTracker::new(paced, clock.clone(), self.options.retry));
        // Before anything is written: a wrong or missing key changes nothing.
        super::peer::secrets::seal_stored_secrets(&*store, self.node_key.as_ref())?;
        // Operation ids must never repeat, even after a restart at the same
        // clock reading: each start of a node on a store gets its own number.
        let boot = {
            let mut txn = store.begin()?;
            let mut record = txn.node_record()?;
            record.starts += 1;
            txn.put_node_record(&record)?;
            txn.commit()?;
            record.starts
        };
        let remote = Runtime::new(
            self.transport,
            self.reachable.unwrap_or(true),
            self.protocol.unwrap_or(PROTOCOL_VERSION),
            self.node_url.unwrap_or_else(|| NodeUrl::from(&instance)),
            self.directory,
        );
        let observed = super::observe::Observed::new(&instance);
        let node = Node {
            inner: Arc::new(Inner {
                tracker,
                probe,
                store,
                clock,
                options: self.options,
                instance,
                rules: Mutex::new(HashMap::new()),
                rule_versions: Mutex::new(HashMap::new()),
                projects: Mutex::new(HashMap::new()),
                ops: AtomicU64::new(0),
                boot,
                remote,
                keys: RwLock::new(KeyRing::new(self.node_key)),
                users: Default::default(),
                schedule: Default::default(),
                observed,
                worker: self.worker.as_ref().map(|w| Working::new(w, boot)),
            }),
        };
        node.load_published_rules()?;
        Ok(node)
    }
}
