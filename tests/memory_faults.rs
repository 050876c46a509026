//! Every fault the in-memory tracker can inject behaves as documented.

use std::sync::Arc;
use std::time::Duration;

use twinsync::clock::{Clock, ManualClock};
use twinsync::model::{ProjectKey, UserRef};
use twinsync::testkit::ids as lit;
use twinsync::testkit::{block_on, setup_memory_tracker};
use twinsync::tracker::memory::{Fault, FaultTarget, OpKind, RandomFaults};
use twinsync::tracker::{IssueUpdate, NewComment, NewIssue, Page, Tracker};
use twinsync::{ErrorKind, MemoryTracker};

fn tracker() -> (MemoryTracker, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::default());
    let tracker = MemoryTracker::with_clock("https://faults.example", clock.clone()).unwrap();
    setup_memory_tracker(&tracker);
    (tracker, clock)
}

fn sup() -> ProjectKey {
    lit::project("SUP")
}

fn count(tracker: &MemoryTracker) -> usize {
    tracker.inspect_issues(&sup()).len()
}

#[test]
fn fail_before_applying_writes_nothing() {
    let (t, _) = tracker();
    t.inject(
        OpKind::CreateIssue,
        Fault::Fail(ErrorKind::PermissionDenied),
    );
    let err =
        block_on(t.create_issue(&NewIssue::new(lit::project("SUP"), "Bug", "x"))).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    assert!(!err.is_temporary());
    assert_eq!(count(&t), 0);
    // The fault fired once; the next call goes through.
    block_on(t.create_issue(&NewIssue::new(lit::project("SUP"), "Bug", "x"))).unwrap();
    assert_eq!(count(&t), 1);
}

#[test]
fn lost_response_applies_the_write_but_reports_a_timeout() {
    let (t, _) = tracker();
    t.inject(OpKind::CreateIssue, Fault::LoseResponse);
    let err =
        block_on(t.create_issue(&NewIssue::new(lit::project("SUP"), "Bug", "lost"))).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert!(err.is_temporary() && err.may_have_applied());
    let issues = t.inspect_issues(&sup());
    assert_eq!(
        issues.len(),
        1,
        "the create happened although the answer was lost"
    );
    assert_eq!(issues[0].summary, "lost");

    t.inject(OpKind::AddComment, Fault::LoseResponse);
    let err = block_on(t.add_comment(&issues[0].id, &NewComment::public("c"))).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert_eq!(t.inspect_issues(&sup())[0].comments.len(), 1);
}

#[test]
fn rate_limit_carries_retry_after_and_applies_nothing() {
    let (t, _) = tracker();
    t.inject(
        FaultTarget::AnyWrite,
        Fault::RateLimited(Duration::from_secs(7)),
    );
    let err =
        block_on(t.create_issue(&NewIssue::new(lit::project("SUP"), "Bug", "x"))).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
    assert!(err.is_temporary() && !err.may_have_applied());
    assert_eq!(count(&t), 0);
}

#[test]
fn server_error_is_temporary_and_applies_nothing() {
    let (t, _) = tracker();
    let created =
        block_on(t.create_issue(&NewIssue::new(lit::project("SUP"), "Bug", "before"))).unwrap();
    t.inject(OpKind::UpdateIssue, Fault::ServerError);
    let update = IssueUpdate {
        summary: Some("after".into()),
        ..IssueUpdate::default()
    };
    let err = block_on(t.update_issue(&created.id, &update)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert!(err.is_temporary());
    assert_eq!(t.inspect_issues(&sup())[0].summary, "before");
}

#[test]
fn outage_fails_every_call_until_the_clock_passes_it() {
    let (t, clock) = tracker();
    t.outage(
        clock.now() + Duration::from_secs(3600),
        Fault::RateLimited(Duration::from_secs(60)),
    );
    for _ in 0..3 {
        let err = block_on(t.project(&sup())).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::RateLimited);
    }
    clock.advance(Duration::from_secs(3600));
    block_on(t.project(&sup())).unwrap();
}

#[test]
fn random_faults_replay_exactly_from_a_seed() {
    let run = |seed| {
        let (t, _) = tracker();
        t.random_faults(Some(RandomFaults {
            seed,
            probability: 0.5,
            faults: vec![Fault::ServerError, Fault::LoseResponse],
        }));
        let outcomes: Vec<_> = (0..40)
            .map(|i| {
                block_on(t.create_issue(&NewIssue::new(lit::project("SUP"), "Bug", format!("{i}"))))
                    .map(|c| c.key.to_string())
                    .map_err(|e| e.kind())
            })
            .collect();
        (outcomes, count(&t))
    };
    let (a, created_a) = run(11);
    assert_eq!(run(11), (a.clone(), created_a));
    assert!(a.iter().any(Result::is_err) && a.iter().any(Result::is_ok));
    let failed_lost = a.iter().filter(|r| r == &&Err(ErrorKind::Timeout)).count();
    let ok = a.iter().filter(|r| r.is_ok()).count();
    assert_eq!(created_a, ok + failed_lost, "lost answers still create");
}

