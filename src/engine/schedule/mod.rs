//! [`Node::run`]: the scheduler that runs every connection's cycles until it
//! is told to stop, and [`Node::reconcile`], the sweep it runs now and then.

use std::collections::HashMap;
use std::future::Future;
use std::pin::pin;
use std::time::Duration;

use futures::FutureExt;
use time::OffsetDateTime;

use crate::connection::{Connection, ConnectionStatus};
use crate::error::Result;
use crate::model::ConnectionId;
use crate::random::SplitMix64;

use super::node::Node;
use super::sync::types::CycleReport;

pub(super) mod hints;
pub(super) mod signal;

/// What [`Node::run`] did until it stopped.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RunReport {
    /// Cycles run (reconcile sweeps included).
    pub cycles: usize,
    /// Cycles that failed; the connection was tried again later.
    pub failed_cycles: usize,
    /// Reconcile sweeps run.
    pub reconciles: usize,
    /// Pulls of a node in a private network.
    pub pulls: usize,
    /// The sum of every cycle's report.
    pub totals: CycleReport,
}

/// When a connection's next cycle is due, and what the scheduler knows of it.
#[derive(Clone, Copy, Debug)]
struct Slot {
    next: OffsetDateTime,
    reconcile: Option<OffsetDateTime>,
    /// Failures in a row for a reason that passes (a tracker down).
    failures: u32,
}

