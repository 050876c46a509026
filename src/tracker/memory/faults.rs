//! Call counting and fault injection for the in-memory tracker.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::time::Duration;

use serde::Serialize;
use time::OffsetDateTime;

use crate::error::{Error, ErrorKind};
use crate::random::SplitMix64;

/// The kinds of tracker call, for counting and for aiming faults.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OpKind {
    /// `instance()`
    Instance,
    /// `project()`
    Project,
    /// `issue()` and `issue_by_key()`
    GetIssue,
    /// `search()` and `updated_since()`
    Search,
    /// `create_issue()`
    CreateIssue,
    /// `create_issues()`: one call per batch of up to 50
    CreateIssues,
    /// `update_issue()`
    UpdateIssue,
    /// `add_comment()`
    AddComment,
    /// `update_comment()`
    UpdateComment,
    /// `delete_comment()`
    DeleteComment,
    /// `attachments()`
    ListAttachments,
    /// `download_attachment()`
    DownloadAttachment,
    /// `upload_attachment()`
    UploadAttachment,
    /// `delete_attachment()`
    DeleteAttachment,
    /// `issue_property()` and `comment_property()`
    GetProperty,
    /// `set_issue_property()` and `set_comment_property()`
    SetProperty,
    /// `myself()` and the permission queries
    User,
    /// `put_remote_link()`
    PutRemoteLink,
    /// `remote_links()`
    GetRemoteLinks,
    /// `delete_issue()`
    DeleteIssue,
    /// `issue_link_types()`
    LinkTypes,
    /// `add_issue_link()`
    AddIssueLink,
    /// `delete_issue_link()`
    DeleteIssueLink,
    /// `workflow()`
    Workflow,
    /// `transitions()`
    Transitions,
    /// `transition_issue()`
    TransitionIssue,
}

impl OpKind {
    /// Every kind, in order.
    pub const ALL: [OpKind; 26] = [
        OpKind::Instance,
        OpKind::Project,
        OpKind::GetIssue,
        OpKind::Search,
        OpKind::CreateIssue,
        OpKind::CreateIssues,
        OpKind::UpdateIssue,
        OpKind::AddComment,
        OpKind::UpdateComment,
        OpKind::DeleteComment,
        OpKind::ListAttachments,
        OpKind::DownloadAttachment,
        OpKind::UploadAttachment,
        OpKind::DeleteAttachment,
        OpKind::GetProperty,
        OpKind::SetProperty,
        OpKind::User,
        OpKind::PutRemoteLink,
        OpKind::GetRemoteLinks,
        OpKind::DeleteIssue,
        OpKind::LinkTypes,
        OpKind::AddIssueLink,
        OpKind::DeleteIssueLink,
        OpKind::Workflow,
        OpKind::Transitions,
        OpKind::TransitionIssue,
    ];

    /// Whether the call changes the tracker.
    pub fn is_write(self) -> bool {
        matches!(
            self,
            OpKind::CreateIssue
                | OpKind::CreateIssues
                | OpKind::UpdateIssue
                | OpKind::AddComment
                | OpKind::UpdateComment
                | OpKind::DeleteComment
                | OpKind::DeleteIssue
                | OpKind::UploadAttachment
                | OpKind::DeleteAttachment
                | OpKind::SetProperty
                | OpKind::PutRemoteLink
                | OpKind::AddIssueLink
                | OpKind::DeleteIssueLink
                | OpKind::TransitionIssue
        )
    }

    /// The HTTP method a REST tracker would use, for rate-limit models.
    pub fn http_method(self) -> &'static str {
        match self {
            OpKind::CreateIssue
            | OpKind::CreateIssues
            | OpKind::AddComment
            | OpKind::UploadAttachment
            | OpKind::PutRemoteLink
            | OpKind::AddIssueLink
            | OpKind::TransitionIssue => "POST",
            OpKind::UpdateIssue | OpKind::UpdateComment | OpKind::SetProperty => "PUT",
            OpKind::DeleteComment
            | OpKind::DeleteAttachment
            | OpKind::DeleteIssue
            | OpKind::DeleteIssueLink => "DELETE",
            _ => "GET",
        }
    }
}

