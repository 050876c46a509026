//! A receiver for Jira's webhook deliveries (feature `http`): each verified
//! delivery becomes a hint ([`Node::hint_changed`](crate::engine::Node::hint_changed))
//! that wakes the connections syncing the issue's project. A delivery is
//! never a write and the receiver never reads the tracker: the woken cycle
//! reads the issue. Polling stays the backstop for deliveries that arrive
//! late, twice or never.
//!
//! - **Fail-closed.** Every delivery must be signed: an admin webhook's
//!   `X-Hub-Signature: sha256=<hex HMAC-SHA256 of the raw body>` with its
//!   secret ([`WebhookConfig::admin_secret`]), or an OAuth 2.0 app's dynamic
//!   webhook's `Authorization: Bearer <JWT>` (HS256 with the app's client
//!   secret, [`WebhookConfig::app_secret`]; `exp` and `iat` checked). Both
//!   compare in constant time. A receiver without a secret cannot be made.
//! - **Events:** `jira:issue_created`, `jira:issue_updated`,
//!   `comment_created`, `comment_updated`, `comment_deleted`,
//!   `attachment_created`, `attachment_deleted` ([`WebhookEvent`]).
//! - **Retries and repeats** carry the same `X-Atlassian-Webhook-Identifier`
//!   (retries add `X-Atlassian-Webhook-Retry`): the receiver remembers recent
//!   identifiers and answers a repeat `200` without a second hint.
//! - **Bounded.** Hints wait in a bounded intake
//!   ([`NodeOptions::hint_capacity`](crate::engine::NodeOptions::hint_capacity));
//!   a flood beyond it is dropped (answered `202`, so Jira does not retry)
//!   and polling covers it.
//!
//! Every delivery is counted by result in the `metrics` facade as
//! `twinsync_webhook_deliveries_total{result=…}` and in
//! [`WebhookReceiver::counts`]; refusals are logged (never with the body,
//! a signature or a secret). Answers:
//!
//! | result | status | when |
//! |---|---|---|
//! | `accepted` | 202 | a hint was queued |
//! | `duplicate` | 200 | an identifier seen recently |
//! | `bad_signature` | 401 | no, a malformed, or a wrong signature |
//! | `malformed` | 400 | not JSON, or no event, issue key or project |
//! | `unknown_event` | 202 | an event twinsync does not listen to (ignored) |
//! | `unsynced_project` | 202 | no connection syncs the issue's project (ignored) |
//! | `no_issue` | 202 | an attachment event without its issue (ignored; Jira also sends `jira:issue_updated`) |
//! | `overflow` | 202 | the intake is full (dropped; polling covers it) |
//! | `error` | 503 | the node's store failed (Jira retries) |
//!
//! A body over [`WebhookConfig::body_limit`] is answered `413` before it is
//! read (and not counted).
//!
//! ```no_run
//! # async fn demo(node: twinsync::engine::Node) -> twinsync::Result<()> {
//! use twinsync::server::webhook::{WebhookConfig, WebhookReceiver, WebhookSecret};
//! use twinsync::transport::http::{HttpServer, ServerTls};
//!
//! let config = WebhookConfig::default()
//!     .admin_secret(WebhookSecret::from_env("TWINSYNC_JIRA_WEBHOOK_SECRET")?);
//! let receiver = WebhookReceiver::new(node.clone(), config)?;
//! let routes = twinsync::transport::http::router(std::sync::Arc::new(node))
//!     .merge(receiver.router()); // POST /webhooks/jira
//! let tls = ServerTls::from_pem_files("cert.pem", "key.pem")?;
//! let server = HttpServer::bind("0.0.0.0:8443".parse().unwrap(), tls)?.serve_router(routes)?;
//! # let _ = server; Ok(()) }
//! ```

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::post;

use crate::engine::Node;
use crate::error::{Error, ErrorKind, Result};

mod dedupe;
mod delivery;
mod handler;
#[cfg(feature = "jira")]
mod register;
mod secret;
mod settings;
mod verify;

pub use delivery::WebhookEvent;
#[cfg(feature = "jira")]
pub use register::{DynamicWebhooks, Registration};
pub use secret::WebhookSecret;
pub use settings::{AdminWebhookSettings, admin_webhook_settings, jql_filter};

/// The path the receiver serves: `POST /webhooks/jira`.
pub const JIRA_WEBHOOK_PATH: &str = "/webhooks/jira";

