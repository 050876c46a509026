//! A loopback Jira emulator (feature `jira-emulator`): a stateful fake Jira
//! Cloud, with the REST v2 paths of Data Center, for tests, examples and
//! manual use with any Jira client.
//!
//! It serves the endpoints the twinsync adapters use with Atlassian's status
//! codes and body shapes — `self` URLs, `nextPageToken` and `startAt` paging,
//! entity properties, multipart uploads (part `file`, `X-Atlassian-Token:
//! no-check`, a 200 answer with an array), 303 redirects for downloads — and
//! keeps its state in a [`MemoryTracker`], so tests can inspect it. Searches
//! can lag behind writes, and faults can be injected: 429 with each
//! `RateLimit-Reason` and `Retry-After`, 5xx, latency, and lost answers (the
//! request is applied, then the connection is dropped).
//!
//! ```no_run
//! use twinsync::tracker::jira::emulator::JiraEmulator;
//! use twinsync::tracker::{NewIssue, Tracker};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> twinsync::Result<()> {
//! let emulator = JiraEmulator::start().await?; // 127.0.0.1, a free port
//! let jira = emulator.cloud()?;                // a JiraCloud signed in to it
//! let created = jira.create_issue(&NewIssue::new("SUP", "Bug", "Printer on fire")).await?;
//! assert_eq!(emulator.tracker().inspect_issue(&created.key).unwrap().summary, "Printer on fire");
//! # Ok(()) }
//! ```
//!
//! It starts with projects `SUP` (Bug, Task, Epic) and `DEV` (Bug, Task,
//! Story), the integration user (global admin) and three more users: `ada`
//! (global admin), `pat` (admin of `SUP`, member of group `sync-admins`) and
//! `uma`. The server runs on the tokio runtime that started it and stops when
//! the [`JiraEmulator`] is dropped (or when that runtime ends).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::Value;

use super::{JiraCloud, JiraDataCenter};
use crate::error::{Error, ErrorKind, Result};
use crate::model::{ProjectKey, UserId, UserRef};
use crate::tracker::MemoryTracker;

mod multipart;
mod render;
mod routes;
mod server;

/// The email the emulator's integration user signs in with.
pub const EMAIL: &str = "twinsync@example.com";
/// The API token the emulator accepts with [`EMAIL`] (HTTP Basic).
pub const API_TOKEN: &str = "emulator-api-token";
/// The bearer token (OAuth 2.0 or personal access token) the emulator accepts.
pub const BEARER_TOKEN: &str = "emulator-bearer-token";

/// Why a 429 is answered: the values of Jira's `RateLimit-Reason` header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RateLimitReason {
    /// `jira-per-issue-on-write`: too many writes to one issue.
    PerIssueOnWrite,
    /// `jira-burst-based`: too many calls to one endpoint per second.
    Burst,
    /// `jira-quota-global-based`: the app's hourly quota is used up.
    QuotaGlobal,
    /// `jira-quota-tenant-based`: the app's hourly quota on this site is used up.
    QuotaTenant,
}

impl RateLimitReason {
    /// The header value.
    pub fn as_str(self) -> &'static str {
        match self {
            RateLimitReason::PerIssueOnWrite => "jira-per-issue-on-write",
            RateLimitReason::Burst => "jira-burst-based",
            RateLimitReason::QuotaGlobal => "jira-quota-global-based",
            RateLimitReason::QuotaTenant => "jira-quota-tenant-based",
        }
    }
}

/// A fault the emulator injects into matching requests.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Answer 429 with `RateLimit-Reason` and `Retry-After` (whole seconds), applying nothing.
    RateLimited {
        /// The reason header.
        reason: RateLimitReason,
        /// The `Retry-After` header.
        retry_after: Duration,
    },
    /// Answer with this 5xx status (and `Retry-After` when given), applying nothing.
    ServerError {
        /// The status, such as 500 or 503.
        status: u16,
        /// The `Retry-After` header, if any.
        retry_after: Option<Duration>,
    },
    /// Apply the request, then answer after this delay.
    Latency(Duration),
    /// Apply the request, then drop the connection without answering.
    LoseResponse,
    /// Answer normally, with `X-RateLimit-NearLimit: true`.
    NearLimit,
}

/// Which requests a [`Fault`] applies to, and how often.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultRule {
    fault: Fault,
    method: Option<String>,
    path_contains: Option<String>,
    times: usize,
}

