//! The cases for the typed records beside twins: last sync times, conflicts,
//! peer links, sequence marks, gone flags, outgoing records, the outbox and
//! peer outages, invitations, rule histories, bulk progress and the node
//! record; and what deleting a connection must leave.

use time::macros::datetime;

use crate::connection::{InvitationState, ProjectLevelPolicy, Role};
use crate::model::{ConnectionId, InstanceUrl, NodeUrl};
use crate::plan::{Conflict, Winner};
use crate::replica::FieldValue;
use crate::rules::{RuleHistory, RuleSpec, RuleVersion};
use crate::store::{
    BulkProgress, EstablishTokenRecord, InvitationRecord, NodeRecord, OutboxMessage,
    OutgoingRecord, PeerLink, PeerOutage, SeqMark, Store, StoredSecret, TwinConflicts,
};
use crate::testkit::ids as lit;

use super::{conn, error, intent, queued, record, twin};

mod remote;
mod removal;

pub use remote::*;
pub use removal::*;

fn conflicts(c: &ConnectionId, origin: &str, subject: &str) -> TwinConflicts {
    TwinConflicts {
        connection: c.clone(),
        origin: lit::issue_id(origin),
        conflicts: vec![Conflict {
            subject: subject.to_owned(),
            remote: FieldValue::Text(format!("{subject} there")),
            local: FieldValue::Text(format!("{subject} here")),
            base: None,
            winner: Winner::Remote,
        }],
    }
}

fn link(c: &ConnectionId, protocol: u16) -> PeerLink {
    PeerLink {
        connection: c.clone(),
        role: Role::Initiator,
        peer: Some(InstanceUrl::parse("https://b.example").expect("url")),
        peer_node: Some(NodeUrl::parse("https://sync.b.example").expect("url")),
        peer_reachable: true,
        protocol,
        code: sealed(&format!("{c}-secret")),
    }
}

/// Bytes like those of a sealed secret: binary, not UTF-8, any value.
fn sealed(tag: &str) -> StoredSecret {
    let mut bytes = vec![0xA7, 0x01, 0x00, 0xFF, 0xC3, 0x28];
    bytes.extend_from_slice(tag.as_bytes());
    bytes.extend((0..=255u8).rev());
    StoredSecret::from_bytes(bytes)
}

fn outgoing(c: &ConnectionId, issue: &str, new: bool) -> OutgoingRecord {
    OutgoingRecord {
        connection: c.clone(),
        issue: lit::issue_id(issue),
        key: lit::key(format!("SUP-{issue}")),
        new,
        match_existing: !new,
    }
}

fn invitation(c: &ConnectionId, state: InvitationState) -> InvitationRecord {
    InvitationRecord {
        connection: c.clone(),
        code: sealed(&format!("{c}-code")),
        state,
    }
}

fn history(versions: u32) -> RuleHistory {
    RuleHistory {
        draft: Some(RuleSpec::default().with_labels()),
        versions: (1..=versions)
            .map(|number| RuleVersion {
                number,
                spec: RuleSpec::default().map_status("Open", format!("To Do {number}")),
                published_at: datetime!(2026-01-01 0:00 UTC),
                published_by: lit::user_id("ada"),
            })
            .collect(),
        active: (versions > 0).then_some(versions),
    }
}

fn bulk(c: &ConnectionId, query: &str, next_page: &str) -> BulkProgress {
    BulkProgress {
        connection: c.clone(),
        query: query.to_owned(),
        next_page: next_page.to_owned(),
    }
}

