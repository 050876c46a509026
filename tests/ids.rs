//! Ids are checked where they enter twinsync: an empty or malformed project
//! key, issue key or tracker id is refused with a message quoting it, never
//! turned into an issue such as `-1`.

use std::sync::Arc;

use twinsync::clock::ManualClock;
use twinsync::model::{IssueKey, ProjectKey, UserId};
use twinsync::testkit::block_on;
use twinsync::tracker::{NewIssue, Tracker};
use twinsync::{Error, ErrorKind, MemoryTracker};

fn tracker() -> MemoryTracker {
    MemoryTracker::with_clock("https://ids.example", Arc::new(ManualClock::default())).unwrap()
}

fn refused(result: Result<(), Error>) -> String {
    let err = result.expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    err.to_string()
}

#[test]
fn a_project_with_an_empty_or_malformed_key_is_refused() {
    let t = tracker();
    assert_eq!(
        refused(t.add_project("", "Nameless", &["Bug"], None)),
        r#"project key "" is empty"#
    );
    let text = refused(t.add_project("SUP-1", "Support", &["Bug"], None));
    assert!(
        text.starts_with(r#"project key "SUP-1" is not a project key"#),
        "{text}"
    );
    assert_eq!(
        refused(t.add_issue_type("", "Task")),
        r#"project key "" is empty"#
    );
}

#[test]
fn issues_of_a_valid_project_get_valid_keys() {
    let t = tracker();
    t.add_project("SUP", "Support", &["Bug"], None).unwrap();
    let project: ProjectKey = "SUP".parse().unwrap();
    let created =
        block_on(t.create_issue(&NewIssue::new(project, "Bug", "Printer on fire"))).unwrap();
    assert_eq!(created.key.as_str(), "SUP-1");
    assert_eq!(
        created.key.as_str().parse::<IssueKey>().unwrap(),
        created.key
    );
}

#[test]
fn text_from_users_is_parsed_into_ids_or_refused_quoting_it() {
    let err = " SUP-1".parse::<IssueKey>().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(
        err.to_string(),
        r#"issue key " SUP-1" is not a project key, a dash and a number, such as "SUP-1""#
    );
    let err = UserId::try_from(String::new()).unwrap_err();
    assert_eq!(err.to_string(), r#"user id "" is empty"#);
    assert_eq!(UserId::try_from("ada").unwrap().as_str(), "ada");
}
