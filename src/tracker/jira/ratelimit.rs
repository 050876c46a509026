//! How the Jira adapters react to Jira's rate limits.
//!
//! The adapter never repeats a request by itself (the engine decides, using
//! markers). What it does is hold back the *next* calls that Jira has said it
//! would refuse, so the engine's retry does not hit the same wall:
//!
//! | Jira says | the adapter holds back |
//! |---|---|
//! | 429 `RateLimit-Reason: jira-per-issue-on-write` | writes to that issue only |
//! | 429 `RateLimit-Reason: jira-burst-based` | calls to that endpoint only |
//! | 429 `jira-quota-global-based` / `jira-quota-tenant-based` | every call, until the reset |
//! | 429 without a known reason, 503 with `Retry-After` | calls to that endpoint |
//! | `X-RateLimit-NearLimit: true` | runs one call at a time for a while |
//!
//! Each hold lasts `Retry-After` (or a default when Jira gave none), measured
//! and waited out on the adapter's [`Clock`], so a virtual clock makes the
//! waits instant in tests and simulations.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::clock::Clock;

/// How long to hold back when a 429 carries no `Retry-After`.
pub(crate) const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(5);
/// How long calls run one at a time after `X-RateLimit-NearLimit: true`.
pub(crate) const NEAR_LIMIT_HOLD: Duration = Duration::from_secs(10);

/// Which calls a hold applies to, for one request.
#[derive(Clone, Debug)]
pub(crate) struct Scope {
    /// The endpoint: method and path template, such as `POST issue/{}/comment`.
    pub endpoint: String,
    /// The issue a write goes to, for per-issue holds.
    pub issue: Option<String>,
    /// Whether the call changes something.
    pub write: bool,
}

/// What Jira said about its limits in one answer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Signal {
    /// The answer was a 429.
    pub rate_limited: bool,
    /// The answer was a 503.
    pub unavailable: bool,
    /// `Retry-After`, in seconds.
    pub retry_after: Option<Duration>,
    /// `RateLimit-Reason`.
    pub reason: Option<String>,
    /// `X-RateLimit-NearLimit: true`.
    pub near_limit: bool,
}

#[derive(Debug, Default)]
struct Holds {
    all_until: Option<OffsetDateTime>,
    endpoints: HashMap<String, OffsetDateTime>,
    issue_writes: HashMap<String, OffsetDateTime>,
    near_limit_until: Option<OffsetDateTime>,
}

impl Holds {
    fn until(&self, scope: &Scope, now: OffsetDateTime) -> Option<OffsetDateTime> {
        let mut until = self.all_until;
        if let Some(t) = self.endpoints.get(&scope.endpoint) {
            until = until.max(Some(*t));
        }
        if scope.write
            && let Some(issue) = &scope.issue
            && let Some(t) = self.issue_writes.get(issue)
        {
            until = until.max(Some(*t));
        }
        until.filter(|t| *t > now)
    }

    fn observe(&mut self, scope: &Scope, signal: &Signal, now: OffsetDateTime) {
        if signal.near_limit {
            self.near_limit_until = Some(now + NEAR_LIMIT_HOLD);
        }
        let holds = signal.rate_limited || (signal.unavailable && signal.retry_after.is_some());
        if !holds {
            return;
        }
        let until = now + signal.retry_after.unwrap_or(DEFAULT_RETRY_AFTER);
        let later = |slot: &mut OffsetDateTime| *slot = (*slot).max(until);
        match signal.reason.as_deref() {
            Some("jira-quota-global-based" | "jira-quota-tenant-based") => {
                self.all_until = Some(self.all_until.map_or(until, |t| t.max(until)));
            }
            Some("jira-per-issue-on-write") if scope.issue.is_some() => {
                if let Some(issue) = &scope.issue {
                    later(self.issue_writes.entry(issue.clone()).or_insert(until));
                }
            }
            _ => later(
                self.endpoints
                    .entry(scope.endpoint.clone())
                    .or_insert(until),
            ),
        }
        // Forget holds that are over, so the maps stay small.
        self.endpoints.retain(|_, t| *t > now);
        self.issue_writes.retain(|_, t| *t > now);
    }

    fn near_limit(&self, now: OffsetDateTime) -> bool {
        self.near_limit_until.is_some_and(|t| t > now)
    }
}

/// The adapter's rate-limit state, shared by all its calls.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    clock: Arc<dyn Clock>,
    holds: Mutex<Holds>,
    calls: Semaphore,
    single: Semaphore,
}

/// Permission to send one request; dropping it frees the slot.
#[derive(Debug)]
pub(crate) struct Slot<'a> {
    _single: Option<SemaphorePermit<'a>>,
    _call: Option<SemaphorePermit<'a>>,
}

impl RateLimiter {
    /// A limiter allowing `concurrency` calls at once (at least one), timing holds on `clock`.
    pub(crate) fn new(concurrency: usize, clock: Arc<dyn Clock>) -> Self {
        RateLimiter {
            clock,
            holds: Mutex::new(Holds::default()),
            calls: Semaphore::new(concurrency.max(1)),
            single: Semaphore::new(1),
        }
    }

