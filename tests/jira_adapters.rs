//! Behaviour of the Jira adapters beyond the conformance suite, over real HTTP
//! against the loopback emulator: Cloud ↔ Data Center rich text converges,
//! long comment threads are read whole, bad page tokens are refused, and the
//! emulator stops when dropped.

use std::future::Future;
use std::time::Duration;

use serde_json::json;
use twinsync::ErrorKind;
use twinsync::model::RichText;
use twinsync::testkit::ids as lit;
use twinsync::tracker::jira::emulator::{Deployment, EmulatorOptions, JiraEmulator};
use twinsync::tracker::{IssueUpdate, NewComment, NewIssue, Page, Tracker};

/// An emulator that calls itself Data Center, for the Data Center adapter.
fn data_center_site() -> EmulatorOptions {
    EmulatorOptions::default().deployment(Deployment::DataCenter)
}

fn run<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(future)
}

#[test]
fn cloud_and_data_center_twins_settle_on_the_same_description() {
    run(async {
        let emulator = JiraEmulator::start_with(data_center_site()).await.unwrap();
        let cloud = emulator.cloud().unwrap();
        let dc = emulator.data_center().unwrap();
        let written = RichText::adf(json!({"type": "doc", "version": 1, "content": [
            {"type": "heading", "attrs": {"level": 3}, "content": [{"type": "text", "text": "Impact"}]},
            {"type": "paragraph", "content": [
                {"type": "text", "text": "Only "},
                {"type": "text", "text": "floor 3", "marks": [{"type": "strong"}, {"type": "em"}]},
                {"type": "text", "text": "; see "},
                {"type": "text", "text": "INC-7", "marks": [{"type": "link", "attrs": {"href": "https://status.example/INC-7"}}]},
                {"type": "text", "text": " and call "},
                {"type": "mention", "attrs": {"id": "ada", "text": "@Ada"}}
            ]},
            {"type": "orderedList", "content": [
                {"type": "listItem", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "unplug"}]}]},
                {"type": "listItem", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "wait", "marks": [{"type": "code"}]}]}]}
            ]},
            {"type": "blockquote", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "It smells of toner."}]}]}
        ]}))
        .unwrap();
        let created = cloud
            .create_issue(
                &NewIssue::new(lit::project("SUP"), "Bug", "twin").description(written.clone()),
            )
            .await
            .unwrap();
        // What Data Center shows, as ADF: the sync would write this to the Cloud twin.
        let seen_by_dc = dc.issue(&created.id).await.unwrap().description;
        // The mention stays a mention of the same account; Data Center's
        // `[~ada]` carries no name, so it reads back without one.
        assert_eq!(
            seen_by_dc.to_plain_text(),
            written.to_plain_text().replace("@Ada", "@user")
        );
        let RichText::Adf(doc) = &seen_by_dc else {
            panic!("an adf document")
        };
        assert_eq!(
            doc["content"][1]["content"][5],
            json!({"type": "mention", "attrs": {"id": "ada"}})
        );
        // Written back through Data Center (wiki markup) and read again: unchanged.
        dc.update_issue(
            &created.id,
            &IssueUpdate {
                description: Some(seen_by_dc.clone()),
                ..IssueUpdate::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(dc.issue(&created.id).await.unwrap().description, seen_by_dc);
        // And Cloud, which keeps ADF as it is, reads what Data Center wrote.
        assert_eq!(
            cloud.issue(&created.id).await.unwrap().description,
            seen_by_dc
        );
    });
}

#[test]
fn long_comment_threads_are_read_whole_and_in_order() {
    run(async {
        let emulator = JiraEmulator::start().await.unwrap();
        let jira = emulator.cloud().unwrap();
        let created = jira
            .create_issue(&NewIssue::new(lit::project("SUP"), "Bug", "chatty"))
            .await
            .unwrap();
        for n in 0..130 {
            jira.add_comment(&created.id, &NewComment::public(format!("comment {n}")))
                .await
                .unwrap();
        }
        let issue = jira.issue(&created.id).await.unwrap();
        let bodies: Vec<String> = issue
            .comments
            .iter()
            .map(|c| c.body.to_plain_text())
            .collect();
        let want: Vec<String> = (0..130).map(|n| format!("comment {n}")).collect();
        assert_eq!(
            bodies, want,
            "all comments, oldest first, across pages of 100"
        );
    });
}

