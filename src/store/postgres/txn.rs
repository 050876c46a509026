//! One PostgreSQL transaction, and the helpers [`StoreTxn`](crate::store::StoreTxn)'s
//! methods (in `ops.rs`) run their statements with.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio_postgres::types::{FromSql, ToSql};
use tokio_postgres::{Row, Statement};

use crate::error::{Error, Result};
use crate::plan::TwinState;

use super::connect::block_on;
use super::error::{invalid, storage};
use super::pool::Lent;

/// A statement's parameters.
pub(super) type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// `BEGIN` and the store's transaction lock on creation, `COMMIT` in
/// [`commit`](crate::store::StoreTxn::commit), `ROLLBACK` when dropped
/// before. The lock makes the store's transactions take turns, across every
/// connection of every process on the schema, as the embedded stores'
/// transactions do.
pub(super) struct PgTxn<'s> {
    lent: Lent<'s>,
    pub(super) db: &'s str,
    open: bool,
}

impl<'s> PgTxn<'s> {
    /// Starts a transaction on `lent`, waiting up to `lock_wait_ms` for the
    /// transaction lock `(class, key)` when given (and for any row lock).
    pub(super) fn begin(
        mut lent: Lent<'s>,
        db: &'s str,
        lock: Option<(i32, i32)>,
        lock_wait_ms: u64,
    ) -> Result<Self> {
        let mut sql = format!("BEGIN; SET LOCAL lock_timeout = {lock_wait_ms};");
        if let Some((class, key)) = lock {
            sql.push_str(&format!(" SELECT pg_advisory_xact_lock({class}, {key})"));
        }
        if let Err(e) = block_on(lent.conn().client.batch_execute(&sql)) {
            // The connection's state is unknown: close it, do not reuse it.
            lent.broken = true;
            return Err(storage(db, "cannot start a transaction", e));
        }
        Ok(PgTxn {
            lent,
            db,
            open: true,
        })
    }

    /// The prepared statement of `sql` on this connection.
    fn statement(&mut self, doing: &str, sql: &str) -> Result<Statement> {
        let conn = self.lent.conn();
        if let Some(statement) = conn.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement =
            block_on(conn.client.prepare(sql)).map_err(|e| storage(self.db, doing, e))?;
        conn.statements.insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }

    /// The rows of `sql`.
    pub(super) fn rows(&mut self, doing: &str, sql: &str, params: Params<'_>) -> Result<Vec<Row>> {
        let statement = self.statement(doing, sql)?;
        block_on(self.lent.conn().client.query(&statement, params))
            .map_err(|e| storage(self.db, doing, e))
    }

    /// The first row of `sql`, if any.
    pub(super) fn row(
        &mut self,
        doing: &str,
        sql: &str,
        params: Params<'_>,
    ) -> Result<Option<Row>> {
        Ok(self.rows(doing, sql, params)?.into_iter().next())
    }

    /// Runs a statement that changes rows; how many it changed.
    pub(super) fn run(&mut self, doing: &str, sql: &str, params: Params<'_>) -> Result<u64> {
        let statement = self.statement(doing, sql)?;
        block_on(self.lent.conn().client.execute(&statement, params))
            .map_err(|e| storage(self.db, doing, e))
    }

    /// Column `i` of `row`, read as `what`.
    pub(super) fn get<'r, T: FromSql<'r>>(&self, row: &'r Row, i: usize, what: &str) -> Result<T> {
        row.try_get(i)
            .map_err(|e| storage(self.db, &format!("cannot read stored {what}"), e))
    }

    pub(super) fn twin(&self, bytes: &[u8]) -> Result<TwinState> {
        TwinState::from_bytes(bytes).map_err(|e| e.with_context("database", self.db))
    }

    pub(super) fn json<T: serde::de::DeserializeOwned>(&self, what: &str, text: &str) -> Result<T> {
        serde_json::from_str(text)
            .map_err(|e| invalid(self.db, format!("stored {what} is unreadable: {e}")))
    }

    /// Reads an id stored as text: a malformed one is a `Storage` error.
    pub(super) fn id<T: std::str::FromStr<Err = Error>>(
        &self,
        what: &str,
        text: &str,
    ) -> Result<T> {
        text.parse()
            .map_err(|e: Error| invalid(self.db, format!("stored {what} is unreadable: {e}")))
    }

    pub(super) fn time(&self, what: &str, text: &str) -> Result<OffsetDateTime> {
        OffsetDateTime::parse(text, &Rfc3339).map_err(|e| {
            invalid(
                self.db,
                format!("stored {what} {text:?} is unreadable: {e}"),
            )
        })
    }

    /// Ends the transaction with `COMMIT`.
    pub(super) fn finish(&mut self) -> Result<()> {
        self.open = false;
        block_on(self.lent.conn().client.batch_execute("COMMIT"))
            .map_err(|e| storage(self.db, "cannot commit", e))
    }
}

impl Drop for PgTxn<'_> {
    fn drop(&mut self) {
        if self.open
            && let Err(e) = block_on(self.lent.conn().client.batch_execute("ROLLBACK"))
        {
            tracing::warn!(database = self.db, error = %e, "rollback failed");
            self.lent.broken = true;
        }
    }
}
