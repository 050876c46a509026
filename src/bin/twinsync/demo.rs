//! `twinsync serve --demo`: a complete node with no setup. The built-in Jira
//! emulator on 127.0.0.1 with projects SUP and DEV, a local connection and a
//! trigger between them, a few scripted edits on both sides, and the status
//! table printed as they sync. The emulator sends the node admin webhooks,
//! which wake the sync at once (polling every few seconds stays the
//! backstop); `/healthz`, `/readyz` and `/metrics` are served on loopback.

use std::sync::Arc;
use std::time::Duration;

use metrics_exporter_prometheus::PrometheusHandle;
use twinsync::MemoryTracker;
use twinsync::engine::{LocalConnectionOptions, Node, NodeOptions};
use twinsync::model::{ConnectionId, IssueKey, ProjectKey, UserId, UserRef};
use twinsync::server::console::{Console, Operator, Role, hash_password};
use twinsync::server::webhook::{JIRA_WEBHOOK_PATH, WebhookConfig, WebhookReceiver, WebhookSecret};
use twinsync::store::SqliteStore;
use twinsync::tracker::jira::JiraCloud;
use twinsync::tracker::jira::emulator::{AdminWebhook, JiraEmulator};
use twinsync::tracker::{IssueUpdate, NewComment, NewIssue, Tracker};
use twinsync::transport::http::{HttpServer, ServerTls};
use twinsync::trigger::TriggerSpec;

use crate::failure::{FAILED, Failure, Outcome};
use crate::serve::{
    console_url, metrics_url, random_hex, routes, spawn_upkeep, stop_signal, summary,
};

/// How long the script waits for one step to sync before it gives up.
const STEP_TIMEOUT: Duration = Duration::from_secs(60);

/// The demo console's one operator (an owner).
const DEMO_OPERATOR: &str = "admin";

/// How often the demo node polls: webhooks wake it sooner.
const POLL_INTERVAL: Duration = Duration::from_secs(5);

pub async fn demo(duration: Option<Duration>, metrics: PrometheusHandle) -> Outcome {
    let emulator = JiraEmulator::start().await?;
    let jira = emulator.cloud()?;
    let me = jira.myself().await?;
    println!(
        "jira emulator at {} (Jira Cloud's REST API) with projects SUP (support) and DEV (development)",
        emulator.base_url()
    );
    let node = Node::builder()
        .tracker(Arc::new(jira))
        .store(Arc::new(SqliteStore::in_memory()?))
        .options(NodeOptions::default().with_poll_interval(POLL_INTERVAL))
        .build()
        .await?;
    // The node's routes on loopback, and the emulator's admin webhook to them,
    // signed with a secret made for this run.
    let server = HttpServer::bind(
        "127.0.0.1:0"
            .parse()
            .map_err(|e| Failure::new(FAILED, format!("{e}")))?,
        ServerTls::plain_http_on_loopback(),
    )?;
    let base = server.url().as_str().to_owned();
    let secret = demo_secret()?;
    let receiver = WebhookReceiver::new(
        node.clone(),
        WebhookConfig::default().admin_secret(WebhookSecret::new(&secret)?),
    )?;
    emulator.add_admin_webhook(
        AdminWebhook::new(format!("{base}{JIRA_WEBHOOK_PATH}"))
            .secret(secret.as_str())
            .jql("project in (SUP, DEV)"),
    );
    // The console, with one owner who signs in with a password made for
    // this run. The password is printed on purpose: it is a throwaway for a
    // console on loopback that lives as long as this demo, and a newcomer
    // must be able to sign in without reading anything.
    let password = random_hex(8, "the demo console's password")?;
    let console = Console::builder(node.clone())
        .operator(Operator::new(
            DEMO_OPERATOR,
            &hash_password(&password)?,
            Role::Owner,
            me.id.clone(),
        )?)
        .build()?;
    let served = server.serve_router(routes(
        &node,
        metrics.clone(),
        Some(&receiver),
        Some(&console),
    ))?;
    let upkeep = spawn_upkeep(&metrics);
    println!(
        "node on {base}: the emulator's admin webhook posts to {base}{JIRA_WEBHOOK_PATH}; \
         metrics at {}",
        metrics_url(&base)
    );
    println!(
        "console: {} — sign in as {DEMO_OPERATOR} with password {}",
        console_url(&base),
        password.as_str()
    );
    let admin = node.admin(&me.id);
    let conn = admin
        .create_local_connection(
            "SUP",
            "DEV",
            LocalConnectionOptions::default().name("SUP_to_DEV"),
        )
        .await?;
    let trigger = admin
        .add_trigger(
            &conn.id,
            TriggerSpec::new(ProjectKey::new("SUP")?, "labels = escalate"),
        )
        .await?;
    println!("local connection {conn}");
    println!("{trigger}: SUP issues labelled escalate get a twin in DEV");
    println!(
        "webhooks wake the node at once; it also polls every {} seconds; Ctrl-C stops it\n",
        POLL_INTERVAL.as_secs()
    );

    let people = People {
        alice: person(&emulator, "alice", "Alice")?,
        bob: person(&emulator, "bob", "Bob")?,
    };
    let played = script(
        emulator.tracker().clone(),
        people,
        node.clone(),
        conn.id.clone(),
    );
    let script = tokio::spawn(async move {
        let result = played.await;
        if let Err(e) = &result {
            println!("[script] stopped: {e}");
        }
        result
    });
    let watcher = tokio::spawn(watch(node.clone(), conn.id.clone()));
    let stop = async move {
        match duration {
            Some(d) => {
                tokio::select! {
                    () = tokio::time::sleep(d) => {}
                    () = stop_signal() => {}
                }
            }
            None => stop_signal().await,
        }
    };
    let report = node.run(stop).await;
    watcher.abort();
    upkeep.abort();
    served.shutdown().await;
    let scripted = if script.is_finished() {
        script.await.unwrap_or_else(|e| {
            Err(Failure::new(
                FAILED,
                format!("the demo script stopped: {e}"),
            ))
        })
    } else {
        script.abort();
        Ok(())
    };
    let report = report?;
    println!("\nfinal status:");
    print!("{}", node.status(&conn.id)?);
    let hooks = receiver.counts();
    println!(
        "webhook deliveries: {} accepted, {} refused",
        hooks.accepted,
        hooks.bad_signature + hooks.malformed
    );
    println!("stopped: {}", summary(&report));
    emulator.stop().await;
    scripted
}

