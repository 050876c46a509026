//! How the Jira adapters behave when Jira pushes back or answers badly, against
//! the loopback emulator: error kinds, `Retry-After`, holding back exactly the
//! calls Jira said it would refuse, never repeating a write, and keeping the
//! token out of everything a user might print.

use std::future::Future;
use std::time::{Duration, Instant};

use serde_json::json;
use twinsync::ErrorKind;
use twinsync::model::IssueId;
use twinsync::testkit::ids as lit;
use twinsync::tracker::jira::JiraCloud;
use twinsync::tracker::jira::emulator::{Fault, FaultRule, JiraEmulator, RateLimitReason};
use twinsync::tracker::{IssueUpdate, NewIssue, Page, Tracker};

fn run<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(future)
}

const HOLD: Duration = Duration::from_secs(1);
/// Calls that are held back take at least this long.
const HELD: Duration = Duration::from_millis(850);
/// Calls that are not held back take less than this.
const FREE: Duration = Duration::from_millis(600);

fn limited(reason: RateLimitReason) -> Fault {
    Fault::RateLimited {
        reason,
        retry_after: HOLD,
    }
}

async fn timed<T>(f: impl Future<Output = T>) -> (T, Duration) {
    let start = Instant::now();
    let out = f.await;
    (out, start.elapsed())
}

fn rename(summary: &str) -> IssueUpdate {
    IssueUpdate {
        summary: Some(summary.to_owned()),
        ..IssueUpdate::default()
    }
}

async fn two_issues(jira: &JiraCloud) -> (IssueId, IssueId) {
    let a = jira
        .create_issue(&NewIssue::new(lit::project("SUP"), "Bug", "a"))
        .await
        .unwrap();
    let b = jira
        .create_issue(&NewIssue::new(lit::project("SUP"), "Bug", "b"))
        .await
        .unwrap();
    (a.id, b.id)
}

#[test]
fn per_issue_limit_slows_writes_to_that_issue_only() {
    run(async {
        let emulator = JiraEmulator::start().await.unwrap();
        let jira = emulator.cloud().unwrap();
        let (a, b) = two_issues(&jira).await;
        emulator.inject(
            FaultRule::new(limited(RateLimitReason::PerIssueOnWrite))
                .method("PUT")
                .path_contains(&format!("/issue/{a}")),
        );
        let err = jira.update_issue(&a, &rename("a1")).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::RateLimited, "{err}");
        assert!(err.is_temporary());
        assert_eq!(err.retry_after(), Some(HOLD));
        assert_eq!(
            err.context_value("rate limit"),
            Some("jira-per-issue-on-write")
        );

        let (other, took) = timed(jira.update_issue(&b, &rename("b1"))).await;
        other.unwrap();
        assert!(took < FREE, "a write to another issue waited {took:?}");
        let (read, took) = timed(jira.issue(&a)).await;
        read.unwrap();
        assert!(took < FREE, "a read of the limited issue waited {took:?}");
        let (write, took) = timed(jira.update_issue(&a, &rename("a2"))).await;
        write.unwrap();
        assert!(
            took >= HELD,
            "the next write to the limited issue went out after {took:?}"
        );
        assert_eq!(jira.issue(&a).await.unwrap().summary, "a2");
    });
}

#[test]
fn burst_limit_slows_that_endpoint_only() {
    run(async {
        let emulator = JiraEmulator::start().await.unwrap();
        let jira = emulator.cloud().unwrap();
        let (a, _) = two_issues(&jira).await;
        emulator
            .inject(FaultRule::new(limited(RateLimitReason::Burst)).path_contains("/search/jql"));
        let err = jira
            .search("project = SUP", &Page::first(10))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::RateLimited, "{err}");
        let (read, took) = timed(jira.issue(&a)).await;
        read.unwrap();
        assert!(took < FREE, "another endpoint waited {took:?}");
        let (search, took) = timed(jira.search("project = SUP", &Page::first(10))).await;
        assert_eq!(search.unwrap().issues.len(), 2);
        assert!(
            took >= HELD,
            "the limited endpoint was called again after {took:?}"
        );
    });
}

#[test]
fn quota_limit_pauses_every_call_until_the_reset() {
    run(async {
        let emulator = JiraEmulator::start().await.unwrap();
        let jira = emulator.cloud().unwrap();
        let (a, _) = two_issues(&jira).await;
        emulator
            .inject(FaultRule::new(limited(RateLimitReason::QuotaTenant)).path_contains("/myself"));
        let err = jira.myself().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::RateLimited, "{err}");
        let (read, took) = timed(jira.issue(&a)).await;
        read.unwrap();
        assert!(
            took >= HELD,
            "a call during the quota pause went out after {took:?}"
        );
        let (again, took) = timed(jira.myself()).await;
        again.unwrap();
        assert!(
            took < FREE,
            "after the reset calls flow again, this one waited {took:?}"
        );
    });
}

#[test]
fn rate_limited_and_failed_writes_are_not_repeated() {
    run(async {
        let emulator = JiraEmulator::start().await.unwrap();
        let jira = emulator.cloud().unwrap();
        emulator.inject(
            FaultRule::new(limited(RateLimitReason::Burst))
                .method("POST")
                .path_contains("/rest/api/3/issue"),
        );
        emulator.clear_exchanges();
        let err = jira
            .create_issue(&NewIssue::new(lit::project("SUP"), "Bug", "limited"))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::RateLimited);
        emulator.inject(FaultRule::new(Fault::ServerError {
            status: 503,
            retry_after: Some(HOLD),
        }));
        let err = jira
            .create_issue(&NewIssue::new(lit::project("SUP"), "Bug", "outage"))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
        assert!(err.is_temporary());
        assert_eq!(err.retry_after(), Some(HOLD));
        let posts = emulator
            .exchanges()
            .iter()
            .filter(|x| x.method == "POST" && x.path == "/rest/api/3/issue")
            .count();
        assert_eq!(posts, 2, "each failed create was sent exactly once");
        assert!(
            emulator
                .tracker()
                .inspect_issues(&lit::project("SUP"))
                .is_empty()
        );
    });
}

