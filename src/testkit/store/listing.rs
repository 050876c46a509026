//! The cases for what the status panel asks without loading every twin:
//! pages of twins, key searches, counts and queue membership.

use crate::model::IssueId;
use crate::plan::TwinState;
use crate::store::{KeyMatch, StatusCounts, Store, StoreTxn, TwinConflicts, TwinQuery};
use crate::testkit::ids as lit;

use super::{conn, error, intent, queued, twin};

fn ids(twins: &[TwinState]) -> Vec<String> {
    twins.iter().map(|t| t.remote.id.to_string()).collect()
}

fn page(txn: &mut dyn StoreTxn, c: &crate::model::ConnectionId, query: TwinQuery) -> Vec<String> {
    ids(&txn.twin_page(c, &query).expect("twin_page"))
}

/// Pages of twins follow the order of `twins` (remote issue id), each
/// starting after the given id, hold at most `limit` twins of their own
/// connection, and together list every twin once.
pub fn twin_pages_follow_the_listing_from_a_key(store: &dyn Store) {
    let (c1, c2) = (conn("c1"), conn("c2"));
    let mut txn = store.begin().expect("begin");
    for id in ["5", "1", "30", "4", "2"] {
        txn.put_twin(&twin(&c1, id, None)).expect("put");
    }
    txn.put_twin(&twin(&c2, "3", None)).expect("put");
    txn.commit().expect("commit");
    let mut txn = store.begin().expect("begin");
    let all = ids(&txn.twins(&c1).expect("twins"));
    let mut paged = Vec::new();
    let mut query = TwinQuery::first(2);
    loop {
        let got = txn.twin_page(&c1, &query).expect("twin_page");
        assert!(
            got.len() <= 2,
            "a page holds at most its limit: {:?}",
            ids(&got)
        );
        let Some(last) = got.last() else { break };
        query = TwinQuery::first(2).after(last.remote.id.clone());
        paged.extend(ids(&got));
    }
    assert_eq!(paged, all, "the pages together are the listing, in order");
    assert_eq!(
        all,
        ["1", "2", "30", "4", "5"],
        "ordered by remote issue id"
    );
    assert_eq!(
        page(&mut *txn, &c1, TwinQuery::first(0)),
        Vec::<String>::new()
    );
    assert_eq!(
        page(
            &mut *txn,
            &c1,
            TwinQuery::first(10).after(lit::issue_id("25"))
        ),
        ["30", "4", "5"],
        "after an id that is no twin: from the next one"
    );
    assert_eq!(
        page(
            &mut *txn,
            &c1,
            TwinQuery::first(10).after(lit::issue_id("5"))
        ),
        Vec::<String>::new()
    );
    assert_eq!(page(&mut *txn, &c2, TwinQuery::first(10)), ["3"]);
}

/// A key search keeps the twins whose remote or local key matches, exactly
/// or by prefix, ignoring ASCII case; it follows a twin whose key changed,
/// and combines with `after` and `limit`.
pub fn twins_are_found_by_either_key_ignoring_case(store: &dyn Store) {
    let (c1, c2) = (conn("c1"), conn("c2"));
    let mut txn = store.begin().expect("begin");
    // Remote keys SUP-<remote>, local keys DEV-<local>.
    txn.put_twin(&twin(&c1, "1", Some("101"))).expect("put");
    txn.put_twin(&twin(&c1, "10", Some("11"))).expect("put");
    txn.put_twin(&twin(&c1, "2", None)).expect("put");
    txn.put_twin(&twin(&c1, "3", Some("1"))).expect("put");
    txn.put_twin(&twin(&c2, "1", Some("1"))).expect("put");
    txn.commit().expect("commit");
    let mut txn = store.begin().expect("begin");
    let exact = |k: &str| TwinQuery::first(10).matching(KeyMatch::Exact(lit::key(k)));
    let prefix = |p: &str| TwinQuery::first(10).matching(KeyMatch::Prefix(p.to_owned()));
    assert_eq!(page(&mut *txn, &c1, exact("SUP-1")), ["1"], "remote key");
    assert_eq!(page(&mut *txn, &c1, exact("DEV-1")), ["3"], "local key");
    assert_eq!(page(&mut *txn, &c1, exact("dev-101")), ["1"], "any case");
    assert_eq!(page(&mut *txn, &c1, exact("DEV-2")), Vec::<String>::new());
    assert_eq!(
        page(&mut *txn, &c1, prefix("sup-1")),
        ["1", "10"],
        "prefix of the remote key"
    );
    assert_eq!(
        page(&mut *txn, &c1, prefix("DEV-1")),
        ["1", "10", "3"],
        "prefix of the local key, in remote id order"
    );
    assert_eq!(
        page(&mut *txn, &c1, prefix("")),
        ["1", "10", "2", "3"],
        "an empty prefix matches every twin"
    );
    assert_eq!(
        page(&mut *txn, &c1, prefix("DEV-1").after(lit::issue_id("1"))),
        ["10", "3"]
    );
    let mut limited = prefix("DEV-1");
    limited.limit = 1;
    assert_eq!(page(&mut *txn, &c1, limited), ["1"]);
    assert_eq!(page(&mut *txn, &c1, prefix("DEV-1-")), Vec::<String>::new());
    // A twin moved: its new key is found, its old one no more.
    let mut moved = twin(&c1, "2", Some("7"));
    moved.remote.key = lit::key("OPS-2");
    txn.put_twin(&moved).expect("put");
    assert_eq!(page(&mut *txn, &c1, exact("OPS-2")), ["2"]);
    assert_eq!(page(&mut *txn, &c1, exact("DEV-7")), ["2"]);
    assert_eq!(page(&mut *txn, &c1, exact("SUP-2")), Vec::<String>::new());
    let found = txn.twin_page(&c1, &exact("OPS-2")).expect("twin_page");
    assert_eq!(found, [moved], "the page holds the whole twin state");
}

