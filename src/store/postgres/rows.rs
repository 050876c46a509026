//! The statement shapes the concept files share (one text or JSON column, a
//! count, a delete by connection), and the BIGINT columns' conversions
//! (counts, limits, times in nanoseconds).

use time::OffsetDateTime;

use crate::error::{Error, ErrorKind, Result};
use crate::model::ConnectionId;

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
pub(super) fn bigint(n: impl TryInto<i64>) -> i64 {
    n.try_into().unwrap_or(i64::MAX)
}

impl PgTxn<'_> {
    /// The one text column of the row `sql` finds, if any.
    pub(super) fn text(
        &mut self,
        doing: &str,
        what: &str,
        sql: &str,
        key: &[&str],
    ) -> Result<Option<String>> {
        let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> =
            key.iter().map(|k| k as _).collect();
        match self.row(doing, sql, &params)? {
            Some(row) => Ok(Some(self.get(&row, 0, what)?)),
            None => Ok(None),
        }
    }

    /// The one JSON record column of the row `sql` finds, if any.
    pub(super) fn record<T: serde::de::DeserializeOwned>(
        &mut self,
        what: &str,
        sql: &str,
        key: &[&str],
    ) -> Result<Option<T>> {
        let text = self.text(&format!("cannot read {what}"), what, sql, key)?;
        text.map(|t| self.json(what, &t)).transpose()
    }

    /// The JSON record column of every row `sql` finds.
    pub(super) fn records<T: serde::de::DeserializeOwned>(
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

    /// Deletes the row of a connection in a table keyed by it alone.
    pub(super) fn delete_of(&mut self, doing: &str, table: &str, c: &ConnectionId) -> Result<()> {
        self.run(
            doing,
            &format!("DELETE FROM {table} WHERE connection = $1"),
            &[&c.as_str()],
        )
        .map(drop)
        .map_err(|e| e.with_connection(c))
    }
}
