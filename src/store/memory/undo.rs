//! The undo log of a [`MemoryTxn`]: each write records how to take it back,
//! and a transaction dropped without commit runs them in reverse.

use super::*;

/// Inserts into a map and records how to undo it.
pub(super) fn put<K, V>(
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

pub(super) fn remove<K, V>(
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

/// Removes every entry whose key `owned` says belongs to what is deleted.
pub(super) fn purge<K, V>(
    undo: &mut Vec<Undo>,
    map: &mut BTreeMap<K, V>,
    owned: impl Fn(&K) -> bool,
    field: fn(&mut Data) -> &mut BTreeMap<K, V>,
) where
    K: Ord + Clone + Send + 'static,
    V: Send + 'static,
{
    let keys: Vec<K> = map.keys().filter(|k| owned(k)).cloned().collect();
    for key in keys {
        remove(undo, map, &key, field);
    }
}

/// Inserts (`Some`) or removes (`None`).
pub(super) fn set<K, V>(
    undo: &mut Vec<Undo>,
    map: &mut BTreeMap<K, V>,
    key: K,
    value: Option<V>,
    field: fn(&mut Data) -> &mut BTreeMap<K, V>,
) where
    K: Ord + Clone + Send + 'static,
    V: Send + 'static,
{
    match value {
        Some(v) => put(undo, map, key, v, field),
        None => remove(undo, map, &key, field),
    }
}

pub(super) fn put_index(undo: &mut Vec<Undo>, data: &mut Data, key: Key, value: Option<IssueId>) {
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
    pub(super) fn remove_twin(&mut self, key: &Key) {
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

    pub(super) fn remove_queued(&mut self, seq: u64) {
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
