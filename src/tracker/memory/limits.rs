//! A model of a tracker's rate limits, for benchmarks and simulations.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use time::OffsetDateTime;

use super::faults::OpKind;
use crate::error::Error;
use crate::model::IssueId;

pub use crate::tracker::paced::RateLimits;

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Option<OffsetDateTime>,
}

impl Bucket {
    /// Takes a token, or says how long until one is there.
    fn take(&mut self, rate: u32, now: OffsetDateTime) -> Result<(), Duration> {
        let rate = f64::from(rate.max(1));
        let elapsed = self
            .at
            .map_or(rate, |at| (now - at).as_seconds_f64().max(0.0));
        self.tokens = (self.tokens + elapsed * rate).min(rate);
        self.at = Some(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - self.tokens) / rate))
        }
    }
}

#[derive(Debug)]
pub(super) struct Limiter {
    limits: RateLimits,
    buckets: [Bucket; 3],
    writes: HashMap<IssueId, VecDeque<OffsetDateTime>>,
}

impl Limiter {
    /// The limits it enforces.
    pub(super) fn limits(&self) -> RateLimits {
        self.limits
    }

    pub(super) fn new(limits: RateLimits) -> Self {
        let bucket = || Bucket {
            tokens: 0.0,
            at: None,
        };
        Limiter {
            limits,
            buckets: [bucket(), bucket(), bucket()],
            writes: HashMap::new(),
        }
    }

    /// Admits a call or answers with a 429 error.
    pub(super) fn admit(
        &mut self,
        op: OpKind,
        issue: Option<&IssueId>,
        now: OffsetDateTime,
    ) -> Result<(), Error> {
        if let (Some(issue), true) = (issue, op.is_write()) {
            let window = self.limits.per_issue_window;
            let recent = self.writes.entry(issue.clone()).or_default();
            while recent.front().is_some_and(|t| *t + window <= now) {
                recent.pop_front();
            }
            if recent.len() >= self.limits.per_issue_writes as usize {
                let wait = recent
                    .front()
                    .and_then(|t| Duration::try_from(*t + window - now).ok())
                    .unwrap_or(window);
                return Err(
                    Error::rate_limited("too many writes to this issue (429)", Some(wait))
                        .with_context("reason", "jira-per-issue-on-write")
                        .with_issue(issue),
                );
            }
            recent.push_back(now);
        }
        let (i, rate) = match op.http_method() {
            "GET" => (0, self.limits.get_per_sec),
            "POST" => (1, self.limits.post_per_sec),
            _ => (2, self.limits.put_delete_per_sec),
        };
        self.buckets[i].take(rate, now).map_err(|wait| {
            Error::rate_limited(
                "too many requests (429)",
                Some(wait.max(Duration::from_millis(1))),
            )
            .with_context("reason", "jira-burst-based")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::ids as lit;

    #[test]
    fn a_burst_bucket_admits_its_rate_per_second_then_asks_to_wait() {
        let mut limiter = Limiter::new(RateLimits::jira_cloud());
        let t0 = time::macros::datetime!(2026-01-01 0:00 UTC);
        let admitted = (0..150)
            .filter(|_| limiter.admit(OpKind::GetIssue, None, t0).is_ok())
            .count();
        assert_eq!(admitted, 100);
        let err = limiter.admit(OpKind::GetIssue, None, t0).unwrap_err();
        assert_eq!(err.retry_after(), Some(Duration::from_millis(10)));
        // PUTs have their own, smaller bucket.
        let puts = (0..80)
            .filter(|_| limiter.admit(OpKind::UpdateComment, None, t0).is_ok())
            .count();
        assert_eq!(puts, 50);
        // A second later the bucket is full again.
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(
            (0..150)
                .filter(|_| limiter.admit(OpKind::GetIssue, None, t1).is_ok())
                .count(),
            100
        );
    }

    #[test]
    fn writes_to_one_issue_are_limited_per_window() {
        let mut limiter = Limiter::new(RateLimits {
            post_per_sec: 1000,
            ..RateLimits::jira_cloud()
        });
        let t0 = time::macros::datetime!(2026-01-01 0:00 UTC);
        let issue = lit::issue_id("1");
        let ok = (0..25)
            .filter(|_| limiter.admit(OpKind::AddComment, Some(&issue), t0).is_ok())
            .count();
        assert_eq!(ok, 20);
        let err = limiter
            .admit(OpKind::AddComment, Some(&issue), t0)
            .unwrap_err();
        assert_eq!(err.retry_after(), Some(Duration::from_secs(2)));
        assert_eq!(err.context_value("reason"), Some("jira-per-issue-on-write"));
        assert!(
            limiter
                .admit(OpKind::AddComment, Some(&lit::issue_id("2")), t0)
                .is_ok(),
            "other issues go on"
        );
        assert!(
            limiter
                .admit(
                    OpKind::AddComment,
                    Some(&issue),
                    t0 + Duration::from_secs(2)
                )
                .is_ok()
        );
    }
}
