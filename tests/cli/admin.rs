//! The admin commands on one issue and on connections, against a Jira
//! emulator this test starts; the config's trigger set up by itself.

use twinsync::model::{IssueKey, ProjectKey};
use twinsync::tracker::jira::emulator::{self, JiraEmulator};
use twinsync::tracker::{NewIssue, Tracker};

use super::{SUP_TO_DEV, run, run_ok, start_jira, texts, tracker_section, write_config};

#[test]
fn admin_commands_act_on_issues_and_connections() {
    let (runtime, jira) = start_jira();
    let sup = ProjectKey::new("SUP").unwrap();
    let dev = ProjectKey::new("DEV").unwrap();
    for (project, summary) in [
        (&sup, "Printer on fire"),
        (&sup, "VPN drops"),
        (&dev, "VPN drops (dev)"),
    ] {
        let issue = NewIssue::new(project.clone(), "Bug", summary);
        runtime
            .block_on(jira.tracker().create_issue(&issue))
            .unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &format!(
            r#"[node]
state = "node.db"

{tracker}
{SUP_TO_DEV}
[[trigger]]
connection = "SUP_to_DEV"
project = "SUP"
jql = "labels = escalate"
note = "from the config file"
"#,
            tracker = tracker_section(&jira, "CLI_TEST_JIRA_API_TOKEN"),
        ),
    );
    let env = [("CLI_TEST_JIRA_API_TOKEN", emulator::API_TOKEN)];
    let ok = |args: &[&str]| run_ok(&config, args, &env);

    let out = ok(&["connection", "list"]);
    assert!(
        out.starts_with("SUP_to_DEV (local: SUP ↔ DEV) — active   id "),
        "{out}"
    );
    let out = ok(&["trigger", "list"]);
    assert_eq!(
        out.trim(),
        "SUP_to_DEV: trigger 1 on SUP (enabled): labels = escalate — from the config file"
    );
    // Started again, the config's trigger is not added twice.
    let out = ok(&["trigger", "list"]);
    assert_eq!(out.lines().count(), 1, "{out}");

    let out = ok(&["test-run", "SUP-1"]);
    assert!(
        out.contains("test run of SUP-1 (not under sync yet)"),
        "{out}"
    );
    assert!(out.contains("(nothing was written)"), "{out}");
    assert!(
        jira.tracker().inspect_issues(&dev).len() == 1,
        "test-run wrote nothing"
    );

    let out = ok(&["exalate", "SUP-1"]);
    assert!(out.starts_with("exalated SUP-1 ⇄ DEV-2: "), "{out}");
    let out = ok(&["connect", "SUP-2", "DEV-1"]);
    assert!(out.starts_with("connected SUP-2 ⇄ DEV-1: "), "{out}");
    // An issue of a project outside the connection fails; the others go on.
    jira.add_project("OPS", "Operations", &["Bug"]).unwrap();
    let ops = NewIssue::new(
        ProjectKey::new("OPS").unwrap(),
        "Bug",
        "Printer on fire again",
    );
    runtime.block_on(jira.tracker().create_issue(&ops)).unwrap();
    let output = run(
        &config,
        &["bulk-exalate", "--jql", "summary ~ printer"],
        &env,
    );
    let (out, err) = texts(&output);
    assert_eq!(
        output.status.code(),
        Some(5),
        "some issues failed: {out}{err}"
    );
    assert!(out.contains(", 1 failed;"), "{out}");
    assert!(
        err.contains("OPS-1 failed: not in a project of connection SUP_to_DEV"),
        "{err}"
    );
    assert!(
        err.contains("error: 1 issue(s) failed (each named above)"),
        "{err}"
    );
    let out = ok(&["status"]);
    assert!(out.contains("issues under sync: 2"), "{out}");
    assert!(
        out.contains("SUP-1 ⇄ DEV-2  synchronized") && out.contains("SUP-2 ⇄ DEV-1  synchronized"),
        "{out}"
    );
    assert_eq!(ok(&["errors"]).trim(), "no errors");
    let out = ok(&["retry", "SUP-1"]);
    assert!(
        out.starts_with("retried SUP-1 ⇄ DEV-2: 0 write(s)"),
        "in step, nothing to write: {out}"
    );
    let out = ok(&["resolve", "DEV-2"]);
    assert!(out.starts_with("resolved DEV-2"), "{out}");
    let out = ok(&["unexalate", "SUP-2"]);
    assert!(out.starts_with("unexalated SUP-2"), "{out}");
    let out = ok(&["status", "--json"]);
    let panels: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(panels[0]["twins"], 1, "{out}");

    // Mistakes are answered with a message and exit code 1.
    for (args, says) in [
        (&["exalate", "NOPE-1"][..], "NOPE-1"),
        (
            &["resolve", "SUP-2"][..],
            "issue SUP-2 is not under sync on connection",
        ),
        (
            &["status", "--connection", "other"][..],
            "no connection named \"other\"",
        ),
        (
            &["trigger", "add", "--project", "SUP", "--jql", "labels ="][..],
            "jql",
        ),
    ] {
        let output = run(&config, args, &env);
        let (_, err) = texts(&output);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.starts_with("error: ") && err.contains(says),
            "{args:?}: {err}"
        );
        assert!(
            !err.contains("panicked") && !err.contains("Error {"),
            "{err}"
        );
    }

    let out = ok(&["connection", "deactivate", "SUP_to_DEV"]);
    assert!(out.contains("— deactivated"), "{out}");
    let out = ok(&["connection", "activate", "SUP_to_DEV"]);
    assert!(out.contains("— active"), "{out}");
    let out = ok(&["connection", "show", "SUP_to_DEV"]);
    assert!(out.contains("SUP-1 ⇄ DEV-2"), "{out}");
    let out = ok(&["trigger", "remove", "1"]);
    assert!(out.starts_with("SUP_to_DEV removed trigger 1"), "{out}");
    let out = ok(&["connection", "delete", "SUP_to_DEV", "--unexalate"]);
    assert!(out.contains("deleted SUP_to_DEV"), "{out}");
    assert!(
        out.contains("still in"),
        "says the config file would set it up again: {out}"
    );
    let twin = jira
        .tracker()
        .inspect_issue(&IssueKey::new("DEV-2").unwrap());
    assert!(twin.is_some(), "both issues stay");
}

