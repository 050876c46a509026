//! From schema version 1 (files written by twinsync 0.1) to version 2.
//!
//! Version 1 kept half of a node's state in `meta`, a table of string keys
//! and byte values. [`migrate`] moves each key family into its typed table,
//! drops `meta`, and re-encodes every twin state with its format byte; the
//! schema step runs it in the same transaction as the new tables, so a file
//! is migrated whole or not at all.
//!
//! Values are read as 0.1 read them: where 0.1 refused an unreadable value
//! (JSON records), the migration fails naming the key; where 0.1 took an
//! unreadable value for "none" (numbers, times, conflict lists), it is dropped
//! with a warning. Keys of no known family are dropped with a warning. Neither
//! a message nor a log line holds a value: some are secrets.

use std::collections::BTreeMap;

use rusqlite::Transaction;
use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use zeroize::Zeroizing;

use crate::connection::{Invitation, InvitationState, ProjectLevelPolicy, Role};
use crate::error::{Error, ErrorKind, Result};
use crate::model::{ConnectionId, InstanceUrl, IssueId, IssueKey};
use crate::plan::{Conflict, TwinState};
use crate::rules::RuleHistory;
use crate::store::{
    InvitationRecord, NodeRecord, OutgoingRecord, PeerLink, SeqMark, StoredSecret, TwinConflicts,
};

use super::error::storage;
use super::typed::Records;

/// A key of a 0.1 `meta` row.
#[derive(Debug, PartialEq, Eq)]
enum Key<'k> {
    /// `node/boot`: the start count, decimal.
    Boot,
    /// `policy/project-level`: JSON [`ProjectLevelPolicy`].
    Policy,
    /// `invitations`: a JSON list of {code, state}.
    Invitations,
    /// `last_sync/{conn}`: RFC 3339 text.
    LastSync(ConnectionId),
    /// `conflicts/{conn}/{origin}`: a JSON list of conflicts.
    Conflicts(ConnectionId, &'k str),
    /// `rules/{conn}`: JSON [`RuleHistory`].
    Rules(ConnectionId),
    /// `remote/{conn}/link`: JSON {role, peer, peer_reachable, protocol, code}.
    Link(ConnectionId),
    /// `remote/{conn}/outgoing`: a JSON map issue id → {key, new, match_existing}.
    Outgoing(ConnectionId),
    /// `remote/{conn}/seq`, `…/in/{peer issue}`, `…/ack/{own issue}`: decimal.
    Seq(ConnectionId, SeqMark),
    /// `remote/{conn}/gone/{peer issue}`: a flag (any value).
    Gone(ConnectionId, &'k str),
    /// `bulk/{conn}/{digest of the query}`: the next page token.
    Bulk(ConnectionId),
}

/// The family of `key`, or `None` for a key 0.1 never wrote.
fn parse_key(key: &str) -> Option<Key<'_>> {
    let conn = |text: &str| ConnectionId::parse(text).ok();
    match key {
        "node/boot" => return Some(Key::Boot),
        "policy/project-level" => return Some(Key::Policy),
        "invitations" => return Some(Key::Invitations),
        _ => {}
    }
    let (family, rest) = key.split_once('/')?;
    match family {
        "last_sync" => Some(Key::LastSync(conn(rest)?)),
        "rules" => Some(Key::Rules(conn(rest)?)),
        "conflicts" => {
            let (c, origin) = rest.split_once('/')?;
            (!origin.is_empty()).then_some(Key::Conflicts(conn(c)?, origin))
        }
        "bulk" => {
            let (c, digest) = rest.split_once('/')?;
            (!digest.is_empty()).then_some(Key::Bulk(conn(c)?))
        }
        "remote" => {
            let (c, what) = rest.split_once('/')?;
            let c = conn(c)?;
            match what {
                "link" => return Some(Key::Link(c)),
                "outgoing" => return Some(Key::Outgoing(c)),
                "seq" => return Some(Key::Seq(c, SeqMark::Sent)),
                _ => {}
            }
            let (kind, issue) = what.split_once('/')?;
            if issue.is_empty() {
                return None;
            }
            match kind {
                "in" => Some(Key::Seq(c, SeqMark::Applied(IssueId::new(issue).ok()?))),
                "ack" => Some(Key::Seq(c, SeqMark::Acked(IssueId::new(issue).ok()?))),
                "gone" => Some(Key::Gone(c, issue)),
                _ => None,
            }
        }
        _ => None,
    }
}

/// The peer link as 0.1 stored it.
#[derive(Deserialize)]
struct LinkV0_1 {
    role: Role,
    peer: Option<InstanceUrl>,
    peer_reachable: bool,
    protocol: u16,
    code: ClearCode,
}

/// An invitation code as 0.1 stored it: in the clear. It moves to its
/// column as it is; the node seals it when it first starts with a node key.
struct ClearCode(Zeroizing<String>);

