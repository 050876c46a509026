//! Leases and shared holds: how several worker nodes on one store share the
//! work (see [`NodeBuilder::worker`](crate::engine::NodeBuilder::worker)).
//!
//! A lease names a piece of shared work (polling a connection, one twin) and
//! who holds it until when. Its epoch is unique among all leases the store
//! ever gave out and grows with each new holding, so a holder that stalled
//! past its lease can tell, in the transaction of its next write, that
//! another took the work over since (its epoch is gone) and refuse that
//! write. [`take`] and [`release`] are the rules every store shares; a store
//! implements the primitives [`StoreTxn::lease`], [`StoreTxn::put_lease`],
//! [`StoreTxn::delete_lease`] and [`StoreTxn::next_lease_epoch`].

use time::OffsetDateTime;

use crate::error::{Error, ErrorKind, Result};

use super::StoreTxn;

/// One holding of a piece of shared work.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    /// What it is for (`poll/<connection>`, `twin/<connection>/<issue>`).
    pub name: String,
    /// Who holds it: a worker's name and the number of its start.
    pub holder: String,
    /// Unique among the store's leases; a new holding gets a new one.
    pub epoch: u64,
    /// When it lapses unless renewed.
    pub until: OffsetDateTime,
}

impl Lease {
    /// Whether it still holds at `now`.
    pub fn live(&self, now: OffsetDateTime) -> bool {
        self.until > now
    }
}

/// Takes lease `name` for `holder` until `until`, or renews it when `holder`
/// has it already (keeping its epoch). `None` when another holder's lease is
/// live at `now`. A lapsed lease of another holder is taken over with a new
/// epoch.
///
/// # Errors
///
/// The store's; `Unsupported` for a store without leases.
pub fn take(
    txn: &mut dyn StoreTxn,
    name: &str,
    holder: &str,
    now: OffsetDateTime,
    until: OffsetDateTime,
) -> Result<Option<Lease>> {
    let lease = match txn.lease(name)? {
        Some(l) if l.holder == holder => Lease { until, ..l },
        Some(l) if l.live(now) => return Ok(None),
        _ => Lease {
            name: name.to_owned(),
            holder: holder.to_owned(),
            epoch: txn.next_lease_epoch()?,
            until,
        },
    };
    txn.put_lease(&lease)?;
    Ok(Some(lease))
}

/// Gives lease `name` up, when `holder` still holds it at `epoch` (nothing
/// otherwise: it was taken over).
///
/// # Errors
///
/// The store's.
pub fn release(txn: &mut dyn StoreTxn, name: &str, holder: &str, epoch: u64) -> Result<()> {
    if txn
        .lease(name)?
        .is_some_and(|l| l.holder == holder && l.epoch == epoch)
    {
        txn.delete_lease(name)?;
    }
    Ok(())
}

/// The error of the lease primitives of a store that keeps one node's state.
pub(crate) fn unsupported() -> Error {
    Error::new(
        ErrorKind::Unsupported,
        "this store keeps the state of one node; several workers need a store \
         shared by them that keeps leases, such as PostgresStore",
    )
}
