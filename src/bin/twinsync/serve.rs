//! `twinsync serve`: the node running by itself until Ctrl-C or SIGTERM.

use std::sync::Arc;

use twinsync::engine::{Node, RunReport};

use crate::failure::Outcome;
use crate::setup::Opened;

/// Every HTTP route the node serves, merged into one router here: the peer
/// endpoint (`POST /twinsync`, which other nodes call). The Jira webhook
/// receiver and the `/healthz`, `/readyz` and `/metrics` routes are merged
/// into this same router.
pub fn routes(node: &Node) -> axum::Router {
    twinsync::transport::http::router(Arc::new(node.clone()))
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

/// Runs the node of the config until a stop signal; serves its endpoint
/// when it listens.
pub async fn serve(opened: Opened) -> Outcome {
    let Opened {
        node,
        server,
        config,
        ..
    } = opened;
    let handle = match server {
        Some(server) => Some(server.serve_router(routes(&node))?),
        None => None,
    };
    match &handle {
        Some(h) => println!(
            "node {} serving {} (listening on {}); Ctrl-C or SIGTERM stops it",
            config.node.name,
            h.url().endpoint(),
            h.local_addr()
        ),
        None => println!(
            "node {} running (not listening: it only calls out); Ctrl-C or SIGTERM stops it",
            config.node.name
        ),
    }
    for c in node.connections()? {
        println!("  {c}");
    }
    let report = node.run(stop_signal()).await;
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