impl FaultRule {
    /// `fault` for the next request of any kind, once.
    pub fn new(fault: Fault) -> Self {
        FaultRule {
            fault,
            method: None,
            path_contains: None,
            times: 1,
        }
    }

    /// Only requests with this method (`GET`, `POST`, …).
    pub fn method(mut self, method: &str) -> Self {
        self.method = Some(method.to_ascii_uppercase());
        self
    }

    /// Only requests whose path contains `text`, such as `/comment`.
    pub fn path_contains(mut self, text: &str) -> Self {
        self.path_contains = Some(text.to_owned());
        self
    }

    /// Applies to the next `times` matching requests.
    pub fn times(mut self, times: usize) -> Self {
        self.times = times;
        self
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        self.method.as_deref().is_none_or(|m| m == method)
            && self
                .path_contains
                .as_deref()
                .is_none_or(|p| path.contains(p))
    }
}

/// One request the emulator answered, for fidelity checks.
#[derive(Clone, Debug, PartialEq)]
pub struct Exchange {
    /// The method, such as `POST`.
    pub method: String,
    /// The path without the query.
    pub path: String,
    /// The path template as Atlassian's OpenAPI spec writes it, such as
    /// `/rest/api/3/issue/{issueIdOrKey}/comment`; `None` for unknown paths.
    pub route: Option<String>,
    /// The request body, when it was JSON.
    pub request: Option<Value>,
    /// The status answered.
    pub status: u16,
    /// The answer's body, when it was JSON.
    pub response: Option<Value>,
}

pub(crate) struct Shared {
    pub tracker: MemoryTracker,
    pub base_url: Mutex<String>,
    pub credentials: Mutex<BTreeMap<String, UserRef>>,
    pub projects: Mutex<Vec<(ProjectKey, u64)>>,
    pub faults: Mutex<Vec<FaultRule>>,
    pub log: Mutex<Vec<Exchange>>,
    /// Holds the stop signal of a detached emulator, so it runs on.
    pub detached: Mutex<Option<tokio::sync::watch::Sender<bool>>>,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    pub(crate) fn take_fault(&self, method: &str, path: &str) -> Option<Fault> {
        let mut faults = lock(&self.faults);
        let at = faults.iter().position(|r| r.matches(method, path))?;
        let fault = faults[at].fault.clone();
        faults[at].times = faults[at].times.saturating_sub(1);
        if faults[at].times == 0 {
            faults.remove(at);
        }
        Some(fault)
    }
}

/// A running emulator; dropping it stops the server.
pub struct JiraEmulator {
    shared: Arc<Shared>,
    addr: SocketAddr,
    stop: Option<tokio::sync::watch::Sender<bool>>,
}