/// The last sync time is kept per connection and replaced, exactly.
pub fn last_sync_is_kept_per_connection(store: &dyn Store) {
    let (c1, c2) = (conn("c1"), conn("c2"));
    let first = datetime!(2026-03-01 10:00:00.123456789 +02:00);
    let mut txn = store.begin().expect("begin");
    assert_eq!(txn.last_sync(&c1).expect("read"), None);
    txn.set_last_sync(&c1, first).expect("set");
    txn.commit().expect("commit");
    let mut txn = store.begin().expect("begin");
    let read = txn.last_sync(&c1).expect("read");
    assert_eq!(read, Some(first));
    assert_eq!(
        read.map(|t| t.offset()),
        Some(first.offset()),
        "offset kept"
    );
    assert_eq!(txn.last_sync(&c2).expect("read"), None, "per connection");
    let later = datetime!(2026-03-02 0:00 UTC);
    txn.set_last_sync(&c1, later).expect("replace");
    txn.commit().expect("commit");
    let mut txn = store.begin().expect("begin");
    assert_eq!(txn.last_sync(&c1).expect("read"), Some(later));
}

/// Conflicts are kept per twin, listed by origin issue, replaced whole, and
/// an empty list removes them.
pub fn conflicts_are_kept_per_twin_and_cleared_by_an_empty_list(store: &dyn Store) {
    let (c, other) = (conn("c1"), conn("c2"));
    let mut txn = store.begin().expect("begin");
    for origin in ["3", "1", "2"] {
        txn.put_conflicts(&conflicts(&c, origin, "summary"))
            .expect("put");
    }
    txn.put_conflicts(&conflicts(&other, "1", "status"))
        .expect("put");
    txn.commit().expect("commit");
    let mut txn = store.begin().expect("begin");
    let listed = txn.conflicts(&c).expect("read");
    let origins: Vec<&str> = listed.iter().map(|t| t.origin.as_str()).collect();
    assert_eq!(origins, ["1", "2", "3"], "ordered by origin issue id");
    assert_eq!(listed[0], conflicts(&c, "1", "summary"), "read back equal");
    txn.put_conflicts(&conflicts(&c, "1", "description"))
        .expect("replace");
    txn.put_conflicts(&TwinConflicts {
        conflicts: Vec::new(),
        ..conflicts(&c, "2", "summary")
    })
    .expect("clear");
    txn.commit().expect("commit");
    let mut txn = store.begin().expect("begin");
    assert_eq!(
        txn.twin_conflicts(&c, &lit::issue_id("1")).expect("read"),
        conflicts(&c, "1", "description").conflicts
    );
    assert!(
        txn.twin_conflicts(&c, &lit::issue_id("2"))
            .expect("read")
            .is_empty()
    );
    assert_eq!(
        txn.conflicts(&c).expect("read").len(),
        2,
        "cleared one gone"
    );
    assert_eq!(
        txn.conflicts(&other).expect("read"),
        [conflicts(&other, "1", "status")]
    );
}

/// A secret is opaque bytes (nodes store them sealed): a store keeps them
/// exactly, whatever their values and length, in peer links and
/// invitations alike, and replaces them whole.
pub fn sealed_secrets_round_trip_as_opaque_bytes(store: &dyn Store) {
    let c = conn("c1");
    let cases: Vec<Vec<u8>> = vec![
        vec![0],
        vec![0xA7, 0x01],
        (0..=255u8).collect(),
        vec![0xFF; 4096],
        b"twinsync-invite-text of an older store".to_vec(),
    ];
    for bytes in cases {
        let secret = StoredSecret::from_bytes(bytes.clone());
        let mut txn = store.begin().expect("begin");
        let mut l = link(&c, 1);
        l.code = secret.clone();
        txn.put_peer_link(&l).expect("put link");
        let mut inv = invitation(&c, InvitationState::Pending);
        inv.code = secret.clone();
        txn.put_invitation(&inv).expect("put invitation");
        txn.commit().expect("commit");
        let mut txn = store.begin().expect("begin");
        let read = txn.peer_link(&c).expect("read").expect("a link");
        assert_eq!(read.code.as_bytes(), bytes.as_slice(), "the link's bytes");
        let listed = txn.invitations().expect("read");
        assert_eq!(listed.len(), 1);
        assert_eq!(
            listed[0].code.as_bytes(),
            bytes.as_slice(),
            "the invitation's bytes"
        );
    }
}

