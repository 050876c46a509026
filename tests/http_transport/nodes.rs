//! Two real nodes, each served on loopback HTTPS and calling the other with
//! `HttpTransport`: set up by invitation code, twins kept in step both ways.

use serde_json::Value;
use twinsync::ErrorKind;
use twinsync::connection::ConnectionStatus;
use twinsync::testkit::ids as lit;
use twinsync::tracker::{IssueUpdate, NewComment, NewIssue, Tracker};
use twinsync::transport::Transport;

use super::support::{Pair, Side};

async fn create(side: &Side, project: &str, summary: &str) {
    side.human
        .create_issue(&NewIssue::new(lit::project(project), "Bug", summary))
        .await
        .unwrap();
}

async fn comment(side: &Side, key: &str, body: &str) {
    let issue = side.issue(key);
    side.human
        .add_comment(&issue.id, &NewComment::public(body))
        .await
        .unwrap();
}

async fn retitle(side: &Side, key: &str, summary: &str) {
    let issue = side.issue(key);
    let update = IssueUpdate {
        summary: Some(summary.into()),
        ..IssueUpdate::default()
    };
    side.human.update_issue(&issue.id, &update).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_over_https_set_up_by_code_and_keep_twins_in_step() {
    let pair = Pair::start().await;
    let (a, b) = (&pair.a, &pair.b);
    assert_ne!(a.url(), b.url());

    // Set-up by invitation code: B calls A over HTTPS to accept.
    let conn = pair.connect().await;
    assert_eq!(conn.status, ConnectionStatus::Active);
    assert_eq!(&conn.b.instance, b.tracker.url());
    assert_ne!(
        b.tracker.url().as_str(),
        b.url().as_str(),
        "a node URL is not its tracker URL"
    );
    assert_eq!(conn.b.project.as_str(), "DEV");
    let on_b = b.node.connection(&conn.id).unwrap();
    assert_eq!(on_b.status, ConnectionStatus::Active);
    assert_eq!(&on_b.a.instance, a.tracker.url());

    // Exalate on A: the twin appears on B with its comment.
    create(a, "SUP", "Printer on fire").await;
    comment(a, "SUP-1", "first").await;
    let twin = a.node.exalate(&conn.id, &lit::key("SUP-1")).await.unwrap();
    assert_eq!(twin.twin.as_ref().map(|t| t.key.as_str()), Some("DEV-1"));
    assert!(!twin.waiting, "{twin:?}");
    assert_eq!(b.issue("DEV-1").summary, "Printer on fire");
    assert_eq!(b.bodies("DEV-1"), ["first"]);

    // B edits and comments: A gets both.
    pair.advance(10);
    retitle(b, "DEV-1", "Printer on fire, floor 3").await;
    comment(b, "DEV-1", "on it").await;
    pair.sync(&conn).await;
    assert_eq!(a.issue("SUP-1").summary, "Printer on fire, floor 3");
    assert_eq!(a.bodies("SUP-1"), ["first", "on it"]);

    // A comments again: B gets it, after B's own.
    pair.advance(10);
    comment(a, "SUP-1", "thanks").await;
    pair.sync(&conn).await;
    assert_eq!(b.bodies("DEV-1"), ["first", "on it", "thanks"]);

    // B exalates one of its own: it lands on A.
    create(b, "DEV", "Build broken").await;
    comment(b, "DEV-2", "since Monday").await;
    let twin = b.node.exalate(&conn.id, &lit::key("DEV-2")).await.unwrap();
    assert_eq!(twin.twin.as_ref().map(|t| t.key.as_str()), Some("SUP-2"));
    assert_eq!(a.bodies("SUP-2"), ["since Monday"]);

    // Echoes settle; then a cycle on each side writes nothing.
    for _ in 0..3 {
        pair.sync(&conn).await;
    }
    a.tracker.reset_calls();
    b.tracker.reset_calls();
    assert_eq!(pair.sync(&conn).await, (0, 0));
    assert_eq!(a.tracker.calls().writes(), 0, "{}", a.tracker.calls());
    assert_eq!(b.tracker.calls().writes(), 0, "{}", b.tracker.calls());

    // One twin per issue, every comment once, in order.
    let sup: Vec<String> = a.issues("SUP").iter().map(|i| i.summary.clone()).collect();
    let dev: Vec<String> = b.issues("DEV").iter().map(|i| i.summary.clone()).collect();
    assert_eq!(sup, ["Printer on fire, floor 3", "Build broken"]);
    assert_eq!(dev, ["Printer on fire, floor 3", "Build broken"]);
    assert_eq!(a.bodies("SUP-1"), ["first", "on it", "thanks"]);
    assert_eq!(b.bodies("DEV-1"), ["first", "on it", "thanks"]);
    assert_eq!(b.bodies("DEV-2"), ["since Monday"]);
    let panel = a.node.status(&conn.id).unwrap();
    assert_eq!(panel.twins, 2, "{panel}");
    assert!(panel.errors.is_empty(), "{panel}");
    let panel = b.node.status(&conn.id).unwrap();
    assert_eq!(panel.twins, 2, "{panel}");
    assert!(panel.errors.is_empty(), "{panel}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_over_http_gets_the_nodes_refusal_and_the_server_keeps_serving() {
    let pair = Pair::start().await;
    let to = pair.b.url();
    let transport = pair.pki.transport();
    let commits = pair.b.store.commits();
    for garbage in [
        b"\x00\xff\xfe not json".to_vec(),
        Vec::new(),
        b"{\"type\":\"signed\"}".to_vec(),
        vec![b'['; 100_000],
    ] {
        let answer = transport.call(&to, garbage).await.unwrap();
        let answer: Value = serde_json::from_slice(&answer).unwrap();
        assert_eq!(answer["type"], "refused", "{answer}");
        assert!(answer["message"].as_str().is_some(), "{answer}");
    }
    assert_eq!(pair.b.store.commits(), commits);

    // A well-formed request still gets its answer.
    let hello = serde_json::to_vec(&serde_json::json!({"type": "hello", "protocol": 1})).unwrap();
    let answer: Value = serde_json::from_slice(&transport.call(&to, hello).await.unwrap()).unwrap();
    assert_eq!(answer["type"], "hello", "{answer}");
    assert_eq!(
        answer["instance"],
        pair.b.tracker.url().as_str(),
        "{answer}"
    );
    assert_eq!(answer["node"], to.as_str(), "{answer}");

    // And the node still sets a connection up and syncs.
    let conn = pair.connect().await;
    create(&pair.a, "SUP", "After the garbage").await;
    let twin = pair
        .a
        .node
        .exalate(&conn.id, &lit::key("SUP-1"))
        .await
        .unwrap();
    assert!(twin.twin.is_some(), "{twin:?}");
    assert_eq!(pair.b.issue("DEV-1").summary, "After the garbage");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_over_the_default_limit_is_refused_by_the_server_not_the_node() {
    let pair = Pair::start().await;
    let oversize = vec![b' '; twinsync::transport::http::DEFAULT_BODY_LIMIT + 1];
    let err = pair
        .pki
        .transport()
        .call(&pair.b.url(), oversize)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(err.to_string().contains("413"), "{err}");
}

/// The last signed request A sent B.
fn last_signed(side: &Side) -> Vec<u8> {
    side.transport
        .sent
        .lock()
        .unwrap()
        .iter()
        .rev()
        .find(|r| r.windows(15).any(|w| w == b"\"type\":\"signed\""))
        .cloned()
        .expect("a signed request was sent")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_captured_request_replayed_or_sent_late_over_https_is_refused_and_changes_nothing() {
    let pair = Pair::start().await;
    let conn = pair.connect().await;
    create(&pair.a, "SUP", "Printer on fire").await;
    pair.a
        .node
        .exalate(&conn.id, &lit::key("SUP-1"))
        .await
        .unwrap();
    let captured = last_signed(&pair.a);
    let to = pair.b.url();
    let transport = pair.pki.transport();
    let refusal = |answer: Vec<u8>| -> String {
        let answer: Value = serde_json::from_slice(&answer).unwrap();
        assert_eq!(answer["type"], "refused", "{answer}");
        answer["message"].as_str().unwrap().to_owned()
    };

    // Replayed at once: the nonce was seen.
    let commits = pair.b.store.commits();
    let writes = pair.b.tracker.calls().writes();
    let message = refusal(transport.call(&to, captured.clone()).await.unwrap());
    assert!(
        message.contains("replay") || message.contains("seen"),
        "{message}"
    );

    // Sent ten minutes late: outside the five-minute window.
    pair.clock.advance(std::time::Duration::from_secs(600));
    let message = refusal(transport.call(&to, captured).await.unwrap());
    assert!(message.contains("stale"), "{message}");
    assert_eq!(pair.b.store.commits(), commits, "B's store is unchanged");
    assert_eq!(pair.b.tracker.calls().writes(), writes, "B wrote nothing");
    assert_eq!(pair.b.issues("DEV").len(), 1, "one twin, not two");
}