impl Node {
    /// Runs every connection's cycles until `shutdown` completes: what a
    /// node does when it runs by itself (the `sync_all` loop you would
    /// otherwise write).
    ///
    /// - Each active or deactivated connection gets a cycle every
    ///   [`poll_interval`](crate::engine::NodeOptions::poll_interval) (per
    ///   connection: [`poll_intervals`](crate::engine::NodeOptions::poll_intervals)),
    ///   varied at random by [`jitter`](crate::engine::NodeOptions::jitter).
    ///   Connections created or activated meanwhile join at once; pending and
    ///   stopped ones are left out.
    /// - An issue [`notify_changed`](Node::notify_changed) queued, or a
    ///   webhook's [`hint_changed`](Node::hint_changed), gets its connection
    ///   a cycle at once.
    /// - One connection's failure never stops the others. A failure that
    ///   passes (the tracker down, a rate limit) backs that connection off:
    ///   the time the tracker asked for, else
    ///   [`outage_backoff`](crate::engine::NodeOptions::outage_backoff),
    ///   doubled for each failure in a row. A connection-wide error stops
    ///   that connection only (its status says why), as [`sync`](Node::sync) does.
    /// - Every [`reconcile_interval`](crate::engine::NodeOptions::reconcile_interval)
    ///   a connection's cycle is a [`reconcile`](Node::reconcile) sweep.
    /// - A node in a private network also [`pull`](Node::pull)s when due.
    /// - When `shutdown` completes during a cycle, the twin in flight is
    ///   finished and committed, the twins not started yet stay queued for
    ///   the next run, and `run` returns.
    ///
    /// The loop waits on the node's [`Clock`](crate::clock::Clock), so a
    /// test drives it on virtual time.
    ///
    /// # Errors
    ///
    /// None from a cycle (they are logged and retried); only when the store
    /// cannot list the connections.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use twinsync::{MemoryTracker, clock::{Clock, ManualClock}, store::MemoryStore};
    /// # use twinsync::engine::{LocalConnectionOptions, Node};
    /// # futures::executor::block_on(async {
    /// # let tracker = MemoryTracker::new("https://acme.example")?;
    /// # tracker.add_project("SUP", "Support", &["Task"], None)?;
    /// # tracker.add_project("DEV", "Development", &["Task"], None)?;
    /// # let ada = twinsync::model::UserId::new("ada")?;
    /// # tracker.set_global_admin(&ada, true);
    /// let clock = Arc::new(ManualClock::default());
    /// let node = Node::builder()
    ///     .tracker(Arc::new(tracker.clone()))
    ///     .store(Arc::new(MemoryStore::new()))
    ///     .clock(clock.clone())
    ///     .build()
    ///     .await?;
    /// # node.admin(&ada).create_local_connection("SUP", "DEV", LocalConnectionOptions::default()).await?;
    /// // Stop after ten virtual minutes (a real node waits for Ctrl-C).
    /// let start = node.clock().now();
    /// let ten_minutes = futures::future::poll_fn(|cx| {
    ///     cx.waker().wake_by_ref();
    ///     if clock.now() - start >= time::Duration::minutes(10) {
    ///         std::task::Poll::Ready(())
    ///     } else {
    ///         std::task::Poll::Pending
    ///     }
    /// });
    /// let report = node.run(ten_minutes).await?;
    /// assert!(report.cycles >= 9, "a cycle about every minute: {report:?}");
    /// # Ok::<(), twinsync::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn run<S>(&self, shutdown: S) -> Result<RunReport>
    where
        S: Future<Output = ()> + Send,
    {
        let scheduling = &self.inner.schedule;
        scheduling.set_stopping(false);
        let mut shutdown = pin!(shutdown.fuse());
        let mut slots: HashMap<ConnectionId, Slot> = HashMap::new();
        let mut report = RunReport::default();
        let mut rng = SplitMix64::new(self.inner.boot.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        tracing::info!("run loop started");
        'run: loop {
            if futures::poll!(shutdown.as_mut()).is_ready() {
                break;
            }
            let connections = self.connections()?;
            slots.retain(|id, _| connections.iter().any(|c| &c.id == id));
            let notified = scheduling.take_notified();
            let mut wake_at: Option<OffsetDateTime> = None;
            for conn in connections {
                if !matches!(
                    conn.status,
                    ConnectionStatus::Active | ConnectionStatus::Deactivated
                ) {
                    slots.remove(&conn.id);
                    continue;
                }
                let now = self.now();
                let slot = slots.entry(conn.id.clone()).or_insert_with(|| Slot {
                    next: now,
                    reconcile: self
                        .options()
                        .reconcile_interval
                        .map(|i| now + jittered(i, self.options().jitter, &mut rng)),
                    failures: 0,
                });
                if notified.contains(&conn.id) && slot.failures == 0 {
                    slot.next = slot.next.min(now);
                }
                if slot.next <= now {
                    let sweep = slot.reconcile.is_some_and(|at| at <= now);
                    let (result, stopped) = self.cycle_until(&conn, sweep, shutdown.as_mut()).await;
                    report.cycles += 1;
                    let now = self.now();
                    match result {
                        Ok(r) => {
                            report.totals.absorb(&r);
                            slot.failures = 0;
                            slot.next = now + self.interval(&conn, &mut rng);
                            if sweep {
                                report.reconciles += 1;
                                slot.reconcile = self
                                    .options()
                                    .reconcile_interval
                                    .map(|i| now + jittered(i, self.options().jitter, &mut rng));
                            }
                        }
                        Err(err) => {
                            report.failed_cycles += 1;
                            let wait = if err.is_temporary() {
                                slot.failures = slot.failures.saturating_add(1);
                                err.retry_after()
                                    .unwrap_or_else(|| self.backoff(slot.failures, &mut rng))
                            } else {
                                slot.failures = 0;
                                self.interval(&conn, &mut rng)
                            };
                            if err.kind() == crate::error::ErrorKind::RateLimited {
                                self.observe_connection_hold(wait);
                            }
                            tracing::warn!(
                                connection = %conn.name,
                                error = %err,
                                retry_in = ?wait,
                                "cycle failed"
                            );
                            slot.next = now + wait;
                        }
                    }
                    if stopped {
                        break 'run;
                    }
                }
                let mut due = slot.next;
                if let Some(at) = slot.reconcile {
                    due = due.min(at);
                }
                if let Ok(Some(at)) = self.next_pull(&conn.id) {
                    if at <= self.now() {
                        match self.pull(&conn.id).await {
                            Ok(r) => {
                                report.pulls += 1;
                                report.totals.absorb(&r);
                            }
                            Err(err) => {
                                tracing::warn!(connection = %conn.name, error = %err, "pull failed");
                            }
                        }
                    }
                    if let Ok(Some(at)) = self.next_pull(&conn.id) {
                        due = due.min(at.max(self.now() + Duration::from_secs(1)));
                    }
                }
                wake_at = Some(wake_at.map_or(due, |w| w.min(due)));
            }
            let wait = wake_at.map_or(self.options().poll_interval, |at| {
                let left = at - self.now();
                Duration::try_from(left).unwrap_or(Duration::ZERO)
            });
            let notified = futures::future::poll_fn(|cx| scheduling.poll_notified(cx));
            let sleep = self.clock().sleep(wait);
            futures::select_biased! {
                () = shutdown.as_mut() => break,
                () = notified.fuse() => {}
                () = sleep.fuse() => {}
            }
        }
        scheduling.set_stopping(false);
        tracing::info!(?report, "run loop stopped");
        Ok(report)
    }

