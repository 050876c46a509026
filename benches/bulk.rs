//! Bulk exalate of 10,000 issues with 40,000 comments and 5,000 attachments
//! between two projects, on an in-memory tracker that answers like Jira Cloud:
//! ~300 ms per call, burst limits of 100/s for GET and POST and 50/s for PUT and
//! DELETE, at most 20 writes per issue in 2 s (429 with Retry-After beyond),
//! and issues created up to 50 per call. The node paces its calls to those
//! documented limits (`Pacing::Documented`, the default) and creates new twins in
//! batches; twins name their origin with a description line, sent in the
//! create request (a remote link would be one more POST per twin). Time is
//! virtual (tokio's paused clock), so the simulated duration is exact and the
//! run takes seconds.
//!
//! ```text
//! cargo bench --bench bulk
//! ```
//!
//! It first runs the full scenario twice and prints the simulated duration,
//! the calls by kind (and how many were answered 429) and the real CPU time:
//!
//! - undisturbed, asserting the targets at these limits: ≤ 8 simulated
//!   minutes (the floor is about 7.5: some 45,000 POSTs at 100 per second),
//!   the creates in ≤ 250 calls, fewer than 1 % of calls answered 429, and
//!   exactly 1 call per comment and 2 per attachment;
//! - a quota stop: halfway, every call answers 429 for a simulated hour; the
//!   run is stopped two minutes into it and run again once the quota is back
//!   (it resumes from its saved page), asserting 0 duplicates and every
//!   comment and attachment exactly once.
//!
//! `TWINSYNC_BENCH_ISSUES` runs another number of issues (the targets are
//! asserted at 10,000 only). Criterion then measures the real time of a
//! 1,000-issue bulk.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use futures::future::BoxFuture;
use time::OffsetDateTime;
use twinsync::clock::Clock;
use twinsync::engine::{BulkEvent, LocalConnectionOptions, Node, NodeOptions};
use twinsync::model::{ProjectKey, UserRef};
use twinsync::replica::Marker;
use twinsync::rules::{IssueOrigin, OriginTemplate, RuleSpec};
use twinsync::store::MemoryStore;
use twinsync::tracker::memory::{Fault, OpKind, RateLimits};
use twinsync::tracker::{MemoryTracker, NewAttachment, NewComment, NewIssue, RetryPolicy, Tracker};

/// Tokio's (paused, auto-advancing) clock as a twinsync clock.
#[derive(Debug)]
struct TokioClock {
    base: OffsetDateTime,
    start: tokio::time::Instant,
}

impl Clock for TokioClock {
    fn now(&self) -> OffsetDateTime {
        self.base + (tokio::time::Instant::now() - self.start)
    }
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep(duration))
    }
}

struct Outcome {
    simulated: Duration,
    cpu: Duration,
    calls: twinsync::tracker::memory::CallCounts,
    twins: usize,
    duplicates: usize,
    comments: usize,
    attachments: usize,
    resumed: bool,
}

