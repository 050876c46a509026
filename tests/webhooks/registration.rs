//! Dynamic webhooks (OAuth 2.0 apps): registered for the synced projects,
//! stale ones removed, refreshed before expiry on virtual time; the admin
//! webhook settings for API-token users; the emulator's retries.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use twinsync::ErrorKind;
use twinsync::clock::Clock;
use twinsync::engine::NodeOptions;
use twinsync::model::ProjectKey;
use twinsync::server::webhook::{
    DynamicWebhooks, WebhookConfig, WebhookSecret, admin_webhook_settings,
};
use twinsync::tracker::jira::NewDynamicWebhook;
use twinsync::tracker::jira::emulator::{AdminWebhook, OAUTH_APP_SECRET};
use twinsync::transport::http::{HttpServer, ServerTls};

use crate::world::{World, eventually, pause};

fn projects() -> Vec<ProjectKey> {
    vec!["SUP".parse().unwrap(), "DEV".parse().unwrap()]
}

fn app_config() -> WebhookConfig {
    WebhookConfig::default().app_secret(WebhookSecret::new(OAUTH_APP_SECRET).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_replaces_stale_webhooks_and_its_deliveries_wake_the_node() {
    let mut world = World::new(app_config(), NodeOptions::default()).await;
    let app = Arc::new(world.emulator.cloud_app().unwrap());
    let stale = app
        .register_dynamic_webhooks(
            &world.hook_url(),
            &[NewDynamicWebhook::new(
                ["jira:issue_created"],
                "project = SUP",
            )],
        )
        .await
        .unwrap();
    let stale = stale[0].clone().unwrap();

    let hooks = DynamicWebhooks::new(app.clone(), world.hook_url(), &projects());
    let first = hooks.ensure().await.unwrap();
    assert!(first.registered);
    assert_eq!(first.removed, vec![stale]);
    let listed = app.dynamic_webhooks().await.unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].jql, "project in (DEV, SUP)");
    assert_eq!(listed[0].url, world.hook_url());
    assert!(listed[0].events.contains(&"comment_deleted".to_owned()));
    let again = hooks.ensure().await.unwrap();
    assert_eq!((again.id, again.registered), (first.id, false));
    assert!(again.removed.is_empty());

    // An API-token user cannot register dynamic webhooks.
    let user = DynamicWebhooks::new(
        Arc::new(world.emulator.cloud().unwrap()),
        world.hook_url(),
        &projects(),
    );
    assert_eq!(
        user.ensure().await.unwrap_err().kind(),
        ErrorKind::PermissionDenied
    );

    let sup = world.create("SUP", "Printer on fire").await;
    let dev = world.exalate(&sup).await;
    world.start().await;
    pause().await;
    world.edit(&sup, "Told by a JWT").await;
    eventually("the edit reached its twin", || {
        world.summary(&dev) == "Told by a JWT"
    })
    .await;
    assert!(world.emulator.deliveries().iter().all(|d| d.dynamic));
    assert!(world.receiver.counts().accepted >= 1);
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dynamic_webhook_is_refreshed_before_it_expires() {
    let world = World::new(app_config(), NodeOptions::default()).await;
    let app = Arc::new(world.emulator.cloud_app().unwrap());
    let hooks = DynamicWebhooks::new(app.clone(), world.hook_url(), &projects());
    let registered = hooks.ensure().await.unwrap();
    let day = Duration::from_secs(24 * 3600);
    assert_eq!(registered.expires, world.clock.now() + 30 * day);
    assert_eq!(hooks.refresh_due(), Some(registered.expires - 5 * day));
    assert!(!hooks.refresh_if_due(world.clock.now()).await.unwrap());

    world.clock.advance(26 * day);
    assert!(hooks.refresh_if_due(world.clock.now()).await.unwrap());
    let listed = app.dynamic_webhooks().await.unwrap();
    assert_eq!(listed[0].expires, Some(world.clock.now() + 30 * day));

    // The loop refreshes by itself when the clock gets there.
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let clock: Arc<dyn Clock> = Arc::new(world.clock.clone());
    let runner = {
        let hooks = Arc::new(hooks);
        let h = hooks.clone();
        let task = tokio::spawn(async move {
            h.run(clock, async {
                let _ = stopped.await;
            })
            .await
        });
        (hooks, task)
    };
    pause().await;
    world.clock.advance(26 * day);
    let expected = world.clock.now() + 30 * day;
    let mut listed = Vec::new();
    for _ in 0..150 {
        listed = app.dynamic_webhooks().await.unwrap();
        if listed[0].expires == Some(expected) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(listed[0].expires, Some(expected), "refreshed by the loop");
    let _ = stop.send(());
    runner.1.await.unwrap().unwrap();

    // Not refreshed for 30 days, Jira stops sending it.
    world.clock.advance(31 * day);
    let sup = world.create("SUP", "Nobody listens").await;
    pause().await;
    assert!(
        world
            .emulator
            .deliveries()
            .iter()
            .all(|d| d.issue != sup.as_str()),
        "an expired webhook delivers nothing"
    );
    drop(runner.0);
}

#[test]
fn admin_settings_name_the_url_events_and_jql_but_never_the_secret() {
    let secret = WebhookSecret::new("hunter2-but-longer").unwrap();
    let settings = admin_webhook_settings(
        "https://sync.example.com/",
        &projects(),
        &secret,
        "the environment variable TWINSYNC_JIRA_WEBHOOK_SECRET",
    );
    assert_eq!(settings.url, "https://sync.example.com/webhooks/jira");
    assert_eq!(settings.jql, "project in (DEV, SUP)");
    let text = settings.to_string();
    for needed in [
        "https://sync.example.com/webhooks/jira",
        "project in (DEV, SUP)",
        "jira:issue_created",
        "attachment_deleted",
        "TWINSYNC_JIRA_WEBHOOK_SECRET",
        &secret.fingerprint(),
    ] {
        assert!(text.contains(needed), "{needed} missing from:\n{text}");
    }
    assert!(!text.contains("hunter2"), "{text}");
    assert!(!format!("{settings:?}").contains("hunter2"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_delivery_is_retried_with_the_same_identifier_and_the_retry_header() {
    let world = World::new(World::admin_config(), NodeOptions::default()).await;
    // A receiver that fails the first attempt.
    type Seen = Arc<Mutex<Vec<(Option<String>, Option<String>)>>>;
    let seen: Seen = Arc::default();
    let record = seen.clone();
    let routes = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap| {
            let record = record.clone();
            async move {
                let get = |n: &str| {
                    headers
                        .get(n)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned)
                };
                let mut seen = record.lock().unwrap();
                seen.push((
                    get("x-atlassian-webhook-identifier"),
                    get("x-atlassian-webhook-retry"),
                ));
                if seen.len() == 1 {
                    axum::http::StatusCode::SERVICE_UNAVAILABLE
                } else {
                    axum::http::StatusCode::OK
                }
            }
        }),
    );
    let server = HttpServer::bind(
        "127.0.0.1:0".parse().unwrap(),
        ServerTls::plain_http_on_loopback(),
    )
    .unwrap()
    .serve_router(routes)
    .unwrap();
    let url = format!("{}/hook", server.url().to_string().trim_end_matches('/'));
    world
        .emulator
        .add_admin_webhook(AdminWebhook::new(url).jql("project = SUP"));
    world.create("SUP", "Printer on fire").await;
    world.create("DEV", "Not matched by the JQL").await;
    eventually("the retry arrived", || seen.lock().unwrap().len() == 2).await;
    let seen = seen.lock().unwrap().clone();
    assert!(seen[0].0.is_some());
    assert_eq!(seen[0].0, seen[1].0, "the same identifier");
    assert_eq!(seen[0].1, None);
    assert_eq!(seen[1].1.as_deref(), Some("1"));
    let deliveries = world.emulator.deliveries();
    assert_eq!(deliveries.len(), 1, "only SUP matches: {deliveries:?}");
    assert_eq!(deliveries[0].attempts, vec![Some(503), Some(200)]);
    server.shutdown().await;
}