fn message(c: &ConnectionId, issue: Option<&str>, body: &str) -> OutboxMessage {
    OutboxMessage {
        seq: 0,
        connection: c.clone(),
        issue: issue.map(lit::issue_id),
        body: body.to_owned(),
        posted: datetime!(2026-01-01 0:00:00.5 +01:00),
    }
}

/// The bodies waiting for connection `c`, in order.
fn waiting(txn: &mut dyn crate::store::StoreTxn, c: &ConnectionId) -> Vec<String> {
    txn.outbox(c, usize::MAX)
        .expect("read")
        .into_iter()
        .map(|m| m.body)
        .collect()
}

/// A rule history reads back equal and is replaced whole.
pub fn rule_history_round_trips(store: &dyn Store) {
    let c = conn("c1");
    let mut txn = store.begin().expect("begin");
    assert_eq!(txn.rule_history(&c).expect("read"), None);
    txn.put_rule_history(&c, &history(1)).expect("put");
    txn.commit().expect("commit");
    let mut txn = store.begin().expect("begin");
    assert_eq!(txn.rule_history(&c).expect("read"), Some(history(1)));
    txn.put_rule_history(&c, &history(3)).expect("replace");
    txn.commit().expect("commit");
    let mut txn = store.begin().expect("begin");
    assert_eq!(txn.rule_history(&c).expect("read"), Some(history(3)));
    assert_eq!(txn.rule_history(&conn("c2")).expect("read"), None);
}

/// Bulk progress is kept per connection and exact query, replaced and deleted.
pub fn bulk_progress_is_kept_per_query(store: &dyn Store) {
    let c = conn("c1");
    let (q1, q2) = ("project = SUP", "project = SUP ORDER BY key");
    let mut txn = store.begin().expect("begin");
    txn.put_bulk_progress(&bulk(&c, q1, "page-2")).expect("put");
    txn.put_bulk_progress(&bulk(&c, q2, "page-9")).expect("put");
    txn.commit().expect("commit");
    let mut txn = store.begin().expect("begin");
    assert_eq!(
        txn.bulk_progress(&c, q1).expect("read"),
        Some(bulk(&c, q1, "page-2"))
    );
    assert_eq!(txn.bulk_progress(&conn("c2"), q1).expect("read"), None);
    txn.put_bulk_progress(&bulk(&c, q1, "page-3"))
        .expect("replace");
    txn.delete_bulk_progress(&c, q2).expect("delete");
    txn.commit().expect("commit");
    let mut txn = store.begin().expect("begin");
    assert_eq!(
        txn.bulk_progress(&c, q1).expect("read"),
        Some(bulk(&c, q1, "page-3"))
    );
    assert_eq!(txn.bulk_progress(&c, q2).expect("read"), None);
}

/// The node record is the default until saved, then what was saved.
pub fn node_record_defaults_then_round_trips(store: &dyn Store) {
    let mut txn = store.begin().expect("begin");
    assert_eq!(txn.node_record().expect("read"), NodeRecord::default());
    let mut node = NodeRecord {
        starts: 3,
        policy: Some(ProjectLevelPolicy {
            enabled: true,
            group: "sync-admins".to_owned(),
        }),
        establish_tokens: vec![EstablishTokenRecord {
            digest: "ab".repeat(32),
            project: lit::project("DEV"),
            issued_by: lit::user_id("ada"),
            issued: datetime!(2026-01-01 0:00:00.5 UTC),
            expires: datetime!(2026-01-01 1:00 +02:00),
            used_for: Some(conn("c1")),
        }],
        ..NodeRecord::default()
    };
    txn.put_node_record(&node).expect("put");
    txn.commit().expect("commit");
    let mut txn = store.begin().expect("begin");
    assert_eq!(txn.node_record().expect("read"), node);
    node.starts = 4;
    node.policy = None;
    node.establish_tokens.clear();
    txn.put_node_record(&node).expect("replace");
    txn.commit().expect("commit");
    let mut txn = store.begin().expect("begin");
    assert_eq!(txn.node_record().expect("read"), node);
}
