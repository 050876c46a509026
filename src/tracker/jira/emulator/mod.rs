//! A loopback Jira emulator (feature `jira-emulator`): a stateful fake Jira
//! Cloud (or, started with [`Deployment::DataCenter`], a Data Center site) for
//! tests, examples and manual use with any Jira client.
//!
//! It serves the endpoints the twinsync adapters use with Atlassian's status
//! codes and body shapes — `self` URLs, `nextPageToken` and `startAt` paging,
//! entity properties, multipart uploads (part `file`, `X-Atlassian-Token:
//! no-check`, a 200 answer with an array), 303 redirects for downloads — and
//! keeps its state in a [`MemoryTracker`], so tests can inspect it. Searches
//! can lag behind writes, and faults can be injected, aimed at requests or
//! at random: 429 with each `RateLimit-Reason` and `Retry-After`, 5xx,
//! latency, and lost answers (the request is applied, then the connection is
//! dropped). Every attachment has a media id; its content URL redirects
//! (303) to `/file/<media id>/binary`, and by default an edit that removes the
//! last reference to an attachment from the issue's bodies deletes it, as
//! Jira may. It runs on the system clock or on a clock you give it
//! ([`EmulatorOptions`]), such as the virtual clock of a test.
//!
//! It sends webhooks as Jira does: after each write through its REST API,
//! to the dynamic webhooks an OAuth 2.0 app registered
//! (`/rest/api/3/webhook`, bearer credentials only: [`JiraEmulator::cloud_app`];
//! a JWT signed with [`OAUTH_APP_SECRET`]; they expire 30 days after their
//! registration or last refresh) and to admin webhooks
//! ([`EmulatorOptions::admin_webhook`], [`JiraEmulator::add_admin_webhook`];
//! `X-Hub-Signature` when they have a secret), for the issues their JQL
//! filter matches, with `X-Atlassian-Webhook-Identifier` and a retry
//! (`X-Atlassian-Webhook-Retry`) after a failure.
//! [`JiraEmulator::set_delivery_faults`] drops, delays or repeats
//! deliveries; [`JiraEmulator::deliveries`] lists them. Changes made
//! directly on [`JiraEmulator::tracker`] send none.
//!
//! ```no_run
//! use twinsync::tracker::jira::emulator::JiraEmulator;
//! use twinsync::tracker::{NewIssue, Tracker};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> twinsync::Result<()> {
//! let emulator = JiraEmulator::start().await?; // 127.0.0.1, a free port
//! let jira = emulator.cloud()?;                // a JiraCloud signed in to it
//! let created = jira.create_issue(&NewIssue::new("SUP".parse()?, "Bug", "Printer on fire")).await?;
//! assert_eq!(emulator.tracker().inspect_issue(&created.key).unwrap().summary, "Printer on fire");
//! # Ok(()) }
//! ```
//!
//! # As strict as Jira Cloud
//!
//! It refuses what Jira Cloud refuses, with Jira's status codes and error
//! shape `{"errorMessages": [...], "errors": {field: message}}`, so a test
//! against it catches an adapter that sends what Jira would not take:
//!
//! - A create or edit naming a field that does not exist or is not on the
//!   project's create or edit screen (create: `project`, `issuetype`,
//!   `summary`, `description`, `labels`; edit: the same but `project`) is
//!   answered 400 with `errors.<field>`: `"Field '<field>' cannot be set. It
//!   is not on the appropriate screen, or unknown."`
//! - A v3 description or comment that is not ADF (unknown node or mark types,
//!   a `doc` without `version: 1`, inline nodes outside paragraphs, empty
//!   text) is answered 400: `errors.description` "Operation value must be an
//!   Atlassian Document (see the Atlassian Document Format)" for a
//!   description, `{"errorMessages": ["INVALID_INPUT"], "errors": {}}` for a
//!   comment. This is a compact structural check, not the full ADF schema.
//! - `update` operations work as in Jira: `labels` `add`/`remove`/`set`,
//!   `summary`, `description` and `issuetype` `set`, `comment` `add`; any
//!   other operation is answered 400 (`errors.<field>`: `"Field does not
//!   support update '<op>'"`).
//! - Fields beyond Basic (priority, assignee, reporter, duedate, components,
//!   fixVersions, parent, issuelinks and `customfield_N`) are rendered and
//!   taken in Jira's shapes; a project describes its fields with
//!   [`JiraEmulator::add_field`], which puts them on its screens, in
//!   createmeta (`issue/createmeta/{project}/issuetypes/{type}`), `editmeta`
//!   and `GET field`, and makes the emulator refuse a missing required field,
//!   an unknown option or a value of the wrong shape (400, `errors.<field id>`
//!   naming the value). Issue links: `GET issueLinkType`, `POST issueLink`,
//!   `GET`/`DELETE issueLink/{id}`.
//! - Workflows ([`JiraEmulator::set_workflow`]): an issue moves only by the
//!   transitions its workflow offers from its status; `GET
//!   issue/{id}/transitions?expand=transitions.fields` lists them with their
//!   screens' fields, and `POST issue/{id}/transitions` answers a missing
//!   required field or a bad value 400 under the field, a transition not
//!   offered 400 `Transition id '<id>' is not valid for this issue.`, and
//!   one [refused](JiraEmulator::refuse_transition) 400 with the refusal's
//!   message. Cloud serves `POST workflows/preview` (Data Center: 404).
//!   Without a workflow, every issue offers the global To Do, In Progress
//!   and Done.
//! - `GET /rest/api/{2,3}/field` lists the system fields the emulator keeps
//!   and the custom fields projects describe; JQL `ORDER BY` sorts on `created`, `updated`,
//!   `key` (by project, then number), `project`, `issuetype`, `status` and
//!   `summary`, ascending unless `DESC`, on several keys;
//!   `PUT …/issue/{id}?returnIssue=true` answers 200 with the issue as a GET
//!   would (honouring `fields`), 204 without it; `DELETE …/issue/{id}` removes
//!   the issue with its comments and attachments (204; 404 when unknown; the
//!   emulator has no sub-tasks).
//! - A site that calls itself Cloud (the default) serves Cloud's v2:
//!   `GET /rest/api/{2,3}/search` answers 410 Gone pointing to `/search/jql`,
//!   which works on both (v2 bodies are wiki markup), and createmeta has
//!   Cloud's shape. A [`Deployment::DataCenter`] site serves Data Center's
//!   `/rest/api/2/search` (paged by `startAt`) and createmeta shape; only it
//!   gives a [`JiraDataCenter`] adapter ([`JiraEmulator::data_center`]).
//!
//! **Strict mode** ([`EmulatorOptions::strict_requests`],
//! [`JiraEmulator::set_strict_requests`]) hands every JSON request body to a
//! [`RequestValidator`] before anything is applied; a refusal is answered 400
//! (`errorMessages` says why) and recorded ([`JiraEmulator::violations`]).
//! The crate ships no schema: the tests pass a validator that checks bodies
//! against Atlassian's OpenAPI spec and ADF schema, read at test time.
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

