//! The store conformance suite: one public function per behaviour the engine
//! relies on. Each panics with a message naming what broke.
//!
//! Run them all as named tests with [`store_conformance!`](crate::store_conformance).

use time::macros::datetime;

use crate::ErrorKind;
use crate::model::{ConnectionId, IssueRef};
use crate::plan::{AttachmentLink, CommentLink, TwinState};
use crate::store::{ConnectionRecord, Intent, IntentKind, QueueItem, Store, TwinError};
use crate::testkit::ids as lit;

mod leases;
mod listing;
mod records;

pub use leases::*;
pub use listing::*;
pub use records::*;

/// Generates one `#[test]` per store conformance case; `$make` is a function
/// (or closure) returning a fresh, empty store.
#[macro_export]
macro_rules! store_conformance {
    ($make:expr) => {
        $crate::store_conformance!(@cases $make;
            committed_writes_are_visible,
            dropped_transaction_rolls_back,
            twins_are_found_by_either_issue,
            one_twin_per_local_issue,
            local_index_follows_updates,
            twins_are_listed_per_connection,
            twin_state_round_trips_exactly,
            intents_are_oldest_first_and_close,
            intents_of_issues_are_only_theirs,
            twin_state_bytes_are_kept_exactly,
            queue_keeps_order_and_each_issue_once,
            errors_are_replaced_and_cleared,
            watermarks_are_per_side,
            last_sync_is_kept_per_connection,
            conflicts_are_kept_per_twin_and_cleared_by_an_empty_list,
            peer_link_round_trips_with_its_code,
            sealed_secrets_round_trip_as_opaque_bytes,
            sequence_marks_are_kept_apart_and_exactly,
            peer_gone_flags_set_and_clear,
            origin_flags_set_and_clear,
            outgoing_records_are_ordered_and_replaced,
            outbox_keeps_order_and_the_latest_replica_per_issue,
            taken_messages_are_removed_through_their_number,
            peer_outage_round_trips_and_clears,
            invitations_are_ordered_by_connection,
            rule_history_round_trips,
            bulk_progress_is_kept_per_query,
            node_record_defaults_then_round_trips,
            dropped_transaction_leaves_no_typed_record,
            deleting_a_connection_deletes_its_records,
            deleting_a_connection_leaves_nothing,
            twin_pages_follow_the_listing_from_a_key,
            twins_are_found_by_either_key_ignoring_case,
            status_counts_match_the_listings,
            queued_issues_are_known_until_dequeued,
            leases_have_one_holder_and_growing_epochs,
            store_leases_follow_the_same_rules,
            holds_keep_the_latest_time,
        );
    };
    (@cases $make:expr; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                let store = ($make)();
                $crate::testkit::store::$case(&store);
            }
        )*
    };
}

fn conn(name: &str) -> ConnectionId {
    ConnectionId::parse(name).expect("a valid id")
}

fn twin(c: &ConnectionId, remote: &str, local: Option<&str>) -> TwinState {
    let mut t = TwinState::new(
        c.clone(),
        IssueRef::new(lit::issue_id(remote), lit::key(format!("SUP-{remote}"))),
    );
    t.local = local.map(|l| IssueRef::new(lit::issue_id(l), lit::key(format!("DEV-{l}"))));
    t.set_field("summary", 11, 12);
    t.remote_whole = 99;
    t
}

fn record(c: &ConnectionId) -> ConnectionRecord {
    ConnectionRecord {
        id: c.clone(),
        name: format!("{c} name"),
        config: "{\"any\": \"json\"}".to_owned(),
    }
}

fn queued(c: &ConnectionId, issue: &str) -> QueueItem {
    QueueItem {
        seq: 0,
        connection: c.clone(),
        project: lit::project("SUP"),
        issue: lit::issue_id(issue),
        queued: datetime!(2026-01-01 0:00 UTC),
    }
}

fn intent(c: &ConnectionId, id: &str, minute: u8) -> Intent {
    Intent {
        id: id.to_owned(),
        connection: c.clone(),
        origin: lit::issue_id("1"),
        kind: IntentKind::CreateIssue {
            project: lit::project("DEV"),
        },
        created: datetime!(2026-01-01 0:00 UTC) + time::Duration::minutes(minute.into()),
        indeterminate_since: None,
    }
}

