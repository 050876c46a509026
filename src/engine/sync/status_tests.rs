//! A support project with free statuses synced with a development project
//! whose workflow has six statuses, the last transition requiring a
//! resolution: statuses walk the shortest path, required fields come from
//! the rules, and a refused transition is recorded on the twin while the
//! rest of the sync applies.

use crate::model::{FieldKind, FieldMeta, Transition, Workflow};
use crate::rules::RuleSpec;
use crate::testkit::block_on;
use crate::testkit::ids as lit;
use crate::testkit::rig::LocalRig;
use crate::tracker::{IssueUpdate, NewIssue, Tracker};

fn dev_workflow() -> Workflow {
    crate::testkit::development_workflow().named("Development")
}

fn spec() -> RuleSpec {
    RuleSpec::default()
        .map_status("To Do", "Backlog")
        .map_status("In Progress", "In Progress")
        .map_status("Done", "Done")
        .map_status("Backlog", "To Do")
        .map_status("Selected", "To Do")
        .map_status("In Review", "In Progress")
        .map_status("QA", "In Progress")
}

fn rig() -> LocalRig {
    let mut rig = LocalRig::new();
    rig.tracker
        .set_workflow("DEV", None, dev_workflow())
        .unwrap();
    rig.restart();
    block_on(rig.admin().upgrade_to_custom(&rig.conn.id)).unwrap();
    publish(&rig, spec());
    rig
}

fn publish(rig: &LocalRig, spec: RuleSpec) {
    block_on(rig.admin().save_rule_draft(&rig.conn.id, spec)).unwrap();
    block_on(rig.admin().publish_rules(&rig.conn.id)).unwrap();
}

/// A new Bug in SUP, "Printer on fire".
fn bug(rig: &LocalRig) -> crate::tracker::CreatedIssue {
    block_on(rig.human.create_issue(&NewIssue::new(
        lit::project("SUP"),
        "Bug",
        "Printer on fire",
    )))
    .unwrap()
}

fn errors(rig: &LocalRig) -> Vec<crate::store::TwinError> {
    rig.node.status(&rig.conn.id).unwrap().errors
}

#[test]
fn statuses_walk_the_shortest_path_and_required_fields_come_from_the_rules() {
    let rig = rig();
    let sup = bug(&rig);
    rig.user()
        .update(sup.key.as_str(), IssueUpdate::new().status("In Progress"));
    block_on(rig.node.exalate(&rig.conn.id, &sup.key)).unwrap();
    let dev = rig.issues("DEV");
    assert_eq!(dev.len(), 1);
    assert_eq!(
        dev[0].status, "In Progress",
        "created, then Select and Start"
    );
    assert!(errors(&rig).is_empty());

    // Done needs Review, then Close with a resolution no rule gives.
    rig.user()
        .update(sup.key.as_str(), IssueUpdate::new().status("Done"));
    rig.advance(5);
    rig.sync();
    let dev_key = dev[0].key.as_str();
    assert_eq!(
        rig.issue(dev_key).status,
        "In Review",
        "as far as it could go"
    );
    let errs = errors(&rig);
    assert_eq!(errs.len(), 1, "{errs:?}");
    let refusal = &errs[0].transitions[0];
    assert_eq!(
        (
            refusal.transition.as_str(),
            refusal.status.as_str(),
            refusal.reached.as_str()
        ),
        ("Close", "Done", "In Review")
    );
    assert!(refusal.message.contains("Resolution"), "{refusal}");
    assert!(errs[0].message.contains("Close"), "{}", errs[0].message);
    assert_eq!(
        rig.issue(sup.key.as_str()).status,
        "Done",
        "nothing went back"
    );
    // Quiet cycles leave the refusal be.
    rig.advance(5);
    rig.sync();
    assert_eq!(rig.issue(dev_key).status, "In Review");
    assert_eq!(rig.issue(sup.key.as_str()).status, "Done");

    // Rules giving the resolution: the next sync closes it.
    publish(&rig, spec().transition_field("Resolution", "Fixed"));
    rig.advance(5);
    rig.sync();
    assert_eq!(rig.issue(dev_key).status, "Done");
    assert!(errors(&rig).is_empty(), "{:?}", errors(&rig));

    // Back to To Do: one global transition.
    rig.user()
        .update(sup.key.as_str(), IssueUpdate::new().status("To Do"));
    rig.advance(5);
    rig.sync();
    assert_eq!(rig.issue(dev_key).status, "Backlog");

    // A development move travels back through the map.
    rig.user()
        .update(dev_key, IssueUpdate::new().status("Selected"));
    rig.advance(5);
    rig.sync();
    assert_eq!(rig.issue(sup.key.as_str()).status, "To Do");
    assert!(errors(&rig).is_empty(), "{:?}", errors(&rig));
}

