//! [`StoreTxn`]'s methods as SQL on a [`PgTxn`]: one statement (or two)
//! each, keyed by the schema's primary keys and indexes, with the column
//! values of `store::columns` that the SQLite store writes too.

use time::OffsetDateTime;

use crate::error::{Error, ErrorKind, Result};
use crate::model::{ConnectionId, IssueId, ProjectKey};
use crate::plan::{Conflict, TwinState};
use crate::rules::RuleHistory;
use crate::store::columns::{
    CONNECTION_TABLES, LinkRecord, folded_key, from_sql_u64, intent_order, mark_columns, time_text,
    to_json, to_sql_u64,
};
use crate::store::{
    BulkProgress, ConnectionRecord, Intent, InvitationRecord, Lease, NodeRecord, OutboxMessage,
    OutgoingRecord, PeerLink, PeerOutage, QueueItem, SeqMark, StatusCounts, StoreTxn, StoredSecret,
    TwinConflicts, TwinError, TwinQuery,
};

use super::txn::PgTxn;

/// A count or sequence number from a BIGINT (never negative here).
pub(super) fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// A time as nanoseconds since the Unix epoch, in a BIGINT (good until 2262).
pub(super) fn nanos(what: &str, at: OffsetDateTime) -> Result<i64> {
    i64::try_from(at.unix_timestamp_nanos()).map_err(|_| {
        Error::new(
            ErrorKind::InvalidInput,
            format!("the {what} time {at} is out of the store's range"),
        )
    })
}

/// A time from nanoseconds since the Unix epoch.
pub(super) fn from_nanos(what: &str, ns: i64) -> Result<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ns)).map_err(|_| {
        Error::new(
            ErrorKind::Storage,
            format!("the stored {what} time {ns} is out of range"),
        )
    })
}

/// A limit or sequence number for a BIGINT.
fn bigint(n: impl TryInto<i64>) -> i64 {
    n.try_into().unwrap_or(i64::MAX)
}

