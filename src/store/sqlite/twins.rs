//! Writing a twin state: one upsert (its keys in the indexed key columns), and the refusal of a second twin of a
//! local issue (I4) in words, from the unique index SQLite enforces.

use rusqlite::{ErrorCode, params};

use crate::error::{Error, ErrorKind, Result};
use crate::plan::TwinState;

use super::error::storage;
use super::listing::folded;
use super::txn::SqliteTxn;

impl SqliteTxn<'_> {
    pub(super) fn write_twin(&self, twin: &TwinState) -> Result<()> {
        let c = twin.connection.as_str();
        let local = twin.local.as_ref().map(|l| l.id.as_str());
        let written = self
            .active()?
            .prepare_cached(
                "INSERT INTO twins (connection, remote, local, state, remote_key, local_key) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
             ON CONFLICT (connection, remote) DO UPDATE \
             SET local = excluded.local, state = excluded.state, \
             remote_key = excluded.remote_key, local_key = excluded.local_key",
            )
            .and_then(|mut s| {
                s.execute(params![
                    c,
                    twin.remote.id.as_str(),
                    local,
                    twin.to_bytes(),
                    folded(twin.remote.key.as_str()),
                    twin.local.as_ref().map(|l| folded(l.key.as_str())),
                ])
            });
        match written {
            Ok(_) => Ok(()),
            // The upsert handles the primary key: a constraint violation can
            // only be the unique index on the local issue (I4).
            Err(e) if e.sqlite_error_code() == Some(ErrorCode::ConstraintViolation) => {
                let other: Option<String> = self.row(
                    "cannot read twin",
                    "SELECT remote FROM twins WHERE connection = ?1 AND local = ?2",
                    [c, local.unwrap_or_default()],
                    |r| r.get(0),
                )?;
                let key = twin
                    .local
                    .as_ref()
                    .map(|l| l.key.as_str())
                    .unwrap_or_default();
                Err(Error::new(
                    ErrorKind::InvalidInput,
                    format!(
                        "issue {key} is already the twin of {} on connection {c}",
                        other.as_deref().unwrap_or("another issue")
                    ),
                )
                .with_source(e))
            }
            Err(e) => Err(storage(self.db, "cannot write twin", e)
                .with_connection(&twin.connection)
                .with_issue(&twin.remote.id)),
        }
    }
}
