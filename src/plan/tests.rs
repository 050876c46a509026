//! Planner behaviour, table by table.

use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use super::*;
use crate::model::{IssueType, UserRef};
use crate::rules::{LabelsRule, StatusMapping};
use crate::testkit::ids as lit;
use crate::testkit::plan_model::ModelPair;

/// A project with issue types `types` (each its name as its id).
pub(super) fn project(key: &str, types: &[&str], default: Option<&str>) -> ProjectInfo {
    ProjectInfo {
        key: lit::project(key),
        name: key.into(),
        issue_types: types
            .iter()
            .map(|n| IssueType {
                id: (*n).into(),
                name: (*n).into(),
            })
            .collect(),
        default_issue_type: default.map(Into::into),
        fields: Vec::new(),
    }
}

/// `minutes` after the tests' start, 1 March 2026 9:00 UTC.
pub(super) fn t(minutes: i64) -> OffsetDateTime {
    datetime!(2026-03-01 9:00 UTC) + Duration::minutes(minutes)
}

/// SUP and DEV, each with one issue type, Bug, and nothing in them yet.
pub(super) fn bug_projects() -> ModelPair {
    ModelPair::new(
        project("SUP", &["Bug"], None),
        project("DEV", &["Bug"], None),
    )
}

fn alice() -> UserRef {
    UserRef::new(lit::user_id("alice"), "Alice")
}

/// A synced pair: SUP-… (A) and its twin in DEV (B).
fn synced() -> ModelPair {
    let mut pair = ModelPair::new(
        project("SUP", &["Bug", "Task", "Epic"], Some("Task")),
        project("DEV", &["Bug", "Task", "Story"], None),
    );
    pair.a.create("Bug", "Printer on fire", t(0));
    pair.sync(t(1)).unwrap();
    pair
}

fn a_issue(pair: &mut ModelPair) -> &mut Issue {
    pair.a.issue.as_mut().unwrap()
}

fn b_issue(pair: &mut ModelPair) -> &mut Issue {
    pair.b.issue.as_mut().unwrap()
}

#[test]
fn a_new_twin_is_one_create_then_comments_in_order_then_attachments() {
    let mut pair = ModelPair::new(
        project("SUP", &["Bug", "Epic"], None),
        project("DEV", &["Bug", "Task"], None),
    );
    pair.a.create("Epic", "Printer on fire", t(0));
    pair.a.add_comment(&alice(), "first", t(1));
    pair.a.add_comment(&alice(), "second", t(2));
    pair.a.add_attachment("photo.png", 1234, t(3));
    let plan = pair.plan_a_to_b().unwrap();
    let names: Vec<_> = plan.ops.iter().map(Op::name).collect();
    assert_eq!(
        names,
        [
            "create issue",
            "set origin link",
            "add comment",
            "add comment",
            "add attachment"
        ]
    );
    let preview = plan.to_string();
    assert!(
        preview.starts_with("SUP-1001 → DEV (new twin)"),
        "{preview}"
    );
    assert!(
        preview.contains("create DEV issue: type \"Task\", summary \"Printer on fire\""),
        "{preview}"
    );
    assert!(
        preview.contains("add comment 1002 by Alice: \"Alice commented on SUP-1001 ⏎ first\""),
        "{preview}"
    );
    assert!(
        preview.contains("note: issue type \"Epic\" is not in DEV; using \"Task\""),
        "{preview}"
    );

    pair.sync_a_to_b(t(4)).unwrap();
    let b = pair.b.issue.clone().unwrap();
    assert_eq!(b.issue_type, "Task");
    let bodies: Vec<_> = b.comments.iter().map(|c| c.body.to_plain_text()).collect();
    assert_eq!(
        bodies,
        [
            "Alice commented on SUP-1001\nfirst",
            "Alice commented on SUP-1001\nsecond"
        ]
    );
    assert_eq!(b.attachments.len(), 1);
}

