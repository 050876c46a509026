//! `serve` as a process with `[webhooks]`: the Jira emulator's admin webhook
//! wakes the node (its poll interval is an hour, so only a delivery explains
//! a quick sync), and `/metrics`, `/healthz` and `/readyz` answer on the
//! node's own port.

use hmac::{KeyInit, Mac};
use twinsync::model::{IssueKey, ProjectKey, UserId, UserRef};
use twinsync::tracker::jira::JiraCloud;
use twinsync::tracker::jira::emulator::{self, AdminWebhook, JiraEmulator};
use twinsync::tracker::{NewIssue, Tracker};

use super::node::{Serving, wait_until};
use super::{SUP_TO_DEV, start_jira, tracker_section, write_config};

const TOKEN_VAR: &str = "CLI_WEBHOOK_TEST_JIRA_API_TOKEN";
const SECRET_VAR: &str = "CLI_WEBHOOK_TEST_SECRET";
const SECRET: &str = "a-webhook-secret-for-this-test";

/// The sum of the samples of `name` whose labels contain every one of `labels`.
fn metric(text: &str, name: &str, labels: &[&str]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let matches = (series == name || series.starts_with(&format!("{name}{{")))
                && labels.iter().all(|want| series.contains(want));
            matches.then(|| value.parse::<f64>().ok()).flatten()
        })
        .sum()
}

/// The `[[trigger]]` on SUP that both served nodes here share.
const ESCALATE: &str = r#"[[trigger]]
connection = "SUP_to_DEV"
project = "SUP"
jql = "labels = escalate"
"#;

/// A Jira user who is not the node's, and a client signed in as her: her
/// edits are not the node's own, so the node syncs them.
fn alice(jira: &JiraEmulator) -> JiraCloud {
    jira.add_user(
        UserRef::new(UserId::new("alice").unwrap(), "Alice"),
        "alice@example.com",
        "alice-token",
    );
    JiraCloud::builder()
        .base_url(jira.base_url())
        .api_token("alice@example.com", "alice-token")
        .build()
        .unwrap()
}

fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[test]
fn a_webhook_wakes_the_served_node_and_metrics_show_it() {
    let (runtime, jira) = start_jira();
    let tracker = jira.tracker().clone();
    let alice = alice(&jira);

    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &format!(
            r#"[node]
name = "webhook-test"
listen = "127.0.0.1:0"
plain_http_on_loopback = true
state = "state/node.db"
poll_interval = "1h"
reconcile_interval = "off"

{tracker}
[webhooks]
secret_env = "{SECRET_VAR}"

{SUP_TO_DEV}
{ESCALATE}"#,
            tracker = tracker_section(&jira, TOKEN_VAR),
        ),
    );
    let env = [(TOKEN_VAR, emulator::API_TOKEN), (SECRET_VAR, SECRET)];
    let mut serving = Serving::start(&config, &env);
    let settings = serving.wait_line("URL:");
    let hook = settings
        .split("URL:")
        .nth(1)
        .map(str::trim)
        .expect("serve prints the webhook URL")
        .to_owned();
    assert!(hook.ends_with("/webhooks/jira"), "{hook}");
    let secret_line = serving.wait_line("Secret:");
    assert!(
        secret_line.contains(SECRET_VAR) && !secret_line.contains(SECRET),
        "names where the secret is, never the secret: {secret_line}"
    );
    let line = serving.wait_line("metrics http://");
    let metrics_url = line.rsplit(' ').next().unwrap().to_owned();
    let base = metrics_url.trim_end_matches("/metrics").to_owned();
    jira.add_admin_webhook(
        AdminWebhook::new(hook.clone())
            .secret(SECRET)
            .jql("project in (SUP, DEV)"),
    );

    let client = reqwest::Client::new();
    let get = |url: String| {
        runtime.block_on(async {
            let answer = client.get(&url).send().await.unwrap();
            (answer.status().as_u16(), answer.text().await.unwrap())
        })
    };
    // The run loop's first cycle has searched: only a webhook wakes another.
    wait_until("the first cycle ran", || {
        metric(&get(metrics_url.clone()).1, "twinsync_cycles_total", &[]) >= 1.0
    });
    let cycles_before = metric(&get(metrics_url.clone()).1, "twinsync_cycles_total", &[]);

    let filed = runtime
        .block_on(
            alice.create_issue(
                &NewIssue::new(ProjectKey::new("SUP").unwrap(), "Bug", "Printer on fire")
                    .labels(["escalate"]),
            ),
        )
        .unwrap();
    let twin = IssueKey::new("DEV-1").unwrap();
    wait_until("the twin exists in DEV", || {
        tracker
            .inspect_issue(&twin)
            .is_some_and(|i| i.summary == "Printer on fire")
    });
    assert_eq!(filed.key.as_str(), "SUP-1");

    let (status, text) = get(metrics_url.clone());
    assert_eq!(status, 200);
    assert!(
        metric(
            &text,
            "twinsync_webhook_deliveries_total",
            &["result=\"accepted\""]
        ) >= 1.0,
        "{text}"
    );
    assert!(
        metric(&text, "twinsync_cycles_total", &[]) > cycles_before,
        "{text}"
    );
    assert!(
        metric(&text, "twinsync_tracker_writes_total", &[]) >= 1.0,
        "{text}"
    );
    assert_eq!(get(format!("{base}/healthz")).0, 200);
    let (ready, body) = get(format!("{base}/readyz"));
    assert_eq!(ready, 200, "{body}");

    // A delivery with a wrong signature is refused and counted.
    let body = br#"{"webhookEvent":"jira:issue_updated","issue":{"id":"1","key":"SUP-1","fields":{"project":{"id":"10000","key":"SUP"}}}}"#;
    let forged = sign("not-the-secret", body);
    let refused = runtime.block_on(async {
        client
            .post(&hook)
            .header("Content-Type", "application/json")
            .header("X-Hub-Signature", forged)
            .body(body.to_vec())
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    });
    assert_eq!(refused, 401);
    let text = get(metrics_url).1;
    assert_eq!(
        metric(
            &text,
            "twinsync_webhook_deliveries_total",
            &["result=\"bad_signature\""]
        ),
        1.0,
        "{text}"
    );
    serving.terminate();
}