fn error(c: &ConnectionId, issue: &str, message: &str) -> TwinError {
    TwinError::new(
        c.clone(),
        lit::issue_id(issue),
        lit::key(format!("SUP-{issue}")),
        ErrorKind::PermissionDenied,
        message,
        datetime!(2026-01-01 0:00 UTC),
    )
}

/// What one transaction commits, the next one reads.
pub fn committed_writes_are_visible(store: &dyn Store) {
    let c = conn("c1");
    let mut txn = store.begin().expect("begin");
    txn.put_connection(&record(&c)).expect("put_connection");
    txn.put_twin(&twin(&c, "1", Some("101"))).expect("put_twin");
    assert!(
        txn.connection(&c).expect("read own write").is_some(),
        "a transaction sees its own writes"
    );
    txn.commit().expect("commit");
    let mut txn = store.begin().expect("begin");
    assert_eq!(txn.connection(&c).expect("connection"), Some(record(&c)));
    assert_eq!(
        txn.twin_by_remote(&c, &lit::issue_id("1")).expect("twin"),
        Some(twin(&c, "1", Some("101")))
    );
}

/// A transaction dropped without commit leaves no trace, in any record kind.
pub fn dropped_transaction_rolls_back(store: &dyn Store) {
    let c = conn("c1");
    let mut txn = store.begin().expect("begin");
    txn.put_connection(&record(&c)).expect("put");
    txn.put_twin(&twin(&c, "1", Some("101"))).expect("put");
    txn.commit().expect("commit");

    let mut txn = store.begin().expect("begin");
    txn.delete_connection(&c).expect("delete");
    txn.put_twin(&twin(&c, "2", Some("102"))).expect("put");
    txn.put_intent(&intent(&c, "op-1", 0)).expect("put");
    txn.enqueue(&queued(&c, "7")).expect("enqueue");
    txn.put_error(&error(&c, "1", "boom")).expect("put");
    txn.set_watermark(&c, &lit::project("SUP"), datetime!(2026-01-02 0:00 UTC))
        .expect("set");
    txn.put_bulk_progress(&crate::store::BulkProgress {
        connection: c.clone(),
        query: "project = SUP".to_owned(),
        next_page: "42".to_owned(),
    })
    .expect("set");
    drop(txn);

    let mut txn = store.begin().expect("begin");
    assert!(
        txn.connection(&c).expect("read").is_some(),
        "deleted connection restored"
    );
    assert!(
        txn.twin_by_remote(&c, &lit::issue_id("1"))
            .expect("read")
            .is_some(),
        "deleted twin restored"
    );
    assert!(
        txn.twin_by_local(&c, &lit::issue_id("101"))
            .expect("read")
            .is_some(),
        "index restored"
    );
    assert!(
        txn.twin_by_remote(&c, &lit::issue_id("2"))
            .expect("read")
            .is_none(),
        "new twin gone"
    );
    assert!(
        txn.twin_by_local(&c, &lit::issue_id("102"))
            .expect("read")
            .is_none(),
        "new index gone"
    );
    assert!(txn.intents(&c).expect("read").is_empty());
    assert_eq!(txn.queue_len(&c).expect("read"), 0);
    assert!(txn.errors(&c).expect("read").is_empty());
    assert_eq!(txn.watermark(&c, &lit::project("SUP")).expect("read"), None);
    assert_eq!(txn.bulk_progress(&c, "project = SUP").expect("read"), None);
}

/// A twin is found by its remote issue and by its local issue.
pub fn twins_are_found_by_either_issue(store: &dyn Store) {
    let c = conn("c1");
    let mut txn = store.begin().expect("begin");
    txn.put_twin(&twin(&c, "1", Some("101"))).expect("put");
    txn.put_twin(&twin(&c, "2", None))
        .expect("put a twin not created yet");
    txn.commit().expect("commit");
    let mut txn = store.begin().expect("begin");
    let by_local = txn
        .twin_by_local(&c, &lit::issue_id("101"))
        .expect("read")
        .expect("found by local");
    assert_eq!(by_local.remote.id.as_str(), "1");
    assert!(
        txn.twin_by_local(&c, &lit::issue_id("1"))
            .expect("read")
            .is_none(),
        "remote id is not a local id"
    );
    assert!(
        txn.twin_by_remote(&conn("other"), &lit::issue_id("1"))
            .expect("read")
            .is_none(),
        "per connection"
    );
    assert_eq!(
        txn.twin_by_remote(&c, &lit::issue_id("2"))
            .expect("read")
            .and_then(|t| t.local),
        None
    );
}