impl fmt::Display for OpKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        f.write_str(&name)
    }
}

/// How many calls of each kind a tracker handle received (failed ones included).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CallCounts {
    counts: BTreeMap<OpKind, u64>,
    rate_limited: u64,
}

impl CallCounts {
    pub(crate) fn record(&mut self, op: OpKind) {
        *self.counts.entry(op).or_default() += 1;
    }

    pub(crate) fn record_rate_limited(&mut self) {
        self.rate_limited += 1;
    }

    /// Calls answered 429 (beyond the [rate limits](super::RateLimits) it
    /// enforces, or by an injected [`Fault::RateLimited`]).
    pub fn rate_limited(&self) -> u64 {
        self.rate_limited
    }

    /// Calls of one kind.
    pub fn get(&self, op: OpKind) -> u64 {
        self.counts.get(&op).copied().unwrap_or(0)
    }

    /// All write calls.
    pub fn writes(&self) -> u64 {
        self.counts
            .iter()
            .filter(|(op, _)| op.is_write())
            .map(|(_, n)| n)
            .sum()
    }

    /// All read calls.
    pub fn reads(&self) -> u64 {
        self.total() - self.writes()
    }

    /// All calls.
    pub fn total(&self) -> u64 {
        self.counts.values().sum()
    }

    /// The counts since `earlier` was taken.
    pub fn since(&self, earlier: &CallCounts) -> CallCounts {
        let counts = self
            .counts
            .iter()
            .map(|(op, n)| (*op, n - earlier.get(*op)))
            .filter(|(_, n)| *n > 0)
            .collect();
        CallCounts {
            counts,
            rate_limited: self.rate_limited.saturating_sub(earlier.rate_limited),
        }
    }

    /// Non-zero counts, by kind.
    pub fn iter(&self) -> impl Iterator<Item = (OpKind, u64)> + '_ {
        self.counts.iter().map(|(op, n)| (*op, *n))
    }
}

impl fmt::Display for CallCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (op, n) in self.iter().filter(|(_, n)| *n > 0) {
            if !first {
                f.write_str(", ")?;
            }
            first = false;
            write!(f, "{op}: {n}")?;
        }
        if first {
            f.write_str("no calls")?;
        }
        if self.rate_limited > 0 {
            write!(f, " ({} answered 429)", self.rate_limited)?;
        }
        Ok(())
    }
}

/// A failure the in-memory tracker can be told to produce.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Fail before applying anything, with an error of this kind.
    Fail(ErrorKind),
    /// Apply the write, then lose the answer: the caller sees a
    /// [`Timeout`](ErrorKind::Timeout) although the write happened.
    LoseResponse,
    /// Answer 429 with this `Retry-After`, applying nothing.
    RateLimited(Duration),
    /// Answer 500, applying nothing.
    ServerError,
}

impl Fault {
    pub(crate) fn error(&self, op: OpKind) -> Error {
        let err = match self {
            Fault::Fail(kind) => Error::new(*kind, format!("injected {kind} failure")),
            Fault::LoseResponse => Error::new(ErrorKind::Timeout, "no answer in time"),
            Fault::RateLimited(wait) => Error::rate_limited("too many requests (429)", Some(*wait)),
            Fault::ServerError => Error::new(ErrorKind::Unavailable, "server error (500)"),
        };
        err.with_operation(op)
    }
}

/// Which calls a fault applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultTarget {
    /// Calls of one kind.
    Op(OpKind),
    /// Every write call.
    AnyWrite,
    /// Every call.
    Any,
}

impl FaultTarget {
    fn matches(self, op: OpKind) -> bool {
        match self {
            FaultTarget::Op(o) => o == op,
            FaultTarget::AnyWrite => op.is_write(),
            FaultTarget::Any => true,
        }
    }
}

impl From<OpKind> for FaultTarget {
    fn from(op: OpKind) -> Self {
        FaultTarget::Op(op)
    }
}