/// A random secret for the demo's webhook (32 hex digits).
fn demo_secret() -> Outcome<zeroize::Zeroizing<String>> {
    let mut bytes = zeroize::Zeroizing::new([0u8; 16]);
    getrandom::fill(bytes.as_mut())
        .map_err(|e| Failure::new(FAILED, format!("no randomness for the demo's secret: {e}")))?;
    Ok(zeroize::Zeroizing::new(hex::encode(bytes.as_ref())))
}

/// Prints the sync panel each time it changes.
async fn watch(node: Node, conn: ConnectionId) {
    let mut last = String::new();
    loop {
        if let Ok(panel) = node.status(&conn) {
            // The table without its "last sync" time, which changes every cycle.
            let shown: String = panel
                .to_string()
                .lines()
                .map(|l| l.split("   last sync:").next().unwrap_or(l))
                .collect::<Vec<_>>()
                .join("\n");
            if shown != last {
                println!("── status ──\n{shown}");
                last = shown;
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The people of the script, each editing through the emulator's REST API
/// (as a browser would), so that Jira's webhooks fire.
struct People {
    alice: JiraCloud,
    bob: JiraCloud,
}

/// A user of the emulator with an API token, and a client signed in as them.
fn person(emulator: &JiraEmulator, id: &str, name: &str) -> Outcome<JiraCloud> {
    let email = format!("{id}@demo.example");
    let token = format!("demo-token-{id}");
    emulator.add_user(UserRef::new(UserId::new(id)?, name), &email, &token);
    Ok(JiraCloud::builder()
        .base_url(emulator.base_url())
        .api_token(&email, &token)
        .build()?)
}

/// People working in SUP and DEV while the node runs.
async fn script(jira: MemoryTracker, people: People, node: Node, conn: ConnectionId) -> Outcome {
    let People { alice, bob } = people;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let filed = alice
        .create_issue(
            &NewIssue::new(ProjectKey::new("SUP")?, "Bug", "Checkout times out")
                .labels(["escalate"]),
        )
        .await?;
    alice
        .add_comment(
            &filed.id,
            &NewComment::public("5% of orders fail since Monday"),
        )
        .await?;
    let quiet = alice
        .create_issue(&NewIssue::new(
            ProjectKey::new("SUP")?,
            "Task",
            "Typo on the help page",
        ))
        .await?;
    println!(
        "[script] Alice filed {} (label escalate, one comment) and {} (no label: it stays in SUP)",
        filed.key, quiet.key
    );

    let twin = wait_for(|| twin_of(&node, &conn, &filed.key)).await?;
    let twin_issue = jira.issue_by_key(&twin).await?;
    bob.add_comment(
        &twin_issue.id,
        &NewComment::public("Reproduced; a fix is under way"),
    )
    .await?;
    println!("[script] Bob commented on {twin}");
    tokio::time::sleep(Duration::from_secs(1)).await;
    alice
        .update_issue(
            &filed.id,
            &IssueUpdate {
                summary: Some("Checkout times out under load".into()),
                ..IssueUpdate::default()
            },
        )
        .await?;
    println!(
        "[script] Alice renamed {} to \"Checkout times out under load\"",
        filed.key
    );

    wait_for(|| in_step(&jira, &filed.key, &twin)).await?;
    let summary = jira
        .inspect_issue(&twin)
        .map(|i| i.summary)
        .unwrap_or_default();
    println!(
        "[script] in step: {} ⇄ {twin}, both \"{summary}\" with 2 comments each; {} has no twin",
        filed.key, quiet.key
    );
    Ok(())
}

/// The twin's key once `key` has one.
fn twin_of(node: &Node, conn: &ConnectionId, key: &IssueKey) -> Option<IssueKey> {
    node.issue_status(conn, key).ok()?.twin.map(|t| t.key)
}

/// `Some(())` when both issues have the same summary and two comments.
fn in_step(jira: &MemoryTracker, a: &IssueKey, b: &IssueKey) -> Option<()> {
    let (a, b) = (jira.inspect_issue(a)?, jira.inspect_issue(b)?);
    (a.summary == b.summary && a.comments.len() == 2 && b.comments.len() == 2).then_some(())
}

async fn wait_for<T>(mut check: impl FnMut() -> Option<T>) -> Outcome<T> {
    let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
    loop {
        if let Some(found) = check() {
            return Ok(found);
        }
        if tokio::time::Instant::now() > deadline {
            return Err(Failure::new(
                FAILED,
                "the demo's edits did not sync within a minute",
            ));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