/// Two twins of one connection can never share a local issue (I4).
pub fn one_twin_per_local_issue(store: &dyn Store) {
    let c = conn("c1");
    let mut txn = store.begin().expect("begin");
    txn.put_twin(&twin(&c, "1", Some("101"))).expect("put");
    let err = txn
        .put_twin(&twin(&c, "2", Some("101")))
        .expect_err("a second twin of DEV-101");
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    txn.put_twin(&twin(&conn("c2"), "2", Some("101")))
        .expect("another connection may");
    txn.commit().expect("commit");
}

/// Changing a twin's local issue moves the index.
pub fn local_index_follows_updates(store: &dyn Store) {
    let c = conn("c1");
    let mut txn = store.begin().expect("begin");
    txn.put_twin(&twin(&c, "1", Some("101"))).expect("put");
    txn.put_twin(&twin(&c, "1", Some("201"))).expect("replace");
    txn.commit().expect("commit");
    let mut txn = store.begin().expect("begin");
    assert!(
        txn.twin_by_local(&c, &lit::issue_id("101"))
            .expect("read")
            .is_none(),
        "old index removed"
    );
    assert!(
        txn.twin_by_local(&c, &lit::issue_id("201"))
            .expect("read")
            .is_some()
    );
    txn.put_twin(&twin(&c, "3", Some("101")))
        .expect("the old local issue is free again");
}

/// `twins` lists one connection's twins by remote id, and counts agree.
pub fn twins_are_listed_per_connection(store: &dyn Store) {
    let (c1, c2) = (conn("c1"), conn("c2"));
    let mut txn = store.begin().expect("begin");
    for id in ["3", "1", "2"] {
        txn.put_twin(&twin(&c1, id, None)).expect("put");
    }
    txn.put_twin(&twin(&c2, "9", None)).expect("put");
    txn.commit().expect("commit");
    let mut txn = store.begin().expect("begin");
    let ids: Vec<_> = txn
        .twins(&c1)
        .expect("twins")
        .into_iter()
        .map(|t| t.remote.id)
        .collect();
    assert_eq!(
        ids,
        [lit::issue_id("1"), lit::issue_id("2"), lit::issue_id("3")]
    );
    assert_eq!(txn.twin_count(&c1).expect("count"), 3);
    assert_eq!(txn.twin_count(&c2).expect("count"), 1);
}

/// A twin state with comment and attachment links reads back equal.
pub fn twin_state_round_trips_exactly(store: &dyn Store) {
    let c = conn("c1");
    let mut t = twin(&c, "1", Some("101"));
    t.comments.push(CommentLink {
        remote: lit::comment_id("5"),
        local: lit::comment_id("105"),
        remote_fp: u64::MAX,
        local_fp: 1,
    });
    t.attachments.push(AttachmentLink {
        remote: lit::attachment_id("6"),
        local: lit::attachment_id("106"),
        fp: 1 << 63,
    });
    t.local_whole = 7;
    let mut txn = store.begin().expect("begin");
    txn.put_twin(&t).expect("put");
    txn.commit().expect("commit");
    let mut txn = store.begin().expect("begin");
    assert_eq!(
        txn.twin_by_remote(&c, &lit::issue_id("1")).expect("read"),
        Some(t)
    );
}

/// The bytes of a twin state a store returns are exactly the bytes of the
/// state that was put (a store keeps [`TwinState::to_bytes`] as it is).
pub fn twin_state_bytes_are_kept_exactly(store: &dyn Store) {
    let c = conn("c1");
    let mut t = twin(&c, "1", Some("101"));
    t.comments.push(CommentLink {
        remote: lit::comment_id("5"),
        local: lit::comment_id("105"),
        remote_fp: 0x0123_4567_89ab_cdef,
        local_fp: u64::MAX - 1,
    });
    t.set_field("description", u64::MAX, 0);
    let bytes = t.to_bytes();
    let mut txn = store.begin().expect("begin");
    txn.put_twin(&t).expect("put");
    txn.commit().expect("commit");
    let mut txn = store.begin().expect("begin");
    let by_remote = txn
        .twin_by_remote(&c, &lit::issue_id("1"))
        .expect("read")
        .expect("found");
    let by_local = txn
        .twin_by_local(&c, &lit::issue_id("101"))
        .expect("read")
        .expect("found");
    let listed = txn.twins(&c).expect("read");
    assert_eq!(by_remote.to_bytes(), bytes, "by remote issue");
    assert_eq!(by_local.to_bytes(), bytes, "by local issue");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].to_bytes(), bytes, "listed");
}

