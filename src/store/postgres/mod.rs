//! [`PostgresStore`]: a node's state in a PostgreSQL database (feature
//! `postgres`).
//!
//! - `mod.rs`: opening a store, the node lock.
//! - `connect.rs`: the URL, TLS, the store's runtime, waiting for a future.
//! - `pool.rs`: the connections, opened on demand and kept.
//! - `schema.rs`: the tables, schema versions and forward migrations.
//! - `txn.rs`: one transaction, rolled back on drop.
//! - `ops.rs`: each [`StoreTxn`] method as SQL, the longer ones in
//!   `twins.rs`, `queue.rs`, `peer.rs` and `records.rs`, the statement
//!   shapes they share in `rows.rs`; `leases.rs`: leases and holds;
//!   `listing.rs`: the status panel's pages and counts.
//! - `error.rs`: PostgreSQL's errors as twinsync [`Error`]s, in one place.

use std::fmt;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use tokio_postgres::Client;

use crate::error::{Error, ErrorKind, Result};

use time::OffsetDateTime;

use super::{Lease, Store, StoreTxn};

mod connect;
mod error;
mod leases;
mod listing;
mod ops;
mod peer;
mod pool;
mod queue;
mod records;
mod rows;
mod schema;
mod twins;
mod txn;

use connect::{Target, block_on};
use error::storage;
use pool::Pool;

/// "twsn": the class of the store's advisory locks.
const LOCK_CLASS: i32 = 0x7477_736e;

/// A [`Store`] in a PostgreSQL database: durable, transactional, on a server
/// the team already runs.
///
/// - Its tables live in a schema of their own (`twinsync` unless
///   [`PostgresStoreBuilder::schema`] names another), created and migrated
///   forward when the store connects. A schema written by a newer twinsync
///   is refused, as is one holding tables of another program, with an error
///   naming the database, host and schema.
/// - Every [`StoreTxn`] is one PostgreSQL transaction; dropping it rolls
///   back. The store's transactions take turns (an advisory lock held for
///   the transaction), so their isolation is that of the embedded stores.
///   Workers' leases ([`Store::take_lease`], [`Store::release_lease`]) do
///   not wait for that turn: each is a short transaction of its own that
///   locks the lease's row `FOR UPDATE SKIP LOCKED` and answers a lease
///   another transaction holds as busy; the other transactions lock a
///   lease's row when they read it, so a take and a fenced write of one
///   twin never interleave.
///   Once `commit` returns, the change is on the server's disk (as the
///   server's `synchronous_commit` has it; on by default).
/// - One node per schema: connecting takes a session advisory lock, held on
///   a connection of its own for the store's life, so a second node on the
///   same schema is refused (after waiting 5 s for the lock, time for the
///   server to notice that a previous node died) with an error naming the
///   server process and client address holding it. Nodes of separate schemas share a database
///   freely. Worker nodes that share one schema's work
///   ([`PostgresStoreBuilder::workers`]) take the lock shared: any number of
///   them run together, never beside a node that is not a worker.
/// - Connections come from a small pool (4 unless
///   [`PostgresStoreBuilder::max_connections`] says otherwise), driven by a
///   runtime thread of the store's own: the store works from any thread,
///   inside or outside an async runtime, and blocks the calling thread for a
///   statement's round trip, as the embedded stores do for their disk.
/// - The URL is libpq's: `postgres://user:password@host:port/database`, with
///   its options (`connect_timeout`, `application_name`, `options`, …).
///   `sslmode=require` (or `verify-ca`, `verify-full`) connects with TLS,
///   always verifying the server's certificate against the Mozilla roots and
///   the PEM certificates of `sslrootcert=PATH`; `prefer` uses TLS when the
///   server offers it (still verified); without `sslmode` (or with
///   `disable`) the connection is plain. The password is never shown: the
///   store, its errors and its logs name the database as "database on
///   host:port".
///
/// ```no_run
/// use twinsync::store::{PostgresStore, Store};
///
/// let store = PostgresStore::connect("postgres://twinsync:secret@db.internal/sync?sslmode=require")?;
/// let mut txn = store.begin()?;
/// println!("{} connections", txn.connections()?.len());
/// # Ok::<(), twinsync::Error>(())
/// ```
pub struct PostgresStore {
    pool: Pool,
    /// The connection holding the node lock; reopened (and the lock taken
    /// again) when the server drops it.
    node_lock: Mutex<Option<Client>>,
    /// "database on host:port (schema s)", named in every error.
    name: String,
    locks: Locks,
    lock_wait: Duration,
    /// Whether the node lock is taken shared, by one of several workers.
    workers: bool,
    /// Drives the connections; shut down (without waiting) when dropped.
    runtime: Option<tokio::runtime::Runtime>,
}

/// The advisory lock keys of one schema.
#[derive(Clone, Copy, Debug)]
struct Locks {
    node: (i32, i32),
    txn: (i32, i32),
}

