//! [`PacedTracker`]: paces calls to a tracker's documented rate limits, so
//! that they are not refused with 429 in the first place.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::clock::Clock;
use crate::error::{ErrorKind, Result};
use crate::model::IssueId;

use super::Tracker;

/// Where the paced trackers of several processes share the holds they learn
/// from 429 answers: a worker node's are in the store its workers share
/// (see [`NodeBuilder::worker`](crate::engine::NodeBuilder::worker)).
pub trait SharedHolds: fmt::Debug + Send + Sync {
    /// Records that no call may start before `until` (keeping a later hold).
    ///
    /// # Errors
    ///
    /// When the hold cannot be recorded; the tracker then holds its own
    /// calls only, and says so in the log.
    fn publish(&self, until: OffsetDateTime) -> Result<()>;

    /// The latest hold recorded, if any (it may have passed).
    ///
    /// # Errors
    ///
    /// When the holds cannot be read; the tracker then goes by its own.
    fn current(&self) -> Result<Option<OffsetDateTime>>;
}

/// A tracker's rate limits: a burst bucket per kind of HTTP method, refilled
/// continuously, and a limit on writes to one issue within a window.
///
/// [`PacedTracker`] paces calls to them (a node does so on its own, from
/// [`Capabilities::rate_limits`](super::Capabilities::rate_limits), see
/// [`Pacing`](crate::engine::Pacing)); the in-memory tracker can enforce them
/// with 429 answers, as Jira Cloud does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimits {
    /// GET calls per second (burst bucket of the same size).
    pub get_per_sec: u32,
    /// POST calls per second.
    pub post_per_sec: u32,
    /// PUT and DELETE calls per second.
    pub put_delete_per_sec: u32,
    /// Writes to one issue allowed within `per_issue_window`.
    pub per_issue_writes: u32,
    /// The per-issue window.
    pub per_issue_window: Duration,
}

impl RateLimits {
    /// Jira Cloud's documented limits: burst 100/s for GET and POST, 50/s for
    /// PUT and DELETE; 20 writes per issue in 2 s.
    pub fn jira_cloud() -> Self {
        RateLimits {
            get_per_sec: 100,
            post_per_sec: 100,
            put_delete_per_sec: 50,
            per_issue_writes: 20,
            per_issue_window: Duration::from_secs(2),
        }
    }

    /// No limit at all: a paced tracker with these only waits for the holds
    /// of 429 answers (a worker node's, shared with the other workers, on a
    /// tracker that documents no limits).
    pub fn unlimited() -> Self {
        RateLimits {
            get_per_sec: u32::MAX,
            post_per_sec: u32::MAX,
            put_delete_per_sec: u32::MAX,
            per_issue_writes: u32::MAX,
            per_issue_window: Duration::ZERO,
        }
    }
}

/// The kind of HTTP method a call uses, whose bucket it draws from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Method {
    /// Reads.
    Get,
    /// Creates (issues, comments, attachments, links).
    Post,
    /// Updates and deletions.
    PutDelete,
}

impl Method {
    fn index(self) -> usize {
        match self {
            Method::Get => 0,
            Method::Post => 1,
            Method::PutDelete => 2,
        }
    }

    fn rate(self, limits: &RateLimits) -> u32 {
        match self {
            Method::Get => limits.get_per_sec,
            Method::Post => limits.post_per_sec,
            Method::PutDelete => limits.put_delete_per_sec,
        }
    }
}

/// A margin added to every wait, so that a call sent at the very moment the
/// tracker's bucket holds a token again is not refused for a rounding.
const MARGIN: Duration = Duration::from_millis(1);

/// A token bucket that hands out reservations: its tokens go below zero for
/// calls promised a later start, so that waiting calls start in turn.
#[derive(Debug, Default)]
struct Bucket {
    tokens: f64,
    at: Option<OffsetDateTime>,
}

impl Bucket {
    /// Reserves one call at `rate` per second (bursts of `rate`); how long
    /// after `now` it may start.
    fn reserve(&mut self, rate: u32, now: OffsetDateTime) -> Duration {
        let rate = f64::from(rate.max(1));
        self.tokens = match self.at {
            None => rate,
            Some(at) => (self.tokens + (now - at).as_seconds_f64().max(0.0) * rate).min(rate),
        };
        self.at = Some(now.max(self.at.unwrap_or(now)));
        self.tokens -= 1.0;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / rate) + MARGIN
        }
    }
}

