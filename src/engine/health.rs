//! The checks behind a readiness probe: does the node's store answer, does
//! its tracker?

use crate::error::Result;

use super::node::Node;

impl Node {
    /// Checks that the node's store answers: one small read (the node's own
    /// record). What a readiness probe asks (see `server::ops`, feature
    /// `http`).
    ///
    /// # Errors
    ///
    /// The store's error, usually `Storage`.
    pub fn check_store(&self) -> Result<()> {
        let mut txn = self.txn()?;
        txn.node_record()?;
        Ok(())
    }

    /// Checks that the node's tracker answers, with its credentials: one
    /// cheap call (its [`instance`](crate::tracker::Tracker::instance)
    /// information; on Jira, the server info), made once, without the
    /// node's retries, so that a probe learns at once that the tracker is
    /// down. Bound it with a timeout of your own.
    ///
    /// # Errors
    ///
    /// The tracker's error: `Unavailable` or `Timeout` while it is down,
    /// `Unauthenticated` when it refuses the credentials.
    pub async fn check_tracker(&self) -> Result<()> {
        self.inner.probe.instance().await.map(|_| ())
    }
}
