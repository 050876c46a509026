//! The engine on a local connection SUP ↔ DEV: what a user of the sync sees,
//! counted in tracker calls.

use std::time::Duration;

use twinsync::ErrorKind;
use twinsync::engine::{BulkEvent, IssueState, Recovery};
use twinsync::model::IssueKey;
use twinsync::testkit::block_on;
use twinsync::testkit::ids as lit;
use twinsync::testkit::rig::LocalRig;
use twinsync::tracker::Tracker;
use twinsync::tracker::memory::{Fault, FaultTarget, OpKind};

fn key(k: &str) -> IssueKey {
    lit::key(k)
}

#[test]
fn exalate_creates_the_twin_with_comments_and_attachments_in_minimal_writes() {
    let rig = LocalRig::new();
    let sup = rig.user().create("SUP", "Bug", "Printer on fire");
    rig.user().comment(&sup.key, "first");
    rig.user().comment(&sup.key, "second");
    rig.user().attach(&sup.key, "smoke.txt", b"lots of smoke");
    rig.tracker.reset_calls();
    let twin = block_on(rig.node.exalate(&rig.conn.id, &key("SUP-1"))).unwrap();
    assert_eq!(twin.twin.as_ref().map(|t| t.key.as_str()), Some("DEV-1"));
    let calls = rig.tracker.calls();
    assert_eq!(calls.get(OpKind::CreateIssue), 1);
    assert_eq!(calls.get(OpKind::AddComment), 2);
    assert_eq!(
        calls.get(OpKind::DownloadAttachment) + calls.get(OpKind::UploadAttachment),
        2
    );
    assert_eq!(calls.get(OpKind::PutRemoteLink), 1, "the origin link");
    assert_eq!(
        calls.writes(),
        5,
        "1 create + 1 origin link + 1 per comment + 1 upload: {calls}"
    );
    let dev = rig.issue("DEV-1");
    assert_eq!(dev.summary, "Printer on fire");
    assert_eq!(dev.issue_type, "Bug");
    assert_eq!(rig.user().said("DEV-1"), ["first", "second"]);
    assert_eq!(dev.attachments.len(), 1);
    let content = block_on(rig.tracker.download_attachment(&dev.attachments[0].id)).unwrap();
    assert_eq!(content, b"lots of smoke");
    assert!(
        dev.comments
            .iter()
            .all(|c| c.visibility == twinsync::model::Visibility::Public)
    );
}

#[test]
fn edits_travel_both_ways_with_two_writes_and_no_echo() {
    let rig = LocalRig::new();
    let sup = rig.user().create("SUP", "Bug", "Printer on fire");
    block_on(rig.node.exalate(&rig.conn.id, &key("SUP-1"))).unwrap();
    rig.sync();
    rig.advance(10);
    rig.user().edit_summary("SUP-1", "Printer on fire, floor 3");
    rig.user().comment(&sup.key, "still burning");
    rig.tracker.reset_calls();
    let report = rig.sync();
    assert_eq!(
        report.writes, 2,
        "edit + new comment = 2 writes: {report:?}"
    );
    assert_eq!(rig.tracker.calls().writes(), 2);
    assert_eq!(rig.issue("DEV-1").summary, "Printer on fire, floor 3");
    assert_eq!(rig.user().said("DEV-1"), ["still burning"]);

    // The other way.
    rig.advance(10);
    let dev = rig.issue("DEV-1");
    rig.user().comment(&dev.key, "on it");
    rig.sync();
    assert_eq!(rig.user().said("SUP-1"), ["still burning", "on it"]);

    // Echo and quiet cycles write nothing and search once per side.
    rig.sync();
    rig.tracker.reset_calls();
    let report = rig.sync();
    let calls = rig.tracker.calls();
    assert_eq!(report.writes, 0);
    assert_eq!(calls.writes(), 0, "quiet cycle: {calls}");
    assert!(
        calls.get(OpKind::Search) <= 2,
        "≤ 1 search page per side: {calls}"
    );
    assert_eq!(
        calls.get(OpKind::GetIssue),
        0,
        "unchanged snapshots are not read again: {calls}"
    );
}

#[test]
fn an_epic_lands_as_the_default_type_or_task_and_a_missing_type_is_a_clear_error() {
    let rig = LocalRig::new();
    rig.user().create("SUP", "Epic", "Big thing");
    let twin = block_on(rig.node.exalate(&rig.conn.id, &key("SUP-1"))).unwrap();
    let dev = rig.issue(twin.twin.unwrap().key.as_str());
    assert_eq!(
        dev.issue_type, "Task",
        "DEV has no Epic and no default type: Task"
    );
    // A DEV Story has no counterpart in SUP: SUP's default type (Task).
    rig.user().create("DEV", "Story", "A story");
    let twin = block_on(rig.node.exalate(&rig.conn.id, &key("DEV-2"))).unwrap();
    assert_eq!(
        rig.issue(twin.twin.unwrap().key.as_str()).issue_type,
        "Task"
    );
}

