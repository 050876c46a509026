//! [`RetryTracker`]: retries temporary failures with backoff, honouring
//! `Retry-After`, and never repeats a write that may already have happened.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::random::SplitMix64;

use super::Tracker;

/// When and how long to retry.
///
/// Deciding *whether* to retry is separate from *how long* to wait: only
/// temporary errors are retried; creates are retried only when the error says
/// nothing was applied (a 429), because repeating a create whose answer was
/// lost would make a duplicate (the engine resolves those with markers). The
/// wait is decorrelated jitter — `min(cap, random(base, 3 × previous))` — or
/// the tracker's `Retry-After` when that is longer.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// The shortest wait.
    pub base: Duration,
    /// The longest wait between two attempts (a longer `Retry-After` is still honoured).
    pub cap: Duration,
    /// Give up once this much time has passed since the first attempt.
    pub max_elapsed: Duration,
    /// Seed of the jitter (fix it in tests and simulations).
    pub seed: u64,
}

impl Default for RetryPolicy {
    /// Up to 10 attempts within 2 hours, waits from 250 ms to 60 s.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 10,
            base: Duration::from_millis(250),
            cap: Duration::from_secs(60),
            max_elapsed: Duration::from_secs(2 * 3600),
            seed: 0x0077_696e_7379_6e63,
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// Sets the attempts in all.
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// Sets the time after which to give up.
    pub fn with_max_elapsed(mut self, elapsed: Duration) -> Self {
        self.max_elapsed = elapsed;
        self
    }

    /// Sets the jitter's seed.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
}

/// Whether an operation may be repeated after `err`.
fn retryable(err: &Error, creates: bool) -> bool {
    err.is_temporary() && !(creates && err.may_have_applied())
}

/// A [`Tracker`] that retries its inner tracker's temporary failures.
///
/// Reads and idempotent writes (updates, deletions, properties) are retried on
/// every temporary error; creates (issues, comments, attachments, batches of
/// issues) only on errors that guarantee nothing was applied. An element of a
/// batch that failed on its own is never retried here. When it gives up, the error is
/// returned marked permanent, with the attempts in its context.
pub struct RetryTracker<T: ?Sized> {
    inner: Arc<T>,
    clock: Arc<dyn Clock>,
    policy: RetryPolicy,
    rng: Mutex<SplitMix64>,
}

impl<T: Tracker + ?Sized> fmt::Debug for RetryTracker<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryTracker")
            .field("inner", &self.inner)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl<T: Tracker + ?Sized> RetryTracker<T> {
    /// Wraps `inner`, waiting on `clock`.
    pub fn new(inner: Arc<T>, clock: Arc<dyn Clock>, policy: RetryPolicy) -> Self {
        RetryTracker {
            inner,
            clock,
            rng: Mutex::new(SplitMix64::new(policy.seed)),
            policy,
        }
    }

    /// The wrapped tracker.
    pub fn inner(&self) -> &Arc<T> {
        &self.inner
    }

    fn jitter(&self, previous: Duration) -> Duration {
        let z = self
            .rng
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .next_u64();
        let low = self.policy.base.as_millis() as u64;
        let high = (previous.as_millis() as u64 * 3).max(low + 1);
        let wait = Duration::from_millis(low + z % (high - low));
        wait.min(self.policy.cap)
    }

    async fn run<'a, R>(
        &'a self,
        operation: &'static str,
        creates: bool,
        mut call: impl FnMut() -> BoxFuture<'a, Result<R>>,
    ) -> Result<R> {
        let start = self.clock.now();
        let mut wait = self.policy.base;
        let mut attempt = 1;
        loop {
            let err = match call().await {
                Ok(value) => return Ok(value),
                Err(err) => err,
            };
            let elapsed = self.clock.now() - start;
            if !retryable(&err, creates)
                || attempt >= self.policy.max_attempts
                || elapsed >= self.policy.max_elapsed
            {
                if attempt > 1 {
                    tracing::warn!(operation, attempt, error = %err, "giving up");
                    let temporary = err.is_temporary() && !retryable(&err, creates);
                    return Err(err
                        .set_temporary(temporary)
                        .with_context("attempts", attempt));
                }
                return Err(err);
            }
            wait = self.jitter(wait);
            let delay = err.retry_after().map_or(wait, |after| after.max(wait));
            tracing::debug!(operation, attempt, delay_ms = delay.as_millis() as u64, error = %err, "retrying");
            self.clock.sleep(delay).await;
            attempt += 1;
        }
    }
}