#[test]
fn a_data_center_site_signs_in_with_a_personal_access_token_from_a_file() {
    use twinsync::tracker::jira::emulator::{Deployment, EmulatorOptions};
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let options = EmulatorOptions::default().deployment(Deployment::DataCenter);
    let jira = runtime.block_on(JiraEmulator::start_with(options)).unwrap();
    let issue = NewIssue::new(ProjectKey::new("SUP").unwrap(), "Bug", "Printer on fire");
    runtime
        .block_on(jira.tracker().create_issue(&issue))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("jira.token"),
        format!("{}\n", emulator::BEARER_TOKEN),
    )
    .unwrap();
    let config = write_config(
        dir.path(),
        &format!(
            "[node]\nstate = \"node.db\"\n\n[tracker]\nkind = \"jira-data-center\"\nurl = \"{}\"\n\
             token_file = \"jira.token\"\n\n{SUP_TO_DEV}",
            jira.base_url()
        ),
    );
    let out = run_ok(&config, &["exalate", "SUP-1"], &[]);
    assert!(out.starts_with("exalated SUP-1 ⇄ DEV-1: "), "{out}");
    let twin = jira
        .tracker()
        .inspect_issue(&IssueKey::new("DEV-1").unwrap())
        .unwrap();
    assert_eq!(twin.summary, "Printer on fire");

    // A wrong token is a credentials error: exit code 3, naming the site.
    std::fs::write(dir.path().join("jira.token"), "not-the-token").unwrap();
    let output = run(&config, &["status"], &[]);
    let (_, err) = texts(&output);
    assert_eq!(output.status.code(), Some(3), "{err}");
    assert!(
        err.contains(&format!("cannot sign in to {}", jira.base_url())),
        "{err}"
    );
    assert!(!err.contains("not-the-token"), "{err}");
}