#[derive(Debug, Default)]
struct Pace {
    buckets: [Bucket; 3],
    /// The start times of recent (and promised) writes to each issue, in order.
    writes: HashMap<IssueId, VecDeque<OffsetDateTime>>,
    /// No call starts before this (a 429's `Retry-After`).
    hold: Option<OffsetDateTime>,
}

impl Pace {
    /// The start of a write to `issue` at `earliest` or later, within the
    /// per-issue limit; recorded.
    fn issue_slot(
        &mut self,
        limits: &RateLimits,
        issue: &IssueId,
        earliest: OffsetDateTime,
    ) -> OffsetDateTime {
        let window = limits.per_issue_window;
        let recent = self.writes.entry(issue.clone()).or_default();
        // Writes to one issue start in the order they were paced.
        let mut at = recent.back().map_or(earliest, |last| earliest.max(*last));
        while recent.front().is_some_and(|t| *t + window <= at) {
            recent.pop_front();
        }
        if recent.len() >= limits.per_issue_writes.max(1) as usize
            && let Some(first) = recent.pop_front()
        {
            at = at.max(first + window + MARGIN);
        }
        recent.push_back(at);
        at
    }

    /// Forgets the issues with no write in the last window, so the map stays small.
    fn forget_quiet(&mut self, limits: &RateLimits, now: OffsetDateTime) {
        if self.writes.len() > 1024 {
            let window = limits.per_issue_window;
            self.writes
                .retain(|_, recent| recent.back().is_some_and(|t| *t + window > now));
        }
    }
}

/// A [`Tracker`] that paces its inner tracker's calls to [`RateLimits`]:
/// each call waits, on the clock, for a token of its method's bucket and,
/// for a write to an issue, for room in that issue's window. A 429 answer's
/// `Retry-After` holds back every call until it has passed.
///
/// It never repeats a call (put a [`RetryTracker`](super::RetryTracker)
/// around it for that); a node puts one between its retries and the
/// tracker, so each attempt is paced.
///
/// ```
/// use std::sync::Arc;
/// use twinsync::clock::SystemClock;
/// use twinsync::tracker::{MemoryTracker, PacedTracker, RateLimits};
///
/// let memory = MemoryTracker::new("https://jira.example").unwrap();
/// let paced = PacedTracker::new(Arc::new(memory), Arc::new(SystemClock), RateLimits::jira_cloud());
/// assert_eq!(paced.limits().post_per_sec, 100);
/// ```
pub struct PacedTracker<T: ?Sized> {
    inner: Arc<T>,
    clock: Arc<dyn Clock>,
    limits: RateLimits,
    pace: Mutex<Pace>,
    shared: Option<Arc<dyn SharedHolds>>,
}

impl<T: Tracker + ?Sized> fmt::Debug for PacedTracker<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PacedTracker")
            .field("inner", &self.inner)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl<T: Tracker + ?Sized> PacedTracker<T> {
    /// Wraps `inner`, pacing its calls to `limits`, waiting on `clock`.
    pub fn new(inner: Arc<T>, clock: Arc<dyn Clock>, limits: RateLimits) -> Self {
        PacedTracker {
            inner,
            clock,
            limits,
            pace: Mutex::new(Pace::default()),
            shared: None,
        }
    }

    /// Shares the holds of 429 answers through `holds`: a hold another
    /// process learned holds this tracker's calls too, and this tracker's
    /// holds reach the others.
    #[must_use]
    pub fn with_shared_holds(mut self, holds: Arc<dyn SharedHolds>) -> Self {
        self.shared = Some(holds);
        self
    }

    /// The hold other processes recorded, if sharing.
    fn shared_hold(&self) -> Option<OffsetDateTime> {
        let shared = self.shared.as_ref()?;
        match shared.current() {
            Ok(held) => held,
            Err(err) => {
                tracing::warn!(error = %err, "cannot read the shared rate-limit hold; going by this process's own");
                None
            }
        }
    }

    /// The limits it paces to.
    pub fn limits(&self) -> &RateLimits {
        &self.limits
    }

    /// The wrapped tracker.
    pub fn inner(&self) -> &Arc<T> {
        &self.inner
    }

    fn pace(&self) -> MutexGuard<'_, Pace> {
        self.pace.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits until `calls` calls of `method` (writes to `issue`, if given)
    /// may start.
    async fn wait_turn(&self, method: Method, issue: Option<&IssueId>, calls: usize) {
        // A hold first: what is reserved after it starts after it.
        loop {
            let now = self.clock.now();
            let own = self.pace().hold;
            let hold = own.max(self.shared_hold()).filter(|t| *t > now);
            match hold {
                Some(until) => {
                    let wait = Duration::try_from(until - now).unwrap_or_default();
                    self.clock.sleep(wait).await;
                }
                None => break,
            }
        }
        let now = self.clock.now();
        let wait = {
            let mut pace = self.pace();
            let rate = method.rate(&self.limits);
            let mut wait = Duration::ZERO;
            for _ in 0..calls {
                wait = wait.max(pace.buckets[method.index()].reserve(rate, now));
            }
            if let Some(issue) = issue {
                let at = pace.issue_slot(&self.limits, issue, now + wait);
                wait = Duration::try_from(at - now).unwrap_or(wait);
                pace.forget_quiet(&self.limits, now);
            }
            wait
        };
        if wait > Duration::ZERO {
            self.clock.sleep(wait).await;
        }
    }

    /// Holds every call back for a 429's `Retry-After`.
    fn observe<R>(&self, result: &Result<R>) {
        if let Err(err) = result
            && err.kind() == ErrorKind::RateLimited
            && let Some(after) = err.retry_after()
        {
            let until = self.clock.now() + after;
            {
                let mut pace = self.pace();
                pace.hold = Some(pace.hold.map_or(until, |t| t.max(until)));
            }
            if let Some(shared) = &self.shared
                && let Err(err) = shared.publish(until)
            {
                tracing::warn!(error = %err, "cannot share a rate-limit hold with the other workers");
            }
        }
    }

    /// How many calls a batch of `issues` creates takes.
    fn batch_calls(&self, issues: usize) -> usize {
        issues.div_ceil(self.inner.capabilities().batch_create.max(1) as usize)
    }
}