#[test]
fn a_refused_transition_is_recorded_and_the_rest_applies() {
    let rig = rig();
    publish(&rig, spec().transition_field("resolution", "Fixed"));
    let sup = bug(&rig);
    block_on(rig.node.exalate(&rig.conn.id, &sup.key)).unwrap();
    let dev_key = rig.issues("DEV")[0].key.clone();
    // The new issue's status travels back: Backlog is To Do there.
    rig.advance(5);
    rig.sync();
    assert_eq!(rig.issue(sup.key.as_str()).status, "To Do");
    rig.tracker
        .refuse_transition("DEV", "11", Some("Only the lead selects work"))
        .unwrap();

    rig.user().update(
        sup.key.as_str(),
        IssueUpdate::new()
            .summary("Printer on fire, twice")
            .status("In Progress"),
    );
    rig.advance(5);
    rig.sync();
    let dev = rig.issue(dev_key.as_str());
    assert_eq!(dev.summary, "Printer on fire, twice", "the rest applied");
    assert_eq!(dev.status, "Backlog");
    let errs = errors(&rig);
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].kind, crate::ErrorKind::Refused);
    assert!(
        errs[0].message.contains("Select") && errs[0].message.contains("Only the lead"),
        "{}",
        errs[0].message
    );

    // Once allowed, the next change carries the status too.
    rig.tracker.refuse_transition("DEV", "11", None).unwrap();
    rig.user().update(
        sup.key.as_str(),
        IssueUpdate::new().summary("Printer fixed?"),
    );
    rig.advance(5);
    rig.sync();
    let dev = rig.issue(dev_key.as_str());
    assert_eq!(
        (dev.summary.as_str(), dev.status.as_str()),
        ("Printer fixed?", "In Progress")
    );
    assert!(errors(&rig).is_empty(), "{:?}", errors(&rig));
}

#[test]
fn a_status_the_workflow_lacks_is_named() {
    let rig = rig();
    publish(&rig, spec().map_status("Waiting", "On Hold"));
    let sup = bug(&rig);
    block_on(rig.node.exalate(&rig.conn.id, &sup.key)).unwrap();
    rig.user()
        .update(sup.key.as_str(), IssueUpdate::new().status("Waiting"));
    rig.advance(5);
    rig.sync();
    let errs = errors(&rig);
    assert_eq!(errs.len(), 1);
    assert!(
        errs[0].message.contains("\"On Hold\"") && errs[0].message.contains("Backlog, Selected"),
        "{}",
        errs[0].message
    );
    assert_eq!(rig.issues("DEV")[0].status, "Backlog");
}

#[test]
fn a_mapped_field_fills_the_transition_that_requires_it() {
    use crate::model::CustomValue;
    use crate::rules::{FieldRule, FieldSide};

    const FIX: &str = "customfield_10040";
    const NOTE: &str = "customfield_20040";
    let mut rig = LocalRig::new();
    rig.tracker
        .add_field("SUP", FieldMeta::new(FIX, "Fix", FieldKind::Text))
        .unwrap();
    rig.tracker
        .add_field("DEV", FieldMeta::new(NOTE, "Release note", FieldKind::Text))
        .unwrap();
    rig.tracker
        .set_workflow(
            "DEV",
            None,
            Workflow::new("Backlog").with(
                Transition::new("51", "Close", "Done")
                    .field(FieldMeta::new(NOTE, "Release note", FieldKind::Text).required()),
            ),
        )
        .unwrap();
    rig.restart();
    block_on(rig.admin().upgrade_to_custom(&rig.conn.id)).unwrap();
    publish(
        &rig,
        spec().with_field(
            FieldRule::new("fix")
                .side("SUP", FieldSide::new("Fix"))
                .side("DEV", FieldSide::new("Release note")),
        ),
    );
    let sup = bug(&rig);
    block_on(rig.node.exalate(&rig.conn.id, &sup.key)).unwrap();
    rig.advance(5);
    rig.sync();
    let dev_key = rig.issues("DEV")[0].key.clone();

    rig.user().update(
        sup.key.as_str(),
        IssueUpdate::new()
            .custom(FIX, Some(CustomValue::Text("New toner".into())))
            .status("Done"),
    );
    rig.advance(5);
    rig.sync();
    let dev = rig.issue(dev_key.as_str());
    assert_eq!(dev.status, "Done", "{:?}", errors(&rig));
    assert_eq!(
        dev.fields.custom.get(NOTE),
        Some(&CustomValue::Text("New toner".into()))
    );
    assert!(errors(&rig).is_empty());
}

#[test]
fn a_status_no_workflow_has_is_refused_when_publishing() {
    let rig = rig();
    rig.tracker
        .set_workflow(
            "SUP",
            None,
            Workflow::new("To Do")
                .with(Transition::new("1", "Start", "In Progress"))
                .with(Transition::new("2", "Finish", "Done")),
        )
        .unwrap();
    publish(&rig, spec());
    let draft = spec().map_status("Waiting", "On Hold");
    let err = block_on(rig.admin().save_rule_draft(&rig.conn.id, draft)).unwrap_err();
    assert_eq!(err.kind(), crate::ErrorKind::InvalidInput);
    let message = err.message();
    assert!(
        message.contains("\"Waiting\" → \"On Hold\"") && message.contains("In Review"),
        "{message}"
    );
    assert_eq!(
        message.lines().count(),
        1,
        "one line per problem: {message}"
    );
}
