//! What the status panel asks a store for, without loading every twin: counts
//! ([`StatusCounts`]) and one page of twins ([`TwinQuery`]).

use serde::{Deserialize, Serialize};

use crate::model::{IssueId, IssueKey};

/// How many records of each kind one connection has, as
/// [`StoreTxn::status_counts`](super::StoreTxn::status_counts) counts them.
///
/// A store builds it with a struct literal (it is not `#[non_exhaustive]`),
/// so that a count added later is a compile error in every store rather
/// than a silent zero.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusCounts {
    /// Twins ([`twin_count`](super::StoreTxn::twin_count)).
    pub twins: u64,
    /// Recorded errors, refused deletions included: the records
    /// [`errors`](super::StoreTxn::errors) lists.
    pub errors: u64,
    /// Twins with open conflicts: the records
    /// [`conflicts`](super::StoreTxn::conflicts) lists.
    pub conflicts: u64,
    /// Open intents ([`intents`](super::StoreTxn::intents)).
    pub intents: u64,
    /// Queued items ([`queue_len`](super::StoreTxn::queue_len)).
    pub queued: u64,
}

/// Which twins' keys a [`TwinQuery`] keeps. Keys are compared ignoring ASCII
/// case (issue keys are ASCII), against both the remote and the local key of
/// a twin: a twin matches when either key does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyMatch {
    /// The key equals this one.
    Exact(IssueKey),
    /// The key starts with this text (an empty text matches every twin).
    Prefix(String),
}

impl KeyMatch {
    /// Whether `key` matches (the rule every store follows).
    pub fn matches(&self, key: &IssueKey) -> bool {
        let key = key.as_str();
        match self {
            KeyMatch::Exact(want) => key.eq_ignore_ascii_case(want.as_str()),
            KeyMatch::Prefix(prefix) => key
                .get(..prefix.len())
                .is_some_and(|start| start.eq_ignore_ascii_case(prefix)),
        }
    }
}

/// One page of a connection's twins: up to `limit` of them, ordered by
/// remote issue id (as [`twins`](super::StoreTxn::twins) orders them),
/// starting after `after`, and only those whose keys match `key`. The next
/// page starts after the last twin of this one (keyset paging: a page costs
/// the same wherever it is, and twins added or removed meanwhile shift
/// nothing).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TwinQuery {
    /// The most twins to return.
    pub limit: usize,
    /// Only twins whose remote issue id is greater than this (`None`: from
    /// the first).
    pub after: Option<IssueId>,
    /// Only twins whose keys match this (`None`: every twin).
    pub key: Option<KeyMatch>,
}

impl TwinQuery {
    /// The first `limit` twins.
    pub fn first(limit: usize) -> Self {
        TwinQuery {
            limit,
            after: None,
            key: None,
        }
    }

    /// Starts after the twin whose remote issue id is `remote`.
    #[must_use]
    pub fn after(mut self, remote: IssueId) -> Self {
        self.after = Some(remote);
        self
    }

    /// Keeps only the twins whose keys match `key`.
    #[must_use]
    pub fn matching(mut self, key: KeyMatch) -> Self {
        self.key = Some(key);
        self
    }
}
