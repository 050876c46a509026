//! The emulator's webhooks: dynamic webhooks an OAuth 2.0 app registers
//! (`/rest/api/3/webhook`, signed with a JWT made with
//! [`OAUTH_APP_SECRET`]) and admin webhooks configured through
//! [`EmulatorOptions::admin_webhook`](super::EmulatorOptions::admin_webhook)
//! (signed with `X-Hub-Signature` when they have a secret). After each write
//! it sends Jira's deliveries to every webhook whose events and JQL filter
//! match, with `X-Atlassian-Webhook-Identifier`, retrying a failed delivery
//! with `X-Atlassian-Webhook-Retry`; [`DeliveryFaults`] drop, delay or
//! repeat deliveries for tests.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{KeyInit, Mac};
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::lock;
use crate::clock::Clock;
use crate::model::{Issue, UserRef};
use crate::trigger::jql::Jql;

/// The client secret of the OAuth 2.0 app the emulator's bearer token
/// ([`BEARER_TOKEN`](super::BEARER_TOKEN)) belongs to: it signs the JWT of
/// every dynamic webhook's delivery.
pub const OAUTH_APP_SECRET: &str = "emulator-oauth-app-secret";
/// That app's client id (the JWT's `iss`).
pub const OAUTH_CLIENT_ID: &str = "emulator-oauth-client";

/// How long a dynamic webhook lives without a refresh, as in Jira.
pub(crate) const DYNAMIC_LIFETIME: time::Duration = time::Duration::days(30);

/// An admin webhook (what a Jira administrator enters in Settings → System →
/// WebHooks).
#[derive(Clone)]
#[non_exhaustive]
pub struct AdminWebhook {
    /// Where deliveries go.
    pub url: String,
    /// The secret deliveries are signed with (`X-Hub-Signature`), if any.
    pub secret: Option<String>,
    /// The events, by Jira's names.
    pub events: Vec<String>,
    /// The JQL filter, if any (unparsable JQL matches nothing).
    pub jql: Option<String>,
}

impl std::fmt::Debug for AdminWebhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminWebhook")
            .field("url", &self.url)
            .field("secret", &self.secret.as_ref().map(|_| "***"))
            .field("events", &self.events)
            .field("jql", &self.jql)
            .finish()
    }
}

impl AdminWebhook {
    /// A webhook to `url` for every issue, comment and attachment event,
    /// with no secret and no filter.
    pub fn new(url: impl Into<String>) -> Self {
        AdminWebhook {
            url: url.into(),
            secret: None,
            events: [
                "jira:issue_created",
                "jira:issue_updated",
                "comment_created",
                "comment_updated",
                "comment_deleted",
                "attachment_created",
                "attachment_deleted",
            ]
            .map(str::to_owned)
            .to_vec(),
            jql: None,
        }
    }

    /// Signs deliveries with `secret`.
    pub fn secret(mut self, secret: impl Into<String>) -> Self {
        self.secret = Some(secret.into());
        self
    }

    /// Sends only for issues `jql` matches.
    pub fn jql(mut self, jql: impl Into<String>) -> Self {
        self.jql = Some(jql.into());
        self
    }

    /// Sends only `events`.
    pub fn events<I: IntoIterator<Item = S>, S: Into<String>>(mut self, events: I) -> Self {
        self.events = events.into_iter().map(Into::into).collect();
        self
    }
}

/// Faults in delivering webhooks (see [`JiraEmulator::set_delivery_faults`](super::JiraEmulator::set_delivery_faults)).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeliveryFaults {
    /// Deliveries not sent at all (the next ones, counted down).
    pub drop_next: usize,
    /// Each delivery is sent twice, with the same identifier.
    pub duplicate: bool,
    /// Each delivery waits this long before it is sent.
    pub delay: Duration,
}

/// One delivery, as [`JiraEmulator::deliveries`](super::JiraEmulator::deliveries) reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Delivery {
    /// Where it went.
    pub url: String,
    /// The event, such as `jira:issue_updated`.
    pub event: String,
    /// The issue's key.
    pub issue: String,
    /// `X-Atlassian-Webhook-Identifier`.
    pub identifier: String,
    /// Whether a dynamic webhook (JWT) sent it, else an admin webhook.
    pub dynamic: bool,
    /// Each attempt's status (`None`: no answer), retries included.
    pub attempts: Vec<Option<u16>>,
    /// Dropped by [`DeliveryFaults::drop_next`]: never sent.
    pub dropped: bool,
}

