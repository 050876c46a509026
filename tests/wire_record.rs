//! Records what two nodes of this build say to each other, for the wire
//! fixtures that keep the protocol stable (`tests/fixtures/wire/`).
//!
//! Every request one node sends the other, and its answer, is recorded as
//! one JSON line `{"request": …, "response": …}` while two nodes set up a
//! connection, sync issues with comments and attachments both ways, connect
//! two issues, unexalate, refuse, and a private node pulls. The unit test
//! `engine::peer::wire_fixtures` checks that every recorded message of every
//! released protocol version still reads, so a change that would break an
//! older peer fails a test instead of a customer's connection.
//!
//! Without `TWINSYNC_RECORD_WIRE` this test checks that the scenario still
//! runs and records each kind of message the fixture of the current version
//! holds; with `TWINSYNC_RECORD_WIRE=1` it writes
//! `tests/fixtures/wire/protocol-<PROTOCOL_VERSION>.jsonl` (do that once per
//! release, when the protocol version changes, and keep the older files).

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde_json::Value;
use twinsync::connection::PROTOCOL_VERSION;
use twinsync::engine::{DeleteOptions, InitiateRequest, Initiated, Node};
use twinsync::model::UserId;
use twinsync::testkit::block_on;
use twinsync::testkit::ids as lit;
use twinsync::testkit::remote_rig::{RemoteRig, RigSide};
use twinsync::tracker::{NewAttachment, NewComment, NewIssue, Tracker};
use twinsync::transport::Endpoint;

/// A node's endpoint that writes down every request and its answer.
struct Recorder {
    node: Node,
    log: Arc<Mutex<Vec<Value>>>,
}

#[async_trait]
impl Endpoint for Recorder {
    async fn handle(&self, request: Vec<u8>) -> Vec<u8> {
        let response = self.node.handle(request.clone()).await;
        let parse = |bytes: &[u8]| serde_json::from_slice::<Value>(bytes).expect("json");
        self.log.lock().unwrap().push(serde_json::json!({
            "request": parse(&request),
            "response": parse(&response),
        }));
        response
    }
}

fn ada() -> UserId {
    lit::user_id("ada")
}

fn record(rig: &RemoteRig, side: &RigSide, log: &Arc<Mutex<Vec<Value>>>) {
    if side.reachable {
        rig.network.register(
            side.node.node_url(),
            Arc::new(Recorder {
                node: side.node.clone(),
                log: log.clone(),
            }),
        );
    }
}

fn create(side: &RigSide, project: &str, summary: &str) -> String {
    let issue = block_on(side.human.create_issue(&NewIssue::new(
        lit::project(project),
        "Bug",
        summary,
    )))
    .unwrap();
    issue.key.to_string()
}

fn comment_and_attach(side: &RigSide, key: &str, text: &str) {
    let issue = side.issue(key);
    block_on(side.human.add_comment(&issue.id, &NewComment::public(text))).unwrap();
    block_on(
        side.human.upload_attachment(
            &issue.id,
            &NewAttachment::new(format!("{text}.txt"), text.as_bytes().to_vec())
                .mime_type("text/plain"),
        ),
    )
    .unwrap();
}