impl ClearCode {
    fn stored(&self) -> StoredSecret {
        StoredSecret::from_bytes(self.0.as_bytes())
    }
}

impl<'de> Deserialize<'de> for ClearCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        Ok(ClearCode(Zeroizing::new(String::deserialize(d)?)))
    }
}

/// An outgoing entry as 0.1 stored it.
#[derive(Deserialize)]
struct OutgoingV0_1 {
    key: IssueKey,
    #[serde(default)]
    new: bool,
    #[serde(default)]
    match_existing: bool,
}

/// An invitation as 0.1 stored it.
#[derive(Deserialize)]
struct InvitationV0_1 {
    code: ClearCode,
    state: InvitationState,
}

/// A value 0.1 would have refused: the key and where the JSON breaks, never
/// the value.
fn unreadable(key: &str, what: &str, detail: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorKind::Storage,
        format!(
            "the twinsync 0.1 {what} under key {key:?} is unreadable ({detail}); move the row aside or restore a backup"
        ),
    )
}

fn json<T: serde::de::DeserializeOwned>(key: &str, what: &str, value: &[u8]) -> Result<T> {
    serde_json::from_slice(value).map_err(|e| {
        unreadable(
            key,
            what,
            format_args!("at line {} column {}", e.line(), e.column()),
        )
    })
}

fn decimal(value: &[u8]) -> Option<u64> {
    std::str::from_utf8(value).ok()?.parse().ok()
}

/// Takes a file at schema version 1 to version 2; runs after the version 2
/// tables are created, in the same transaction.
pub(super) fn migrate(txn: &Transaction<'_>, db: &str) -> Result<()> {
    let records = Records {
        conn: txn,
        db,
        connection: None,
    };
    let rows = {
        let read = |e| storage(db, "cannot read the metadata of twinsync 0.1", e);
        let mut stmt = txn
            .prepare("SELECT key, value FROM meta ORDER BY key")
            .map_err(read)?;
        stmt.query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
        })
        .map_err(read)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(read)?
    };
    let mut node = NodeRecord::default();
    let mut node_seen = false;
    let mut dropped = 0usize;
    for (key, value) in &rows {
        let Some(family) = parse_key(key) else {
            tracing::warn!(database = db, key = %key, "dropped a metadata key twinsync 0.1 never wrote");
            dropped += 1;
            continue;
        };
        let kept = move_row(&records, key, family, value, &mut node, &mut node_seen)?;
        if !kept {
            dropped += 1;
        }
    }
    if node_seen {
        records.put_node_record(&node)?;
    }
    let twins = rewrite_twins(txn, db)?;
    txn.execute_batch("DROP TABLE meta")
        .map_err(|e| storage(db, "cannot drop the metadata table", e))?;
    tracing::info!(
        database = db,
        keys = rows.len(),
        dropped,
        twins,
        "moved the metadata of twinsync 0.1 into typed records"
    );
    Ok(())
}

/// Writes one `meta` row as its typed record; `false` when it was dropped.
fn move_row(
    records: &Records<'_>,
    key: &str,
    family: Key<'_>,
    value: &[u8],
    node: &mut NodeRecord,
    node_seen: &mut bool,
) -> Result<bool> {
    let drop = |why: &str| {
        tracing::warn!(database = records.db, key = %key, "dropped a twinsync 0.1 value: {why}");
        Ok(false)
    };
    match family {
        Key::Boot => match decimal(value) {
            Some(starts) => {
                node.starts = starts;
                *node_seen = true;
            }
            None => return drop("not a number (0.1 counted it as 0)"),
        },
        Key::Policy => {
            node.policy = Some(json::<ProjectLevelPolicy>(
                key,
                "project-level policy",
                value,
            )?);
            *node_seen = true;
        }
        Key::Invitations => {
            let list: Vec<InvitationV0_1> = json(key, "invitation list", value)?;
            for old in list {
                let invitation =
                    Invitation::parse(&old.code.0).map_err(|e| unreadable(key, "invitation", e))?;
                records.put_invitation(&InvitationRecord {
                    connection: invitation.connection().clone(),
                    code: old.code.stored(),
                    state: old.state,
                })?;
            }
        }
        Key::LastSync(c) => {
            let at = std::str::from_utf8(value)
                .ok()
                .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok());
            match at {
                Some(at) => records.set_last_sync(&c, at)?,
                None => return drop("not an RFC 3339 time (0.1 showed no last sync)"),
            }
        }
        Key::Conflicts(c, origin) => match serde_json::from_slice::<Vec<Conflict>>(value) {
            Ok(conflicts) => records.put_conflicts(&TwinConflicts {
                connection: c,
                origin: IssueId::new(origin).map_err(|e| unreadable(key, "conflicts", e))?,
                conflicts,
            })?,
            Err(_) => return drop("not a list of conflicts (0.1 listed none)"),
        },
        Key::Rules(c) => {
            let history: RuleHistory = json(key, "rule versions", value)?;
            records.put_rule_history(&c, &history)?;
        }
        Key::Link(c) => {
            let old: LinkV0_1 = json(key, "peer link", value)?;
            records.put_peer_link(&PeerLink {
                connection: c,
                role: old.role,
                peer: old.peer,
                peer_node: None,
                peer_reachable: old.peer_reachable,
                protocol: old.protocol,
                code: old.code.stored(),
            })?;
        }
        Key::Outgoing(c) => {
            let map: BTreeMap<IssueId, OutgoingV0_1> = json(key, "outgoing list", value)?;
            for (issue, old) in map {
                records.put_outgoing(&OutgoingRecord {
                    connection: c.clone(),
                    issue,
                    key: old.key,
                    new: old.new,
                    match_existing: old.match_existing,
                })?;
            }
        }
        Key::Seq(c, mark) => match decimal(value) {
            Some(seq) => records.set_seq_mark(&c, &mark, Some(seq))?,
            None => return drop("not a number (0.1 read it as none)"),
        },
        Key::Gone(c, issue) => {
            let issue = IssueId::new(issue).map_err(|e| unreadable(key, "gone mark", e))?;
            records.set_peer_gone(&c, &issue, true)?;
        }
        // 0.1 kept a digest of the query, not the query: the progress cannot
        // be found again. Running the bulk exalate again starts from its
        // first page; issues already under sync are skipped, none is created
        // twice.
        Key::Bulk(_) => return drop("bulk progress names its query by digest only"),
    }
    Ok(true)
}