#[test]
fn the_merge_truth_table() {
    // (remote edit, local edit, expected summary on B, expected writes A→B, conflict?)
    type Case<'a> = (Option<&'a str>, Option<&'a str>, &'a str, usize, bool);
    let cases: &[Case<'_>] = &[
        (None, None, "Printer on fire", 0, false),
        (None, Some("ours"), "ours", 0, false),
        (Some("theirs"), None, "theirs", 1, false),
        (Some("same"), Some("same"), "same", 0, false),
        (Some("theirs"), Some("ours"), "theirs", 1, true), // theirs is newer
    ];
    for (remote, local, want, writes, conflict) in cases {
        let mut pair = synced();
        if let Some(v) = local {
            b_issue(&mut pair).summary = v.to_string();
            b_issue(&mut pair).updated = t(5);
        }
        if let Some(v) = remote {
            a_issue(&mut pair).summary = v.to_string();
            a_issue(&mut pair).updated = t(6);
        }
        let plan = pair.sync_a_to_b(t(7)).unwrap();
        let case = format!("remote {remote:?}, local {local:?}");
        assert_eq!(plan.ops.len(), *writes, "{case}: {plan}");
        assert_eq!(
            plan.conflicts.len(),
            usize::from(*conflict),
            "{case}: {plan}"
        );
        assert_eq!(pair.b.issue.as_ref().unwrap().summary, *want, "{case}");
        // And whatever happened, one more round in both directions makes both equal and quiet.
        pair.sync(t(8)).unwrap();
        assert_eq!(
            pair.sync(t(9)).unwrap(),
            0,
            "{case}: quiet after convergence"
        );
        assert_eq!(
            pair.a.issue.as_ref().unwrap().summary,
            pair.b.issue.as_ref().unwrap().summary,
            "{case}: converged"
        );
    }
}

#[test]
fn the_sync_s_own_writes_do_not_echo() {
    let mut pair = synced();
    a_issue(&mut pair).summary = "edited in SUP".into();
    a_issue(&mut pair).updated = t(5);
    pair.a.add_comment(&alice(), "new comment", t(5));
    let plan = pair.sync_a_to_b(t(6)).unwrap();
    assert_eq!(plan.ops.len(), 2, "edit + new comment = 2 writes: {plan}");
    let back = pair.plan_b_to_a().unwrap().unwrap();
    assert!(back.is_empty() && back.conflicts.is_empty(), "echo: {back}");
}

#[test]
fn concurrent_edits_pick_the_same_winner_on_both_sides() {
    for (a_time, b_time, want) in [(6, 5, "from A"), (5, 6, "from B"), (5, 5, "")] {
        let mut pair = synced();
        a_issue(&mut pair).summary = "from A".into();
        a_issue(&mut pair).updated = t(a_time);
        b_issue(&mut pair).summary = "from B".into();
        b_issue(&mut pair).updated = t(b_time);
        let ab = pair.plan_a_to_b().unwrap();
        // Plan B → A on the same (unsynced) state too: both sides must agree.
        let ba = pair.plan_b_to_a().unwrap().unwrap();
        assert_eq!(ab.conflicts.len(), 1);
        assert_eq!(ba.conflicts.len(), 1);
        assert_ne!(
            ab.conflicts[0].winner, ba.conflicts[0].winner,
            "one side's value wins on both"
        );
        pair.sync(t(7)).unwrap();
        pair.sync(t(8)).unwrap();
        let a = pair.a.issue.as_ref().unwrap().summary.clone();
        let b = pair.b.issue.as_ref().unwrap().summary.clone();
        assert_eq!(a, b, "converged");
        if !want.is_empty() {
            assert_eq!(a, want, "the newer edit wins");
        }
        assert_eq!(pair.sync(t(9)).unwrap(), 0);
    }
}

#[test]
fn a_missing_issue_type_with_no_fallback_plans_nothing() {
    let mut pair = ModelPair::new(
        project("SUP", &["Epic"], None),
        project("DEV", &["Bug"], None),
    );
    pair.a.create("Epic", "Big thing", t(0));
    let err = pair.plan_a_to_b().unwrap_err();
    assert_eq!(err.kind(), crate::ErrorKind::InvalidConfig);
    let text = err.to_string();
    assert!(
        text.contains("\"Epic\"") && text.contains("DEV") && text.contains("available: Bug"),
        "{text}"
    );
}

#[test]
fn comments_edit_and_delete_travel_both_ways() {
    let mut pair = synced();
    let c1 = pair.a.add_comment(&alice(), "one", t(2)).unwrap();
    pair.a.add_comment(&alice(), "two", t(2)).unwrap();
    pair.sync(t(3)).unwrap();
    // Edit on B, delete on A.
    let b = b_issue(&mut pair);
    b.comments[1].body = RichText::plain("two, edited in DEV");
    b.updated = t(4);
    a_issue(&mut pair).comments.retain(|c| c.id != c1);
    pair.sync(t(5)).unwrap();
    let a_bodies: Vec<_> = pair
        .a
        .issue
        .as_ref()
        .unwrap()
        .comments
        .iter()
        .map(|c| c.body.to_plain_text())
        .collect();
    let b_bodies: Vec<_> = pair
        .b
        .issue
        .as_ref()
        .unwrap()
        .comments
        .iter()
        .map(|c| c.body.to_plain_text())
        .collect();
    assert_eq!(a_bodies, ["two, edited in DEV"]);
    assert_eq!(b_bodies, a_bodies);
    assert_eq!(pair.sync(t(6)).unwrap(), 0);
}