/// The bulk of `issues` issues (4 comments each, an attachment on every
/// other), undisturbed or with a quota stop halfway.
async fn scenario(issues: usize, quota_stop: bool) -> Outcome {
    let clock = Arc::new(TokioClock {
        base: time::macros::datetime!(2026-01-01 0:00 UTC),
        start: tokio::time::Instant::now(),
    });
    let tracker = MemoryTracker::with_clock("https://bench.example", clock.clone()).expect("url");
    tracker
        .add_project("SUP", "Support", &["Bug", "Task"], None)
        .expect("project");
    tracker
        .add_project("DEV", "Development", &["Bug", "Task"], None)
        .expect("project");
    let human = tracker.as_user(UserRef::new("alice".parse().expect("a valid id"), "Alice"));
    for i in 0..issues {
        let created = human
            .create_issue(
                &NewIssue::new(
                    "SUP".parse().expect("a valid id"),
                    "Bug",
                    format!("issue {i}"),
                )
                .description("steps to reproduce"),
            )
            .await
            .expect("create");
        for c in 0..4 {
            human
                .add_comment(
                    &created.id,
                    &NewComment::public(format!("comment {c} on {i}")),
                )
                .await
                .expect("comment");
        }
        if i % 2 == 0 {
            let file = NewAttachment {
                file_name: format!("log-{i}.txt"),
                mime_type: "text/plain".into(),
                content: vec![b'x'; 2048],
            };
            human
                .upload_attachment(&created.id, &file)
                .await
                .expect("attachment");
        }
    }
    tracker.set_latency(Duration::from_millis(300));
    tracker.set_rate_limits(Some(RateLimits::jira_cloud()));
    // Pacing is the default: to the limits the tracker documents.
    let options = NodeOptions::default()
        .with_concurrency(200)
        .with_page_size(100)
        .with_retry(
            RetryPolicy::default()
                .with_max_attempts(10_000)
                .with_max_elapsed(Duration::from_secs(4 * 3600)),
        );
    let node = Node::builder()
        .tracker(Arc::new(tracker.clone()))
        .store(Arc::new(MemoryStore::new()))
        .clock(clock.clone())
        .options(options)
        .build()
        .await
        .expect("node");
    let admin = node.admin(&tracker.user().id);
    let conn = admin
        .create_local_connection("SUP", "DEV", LocalConnectionOptions::default())
        .await
        .expect("connection");
    // The origin in the create request: no link call per twin.
    admin.upgrade_to_custom(&conn.id).await.expect("custom");
    let origin = IssueOrigin::DescriptionLine(OriginTemplate::default());
    admin
        .save_rule_draft(&conn.id, RuleSpec::default().issue_origin(origin))
        .await
        .expect("rules");
    admin.publish_rules(&conn.id).await.expect("publish");
    tracker.reset_calls();
    let start = clock.now();
    let cpu = Instant::now();
    let mut done = 0;
    let quota_from: Mutex<Option<OffsetDateTime>> = Mutex::new(None);
    let run = node.bulk_exalate(&conn.id, "project = SUP", |event| {
        if let BulkEvent::Failed { .. } = event
            && !quota_stop
        {
            panic!("undisturbed, nothing fails: {event:?}");
        }
        if matches!(event, BulkEvent::Synced { .. }) {
            done += 1;
            if quota_stop && done == issues / 2 {
                let now = clock.now();
                tracker.outage(
                    now + Duration::from_secs(3600),
                    Fault::RateLimited(Duration::from_secs(60)),
                );
                *quota_from.lock().unwrap_or_else(|e| e.into_inner()) = Some(now);
            }
        }
    });
    let resumed = if quota_stop {
        // Stopped two minutes into the quota outage, then run again once the
        // quota is back.
        let stop = async {
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                let from = *quota_from.lock().unwrap_or_else(|e| e.into_inner());
                if from.is_some_and(|t| clock.now() >= t + Duration::from_secs(120)) {
                    break;
                }
            }
        };
        futures::pin_mut!(run);
        futures::pin_mut!(stop);
        match futures::future::select(run, stop).await {
            futures::future::Either::Left((report, _)) => {
                panic!("the run was not stopped: {report:?}")
            }
            futures::future::Either::Right(((), _)) => {}
        }
        let from = quota_from
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .expect("the quota stop happened");
        let back = from + Duration::from_secs(3600);
        tokio::time::sleep(Duration::try_from(back - clock.now()).unwrap_or_default()).await;
        let report = node
            .bulk_exalate(&conn.id, "project = SUP", |_| {})
            .await
            .expect("resume");
        assert_eq!(report.failed, 0, "{report:?}");
        report.resumed
    } else {
        let report = run.await.expect("bulk");
        assert_eq!(report.failed, 0, "{report:?}");
        assert_eq!(report.synced, issues as u64, "{report:?}");
        false
    };
    let cpu = cpu.elapsed();
    let simulated = Duration::try_from(clock.now() - start).expect("forward");
    let dev = tracker.inspect_issues(&ProjectKey::new("DEV").expect("a valid id"));
    let mut origins: Vec<_> = dev
        .iter()
        .filter_map(|i| Marker::find(&i.properties, &conn.id).map(|m| m.origin_issue))
        .collect();
    origins.sort();
    origins.dedup();
    Outcome {
        simulated,
        cpu,
        calls: tracker.calls(),
        twins: origins.len(),
        duplicates: dev.len() - origins.len(),
        comments: dev.iter().map(|i| i.comments.len()).sum(),
        attachments: dev.iter().map(|i| i.attachments.len()).sum(),
        resumed,
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("runtime")
}

