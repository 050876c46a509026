//! The `[webhooks]` of `serve`: the receiver checking deliveries, and what
//! makes Jira send them: the admin-webhook settings printed for an
//! administrator, or the OAuth app's dynamic webhook registered and kept
//! refreshed.

use std::future::Future;
use std::sync::Arc;

use twinsync::clock::SystemClock;
use twinsync::engine::{Node, RunReport};
use twinsync::model::ProjectKey;
use twinsync::server::webhook::{
    AdminWebhookSettings, DynamicWebhooks, JIRA_WEBHOOK_PATH, WebhookConfig, WebhookReceiver,
    admin_webhook_settings,
};
use twinsync::tracker::jira::JiraCloud;
use twinsync::transport::http::HttpServer;

use crate::config::{Config, WebhookKind, WebhookSettings};
use crate::failure::Outcome;

/// Where Jira and others reach the node: node.url, else the bound address.
pub fn public_url(config: &Config, server: &HttpServer) -> String {
    config
        .node
        .url
        .clone()
        .unwrap_or_else(|| server.url())
        .as_str()
        .to_owned()
}

/// The receiver, and the dynamic webhook to keep registered (OAuth app).
pub struct Webhooks {
    pub receiver: WebhookReceiver,
    dynamic: Option<DynamicWebhooks>,
}

impl Webhooks {
    /// The receiver of `settings` for `node`, reachable at `base_url`. With
    /// an admin webhook, prints (and logs) what to enter in Jira.
    pub fn new(
        node: &Node,
        config: &Config,
        settings: &WebhookSettings,
        base_url: &str,
    ) -> Outcome<Webhooks> {
        let (receiver_config, dynamic) = match settings.kind {
            WebhookKind::Admin => {
                let shown = admin_settings(node, settings, base_url)?;
                tracing::info!(
                    url = %shown.url,
                    jql = %shown.jql,
                    secret = %shown.secret_hint,
                    "admin webhook to create in Jira:\n{shown}"
                );
                println!("webhooks: {shown}");
                (
                    WebhookConfig::default().admin_secret(settings.secret.clone()),
                    None,
                )
            }
            WebhookKind::App => {
                let jira = JiraCloud::builder()
                    .base_url(&config.tracker.url)
                    .oauth_token(config.tracker.credential.expose())
                    .build()?;
                let url = format!("{}{JIRA_WEBHOOK_PATH}", base_url.trim_end_matches('/'));
                (
                    WebhookConfig::default().app_secret(settings.secret.clone()),
                    Some(DynamicWebhooks::new(Arc::new(jira), url, &projects(node)?)),
                )
            }
        };
        Ok(Webhooks {
            receiver: WebhookReceiver::new(node.clone(), receiver_config)?,
            dynamic,
        })
    }

    /// Runs `node` until `stop`; beside it, for an OAuth app, registers the
    /// dynamic webhook and refreshes it until then.
    pub async fn run_beside(
        &self,
        node: &Node,
        stop: impl Future<Output = ()> + Send,
    ) -> Outcome<RunReport> {
        let Some(dynamic) = &self.dynamic else {
            return Ok(node.run(stop).await?);
        };
        let registered = dynamic.ensure().await?;
        println!(
            "webhooks: dynamic webhook {} {} (expires {}; refreshed before then)",
            registered.id,
            if registered.registered {
                "registered"
            } else {
                "in place"
            },
            registered.expires
        );
        let (tx, rx) = tokio::sync::watch::channel(false);
        let stopped = async move {
            let mut rx = rx;
            let _ = rx.wait_for(|s| *s).await;
        };
        let refresh = dynamic.run(Arc::new(SystemClock), stopped);
        let run = async {
            let report = node.run(stop).await;
            let _ = tx.send(true);
            report
        };
        let (report, refreshed) = tokio::join!(run, refresh);
        refreshed?;
        Ok(report?)
    }
}

/// The admin webhook to create in Jira for `node`, reachable at `base_url`.
pub fn admin_settings(
    node: &Node,
    settings: &WebhookSettings,
    base_url: &str,
) -> Outcome<AdminWebhookSettings> {
    Ok(admin_webhook_settings(
        base_url,
        &projects(node)?,
        &settings.secret,
        &settings.source,
    ))
}

/// The projects of this node's Jira that its connections sync.
fn projects(node: &Node) -> Outcome<Vec<ProjectKey>> {
    let mut out = Vec::new();
    for c in node.connections()? {
        for side in [&c.a, &c.b] {
            if &side.instance == node.instance() && !out.contains(&side.project) {
                out.push(side.project.clone());
            }
        }
    }
    Ok(out)
}
