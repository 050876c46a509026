//! The console's JSON API as a script meets it: served over HTTP by a real
//! server, called with a bearer token, each operation checked by what it
//! changed on the node.

use std::time::Duration;

use serde_json::{Value, json};
use twinsync::ErrorKind;
use twinsync::engine::{Node, SyncPanel};
use twinsync::server::console::{ApiToken, Console, Role};
use twinsync::testkit::block_on;
use twinsync::testkit::ids as lit;
use twinsync::testkit::remote_rig::RemoteRig;
use twinsync::testkit::rig::LocalRig;
use twinsync::tracker::memory::{Fault, OpKind};
use twinsync::transport::http::{HttpServer, ServerHandle, ServerTls};

const OWNER: &str = "owner-token-0123456789abcdefghij";
const VIEWER: &str = "viewer-token-0123456789abcdefghij";

/// A console on a real server, and a client for it.
struct Api {
    runtime: tokio::runtime::Runtime,
    server: Option<ServerHandle>,
    base: String,
    client: reqwest::Client,
}

impl Api {
    fn serve(node: &Node) -> Api {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let console = Console::builder(node.clone())
            .token(ApiToken::new("owner", OWNER, Role::Owner, lit::user_id("ada")).unwrap())
            .token(ApiToken::new("viewer", VIEWER, Role::Viewer, lit::user_id("ada")).unwrap())
            .build()
            .unwrap();
        let server = runtime.block_on(async {
            HttpServer::bind(
                "127.0.0.1:0".parse().unwrap(),
                ServerTls::plain_http_on_loopback(),
            )
            .unwrap()
            .serve_router(console.router())
            .unwrap()
        });
        let base = format!("http://{}", server.local_addr());
        Api {
            runtime,
            server: Some(server),
            base,
            client: reqwest::Client::new(),
        }
    }

    fn call(&self, method: &str, path: &str, token: &str, body: Option<Value>) -> (u16, Value) {
        self.runtime.block_on(async {
            let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
            let mut request = self
                .client
                .request(method, format!("{}{path}", self.base))
                .bearer_auth(token);
            if let Some(body) = body {
                request = request.json(&body);
            }
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let text = response.text().await.unwrap();
            let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
            (status, value)
        })
    }

    fn get(&self, path: &str) -> (u16, Value) {
        self.call("GET", path, OWNER, None)
    }

    fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call("POST", path, OWNER, Some(body))
    }
}

impl Drop for Api {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            self.runtime.block_on(server.shutdown());
        }
    }
}

#[test]
fn connections_list_with_their_counts_and_the_panel_reads_back_as_the_node_reports_it() {
    let rig = LocalRig::new();
    rig.user().create("SUP", "Bug", "Printer on fire");
    block_on(rig.node.exalate(&rig.conn.id, &lit::key("SUP-1"))).unwrap();
    let api = Api::serve(&rig.node);

    let (status, list) = api.get("/api/v1/connections");
    assert_eq!(status, 200, "{list}");
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list[0]["name"], rig.conn.name.as_str());
    assert_eq!(list[0]["twins"], 1);
    assert_eq!(list[0]["errors"], 0);

    let id = rig.conn.id.to_string();
    let (status, panel) = api.get(&format!("/api/v1/connections/{id}/panel"));
    assert_eq!(status, 200, "{panel}");
    let panel: SyncPanel = serde_json::from_value(panel).unwrap();
    assert_eq!(panel, rig.node.status(&rig.conn.id).unwrap());

    let (_, page) = api.get(&format!("/api/v1/connections/{id}/twins?q=sup-1"));
    assert_eq!(page["total"], 1, "{page}");
    assert_eq!(page["twins"][0]["twin"]["key"], "DEV-1", "{page}");
    assert!(page.get("next").is_none(), "one page: {page}");
    let (_, none) = api.get(&format!("/api/v1/connections/{id}/twins?q=NOPE"));
    assert_eq!(none["twins"].as_array().map(Vec::len), Some(0), "{none}");
    assert_eq!(
        none["total"], 1,
        "the twins under sync, not the matches: {none}"
    );

    let (status, missing) = api.get("/api/v1/connections/no-such-connection");
    assert_eq!(status, 404, "{missing}");
    assert_eq!(missing["error"]["kind"], "NotFound", "{missing}");
}