    /// Runs one reconcile sweep of a connection: a cycle that reads every
    /// issue of both sides (not only those changed since the last cycle) and
    /// syncs each whose content differs from what was last synced, catching
    /// any change that both polling and webhooks missed.
    /// [`run`](Node::run) does this every
    /// [`reconcile_interval`](crate::engine::NodeOptions::reconcile_interval).
    ///
    /// # Errors
    ///
    /// As [`sync`](Node::sync).
    pub async fn reconcile(&self, connection: &ConnectionId) -> Result<CycleReport> {
        let scheduling = &self.inner.schedule;
        scheduling.set_full_scan(connection, true);
        let result = self.sync(connection).await;
        scheduling.set_full_scan(connection, false);
        result
    }

    /// One cycle of `conn` (a sweep when `sweep`); when `shutdown` completes
    /// meanwhile, the cycle finishes the twins in flight and leaves the rest
    /// queued. Returns the cycle's result and whether shutdown was asked for.
    async fn cycle_until<S>(
        &self,
        conn: &Connection,
        sweep: bool,
        mut shutdown: std::pin::Pin<&mut futures::future::Fuse<S>>,
    ) -> (Result<CycleReport>, bool)
    where
        S: Future<Output = ()> + Send,
    {
        let cycle = async {
            if sweep {
                self.reconcile(&conn.id).await
            } else {
                self.sync(&conn.id).await
            }
        };
        let mut cycle = pin!(cycle.fuse());
        futures::select_biased! {
            result = cycle.as_mut() => (result, false),
            () = shutdown.as_mut() => {
                tracing::info!(connection = %conn.name, "stopping: finishing the twins in flight");
                self.inner.schedule.set_stopping(true);
                (cycle.await, true)
            }
        }
    }

    fn interval(&self, conn: &Connection, rng: &mut SplitMix64) -> Duration {
        let base = self.options().poll_interval_of(&conn.name);
        jittered(base, self.options().jitter, rng)
    }

    fn backoff(&self, failures: u32, rng: &mut SplitMix64) -> Duration {
        let options = self.options();
        let doublings = failures.saturating_sub(1).min(16);
        let wait = options
            .outage_backoff
            .saturating_mul(1 << doublings)
            .min(options.outage_backoff_max);
        jittered(wait, options.jitter, rng)
    }

    /// Whether a shutdown asked the cycle in flight to stop starting twins.
    pub(in crate::engine) fn stopping(&self) -> bool {
        self.inner.schedule.stopping()
    }

    /// Whether the cycles of `connection` scan everything now.
    pub(in crate::engine) fn full_scan(&self, connection: &ConnectionId) -> bool {
        self.inner.schedule.full_scan(connection)
    }
}

/// `base` varied by up to `share` of it either way.
fn jittered(base: Duration, share: f64, rng: &mut SplitMix64) -> Duration {
    if share <= 0.0 {
        return base;
    }
    let unit = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64; // 0.0..1.0
    let factor = 1.0 + share * (2.0 * unit - 1.0);
    base.mul_f64(factor.max(0.0))
}