/// The counts of a connection equal the lengths of its listings, follow
/// writes, deletes and rollbacks, and are zero for a connection without
/// records.
pub fn status_counts_match_the_listings(store: &dyn Store) {
    let (c1, c2) = (conn("c1"), conn("c2"));
    let mut txn = store.begin().expect("begin");
    for id in ["1", "2", "3"] {
        txn.put_twin(&twin(&c1, id, Some(&format!("10{id}"))))
            .expect("put");
    }
    // An update is no new twin.
    txn.put_twin(&twin(&c1, "1", Some("201"))).expect("put");
    txn.put_twin(&twin(&c2, "1", None)).expect("put");
    txn.put_error(&error(&c1, "1", "boom")).expect("put");
    txn.put_error(&error(&c1, "2", "bang")).expect("put");
    txn.put_intent(&intent(&c1, "op-1", 0)).expect("put");
    txn.enqueue(&queued(&c1, "2")).expect("enqueue");
    txn.enqueue(&queued(&c1, "3")).expect("enqueue");
    txn.enqueue(&queued(&c1, "3")).expect("enqueue");
    txn.put_conflicts(&TwinConflicts {
        connection: c1.clone(),
        origin: lit::issue_id("3"),
        conflicts: vec![crate::plan::Conflict {
            subject: "summary".to_owned(),
            remote: crate::replica::FieldValue::Text("there".to_owned()),
            local: crate::replica::FieldValue::Text("here".to_owned()),
            base: None,
            winner: crate::plan::Winner::Remote,
        }],
    })
    .expect("put");
    txn.commit().expect("commit");
    let listed = |txn: &mut dyn StoreTxn, c| StatusCounts {
        twins: txn.twins(c).expect("twins").len() as u64,
        errors: txn.errors(c).expect("errors").len() as u64,
        conflicts: txn.conflicts(c).expect("conflicts").len() as u64,
        intents: txn.intents(c).expect("intents").len() as u64,
        queued: txn.queue(c, usize::MAX).expect("queue").len() as u64,
    };
    let mut txn = store.begin().expect("begin");
    let counts = txn.status_counts(&c1).expect("counts");
    assert_eq!(
        counts,
        StatusCounts {
            twins: 3,
            errors: 2,
            conflicts: 1,
            intents: 1,
            queued: 2,
        }
    );
    assert_eq!(counts, listed(&mut *txn, &c1));
    assert_eq!(txn.status_counts(&c2).expect("counts").twins, 1);
    assert_eq!(
        txn.status_counts(&conn("none")).expect("counts"),
        StatusCounts::default()
    );
    // Rolled back: the counts are as committed.
    txn.put_twin(&twin(&c1, "4", None)).expect("put");
    txn.delete_twin(&c1, &lit::issue_id("1")).expect("delete");
    txn.delete_twin(&c1, &lit::issue_id("2")).expect("delete");
    assert_eq!(
        txn.status_counts(&c1).expect("counts").twins,
        2,
        "own writes"
    );
    drop(txn);
    let mut txn = store.begin().expect("begin");
    assert_eq!(txn.status_counts(&c1).expect("counts").twins, 3);
    txn.delete_twin(&c1, &lit::issue_id("1")).expect("delete");
    txn.delete_twin(&c1, &lit::issue_id("9"))
        .expect("delete nothing");
    txn.clear_error(&c1, &lit::issue_id("1")).expect("clear");
    txn.delete_intent("op-1").expect("delete");
    let seq = txn.queue(&c1, 1).expect("queue")[0].seq;
    txn.dequeue(seq).expect("dequeue");
    txn.commit().expect("commit");
    let mut txn = store.begin().expect("begin");
    let counts = txn.status_counts(&c1).expect("counts");
    assert_eq!(
        (counts.twins, counts.errors, counts.intents, counts.queued),
        (2, 1, 0, 1)
    );
    assert_eq!(counts, listed(&mut *txn, &c1));
    txn.delete_connection(&c1).expect("delete");
    assert_eq!(
        txn.status_counts(&c1).expect("counts"),
        StatusCounts::default()
    );
    txn.put_twin(&twin(&c1, "5", None)).expect("put");
    assert_eq!(
        txn.status_counts(&c1).expect("counts").twins,
        1,
        "a connection made again counts from zero"
    );
    assert_eq!(txn.status_counts(&c2).expect("counts").twins, 1);
}

/// An issue is queued from `enqueue` until its item is dequeued, per
/// connection.
pub fn queued_issues_are_known_until_dequeued(store: &dyn Store) {
    let (c1, c2) = (conn("c1"), conn("c2"));
    let one: IssueId = lit::issue_id("1");
    let mut txn = store.begin().expect("begin");
    assert!(!txn.is_queued(&c1, &one).expect("is_queued"));
    let seq = txn.enqueue(&queued(&c1, "1")).expect("enqueue");
    assert!(txn.is_queued(&c1, &one).expect("is_queued"), "own write");
    txn.commit().expect("commit");
    let mut txn = store.begin().expect("begin");
    assert!(txn.is_queued(&c1, &one).expect("is_queued"));
    assert!(
        !txn.is_queued(&c2, &one).expect("is_queued"),
        "per connection"
    );
    assert!(!txn.is_queued(&c1, &lit::issue_id("2")).expect("is_queued"));
    txn.dequeue(seq).expect("dequeue");
    assert!(!txn.is_queued(&c1, &one).expect("is_queued"));
    drop(txn);
    let mut txn = store.begin().expect("begin");
    assert!(txn.is_queued(&c1, &one).expect("is_queued"), "rolled back");
}
