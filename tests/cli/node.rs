//! A node run from a config file against a Jira emulator this test starts
//! (Jira Cloud, projects SUP and DEV; the API token in an environment
//! variable): admin commands, then `serve` as a process.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use twinsync::model::{IssueKey, ProjectKey};
use twinsync::tracker::jira::emulator;
use twinsync::tracker::{IssueUpdate, NewIssue, Tracker};

use super::{SUP_TO_DEV, run, run_ok, start_jira, texts, tracker_section, twinsync, write_config};

const TOKEN_VAR: &str = "CLI_TEST_JIRA_API_TOKEN";

/// A `serve` process, killed if the test ends early.
pub struct Serving {
    child: Child,
    lines: mpsc::Receiver<String>,
    /// Every line read so far.
    pub seen: Vec<String>,
}

impl Serving {
    /// Starts `twinsync serve` with `config` and `env`.
    pub fn start(config: &Path, env: &[(&str, &str)]) -> Serving {
        let mut command = twinsync();
        command
            .arg("--config")
            .arg(config)
            .args(["--log", "info", "serve"]);
        for (k, v) in env {
            command.env(k, v);
        }
        Serving::spawn(command)
    }

    /// Starts `command`, reading its standard output.
    pub fn spawn(mut command: std::process::Command) -> Serving {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Serving {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// The first line of its output that contains `text`.
    pub fn wait_line(&mut self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(text) {
                        return line;
                    }
                }
                Err(e) => panic!("serve never printed {text:?}: {e}"),
            }
        }
    }
}

impl Serving {
    /// Sends SIGTERM and checks that it stops cleanly: it says so and exits 0.
    pub fn terminate(&mut self) {
        let pid = self.child.id().to_string();
        let killed = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        assert!(killed.success());
        self.wait_line("stopped: ");
        let status = self.child.wait().unwrap();
        assert_eq!(status.code(), Some(0), "serve exits 0 after SIGTERM");
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits up to a minute until `check` holds.
pub fn wait_until(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_node_from_a_config_file_syncs_the_emulator() {
    let (runtime, jira) = start_jira();
    let tracker = jira.tracker().clone();
    let sup = ProjectKey::new("SUP").unwrap();
    for (summary, labels) in [
        ("Printer on fire", vec!["escalate"]),
        ("VPN drops", vec!["escalate"]),
        ("Typo", vec![]),
    ] {
        let issue = NewIssue::new(sup.clone(), "Bug", summary).labels(labels);
        runtime.block_on(tracker.create_issue(&issue)).unwrap();
    }

    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &format!(
            r#"[node]
name = "cli-test"
listen = "127.0.0.1:0"
plain_http_on_loopback = true
state = "state/node.db"
poll_interval = "1s"

{tracker}
{SUP_TO_DEV}"#,
            tracker = tracker_section(&jira, TOKEN_VAR),
        ),
    );
    let env = [(TOKEN_VAR, emulator::API_TOKEN)];

    let out = run_ok(
        &config,
        &[
            "trigger",
            "add",
            "--project",
            "SUP",
            "--jql",
            "labels = escalate",
        ],
        &env,
    );
    assert!(
        out.contains("SUP_to_DEV added trigger 1 on SUP (enabled): labels = escalate"),
        "{out}"
    );

    let out = run_ok(
        &config,
        &[
            "bulk-exalate",
            "--jql",
            "project = SUP AND labels = escalate",
        ],
        &env,
    );
    assert!(
        out.contains("2 issue(s): 2 synced, 0 already in step, 0 failed"),
        "{out}"
    );

    let output = run(&config, &["status", "--json"], &env);
    let (out, err) = texts(&output);
    assert!(output.status.success(), "{err}");
    let panels: serde_json::Value = serde_json::from_str(&out).expect("status --json is JSON");
    let panel = &panels[0];
    assert_eq!(panel["connection"]["name"], "SUP_to_DEV");
    assert_eq!(panel["twins"], 2);
    let mut pairs: Vec<(String, String, String)> = panel["issues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["origin"]["key"].as_str().unwrap_or("").to_owned(),
                i["twin"]["key"].as_str().unwrap_or("").to_owned(),
                i["state"]["state"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    pairs.sort();
    // Bulk exalate runs issues concurrently: either may get DEV-1.
    let origins: Vec<&str> = pairs.iter().map(|p| p.0.as_str()).collect();
    let mut twins: Vec<&str> = pairs.iter().map(|p| p.1.as_str()).collect();
    twins.sort();
    assert_eq!(origins, ["SUP-1", "SUP-2"], "{out}");
    assert_eq!(twins, ["DEV-1", "DEV-2"], "{out}");
    assert!(pairs.iter().all(|p| p.2 == "synchronized"), "{out}");
    let twin_of_1 = IssueKey::new(pairs[0].1.clone()).unwrap();

    // serve, as a process.
    let mut serving = Serving::start(&config, &env);
    let line = serving.wait_line("serving");
    let addr = line
        .split("listening on ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .expect("serve prints where it listens")
        .to_owned();
    // The peer endpoint answers: only POST /twinsync is served.
    let mut stream = TcpStream::connect(&addr).unwrap();
    stream
        .write_all(b"GET /twinsync HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 405"), "{answer}");

    // A second node on the same state file is refused, naming the holder
    // (admin commands the running node cannot do for it too).
    let pid = serving.child.id();
    for args in [&["serve"][..], &["exalate", "SUP-3"][..]] {
        let output = run(&config, args, &env);
        let (_, err) = texts(&output);
        assert_eq!(output.status.code(), Some(4), "{err}");
        assert!(
            err.contains(&format!(
                "is in use by another twinsync node (process {pid} holds"
            )),
            "{err}"
        );
    }

    // An edit made in Jira reaches its twin while serve runs.
    let origin = tracker
        .inspect_issue(&IssueKey::new("SUP-1").unwrap())
        .unwrap();
    let update = IssueUpdate {
        summary: Some("Printer on fire, floor 3 evacuated".into()),
        ..IssueUpdate::default()
    };
    runtime
        .block_on(tracker.update_issue(&origin.id, &update))
        .unwrap();
    wait_until("the edit reached the twin", || {
        tracker
            .inspect_issue(&twin_of_1)
            .is_some_and(|i| i.summary == "Printer on fire, floor 3 evacuated")
    });

    // SIGTERM stops it cleanly.
    serving.terminate();

    // The state file is free again.
    let out = run_ok(&config, &["status"], &env);
    assert!(out.contains("issues under sync: 2"), "{out}");
    drop(jira);
}
