//! What a node keeps about the other node of a remote connection, as SQL:
//! peer links (their code, a secret, in a column of its own), sequence
//! marks, gone flags and outgoing records.

use rusqlite::params;

use crate::error::Result;
use crate::model::{ConnectionId, IssueId};
use crate::store::columns::{LinkRecord, from_sql_u64, mark_columns, to_json, to_sql_u64};
use crate::store::{OutgoingRecord, PeerLink, SeqMark, StoredSecret};

use super::typed::Records;

impl Records<'_> {
    pub(super) fn peer_link(&self, c: &ConnectionId) -> Result<Option<PeerLink>> {
        // CAST: files of older twinsync versions hold the code as TEXT.
        let row: Option<(String, Vec<u8>)> = self.row(
            "cannot read the peer link",
            "SELECT record, CAST(code AS BLOB) FROM peer_links WHERE connection = ?1",
            [c.as_str()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let Some((record, code)) = row else {
            return Ok(None);
        };
        let code = StoredSecret::from_bytes(code);
        let link: LinkRecord = self.json("peer link", &record)?;
        Ok(Some(link.into_link(c.clone(), code)))
    }

    pub(super) fn put_peer_link(&self, link: &PeerLink) -> Result<()> {
        let record = to_json("peer link", &LinkRecord::of(link))?;
        self.run(
            "cannot write the peer link",
            "INSERT INTO peer_links (connection, record, code) VALUES (?1, ?2, ?3) \
             ON CONFLICT (connection) DO UPDATE SET record = excluded.record, code = excluded.code",
            params![link.connection.as_str(), record, link.code.as_bytes()],
        )
    }

    pub(super) fn delete_peer_link(&self, c: &ConnectionId) -> Result<()> {
        self.run(
            "cannot delete the peer link",
            "DELETE FROM peer_links WHERE connection = ?1",
            [c.as_str()],
        )
    }

    pub(super) fn seq_mark(&self, c: &ConnectionId, mark: &SeqMark) -> Result<Option<u64>> {
        let (kind, issue) = mark_columns(mark);
        let value: Option<i64> = self.row(
            "cannot read a sequence mark",
            "SELECT value FROM seq_marks WHERE connection = ?1 AND mark = ?2 AND issue = ?3",
            [c.as_str(), kind, issue],
            |r| r.get(0),
        )?;
        Ok(value.map(from_sql_u64))
    }

    pub(super) fn set_seq_mark(
        &self,
        c: &ConnectionId,
        mark: &SeqMark,
        value: Option<u64>,
    ) -> Result<()> {
        let (kind, issue) = mark_columns(mark);
        match value {
            Some(v) => self.run(
                "cannot write a sequence mark",
                "INSERT INTO seq_marks (connection, mark, issue, value) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (connection, mark, issue) DO UPDATE SET value = excluded.value",
                params![c.as_str(), kind, issue, to_sql_u64(v)],
            ),
            None => self.run(
                "cannot delete a sequence mark",
                "DELETE FROM seq_marks WHERE connection = ?1 AND mark = ?2 AND issue = ?3",
                [c.as_str(), kind, issue],
            ),
        }
    }

    pub(super) fn peer_gone(&self, c: &ConnectionId, issue: &IssueId) -> Result<bool> {
        self.flag("peer_gone", c, issue)
    }

    pub(super) fn set_peer_gone(
        &self,
        c: &ConnectionId,
        issue: &IssueId,
        gone: bool,
    ) -> Result<()> {
        self.set_flag("peer_gone", c, issue, gone)
    }

    pub(super) fn origin_here(&self, c: &ConnectionId, issue: &IssueId) -> Result<bool> {
        self.flag("origins", c, issue)
    }

    pub(super) fn set_origin_here(
        &self,
        c: &ConnectionId,
        issue: &IssueId,
        here: bool,
    ) -> Result<()> {
        self.set_flag("origins", c, issue, here)
    }

    /// Whether a flag table holds (connection, issue).
    fn flag(&self, table: &str, c: &ConnectionId, issue: &IssueId) -> Result<bool> {
        let found: Option<i64> = self.row(
            &format!("cannot read a flag of {table}"),
            &format!("SELECT 1 FROM {table} WHERE connection = ?1 AND issue = ?2"),
            [c.as_str(), issue.as_str()],
            |r| r.get(0),
        )?;
        Ok(found.is_some())
    }

    /// Sets or clears (connection, issue) in a flag table.
    fn set_flag(&self, table: &str, c: &ConnectionId, issue: &IssueId, on: bool) -> Result<()> {
        let key = [c.as_str(), issue.as_str()];
        if on {
            self.run(
                &format!("cannot write a flag of {table}"),
                &format!(
                    "INSERT INTO {table} (connection, issue) VALUES (?1, ?2) ON CONFLICT DO NOTHING"
                ),
                key,
            )
        } else {
            self.run(
                &format!("cannot delete a flag of {table}"),
                &format!("DELETE FROM {table} WHERE connection = ?1 AND issue = ?2"),
                key,
            )
        }
    }

    pub(super) fn outgoing(&self, c: &ConnectionId) -> Result<Vec<OutgoingRecord>> {
        let rows: Vec<(String, String, bool, bool)> = self.rows(
            "cannot read outgoing records",
            "SELECT issue, key, new, match_existing FROM outgoing \
             WHERE connection = ?1 ORDER BY issue",
            [c.as_str()],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )?;
        rows.into_iter()
            .map(|(issue, key, new, match_existing)| {
                Ok(OutgoingRecord {
                    connection: c.clone(),
                    issue: self.id("outgoing issue id", &issue)?,
                    key: self.id("outgoing issue key", &key)?,
                    new,
                    match_existing,
                })
            })
            .collect()
    }

    pub(super) fn put_outgoing(&self, r: &OutgoingRecord) -> Result<()> {
        self.run(
            "cannot write an outgoing record",
            "INSERT INTO outgoing (connection, issue, key, new, match_existing) \
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (connection, issue) DO UPDATE \
             SET key = excluded.key, new = excluded.new, match_existing = excluded.match_existing",
            params![
                r.connection.as_str(),
                r.issue.as_str(),
                r.key.as_str(),
                r.new,
                r.match_existing
            ],
        )
    }

    pub(super) fn delete_outgoing(&self, c: &ConnectionId, issue: &IssueId) -> Result<()> {
        self.run(
            "cannot delete an outgoing record",
            "DELETE FROM outgoing WHERE connection = ?1 AND issue = ?2",
            [c.as_str(), issue.as_str()],
        )
    }
}
