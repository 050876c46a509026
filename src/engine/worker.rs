//! Worker mode: several nodes of one tracker share one store and its work.
//!
//! Each worker node is built with a [`Worker`] on a store that keeps leases
//! ([`PostgresStore`](crate::store::PostgresStore) with
//! [`workers`](crate::store::PostgresStoreBuilder::workers), or one
//! [`MemoryStore`](crate::store::MemoryStore) shared in a process). Then:
//!
//! - **Polling is one worker's at a time.** A cycle polls a connection only
//!   under the lease `poll/<connection>`, which its holder renews each
//!   cycle; what the poll finds (and what triggers bring under sync) goes to
//!   the shared queue. When the polling worker dies, its lease lapses and
//!   the next worker to run a cycle of the connection polls instead.
//! - **Twins are claimed one at a time.** Every worker works the shared
//!   queue; each twin's sync runs under the lease `twin/<connection>/<issue>`,
//!   so no two workers ever sync one twin at once, and the changes of one
//!   twin are applied in order. A twin another worker holds is left in the
//!   queue for it. A store shared by processes takes the lease without
//!   waiting for other transactions ([`Store::take_lease`]; on PostgreSQL
//!   `FOR UPDATE SKIP LOCKED`): a twin whose lease another worker is taking
//!   at that moment is busy, and left to it.
//! - **Every write of a twin's state is fenced.** The transaction that
//!   writes a twin's state, intents or conflicts first checks that the
//!   worker still holds the twin's lease at the epoch it claimed (and
//!   renews it). A worker that stalled past its lease, and whose twin
//!   another worker took over since, has that write refused with
//!   [`ErrorKind::Superseded`]: nothing of it is stored, the error is not
//!   recorded against the twin, and the worker moves on. What it had sent
//!   to the tracker before is what a crash leaves, and the new holder
//!   settles it the same way (intents and markers).
//! - **Rate-limit holds are shared.** A `Retry-After` one worker learns is
//!   stored, and every worker's paced tracker waits for it.
//!
//! A remote connection's cycle (its messages, outbox and pulls) runs whole
//! under the lease `cycle/<connection>`: one worker at a time.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use time::OffsetDateTime;

use crate::clock::Clock;
use crate::error::{Error, ErrorKind, Result};
use crate::model::{ConnectionId, IssueId};
use crate::store::{Lease, Store, StoreTxn};
use crate::tracker::SharedHolds;

use super::node::Node;

/// What makes a node one of several workers sharing one store; see
/// [`NodeBuilder::worker`](super::NodeBuilder::worker).
#[derive(Clone, Debug)]
pub struct Worker {
    name: String,
    lease: Duration,
}

impl Worker {
    /// A worker named `name` (shown as the holder of what it works on; give
    /// each worker its own), holding its work for 30 s at a time.
    pub fn new(name: impl Into<String>) -> Self {
        Worker {
            name: name.into(),
            lease: Duration::from_secs(30),
        }
    }

    /// How long the worker holds a piece of work (a connection's polling, a
    /// twin) without renewing it; after a crash, the work passes to another
    /// worker within this time. Each write of a twin renews it; keep it
    /// longer than the slowest tracker call and the poll interval.
    #[must_use]
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// The worker's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The lease time.
    pub fn lease_time(&self) -> Duration {
        self.lease
    }
}

/// A running worker: who it is and the twins it holds now.
pub(in crate::engine) struct Working {
    /// The holder named in leases: the worker's name and its start number,
    /// so a restarted worker never mistakes its predecessor's leases for its
    /// own.
    pub(in crate::engine) holder: String,
    pub(in crate::engine) lease: Duration,
    claims: Mutex<HashMap<(ConnectionId, IssueId), u64>>,
}

impl fmt::Debug for Working {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Working")
            .field("holder", &self.holder)
            .field("lease", &self.lease)
            .finish_non_exhaustive()
    }
}

impl Working {
    pub(in crate::engine) fn new(worker: &Worker, boot: u64) -> Self {
        Working {
            holder: format!("{}#{boot}", worker.name),
            lease: worker.lease,
            claims: Mutex::default(),
        }
    }

    fn claims(&self) -> MutexGuard<'_, HashMap<(ConnectionId, IssueId), u64>> {
        self.claims.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Checks, in `txn`, that this worker may write the state of twin
    /// `origin` at `now`: it holds the twin's lease at the epoch it claimed
    /// (the lease is then renewed), or it holds no claim and no other
    /// worker's lease on the twin is live.
    pub(in crate::engine) fn fence(
        &self,
        txn: &mut dyn StoreTxn,
        connection: &ConnectionId,
        origin: &IssueId,
        now: OffsetDateTime,
    ) -> Result<()> {
        let name = twin_lease(connection, origin);
        let claimed = self
            .claims()
            .get(&(connection.clone(), origin.clone()))
            .copied();
        let found = txn.lease(&name)?;
        match (claimed, found) {
            (Some(epoch), Some(l)) if l.holder == self.holder && l.epoch == epoch => {
                txn.put_lease(&Lease {
                    until: until(now, self.lease),
                    ..l
                })
            }
            (Some(_), found) => Err(superseded(origin, found.as_ref())),
            (None, Some(l)) if l.holder != self.holder && l.live(now) => {
                Err(superseded(origin, Some(&l)))
            }
            (None, _) => Ok(()),
        }
    }
}

