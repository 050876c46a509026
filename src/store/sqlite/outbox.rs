//! The outbox of messages waiting for the other node of a remote connection,
//! and that node's outage, as SQL (schema version 3).

use rusqlite::params;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::Result;
use crate::model::ConnectionId;
use crate::store::{OutboxMessage, PeerOutage};

use super::error::invalid;
use super::typed::Records;
use crate::store::columns::{time_text, to_json};

/// An outbox number in an SQLite INTEGER (AUTOINCREMENT keeps it positive).
fn to_seq(rowid: i64) -> u64 {
    u64::try_from(rowid).unwrap_or(0)
}

fn to_rowid(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

impl Records<'_> {
    pub(super) fn post_outbox(&self, m: &OutboxMessage) -> Result<u64> {
        let c = m.connection.as_str();
        if let Some(issue) = &m.issue {
            self.run(
                "cannot replace a waiting message",
                "DELETE FROM outbox WHERE connection = ?1 AND issue = ?2",
                [c, issue.as_str()],
            )?;
        }
        let posted = time_text("outbox time", m.posted)?;
        self.run(
            "cannot post a message",
            "INSERT INTO outbox (connection, issue, body, posted) VALUES (?1, ?2, ?3, ?4)",
            params![c, m.issue.as_ref().map(|i| i.as_str()), m.body, posted],
        )?;
        Ok(to_seq(self.conn.last_insert_rowid()))
    }

    pub(super) fn outbox(&self, c: &ConnectionId, limit: usize) -> Result<Vec<OutboxMessage>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows: Vec<(i64, Option<String>, String, String)> = self.rows(
            "cannot read the outbox",
            "SELECT seq, issue, body, posted FROM outbox WHERE connection = ?1 \
             ORDER BY seq LIMIT ?2",
            params![c.as_str(), limit],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )?;
        rows.into_iter()
            .map(|(seq, issue, body, posted)| {
                let posted = OffsetDateTime::parse(&posted, &Rfc3339).map_err(|e| {
                    self.named(invalid(
                        self.db,
                        format!("stored outbox time {posted:?} is unreadable: {e}"),
                    ))
                })?;
                Ok(OutboxMessage {
                    seq: to_seq(seq),
                    connection: c.clone(),
                    issue: issue.map(|i| self.id("outbox issue id", &i)).transpose()?,
                    body,
                    posted,
                })
            })
            .collect()
    }

    pub(super) fn outbox_len(&self, c: &ConnectionId) -> Result<u64> {
        let n: Option<i64> = self.row(
            "cannot count the outbox",
            "SELECT count(*) FROM outbox WHERE connection = ?1",
            [c.as_str()],
            |r| r.get(0),
        )?;
        Ok(n.map_or(0, to_seq))
    }

    pub(super) fn remove_outbox(&self, c: &ConnectionId, through: u64) -> Result<()> {
        self.run(
            "cannot remove taken messages",
            "DELETE FROM outbox WHERE connection = ?1 AND seq <= ?2",
            params![c.as_str(), to_rowid(through)],
        )
    }

    pub(super) fn peer_outage(&self, c: &ConnectionId) -> Result<Option<PeerOutage>> {
        let text: Option<String> = self.row(
            "cannot read the peer outage",
            "SELECT record FROM peer_outages WHERE connection = ?1",
            [c.as_str()],
            |r| r.get(0),
        )?;
        text.map(|t| self.json("peer outage", &t)).transpose()
    }

    pub(super) fn put_peer_outage(&self, outage: &PeerOutage) -> Result<()> {
        let record = to_json("peer outage", outage)?;
        self.run(
            "cannot write the peer outage",
            "INSERT INTO peer_outages (connection, record) VALUES (?1, ?2) \
             ON CONFLICT (connection) DO UPDATE SET record = excluded.record",
            params![outage.connection.as_str(), record],
        )
    }

    pub(super) fn clear_peer_outage(&self, c: &ConnectionId) -> Result<()> {
        self.run(
            "cannot delete the peer outage",
            "DELETE FROM peer_outages WHERE connection = ?1",
            [c.as_str()],
        )
    }
}
