//! The engine's store transactions: at most one open per thread.

use std::cell::Cell;
use std::marker::PhantomData;

use crate::error::{Error, ErrorKind, Result};
use crate::store::{Store, StoreTxn};

thread_local! {
    /// Whether this thread has a transaction of the engine open.
    static OPEN: Cell<bool> = const { Cell::new(false) };
}

/// Starts a transaction on `store`, refusing one nested in another.
pub(super) fn begin(store: &dyn Store) -> Result<Box<dyn StoreTxn + '_>> {
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
        _mark: Mark(PhantomData),
    }))
}

/// A transaction that marks its thread busy until it is committed or dropped.
struct Txn<'a> {
    inner: Box<dyn StoreTxn + 'a>,
    _mark: Mark,
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
    crate::store::forward_store_txn!(inner);

    fn commit(self: Box<Self>) -> Result<()> {
        let Txn { inner, _mark } = *self;
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
        let outer = begin(&store).expect("begin");
        let err = begin(&store).err().expect("nested begin refused");
        assert_eq!(err.kind(), ErrorKind::Unexpected);
        assert!(err.to_string().contains("another is open"), "{err}");
        outer.commit().expect("commit");
        let again = begin(&store).expect("free again after a commit");
        drop(again);
        begin(&store).expect("free again after a rollback");
    }
}
