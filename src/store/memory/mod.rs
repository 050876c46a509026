//! [`MemoryStore`]: a store in memory, for tests, examples and simulations.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use time::OffsetDateTime;

use crate::error::{Error, ErrorKind, Result};
use crate::model::{ConnectionId, IssueId, ProjectKey};
use crate::plan::{Conflict, TwinState};
use crate::rules::RuleHistory;

use super::{
    BulkProgress, ConnectionRecord, Intent, InvitationRecord, Lease, NodeRecord, OutboxMessage,
    OutgoingRecord, PeerLink, PeerOutage, QueueItem, SeqMark, StatusCounts, Store, StoreTxn,
    TwinConflicts, TwinError, TwinQuery,
};

mod undo;

use undo::{purge, put, put_index, remove, set};

type Key = (ConnectionId, IssueId);

/// How many entries of a map keyed by (connection, issue) are `connection`'s.
fn count_of<V>(map: &BTreeMap<Key, V>, connection: &ConnectionId) -> u64 {
    map.range((connection.clone(), IssueId::lowest())..)
        .take_while(|((c, _), _)| c == connection)
        .count() as u64
}

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

impl StoreTxn for MemoryTxn<'_> {
    fn connection(&mut self, id: &ConnectionId) -> Result<Option<ConnectionRecord>> {
        Ok(self.data.connections.get(id).cloned())
    }

    fn connections(&mut self) -> Result<Vec<ConnectionRecord>> {
        Ok(self.data.connections.values().cloned().collect())
    }

    fn put_connection(&mut self, connection: &ConnectionRecord) -> Result<()> {
        let data = &mut *self.data;
        put(
            &mut self.undo,
            &mut data.connections,
            connection.id.clone(),
            connection.clone(),
            |d| &mut d.connections,
        );
        Ok(())
    }

    fn delete_connection(&mut self, id: &ConnectionId) -> Result<()> {
        let twins: Vec<Key> = self
            .data
            .twins
            .keys()
            .filter(|(c, _)| c == id)
            .cloned()
            .collect();
        for key in twins {
            self.remove_twin(&key);
        }
        let intents: Vec<String> = self
            .data
            .intents
            .values()
            .filter(|i| &i.connection == id)
            .map(|i| i.id.clone())
            .collect();
        for intent in intents {
            self.delete_intent(&intent)?;
        }
        let queued: Vec<u64> = self
            .data
            .queue
            .values()
            .filter(|q| &q.connection == id)
            .map(|q| q.seq)
            .collect();
        for seq in queued {
            self.remove_queued(seq);
        }
        let data = &mut *self.data;
        let u = &mut self.undo;
        purge(u, &mut data.errors, |k| &k.0 == id, |d| &mut d.errors);
        purge(
            u,
            &mut data.watermarks,
            |k| &k.0 == id,
            |d| &mut d.watermarks,
        );
        purge(u, &mut data.last_sync, |k| k == id, |d| &mut d.last_sync);
        purge(u, &mut data.conflicts, |k| &k.0 == id, |d| &mut d.conflicts);
        purge(u, &mut data.links, |k| k == id, |d| &mut d.links);
        purge(u, &mut data.seq_marks, |k| &k.0 == id, |d| &mut d.seq_marks);
        purge(u, &mut data.gone, |k| &k.0 == id, |d| &mut d.gone);
        purge(u, &mut data.origins, |k| &k.0 == id, |d| &mut d.origins);
        purge(u, &mut data.outgoing, |k| &k.0 == id, |d| &mut d.outgoing);
        let posted: Vec<u64> = data
            .outbox
            .values()
            .filter(|m| &m.connection == id)
            .map(|m| m.seq)
            .collect();
        purge(
            u,
            &mut data.outbox,
            |k| posted.contains(k),
            |d| &mut d.outbox,
        );
        purge(u, &mut data.outages, |k| k == id, |d| &mut d.outages);
        purge(
            u,
            &mut data.invitations,
            |k| k == id,
            |d| &mut d.invitations,
        );
        purge(
            u,
            &mut data.rule_histories,
            |k| k == id,
            |d| &mut d.rule_histories,
        );
        purge(u, &mut data.bulk, |k| &k.0 == id, |d| &mut d.bulk);
        remove(&mut self.undo, &mut data.connections, id, |d| {
            &mut d.connections
        });
        Ok(())
    }

    fn twin_by_remote(
        &mut self,
        connection: &ConnectionId,
        remote: &IssueId,
    ) -> Result<Option<TwinState>> {
        Ok(self
            .data
            .twins
            .get(&(connection.clone(), remote.clone()))
            .cloned())
    }

    fn twin_by_local(
        &mut self,
        connection: &ConnectionId,
        local: &IssueId,
    ) -> Result<Option<TwinState>> {
        let Some(remote) = self.data.by_local.get(&(connection.clone(), local.clone())) else {
            return Ok(None);
        };
        Ok(self
            .data
            .twins
            .get(&(connection.clone(), remote.clone()))
            .cloned())
    }

    fn put_twin(&mut self, twin: &TwinState) -> Result<()> {
        let key = (twin.connection.clone(), twin.remote.id.clone());
        if let Some(local) = &twin.local {
            let index = (twin.connection.clone(), local.id.clone());
            if let Some(other) = self.data.by_local.get(&index)
                && other != &twin.remote.id
            {
                return Err(Error::new(
                    ErrorKind::InvalidInput,
                    format!(
                        "issue {} is already the twin of {} on connection {}",
                        local.key, other, twin.connection
                    ),
                ));
            }
        }
        let old_local = self.data.twins.get(&key).and_then(|t| t.local.clone());
        if let Some(old) = old_local
            && twin.local.as_ref().is_none_or(|l| l.id != old.id)
        {
            put_index(
                &mut self.undo,
                &mut self.data,
                (key.0.clone(), old.id),
                None,
            );
        }
        if let Some(local) = &twin.local {
            put_index(
                &mut self.undo,
                &mut self.data,
                (key.0.clone(), local.id.clone()),
                Some(key.1.clone()),
            );
        }
        let data = &mut *self.data;
        put(&mut self.undo, &mut data.twins, key, twin.clone(), |d| {
            &mut d.twins
        });
        Ok(())
    }

    fn delete_twin(&mut self, connection: &ConnectionId, remote: &IssueId) -> Result<()> {
        self.remove_twin(&(connection.clone(), remote.clone()));
        Ok(())
    }

    fn twins(&mut self, connection: &ConnectionId) -> Result<Vec<TwinState>> {
        Ok(self
            .data
            .twins
            .range((connection.clone(), IssueId::lowest())..)
            .take_while(|((c, _), _)| c == connection)
            .map(|(_, t)| t.clone())
            .collect())
    }

    fn twin_count(&mut self, connection: &ConnectionId) -> Result<u64> {
        Ok(self
            .data
            .twins
            .range((connection.clone(), IssueId::lowest())..)
            .take_while(|((c, _), _)| c == connection)
            .count() as u64)
    }

    fn twin_page(
        &mut self,
        connection: &ConnectionId,
        query: &TwinQuery,
    ) -> Result<Vec<TwinState>> {
        use std::ops::Bound;
        let start = match &query.after {
            Some(after) => Bound::Excluded((connection.clone(), after.clone())),
            None => Bound::Included((connection.clone(), IssueId::lowest())),
        };
        Ok(self
            .data
            .twins
            .range((start, Bound::Unbounded))
            .take_while(|((c, _), _)| c == connection)
            .map(|(_, t)| t)
            .filter(|t| {
                query.key.as_ref().is_none_or(|k| {
                    k.matches(&t.remote.key) || t.local.as_ref().is_some_and(|l| k.matches(&l.key))
                })
            })
            .take(query.limit)
            .cloned()
            .collect())
    }

    fn status_counts(&mut self, connection: &ConnectionId) -> Result<StatusCounts> {
        let ours = |c: &ConnectionId| c == connection;
        let data = &*self.data;
        Ok(StatusCounts {
            twins: count_of(&data.twins, connection),
            errors: data.errors.values().filter(|e| ours(&e.connection)).count() as u64,
            conflicts: count_of(&data.conflicts, connection),
            intents: data
                .intents
                .values()
                .filter(|i| ours(&i.connection))
                .count() as u64,
            queued: data.queue.values().filter(|q| ours(&q.connection)).count() as u64,
        })
    }

    fn put_intent(&mut self, intent: &Intent) -> Result<()> {
        let data = &mut *self.data;
        put(
            &mut self.undo,
            &mut data.intents,
            intent.id.clone(),
            intent.clone(),
            |d| &mut d.intents,
        );
        Ok(())
    }

    fn intents(&mut self, connection: &ConnectionId) -> Result<Vec<Intent>> {
        let mut intents: Vec<Intent> = self
            .data
            .intents
            .values()
            .filter(|i| &i.connection == connection)
            .cloned()
            .collect();
        intents.sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
        Ok(intents)
    }

    fn intents_of(
        &mut self,
        connection: &ConnectionId,
        origins: &[&IssueId],
    ) -> Result<Vec<Intent>> {
        // Only the matching intents are copied, not every open one.
        let mut intents: Vec<Intent> = self
            .data
            .intents
            .values()
            .filter(|i| &i.connection == connection && origins.contains(&&i.origin))
            .cloned()
            .collect();
        intents.sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
        Ok(intents)
    }

    fn delete_intent(&mut self, id: &str) -> Result<()> {
        let data = &mut *self.data;
        remove(&mut self.undo, &mut data.intents, &id.to_owned(), |d| {
            &mut d.intents
        });
        Ok(())
    }

    fn enqueue(&mut self, item: &QueueItem) -> Result<u64> {
        let key = (item.connection.clone(), item.issue.clone());
        if let Some(seq) = self.data.queued.get(&key) {
            return Ok(*seq);
        }
        let seq = self.data.next_seq + 1;
        let old_next = self.data.next_seq;
        self.data.next_seq = seq;
        self.undo.push(Box::new(move |d| d.next_seq = old_next));
        let mut item = item.clone();
        item.seq = seq;
        let data = &mut *self.data;
        put(&mut self.undo, &mut data.queue, seq, item, |d| &mut d.queue);
        data.queued.insert(key.clone(), seq);
        self.undo.push(Box::new(move |d| {
            d.queued.remove(&key);
        }));
        Ok(seq)
    }

    fn queue(&mut self, connection: &ConnectionId, limit: usize) -> Result<Vec<QueueItem>> {
        Ok(self
            .data
            .queue
            .values()
            .filter(|q| &q.connection == connection)
            .take(limit)
            .cloned()
            .collect())
    }

    fn queue_len(&mut self, connection: &ConnectionId) -> Result<u64> {
        Ok(self
            .data
            .queue
            .values()
            .filter(|q| &q.connection == connection)
            .count() as u64)
    }

    fn is_queued(&mut self, connection: &ConnectionId, issue: &IssueId) -> Result<bool> {
        Ok(self
            .data
            .queued
            .contains_key(&(connection.clone(), issue.clone())))
    }

    fn dequeue(&mut self, seq: u64) -> Result<()> {
        self.remove_queued(seq);
        Ok(())
    }

    fn put_error(&mut self, error: &TwinError) -> Result<()> {
        let data = &mut *self.data;
        let key = (error.connection.clone(), error.issue.clone());
        put(&mut self.undo, &mut data.errors, key, error.clone(), |d| {
            &mut d.errors
        });
        Ok(())
    }

    fn errors(&mut self, connection: &ConnectionId) -> Result<Vec<TwinError>> {
        Ok(self
            .data
            .errors
            .values()
            .filter(|e| &e.connection == connection)
            .cloned()
            .collect())
    }

    fn clear_error(&mut self, connection: &ConnectionId, issue: &IssueId) -> Result<()> {
        let data = &mut *self.data;
        remove(
            &mut self.undo,
            &mut data.errors,
            &(connection.clone(), issue.clone()),
            |d| &mut d.errors,
        );
        Ok(())
    }

    fn watermark(
        &mut self,
        connection: &ConnectionId,
        project: &ProjectKey,
    ) -> Result<Option<OffsetDateTime>> {
        Ok(self
            .data
            .watermarks
            .get(&(connection.clone(), project.clone()))
            .copied())
    }

    fn set_watermark(
        &mut self,
        connection: &ConnectionId,
        project: &ProjectKey,
        at: OffsetDateTime,
    ) -> Result<()> {
        let data = &mut *self.data;
        put(
            &mut self.undo,
            &mut data.watermarks,
            (connection.clone(), project.clone()),
            at,
            |d| &mut d.watermarks,
        );
        Ok(())
    }

    fn last_sync(&mut self, connection: &ConnectionId) -> Result<Option<OffsetDateTime>> {
        Ok(self.data.last_sync.get(connection).copied())
    }

    fn set_last_sync(&mut self, connection: &ConnectionId, at: OffsetDateTime) -> Result<()> {
        let data = &mut *self.data;
        put(
            &mut self.undo,
            &mut data.last_sync,
            connection.clone(),
            at,
            |d| &mut d.last_sync,
        );
        Ok(())
    }

    fn twin_conflicts(
        &mut self,
        connection: &ConnectionId,
        origin: &IssueId,
    ) -> Result<Vec<Conflict>> {
        Ok(self
            .data
            .conflicts
            .get(&(connection.clone(), origin.clone()))
            .cloned()
            .unwrap_or_default())
    }

    fn conflicts(&mut self, connection: &ConnectionId) -> Result<Vec<TwinConflicts>> {
        Ok(self
            .data
            .conflicts
            .range((connection.clone(), IssueId::lowest())..)
            .take_while(|((c, _), _)| c == connection)
            .map(|((c, o), list)| TwinConflicts {
                connection: c.clone(),
                origin: o.clone(),
                conflicts: list.clone(),
            })
            .collect())
    }

    fn put_conflicts(&mut self, record: &TwinConflicts) -> Result<()> {
        let data = &mut *self.data;
        let key = (record.connection.clone(), record.origin.clone());
        let value = (!record.conflicts.is_empty()).then(|| record.conflicts.clone());
        set(&mut self.undo, &mut data.conflicts, key, value, |d| {
            &mut d.conflicts
        });
        Ok(())
    }

    fn peer_link(&mut self, connection: &ConnectionId) -> Result<Option<PeerLink>> {
        Ok(self.data.links.get(connection).cloned())
    }

    fn put_peer_link(&mut self, link: &PeerLink) -> Result<()> {
        let data = &mut *self.data;
        let key = link.connection.clone();
        put(&mut self.undo, &mut data.links, key, link.clone(), |d| {
            &mut d.links
        });
        Ok(())
    }

    fn delete_peer_link(&mut self, connection: &ConnectionId) -> Result<()> {
        let data = &mut *self.data;
        remove(&mut self.undo, &mut data.links, connection, |d| {
            &mut d.links
        });
        Ok(())
    }

    fn seq_mark(&mut self, connection: &ConnectionId, mark: &SeqMark) -> Result<Option<u64>> {
        Ok(self
            .data
            .seq_marks
            .get(&(connection.clone(), mark.clone()))
            .copied())
    }

    fn set_seq_mark(
        &mut self,
        connection: &ConnectionId,
        mark: &SeqMark,
        value: Option<u64>,
    ) -> Result<()> {
        let data = &mut *self.data;
        let key = (connection.clone(), mark.clone());
        set(&mut self.undo, &mut data.seq_marks, key, value, |d| {
            &mut d.seq_marks
        });
        Ok(())
    }

    fn peer_gone(&mut self, connection: &ConnectionId, issue: &IssueId) -> Result<bool> {
        Ok(self
            .data
            .gone
            .contains_key(&(connection.clone(), issue.clone())))
    }

    fn set_peer_gone(
        &mut self,
        connection: &ConnectionId,
        issue: &IssueId,
        gone: bool,
    ) -> Result<()> {
        let data = &mut *self.data;
        let key = (connection.clone(), issue.clone());
        set(
            &mut self.undo,
            &mut data.gone,
            key,
            gone.then_some(()),
            |d| &mut d.gone,
        );
        Ok(())
    }

    fn origin_here(&mut self, connection: &ConnectionId, issue: &IssueId) -> Result<bool> {
        Ok(self
            .data
            .origins
            .contains_key(&(connection.clone(), issue.clone())))
    }

    fn set_origin_here(
        &mut self,
        connection: &ConnectionId,
        issue: &IssueId,
        here: bool,
    ) -> Result<()> {
        let data = &mut *self.data;
        let key = (connection.clone(), issue.clone());
        set(
            &mut self.undo,
            &mut data.origins,
            key,
            here.then_some(()),
            |d| &mut d.origins,
        );
        Ok(())
    }

    fn outgoing(&mut self, connection: &ConnectionId) -> Result<Vec<OutgoingRecord>> {
        Ok(self
            .data
            .outgoing
            .range((connection.clone(), IssueId::lowest())..)
            .take_while(|((c, _), _)| c == connection)
            .map(|(_, r)| r.clone())
            .collect())
    }

    fn put_outgoing(&mut self, record: &OutgoingRecord) -> Result<()> {
        let data = &mut *self.data;
        let key = (record.connection.clone(), record.issue.clone());
        put(
            &mut self.undo,
            &mut data.outgoing,
            key,
            record.clone(),
            |d| &mut d.outgoing,
        );
        Ok(())
    }

    fn delete_outgoing(&mut self, connection: &ConnectionId, issue: &IssueId) -> Result<()> {
        let data = &mut *self.data;
        let key = (connection.clone(), issue.clone());
        remove(&mut self.undo, &mut data.outgoing, &key, |d| {
            &mut d.outgoing
        });
        Ok(())
    }

    fn post_outbox(&mut self, message: &OutboxMessage) -> Result<u64> {
        if let Some(issue) = &message.issue {
            let replaced: Vec<u64> = self
                .data
                .outbox
                .values()
                .filter(|m| m.connection == message.connection && m.issue.as_ref() == Some(issue))
                .map(|m| m.seq)
                .collect();
            let data = &mut *self.data;
            for seq in replaced {
                remove(&mut self.undo, &mut data.outbox, &seq, |d| &mut d.outbox);
            }
        }
        let seq = self.data.next_outbox + 1;
        let old_next = self.data.next_outbox;
        self.data.next_outbox = seq;
        self.undo.push(Box::new(move |d| d.next_outbox = old_next));
        let message = OutboxMessage {
            seq,
            ..message.clone()
        };
        let data = &mut *self.data;
        put(&mut self.undo, &mut data.outbox, seq, message, |d| {
            &mut d.outbox
        });
        Ok(seq)
    }

    fn outbox(&mut self, connection: &ConnectionId, limit: usize) -> Result<Vec<OutboxMessage>> {
        Ok(self
            .data
            .outbox
            .values()
            .filter(|m| &m.connection == connection)
            .take(limit)
            .cloned()
            .collect())
    }

    fn outbox_len(&mut self, connection: &ConnectionId) -> Result<u64> {
        Ok(self
            .data
            .outbox
            .values()
            .filter(|m| &m.connection == connection)
            .count() as u64)
    }

    fn remove_outbox(&mut self, connection: &ConnectionId, through: u64) -> Result<()> {
        let taken: Vec<u64> = self
            .data
            .outbox
            .range(..=through)
            .filter(|(_, m)| &m.connection == connection)
            .map(|(seq, _)| *seq)
            .collect();
        let data = &mut *self.data;
        for seq in taken {
            remove(&mut self.undo, &mut data.outbox, &seq, |d| &mut d.outbox);
        }
        Ok(())
    }

    fn peer_outage(&mut self, connection: &ConnectionId) -> Result<Option<PeerOutage>> {
        Ok(self.data.outages.get(connection).cloned())
    }

    fn put_peer_outage(&mut self, outage: &PeerOutage) -> Result<()> {
        let data = &mut *self.data;
        let key = outage.connection.clone();
        put(
            &mut self.undo,
            &mut data.outages,
            key,
            outage.clone(),
            |d| &mut d.outages,
        );
        Ok(())
    }

    fn clear_peer_outage(&mut self, connection: &ConnectionId) -> Result<()> {
        let data = &mut *self.data;
        remove(&mut self.undo, &mut data.outages, connection, |d| {
            &mut d.outages
        });
        Ok(())
    }

    fn invitations(&mut self) -> Result<Vec<InvitationRecord>> {
        Ok(self.data.invitations.values().cloned().collect())
    }

    fn put_invitation(&mut self, record: &InvitationRecord) -> Result<()> {
        let data = &mut *self.data;
        let key = record.connection.clone();
        put(
            &mut self.undo,
            &mut data.invitations,
            key,
            record.clone(),
            |d| &mut d.invitations,
        );
        Ok(())
    }

    fn delete_invitation(&mut self, connection: &ConnectionId) -> Result<()> {
        let data = &mut *self.data;
        remove(&mut self.undo, &mut data.invitations, connection, |d| {
            &mut d.invitations
        });
        Ok(())
    }

    fn rule_history(&mut self, connection: &ConnectionId) -> Result<Option<RuleHistory>> {
        Ok(self.data.rule_histories.get(connection).cloned())
    }

    fn put_rule_history(&mut self, connection: &ConnectionId, history: &RuleHistory) -> Result<()> {
        let data = &mut *self.data;
        let key = connection.clone();
        put(
            &mut self.undo,
            &mut data.rule_histories,
            key,
            history.clone(),
            |d| &mut d.rule_histories,
        );
        Ok(())
    }

    fn bulk_progress(
        &mut self,
        connection: &ConnectionId,
        query: &str,
    ) -> Result<Option<BulkProgress>> {
        Ok(self
            .data
            .bulk
            .get(&(connection.clone(), query.to_owned()))
            .cloned())
    }

    fn put_bulk_progress(&mut self, progress: &BulkProgress) -> Result<()> {
        let data = &mut *self.data;
        let key = (progress.connection.clone(), progress.query.clone());
        put(&mut self.undo, &mut data.bulk, key, progress.clone(), |d| {
            &mut d.bulk
        });
        Ok(())
    }

    fn delete_bulk_progress(&mut self, connection: &ConnectionId, query: &str) -> Result<()> {
        let data = &mut *self.data;
        let key = (connection.clone(), query.to_owned());
        remove(&mut self.undo, &mut data.bulk, &key, |d| &mut d.bulk);
        Ok(())
    }

    fn node_record(&mut self) -> Result<NodeRecord> {
        Ok(self.data.node.get(&()).cloned().unwrap_or_default())
    }

    fn put_node_record(&mut self, record: &NodeRecord) -> Result<()> {
        let data = &mut *self.data;
        put(&mut self.undo, &mut data.node, (), record.clone(), |d| {
            &mut d.node
        });
        Ok(())
    }

    fn lease(&mut self, name: &str) -> Result<Option<Lease>> {
        Ok(self.data.leases.get(name).cloned())
    }

    fn put_lease(&mut self, lease: &Lease) -> Result<()> {
        let data = &mut *self.data;
        put(
            &mut self.undo,
            &mut data.leases,
            lease.name.clone(),
            lease.clone(),
            |d| &mut d.leases,
        );
        Ok(())
    }

    fn delete_lease(&mut self, name: &str) -> Result<()> {
        let data = &mut *self.data;
        remove(&mut self.undo, &mut data.leases, &name.to_owned(), |d| {
            &mut d.leases
        });
        Ok(())
    }

    fn next_lease_epoch(&mut self) -> Result<u64> {
        self.data.last_epoch += 1;
        Ok(self.data.last_epoch)
    }

    fn hold(&mut self, name: &str) -> Result<Option<OffsetDateTime>> {
        Ok(self.data.holds.get(name).copied())
    }

    fn put_hold(&mut self, name: &str, until: OffsetDateTime) -> Result<()> {
        let data = &mut *self.data;
        let until = data.holds.get(name).map_or(until, |t| until.max(*t));
        put(
            &mut self.undo,
            &mut data.holds,
            name.to_owned(),
            until,
            |d| &mut d.holds,
        );
        Ok(())
    }

    fn commit(mut self: Box<Self>) -> Result<()> {
        self.committed = true;
        self.undo.clear();
        self.data.commits += 1;
        Ok(())
    }
}
