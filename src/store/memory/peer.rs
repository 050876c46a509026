//! What a node keeps about the other node of a remote connection, in memory:
//! sequence marks, gone and origin flags, outgoing records, the outbox
//! (numbered from the store's counter) and the peer's outage.

use crate::error::Result;
use crate::model::{ConnectionId, IssueId};
use crate::store::{OutboxMessage, OutgoingRecord, PeerOutage, SeqMark};

use super::MemoryTxn;
use super::undo::{put, remove, set};

impl MemoryTxn<'_> {
    pub(super) fn write_seq_mark(
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

    pub(super) fn write_peer_gone(
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

    pub(super) fn write_origin_here(
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

    pub(super) fn write_outgoing(&mut self, record: &OutgoingRecord) -> Result<()> {
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

    pub(super) fn append_to_outbox(&mut self, message: &OutboxMessage) -> Result<u64> {
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

    pub(super) fn outbox_page(
        &mut self,
        connection: &ConnectionId,
        limit: usize,
    ) -> Result<Vec<OutboxMessage>> {
        Ok(self
            .data
            .outbox
            .values()
            .filter(|m| &m.connection == connection)
            .take(limit)
            .cloned()
            .collect())
    }

    pub(super) fn remove_taken(&mut self, connection: &ConnectionId, through: u64) -> Result<()> {
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

    pub(super) fn write_peer_outage(&mut self, outage: &PeerOutage) -> Result<()> {
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
}
