//! The words the sync concept speaks in: which way a sync goes, what it
//! did, and what applying one replica needs. A leaf module: it imports no
//! other file of the engine, so every other file can import it.

use async_trait::async_trait;
use serde::Serialize;

use crate::connection::Connection;
use crate::error::{Error, ErrorKind, Result};
use crate::model::{AttachmentId, ConnectionId, Issue, IssueId, IssueRef, ProjectKey};
use crate::plan::{Conflict, Plan, TwinState, Winner};
use crate::replica::{Marker, Replica};
use crate::store::DeletionDecision;
use crate::tracker::Tracker;

use super::batch::Seat;

/// Which way one sync of a twin goes, relative to its stored state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(in crate::engine) enum Direction {
    /// From the origin issue (the one exalated) to its twin.
    Forward,
    /// From the twin back to the origin issue.
    Backward,
}

/// A twin as the engine reports it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct TwinInfo {
    /// The connection.
    pub connection: ConnectionId,
    /// The issue that was exalated (or the first issue given to connect).
    pub origin: IssueRef,
    /// Its twin, once created.
    pub twin: Option<IssueRef>,
    /// Writes the sync just made.
    pub writes: usize,
    /// Conflicts the sync just met (both values and the winner).
    pub conflicts: Vec<Conflict>,
    /// Whether the sync waits (a lost create settling, or a paused connection).
    pub waiting: bool,
    /// The plans the sync just executed on this node, in order (towards the
    /// twin, then back): exactly what [Test Run](crate::engine::Node::test_run) showed for
    /// the same issues in the same state. Empty on a remote connection, whose
    /// plans execute on the other node.
    pub plans: Vec<Plan>,
}

#[derive(Default)]
pub(in crate::engine) struct Hints<'a> {
    /// A snapshot of the origin issue just read (saves a read for new twins).
    pub(in crate::engine) source: Option<Issue>,
    /// Link comments that exist on both sides instead of copying them.
    pub(in crate::engine) match_existing: bool,
    /// The seat of a bulk exalate's batch of creates this twin's create
    /// (if it has one) goes out with.
    pub(in crate::engine) batch: Option<&'a Seat>,
}

#[derive(Default)]
pub(in crate::engine) struct Outcome {
    pub(in crate::engine) writes: usize,
    pub(in crate::engine) conflicts: Vec<Conflict>,
    pub(in crate::engine) waiting: bool,
    pub(in crate::engine) plans: Vec<Plan>,
}

/// One replica to apply to one side.
pub(in crate::engine) struct ApplyRequest<'a> {
    /// The connection.
    pub(in crate::engine) conn: &'a Connection,
    /// The twin's key in the store (its origin issue), which conflicts are
    /// recorded under.
    pub(in crate::engine) twin: &'a IssueId,
    /// The replica of the issue the change comes from.
    pub(in crate::engine) replica: &'a Replica,
    /// The twin state seen from the side the replica lands on (`remote` is
    /// the replica's issue).
    pub(in crate::engine) state: TwinState,
    /// The project the replica lands in.
    pub(in crate::engine) project: &'a ProjectKey,
    /// Link comments both issues hold instead of copying them (a connect).
    pub(in crate::engine) match_existing: bool,
    /// The side whose values win where no base is known yet (a connect).
    pub(in crate::engine) source: Option<Winner>,
    /// What a user decided about this twin's refused deletions, if anything.
    pub(in crate::engine) decision: Option<DeletionDecision>,
    /// The seat of a batch of creates a create of the plan goes out with
    /// (bulk exalate); without one, a create is a call of its own.
    pub(in crate::engine) batch: Option<&'a Seat>,
}

/// A plan with what it was made from.
pub(in crate::engine) struct Prepared {
    /// The plan.
    pub(in crate::engine) plan: Plan,
    /// The twin state the plan starts from (after link repairs).
    pub(in crate::engine) state: TwinState,
}

/// What applying a replica did.
pub(in crate::engine) struct Applied {
    /// The plan that executed.
    pub(in crate::engine) plan: Plan,
    /// Writes made.
    pub(in crate::engine) writes: usize,
}

/// Where the content of the other side's attachments comes from.
#[async_trait]
pub(in crate::engine) trait AttachmentSource: Send + Sync {
    /// The content of the other side's attachment `id`.
    async fn content(&self, id: &AttachmentId) -> Result<Vec<u8>>;
}

/// Both sides on this node's tracker (a local connection).
pub(in crate::engine) struct SameTracker<'a>(pub(in crate::engine) &'a dyn Tracker);

#[async_trait]
impl AttachmentSource for SameTracker<'_> {
    async fn content(&self, id: &AttachmentId) -> Result<Vec<u8>> {
        self.0.download_attachment(id).await
    }
}

/// Refuses an issue this connection created whose twin state is missing
/// (a lost create still settling, or a store being re-derived): exalating it
/// would make a twin of a twin.
pub(in crate::engine) fn refuse_sync_copy(conn: &Connection, issue: &Issue) -> Result<()> {
    match Marker::find(&issue.properties, &conn.id) {
        Some(marker) => Err(Error::new(
            ErrorKind::AlreadyExists,
            format!(
                "issue {} was created by connection {} as the twin of issue {}; \
                 the next sync cycle links them again",
                issue.key, conn.name, marker.origin_issue
            ),
        )),
        None => Ok(()),
    }
}

/// What one [`Node::sync`](crate::engine::Node::sync) did.
///
/// On a remote connection the writes a cycle causes happen on both nodes:
/// `writes` counts this node's own writes and those the other node made
/// applying this cycle's replicas, as its acknowledgements report them
/// (`peer_writes` is that part). Replicas the other node has not applied
/// within the cycle are not counted here: those left for a node in a
/// private network (it counts them in the report of the cycle that pulls
/// them, as its own writes) and those whose acknowledgement was lost.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct CycleReport {
    /// Issues the polls returned.
    pub seen: usize,
    /// Twins synced.
    pub synced: usize,
    /// Writes made, on both sides of the connection (see above).
    pub writes: usize,
    /// The part of `writes` made by the other node of a remote connection.
    pub peer_writes: usize,
    /// Twins that failed (recorded in the status).
    pub failed: usize,
    /// Changes queued because the connection is deactivated (or failed temporarily).
    pub queued: usize,
    /// Conflicts met.
    pub conflicts: usize,
    /// Issues a trigger brought under sync; their first syncs count in
    /// `synced` (or in `queued` while the connection is deactivated).
    pub triggered: usize,
    /// The other node of a remote connection could not be reached, or this
    /// node leaves it alone until its next try: what goes to it waits
    /// (counted in `queued`), and nothing failed because of it. The panel
    /// shows since when ([`SyncPanel::peer`](crate::engine::SyncPanel::peer)).
    pub peer_unreachable: bool,
}

impl CycleReport {
    /// Adds `other`'s counts to these.
    pub(in crate::engine) fn absorb(&mut self, other: &CycleReport) {
        self.seen += other.seen;
        self.synced += other.synced;
        self.writes += other.writes;
        self.peer_writes += other.peer_writes;
        self.failed += other.failed;
        self.queued += other.queued;
        self.conflicts += other.conflicts;
        self.triggered += other.triggered;
        self.peer_unreachable |= other.peer_unreachable;
    }
}
