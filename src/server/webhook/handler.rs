//! Handling one delivery: verify, dedupe, read, hint; count and log.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};

use super::delivery::{self, Parsed};
use super::verify::{self, Refusal};
use super::{WebhookCounts, WebhookReceiver};
use crate::engine::Hinted;

/// The identifier Jira gives a delivery (the same on its retries).
const IDENTIFIER: &str = "x-atlassian-webhook-identifier";
/// Present (the retry count) on Jira's retries.
const RETRY: &str = "x-atlassian-webhook-retry";

/// A delivery's result: its metric label and answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Accepted,
    Duplicate,
    BadSignature,
    Malformed,
    UnknownEvent,
    UnsyncedProject,
    NoIssue,
    Overflow,
    Error,
}

impl Outcome {
    fn label(self) -> &'static str {
        match self {
            Outcome::Accepted => "accepted",
            Outcome::Duplicate => "duplicate",
            Outcome::BadSignature => "bad_signature",
            Outcome::Malformed => "malformed",
            Outcome::UnknownEvent => "unknown_event",
            Outcome::UnsyncedProject => "unsynced_project",
            Outcome::NoIssue => "no_issue",
            Outcome::Overflow => "overflow",
            Outcome::Error => "error",
        }
    }

    fn status(self) -> StatusCode {
        match self {
            Outcome::Duplicate => StatusCode::OK,
            Outcome::BadSignature => StatusCode::UNAUTHORIZED,
            Outcome::Malformed => StatusCode::BAD_REQUEST,
            Outcome::Error => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::ACCEPTED,
        }
    }

    fn count(self, counts: &mut WebhookCounts) {
        let n = match self {
            Outcome::Accepted => &mut counts.accepted,
            Outcome::Duplicate => &mut counts.duplicate,
            Outcome::BadSignature => &mut counts.bad_signature,
            Outcome::Malformed => &mut counts.malformed,
            Outcome::UnknownEvent => &mut counts.unknown_event,
            Outcome::UnsyncedProject => &mut counts.unsynced_project,
            Outcome::NoIssue => &mut counts.no_issue,
            Outcome::Overflow => &mut counts.overflow,
            Outcome::Error => &mut counts.error,
        };
        *n += 1;
    }
}

pub(super) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

pub(super) async fn receive(
    State(receiver): State<WebhookReceiver>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let outcome = receiver.handle(&headers, &body);
    outcome.count(&mut lock(&receiver.inner.counts));
    metrics::counter!("twinsync_webhook_deliveries_total", "result" => outcome.label())
        .increment(1);
    outcome.status()
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

impl WebhookReceiver {
    fn handle(&self, headers: &HeaderMap, body: &[u8]) -> Outcome {
        let inner = &self.inner;
        // Logged and remembered: printable ASCII only, and short.
        let id = header(headers, IDENTIFIER).map(|id| {
            id.chars()
                .filter(char::is_ascii_graphic)
                .take(128)
                .collect::<String>()
        });
        let retry = header(headers, RETRY).and_then(|r| r.parse::<u32>().ok());
        if let Err(refusal) = self.verify(headers, body) {
            tracing::warn!(
                identifier = id.as_deref(),
                reason = refusal.as_str(),
                "refused a webhook delivery: bad signature"
            );
            return Outcome::BadSignature;
        }
        if let Some(id) = &id
            && !lock(&inner.recent).claim(id)
        {
            tracing::debug!(identifier = %id, retry, "ignored a repeated webhook delivery");
            return Outcome::Duplicate;
        }
        let release = |outcome: Outcome| {
            if let Some(id) = &id {
                lock(&inner.recent).release(id);
            }
            outcome
        };
        let parsed = match delivery::parse(body) {
            Ok(parsed) => parsed,
            Err(why) => {
                tracing::warn!(
                    identifier = id.as_deref(),
                    why,
                    "refused a malformed webhook delivery"
                );
                return release(Outcome::Malformed);
            }
        };
        match parsed {
            Parsed::Unknown(name) => {
                tracing::info!(identifier = id.as_deref(), event = %name, "ignored a webhook delivery of an event twinsync does not listen to");
                Outcome::UnknownEvent
            }
            Parsed::NoIssue(event) => {
                tracing::debug!(identifier = id.as_deref(), %event, "ignored a webhook delivery without its issue");
                Outcome::NoIssue
            }
            Parsed::Issue {
                event,
                project,
                key,
            } => match inner.node.hint_changed(&project, &key) {
                Ok(Hinted::Queued { connections }) => {
                    tracing::debug!(identifier = id.as_deref(), retry, %event, issue = %key, connections, "webhook hint queued");
                    Outcome::Accepted
                }
                Ok(Hinted::NotSynced) => {
                    tracing::info!(identifier = id.as_deref(), %event, issue = %key, %project, "ignored a webhook delivery for a project no connection syncs");
                    Outcome::UnsyncedProject
                }
                Ok(Hinted::Full) => {
                    tracing::warn!(identifier = id.as_deref(), %event, issue = %key, "dropped a webhook delivery: the hint intake is full; polling covers it");
                    release(Outcome::Overflow)
                }
                Err(err) => {
                    tracing::warn!(identifier = id.as_deref(), error = %err, "a webhook delivery could not be handled; jira retries it");
                    release(Outcome::Error)
                }
            },
        }
    }

    /// Checks the signature the delivery carries against the configured
    /// secret of its kind; anything else is refused.
    fn verify(&self, headers: &HeaderMap, body: &[u8]) -> Result<(), Refusal> {
        let config = &self.inner.config;
        if let Some(signature) = headers.get("x-hub-signature") {
            let secret = config.admin_secret.as_ref().ok_or(Refusal::NotConfigured)?;
            let signature = signature.to_str().map_err(|_| Refusal::Malformed)?;
            return verify::hub_signature(secret, signature, body);
        }
        if let Some(authorization) = headers.get(axum::http::header::AUTHORIZATION) {
            let secret = config.app_secret.as_ref().ok_or(Refusal::NotConfigured)?;
            let authorization = authorization.to_str().map_err(|_| Refusal::Malformed)?;
            return verify::bearer_jwt(secret, authorization, self.inner.node.clock().now());
        }
        Err(Refusal::Missing)
    }
}
