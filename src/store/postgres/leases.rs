//! Leases and holds on PostgreSQL.
//!
//! A worker takes and gives back a lease in a transaction of its own that
//! does not wait for the store's turn (the advisory lock every other
//! transaction takes): it locks the lease's row `FOR UPDATE SKIP LOCKED`,
//! and a row another transaction has locked is a busy lease, answered at
//! once as not taken. Every read of a lease inside the store's other
//! transactions (the fence of a twin's write) locks its row `FOR UPDATE`
//! too, so a take and a fenced write on the same twin never interleave: the
//! write sees the take's epoch, or the take sees the row busy.

use time::OffsetDateTime;

use crate::error::{Error, ErrorKind, Result};
use crate::store::Lease;
use crate::store::columns::{from_sql_u64, to_sql_u64};

use super::PostgresStore;
use super::rows::{count, from_nanos, nanos};
use super::txn::PgTxn;

impl PgTxn<'_> {
    /// Lease `name`, its row locked until the transaction ends.
    pub(super) fn lease_locked(&mut self, name: &str) -> Result<Option<Lease>> {
        self.lease_row(
            name,
            "SELECT holder, epoch, until_ns FROM leases WHERE name = $1 FOR UPDATE",
        )
    }

    fn lease_row(&mut self, name: &str, sql: &str) -> Result<Option<Lease>> {
        let Some(row) = self.row("cannot read a lease", sql, &[&name])? else {
            return Ok(None);
        };
        let epoch: i64 = self.get(&row, 1, "lease epoch")?;
        let until: i64 = self.get(&row, 2, "lease end")?;
        Ok(Some(Lease {
            name: name.to_owned(),
            holder: self.get(&row, 0, "lease holder")?,
            epoch: from_sql_u64(epoch),
            until: from_nanos("lease end", until)?,
        }))
    }

    pub(super) fn write_lease(&mut self, lease: &Lease) -> Result<()> {
        let until = nanos("lease end", lease.until)?;
        self.run(
            "cannot write a lease",
            "INSERT INTO leases (name, holder, epoch, until_ns) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, \
             epoch = excluded.epoch, until_ns = excluded.until_ns",
            &[&lease.name, &lease.holder, &to_sql_u64(lease.epoch), &until],
        )?;
        Ok(())
    }

    pub(super) fn remove_lease(&mut self, name: &str) -> Result<()> {
        self.run(
            "cannot delete a lease",
            "DELETE FROM leases WHERE name = $1",
            &[&name],
        )?;
        Ok(())
    }

    pub(super) fn draw_lease_epoch(&mut self) -> Result<u64> {
        let row = self.row(
            "cannot draw a lease epoch",
            "SELECT nextval('lease_epochs')",
            &[],
        )?;
        match row {
            Some(row) => Ok(count(self.get(&row, 0, "lease epoch")?)),
            None => Err(Error::new(
                ErrorKind::Storage,
                "the lease epoch sequence answered no row",
            )),
        }
    }

    pub(super) fn read_hold(&mut self, name: &str) -> Result<Option<OffsetDateTime>> {
        let row = self.row(
            "cannot read a hold",
            "SELECT until_ns FROM holds WHERE name = $1",
            &[&name],
        )?;
        match row {
            Some(row) => Ok(Some(from_nanos("hold", self.get(&row, 0, "hold")?)?)),
            None => Ok(None),
        }
    }

    pub(super) fn write_hold(&mut self, name: &str, until: OffsetDateTime) -> Result<()> {
        let until = nanos("hold", until)?;
        self.run(
            "cannot write a hold",
            "INSERT INTO holds (name, until_ns) VALUES ($1, $2) \
             ON CONFLICT (name) DO UPDATE SET until_ns = GREATEST(holds.until_ns, excluded.until_ns)",
            &[&name, &until],
        )?;
        Ok(())
    }

    /// [`lease::take`](crate::store::lease::take) without waiting for a
    /// lease another transaction has locked: it is busy (`None`).
    fn take_unless_busy(
        &mut self,
        name: &str,
        holder: &str,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<Option<Lease>> {
        let found = self.lease_row(
            name,
            "SELECT holder, epoch, until_ns FROM leases WHERE name = $1 \
             FOR UPDATE SKIP LOCKED",
        )?;
        let lease = match found {
            Some(l) if l.holder == holder => Lease { until, ..l },
            Some(l) if l.live(now) => return Ok(None),
            Some(_) => Lease {
                name: name.to_owned(),
                holder: holder.to_owned(),
                epoch: self.draw_lease_epoch()?,
                until,
            },
            None => {
                // Absent, or locked by another transaction (perhaps one
                // inserting it): insert it unless it is there.
                let epoch = self.draw_lease_epoch()?;
                let at = nanos("lease end", until)?;
                let inserted = self.run(
                    "cannot write a lease",
                    "INSERT INTO leases (name, holder, epoch, until_ns) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING",
                    &[&name, &holder, &to_sql_u64(epoch), &at],
                )?;
                return Ok((inserted == 1).then(|| Lease {
                    name: name.to_owned(),
                    holder: holder.to_owned(),
                    epoch,
                    until,
                }));
            }
        };
        self.write_lease(&lease)?;
        Ok(Some(lease))
    }
}

impl PostgresStore {
    /// A transaction that does not take the store's turn: for leases only.
    fn lease_txn(&self) -> Result<PgTxn<'_>> {
        self.hold_node_lock()?;
        let lent = self.pool.get()?;
        PgTxn::begin(lent, &self.name, None, self.lock_wait_ms())
    }

    pub(super) fn take_lease_unless_busy(
        &self,
        name: &str,
        holder: &str,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<Option<Lease>> {
        let mut txn = self.lease_txn()?;
        let taken = txn.take_unless_busy(name, holder, now, until)?;
        txn.finish()?;
        Ok(taken)
    }

    pub(super) fn release_lease_alone(&self, name: &str, holder: &str, epoch: u64) -> Result<()> {
        let mut txn = self.lease_txn()?;
        txn.run(
            "cannot give a lease back",
            "DELETE FROM leases WHERE name = $1 AND holder = $2 AND epoch = $3",
            &[&name, &holder, &to_sql_u64(epoch)],
        )?;
        txn.finish()
    }
}