#[test]
fn a_lost_create_answer_never_duplicates_the_twin() {
    let rig = LocalRig::new();
    rig.user().create("SUP", "Bug", "Printer on fire");
    rig.tracker.inject(OpKind::CreateIssue, Fault::LoseResponse);
    let err = block_on(rig.node.exalate(&rig.conn.id, &key("SUP-1"))).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert_eq!(rig.issues("DEV").len(), 1, "the create happened");
    let panel = rig.node.status(&rig.conn.id).unwrap();
    assert!(
        matches!(
            panel.issues[0].state,
            IssueState::Error { .. } | IssueState::InProgress
        ),
        "{panel}"
    );
    // Within the settle window nothing is created again.
    rig.sync();
    assert_eq!(rig.issues("DEV").len(), 1);
    rig.advance(120);
    rig.sync();
    rig.sync();
    assert_eq!(
        rig.issues("DEV").len(),
        1,
        "adopted by its marker, not created again"
    );
    let panel = rig.node.status(&rig.conn.id).unwrap();
    assert_eq!(
        panel.issues[0].twin.as_ref().map(|t| t.key.as_str()),
        Some("DEV-1")
    );
    assert_eq!(panel.issues[0].state, IssueState::Synchronized, "{panel}");
}

#[test]
fn a_lost_comment_answer_never_duplicates_the_comment() {
    let rig = LocalRig::new();
    let sup = rig.user().create("SUP", "Bug", "x");
    block_on(rig.node.exalate(&rig.conn.id, &key("SUP-1"))).unwrap();
    rig.user().comment(&sup.key, "once");
    rig.tracker.inject(OpKind::AddComment, Fault::LoseResponse);
    rig.sync();
    rig.sync();
    rig.sync();
    assert_eq!(rig.user().said("DEV-1"), ["once"]);
    assert_eq!(rig.user().said("SUP-1"), ["once"], "nothing echoed back");
}

#[test]
fn rate_limits_and_outages_delay_but_lose_nothing() {
    let rig = LocalRig::new();
    let sup = rig.user().create("SUP", "Bug", "x");
    for i in 0..5 {
        rig.user().comment(&sup.key, &format!("c{i}"));
    }
    rig.tracker.inject(
        FaultTarget::Any,
        Fault::RateLimited(Duration::from_secs(30)),
    );
    rig.tracker.inject(
        OpKind::AddComment,
        Fault::RateLimited(Duration::from_secs(5)),
    );
    rig.tracker.inject(OpKind::AddComment, Fault::ServerError);
    let start = rig.now();
    let result = block_on(rig.node.exalate(&rig.conn.id, &key("SUP-1")));
    if result.is_err() {
        rig.advance(120);
        rig.sync();
    }
    assert!(
        rig.now() - start >= Duration::from_secs(30),
        "waited as asked"
    );
    assert_eq!(
        rig.user().said("DEV-1"),
        ["c0", "c1", "c2", "c3", "c4"],
        "in order, none lost or doubled"
    );
}

#[test]
fn connect_matches_comments_present_on_both_sides() {
    let rig = LocalRig::new();
    let sup = rig.user().create("SUP", "Bug", "Same issue");
    let dev = rig.user().create("DEV", "Bug", "Same issue");
    rig.user().comment(&sup.key, "seen by both");
    rig.user().comment(&dev.key, "seen by both");
    rig.user().comment(&dev.key, "only in DEV");
    let twin = block_on(rig.node.connect(&rig.conn.id, &key("SUP-1"), &key("DEV-1"))).unwrap();
    assert_eq!(twin.twin.unwrap().key.as_str(), "DEV-1");
    rig.sync();
    assert_eq!(rig.user().said("SUP-1"), ["seen by both", "only in DEV"]);
    assert_eq!(rig.user().said("DEV-1"), ["seen by both", "only in DEV"]);
    let err = block_on(rig.node.connect(&rig.conn.id, &key("SUP-1"), &key("DEV-1"))).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists);
}

#[test]
fn bulk_exalate_reports_progress_and_resumes_without_duplicates() {
    let rig = LocalRig::new();
    for i in 0..12 {
        let issue = rig.user().create("SUP", "Bug", &format!("issue {i}"));
        rig.user().comment(&issue.key, "hello");
    }
    let node = twinsync::engine::Node::builder()
        .tracker(std::sync::Arc::new(rig.tracker.clone()))
        .store(rig.store.clone())
        .clock(rig.clock.clone())
        .options(twinsync::testkit::rig::test_options().with_page_size(5))
        .build();
    let node = block_on(node).unwrap();
    // After the first issue, the next page's search fails for good: the bulk stops.
    let mut events = Vec::new();
    let first = block_on(node.bulk_exalate(&rig.conn.id, "project = SUP", |e| {
        if matches!(e, BulkEvent::Synced { .. }) && events.len() == 1 {
            rig.tracker
                .inject(OpKind::Search, Fault::Fail(ErrorKind::PermissionDenied));
        }
        events.push(e.clone());
    }));
    assert_eq!(first.unwrap_err().kind(), ErrorKind::PermissionDenied);
    assert!(matches!(events[0], BulkEvent::Started { total: None }));
    assert_eq!(rig.issues("DEV").len(), 5, "the first page was done");
    // Run again: it resumes at the second page.
    rig.tracker.reset_calls();
    let report = block_on(node.bulk_exalate(&rig.conn.id, "project = SUP", |_| {})).unwrap();
    assert!(report.resumed);
    assert_eq!(report.synced, 7, "{report:?}");
    // One batch of creates per page: the first page was not redone.
    let calls = rig.tracker.calls();
    assert_eq!(calls.get(OpKind::CreateIssues), 2, "{calls}");
    assert_eq!(calls.get(OpKind::CreateIssue), 0, "{calls}");
    assert_eq!(rig.issues("DEV").len(), 12, "one twin each");
    assert!(rig.issues("DEV").iter().all(|i| i.comments.len() == 1));
    // Again from the start: everything is under sync already.
    let again = block_on(node.bulk_exalate(&rig.conn.id, "project = SUP", |_| {})).unwrap();
    assert!(!again.resumed);
    assert_eq!(again.skipped, 12, "{again:?}");
    assert_eq!(rig.issues("DEV").len(), 12);
}

