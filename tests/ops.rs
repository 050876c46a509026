//! Health and metrics: what `/healthz`, `/readyz` and `/metrics` show after
//! syncs, failures and rate limits, and that they never show a secret.
//!
//! Each test records into a Prometheus recorder of its own, for its own
//! thread only (`metrics::with_local_recorder`), so tests running in
//! parallel never see each other's counts.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::Value;
use tower::ServiceExt;

use twinsync::clock::{Clock, ManualClock};
use twinsync::engine::{LocalConnectionOptions, Node};
use twinsync::model::UserRef;
use twinsync::server::ops::{Ops, prometheus_recorder};
use twinsync::testkit::ids as lit;
use twinsync::testkit::jira::{JiraFlavor, JiraRig};
use twinsync::testkit::rig::LocalRig;
use twinsync::testkit::{User, block_on};
use twinsync::tracker::jira::JiraCloud;
use twinsync::tracker::jira::emulator::{Fault as HttpFault, FaultRule};
use twinsync::tracker::memory::{Fault, OpKind};

const TRACKER: &str = "https://rig.example";
const CONN: &str = "SUP_to_DEV";

async fn get(router: &Router, path: &str) -> (StatusCode, String) {
    let request = Request::get(path).body(Body::empty()).unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

/// The sum of the samples of `name` whose labels include all of `labels`,
/// and how many series matched.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> (f64, usize) {
    let mut sum = 0.0;
    let mut matched = 0;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let (series_name, series_labels) = match series.split_once('{') {
            Some((n, l)) => (n, l.trim_end_matches('}')),
            None => (series, ""),
        };
        if series_name != name {
            continue;
        }
        let pairs: Vec<&str> = series_labels.split(',').collect();
        if labels
            .iter()
            .all(|(k, v)| pairs.contains(&format!("{k}=\"{v}\"").as_str()))
        {
            sum += value.parse::<f64>().unwrap();
            matched += 1;
        }
    }
    (sum, matched)
}

/// The value of one series, which must exist.
fn value(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    let (sum, matched) = sample(text, name, labels);
    assert!(matched > 0, "no series {name} {labels:?} in:\n{text}");
    sum
}

fn on_conn<'a>(more: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut labels = vec![("tracker", TRACKER), ("connection", CONN)];
    labels.extend_from_slice(more);
    labels
}

fn router(rig: &LocalRig, handle: metrics_exporter_prometheus::PrometheusHandle) -> Router {
    Ops::new()
        .node(rig.node.clone())
        .prometheus(handle)
        .readiness_timeout(Duration::from_secs(2))
        .router()
}

