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

/// A peer link reads back with its code intact, is replaced and deleted.
pub fn peer_link_round_trips_with_its_code(store: &dyn Store) {
    let (c, other) = (conn("c1"), conn("c2"));
    let mut txn = store.begin().expect("begin");
    txn.put_peer_link(&link(&c, 1)).expect("put");
    txn.commit().expect("commit");
    let mut txn = store.begin().expect("begin");
    let read = txn.peer_link(&c).expect("read").expect("a link");
    assert_eq!(read, link(&c, 1));
    assert_eq!(read.code, sealed("c1-secret"));
    assert_eq!(txn.peer_link(&other).expect("read"), None);
    let mut changed = link(&c, 2);
    changed.role = Role::Acceptor;
    changed.peer = None;
    changed.peer_reachable = false;
    txn.put_peer_link(&changed).expect("replace");
    txn.commit().expect("commit");
    let mut txn = store.begin().expect("begin");
    assert_eq!(txn.peer_link(&c).expect("read"), Some(changed));
    txn.delete_peer_link(&c).expect("delete");
    txn.delete_peer_link(&other)
        .expect("deleting nothing is fine");
    txn.commit().expect("commit");
    let mut txn = store.begin().expect("begin");
    assert_eq!(txn.peer_link(&c).expect("read"), None);
}

/// Each sequence mark (sent, applied per issue, acked per issue) is its own
/// value, kept exactly, replaced, and removed by `None`.
pub fn sequence_marks_are_kept_apart_and_exactly(store: &dyn Store) {
    let c = conn("c1");
    let marks = [
        (SeqMark::Sent, 1_790_000_000_000_000_000),
        (SeqMark::Applied(lit::issue_id("7")), 5),
        (SeqMark::Acked(lit::issue_id("7")), 6),
        (SeqMark::Applied(lit::issue_id("8")), u64::MAX),
    ];
    let mut txn = store.begin().expect("begin");
    for (mark, value) in &marks {
        txn.set_seq_mark(&c, mark, Some(*value)).expect("set");
    }
    txn.commit().expect("commit");
    let mut txn = store.begin().expect("begin");
    for (mark, value) in &marks {
        assert_eq!(
            txn.seq_mark(&c, mark).expect("read"),
            Some(*value),
            "{mark:?}"
        );
    }
    assert_eq!(
        txn.seq_mark(&c, &SeqMark::Acked(lit::issue_id("8")))
            .expect("read"),
        None
    );
    assert_eq!(
        txn.seq_mark(&conn("c2"), &SeqMark::Sent).expect("read"),
        None
    );
    txn.set_seq_mark(&c, &SeqMark::Sent, Some(2))
        .expect("replace");
    txn.set_seq_mark(&c, &SeqMark::Acked(lit::issue_id("7")), None)
        .expect("remove");
    txn.commit().expect("commit");
    let mut txn = store.begin().expect("begin");
    assert_eq!(txn.seq_mark(&c, &SeqMark::Sent).expect("read"), Some(2));
    assert_eq!(
        txn.seq_mark(&c, &SeqMark::Acked(lit::issue_id("7")))
            .expect("read"),
        None
    );
    assert_eq!(
        txn.seq_mark(&c, &SeqMark::Applied(lit::issue_id("7")))
            .expect("read"),
        Some(5)
    );
}

/// A gone flag is set per issue, set twice harmlessly, and cleared.
pub fn peer_gone_flags_set_and_clear(store: &dyn Store) {
    let c = conn("c1");
    let mut txn = store.begin().expect("begin");
    txn.set_peer_gone(&c, &lit::issue_id("7"), true)
        .expect("set");
    txn.set_peer_gone(&c, &lit::issue_id("7"), true)
        .expect("set again");
    txn.set_peer_gone(&c, &lit::issue_id("9"), false)
        .expect("clearing nothing is fine");
    txn.commit().expect("commit");
    let mut txn = store.begin().expect("begin");
    assert!(txn.peer_gone(&c, &lit::issue_id("7")).expect("read"));
    assert!(!txn.peer_gone(&c, &lit::issue_id("9")).expect("read"));
    assert!(
        !txn.peer_gone(&conn("c2"), &lit::issue_id("7"))
            .expect("read")
    );
    txn.set_peer_gone(&c, &lit::issue_id("7"), false)
        .expect("clear");
    txn.commit().expect("commit");
    let mut txn = store.begin().expect("begin");
    assert!(!txn.peer_gone(&c, &lit::issue_id("7")).expect("read"));
}