/// A registered dynamic webhook.
#[derive(Clone, Debug)]
pub(crate) struct Dynamic {
    pub id: u64,
    pub url: String,
    pub events: Vec<String>,
    pub jql: String,
    pub expires: OffsetDateTime,
}

/// The emulator's webhooks and deliveries.
pub(crate) struct Webhooks {
    pub dynamic: Vec<Dynamic>,
    pub admin: Vec<AdminWebhook>,
    pub next_id: u64,
    /// Makes identifiers unique across emulators (sites).
    site: String,
    seq: u64,
    faults: DeliveryFaults,
    log: Arc<Mutex<Vec<Delivery>>>,
    client: reqwest::Client,
    retries: u32,
    retry_delay: Duration,
}

impl Webhooks {
    /// `site` prefixes the delivery identifiers (unique per running emulator).
    pub(crate) fn new(
        site: String,
        admin: Vec<AdminWebhook>,
        retries: u32,
        retry_delay: Duration,
    ) -> Self {
        Webhooks {
            dynamic: Vec::new(),
            admin,
            next_id: 10_000,
            site,
            seq: 0,
            faults: DeliveryFaults::default(),
            log: Arc::default(),
            client: reqwest::Client::new(),
            retries,
            retry_delay,
        }
    }

    pub(crate) fn set_faults(&mut self, faults: DeliveryFaults) {
        self.faults = faults;
    }

    pub(crate) fn deliveries(&self) -> Vec<Delivery> {
        lock(&self.log).clone()
    }
}

/// A change the emulator made, to deliver.
pub(crate) struct Change<'a> {
    pub event: &'static str,
    pub issue: &'a Issue,
    pub project_id: u64,
    pub base: &'a str,
    pub user: &'a UserRef,
    pub comment: Option<Value>,
    pub attachment: Option<Value>,
}

/// Sends `change` to every matching webhook (on tasks of their own).
pub(crate) fn deliver(webhooks: &Mutex<Webhooks>, clock: &Arc<dyn Clock>, change: &Change<'_>) {
    let now = clock.now();
    let mut hooks = lock(webhooks);
    let mut targets: Vec<(String, Signing, Option<u64>)> = Vec::new();
    for hook in &hooks.dynamic {
        if hook.expires > now
            && hook.events.iter().any(|e| e == change.event)
            && matches(Some(&hook.jql), change.issue, now)
        {
            targets.push((hook.url.clone(), Signing::Jwt, Some(hook.id)));
        }
    }
    for hook in &hooks.admin {
        if hook.events.iter().any(|e| e == change.event)
            && matches(hook.jql.as_deref(), change.issue, now)
        {
            let signing = match &hook.secret {
                Some(s) => Signing::Hub(s.clone()),
                None => Signing::None,
            };
            targets.push((hook.url.clone(), signing, None));
        }
    }
    for (url, signing, id) in targets {
        hooks.seq += 1;
        let identifier = format!("{}-{}", hooks.site, hooks.seq);
        let mut body = payload(change, now);
        if let Some(id) = id {
            body["matchedWebhookIds"] = json!([id]);
        }
        let mut record = Delivery {
            url: url.clone(),
            event: change.event.to_owned(),
            issue: change.issue.key.to_string(),
            identifier: identifier.clone(),
            dynamic: id.is_some(),
            attempts: Vec::new(),
            dropped: false,
        };
        if hooks.faults.drop_next > 0 {
            hooks.faults.drop_next -= 1;
            record.dropped = true;
            lock(&hooks.log).push(record);
            continue;
        }
        let index = {
            let mut log = lock(&hooks.log);
            log.push(record);
            log.len() - 1
        };
        let send = Send {
            client: hooks.client.clone(),
            log: hooks.log.clone(),
            index,
            url,
            signing,
            identifier,
            body: body.to_string().into_bytes(),
            clock: clock.clone(),
            retries: hooks.retries,
            retry_delay: hooks.retry_delay,
        };
        let copies = if hooks.faults.duplicate { 2 } else { 1 };
        let delay = hooks.faults.delay;
        tokio::spawn(async move {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            for _ in 0..copies {
                send.run().await;
            }
        });
    }
}