#[test]
fn the_webhooks_command_prints_what_to_enter_in_jira_without_the_secret() {
    let (_runtime, jira) = start_jira();
    let dir = tempfile::tempdir().unwrap();
    let secret_file = dir.path().join("webhook-secret");
    std::fs::write(&secret_file, format!("{SECRET}\n")).unwrap();
    let config = write_config(
        dir.path(),
        &format!(
            r#"[node]
url = "https://sync.acme.example:8443"
listen = "127.0.0.1:0"
plain_http_on_loopback = true
state = "node.db"

{tracker}
[webhooks]
secret_file = "webhook-secret"

{SUP_TO_DEV}"#,
            tracker = tracker_section(&jira, TOKEN_VAR),
        ),
    );
    let output = super::run(&config, &["webhooks"], &[(TOKEN_VAR, emulator::API_TOKEN)]);
    let (out, err) = super::texts(&output);
    assert!(output.status.success(), "{out}{err}");
    assert!(
        out.contains("URL:     https://sync.acme.example:8443/webhooks/jira"),
        "{out}"
    );
    assert!(out.contains("JQL:     project in (DEV, SUP)"), "{out}");
    assert!(
        out.contains(&format!("the file {}", secret_file.display())),
        "{out}"
    );
    assert!(!out.contains(SECRET) && !err.contains(SECRET), "{out}{err}");
}

#[test]
fn with_an_oauth_token_serve_registers_the_apps_dynamic_webhook_and_syncs_on_it() {
    let (runtime, jira) = start_jira();
    let tracker = jira.tracker().clone();
    let alice = alice(&jira);
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &format!(
            r#"[node]
listen = "127.0.0.1:0"
plain_http_on_loopback = true
state = "node.db"
poll_interval = "1h"
reconcile_interval = "off"

[tracker]
kind = "jira-cloud"
url = "{url}"
token_env = "{TOKEN_VAR}"

[webhooks]
secret_env = "{SECRET_VAR}"

{SUP_TO_DEV}
{ESCALATE}"#,
            url = jira.base_url(),
        ),
    );
    let env = [
        (TOKEN_VAR, emulator::BEARER_TOKEN),
        (SECRET_VAR, emulator::OAUTH_APP_SECRET),
    ];
    let mut serving = Serving::start(&config, &env);
    let line = serving.wait_line("metrics http://");
    let metrics_url = line.rsplit(' ').next().unwrap().to_owned();
    serving.wait_line("webhooks: dynamic webhook");
    let client = reqwest::Client::new();
    let metrics = || {
        runtime.block_on(async {
            let answer = client.get(&metrics_url).send().await.unwrap();
            answer.text().await.unwrap()
        })
    };
    wait_until("the first cycle ran", || {
        metric(&metrics(), "twinsync_cycles_total", &[]) >= 1.0
    });
    runtime
        .block_on(
            alice.create_issue(
                &NewIssue::new(ProjectKey::new("SUP").unwrap(), "Bug", "VPN drops")
                    .labels(["escalate"]),
            ),
        )
        .unwrap();
    let twin = IssueKey::new("DEV-1").unwrap();
    wait_until("the twin exists in DEV", || {
        tracker
            .inspect_issue(&twin)
            .is_some_and(|i| i.summary == "VPN drops")
    });
    let text = metrics();
    assert!(
        metric(
            &text,
            "twinsync_webhook_deliveries_total",
            &["result=\"accepted\""]
        ) >= 1.0,
        "{text}"
    );
    serving.terminate();
}
