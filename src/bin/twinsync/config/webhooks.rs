//! `[webhooks]`: the secret Jira signs its deliveries with, read from an
//! environment variable or a file named in the config, never from the file
//! itself. Which kind of webhook follows from the tracker's sign-in.

use std::path::{Path, PathBuf};

use toml::Spanned;
use twinsync::server::webhook::WebhookSecret;
use zeroize::Zeroizing;

use super::file::WebhooksTable;
use super::locate::Source;
use super::{ConfigError, NodeSettings, TrackerKind, TrackerSettings, refuse_literal, values};

/// Which webhooks Jira sends the node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WebhookKind {
    /// An admin webhook (API-token or personal-access-token sign-in): a
    /// Jira administrator creates it, with the secret, as `serve` prints.
    Admin,
    /// An OAuth 2.0 app's dynamic webhook (Cloud, OAuth sign-in): `serve`
    /// registers and refreshes it; the secret is the app's client secret.
    App,
}

/// `[webhooks]`, checked; the secret already read.
#[derive(Debug)]
pub struct WebhookSettings {
    pub kind: WebhookKind,
    pub secret: WebhookSecret,
    /// Where the secret is, for messages: "the environment variable X".
    pub source: String,
}

pub(super) fn webhooks(
    src: &Source<'_>,
    base: &Path,
    node: &NodeSettings,
    tracker: &TrackerSettings,
    table: Spanned<WebhooksTable>,
) -> Result<WebhookSettings, ConfigError> {
    let span = table.span();
    let t = table.into_inner();
    let instead = "secret_env = \"TWINSYNC_JIRA_WEBHOOK_SECRET\" (an environment variable) or \
                   secret_file = \"/etc/twinsync/webhook-secret\"";
    refuse_literal(src, &t.secret, instead)?;
    if node.listen.is_none() {
        return Err(src.error_at(
            Some(span),
            "Jira delivers webhooks to the node: [webhooks] needs node.listen (and node.url \
             where Jira reaches it)",
        ));
    }
    let (secret, source) = match (t.secret_env, t.secret_file) {
        (Some(_), Some(f)) => {
            return Err(src.error_at(
                Some(f.span()),
                "give the webhook secret either by secret_env or by secret_file, not both",
            ));
        }
        (Some(e), None) => from_env(src, &e)?,
        (None, Some(f)) => from_file(src, base, &f)?,
        (None, None) => {
            return Err(src.error_at(Some(span), format!("no webhook secret: add {instead}")));
        }
    };
    let kind = match (tracker.kind, &tracker.user) {
        (TrackerKind::Cloud, None) => WebhookKind::App,
        _ => WebhookKind::Admin,
    };
    Ok(WebhookSettings {
        kind,
        secret,
        source,
    })
}

fn from_env(
    src: &Source<'_>,
    name: &Spanned<String>,
) -> Result<(WebhookSecret, String), ConfigError> {
    let var = values::env_name(src, name)?;
    let value = Zeroizing::new(std::env::var(&var).unwrap_or_default());
    let secret = WebhookSecret::new(value.as_str()).map_err(|_| {
        src.error_at(
            Some(name.span()),
            format!("environment variable {var} is not set or empty; set it to the webhook secret"),
        )
    })?;
    Ok((secret, format!("the environment variable {var}")))
}

fn from_file(
    src: &Source<'_>,
    base: &Path,
    path: &Spanned<PathBuf>,
) -> Result<(WebhookSecret, String), ConfigError> {
    let file = values::resolve(base, path.get_ref());
    let text = Zeroizing::new(std::fs::read_to_string(&file).map_err(|e| {
        src.error_at(
            Some(path.span()),
            format!(
                "cannot read the webhook secret file {}: {e}",
                file.display()
            ),
        )
    })?);
    let secret = WebhookSecret::new(text.as_str()).map_err(|_| {
        src.error_at(
            Some(path.span()),
            format!("the webhook secret file {} is empty", file.display()),
        )
    })?;
    Ok((secret, format!("the file {}", file.display())))
}