impl Locks {
    fn of(schema: &str) -> Locks {
        // FNV-1a: a stable key per schema name, positive to read back as oid.
        let mut hash: u32 = 0x811c_9dc5;
        for byte in schema.bytes() {
            hash = (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193);
        }
        let key = i32::try_from(hash & 0x7fff_ffff).unwrap_or(0);
        Locks {
            node: (LOCK_CLASS, key),
            txn: (LOCK_CLASS + 1, key),
        }
    }
}

impl PostgresStore {
    /// The schema version this twinsync writes. Schemas at an older version
    /// are migrated to it when a store connects; newer ones are refused.
    pub const SCHEMA_VERSION: u32 = schema::CURRENT;

    /// Connects with the defaults; see [`builder`](Self::builder).
    ///
    /// # Errors
    ///
    /// As [`PostgresStoreBuilder::connect`].
    pub fn connect(url: &str) -> Result<Self> {
        Self::builder(url).connect()
    }

    /// A store on the database of `url`, to be set up and connected.
    pub fn builder(url: impl Into<String>) -> PostgresStoreBuilder {
        PostgresStoreBuilder {
            url: url.into(),
            schema: "twinsync".to_owned(),
            max_connections: 4,
            wait: Duration::from_secs(30),
            workers: false,
        }
    }

    /// The database, as named in errors: "database on host:port (schema s)".
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Makes sure this store still holds its node lock: after the server
    /// dropped the lock's connection, takes the lock again, unless another
    /// node took it meanwhile.
    fn hold_node_lock(&self) -> Result<()> {
        let mut held = self.lock_slot();
        if held.as_ref().is_some_and(|c| !c.is_closed()) {
            return Ok(());
        }
        *held = None;
        let client = self.pool.connect_alone()?;
        take_node_lock(&client, &self.name, self.locks.node, self.workers)?;
        *held = Some(client);
        Ok(())
    }

    /// How long a transaction waits for a lock, in milliseconds.
    fn lock_wait_ms(&self) -> u64 {
        u64::try_from(self.lock_wait.as_millis()).unwrap_or(u64::MAX)
    }

    fn lock_slot(&self) -> MutexGuard<'_, Option<Client>> {
        self.node_lock.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// How to connect a [`PostgresStore`].
pub struct PostgresStoreBuilder {
    /// Holds the password: never shown.
    url: String,
    schema: String,
    max_connections: usize,
    wait: Duration,
    workers: bool,
}

impl fmt::Debug for PostgresStoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStoreBuilder")
            .field("url", &"<hidden: may hold a password>")
            .field("schema", &self.schema)
            .field("max_connections", &self.max_connections)
            .field("wait", &self.wait)
            .finish()
    }
}

