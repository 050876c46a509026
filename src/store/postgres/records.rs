//! Connections, invitations, rule versions, bulk progress and the node
//! record as SQL. Invitation codes are secrets: they are written to and read
//! from a `code` column and never put in a message.

use crate::error::Result;
use crate::model::ConnectionId;
use crate::rules::RuleHistory;
use crate::store::columns::{CONNECTION_TABLES, to_json};
use crate::store::{BulkProgress, ConnectionRecord, InvitationRecord, NodeRecord, StoredSecret};

use super::txn::PgTxn;

impl PgTxn<'_> {
    pub(super) fn read_connection(
        &mut self,
        id: &ConnectionId,
    ) -> Result<Option<ConnectionRecord>> {
        let row = self
            .row(
                "cannot read connection",
                "SELECT name, config FROM connections WHERE id = $1",
                &[&id.as_str()],
            )
            .map_err(|e| e.with_connection(id))?;
        row.map(|r| {
            Ok(ConnectionRecord {
                id: id.clone(),
                name: self.get(&r, 0, "connection name")?,
                config: self.get(&r, 1, "connection config")?,
            })
        })
        .transpose()
    }

    pub(super) fn all_connections(&mut self) -> Result<Vec<ConnectionRecord>> {
        let rows = self.rows(
            "cannot read connections",
            "SELECT id, name, config FROM connections ORDER BY id",
            &[],
        )?;
        rows.iter()
            .map(|r| {
                let id: String = self.get(r, 0, "connection id")?;
                Ok(ConnectionRecord {
                    id: self.id("connection id", &id)?,
                    name: self.get(r, 1, "connection name")?,
                    config: self.get(r, 2, "connection config")?,
                })
            })
            .collect()
    }

    pub(super) fn remove_connection(&mut self, id: &ConnectionId) -> Result<()> {
        for table in CONNECTION_TABLES {
            self.delete_of(
                &format!("cannot delete the {table} of a connection"),
                table,
                id,
            )?;
        }
        self.run(
            "cannot delete connection",
            "DELETE FROM connections WHERE id = $1",
            &[&id.as_str()],
        )
        .map_err(|e| e.with_connection(id))?;
        Ok(())
    }

    pub(super) fn all_invitations(&mut self) -> Result<Vec<InvitationRecord>> {
        let rows = self.rows(
            "cannot read invitations",
            "SELECT connection, code, state FROM invitations ORDER BY connection",
            &[],
        )?;
        rows.iter()
            .map(|r| {
                let connection: String = self.get(r, 0, "invitation")?;
                let code: Vec<u8> = self.get(r, 1, "invitation")?;
                let state: String = self.get(r, 2, "invitation state")?;
                Ok(InvitationRecord {
                    connection: self.id("invitation's connection id", &connection)?,
                    code: StoredSecret::from_bytes(code),
                    state: self.json("invitation state", &state)?,
                })
            })
            .collect()
    }

    pub(super) fn write_invitation(&mut self, r: &InvitationRecord) -> Result<()> {
        let state = to_json("invitation state", &r.state)?;
        self.run(
            "cannot write an invitation",
            "INSERT INTO invitations (connection, code, state) VALUES ($1, $2, $3) \
             ON CONFLICT (connection) DO UPDATE SET code = excluded.code, state = excluded.state",
            &[&r.connection.as_str(), &r.code.as_bytes(), &state],
        )
        .map_err(|e| e.with_connection(&r.connection))?;
        Ok(())
    }

    pub(super) fn write_rule_history(
        &mut self,
        connection: &ConnectionId,
        history: &RuleHistory,
    ) -> Result<()> {
        let record = to_json("rule versions", history)?;
        self.run(
            "cannot write rule versions",
            "INSERT INTO rule_histories (connection, record) VALUES ($1, $2) \
             ON CONFLICT (connection) DO UPDATE SET record = excluded.record",
            &[&connection.as_str(), &record],
        )
        .map_err(|e| e.with_connection(connection))?;
        Ok(())
    }

    pub(super) fn read_bulk_progress(
        &mut self,
        connection: &ConnectionId,
        query: &str,
    ) -> Result<Option<BulkProgress>> {
        let next = self
            .text(
                "cannot read bulk progress",
                "bulk progress",
                "SELECT next_page FROM bulk_progress WHERE connection = $1 AND query = $2",
                &[connection.as_str(), query],
            )
            .map_err(|e| e.with_connection(connection))?;
        Ok(next.map(|next_page| BulkProgress {
            connection: connection.clone(),
            query: query.to_owned(),
            next_page,
        }))
    }

    pub(super) fn write_bulk_progress(&mut self, p: &BulkProgress) -> Result<()> {
        self.run(
            "cannot write bulk progress",
            "INSERT INTO bulk_progress (connection, query, next_page) VALUES ($1, $2, $3) \
             ON CONFLICT (connection, query) DO UPDATE SET next_page = excluded.next_page",
            &[&p.connection.as_str(), &p.query, &p.next_page],
        )
        .map_err(|e| e.with_connection(&p.connection))?;
        Ok(())
    }

    pub(super) fn write_node_record(&mut self, record: &NodeRecord) -> Result<()> {
        let text = to_json("node record", record)?;
        self.run(
            "cannot write the node record",
            "INSERT INTO node (id, record) VALUES (1, $1) \
             ON CONFLICT (id) DO UPDATE SET record = excluded.record",
            &[&text],
        )?;
        Ok(())
    }
}
