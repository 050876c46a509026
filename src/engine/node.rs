//! [`Node`]: the handle every operation of the engine hangs off, and the
//! state it shares between clones.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use crate::clock::Clock;
use crate::connection::node_key::KeyRing;
use crate::connection::{Connection, Side};
use crate::error::{Error, ErrorKind, ErrorScope, Result};
use crate::model::{ConnectionId, InstanceUrl, Issue, ProjectInfo, ProjectKey};
use crate::replica::Origin;
use crate::rules::{RuleSet, RuleSetKind};
use crate::store::{ConnectionRecord, Store, StoreTxn};
use crate::tracker::Tracker;

use super::options::NodeOptions;
use super::peer::runtime::Runtime;
use super::schedule::signal::Scheduling;
use super::txn;

pub(in crate::engine) struct Inner {
    pub(in crate::engine) tracker: Arc<dyn Tracker>,
    /// The same tracker without retries (its calls still counted): what a
    /// readiness probe asks, so that it answers at once.
    pub(in crate::engine) probe: Arc<dyn Tracker>,
    pub(in crate::engine) store: Arc<dyn Store>,
    pub(in crate::engine) clock: Arc<dyn Clock>,
    pub(in crate::engine) options: NodeOptions,
    pub(in crate::engine) instance: InstanceUrl,
    pub(in crate::engine) rules: Mutex<HashMap<ConnectionId, RuleSet>>,
    /// The published rule version in use per connection (a worker follows
    /// the store's, which another worker may publish).
    pub(in crate::engine) rule_versions: Mutex<HashMap<ConnectionId, u32>>,
    pub(in crate::engine) projects: Mutex<HashMap<ProjectKey, ProjectInfo>>,
    pub(in crate::engine) ops: AtomicU64,
    pub(in crate::engine) boot: u64,
    pub(in crate::engine) remote: Runtime,
    /// The node key (and the keys it rotated away from): what seals the
    /// connection secrets in the store.
    pub(in crate::engine) keys: RwLock<KeyRing>,
    /// Users looked up on this node's tracker during this run.
    pub(in crate::engine) users: crate::engine::sync::users::UserCache,
    /// What the run loop shares with the rest of the node.
    pub(in crate::engine) schedule: Scheduling,
    /// What the metrics remember between cycles.
    pub(in crate::engine) observed: super::observe::Observed,
    /// Who this node is among the workers sharing its store, in worker mode.
    pub(in crate::engine) worker: Option<super::worker::Working>,
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
    pub(in crate::engine) inner: Arc<Inner>,
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

    pub(in crate::engine) fn tracker(&self) -> &Arc<dyn Tracker> {
        &self.inner.tracker
    }

    pub(in crate::engine) fn now(&self) -> time::OffsetDateTime {
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
    pub(in crate::engine) fn txn(&self) -> Result<Box<dyn StoreTxn + '_>> {
        let fence = self.working().map(|worker| txn::Fence {
            worker,
            now: self.now(),
        });
        txn::begin(&*self.inner.store, fence)
    }

    pub(in crate::engine) fn op_id(&self) -> String {
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
    pub(in crate::engine) fn rules_for(&self, connection: &Connection) -> Result<RuleSet> {
        let remote_links = self.tracker().capabilities().remote_links;
        if connection.rules == RuleSetKind::Basic {
            return Ok(RuleSet::basic().on_tracker(remote_links));
        }
        let rules = self.inner.rules.lock().unwrap_or_else(|e| e.into_inner());
        let found = rules.get(&connection.id).cloned().ok_or_else(|| {
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
            .with_scope(ErrorScope::Connection)
        });
        found.map(|r| r.on_tracker(remote_links))
    }

    /// Uses `rules` for a custom connection (rule sets are code, so they are
    /// set on each start rather than stored). Quarantined twins of the
    /// connection are tried again by the next cycle.
    ///
    /// # Errors
    ///
    /// `NotFound` for an unknown connection; `Unsupported` when the connection
    /// is Basic (its rules are fixed; upgrade it first with
    /// [`upgrade_to_custom`](crate::engine::Admin::upgrade_to_custom)).
    pub(in crate::engine) fn set_rules(
        &self,
        connection: &ConnectionId,
        rules: RuleSet,
    ) -> Result<()> {
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

    /// The project's metadata read afresh from the tracker (and kept).
    pub(in crate::engine) async fn refresh_project_info(
        &self,
        key: &ProjectKey,
    ) -> Result<ProjectInfo> {
        self.inner
            .projects
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
        self.project_info(key).await
    }

    pub(in crate::engine) async fn project_info(&self, key: &ProjectKey) -> Result<ProjectInfo> {
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

    pub(in crate::engine) fn forget_project(&self, key: &ProjectKey) {
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
    pub(in crate::engine) fn edit_connection<T>(
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

    pub(in crate::engine) fn save_connection(
        &self,
        txn: &mut dyn StoreTxn,
        conn: &Connection,
    ) -> Result<()> {
        txn.put_connection(&ConnectionRecord {
            id: conn.id.clone(),
            name: conn.name.clone(),
            config: serde_json::to_string(conn)?,
        })
    }
}

/// An error of a call about a whole project: a missing project stops the
/// connection, not one twin.
pub(in crate::engine) fn project_error(err: Error, project: &ProjectKey) -> Error {
    let err = err.with_context("project", project);
    if err.kind() == ErrorKind::NotFound {
        err.with_scope(ErrorScope::Connection)
    } else {
        err
    }
}

pub(in crate::engine) fn decode_connection(record: &ConnectionRecord) -> Result<Connection> {
    serde_json::from_str(&record.config).map_err(|e| {
        Error::new(
            ErrorKind::Storage,
            format!("stored connection {} is unreadable: {e}", record.id),
        )
    })
}

/// The project of this node's side of a remote connection.
pub(in crate::engine) fn own_project<'c>(
    conn: &'c Connection,
    instance: &InstanceUrl,
) -> Result<&'c ProjectKey> {
    Ok(&own_side(conn, instance)?.project)
}

/// The side of `conn` on `instance`.
pub(in crate::engine) fn own_side<'c>(
    conn: &'c Connection,
    instance: &InstanceUrl,
) -> Result<&'c Side> {
    [&conn.a, &conn.b]
        .into_iter()
        .find(|s| &s.instance == instance)
        .ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidConfig,
                format!(
                    "connection {} has no side on this node's instance {instance}",
                    conn.name
                ),
            )
        })
}

/// Where an issue of this node's tracker comes from, as its replicas say.
pub(in crate::engine) fn origin_of(node: &Node, issue: &Issue) -> Origin {
    Origin {
        instance: node.instance().clone(),
        project: issue.project.clone(),
        id: issue.id.clone(),
        key: issue.key.clone(),
    }
}