/// The refusal of a write to a twin another worker holds.
fn superseded(origin: &IssueId, holder: Option<&Lease>) -> Error {
    let by = holder.map_or_else(
        || "its lease lapsed".to_owned(),
        |l| format!("worker {} holds it", l.holder),
    );
    Error::new(
        ErrorKind::Superseded,
        format!("twin {origin} was taken over by another worker ({by}); nothing was written"),
    )
    .set_temporary(true)
}

/// The lease of a connection's polling.
pub(in crate::engine) fn poll_lease(connection: &ConnectionId) -> String {
    format!("poll/{connection}")
}

/// The lease of a remote connection's whole cycle.
pub(in crate::engine) fn cycle_lease(connection: &ConnectionId) -> String {
    format!("cycle/{connection}")
}

/// The lease of one twin.
pub(in crate::engine) fn twin_lease(connection: &ConnectionId, origin: &IssueId) -> String {
    format!("twin/{connection}/{origin}")
}

fn until(now: OffsetDateTime, lease: Duration) -> OffsetDateTime {
    now + lease
}

/// A twin this worker holds; given back by [`Node::unclaim`].
pub(in crate::engine) struct Claim {
    key: (ConnectionId, IssueId),
    epoch: u64,
}

impl Node {
    /// This node's worker, in worker mode.
    pub(in crate::engine) fn working(&self) -> Option<&Working> {
        self.inner.worker.as_ref()
    }

    /// Takes (or renews) lease `name` for this worker; `None` while another
    /// worker holds it. Outside worker mode every lease is this node's.
    pub(in crate::engine) fn take_lease(&self, name: &str) -> Result<Option<u64>> {
        let Some(worker) = self.working() else {
            return Ok(Some(0));
        };
        let now = self.now();
        let taken =
            self.inner
                .store
                .take_lease(name, &worker.holder, now, until(now, worker.lease))?;
        Ok(taken.map(|l| l.epoch))
    }

    /// Claims twin `origin` for this worker: `Ok(None)` outside worker mode
    /// (nothing to claim); a `Superseded` error while another worker holds
    /// it.
    pub(in crate::engine) fn claim(
        &self,
        connection: &ConnectionId,
        origin: &IssueId,
    ) -> Result<Option<Claim>> {
        let Some(worker) = self.working() else {
            return Ok(None);
        };
        let name = twin_lease(connection, origin);
        let now = self.now();
        let taken =
            self.inner
                .store
                .take_lease(&name, &worker.holder, now, until(now, worker.lease))?;
        let Some(taken) = taken else {
            return Err(Error::new(
                ErrorKind::Superseded,
                format!("twin {origin} is held by another worker; it stays queued for it"),
            )
            .set_temporary(true));
        };
        let key = (connection.clone(), origin.clone());
        worker.claims().insert(key.clone(), taken.epoch);
        Ok(Some(Claim {
            key,
            epoch: taken.epoch,
        }))
    }

    /// Gives a claimed twin back (unless another worker took it over).
    pub(in crate::engine) fn unclaim(&self, claim: Option<Claim>) -> Result<()> {
        let (Some(claim), Some(worker)) = (claim, self.working()) else {
            return Ok(());
        };
        {
            let mut claims = worker.claims();
            if claims.get(&claim.key) == Some(&claim.epoch) {
                claims.remove(&claim.key);
            }
        }
        self.inner.store.release_lease(
            &twin_lease(&claim.key.0, &claim.key.1),
            &worker.holder,
            claim.epoch,
        )
    }
}

/// The rate-limit holds of one tracker, shared by the workers of a store.
pub(in crate::engine) struct StoredHolds {
    pub(in crate::engine) store: Arc<dyn Store>,
    /// The hold's name: the tracker's URL.
    pub(in crate::engine) name: String,
    pub(in crate::engine) clock: Arc<dyn Clock>,
    /// The hold last read, and when: read again after a second.
    pub(in crate::engine) cache: Mutex<Option<(OffsetDateTime, Option<OffsetDateTime>)>>,
}

impl fmt::Debug for StoredHolds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredHolds")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// How long a hold read from the store is trusted before it is read again.
const HOLD_REFRESH: Duration = Duration::from_secs(1);

impl StoredHolds {
    fn cache(&self) -> MutexGuard<'_, Option<(OffsetDateTime, Option<OffsetDateTime>)>> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl SharedHolds for StoredHolds {
    fn publish(&self, until: OffsetDateTime) -> Result<()> {
        let mut txn = self.store.begin()?;
        txn.put_hold(&self.name, until)?;
        txn.commit()?;
        let mut cache = self.cache();
        if let Some((_, held)) = cache.as_mut() {
            *held = Some(held.map_or(until, |t| t.max(until)));
        }
        Ok(())
    }

    fn current(&self) -> Result<Option<OffsetDateTime>> {
        let now = self.clock.now();
        if let Some((read, held)) = *self.cache()
            && now < read + HOLD_REFRESH
        {
            return Ok(held);
        }
        let held = {
            let mut txn = self.store.begin()?;
            let held = txn.hold(&self.name)?;
            txn.commit()?;
            held
        };
        *self.cache() = Some((now, held));
        Ok(held)
    }
}
