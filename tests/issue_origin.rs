//! Where a twin came from: a remote link to its original (Basic's default),
//! or a line at the top of its description that never echoes or travels
//! back, or nothing; a tracker without remote links gets the line.

use std::sync::Arc;

use twinsync::engine::RuleSpec;
use twinsync::model::{IssueId, RemoteLink, RichText};
use twinsync::rules::{IssueOrigin, OriginTemplate};
use twinsync::testkit::LimitedTracker;
use twinsync::testkit::block_on;
use twinsync::testkit::ids as lit;
use twinsync::testkit::jira::{JiraFlavor, JiraRig};
use twinsync::testkit::rig::LocalRig;
use twinsync::tracker::memory::{Fault, OpKind};
use twinsync::tracker::{IssueUpdate, Tracker};

mod common;
use common::jira_spec::StrictValidator;

fn links(tracker: &dyn Tracker, id: &IssueId) -> Vec<RemoteLink> {
    block_on(tracker.remote_links(id)).expect("remote links")
}

fn exalated() -> LocalRig {
    let rig = LocalRig::new();
    rig.user().create("SUP", "Bug", "Printer on fire");
    block_on(rig.node.exalate(&rig.conn.id, &lit::key("SUP-1"))).unwrap();
    rig
}

fn describe(rig: &LocalRig, key: &str, text: &str) {
    rig.user().update(
        key,
        IssueUpdate {
            description: Some(RichText::plain(text)),
            ..IssueUpdate::default()
        },
    );
}

fn publish(rig: &LocalRig, origin: IssueOrigin) {
    let admin = rig.admin();
    block_on(admin.upgrade_to_custom(&rig.conn.id)).unwrap();
    block_on(admin.save_rule_draft(&rig.conn.id, RuleSpec::default().issue_origin(origin)))
        .unwrap();
    block_on(admin.publish_rules(&rig.conn.id)).unwrap();
}

#[test]
fn a_new_twin_links_to_its_original_once() {
    let rig = exalated();
    let dev = rig.issue("DEV-1");
    let found = links(&rig.tracker, &dev.id);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].url, "https://rig.example/browse/SUP-1");
    assert_eq!(found[0].title, "SUP-1");
    assert_eq!(found[0].relationship.as_deref(), Some("synced from"));
    assert!(links(&rig.tracker, &rig.issue("SUP-1").id).is_empty());
    assert_eq!(dev.description, RichText::default(), "no line with a link");
    // Edits write no second link; quiet cycles write nothing.
    rig.advance(10);
    rig.user().edit_summary("SUP-1", "Printer on fire, floor 3");
    rig.tracker.reset_calls();
    assert_eq!(rig.sync().writes, 1);
    assert_eq!(rig.tracker.calls().get(OpKind::PutRemoteLink), 0);
    rig.advance(10);
    rig.tracker.reset_calls();
    assert_eq!(rig.sync().writes, 0);
    assert_eq!(rig.tracker.calls().writes(), 0);
}

#[test]
fn a_lost_answer_of_the_link_write_leaves_one_link() {
    let rig = LocalRig::new();
    rig.user().create("SUP", "Bug", "Printer on fire");
    rig.tracker
        .inject(OpKind::PutRemoteLink, Fault::LoseResponse);
    // Safe to repeat: the write is retried at once, and replaces the link.
    let _ = block_on(rig.node.exalate(&rig.conn.id, &lit::key("SUP-1")));
    assert!(rig.tracker.calls().get(OpKind::PutRemoteLink) >= 2);
    for _ in 0..3 {
        rig.advance(120);
        rig.sync();
    }
    assert_eq!(rig.issues("DEV").len(), 1);
    let dev = rig.issue("DEV-1");
    assert_eq!(
        links(&rig.tracker, &dev.id).len(),
        1,
        "written again, replaced"
    );
    rig.advance(10);
    rig.tracker.reset_calls();
    assert_eq!(rig.sync().writes, 0);
}

#[test]
fn a_lost_store_rebuilds_the_twin_with_its_one_link() {
    let mut rig = exalated();
    rig.wipe_store();
    rig.advance(10);
    rig.user().edit_summary("SUP-1", "Printer on fire, floor 3");
    for _ in 0..2 {
        rig.advance(120);
        let _ = block_on(rig.node.exalate(&rig.conn.id, &lit::key("SUP-1")));
        rig.sync();
    }
    assert_eq!(rig.issues("DEV").len(), 1);
    assert_eq!(links(&rig.tracker, &rig.issue("DEV-1").id).len(), 1);
}

#[test]
fn a_description_line_never_echoes_and_survives_edits_on_both_sides() {
    let rig = LocalRig::new();
    publish(
        &rig,
        IssueOrigin::DescriptionLine(OriginTemplate::new("Mirror of {key}").unwrap()),
    );
    rig.user().create("SUP", "Bug", "Printer on fire");
    describe(&rig, "SUP-1", "It smokes.");
    block_on(rig.node.exalate(&rig.conn.id, &lit::key("SUP-1"))).unwrap();
    let text = |k: &str| rig.issue(k).description.to_plain_text();
    assert_eq!(text("DEV-1"), "Mirror of SUP-1\nIt smokes.");
    assert!(links(&rig.tracker, &rig.issue("DEV-1").id).is_empty());
    rig.advance(10);
    rig.tracker.reset_calls();
    assert_eq!(rig.sync().writes, 0, "no echo");
    // The twin's edit travels without the line.
    rig.advance(10);
    describe(&rig, "DEV-1", "Mirror of SUP-1\nIt smokes a lot.");
    rig.sync();
    assert_eq!(text("SUP-1"), "It smokes a lot.");
    // The original's edit keeps the line.
    rig.advance(10);
    describe(&rig, "SUP-1", "Fixed.");
    rig.sync();
    assert_eq!(text("DEV-1"), "Mirror of SUP-1\nFixed.");
    assert_eq!(text("SUP-1"), "Fixed.");
    for _ in 0..2 {
        rig.advance(10);
        rig.tracker.reset_calls();
        assert_eq!(rig.sync().writes, 0, "converged");
    }
}

