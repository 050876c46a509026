//! [`SqliteStore`]: a node's state in one SQLite file (feature `sqlite`).
//!
//! - `mod.rs`: opening a store, the connection's settings.
//! - `file.rs`: checks on the file before SQLite reads it, and the lock that
//!   keeps a second node out.
//! - `schema.rs`: the tables, schema versions and forward migrations.
//! - `txn.rs`: one SQLite transaction, rolled back on drop.
//! - `ops.rs`: each [`StoreTxn`] method as SQL, the longer ones in
//!   `twins.rs` and `queue.rs`; `typed.rs` and `peer.rs`: the records added
//!   in schema version 2; `outbox.rs`: those added in version 3.
//! - `v0_1.rs`: the migration of files written by twinsync 0.1.
//! - `error.rs`: SQLite's errors as twinsync [`Error`]s, in one place.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::error::{Error, ErrorKind, Result};

use super::{Store, StoreTxn};

mod error;
mod file;
mod listing;
mod ops;
mod outbox;
mod peer;
mod queue;
mod schema;
mod twins;
mod txn;
mod typed;
mod v0_1;

use error::storage;

/// How long a statement waits for a lock held by another connection (a
/// `sqlite3` shell inspecting the file, say) before it fails.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// A [`Store`] in one SQLite file: durable, transactional, for one node.
///
/// - Every [`StoreTxn`] is one SQLite transaction (`BEGIN IMMEDIATE` …
///   `COMMIT`); dropping it rolls back. Transactions of one store take turns.
/// - The file is in WAL mode with `synchronous = FULL`: once `commit` returns,
///   the change survives a crash of the process and of the machine.
/// - The schema is versioned ([`SqliteStore::SCHEMA_VERSION`]): a file written
///   by an older twinsync is migrated forward when opened; a file from a newer
///   one is refused, as are damaged files and SQLite databases of other
///   programs. The file is never changed before it is known to be a twinsync
///   state file. A file of twinsync 0.1 (version 1) has the records it kept
///   in its `meta` table moved to their typed tables, in one transaction.
/// - Invitation codes (the peer link's, the invitations') are stored, in
///   columns of their own, and never put in an error message or a log line.
/// - One node at a time: opening takes an exclusive OS lock on
///   `<path>.lock` (kept as long as the store lives, released when it is
///   dropped or the process dies), so a second node on the same file is
///   refused with an error naming the process holding it. The lock file is
///   left in place; it is not a sign of a running node.
///
/// ```
/// use twinsync::model::ConnectionId;
/// use twinsync::store::{SqliteStore, Store};
/// use time::macros::datetime;
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("state.db");
/// let connection = ConnectionId::parse("SUP_to_DEV")?;
///
/// let store = SqliteStore::open(&path)?;
/// let mut txn = store.begin()?;
/// txn.set_last_sync(&connection, datetime!(2026-03-01 10:00 UTC))?;
/// txn.commit()?;
/// drop(store);
///
/// let store = SqliteStore::open(&path)?;
/// assert_eq!(
///     store.begin()?.last_sync(&connection)?,
///     Some(datetime!(2026-03-01 10:00 UTC))
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct SqliteStore {
    conn: Mutex<Connection>,
    /// The path, or `:memory:`; named in every error.
    name: String,
    path: Option<PathBuf>,
    /// Held for the store's life; closing it releases the lock.
    _lock: Option<file::NodeLock>,
}

impl SqliteStore {
    /// The schema version this twinsync writes. Files at an older version are
    /// migrated to it when opened; files at a newer one are refused.
    pub const SCHEMA_VERSION: u32 = schema::CURRENT;

    /// Opens the state file at `path`, creating it when it does not exist.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Storage`], with the path and what is wrong, when
    /// - another node (in this or another process) has the file open,
    /// - the file is not a SQLite database, or is truncated or damaged,
    /// - it is a SQLite database of another program,
    /// - it was written by a newer twinsync (a newer schema version),
    /// - it cannot be created, read, written or migrated.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let lock = file::NodeLock::acquire(path)?;
        file::check_header(path)?;
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)
            .map_err(|e| storage(&name, "cannot open the database", e))?;
        let store = SqliteStore::setup(conn, name, true)?;
        Ok(SqliteStore {
            path: Some(path.to_owned()),
            _lock: Some(lock),
            ..store
        })
    }

    /// A store in memory, gone when dropped: for tests and trials that want
    /// SQLite's behaviour without a file.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Storage`] when SQLite cannot start.
    pub fn in_memory() -> Result<Self> {
        let name = ":memory:".to_owned();
        let conn = Connection::open_in_memory()
            .map_err(|e| storage(&name, "cannot open an in-memory database", e))?;
        SqliteStore::setup(conn, name, false)
    }

    /// The file's path (`None` for [`in_memory`](Self::in_memory)).
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    fn setup(mut conn: Connection, name: String, file: bool) -> Result<Self> {
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| storage(&name, "cannot set the busy timeout", e))?;
        conn.set_prepared_statement_cache_capacity(64);
        // Refuses foreign and newer files before anything is written to them.
        let found = schema::identify(&conn, &name, schema::CURRENT)?;
        if file {
            // WAL: readers (a `sqlite3` shell) do not block the node, and a
            // commit is one append. FULL: the WAL is synced at every commit,
            // so a committed transaction survives a power loss too (NORMAL
            // would only survive a process crash).
            let mode: String = conn
                .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
                .map_err(|e| storage(&name, "cannot switch to WAL mode", e))?;
            if !mode.eq_ignore_ascii_case("wal") {
                return Err(Error::new(
                    ErrorKind::Storage,
                    format!("database {name} cannot use WAL mode (SQLite chose \"{mode}\")"),
                ));
            }
        }
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(|e| storage(&name, "cannot set synchronous = FULL", e))?;
        // Deleted and replaced content is overwritten with zeros, so that a
        // secret an older twinsync stored in the clear (sealed when the node
        // first starts with its key) does not linger in free pages.
        conn.pragma_update(None, "secure_delete", "ON")
            .map_err(|e| storage(&name, "cannot set secure_delete = ON", e))?;
        schema::migrate(&mut conn, &name, found, schema::MIGRATIONS)?;
        schema::verify(&conn, &name)?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
            name,
            path: None,
            _lock: None,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic inside a transaction poisons the mutex; the connection is
        // still sound (an open transaction is rolled back in `begin`).
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("database", &self.name)
            .finish_non_exhaustive()
    }
}

impl Store for SqliteStore {
    fn begin(&self) -> Result<Box<dyn StoreTxn + '_>> {
        Ok(Box::new(txn::SqliteTxn::begin(self.lock(), &self.name)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_memory_store_is_at_the_current_version() {
        let store = SqliteStore::in_memory().expect("open");
        let version: u32 = store
            .lock()
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .expect("read version");
        assert_eq!(version, SqliteStore::SCHEMA_VERSION);
        assert_eq!(store.path(), None);
    }

    #[test]
    fn a_transaction_left_open_is_rolled_back_by_the_next_begin() {
        let store = SqliteStore::in_memory().expect("open");
        store
            .lock()
            .execute_batch("BEGIN; INSERT INTO last_sync (connection, at) VALUES ('k', 'x');")
            .expect("leave a transaction open");
        let mut txn = store.begin().expect("the store is usable again");
        let k = crate::model::ConnectionId::parse("k").expect("valid id");
        assert_eq!(txn.last_sync(&k).expect("read"), None);
    }
}
