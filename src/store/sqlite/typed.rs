//! The typed records of schema version 2 as SQL: last sync times, conflicts,
//! invitations, rule histories, bulk progress and the node record; what a
//! node keeps about its peer (links, sequence marks, gone flags, outgoing
//! records) is in `peer.rs`.
//!
//! [`Records`] runs on any open transaction: the store's (through
//! `SqliteTxn::records`) and the migration's, which writes what version 1
//! kept in `meta` with the same statements.
//!
//! Invitation codes are secrets: they are written to and read from `code`
//! columns and never put in a message.

use rusqlite::{Connection, OptionalExtension, params};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::connection::InvitationState;
use crate::error::{Error, Result};
use crate::model::{ConnectionId, IssueId};
use crate::plan::Conflict;
use crate::rules::RuleHistory;
use crate::store::{BulkProgress, InvitationRecord, NodeRecord, StoredSecret, TwinConflicts};

use super::error::{invalid, storage};
use crate::store::columns::{time_text, to_json};

/// The typed records on an open transaction of database `db`; errors name
/// `connection` when it is set.
pub(super) struct Records<'c> {
    pub(super) conn: &'c Connection,
    pub(super) db: &'c str,
    pub(super) connection: Option<&'c ConnectionId>,
}

impl Records<'_> {
    pub(super) fn named(&self, err: Error) -> Error {
        match self.connection {
            Some(c) => err.with_connection(c),
            None => err,
        }
    }

    fn fail<'s>(&'s self, doing: &'s str) -> impl Fn(rusqlite::Error) -> Error + 's {
        move |e| self.named(storage(self.db, doing, e))
    }

    pub(super) fn rows<T>(
        &self,
        doing: &str,
        sql: &str,
        params: impl rusqlite::Params,
        row: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(self.fail(doing))?;
        let rows = stmt
            .query_map(params, row)
            .map_err(self.fail(doing))?
            .collect::<rusqlite::Result<Vec<T>>>()
            .map_err(self.fail(doing))?;
        Ok(rows)
    }

    pub(super) fn row<T>(
        &self,
        doing: &str,
        sql: &str,
        params: impl rusqlite::Params,
        row: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Option<T>> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(self.fail(doing))?;
        stmt.query_row(params, row)
            .optional()
            .map_err(self.fail(doing))
    }

    pub(super) fn run(&self, doing: &str, sql: &str, params: impl rusqlite::Params) -> Result<()> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(self.fail(doing))?;
        stmt.execute(params).map_err(self.fail(doing))?;
        Ok(())
    }

    pub(super) fn json<T: serde::de::DeserializeOwned>(&self, what: &str, text: &str) -> Result<T> {
        serde_json::from_str(text).map_err(|e| {
            self.named(invalid(
                self.db,
                format!("stored {what} is unreadable: {e}"),
            ))
        })
    }

    /// Reads an id stored as text: a malformed one is a `Storage` error.
    pub(super) fn id<T: std::str::FromStr<Err = Error>>(
        &self,
        what: &str,
        text: &str,
    ) -> Result<T> {
        text.parse().map_err(|e: Error| {
            self.named(invalid(
                self.db,
                format!("stored {what} is unreadable: {e}"),
            ))
        })
    }

    pub(super) fn last_sync(&self, c: &ConnectionId) -> Result<Option<OffsetDateTime>> {
        let text: Option<String> = self.row(
            "cannot read the last sync time",
            "SELECT at FROM last_sync WHERE connection = ?1",
            [c.as_str()],
            |r| r.get(0),
        )?;
        text.map(|t| {
            OffsetDateTime::parse(&t, &Rfc3339).map_err(|e| {
                self.named(invalid(
                    self.db,
                    format!("stored last sync time {t:?} is unreadable: {e}"),
                ))
            })
        })
        .transpose()
    }

    pub(super) fn set_last_sync(&self, c: &ConnectionId, at: OffsetDateTime) -> Result<()> {
        let text = time_text("last sync time", at)?;
        self.run(
            "cannot write the last sync time",
            "INSERT INTO last_sync (connection, at) VALUES (?1, ?2) \
             ON CONFLICT (connection) DO UPDATE SET at = excluded.at",
            params![c.as_str(), text],
        )
    }

    pub(super) fn twin_conflicts(
        &self,
        c: &ConnectionId,
        origin: &IssueId,
    ) -> Result<Vec<Conflict>> {
        let text: Option<String> = self.row(
            "cannot read conflicts",
            "SELECT record FROM conflicts WHERE connection = ?1 AND origin = ?2",
            [c.as_str(), origin.as_str()],
            |r| r.get(0),
        )?;
        text.map_or(Ok(Vec::new()), |t| self.json("conflicts", &t))
    }

    pub(super) fn conflicts(&self, c: &ConnectionId) -> Result<Vec<TwinConflicts>> {
        let rows: Vec<(String, String)> = self.rows(
            "cannot read conflicts",
            "SELECT origin, record FROM conflicts WHERE connection = ?1 ORDER BY origin",
            [c.as_str()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        rows.into_iter()
            .map(|(origin, record)| {
                Ok(TwinConflicts {
                    connection: c.clone(),
                    origin: self.id("conflicts' issue id", &origin)?,
                    conflicts: self.json("conflicts", &record)?,
                })
            })
            .collect()
    }

    pub(super) fn put_conflicts(&self, record: &TwinConflicts) -> Result<()> {
        let key = [record.connection.as_str(), record.origin.as_str()];
        if record.conflicts.is_empty() {
            return self.run(
                "cannot delete conflicts",
                "DELETE FROM conflicts WHERE connection = ?1 AND origin = ?2",
                key,
            );
        }
        let text = to_json("conflicts", &record.conflicts)?;
        self.run(
            "cannot write conflicts",
            "INSERT INTO conflicts (connection, origin, record) VALUES (?1, ?2, ?3) \
             ON CONFLICT (connection, origin) DO UPDATE SET record = excluded.record",
            params![key[0], key[1], text],
        )
    }

    pub(super) fn invitations(&self) -> Result<Vec<InvitationRecord>> {
        // CAST: files of older twinsync versions hold the code as TEXT.
        let rows: Vec<(String, Vec<u8>, String)> = self.rows(
            "cannot read invitations",
            "SELECT connection, CAST(code AS BLOB), state FROM invitations ORDER BY connection",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        rows.into_iter()
            .map(|(connection, code, state)| {
                let code = StoredSecret::from_bytes(code);
                let connection = ConnectionId::parse(&connection).map_err(|e| {
                    invalid(self.db, format!("stored invitation is unreadable: {e}"))
                })?;
                let state: InvitationState = self.json("invitation state", &state)?;
                Ok(InvitationRecord {
                    connection,
                    code,
                    state,
                })
            })
            .collect()
    }

    pub(super) fn put_invitation(&self, r: &InvitationRecord) -> Result<()> {
        let state = to_json("invitation state", &r.state)?;
        self.run(
            "cannot write an invitation",
            "INSERT INTO invitations (connection, code, state) VALUES (?1, ?2, ?3) \
             ON CONFLICT (connection) DO UPDATE SET code = excluded.code, state = excluded.state",
            params![r.connection.as_str(), r.code.as_bytes(), state],
        )
    }

    pub(super) fn delete_invitation(&self, c: &ConnectionId) -> Result<()> {
        self.run(
            "cannot delete an invitation",
            "DELETE FROM invitations WHERE connection = ?1",
            [c.as_str()],
        )
    }

    pub(super) fn rule_history(&self, c: &ConnectionId) -> Result<Option<RuleHistory>> {
        let text: Option<String> = self.row(
            "cannot read rule versions",
            "SELECT record FROM rule_histories WHERE connection = ?1",
            [c.as_str()],
            |r| r.get(0),
        )?;
        text.map(|t| self.json("rule versions", &t)).transpose()
    }

    pub(super) fn put_rule_history(&self, c: &ConnectionId, history: &RuleHistory) -> Result<()> {
        let record = to_json("rule versions", history)?;
        self.run(
            "cannot write rule versions",
            "INSERT INTO rule_histories (connection, record) VALUES (?1, ?2) \
             ON CONFLICT (connection) DO UPDATE SET record = excluded.record",
            params![c.as_str(), record],
        )
    }

    pub(super) fn bulk_progress(
        &self,
        c: &ConnectionId,
        query: &str,
    ) -> Result<Option<BulkProgress>> {
        let next: Option<String> = self.row(
            "cannot read bulk progress",
            "SELECT next_page FROM bulk_progress WHERE connection = ?1 AND query = ?2",
            [c.as_str(), query],
            |r| r.get(0),
        )?;
        Ok(next.map(|next_page| BulkProgress {
            connection: c.clone(),
            query: query.to_owned(),
            next_page,
        }))
    }

    pub(super) fn put_bulk_progress(&self, p: &BulkProgress) -> Result<()> {
        self.run(
            "cannot write bulk progress",
            "INSERT INTO bulk_progress (connection, query, next_page) VALUES (?1, ?2, ?3) \
             ON CONFLICT (connection, query) DO UPDATE SET next_page = excluded.next_page",
            params![p.connection.as_str(), p.query, p.next_page],
        )
    }

    pub(super) fn delete_bulk_progress(&self, c: &ConnectionId, query: &str) -> Result<()> {
        self.run(
            "cannot delete bulk progress",
            "DELETE FROM bulk_progress WHERE connection = ?1 AND query = ?2",
            [c.as_str(), query],
        )
    }

    pub(super) fn node_record(&self) -> Result<NodeRecord> {
        let text: Option<String> = self.row(
            "cannot read the node record",
            "SELECT record FROM node WHERE id = 1",
            [],
            |r| r.get(0),
        )?;
        text.map_or(Ok(NodeRecord::default()), |t| self.json("node record", &t))
    }

    pub(super) fn put_node_record(&self, record: &NodeRecord) -> Result<()> {
        let text = to_json("node record", record)?;
        self.run(
            "cannot write the node record",
            "INSERT INTO node (id, record) VALUES (1, ?1) \
             ON CONFLICT (id) DO UPDATE SET record = excluded.record",
            [text],
        )
    }
}
