//! Twins, intents and conflicts as SQL: a twin state's upsert (its keys in
//! the indexed key columns) after the refusal of a second twin of a local
//! issue (I4), an intent's with its creation time (their order), and a twin's
//! conflicts, one row per twin, deleted when none is left.

use crate::error::{Error, ErrorKind, Result};
use crate::model::{ConnectionId, IssueId};
use crate::plan::{Conflict, TwinState};
use crate::store::columns::{folded_key, intent_order, to_json};
use crate::store::{Intent, TwinConflicts};

use super::txn::PgTxn;

impl PgTxn<'_> {
    /// Refuses a second twin of a local issue (I4) before the upsert, so
    /// the transaction goes on after the refusal as with every other store
    /// (a failed statement would abort a PostgreSQL transaction).
    pub(super) fn check_local_is_free(&mut self, twin: &TwinState) -> Result<()> {
        let Some(local) = &twin.local else {
            return Ok(());
        };
        let c = twin.connection.as_str();
        let other = self
            .row(
                "cannot read twin",
                "SELECT remote FROM twins WHERE connection = $1 AND local = $2 AND remote <> $3",
                &[&c, &local.id.as_str(), &twin.remote.id.as_str()],
            )
            .map_err(|e| e.with_connection(&twin.connection))?;
        match other {
            None => Ok(()),
            Some(row) => {
                let other: String = self.get(&row, 0, "twin")?;
                Err(Error::new(
                    ErrorKind::InvalidInput,
                    format!(
                        "issue {} is already the twin of {other} on connection {c}",
                        local.key
                    ),
                ))
            }
        }
    }

    pub(super) fn write_twin(&mut self, twin: &TwinState) -> Result<()> {
        self.check_local_is_free(twin)?;
        let local = twin.local.as_ref().map(|l| l.id.as_str());
        let local_key = twin.local.as_ref().map(|l| folded_key(l.key.as_str()));
        self.run(
            "cannot write twin",
            "INSERT INTO twins (connection, remote, local, state, remote_key, local_key) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (connection, remote) DO UPDATE \
             SET local = excluded.local, state = excluded.state, \
             remote_key = excluded.remote_key, local_key = excluded.local_key",
            &[
                &twin.connection.as_str(),
                &twin.remote.id.as_str(),
                &local,
                &twin.to_bytes(),
                &folded_key(twin.remote.key.as_str()),
                &local_key,
            ],
        )
        .map_err(|e| {
            e.with_connection(&twin.connection)
                .with_issue(&twin.remote.id)
        })?;
        Ok(())
    }

    pub(super) fn write_intent(&mut self, intent: &Intent) -> Result<()> {
        let created = intent_order(intent)?;
        let record = to_json("intent", intent)?;
        self.run(
            "cannot write intent",
            "INSERT INTO intents (id, connection, created_ns, record) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (id) DO UPDATE SET connection = excluded.connection, \
             created_ns = excluded.created_ns, record = excluded.record",
            &[&intent.id, &intent.connection.as_str(), &created, &record],
        )
        .map_err(|e| {
            e.with_connection(&intent.connection)
                .with_context("intent", &intent.id)
        })?;
        Ok(())
    }

    pub(super) fn conflicts_of(
        &mut self,
        connection: &ConnectionId,
        origin: &IssueId,
    ) -> Result<Vec<Conflict>> {
        let found = self
            .record(
                "conflicts",
                "SELECT record FROM conflicts WHERE connection = $1 AND origin = $2",
                &[connection.as_str(), origin.as_str()],
            )
            .map_err(|e| e.with_connection(connection).with_issue(origin))?;
        Ok(found.unwrap_or_default())
    }

    pub(super) fn all_conflicts(
        &mut self,
        connection: &ConnectionId,
    ) -> Result<Vec<TwinConflicts>> {
        let rows = self
            .rows(
                "cannot read conflicts",
                "SELECT origin, record FROM conflicts WHERE connection = $1 ORDER BY origin",
                &[&connection.as_str()],
            )
            .map_err(|e| e.with_connection(connection))?;
        rows.iter()
            .map(|r| {
                let origin: String = self.get(r, 0, "conflicts' issue id")?;
                let record: String = self.get(r, 1, "conflicts")?;
                Ok(TwinConflicts {
                    connection: connection.clone(),
                    origin: self.id("conflicts' issue id", &origin)?,
                    conflicts: self.json("conflicts", &record)?,
                })
            })
            .collect()
    }

    pub(super) fn write_conflicts(&mut self, record: &TwinConflicts) -> Result<()> {
        let (c, origin) = (record.connection.as_str(), record.origin.as_str());
        let done = if record.conflicts.is_empty() {
            self.run(
                "cannot delete conflicts",
                "DELETE FROM conflicts WHERE connection = $1 AND origin = $2",
                &[&c, &origin],
            )
        } else {
            let text = to_json("conflicts", &record.conflicts)?;
            self.run(
                "cannot write conflicts",
                "INSERT INTO conflicts (connection, origin, record) VALUES ($1, $2, $3) \
                 ON CONFLICT (connection, origin) DO UPDATE SET record = excluded.record",
                &[&c, &origin, &text],
            )
        };
        done.map(drop).map_err(|e| {
            e.with_connection(&record.connection)
                .with_issue(&record.origin)
        })
    }
}
