//! Durable state: the [`Store`] trait, its records, and [`MemoryStore`].
//!
//! A node keeps everything it must not forget in a store: connections, twins
//! and their [`TwinState`], intents (creates in flight), the sync queue, errors,
//! watermarks and small metadata. Every change happens in a transaction
//! ([`StoreTxn`]) that commits as a whole or not at all; dropping a transaction
//! without [`commit`](StoreTxn::commit) rolls it back.
//!
//! The trait is synchronous: transactions are short and never held across an
//! `.await` (the engine reads, commits, then calls the tracker). The embedded
//! stores (memory, SQLite) answer in microseconds.
//!
//! Store authors run the conformance suite in
//! `testkit::store` (feature `testkit`).

use std::fmt::Debug;

use crate::error::Result;
use crate::model::{ConnectionId, IssueId, ProjectKey};
use crate::plan::TwinState;

mod memory;
mod records;
#[cfg(feature = "sqlite")]
mod sqlite;

pub use memory::MemoryStore;
pub use records::{ConnectionRecord, Intent, IntentKind, QueueItem, TwinError};
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub use sqlite::SqliteStore;

/// A place to keep a node's state.
///
/// # Contract
///
/// - Transactions MUST be atomic and isolated: a transaction sees its own
///   writes, other transactions see them only after `commit`, and a
///   transaction dropped without `commit` leaves no trace.
/// - After `commit` returns `Ok`, the changes MUST survive a crash of the
///   process (for durable stores) .
/// - Failures MUST be [`ErrorKind::Storage`](crate::ErrorKind::Storage) errors
///   (or `InvalidInput` for records the store cannot hold).
pub trait Store: Debug + Send + Sync + 'static {
    /// Starts a transaction. Transactions may be exclusive: do not start a
    /// second one on the same thread while one is open.
    ///
    /// # Errors
    ///
    /// `Storage` when the store cannot be used.
    fn begin(&self) -> Result<Box<dyn StoreTxn + '_>>;
}

/// One transaction on a [`Store`]. Dropping it without
/// [`commit`](StoreTxn::commit) rolls it back.
///
/// Every method fails with [`ErrorKind::Storage`](crate::ErrorKind::Storage)
/// when the store does.
pub trait StoreTxn {
    /// The connection with `id`.
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn connection(&mut self, id: &ConnectionId) -> Result<Option<ConnectionRecord>>;

    /// Every connection, by id.
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn connections(&mut self) -> Result<Vec<ConnectionRecord>>;

    /// Inserts or replaces a connection.
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn put_connection(&mut self, connection: &ConnectionRecord) -> Result<()>;

    /// Deletes a connection with its twins, intents, queue, errors and watermarks.
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn delete_connection(&mut self, id: &ConnectionId) -> Result<()>;

    /// The twin whose remote issue is `remote`.
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn twin_by_remote(
        &mut self,
        connection: &ConnectionId,
        remote: &IssueId,
    ) -> Result<Option<TwinState>>;

    /// The twin whose local issue is `local`.
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn twin_by_local(
        &mut self,
        connection: &ConnectionId,
        local: &IssueId,
    ) -> Result<Option<TwinState>>;

    /// Inserts or replaces a twin, keyed by (connection, remote issue id); its
    /// local issue id (when set) is indexed too.
    ///
    /// # Errors
    ///
    /// `Storage`; `InvalidInput` when another twin of the connection already
    /// has the same local issue (a twin per issue per connection, I4).
    fn put_twin(&mut self, twin: &TwinState) -> Result<()>;

    /// Deletes the twin whose remote issue is `remote`.
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn delete_twin(&mut self, connection: &ConnectionId, remote: &IssueId) -> Result<()>;

    /// Every twin of a connection, ordered by remote issue id.
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn twins(&mut self, connection: &ConnectionId) -> Result<Vec<TwinState>>;

    /// How many twins a connection has.
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn twin_count(&mut self, connection: &ConnectionId) -> Result<u64>;

    /// Records an intent (a create about to be sent).
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn put_intent(&mut self, intent: &Intent) -> Result<()>;

    /// The open intents of a connection, oldest first.
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn intents(&mut self, connection: &ConnectionId) -> Result<Vec<Intent>>;

    /// Closes an intent.
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn delete_intent(&mut self, id: &str) -> Result<()>;

    /// Appends to the sync queue; returns the item's sequence number. An issue
    /// already queued keeps its place (and its first sequence number).
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn enqueue(&mut self, item: &QueueItem) -> Result<u64>;

    /// Up to `limit` queued items of a connection, in sequence order.
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn queue(&mut self, connection: &ConnectionId, limit: usize) -> Result<Vec<QueueItem>>;

    /// How many items a connection has queued.
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn queue_len(&mut self, connection: &ConnectionId) -> Result<u64>;

    /// Removes a queued item by sequence number.
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn dequeue(&mut self, seq: u64) -> Result<()>;

    /// Records (or replaces) the error of one issue.
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn put_error(&mut self, error: &TwinError) -> Result<()>;

    /// The recorded errors of a connection.
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn errors(&mut self, connection: &ConnectionId) -> Result<Vec<TwinError>>;

    /// Clears the error of one issue.
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn clear_error(&mut self, connection: &ConnectionId, issue: &IssueId) -> Result<()>;

    /// The change-detection watermark of one side (project) of a connection.
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn watermark(
        &mut self,
        connection: &ConnectionId,
        project: &ProjectKey,
    ) -> Result<Option<time::OffsetDateTime>>;

    /// Sets a watermark.
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn set_watermark(
        &mut self,
        connection: &ConnectionId,
        project: &ProjectKey,
        at: time::OffsetDateTime,
    ) -> Result<()>;

    /// A small metadata value (bulk progress and the like).
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn meta(&mut self, key: &str) -> Result<Option<Vec<u8>>>;

    /// Sets (`Some`) or removes (`None`) a metadata value.
    ///
    /// # Errors
    ///
    /// `Storage`.
    fn set_meta(&mut self, key: &str, value: Option<&[u8]>) -> Result<()>;

    /// Makes every change of this transaction durable and visible.
    ///
    /// # Errors
    ///
    /// `Storage`; the transaction is then rolled back.
    fn commit(self: Box<Self>) -> Result<()>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn _object_safe(_: &dyn Store, _: &dyn StoreTxn) {}
}
