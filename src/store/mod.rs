//! Durable state: the [`Store`] trait, its records, and [`MemoryStore`].
//!
//! A node keeps everything it must not forget in a store: connections, twins
//! and their [`TwinState`](crate::plan::TwinState), intents (creates in flight), the sync queue, errors,
//! watermarks, conflicts, what it knows of the other node of a remote
//! connection (peer link, sequence marks, outgoing flags, the outbox of
//! messages waiting for it, its outage), invitations, rule
//! versions and bulk progress: every record typed, none opaque. Every change happens in a transaction
//! ([`StoreTxn`]) that commits as a whole or not at all; dropping a transaction
//! without [`commit`](StoreTxn::commit) rolls it back.
//!
//! # Synchronous, short transactions
//!
//! The trait is synchronous, and that is a design decision, not a
//! convenience: a transaction is a few reads and writes with no I/O of the
//! engine between them. The engine never holds one across an `.await`
//! (transactions are not `Send` and every future of a node is, so the
//! compiler refuses code that would), so no transaction ever waits for a
//! tracker, and a node never starts a transaction inside another (it is
//! refused with an error). The embedded stores (memory, SQLite) answer in
//! microseconds, so the engine runs their transactions where it is.
//!
//! A store that answers over the network implements the same trait:
//! [`PostgresStore`] (feature `postgres`) drives its connections on a
//! runtime thread of its own and waits for each statement on the calling
//! thread, so it works from any thread, inside an async runtime or not, and
//! holds the caller for a round trip to the server as the embedded stores
//! hold it for their disk. Because transactions are short and never span an
//! `.await`, a transaction is one unit that could also move whole to a
//! thread meant for blocking work.
//!
//! Store authors run the conformance suite in
//! `testkit::store` (feature `testkit`).

use std::fmt::Debug;

use time::OffsetDateTime;

use crate::error::Result;

#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod columns;
mod forward;
pub mod lease;
mod listing;
mod memory;
#[cfg(feature = "postgres")]
mod postgres;
mod records;
#[cfg(feature = "sqlite")]
mod sqlite;
mod twin_records;
mod txn;

pub(crate) use forward::{
    forward_store_txn, forward_store_txn_but_twin_writes, forward_twin_writes,
};
pub use lease::Lease;
pub use listing::{KeyMatch, StatusCounts, TwinQuery};
pub use memory::MemoryStore;
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub use postgres::{PostgresStore, PostgresStoreBuilder};
pub use records::{
    BulkProgress, ConnectionRecord, EstablishTokenRecord, Intent, IntentKind, InvitationRecord,
    NodeRecord, OutboxMessage, OutgoingRecord, PeerLink, PeerOutage, QueueItem, SeqMark,
    StoredSecret,
};
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub use sqlite::SqliteStore;
pub use twin_records::{
    DeletedItems, DeletionDecision, Quarantine, RefusedDeletion, RefusedTransition, SeenIssue,
    SeenProject, TwinConflicts, TwinError,
};
pub use txn::StoreTxn;

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

    /// Takes lease `name` for `holder` until `until`, or renews it, in a
    /// transaction of its own, by the rules of [`lease::take`]: `None` while
    /// another holder's lease is live at `now`.
    ///
    /// A store shared by workers may answer `None` at once, without waiting,
    /// while another transaction is taking, renewing or checking the same
    /// lease ([`PostgresStore`] locks the lease's row with `FOR UPDATE SKIP
    /// LOCKED`, outside its other transactions' turns): the lease is then
    /// busy, and its work is someone else's for now. The default runs
    /// [`lease::take`] in a transaction of [`begin`](Store::begin).
    ///
    /// # Errors
    ///
    /// The store's; `Unsupported` for a store without leases.
    fn take_lease(
        &self,
        name: &str,
        holder: &str,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<Option<Lease>> {
        let mut txn = self.begin()?;
        let taken = lease::take(&mut *txn, name, holder, now, until)?;
        txn.commit()?;
        Ok(taken)
    }

    /// Gives lease `name` up when `holder` still holds it at `epoch`, in a
    /// transaction of its own, by the rules of [`lease::release`].
    ///
    /// # Errors
    ///
    /// The store's; `Unsupported` for a store without leases.
    fn release_lease(&self, name: &str, holder: &str, epoch: u64) -> Result<()> {
        let mut txn = self.begin()?;
        lease::release(&mut *txn, name, holder, epoch)?;
        txn.commit()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn _object_safe(_: &dyn Store, _: &dyn StoreTxn) {}
}
