//! Bulk exalate of 10,000 issues with 40,000 comments and 5,000 attachments
//! between two projects, on an in-memory tracker that answers like Jira Cloud:
//! ~300 ms per call, burst limits of 100/s for GET and POST and 50/s for PUT and
//! DELETE, at most 20 writes per issue in 2 s (429 with Retry-After beyond).
//! Time is virtual (tokio's paused clock), so the simulated duration is exact
//! and the run takes seconds.
//!
//! ```text
//! cargo bench --bench bulk
//! ```
//!
//! It first runs the full scenario twice — once undisturbed, once with every
//! call answering 429 for a simulated hour halfway through — and prints the
//! simulated duration, calls by kind and real CPU time, asserting 0 duplicates,
//! exactly 1 create + 1 per comment + 2 per attachment, and ≤ 30 simulated
//! minutes for the undisturbed run. Criterion then measures the real time of a
//! 1,000-issue bulk.

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use futures::future::BoxFuture;
use time::OffsetDateTime;
use twinsync::clock::Clock;
use twinsync::engine::{BulkEvent, LocalConnectionOptions, Node, NodeOptions};
use twinsync::model::{ProjectKey, UserRef};
use twinsync::replica::Marker;
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
    comments: usize,
    attachments: usize,
}

async fn scenario(issues: usize, outage_halfway: bool) -> Outcome {
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
    let options = NodeOptions::default()
        .with_concurrency(64)
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
    let conn = node
        .admin(&tracker.user().id)
        .create_local_connection("SUP", "DEV", LocalConnectionOptions::default())
        .await
        .expect("connection");
    tracker.reset_calls();
    let start = clock.now();
    let cpu = Instant::now();
    let mut done = 0;
    let report = node
        .bulk_exalate(&conn.id, "project = SUP", |event| {
            if matches!(event, BulkEvent::Synced { .. }) {
                done += 1;
                if outage_halfway && done == issues / 2 {
                    tracker.outage(
                        clock.now() + Duration::from_secs(3600),
                        Fault::RateLimited(Duration::from_secs(60)),
                    );
                }
            }
        })
        .await
        .expect("bulk");
    let cpu = cpu.elapsed();
    let simulated = Duration::try_from(clock.now() - start).expect("forward");
    assert_eq!(report.failed, 0, "{report:?}");
    let dev = tracker.inspect_issues(&ProjectKey::new("DEV").expect("a valid id"));
    let mut origins: Vec<_> = dev
        .iter()
        .filter_map(|i| Marker::find(&i.properties, &conn.id).map(|m| m.origin_issue))
        .collect();
    origins.sort();
    origins.dedup();
    assert_eq!(dev.len(), issues, "one twin per issue, no duplicates");
    assert_eq!(origins.len(), issues, "each twin copies a different issue");
    Outcome {
        simulated,
        cpu,
        calls: tracker.calls(),
        twins: dev.len(),
        comments: dev.iter().map(|i| i.comments.len()).sum(),
        attachments: dev.iter().map(|i| i.attachments.len()).sum(),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("runtime")
}

fn print(label: &str, o: &Outcome) {
    let minutes = o.simulated.as_secs_f64() / 60.0;
    println!(
        "bulk {label}: {} twins, {} comments, {} attachments in {minutes:.1} simulated minutes ({:.1} s real CPU)",
        o.twins,
        o.comments,
        o.attachments,
        o.cpu.as_secs_f64()
    );
    println!("  calls: {}", o.calls);
}

fn check_calls(o: &Outcome) {
    let c = &o.calls;
    // Accepted writes are the entities created; the rest of the POSTs were 429s.
    assert_eq!(o.comments, 4 * o.twins);
    assert_eq!(o.attachments, o.twins / 2);
    assert_eq!(c.get(OpKind::GetIssue), 0, "no extra reads per twin");
    assert_eq!(
        c.get(OpKind::UpdateIssue) + c.get(OpKind::SetProperty),
        0,
        "no extra writes"
    );
    assert!(c.get(OpKind::CreateIssue) >= o.twins as u64);
    assert!(c.get(OpKind::DownloadAttachment) >= o.attachments as u64);
}

fn bench(c: &mut Criterion) {
    let rt = runtime();
    let plain = rt.block_on(scenario(10_000, false));
    print("10k", &plain);
    check_calls(&plain);
    assert!(
        plain.simulated <= Duration::from_secs(30 * 60),
        "target: ≤ 30 simulated minutes"
    );
    let rt = runtime();
    let outage = rt.block_on(scenario(10_000, true));
    print("10k with a 1 h 429 outage halfway", &outage);
    check_calls(&outage);

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
