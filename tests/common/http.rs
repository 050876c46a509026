//! Calls of the Jira emulator as any HTTP client would make them.

use std::future::Future;

use reqwest::Method;
use serde_json::{Value, json};
use twinsync::tracker::jira::emulator::{API_TOKEN, EMAIL, JiraEmulator};

/// Runs a future on a current-thread runtime (the emulator serves meanwhile).
pub fn run<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(future)
}

/// One request as any Jira client would send it: the status and the JSON
/// answer (`Null` when there is none).
pub async fn call(
    emulator: &JiraEmulator,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client");
    let mut request = client
        .request(method, format!("{}{path}", emulator.base_url()))
        .basic_auth(EMAIL, Some(API_TOKEN));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let answer = request.send().await.expect("the emulator answers");
    let status = answer.status().as_u16();
    let text = answer.text().await.expect("a body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Creates a Bug in `project` through v3; its key.
pub async fn create(emulator: &JiraEmulator, project: &str, summary: &str) -> String {
    let (status, v) = call(
        emulator,
        Method::POST,
        "/rest/api/3/issue",
        Some(json!({"fields": {"project": {"key": project}, "issuetype": {"name": "Bug"}, "summary": summary}})),
    )
    .await;
    assert_eq!(status, 201, "{v}");
    v["key"].as_str().expect("a key").to_owned()
}
