use futures::executor::block_on;

use super::*;
use crate::model::UserRef;
use crate::testkit::ids as lit;
use crate::tracker::MemoryTracker;
use crate::tracker::memory::OpKind;

#[derive(Clone, Copy, Debug)]
enum G {
    /// No group.
    Absent,
    /// The group exists, empty.
    Empty,
    /// The group lists the user (and somebody else).
    In,
    /// The group lists somebody else only.
    Out,
}

#[derive(Clone, Copy, Debug)]
enum Want {
    Allow(Grant),
    /// Denied, with this phrase in the message.
    Deny(&'static str),
}

use G::{Absent, Empty, In, Out};
use Grant::{GlobalAdmin, GroupMember, ProjectAdmin};
use Want::{Allow, Deny};

const OFF: &str = "only global admins may";
const NOT_ADMIN: &str = "neither a global admin nor an admin of project DEV";
const EMPTY: &str = "exists and is empty, so no project admin may";
const NOT_MEMBER: &str = "not a member of group";

/// Every combination: (toggle on, global admin, admin of DEV, group, outcome).
const TABLE: [(bool, bool, bool, G, Want); 32] = [
    // Toggle off: global admins only.
    (false, true, true, Absent, Allow(GlobalAdmin)),
    (false, true, true, Empty, Allow(GlobalAdmin)),
    (false, true, true, In, Allow(GlobalAdmin)),
    (false, true, true, Out, Allow(GlobalAdmin)),
    (false, true, false, Absent, Allow(GlobalAdmin)),
    (false, true, false, Empty, Allow(GlobalAdmin)),
    (false, true, false, In, Allow(GlobalAdmin)),
    (false, true, false, Out, Allow(GlobalAdmin)),
    (false, false, true, Absent, Deny(OFF)),
    (false, false, true, Empty, Deny(OFF)),
    (false, false, true, In, Deny(OFF)),
    (false, false, true, Out, Deny(OFF)),
    (false, false, false, Absent, Deny(OFF)),
    (false, false, false, Empty, Deny(OFF)),
    (false, false, false, In, Deny(OFF)),
    (false, false, false, Out, Deny(OFF)),
    // Toggle on: global admins always may.
    (true, true, true, Absent, Allow(GlobalAdmin)),
    (true, true, true, Empty, Allow(GlobalAdmin)),
    (true, true, true, In, Allow(GlobalAdmin)),
    (true, true, true, Out, Allow(GlobalAdmin)),
    (true, true, false, Absent, Allow(GlobalAdmin)),
    (true, true, false, Empty, Allow(GlobalAdmin)),
    (true, true, false, In, Allow(GlobalAdmin)),
    (true, true, false, Out, Allow(GlobalAdmin)),
    // Toggle on: project admins as the group says.
    (true, false, true, Absent, Allow(ProjectAdmin)),
    (true, false, true, Empty, Deny(EMPTY)),
    (true, false, true, In, Allow(GroupMember)),
    (true, false, true, Out, Deny(NOT_MEMBER)),
    // Toggle on: non-admins never, even in the group.
    (true, false, false, Absent, Deny(NOT_ADMIN)),
    (true, false, false, Empty, Deny(NOT_ADMIN)),
    (true, false, false, In, Deny(NOT_ADMIN)),
    (true, false, false, Out, Deny(NOT_ADMIN)),
];

fn policy(enabled: bool) -> ProjectLevelPolicy {
    ProjectLevelPolicy {
        enabled,
        ..ProjectLevelPolicy::default()
    }
}

fn assert_outcome(row: usize, got: Result<Grant>, want: Want) {
    match (got, want) {
        (Ok(grant), Allow(expected)) => assert_eq!(grant, expected, "row {row}"),
        (Err(err), Deny(phrase)) => {
            assert_eq!(err.kind(), ErrorKind::PermissionDenied, "row {row}: {err}");
            let text = err.to_string();
            assert!(text.contains(phrase), "row {row}: {text}");
            assert!(
                text.starts_with("user ann may not set up connections for project DEV: "),
                "row {row}: {text}"
            );
        }
        (got, want) => panic!("row {row}: got {got:?}, want {want:?}"),
    }
}

#[test]
fn the_pure_decision_follows_the_table() {
    let (ann, dev) = (lit::user_id("ann"), lit::project("DEV"));
    for (row, (on, global_admin, project_admin, group, want)) in TABLE.into_iter().enumerate() {
        let facts = PermissionFacts {
            global_admin,
            project_admin,
            group: Some(match group {
                Absent => GroupState::Absent,
                Empty => GroupState::Empty,
                In => GroupState::Members {
                    includes_user: true,
                },
                Out => GroupState::Members {
                    includes_user: false,
                },
            }),
        };
        assert_outcome(row, policy(on).decide(&facts, &ann, &dev), want);
    }
}

fn tracker_for(global_admin: bool, project_admin: bool, group: G) -> MemoryTracker {
    let tracker = MemoryTracker::new("https://acme.example").unwrap();
    tracker
        .add_project("DEV", "Development", &["Task"], None)
        .unwrap();
    let (ann, bob) = (lit::user_id("ann"), lit::user_id("bob"));
    tracker.set_global_admin(&ann, global_admin);
    tracker.set_project_admin(&lit::project("DEV"), &ann, project_admin);
    match group {
        Absent => tracker.remove_group(DEFAULT_PROJECT_LEVEL_GROUP),
        Empty => tracker.set_group(DEFAULT_PROJECT_LEVEL_GROUP, &[]),
        In => tracker.set_group(DEFAULT_PROJECT_LEVEL_GROUP, &[bob, ann]),
        Out => tracker.set_group(DEFAULT_PROJECT_LEVEL_GROUP, &[bob]),
    }
    tracker.as_user(UserRef::new(lit::user_id("ann"), "Ann"))
}

#[test]
fn the_tracker_check_follows_the_table() {
    let (ann, dev) = (lit::user_id("ann"), lit::project("DEV"));
    for (row, (on, global_admin, project_admin, group, want)) in TABLE.into_iter().enumerate() {
        let tracker = tracker_for(global_admin, project_admin, group);
        let got = block_on(policy(on).check(&tracker, &ann, &dev));
        assert_outcome(row, got, want);
    }
}

#[test]
fn the_group_is_looked_up_only_when_it_decides() {
    let (ann, dev) = (lit::user_id("ann"), lit::project("DEV"));
    let tracker = tracker_for(true, true, Empty);
    block_on(policy(true).check(&tracker, &ann, &dev)).unwrap();
    assert_eq!(tracker.calls().get(OpKind::User), 2);

    let tracker = tracker_for(false, true, In);
    block_on(policy(true).check(&tracker, &ann, &dev)).unwrap();
    assert_eq!(tracker.calls().get(OpKind::User), 3);
}

#[test]
fn the_group_name_is_configurable_and_documented() {
    assert_eq!(
        ProjectLevelPolicy::default(),
        ProjectLevelPolicy {
            enabled: false,
            group: "twinsync-project-level-administrators".to_owned(),
        }
    );
    let (ann, dev) = (lit::user_id("ann"), lit::project("DEV"));
    // The default group is empty, but the configured one does not exist.
    let tracker = tracker_for(false, true, Empty);
    let custom = ProjectLevelPolicy {
        enabled: true,
        group: "sync-admins".to_owned(),
    };
    assert_eq!(
        block_on(custom.check(&tracker, &ann, &dev)).unwrap(),
        Grant::ProjectAdmin
    );
    tracker.set_group("sync-admins", &[lit::user_id("bob")]);
    let err = block_on(custom.check(&tracker, &ann, &dev)).unwrap_err();
    assert!(err.to_string().contains("group \"sync-admins\""), "{err}");
}

#[test]
fn a_missing_project_is_not_found_even_for_global_admins() {
    let tracker = tracker_for(true, false, Absent);
    let err = block_on(policy(true).check(&tracker, &lit::user_id("ann"), &lit::project("NOPE")))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(err.context_value("project"), Some("NOPE"));
}

#[test]
fn a_blank_group_name_is_a_configuration_error() {
    let tracker = tracker_for(false, true, Absent);
    let blank = ProjectLevelPolicy {
        enabled: true,
        group: " ".to_owned(),
    };
    let err =
        block_on(blank.check(&tracker, &lit::user_id("ann"), &lit::project("DEV"))).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidConfig);
}

#[test]
fn deciding_without_a_needed_group_is_an_error_not_a_grant() {
    let facts = PermissionFacts {
        global_admin: false,
        project_admin: true,
        group: None,
    };
    let err = policy(true)
        .decide(&facts, &lit::user_id("ann"), &lit::project("DEV"))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unexpected);
}

#[test]
fn policy_serializes_with_defaults() {
    let policy: ProjectLevelPolicy = serde_json::from_str(r#"{"enabled":true}"#).unwrap();
    assert!(policy.enabled);
    assert_eq!(policy.group, DEFAULT_PROJECT_LEVEL_GROUP);
}