fn matches(jql: Option<&str>, issue: &Issue, now: OffsetDateTime) -> bool {
    match jql {
        None => true,
        Some(text) => Jql::parse(text).is_ok_and(|q| q.matches(issue, now)),
    }
}

/// Jira's delivery body.
fn payload(change: &Change<'_>, now: OffsetDateTime) -> Value {
    let issue = change.issue;
    let base = change.base;
    let mut body = json!({
        "timestamp": now.unix_timestamp_nanos() / 1_000_000,
        "webhookEvent": change.event,
        "user": {"accountId": change.user.id.as_str(), "displayName": change.user.display_name},
        "issue": {
            "id": issue.id.as_str(),
            "self": format!("{base}/rest/api/3/issue/{}", issue.id.as_str()),
            "key": issue.key.as_str(),
            "fields": {
                "summary": issue.summary,
                "issuetype": {"name": issue.issue_type},
                "status": {"name": issue.status},
                "labels": issue.labels,
                "project": {
                    "id": change.project_id.to_string(),
                    "key": issue.project.as_str(),
                    "self": format!("{base}/rest/api/3/project/{}", change.project_id),
                },
                "created": super::super::mapping::format_time(issue.created),
                "updated": super::super::mapping::format_time(issue.updated),
            }
        }
    });
    if change.event.starts_with("jira:issue") {
        body["issue_event_type_name"] = json!(if change.event == "jira:issue_created" {
            "issue_created"
        } else {
            "issue_generic"
        });
    }
    if let Some(comment) = &change.comment {
        body["comment"] = comment.clone();
    }
    if let Some(attachment) = &change.attachment {
        body["attachment"] = attachment.clone();
    }
    body
}

enum Signing {
    None,
    Hub(String),
    Jwt,
}

struct Send {
    client: reqwest::Client,
    log: Arc<Mutex<Vec<Delivery>>>,
    index: usize,
    url: String,
    signing: Signing,
    identifier: String,
    body: Vec<u8>,
    clock: Arc<dyn Clock>,
    retries: u32,
    retry_delay: Duration,
}

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC takes a key of any length.
    let mut mac = HmacSha256::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

impl Send {
    /// One delivery: the first attempt, then retries while it fails in a
    /// way Jira retries (no answer, 408, 409, 425, 429, 5xx).
    async fn run(&self) {
        for attempt in 0..=self.retries {
            if attempt > 0 {
                tokio::time::sleep(self.retry_delay).await;
            }
            let status = self.attempt(attempt).await;
            lock(&self.log)[self.index].attempts.push(status);
            let retry = match status {
                None => true,
                Some(s) => matches!(s, 408 | 409 | 425 | 429) || s >= 500,
            };
            if !retry {
                return;
            }
        }
    }

    async fn attempt(&self, attempt: u32) -> Option<u16> {
        let mut request = self
            .client
            .post(&self.url)
            .header("Content-Type", "application/json")
            .header("X-Atlassian-Webhook-Identifier", &self.identifier)
            .timeout(Duration::from_secs(10))
            .body(self.body.clone());
        if attempt > 0 {
            request = request.header("X-Atlassian-Webhook-Retry", attempt.to_string());
        }
        match &self.signing {
            Signing::None => {}
            Signing::Hub(secret) => {
                let digest = hex::encode(hmac(secret.as_bytes(), &self.body));
                request = request.header("X-Hub-Signature", format!("sha256={digest}"));
            }
            Signing::Jwt => {
                let now = self.clock.now().unix_timestamp();
                let head = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
                let claims = URL_SAFE_NO_PAD.encode(
                    json!({"iss": OAUTH_CLIENT_ID, "iat": now, "exp": now + 180}).to_string(),
                );
                let input = format!("{head}.{claims}");
                let signature =
                    URL_SAFE_NO_PAD.encode(hmac(OAUTH_APP_SECRET.as_bytes(), input.as_bytes()));
                request = request.header("Authorization", format!("Bearer {input}.{signature}"));
            }
        }
        request.send().await.ok().map(|r| r.status().as_u16())
    }
}