impl PostgresStoreBuilder {
    /// The schema holding the store's tables (default `twinsync`): letters,
    /// digits and `_`, not starting with a digit, at most 63 bytes. Nodes
    /// with schemas of their own share one database.
    #[must_use]
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = schema.into();
        self
    }

    /// How many connections the store keeps open at most (default 4; at
    /// least 1). The node lock takes one more.
    #[must_use]
    pub fn max_connections(mut self, max: usize) -> Self {
        self.max_connections = max;
        self
    }

    /// How long [`Store::begin`] waits for a connection of the pool, then
    /// for the transaction lock, before it fails with a temporary error
    /// (default 30 s).
    #[must_use]
    pub fn wait(mut self, wait: Duration) -> Self {
        self.wait = wait;
        self
    }

    /// Whether this store is one of several worker nodes sharing the
    /// schema's work (default no); see
    /// [`NodeBuilder::worker`](crate::engine::NodeBuilder::worker). Workers
    /// take the schema's node lock shared: they run together, and a node
    /// that is not a worker is refused beside them (and they beside it).
    #[must_use]
    pub fn workers(mut self, workers: bool) -> Self {
        self.workers = workers;
        self
    }

    /// Connects, takes the schema's node lock, and creates or migrates the
    /// schema.
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::InvalidConfig`] for a URL the client cannot read, an
    ///   unknown `sslmode`, an unreadable `sslrootcert` or a schema name
    ///   that is not a plain identifier;
    /// - [`ErrorKind::Storage`], naming database, host and port, when the
    ///   server cannot be reached or refuses the login or the TLS
    ///   handshake, when another node holds the schema, when the schema was
    ///   written by a newer twinsync or holds tables of another program, or
    ///   when creating or migrating it fails.
    pub fn connect(self) -> Result<PostgresStore> {
        check_schema_name(&self.schema)?;
        let target = Target::parse(&self.url)?;
        let name = format!("{} (schema {})", target.name, self.schema);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("twinsync-postgres")
            .enable_all()
            .build()
            .map_err(|e| {
                Error::new(
                    ErrorKind::Storage,
                    format!("cannot start the PostgreSQL store's runtime: {e}"),
                )
                .with_context("database", &name)
            })?;
        let locks = Locks::of(&self.schema);
        let pool = Pool::new(
            target,
            self.schema.clone(),
            runtime.handle().clone(),
            self.max_connections,
            self.wait,
        );
        let store = PostgresStore {
            pool,
            node_lock: Mutex::new(None),
            name,
            locks,
            lock_wait: self.wait,
            workers: self.workers,
            runtime: Some(runtime),
        };
        store.hold_node_lock()?;
        {
            let mut lent = store.pool.get()?;
            schema::prepare(
                &lent.conn().client,
                &store.pool.target.name,
                &self.schema,
                locks.txn,
                schema::STEPS,
            )?;
        }
        Ok(store)
    }
}

/// Refuses schema names that are not plain identifiers.
fn check_schema_name(schema: &str) -> Result<()> {
    let mut chars = schema.chars();
    let plain = matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && schema.len() <= 63;
    if plain {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::InvalidConfig,
        format!(
            "schema name {schema:?} is not a plain identifier: use letters, digits and _, \
             not starting with a digit, at most 63 bytes"
        ),
    ))
}

/// How long connecting waits for the node lock: a node restarting right
/// after its predecessor died waits for the server to notice the death.
const NODE_LOCK_WAIT: Duration = Duration::from_secs(5);

/// Takes the node lock `key` on `client` (shared by workers; waiting up to
/// [`NODE_LOCK_WAIT`]), or says who holds it.
fn take_node_lock(client: &Client, name: &str, key: (i32, i32), shared: bool) -> Result<()> {
    let wait = format!("SET lock_timeout = {}", NODE_LOCK_WAIT.as_millis());
    block_on(client.batch_execute(&wait))
        .map_err(|e| storage(name, "cannot take the node lock", e))?;
    let take = if shared {
        "SELECT pg_advisory_lock_shared($1, $2)"
    } else {
        "SELECT pg_advisory_lock($1, $2)"
    };
    match block_on(client.execute(take, &[&key.0, &key.1])) {
        Ok(_) => return Ok(()),
        Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::LOCK_NOT_AVAILABLE) => {}
        Err(e) => return Err(storage(name, "cannot take the node lock", e)),
    }
    let holder = block_on(client.query_opt(
        "SELECT a.pid, coalesce(host(a.client_addr), 'a local socket'), \
                coalesce(a.application_name, '') \
         FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
         WHERE l.locktype = 'advisory' AND l.granted \
           AND l.classid::bigint = $1 AND l.objid::bigint = $2 AND l.objsubid = 2",
        &[&i64::from(key.0), &i64::from(key.1)],
    ))
    .ok()
    .flatten()
    .and_then(|r| {
        let pid: i32 = r.try_get(0).ok()?;
        let client: String = r.try_get(1).ok()?;
        let app: String = r.try_get(2).ok()?;
        Some(format!(
            " (server process {pid}, client {client}, application {app:?})"
        ))
    })
    .unwrap_or_default();
    Err(Error::new(
        ErrorKind::Storage,
        format!(
            "database {name} is in use by another twinsync node{holder}; stop that node, \
             or give this one a schema of its own (worker nodes share a schema only with \
             other workers)"
        ),
    ))
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore")
            .field("database", &self.name)
            .finish_non_exhaustive()
    }
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        // Dropping a runtime waits for its tasks, which an async context
        // forbids: the store may be dropped inside one.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl Store for PostgresStore {
    fn begin(&self) -> Result<Box<dyn StoreTxn + '_>> {
        self.hold_node_lock()?;
        let lent = self.pool.get()?;
        Ok(Box::new(txn::PgTxn::begin(
            lent,
            &self.name,
            Some(self.locks.txn),
            self.lock_wait_ms(),
        )?))
    }

    fn take_lease(
        &self,
        name: &str,
        holder: &str,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<Option<Lease>> {
        self.take_lease_unless_busy(name, holder, now, until)
    }

    fn release_lease(&self, name: &str, holder: &str, epoch: u64) -> Result<()> {
        self.release_lease_alone(name, holder, epoch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names_are_plain_identifiers() {
        for good in ["twinsync", "_t", "node_2", "A1"] {
            check_schema_name(good).expect(good);
        }
        for bad in [
            "",
            "2nodes",
            "a-b",
            "a\"b",
            "x; DROP TABLE twins",
            &"a".repeat(64),
        ] {
            let err = check_schema_name(bad).expect_err(bad);
            assert_eq!(err.kind(), ErrorKind::InvalidConfig);
        }
    }

    #[test]
    fn lock_keys_differ_per_schema_and_between_node_and_transaction() {
        let (a, b) = (Locks::of("twinsync"), Locks::of("other"));
        assert_ne!(a.node, b.node);
        assert_ne!(a.node, a.txn);
        assert!(a.node.1 >= 0 && b.node.1 >= 0);
        assert_eq!(Locks::of("twinsync").node, a.node, "stable");
    }

    #[test]
    fn the_builder_never_shows_the_url() {
        let builder = PostgresStore::builder("postgres://u:hunter2hunter2@h/db");
        assert!(!format!("{builder:?}").contains("hunter2"));
    }
}