/// The largest delivery body read by default (4 MiB is plenty: Jira's
/// bodies hold one issue); larger ones get `413`.
pub const DEFAULT_WEBHOOK_BODY_LIMIT: usize = 4 * 1024 * 1024;

/// How a [`WebhookReceiver`] checks deliveries.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct WebhookConfig {
    /// The secret of admin webhooks (`X-Hub-Signature`), if any.
    pub admin_secret: Option<WebhookSecret>,
    /// The OAuth 2.0 app's client secret that signs its dynamic webhooks'
    /// JWTs, if any.
    pub app_secret: Option<WebhookSecret>,
    /// How many recent delivery identifiers are remembered (default 10 000).
    pub dedupe_capacity: usize,
    /// The largest body read (default [`DEFAULT_WEBHOOK_BODY_LIMIT`]).
    pub body_limit: usize,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig {
            admin_secret: None,
            app_secret: None,
            dedupe_capacity: 10_000,
            body_limit: DEFAULT_WEBHOOK_BODY_LIMIT,
        }
    }
}

impl WebhookConfig {
    /// Accepts admin webhooks signed with `secret`.
    pub fn admin_secret(mut self, secret: WebhookSecret) -> Self {
        self.admin_secret = Some(secret);
        self
    }

    /// Accepts dynamic webhooks whose JWT the OAuth 2.0 app's client
    /// `secret` signs.
    pub fn app_secret(mut self, secret: WebhookSecret) -> Self {
        self.app_secret = Some(secret);
        self
    }

    /// Remembers `capacity` recent delivery identifiers.
    pub fn dedupe_capacity(mut self, capacity: usize) -> Self {
        self.dedupe_capacity = capacity;
        self
    }

    /// Reads bodies of at most `bytes`.
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }
}

/// The deliveries a [`WebhookReceiver`] handled, by result (as the
/// `twinsync_webhook_deliveries_total` metric counts them).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WebhookCounts {
    /// Turned into a hint.
    pub accepted: u64,
    /// Repeats of a recent delivery.
    pub duplicate: u64,
    /// Refused: no, a malformed, or a wrong signature.
    pub bad_signature: u64,
    /// Refused: not a delivery twinsync can read.
    pub malformed: u64,
    /// Ignored: an event twinsync does not listen to.
    pub unknown_event: u64,
    /// Ignored: no connection syncs the project.
    pub unsynced_project: u64,
    /// Ignored: an attachment event without its issue.
    pub no_issue: u64,
    /// Dropped: the intake was full.
    pub overflow: u64,
    /// Failed: the node's store could not be read.
    pub error: u64,
}

/// Receives Jira's webhook deliveries for a [`Node`]; see the
/// [module docs](self). Clones share their state.
#[derive(Clone)]
pub struct WebhookReceiver {
    inner: Arc<Inner>,
}

struct Inner {
    node: Node,
    config: WebhookConfig,
    recent: Mutex<dedupe::Recent>,
    counts: Mutex<WebhookCounts>,
}

impl std::fmt::Debug for WebhookReceiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookReceiver")
            .field("node", self.inner.node.instance())
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl WebhookReceiver {
    /// A receiver that hints `node`.
    ///
    /// # Errors
    ///
    /// `InvalidConfig` when `config` has no secret at all: every delivery
    /// would be refused.
    pub fn new(node: Node, config: WebhookConfig) -> Result<Self> {
        if config.admin_secret.is_none() && config.app_secret.is_none() {
            return Err(Error::new(
                ErrorKind::InvalidConfig,
                "a webhook receiver needs an admin webhook secret or an OAuth app secret: \
                 it refuses unsigned deliveries",
            ));
        }
        Ok(WebhookReceiver {
            inner: Arc::new(Inner {
                node,
                recent: Mutex::new(dedupe::Recent::new(config.dedupe_capacity)),
                config,
                counts: Mutex::new(WebhookCounts::default()),
            }),
        })
    }

    /// The routes: `POST` [`JIRA_WEBHOOK_PATH`], to merge into the node's
    /// server.
    pub fn router(&self) -> Router {
        Router::new()
            .route(JIRA_WEBHOOK_PATH, post(handler::receive))
            .layer(DefaultBodyLimit::max(self.inner.config.body_limit))
            .with_state(self.clone())
    }

    /// The deliveries handled so far, by result.
    pub fn counts(&self) -> WebhookCounts {
        handler::lock(&self.inner.counts).clone()
    }
}