#[test]
fn a_comment_made_but_not_recorded_is_adopted_by_its_marker_not_copied_again() {
    let mut pair = synced();
    pair.a.add_comment(&alice(), "only once", t(2));
    let before = pair.state.clone();
    pair.sync_a_to_b(t(3)).unwrap();
    // Crash: the comment exists on B, but the state that records it was lost.
    pair.state = before;
    let plan = pair.plan_a_to_b().unwrap();
    assert!(plan.is_empty(), "adopts the marked comment: {plan}");
    pair.sync(t(4)).unwrap();
    let b = pair.b.issue.as_ref().unwrap();
    assert_eq!(b.comments.len(), 1, "no duplicate comment");
    assert_eq!(
        pair.a.issue.as_ref().unwrap().comments.len(),
        1,
        "nothing echoed back"
    );
}

/// A worker that stalled past its lease sends a copy another worker made
/// already: B holds two copies of A's comment, one linked. Nothing changed
/// on A, yet the next sync deletes the second copy, and B → A does not copy
/// it back.
#[test]
fn a_second_copy_of_a_comment_is_deleted_and_not_copied_back() {
    let mut pair = synced();
    pair.a.add_comment(&alice(), "only once", t(2));
    pair.sync(t(3)).unwrap();
    let b = b_issue(&mut pair);
    let mut second = b.comments[0].clone();
    second.id = lit::comment_id("second");
    b.comments.push(second);
    let back = pair.plan_b_to_a().unwrap().unwrap();
    assert!(
        back.is_empty(),
        "the second copy is not copied back: {back}"
    );
    let plan = pair.plan_a_to_b().unwrap();
    assert_eq!(
        plan.ops,
        [Op::DeleteComment {
            local: lit::comment_id("second"),
            origin: a_issue(&mut pair).comments[0].id.clone(),
        }],
        "A is unchanged, and the second copy goes: {plan}"
    );
    pair.sync(t(4)).unwrap();
    let b = b_issue(&mut pair);
    assert_eq!(b.comments.len(), 1, "one copy left");
    assert_ne!(
        b.comments[0].id,
        lit::comment_id("second"),
        "the first is kept"
    );
    assert_eq!(pair.sync(t(5)).unwrap(), 0, "converged");
}

/// A stalled worker's second copy of a comment whose original is deleted
/// since: it is neither copied back nor kept; both copies go.
#[test]
fn a_second_copy_of_a_deleted_comment_goes_and_is_not_copied_back() {
    let mut pair = synced();
    pair.a.add_comment(&alice(), "c4", t(2));
    pair.sync(t(3)).unwrap();
    let b = b_issue(&mut pair);
    let mut second = b.comments[0].clone();
    second.id = lit::comment_id("second");
    b.comments.push(second);
    a_issue(&mut pair).comments.clear();
    let back = pair.plan_b_to_a().unwrap().unwrap();
    assert!(back.is_empty(), "nothing is copied back: {back}");
    pair.sync(t(4)).unwrap();
    assert!(b_issue(&mut pair).comments.is_empty(), "both copies went");
    assert!(a_issue(&mut pair).comments.is_empty(), "nothing came back");
    assert_eq!(pair.sync(t(5)).unwrap(), 0, "converged");
}

/// Seed 21109 of the simulation with workers: without their links (a lost
/// store), two copies of one comment that is gone (a stalled worker made the
/// second): the first stays, the second goes, and only the first travels.
#[test]
fn unlinked_copies_of_one_gone_comment_keep_the_first() {
    let mut pair = synced();
    pair.a.add_comment(&alice(), "c4", t(2));
    pair.sync(t(3)).unwrap();
    let b = b_issue(&mut pair);
    let first = b.comments[0].id.clone();
    let mut second = b.comments[0].clone();
    second.id = lit::comment_id("second");
    b.comments.push(second);
    a_issue(&mut pair).comments.clear();
    if let Some(state) = pair.state.as_mut() {
        state.comments.clear(); // the links were lost
    }
    let plan = pair.plan_a_to_b().unwrap();
    assert!(
        plan.ops.iter().any(
            |op| matches!(op, Op::DeleteComment { local, .. } if *local == lit::comment_id("second"))
        ),
        "the second copy goes: {plan}"
    );
    pair.sync(t(4)).unwrap();
    let kept: Vec<_> = b_issue(&mut pair)
        .comments
        .iter()
        .map(|c| c.id.clone())
        .collect();
    assert_eq!(kept, [first], "the first copy is kept");
    let bodies: Vec<_> = a_issue(&mut pair)
        .comments
        .iter()
        .map(|c| c.body.to_plain_text())
        .collect();
    assert_eq!(bodies, ["c4"], "the first copy alone travels back");
    pair.sync(t(5)).unwrap();
    assert_eq!(pair.sync(t(6)).unwrap(), 0, "converged");
}

