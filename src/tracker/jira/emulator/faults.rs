//! What the emulator can do wrong on purpose: rate limits, outages, latency
//! and lost answers, aimed at matching requests or rolled at random.

use std::time::Duration;

use crate::random::SplitMix64;

/// Why a 429 is answered: the values of Jira's `RateLimit-Reason` header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RateLimitReason {
    /// `jira-per-issue-on-write`: too many writes to one issue.
    PerIssueOnWrite,
    /// `jira-burst-based`: too many calls to one endpoint per second.
    Burst,
    /// `jira-quota-global-based`: the app's hourly quota is used up.
    QuotaGlobal,
    /// `jira-quota-tenant-based`: the app's hourly quota on this site is used up.
    QuotaTenant,
}

impl RateLimitReason {
    /// The header value.
    pub fn as_str(self) -> &'static str {
        match self {
            RateLimitReason::PerIssueOnWrite => "jira-per-issue-on-write",
            RateLimitReason::Burst => "jira-burst-based",
            RateLimitReason::QuotaGlobal => "jira-quota-global-based",
            RateLimitReason::QuotaTenant => "jira-quota-tenant-based",
        }
    }
}

/// A fault the emulator injects into matching requests.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Answer 429 with `RateLimit-Reason` and `Retry-After` (whole seconds), applying nothing.
    RateLimited {
        /// The reason header.
        reason: RateLimitReason,
        /// The `Retry-After` header.
        retry_after: Duration,
    },
    /// Answer with this 5xx status (and `Retry-After` when given), applying nothing.
    ServerError {
        /// The status, such as 500 or 503.
        status: u16,
        /// The `Retry-After` header, if any.
        retry_after: Option<Duration>,
    },
    /// Apply the request, then answer after this delay.
    Latency(Duration),
    /// Apply the request, then drop the connection without answering.
    LoseResponse,
    /// Answer normally, with `X-RateLimit-NearLimit: true`.
    NearLimit,
}

/// Which requests a [`Fault`] applies to, and how often.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultRule {
    fault: Fault,
    method: Option<String>,
    path_contains: Option<String>,
    times: usize,
}

impl FaultRule {
    /// `fault` for the next request of any kind, once.
    pub fn new(fault: Fault) -> Self {
        FaultRule {
            fault,
            method: None,
            path_contains: None,
            times: 1,
        }
    }

    /// Only requests with this method (`GET`, `POST`, …).
    pub fn method(mut self, method: &str) -> Self {
        self.method = Some(method.to_ascii_uppercase());
        self
    }

    /// Only requests whose path contains `text`, such as `/comment`.
    pub fn path_contains(mut self, text: &str) -> Self {
        self.path_contains = Some(text.to_owned());
        self
    }

    /// Applies to the next `times` matching requests.
    pub fn times(mut self, times: usize) -> Self {
        self.times = times;
        self
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        self.method.as_deref().is_none_or(|m| m == method)
            && self
                .path_contains
                .as_deref()
                .is_none_or(|p| path.contains(p))
    }
}

/// Faults rolled for every request, for simulations: with `probability`, a
/// request gets one of `faults`, picked by a generator seeded with `seed`.
///
/// The same seed and the same sequence of requests give the same faults, so
/// a client that sends one request at a time replays exactly.
#[derive(Clone, Debug, PartialEq)]
pub struct RandomFaults {
    /// The seed of the deterministic generator.
    pub seed: u64,
    /// The chance (0.0–1.0) that a request gets a fault.
    pub probability: f64,
    /// The faults to pick from.
    pub faults: Vec<Fault>,
}

/// The emulator's fault plan: rules first, then random faults.
#[derive(Debug, Default)]
pub(crate) struct FaultPlan {
    rules: Vec<FaultRule>,
    random: Option<(RandomFaults, SplitMix64)>,
}

impl FaultPlan {
    pub(crate) fn push(&mut self, rule: FaultRule) {
        self.rules.push(rule);
    }

    pub(crate) fn set_random(&mut self, random: Option<RandomFaults>) {
        self.random = random.map(|r| {
            let rng = SplitMix64::new(r.seed ^ 0x9E37_79B9_7F4A_7C15);
            (r, rng)
        });
    }

    /// Removes the rules that have not fired yet (random faults stay).
    pub(crate) fn clear_rules(&mut self) {
        self.rules.clear();
    }

    /// The fault for this request, if any: the first matching rule, else a random one.
    pub(crate) fn next(&mut self, method: &str, path: &str) -> Option<Fault> {
        if let Some(at) = self.rules.iter().position(|r| r.matches(method, path)) {
            let fault = self.rules[at].fault.clone();
            self.rules[at].times = self.rules[at].times.saturating_sub(1);
            if self.rules[at].times == 0 {
                self.rules.remove(at);
            }
            return Some(fault);
        }
        let (random, rng) = self.random.as_mut()?;
        if !rng.chance(random.probability) || random.faults.is_empty() {
            return None;
        }
        let pick = rng.below(random.faults.len());
        Some(random.faults[pick].clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn five_hundred() -> Fault {
        Fault::ServerError {
            status: 500,
            retry_after: None,
        }
    }

    #[test]
    fn rules_fire_as_often_as_asked_on_matching_requests_only() {
        let mut plan = FaultPlan::default();
        plan.push(
            FaultRule::new(Fault::LoseResponse)
                .method("post")
                .path_contains("/comment")
                .times(2),
        );
        assert_eq!(plan.next("GET", "/rest/api/3/issue/1/comment"), None);
        assert_eq!(plan.next("POST", "/rest/api/3/issue/1"), None);
        for _ in 0..2 {
            assert_eq!(
                plan.next("POST", "/rest/api/3/issue/1/comment"),
                Some(Fault::LoseResponse)
            );
        }
        assert_eq!(plan.next("POST", "/rest/api/3/issue/1/comment"), None);
    }

    #[test]
    fn random_faults_replay_from_their_seed_and_rules_come_first() {
        let run = |seed| {
            let mut plan = FaultPlan::default();
            plan.set_random(Some(RandomFaults {
                seed,
                probability: 0.3,
                faults: vec![five_hundred(), Fault::LoseResponse],
            }));
            (0..200)
                .map(|_| plan.next("GET", "/rest/api/3/myself"))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
        let hits = run(7).iter().filter(|f| f.is_some()).count();
        assert!(
            (30..90).contains(&hits),
            "about 30% should fail, got {hits}"
        );

        let mut plan = FaultPlan::default();
        plan.set_random(Some(RandomFaults {
            seed: 1,
            probability: 1.0,
            faults: vec![five_hundred()],
        }));
        plan.push(FaultRule::new(Fault::NearLimit));
        assert_eq!(plan.next("GET", "/x"), Some(Fault::NearLimit));
        assert_eq!(plan.next("GET", "/x"), Some(five_hundred()));
        plan.set_random(None);
        assert_eq!(plan.next("GET", "/x"), None);
    }
}
