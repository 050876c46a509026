//! Whether the other node of a remote connection answers.
//!
//! When the transport says `Unavailable` or `Timeout`, the connection records
//! since when the other node cannot be reached ([`PeerOutage`], durable) and
//! cycles leave it alone until the next try, the wait doubling after each
//! failed attempt up to a cap ([`NodeOptions::peer_backoff`](crate::engine::NodeOptions::peer_backoff),
//! on the node's clock); nothing for it fails meanwhile. Any answer ends the
//! outage; a signed call from the other node brings the next try forward.
//! A cycle that is due to try again but has nothing for the other node
//! calls it with an empty message, so that an outage ends also when nothing
//! waits for it (and the sync panel stops saying it cannot be reached).
//! What is stored is also kept in memory, so an answer costs no store read.

use std::time::Duration;

use super::link::Link;
use super::wire::Body;
use crate::connection::Connection;
use crate::engine::node::Node;
use crate::error::{Error, Result};
use crate::model::ConnectionId;
use crate::store::PeerOutage;

impl Node {
    /// The outage of the other node of `conn`, if it cannot be reached.
    pub(super) fn outage(&self, conn: &ConnectionId) -> Result<Option<PeerOutage>> {
        if let Some(known) = self
            .runtime()
            .outages
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(conn)
        {
            return Ok(known.clone());
        }
        let stored = self.txn()?.peer_outage(conn)?;
        self.remember_outage(conn, stored.clone());
        Ok(stored)
    }

    fn remember_outage(&self, conn: &ConnectionId, outage: Option<PeerOutage>) {
        self.runtime()
            .outages
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(conn.clone(), outage);
    }

    /// The outage of the other node of `conn` while cycles leave it alone
    /// (before its next try).
    pub(super) fn backing_off(&self, conn: &ConnectionId) -> Result<Option<PeerOutage>> {
        let now = self.now();
        Ok(self.outage(conn)?.filter(|o| o.next_try > now))
    }

    /// The wait after `attempts` failed attempts in a row.
    fn peer_backoff(&self, attempts: u32) -> Duration {
        let options = self.options();
        let doublings = attempts.saturating_sub(1).min(30);
        options
            .peer_backoff
            .saturating_mul(1 << doublings)
            .min(options.peer_backoff_max)
    }

    /// Records that the other node of `conn` could not be reached (`err`):
    /// since when, and when to try again.
    pub(super) fn peer_unreachable(&self, conn: &ConnectionId, err: &Error) -> Result<()> {
        let now = self.now();
        let mut txn = self.txn()?;
        if txn.connection(conn)?.is_none() {
            return Ok(()); // deleted meanwhile
        }
        let mut outage = match txn.peer_outage(conn)? {
            Some(mut o) => {
                o.attempts = o.attempts.saturating_add(1);
                o.cause = err.to_string();
                o
            }
            None => PeerOutage::new(conn.clone(), now, now, err.to_string()),
        };
        outage.next_try = now + self.peer_backoff(outage.attempts);
        txn.put_peer_outage(&outage)?;
        txn.commit()?;
        tracing::warn!(
            connection = %conn,
            since = %outage.since,
            attempts = outage.attempts,
            next_try = %outage.next_try,
            error = %err,
            "the other node cannot be reached; what goes to it waits"
        );
        self.remember_outage(conn, Some(outage));
        Ok(())
    }

    /// The other node of `conn` answered: its outage, if any, ends.
    pub(super) fn peer_answered(&self, conn: &ConnectionId) -> Result<()> {
        if self.outage(conn)?.is_none() {
            return Ok(());
        }
        let mut txn = self.txn()?;
        if let Some(outage) = txn.peer_outage(conn)? {
            txn.clear_peer_outage(conn)?;
            txn.commit()?;
            tracing::info!(connection = %conn, since = %outage.since, "the other node answers again");
        }
        self.remember_outage(conn, None);
        Ok(())
    }

    /// The other node of `conn` called this node: while this node backs off
    /// from it, its next cycle tries it again (the outage ends when it
    /// answers).
    pub(super) fn peer_heard(&self, conn: &ConnectionId) -> Result<()> {
        let now = self.now();
        if self.backing_off(conn)?.is_none() {
            return Ok(());
        }
        let mut txn = self.txn()?;
        let stored = txn.peer_outage(conn)?.map(|mut outage| {
            outage.next_try = now;
            outage
        });
        if let Some(outage) = &stored {
            txn.put_peer_outage(outage)?;
            txn.commit()?;
        }
        self.remember_outage(conn, stored);
        Ok(())
    }

    /// Tries again whether the other node of `conn` answers, when an outage
    /// is on record and nothing this cycle sent ended it: it is called with
    /// an empty message, which every node answers without doing anything.
    /// An error of scope [`ErrorScope::Peer`](crate::error::ErrorScope::Peer)
    /// when it still cannot be reached (the next try is pushed back).
    pub(super) async fn probe_peer(&self, conn: &Connection, link: &Link) -> Result<()> {
        if !link.peer_reachable || self.outage(&conn.id)?.is_none() {
            return Ok(());
        }
        let nothing = Body::Messages {
            items: Vec::new(),
            upto: None,
        };
        self.exchange(conn, link, &nothing).await.map(|_| ())
    }

    /// Forgets what this node holds in memory about reaching the other node
    /// of `conn`.
    pub(super) fn forget_reach(&self, conn: &ConnectionId) {
        self.runtime()
            .outages
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(conn);
        self.runtime()
            .pulled
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(conn);
    }
}