#[test]
fn off_says_nothing() {
    let rig = LocalRig::new();
    publish(&rig, IssueOrigin::Off);
    rig.user().create("SUP", "Bug", "Printer on fire");
    describe(&rig, "SUP-1", "It smokes.");
    block_on(rig.node.exalate(&rig.conn.id, &lit::key("SUP-1"))).unwrap();
    let dev = rig.issue("DEV-1");
    assert_eq!(dev.description.to_plain_text(), "It smokes.");
    assert!(links(&rig.tracker, &dev.id).is_empty());
}

fn strict(rig: &JiraRig) -> StrictValidator {
    let validator = StrictValidator::load();
    rig.site
        .emulator()
        .set_strict_requests(Some(Arc::new(validator.clone())));
    validator
}

fn no_violations(rig: &JiraRig) {
    let violations = rig.site.emulator().violations();
    assert!(
        violations.is_empty(),
        "requests Jira would refuse:\n{}",
        violations
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn over_http_a_twin_links_to_its_original_on_cloud_and_data_center() {
    for flavor in [JiraFlavor::Cloud, JiraFlavor::DataCenter] {
        let rig = JiraRig::new(flavor);
        let _validator = strict(&rig);
        let sup = rig.user().create("SUP", "Bug", "Printer on fire");
        let twin = rig
            .block_on(rig.node.exalate(&rig.conn.id, &sup.key))
            .unwrap();
        let dev = twin.twin.expect("a twin");
        let read = rig.block_on(rig.tracker.remote_links(&dev.id)).unwrap();
        assert_eq!(read.len(), 1, "{flavor:?}: {read:?}");
        assert!(
            read[0].url.ends_with("/browse/SUP-1") && read[0].title == "SUP-1",
            "{flavor:?}: {read:?}"
        );
        assert_eq!(
            rig.calls().count("POST", "/remotelink"),
            1,
            "{flavor:?}: {}",
            rig.calls()
        );
        rig.advance(70);
        rig.user()
            .edit_summary(&sup.key, "Printer on fire, floor 3");
        rig.sync();
        rig.advance(70);
        rig.reset_calls();
        rig.sync();
        assert_eq!(rig.calls().writes(), 0, "{flavor:?}: {}", rig.calls());
        assert_eq!(
            rig.block_on(rig.tracker.remote_links(&dev.id))
                .unwrap()
                .len(),
            1
        );
        no_violations(&rig);
    }
}

#[test]
fn over_http_a_tracker_without_remote_links_gets_the_description_line_instead() {
    for flavor in [JiraFlavor::Cloud, JiraFlavor::DataCenter] {
        let rig = JiraRig::with_adapter(flavor, |site| {
            let adapter = site.adapter();
            let mut without = adapter.capabilities();
            without.remote_links = false;
            Arc::new(LimitedTracker::new(adapter, without))
        });
        let _validator = strict(&rig);
        let sup = rig.user().create("SUP", "Bug", "Printer on fire");
        rig.user().update(
            &sup.key,
            IssueUpdate {
                description: Some(common::rich_text()),
                ..IssueUpdate::default()
            },
        );
        let twin = rig
            .block_on(rig.node.exalate(&rig.conn.id, &sup.key))
            .unwrap();
        let dev = twin.twin.expect("a twin");
        let shown = rig.issue(dev.key.as_str()).description.to_plain_text();
        // (Data Center carries the mention as a name-less account link.)
        assert!(
            shown.starts_with("Synced from SUP-1 on http")
                && shown.matches("Synced from").count() == 1
                && shown.contains("\nSteps\nOpen the tray, see the docs\n"),
            "{flavor:?}: {shown:?}"
        );
        assert!(
            block_on(rig.site.contents().remote_links(&dev.id))
                .unwrap()
                .is_empty()
        );
        // Quiet from here; the original never gets the line.
        for _ in 0..2 {
            rig.advance(70);
            rig.reset_calls();
            rig.sync();
            assert_eq!(rig.calls().writes(), 0, "{flavor:?}: {}", rig.calls());
        }
        // An edit of the original keeps the twin's line.
        rig.user().update(
            &sup.key,
            IssueUpdate {
                description: Some(RichText::plain("Fixed.")),
                ..IssueUpdate::default()
            },
        );
        rig.advance(70);
        rig.sync();
        let shown = rig.issue(dev.key.as_str()).description.to_plain_text();
        assert!(
            shown.starts_with("Synced from SUP-1 on ") && shown.ends_with("\nFixed."),
            "{flavor:?}: {shown:?}"
        );
        assert_eq!(
            rig.issue(sup.key.as_str()).description.to_plain_text(),
            "Fixed."
        );
        rig.advance(70);
        rig.reset_calls();
        rig.sync();
        assert_eq!(rig.calls().writes(), 0, "{flavor:?}: {}", rig.calls());
        no_violations(&rig);
    }
}
