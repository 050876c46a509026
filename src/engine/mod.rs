//! The sync engine: a [`Node`] attached to one tracker and one store.
//!
//! A node holds connections and their twins, detects changes by polling (or
//! by being told, as a webhook handler would), plans each changed twin with the
//! pure [`planner`](crate::plan) and executes the plan through the tracker,
//! recording state after every write. See the README for the guarantees:
//! no duplicates across retries, lost answers and crashes; no echo; nothing
//! lost on a rate limit.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::clock::{Clock, SystemClock};
use crate::connection::{Connection, PROTOCOL_VERSION};
use crate::error::{Error, ErrorKind, Result};
use crate::model::{ConnectionId, InstanceUrl, ProjectInfo, ProjectKey};
use crate::rules::{RuleSet, RuleSetKind};
use crate::store::{ConnectionRecord, Store, StoreTxn};
use crate::tracker::{RetryPolicy, RetryTracker, Tracker};
use crate::transport::Transport;

mod admin;
mod apply;
mod bulk;
mod connections;
mod cycle;
mod execute;
mod lifecycle;
mod locks;
mod recovery;
mod refusals;
mod remote;
mod rule_versions;
mod status;
mod test_run;
mod triggers;
mod twin;
mod txn;

pub use crate::rules::{RuleHistory, RuleSpec, RuleVersion};
pub use admin::Admin;
pub use bulk::{BulkEvent, BulkReport};
pub use connections::LocalConnectionOptions;
pub use cycle::CycleReport;
pub use lifecycle::DeleteOptions;
pub use recovery::Recovery;
pub use remote::{InitiateRequest, Initiated};
pub use status::{IssueState, IssueStatus, SyncPanel};
pub use test_run::{TestRunOutcome, TestRunResult};
pub use twin::TwinInfo;

/// Tunables of a [`Node`].
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct NodeOptions {
    /// How many twins sync at once (order within one twin is always kept).
    pub concurrency: usize,
    /// How far back each poll looks before the watermark, because searches
    /// lag behind writes.
    pub overlap: Duration,
    /// How long to wait after a create's answer was lost before looking for
    /// its marker (longer than the tracker's search lag).
    pub settle: Duration,
    /// Issues per search page.
    pub page_size: u32,
    /// Retries of temporary tracker failures.
    pub retry: RetryPolicy,
}

impl Default for NodeOptions {
    /// 8 twins at once, 2 minutes overlap, 5 minutes settle window, pages of 100.
    fn default() -> Self {
        NodeOptions {
            concurrency: 8,
            overlap: Duration::from_secs(120),
            settle: Duration::from_secs(300),
            page_size: 100,
            retry: RetryPolicy::default(),
        }
    }
}

impl NodeOptions {
    /// Sets how many twins sync at once.
    pub fn with_concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency.max(1);
        self
    }

    /// Sets the polling overlap.
    pub fn with_overlap(mut self, overlap: Duration) -> Self {
        self.overlap = overlap;
        self
    }

    /// Sets the settle window for lost creates.
    pub fn with_settle(mut self, settle: Duration) -> Self {
        self.settle = settle;
        self
    }

    /// Sets the retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Sets the search page size.
    pub fn with_page_size(mut self, page_size: u32) -> Self {
        self.page_size = page_size.max(1);
        self
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
}

impl fmt::Debug for NodeBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeBuilder")
            .field("tracker", &self.tracker)
            .field("store", &self.store)
            .field("options", &self.options)
            .field("transport", &self.transport)
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

    /// The protocol version this node announces (default
    /// [`PROTOCOL_VERSION`]); set it only to test how nodes of other
    /// versions are met.
    pub fn protocol_version(mut self, version: u16) -> Self {
        self.protocol = Some(version);
        self
    }

    /// Asks the tracker who it is and returns the node.
    ///
    /// # Errors
    ///
    /// `InvalidConfig` when the tracker or store is missing; the tracker's
    /// errors when it cannot be reached.
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
        let clock = self.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let tracker: Arc<dyn Tracker> =
            Arc::new(RetryTracker::new(raw, clock.clone(), self.options.retry));
        let instance = tracker.instance().await?.url;
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
        let remote = remote::Runtime::new(
            self.transport,
            self.reachable.unwrap_or(true),
            self.protocol.unwrap_or(PROTOCOL_VERSION),
        );
        let node = Node {
            inner: Arc::new(Inner {
                tracker,
                store,
                clock,
                options: self.options,
                instance,
                rules: Mutex::new(HashMap::new()),
                projects: Mutex::new(HashMap::new()),
                ops: AtomicU64::new(0),
                boot,
                remote,
            }),
        };
        node.load_published_rules()?;
        Ok(node)
    }
}

