//! Writing intents and the sync queue: the statements that take more than
//! one step (ordering intents by time, keeping an issue's place in the queue).

use rusqlite::params;

use crate::error::{Error, Result};
use crate::model::ConnectionId;
use crate::store::{Intent, QueueItem};

use super::txn::SqliteTxn;
use crate::store::columns::{intent_order, time_text, to_json};

impl SqliteTxn<'_> {
    pub(super) fn write_intent(&self, intent: &Intent) -> Result<()> {
        let created = intent_order(intent)?;
        let record = to_json("intent", intent)?;
        self.run(
            "cannot write intent",
            "INSERT INTO intents (id, connection, created_ns, record) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (id) DO UPDATE SET connection = excluded.connection, \
             created_ns = excluded.created_ns, record = excluded.record",
            params![intent.id, intent.connection.as_str(), created, record],
        )
        .map_err(|e| {
            e.with_connection(&intent.connection)
                .with_context("intent", &intent.id)
        })?;
        Ok(())
    }

    pub(super) fn append_to_queue(&self, item: &QueueItem) -> Result<u64> {
        let (c, issue) = (item.connection.as_str(), item.issue.as_str());
        let with = |e: Error| e.with_connection(&item.connection).with_issue(&item.issue);
        let queued: Option<i64> = self
            .row(
                "cannot read the queue",
                "SELECT seq FROM queue WHERE connection = ?1 AND issue = ?2",
                [c, issue],
                |r| r.get(0),
            )
            .map_err(with)?;
        let seq = match queued {
            Some(seq) => seq,
            None => {
                let at = time_text("queue time", item.queued)?;
                self.run(
                    "cannot enqueue",
                    "INSERT INTO queue (connection, issue, project, queued) VALUES (?1, ?2, ?3, ?4)",
                    params![c, issue, item.project.as_str(), at],
                )
                .map_err(with)?;
                self.active()?.last_insert_rowid()
            }
        };
        Ok(seq.unsigned_abs())
    }

    pub(super) fn queued(&self, connection: &ConnectionId, limit: usize) -> Result<Vec<QueueItem>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows: Vec<(i64, String, String, String)> = self
            .rows(
                "cannot read the queue",
                "SELECT seq, issue, project, queued FROM queue \
                 WHERE connection = ?1 ORDER BY seq LIMIT ?2",
                params![connection.as_str(), limit],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .map_err(|e| e.with_connection(connection))?;
        rows.into_iter()
            .map(|(seq, issue, project, queued)| {
                Ok(QueueItem {
                    seq: seq.unsigned_abs(),
                    connection: connection.clone(),
                    project: self.stored_id("queued project key", &project)?,
                    issue: self.stored_id("queued issue id", &issue)?,
                    queued: self.time("queue time", &queued)?,
                })
            })
            .collect()
    }
}
