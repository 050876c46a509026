//! Connections, invitations, rule versions, bulk progress, leases and holds
//! in memory; deleting a connection deletes every record of it.

use time::OffsetDateTime;

use crate::error::Result;
use crate::model::ConnectionId;
use crate::rules::RuleHistory;
use crate::store::{BulkProgress, ConnectionRecord, InvitationRecord, Lease, StoreTxn};

use super::undo::{purge, put, remove};
use super::{Key, MemoryTxn};

impl MemoryTxn<'_> {
    pub(super) fn write_connection(&mut self, connection: &ConnectionRecord) -> Result<()> {
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

    pub(super) fn remove_connection(&mut self, id: &ConnectionId) -> Result<()> {
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

    pub(super) fn write_invitation(&mut self, record: &InvitationRecord) -> Result<()> {
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

    pub(super) fn write_rule_history(
        &mut self,
        connection: &ConnectionId,
        history: &RuleHistory,
    ) -> Result<()> {
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

    pub(super) fn progress_of(
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

    pub(super) fn write_lease(&mut self, lease: &Lease) -> Result<()> {
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

    pub(super) fn write_hold(&mut self, name: &str, until: OffsetDateTime) -> Result<()> {
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
}
