//! The sync queue, twin errors, watermarks and last sync times in memory: an
//! issue keeps its place in the queue, numbered from the store's counter.

use time::OffsetDateTime;

use crate::error::Result;
use crate::model::{ConnectionId, IssueId, ProjectKey};
use crate::store::QueueItem;

use super::MemoryTxn;
use super::undo::{put, remove};

impl MemoryTxn<'_> {
    pub(super) fn append_to_queue(&mut self, item: &QueueItem) -> Result<u64> {
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

    pub(super) fn queued(
        &mut self,
        connection: &ConnectionId,
        limit: usize,
    ) -> Result<Vec<QueueItem>> {
        Ok(self
            .data
            .queue
            .values()
            .filter(|q| &q.connection == connection)
            .take(limit)
            .cloned()
            .collect())
    }

    pub(super) fn remove_error(
        &mut self,
        connection: &ConnectionId,
        issue: &IssueId,
    ) -> Result<()> {
        let data = &mut *self.data;
        remove(
            &mut self.undo,
            &mut data.errors,
            &(connection.clone(), issue.clone()),
            |d| &mut d.errors,
        );
        Ok(())
    }

    pub(super) fn watermark_of(
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

    pub(super) fn write_watermark(
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

    pub(super) fn write_last_sync(
        &mut self,
        connection: &ConnectionId,
        at: OffsetDateTime,
    ) -> Result<()> {
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
}