#[test]
fn bulk_connect_reports_a_bad_pair_and_connects_the_rest() {
    let rig = LocalRig::new();
    for i in 0..3 {
        rig.user().create("SUP", "Bug", &format!("s{i}"));
        rig.user().create("DEV", "Bug", &format!("d{i}"));
    }
    let pairs = vec![
        (key("SUP-1"), key("DEV-1")),
        (key("SUP-2"), key("SUP-3")),
        (key("SUP-3"), key("DEV-3")),
    ];
    let mut failed = Vec::new();
    let report = block_on(rig.node.bulk_connect(&rig.conn.id, &pairs, |e| {
        if let BulkEvent::Failed { key, .. } = e {
            failed.push(key.clone());
        }
    }))
    .unwrap();
    assert_eq!((report.synced, report.failed), (2, 1));
    assert_eq!(failed, [key("SUP-2")]);
    // Unknown bases are a conflict: the newer edit wins, and both end equal.
    assert_eq!(
        rig.issue("DEV-1").summary,
        rig.issue("SUP-1").summary,
        "connected twins sync"
    );
}

#[test]
fn unexalate_stops_syncing_and_keeps_both_issues() {
    let rig = LocalRig::new();
    rig.user().create("SUP", "Bug", "x");
    block_on(rig.node.exalate(&rig.conn.id, &key("SUP-1"))).unwrap();
    block_on(rig.node.unexalate(&rig.conn.id, &key("DEV-1"))).unwrap();
    rig.advance(10);
    rig.user().edit_summary("SUP-1", "changed");
    rig.sync();
    assert_eq!(rig.issue("DEV-1").summary, "x", "no longer travels");
    assert_eq!(rig.node.status(&rig.conn.id).unwrap().twins, 0);
}

#[test]
fn a_deactivated_connection_queues_and_applies_the_backlog_in_order_on_activation() {
    let rig = LocalRig::new();
    let sup = rig.user().create("SUP", "Bug", "x");
    block_on(rig.node.exalate(&rig.conn.id, &key("SUP-1"))).unwrap();
    rig.sync();
    block_on(rig.admin().deactivate(&rig.conn.id)).unwrap();
    rig.advance(10);
    rig.user().comment(&sup.key, "one");
    rig.advance(10);
    rig.user().comment(&sup.key, "two");
    rig.user().edit_summary("SUP-1", "while paused");
    rig.tracker.reset_calls();
    let report = rig.sync();
    assert_eq!(
        rig.tracker.calls().writes(),
        0,
        "nothing written while deactivated"
    );
    assert!(report.queued >= 1);
    assert!(rig.node.status(&rig.conn.id).unwrap().queued >= 1);
    block_on(rig.admin().activate(&rig.conn.id)).unwrap();
    rig.sync();
    assert_eq!(rig.user().said("DEV-1"), ["one", "two"]);
    assert_eq!(rig.issue("DEV-1").summary, "while paused");
    assert_eq!(rig.node.status(&rig.conn.id).unwrap().queued, 0);
}

#[test]
fn a_permanent_failure_stops_that_twin_only_and_is_shown_with_its_cause() {
    let rig = LocalRig::new();
    rig.user().create("SUP", "Bug", "good");
    rig.user().create("SUP", "Bug", "bad");
    block_on(rig.node.exalate(&rig.conn.id, &key("SUP-1"))).unwrap();
    block_on(rig.node.exalate(&rig.conn.id, &key("SUP-2"))).unwrap();
    rig.advance(10);
    rig.user().edit_summary("SUP-1", "good, edited");
    rig.user().edit_summary("SUP-2", "bad, edited");
    let dev2 = rig.issue("DEV-2");
    rig.tracker.inject(
        OpKind::UpdateIssue,
        Fault::Fail(ErrorKind::PermissionDenied),
    );
    let report = rig.sync();
    assert_eq!(report.failed, 1);
    let updated = [("DEV-1", "good, edited"), ("DEV-2", "bad, edited")]
        .iter()
        .filter(|(k, want)| rig.issue(k).summary == *want)
        .count();
    assert_eq!(updated, 1, "the other twin went on");
    let panel = rig.node.status(&rig.conn.id).unwrap();
    let text = panel.to_string();
    assert!(
        text.contains("quarantined after 1 attempt: injected permission denied failure")
            && text.contains("grant the missing permission, then retry"),
        "{text}"
    );
    assert_eq!(panel.errors.len(), 1);
    let failed = panel.errors[0].key.clone();
    let info = block_on(rig.node.retry(&rig.conn.id, &failed)).unwrap();
    assert!(info.writes >= 1);
    assert!(rig.node.status(&rig.conn.id).unwrap().errors.is_empty());
    assert_eq!(rig.issue("DEV-1").summary, "good, edited");
    assert_eq!(rig.issue(dev2.key.as_str()).summary, "bad, edited");
}