#[test]
fn a_lost_answer_is_a_timeout_and_the_issue_exists_once_with_its_marker() {
    run(async {
        let emulator = JiraEmulator::start().await.unwrap();
        let jira = emulator.cloud().unwrap();
        emulator.inject(
            FaultRule::new(Fault::LoseResponse)
                .method("POST")
                .path_contains("/rest/api/3/issue"),
        );
        let marker = json!({"op": "lost-1"});
        let err = jira
            .create_issue(
                &NewIssue::new(lit::project("SUP"), "Bug", "lost answer")
                    .property("twinsync.marker", marker.clone()),
            )
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
        assert!(err.may_have_applied() && err.is_temporary());
        let issues = emulator.tracker().inspect_issues(&lit::project("SUP"));
        assert_eq!(
            issues.len(),
            1,
            "the create happened once and was not repeated"
        );
        assert_eq!(issues[0].properties.get("twinsync.marker"), Some(&marker));
        let found = jira
            .search("project = SUP", &Page::first(10))
            .await
            .unwrap();
        assert_eq!(
            found.issues[0].properties.get("twinsync.marker"),
            Some(&marker),
            "searches return the marker, so the engine can adopt the issue"
        );
    });
}

#[test]
fn a_late_answer_is_a_timeout() {
    run(async {
        let emulator = JiraEmulator::start().await.unwrap();
        let jira = JiraCloud::builder()
            .base_url(emulator.base_url())
            .api_token(
                twinsync::tracker::jira::emulator::EMAIL,
                twinsync::tracker::jira::emulator::API_TOKEN,
            )
            .timeout(Duration::from_millis(300))
            .build()
            .unwrap();
        emulator.inject(FaultRule::new(Fault::Latency(Duration::from_secs(2))).method("POST"));
        let err = jira
            .create_issue(&NewIssue::new(lit::project("SUP"), "Bug", "slow"))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
        assert_eq!(
            emulator
                .tracker()
                .inspect_issues(&lit::project("SUP"))
                .len(),
            1
        );
    });
}

#[test]
fn near_limit_runs_calls_one_at_a_time() {
    run(async {
        let emulator = JiraEmulator::start().await.unwrap();
        let jira = emulator.cloud().unwrap();
        let slow = || {
            FaultRule::new(Fault::Latency(Duration::from_millis(500)))
                .path_contains("/myself")
                .times(2)
        };
        emulator.inject(slow());
        let ((a, b), side_by_side) =
            timed(async { tokio::join!(jira.myself(), jira.myself()) }).await;
        a.unwrap();
        b.unwrap();
        assert!(
            side_by_side < Duration::from_millis(900),
            "two calls normally overlap: {side_by_side:?}"
        );

        emulator.inject(FaultRule::new(Fault::NearLimit).path_contains("/serverInfo"));
        jira.instance().await.unwrap();
        emulator.inject(slow());
        let ((a, b), one_by_one) =
            timed(async { tokio::join!(jira.myself(), jira.myself()) }).await;
        a.unwrap();
        b.unwrap();
        assert!(
            one_by_one >= Duration::from_millis(1000),
            "near the limit calls queue: {one_by_one:?}"
        );
    });
}

#[test]
fn bad_credentials_are_unauthenticated_and_the_token_stays_secret() {
    run(async {
        let emulator = JiraEmulator::start().await.unwrap();
        let secret = "s3cret-t0ken-value";
        let jira = JiraCloud::builder()
            .base_url(emulator.base_url())
            .api_token("someone@example.com", secret)
            .build()
            .unwrap();
        let err = jira.myself().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unauthenticated, "{err}");
        assert!(!err.is_temporary());
        for shown in [
            format!("{err}"),
            format!("{err:?}"),
            format!("{jira:?}"),
            format!("{jira}"),
        ] {
            assert!(!shown.contains(secret), "the token leaked: {shown}");
        }
        let builder = JiraCloud::builder().api_token("someone@example.com", secret);
        assert!(!format!("{builder:?}").contains(secret));
        let missing = JiraCloud::builder()
            .api_token("a@b.c", secret)
            .build()
            .unwrap_err();
        assert_eq!(missing.kind(), ErrorKind::InvalidConfig);
        assert!(missing.to_string().contains("base url"), "{missing}");
    });
}

#[test]
fn errors_name_the_object_and_carry_jiras_reason() {
    run(async {
        let emulator = JiraEmulator::start().await.unwrap();
        let jira = emulator.cloud().unwrap();
        let err = jira
            .create_issue(&NewIssue::new(lit::project("SUP"), "Saga", "x"))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert_eq!(
            err.to_string(),
            "jira answered 400: issuetype: Specify a valid issue type (operation create issue, project SUP)"
        );
        let err = jira
            .create_issue(&NewIssue::new(lit::project("NOPE"), "Bug", "x"))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
        assert!(err.to_string().contains("project NOPE"), "{err}");
        let err = jira
            .updated_since(
                &lit::project("NOPE"),
                time::OffsetDateTime::now_utc(),
                &Page::first(10),
            )
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
        let err = jira.issue(&lit::issue_id("4242")).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "jira answered 404: Issue does not exist or you do not have permission to see it. (operation get issue, issue 4242)"
        );
    });
}