    fn holds(&self) -> std::sync::MutexGuard<'_, Holds> {
        self.holds.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits until no hold applies to `scope`, then takes a concurrency slot
    /// (a single one while Jira says the limit is near).
    pub(crate) async fn acquire(&self, scope: &Scope) -> Slot<'_> {
        loop {
            let now = self.clock.now();
            let until = self.holds().until(scope, now);
            match until {
                Some(t) => {
                    let wait = Duration::try_from(t - now).unwrap_or_default();
                    tracing::debug!(endpoint = %scope.endpoint, wait_ms = wait.as_millis() as u64, "jira rate limit: holding the call back");
                    self.clock.sleep(wait).await;
                }
                None => break,
            }
        }
        let single = if self.holds().near_limit(self.clock.now()) {
            self.single.acquire().await.ok()
        } else {
            None
        };
        Slot {
            _single: single,
            _call: self.calls.acquire().await.ok(),
        }
    }

    /// Records what an answer said about the limits.
    pub(crate) fn observe(&self, scope: &Scope, signal: &Signal) {
        if signal.rate_limited {
            tracing::warn!(endpoint = %scope.endpoint, reason = ?signal.reason, retry_after = ?signal.retry_after, "jira rate limit reached");
        }
        let now = self.clock.now();
        self.holds().observe(scope, signal, now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn scope(endpoint: &str, issue: Option<&str>, write: bool) -> Scope {
        Scope {
            endpoint: endpoint.to_owned(),
            issue: issue.map(str::to_owned),
            write,
        }
    }

    fn limited(reason: &str, secs: u64) -> Signal {
        Signal {
            rate_limited: true,
            retry_after: Some(Duration::from_secs(secs)),
            reason: Some(reason.to_owned()),
            ..Signal::default()
        }
    }

    #[test]
    fn per_issue_limit_holds_writes_to_that_issue_only() {
        let now = time::macros::datetime!(2026-01-01 0:00 UTC);
        let mut holds = Holds::default();
        let write_a = scope("PUT issue/{}", Some("10"), true);
        holds.observe(&write_a, &limited("jira-per-issue-on-write", 3), now);
        assert_eq!(
            holds.until(&write_a, now),
            Some(now + Duration::from_secs(3))
        );
        let comment_a = scope("POST issue/{}/comment", Some("10"), true);
        assert!(
            holds.until(&comment_a, now).is_some(),
            "any write to the issue"
        );
        assert_eq!(
            holds.until(&scope("PUT issue/{}", Some("11"), true), now),
            None
        );
        assert_eq!(
            holds.until(&scope("GET issue/{}", Some("10"), false), now),
            None
        );
        assert_eq!(holds.until(&write_a, now + Duration::from_secs(3)), None);
    }

    #[test]
    fn burst_limit_holds_that_endpoint_only() {
        let now = time::macros::datetime!(2026-01-01 0:00 UTC);
        let mut holds = Holds::default();
        let search = scope("GET search/jql", None, false);
        holds.observe(&search, &limited("jira-burst-based", 2), now);
        assert!(holds.until(&search, now).is_some());
        assert_eq!(
            holds.until(&scope("GET issue/{}", Some("1"), false), now),
            None
        );
    }

    #[test]
    fn quota_limit_holds_every_call_until_the_reset() {
        let now = time::macros::datetime!(2026-01-01 0:00 UTC);
        let mut holds = Holds::default();
        holds.observe(
            &scope("GET myself", None, false),
            &limited("jira-quota-tenant-based", 60),
            now,
        );
        for s in [
            scope("GET issue/{}", Some("1"), false),
            scope("POST issue", None, true),
        ] {
            assert_eq!(holds.until(&s, now), Some(now + Duration::from_secs(60)));
        }
    }

    #[test]
    fn outage_with_retry_after_holds_the_endpoint_and_near_limit_narrows() {
        let now = time::macros::datetime!(2026-01-01 0:00 UTC);
        let mut holds = Holds::default();
        let s = scope("POST issue", None, true);
        let signal = Signal {
            unavailable: true,
            retry_after: Some(Duration::from_secs(1)),
            near_limit: true,
            ..Signal::default()
        };
        holds.observe(&s, &signal, now);
        assert!(holds.until(&s, now).is_some());
        assert!(holds.near_limit(now));
        assert!(!holds.near_limit(now + NEAR_LIMIT_HOLD));
        let mut quiet = Holds::default();
        quiet.observe(
            &s,
            &Signal {
                unavailable: true,
                ..Signal::default()
            },
            now,
        );
        assert_eq!(
            quiet.until(&s, now),
            None,
            "a 503 without retry-after holds nothing"
        );
    }

    #[test]
    fn holds_are_waited_out_on_the_adapters_clock() {
        let clock = Arc::new(ManualClock::default());
        let start = clock.now();
        let limiter = RateLimiter::new(2, clock.clone());
        let s = scope("POST issue", None, true);
        limiter.observe(&s, &limited("jira-burst-based", 30));
        futures::executor::block_on(limiter.acquire(&scope("GET myself", None, false)));
        assert_eq!(clock.now(), start, "another endpoint is not held");
        futures::executor::block_on(limiter.acquire(&s));
        assert_eq!(
            clock.now(),
            start + Duration::from_secs(30),
            "the held endpoint waited its Retry-After on the virtual clock"
        );
    }
}
