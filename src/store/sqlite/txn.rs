//! One SQLite transaction, and the helpers [`StoreTxn`](crate::store::StoreTxn)'s
//! methods (in `ops.rs`) run their statements with.

use std::sync::MutexGuard;

use rusqlite::{Connection, OptionalExtension};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::{Error, Result};
use crate::model::ConnectionId;
use crate::plan::TwinState;

use super::error::{invalid, storage};
use super::typed::Records;

/// `BEGIN IMMEDIATE` on creation, `COMMIT` in [`commit`](StoreTxn::commit),
/// `ROLLBACK` when dropped before. Holding the connection's guard keeps the
/// store's other transactions waiting.
pub(super) struct SqliteTxn<'a> {
    pub(super) conn: MutexGuard<'a, Connection>,
    pub(super) db: &'a str,
}

impl<'a> SqliteTxn<'a> {
    pub(super) fn begin(conn: MutexGuard<'a, Connection>, db: &'a str) -> Result<Self> {
        if !conn.is_autocommit() {
            // Left open by a thread that panicked while holding the store.
            conn.execute_batch("ROLLBACK")
                .map_err(|e| storage(db, "cannot roll back an abandoned transaction", e))?;
        }
        conn.execute_batch("BEGIN IMMEDIATE")
            .map_err(|e| storage(db, "cannot start a transaction", e))?;
        Ok(SqliteTxn { conn, db })
    }

    /// The connection, while the transaction is still open: after some errors
    /// (a full disk, an i/o error) SQLite rolls the whole transaction back,
    /// and later statements must not run outside it.
    pub(super) fn active(&self) -> Result<&Connection> {
        if self.conn.is_autocommit() {
            return Err(invalid(
                self.db,
                "the transaction was rolled back after an earlier error; start a new one",
            ));
        }
        Ok(&self.conn)
    }

    /// The typed records (`typed.rs`) on this transaction, while it is open.
    pub(super) fn records(&self) -> Result<Records<'_>> {
        Ok(Records {
            conn: self.active()?,
            db: self.db,
            connection: None,
        })
    }

    /// As [`records`](Self::records), their errors naming `connection`.
    pub(super) fn on<'s>(&'s self, connection: &'s ConnectionId) -> Result<Records<'s>> {
        Ok(Records {
            connection: Some(connection),
            ..self.records()?
        })
    }

    pub(super) fn fail<'s>(&'s self, doing: &'s str) -> impl Fn(rusqlite::Error) -> Error + 's {
        move |e| storage(self.db, doing, e)
    }

    /// The rows of `sql`, each read by `row`.
    pub(super) fn rows<T>(
        &self,
        doing: &str,
        sql: &str,
        params: impl rusqlite::Params,
        row: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>> {
        let conn = self.active()?;
        let mut stmt = conn.prepare_cached(sql).map_err(self.fail(doing))?;
        let rows = stmt
            .query_map(params, row)
            .map_err(self.fail(doing))?
            .collect::<rusqlite::Result<Vec<T>>>()
            .map_err(self.fail(doing))?;
        Ok(rows)
    }

    /// The one row of `sql`, if any.
    pub(super) fn row<T>(
        &self,
        doing: &str,
        sql: &str,
        params: impl rusqlite::Params,
        row: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Option<T>> {
        let conn = self.active()?;
        let mut stmt = conn.prepare_cached(sql).map_err(self.fail(doing))?;
        stmt.query_row(params, row)
            .optional()
            .map_err(self.fail(doing))
    }

    /// Runs a statement that changes rows.
    pub(super) fn run(
        &self,
        doing: &str,
        sql: &str,
        params: impl rusqlite::Params,
    ) -> Result<usize> {
        let conn = self.active()?;
        let mut stmt = conn.prepare_cached(sql).map_err(self.fail(doing))?;
        stmt.execute(params).map_err(self.fail(doing))
    }

    pub(super) fn twin(&self, bytes: &[u8]) -> Result<TwinState> {
        TwinState::from_bytes(bytes).map_err(|e| e.with_context("database", self.db))
    }

    pub(super) fn json<T: serde::de::DeserializeOwned>(&self, what: &str, text: &str) -> Result<T> {
        serde_json::from_str(text)
            .map_err(|e| invalid(self.db, format!("stored {what} is unreadable: {e}")))
    }

    /// Reads an id stored as text: a malformed one is a `Storage` error.
    pub(super) fn stored_id<T: std::str::FromStr<Err = crate::error::Error>>(
        &self,
        what: &str,
        text: &str,
    ) -> Result<T> {
        text.parse().map_err(|e: crate::error::Error| {
            invalid(self.db, format!("stored {what} is unreadable: {e}"))
        })
    }

    pub(super) fn time(&self, what: &str, text: &str) -> Result<OffsetDateTime> {
        OffsetDateTime::parse(text, &Rfc3339).map_err(|e| {
            invalid(
                self.db,
                format!("stored {what} {text:?} is unreadable: {e}"),
            )
        })
    }
}

impl Drop for SqliteTxn<'_> {
    fn drop(&mut self) {
        if !self.conn.is_autocommit()
            && let Err(e) = self.conn.execute_batch("ROLLBACK")
        {
            // The next `begin` rolls back what is still open.
            tracing::warn!(database = self.db, error = %e, "rollback failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testkit::ids as lit;
    use time::macros::{datetime, offset};

    use super::*;
    use crate::ErrorKind;
    use crate::model::ConnectionId;
    use crate::store::{SqliteStore, Store, StoreTxn};

    fn c1() -> ConnectionId {
        ConnectionId::parse("c1").expect("valid id")
    }

    fn c2() -> ConnectionId {
        ConnectionId::parse("c2").expect("valid id")
    }

    #[test]
    fn statements_after_sqlite_rolled_back_the_transaction_are_refused() {
        let store = SqliteStore::in_memory().expect("open");
        let db = ":memory:";
        let mut txn = SqliteTxn::begin(store.conn.lock().expect("lock"), db).expect("begin");
        let at = datetime!(2026-01-01 0:00 UTC);
        txn.set_last_sync(&c1(), at).expect("write");
        // What SQLite does by itself after a full disk or an i/o error.
        txn.conn.execute_batch("ROLLBACK").expect("rollback");
        let err = txn
            .set_last_sync(&c2(), at)
            .expect_err("no write outside the transaction");
        assert_eq!(err.kind(), ErrorKind::Storage);
        assert!(
            err.to_string().contains("the transaction was rolled back"),
            "{err}"
        );
        assert!(Box::new(txn).commit().is_err(), "nothing to commit");
        let mut txn = store.begin().expect("begin");
        assert_eq!(txn.last_sync(&c1()).expect("read"), None);
        assert_eq!(txn.last_sync(&c2()).expect("read"), None);
    }

    #[test]
    fn a_time_rfc_3339_cannot_hold_is_invalid_input() {
        let store = SqliteStore::in_memory().expect("open");
        let mut txn = store.begin().expect("begin");
        let at = datetime!(2026-01-01 0:00 UTC).to_offset(offset!(+1:00:30));
        let err = txn
            .set_watermark(&c1(), &lit::project("SUP"), at)
            .expect_err("an offset with seconds");
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.to_string().starts_with("watermark 2026-01-01"), "{err}");
        txn.set_watermark(&c1(), &lit::project("SUP"), datetime!(2026-01-01 0:00 UTC))
            .expect("the transaction goes on");
    }
}
