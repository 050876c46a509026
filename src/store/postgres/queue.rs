//! The sync queue, twin errors, watermarks and last sync times as SQL: an
//! issue keeps its place in the queue, times are stored as RFC 3339 text.

use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::model::{ConnectionId, ProjectKey};
use crate::store::columns::{time_text, to_json};
use crate::store::{QueueItem, TwinError};

use super::rows::{bigint, count};
use super::txn::PgTxn;

impl PgTxn<'_> {
    pub(super) fn append_to_queue(&mut self, item: &QueueItem) -> Result<u64> {
        let (c, issue) = (item.connection.as_str(), item.issue.as_str());
        let with = |e: Error| e.with_connection(&item.connection).with_issue(&item.issue);
        let queued = self
            .row(
                "cannot read the queue",
                "SELECT seq FROM queue WHERE connection = $1 AND issue = $2",
                &[&c, &issue],
            )
            .map_err(with)?;
        let row = match queued {
            Some(row) => row,
            None => {
                let at = time_text("queue time", item.queued)?;
                let inserted = self
                    .row(
                        "cannot enqueue",
                        "INSERT INTO queue (connection, issue, project, queued) \
                         VALUES ($1, $2, $3, $4) RETURNING seq",
                        &[&c, &issue, &item.project.as_str(), &at],
                    )
                    .map_err(with)?;
                inserted.ok_or_else(|| {
                    with(super::error::invalid(
                        self.db,
                        "cannot enqueue: the server returned no sequence number",
                    ))
                })?
            }
        };
        Ok(count(self.get(&row, 0, "queue number")?))
    }

    pub(super) fn queued(
        &mut self,
        connection: &ConnectionId,
        limit: usize,
    ) -> Result<Vec<QueueItem>> {
        let rows = self
            .rows(
                "cannot read the queue",
                "SELECT seq, issue, project, queued FROM queue \
                 WHERE connection = $1 ORDER BY seq LIMIT $2",
                &[&connection.as_str(), &bigint(limit)],
            )
            .map_err(|e| e.with_connection(connection))?;
        rows.iter()
            .map(|r| {
                let issue: String = self.get(r, 1, "queued issue id")?;
                let project: String = self.get(r, 2, "queued project key")?;
                let queued: String = self.get(r, 3, "queue time")?;
                Ok(QueueItem {
                    seq: count(self.get(r, 0, "queue number")?),
                    connection: connection.clone(),
                    project: self.id("queued project key", &project)?,
                    issue: self.id("queued issue id", &issue)?,
                    queued: self.time("queue time", &queued)?,
                })
            })
            .collect()
    }

    pub(super) fn write_error(&mut self, error: &TwinError) -> Result<()> {
        let record = to_json("twin error", error)?;
        self.run(
            "cannot write twin error",
            "INSERT INTO errors (connection, issue, record) VALUES ($1, $2, $3) \
             ON CONFLICT (connection, issue) DO UPDATE SET record = excluded.record",
            &[&error.connection.as_str(), &error.issue.as_str(), &record],
        )
        .map_err(|e| {
            e.with_connection(&error.connection)
                .with_issue(&error.issue)
        })?;
        Ok(())
    }

    pub(super) fn read_watermark(
        &mut self,
        connection: &ConnectionId,
        project: &ProjectKey,
    ) -> Result<Option<OffsetDateTime>> {
        let text = self
            .text(
                "cannot read watermark",
                "watermark",
                "SELECT at FROM watermarks WHERE connection = $1 AND project = $2",
                &[connection.as_str(), project.as_str()],
            )
            .map_err(|e| {
                e.with_connection(connection)
                    .with_context("project", project)
            })?;
        text.map(|t| self.time("watermark", &t)).transpose()
    }

    pub(super) fn write_watermark(
        &mut self,
        connection: &ConnectionId,
        project: &ProjectKey,
        at: OffsetDateTime,
    ) -> Result<()> {
        let text = time_text("watermark", at)?;
        self.run(
            "cannot write watermark",
            "INSERT INTO watermarks (connection, project, at) VALUES ($1, $2, $3) \
             ON CONFLICT (connection, project) DO UPDATE SET at = excluded.at",
            &[&connection.as_str(), &project.as_str(), &text],
        )
        .map_err(|e| {
            e.with_connection(connection)
                .with_context("project", project)
        })?;
        Ok(())
    }

    pub(super) fn read_last_sync(
        &mut self,
        connection: &ConnectionId,
    ) -> Result<Option<OffsetDateTime>> {
        let text = self
            .text(
                "cannot read the last sync time",
                "last sync time",
                "SELECT at FROM last_sync WHERE connection = $1",
                &[connection.as_str()],
            )
            .map_err(|e| e.with_connection(connection))?;
        text.map(|t| self.time("last sync time", &t)).transpose()
    }

    pub(super) fn write_last_sync(
        &mut self,
        connection: &ConnectionId,
        at: OffsetDateTime,
    ) -> Result<()> {
        let text = time_text("last sync time", at)?;
        self.run(
            "cannot write the last sync time",
            "INSERT INTO last_sync (connection, at) VALUES ($1, $2) \
             ON CONFLICT (connection) DO UPDATE SET at = excluded.at",
            &[&connection.as_str(), &text],
        )
        .map_err(|e| e.with_connection(connection))?;
        Ok(())
    }
}
