//! The operations routes of a node: `/healthz` (liveness), `/readyz`
//! (readiness: store and tracker answer) and `/metrics` (Prometheus text).
//!
//! ```
//! # #[cfg(feature = "prometheus")] {
//! # use std::sync::Arc;
//! # use twinsync::{MemoryTracker, engine::Node, store::MemoryStore};
//! use twinsync::server::ops::{Ops, prometheus_recorder};
//!
//! # futures::executor::block_on(async {
//! # let tracker = MemoryTracker::new("https://acme.example")?;
//! # let node = Node::builder()
//! #     .tracker(Arc::new(tracker))
//! #     .store(Arc::new(MemoryStore::new()))
//! #     .build()
//! #     .await?;
//! // A real server installs it once, globally: `install_prometheus()?`.
//! let recorder = prometheus_recorder();
//! let app: axum::Router = Ops::new()
//!     .node(node)
//!     .prometheus(recorder.handle())
//!     .router();
//! // Merge it with the other routes and serve it.
//! # let _ = app;
//! # Ok::<(), twinsync::Error>(())
//! # }).unwrap();
//! # }
//! ```
//!
//! Nothing these routes answer holds a secret: readiness names the node
//! (its tracker's URL), the check and the error, whose messages never carry
//! credentials; metrics carry no issue, user or secret (see
//! [`crate::metrics`]).

#[cfg(feature = "prometheus")]
#[cfg_attr(docsrs, doc(cfg(feature = "prometheus")))]
mod prometheus;

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures::FutureExt;
use serde::Serialize;

use crate::engine::Node;
use crate::error::{Error, ErrorKind};

#[cfg(feature = "prometheus")]
pub use self::prometheus::{install_prometheus, prometheus_recorder, upkeep};

/// The liveness route: `200 ok` while the process answers.
pub const HEALTHZ_PATH: &str = "/healthz";
/// The readiness route: `200` when every node's store and tracker answer,
/// else `503`; a JSON [`Readiness`] either way.
pub const READYZ_PATH: &str = "/readyz";
/// The metrics route: Prometheus' text format.
pub const METRICS_PATH: &str = "/metrics";

/// How long a readiness check waits for a store or tracker by default.
pub const DEFAULT_READINESS_TIMEOUT: Duration = Duration::from_secs(5);

type Render = Arc<dyn Fn() -> String + Send + Sync>;

/// Builds the operations router of one process's nodes.
///
/// `/metrics` is served when a renderer is given
/// ([`prometheus`](Ops::prometheus), or [`metrics_with`](Ops::metrics_with)
/// for a recorder of your own); without one the path is `404`.
#[derive(Clone)]
pub struct Ops {
    nodes: Vec<Node>,
    render: Option<Render>,
    timeout: Duration,
}

impl fmt::Debug for Ops {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ops")
            .field("nodes", &self.nodes)
            .field("metrics", &self.render.is_some())
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl Default for Ops {
    fn default() -> Self {
        Ops {
            nodes: Vec::new(),
            render: None,
            timeout: DEFAULT_READINESS_TIMEOUT,
        }
    }
}

impl Ops {
    /// Routes with no node yet, no metrics, the default timeout.
    pub fn new() -> Self {
        Ops::default()
    }

    /// Adds a node whose store and tracker `/readyz` checks.
    pub fn node(mut self, node: Node) -> Self {
        self.nodes.push(node);
        self
    }