/// What `/metrics` shows after `steps` ran on a local rig in which SUP-1
/// was filed and exalated (its twin DEV-1), all recorded by a recorder of
/// this test's own.
fn metrics_after(steps: impl FnOnce(&LocalRig, &User<'_>)) -> String {
    let recorder = prometheus_recorder();
    let rig = LocalRig::new();
    let app = router(&rig, recorder.handle());
    metrics::with_local_recorder(&recorder, || {
        let user = rig.user();
        user.create("SUP", "Bug", "Printer on fire");
        block_on(rig.node.exalate(&rig.conn.id, &lit::key("SUP-1"))).unwrap();
        steps(&rig, &user);
        block_on(get(&app, "/metrics")).1
    })
}

#[test]
fn metrics_show_cycles_writes_twins_and_latency() {
    let text = metrics_after(|rig, user| {
        user.edit_summary("SUP-1", "Printer still on fire");
        user.comment("SUP-1", "lots of smoke");
        rig.advance(45);
        let report = block_on(rig.node.sync(&rig.conn.id)).unwrap();
        assert_eq!(report.writes, 2, "{report:?}");
        rig.advance(60);
        block_on(rig.node.sync(&rig.conn.id)).unwrap();
    });
    assert_eq!(
        value(
            &text,
            "twinsync_cycles_total",
            &on_conn(&[("result", "ok")])
        ),
        2.0
    );
    assert_eq!(
        sample(&text, "twinsync_cycles_total", &[("result", "error")]).1,
        0
    );
    for (op, n) in [
        ("create_issue", 1.0),
        ("update_issue", 1.0),
        ("add_comment", 1.0),
    ] {
        let labels = [("tracker", TRACKER), ("op", op)];
        assert_eq!(
            value(&text, "twinsync_tracker_writes_total", &labels),
            n,
            "{op}"
        );
    }
    assert!(
        value(
            &text,
            "twinsync_tracker_reads_total",
            &[("op", "updated_since")]
        ) >= 4.0
    );
    assert_eq!(
        value(&text, "twinsync_twins_under_sync", &on_conn(&[])),
        1.0
    );
    assert_eq!(value(&text, "twinsync_queue_length", &on_conn(&[])), 0.0);
    assert_eq!(value(&text, "twinsync_outbox_length", &on_conn(&[])), 0.0);
    // One change of an existing twin landed, 45 s after the edit (the
    // create of the twin is not a latency).
    assert!(
        text.contains("# TYPE twinsync_sync_latency_seconds histogram"),
        "{text}"
    );
    let latency = "twinsync_sync_latency_seconds";
    assert_eq!(
        value(&text, &format!("{latency}_count"), &on_conn(&[])),
        1.0
    );
    assert_eq!(value(&text, &format!("{latency}_sum"), &on_conn(&[])), 45.0);
    let bucket = format!("{latency}_bucket");
    assert_eq!(value(&text, &bucket, &on_conn(&[("le", "30")])), 0.0);
    assert_eq!(value(&text, &bucket, &on_conn(&[("le", "60")])), 1.0);
    assert_eq!(
        value(
            &text,
            "twinsync_cycle_duration_seconds_count",
            &on_conn(&[])
        ),
        2.0
    );
}

#[test]
fn errors_show_by_kind_for_twins_and_cycles() {
    let text = metrics_after(|rig, user| {
        user.edit_summary("SUP-1", "Printer still on fire");
        rig.tracker.inject(
            OpKind::UpdateIssue,
            Fault::Fail(twinsync::ErrorKind::PermissionDenied),
        );
        rig.advance(1);
        let report = block_on(rig.node.sync(&rig.conn.id)).unwrap();
        assert_eq!(report.failed, 1, "{report:?}");
        // The tracker down for an hour: the cycle fails as a whole.
        let until = rig.now() + time::Duration::hours(1);
        rig.tracker.outage(until, Fault::ServerError);
        rig.advance(1);
        block_on(rig.node.sync(&rig.conn.id)).unwrap_err();
    });
    let denied = [("kind", "permission_denied"), ("temporary", "false")];
    assert_eq!(
        value(
            &text,
            "twinsync_errors_total",
            &on_conn(&[("at", "twin"), denied[0], denied[1]])
        ),
        1.0
    );
    assert_eq!(
        value(
            &text,
            "twinsync_tracker_errors_total",
            &[("op", "update_issue"), denied[0], denied[1]]
        ),
        1.0
    );
    assert_eq!(
        value(
            &text,
            "twinsync_errors_total",
            &on_conn(&[("at", "cycle"), ("kind", "unavailable")])
        ),
        1.0
    );
    // Every attempt of the cycle's first call counts (the test options
    // allow four).
    assert_eq!(
        value(
            &text,
            "twinsync_tracker_errors_total",
            &[("tracker", TRACKER), ("kind", "unavailable")]
        ),
        4.0
    );
    assert_eq!(
        value(
            &text,
            "twinsync_cycles_total",
            &on_conn(&[("result", "ok")])
        ),
        1.0
    );
    assert_eq!(
        value(
            &text,
            "twinsync_cycles_total",
            &on_conn(&[("result", "error")])
        ),
        1.0
    );
}

#[test]
fn rate_limits_count_as_holds() {
    let text = metrics_after(|rig, user| {
        // One 429 on a write: the call waits 20 s and goes through.
        user.edit_summary("SUP-1", "Printer still on fire");
        rig.tracker.inject(
            OpKind::UpdateIssue,
            Fault::RateLimited(Duration::from_secs(20)),
        );
        rig.advance(1);
        let report = block_on(rig.node.sync(&rig.conn.id)).unwrap();
        assert_eq!((report.synced, report.failed), (1, 0), "{report:?}");
        // Rate limited for ten minutes: the run loop holds the connection
        // back; stop it after five.
        let until = rig.now() + time::Duration::minutes(10);
        rig.tracker
            .outage(until, Fault::RateLimited(Duration::from_secs(60)));
        let start = rig.now();
        let clock = rig.clock.clone();
        let five_minutes = futures::future::poll_fn(move |cx| {
            cx.waker().wake_by_ref();
            if clock.now() - start >= time::Duration::minutes(5) {
                std::task::Poll::Ready(())
            } else {
                std::task::Poll::Pending
            }
        });
        let run = block_on(rig.node.run(five_minutes)).unwrap();
        assert!(run.failed_cycles >= 1, "{run:?}");
    });
    let on_tracker = |scope| [("tracker", TRACKER), ("scope", scope)];
    let call_holds = value(
        &text,
        "twinsync_rate_limit_holds_total",
        &on_tracker("call"),
    );
    assert!(
        call_holds >= 2.0,
        "the 429 of the write and those of the polls: {call_holds}"
    );
    let held = value(
        &text,
        "twinsync_rate_limit_hold_seconds_total",
        &on_tracker("call"),
    );
    assert_eq!(
        held,
        20.0 + 60.0 * (call_holds - 1.0),
        "each hold's Retry-After"
    );
    assert!(
        value(
            &text,
            "twinsync_rate_limit_holds_total",
            &on_tracker("connection")
        ) >= 1.0
    );
    assert!(
        value(
            &text,
            "twinsync_tracker_errors_total",
            &[("op", "update_issue"), ("kind", "rate_limited")]
        ) == 1.0
    );
}

#[test]
fn healthz_answers_and_readyz_follows_the_tracker() {
    let rig = LocalRig::new();
    let app = Ops::new()
        .node(rig.node.clone())
        .readiness_timeout(Duration::from_secs(2))
        .router();
    block_on(async {
        assert_eq!(
            get(&app, "/healthz").await,
            (StatusCode::OK, "ok\n".to_owned())
        );
        let (status, body) = get(&app, "/readyz").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let json: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(json["ready"], true);
        assert_eq!(json["checks"].as_array().unwrap().len(), 2, "{json}");

        let until = rig.now() + time::Duration::hours(1);
        rig.tracker.outage(until, Fault::ServerError);
        let (status, body) = get(&app, "/readyz").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        let json: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(json["ready"], false);
        let checks = json["checks"].as_array().unwrap();
        let store = checks.iter().find(|c| c["component"] == "store").unwrap();
        assert_eq!(store["ready"], true, "{json}");
        let tracker = checks.iter().find(|c| c["component"] == "tracker").unwrap();
        assert_eq!(tracker["ready"], false, "{json}");
        assert_eq!(tracker["node"], TRACKER);
        assert_eq!(tracker["error"]["kind"], "unavailable", "{json}");
        // Without metrics, there is no /metrics.
        assert_eq!(get(&app, "/metrics").await.0, StatusCode::NOT_FOUND);

        rig.tracker.clear_faults();
        let (status, body) = get(&app, "/readyz").await;
        assert_eq!(status, StatusCode::OK, "{body}");
    });
}

/// A token of our own for the Jira adapter, to look for in every answer.
const SECRET_TOKEN: &str = "tok-0f9e8d7c6b5a-S3CR3T";
const SECRET_EMAIL: &str = "sync-bot@acme.example";

#[test]
fn no_secret_in_metrics_or_readiness() {
    let recorder = prometheus_recorder();
    let rig = JiraRig::with_adapter(JiraFlavor::Cloud, |site| {
        let bot = UserRef::new(lit::user_id("sync-bot"), "Sync Bot");
        site.emulator()
            .add_user(bot.clone(), SECRET_EMAIL, SECRET_TOKEN);
        site.contents().set_global_admin(&bot.id, true);
        Arc::new(
            JiraCloud::builder()
                .base_url(site.emulator().base_url())
                .api_token(SECRET_EMAIL, SECRET_TOKEN)
                .clock(site.contents().clock().clone())
                .build()
                .unwrap(),
        )
    });
    let app = Ops::new()
        .node(rig.node.clone())
        .prometheus(recorder.handle())
        .readiness_timeout(Duration::from_secs(5))
        .router();
    let (metrics_text, ready_body) = metrics::with_local_recorder(&recorder, || {
        rig.block_on(async {
            let user = rig.user();
            user.create("SUP", "Bug", "Printer on fire");
            rig.node
                .exalate(&rig.conn.id, &lit::key("SUP-1"))
                .await
                .unwrap();
            user.edit_summary("SUP-1", "Printer still on fire");
            rig.clock.advance(Duration::from_secs(5));
            rig.node.sync(&rig.conn.id).await.unwrap();
            // Jira answers 503 to everything: cycles and the probe fail.
            rig.site.emulator().inject(
                FaultRule::new(HttpFault::ServerError {
                    status: 503,
                    retry_after: None,
                })
                .times(usize::MAX),
            );
            rig.clock.advance(Duration::from_secs(5));
            rig.node.sync(&rig.conn.id).await.unwrap_err();
            let (status, ready) = get(&app, "/readyz").await;
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{ready}");
            (get(&app, "/metrics").await.1, ready)
        })
    });
    assert!(
        metrics_text.contains("twinsync_tracker_writes_total"),
        "{metrics_text}"
    );
    assert!(ready_body.contains("\"tracker\""), "{ready_body}");
    let basic = base64_of(&format!("{SECRET_EMAIL}:{SECRET_TOKEN}"));
    for (what, text) in [("/metrics", &metrics_text), ("/readyz", &ready_body)] {
        for secret in [SECRET_TOKEN, basic.as_str()] {
            assert!(!text.contains(secret), "{what} shows a secret:\n{text}");
        }
    }
}

fn base64_of(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(text)
}

#[test]
fn latency_from_an_origin_clock_ahead_counts_as_zero() {
    // An origin clock ahead of the node's: the edit seems to come from the
    // future; its latency counts as zero, never as a negative number.
    let recorder = prometheus_recorder();
    let clock = Arc::new(ManualClock::default());
    let ahead = Arc::new(ManualClock::new(clock.now() + time::Duration::minutes(10)));
    let tracker =
        twinsync::MemoryTracker::with_clock("https://rig.example", ahead.clone()).unwrap();
    twinsync::testkit::setup_memory_tracker(&tracker);
    let text = metrics::with_local_recorder(&recorder, || {
        let node = block_on(
            Node::builder()
                .tracker(Arc::new(tracker.clone()))
                .store(Arc::new(twinsync::store::MemoryStore::new()))
                .clock(clock.clone())
                .build(),
        )
        .unwrap();
        let conn = block_on(node.admin(&lit::user_id("ada")).create_local_connection(
            "SUP",
            "DEV",
            LocalConnectionOptions::default(),
        ))
        .unwrap();
        let user = User(&tracker);
        user.create("SUP", "Bug", "Printer on fire");
        block_on(node.exalate(&conn.id, &lit::key("SUP-1"))).unwrap();
        user.edit_summary("SUP-1", "Printer still on fire");
        clock.advance(Duration::from_secs(1));
        block_on(node.sync(&conn.id)).unwrap();
        recorder.handle().render()
    });
    let latency = "twinsync_sync_latency_seconds";
    assert_eq!(
        value(&text, &format!("{latency}_count"), &on_conn(&[])),
        1.0
    );
    assert_eq!(value(&text, &format!("{latency}_sum"), &on_conn(&[])), 0.0);
}
