//! Store conformance: deleting a connection, or dropping a transaction,
//! leaves no typed record behind.

use super::*;

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
