//! What a node keeps about the other node of a remote connection, as SQL:
//! peer links (their code, a secret, in a column of its own), sequence
//! marks, gone and origin flags, outgoing records, the outbox and the
//! peer's outage.

use crate::error::{Error, Result};
use crate::model::{ConnectionId, IssueId};
use crate::store::columns::{
    LinkRecord, from_sql_u64, mark_columns, time_text, to_json, to_sql_u64,
};
use crate::store::{OutboxMessage, OutgoingRecord, PeerLink, PeerOutage, SeqMark, StoredSecret};

use super::rows::{bigint, count};
use super::txn::PgTxn;

impl PgTxn<'_> {
    /// Whether a flag table holds (connection, issue).
    pub(super) fn flag(&mut self, table: &str, c: &ConnectionId, issue: &IssueId) -> Result<bool> {
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
    pub(super) fn set_flag(
        &mut self,
        table: &str,
        c: &ConnectionId,
        issue: &IssueId,
        on: bool,
    ) -> Result<()> {
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

    pub(super) fn read_peer_link(&mut self, connection: &ConnectionId) -> Result<Option<PeerLink>> {
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

    pub(super) fn write_peer_link(&mut self, link: &PeerLink) -> Result<()> {
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

    pub(super) fn read_seq_mark(
        &mut self,
        connection: &ConnectionId,
        mark: &SeqMark,
    ) -> Result<Option<u64>> {
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

    pub(super) fn write_seq_mark(
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

    pub(super) fn outgoing_records(
        &mut self,
        connection: &ConnectionId,
    ) -> Result<Vec<OutgoingRecord>> {
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

    pub(super) fn write_outgoing(&mut self, r: &OutgoingRecord) -> Result<()> {
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

    pub(super) fn append_to_outbox(&mut self, m: &OutboxMessage) -> Result<u64> {
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

    pub(super) fn outbox_page(
        &mut self,
        connection: &ConnectionId,
        limit: usize,
    ) -> Result<Vec<OutboxMessage>> {
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

    pub(super) fn write_peer_outage(&mut self, outage: &PeerOutage) -> Result<()> {
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
}