struct Inner {
    tracker: Arc<dyn Tracker>,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    options: NodeOptions,
    instance: InstanceUrl,
    rules: Mutex<HashMap<ConnectionId, RuleSet>>,
    projects: Mutex<HashMap<ProjectKey, ProjectInfo>>,
    ops: AtomicU64,
    boot: u64,
    remote: remote::Runtime,
}

/// The sync engine attached to one tracker instance and one store.
///
/// A `Node` is a cheap handle (clones share everything). Its operations are
/// `async` and runtime-independent; drive them from any executor. On the
/// node itself are the read-only views and the sync work; changes to
/// connections go through [`Node::admin`], which names its caller and checks
/// their permission.
///
/// ```
/// use std::sync::Arc;
/// use twinsync::engine::{LocalConnectionOptions, Node};
/// use twinsync::model::UserId;
/// use twinsync::store::MemoryStore;
/// use twinsync::tracker::{NewIssue, Tracker};
/// use twinsync::MemoryTracker;
///
/// # futures::executor::block_on(async {
/// let tracker = MemoryTracker::new("https://acme.example")?;
/// tracker.add_project("SUP", "Support", &["Bug", "Task"], Some("Task"))?;
/// tracker.add_project("DEV", "Development", &["Bug", "Task"], None)?;
/// let ada = UserId::new("ada")?;
/// tracker.set_global_admin(&ada, true);
/// let node = Node::builder()
///     .tracker(Arc::new(tracker.clone()))
///     .store(Arc::new(MemoryStore::new()))
///     .build()
///     .await?;
/// let conn = node
///     .admin(&ada)
///     .create_local_connection("SUP", "DEV", LocalConnectionOptions::default())
///     .await?;
///
/// tracker.create_issue(&NewIssue::new("SUP".parse()?, "Bug", "Printer on fire")).await?;
/// let twin = node.exalate(&conn.id, &"SUP-1".parse()?).await?;
/// assert_eq!(twin.twin.map(|t| t.key.to_string()), Some("DEV-1".to_owned()));
/// # Ok::<(), twinsync::Error>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct Node {
    inner: Arc<Inner>,
}

impl fmt::Debug for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Node")
            .field("instance", &self.inner.instance)
            .field("tracker", &self.inner.tracker)
            .field("store", &self.inner.store)
            .finish_non_exhaustive()
    }
}

impl Node {
    /// A builder.
    pub fn builder() -> NodeBuilder {
        NodeBuilder::default()
    }

    /// The instance this node syncs.
    pub fn instance(&self) -> &InstanceUrl {
        &self.inner.instance
    }

    /// The node's clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    /// The node's options.
    pub fn options(&self) -> &NodeOptions {
        &self.inner.options
    }

    fn tracker(&self) -> &Arc<dyn Tracker> {
        &self.inner.tracker
    }

    fn now(&self) -> time::OffsetDateTime {
        self.inner.clock.now()
    }

