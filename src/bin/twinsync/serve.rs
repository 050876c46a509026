//! `twinsync serve`: the node running by itself until Ctrl-C or SIGTERM.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use metrics_exporter_prometheus::PrometheusHandle;
use twinsync::engine::{Node, RunReport};
use twinsync::model::UserId;
use twinsync::server::console::{ApiToken, CONSOLE_PATH, Console, Role};
use twinsync::server::ops::{HEALTHZ_PATH, METRICS_PATH, Ops, READYZ_PATH, upkeep};
use twinsync::server::webhook::WebhookReceiver;

use crate::config::{Config, ConsoleSettings};
use crate::failure::{FAILED, Failure, Outcome};
use crate::setup::Opened;

pub mod webhooks;

use webhooks::public_url;

/// How often the Prometheus recorder's upkeep runs between scrapes.
const UPKEEP_EVERY: Duration = Duration::from_secs(60);

/// Every HTTP route the node serves, merged into one router here: the peer
/// endpoint (`POST /twinsync`, which other nodes call), `/healthz`,
/// `/readyz` and `/metrics` (from `metrics`, the recorder the binary
/// installed at start), and, when given, the Jira webhook receiver
/// (`POST /webhooks/jira`) and the web console with its JSON API
/// (`/console`, `/api/v1`).
pub fn routes(
    node: &Node,
    metrics: PrometheusHandle,
    webhooks: Option<&WebhookReceiver>,
    console: Option<&Console>,
) -> axum::Router {
    let mut router = twinsync::transport::http::router(Arc::new(node.clone()))
        .merge(Ops::new().node(node.clone()).prometheus(metrics).router());
    if let Some(receiver) = webhooks {
        router = router.merge(receiver.router());
    }
    if let Some(console) = console {
        router = router.merge(console.router());
    }
    router
}

/// The name of the token `serve` makes at start for the admin commands run
/// beside it (they find it in [`local_api_file`]).
pub const LOCAL_TOKEN_NAME: &str = "local-cli";

/// Where a listening `serve` leaves the URL of its JSON API and its local
/// admin token, for the admin commands run while it holds the state file:
/// `<state>.serve.json` (mode 600), removed when it stops.
pub fn local_api_file(state: &Path) -> PathBuf {
    let mut name = state.as_os_str().to_owned();
    name.push(".serve.json");
    PathBuf::from(name)
}

/// The URL of the console on a node reachable at `base`.
pub fn console_url(base: &str) -> String {
    format!("{}{CONSOLE_PATH}", base.trim_end_matches('/'))
}

/// Random bytes as hex digits, wiped on drop.
pub fn random_hex(bytes: usize, what: &str) -> Outcome<zeroize::Zeroizing<String>> {
    let mut raw = zeroize::Zeroizing::new(vec![0u8; bytes]);
    getrandom::fill(raw.as_mut_slice())
        .map_err(|e| Failure::new(FAILED, format!("no randomness for {what}: {e}")))?;
    Ok(zeroize::Zeroizing::new(hex::encode(raw.as_slice())))
}

/// The console of `serve`: the local admin token (an owner acting as the
/// integration user) always; the operators and tokens of `[console]`, and
/// the pages, when it is enabled (else only the JSON API, for the local
/// token: the console is off for people).
fn console(
    node: &Node,
    admin: &UserId,
    settings: Option<&ConsoleSettings>,
    local_token: &str,
) -> Outcome<Console> {
    let mut builder = Console::builder(node.clone()).token(ApiToken::new(
        LOCAL_TOKEN_NAME,
        local_token,
        Role::Owner,
        admin.clone(),
    )?);
    if let Some(settings) = settings.filter(|s| s.enabled) {
        for operator in &settings.operators {
            builder = builder.operator(operator.operator(admin)?);
        }
        for token in &settings.tokens {
            builder = builder.token(token.token(admin)?);
        }
        if let Some(key) = &settings.session_key {
            builder = builder.session_key(key.clone());
        }
        builder = builder.secure_cookies(settings.secure_cookies);
    } else {
        builder = builder.pages(false);
    }
    Ok(builder.build()?)
}

/// The local API file of a running `serve`; removed when dropped.
struct LocalApiFile(PathBuf);

impl LocalApiFile {
    /// Writes `{"url", "token"}` to `path`, created afresh with mode 600
    /// before anything is written (a file a crash left behind is replaced).
    fn write(path: PathBuf, url: &str, token: &str) -> std::io::Result<LocalApiFile> {
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&path)?;
        let guard = LocalApiFile(path);
        let text =
            zeroize::Zeroizing::new(serde_json::json!({ "url": url, "token": token }).to_string());
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        Ok(guard)
    }
}

impl Drop for LocalApiFile {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_file(&self.0)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(file = %self.0.display(), error = %e, "cannot remove the local API file");
        }
    }
}

/// Where the admin commands on this machine reach a listening node: its
/// plain-HTTP loopback URL, or with TLS node.url (which the certificate
/// names), else the bound address.
fn local_url(config: &Config, bound: &twinsync::model::NodeUrl) -> String {
    let url = match (&config.node.tls, &config.node.url) {
        (Some(_), Some(url)) => url.as_str(),
        _ => bound.as_str(),
    };
    url.trim_end_matches('/').to_owned()
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
        admin,
        server,
        config,
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
    // The admin commands run while serve holds the state file go through
    // the JSON API with this token, which only this machine's file holds.
    let local_token = random_hex(32, "the local admin token")?;
    let handle = match server {
        Some(server) => {
            let console = console(&node, &admin, config.console.as_ref(), &local_token)?;
            Some(server.serve_router(routes(
                &node,
                metrics.clone(),
                webhooks.as_ref().map(|w| &w.receiver),
                Some(&console),
            ))?)
        }
        None => None,
    };
    let local_file = match &handle {
        Some(h) => {
            let path = local_api_file(&config.node.state);
            match LocalApiFile::write(path.clone(), &local_url(&config, h.url()), &local_token) {
                Ok(file) => Some(file),
                Err(e) => {
                    tracing::warn!(
                        file = %path.display(),
                        error = %e,
                        "cannot write the local API file: admin commands are refused while serve runs"
                    );
                    None
                }
            }
        }
        None => None,
    };
    drop(local_token);
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
            let console = match &config.console {
                Some(c) if c.enabled => format!(", console {}", console_url(base)),
                _ => String::new(),
            };
            println!(
                "  health {base}{HEALTHZ_PATH}, readiness {base}{READYZ_PATH}, metrics {}{console}",
                metrics_url(base)
            );
            if local_file.is_some() {
                println!(
                    "  admin commands (status, errors, retry, trigger, …) work while it runs, \
                     through this node"
                );
            }
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
    drop(local_file);
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