#[test]
fn search_lags_while_direct_reads_stay_current() {
    let (t, clock) = tracker();
    t.set_search_lag(Duration::from_secs(60));
    let created =
        block_on(t.create_issue(&NewIssue::new(lit::project("SUP"), "Bug", "fresh"))).unwrap();
    let page = block_on(t.search("project = SUP", &Page::first(50))).unwrap();
    assert!(
        page.issues.is_empty(),
        "search must not see a write younger than the lag"
    );
    assert_eq!(block_on(t.issue(&created.id)).unwrap().summary, "fresh");

    clock.advance(Duration::from_secs(61));
    let update = IssueUpdate {
        summary: Some("edited".into()),
        ..IssueUpdate::default()
    };
    block_on(t.update_issue(&created.id, &update)).unwrap();
    let page = block_on(t.search("project = SUP", &Page::first(50))).unwrap();
    assert_eq!(page.issues.len(), 1);
    assert_eq!(
        page.issues[0].summary, "fresh",
        "search shows the older version"
    );
    let since = block_on(t.updated_since(&sup(), clock.now(), &Page::first(50))).unwrap();
    assert!(since.issues.is_empty(), "the edit is not yet searchable");

    clock.advance(Duration::from_secs(61));
    let page = block_on(t.search("project = SUP", &Page::first(50))).unwrap();
    assert_eq!(page.issues[0].summary, "edited");
}

#[test]
fn calls_are_counted_per_handle_including_failures() {
    let (t, _) = tracker();
    let human = t.as_user(UserRef::new(lit::user_id("hana"), "Hana Human"));
    block_on(human.create_issue(&NewIssue::new(lit::project("SUP"), "Bug", "by a human"))).unwrap();
    assert_eq!(
        t.calls().total(),
        0,
        "another user's calls are not the engine's"
    );
    t.inject(OpKind::Search, Fault::ServerError);
    let _ = block_on(t.search("project = SUP", &Page::first(10)));
    block_on(t.search("project = SUP", &Page::first(10))).unwrap();
    let issue = block_on(t.issue_by_key(&lit::key("SUP-1"))).unwrap();
    assert_eq!(issue.creator.unwrap().id.as_str(), "hana");
    let calls = t.calls();
    assert_eq!(calls.get(OpKind::Search), 2);
    assert_eq!(calls.get(OpKind::GetIssue), 1);
    assert_eq!(calls.writes(), 0);
    assert_eq!(human.calls().writes(), 1);
    t.reset_calls();
    assert_eq!(t.calls().total(), 0);
}

#[test]
fn latency_takes_time_on_the_trackers_clock() {
    let (t, clock) = tracker();
    t.set_latency(Duration::from_millis(300));
    let start = clock.now();
    block_on(t.project(&sup())).unwrap();
    block_on(t.project(&sup())).unwrap();
    assert_eq!(clock.now() - start, Duration::from_millis(600));
}

fn marked(summary: &str) -> NewIssue {
    let mut issue = NewIssue::new(sup(), "Bug", summary);
    issue.properties.insert(
        "twinsync.marker".into(),
        serde_json::json!({"origin": summary}),
    );
    issue
}

#[test]
fn a_batch_is_one_call_per_fifty_issues_with_element_failures_in_place() {
    let (t, _) = tracker();
    let mut batch: Vec<NewIssue> = (0..51).map(|n| marked(&format!("n{n}"))).collect();
    batch[1].issue_type = "Saga".into();
    let results = block_on(t.create_issues(&batch)).unwrap();
    assert_eq!(results.len(), 51);
    assert_eq!(t.calls().get(OpKind::CreateIssues), 2);
    assert_eq!(t.calls().get(OpKind::CreateIssue), 0);
    let err = results[1].as_ref().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("Saga"), "{err}");
    let first = results[0].as_ref().unwrap();
    let last = results[50].as_ref().unwrap();
    assert_eq!(block_on(t.issue(&first.id)).unwrap().summary, "n0");
    assert_eq!(block_on(t.issue(&last.id)).unwrap().summary, "n50");
    assert_eq!(count(&t), 50);
}

#[test]
fn a_batch_whose_answer_is_lost_created_every_issue_with_its_marker() {
    let (t, _) = tracker();
    t.inject(OpKind::CreateIssues, Fault::LoseResponse);
    let batch = [marked("a"), marked("b"), marked("c")];
    let err = block_on(t.create_issues(&batch)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert!(err.may_have_applied());
    let issues = t.inspect_issues(&sup());
    let mut markers: Vec<_> = issues
        .iter()
        .map(|i| i.properties["twinsync.marker"]["origin"].clone())
        .collect();
    markers.sort_by_key(ToString::to_string);
    assert_eq!(markers, ["a", "b", "c"]);
}

#[test]
fn a_refused_batch_creates_nothing() {
    let (t, _) = tracker();
    t.inject(
        OpKind::CreateIssues,
        Fault::Fail(ErrorKind::PermissionDenied),
    );
    let err = block_on(t.create_issues(&[marked("a"), marked("b")])).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    assert_eq!(count(&t), 0);
}