/// Intents come back oldest first and go when closed.
pub fn intents_are_oldest_first_and_close(store: &dyn Store) {
    let c = conn("c1");
    let mut txn = store.begin().expect("begin");
    txn.put_intent(&intent(&c, "b", 2)).expect("put");
    txn.put_intent(&intent(&c, "a", 1)).expect("put");
    txn.put_intent(&intent(&conn("c2"), "z", 0)).expect("put");
    txn.commit().expect("commit");
    let mut txn = store.begin().expect("begin");
    let ids: Vec<_> = txn
        .intents(&c)
        .expect("intents")
        .into_iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(ids, ["a", "b"]);
    let mut updated = intent(&c, "a", 1);
    updated.indeterminate_since = Some(datetime!(2026-01-01 0:05 UTC));
    txn.put_intent(&updated).expect("replace");
    txn.delete_intent("b").expect("delete");
    txn.commit().expect("commit");
    let mut txn = store.begin().expect("begin");
    assert_eq!(txn.intents(&c).expect("intents"), [updated]);
}

/// Intents of some issues: only theirs, of that connection, oldest first.
pub fn intents_of_issues_are_only_theirs(store: &dyn Store) {
    let c = conn("c1");
    let mut txn = store.begin().expect("begin");
    txn.put_intent(&intent(&c, "b", 2)).expect("put");
    txn.put_intent(&intent(&c, "a", 1)).expect("put");
    let mut other = intent(&c, "o", 0);
    other.origin = lit::issue_id("2");
    txn.put_intent(&other).expect("put");
    txn.put_intent(&intent(&conn("c2"), "z", 0)).expect("put");
    txn.commit().expect("commit");
    let mut txn = store.begin().expect("begin");
    let ids = |list: Vec<Intent>| list.into_iter().map(|i| i.id).collect::<Vec<_>>();
    let one = lit::issue_id("1");
    let two = lit::issue_id("2");
    let three = lit::issue_id("3");
    assert_eq!(ids(txn.intents_of(&c, &[&one]).expect("read")), ["a", "b"]);
    assert_eq!(ids(txn.intents_of(&c, &[&two]).expect("read")), ["o"]);
    assert_eq!(
        ids(txn.intents_of(&c, &[&one, &two]).expect("read")),
        ["o", "a", "b"]
    );
    assert!(txn.intents_of(&c, &[&three]).expect("read").is_empty());
}

/// The queue keeps order, holds an issue once, and dequeues by sequence number.
pub fn queue_keeps_order_and_each_issue_once(store: &dyn Store) {
    let c = conn("c1");
    let mut txn = store.begin().expect("begin");
    let s1 = txn.enqueue(&queued(&c, "10")).expect("enqueue");
    let s2 = txn.enqueue(&queued(&c, "20")).expect("enqueue");
    let again = txn.enqueue(&queued(&c, "10")).expect("enqueue again");
    assert_eq!(again, s1, "an issue already queued keeps its place");
    assert!(s2 > s1);
    txn.commit().expect("commit");
    let mut txn = store.begin().expect("begin");
    let items = txn.queue(&c, 10).expect("queue");
    let issues: Vec<_> = items.iter().map(|q| q.issue.as_str().to_owned()).collect();
    assert_eq!(issues, ["10", "20"]);
    assert_eq!(items[0].seq, s1);
    assert_eq!(txn.queue(&c, 1).expect("queue").len(), 1, "limit");
    txn.dequeue(s1).expect("dequeue");
    assert_eq!(txn.queue_len(&c).expect("len"), 1);
    let s3 = txn.enqueue(&queued(&c, "10")).expect("requeue");
    assert!(s3 > s2, "a requeued issue goes to the end");
    txn.commit().expect("commit");
}

