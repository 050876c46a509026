//! `twinsync serve`: the node running by itself until Ctrl-C or SIGTERM.

use std::sync::Arc;
use std::time::Duration;

use metrics_exporter_prometheus::PrometheusHandle;
use twinsync::engine::{Node, RunReport};
use twinsync::server::ops::{HEALTHZ_PATH, METRICS_PATH, Ops, READYZ_PATH, upkeep};
use twinsync::server::webhook::WebhookReceiver;

use crate::failure::Outcome;
use crate::setup::Opened;

pub mod webhooks;

use webhooks::public_url;

/// How often the Prometheus recorder's upkeep runs between scrapes.
const UPKEEP_EVERY: Duration = Duration::from_secs(60);

/// Every HTTP route the node serves, merged into one router here: the peer
/// endpoint (`POST /twinsync`, which other nodes call), `/healthz`,
/// `/readyz` and `/metrics` (from `metrics`, the recorder the binary
/// installed at start), and, when given, the Jira webhook receiver
/// (`POST /webhooks/jira`).
pub fn routes(
    node: &Node,
    metrics: PrometheusHandle,
    webhooks: Option<&WebhookReceiver>,
) -> axum::Router {
    let mut router = twinsync::transport::http::router(Arc::new(node.clone()))
        .merge(Ops::new().node(node.clone()).prometheus(metrics).router());
    if let Some(receiver) = webhooks {
        router = router.merge(receiver.router());
    }
    router
}

/// Runs the recorder's upkeep until the returned task is aborted.
pub fn spawn_upkeep(metrics: &PrometheusHandle) -> tokio::task::JoinHandle<()> {
    tokio::spawn(upkeep(metrics.clone(), UPKEEP_EVERY))
}

/// The URL of `/metrics` on a node reachable at `base`.
pub fn metrics_url(base: &str) -> String {
    format!("{}{METRICS_PATH}", base.trim_end_matches('/'))
}

/// Completes on Ctrl-C (SIGINT) or SIGTERM.
pub async fn stop_signal() {
    let interrupt = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}

/// Runs the node of the config until a stop signal; serves its endpoint,
/// the operations routes and the webhook receiver when it listens.
pub async fn serve(opened: Opened, metrics: PrometheusHandle) -> Outcome {
    let Opened {
        node,
        server,
        config,
        ..
    } = opened;
    let webhooks = match (&server, &config.webhooks) {
        (Some(server), Some(settings)) => Some(webhooks::Webhooks::new(
            &node,
            &config,
            settings,
            &public_url(&config, server),
        )?),
        _ => None,
    };
    let handle = match server {
        Some(server) => Some(server.serve_router(routes(
            &node,
            metrics.clone(),
            webhooks.as_ref().map(|w| &w.receiver),
        ))?),
        None => None,
    };
    let upkeep = spawn_upkeep(&metrics);
    match &handle {
        Some(h) => {
            println!(
                "node {} serving {} (listening on {}); Ctrl-C or SIGTERM stops it",
                config.node.name,
                h.url().endpoint(),
                h.local_addr()
            );
            let base = config.node.url.clone().unwrap_or_else(|| h.url().clone());
            let base = base.as_str();
            println!(
                "  health {base}{HEALTHZ_PATH}, readiness {base}{READYZ_PATH}, metrics {}",
                metrics_url(base)
            );
        }
        None => println!(
            "node {} running (not listening: it only calls out, and serves no /metrics); \
             Ctrl-C or SIGTERM stops it",
            config.node.name
        ),
    }
    for c in node.connections()? {
        println!("  {c}");
    }
    let report = match &webhooks {
        Some(w) => w.run_beside(&node, stop_signal()).await,
        None => node.run(stop_signal()).await.map_err(Into::into),
    };
    upkeep.abort();
    if let Some(h) = handle {
        h.shutdown().await;
    }
    let report = report?;
    println!("stopped: {}", summary(&report));
    Ok(())
}

/// One line about a run.
pub fn summary(report: &RunReport) -> String {
    format!(
        "{} cycle(s) ({} failed), {} twin(s) synced, {} write(s)",
        report.cycles, report.failed_cycles, report.totals.synced, report.totals.writes
    )
}
