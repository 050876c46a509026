//! Triggers, bulk exalate by trigger, the escalation use case and Test Run on
//! a local connection SUP ↔ DEV: what a user notices, counted in tracker
//! calls and store commits.

use twinsync::ErrorKind;
use twinsync::engine::{BulkEvent, DeleteOptions, LocalConnectionOptions, TestRunOutcome};
use twinsync::model::IssueKey;
use twinsync::plan::Op;
use twinsync::testkit::block_on;
use twinsync::testkit::ids as lit;
use twinsync::testkit::rig::LocalRig;
use twinsync::tracker::memory::{Fault, OpKind};
use twinsync::trigger::{JqlError, TriggerId, TriggerSpec, TriggerUpdate};

const ESCALATE: &str = "project = SUP AND labels = escalate-to-dev";

fn key(k: &str) -> IssueKey {
    lit::key(k)
}

fn escalation_rig() -> (LocalRig, TriggerId) {
    let rig = LocalRig::new();
    let trigger = block_on(rig.admin().add_trigger(
        &rig.conn.id,
        TriggerSpec::new(lit::project("SUP"), ESCALATE).note("escalations to development"),
    ))
    .unwrap();
    (rig, trigger.id)
}

#[test]
fn a_bad_query_is_refused_with_its_position_before_anything_is_stored() {
    let rig = LocalRig::new();
    let commits = rig.store.commits();
    let err = block_on(rig.admin().add_trigger(
        &rig.conn.id,
        TriggerSpec::new(
            lit::project("SUP"),
            "labels = escalate-to-dev AND created ~ yesterday",
        ),
    ))
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(
        err.to_string()
            .starts_with("jql: expected an operator that created supports"),
        "{err}"
    );
    let jql = std::error::Error::source(&err)
        .and_then(|s| s.downcast_ref::<JqlError>())
        .expect("the parse error is the source");
    assert_eq!(jql.column(), 38);
    assert_eq!(rig.store.commits(), commits, "nothing stored");
    assert!(rig.node.triggers(&rig.conn.id).unwrap().is_empty());

    let err = block_on(rig.admin().add_trigger(
        &rig.conn.id,
        TriggerSpec::new(lit::project("OPS"), "labels = x"),
    ))
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(
        err.to_string(),
        "project OPS is not a side of connection SUP_to_DEV (SUP ↔ DEV); \
         a trigger selects issues of one of them"
    );
    let err = block_on(rig.admin().add_trigger(
        &rig.conn.id,
        TriggerSpec::new(lit::project("SUP"), "project = DEV AND labels = x"),
    ))
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(
        err.to_string()
            .starts_with("the query selects project DEV, but the trigger is on project SUP"),
        "{err}"
    );
    let unknown = twinsync::model::ConnectionId::parse("nope").unwrap();
    let err = block_on(rig.admin().add_trigger(
        &unknown,
        TriggerSpec::new(lit::project("SUP"), "labels = x"),
    ))
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(rig.store.commits(), commits, "still nothing stored");
}

#[test]
fn triggers_are_listed_updated_removed_and_survive_a_restart() {
    let mut rig = LocalRig::new();
    let conn = rig.conn.id.clone();
    let first = block_on(rig.admin().add_trigger(
        &conn,
        TriggerSpec::new(lit::project("sup"), ESCALATE).note("escalations"),
    ))
    .unwrap();
    let second = block_on(rig.admin().add_trigger(
        &conn,
        TriggerSpec::new(lit::project("DEV"), "type = Bug").enabled(false),
    ))
    .unwrap();
    assert_eq!((first.id, second.id), (TriggerId(1), TriggerId(2)));
    assert_eq!(
        first.project.as_str(),
        "SUP",
        "spelled as the connection spells it"
    );

    let err = block_on(rig.admin().update_trigger(
        &conn,
        first.id,
        TriggerUpdate::default().query("labels IN ("),
    ))
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(
        rig.node.triggers(&conn).unwrap()[0].query,
        ESCALATE,
        "unchanged"
    );

    let updated = block_on(rig.admin().update_trigger(
        &conn,
        second.id,
        TriggerUpdate::default().enabled(true).note("all DEV bugs"),
    ))
    .unwrap();
    assert!(updated.enabled);
    assert_eq!(updated.query, "type = Bug");

    rig.restart();
    let listed: Vec<String> = rig
        .node
        .triggers(&conn)
        .unwrap()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        listed,
        [
            "trigger 1 on SUP (enabled): project = SUP AND labels = escalate-to-dev — escalations",
            "trigger 2 on DEV (enabled): type = Bug — all DEV bugs",
        ]
    );
    let removed = block_on(rig.admin().remove_trigger(&conn, first.id)).unwrap();
    assert_eq!(removed.id, first.id);
    assert_eq!(rig.node.triggers(&conn).unwrap().len(), 1);
    let err = block_on(rig.admin().remove_trigger(&conn, first.id)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(
        err.to_string(),
        "trigger 1 does not exist on connection SUP_to_DEV"
    );
    // Deleting the connection deletes its triggers with it.
    block_on(
        rig.admin()
            .delete_connection(&conn, DeleteOptions::default()),
    )
    .unwrap();
    let again = block_on(rig.admin().create_local_connection(
        "SUP",
        "DEV",
        LocalConnectionOptions::default(),
    ))
    .unwrap();
    assert!(rig.node.triggers(&again.id).unwrap().is_empty());
}