fn creates(o: &Outcome) -> u64 {
    o.calls.get(OpKind::CreateIssues) + o.calls.get(OpKind::CreateIssue)
}

fn print(label: &str, o: &Outcome) {
    let minutes = o.simulated.as_secs_f64() / 60.0;
    println!(
        "bulk {label}: {} twins ({} duplicates), {} comments, {} attachments in {minutes:.2} simulated minutes ({:.1} s real CPU)",
        o.twins,
        o.duplicates,
        o.comments,
        o.attachments,
        o.cpu.as_secs_f64()
    );
    println!(
        "  creates: {} calls; answered 429: {} of {} calls ({:.3} %)",
        creates(o),
        o.calls.rate_limited(),
        o.calls.total(),
        100.0 * o.calls.rate_limited() as f64 / o.calls.total().max(1) as f64
    );
    println!("  calls: {}", o.calls);
}

/// Every twin once, with every comment and attachment once.
fn check_twins(o: &Outcome, issues: usize) {
    assert_eq!(o.duplicates, 0, "no duplicate twin");
    assert_eq!(o.twins, issues, "one twin per issue");
    assert_eq!(o.comments, 4 * issues, "every comment once");
    assert_eq!(o.attachments, issues.div_ceil(2), "every attachment once");
}

fn check_calls(o: &Outcome) {
    let c = &o.calls;
    assert_eq!(c.get(OpKind::GetIssue), 0, "no extra reads per twin");
    assert_eq!(
        c.get(OpKind::UpdateIssue) + c.get(OpKind::SetProperty) + c.get(OpKind::PutRemoteLink),
        0,
        "no extra writes"
    );
    // Nothing refused: exactly one call per comment and two per attachment.
    assert_eq!(c.get(OpKind::AddComment), o.comments as u64);
    assert_eq!(c.get(OpKind::UploadAttachment), o.attachments as u64);
    assert_eq!(c.get(OpKind::DownloadAttachment), o.attachments as u64);
}

fn bench(c: &mut Criterion) {
    let issues: usize = std::env::var("TWINSYNC_BENCH_ISSUES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000);
    let label = format!("{issues} issues");
    let plain = runtime().block_on(scenario(issues, false));
    print(&format!("{label}, undisturbed"), &plain);
    check_twins(&plain, issues);
    assert!(
        plain.calls.rate_limited() * 100 < plain.calls.total(),
        "target: fewer than 1 % of calls answered 429"
    );
    check_calls(&plain);
    if issues == 10_000 {
        assert!(
            plain.simulated <= Duration::from_secs(8 * 60),
            "target: ≤ 8 simulated minutes"
        );
        assert!(creates(&plain) <= 250, "target: creates in ≤ 250 calls");
    }
    let stopped = runtime().block_on(scenario(issues, true));
    print(
        &format!("{label}, quota stop halfway and resume (1 h of 429)"),
        &stopped,
    );
    assert!(stopped.resumed, "the second run resumes from a saved page");
    check_twins(&stopped, issues);

    let mut group = c.benchmark_group("bulk");
    group.sample_size(10);
    group.bench_function("exalate_1k_issues_real_time", |b| {
        b.iter(|| {
            let o = runtime().block_on(scenario(1_000, false));
            assert_eq!(o.twins, 1_000);
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
