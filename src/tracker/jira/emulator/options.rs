//! [`EmulatorOptions`]: how a [`JiraEmulator`](super::JiraEmulator) starts.

use std::sync::Arc;

use std::time::Duration;

use super::{AdminWebhook, Deployment, RequestValidator, StrictRequests};
use crate::clock::{Clock, SystemClock};

/// How to start a [`JiraEmulator`](super::JiraEmulator): the port and the clock.
///
/// ```no_run
/// use std::sync::Arc;
/// use twinsync::clock::ManualClock;
/// use twinsync::tracker::jira::emulator::{EmulatorOptions, JiraEmulator};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> twinsync::Result<()> {
/// let clock = Arc::new(ManualClock::default());
/// let emulator = JiraEmulator::start_with(EmulatorOptions::default().clock(clock.clone())).await?;
/// let jira = emulator.cloud()?; // holds back rate-limited calls on the same virtual clock
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct EmulatorOptions {
    /// The port on 127.0.0.1 (0, the default, for a free one).
    pub port: u16,
    /// Stamps changes, times the search lag, and is given to the adapters
    /// [`cloud`](super::JiraEmulator::cloud) and [`data_center`](super::JiraEmulator::data_center)
    /// make (default: the system clock). Give a test's virtual clock, so the
    /// emulator's timestamps, the engine's and the adapters' waits agree.
    pub clock: Arc<dyn Clock>,
    /// What the site says it is (default: [`Deployment::Cloud`]).
    pub deployment: Deployment,
    /// Strict mode: every JSON request body is checked by this validator first
    /// (default: none).
    pub strict: Option<StrictRequests>,
    /// An edit of a description or comment that removes the last reference
    /// to an attachment from the issue's bodies deletes that attachment, as
    /// Jira may (default: on).
    pub delete_unreferenced_attachments: bool,
    /// Admin webhooks, as a Jira administrator enters them (default: none;
    /// an OAuth 2.0 app registers dynamic ones through the REST API).
    pub admin_webhooks: Vec<AdminWebhook>,
    /// How many times a failed delivery is retried (default 2).
    pub webhook_retries: u32,
    /// How long before each retry (default 1 second, real time; Jira waits
    /// longer).
    pub webhook_retry_delay: Duration,
}

impl Default for EmulatorOptions {
    fn default() -> Self {
        EmulatorOptions {
            port: 0,
            clock: Arc::new(SystemClock),
            deployment: Deployment::Cloud,
            strict: None,
            delete_unreferenced_attachments: true,
            admin_webhooks: Vec::new(),
            webhook_retries: 2,
            webhook_retry_delay: Duration::from_secs(1),
        }
    }
}

impl EmulatorOptions {
    /// Listens on `port` (0 for a free one).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Runs on `clock`.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Calls itself `deployment` and behaves as it does.
    pub fn deployment(mut self, deployment: Deployment) -> Self {
        self.deployment = deployment;
        self
    }

    /// Strict mode: hands every JSON request body to `validator` before
    /// applying it; a refused request is answered 400 and recorded
    /// ([`JiraEmulator::violations`](super::JiraEmulator::violations)).
    pub fn strict_requests(mut self, validator: impl RequestValidator + 'static) -> Self {
        self.strict = Some(StrictRequests(Arc::new(validator)));
        self
    }

    /// Whether an edit that removes the last reference to an attachment
    /// deletes it (see [`delete_unreferenced_attachments`](Self::delete_unreferenced_attachments)).
    pub fn delete_unreferenced_attachments(mut self, on: bool) -> Self {
        self.delete_unreferenced_attachments = on;
        self
    }

    /// Adds an admin webhook (see [`admin_webhooks`](Self::admin_webhooks)).
    pub fn admin_webhook(mut self, webhook: AdminWebhook) -> Self {
        self.admin_webhooks.push(webhook);
        self
    }

    /// Retries a failed delivery `retries` times, `delay` apart.
    pub fn webhook_retries(mut self, retries: u32, delay: Duration) -> Self {
        self.webhook_retries = retries;
        self.webhook_retry_delay = delay;
        self
    }
}