#[test]
fn escalation_a_labelled_issue_reaches_dev_with_comments_and_attachments_then_both_ways() {
    let (rig, _) = escalation_rig();
    rig.user()
        .create("SUP", "Epic", "Checkout fails for EU customers");
    rig.user().create("SUP", "Bug", "Typo on the invoice");
    rig.user()
        .comment("SUP-1", "Customer: every EU card is declined.");
    rig.user()
        .comment("SUP-1", "Support: reproduced with a test card.");
    rig.user()
        .attach("SUP-1", "checkout.log", b"card declined: region EU");
    let report = rig.sync();
    assert_eq!(report.triggered, 0, "nothing is labelled yet");
    assert!(rig.issues("DEV").is_empty());

    rig.user().set_labels("SUP-1", &["escalate-to-dev"]);
    rig.tracker.reset_calls();
    let report = rig.sync();
    assert_eq!(report.triggered, 1, "{report:?}");
    let dev = rig.issues("DEV");
    assert_eq!(dev.len(), 1, "only the labelled issue");
    let twin = &dev[0];
    assert_eq!(twin.summary, "Checkout fails for EU customers");
    assert_eq!(
        twin.issue_type, "Task",
        "DEV has no Epic and no default type"
    );
    assert_eq!(
        rig.user().said(twin.key.as_str()),
        [
            "Customer: every EU card is declined.",
            "Support: reproduced with a test card."
        ]
    );
    assert_eq!(twin.attachments.len(), 1);
    assert_eq!(twin.attachments[0].file_name, "checkout.log");
    let calls = rig.tracker.calls();
    assert_eq!(
        calls.get(OpKind::GetIssue),
        0,
        "the poll's snapshot is used, not read again: {calls}"
    );
    assert_eq!(
        calls.writes(),
        5,
        "1 create + 1 origin link + 2 comments + 1 upload: {calls}"
    );

    // Comments then flow both ways.
    rig.advance(10);
    rig.user()
        .comment("DEV-1", "Dev: the EU acquirer rejects 3-D Secure v1.");
    rig.sync();
    rig.advance(10);
    rig.user().comment("SUP-1", "Support: customer informed.");
    rig.sync();
    let all = [
        "Customer: every EU card is declined.",
        "Support: reproduced with a test card.",
        "Dev: the EU acquirer rejects 3-D Secure v1.",
        "Support: customer informed.",
    ];
    assert_eq!(rig.user().said("SUP-1"), all);
    assert_eq!(rig.user().said("DEV-1"), all);

    // Removing the label does not stop the sync.
    rig.advance(10);
    rig.user().set_labels("SUP-1", &[]);
    rig.user()
        .edit_summary("SUP-1", "Checkout fails for EU customers (3DS)");
    rig.sync();
    assert_eq!(
        rig.issue("DEV-1").summary,
        "Checkout fails for EU customers (3DS)"
    );
    assert_eq!(rig.issues("DEV").len(), 1);
    assert_eq!(rig.node.status(&rig.conn.id).unwrap().twins, 1);
}