#[test]
fn bad_credentials_stop_the_connection_with_their_cause() {
    let rig = LocalRig::new();
    rig.tracker
        .inject(OpKind::Search, Fault::Fail(ErrorKind::Unauthenticated));
    let err = block_on(rig.node.sync(&rig.conn.id)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    let conn = rig.node.connection(&rig.conn.id).unwrap();
    assert!(
        conn.status.to_string().starts_with("error:"),
        "{}",
        conn.status
    );
    assert!(
        block_on(rig.node.sync(&rig.conn.id)).is_err(),
        "stays stopped"
    );
    block_on(rig.admin().activate(&rig.conn.id)).unwrap();
    rig.sync();
}

#[test]
fn losing_the_store_makes_no_duplicates_and_no_deletions() {
    let mut rig = LocalRig::new();
    let sup = rig.user().create("SUP", "Bug", "x");
    rig.user().comment(&sup.key, "a");
    block_on(rig.node.exalate(&rig.conn.id, &key("SUP-1"))).unwrap();
    let dev = rig.issue("DEV-1");
    rig.user().comment(&dev.key, "b");
    rig.sync();
    rig.wipe_store();
    rig.advance(10);
    rig.user().comment(&sup.key, "c");
    for _ in 0..3 {
        rig.sync();
    }
    block_on(rig.node.exalate(&rig.conn.id, &key("SUP-1"))).unwrap();
    assert_eq!(rig.issues("DEV").len(), 1, "no second twin");
    assert_eq!(rig.user().said("SUP-1"), ["a", "b", "c"]);
    assert_eq!(rig.user().said("DEV-1"), ["a", "b", "c"]);
}

#[test]
fn the_sync_panel_prints_a_compact_table() {
    let rig = LocalRig::new();
    rig.user().create("SUP", "Bug", "x");
    block_on(rig.node.exalate(&rig.conn.id, &key("SUP-1"))).unwrap();
    rig.sync();
    let text = rig.node.status(&rig.conn.id).unwrap().to_string();
    assert!(
        text.starts_with("connection SUP_to_DEV (local: SUP ↔ DEV) — active"),
        "{text}"
    );
    assert!(text.contains("issues under sync: 1"), "{text}");
    assert!(text.contains("SUP-1 ⇄ DEV-1  synchronized"), "{text}");
    let one = rig.node.issue_status(&rig.conn.id, &key("DEV-1")).unwrap();
    assert_eq!(one.state, IssueState::Synchronized);
}

#[test]
fn a_connection_created_again_after_store_loss_is_all_or_nothing() {
    let mut rig = LocalRig::new();
    let sup = rig.user().create("SUP", "Bug", "x");
    rig.user().comment(&sup.key, "a");
    block_on(rig.node.exalate(&rig.conn.id, &key("SUP-1"))).unwrap();
    // The store is lost, and creating the connection again fails half-way:
    // the search for the issues it made is refused (a crash there is alike).
    rig.store = std::sync::Arc::new(twinsync::store::MemoryStore::new());
    rig.restart();
    rig.tracker
        .inject(OpKind::Search, Fault::Fail(ErrorKind::PermissionDenied));
    let options = twinsync::engine::LocalConnectionOptions::default;
    block_on(rig.admin().create_local_connection("SUP", "DEV", options()))
        .expect_err("the search failed");
    assert!(
        rig.node.connections().unwrap().is_empty(),
        "a connection without its twins was left behind"
    );
    // Trying again finds the twin by its marker instead of making another.
    let conn = block_on(rig.admin().create_local_connection("SUP", "DEV", options())).unwrap();
    let twin = block_on(rig.node.exalate(&conn.id, &key("SUP-1"))).unwrap();
    assert_eq!(twin.twin.map(|t| t.key), Some(key("DEV-1")));
    assert_eq!(rig.issues("DEV").len(), 1, "no second twin");
    assert_eq!(rig.user().said("DEV-1"), ["a"]);
}

#[test]
fn a_missing_project_stops_the_connection_but_a_deleted_twin_stops_only_its_twin() {
    let rig = LocalRig::new();
    rig.user().create("SUP", "Bug", "x");
    block_on(rig.node.exalate(&rig.conn.id, &key("SUP-1"))).unwrap();
    // Deleting one twin's issue is that twin's problem.
    rig.tracker
        .inject(OpKind::GetIssue, Fault::Fail(ErrorKind::NotFound));
    let _ = block_on(rig.node.retry(&rig.conn.id, &key("SUP-1")));
    assert_eq!(
        rig.node
            .connection(&rig.conn.id)
            .unwrap()
            .status
            .to_string(),
        "active"
    );
    // A project that is gone stops the whole connection, with the project named.
    rig.tracker
        .inject(OpKind::Search, Fault::Fail(ErrorKind::NotFound));
    let err = block_on(rig.node.sync(&rig.conn.id)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    let status = rig
        .node
        .connection(&rig.conn.id)
        .unwrap()
        .status
        .to_string();
    assert!(
        status.starts_with("error:") && status.contains("project SUP"),
        "{status}"
    );
}

#[test]
fn a_failed_status_change_after_a_create_records_the_twin_at_once() {
    use twinsync::rules::{RuleSet, StatusMapping};
    use twinsync::tracker::IssueUpdate;

    let rig = LocalRig::new();
    block_on(rig.admin().upgrade_to_custom(&rig.conn.id)).unwrap();
    let mut rules = RuleSet::custom();
    rules
        .add(StatusMapping::new([("In Progress", "In Progress")]))
        .unwrap();
    block_on(rig.admin().set_rules(&rig.conn.id, rules)).unwrap();
    rig.user().create("SUP", "Bug", "Printer on fire");
    rig.user().update(
        "SUP-1",
        IssueUpdate {
            status: Some("In Progress".into()),
            ..IssueUpdate::default()
        },
    );
    // The create succeeds; the status change right after it fails.
    rig.tracker.inject(
        OpKind::UpdateIssue,
        Fault::Fail(ErrorKind::PermissionDenied),
    );
    let err = block_on(rig.node.exalate(&rig.conn.id, &key("SUP-1"))).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");
    assert_eq!(rig.issues("DEV").len(), 1, "the create happened");
    let panel = rig.node.status(&rig.conn.id).unwrap();
    assert_eq!(
        panel.issues[0].twin.as_ref().map(|t| t.key.as_str()),
        Some("DEV-1"),
        "the twin is recorded at once: {panel}"
    );
    assert!(
        matches!(panel.issues[0].state, IssueState::Error { .. }),
        "the failure shows, not a create in progress: {panel}"
    );

    // Syncing again (within the settle window) sets the status: no search
    // for the create's marker, no second create.
    rig.tracker.reset_calls();
    let again = block_on(rig.node.retry(&rig.conn.id, &key("SUP-1"))).unwrap();
    assert!(!again.waiting, "{again:?}");
    let calls = rig.tracker.calls();
    assert_eq!(calls.get(OpKind::Search), 0, "{calls}");
    assert_eq!(calls.get(OpKind::CreateIssue), 0, "{calls}");
    assert_eq!(rig.issue("DEV-1").status, "In Progress");
    assert_eq!(rig.issue("SUP-1").status, "In Progress", "no echo back");
    rig.sync();
    assert_eq!(rig.issues("DEV").len(), 1);
    let panel = rig.node.status(&rig.conn.id).unwrap();
    assert_eq!(panel.issues[0].state, IssueState::Synchronized, "{panel}");
}

#[test]
fn connect_makes_the_first_issue_the_source_and_copies_other_comments_both_ways() {
    use twinsync::model::RichText;
    use twinsync::tracker::IssueUpdate;

    let rig = LocalRig::new();
    let describe = |k: &str, text: &str| {
        rig.user().update(
            k,
            IssueUpdate {
                description: Some(RichText::plain(text)),
                ..IssueUpdate::default()
            },
        )
    };
    rig.user()
        .create("SUP", "Bug", "Checkout fails for EU cards");
    describe("SUP-1", "steps: add to cart, pay");
    rig.user().comment("SUP-1", "same words");
    rig.user().comment("SUP-1", "only in SUP");
    // DEV-1 is newer in every field: "newer wins" would keep all of it.
    rig.advance(60);
    rig.user().create("DEV", "Task", "checkout broken");
    describe("DEV-1", "see SUP");
    rig.user().comment("DEV-1", "same words");
    rig.user().comment("DEV-1", "only in DEV");

    let info = block_on(rig.node.connect(&rig.conn.id, &key("SUP-1"), &key("DEV-1"))).unwrap();
    assert_eq!(info.origin.key.as_str(), "SUP-1");
    assert!(info.conflicts.is_empty(), "{:?}", info.conflicts);
    for k in ["SUP-1", "DEV-1"] {
        let issue = rig.issue(k);
        assert_eq!(issue.summary, "Checkout fails for EU cards", "{k}");
        assert_eq!(issue.issue_type, "Bug", "{k}");
        assert_eq!(
            issue.description.to_plain_text(),
            "steps: add to cart, pay",
            "{k}"
        );
        let mut bodies = rig.user().said(k);
        bodies.sort();
        assert_eq!(bodies, ["only in DEV", "only in SUP", "same words"], "{k}");
    }
    rig.sync();
    let panel = rig.node.status(&rig.conn.id).unwrap();
    assert_eq!(panel.issues[0].state, IssueState::Synchronized, "{panel}");
    rig.tracker.reset_calls();
    assert_eq!(rig.sync().writes, 0);
    assert_eq!(rig.tracker.calls().writes(), 0);

    // Connected the other way round, the DEV issue is the source.
    rig.user().create("DEV", "Bug", "Login slow");
    rig.advance(60);
    rig.user()
        .create("SUP", "Task", "login page takes a minute");
    block_on(rig.node.connect(&rig.conn.id, &key("DEV-2"), &key("SUP-2"))).unwrap();
    assert_eq!(rig.issue("SUP-2").summary, "Login slow");
    assert_eq!(rig.issue("SUP-2").issue_type, "Bug");
    assert_eq!(rig.issue("DEV-2").summary, "Login slow");
}

#[test]
fn a_node_refuses_a_tracker_that_cannot_store_markers() {
    use std::sync::Arc;
    use twinsync::engine::Node;
    use twinsync::store::MemoryStore;
    use twinsync::testkit::LimitedTracker;

    let build = |tracker: Arc<dyn Tracker>| {
        block_on(
            Node::builder()
                .tracker(tracker)
                .store(Arc::new(MemoryStore::new()))
                .build(),
        )
    };
    for capability in ["issue_properties", "comment_properties"] {
        let memory = twinsync::testkit::memory_tracker();
        let mut capabilities = memory.capabilities();
        if capability == "issue_properties" {
            capabilities.issue_properties = false;
        } else {
            capabilities.comment_properties = false;
        }
        let limited = LimitedTracker::new(Arc::new(memory.clone()), capabilities);
        let err = build(Arc::new(limited)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
        let message = err.to_string();
        assert!(
            message.contains(capability) && message.contains("duplicate"),
            "the error names the capability and why it matters: {message}"
        );
        assert_eq!(
            memory.calls().total(),
            0,
            "refused before any call: {}",
            memory.calls()
        );
    }
    // Without attachments (an optional capability) a node starts.
    let memory = twinsync::testkit::memory_tracker();
    let mut capabilities = memory.capabilities();
    capabilities.attachments = false;
    let limited = LimitedTracker::new(Arc::new(memory), capabilities);
    build(Arc::new(limited)).expect("a node without attachments");
}

/// A node on SUP ↔ OPS, where OPS has no Bug type, no default type and no
/// Task type: a SUP Bug cannot land there.
struct NoBugRig {
    clock: std::sync::Arc<twinsync::clock::ManualClock>,
    tracker: twinsync::MemoryTracker,
    human: twinsync::MemoryTracker,
    node: twinsync::engine::Node,
    conn: twinsync::connection::Connection,
}

impl NoBugRig {
    fn new() -> Self {
        use std::sync::Arc;
        let clock = Arc::new(twinsync::clock::ManualClock::default());
        let tracker =
            twinsync::MemoryTracker::with_clock("https://nobug.example", clock.clone()).unwrap();
        tracker
            .add_project("SUP", "Support", &["Bug", "Task"], Some("Task"))
            .unwrap();
        tracker
            .add_project("OPS", "Operations", &["Story"], None)
            .unwrap();
        let human = tracker.as_user(twinsync::model::UserRef::new(
            lit::user_id("alice"),
            "Alice",
        ));
        let store = Arc::new(twinsync::store::MemoryStore::new());
        let node = LocalRig::start(&tracker, &clock, store);
        let conn = block_on(
            node.admin(&lit::user_id(twinsync::MemoryTracker::INTEGRATION_USER))
                .create_local_connection(
                    "SUP",
                    "OPS",
                    twinsync::engine::LocalConnectionOptions::default(),
                ),
        )
        .unwrap();
        NoBugRig {
            clock,
            tracker,
            human,
            node,
            conn,
        }
    }

    fn sync(&self) -> twinsync::engine::CycleReport {
        self.clock.advance(Duration::from_secs(1));
        block_on(self.node.sync(&self.conn.id)).unwrap()
    }

    fn state(&self) -> IssueState {
        block_on(async { self.node.issue_status(&self.conn.id, &key("SUP-1")) })
            .unwrap()
            .state
    }

    fn attempts(&self) -> u32 {
        match self.state() {
            IssueState::Error { attempts, .. } => attempts,
            other => panic!("an error, got {other}"),
        }
    }
}

#[test]
fn a_missing_issue_type_quarantines_its_twin_until_the_type_is_added_and_retried() {
    let rig = NoBugRig::new();
    twinsync::testkit::User(&rig.human).create("SUP", "Bug", "Needs a type");
    let err = block_on(rig.node.exalate(&rig.conn.id, &key("SUP-1"))).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidConfig);
    let state = rig.state();
    assert!(
        matches!(
            &state,
            IssueState::Error {
                attempts: 1,
                recovery: Recovery::Quarantined { .. },
                ..
            }
        ),
        "{state:?}"
    );
    let text = rig.node.status(&rig.conn.id).unwrap().to_string();
    assert!(
        text.contains("quarantined after 1 attempt: issue type \"Bug\" is not in project OPS")
            && text.contains("fix the target project or the connection's rules")
            && text.contains("then retry"),
        "{text}"
    );
    // Quiet cycles (the issue is polled each time, within the overlap) try
    // nothing: no create, no further attempt.
    rig.tracker.reset_calls();
    for _ in 0..6 {
        let report = rig.sync();
        assert_eq!((report.synced, report.failed), (0, 0), "{report:?}");
    }
    assert_eq!(rig.tracker.calls().writes(), 0, "{}", rig.tracker.calls());
    assert_eq!(rig.attempts(), 1);
    // An administrator adds the type; a user retries: it syncs.
    rig.tracker.add_issue_type("OPS", "Bug").unwrap();
    let info = block_on(rig.node.retry(&rig.conn.id, &key("SUP-1"))).unwrap();
    let twin = info.twin.expect("the twin is created");
    let ops = rig
        .tracker
        .inspect_issue(&twin.key)
        .expect("the twin exists");
    assert_eq!(ops.issue_type, "Bug");
    assert_eq!(rig.state(), IssueState::Synchronized);
    assert!(rig.node.status(&rig.conn.id).unwrap().errors.is_empty());
}

#[test]
fn a_quarantined_twin_goes_again_when_its_issue_is_edited_or_its_project_changes() {
    let rig = NoBugRig::new();
    let user = twinsync::testkit::User(&rig.human);
    user.create("SUP", "Bug", "Needs a type");
    block_on(rig.node.exalate(&rig.conn.id, &key("SUP-1"))).unwrap_err();
    rig.sync();
    rig.sync();
    assert_eq!(rig.attempts(), 1, "quiet while nothing changes");
    // An edit of the issue: one more attempt (still failing), then quiet.
    rig.clock.advance(Duration::from_secs(5));
    user.edit_summary("SUP-1", "Needs a type, edited");
    let report = rig.sync();
    assert_eq!(report.failed, 1, "{report:?}");
    rig.sync();
    rig.sync();
    assert_eq!(rig.attempts(), 2);
    // The target project changes: the next cycle syncs it, no retry needed.
    rig.tracker.add_issue_type("OPS", "Bug").unwrap();
    let report = rig.sync();
    assert_eq!((report.synced, report.failed), (1, 0), "{report:?}");
    assert_eq!(rig.state(), IssueState::Synchronized);
    assert_eq!(rig.tracker.inspect_issues(&lit::project("OPS")).len(), 1);
}

#[test]
fn a_temporary_failure_backs_off_exponentially_on_the_node_clock() {
    let rig = LocalRig::new();
    rig.user().create("SUP", "Bug", "x");
    block_on(rig.node.exalate(&rig.conn.id, &key("SUP-1"))).unwrap();
    rig.advance(10);
    rig.user().edit_summary("SUP-1", "x, edited");
    // Enough outages to outlast the tracker's own retries (4 attempts), twice.
    for _ in 0..8 {
        rig.tracker.inject(OpKind::UpdateIssue, Fault::ServerError);
    }
    let next_try = |rig: &LocalRig| match rig.node.issue_status(&rig.conn.id, &key("SUP-1")) {
        Ok(s) => match s.state {
            IssueState::Error {
                recovery: Recovery::Backoff { next_try },
                ..
            } => next_try,
            other => panic!("backing off, got {other}"),
        },
        Err(e) => panic!("{e}"),
    };
    let report = rig.sync();
    assert_eq!(report.failed, 1);
    let failed_at = rig.now();
    let first = next_try(&rig);
    let wait = first - failed_at;
    assert!(
        wait >= Duration::from_secs(30) && wait <= Duration::from_secs(38),
        "{wait}"
    );
    let text = rig.node.status(&rig.conn.id).unwrap().to_string();
    assert!(text.contains("; next try at "), "{text}");
    // Cycles before that time leave it alone.
    rig.tracker.reset_calls();
    while rig.now() + Duration::from_secs(1) < first {
        let report = rig.sync();
        assert_eq!(report.failed, 0);
    }
    assert_eq!(rig.tracker.calls().get(OpKind::UpdateIssue), 0);
    // At its time it goes again, fails again, and waits twice as long.
    rig.clock
        .advance((first - rig.now()).try_into().unwrap_or_default());
    let report = rig.sync();
    assert_eq!(report.failed, 1, "{report:?}");
    let second = next_try(&rig) - rig.now();
    assert!(
        second >= Duration::from_secs(60) && second <= Duration::from_secs(75),
        "{second}"
    );
    // Then it heals.
    rig.clock.advance(second.try_into().unwrap_or_default());
    let report = rig.sync();
    assert_eq!((report.synced, report.failed), (1, 0), "{report:?}");
    assert_eq!(rig.issue("DEV-1").summary, "x, edited");
    let panel = rig.node.status(&rig.conn.id).unwrap();
    assert!(panel.errors.is_empty() && panel.queued == 0, "{panel}");
}

/// SUP-1 with ten comments, synced to DEV-1, then eight deleted in SUP and
/// the summary edited: the guard refuses the deletions.
fn refused_rig() -> LocalRig {
    let rig = LocalRig::new();
    let sup = rig.user().create("SUP", "Bug", "x");
    for i in 0..10 {
        rig.user().comment(&sup.key, &format!("c{i}"));
    }
    block_on(rig.node.exalate(&rig.conn.id, &key("SUP-1"))).unwrap();
    assert_eq!(rig.user().said("DEV-1").len(), 10);
    rig.advance(10);
    let sup = rig.issue("SUP-1");
    for c in &sup.comments[2..] {
        block_on(rig.human.delete_comment(&sup.id, &c.id)).unwrap();
    }
    rig.user().edit_summary("SUP-1", "x, edited");
    let report = rig.sync();
    assert_eq!(report.failed, 0, "{report:?}");
    assert_eq!(rig.issue("DEV-1").summary, "x, edited", "the rest applied");
    assert_eq!(rig.user().said("DEV-1").len(), 10, "nothing deleted");
    let state = rig.node.issue_status(&rig.conn.id, &key("SUP-1")).unwrap();
    assert!(
        matches!(&state.state, IssueState::Refused { deletions, decision: None }
            if deletions.len() == 1 && deletions[0].would_delete == 8 && deletions[0].synced == 10),
        "{state:?}"
    );
    let text = rig.node.status(&rig.conn.id).unwrap().to_string();
    assert!(
        text.contains("would delete 8 of 10 comments; confirm or dismiss"),
        "{text}"
    );
    // Refused, and quiet: nothing planned again each cycle.
    rig.tracker.reset_calls();
    for _ in 0..3 {
        assert_eq!(rig.sync().synced, 0);
    }
    assert_eq!(rig.tracker.calls().writes(), 0, "{}", rig.tracker.calls());
    rig
}

#[test]
fn a_refused_mass_deletion_is_shown_and_a_confirmation_deletes_once() {
    let rig = refused_rig();
    block_on(rig.admin().confirm_deletion(&rig.conn.id, &key("DEV-1"))).unwrap();
    rig.tracker.reset_calls();
    let report = rig.sync();
    assert_eq!(report.synced, 1, "{report:?}");
    assert_eq!(rig.tracker.calls().get(OpKind::DeleteComment), 8);
    assert_eq!(rig.user().said("DEV-1"), ["c0", "c1"]);
    assert_eq!(rig.user().said("SUP-1"), ["c0", "c1"]);
    let panel = rig.node.status(&rig.conn.id).unwrap();
    assert_eq!(panel.issues[0].state, IssueState::Synchronized, "{panel}");
    assert!(panel.errors.is_empty(), "{panel}");
    rig.tracker.reset_calls();
    for _ in 0..3 {
        rig.sync();
    }
    assert_eq!(rig.tracker.calls().writes(), 0, "{}", rig.tracker.calls());
    // Nothing left to confirm.
    let err = block_on(rig.admin().confirm_deletion(&rig.conn.id, &key("SUP-1"))).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
}

#[test]
fn only_an_admin_may_confirm_or_dismiss_a_refused_deletion() {
    let rig = refused_rig();
    let before = rig.node.status(&rig.conn.id).unwrap().issues;
    let uma = lit::user_id("uma");
    let err = block_on(
        rig.node
            .admin(&uma)
            .confirm_deletion(&rig.conn.id, &key("DEV-1")),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");
    let err = block_on(
        rig.node
            .admin(&uma)
            .dismiss_deletion(&rig.conn.id, &key("DEV-1")),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");
    rig.sync();
    assert_eq!(rig.user().said("DEV-1").len(), 10, "nothing deleted");
    assert_eq!(
        rig.node.status(&rig.conn.id).unwrap().issues,
        before,
        "still refused, waiting for an admin"
    );
}

#[test]
fn a_dismissed_mass_deletion_deletes_nothing_and_the_twin_goes_quiet() {
    let rig = refused_rig();
    block_on(rig.admin().dismiss_deletion(&rig.conn.id, &key("SUP-1"))).unwrap();
    rig.tracker.reset_calls();
    rig.sync();
    assert_eq!(rig.tracker.calls().get(OpKind::DeleteComment), 0);
    assert_eq!(rig.user().said("DEV-1").len(), 10, "nothing deleted");
    let panel = rig.node.status(&rig.conn.id).unwrap();
    assert_eq!(panel.issues[0].state, IssueState::Synchronized, "{panel}");
    assert!(panel.errors.is_empty(), "{panel}");
    rig.tracker.reset_calls();
    for _ in 0..4 {
        assert_eq!(rig.sync().writes, 0);
    }
    assert_eq!(rig.tracker.calls().writes(), 0, "{}", rig.tracker.calls());
    // The kept comments were copied back: the deletion is undone on both sides.
    assert_eq!(rig.user().said("SUP-1").len(), 10);
    assert_eq!(rig.user().said("SUP-1"), rig.user().said("DEV-1"));
}

/// The panel's counts come from the store's indexes and it lists one page;
/// paged to the end, the issues agree with the store's full listing, and
/// its counts with what the pages show.
#[test]
fn the_panel_counts_agree_with_the_full_listing_paged_through() {
    use twinsync::engine::PANEL_ISSUES;
    use twinsync::store::{KeyMatch, Store, TwinQuery};
    let rig = LocalRig::new();
    for n in 1..=60 {
        rig.user().create("SUP", "Bug", &format!("Printer {n}"));
        block_on(rig.node.exalate(&rig.conn.id, &key(&format!("SUP-{n}")))).unwrap();
    }
    rig.user().create("SUP", "Bug", "Printer 61");
    rig.tracker
        .inject(OpKind::CreateIssue, Fault::Fail(ErrorKind::InvalidInput));
    block_on(rig.node.exalate(&rig.conn.id, &key("SUP-61"))).expect_err("the create fails");
    block_on(rig.node.notify_changed(&rig.conn.id, &key("SUP-3"))).unwrap();

    let panel = rig.node.status(&rig.conn.id).unwrap();
    assert_eq!(panel.issues.len(), PANEL_ISSUES, "one page");
    let mut all = panel.issues.clone();
    let mut next = panel.next.clone();
    while let Some(after) = next {
        let page = rig
            .node
            .issues(&rig.conn.id, &TwinQuery::first(7).after(after))
            .unwrap();
        assert!(page.issues.len() <= 7);
        all.extend(page.issues);
        next = page.next;
    }
    let mut txn = rig.store.begin().unwrap();
    let stored = txn.twins(&rig.conn.id).unwrap();
    let listed: Vec<_> = all.iter().map(|i| i.origin.key.clone()).collect();
    let keys: Vec<_> = stored.iter().map(|t| t.remote.key.clone()).collect();
    assert_eq!(listed, keys, "every twin once, in the store's order");
    assert_eq!(panel.twins, 61);
    assert_eq!(panel.twins, all.len() as u64);
    assert_eq!(panel.queued, txn.queue_len(&rig.conn.id).unwrap());
    assert!(panel.queued >= 1, "SUP-3 waits");
    let state_of = |k: &str| {
        &all.iter()
            .find(|i| i.origin.key.as_str() == k)
            .unwrap()
            .state
    };
    assert_eq!(state_of("SUP-3"), &IssueState::Queued);
    assert!(matches!(state_of("SUP-61"), IssueState::Error { .. }));
    let failing: Vec<_> = all
        .iter()
        .filter(|i| {
            matches!(
                i.state,
                IssueState::Error { .. } | IssueState::Refused { .. }
            )
        })
        .cloned()
        .collect();
    assert_eq!(panel.errors.len(), failing.len(), "{panel}");
    assert_eq!(
        panel.attention, failing,
        "those needing a person, wherever they are"
    );
    assert_eq!(panel.conflicts, 0);
    assert_eq!(
        panel.in_flight,
        txn.intents(&rig.conn.id).unwrap().len() as u64
    );
    drop(txn);
    let text = panel.to_string();
    assert!(text.contains("… and 11 more"), "{text}");
    assert!(text.contains("SUP-61"), "the failing one is shown: {text}");

    let found = rig
        .node
        .issues(
            &rig.conn.id,
            &TwinQuery::first(50).matching(KeyMatch::Prefix("dev-1".into())),
        )
        .unwrap();
    let mut twins: Vec<_> = found
        .issues
        .iter()
        .filter_map(|i| i.twin.as_ref().map(|t| t.key.to_string()))
        .collect();
    twins.sort();
    let mut want: Vec<String> = std::iter::once(1)
        .chain(10..=19)
        .map(|n| format!("DEV-{n}"))
        .collect();
    want.sort();
    assert_eq!(twins, want, "found by the twin's key too");
    let one = rig.node.issue_status(&rig.conn.id, &key("DEV-42")).unwrap();
    assert_eq!(one.origin.key.as_str(), "SUP-42");
}
