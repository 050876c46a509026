//! Store conformance: what a node keeps of the other node of a remote
//! connection (peer link, sequence marks, flags, outgoing records, the
//! outbox, outages) and invitations.

use super::*;

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