    /// Starts a store transaction.
    ///
    /// Transactions never outlive an `.await`: a transaction is not `Send`,
    /// and every future of the node is (`tests/engine_core.rs` checks), so the
    /// compiler refuses code that would hold one across a tracker call. A
    /// transaction started while another is open on this thread is refused
    /// with an error (stores hold a lock for a whole transaction, so it would
    /// wait for itself forever).
    fn txn(&self) -> Result<Box<dyn StoreTxn + '_>> {
        txn::begin(&*self.inner.store)
    }

    fn op_id(&self) -> String {
        let n = self.inner.ops.fetch_add(1, Ordering::Relaxed);
        format!(
            "{:x}-{}-{n}",
            self.now().unix_timestamp_nanos(),
            self.inner.boot
        )
    }

    /// The rules of a connection: its custom rule set if one was set, else Basic.
    ///
    /// # Errors
    ///
    /// `InvalidConfig` (connection-wide) for a custom connection whose rules
    /// were not set on this node since it started and have no published
    /// version: falling back to the Basic rules would sync fields the custom
    /// set left out.
    fn rules_for(&self, connection: &Connection) -> Result<RuleSet> {
        if connection.rules == RuleSetKind::Basic {
            return Ok(RuleSet::basic());
        }
        let rules = self.inner.rules.lock().unwrap_or_else(|e| e.into_inner());
        rules.get(&connection.id).cloned().ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidConfig,
                format!(
                    "connection {} uses a custom rule set, but none is set on this node; \
                     publish a rule version (Admin::publish_rules) or call Admin::set_rules \
                     after every start, then activate the connection",
                    connection.name
                ),
            )
            .with_connection(&connection.name)
            .with_scope(crate::error::ErrorScope::Connection)
        })
    }

    /// Uses `rules` for a custom connection (rule sets are code, so they are
    /// set on each start rather than stored). Quarantined twins of the
    /// connection are tried again by the next cycle.
    ///
    /// # Errors
    ///
    /// `NotFound` for an unknown connection; `Unsupported` when the connection
    /// is Basic (its rules are fixed; upgrade it first with
    /// [`upgrade_to_custom`](super::Admin::upgrade_to_custom)).
    pub(super) fn set_rules(&self, connection: &ConnectionId, rules: RuleSet) -> Result<()> {
        let conn = self.connection(connection)?;
        if conn.rules == RuleSetKind::Basic || rules.kind() == RuleSetKind::Basic {
            return Err(Error::new(
                ErrorKind::Unsupported,
                "the basic rule set cannot be changed; upgrade the connection to a custom rule set",
            )
            .with_connection(&conn.name));
        }
        self.inner
            .rules
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(conn.id.clone(), rules);
        // New rules may fix what failed: quarantined twins go again.
        self.release_quarantines(&conn.id)?;
        Ok(())
    }

    async fn project_info(&self, key: &ProjectKey) -> Result<ProjectInfo> {
        if let Some(p) = self
            .inner
            .projects
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
        {
            return Ok(p.clone());
        }
        let info = self
            .tracker()
            .project(key)
            .await
            .map_err(|e| project_error(e, key))?;
        self.inner
            .projects
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.clone(), info.clone());
        Ok(info)
    }

    fn forget_project(&self, key: &ProjectKey) {
        self.inner
            .projects
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }

    /// The connection with `id`.
    ///
    /// # Errors
    ///
    /// `NotFound` when there is none.
    pub fn connection(&self, id: &ConnectionId) -> Result<Connection> {
        let record = self.txn()?.connection(id)?.ok_or_else(|| {
            Error::new(
                ErrorKind::NotFound,
                format!("connection {id} does not exist"),
            )
        })?;
        decode_connection(&record)
    }

    /// Every connection of this node.
    ///
    /// # Errors
    ///
    /// `Storage`.
    pub fn connections(&self) -> Result<Vec<Connection>> {
        self.txn()?
            .connections()?
            .iter()
            .map(decode_connection)
            .collect()
    }

    /// Reads, changes and saves a connection in one transaction. `change`
    /// sees the connection only: it cannot reach the node, so it cannot
    /// open another transaction or call the tracker while this one is open.
    pub(super) fn edit_connection<T>(
        &self,
        id: &ConnectionId,
        change: impl FnOnce(&mut Connection) -> Result<T>,
    ) -> Result<T> {
        let mut txn = self.txn()?;
        let record = txn.connection(id)?.ok_or_else(|| {
            Error::new(
                ErrorKind::NotFound,
                format!("connection {id} does not exist"),
            )
        })?;
        let mut conn = decode_connection(&record)?;
        let result = change(&mut conn)?;
        self.save_connection(&mut *txn, &conn)?;
        txn.commit()?;
        Ok(result)
    }

    fn save_connection(&self, txn: &mut dyn StoreTxn, conn: &Connection) -> Result<()> {
        txn.put_connection(&ConnectionRecord {
            id: conn.id.clone(),
            name: conn.name.clone(),
            config: serde_json::to_string(conn)?,
        })
    }
}

/// An error of a call about a whole project: a missing project stops the
/// connection, not one twin.
fn project_error(err: Error, project: &ProjectKey) -> Error {
    let err = err.with_context("project", project);
    if err.kind() == ErrorKind::NotFound {
        err.with_scope(crate::error::ErrorScope::Connection)
    } else {
        err
    }
}

fn decode_connection(record: &ConnectionRecord) -> Result<Connection> {
    serde_json::from_str(&record.config).map_err(|e| {
        Error::new(
            ErrorKind::Storage,
            format!("stored connection {} is unreadable: {e}", record.id),
        )
    })
}