impl PgTxn<'_> {
    /// The one text column of the row `sql` finds, if any.
    fn text(&mut self, doing: &str, what: &str, sql: &str, key: &[&str]) -> Result<Option<String>> {
        let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> =
            key.iter().map(|k| k as _).collect();
        match self.row(doing, sql, &params)? {
            Some(row) => Ok(Some(self.get(&row, 0, what)?)),
            None => Ok(None),
        }
    }

    /// The one JSON record column of the row `sql` finds, if any.
    fn record<T: serde::de::DeserializeOwned>(
        &mut self,
        what: &str,
        sql: &str,
        key: &[&str],
    ) -> Result<Option<T>> {
        let text = self.text(&format!("cannot read {what}"), what, sql, key)?;
        text.map(|t| self.json(what, &t)).transpose()
    }

    /// The JSON record column of every row `sql` finds.
    fn records<T: serde::de::DeserializeOwned>(
        &mut self,
        what: &str,
        sql: &str,
        connection: &ConnectionId,
    ) -> Result<Vec<T>> {
        let rows = self
            .rows(
                &format!("cannot read {what}s"),
                sql,
                &[&connection.as_str()],
            )
            .map_err(|e| e.with_connection(connection))?;
        rows.iter()
            .map(|r| {
                let text: String = self.get(r, 0, what)?;
                self.json(what, &text)
            })
            .collect()
    }

    /// A count of the rows of a connection in `table`.
    pub(super) fn count_of(
        &mut self,
        doing: &str,
        table: &str,
        connection: &ConnectionId,
    ) -> Result<u64> {
        let row = self
            .row(
                doing,
                &format!("SELECT count(*) FROM {table} WHERE connection = $1"),
                &[&connection.as_str()],
            )
            .map_err(|e| e.with_connection(connection))?;
        match row {
            Some(r) => Ok(count(self.get(&r, 0, "count")?)),
            None => Ok(0),
        }
    }

    /// Whether a flag table holds (connection, issue).
    fn flag(&mut self, table: &str, c: &ConnectionId, issue: &IssueId) -> Result<bool> {
        let found = self
            .row(
                &format!("cannot read a flag of {table}"),
                &format!("SELECT 1 FROM {table} WHERE connection = $1 AND issue = $2"),
                &[&c.as_str(), &issue.as_str()],
            )
            .map_err(|e| e.with_connection(c).with_issue(issue))?;
        Ok(found.is_some())
    }

    /// Sets or clears (connection, issue) in a flag table.
    fn set_flag(&mut self, table: &str, c: &ConnectionId, issue: &IssueId, on: bool) -> Result<()> {
        let key: [&(dyn tokio_postgres::types::ToSql + Sync); 2] = [&c.as_str(), &issue.as_str()];
        let done = if on {
            self.run(
                &format!("cannot write a flag of {table}"),
                &format!(
                    "INSERT INTO {table} (connection, issue) VALUES ($1, $2) ON CONFLICT DO NOTHING"
                ),
                &key,
            )
        } else {
            self.run(
                &format!("cannot delete a flag of {table}"),
                &format!("DELETE FROM {table} WHERE connection = $1 AND issue = $2"),
                &key,
            )
        };
        done.map(drop)
            .map_err(|e| e.with_connection(c).with_issue(issue))
    }

    /// Deletes the row of a connection in a table keyed by it alone.
    fn delete_of(&mut self, doing: &str, table: &str, c: &ConnectionId) -> Result<()> {
        self.run(
            doing,
            &format!("DELETE FROM {table} WHERE connection = $1"),
            &[&c.as_str()],
        )
        .map(drop)
        .map_err(|e| e.with_connection(c))
    }

    /// Refuses a second twin of a local issue (I4) before the upsert, so
    /// the transaction goes on after the refusal as with every other store
    /// (a failed statement would abort a PostgreSQL transaction).
    fn check_local_is_free(&mut self, twin: &TwinState) -> Result<()> {
        let Some(local) = &twin.local else {
            return Ok(());
        };
        let c = twin.connection.as_str();
        let other = self
            .row(
                "cannot read twin",
                "SELECT remote FROM twins WHERE connection = $1 AND local = $2 AND remote <> $3",
                &[&c, &local.id.as_str(), &twin.remote.id.as_str()],
            )
            .map_err(|e| e.with_connection(&twin.connection))?;
        match other {
            None => Ok(()),
            Some(row) => {
                let other: String = self.get(&row, 0, "twin")?;
                Err(Error::new(
                    ErrorKind::InvalidInput,
                    format!(
                        "issue {} is already the twin of {other} on connection {c}",
                        local.key
                    ),
                ))
            }
        }
    }
}

