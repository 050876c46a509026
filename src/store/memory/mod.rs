//! [`MemoryStore`]: a store in memory, for tests, examples and simulations.
//!
//! - `mod.rs`: the store's maps, a transaction holding them.
//! - `ops.rs`: each [`StoreTxn`] method on the maps, the longer ones in
//!   `twins.rs` (twins, intents, conflicts), `queue.rs` (the queue, errors,
//!   watermarks), `peer.rs` (what a node keeps about its peer) and
//!   `records.rs` (connections, invitations, rule versions, bulk progress,
//!   leases).
//! - `undo.rs`: the undo log that rolls a transaction back.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use time::OffsetDateTime;

use crate::error::Result;
use crate::model::{ConnectionId, IssueId, ProjectKey};
use crate::plan::{Conflict, TwinState};
use crate::rules::RuleHistory;

use super::{
    BulkProgress, ConnectionRecord, Intent, InvitationRecord, Lease, NodeRecord, OutboxMessage,
    OutgoingRecord, PeerLink, PeerOutage, QueueItem, SeqMark, Store, StoreTxn, TwinError,
};

mod ops;
mod peer;
mod queue;
mod records;
mod twins;
mod undo;

type Key = (ConnectionId, IssueId);

#[derive(Debug, Default)]
struct Data {
    connections: BTreeMap<ConnectionId, ConnectionRecord>,
    twins: BTreeMap<Key, TwinState>,
    by_local: HashMap<Key, IssueId>,
    intents: BTreeMap<String, Intent>,
    queue: BTreeMap<u64, QueueItem>,
    queued: HashMap<Key, u64>,
    next_seq: u64,
    errors: BTreeMap<Key, TwinError>,
    watermarks: BTreeMap<(ConnectionId, ProjectKey), OffsetDateTime>,
    last_sync: BTreeMap<ConnectionId, OffsetDateTime>,
    conflicts: BTreeMap<Key, Vec<Conflict>>,
    links: BTreeMap<ConnectionId, PeerLink>,
    seq_marks: BTreeMap<(ConnectionId, SeqMark), u64>,
    gone: BTreeMap<Key, ()>,
    origins: BTreeMap<Key, ()>,
    outgoing: BTreeMap<Key, OutgoingRecord>,
    outbox: BTreeMap<u64, OutboxMessage>,
    next_outbox: u64,
    outages: BTreeMap<ConnectionId, PeerOutage>,
    invitations: BTreeMap<ConnectionId, InvitationRecord>,
    rule_histories: BTreeMap<ConnectionId, RuleHistory>,
    bulk: BTreeMap<(ConnectionId, String), BulkProgress>,
    node: BTreeMap<(), NodeRecord>,
    leases: BTreeMap<String, Lease>,
    /// The last lease epoch given out (not taken back by a rollback).
    last_epoch: u64,
    holds: BTreeMap<String, OffsetDateTime>,
    commits: u64,
}

/// A [`Store`] in memory. Transactions are exclusive and roll back on drop.
///
/// Its contents outlive any node using it (share it with `Arc`), so a test can
/// "crash" a node and start a new one on the same store.
#[derive(Debug, Default)]
pub struct MemoryStore {
    data: Mutex<Data>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        MemoryStore::default()
    }

    /// How many transactions committed so far.
    pub fn commits(&self) -> u64 {
        self.lock().commits
    }

    fn lock(&self) -> MutexGuard<'_, Data> {
        self.data.lock().unwrap_or_else(|e| e.into_inner())
    }
}

type Undo = Box<dyn FnOnce(&mut Data) + Send>;

struct MemoryTxn<'a> {
    data: MutexGuard<'a, Data>,
    undo: Vec<Undo>,
    committed: bool,
}

impl Drop for MemoryTxn<'_> {
    fn drop(&mut self) {
        if !self.committed {
            while let Some(undo) = self.undo.pop() {
                undo(&mut self.data);
            }
        }
    }
}

impl Store for MemoryStore {
    fn begin(&self) -> Result<Box<dyn StoreTxn + '_>> {
        Ok(Box::new(MemoryTxn {
            data: self.lock(),
            undo: Vec::new(),
            committed: false,
        }))
    }
}