#[test]
fn a_trigger_with_a_typo_is_refused_naming_the_query_and_the_fixed_one_is_added() {
    let rig = LocalRig::new();
    let api = Api::serve(&rig.node);
    let path = format!("/api/v1/connections/{}/triggers", rig.conn.id);

    let (status, refused) = api.post(
        &path,
        json!({"project": "SUP", "query": "labels = \"escalate\" AND", "note": "escalations"}),
    );
    assert_eq!(status, 400, "{refused}");
    assert_eq!(refused["error"]["kind"], "InvalidInput", "{refused}");
    assert!(
        rig.node.triggers(&rig.conn.id).unwrap().is_empty(),
        "nothing added"
    );

    let (status, added) = api.post(
        &path,
        json!({"project": "SUP", "query": "labels = \"escalate\"", "note": "escalations"}),
    );
    assert_eq!(status, 201, "{added}");
    let triggers = rig.node.triggers(&rig.conn.id).unwrap();
    assert_eq!(triggers.len(), 1);
    assert!(triggers[0].enabled);

    // Disable, edit, remove.
    let tid = triggers[0].id;
    let (status, _) = api.post(&format!("{path}/{tid}/disable"), json!({}));
    assert_eq!(status, 200);
    assert!(!rig.node.triggers(&rig.conn.id).unwrap()[0].enabled);
    let (status, edited) = api.call(
        "PUT",
        &format!("{path}/{tid}"),
        OWNER,
        Some(json!({"query": "labels = \"urgent\""})),
    );
    assert_eq!(status, 200, "{edited}");
    assert_eq!(
        rig.node.triggers(&rig.conn.id).unwrap()[0].query,
        "labels = \"urgent\""
    );
    let (status, _) = api.call("DELETE", &format!("{path}/{tid}"), OWNER, None);
    assert_eq!(status, 200);
    assert!(rig.node.triggers(&rig.conn.id).unwrap().is_empty());
}

#[test]
fn a_failed_twin_is_retried_and_a_conflict_resolved_through_the_api() {
    let rig = LocalRig::new();
    rig.user().create("SUP", "Bug", "Printer on fire");
    block_on(rig.node.exalate(&rig.conn.id, &lit::key("SUP-1"))).unwrap();
    rig.advance(10);
    rig.user().comment("SUP-1", "it smokes");
    rig.tracker
        .inject(OpKind::AddComment, Fault::Fail(ErrorKind::PermissionDenied));
    rig.sync();
    let id = rig.conn.id.to_string();
    assert_eq!(rig.node.status(&rig.conn.id).unwrap().errors.len(), 1);

    let api = Api::serve(&rig.node);
    let (status, viewer) = api.call(
        "POST",
        &format!("/api/v1/connections/{id}/twins/SUP-1/retry"),
        VIEWER,
        None,
    );
    assert_eq!(status, 403, "a viewer may not retry: {viewer}");
    let (status, done) = api.post(
        &format!("/api/v1/connections/{id}/twins/SUP-1/retry"),
        json!({}),
    );
    assert_eq!(status, 200, "{done}");
    assert!(done["done"].as_str().unwrap().contains("SUP-1"), "{done}");
    assert_eq!(rig.issue("DEV-1").comments.len(), 1, "the comment arrived");
    let (_, errors) = api.get(&format!("/api/v1/connections/{id}/errors"));
    assert_eq!(errors, json!([]));

    // A conflict: both summaries edited.
    rig.advance(10);
    rig.user().edit_summary("SUP-1", "Printer on fire, floor 3");
    rig.advance(10);
    rig.user().edit_summary("DEV-1", "Printer smokes");
    rig.sync();
    let (_, conflicts) = api.get(&format!("/api/v1/connections/{id}/conflicts"));
    assert_eq!(conflicts.as_array().unwrap().len(), 1, "{conflicts}");
    let (status, _) = api.post(
        &format!("/api/v1/connections/{id}/twins/DEV-1/resolve"),
        json!({}),
    );
    assert_eq!(status, 200);
    assert!(rig.node.conflicts(&rig.conn.id).unwrap().is_empty());
}

