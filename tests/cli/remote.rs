//! Two nodes, each run by the binary from its own config file against its
//! own Jira emulator, set up a remote connection by invitation code and keep
//! an issue in step both ways.

use std::path::{Path, PathBuf};

use twinsync::model::{IssueKey, ProjectKey};
use twinsync::tracker::jira::emulator::{self, JiraEmulator};
use twinsync::tracker::{IssueUpdate, NewIssue, Tracker};

use super::node::{Serving, wait_until};
use super::{run, texts};

/// A free loopback port (the node URL in the invitation names it).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A node's config file and its node URL.
fn node_config(dir: &Path, name: &str, jira: &JiraEmulator, key_var: &str) -> (PathBuf, String) {
    let path = dir.join(format!("{name}.toml"));
    let port = free_port();
    std::fs::write(
        &path,
        format!(
            r#"[node]
name = "{name}"
listen = "127.0.0.1:{port}"
plain_http_on_loopback = true
state = "{name}.db"
key_env = "{key_var}"
poll_interval = "1s"

{tracker}"#,
            tracker = super::tracker_section(jira, "CLI_TEST_JIRA_API_TOKEN"),
        ),
    )
    .unwrap();
    (path, format!("http://127.0.0.1:{port}"))
}

#[test]
fn two_nodes_set_up_a_remote_connection_by_code_and_sync() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (jira_a, jira_b) = runtime.block_on(async {
        (
            JiraEmulator::start().await.unwrap(),
            JiraEmulator::start().await.unwrap(),
        )
    });
    let dir = tempfile::tempdir().unwrap();
    let (a, _) = node_config(dir.path(), "a", &jira_a, "CLI_TEST_KEY_A");
    let (b, b_url) = node_config(dir.path(), "b", &jira_b, "CLI_TEST_KEY_B");
    let key_a = "1f".repeat(32);
    let key_b = "2e".repeat(32);
    let env_a = [
        ("CLI_TEST_JIRA_API_TOKEN", emulator::API_TOKEN),
        ("CLI_TEST_KEY_A", key_a.as_str()),
    ];
    let env_b = [
        ("CLI_TEST_JIRA_API_TOKEN", emulator::API_TOKEN),
        ("CLI_TEST_KEY_B", key_b.as_str()),
    ];

    // A: initiate without a destination: an invitation code.
    let output = run(
        &a,
        &["connection", "initiate", "SUP_to_B", "--project", "SUP"],
        &env_a,
    );
    let (out, err) = texts(&output);
    assert!(output.status.success(), "{out}{err}");
    assert!(
        out.contains("initiated SUP_to_B (remote: SUP ↔ ?) — pending"),
        "{out}"
    );
    let code = out
        .lines()
        .find(|l| l.starts_with("twinsync-invite-"))
        .expect("the code is printed on a line of its own")
        .to_owned();

    // B: an establish token for its SUP, for a second connection set up directly.
    let output = run(
        &b,
        &[
            "connection",
            "establish-token",
            "--project",
            "SUP",
            "--valid-for",
            "1h",
        ],
        &env_b,
    );
    let (out, err) = texts(&output);
    assert!(output.status.success(), "{out}{err}");
    let token = out
        .lines()
        .find(|l| l.starts_with("twinsync-establish-"))
        .expect("the token is printed on a line of its own")
        .to_owned();

    // A serves; B accepts the code for DEV, which calls A.
    let mut serving_a = Serving::start(&a, &env_a);
    serving_a.wait_line("serving");
    let output = run(
        &b,
        &["connection", "accept", &code, "--project", "DEV"],
        &env_b,
    );
    let (out, err) = texts(&output);
    assert!(output.status.success(), "{out}{err}");
    assert!(
        out.contains("accepted: SUP_to_B (remote: SUP ↔ DEV) — active"),
        "{out}"
    );

    // B: a trigger on its side, then it serves too.
    let output = run(
        &b,
        &[
            "trigger",
            "add",
            "--project",
            "DEV",
            "--jql",
            "labels = escalate",
        ],
        &env_b,
    );
    assert!(output.status.success(), "{:?}", texts(&output));
    let dev = ProjectKey::new("DEV").unwrap();
    let filed = runtime
        .block_on(jira_b.tracker().create_issue(
            &NewIssue::new(dev, "Bug", "Disk full on build agent").labels(["escalate"]),
        ))
        .unwrap();
    let mut serving_b = Serving::start(&b, &env_b);
    serving_b.wait_line("serving");

    // B's trigger brings DEV-1 under sync: its twin appears on A's Jira.
    let sup_1 = IssueKey::new("SUP-1").unwrap();
    wait_until("the twin was created on A", || {
        jira_a
            .tracker()
            .inspect_issue(&sup_1)
            .is_some_and(|i| i.summary == "Disk full on build agent")
    });
    // An edit on A reaches B.
    let twin = jira_a.tracker().inspect_issue(&sup_1).unwrap();
    let update = IssueUpdate {
        summary: Some("Disk full on build agent 7".into()),
        ..IssueUpdate::default()
    };
    runtime
        .block_on(jira_a.tracker().update_issue(&twin.id, &update))
        .unwrap();
    wait_until("the edit on A reached B", || {
        jira_b
            .tracker()
            .inspect_issue(&filed.key)
            .is_some_and(|i| i.summary == "Disk full on build agent 7")
    });
    serving_a.terminate();

    // A: the direct setup with B's token, while B serves: active on both at once.
    let output = run(
        &a,
        &[
            "connection",
            "initiate",
            "DEV_to_B",
            "--project",
            "DEV",
            "--to",
            &b_url,
            "--other-project",
            "SUP",
            "--establish-token",
            &token,
        ],
        &env_a,
    );
    let (out, err) = texts(&output);
    assert!(output.status.success(), "{out}{err}");
    assert!(
        out.contains("set up DEV_to_B (remote: DEV ↔ SUP) — active on both nodes"),
        "{out}"
    );
    serving_b.terminate();
    let output = run(&b, &["connection", "list"], &env_b);
    let (out, _) = texts(&output);
    assert!(
        out.contains("DEV_to_B (remote: DEV ↔ SUP) — active"),
        "{out}"
    );
}