/// Random faults for simulations: each call fails with `probability`, with a
/// fault picked from `faults`; the sequence is fixed by `seed`.
#[derive(Clone, Debug, PartialEq)]
pub struct RandomFaults {
    /// The seed of the deterministic generator.
    pub seed: u64,
    /// The chance (0.0–1.0) that a call fails.
    pub probability: f64,
    /// The faults to pick from.
    pub faults: Vec<Fault>,
}

#[derive(Debug, Default)]
pub(crate) struct FaultPlan {
    queued: VecDeque<(FaultTarget, Fault)>,
    outage: Option<(OffsetDateTime, Fault)>,
    random: Option<(RandomFaults, SplitMix64)>,
}

impl FaultPlan {
    pub(crate) fn push(&mut self, target: FaultTarget, fault: Fault) {
        self.queued.push_back((target, fault));
    }

    pub(crate) fn set_outage(&mut self, until: OffsetDateTime, fault: Fault) {
        self.outage = Some((until, fault));
    }

    pub(crate) fn set_random(&mut self, random: Option<RandomFaults>) {
        self.random = random.map(|r| {
            let rng = SplitMix64::new(r.seed ^ 0x9E37_79B9_7F4A_7C15);
            (r, rng)
        });
    }

    pub(crate) fn clear(&mut self) {
        *self = FaultPlan::default();
    }

    /// The fault for this call, if any: an outage first, then the oldest queued
    /// fault aimed at it, then a random one.
    pub(crate) fn next(&mut self, op: OpKind, now: OffsetDateTime) -> Option<Fault> {
        if let Some((until, fault)) = &self.outage {
            if now < *until {
                return Some(fault.clone());
            }
            self.outage = None;
        }
        if let Some(pos) = self.queued.iter().position(|(t, _)| t.matches(op)) {
            return self.queued.remove(pos).map(|(_, f)| f);
        }
        if let Some((random, rng)) = &mut self.random
            && rng.chance(random.probability)
            && !random.faults.is_empty()
        {
            let pick = rng.below(random.faults.len());
            return Some(random.faults[pick].clone());
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queued_faults_fire_once_in_order_for_matching_ops() {
        let now = time::macros::datetime!(2026-01-01 0:00 UTC);
        let mut plan = FaultPlan::default();
        plan.push(OpKind::CreateIssue.into(), Fault::ServerError);
        plan.push(FaultTarget::AnyWrite, Fault::LoseResponse);
        assert_eq!(plan.next(OpKind::GetIssue, now), None);
        assert_eq!(
            plan.next(OpKind::AddComment, now),
            Some(Fault::LoseResponse)
        );
        assert_eq!(
            plan.next(OpKind::CreateIssue, now),
            Some(Fault::ServerError)
        );
        assert_eq!(plan.next(OpKind::CreateIssue, now), None);
    }

    #[test]
    fn random_faults_replay_from_their_seed() {
        let now = time::macros::datetime!(2026-01-01 0:00 UTC);
        let run = |seed| {
            let mut plan = FaultPlan::default();
            plan.set_random(Some(RandomFaults {
                seed,
                probability: 0.3,
                faults: vec![Fault::ServerError, Fault::LoseResponse],
            }));
            (0..200)
                .map(|_| plan.next(OpKind::UpdateIssue, now))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
        let hits = run(7).iter().filter(|f| f.is_some()).count();
        assert!(
            (30..90).contains(&hits),
            "about 30% should fail, got {hits}"
        );
    }

    #[test]
    fn counts_split_reads_and_writes() {
        let mut calls = CallCounts::default();
        calls.record(OpKind::Search);
        calls.record(OpKind::CreateIssue);
        calls.record(OpKind::AddComment);
        let before = calls.clone();
        calls.record(OpKind::AddComment);
        assert_eq!((calls.reads(), calls.writes(), calls.total()), (1, 3, 4));
        assert_eq!(calls.since(&before).get(OpKind::AddComment), 1);
        assert_eq!(calls.since(&before).total(), 1);
        assert_eq!(
            before.to_string(),
            "search: 1, create_issue: 1, add_comment: 1"
        );
    }
}
