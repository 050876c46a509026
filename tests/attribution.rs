//! Who wrote what: a synced comment starts with a header naming its author and
//! the original issue, which never echoes and never travels back.

use serde_json::json;
use twinsync::engine::{LocalConnectionOptions, RuleSpec};
use twinsync::model::{IssueKey, RichText};
use twinsync::rules::AttributionTemplate;
use twinsync::testkit::block_on;
use twinsync::testkit::ids as lit;
use twinsync::testkit::rig::LocalRig;
use twinsync::testkit::said::{attribution, said};
use twinsync::tracker::memory::OpKind;
use twinsync::tracker::{NewComment, Tracker};

fn key(k: &str) -> IssueKey {
    lit::key(k)
}

/// A user edits comment `index` of issue `k` to `body`.
fn edit_comment(rig: &LocalRig, k: &str, index: usize, body: RichText) {
    let issue = rig.issue(k);
    let c = &issue.comments[index];
    block_on(rig.human.update_comment(&issue.id, &c.id, &body)).unwrap();
}

fn adf(text: &str) -> RichText {
    RichText::adf(json!({"type": "doc", "version": 1, "content": [
        {"type": "paragraph", "content": [{"type": "text", "text": text}]}
    ]}))
    .unwrap()
}

fn exalated() -> LocalRig {
    let rig = LocalRig::new();
    let sup = rig.user().create("SUP", "Bug", "Printer on fire");
    rig.user().comment(&sup.key, "Extinguisher applied.");
    block_on(
        rig.human
            .add_comment(&sup.id, &NewComment::public(adf("Smoke is gone."))),
    )
    .unwrap();
    block_on(rig.node.exalate(&rig.conn.id, &key("SUP-1"))).unwrap();
    rig
}

#[test]
fn a_copied_comment_names_its_author_and_links_the_original_issue() {
    let rig = exalated();
    let text = rig.user().bodies("DEV-1");
    assert_eq!(
        text,
        [
            "Alice commented on SUP-1\nExtinguisher applied.",
            "Alice commented on SUP-1\nSmoke is gone."
        ]
    );
    // In ADF the key links to the original issue.
    let dev = rig.issue("DEV-1");
    let RichText::Adf(doc) = &dev.comments[1].body else {
        panic!(
            "an ADF comment is copied as ADF: {:?}",
            dev.comments[1].body
        );
    };
    assert_eq!(
        doc["content"][0],
        json!({"type": "paragraph", "content": [
            {"type": "text", "text": "Alice commented on "},
            {"type": "text", "text": "SUP-1", "marks": [{"type": "link",
                "attrs": {"href": "https://rig.example/browse/SUP-1"}}]}
        ]})
    );
    // The original has none, and the copies' authors are the integration user.
    assert_eq!(
        rig.user().bodies("SUP-1"),
        ["Extinguisher applied.", "Smoke is gone."]
    );
}

#[test]
fn editing_the_original_updates_the_copy_under_one_header_and_nothing_echoes() {
    let rig = exalated();
    rig.advance(10);
    edit_comment(&rig, "SUP-1", 1, adf("Smoke is back."));
    rig.tracker.reset_calls();
    let report = rig.sync();
    assert_eq!(report.writes, 1, "{report:?}");
    assert_eq!(rig.tracker.calls().get(OpKind::UpdateComment), 1);
    let copy = &rig.issue("DEV-1").comments[1];
    assert_eq!(
        copy.body.to_plain_text(),
        "Alice commented on SUP-1\nSmoke is back."
    );
    // Quiet from here: the header is not a change of the copy.
    for _ in 0..2 {
        rig.advance(10);
        rig.tracker.reset_calls();
        assert_eq!(rig.sync().writes, 0);
        assert_eq!(rig.tracker.calls().writes(), 0);
    }
    assert_eq!(rig.user().bodies("SUP-1")[1], "Smoke is back.");
}

#[test]
fn an_edited_copy_travels_back_without_its_header() {
    let rig = exalated();
    rig.advance(10);
    // Edited below the header, as a user does in Jira.
    let copy = rig.issue("DEV-1").comments[0].clone();
    let header = attribution(&copy).expect("the copy has its header");
    assert_eq!(header, "Alice commented on SUP-1");
    edit_comment(
        &rig,
        "DEV-1",
        0,
        RichText::plain(format!("{header}\nExtinguisher applied twice.")),
    );
    rig.sync();
    assert_eq!(
        rig.user().bodies("SUP-1")[0],
        "Extinguisher applied twice.",
        "the header stays on DEV"
    );
    assert_eq!(
        rig.user().bodies("DEV-1")[0],
        "Alice commented on SUP-1\nExtinguisher applied twice."
    );
    rig.advance(10);
    rig.tracker.reset_calls();
    assert_eq!(rig.sync().writes, 0, "no echo");

    // A user who removes the header loses nothing: the text travels as it is.
    rig.advance(10);
    edit_comment(&rig, "DEV-1", 1, adf("My own words."));
    rig.sync();
    assert_eq!(rig.user().bodies("SUP-1")[1], "My own words.");
    assert_eq!(rig.user().bodies("DEV-1")[1], "My own words.");
    // An edit of the original then keeps the copy headless (as the user left it).
    rig.advance(10);
    edit_comment(&rig, "SUP-1", 1, adf("Their words."));
    rig.sync();
    assert_eq!(rig.user().bodies("DEV-1")[1], "Their words.");
    rig.advance(10);
    assert_eq!(rig.sync().writes, 0);
}