/// Seed 37464 of the simulation: a comment written on B and copied to A is
/// deleted on B and edited on A. A → B copies the edit again (the link to the
/// deleted comment goes), but a crash loses that record: the stored link
/// still ties A's comment to the deleted one. B → A must see by the markers
/// that the new copy on B is A's comment, not copy it back.
#[test]
fn a_copy_made_again_after_a_lost_record_is_linked_not_copied_back() {
    let mut pair = synced();
    let original = pair.b.add_comment(&alice(), "c14", t(2)).unwrap();
    pair.sync(t(3)).unwrap();
    b_issue(&mut pair).comments.retain(|c| c.id != original);
    let a = a_issue(&mut pair);
    a.comments[0].body = RichText::plain("c14.e26");
    a.comments[0].updated = t(4);
    let before = pair.state.clone();
    let plan = pair.sync_a_to_b(t(5)).unwrap();
    assert_eq!(
        plan.ops.iter().map(Op::name).collect::<Vec<_>>(),
        ["add comment"]
    );
    pair.state = before; // the crash: the copy exists, its record does not
    let back = pair.sync_b_to_a(t(6)).unwrap().unwrap();
    assert!(back.is_empty(), "nothing is copied back: {back}");
    pair.sync(t(7)).unwrap();
    for side in [&pair.a, &pair.b] {
        let bodies: Vec<_> = side
            .issue
            .as_ref()
            .unwrap()
            .comments
            .iter()
            .map(|c| c.body.to_plain_text())
            .collect();
        assert_eq!(bodies, ["c14.e26"], "one comment on {}", side.project.key);
    }
    assert_eq!(pair.state.as_ref().unwrap().comments.len(), 1);
    assert_eq!(pair.sync(t(8)).unwrap(), 0, "converged");
}

/// Seed 75696 of the simulation: a sync stops after copying a comment (a crash
/// before its plan finished); then the comment is deleted there, which brings
/// that issue back to the content last applied in full. The half-applied
/// state must not pass for that: the copy is deleted too.
#[test]
fn a_half_applied_plan_is_not_skipped_when_the_issue_returns_to_its_old_content() {
    let mut pair = synced();
    let comment = pair.a.add_comment(&alice(), "c23", t(2)).unwrap();
    pair.a.add_attachment("f.txt", 10, t(2));
    let plan = pair.plan_a_to_b().unwrap();
    let names: Vec<_> = plan.ops.iter().map(Op::name).collect();
    assert_eq!(names, ["add comment", "add attachment"]);
    let mut state = pair.state.clone().unwrap();
    pair.b.execute_prefix(&plan, &mut state, t(3), 1);
    pair.state = Some(state);
    let a = a_issue(&mut pair);
    a.comments.retain(|c| c.id != comment);
    a.attachments.clear();
    pair.sync(t(4)).unwrap();
    let b = pair.b.issue.as_ref().unwrap();
    assert!(
        b.comments.is_empty(),
        "the copy is deleted: {:?}",
        b.comments
    );
    assert!(b.attachments.is_empty());
    assert_eq!(pair.sync(t(5)).unwrap(), 0, "converged");
}