/// Errors are kept per issue, replaced, and cleared.
pub fn errors_are_replaced_and_cleared(store: &dyn Store) {
    let c = conn("c1");
    let mut txn = store.begin().expect("begin");
    txn.put_error(&error(&c, "1", "first")).expect("put");
    // Every field a record carries is kept (quarantine, backoff, refusal).
    let mut second = error(&c, "1", "second");
    second.attempts = 3;
    second.next_try = Some(datetime!(2026-01-01 0:05 UTC));
    second.quarantine = Some(crate::store::Quarantine {
        issues: vec![crate::store::SeenIssue::new(
            lit::issue_id("1"),
            datetime!(2026-01-01 0:00 UTC),
            42,
        )],
        project: Some(crate::store::SeenProject::new(lit::project("DEV"), 7)),
    });
    second.refused = vec![crate::store::RefusedDeletion::new(
        crate::store::DeletedItems::Comments,
        8,
        10,
    )];
    second.decision = Some(crate::store::DeletionDecision::Confirmed);
    txn.put_error(&second).expect("replace");
    txn.put_error(&error(&c, "2", "other")).expect("put");
    txn.commit().expect("commit");
    let mut txn = store.begin().expect("begin");
    let errors = txn.errors(&c).expect("errors");
    assert_eq!(errors.len(), 2);
    assert!(errors.contains(&second), "{errors:?}");
    txn.clear_error(&c, &lit::issue_id("1")).expect("clear");
    txn.commit().expect("commit");
    let mut txn = store.begin().expect("begin");
    assert_eq!(txn.errors(&c).expect("errors").len(), 1);
}

/// Watermarks are kept per connection and project.
pub fn watermarks_are_per_side(store: &dyn Store) {
    let c = conn("c1");
    let t1 = datetime!(2026-01-01 10:00:00.123456 UTC);
    let mut txn = store.begin().expect("begin");
    txn.set_watermark(&c, &lit::project("SUP"), t1)
        .expect("set");
    txn.commit().expect("commit");
    let mut txn = store.begin().expect("begin");
    assert_eq!(
        txn.watermark(&c, &lit::project("SUP")).expect("read"),
        Some(t1),
        "exact to the microsecond"
    );
    assert_eq!(txn.watermark(&c, &lit::project("DEV")).expect("read"), None);
    assert_eq!(
        txn.watermark(&conn("c2"), &lit::project("SUP"))
            .expect("read"),
        None
    );
}

/// Deleting a connection deletes its twins, intents, queue, errors and
/// watermarks, and nothing of other connections.
pub fn deleting_a_connection_deletes_its_records(store: &dyn Store) {
    let (c, keep) = (conn("c1"), conn("c2"));
    let mut txn = store.begin().expect("begin");
    for x in [&c, &keep] {
        txn.put_connection(&record(x)).expect("put");
        txn.put_twin(&twin(x, "1", Some("101"))).expect("put");
        txn.put_intent(&intent(x, &format!("op-{x}"), 0))
            .expect("put");
        txn.enqueue(&queued(x, "1")).expect("enqueue");
        txn.put_error(&error(x, "1", "e")).expect("put");
        txn.set_watermark(x, &lit::project("SUP"), datetime!(2026-01-01 0:00 UTC))
            .expect("set");
    }
    txn.commit().expect("commit");
    let mut txn = store.begin().expect("begin");
    txn.delete_connection(&c).expect("delete");
    txn.commit().expect("commit");
    let mut txn = store.begin().expect("begin");
    assert!(txn.connection(&c).expect("read").is_none());
    assert!(txn.twins(&c).expect("read").is_empty());
    assert!(
        txn.twin_by_local(&c, &lit::issue_id("101"))
            .expect("read")
            .is_none()
    );
    assert!(txn.intents(&c).expect("read").is_empty());
    assert_eq!(txn.queue_len(&c).expect("read"), 0);
    assert!(txn.errors(&c).expect("read").is_empty());
    assert_eq!(txn.watermark(&c, &lit::project("SUP")).expect("read"), None);
    assert_eq!(txn.connections().expect("read"), [record(&keep)]);
    assert_eq!(txn.twins(&keep).expect("read").len(), 1);
    assert_eq!(txn.queue_len(&keep).expect("read"), 1);
}