impl StoreTxn for PgTxn<'_> {
    fn connection(&mut self, id: &ConnectionId) -> Result<Option<ConnectionRecord>> {
        let row = self
            .row(
                "cannot read connection",
                "SELECT name, config FROM connections WHERE id = $1",
                &[&id.as_str()],
            )
            .map_err(|e| e.with_connection(id))?;
        row.map(|r| {
            Ok(ConnectionRecord {
                id: id.clone(),
                name: self.get(&r, 0, "connection name")?,
                config: self.get(&r, 1, "connection config")?,
            })
        })
        .transpose()
    }

    fn connections(&mut self) -> Result<Vec<ConnectionRecord>> {
        let rows = self.rows(
            "cannot read connections",
            "SELECT id, name, config FROM connections ORDER BY id",
            &[],
        )?;
        rows.iter()
            .map(|r| {
                let id: String = self.get(r, 0, "connection id")?;
                Ok(ConnectionRecord {
                    id: self.id("connection id", &id)?,
                    name: self.get(r, 1, "connection name")?,
                    config: self.get(r, 2, "connection config")?,
                })
            })
            .collect()
    }

    fn put_connection(&mut self, c: &ConnectionRecord) -> Result<()> {
        self.run(
            "cannot write connection",
            "INSERT INTO connections (id, name, config) VALUES ($1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, config = excluded.config",
            &[&c.id.as_str(), &c.name, &c.config],
        )
        .map_err(|e| e.with_connection(&c.id))?;
        Ok(())
    }

    fn delete_connection(&mut self, id: &ConnectionId) -> Result<()> {
        for table in CONNECTION_TABLES {
            self.delete_of(
                &format!("cannot delete the {table} of a connection"),
                table,
                id,
            )?;
        }
        self.run(
            "cannot delete connection",
            "DELETE FROM connections WHERE id = $1",
            &[&id.as_str()],
        )
        .map_err(|e| e.with_connection(id))?;
        Ok(())
    }

    fn twin_by_remote(
        &mut self,
        connection: &ConnectionId,
        remote: &IssueId,
    ) -> Result<Option<TwinState>> {
        let row = self
            .row(
                "cannot read twin",
                "SELECT state FROM twins WHERE connection = $1 AND remote = $2",
                &[&connection.as_str(), &remote.as_str()],
            )
            .map_err(|e| e.with_connection(connection).with_issue(remote))?;
        row.map(|r| self.twin(self.get(&r, 0, "twin")?)).transpose()
    }

    fn twin_by_local(
        &mut self,
        connection: &ConnectionId,
        local: &IssueId,
    ) -> Result<Option<TwinState>> {
        let row = self
            .row(
                "cannot read twin",
                "SELECT state FROM twins WHERE connection = $1 AND local = $2",
                &[&connection.as_str(), &local.as_str()],
            )
            .map_err(|e| e.with_connection(connection).with_issue(local))?;
        row.map(|r| self.twin(self.get(&r, 0, "twin")?)).transpose()
    }

    fn put_twin(&mut self, twin: &TwinState) -> Result<()> {
        self.check_local_is_free(twin)?;
        let local = twin.local.as_ref().map(|l| l.id.as_str());
        let local_key = twin.local.as_ref().map(|l| folded_key(l.key.as_str()));
        self.run(
            "cannot write twin",
            "INSERT INTO twins (connection, remote, local, state, remote_key, local_key) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (connection, remote) DO UPDATE \
             SET local = excluded.local, state = excluded.state, \
             remote_key = excluded.remote_key, local_key = excluded.local_key",
            &[
                &twin.connection.as_str(),
                &twin.remote.id.as_str(),
                &local,
                &twin.to_bytes(),
                &folded_key(twin.remote.key.as_str()),
                &local_key,
            ],
        )
        .map_err(|e| {
            e.with_connection(&twin.connection)
                .with_issue(&twin.remote.id)
        })?;
        Ok(())
    }

    fn delete_twin(&mut self, connection: &ConnectionId, remote: &IssueId) -> Result<()> {
        self.run(
            "cannot delete twin",
            "DELETE FROM twins WHERE connection = $1 AND remote = $2",
            &[&connection.as_str(), &remote.as_str()],
        )
        .map_err(|e| e.with_connection(connection).with_issue(remote))?;
        Ok(())
    }

    fn twins(&mut self, connection: &ConnectionId) -> Result<Vec<TwinState>> {
        let rows = self
            .rows(
                "cannot read twins",
                "SELECT state FROM twins WHERE connection = $1 ORDER BY remote",
                &[&connection.as_str()],
            )
            .map_err(|e| e.with_connection(connection))?;
        rows.iter()
            .map(|r| self.twin(self.get(r, 0, "twin")?))
            .collect()
    }

    fn twin_count(&mut self, connection: &ConnectionId) -> Result<u64> {
        self.twins_counted(connection)
    }

    fn twin_page(
        &mut self,
        connection: &ConnectionId,
        query: &TwinQuery,
    ) -> Result<Vec<TwinState>> {
        self.page_of_twins(connection, query)
    }

    fn status_counts(&mut self, connection: &ConnectionId) -> Result<StatusCounts> {
        self.counts(connection)
    }

    fn put_intent(&mut self, intent: &Intent) -> Result<()> {
        let created = intent_order(intent)?;
        let record = to_json("intent", intent)?;
        self.run(
            "cannot write intent",
            "INSERT INTO intents (id, connection, created_ns, record) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (id) DO UPDATE SET connection = excluded.connection, \
             created_ns = excluded.created_ns, record = excluded.record",
            &[&intent.id, &intent.connection.as_str(), &created, &record],
        )
        .map_err(|e| {
            e.with_connection(&intent.connection)
                .with_context("intent", &intent.id)
        })?;
        Ok(())
    }

    fn intents(&mut self, connection: &ConnectionId) -> Result<Vec<Intent>> {
        self.records(
            "intent",
            "SELECT record FROM intents WHERE connection = $1 ORDER BY created_ns, id",
            connection,
        )
    }

    fn delete_intent(&mut self, id: &str) -> Result<()> {
        self.run(
            "cannot delete intent",
            "DELETE FROM intents WHERE id = $1",
            &[&id],
        )
        .map_err(|e| e.with_context("intent", id))?;
        Ok(())
    }

    fn enqueue(&mut self, item: &QueueItem) -> Result<u64> {
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

    fn queue(&mut self, connection: &ConnectionId, limit: usize) -> Result<Vec<QueueItem>> {
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

    fn queue_len(&mut self, connection: &ConnectionId) -> Result<u64> {
        self.count_of("cannot count the queue", "queue", connection)
    }

    fn is_queued(&mut self, connection: &ConnectionId, issue: &IssueId) -> Result<bool> {
        self.waits_in_queue(connection, issue)
    }

    fn dequeue(&mut self, seq: u64) -> Result<()> {
        // A number above i64::MAX was never handed out: nothing to remove.
        if let Ok(seq) = i64::try_from(seq) {
            self.run(
                "cannot dequeue",
                "DELETE FROM queue WHERE seq = $1",
                &[&seq],
            )
            .map_err(|e| e.with_context("seq", seq))?;
        }
        Ok(())
    }

    fn put_error(&mut self, error: &TwinError) -> Result<()> {
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

    fn errors(&mut self, connection: &ConnectionId) -> Result<Vec<TwinError>> {
        self.records(
            "twin error",
            "SELECT record FROM errors WHERE connection = $1 ORDER BY issue",
            connection,
        )
    }

    fn clear_error(&mut self, connection: &ConnectionId, issue: &IssueId) -> Result<()> {
        self.run(
            "cannot clear twin error",
            "DELETE FROM errors WHERE connection = $1 AND issue = $2",
            &[&connection.as_str(), &issue.as_str()],
        )
        .map_err(|e| e.with_connection(connection).with_issue(issue))?;
        Ok(())
    }

    fn watermark(
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

    fn set_watermark(
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

    fn last_sync(&mut self, connection: &ConnectionId) -> Result<Option<OffsetDateTime>> {
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

    fn set_last_sync(&mut self, connection: &ConnectionId, at: OffsetDateTime) -> Result<()> {
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

    fn twin_conflicts(
        &mut self,
        connection: &ConnectionId,
        origin: &IssueId,
    ) -> Result<Vec<Conflict>> {
        let found = self
            .record(
                "conflicts",
                "SELECT record FROM conflicts WHERE connection = $1 AND origin = $2",
                &[connection.as_str(), origin.as_str()],
            )
            .map_err(|e| e.with_connection(connection).with_issue(origin))?;
        Ok(found.unwrap_or_default())
    }

    fn conflicts(&mut self, connection: &ConnectionId) -> Result<Vec<TwinConflicts>> {
        let rows = self
            .rows(
                "cannot read conflicts",
                "SELECT origin, record FROM conflicts WHERE connection = $1 ORDER BY origin",
                &[&connection.as_str()],
            )
            .map_err(|e| e.with_connection(connection))?;
        rows.iter()
            .map(|r| {
                let origin: String = self.get(r, 0, "conflicts' issue id")?;
                let record: String = self.get(r, 1, "conflicts")?;
                Ok(TwinConflicts {
                    connection: connection.clone(),
                    origin: self.id("conflicts' issue id", &origin)?,
                    conflicts: self.json("conflicts", &record)?,
                })
            })
            .collect()
    }

    fn put_conflicts(&mut self, record: &TwinConflicts) -> Result<()> {
        let (c, origin) = (record.connection.as_str(), record.origin.as_str());
        let done = if record.conflicts.is_empty() {
            self.run(
                "cannot delete conflicts",
                "DELETE FROM conflicts WHERE connection = $1 AND origin = $2",
                &[&c, &origin],
            )
        } else {
            let text = to_json("conflicts", &record.conflicts)?;
            self.run(
                "cannot write conflicts",
                "INSERT INTO conflicts (connection, origin, record) VALUES ($1, $2, $3) \
                 ON CONFLICT (connection, origin) DO UPDATE SET record = excluded.record",
                &[&c, &origin, &text],
            )
        };
        done.map(drop).map_err(|e| {
            e.with_connection(&record.connection)
                .with_issue(&record.origin)
        })
    }

    fn peer_link(&mut self, connection: &ConnectionId) -> Result<Option<PeerLink>> {
        let row = self
            .row(
                "cannot read the peer link",
                "SELECT record, code FROM peer_links WHERE connection = $1",
                &[&connection.as_str()],
            )
            .map_err(|e| e.with_connection(connection))?;
        let Some(row) = row else {
            return Ok(None);
        };
        let record: String = self.get(&row, 0, "peer link")?;
        let code: Vec<u8> = self.get(&row, 1, "peer link")?;
        let link: LinkRecord = self.json("peer link", &record)?;
        Ok(Some(link.into_link(
            connection.clone(),
            StoredSecret::from_bytes(code),
        )))
    }

    fn put_peer_link(&mut self, link: &PeerLink) -> Result<()> {
        let record = to_json("peer link", &LinkRecord::of(link))?;
        self.run(
            "cannot write the peer link",
            "INSERT INTO peer_links (connection, record, code) VALUES ($1, $2, $3) \
             ON CONFLICT (connection) DO UPDATE SET record = excluded.record, code = excluded.code",
            &[&link.connection.as_str(), &record, &link.code.as_bytes()],
        )
        .map_err(|e| e.with_connection(&link.connection))?;
        Ok(())
    }

    fn delete_peer_link(&mut self, connection: &ConnectionId) -> Result<()> {
        self.delete_of("cannot delete the peer link", "peer_links", connection)
    }

    fn seq_mark(&mut self, connection: &ConnectionId, mark: &SeqMark) -> Result<Option<u64>> {
        let (kind, issue) = mark_columns(mark);
        let row = self
            .row(
                "cannot read a sequence mark",
                "SELECT value FROM seq_marks WHERE connection = $1 AND mark = $2 AND issue = $3",
                &[&connection.as_str(), &kind, &issue],
            )
            .map_err(|e| e.with_connection(connection))?;
        row.map(|r| Ok(from_sql_u64(self.get(&r, 0, "sequence mark")?)))
            .transpose()
    }

    fn set_seq_mark(
        &mut self,
        connection: &ConnectionId,
        mark: &SeqMark,
        value: Option<u64>,
    ) -> Result<()> {
        let (kind, issue) = mark_columns(mark);
        let c = connection.as_str();
        let done = match value {
            Some(v) => self.run(
                "cannot write a sequence mark",
                "INSERT INTO seq_marks (connection, mark, issue, value) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (connection, mark, issue) DO UPDATE SET value = excluded.value",
                &[&c, &kind, &issue, &to_sql_u64(v)],
            ),
            None => self.run(
                "cannot delete a sequence mark",
                "DELETE FROM seq_marks WHERE connection = $1 AND mark = $2 AND issue = $3",
                &[&c, &kind, &issue],
            ),
        };
        done.map(drop).map_err(|e| e.with_connection(connection))
    }

    fn peer_gone(&mut self, connection: &ConnectionId, issue: &IssueId) -> Result<bool> {
        self.flag("peer_gone", connection, issue)
    }

    fn set_peer_gone(
        &mut self,
        connection: &ConnectionId,
        issue: &IssueId,
        gone: bool,
    ) -> Result<()> {
        self.set_flag("peer_gone", connection, issue, gone)
    }

    fn origin_here(&mut self, connection: &ConnectionId, issue: &IssueId) -> Result<bool> {
        self.flag("origins", connection, issue)
    }

    fn set_origin_here(
        &mut self,
        connection: &ConnectionId,
        issue: &IssueId,
        here: bool,
    ) -> Result<()> {
        self.set_flag("origins", connection, issue, here)
    }

    fn outgoing(&mut self, connection: &ConnectionId) -> Result<Vec<OutgoingRecord>> {
        let rows = self
            .rows(
                "cannot read outgoing records",
                "SELECT issue, key, new, match_existing FROM outgoing \
                 WHERE connection = $1 ORDER BY issue",
                &[&connection.as_str()],
            )
            .map_err(|e| e.with_connection(connection))?;
        rows.iter()
            .map(|r| {
                let issue: String = self.get(r, 0, "outgoing issue id")?;
                let key: String = self.get(r, 1, "outgoing issue key")?;
                Ok(OutgoingRecord {
                    connection: connection.clone(),
                    issue: self.id("outgoing issue id", &issue)?,
                    key: self.id("outgoing issue key", &key)?,
                    new: self.get(r, 2, "outgoing record")?,
                    match_existing: self.get(r, 3, "outgoing record")?,
                })
            })
            .collect()
    }

    fn put_outgoing(&mut self, r: &OutgoingRecord) -> Result<()> {
        self.run(
            "cannot write an outgoing record",
            "INSERT INTO outgoing (connection, issue, key, new, match_existing) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (connection, issue) DO UPDATE \
             SET key = excluded.key, new = excluded.new, match_existing = excluded.match_existing",
            &[
                &r.connection.as_str(),
                &r.issue.as_str(),
                &r.key.as_str(),
                &r.new,
                &r.match_existing,
            ],
        )
        .map_err(|e| e.with_connection(&r.connection).with_issue(&r.issue))?;
        Ok(())
    }

    fn delete_outgoing(&mut self, connection: &ConnectionId, issue: &IssueId) -> Result<()> {
        self.run(
            "cannot delete an outgoing record",
            "DELETE FROM outgoing WHERE connection = $1 AND issue = $2",
            &[&connection.as_str(), &issue.as_str()],
        )
        .map_err(|e| e.with_connection(connection).with_issue(issue))?;
        Ok(())
    }

    fn post_outbox(&mut self, m: &OutboxMessage) -> Result<u64> {
        let c = m.connection.as_str();
        let with = |e: Error| e.with_connection(&m.connection);
        if let Some(issue) = &m.issue {
            self.run(
                "cannot replace a waiting message",
                "DELETE FROM outbox WHERE connection = $1 AND issue = $2",
                &[&c, &issue.as_str()],
            )
            .map_err(with)?;
        }
        let posted = time_text("outbox time", m.posted)?;
        let row = self
            .row(
                "cannot post a message",
                "INSERT INTO outbox (connection, issue, body, posted) VALUES ($1, $2, $3, $4) \
                 RETURNING seq",
                &[&c, &m.issue.as_ref().map(|i| i.as_str()), &m.body, &posted],
            )
            .map_err(with)?
            .ok_or_else(|| {
                with(super::error::invalid(
                    self.db,
                    "cannot post a message: the server returned no number",
                ))
            })?;
        Ok(count(self.get(&row, 0, "outbox number")?))
    }

    fn outbox(&mut self, connection: &ConnectionId, limit: usize) -> Result<Vec<OutboxMessage>> {
        let rows = self
            .rows(
                "cannot read the outbox",
                "SELECT seq, issue, body, posted FROM outbox WHERE connection = $1 \
                 ORDER BY seq LIMIT $2",
                &[&connection.as_str(), &bigint(limit)],
            )
            .map_err(|e| e.with_connection(connection))?;
        rows.iter()
            .map(|r| {
                let issue: Option<String> = self.get(r, 1, "outbox issue id")?;
                let posted: String = self.get(r, 3, "outbox time")?;
                Ok(OutboxMessage {
                    seq: count(self.get(r, 0, "outbox number")?),
                    connection: connection.clone(),
                    issue: issue.map(|i| self.id("outbox issue id", &i)).transpose()?,
                    body: self.get(r, 2, "outbox message")?,
                    posted: self.time("outbox time", &posted)?,
                })
            })
            .collect()
    }

    fn outbox_len(&mut self, connection: &ConnectionId) -> Result<u64> {
        self.count_of("cannot count the outbox", "outbox", connection)
    }

    fn remove_outbox(&mut self, connection: &ConnectionId, through: u64) -> Result<()> {
        self.run(
            "cannot remove taken messages",
            "DELETE FROM outbox WHERE connection = $1 AND seq <= $2",
            &[&connection.as_str(), &bigint(through)],
        )
        .map_err(|e| e.with_connection(connection))?;
        Ok(())
    }

    fn peer_outage(&mut self, connection: &ConnectionId) -> Result<Option<PeerOutage>> {
        self.record(
            "peer outage",
            "SELECT record FROM peer_outages WHERE connection = $1",
            &[connection.as_str()],
        )
        .map_err(|e| e.with_connection(connection))
    }

    fn put_peer_outage(&mut self, outage: &PeerOutage) -> Result<()> {
        let record = to_json("peer outage", outage)?;
        self.run(
            "cannot write the peer outage",
            "INSERT INTO peer_outages (connection, record) VALUES ($1, $2) \
             ON CONFLICT (connection) DO UPDATE SET record = excluded.record",
            &[&outage.connection.as_str(), &record],
        )
        .map_err(|e| e.with_connection(&outage.connection))?;
        Ok(())
    }

    fn clear_peer_outage(&mut self, connection: &ConnectionId) -> Result<()> {
        self.delete_of("cannot delete the peer outage", "peer_outages", connection)
    }

    fn invitations(&mut self) -> Result<Vec<InvitationRecord>> {
        let rows = self.rows(
            "cannot read invitations",
            "SELECT connection, code, state FROM invitations ORDER BY connection",
            &[],
        )?;
        rows.iter()
            .map(|r| {
                let connection: String = self.get(r, 0, "invitation")?;
                let code: Vec<u8> = self.get(r, 1, "invitation")?;
                let state: String = self.get(r, 2, "invitation state")?;
                Ok(InvitationRecord {
                    connection: self.id("invitation's connection id", &connection)?,
                    code: StoredSecret::from_bytes(code),
                    state: self.json("invitation state", &state)?,
                })
            })
            .collect()
    }

    fn put_invitation(&mut self, r: &InvitationRecord) -> Result<()> {
        let state = to_json("invitation state", &r.state)?;
        self.run(
            "cannot write an invitation",
            "INSERT INTO invitations (connection, code, state) VALUES ($1, $2, $3) \
             ON CONFLICT (connection) DO UPDATE SET code = excluded.code, state = excluded.state",
            &[&r.connection.as_str(), &r.code.as_bytes(), &state],
        )
        .map_err(|e| e.with_connection(&r.connection))?;
        Ok(())
    }

    fn delete_invitation(&mut self, connection: &ConnectionId) -> Result<()> {
        self.delete_of("cannot delete an invitation", "invitations", connection)
    }

    fn rule_history(&mut self, connection: &ConnectionId) -> Result<Option<RuleHistory>> {
        self.record(
            "rule versions",
            "SELECT record FROM rule_histories WHERE connection = $1",
            &[connection.as_str()],
        )
        .map_err(|e| e.with_connection(connection))
    }

    fn put_rule_history(&mut self, connection: &ConnectionId, history: &RuleHistory) -> Result<()> {
        let record = to_json("rule versions", history)?;
        self.run(
            "cannot write rule versions",
            "INSERT INTO rule_histories (connection, record) VALUES ($1, $2) \
             ON CONFLICT (connection) DO UPDATE SET record = excluded.record",
            &[&connection.as_str(), &record],
        )
        .map_err(|e| e.with_connection(connection))?;
        Ok(())
    }

    fn bulk_progress(
        &mut self,
        connection: &ConnectionId,
        query: &str,
    ) -> Result<Option<BulkProgress>> {
        let next = self
            .text(
                "cannot read bulk progress",
                "bulk progress",
                "SELECT next_page FROM bulk_progress WHERE connection = $1 AND query = $2",
                &[connection.as_str(), query],
            )
            .map_err(|e| e.with_connection(connection))?;
        Ok(next.map(|next_page| BulkProgress {
            connection: connection.clone(),
            query: query.to_owned(),
            next_page,
        }))
    }

    fn put_bulk_progress(&mut self, p: &BulkProgress) -> Result<()> {
        self.run(
            "cannot write bulk progress",
            "INSERT INTO bulk_progress (connection, query, next_page) VALUES ($1, $2, $3) \
             ON CONFLICT (connection, query) DO UPDATE SET next_page = excluded.next_page",
            &[&p.connection.as_str(), &p.query, &p.next_page],
        )
        .map_err(|e| e.with_connection(&p.connection))?;
        Ok(())
    }

    fn delete_bulk_progress(&mut self, connection: &ConnectionId, query: &str) -> Result<()> {
        self.run(
            "cannot delete bulk progress",
            "DELETE FROM bulk_progress WHERE connection = $1 AND query = $2",
            &[&connection.as_str(), &query],
        )
        .map_err(|e| e.with_connection(connection))?;
        Ok(())
    }

    fn node_record(&mut self) -> Result<NodeRecord> {
        let found = self.record("node record", "SELECT record FROM node WHERE id = 1", &[])?;
        Ok(found.unwrap_or_default())
    }

    fn put_node_record(&mut self, record: &NodeRecord) -> Result<()> {
        let text = to_json("node record", record)?;
        self.run(
            "cannot write the node record",
            "INSERT INTO node (id, record) VALUES (1, $1) \
             ON CONFLICT (id) DO UPDATE SET record = excluded.record",
            &[&text],
        )?;
        Ok(())
    }

    fn lease(&mut self, name: &str) -> Result<Option<Lease>> {
        self.lease_locked(name)
    }

    fn put_lease(&mut self, lease: &Lease) -> Result<()> {
        self.write_lease(lease)
    }

    fn delete_lease(&mut self, name: &str) -> Result<()> {
        self.remove_lease(name)
    }

    fn next_lease_epoch(&mut self) -> Result<u64> {
        self.draw_lease_epoch()
    }

    fn hold(&mut self, name: &str) -> Result<Option<OffsetDateTime>> {
        self.read_hold(name)
    }

    fn put_hold(&mut self, name: &str, until: OffsetDateTime) -> Result<()> {
        self.write_hold(name, until)
    }

    fn commit(mut self: Box<Self>) -> Result<()> {
        self.finish()
    }
}