#[test]
fn mass_deletions_are_refused_and_reported() {
    let mut pair = synced();
    for i in 0..6 {
        pair.a.add_comment(&alice(), &format!("c{i}"), t(2));
    }
    pair.sync(t(3)).unwrap();
    a_issue(&mut pair).comments.truncate(2); // 4 of 6 deleted
    let plan = pair.sync_a_to_b(t(4)).unwrap();
    assert!(plan.is_empty(), "{plan}");
    assert_eq!(
        plan.refusals,
        [Refusal {
            items: "comments",
            would_delete: 4,
            synced: 6
        }]
    );
    assert!(
        plan.to_string()
            .contains("refused: would delete 4 of 6 synced comments"),
        "{plan}"
    );
    assert_eq!(
        pair.b.issue.as_ref().unwrap().comments.len(),
        6,
        "nothing deleted"
    );
    // Still refused next time (the replica was not marked applied) …
    assert_eq!(pair.plan_a_to_b().unwrap().refusals.len(), 1);
    // … until a user confirms.
    pair.options.allow_mass_deletion = true;
    pair.sync_a_to_b(t(5)).unwrap();
    assert_eq!(pair.b.issue.as_ref().unwrap().comments.len(), 2);
    // Two of two may go without confirmation (fewer than three items).
    pair.options.allow_mass_deletion = false;
    a_issue(&mut pair).comments.clear();
    pair.sync_a_to_b(t(6)).unwrap();
    assert!(pair.b.issue.as_ref().unwrap().comments.is_empty());
}

#[test]
fn attachments_are_added_linked_by_name_and_size_and_deleted() {
    let mut pair = synced();
    pair.a.add_attachment("log.txt", 10, t(2));
    pair.b.add_attachment("same.bin", 99, t(2));
    pair.a.add_attachment("same.bin", 99, t(2));
    let plan = pair.sync_a_to_b(t(3)).unwrap();
    assert_eq!(
        plan.ops.len(),
        1,
        "same.bin exists on both sides: linked, not copied: {plan}"
    );
    pair.sync(t(4)).unwrap();
    assert_eq!(pair.a.issue.as_ref().unwrap().attachments.len(), 2);
    assert_eq!(pair.b.issue.as_ref().unwrap().attachments.len(), 2);
    b_issue(&mut pair)
        .attachments
        .retain(|a| a.file_name != "log.txt");
    pair.sync(t(5)).unwrap();
    assert_eq!(pair.a.issue.as_ref().unwrap().attachments.len(), 1);
    assert_eq!(pair.sync(t(6)).unwrap(), 0);
}

#[test]
fn custom_rules_map_status_and_sync_labels() {
    let mut pair = synced();
    let mut rules = crate::rules::RuleSet::custom();
    rules
        .add(StatusMapping::new([("In Progress", "Doing")]))
        .unwrap();
    rules.add(LabelsRule).unwrap();
    pair.rules = rules;
    a_issue(&mut pair).status = "In Progress".into();
    a_issue(&mut pair).labels = vec!["escalated".into()];
    a_issue(&mut pair).updated = t(2);
    pair.sync(t(3)).unwrap();
    let b = pair.b.issue.clone().unwrap();
    assert_eq!(b.status, "Doing");
    assert_eq!(b.labels, ["escalated"]);
    // An unmapped status leaves ours unchanged.
    a_issue(&mut pair).status = "Waiting".into();
    a_issue(&mut pair).updated = t(4);
    pair.sync(t(5)).unwrap();
    assert_eq!(pair.b.issue.as_ref().unwrap().status, "Doing");
    assert_eq!(pair.sync(t(6)).unwrap(), 0);
}

#[test]
fn the_basic_rule_set_cannot_be_changed() {
    let mut rules = crate::rules::RuleSet::basic();
    let err = rules.add(LabelsRule).unwrap_err();
    assert_eq!(err.kind(), crate::ErrorKind::Unsupported);
    assert!(
        err.to_string()
            .contains("upgrade the connection to a custom rule set"),
        "{err}"
    );
    assert!(rules.set_comments(false).is_err());
    assert!(rules.remove("summary").is_err());
}

#[test]
fn twin_state_size_per_twin() {
    let mut pair = synced();
    let empty = pair.state.clone().unwrap();
    for i in 0..10 {
        pair.a.add_comment(&alice(), &format!("comment {i}"), t(2));
    }
    pair.sync(t(3)).unwrap();
    let ten = pair.state.clone().unwrap();
    let (e, t10) = (empty.to_bytes().len(), ten.to_bytes().len());
    let per_comment = (t10 - e) / 10;
    println!(
        "twin state: {e} bytes with 0 comments, {t10} bytes with 10 comments ({per_comment} per comment)"
    );
    assert!(e <= 300, "state without comments is {e} bytes");
    assert!(
        per_comment <= 64,
        "a comment mapping is {per_comment} bytes"
    );
    assert_eq!(TwinState::from_bytes(&ten.to_bytes()).unwrap(), ten);
    assert_eq!(
        TwinState::from_bytes(b"\xff\xff").unwrap_err().kind(),
        crate::ErrorKind::Storage
    );
}
