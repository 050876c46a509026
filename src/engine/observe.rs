//! Where the engine counts what it does (see [`crate::metrics`]): each
//! cycle's end, a recorded failure, an applied change's latency, and the
//! per-connection gauges.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use time::OffsetDateTime;

use crate::connection::Connection;
use crate::error::{Error, ErrorKind, Result};
use crate::metrics;
use crate::model::{ConnectionId, InstanceUrl};

use super::node::Node;
use super::sync::types::CycleReport;

/// How old a connection's twin count may get before a quiet cycle counts
/// again (counting reads every twin's row, so not every cycle).
pub(in crate::engine) const TWIN_RECOUNT: Duration = Duration::from_secs(5 * 60);

/// What the node remembers to keep its gauges cheap: when each connection's
/// twins were last counted.
pub(in crate::engine) struct Observed {
    /// The `tracker` label of the node's metrics: its instance URL.
    label: Arc<str>,
    twins_counted: Mutex<HashMap<ConnectionId, OffsetDateTime>>,
}

impl Observed {
    pub(in crate::engine) fn new(instance: &InstanceUrl) -> Self {
        Observed {
            label: Arc::from(instance.as_str()),
            twins_counted: Mutex::default(),
        }
    }
}

impl Node {
    /// The `tracker` label of this node's metrics: its instance URL.
    pub(in crate::engine) fn metrics_label(&self) -> &Arc<str> {
        &self.inner.observed.label
    }

    /// Counts a cycle of `conn` that started at `start` and ended with
    /// `result`, and sets the connection's gauges.
    pub(in crate::engine) fn observe_cycle(
        &self,
        conn: &Connection,
        start: OffsetDateTime,
        result: &Result<CycleReport>,
    ) {
        let label = self.metrics_label();
        let took = Duration::try_from(self.now() - start).unwrap_or_default();
        metrics::cycle(label, &conn.name, result.is_ok(), took);
        if let Err(err) = result {
            metrics::error(label, &conn.name, "cycle", err);
        }
        let changed = result.as_ref().is_ok_and(|r| r.triggered > 0);
        if let Err(err) = self.set_gauges(conn, changed) {
            tracing::debug!(error = %err, "cannot read the queue and twin counts for the metrics");
        }
    }

    fn set_gauges(&self, conn: &Connection, changed: bool) -> Result<()> {
        let label = self.metrics_label();
        let mut txn = self.txn()?;
        let queued = txn.queue_len(&conn.id)?;
        let outbox = txn.outbox_len(&conn.id)?;
        let now = self.now();
        let due = {
            let counted = self
                .inner
                .observed
                .twins_counted
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            changed
                || counted
                    .get(&conn.id)
                    .is_none_or(|at| now - *at >= TWIN_RECOUNT)
        };
        let twins = if due {
            Some(txn.twin_count(&conn.id)?)
        } else {
            None
        };
        drop(txn);
        metrics::gauge(metrics::QUEUE_LENGTH, label, &conn.name, queued);
        metrics::gauge(metrics::OUTBOX_LENGTH, label, &conn.name, outbox);
        if let Some(twins) = twins {
            metrics::gauge(metrics::TWINS, label, &conn.name, twins);
            self.inner
                .observed
                .twins_counted
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(conn.id.clone(), now);
        }
        Ok(())
    }

    /// Counts a failed sync of a twin of `connection` (as the sync panel
    /// records it), and a rate-limit hold when it backs off for one.
    pub(in crate::engine) fn observe_twin_failure(&self, connection: &ConnectionId, err: &Error) {
        let name = self
            .connection(connection)
            .map_or_else(|_| connection.to_string(), |c| c.name);
        let label = self.metrics_label();
        metrics::error(label, &name, "twin", err);
        if err.kind() == ErrorKind::RateLimited {
            metrics::rate_limit_hold(label, "twin", err.retry_after().unwrap_or_default());
        }
    }

    /// Observes the latency of a change of `conn` made at `edited` (on the
    /// origin's tracker) and written now.
    pub(in crate::engine) fn observe_latency(&self, conn: &Connection, edited: OffsetDateTime) {
        let latency = Duration::try_from(self.now() - edited).unwrap_or_default();
        metrics::latency(self.metrics_label(), &conn.name, latency);
    }

    /// Counts the scheduler holding back `conn`'s cycles for `wait` after
    /// a cycle failed rate limited.
    pub(in crate::engine) fn observe_connection_hold(&self, wait: Duration) {
        metrics::rate_limit_hold(self.metrics_label(), "connection", wait);
    }
}
