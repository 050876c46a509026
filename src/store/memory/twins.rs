//! Twins, intents and conflicts in memory: a twin's write keeps the index by
//! local issue and refuses a second twin of a local issue (I4); a page of
//! twins, the status counts, and intents in the order they were created.

use std::collections::BTreeMap;

use crate::error::{Error, ErrorKind, Result};
use crate::model::{ConnectionId, IssueId};
use crate::plan::{Conflict, TwinState};
use crate::store::{Intent, StatusCounts, TwinConflicts, TwinQuery};

use super::undo::{put, put_index};
use super::{Key, MemoryTxn};

/// How many entries of a map keyed by (connection, issue) are `connection`'s.
fn count_of<V>(map: &BTreeMap<Key, V>, connection: &ConnectionId) -> u64 {
    map.range((connection.clone(), IssueId::lowest())..)
        .take_while(|((c, _), _)| c == connection)
        .count() as u64
}

impl MemoryTxn<'_> {
    pub(super) fn twin_of_remote(
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

    pub(super) fn twin_of_local(
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

    pub(super) fn write_twin(&mut self, twin: &TwinState) -> Result<()> {
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

    pub(super) fn page_of_twins(
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

    pub(super) fn counts(&mut self, connection: &ConnectionId) -> Result<StatusCounts> {
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

    pub(super) fn write_intent(&mut self, intent: &Intent) -> Result<()> {
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

    pub(super) fn open_intents(&mut self, connection: &ConnectionId) -> Result<Vec<Intent>> {
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

    pub(super) fn intents_of_origins(
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

    pub(super) fn conflicts_of(
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

    pub(super) fn all_conflicts(
        &mut self,
        connection: &ConnectionId,
    ) -> Result<Vec<TwinConflicts>> {
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
}
