//! The status panel's questions as indexed SQL: one page of twins (keyset
//! paging on the primary key, key matches on the key indexes) and the
//! counts of a connection's records (the twins' kept by a trigger).

use crate::error::Result;
use crate::model::{ConnectionId, IssueId};
use crate::plan::TwinState;
use crate::store::columns::folded_key;
use crate::store::{KeyMatch, StatusCounts, TwinQuery};

use super::txn::PgTxn;

impl PgTxn<'_> {
    pub(super) fn page_of_twins(
        &mut self,
        connection: &ConnectionId,
        query: &TwinQuery,
    ) -> Result<Vec<TwinState>> {
        let c = connection.as_str();
        // No issue id is empty, so '' is before the first.
        let after = query.after.as_ref().map_or("", |a| a.as_str());
        let limit = i64::try_from(query.limit).unwrap_or(i64::MAX);
        let rows = match &query.key {
            None => self.rows(
                "cannot read a page of twins",
                "SELECT state FROM twins WHERE connection = $1 AND remote > $2 \
                 ORDER BY remote LIMIT $3",
                &[&c, &after, &limit],
            ),
            Some(KeyMatch::Exact(key)) => {
                let key = folded_key(key.as_str());
                self.rows(
                    "cannot search twins by key",
                    "SELECT state FROM twins WHERE connection = $1 AND remote > $2 AND remote IN ( \
                     SELECT remote FROM twins WHERE connection = $1 AND remote_key = $3 \
                     UNION SELECT remote FROM twins WHERE connection = $1 AND local_key = $3) \
                     ORDER BY remote LIMIT $4",
                    &[&c, &after, &key, &limit],
                )
            }
            // No key holds a NUL (nor can a PostgreSQL text).
            Some(KeyMatch::Prefix(prefix)) if prefix.contains('\0') => Ok(Vec::new()),
            Some(KeyMatch::Prefix(prefix)) => {
                // Keys are ASCII, below '\x7f': every key starting with
                // `low` sorts before `low\x7f` (text compares bytewise).
                let low = folded_key(prefix);
                let high = format!("{low}\u{7f}");
                self.rows(
                    "cannot search twins by key",
                    "SELECT state FROM twins WHERE connection = $1 AND remote > $2 AND remote IN ( \
                     SELECT remote FROM twins WHERE connection = $1 \
                       AND remote_key >= $3 AND remote_key < $4 \
                     UNION SELECT remote FROM twins WHERE connection = $1 \
                       AND local_key >= $3 AND local_key < $4) \
                     ORDER BY remote LIMIT $5",
                    &[&c, &after, &low, &high, &limit],
                )
            }
        }
        .map_err(|e| e.with_connection(connection))?;
        rows.iter()
            .map(|r| self.twin(self.get(r, 0, "twin")?))
            .collect()
    }

    pub(super) fn counts(&mut self, connection: &ConnectionId) -> Result<StatusCounts> {
        Ok(StatusCounts {
            twins: self.twins_counted(connection)?,
            errors: self.count_of("cannot count twin errors", "errors", connection)?,
            conflicts: self.count_of("cannot count conflicts", "conflicts", connection)?,
            intents: self.count_of("cannot count intents", "intents", connection)?,
            queued: self.count_of("cannot count the queue", "queue", connection)?,
        })
    }

    /// The twins of a connection, as the trigger on `twins` keeps them in
    /// `twin_counts`: no count of a million rows.
    pub(super) fn twins_counted(&mut self, connection: &ConnectionId) -> Result<u64> {
        let row = self
            .row(
                "cannot count twins",
                "SELECT twins FROM twin_counts WHERE connection = $1",
                &[&connection.as_str()],
            )
            .map_err(|e| e.with_connection(connection))?;
        match row {
            Some(r) => Ok(u64::try_from(self.get::<i64>(&r, 0, "twin count")?).unwrap_or(0)),
            None => Ok(0),
        }
    }

    pub(super) fn waits_in_queue(
        &mut self,
        connection: &ConnectionId,
        issue: &IssueId,
    ) -> Result<bool> {
        let found = self
            .row(
                "cannot read the queue",
                "SELECT 1 FROM queue WHERE connection = $1 AND issue = $2",
                &[&connection.as_str(), &issue.as_str()],
            )
            .map_err(|e| e.with_connection(connection).with_issue(issue))?;
        Ok(found.is_some())
    }
}
