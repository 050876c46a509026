//! What to enter in Jira for an admin webhook (API-token users cannot
//! register dynamic webhooks), and the JQL filter both kinds use.

use std::fmt;

use super::delivery::WebhookEvent;
use super::secret::WebhookSecret;
use crate::model::ProjectKey;

/// The JQL filter limited to `projects`: `project in (SUP, DEV)`.
pub fn jql_filter(projects: &[ProjectKey]) -> String {
    let mut keys: Vec<&str> = projects.iter().map(ProjectKey::as_str).collect();
    keys.sort_unstable();
    keys.dedup();
    format!("project in ({})", keys.join(", "))
}

/// The admin webhook to create in Jira (Settings → System → WebHooks):
/// its `Display` is the instructions to follow.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AdminWebhookSettings {
    /// The URL Jira delivers to (the receiver's
    /// [`JIRA_WEBHOOK_PATH`](super::JIRA_WEBHOOK_PATH) on the node).
    pub url: String,
    /// The events to tick.
    pub events: Vec<WebhookEvent>,
    /// The JQL filter: the synced projects.
    pub jql: String,
    /// Where the secret is, and its fingerprint (never the secret itself).
    pub secret_hint: String,
}

/// The admin-webhook settings for a node reachable at `node_url` syncing
/// `projects`, whose receiver checks `secret` (kept in `secret_source`,
/// such as `"the environment variable TWINSYNC_JIRA_WEBHOOK_SECRET"`).
///
/// ```
/// use twinsync::server::webhook::{admin_webhook_settings, WebhookSecret};
///
/// let secret = WebhookSecret::new("s3cr3t-from-a-vault")?;
/// let settings = admin_webhook_settings(
///     "https://twinsync.example.com",
///     &["SUP".parse()?, "DEV".parse()?],
///     &secret,
///     "the file /etc/twinsync/webhook-secret",
/// );
/// let text = settings.to_string();
/// assert!(text.contains("https://twinsync.example.com/webhooks/jira"));
/// assert!(text.contains("project in (DEV, SUP)"));
/// assert!(!text.contains("s3cr3t-from-a-vault"));
/// # Ok::<(), twinsync::Error>(())
/// ```
pub fn admin_webhook_settings(
    node_url: &str,
    projects: &[ProjectKey],
    secret: &WebhookSecret,
    secret_source: &str,
) -> AdminWebhookSettings {
    AdminWebhookSettings {
        url: format!(
            "{}{}",
            node_url.trim_end_matches('/'),
            super::JIRA_WEBHOOK_PATH
        ),
        events: WebhookEvent::ALL.to_vec(),
        jql: jql_filter(projects),
        secret_hint: format!(
            "the secret in {secret_source} (SHA-256 fingerprint {})",
            secret.fingerprint()
        ),
    }
}

impl fmt::Display for AdminWebhookSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "In Jira, as an administrator: Settings > System > WebHooks > Create a WebHook"
        )?;
        writeln!(f, "  Name:    twinsync")?;
        writeln!(f, "  Status:  Enabled")?;
        writeln!(f, "  URL:     {}", self.url)?;
        writeln!(f, "  Secret:  {}", self.secret_hint)?;
        writeln!(f, "  JQL:     {}", self.jql)?;
        let names: Vec<&str> = self.events.iter().map(|e| e.as_str()).collect();
        writeln!(f, "  Events:  {}", names.join(", "))?;
        writeln!(
            f,
            "  Exclude body: leave unticked (twinsync reads the issue key and project)"
        )?;
        write!(
            f,
            "Deliveries only wake the sync; polling still runs, so a missed one is caught later."
        )
    }
}
