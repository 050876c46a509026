//! Options: [`NodeOptions`], the tunables of a node, and
//! [`LocalConnectionOptions`], those of a new local connection.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::plan::{ConflictPolicy, DeletionGuard};
use crate::tracker::{RateLimits, RetryPolicy};

/// Tunables of a [`Node`](crate::engine::Node).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct NodeOptions {
    /// How many twins sync at once (order within one twin is always kept).
    pub concurrency: usize,
    /// How far back each poll looks before the watermark, because searches
    /// lag behind writes.
    pub overlap: Duration,
    /// How long to wait after a create's answer was lost before looking for
    /// its marker (longer than the tracker's search lag).
    pub settle: Duration,
    /// Issues per search page.
    pub page_size: u32,
    /// Retries of temporary tracker failures.
    pub retry: RetryPolicy,
    /// How often a node in a private network pulls what waits for it from
    /// the other node of a remote connection, between its cycles (each
    /// cycle pulls too); see [`Node::next_pull`](crate::engine::Node::next_pull).
    pub pull_interval: Duration,
    /// How long a node leaves the other node of a remote connection alone
    /// after it could not reach it; doubled after each failed attempt in a
    /// row, up to [`peer_backoff_max`](Self::peer_backoff_max).
    pub peer_backoff: Duration,
    /// The longest wait between attempts to reach an unreachable node.
    pub peer_backoff_max: Duration,
    /// How often [`Node::run`](crate::engine::Node::run) runs a cycle of a
    /// connection when nothing tells it of a change.
    pub poll_interval: Duration,
    /// Poll intervals of particular connections, by connection name.
    pub poll_intervals: BTreeMap<String, Duration>,
    /// How much each wait of [`Node::run`](crate::engine::Node::run) varies
    /// at random, as a share of it (0.0–0.5), so that nodes started together
    /// do not call their trackers in step.
    pub jitter: f64,
    /// How often [`Node::run`](crate::engine::Node::run) runs a reconcile
    /// sweep of each connection ([`Node::reconcile`](crate::engine::Node::reconcile)),
    /// or `None` for never.
    pub reconcile_interval: Option<Duration>,
    /// How long [`Node::run`](crate::engine::Node::run) leaves a connection
    /// alone after a cycle failed for a reason that passes (a tracker down or
    /// rate-limited) when the tracker said no time; doubled after each
    /// failure in a row, up to [`outage_backoff_max`](Self::outage_backoff_max).
    pub outage_backoff: Duration,
    /// The longest such wait.
    pub outage_backoff_max: Duration,
    /// How many hinted issues ([`Node::hint_changed`](crate::engine::Node::hint_changed),
    /// a webhook's hints) may wait for their cycles at once; more are
    /// dropped and polling covers them.
    pub hint_capacity: usize,
    /// Which rate limits the node paces its tracker calls to.
    pub pacing: Pacing,
}

/// Which rate limits a node paces its tracker calls to (each attempt of a
/// call waits its turn on the node's clock; see
/// [`PacedTracker`](crate::tracker::PacedTracker)). A 429's `Retry-After`
/// holds every call back whichever is chosen, except with `Off`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Pacing {
    /// The limits the tracker documents
    /// ([`Capabilities::rate_limits`](crate::tracker::Capabilities::rate_limits):
    /// Jira Cloud's for Jira Cloud); no pacing when it documents none.
    #[default]
    Documented,
    /// These limits (a Jira Data Center site's own settings, say).
    Limits(RateLimits),
    /// No pacing: calls go as fast as the concurrency allows, and 429s are
    /// retried.
    Off,
}

impl Default for NodeOptions {
    /// 8 twins at once, 2 minutes overlap, 5 minutes settle window, pages of
    /// 100; a private node pulls every 20 seconds; an unreachable node is
    /// tried again after 5 seconds, then 10, 20, … up to 5 minutes. The run
    /// loop polls every connection every 60 seconds (±10 %), sweeps it once a
    /// day, and backs off from a failing tracker 10 seconds, then 20, 40, …
    /// up to 10 minutes. Up to 10 000 hinted issues wait at once. Calls are
    /// paced to the tracker's documented rate limits.
    fn default() -> Self {
        NodeOptions {
            concurrency: 8,
            overlap: Duration::from_secs(120),
            settle: Duration::from_secs(300),
            page_size: 100,
            retry: RetryPolicy::default(),
            pull_interval: Duration::from_secs(20),
            peer_backoff: Duration::from_secs(5),
            peer_backoff_max: Duration::from_secs(300),
            poll_interval: Duration::from_secs(60),
            poll_intervals: BTreeMap::new(),
            jitter: 0.1,
            reconcile_interval: Some(Duration::from_secs(24 * 60 * 60)),
            outage_backoff: Duration::from_secs(10),
            outage_backoff_max: Duration::from_secs(600),
            hint_capacity: 10_000,
            pacing: Pacing::Documented,
        }
    }
}