#[test]
fn page_tokens_from_elsewhere_are_refused() {
    run(async {
        let emulator = JiraEmulator::start_with(data_center_site()).await.unwrap();
        let cloud = emulator.cloud().unwrap();
        let dc = emulator.data_center().unwrap();
        let err = dc
            .search("project = SUP", &Page::next("abc".into(), 10))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        let err = cloud
            .search("project = SUP", &Page::next("not-a-token".into(), 10))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    });
}

#[test]
fn the_emulator_stops_when_dropped() {
    run(async {
        let emulator = JiraEmulator::start().await.unwrap();
        let url = emulator.base_url();
        emulator.cloud().unwrap().myself().await.unwrap();
        drop(emulator);
        tokio::time::sleep(Duration::from_millis(100)).await;
        let jira = twinsync::tracker::jira::JiraCloud::builder()
            .base_url(url)
            .api_token("a@b.c", "t")
            .build()
            .unwrap();
        let err = jira.myself().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
        assert!(err.is_temporary());
    });
}

fn marked(n: usize) -> NewIssue {
    NewIssue::new(lit::project("SUP"), "Bug", format!("batch {n}"))
        .property("twinsync.marker", json!({"op": format!("op-{n}")}))
}

/// The `issueUpdates` of each `POST /rest/api/3/issue/bulk` the emulator received.
fn bulk_sizes(emulator: &JiraEmulator) -> Vec<usize> {
    emulator
        .exchanges()
        .iter()
        .filter(|x| x.method == "POST" && x.path == "/rest/api/3/issue/bulk")
        .map(|x| {
            x.request
                .as_ref()
                .map_or(0, |r| r["issueUpdates"].as_array().map_or(0, Vec::len))
        })
        .collect()
}

#[test]
fn a_batch_of_51_issues_is_two_bulk_calls_answered_in_order() {
    run(async {
        let emulator = JiraEmulator::start().await.unwrap();
        let cloud = emulator.cloud().unwrap();
        assert_eq!(cloud.capabilities().batch_create, 50);
        let mut batch: Vec<NewIssue> = (0..51).map(marked).collect();
        batch[7].issue_type = "NoSuchType".into();
        emulator.clear_exchanges();
        let results = cloud.create_issues(&batch).await.unwrap();
        assert_eq!(bulk_sizes(&emulator), [50, 1]);
        assert!(
            emulator
                .exchanges()
                .iter()
                .all(|x| x.path != "/rest/api/3/issue"),
            "no single creates"
        );
        assert_eq!(results.len(), 51);
        let err = results[7].as_ref().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        assert!(err.to_string().contains("issuetype"), "{err}");
        for (n, result) in results.iter().enumerate().filter(|(n, _)| *n != 7) {
            let created = result.as_ref().unwrap();
            let issue = cloud.issue(&created.id).await.unwrap();
            assert_eq!(issue.summary, format!("batch {n}"));
            assert_eq!(
                issue.properties["twinsync.marker"],
                json!({"op": format!("op-{n}")})
            );
        }
    });
}

#[test]
fn a_lost_bulk_answer_leaves_the_issues_created_and_findable_by_marker() {
    use twinsync::tracker::jira::emulator::{Fault, FaultRule};
    run(async {
        let emulator = JiraEmulator::start().await.unwrap();
        let cloud = emulator.cloud().unwrap();
        emulator.inject(FaultRule::new(Fault::LoseResponse).path_contains("/issue/bulk"));
        let batch: Vec<NewIssue> = (0..3).map(marked).collect();
        let err = cloud.create_issues(&batch).await.unwrap_err();
        assert!(err.may_have_applied(), "{err}");
        assert!(err.is_temporary(), "{err}");
        let found = cloud
            .search("project = SUP", &Page::first(50))
            .await
            .unwrap();
        let mut markers: Vec<String> = found
            .issues
            .iter()
            .filter_map(|i| i.properties.get("twinsync.marker"))
            .map(|m| m["op"].as_str().unwrap_or_default().to_owned())
            .collect();
        markers.sort();
        assert_eq!(markers, ["op-0", "op-1", "op-2"]);
    });
}