/// Each call of [`RetryTracker`]: `capabilities` as it is, creates retried
/// only when nothing was applied, everything else on every temporary error.
/// A batch of creates is one create when the tracker has a batch call, and
/// each of its issues its own create when it has not.
macro_rules! retry {
    ($self:ident, $method:ident, local, $args:tt, $call:expr) => {
        $call
    };
    ($self:ident, create_issues, create, ($issues:ident), $call:expr) => {
        if $self.inner.capabilities().batch_create <= 1 {
            // No batch call: one create at a time, each retried as
            // `create_issue` is, rather than the whole slice.
            let mut results = Vec::with_capacity($issues.len());
            for issue in $issues {
                results.push($self.create_issue(issue).await);
            }
            Ok(results)
        } else {
            // A batch is a create: repeated only when nothing was applied.
            $self
                .run("create_issues", true, || Box::pin(async move { $call }))
                .await
        }
    };
    ($self:ident, $method:ident, create, $args:tt, $call:expr) => {
        $self
            .run(stringify!($method), true, || Box::pin(async move { $call }))
            .await
    };
    ($self:ident, $method:ident, $kind:ident, $args:tt, $call:expr) => {
        $self
            .run(stringify!($method), false, || {
                Box::pin(async move { $call })
            })
            .await
    };
}