#[test]
fn test_run_shows_the_plan_and_writes_nothing() {
    let rig = LocalRig::new();
    rig.user().create("SUP", "Bug", "Printer on fire");
    let api = Api::serve(&rig.node);
    let (status, result) = api.get(&format!(
        "/api/v1/connections/{}/test-run?key=SUP-1",
        rig.conn.id
    ));
    assert_eq!(status, 200, "{result}");
    assert!(
        result["summary"].as_str().unwrap().contains("would create"),
        "{result}"
    );
    assert!(rig.issues("DEV").is_empty(), "nothing written");
    let (status, bad) = api.get(&format!(
        "/api/v1/connections/{}/test-run?key=not%20a%20key",
        rig.conn.id
    ));
    assert_eq!(status, 400, "{bad}");
}

#[test]
fn a_bulk_exalate_job_reports_progress_to_the_end() {
    let rig = LocalRig::new();
    for i in 0..12 {
        rig.user().create("SUP", "Bug", &format!("issue {i}"));
    }
    let api = Api::serve(&rig.node);
    let (status, started) = api.post(
        &format!("/api/v1/connections/{}/bulk", rig.conn.id),
        json!({"jql": "project = SUP"}),
    );
    assert_eq!(status, 202, "{started}");
    let url = started["url"].as_str().unwrap().to_owned();
    let mut job = Value::Null;
    for _ in 0..200 {
        job = api.get(&url).1;
        if job["done"] == true {
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    assert_eq!(job["done"], true, "{job}");
    assert_eq!(job["synced"], 12, "{job}");
    assert_eq!(job["failed"], 0, "{job}");
    assert_eq!(job["error"], Value::Null, "{job}");
    assert_eq!(rig.issues("DEV").len(), 12);

    let (status, _) = api.get("/api/v1/jobs/unknown");
    assert_eq!(status, 404);
}

#[test]
fn initiate_on_one_node_and_accept_on_the_other_through_their_apis() {
    let rig = RemoteRig::new();
    let a = Api::serve(&rig.a.node);
    let b = Api::serve(&rig.b.node);

    let (status, initiated) = a.post(
        "/api/v1/connections/initiate",
        json!({"local_project": "SUP"}),
    );
    assert_eq!(status, 201, "{initiated}");
    assert_eq!(initiated["outcome"], "invitation");
    let code = initiated["invitation_code"].as_str().unwrap().to_owned();

    let (status, refused) = b.post(
        "/api/v1/connections/accept",
        json!({"code": "hello there", "project": "DEV"}),
    );
    assert_eq!(status, 400, "{refused}");
    assert!(b_has_no_connection(&rig));

    let (status, accepted) = b.post(
        "/api/v1/connections/accept",
        json!({"code": code, "project": "DEV"}),
    );
    assert_eq!(status, 201, "{accepted}");
    assert_eq!(rig.b.node.connections().unwrap().len(), 1);
    let (_, listed) = a.get("/api/v1/connections");
    assert_eq!(listed[0]["status"]["status"], "active", "{listed}");

    // The code worked once; the answer never carried it elsewhere.
    let (status, again) = b.post(
        "/api/v1/connections/accept",
        json!({"code": code, "project": "DEV"}),
    );
    assert_eq!(status, 409, "{again}");
    assert!(!again.to_string().contains(&code), "{again}");
}

fn b_has_no_connection(rig: &RemoteRig) -> bool {
    rig.b.node.connections().unwrap().is_empty()
}

#[test]
fn a_viewer_reads_but_every_write_is_refused_and_changes_nothing() {
    let rig = LocalRig::new();
    let api = Api::serve(&rig.node);
    let id = rig.conn.id.to_string();
    let (status, _) = api.call("GET", "/api/v1/connections", VIEWER, None);
    assert_eq!(status, 200);
    let (status, me) = api.call("GET", "/api/v1/me", VIEWER, None);
    assert_eq!((status, &me["role"]), (200, &json!("viewer")));
    for (method, path, body) in [
        ("POST", format!("/api/v1/connections/{id}/deactivate"), None),
        (
            "POST",
            format!("/api/v1/connections/{id}/triggers"),
            Some(json!({"project": "SUP", "query": "labels = x"})),
        ),
        (
            "POST",
            format!("/api/v1/connections/{id}/bulk"),
            Some(json!({"jql": "project = SUP"})),
        ),
        ("DELETE", format!("/api/v1/connections/{id}"), None),
    ] {
        let (status, answer) = api.call(method, &path, VIEWER, body);
        assert_eq!(status, 403, "{method} {path}: {answer}");
    }
    let conn = rig.node.connection(&rig.conn.id).unwrap();
    assert_eq!(conn.status, rig.conn.status, "still as it was");
    assert!(conn.triggers.is_empty());
}