impl std::fmt::Debug for JiraEmulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JiraEmulator")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl JiraEmulator {
    /// Starts an emulator on 127.0.0.1 and a free port, with the default
    /// projects and users (see the [module docs](self)).
    ///
    /// # Errors
    ///
    /// `Unavailable` when no port can be bound.
    pub async fn start() -> Result<Self> {
        Self::start_on(0).await
    }

    /// Starts an emulator on 127.0.0.1 and `port` (0 for a free one).
    ///
    /// # Errors
    ///
    /// `Unavailable` when the port cannot be bound.
    pub async fn start_on(port: u16) -> Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .map_err(|e| {
                Error::new(
                    ErrorKind::Unavailable,
                    format!("jira emulator cannot listen on 127.0.0.1:{port}: {e}"),
                )
            })?;
        let addr = listener.local_addr().map_err(|e| {
            Error::new(
                ErrorKind::Unavailable,
                format!("jira emulator has no address: {e}"),
            )
        })?;
        let base_url = format!("http://{addr}");
        let tracker = MemoryTracker::new(&base_url)?;
        let mut credentials = BTreeMap::new();
        credentials.insert(server::basic(EMAIL, API_TOKEN), tracker.user().clone());
        credentials.insert(format!("Bearer {BEARER_TOKEN}"), tracker.user().clone());
        let shared = Arc::new(Shared {
            tracker,
            base_url: Mutex::new(base_url),
            credentials: Mutex::new(credentials),
            projects: Mutex::new(Vec::new()),
            faults: Mutex::new(Vec::new()),
            log: Mutex::new(Vec::new()),
            detached: Mutex::new(None),
        });
        let (stop, stopped) = tokio::sync::watch::channel(false);
        tokio::spawn(server::serve(listener, shared.clone(), stopped));
        let emulator = JiraEmulator {
            shared,
            addr,
            stop: Some(stop),
        };
        emulator.setup_defaults()?;
        Ok(emulator)
    }

    fn setup_defaults(&self) -> Result<()> {
        self.add_project("SUP", "Support", &["Bug", "Task", "Epic"])?;
        self.add_project("DEV", "Development", &["Bug", "Task", "Story"])?;
        let t = &self.shared.tracker;
        for (id, name) in [
            ("ada", "Ada Admin"),
            ("pat", "Pat Project-Admin"),
            ("uma", "Uma User"),
        ] {
            self.add_user(
                UserRef::new(id, name),
                &format!("{id}@example.com"),
                &format!("{id}-token"),
            );
        }
        t.set_global_admin(&UserId::new("ada"), true);
        t.set_project_admin(&ProjectKey::new("SUP"), &UserId::new("pat"), true);
        t.set_group("sync-admins", &[UserId::new("pat")]);
        Ok(())
    }

    /// The base URL, such as `http://127.0.0.1:43121`.
    pub fn base_url(&self) -> String {
        lock(&self.shared.base_url).clone()
    }

    /// The socket address the emulator listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The emulator's contents: add projects, users and groups, inspect issues,
    /// make searches lag ([`MemoryTracker::set_search_lag`]).
    pub fn tracker(&self) -> &MemoryTracker {
        &self.shared.tracker
    }

    /// Makes searches see the emulator as it was `lag` ago, as Jira's search
    /// index lags behind writes; direct reads stay current.
    pub fn set_search_lag(&self, lag: Duration) {
        self.shared.tracker.set_search_lag(lag);
    }

    /// Adds a project with issue types (ids are assigned like Jira's: 10000, 10001, …).
    ///
    /// # Errors
    ///
    /// `AlreadyExists` when the key is taken.
    pub fn add_project(&self, key: &str, name: &str, issue_types: &[&str]) -> Result<()> {
        self.shared
            .tracker
            .add_project(key, name, issue_types, None)?;
        let mut projects = lock(&self.shared.projects);
        let id = 10_000 + projects.len() as u64;
        projects.push((ProjectKey::new(key), id));
        Ok(())
    }

    /// Adds a user who signs in with `email` and API token `token`.
    pub fn add_user(&self, user: UserRef, email: &str, token: &str) {
        self.shared.tracker.add_user(user.clone());
        lock(&self.shared.credentials).insert(server::basic(email, token), user);
    }

    /// Injects a fault into the requests `rule` matches.
    pub fn inject(&self, rule: FaultRule) {
        lock(&self.shared.faults).push(rule);
    }

    /// Removes every injected fault that has not fired yet.
    pub fn clear_faults(&self) {
        lock(&self.shared.faults).clear();
    }

    /// Every request answered so far, in order.
    pub fn exchanges(&self) -> Vec<Exchange> {
        lock(&self.shared.log).clone()
    }

    /// Forgets the recorded requests.
    pub fn clear_exchanges(&self) {
        lock(&self.shared.log).clear();
    }

    /// A [`JiraCloud`] adapter signed in as the integration user.
    ///
    /// # Errors
    ///
    /// Only if the adapter cannot be built.
    pub fn cloud(&self) -> Result<JiraCloud> {
        JiraCloud::builder()
            .base_url(self.base_url())
            .api_token(EMAIL, API_TOKEN)
            .build()
    }

    /// A [`JiraDataCenter`] adapter signed in as the integration user.
    ///
    /// # Errors
    ///
    /// Only if the adapter cannot be built.
    pub fn data_center(&self) -> Result<JiraDataCenter> {
        JiraDataCenter::builder()
            .base_url(self.base_url())
            .personal_access_token(BEARER_TOKEN)
            .build()
    }

    /// Keeps the server running after this handle is dropped, until the tokio
    /// runtime that started it ends. For fixtures that cannot hold the handle.
    pub fn detach(mut self) {
        if let Some(stop) = self.stop.take() {
            *lock(&self.shared.detached) = Some(stop);
        }
    }

    /// Stops the server and waits until it no longer accepts connections.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(true);
            stop.closed().await;
        }
    }
}

impl Drop for JiraEmulator {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(true);
        }
    }
}
