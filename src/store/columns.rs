//! How records become columns, for the SQL stores (SQLite, PostgreSQL):
//! JSON record columns, times as text, the peer link without its code,
//! sequence marks as `(mark, issue)` and `u64`s in signed 64-bit integers.
//! Both stores write the same column values, so a record reads back the same
//! from either.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::connection::Role;
use crate::error::{Error, ErrorKind, Result};
use crate::model::{InstanceUrl, NodeUrl};
use crate::store::{PeerLink, SeqMark, StoredSecret};

/// JSON for a record column; these records hold no secret.
pub(crate) fn to_json(what: &str, value: &impl Serialize) -> Result<String> {
    serde_json::to_string(value).map_err(|e| {
        Error::new(
            ErrorKind::InvalidInput,
            format!("{what} cannot be stored: {e}"),
        )
    })
}

/// A time as RFC 3339 text (exact to the nanosecond, offset kept).
pub(crate) fn time_text(what: &str, at: OffsetDateTime) -> Result<String> {
    at.format(&Rfc3339).map_err(|e| {
        Error::new(
            ErrorKind::InvalidInput,
            format!("{what} {at} cannot be stored: {e}"),
        )
    })
}

/// A key as the key columns hold it: ASCII upper case, so that a match
/// ignoring ASCII case is an equality or a range on the index.
pub(crate) fn folded_key(key: &str) -> String {
    key.to_ascii_uppercase()
}

/// The `created_ns` column that orders an intent: its creation time in
/// nanoseconds since 1970.
pub(crate) fn intent_order(intent: &crate::store::Intent) -> Result<i64> {
    i64::try_from(intent.created.unix_timestamp_nanos()).map_err(|_| {
        Error::new(
            ErrorKind::InvalidInput,
            format!(
                "intent {} was created at {}, outside the years 1678 to 2261 a store can order",
                intent.id, intent.created
            ),
        )
    })
}

/// A peer link as stored in `peer_links.record`: everything but the code.
#[derive(Serialize, Deserialize)]
pub(crate) struct LinkRecord {
    role: Role,
    peer: Option<InstanceUrl>,
    /// Added in 0.2; absent from links written before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    peer_node: Option<NodeUrl>,
    peer_reachable: bool,
    protocol: u16,
}

impl LinkRecord {
    /// The record column of `link`.
    pub(crate) fn of(link: &PeerLink) -> Self {
        LinkRecord {
            role: link.role,
            peer: link.peer.clone(),
            peer_node: link.peer_node.clone(),
            peer_reachable: link.peer_reachable,
            protocol: link.protocol,
        }
    }

    /// The link, with the code read from its own column.
    pub(crate) fn into_link(
        self,
        connection: crate::model::ConnectionId,
        code: StoredSecret,
    ) -> PeerLink {
        PeerLink {
            connection,
            role: self.role,
            peer: self.peer,
            peer_node: self.peer_node,
            peer_reachable: self.peer_reachable,
            protocol: self.protocol,
            code,
        }
    }
}

/// A sequence mark's `(mark, issue)` columns.
pub(crate) fn mark_columns(mark: &SeqMark) -> (&'static str, &str) {
    match mark {
        SeqMark::Sent => ("sent", ""),
        SeqMark::Applied(issue) => ("applied", issue.as_str()),
        SeqMark::Acked(issue) => ("acked", issue.as_str()),
    }
}

/// A u64 in a signed 64-bit column, bit for bit (above i64::MAX it reads
/// negative in SQL).
pub(crate) fn to_sql_u64(value: u64) -> i64 {
    i64::from_ne_bytes(value.to_ne_bytes())
}

/// The u64 [`to_sql_u64`] stored.
pub(crate) fn from_sql_u64(value: i64) -> u64 {
    u64::from_ne_bytes(value.to_ne_bytes())
}

/// The tables holding records of a connection, keyed by a `connection`
/// column, that deleting the connection empties (its `connections` row goes
/// last).
pub(crate) const CONNECTION_TABLES: &[&str] = &[
    "twins",
    "twin_counts",
    "intents",
    "queue",
    "errors",
    "watermarks",
    "last_sync",
    "conflicts",
    "peer_links",
    "seq_marks",
    "peer_gone",
    "origins",
    "outgoing",
    "outbox",
    "peer_outages",
    "invitations",
    "rule_histories",
    "bulk_progress",
];
