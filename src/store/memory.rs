//! [`MemoryStore`]: a store in memory, for tests, examples and simulations.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use time::OffsetDateTime;

use crate::error::{Error, ErrorKind, Result};
use crate::model::{ConnectionId, IssueId, ProjectKey};
use crate::plan::TwinState;

use super::{ConnectionRecord, Intent, QueueItem, Store, StoreTxn, TwinError};

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
    meta: BTreeMap<String, Vec<u8>>,
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

/// Inserts into a map and records how to undo it.
fn put<K, V>(
    undo: &mut Vec<Undo>,
    map: &mut BTreeMap<K, V>,
    key: K,
    value: V,
    field: fn(&mut Data) -> &mut BTreeMap<K, V>,
) where
    K: Ord + Clone + Send + 'static,
    V: Send + 'static,
{
    let old = map.insert(key.clone(), value);
    undo.push(Box::new(move |d| {
        let map = field(d);
        match old {
            Some(v) => {
                map.insert(key, v);
            }
            None => {
                map.remove(&key);
            }
        }
    }));
}

fn remove<K, V>(
    undo: &mut Vec<Undo>,
    map: &mut BTreeMap<K, V>,
    key: &K,
    field: fn(&mut Data) -> &mut BTreeMap<K, V>,
) where
    K: Ord + Clone + Send + 'static,
    V: Send + 'static,
{
    if let Some(old) = map.remove(key) {
        let key = key.clone();
        undo.push(Box::new(move |d| {
            field(d).insert(key, old);
        }));
    }
}

fn put_index(undo: &mut Vec<Undo>, data: &mut Data, key: Key, value: Option<IssueId>) {
    let old = match value {
        Some(v) => data.by_local.insert(key.clone(), v),
        None => data.by_local.remove(&key),
    };
    undo.push(Box::new(move |d| match old {
        Some(v) => {
            d.by_local.insert(key, v);
        }
        None => {
            d.by_local.remove(&key);
        }
    }));
}

impl MemoryTxn<'_> {
    fn remove_twin(&mut self, key: &Key) {
        let local = self.data.twins.get(key).and_then(|t| t.local.clone());
        if let Some(local) = local {
            put_index(
                &mut self.undo,
                &mut self.data,
                (key.0.clone(), local.id),
                None,
            );
        }
        let data = &mut *self.data;
        remove(&mut self.undo, &mut data.twins, key, |d| &mut d.twins);
    }

    fn remove_queued(&mut self, seq: u64) {
        let Some(item) = self.data.queue.get(&seq).cloned() else {
            return;
        };
        let key = (item.connection.clone(), item.issue.clone());
        let data = &mut *self.data;
        remove(&mut self.undo, &mut data.queue, &seq, |d| &mut d.queue);
        if data.queued.remove(&key).is_some() {
            self.undo.push(Box::new(move |d| {
                d.queued.insert(key, seq);
            }));
        }
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
        let errors: Vec<Key> = data
            .errors
            .keys()
            .filter(|(c, _)| c == id)
            .cloned()
            .collect();
        for key in errors {
            remove(&mut self.undo, &mut data.errors, &key, |d| &mut d.errors);
        }
        let marks: Vec<_> = data
            .watermarks
            .keys()
            .filter(|(c, _)| c == id)
            .cloned()
            .collect();
        for key in marks {
            remove(&mut self.undo, &mut data.watermarks, &key, |d| {
                &mut d.watermarks
            });
        }
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
            .range((connection.clone(), IssueId::new(""))..)
            .take_while(|((c, _), _)| c == connection)
            .map(|(_, t)| t.clone())
            .collect())
    }

    fn twin_count(&mut self, connection: &ConnectionId) -> Result<u64> {
        Ok(self
            .data
            .twins
            .range((connection.clone(), IssueId::new(""))..)
            .take_while(|((c, _), _)| c == connection)
            .count() as u64)
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

    fn meta(&mut self, key: &str) -> Result<Option<Vec<u8>>> {
        Ok(self.data.meta.get(key).cloned())
    }

    fn set_meta(&mut self, key: &str, value: Option<&[u8]>) -> Result<()> {
        let data = &mut *self.data;
        match value {
            Some(v) => put(
                &mut self.undo,
                &mut data.meta,
                key.to_owned(),
                v.to_vec(),
                |d| &mut d.meta,
            ),
            None => remove(&mut self.undo, &mut data.meta, &key.to_owned(), |d| {
                &mut d.meta
            }),
        }
        Ok(())
    }

    fn commit(mut self: Box<Self>) -> Result<()> {
        self.committed = true;
        self.undo.clear();
        self.data.commits += 1;
        Ok(())
    }
}
