//! The planner's options: how a conflict is decided, the mass-deletion
//! guard, and what a user decided about deletions it refused.

use serde::Serialize;

/// How a conflict (both sides changed a field to different values) is decided.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConflictPolicy {
    /// The newer edit wins, by the issues' (or comments') `updated` times; on a
    /// tie, the larger fingerprint wins, so both sides pick the same winner.
    #[default]
    NewerWins,
    /// The remote side always wins.
    RemoteWins,
    /// This side always wins.
    LocalWins,
}

/// Which side's value a conflict kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Winner {
    /// The remote side's value was written here.
    Remote,
    /// This side's value was kept (and will travel to the remote side).
    Local,
}

impl ConflictPolicy {
    pub(crate) fn decide(
        self,
        remote: (time::OffsetDateTime, u64),
        local: (time::OffsetDateTime, u64),
    ) -> Winner {
        match self {
            ConflictPolicy::RemoteWins => Winner::Remote,
            ConflictPolicy::LocalWins => Winner::Local,
            ConflictPolicy::NewerWins => {
                if remote > local {
                    Winner::Remote
                } else {
                    Winner::Local
                }
            }
        }
    }
}

/// The mass-deletion guard: a plan that would delete more than `max_share` of a
/// twin's synced comments (or attachments), once at least `min_items` would go,
/// is refused for those deletions.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct DeletionGuard {
    /// The largest share (0.0–1.0) of synced items one plan may delete.
    pub max_share: f64,
    /// Deleting fewer items than this is always allowed.
    pub min_items: usize,
}

impl Default for DeletionGuard {
    /// At most half, once three or more items would go.
    fn default() -> Self {
        DeletionGuard {
            max_share: 0.5,
            min_items: 3,
        }
    }
}

impl DeletionGuard {
    pub(super) fn refuses(&self, deletions: usize, synced: usize) -> bool {
        deletions >= self.min_items && deletions as f64 > self.max_share * synced as f64
    }
}

/// Options of the planner.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct PlanOptions {
    /// How conflicts are decided.
    pub policy: ConflictPolicy,
    /// The mass-deletion guard.
    pub guard: DeletionGuard,
    /// Deletions the guard would refuse are carried out (a user confirmed them).
    pub allow_mass_deletion: bool,
    /// Deletions the guard would refuse are forgotten instead (a user
    /// dismissed them): their links are dropped and nothing is deleted, so
    /// the items stay on this side, no longer linked to the side that
    /// deleted them.
    #[serde(default)]
    pub forget_refused: bool,
    /// Link unsynced comments that exist on both sides with the same body and
    /// author instead of copying them (used when connecting existing issues).
    pub match_existing: bool,
    /// On a twin just connected: the side of the issue it was connected from,
    /// whose value then wins every field (and matched comment) that differs
    /// with no base yet, without a conflict. `None`: such a difference is a
    /// conflict decided by `policy`.
    #[serde(default)]
    pub source: Option<Winner>,
}