crate::forward_tracker!([T: Tracker + ?Sized] RetryTracker<T>, inner, retry);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use crate::clock::ManualClock;
    use crate::testkit::ids as lit;
    use crate::testkit::setup_memory_tracker;
    use crate::tracker::MemoryTracker;
    use crate::tracker::NewIssue;
    use crate::tracker::memory::{Fault, FaultTarget, OpKind};
    use futures::executor::block_on;

    fn setup(
        policy: RetryPolicy,
    ) -> (MemoryTracker, RetryTracker<MemoryTracker>, Arc<ManualClock>) {
        let clock = Arc::new(ManualClock::default());
        let memory = MemoryTracker::with_clock("https://retry.example", clock.clone()).unwrap();
        setup_memory_tracker(&memory);
        let retry = RetryTracker::new(Arc::new(memory.clone()), clock.clone(), policy);
        (memory, retry, clock)
    }

    #[test]
    fn temporary_read_failures_are_retried_until_they_pass() {
        let (memory, retry, _) = setup(RetryPolicy::default());
        memory.inject(OpKind::Project, Fault::ServerError);
        memory.inject(OpKind::Project, Fault::LoseResponse);
        block_on(retry.project(&lit::project("SUP"))).unwrap();
        assert_eq!(memory.calls().get(OpKind::Project), 3);
    }

    #[test]
    fn retry_after_is_honoured_on_the_clock() {
        let (memory, retry, clock) = setup(RetryPolicy::default());
        memory.inject(
            FaultTarget::Any,
            Fault::RateLimited(Duration::from_secs(30)),
        );
        let start = clock.now();
        block_on(retry.create_issue(&NewIssue::new(lit::project("SUP"), "Bug", "x"))).unwrap();
        assert!(clock.now() - start >= Duration::from_secs(30));
        assert_eq!(
            memory.inspect_issues(&lit::project("SUP")).len(),
            1,
            "a 429 create is safe to repeat"
        );
    }

    #[test]
    fn a_create_whose_answer_was_lost_is_not_repeated() {
        let (memory, retry, _) = setup(RetryPolicy::default());
        memory.inject(OpKind::CreateIssue, Fault::LoseResponse);
        let err = block_on(retry.create_issue(&NewIssue::new(lit::project("SUP"), "Bug", "x")))
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Timeout);
        assert!(err.may_have_applied());
        assert_eq!(memory.calls().get(OpKind::CreateIssue), 1);
        assert_eq!(
            memory.inspect_issues(&lit::project("SUP")).len(),
            1,
            "exactly one issue"
        );
    }

    #[test]
    fn a_batch_whose_answer_was_lost_is_not_repeated_but_a_refused_one_is() {
        let (memory, retry, _) = setup(RetryPolicy::default());
        let batch = [
            NewIssue::new(lit::project("SUP"), "Bug", "a"),
            NewIssue::new(lit::project("SUP"), "Bug", "b"),
        ];
        memory.inject(OpKind::CreateIssues, Fault::LoseResponse);
        let err = block_on(retry.create_issues(&batch)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Timeout);
        assert_eq!(memory.calls().get(OpKind::CreateIssues), 1);
        assert_eq!(memory.inspect_issues(&lit::project("SUP")).len(), 2);

        memory.inject(
            OpKind::CreateIssues,
            Fault::RateLimited(Duration::from_secs(5)),
        );
        let results = block_on(retry.create_issues(&batch)).unwrap();
        assert!(results.iter().all(Result::is_ok), "{results:?}");
        assert_eq!(
            memory.calls().get(OpKind::CreateIssues),
            3,
            "a 429 is repeated"
        );
        assert_eq!(memory.inspect_issues(&lit::project("SUP")).len(), 4);
    }

    /// A tracker without a batch call: `create_issues` one by one, as the default.
    #[derive(Debug)]
    struct OneByOne(MemoryTracker);

    macro_rules! one_by_one {
        ($self:ident, capabilities, $kind:ident, $args:tt, $call:expr) => {{
            let mut capabilities = $call;
            capabilities.batch_create = 1;
            capabilities
        }};
        ($self:ident, create_issues, $kind:ident, ($issues:ident), $call:expr) => {{
            let mut results = Vec::new();
            for issue in $issues {
                results.push($self.0.create_issue(issue).await);
            }
            Ok(results)
        }};
        ($self:ident, $method:ident, $kind:ident, $args:tt, $call:expr) => {
            $call
        };
    }

    crate::forward_tracker!([] OneByOne, 0, one_by_one);

    #[test]
    fn without_a_batch_call_each_create_of_a_batch_is_retried_on_its_own() {
        let (memory, _, clock) = setup(RetryPolicy::default());
        let retry = RetryTracker::new(
            Arc::new(OneByOne(memory.clone())),
            clock,
            RetryPolicy::default(),
        );
        memory.inject(
            OpKind::CreateIssue,
            Fault::RateLimited(Duration::from_secs(1)),
        );
        let batch = [
            NewIssue::new(lit::project("SUP"), "Bug", "a"),
            NewIssue::new(lit::project("SUP"), "Bug", "b"),
        ];
        let results = block_on(retry.create_issues(&batch)).unwrap();
        assert!(results.iter().all(Result::is_ok), "{results:?}");
        assert_eq!(memory.calls().get(OpKind::CreateIssue), 3);
        assert_eq!(memory.calls().get(OpKind::CreateIssues), 0);
        assert_eq!(memory.inspect_issues(&lit::project("SUP")).len(), 2);
    }

    #[test]
    fn permanent_errors_are_not_retried_and_giving_up_marks_permanent() {
        let (memory, retry, _) = setup(RetryPolicy::default().with_max_attempts(3));
        let err = block_on(retry.issue(&lit::issue_id("424242"))).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        assert_eq!(memory.calls().get(OpKind::GetIssue), 1);
        for _ in 0..3 {
            memory.inject(OpKind::Project, Fault::ServerError);
        }
        let err = block_on(retry.project(&lit::project("SUP"))).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unavailable);
        assert!(!err.is_temporary(), "gave up: permanent now");
        assert_eq!(err.context_value("attempts"), Some("3"));
    }

    #[test]
    fn waits_grow_with_decorrelated_jitter_within_the_cap() {
        let (_, retry, _) = setup(RetryPolicy::default());
        let mut wait = Duration::from_millis(250);
        let mut seen = Vec::new();
        for _ in 0..20 {
            wait = retry.jitter(wait);
            assert!(wait >= Duration::from_millis(250) && wait <= Duration::from_secs(60));
            seen.push(wait);
        }
        assert!(
            seen.iter().any(|w| *w > Duration::from_secs(5)),
            "grows: {seen:?}"
        );
    }
}