pub use faults::{Fault, FaultRule, RandomFaults, RateLimitReason};
pub use options::EmulatorOptions;
pub use strict::{CheckedRequest, Deployment, RequestValidator, StrictRequests, Violation};
pub use webhooks::{AdminWebhook, Delivery, DeliveryFaults, OAUTH_APP_SECRET, OAUTH_CLIENT_ID};

use super::{JiraCloud, JiraDataCenter};
use crate::error::{Error, ErrorKind, Result};
use crate::model::{ProjectKey, UserId, UserRef};
use crate::tracker::MemoryTracker;

mod adf;
mod faults;
mod media;
mod multipart;
mod options;
mod render;
mod routes;
mod server;
mod strict;
#[cfg(test)]
mod tests;
mod values;
mod webhooks;
#[cfg(test)]
mod workflow_tests;

/// The email the emulator's integration user signs in with.
pub const EMAIL: &str = "twinsync@example.com";
/// The API token the emulator accepts with [`EMAIL`] (HTTP Basic).
pub const API_TOKEN: &str = "emulator-api-token";
/// The bearer token (OAuth 2.0 or personal access token) the emulator accepts.
pub const BEARER_TOKEN: &str = "emulator-bearer-token";

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
    pub faults: Mutex<faults::FaultPlan>,
    pub log: Mutex<Vec<Exchange>>,
    pub deployment: Deployment,
    pub strict: Mutex<Option<StrictRequests>>,
    pub violations: Mutex<Vec<Violation>>,
    /// Whether an edit dropping an attachment's last reference deletes it.
    pub delete_unreferenced: bool,
    /// Webhooks: registered, configured, and their deliveries.
    pub webhooks: Mutex<webhooks::Webhooks>,
    /// Holds the stop signal of a detached emulator, so it runs on.
    pub detached: Mutex<Option<tokio::sync::watch::Sender<bool>>>,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    pub(crate) fn take_fault(&self, method: &str, path: &str) -> Option<Fault> {
        lock(&self.faults).next(method, path)
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
        Self::start_with(EmulatorOptions::default().port(port)).await
    }

    /// Starts an emulator with `options`.
    ///
    /// # Errors
    ///
    /// `Unavailable` when the port cannot be bound.
    pub async fn start_with(options: EmulatorOptions) -> Result<Self> {
        let EmulatorOptions {
            port,
            clock,
            deployment,
            strict,
            delete_unreferenced_attachments,
            admin_webhooks,
            webhook_retries,
            webhook_retry_delay,
        } = options;
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
        let tracker = MemoryTracker::with_clock(&base_url, clock)?;
        let mut credentials = BTreeMap::new();
        credentials.insert(server::basic(EMAIL, API_TOKEN), tracker.user().clone());
        credentials.insert(format!("Bearer {BEARER_TOKEN}"), tracker.user().clone());
        let shared = Arc::new(Shared {
            tracker,
            base_url: Mutex::new(base_url),
            credentials: Mutex::new(credentials),
            projects: Mutex::new(Vec::new()),
            faults: Mutex::default(),
            log: Mutex::new(Vec::new()),
            deployment,
            strict: Mutex::new(strict),
            violations: Mutex::new(Vec::new()),
            delete_unreferenced: delete_unreferenced_attachments,
            webhooks: Mutex::new(webhooks::Webhooks::new(
                format!("site{}", addr.port()),
                admin_webhooks,
                webhook_retries,
                webhook_retry_delay,
            )),
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
                UserRef::new(UserId::new(id)?, name),
                &format!("{id}@example.com"),
                &format!("{id}-token"),
            );
        }
        let (ada, pat) = (UserId::new("ada")?, UserId::new("pat")?);
        t.set_global_admin(&ada, true);
        t.set_project_admin(&ProjectKey::new("SUP")?, &pat, true);
        t.set_group("sync-admins", &[pat]);
        Ok(())
    }

    /// The media id of an attachment (what a Jira Cloud media node names,
    /// and what the attachment's content URL redirects to).
    pub fn media_id(&self, attachment: &crate::model::AttachmentId) -> String {
        media::media_id(&self.base_url(), attachment)
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
        projects.push((ProjectKey::new(key)?, id));
        Ok(())
    }

    /// Describes a field of project `key` (see [`MemoryTracker::add_field`]):
    /// the emulator renders it, takes it on the screens it is on, checks its
    /// options and kind, and lists it in `GET field`, createmeta and
    /// editmeta. A custom field's id is `customfield_<number>`.
    ///
    /// # Errors
    ///
    /// `NotFound` for an unknown project.
    pub fn add_field(&self, key: &str, field: crate::model::FieldMeta) -> Result<()> {
        self.shared.tracker.add_field(key, field)
    }

    /// Makes the issues of project `key` (or only those of `issue_type`)
    /// follow `workflow` (see [`MemoryTracker::set_workflow`]): `GET
    /// issue/{id}/transitions` offers the transitions from an issue's
    /// status with their screens' fields, `POST issue/{id}/transitions`
    /// takes them as Jira does, and Cloud's `POST workflows/preview` shows
    /// the workflow.
    ///
    /// # Errors
    ///
    /// `NotFound` for an unknown project or issue type.
    pub fn set_workflow(
        &self,
        key: &str,
        issue_type: Option<&str>,
        workflow: crate::model::Workflow,
    ) -> Result<()> {
        self.shared.tracker.set_workflow(key, issue_type, workflow)
    }

    /// Makes transition `transition` of project `key` refuse with `message`
    /// (as a failing condition or validator does: 400 with the message), or,
    /// with `None`, be taken again (see [`MemoryTracker::refuse_transition`]).
    ///
    /// # Errors
    ///
    /// `NotFound` for an unknown project.
    pub fn refuse_transition(
        &self,
        key: &str,
        transition: &str,
        message: Option<&str>,
    ) -> Result<()> {
        self.shared
            .tracker
            .refuse_transition(key, transition, message)
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

    /// Rolls a fault for every request that no [`inject`](Self::inject)ed
    /// rule matches; `None` stops.
    pub fn random_faults(&self, random: Option<RandomFaults>) {
        lock(&self.shared.faults).set_random(random);
    }

    /// Removes every injected fault that has not fired yet (random faults
    /// stay until [`random_faults(None)`](Self::random_faults)).
    pub fn clear_faults(&self) {
        lock(&self.shared.faults).clear_rules();
    }

    /// Every request answered so far, in order.
    pub fn exchanges(&self) -> Vec<Exchange> {
        lock(&self.shared.log).clone()
    }

    /// Forgets the recorded requests.
    pub fn clear_exchanges(&self) {
        lock(&self.shared.log).clear();
    }

    /// What the site says it is.
    pub fn deployment(&self) -> Deployment {
        self.shared.deployment
    }

    /// Turns strict mode on with `validator`, or off with `None` (see
    /// [`EmulatorOptions::strict_requests`]).
    pub fn set_strict_requests(&self, validator: Option<Arc<dyn RequestValidator>>) {
        *lock(&self.shared.strict) = validator.map(StrictRequests);
    }

    /// The requests strict mode refused so far, in order.
    pub fn violations(&self) -> Vec<Violation> {
        lock(&self.shared.violations).clone()
    }

    /// Changes what goes wrong delivering webhooks from now on.
    pub fn set_delivery_faults(&self, faults: DeliveryFaults) {
        lock(&self.shared.webhooks).set_faults(faults);
    }

    /// Adds an admin webhook (as a Jira administrator would).
    pub fn add_admin_webhook(&self, webhook: AdminWebhook) {
        lock(&self.shared.webhooks).admin.push(webhook);
    }

    /// Every webhook delivery so far (sent, being sent, or dropped), in order.
    pub fn deliveries(&self) -> Vec<Delivery> {
        lock(&self.shared.webhooks).deliveries()
    }

    /// A [`JiraCloud`] adapter signed in as an OAuth 2.0 app (the bearer
    /// token), which may register dynamic webhooks, on the emulator's clock.
    ///
    /// # Errors
    ///
    /// Only if the adapter cannot be built.
    pub fn cloud_app(&self) -> Result<JiraCloud> {
        JiraCloud::builder()
            .base_url(self.base_url())
            .oauth_token(BEARER_TOKEN)
            .clock(self.shared.tracker.clock().clone())
            .build()
    }

    /// A [`JiraCloud`] adapter signed in as the integration user, on the emulator's clock.
    ///
    /// # Errors
    ///
    /// Only if the adapter cannot be built.
    pub fn cloud(&self) -> Result<JiraCloud> {
        JiraCloud::builder()
            .base_url(self.base_url())
            .api_token(EMAIL, API_TOKEN)
            .clock(self.shared.tracker.clock().clone())
            .build()
    }

    /// A [`JiraDataCenter`] adapter signed in as the integration user, on the emulator's clock.
    ///
    /// # Errors
    ///
    /// `InvalidInput` when the emulator calls itself Cloud (Data Center's
    /// search does not exist there; start it with [`Deployment::DataCenter`]),
    /// or if the adapter cannot be built.
    pub fn data_center(&self) -> Result<JiraDataCenter> {
        if self.shared.deployment != Deployment::DataCenter {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "this jira emulator calls itself Cloud, where /rest/api/2/search is gone; \
                 start it with EmulatorOptions::default().deployment(Deployment::DataCenter) \
                 for the data center adapter",
            ));
        }
        JiraDataCenter::builder()
            .base_url(self.base_url())
            .personal_access_token(BEARER_TOKEN)
            .clock(self.shared.tracker.clock().clone())
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