#[test]
fn an_issue_matched_by_two_triggers_gets_one_twin_however_often_it_is_seen() {
    let (rig, _) = escalation_rig();
    block_on(rig.admin().add_trigger(
        &rig.conn.id,
        TriggerSpec::new(lit::project("SUP"), "summary ~ outage"),
    ))
    .unwrap();
    rig.user().create("SUP", "Bug", "Outage in region EU");
    rig.user().set_labels("SUP-1", &["escalate-to-dev"]);
    let report = rig.sync();
    assert_eq!(report.triggered, 1);
    // Seen again by the overlap window and after more edits: still one twin.
    for i in 0..3 {
        rig.advance(5);
        rig.user().comment("SUP-1", &format!("update {i}"));
        let report = rig.sync();
        assert_eq!(report.triggered, 0);
    }
    let exalated = block_on(rig.node.exalate(&rig.conn.id, &key("SUP-1"))).unwrap();
    assert_eq!(exalated.twin.unwrap().key.as_str(), "DEV-1");
    assert_eq!(rig.issues("DEV").len(), 1);
    assert_eq!(
        rig.user().said("DEV-1"),
        ["update 0", "update 1", "update 2"]
    );
}

#[test]
fn a_trigger_selects_only_its_own_project_and_only_while_enabled() {
    let rig = LocalRig::new();
    let t = block_on(rig.admin().add_trigger(
        &rig.conn.id,
        TriggerSpec::new(lit::project("SUP"), "labels = escalate-to-dev").enabled(false),
    ))
    .unwrap();
    rig.user().create("SUP", "Bug", "in support");
    rig.user().create("DEV", "Bug", "in development");
    rig.user().set_labels("SUP-1", &["escalate-to-dev"]);
    rig.user().set_labels("DEV-1", &["escalate-to-dev"]);
    let report = rig.sync();
    assert_eq!(report.triggered, 0, "disabled");
    block_on(rig.admin().update_trigger(
        &rig.conn.id,
        t.id,
        TriggerUpdate::default().enabled(true),
    ))
    .unwrap();
    rig.advance(5);
    rig.user().edit_summary("SUP-1", "in support, edited");
    rig.user().edit_summary("DEV-1", "in development, edited");
    let report = rig.sync();
    assert_eq!(report.triggered, 1, "only the SUP issue");
    assert_eq!(
        rig.issues("SUP").len(),
        1,
        "the DEV issue is not copied to SUP"
    );
    assert_eq!(rig.issues("DEV").len(), 2);
    assert_eq!(rig.issue("DEV-2").summary, "in support, edited");
}

#[test]
fn a_deactivated_connection_queues_triggered_issues_until_activation() {
    let (rig, _) = escalation_rig();
    block_on(rig.admin().deactivate(&rig.conn.id)).unwrap();
    rig.user().create("SUP", "Bug", "while paused");
    rig.user().set_labels("SUP-1", &["escalate-to-dev"]);
    rig.tracker.reset_calls();
    let report = rig.sync();
    assert_eq!(
        rig.tracker.calls().writes(),
        0,
        "nothing written while deactivated"
    );
    assert_eq!((report.triggered, report.queued), (1, 1));
    block_on(rig.admin().activate(&rig.conn.id)).unwrap();
    rig.sync();
    assert_eq!(rig.issues("DEV").len(), 1);
    assert_eq!(rig.issue("DEV-1").summary, "while paused");
}

#[test]
fn issues_the_sync_created_never_trigger_even_while_a_lost_create_settles() {
    let rig = LocalRig::new();
    // Everything on both sides matches a trigger.
    block_on(
        rig.admin()
            .add_trigger(&rig.conn.id, TriggerSpec::new(lit::project("SUP"), "")),
    )
    .unwrap();
    block_on(rig.admin().add_trigger(
        &rig.conn.id,
        TriggerSpec::new(lit::project("DEV"), "summary ~ fire"),
    ))
    .unwrap();
    rig.user().create("SUP", "Bug", "Printer on fire");
    rig.tracker.inject(OpKind::CreateIssue, Fault::LoseResponse);
    rig.sync();
    assert_eq!(
        rig.issues("DEV").len(),
        1,
        "the create happened, its answer was lost"
    );
    // DEV-1 carries the marker but its twin is not recorded yet: it must not
    // be taken for a new DEV issue.
    let err = block_on(rig.node.exalate(&rig.conn.id, &key("DEV-1"))).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists);
    for _ in 0..3 {
        rig.advance(10);
        rig.sync();
    }
    rig.advance(120);
    rig.sync();
    rig.sync();
    assert_eq!(rig.issues("SUP").len(), 1, "no twin of a twin");
    assert_eq!(rig.issues("DEV").len(), 1, "no second twin");
    let panel = rig.node.status(&rig.conn.id).unwrap();
    assert_eq!(panel.twins, 1, "{panel}");
    assert_eq!(
        panel.issues[0].twin.as_ref().map(|t| t.key.as_str()),
        Some("DEV-1")
    );
}