#[test]
fn data_center_creates_a_batch_one_by_one() {
    run(async {
        let emulator = JiraEmulator::start_with(data_center_site()).await.unwrap();
        let dc = emulator.data_center().unwrap();
        assert_eq!(dc.capabilities().batch_create, 1);
        emulator.clear_exchanges();
        let results = dc.create_issues(&[marked(0), marked(1)]).await.unwrap();
        assert!(results.iter().all(Result::is_ok), "{results:?}");
        let creates = emulator
            .exchanges()
            .iter()
            .filter(|x| x.method == "POST" && x.path == "/rest/api/2/issue")
            .count();
        assert_eq!(creates, 2);
        assert!(bulk_sizes(&emulator).is_empty());
    });
}

#[test]
fn a_rate_limited_bulk_call_creates_nothing_and_a_retry_tracker_repeats_it() {
    use std::sync::Arc;
    use twinsync::clock::SystemClock;
    use twinsync::tracker::jira::emulator::{Fault, FaultRule, RateLimitReason};
    use twinsync::tracker::{RetryPolicy, RetryTracker};
    run(async {
        let emulator = JiraEmulator::start().await.unwrap();
        let cloud = Arc::new(emulator.cloud().unwrap());
        let limited = || {
            FaultRule::new(Fault::RateLimited {
                reason: RateLimitReason::Burst,
                retry_after: Duration::from_secs(0),
            })
            .path_contains("/issue/bulk")
        };
        emulator.inject(limited());
        let batch: Vec<NewIssue> = (0..2).map(marked).collect();
        let err = cloud.create_issues(&batch).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::RateLimited, "{err}");
        assert!(
            emulator
                .tracker()
                .inspect_issues(&lit::project("SUP"))
                .is_empty()
        );

        emulator.inject(limited());
        let retry = RetryTracker::new(
            cloud,
            Arc::new(SystemClock),
            RetryPolicy::default().with_max_attempts(3),
        );
        let results = retry.create_issues(&batch).await.unwrap();
        assert!(results.iter().all(Result::is_ok), "{results:?}");
        assert_eq!(
            bulk_sizes(&emulator),
            [2, 2, 2],
            "refused, refused, created"
        );
        assert_eq!(
            emulator
                .tracker()
                .inspect_issues(&lit::project("SUP"))
                .len(),
            2
        );
    });
}

#[test]
fn each_issue_of_a_bulk_create_is_announced_to_webhooks() {
    use twinsync::tracker::jira::emulator::AdminWebhook;
    run(async {
        let emulator = JiraEmulator::start().await.unwrap();
        emulator.add_admin_webhook(AdminWebhook::new("http://127.0.0.1:9/hook"));
        let cloud = emulator.cloud().unwrap();
        let mut batch: Vec<NewIssue> = (0..3).map(marked).collect();
        batch[1].issue_type = "NoSuchType".into();
        let results = cloud.create_issues(&batch).await.unwrap();
        let mut want: Vec<String> = [&results[0], &results[2]]
            .iter()
            .map(|r| r.as_ref().unwrap().key.to_string())
            .collect();
        want.sort();
        let mut seen = Vec::new();
        for _ in 0..50 {
            seen = emulator
                .deliveries()
                .into_iter()
                .filter(|d| d.event == "jira:issue_created")
                .map(|d| d.issue)
                .collect();
            seen.sort();
            seen.dedup();
            if seen.len() >= 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(seen, want);
    });
}
