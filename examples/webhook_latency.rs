//! How long an edit takes to reach its twin when Jira webhooks wake the
//! node: p50 and p99 from the edit (the REST call that made it returned) to
//! the twin written (the emulator holds the new summary).
//!
//! ```text
//! cargo run --release --all-features --example webhook_latency -- --samples 200
//! ```
//!
//! One loopback Jira emulator with projects SUP and DEV; a node syncing
//! SUP → DEV through the `JiraCloud` adapter, running `Node::run` with a
//! one-hour poll interval, so every sync here is a webhook's doing; its
//! webhook receiver on a loopback port, entered in the emulator as an admin
//! webhook with a secret. A person edits SUP issues one at a time through
//! Jira's REST API; each edit's latency is timed on the wall clock. The
//! emulator answers at once: on a real site add Jira's delivery delay and a
//! round trip or two.

use std::sync::Arc;
use std::time::{Duration, Instant};

use twinsync::engine::{LocalConnectionOptions, Node, NodeOptions};
use twinsync::model::{IssueKey, UserId};
use twinsync::server::webhook::{WebhookConfig, WebhookReceiver, WebhookSecret};
use twinsync::store::MemoryStore;
use twinsync::tracker::jira::JiraCloud;
use twinsync::tracker::jira::emulator::{AdminWebhook, JiraEmulator};
use twinsync::tracker::{IssueUpdate, NewIssue, Tracker};
use twinsync::transport::http::{HttpServer, ServerTls};
use twinsync::{Error, ErrorKind, Result};

const SECRET: &str = "webhook-latency-example-secret";

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if let Err(e) = run().await {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn samples() -> Result<usize> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [] => Ok(200),
        [flag, n] if flag == "--samples" => n.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
            Error::new(ErrorKind::InvalidInput, "--samples takes a positive number")
        }),
        _ => Err(Error::new(
            ErrorKind::InvalidInput,
            "usage: webhook_latency [--samples N]",
        )),
    }
}

async fn run() -> Result<()> {
    let samples = samples()?;
    let emulator = JiraEmulator::start().await?;
    let node = Node::builder()
        .tracker(Arc::new(emulator.cloud()?))
        .store(Arc::new(MemoryStore::new()))
        .options(
            NodeOptions::default()
                .with_poll_interval(Duration::from_secs(3600))
                .with_jitter(0.0),
        )
        .build()
        .await?;
    let conn = node
        .admin(&UserId::new("ada")?)
        .create_local_connection("SUP", "DEV", LocalConnectionOptions::default())
        .await?
        .id;
    let receiver = WebhookReceiver::new(
        node.clone(),
        WebhookConfig::default().admin_secret(WebhookSecret::new(SECRET)?),
    )?;
    let server = HttpServer::bind(
        "127.0.0.1:0"
            .parse()
            .map_err(|_| Error::new(ErrorKind::InvalidInput, "bad address"))?,
        ServerTls::plain_http_on_loopback(),
    )?
    .serve_router(receiver.router())?;
    let hook = format!(
        "{}/webhooks/jira",
        server.url().to_string().trim_end_matches('/')
    );
    emulator.add_admin_webhook(AdminWebhook::new(hook).secret(SECRET).jql("project = SUP"));
    let person = JiraCloud::builder()
        .base_url(emulator.base_url())
        .api_token("ada@example.com", "ada-token")
        .build()?;

    // Ten twins, edited in turn.
    let mut pairs: Vec<(IssueKey, IssueKey)> = Vec::new();
    for n in 0..10 {
        let sup = person
            .create_issue(&NewIssue::new("SUP".parse()?, "Task", format!("Issue {n}")))
            .await?;
        let info = node.exalate(&conn, &sup.key).await?;
        let dev = info
            .twin
            .ok_or_else(|| Error::new(ErrorKind::Unexpected, "exalate made no twin"))?
            .key;
        pairs.push((sup.key, dev));
    }
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = {
        let node = node.clone();
        tokio::spawn(async move {
            node.run(async {
                let _ = stopped.await;
            })
            .await
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;

    let mut latencies = Vec::with_capacity(samples);
    for i in 0..samples {
        let (sup, dev) = &pairs[i % pairs.len()];
        let id = emulator
            .tracker()
            .inspect_issue(sup)
            .ok_or_else(|| Error::new(ErrorKind::NotFound, format!("{sup} is gone")))?
            .id;
        let summary = format!("Edit {i}");
        person
            .update_issue(&id, &IssueUpdate::new().summary(&summary))
            .await?;
        let edited = Instant::now();
        loop {
            let twin = emulator.tracker().inspect_issue(dev);
            if twin.is_some_and(|t| t.summary == summary) {
                break;
            }
            if edited.elapsed() > Duration::from_secs(30) {
                return Err(Error::new(
                    ErrorKind::Unexpected,
                    format!("edit {i} did not reach {dev} within 30 s"),
                ));
            }
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        latencies.push(edited.elapsed());
    }
    let _ = stop.send(());
    let report = running
        .await
        .map_err(|e| Error::new(ErrorKind::Unexpected, e.to_string()))??;
    server.shutdown().await;

    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize];
    let counts = receiver.counts();
    println!("edit → twin written, {samples} edits, webhooks on, poll interval 1 h:");
    println!(
        "  p50 {:.1} ms   p99 {:.1} ms   max {:.1} ms",
        at(0.50).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
        at(1.0).as_secs_f64() * 1e3,
    );
    println!(
        "  deliveries accepted {}, duplicate {}; cycles run {}",
        counts.accepted, counts.duplicate, report.cycles
    );
    Ok(())
}
