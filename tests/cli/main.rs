//! The `twinsync` binary, started as a process: its help, config errors,
//! the demo, and a node run from a config file against a Jira emulator this
//! test starts.

mod admin;
mod config_errors;
mod console;
mod database;
mod node;
mod remote;
mod rules;
mod webhooks;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use twinsync::tracker::jira::emulator::{self, JiraEmulator};

/// The binary, with a clean environment for what it reads.
pub fn twinsync() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_twinsync"));
    command
        .env_remove("RUST_LOG")
        .env_remove("TWINSYNC_CONFIG")
        .env_remove("TWINSYNC_ESTABLISH_TOKEN");
    command
}

/// Runs the binary with `args` and the config at `config`.
pub fn run(config: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = twinsync();
    command.arg("--config").arg(config).args(args);
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("the twinsync binary runs")
}

/// Standard output and standard error, as text.
pub fn texts(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Runs the binary like [`run`] and checks that it succeeds: its standard output.
pub fn run_ok(config: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let output = run(config, args, env);
    let (out, err) = texts(&output);
    assert!(output.status.success(), "{args:?} failed: {out}{err}");
    out
}

/// A Jira Cloud emulator (projects SUP and DEV) and the runtime whose
/// threads serve it while the test runs processes.
pub fn start_jira() -> (tokio::runtime::Runtime, JiraEmulator) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let jira = runtime.block_on(JiraEmulator::start()).unwrap();
    (runtime, jira)
}

/// The `[tracker]` section for `jira`, signed in as its admin with the API
/// token in the environment variable `token_var`.
pub fn tracker_section(jira: &JiraEmulator, token_var: &str) -> String {
    format!(
        r#"[tracker]
kind = "jira-cloud"
url = "{url}"
user = "{user}"
token_env = "{token_var}"
"#,
        url = jira.base_url(),
        user = emulator::EMAIL,
    )
}

/// The `[[connection]]` section of the local connection SUP ⇄ DEV.
pub const SUP_TO_DEV: &str = r#"[[connection]]
name = "SUP_to_DEV"
project = "SUP"
other_project = "DEV"
"#;

/// Writes `text` as `twinsync.toml` in `dir`: its path.
pub fn write_config(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("twinsync.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn help_explains_every_subcommand_and_the_exit_codes() {
    let output = twinsync().arg("--help").output().unwrap();
    assert!(output.status.success());
    let (help, _) = texts(&output);
    for command in [
        "serve",
        "connection",
        "trigger",
        "exalate",
        "connect",
        "unexalate",
        "bulk-exalate",
        "test-run",
        "status",
        "errors",
        "retry",
        "resolve",
    ] {
        assert!(
            help.contains(&format!("\n  {command} ")),
            "{command} missing from:\n{help}"
        );
    }
    assert!(help.contains("Exit codes"), "{help}");
    assert!(help.contains("TWINSYNC_CONFIG"), "{help}");

    let output = twinsync()
        .args(["connection", "accept", "--help"])
        .output()
        .unwrap();
    let (help, _) = texts(&output);
    assert!(help.contains("--project"), "{help}");
    assert!(help.contains("invitation code"), "{help}");

    let output = twinsync().args(["connection", "bogus"]).output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(2),
        "a bad command line is exit code 2"
    );
}

#[test]
fn the_demo_keeps_two_projects_in_step_until_stopped() {
    let mut command = twinsync();
    command.args(["serve", "--demo"]);
    let mut demo = node::Serving::spawn(command);
    demo.wait_line(
        "[script] in step: SUP-1 ⇄ DEV-1, both \"Checkout times out under load\" with 2 comments \
         each; SUP-2 has no twin",
    );
    demo.terminate();
    let out = demo.seen.join("\n");
    assert!(
        out.contains("local connection SUP_to_DEV (local: SUP ↔ DEV) — active"),
        "{out}"
    );
    assert!(out.contains("── status ──"), "{out}");
    assert!(
        out.contains("  SUP-1 ⇄ DEV-1  synchronized"),
        "the status table: {out}"
    );
}

#[test]
fn the_demo_stops_by_itself_and_logs_json() {
    let output = twinsync()
        .args([
            "--log-format",
            "json",
            "--log",
            "info",
            "serve",
            "--demo",
            "--demo-duration",
            "2s",
        ])
        .output()
        .unwrap();
    let (out, err) = texts(&output);
    assert!(output.status.success(), "demo failed:\n{out}\n{err}");
    assert!(
        out.contains("final status:") && out.contains("stopped: "),
        "{out}"
    );
    // Logs go to standard error, one JSON object a line.
    let logs: Vec<serde_json::Value> = err
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(
        logs.iter()
            .any(|l| l["level"] == "INFO" && l["fields"]["message"] == "run loop started"),
        "{err}"
    );
}