/// Each call of [`PacedTracker`]: `capabilities` as it is; every other call
/// paced by its method (and its issue, for a write to one), then observed.
macro_rules! paced {
    ($self:ident, $method:ident, local, $args:tt, $call:expr) => {
        $call
    };
    (@go $self:ident, $class:ident, $issue:expr, $calls:expr, $call:expr) => {{
        $self.wait_turn(Method::$class, $issue, $calls).await;
        let result = $call;
        $self.observe(&result);
        result
    }};
    ($self:ident, create_issue, $kind:ident, $args:tt, $call:expr) => {
        paced!(@go $self, Post, None, 1, $call)
    };
    ($self:ident, create_issues, $kind:ident, ($issues:ident), $call:expr) => {
        paced!(@go $self, Post, None, $self.batch_calls($issues.len()), $call)
    };
    ($self:ident, update_issue, $kind:ident, ($issue:ident, $($rest:ident),*), $call:expr) => {
        paced!(@go $self, PutDelete, Some($issue), 1, $call)
    };
    ($self:ident, update_comment, $kind:ident, ($issue:ident, $($rest:ident),*), $call:expr) => {
        paced!(@go $self, PutDelete, Some($issue), 1, $call)
    };
    ($self:ident, delete_comment, $kind:ident, ($issue:ident, $($rest:ident),*), $call:expr) => {
        paced!(@go $self, PutDelete, Some($issue), 1, $call)
    };
    ($self:ident, set_issue_property, $kind:ident, ($issue:ident, $($rest:ident),*), $call:expr) => {
        paced!(@go $self, PutDelete, Some($issue), 1, $call)
    };
    ($self:ident, delete_issue, $kind:ident, ($issue:ident), $call:expr) => {
        paced!(@go $self, PutDelete, Some($issue), 1, $call)
    };
    ($self:ident, add_issue_link, $kind:ident, ($link:ident), $call:expr) => {
        paced!(@go $self, Post, Some(&$link.outward), 1, $call)
    };
    ($self:ident, delete_issue_link, $kind:ident, $args:tt, $call:expr) => {
        paced!(@go $self, PutDelete, None, 1, $call)
    };
    ($self:ident, transition_issue, $kind:ident, ($issue:ident, $($rest:ident),*), $call:expr) => {
        paced!(@go $self, Post, Some($issue), 1, $call)
    };
    ($self:ident, delete_attachment, $kind:ident, $args:tt, $call:expr) => {
        paced!(@go $self, PutDelete, None, 1, $call)
    };
    ($self:ident, add_comment, $kind:ident, ($issue:ident, $($rest:ident),*), $call:expr) => {
        paced!(@go $self, Post, Some($issue), 1, $call)
    };
    ($self:ident, upload_attachment, $kind:ident, ($issue:ident, $($rest:ident),*), $call:expr) => {
        paced!(@go $self, Post, Some($issue), 1, $call)
    };
    ($self:ident, put_remote_link, $kind:ident, ($issue:ident, $($rest:ident),*), $call:expr) => {
        paced!(@go $self, Post, Some($issue), 1, $call)
    };
    ($self:ident, $method:ident, read, $args:tt, $call:expr) => {
        paced!(@go $self, Get, None, 1, $call)
    };
}

