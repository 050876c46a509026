//! [`DynamicWebhooks`]: keeps an OAuth 2.0 app's dynamic webhook registered
//! (feature `jira` too): one webhook for the synced projects, stale ones
//! removed at start, refreshed before its 30-day expiry.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use time::OffsetDateTime;

use super::delivery::WebhookEvent;
use super::handler::lock;
use super::settings::jql_filter;
use crate::clock::Clock;
use crate::error::{Error, ErrorKind, Result};
use crate::model::ProjectKey;
use crate::tracker::jira::{JiraCloud, NewDynamicWebhook};

/// What [`DynamicWebhooks::ensure`] found and did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Registration {
    /// The webhook kept or registered.
    pub id: u64,
    /// Whether it was registered now (no matching one existed).
    pub registered: bool,
    /// Stale webhooks removed (another URL, JQL or set of events, or a
    /// second copy).
    pub removed: Vec<u64>,
    /// When it expires unless refreshed.
    pub expires: OffsetDateTime,
}

/// Keeps one dynamic webhook registered on a Jira Cloud site for an OAuth
/// 2.0 app: the events dynamic webhooks offer ([`WebhookEvent::dynamic`]),
/// JQL limited to the synced projects ([`jql_filter`]), delivered to the
/// node's receiver.
///
/// Call [`ensure`](Self::ensure) at start, then [`run`](Self::run) (or
/// [`refresh_if_due`](Self::refresh_if_due) from your own loop), which
/// refreshes the webhook [`refresh_margin`](Self::refresh_margin) before it
/// expires (Jira drops dynamic webhooks 30 days after their registration or
/// last refresh).
#[derive(Debug)]
pub struct DynamicWebhooks {
    jira: Arc<JiraCloud>,
    url: String,
    projects: Vec<ProjectKey>,
    margin: Duration,
    current: Mutex<Option<(u64, OffsetDateTime)>>,
}

impl DynamicWebhooks {
    /// For deliveries to `url` (the receiver's full URL) about `projects`.
    pub fn new(jira: Arc<JiraCloud>, url: impl Into<String>, projects: &[ProjectKey]) -> Self {
        DynamicWebhooks {
            jira,
            url: url.into(),
            projects: projects.to_vec(),
            margin: Duration::from_secs(5 * 24 * 60 * 60),
            current: Mutex::new(None),
        }
    }

    /// Refreshes this long before expiry (default 5 days).
    pub fn refresh_margin(mut self, margin: Duration) -> Self {
        self.margin = margin;
        self
    }

    fn events() -> Vec<String> {
        WebhookEvent::ALL
            .into_iter()
            .filter(|e| e.dynamic())
            .map(|e| e.as_str().to_owned())
            .collect()
    }

    /// Lists the app's webhooks, removes every one that is not the wanted
    /// webhook (or is a second copy of it), registers it when missing, and
    /// refreshes it.
    ///
    /// # Errors
    ///
    /// As the Jira calls; `InvalidConfig` with Jira's reason when it refuses
    /// the webhook (such as a JQL it does not take).
    pub async fn ensure(&self) -> Result<Registration> {
        let jql = jql_filter(&self.projects);
        let mut events = Self::events();
        events.sort();
        let mut keep = None;
        let mut removed = Vec::new();
        for hook in self.jira.dynamic_webhooks().await? {
            let mut theirs = hook.events.clone();
            theirs.sort();
            if keep.is_none() && hook.url == self.url && hook.jql == jql && theirs == events {
                keep = Some(hook.id);
            } else {
                removed.push(hook.id);
            }
        }
        if !removed.is_empty() {
            tracing::info!(removed = ?removed, "removing stale dynamic webhooks");
            self.jira.delete_dynamic_webhooks(&removed).await?;
        }
        let (id, registered) = match keep {
            Some(id) => (id, false),
            None => {
                let answer = self
                    .jira
                    .register_dynamic_webhooks(&self.url, &[NewDynamicWebhook::new(events, &jql)])
                    .await?;
                match answer.into_iter().next() {
                    Some(Ok(id)) => (id, true),
                    Some(Err(why)) => {
                        return Err(Error::new(
                            ErrorKind::InvalidConfig,
                            format!("jira refused the dynamic webhook ({jql}): {why}"),
                        ));
                    }
                    None => {
                        return Err(Error::new(
                            ErrorKind::Unexpected,
                            "jira answered a webhook registration without a result",
                        ));
                    }
                }
            }
        };
        let expires = self.jira.refresh_dynamic_webhooks(&[id]).await?;
        *lock(&self.current) = Some((id, expires));
        tracing::info!(id, registered, %expires, "dynamic webhook in place");
        Ok(Registration {
            id,
            registered,
            removed,
            expires,
        })
    }

    /// When the webhook is due for a refresh (`None` before [`ensure`](Self::ensure)).
    pub fn refresh_due(&self) -> Option<OffsetDateTime> {
        lock(&self.current).map(|(_, expires)| expires - self.margin)
    }

    /// Refreshes the webhook when it is due at `now`; `true` when it did.
    ///
    /// # Errors
    ///
    /// As the Jira call; `InvalidInput` before [`ensure`](Self::ensure).
    pub async fn refresh_if_due(&self, now: OffsetDateTime) -> Result<bool> {
        let Some((id, _)) = *lock(&self.current) else {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "no dynamic webhook yet: call ensure first",
            ));
        };
        if self.refresh_due().is_some_and(|due| due > now) {
            return Ok(false);
        }
        let expires = self.jira.refresh_dynamic_webhooks(&[id]).await?;
        *lock(&self.current) = Some((id, expires));
        tracing::info!(id, %expires, "refreshed the dynamic webhook");
        Ok(true)
    }

    /// Refreshes the webhook whenever due, on `clock`, until `shutdown`
    /// completes (call [`ensure`](Self::ensure) first). A failed refresh is
    /// logged and tried again an hour later.
    ///
    /// # Errors
    ///
    /// `InvalidInput` before [`ensure`](Self::ensure).
    pub async fn run<S>(&self, clock: Arc<dyn Clock>, shutdown: S) -> Result<()>
    where
        S: std::future::Future<Output = ()> + Send,
    {
        use futures::FutureExt;
        let mut shutdown = std::pin::pin!(shutdown.fuse());
        loop {
            let due = self.refresh_due().ok_or_else(|| {
                Error::new(
                    ErrorKind::InvalidInput,
                    "no dynamic webhook yet: call ensure first",
                )
            })?;
            let wait = Duration::try_from(due - clock.now()).unwrap_or(Duration::ZERO);
            let sleep = clock.sleep(wait);
            futures::select_biased! {
                () = shutdown.as_mut() => return Ok(()),
                () = sleep.fuse() => {}
            }
            if let Err(err) = self.refresh_if_due(clock.now()).await {
                tracing::warn!(error = %err, "refreshing the dynamic webhook failed; trying again in an hour");
                let sleep = clock.sleep(Duration::from_secs(3600));
                futures::select_biased! {
                    () = shutdown.as_mut() => return Ok(()),
                    () = sleep.fuse() => {}
                }
            }
        }
    }
}
