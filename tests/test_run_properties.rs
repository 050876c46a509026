//! Property: the plan Test Run shows is exactly the plan a sync executes.
//!
//! Random edits on both issues of a twin (summaries, descriptions, issue
//! types, comments added, edited and deleted, attachments), with or without
//! syncs in between; then Test Run of the origin issue, then exalating it,
//! whose first executed plan must equal the preview. `PROPTEST_CASES=N` runs
//! more cases.

use proptest::prelude::*;
use twinsync::model::RichText;
use twinsync::testkit::block_on;
use twinsync::testkit::ids as lit;
use twinsync::testkit::rig::LocalRig;
use twinsync::tracker::{IssueUpdate, Tracker};

#[derive(Clone, Debug)]
enum Edit {
    Summary(bool, u8),
    Description(bool, u8),
    IssueType(bool, u8),
    Comment(bool, u8),
    ChangeComment(bool, u8),
    DeleteComment(bool, u8),
    Attach(bool, u8),
    Sync,
    Wait,
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<bool>(), 0..4u8).prop_map(|(s, n)| Edit::Summary(s, n)),
        (any::<bool>(), 0..3u8).prop_map(|(s, n)| Edit::Description(s, n)),
        (any::<bool>(), 0..4u8).prop_map(|(s, n)| Edit::IssueType(s, n)),
        (any::<bool>(), 0..4u8).prop_map(|(s, n)| Edit::Comment(s, n)),
        (any::<bool>(), 0..4u8).prop_map(|(s, n)| Edit::ChangeComment(s, n)),
        (any::<bool>(), 0..4u8).prop_map(|(s, n)| Edit::DeleteComment(s, n)),
        (any::<bool>(), 0..2u8).prop_map(|(s, n)| Edit::Attach(s, n)),
        Just(Edit::Sync),
        Just(Edit::Wait),
    ]
}

fn apply(rig: &LocalRig, edit: &Edit) {
    let key = |sup: bool| if sup { "SUP-1" } else { "DEV-1" };
    let user = rig.user();
    match edit {
        Edit::Summary(s, n) => user.edit_summary(key(*s), &format!("summary {n}")),
        Edit::Description(s, n) => user.update(
            key(*s),
            IssueUpdate {
                description: Some(RichText::plain(format!("description {n}"))),
                ..IssueUpdate::default()
            },
        ),
        Edit::IssueType(s, n) => {
            let types = ["Bug", "Task", "Epic", "Story"];
            let wanted = types[usize::from(*n) % types.len()];
            let project = if *s { "SUP" } else { "DEV" };
            if (project, wanted) != ("SUP", "Story") && (project, wanted) != ("DEV", "Epic") {
                user.update(
                    key(*s),
                    IssueUpdate {
                        issue_type: Some(wanted.into()),
                        ..IssueUpdate::default()
                    },
                );
            }
        }
        Edit::Comment(s, n) => user.comment(key(*s), &format!("comment {n}")),
        Edit::ChangeComment(s, n) | Edit::DeleteComment(s, n) => {
            let issue = user.issue(key(*s));
            if issue.comments.is_empty() {
                return;
            }
            let c = &issue.comments[usize::from(*n) % issue.comments.len()];
            if matches!(edit, Edit::ChangeComment(..)) {
                let body = RichText::plain(format!("edited {n}"));
                block_on(rig.human.update_comment(&issue.id, &c.id, &body)).expect("edit");
            } else {
                block_on(rig.human.delete_comment(&issue.id, &c.id)).expect("delete");
            }
        }
        Edit::Attach(s, n) => user.attach(key(*s), &format!("file-{n}.txt"), &[*n; 3]),
        Edit::Sync => {
            rig.sync();
        }
        Edit::Wait => rig.advance(30),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(200)
    ))]

    #[test]
    fn test_run_shows_exactly_the_plan_that_executes(
        before in prop::collection::vec(edit(), 0..8),
        after in prop::collection::vec(edit(), 0..8),
        new_twin in any::<bool>(),
    ) {
        let rig = LocalRig::new();
        rig.user().create("SUP", "Epic", "summary 0");
        let sup = lit::key("SUP-1");
        if !new_twin {
            block_on(rig.node.exalate(&rig.conn.id, &sup)).expect("exalate");
            for e in &before {
                rig.advance(5);
                apply(&rig, e);
            }
        }
        for e in after.iter().filter(|e| new_twin_allows(new_twin, e)) {
            rig.advance(5);
            apply(&rig, e);
        }
        rig.advance(5);
        let shown = block_on(rig.node.test_run(&rig.conn.id, std::slice::from_ref(&sup)))
            .expect("test run");
        let shown = shown[0].plan().cloned();
        let done = block_on(rig.node.exalate(&rig.conn.id, &sup)).expect("exalate");
        prop_assert_eq!(shown.as_ref(), done.plans.first(), "{:?}", shown);
    }
}

/// Before the first exalate only SUP-1 exists, and nothing syncs.
fn new_twin_allows(new_twin: bool, edit: &Edit) -> bool {
    if !new_twin {
        return true;
    }
    match edit {
        Edit::Sync => false,
        Edit::Summary(s, _)
        | Edit::Description(s, _)
        | Edit::IssueType(s, _)
        | Edit::Comment(s, _)
        | Edit::ChangeComment(s, _)
        | Edit::DeleteComment(s, _)
        | Edit::Attach(s, _) => *s,
        Edit::Wait => true,
    }
}
