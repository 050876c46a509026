//! The status panel's questions as indexed SQL: one page of twins (keyset
//! paging on the primary key, key matches on the key indexes of schema
//! version 4) and the counts of a connection's records.

use rusqlite::params;

use crate::error::Result;
use crate::model::ConnectionId;
use crate::plan::TwinState;
use crate::store::{KeyMatch, StatusCounts, TwinQuery};

use super::txn::SqliteTxn;

pub(super) use crate::store::columns::folded_key as folded;

/// The range of folded keys a match covers: `[low, high)`. Keys are ASCII,
/// below `\x7f`, so every key starting with `low` sorts before `low\x7f`.
fn key_range(key: &KeyMatch) -> (String, String) {
    match key {
        KeyMatch::Exact(k) => {
            let low = folded(k.as_str());
            let high = format!("{low}\u{0}");
            (low, high)
        }
        KeyMatch::Prefix(p) => {
            let low = folded(p);
            let high = format!("{low}\u{7f}");
            (low, high)
        }
    }
}

impl SqliteTxn<'_> {
    pub(super) fn page_of_twins(
        &self,
        connection: &ConnectionId,
        query: &TwinQuery,
    ) -> Result<Vec<TwinState>> {
        let c = connection.as_str();
        // No issue id is empty, so '' is before the first.
        let after = query.after.as_ref().map_or("", |a| a.as_str());
        let limit = i64::try_from(query.limit).unwrap_or(i64::MAX);
        let blobs: Vec<Vec<u8>> = match &query.key {
            None => self.rows(
                "cannot read a page of twins",
                "SELECT state FROM twins WHERE connection = ?1 AND remote > ?2 \
                 ORDER BY remote LIMIT ?3",
                params![c, after, limit],
                |r| r.get(0),
            ),
            Some(key) => {
                let (low, high) = key_range(key);
                // Each side of the OR from its own index; the union is then
                // ordered by the primary key.
                self.rows(
                    "cannot search twins by key",
                    "SELECT state FROM twins WHERE connection = ?1 AND remote > ?2 AND remote IN ( \
                     SELECT remote FROM twins WHERE connection = ?1 \
                       AND remote_key >= ?3 AND remote_key < ?4 \
                     UNION SELECT remote FROM twins WHERE connection = ?1 \
                       AND local_key >= ?3 AND local_key < ?4) \
                     ORDER BY remote LIMIT ?5",
                    params![c, after, low, high, limit],
                    |r| r.get(0),
                )
            }
        }
        .map_err(|e| e.with_connection(connection))?;
        blobs.iter().map(|b| self.twin(b)).collect()
    }

    pub(super) fn counts(&self, connection: &ConnectionId) -> Result<StatusCounts> {
        let count = |what: &str, sql: &str| -> Result<u64> {
            let n: Option<i64> = self
                .row(what, sql, [connection.as_str()], |r| r.get(0))
                .map_err(|e| e.with_connection(connection))?;
            Ok(n.unwrap_or(0).unsigned_abs())
        };
        Ok(StatusCounts {
            // Kept by triggers (schema version 4): no count of a million rows.
            twins: count(
                "cannot count twins",
                "SELECT twins FROM twin_counts WHERE connection = ?1",
            )?,
            errors: count(
                "cannot count twin errors",
                "SELECT count(*) FROM errors WHERE connection = ?1",
            )?,
            conflicts: count(
                "cannot count conflicts",
                "SELECT count(*) FROM conflicts WHERE connection = ?1",
            )?,
            intents: count(
                "cannot count intents",
                "SELECT count(*) FROM intents WHERE connection = ?1",
            )?,
            queued: count(
                "cannot count the queue",
                "SELECT count(*) FROM queue WHERE connection = ?1",
            )?,
        })
    }

    pub(super) fn waits_in_queue(&self, connection: &ConnectionId, issue: &str) -> Result<bool> {
        let found: Option<i64> = self
            .row(
                "cannot read the queue",
                "SELECT 1 FROM queue WHERE connection = ?1 AND issue = ?2",
                [connection.as_str(), issue],
                |r| r.get(0),
            )
            .map_err(|e| e.with_connection(connection))?;
        Ok(found.is_some())
    }
}

/// Schema version 4's step: both keys of every twin into the key columns,
/// from the stored states.
pub(super) fn fill_keys(txn: &rusqlite::Transaction<'_>, db: &str) -> Result<()> {
    let doing = "cannot fill in the keys of twins";
    let fail = |e| super::error::storage(db, doing, e);
    let rows: Vec<(String, String, Vec<u8>)> = {
        let mut stmt = txn
            .prepare("SELECT connection, remote, state FROM twins")
            .map_err(fail)?;
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .map_err(fail)?
            .collect::<rusqlite::Result<_>>()
            .map_err(fail)?
    };
    let mut update = txn
        .prepare(
            "UPDATE twins SET remote_key = ?3, local_key = ?4 \
             WHERE connection = ?1 AND remote = ?2",
        )
        .map_err(fail)?;
    for (connection, remote, state) in rows {
        let twin = TwinState::from_bytes(&state).map_err(|e| e.with_context("database", db))?;
        let local = twin.local.as_ref().map(|l| folded(l.key.as_str()));
        update
            .execute(params![
                connection,
                remote,
                folded(twin.remote.key.as_str()),
                local
            ])
            .map_err(fail)?;
    }
    Ok(())
}