/// Runs the scenario, returning every exchange recorded.
fn scenario(private_b: bool) -> Vec<Value> {
    let rig = if private_b {
        RemoteRig::with_private_b()
    } else {
        RemoteRig::new()
    };
    let log = Arc::new(Mutex::new(Vec::new()));
    record(&rig, &rig.a, &log);
    record(&rig, &rig.b, &log);
    let conn = rig.connect();

    let sup = create(&rig.a, "SUP", "Printer on fire");
    comment_and_attach(&rig.a, &sup, "first");
    block_on(rig.a.node.exalate(&conn.id, &lit::key(&sup))).unwrap();
    rig.sync(&conn);
    comment_and_attach(&rig.b, "DEV-1", "reply");
    rig.sync(&conn);
    rig.sync(&conn);

    // Two issues that exist on both sides already, connected.
    let sup2 = create(&rig.a, "SUP", "Known on both sides");
    let dev2 = create(&rig.b, "DEV", "Known on both sides");
    // From the side that can call the other.
    let connected = if private_b {
        block_on(
            rig.b
                .node
                .connect(&conn.id, &lit::key(&dev2), &lit::key(&sup2)),
        )
    } else {
        block_on(
            rig.a
                .node
                .connect(&conn.id, &lit::key(&sup2), &lit::key(&dev2)),
        )
    };
    connected.unwrap();
    rig.sync(&conn);
    rig.sync(&conn);

    // Unexalating: the other node is told, and lets its twin go.
    block_on(rig.a.node.unexalate(&conn.id, &lit::key(&sup))).unwrap();
    rig.sync(&conn);
    rig.sync(&conn);

    if !private_b {
        // A message the other node refuses: B no longer knows the connection.
        let mut on_b = rig.b.node.connections().unwrap();
        let theirs = on_b.pop().unwrap();
        block_on(
            rig.b
                .node
                .admin(&ada())
                .delete_connection(&theirs.id, DeleteOptions::default()),
        )
        .unwrap();
        create(&rig.a, "SUP", "After B left");
        // Both fail, as they should: B refuses, and A stops the connection.
        let _refused = block_on(rig.a.node.exalate(&conn.id, &lit::key("SUP-3")));
        let _stopped = block_on(rig.a.node.sync(&conn.id));
    }
    // A direct setup with a token, and a Hello of its own.
    let token = block_on(
        rig.b
            .node
            .admin(&ada())
            .issue_establish_token(&lit::project("DEV"), std::time::Duration::from_secs(600)),
    )
    .unwrap();
    let request = InitiateRequest::new(lit::project("SUP"))
        .destination("https://b.example")
        .destination_project(lit::project("DEV"))
        .admin_access(true)
        .establish_token(token)
        .name("direct");
    let initiated = block_on(rig.a.node.admin(&ada()).initiate(request)).unwrap();
    assert!(
        matches!(
            initiated,
            Initiated::Established(_) | Initiated::Invitation { .. }
        ),
        "{initiated:?}"
    );
    log.lock().unwrap().clone()
}

/// The kind of one recorded message: `request:hello`, `body:replica`, ….
fn kinds(exchange: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for (side, message) in [
        ("request", &exchange["request"]),
        ("response", &exchange["response"]),
    ] {
        let tag = message["type"].as_str().unwrap_or("?").to_owned();
        out.push(format!("{side}:{tag}"));
        if tag == "signed" {
            let body: Value = serde_json::from_str(message["body"].as_str().unwrap()).unwrap();
            out.push(format!("body:{}", body["type"].as_str().unwrap_or("?")));
            if body["type"] == "messages" {
                for item in body["items"].as_array().into_iter().flatten() {
                    out.push(format!("body:{}", item["type"].as_str().unwrap_or("?")));
                }
            }
        }
    }
    out
}

#[test]
fn the_recorded_exchange_of_this_version_still_happens() {
    let mut all = scenario(false);
    all.extend(scenario(true));
    let seen: BTreeSet<String> = all.iter().flat_map(kinds).collect();
    let path = format!(
        "{}/tests/fixtures/wire/protocol-{PROTOCOL_VERSION}.jsonl",
        env!("CARGO_MANIFEST_DIR")
    );
    if std::env::var_os("TWINSYNC_RECORD_WIRE").is_some() {
        let text: String = all.iter().map(|v| format!("{v}\n")).collect();
        std::fs::write(&path, text).unwrap();
        println!("wrote {} exchanges to {path}: {seen:?}", all.len());
        return;
    }
    let recorded = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("{path}: {e}; record it with TWINSYNC_RECORD_WIRE=1 (see this file's docs)")
    });
    let fixture: BTreeSet<String> = recorded
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .flat_map(|v| kinds(&v))
        .collect();
    let missing: Vec<&String> = fixture.difference(&seen).collect();
    assert!(
        missing.is_empty(),
        "the fixture of protocol version {PROTOCOL_VERSION} has messages this build no longer \
         sends: {missing:?}"
    );
    let new: Vec<&String> = seen.difference(&fixture).collect();
    assert!(
        new.is_empty(),
        "this build sends messages the fixture of protocol version {PROTOCOL_VERSION} lacks: \
         {new:?}; a new message needs a new protocol version and a new recording"
    );
}
