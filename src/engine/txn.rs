//! The engine's store transactions: at most one open per thread, and, in
//! worker mode, every write of a twin's own state fenced by the twin's lease
//! (see [`worker`](super::worker)).

use std::cell::Cell;
use std::marker::PhantomData;

use crate::error::{Error, ErrorKind, Result};
use crate::model::{ConnectionId, IssueId};
use crate::plan::TwinState;
use crate::store::{Intent, Store, StoreTxn, TwinConflicts};

use super::worker::Working;

/// What a worker's transaction checks before it writes a twin's state.
pub(super) struct Fence<'a> {
    pub(super) worker: &'a Working,
    pub(super) now: time::OffsetDateTime,
}

thread_local! {
    /// Whether this thread has a transaction of the engine open.
    static OPEN: Cell<bool> = const { Cell::new(false) };
}

/// Starts a transaction on `store`, refusing one nested in another; with a
/// `fence`, its twin writes are checked against the twins' leases.
pub(super) fn begin<'a>(
    store: &'a dyn Store,
    fence: Option<Fence<'a>>,
) -> Result<Box<dyn StoreTxn + 'a>> {
    if OPEN.with(Cell::get) {
        return Err(Error::new(
            ErrorKind::Unexpected,
            "a store transaction was started while another is open on this thread; \
             this is a bug in twinsync, please report it",
        ));
    }
    let inner = store.begin()?;
    OPEN.with(|open| open.set(true));
    Ok(Box::new(Txn {
        inner,
        fence,
        _mark: Mark(PhantomData),
    }))
}

/// A transaction that marks its thread busy until it is committed or dropped.
struct Txn<'a> {
    inner: Box<dyn StoreTxn + 'a>,
    fence: Option<Fence<'a>>,
    _mark: Mark,
}

impl Txn<'_> {
    /// Refuses a write of twin `origin`'s state another worker took over.
    fn fenced(&mut self, connection: &ConnectionId, origin: &IssueId) -> Result<()> {
        match &self.fence {
            Some(fence) => fence
                .worker
                .fence(&mut *self.inner, connection, origin, fence.now),
            None => Ok(()),
        }
    }
}

/// This thread's mark; cleared when dropped. Not `Send`: it belongs to the
/// thread.
struct Mark(PhantomData<*const ()>);

impl Drop for Mark {
    fn drop(&mut self) {
        OPEN.with(|open| open.set(false));
    }
}

impl StoreTxn for Txn<'_> {
    crate::store::forward_store_txn_but_twin_writes!(inner);

    fn put_twin(&mut self, twin: &TwinState) -> Result<()> {
        self.fenced(&twin.connection, &twin.remote.id)?;
        self.inner.put_twin(twin)
    }

    fn delete_twin(&mut self, connection: &ConnectionId, remote: &IssueId) -> Result<()> {
        self.fenced(connection, remote)?;
        self.inner.delete_twin(connection, remote)
    }

    fn put_intent(&mut self, intent: &Intent) -> Result<()> {
        if self.fence.is_some() {
            // A create of the backward direction names the twin's local issue.
            let origin = match self
                .inner
                .twin_by_local(&intent.connection, &intent.origin)?
            {
                Some(twin) => twin.remote.id,
                None => intent.origin.clone(),
            };
            self.fenced(&intent.connection, &origin)?;
        }
        self.inner.put_intent(intent)
    }

    fn put_conflicts(&mut self, record: &TwinConflicts) -> Result<()> {
        self.fenced(&record.connection, &record.origin)?;
        self.inner.put_conflicts(record)
    }

    fn commit(self: Box<Self>) -> Result<()> {
        let Txn { inner, _mark, .. } = *self;
        inner.commit()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    #[test]
    fn a_nested_transaction_is_refused_instead_of_waiting_forever() {
        let store = MemoryStore::new();
        let outer = begin(&store, None).expect("begin");
        let err = begin(&store, None).err().expect("nested begin refused");
        assert_eq!(err.kind(), ErrorKind::Unexpected);
        assert!(err.to_string().contains("another is open"), "{err}");
        outer.commit().expect("commit");
        let again = begin(&store, None).expect("free again after a commit");
        drop(again);
        begin(&store, None).expect("free again after a rollback");
    }
}