    /// How long `/readyz` waits for each store and tracker (default
    /// [`DEFAULT_READINESS_TIMEOUT`]) before it counts it not ready.
    pub fn readiness_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Serves `/metrics` with the text `render` gives (Prometheus' text
    /// format), for a recorder of your own.
    pub fn metrics_with(mut self, render: impl Fn() -> String + Send + Sync + 'static) -> Self {
        self.render = Some(Arc::new(render));
        self
    }

    /// Serves `/metrics` from a Prometheus recorder's handle (from
    /// [`install_prometheus`] or [`prometheus_recorder`]).
    #[cfg(feature = "prometheus")]
    #[cfg_attr(docsrs, doc(cfg(feature = "prometheus")))]
    pub fn prometheus(self, handle: metrics_exporter_prometheus::PrometheusHandle) -> Self {
        self.metrics_with(move || handle.render())
    }

    /// Checks every node's store and tracker, each within the timeout, all
    /// at once: what `/readyz` answers.
    pub async fn readiness(&self) -> Readiness {
        let checks = self.nodes.iter().map(|node| async move {
            let node_name = node.instance().to_string();
            let store = within(self.timeout, async { node.check_store() }).await;
            let tracker = within(self.timeout, node.check_tracker()).await;
            [
                Check::of(&node_name, Component::Store, store),
                Check::of(&node_name, Component::Tracker, tracker),
            ]
        });
        let checks: Vec<Check> = futures::future::join_all(checks)
            .await
            .into_iter()
            .flatten()
            .collect();
        Readiness {
            ready: checks.iter().all(|c| c.ready),
            checks,
        }
    }

    /// The router: `GET /healthz`, `GET /readyz` and (with a renderer)
    /// `GET /metrics`. Merge it into your server's router.
    pub fn router(self) -> Router {
        let render = self.render.clone();
        let ops = Arc::new(self);
        let mut router = Router::new()
            .route(HEALTHZ_PATH, get(|| async { "ok\n" }))
            .route(
                READYZ_PATH,
                get(move || {
                    let ops = ops.clone();
                    async move { ready_response(&ops.readiness().await) }
                }),
            );
        if let Some(render) = render {
            router = router.route(
                METRICS_PATH,
                get(move || {
                    let render = render.clone();
                    async move {
                        (
                            [(
                                header::CONTENT_TYPE,
                                "text/plain; version=0.0.4; charset=utf-8",
                            )],
                            render(),
                        )
                    }
                }),
            );
        }
        router
    }
}

/// `future`'s result, or a `Timeout` error after `timeout` (real time).
async fn within<F>(timeout: Duration, future: F) -> Result<(), Error>
where
    F: Future<Output = Result<(), Error>>,
{
    futures::select_biased! {
        result = future.fuse() => result,
        () = futures_timer::Delay::new(timeout).fuse() => Err(Error::new(
            ErrorKind::Timeout,
            format!("no answer within {} ms", timeout.as_millis()),
        )),
    }
}

fn ready_response(readiness: &Readiness) -> Response {
    let status = if readiness.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    match serde_json::to_string_pretty(readiness) {
        Ok(body) => (status, [(header::CONTENT_TYPE, "application/json")], body).into_response(),
        Err(err) => {
            tracing::error!(error = %err, "cannot write the readiness answer");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// What `/readyz` found.
///
/// ```json
/// {
///   "ready": false,
///   "checks": [
///     { "node": "https://acme.atlassian.net", "component": "store", "ready": true },
///     { "node": "https://acme.atlassian.net", "component": "tracker", "ready": false,
///       "error": { "kind": "unavailable", "message": "…" } }
///   ]
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Readiness {
    /// Whether every check passed.
    pub ready: bool,
    /// Each node's store and tracker.
    pub checks: Vec<Check>,
}

/// One readiness check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Check {
    /// The node: its tracker's instance URL.
    pub node: String,
    /// What was checked.
    pub component: Component,
    /// Whether it answered in time.
    pub ready: bool,
    /// Why not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<CheckError>,
}

impl Check {
    fn of(node: &str, component: Component, result: Result<(), Error>) -> Self {
        let error = result.err().map(|e| {
            tracing::debug!(node, ?component, error = %e, "not ready");
            CheckError {
                kind: crate::metrics::kind_label(e.kind()),
                message: e.to_string(),
            }
        });
        Check {
            node: node.to_owned(),
            component,
            ready: error.is_none(),
            error,
        }
    }
}

/// What a readiness check looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Component {
    /// The node's state store.
    Store,
    /// The node's tracker.
    Tracker,
}

/// Why a check failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct CheckError {
    /// The [`ErrorKind`] in snake case (`unavailable`, `timeout`,
    /// `unauthenticated`, …).
    pub kind: &'static str,
    /// The error's message (twinsync's messages never carry a secret).
    pub message: String,
}