impl NodeOptions {
    /// Sets how many twins sync at once.
    pub fn with_concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency.max(1);
        self
    }

    /// Sets the polling overlap.
    pub fn with_overlap(mut self, overlap: Duration) -> Self {
        self.overlap = overlap;
        self
    }

    /// Sets the settle window for lost creates.
    pub fn with_settle(mut self, settle: Duration) -> Self {
        self.settle = settle;
        self
    }

    /// Sets the retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Sets the search page size.
    pub fn with_page_size(mut self, page_size: u32) -> Self {
        self.page_size = page_size.max(1);
        self
    }

    /// Sets how often a node in a private network pulls.
    pub fn with_pull_interval(mut self, interval: Duration) -> Self {
        self.pull_interval = interval;
        self
    }

    /// Sets the backoff from an unreachable node: the first wait and the
    /// longest (at least the first).
    pub fn with_peer_backoff(mut self, first: Duration, max: Duration) -> Self {
        self.peer_backoff = first;
        self.peer_backoff_max = max.max(first);
        self
    }

    /// Sets how often the run loop polls every connection (at least a second).
    pub fn with_poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval.max(Duration::from_secs(1));
        self
    }

    /// Sets how often the run loop polls the connection named `connection`
    /// (at least a second), overriding [`poll_interval`](Self::poll_interval).
    pub fn with_connection_poll_interval(
        mut self,
        connection: impl Into<String>,
        interval: Duration,
    ) -> Self {
        self.poll_intervals
            .insert(connection.into(), interval.max(Duration::from_secs(1)));
        self
    }

    /// Sets the share by which the run loop's waits vary (clamped to 0.0–0.5).
    pub fn with_jitter(mut self, jitter: f64) -> Self {
        self.jitter = if jitter.is_finite() {
            jitter.clamp(0.0, 0.5)
        } else {
            0.0
        };
        self
    }

    /// Sets how often the run loop sweeps each connection; `None`: never.
    pub fn with_reconcile_interval(mut self, interval: Option<Duration>) -> Self {
        self.reconcile_interval = interval.map(|i| i.max(Duration::from_secs(1)));
        self
    }

    /// Sets the backoff from a failing tracker: the first wait and the longest
    /// (at least the first).
    pub fn with_outage_backoff(mut self, first: Duration, max: Duration) -> Self {
        self.outage_backoff = first;
        self.outage_backoff_max = max.max(first);
        self
    }

    /// Sets how many hinted issues may wait at once (see
    /// [`hint_capacity`](Self::hint_capacity)).
    pub fn with_hint_capacity(mut self, capacity: usize) -> Self {
        self.hint_capacity = capacity;
        self
    }

    /// Sets which rate limits the node paces its tracker calls to.
    pub fn with_pacing(mut self, pacing: Pacing) -> Self {
        self.pacing = pacing;
        self
    }

    /// The poll interval of the connection named `connection`.
    pub fn poll_interval_of(&self, connection: &str) -> Duration {
        self.poll_intervals
            .get(connection)
            .copied()
            .unwrap_or(self.poll_interval)
    }
}

/// Options of [`Admin::create_local_connection`](crate::engine::Admin::create_local_connection).
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct LocalConnectionOptions {
    /// The name; by default `<A>_to_<B>`. It must be unique on the node.
    pub name: Option<String>,
    /// How conflicts are decided.
    pub policy: ConflictPolicy,
    /// The mass-deletion guard.
    pub guard: DeletionGuard,
}

impl LocalConnectionOptions {
    /// Sets the name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets the mass-deletion guard.
    pub fn guard(mut self, guard: DeletionGuard) -> Self {
        self.guard = guard;
        self
    }

    /// Sets the conflict policy.
    pub fn policy(mut self, policy: ConflictPolicy) -> Self {
        self.policy = policy;
        self
    }
}