crate::forward_tracker!([T: Tracker + ?Sized] PacedTracker<T>, inner, paced);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::testkit::ids as lit;
    use crate::testkit::setup_memory_tracker;
    use crate::tracker::memory::{Fault, FaultTarget, OpKind};
    use crate::tracker::{MemoryTracker, NewComment, NewIssue};
    use futures::executor::block_on;

    fn t0() -> OffsetDateTime {
        time::macros::datetime!(2026-01-01 0:00 UTC)
    }

    #[test]
    fn a_bucket_lets_a_burst_through_then_spaces_calls_at_its_rate() {
        let mut bucket = Bucket::default();
        let waits: Vec<Duration> = (0..102).map(|_| bucket.reserve(100, t0())).collect();
        assert!(waits[..100].iter().all(|w| w.is_zero()), "a burst of 100");
        assert_eq!(waits[100], Duration::from_millis(10) + MARGIN);
        assert_eq!(waits[101], Duration::from_millis(20) + MARGIN);
        // Half a second later, 50 tokens are back, minus the two promised.
        let later = t0() + Duration::from_millis(500);
        let free = (0..60)
            .filter(|_| bucket.reserve(100, later).is_zero())
            .count();
        assert_eq!(free, 48);
    }

    #[test]
    fn writes_to_one_issue_stay_within_its_window() {
        let limits = RateLimits::jira_cloud();
        let mut pace = Pace::default();
        let issue = lit::issue_id("1");
        let slots: Vec<_> = (0..45)
            .map(|_| pace.issue_slot(&limits, &issue, t0()))
            .collect();
        for (n, at) in slots.iter().enumerate() {
            let within = slots
                .iter()
                .filter(|t| **t <= *at && **t + limits.per_issue_window > *at)
                .count();
            assert!(within <= 20, "write {n} starts with {within} in its window");
        }
        assert_eq!(slots[19], t0());
        assert_eq!(slots[20], t0() + Duration::from_secs(2) + MARGIN);
        // Another issue is not held back.
        assert_eq!(pace.issue_slot(&limits, &lit::issue_id("2"), t0()), t0());
    }

    #[test]
    fn paced_calls_are_never_refused_by_the_same_limits() {
        let clock = Arc::new(ManualClock::new(t0()));
        let memory = MemoryTracker::with_clock("https://paced.example", clock.clone()).unwrap();
        setup_memory_tracker(&memory);
        let issue =
            block_on(memory.create_issue(&NewIssue::new(lit::project("SUP"), "Bug", "busy")))
                .unwrap();
        memory.set_rate_limits(Some(RateLimits::jira_cloud()));
        let paced = PacedTracker::new(
            Arc::new(memory.clone()),
            clock.clone(),
            RateLimits::jira_cloud(),
        );
        for n in 0..300 {
            block_on(paced.add_comment(&issue.id, &NewComment::public(format!("c{n}"))))
                .unwrap_or_else(|e| panic!("comment {n} refused: {e}"));
        }
        // 300 writes to one issue at 20 per 2 s take about 30 s.
        let took = Duration::try_from(clock.now() - t0()).unwrap();
        assert!(
            took >= Duration::from_secs(28) && took <= Duration::from_secs(31),
            "{took:?}"
        );
    }

    #[test]
    fn a_retry_after_holds_every_call() {
        let clock = Arc::new(ManualClock::new(t0()));
        let memory = MemoryTracker::with_clock("https://paced.example", clock.clone()).unwrap();
        setup_memory_tracker(&memory);
        let paced = PacedTracker::new(
            Arc::new(memory.clone()),
            clock.clone(),
            RateLimits::jira_cloud(),
        );
        memory.inject(
            FaultTarget::Op(OpKind::Project),
            Fault::RateLimited(Duration::from_secs(30)),
        );
        let err = block_on(paced.project(&lit::project("SUP"))).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::RateLimited);
        // Another kind of call waits out the hold before it goes.
        block_on(paced.instance()).unwrap();
        assert_eq!(clock.now(), t0() + Duration::from_secs(30));
    }
}