/// An origin flag is set per issue of a connection and cleared.
pub fn origin_flags_set_and_clear(store: &dyn Store) {
    let c = conn("c1");
    let mut txn = store.begin().expect("begin");
    txn.set_origin_here(&c, &lit::issue_id("101"), true)
        .expect("set");
    txn.set_origin_here(&c, &lit::issue_id("101"), true)
        .expect("set again");
    txn.commit().expect("commit");
    let mut txn = store.begin().expect("begin");
    assert!(txn.origin_here(&c, &lit::issue_id("101")).expect("read"));
    assert!(!txn.origin_here(&c, &lit::issue_id("102")).expect("read"));
    assert!(
        !txn.origin_here(&conn("c2"), &lit::issue_id("101"))
            .expect("read")
    );
    txn.set_origin_here(&c, &lit::issue_id("101"), false)
        .expect("clear");
    txn.commit().expect("commit");
    let mut txn = store.begin().expect("begin");
    assert!(!txn.origin_here(&c, &lit::issue_id("101")).expect("read"));
}

/// Outgoing records are listed by issue id, replaced and deleted.
pub fn outgoing_records_are_ordered_and_replaced(store: &dyn Store) {
    let c = conn("c1");
    let mut txn = store.begin().expect("begin");
    for issue in ["30", "10", "20"] {
        txn.put_outgoing(&outgoing(&c, issue, true)).expect("put");
    }
    txn.put_outgoing(&outgoing(&conn("c2"), "10", true))
        .expect("put");
    txn.commit().expect("commit");
    let mut txn = store.begin().expect("begin");
    let issues: Vec<String> = txn
        .outgoing(&c)
        .expect("read")
        .into_iter()
        .map(|r| r.issue.as_str().to_owned())
        .collect();
    assert_eq!(issues, ["10", "20", "30"], "ordered by issue id");
    txn.put_outgoing(&outgoing(&c, "20", false))
        .expect("replace");
    txn.delete_outgoing(&c, &lit::issue_id("30"))
        .expect("delete");
    txn.delete_outgoing(&c, &lit::issue_id("99"))
        .expect("deleting nothing is fine");
    txn.commit().expect("commit");
    let mut txn = store.begin().expect("begin");
    assert_eq!(
        txn.outgoing(&c).expect("read"),
        [outgoing(&c, "10", true), outgoing(&c, "20", false)]
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

/// Messages wait in the order they were posted, numbered upwards; a replica
/// replaces the waiting one of its issue and takes the last place; notices
/// replace nothing; each connection has its own outbox.
pub fn outbox_keeps_order_and_the_latest_replica_per_issue(store: &dyn Store) {
    let (c, other) = (conn("c1"), conn("c2"));
    let mut txn = store.begin().expect("begin");
    let mut numbers = Vec::new();
    for (issue, body) in [
        (Some("1"), "replica 1 v1"),
        (None, "unexalate 2"),
        (Some("3"), "replica 3 v1"),
        (None, "unexalate 2"),
    ] {
        numbers.push(txn.post_outbox(&message(&c, issue, body)).expect("post"));
    }
    numbers.push(
        txn.post_outbox(&message(&other, Some("1"), "other's replica 1"))
            .expect("post"),
    );
    txn.commit().expect("commit");
    assert!(
        numbers.windows(2).all(|w| w[0] < w[1]),
        "numbers grow: {numbers:?}"
    );
    let mut txn = store.begin().expect("begin");
    let read = txn.outbox(&c, usize::MAX).expect("read");
    assert_eq!(
        read.iter().map(|m| m.seq).collect::<Vec<_>>(),
        numbers[..4],
        "each message under the number posting it returned"
    );
    assert_eq!(
        read[0],
        OutboxMessage {
            seq: numbers[0],
            ..message(&c, Some("1"), "replica 1 v1")
        },
        "read back equal, time and offset kept"
    );
    assert_eq!(
        waiting(&mut *txn, &c),
        ["replica 1 v1", "unexalate 2", "replica 3 v1", "unexalate 2"],
        "in the order posted, equal notices both kept"
    );
    let newer = txn
        .post_outbox(&message(&c, Some("1"), "replica 1 v2"))
        .expect("post");
    assert!(newer > numbers[4], "a replaced replica gets a new number");
    txn.commit().expect("commit");
    let mut txn = store.begin().expect("begin");
    assert_eq!(
        waiting(&mut *txn, &c),
        ["unexalate 2", "replica 3 v1", "unexalate 2", "replica 1 v2"],
        "the newer replica replaced the older and went last"
    );
    assert_eq!(txn.outbox_len(&c).expect("count"), 4);
    assert_eq!(
        txn.outbox(&c, 2)
            .expect("read")
            .into_iter()
            .map(|m| m.body)
            .collect::<Vec<_>>(),
        ["unexalate 2", "replica 3 v1"],
        "a limit takes the oldest"
    );
    assert_eq!(
        waiting(&mut *txn, &other),
        ["other's replica 1"],
        "a replica of the same issue on another connection is kept"
    );
}

/// Removing "through n" takes the messages of that connection numbered up
/// to n; later ones stay, and numbers are never handed out again, even once
/// the outbox is empty.
pub fn taken_messages_are_removed_through_their_number(store: &dyn Store) {
    let (c, other) = (conn("c1"), conn("c2"));
    let mut txn = store.begin().expect("begin");
    let first = txn.post_outbox(&message(&c, None, "a")).expect("post");
    let second = txn.post_outbox(&message(&c, Some("1"), "b")).expect("post");
    let theirs = txn.post_outbox(&message(&other, None, "x")).expect("post");
    let third = txn.post_outbox(&message(&c, None, "c")).expect("post");
    txn.commit().expect("commit");
    let mut txn = store.begin().expect("begin");
    txn.remove_outbox(&c, second).expect("remove");
    txn.commit().expect("commit");
    let mut txn = store.begin().expect("begin");
    assert_eq!(waiting(&mut *txn, &c), ["c"], "a and b were taken");
    assert_eq!(
        waiting(&mut *txn, &other),
        ["x"],
        "another connection's message numbered below is kept"
    );
    txn.remove_outbox(&c, third).expect("remove");
    txn.remove_outbox(&c, third)
        .expect("removing nothing is fine");
    txn.commit().expect("commit");
    let mut txn = store.begin().expect("begin");
    assert_eq!(txn.outbox_len(&c).expect("count"), 0);
    let next = txn.post_outbox(&message(&c, None, "d")).expect("post");
    assert!(
        next > third && next > theirs && next > first,
        "a number is never handed out twice: {next} after {third}"
    );
    txn.commit().expect("commit");
    let mut txn = store.begin().expect("begin");
    txn.remove_outbox(&c, next - 1).expect("remove");
    txn.commit().expect("commit");
    let mut txn = store.begin().expect("begin");
    assert_eq!(
        waiting(&mut *txn, &c),
        ["d"],
        "posted after the number taken"
    );
}

/// A peer outage round-trips exactly, is replaced, and cleared.
pub fn peer_outage_round_trips_and_clears(store: &dyn Store) {
    let (c, other) = (conn("c1"), conn("c2"));
    let mut outage = PeerOutage::new(
        c.clone(),
        datetime!(2026-03-01 10:00:00.25 +02:00),
        datetime!(2026-03-01 10:00:05.25 +02:00),
        "no node is reachable at https://b.example",
    );
    let mut txn = store.begin().expect("begin");
    assert_eq!(txn.peer_outage(&c).expect("read"), None);
    txn.put_peer_outage(&outage).expect("put");
    txn.commit().expect("commit");
    let mut txn = store.begin().expect("begin");
    assert_eq!(txn.peer_outage(&c).expect("read"), Some(outage.clone()));
    assert_eq!(
        txn.peer_outage(&other).expect("read"),
        None,
        "per connection"
    );
    outage.attempts = 3;
    outage.next_try = datetime!(2026-03-01 10:01:00 UTC);
    txn.put_peer_outage(&outage).expect("replace");
    txn.commit().expect("commit");
    let mut txn = store.begin().expect("begin");
    assert_eq!(txn.peer_outage(&c).expect("read"), Some(outage));
    txn.clear_peer_outage(&c).expect("clear");
    txn.clear_peer_outage(&other)
        .expect("clearing nothing is fine");
    txn.commit().expect("commit");
    let mut txn = store.begin().expect("begin");
    assert_eq!(txn.peer_outage(&c).expect("read"), None);
}

/// Invitations are listed by connection id with their codes, replaced and
/// deleted.
pub fn invitations_are_ordered_by_connection(store: &dyn Store) {
    let used = InvitationState::Used {
        at: datetime!(2026-01-02 3:04:05 UTC),
    };
    let mut txn = store.begin().expect("begin");
    for id in ["c3", "c1", "c2"] {
        txn.put_invitation(&invitation(&conn(id), InvitationState::Pending))
            .expect("put");
    }
    txn.commit().expect("commit");
    let mut txn = store.begin().expect("begin");
    let listed = txn.invitations().expect("read");
    let ids: Vec<&str> = listed.iter().map(|i| i.connection.as_str()).collect();
    assert_eq!(ids, ["c1", "c2", "c3"], "ordered by connection id");
    assert_eq!(listed[0].code, sealed("c1-code"));
    txn.put_invitation(&invitation(&conn("c1"), used))
        .expect("replace");
    txn.delete_invitation(&conn("c3")).expect("delete");
    txn.delete_invitation(&conn("c9"))
        .expect("deleting nothing is fine");
    txn.commit().expect("commit");
    let mut txn = store.begin().expect("begin");
    assert_eq!(
        txn.invitations().expect("read"),
        [
            invitation(&conn("c1"), used),
            invitation(&conn("c2"), InvitationState::Pending)
        ]
    );
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

/// Writes one record of every kind for connection `c`.
fn fill(txn: &mut dyn crate::store::StoreTxn, c: &ConnectionId) {
    txn.put_connection(&record(c)).expect("put connection");
    txn.put_twin(&twin(c, "1", Some("101"))).expect("put twin");
    txn.put_intent(&intent(c, &format!("op-{c}"), 0))
        .expect("put intent");
    txn.enqueue(&queued(c, "1")).expect("enqueue");
    txn.put_error(&error(c, "1", "e")).expect("put error");
    txn.set_watermark(c, &lit::project("SUP"), datetime!(2026-01-01 0:00 UTC))
        .expect("set watermark");
    txn.set_last_sync(c, datetime!(2026-01-01 0:00 UTC))
        .expect("set last sync");
    txn.put_conflicts(&conflicts(c, "1", "summary"))
        .expect("put conflicts");
    txn.put_peer_link(&link(c, 1)).expect("put link");
    for mark in [
        SeqMark::Sent,
        SeqMark::Applied(lit::issue_id("1")),
        SeqMark::Acked(lit::issue_id("101")),
    ] {
        txn.set_seq_mark(c, &mark, Some(9)).expect("set mark");
    }
    txn.set_peer_gone(c, &lit::issue_id("2"), true)
        .expect("set gone");
    txn.set_origin_here(c, &lit::issue_id("101"), true)
        .expect("set origin");
    txn.put_outgoing(&outgoing(c, "101", true))
        .expect("put outgoing");
    txn.post_outbox(&message(c, Some("101"), "replica"))
        .expect("post replica");
    txn.post_outbox(&message(c, None, "notice"))
        .expect("post notice");
    txn.put_peer_outage(&PeerOutage::new(
        c.clone(),
        datetime!(2026-01-01 0:00 UTC),
        datetime!(2026-01-01 0:00:05 UTC),
        "down",
    ))
    .expect("put outage");
    txn.put_invitation(&invitation(c, InvitationState::Pending))
        .expect("put invitation");
    txn.put_rule_history(c, &history(1)).expect("put rules");
    txn.put_bulk_progress(&bulk(c, "project = SUP", "page-2"))
        .expect("put bulk");
}

/// Every query of connection `c`: `true` when each finds something.
fn everything_of(
    txn: &mut dyn crate::store::StoreTxn,
    c: &ConnectionId,
) -> Vec<(&'static str, bool)> {
    vec![
        ("connection", txn.connection(c).expect("read").is_some()),
        ("twins", !txn.twins(c).expect("read").is_empty()),
        ("twin count", txn.twin_count(c).expect("read") > 0),
        (
            "twin by local",
            txn.twin_by_local(c, &lit::issue_id("101"))
                .expect("read")
                .is_some(),
        ),
        ("intents", !txn.intents(c).expect("read").is_empty()),
        ("queue", txn.queue_len(c).expect("read") > 0),
        ("errors", !txn.errors(c).expect("read").is_empty()),
        (
            "watermark",
            txn.watermark(c, &lit::project("SUP"))
                .expect("read")
                .is_some(),
        ),
        ("last sync", txn.last_sync(c).expect("read").is_some()),
        ("conflicts", !txn.conflicts(c).expect("read").is_empty()),
        (
            "twin conflicts",
            !txn.twin_conflicts(c, &lit::issue_id("1"))
                .expect("read")
                .is_empty(),
        ),
        ("peer link", txn.peer_link(c).expect("read").is_some()),
        (
            "sent mark",
            txn.seq_mark(c, &SeqMark::Sent).expect("read").is_some(),
        ),
        (
            "applied mark",
            txn.seq_mark(c, &SeqMark::Applied(lit::issue_id("1")))
                .expect("read")
                .is_some(),
        ),
        (
            "acked mark",
            txn.seq_mark(c, &SeqMark::Acked(lit::issue_id("101")))
                .expect("read")
                .is_some(),
        ),
        (
            "gone flag",
            txn.peer_gone(c, &lit::issue_id("2")).expect("read"),
        ),
        (
            "origin flag",
            txn.origin_here(c, &lit::issue_id("101")).expect("read"),
        ),
        ("outgoing", !txn.outgoing(c).expect("read").is_empty()),
        (
            "outbox",
            !txn.outbox(c, usize::MAX).expect("read").is_empty(),
        ),
        ("outbox length", txn.outbox_len(c).expect("read") > 0),
        ("peer outage", txn.peer_outage(c).expect("read").is_some()),
        (
            "invitation",
            txn.invitations()
                .expect("read")
                .iter()
                .any(|i| &i.connection == c),
        ),
        ("rule history", txn.rule_history(c).expect("read").is_some()),
        (
            "bulk progress",
            txn.bulk_progress(c, "project = SUP")
                .expect("read")
                .is_some(),
        ),
    ]
}

/// Deleting a connection leaves nothing of it, in any record kind, and
/// everything of other connections.
pub fn deleting_a_connection_leaves_nothing(store: &dyn Store) {
    let (gone, kept) = (conn("c1"), conn("c2"));
    let mut txn = store.begin().expect("begin");
    fill(&mut *txn, &gone);
    fill(&mut *txn, &kept);
    txn.commit().expect("commit");
    let mut txn = store.begin().expect("begin");
    let before = everything_of(&mut *txn, &gone);
    assert!(before.iter().all(|(_, found)| *found), "filled: {before:?}");
    txn.delete_connection(&gone).expect("delete");
    txn.commit().expect("commit");
    let mut txn = store.begin().expect("begin");
    let left: Vec<&str> = everything_of(&mut *txn, &gone)
        .into_iter()
        .filter_map(|(what, found)| found.then_some(what))
        .collect();
    assert!(left.is_empty(), "left of the deleted connection: {left:?}");
    let missing: Vec<&str> = everything_of(&mut *txn, &kept)
        .into_iter()
        .filter_map(|(what, found)| (!found).then_some(what))
        .collect();
    assert!(
        missing.is_empty(),
        "lost of the other connection: {missing:?}"
    );
    assert_eq!(txn.connections().expect("read"), [record(&kept)]);
    assert_eq!(txn.peer_link(&kept).expect("read"), Some(link(&kept, 1)));
}

/// A transaction dropped without commit leaves no typed record behind, and
/// takes back nothing that was committed.
pub fn dropped_transaction_leaves_no_typed_record(store: &dyn Store) {
    let (c, committed) = (conn("c1"), conn("c2"));
    let mut txn = store.begin().expect("begin");
    fill(&mut *txn, &committed);
    txn.commit().expect("commit");
    let mut txn = store.begin().expect("begin");
    fill(&mut *txn, &c);
    let node = NodeRecord {
        starts: 7,
        ..NodeRecord::default()
    };
    txn.put_node_record(&node).expect("put node");
    txn.delete_connection(&committed).expect("delete");
    drop(txn);
    let mut txn = store.begin().expect("begin");
    let left: Vec<&str> = everything_of(&mut *txn, &c)
        .into_iter()
        .filter_map(|(what, found)| found.then_some(what))
        .collect();
    assert!(left.is_empty(), "left after the rollback: {left:?}");
    assert_eq!(txn.node_record().expect("read"), NodeRecord::default());
    let missing: Vec<&str> = everything_of(&mut *txn, &committed)
        .into_iter()
        .filter_map(|(what, found)| (!found).then_some(what))
        .collect();
    assert!(
        missing.is_empty(),
        "the rolled-back delete took: {missing:?}"
    );
}
