//! Bad deliveries are refused or ignored, counted, and never written.

use base64::Engine as _;
use hmac::{KeyInit, Mac};
use serde_json::json;
use twinsync::engine::NodeOptions;
use twinsync::server::webhook::{WebhookConfig, WebhookCounts, WebhookSecret};

use crate::world::{SECRET, World, pause};

fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn delivery(event: &str, key: &str, project: &str) -> Vec<u8> {
    json!({
        "timestamp": 1_772_355_600_000_i64,
        "webhookEvent": event,
        "issue": {"id": "10001", "key": key, "fields": {"project": {"id": "10000", "key": project}}}
    })
    .to_string()
    .into_bytes()
}

/// Posts `body` to the receiver with `headers`; the status.
async fn post(world: &World, headers: &[(&str, String)], body: Vec<u8>) -> u16 {
    let mut request = reqwest::Client::new()
        .post(world.hook_url())
        .header("Content-Type", "application/json")
        .body(body);
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    request.send().await.unwrap().status().as_u16()
}

async fn signed(world: &World, id: &str, body: Vec<u8>) -> u16 {
    let signature = sign(SECRET, &body);
    post(
        world,
        &[
            ("X-Hub-Signature", signature),
            ("X-Atlassian-Webhook-Identifier", id.to_owned()),
        ],
        body,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_deliveries_are_refused_counted_and_write_nothing() {
    let metric = |result: &str| {
        crate::recorder::counter(&format!(
            "twinsync_webhook_deliveries_total{{result={result}}}"
        ))
    };
    let before = [
        metric("bad_signature"),
        metric("malformed"),
        metric("unsynced_project"),
    ];
    let mut world = World::new(World::admin_config(), NodeOptions::default()).await;
    let sup = world.create("SUP", "Printer on fire").await;
    world.exalate(&sup).await;
    world.start().await;
    pause().await;
    let writes = world.writes();
    let good = delivery("jira:issue_updated", sup.as_str(), "SUP");

    let wrong = sign("not-the-secret", &good);
    assert_eq!(
        post(&world, &[("X-Hub-Signature", wrong)], good.clone()).await,
        401
    );
    assert_eq!(post(&world, &[], good.clone()).await, 401, "no signature");
    let tampered = sign(SECRET, &good);
    let other = delivery("jira:issue_updated", "SUP-2", "SUP");
    assert_eq!(
        post(&world, &[("X-Hub-Signature", tampered)], other).await,
        401
    );
    let jwt = "Bearer eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjl9.c2ln".to_owned();
    assert_eq!(
        post(&world, &[("Authorization", jwt)], good.clone()).await,
        401,
        "a JWT where no app secret is configured"
    );
    assert_eq!(signed(&world, "m-1", b"{not json".to_vec()).await, 400);
    assert_eq!(
        signed(
            &world,
            "m-2",
            br#"{"webhookEvent":"jira:issue_updated"}"#.to_vec()
        )
        .await,
        400,
        "no issue"
    );
    assert_eq!(
        signed(
            &world,
            "u-1",
            delivery("sprint_started", sup.as_str(), "SUP")
        )
        .await,
        202,
        "an event twinsync does not listen to is ignored"
    );
    assert_eq!(
        signed(
            &world,
            "p-1",
            delivery("jira:issue_updated", "OPS-1", "OPS")
        )
        .await,
        202,
        "a project no connection syncs is ignored"
    );
    pause().await;

    let mut expected = WebhookCounts::default();
    expected.bad_signature = 4;
    expected.malformed = 2;
    expected.unknown_event = 1;
    expected.unsynced_project = 1;
    assert_eq!(world.receiver.counts(), expected);
    // The same counts reach the metrics facade (other tests may add more).
    let after = [
        metric("bad_signature"),
        metric("malformed"),
        metric("unsynced_project"),
    ];
    assert!(after[0] >= before[0] + 4, "{before:?} → {after:?}");
    assert!(after[1] >= before[1] + 2, "{before:?} → {after:?}");
    assert!(after[2] > before[2], "{before:?} → {after:?}");
    assert_eq!(world.writes(), writes, "no delivery led to a write");
    let report = world.stop().await;
    assert_eq!(report.cycles, 1, "no delivery woke the node: {report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_beyond_the_intake_is_dropped_counted_and_left_to_polling() {
    // The run loop is not running: hints wait in the intake (2 at most).
    let world = World::new(
        World::admin_config(),
        NodeOptions::default().with_hint_capacity(2),
    )
    .await;
    let sup = world.create("SUP", "Printer on fire").await;
    world.exalate(&sup).await;
    let writes = world.writes();
    let mut statuses = Vec::new();
    for n in 1..=6 {
        let key = format!("SUP-{}", 100 + n);
        statuses.push(
            signed(
                &world,
                &format!("f-{n}"),
                delivery("jira:issue_updated", &key, "SUP"),
            )
            .await,
        );
    }
    assert_eq!(
        statuses, [202; 6],
        "a flood is acknowledged, so Jira does not retry it"
    );
    // A repeat of an accepted issue takes no room.
    assert_eq!(
        signed(&world, "f-7", delivery("comment_created", "SUP-101", "SUP")).await,
        202
    );
    let counts = world.receiver.counts();
    assert_eq!((counts.accepted, counts.overflow), (3, 4), "{counts:?}");
    // The next cycle takes the hints (the issues do not exist: nothing to
    // write) and the intake has room again.
    let report = world.node.sync(&world.conn).await.unwrap();
    assert_eq!(report.writes, 0);
    assert_eq!(world.writes(), writes);
    assert_eq!(
        signed(
            &world,
            "f-8",
            delivery("jira:issue_updated", "SUP-120", "SUP")
        )
        .await,
        202
    );
    assert_eq!(world.receiver.counts().accepted, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamic_webhook_tokens_are_checked_with_the_app_secret() {
    let secret = "app-client-secret";
    let config = WebhookConfig::default().app_secret(WebhookSecret::new(secret).unwrap());
    let world = World::new(config, NodeOptions::default()).await;
    let now = twinsync::clock::Clock::now(&world.clock).unix_timestamp();
    let token = |key: &str, claims: serde_json::Value| {
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let head = b64.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let input = format!("{head}.{}", b64.encode(claims.to_string()));
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).unwrap();
        mac.update(input.as_bytes());
        format!("Bearer {input}.{}", b64.encode(mac.finalize().into_bytes()))
    };
    let body = delivery("jira:issue_updated", "SUP-1", "SUP");
    let fresh = json!({"iss": "app", "iat": now, "exp": now + 180});
    let stale = json!({"iss": "app", "iat": now - 3600, "exp": now - 3000});
    let cases = [
        (token(secret, fresh.clone()), 202),
        (token("another-secret", fresh), 401),
        (token(secret, stale), 401),
    ];
    for (n, (authorization, status)) in cases.into_iter().enumerate() {
        let headers = [
            ("Authorization", authorization),
            ("X-Atlassian-Webhook-Identifier", format!("j-{n}")),
        ];
        assert_eq!(
            post(&world, &headers, body.clone()).await,
            status,
            "case {n}"
        );
    }
    assert_eq!(
        post(&world, &[("X-Hub-Signature", sign(SECRET, &body))], body).await,
        401,
        "an admin signature where only the app secret is configured"
    );
    let counts = world.receiver.counts();
    assert_eq!(
        (counts.accepted, counts.bad_signature),
        (1, 3),
        "{counts:?}"
    );
}
