//! Options: [`NodeOptions`], the tunables of a node, and
//! [`LocalConnectionOptions`], those of a new local connection.

use std::time::Duration;

use crate::plan::{ConflictPolicy, DeletionGuard};
use crate::tracker::RetryPolicy;

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
}

impl Default for NodeOptions {
    /// 8 twins at once, 2 minutes overlap, 5 minutes settle window, pages of
    /// 100; a private node pulls every 20 seconds; an unreachable node is
    /// tried again after 5 seconds, then 10, 20, … up to 5 minutes.
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