#[test]
fn a_comment_written_on_the_twin_is_attributed_on_the_original() {
    let rig = exalated();
    rig.advance(10);
    rig.user().comment("DEV-1", "On it.");
    rig.sync();
    assert_eq!(
        rig.user().bodies("SUP-1")[2],
        "Alice commented on DEV-1\nOn it."
    );
    assert_eq!(rig.user().said("SUP-1"), rig.user().said("DEV-1"));
    rig.advance(10);
    assert_eq!(rig.sync().writes, 0);
}

#[test]
fn test_run_shows_the_header_the_copy_will_carry() {
    let rig = LocalRig::new();
    let sup = rig.user().create("SUP", "Bug", "Printer on fire");
    rig.user().comment(&sup.key, "Extinguisher applied.");
    let shown = block_on(rig.node.test_run(&rig.conn.id, &[key("SUP-1")])).unwrap();
    let plan = shown[0].plan().expect("a plan").to_string();
    assert!(
        plan.contains(
            "add comment 10002 by Alice: \"Alice commented on SUP-1 ⏎ Extinguisher applied.\""
        ),
        "{plan}"
    );
}

#[test]
fn a_chain_over_two_connections_attributes_each_comment_once() {
    let rig = exalated();
    rig.tracker
        .add_project("OPS", "Operations", &["Bug", "Task"], None)
        .unwrap();
    let options = LocalConnectionOptions::default().name("dev-ops");
    let dev_ops = block_on(rig.admin().create_local_connection("DEV", "OPS", options))
        .unwrap()
        .id;
    rig.user().comment("DEV-1", "Seen on DEV.");
    block_on(rig.node.exalate(&dev_ops, &key("DEV-1"))).unwrap();
    let text = rig.user().bodies("OPS-1");
    assert_eq!(
        text,
        [
            "Alice commented on SUP-1\nExtinguisher applied.",
            "Alice commented on SUP-1\nSmoke is gone.",
            "Alice commented on DEV-1\nSeen on DEV."
        ],
        "copies of copies keep the first header and get no second one"
    );
    // An edit at the start of the chain reaches its end under one header.
    rig.advance(10);
    edit_comment(&rig, "SUP-1", 0, RichText::plain("Extinguisher empty."));
    for _ in 0..2 {
        rig.advance(10);
        rig.sync();
        block_on(rig.node.sync(&dev_ops)).unwrap();
    }
    assert_eq!(
        rig.issue("OPS-1").comments[0].body.to_plain_text(),
        "Alice commented on SUP-1\nExtinguisher empty."
    );
    rig.advance(10);
    rig.tracker.reset_calls();
    rig.sync();
    block_on(rig.node.sync(&dev_ops)).unwrap();
    assert_eq!(rig.tracker.calls().writes(), 0, "{}", rig.tracker.calls());
    assert_eq!(rig.user().said("SUP-1").len(), 3);
}

#[test]
fn a_custom_rule_set_changes_or_turns_off_the_header_and_old_copies_keep_theirs() {
    let rig = exalated();
    let admin = rig.admin();
    block_on(admin.upgrade_to_custom(&rig.conn.id)).unwrap();
    let spec = RuleSpec::default().comment_attribution(Some(
        AttributionTemplate::new("{author} wrote on {key}:").unwrap(),
    ));
    block_on(admin.save_rule_draft(&rig.conn.id, spec)).unwrap();
    block_on(admin.publish_rules(&rig.conn.id)).unwrap();
    rig.advance(10);
    rig.user().comment("SUP-1", "New words.");
    edit_comment(&rig, "SUP-1", 0, RichText::plain("Edited words."));
    rig.sync();
    let dev = rig.user().bodies("DEV-1");
    assert_eq!(
        dev[0], "Alice commented on SUP-1\nEdited words.",
        "the header it was written with"
    );
    assert_eq!(dev[2], "Alice wrote on SUP-1:\nNew words.");

    block_on(admin.save_rule_draft(&rig.conn.id, RuleSpec::default().comment_attribution(None)))
        .unwrap();
    block_on(admin.publish_rules(&rig.conn.id)).unwrap();
    rig.advance(10);
    rig.user().comment("SUP-1", "Plain words.");
    rig.sync();
    assert_eq!(rig.user().bodies("DEV-1")[3], "Plain words.");
    assert_eq!(said(&rig.issue("DEV-1").comments[2]), "New words.");
    rig.advance(10);
    assert_eq!(rig.sync().writes, 0);
}
