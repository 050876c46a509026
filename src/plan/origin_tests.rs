//! The twin's origin in plans: a link once, a description line that stays.

use super::tests::{bug_projects, t};
use super::*;
use crate::model::RichText;
use crate::rules::{IssueOrigin, OriginTemplate};
use crate::testkit::plan_model::ModelPair;

fn pair(origin: IssueOrigin) -> ModelPair {
    let mut pair = bug_projects();
    let mut rules = RuleSet::custom();
    rules.set_issue_origin(origin).unwrap();
    pair.rules = rules;
    pair.a.create("Bug", "Printer on fire", t(0));
    pair.a.issue.as_mut().unwrap().description = RichText::plain("It smokes.");
    pair
}

fn description(issue: &Option<Issue>) -> String {
    issue.as_ref().unwrap().description.to_plain_text()
}

#[test]
fn basic_links_a_new_twin_to_its_original_once() {
    let mut pair = bug_projects();
    pair.a.create("Bug", "Printer on fire", t(0));
    pair.sync(t(1)).unwrap();
    assert_eq!(pair.b.links.len(), 1, "{:?}", pair.b.links);
    assert_eq!(pair.b.links[0].url, "https://a.example/browse/SUP-1001");
    assert!(pair.a.links.is_empty(), "the original gets no link");
    // Later edits write no link again.
    pair.a.issue.as_mut().unwrap().summary = "Printer still on fire".into();
    pair.a.issue.as_mut().unwrap().updated = t(2);
    let plan = pair.sync_a_to_b(t(3)).unwrap();
    assert_eq!(
        plan.ops.iter().map(Op::name).collect::<Vec<_>>(),
        ["update issue"]
    );
    assert_eq!(pair.sync(t(4)).unwrap(), 0, "converged");
}

#[test]
fn a_twin_whose_link_was_not_recorded_gets_it_again_and_still_one() {
    let mut pair = bug_projects();
    pair.a.create("Bug", "Printer on fire", t(0));
    pair.sync(t(1)).unwrap();
    // A state from before origin links (or one rebuilt from markers).
    pair.state.as_mut().unwrap().local_origin = 0;
    pair.a.issue.as_mut().unwrap().summary = "Printer still on fire".into();
    pair.a.issue.as_mut().unwrap().updated = t(2);
    let plan = pair.sync_a_to_b(t(3)).unwrap();
    assert!(
        plan.ops.iter().any(|op| op.name() == "set origin link"),
        "{plan}"
    );
    assert_eq!(pair.b.links.len(), 1, "replaced, not added");
    assert_eq!(pair.sync(t(4)).unwrap(), 0, "converged");
}

#[test]
fn off_writes_no_link_and_no_line() {
    let mut pair = pair(IssueOrigin::Off);
    pair.sync(t(1)).unwrap();
    assert!(pair.b.links.is_empty());
    assert_eq!(description(&pair.b.issue), "It smokes.");
}

#[test]
fn a_description_line_stays_on_the_twin_through_edits_on_both_sides() {
    let template = OriginTemplate::new("Synced from {key}").unwrap();
    let mut pair = pair(IssueOrigin::DescriptionLine(template));
    let plan = pair.sync_a_to_b(t(1)).unwrap();
    let Some(Op::CreateIssue { header, .. }) = plan.ops.first() else {
        panic!("{plan}");
    };
    assert_eq!(header.as_ref().unwrap().text(), "Synced from SUP-1001");
    assert!(pair.b.links.is_empty());
    assert_eq!(
        description(&pair.b.issue),
        "Synced from SUP-1001\nIt smokes."
    );
    assert_eq!(pair.sync(t(2)).unwrap(), 0, "no echo");
    // An edit of the twin travels without the line.
    let b = pair.b.issue.as_mut().unwrap();
    b.description = RichText::plain("Synced from SUP-1001\nIt smokes a lot.");
    b.updated = t(3);
    pair.sync(t(4)).unwrap();
    assert_eq!(description(&pair.a.issue), "It smokes a lot.");
    // An edit of the original keeps the line.
    let a = pair.a.issue.as_mut().unwrap();
    a.description = RichText::plain("Fixed.");
    a.updated = t(5);
    pair.sync(t(6)).unwrap();
    assert_eq!(description(&pair.b.issue), "Synced from SUP-1001\nFixed.");
    assert_eq!(description(&pair.a.issue), "Fixed.");
    assert_eq!(pair.sync(t(7)).unwrap(), 0, "converged");
    // A user who removes the line loses nothing; the next write adds it back.
    let b = pair.b.issue.as_mut().unwrap();
    b.description = RichText::plain("Fixed.");
    b.updated = t(8);
    assert_eq!(pair.sync(t(9)).unwrap(), 0, "nothing to sync");
    let a = pair.a.issue.as_mut().unwrap();
    a.description = RichText::plain("Fixed again.");
    a.updated = t(10);
    pair.sync(t(11)).unwrap();
    assert_eq!(
        description(&pair.b.issue),
        "Synced from SUP-1001\nFixed again."
    );
    assert_eq!(description(&pair.a.issue), "Fixed again.");
}