/// Re-encodes every twin state from 0.1's encoding; returns how many.
fn rewrite_twins(txn: &Transaction<'_>, db: &str) -> Result<usize> {
    let read = |e| storage(db, "cannot read the twins of twinsync 0.1", e);
    let twins: Vec<(String, String, Vec<u8>)> = {
        let mut stmt = txn
            .prepare("SELECT connection, remote, state FROM twins")
            .map_err(read)?;
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .map_err(read)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(read)?
    };
    let mut update = txn
        .prepare("UPDATE twins SET state = ?3 WHERE connection = ?1 AND remote = ?2")
        .map_err(|e| storage(db, "cannot rewrite twin states", e))?;
    for (connection, remote, state) in &twins {
        let twin = TwinState::from_v0_1_bytes(state)
            .map_err(|e| e.with_connection(connection).with_issue(remote))?;
        update
            .execute(rusqlite::params![connection, remote, twin.to_bytes()])
            .map_err(|e| {
                storage(db, "cannot rewrite a twin state", e)
                    .with_connection(connection)
                    .with_issue(remote)
            })?;
    }
    Ok(twins.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::ids as lit;

    fn c(id: &str) -> ConnectionId {
        ConnectionId::parse(id).expect("valid id")
    }

    #[test]
    fn every_key_family_of_0_1_is_recognized() {
        assert_eq!(parse_key("node/boot"), Some(Key::Boot));
        assert_eq!(parse_key("policy/project-level"), Some(Key::Policy));
        assert_eq!(parse_key("invitations"), Some(Key::Invitations));
        assert_eq!(parse_key("last_sync/c1"), Some(Key::LastSync(c("c1"))));
        assert_eq!(
            parse_key("conflicts/c1/10/2"),
            Some(Key::Conflicts(c("c1"), "10/2")),
            "an issue id may hold a slash"
        );
        assert_eq!(parse_key("rules/c1"), Some(Key::Rules(c("c1"))));
        assert_eq!(parse_key("remote/c1/link"), Some(Key::Link(c("c1"))));
        assert_eq!(
            parse_key("remote/c1/outgoing"),
            Some(Key::Outgoing(c("c1")))
        );
        assert_eq!(
            parse_key("remote/c1/seq"),
            Some(Key::Seq(c("c1"), SeqMark::Sent))
        );
        assert_eq!(
            parse_key("remote/c1/in/7"),
            Some(Key::Seq(c("c1"), SeqMark::Applied(lit::issue_id("7"))))
        );
        assert_eq!(
            parse_key("remote/c1/ack/8"),
            Some(Key::Seq(c("c1"), SeqMark::Acked(lit::issue_id("8"))))
        );
        assert_eq!(parse_key("remote/c1/gone/9"), Some(Key::Gone(c("c1"), "9")));
        assert_eq!(
            parse_key("bulk/c1/00ff00ff00ff00ff"),
            Some(Key::Bulk(c("c1")))
        );
    }

    #[test]
    fn keys_0_1_never_wrote_are_not_taken_for_a_family() {
        for key in [
            "",
            "node",
            "node/boots",
            "last_sync/",
            "last_sync/has space",
            "conflicts/c1",
            "conflicts/c1/",
            "remote/c1",
            "remote/c1/in/",
            "remote/c1/other/1",
            "remote/c1/links",
            "bulk/c1",
            "plugin/whatever",
        ] {
            assert_eq!(parse_key(key), None, "{key:?}");
        }
    }
}
