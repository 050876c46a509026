//! The subcommands that work on the state file (all but `serve`), or
//! through the running `serve` while it holds the file.

mod connection;
pub mod console;
mod issues;
pub mod running;
mod status;
mod trigger;

use crate::cli::Command;
use crate::config::WebhookKind;
use crate::failure::{CONFIG, Failure, Outcome};
use crate::setup::Opened;

/// Runs `command` on the opened node.
pub async fn run(opened: &Opened, command: Command) -> Outcome {
    match command {
        Command::Serve(_) | Command::Console(_) => Ok(()),
        Command::Connection(c) => connection::run(opened, c).await,
        Command::Trigger(t) => trigger::run(opened, t).await,
        Command::Exalate(a) => issues::exalate(opened, a).await,
        Command::Connect { on, key, other } => issues::connect(opened, on, &key, &other).await,
        Command::Unexalate(a) => issues::unexalate(opened, a).await,
        Command::BulkExalate { on, jql } => issues::bulk_exalate(opened, on, &jql).await,
        Command::TestRun(a) => issues::test_run(opened, a).await,
        Command::Status { connection, json } => status::status(opened, connection.as_deref(), json),
        Command::Errors { connection } => status::errors(opened, connection.as_deref()),
        Command::Retry(a) => issues::retry(opened, a).await,
        Command::Resolve(a) => issues::resolve(opened, a).await,
        Command::Webhooks => webhooks(opened),
    }
}

/// `webhooks`: what to enter in Jira for the config's `[webhooks]`.
fn webhooks(opened: &Opened) -> Outcome {
    let config = &opened.config;
    let Some(settings) = &config.webhooks else {
        return Err(Failure::new(
            CONFIG,
            format!(
                "{} has no [webhooks] table (README \"Webhooks, health and metrics of serve\")",
                config.path.display()
            ),
        ));
    };
    let Some(url) = &config.node.url else {
        return Err(Failure::new(
            CONFIG,
            format!(
                "node.url in {} is needed: the URL Jira delivers to (serve prints it when it \
                 listens on a port chosen at start)",
                config.path.display()
            ),
        ));
    };
    match settings.kind {
        WebhookKind::Admin => println!(
            "{}",
            crate::serve::webhooks::admin_settings(&opened.node, settings, url.as_str())?
        ),
        WebhookKind::App => println!(
            "the OAuth 2.0 app's dynamic webhook (to {}{}) is registered and refreshed by serve; \
             nothing to enter in Jira",
            url.as_str(),
            twinsync::server::webhook::JIRA_WEBHOOK_PATH
        ),
    }
    Ok(())
}