#[test]
fn issues_older_than_the_connection_come_under_sync_only_by_bulk_exalate_by_trigger() {
    let rig = LocalRig::new();
    for (summary, labelled) in [("old one", true), ("old two", true), ("old three", false)] {
        let issue = rig.user().create("SUP", "Bug", summary);
        if labelled {
            rig.user()
                .set_labels(issue.key.as_str(), &["escalate-to-dev"]);
        }
        rig.user().comment(issue.key.as_str(), "from before");
    }
    rig.advance(3600);
    let conn = block_on(rig.admin().create_local_connection(
        "SUP",
        "DEV",
        LocalConnectionOptions::default().name("escalations"),
    ))
    .unwrap();
    let trigger = block_on(
        rig.admin()
            .add_trigger(&conn.id, TriggerSpec::new(lit::project("SUP"), ESCALATE)),
    )
    .unwrap();
    rig.advance(1);
    let report = block_on(rig.node.sync(&conn.id)).unwrap();
    assert_eq!(report.triggered, 0, "older issues are not polled");
    assert!(rig.issues("DEV").is_empty());

    let mut events = Vec::new();
    let report = block_on(
        rig.node
            .bulk_exalate_trigger(&conn.id, trigger.id, |e| events.push(e.clone())),
    )
    .unwrap();
    assert_eq!((report.synced, report.skipped, report.failed), (2, 0, 0));
    assert!(matches!(events[0], BulkEvent::Started { .. }));
    let synced: Vec<String> = events
        .iter()
        .filter_map(|e| match e {
            BulkEvent::Synced { key, .. } => Some(key.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(synced.len(), 2);
    assert!(synced.contains(&"SUP-1".to_owned()) && synced.contains(&"SUP-2".to_owned()));
    assert_eq!(rig.issues("DEV").len(), 2);
    assert!(rig.issues("DEV").iter().all(|i| i.comments.len() == 1));

    // Again: already under sync, so re-checked; a missed edit is caught up.
    rig.user().edit_summary("SUP-1", "old one, edited");
    rig.tracker.reset_calls();
    let report = block_on(rig.node.bulk_exalate_trigger(&conn.id, trigger.id, |_| {})).unwrap();
    assert_eq!((report.synced, report.skipped), (1, 1), "{report:?}");
    assert_eq!(rig.tracker.calls().get(OpKind::CreateIssue), 0);
    assert_eq!(rig.tracker.calls().writes(), 1);
    assert_eq!(rig.issues("DEV").len(), 2, "no second twins");
    let err = block_on(
        rig.node
            .bulk_exalate_trigger(&conn.id, TriggerId(9), |_| {}),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
}

#[test]
fn test_run_shows_the_replica_and_the_plan_and_writes_nothing_anywhere() {
    let (rig, _) = escalation_rig();
    rig.user()
        .create("SUP", "Epic", "Checkout fails for EU customers");
    rig.user()
        .comment("SUP-1", "Customer: every EU card is declined.");
    rig.user().attach("SUP-1", "checkout.log", b"card declined");
    rig.user().create("SUP", "Bug", "Typo on the invoice");
    block_on(rig.node.exalate(&rig.conn.id, &key("SUP-2"))).unwrap();
    rig.sync();
    rig.advance(10);
    rig.user()
        .edit_summary("SUP-2", "Typo on the invoice footer");
    rig.user().comment("DEV-1", "Dev: fixed in the template.");

    rig.tracker.reset_calls();
    let commits = rig.store.commits();
    let panel = rig.node.status(&rig.conn.id).unwrap();
    let results = block_on(
        rig.node
            .test_run(&rig.conn.id, &[key("SUP-1"), key("SUP-2"), key("DEV-1")]),
    )
    .unwrap();
    let calls = rig.tracker.calls();
    assert_eq!(calls.writes(), 0, "no tracker write: {calls}");
    assert_eq!(rig.store.commits(), commits, "no store write");
    assert_eq!(rig.node.status(&rig.conn.id).unwrap(), panel);
    assert_eq!(rig.issues("DEV").len(), 1);

    // Not under sync: what would be created, and why the type changes.
    let new = &results[0];
    assert!(!new.under_sync);
    assert_eq!(
        new.summary,
        "would create a DEV issue of type \"Task\" because \"Epic\" is missing in DEV \
         and it has no default type, with 1 comment and 1 attachment"
    );
    assert_eq!(new.replica.issue_type, "Epic");
    assert_eq!(new.replica.comments.len(), 1);
    let text = new.to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "test run of SUP-1 (not under sync yet)");
    assert_eq!(
        lines[2],
        "  outgoing replica: type \"Epic\", summary \"Checkout fails for EU customers\", \
         1 comment, 1 attachment (\"checkout.log\")"
    );
    assert_eq!(lines[3], "  plan: SUP-1 → DEV (new twin)");
    assert_eq!(
        lines[4],
        "    create DEV issue: type \"Task\", summary \"Checkout fails for EU customers\""
    );
    assert!(
        lines.contains(&"    note: issue type \"Epic\" is not in DEV; using \"Task\""),
        "{text}"
    );
    let json = serde_json::to_value(new).unwrap();
    assert_eq!(json["outcome"]["result"], "plan");
    assert_eq!(
        json["replica"]["summary"],
        "Checkout fails for EU customers"
    );

    // Under sync: exactly what the next sync writes.
    let edited = &results[1];
    assert_eq!(edited.twin.as_ref().unwrap().key.as_str(), "DEV-1");
    assert_eq!(edited.summary, "would write 1 change on DEV-1");
    let plan = edited.plan().unwrap();
    assert!(matches!(&plan.ops[..], [Op::UpdateIssue { .. }]), "{plan}");
    // The other direction: DEV-1's new comment would go to SUP-2.
    let back = &results[2];
    assert_eq!(back.target.as_str(), "SUP");
    assert!(back.to_string().contains("add comment"), "{back}");

    let report = rig.sync();
    assert_eq!(
        report.writes,
        edited.plan().unwrap().ops.len() + back.plan().unwrap().ops.len(),
        "the sync did what the test run showed"
    );
    assert_eq!(rig.issue("DEV-1").summary, "Typo on the invoice footer");
    let quiet = block_on(rig.node.test_run(&rig.conn.id, &[key("SUP-2")])).unwrap();
    assert_eq!(
        quiet[0].summary,
        "nothing to do: DEV-1 already has every change of this issue"
    );
}

#[test]
fn test_run_shows_a_sync_that_would_fail_and_refuses_bad_keys() {
    let rig = LocalRig::new();
    rig.tracker
        .add_project("OPS", "Operations", &["Incident"], None)
        .unwrap();
    let conn = block_on(rig.admin().create_local_connection(
        "SUP",
        "OPS",
        LocalConnectionOptions::default(),
    ))
    .unwrap();
    rig.user().create("SUP", "Epic", "Big thing");
    rig.tracker.reset_calls();
    let results = block_on(rig.node.test_run(&conn.id, &[key("SUP-1")])).unwrap();
    assert_eq!(rig.tracker.calls().writes(), 0);
    let TestRunOutcome::Error { kind, message } = &results[0].outcome else {
        panic!("a failure, shown: {}", results[0]);
    };
    assert_eq!(*kind, ErrorKind::InvalidConfig);
    assert!(
        message.contains("OPS") && message.contains("Incident"),
        "{message}"
    );
    assert!(
        results[0]
            .summary
            .starts_with("would fail, writing nothing: "),
        "{}",
        results[0].summary
    );
    assert!(rig.issues("OPS").is_empty());

    let err = block_on(rig.node.test_run(&conn.id, &[key("SUP-9")])).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    rig.user().create("DEV", "Bug", "not in this connection");
    let err = block_on(rig.node.test_run(&conn.id, &[key("DEV-1")])).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("SUP ↔ OPS"), "{err}");
}
