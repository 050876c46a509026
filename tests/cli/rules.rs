//! `rules = "path"` of a `[[connection]]`: the rule document is published
//! when the node starts, once per change, and a document that does not fit
//! the projects stops the start, changing nothing.

use std::path::Path;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use twinsync::model::{FieldKind, FieldMeta};
use twinsync::rules::RuleHistory;
use twinsync::store::{SqliteStore, Store};
use twinsync::tracker::jira::emulator::{self, JiraEmulator};

use super::{SUP_TO_DEV, run, run_ok, start_jira, texts, tracker_section, twinsync, write_config};

const TOKEN_VAR: &str = "CLI_TEST_JIRA_API_TOKEN";
const SEVERITY: &str = "customfield_10100";

/// SUP keeps a severity in a select named Severity, DEV in Priority.
fn add_fields(jira: &JiraEmulator) {
    jira.add_field(
        "SUP",
        FieldMeta::new(SEVERITY, "Severity", FieldKind::Select).options(["S1", "S2", "S3"]),
    )
    .unwrap();
    jira.add_field(
        "DEV",
        FieldMeta::new("priority", "Priority", FieldKind::Select)
            .options(["Highest", "High", "Medium", "Low"]),
    )
    .unwrap();
}

/// A rule document naming SUP's field by its name (resolved to its id
/// when checked), with `extra` at its top.
fn document(extra: &str, sup_field: &str, dev_map: &str) -> String {
    format!(
        r#"{extra}
[[fields]]
name = "severity"

[fields.sides.SUP]
field = "{sup_field}"
map = {{ Highest = "S1", High = "S2", Medium = "S3" }}

[fields.sides.DEV]
field = "priority"
map = {dev_map}
"#
    )
}

const DEV_MAP: &str = r#"{ S1 = "Highest", S2 = "High", S3 = "Medium" }"#;

/// A node's config with the local connection SUP ⇄ DEV and `rules`, in
/// `dir`; the rule document at `rules/sup-dev.toml` beside it.
fn config_with_rules(dir: &Path, jira: &JiraEmulator, rules: Option<&str>) -> std::path::PathBuf {
    let rules = rules.map_or(String::new(), |r| format!("rules = \"{r}\"\n"));
    write_config(
        dir,
        &format!(
            "[node]\nstate = \"node.db\"\n\n{tracker}\n{SUP_TO_DEV}{rules}",
            tracker = tracker_section(jira, TOKEN_VAR),
        ),
    )
}

fn write_document(dir: &Path, text: &str) -> std::path::PathBuf {
    let path = dir.join("rules").join("sup-dev.toml");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
    path
}

/// The rule history of connection SUP_to_DEV, read from the node's state
/// file (no node runs on it then).
fn history(dir: &Path) -> RuleHistory {
    let store = SqliteStore::open(dir.join("node.db")).unwrap();
    let mut txn = store.begin().unwrap();
    let conn = txn
        .connections()
        .unwrap()
        .into_iter()
        .find(|c| c.name == "SUP_to_DEV")
        .expect("the connection is set up");
    txn.rule_history(&conn.id).unwrap().unwrap_or_default()
}

/// Runs the binary like [`run`], killing it (and failing) if it still
/// runs after a minute: a `serve` that starts would never end.
fn run_stopping(config: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = twinsync();
    command
        .arg("--config")
        .arg(config)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{args:?} did not stop");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

/// What `status --json` says the connection's rule set is.
fn rule_set_kind(config: &Path) -> String {
    let out = run_ok(
        config,
        &["status", "--json"],
        &[(TOKEN_VAR, emulator::API_TOKEN)],
    );
    let panels: serde_json::Value = serde_json::from_str(&out).unwrap();
    panels[0]["connection"]["rules"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn a_rule_document_is_published_at_start_once_per_change() {
    let (_runtime, jira) = start_jira();
    add_fields(&jira);
    let dir = tempfile::tempdir().unwrap();
    write_document(dir.path(), &document("labels = true", "Severity", DEV_MAP));
    let config = config_with_rules(dir.path(), &jira, Some("rules/sup-dev.toml"));
    let env = [(TOKEN_VAR, emulator::API_TOKEN)];

    // The first start makes the Basic connection custom and publishes 1.
    let output = run(&config, &["--log", "info", "status"], &env);
    let (out, err) = texts(&output);
    assert!(output.status.success(), "{out}{err}");
    assert!(
        err.contains("rules of the config file published") && err.contains("version=1"),
        "{err}"
    );
    assert_eq!(rule_set_kind(&config), "custom");
    let h = history(dir.path());
    assert_eq!((h.versions.len(), h.active), (1, Some(1)), "{h:?}");
    assert!(h.draft.is_none(), "{h:?}");
    let spec = &h.versions[0].spec;
    assert!(spec.labels);
    assert_eq!(
        spec.fields[0].sides["SUP"].field, SEVERITY,
        "the field's name is resolved to its id"
    );

    // Started again with the same document: nothing new.
    for _ in 0..2 {
        let output = run(&config, &["--log", "info", "status"], &env);
        let (out, err) = texts(&output);
        assert!(output.status.success(), "{out}{err}");
        assert!(!err.contains("published"), "{err}");
    }
    let h = history(dir.path());
    assert_eq!((h.versions.len(), h.active), (1, Some(1)), "{h:?}");
    assert!(h.draft.is_none(), "{h:?}");

    // A changed document is published as version 2.
    write_document(
        dir.path(),
        &document("labels = true\ncomments = false", "Severity", DEV_MAP),
    );
    let output = run(&config, &["--log", "info", "status"], &env);
    let (out, err) = texts(&output);
    assert!(output.status.success(), "{out}{err}");
    assert!(err.contains("version=2"), "{err}");
    let h = history(dir.path());
    assert_eq!((h.versions.len(), h.active), (2, Some(2)), "{h:?}");
    assert!(!h.versions[1].spec.comments);
    run_ok(&config, &["status"], &env);
    assert_eq!(history(dir.path()).versions.len(), 2);

    // Without `rules` the connection keeps its custom rules.
    let config = config_with_rules(dir.path(), &jira, None);
    assert_eq!(rule_set_kind(&config), "custom");
    let h = history(dir.path());
    assert_eq!((h.versions.len(), h.active), (2, Some(2)), "{h:?}");
}

#[test]
fn a_document_the_projects_reject_stops_the_start_and_changes_nothing() {
    let (_runtime, jira) = start_jira();
    add_fields(&jira);
    let dir = tempfile::tempdir().unwrap();
    let file = write_document(
        dir.path(),
        &document(
            "",
            "Sevrity",
            r#"{ S1 = "Urgent", S2 = "High", S3 = "Medium" }"#,
        ),
    );
    let config = config_with_rules(dir.path(), &jira, Some("rules/sup-dev.toml"));
    let env = [(TOKEN_VAR, emulator::API_TOKEN)];

    for args in [&["status"][..], &["serve"][..]] {
        let output = run_stopping(&config, args, &env);
        let (out, err) = texts(&output);
        assert_eq!(output.status.code(), Some(3), "{args:?}: {out}{err}");
        assert!(
            err.starts_with(&format!(
                "error: cannot publish the rules of connection SUP_to_DEV from {} (rules in {}): ",
                file.display(),
                config.display()
            )),
            "{err}"
        );
        // Every problem, one line each.
        assert!(
            err.contains(
                "\n- field rule \"severity\", project SUP, field Sevrity: no such field in SUP"
            ),
            "{err}"
        );
        assert!(
            err.contains(
                "\n- field rule \"severity\", project DEV, field Priority (priority): \"Urgent\" \
                 is not an option"
            ),
            "{err}"
        );
        assert!(!err.contains("panicked"), "{err}");
    }

    // Nothing changed: the connection is still Basic, with no versions.
    let config = config_with_rules(dir.path(), &jira, None);
    assert_eq!(rule_set_kind(&config), "basic");
    assert_eq!(history(dir.path()), RuleHistory::default());
}

/// A document that fails only the check of statuses against the workflows
/// stops the start too, and leaves a Basic connection Basic.
#[test]
fn a_status_no_workflow_has_stops_the_start_and_the_connection_stays_basic() {
    use twinsync::model::{Transition, Workflow};

    let (_runtime, jira) = start_jira();
    add_fields(&jira);
    let flow = |first: &str| {
        Workflow::new(first)
            .with(Transition::new("1", "Start", "In Progress"))
            .with(Transition::new("2", "Finish", "Done"))
    };
    jira.tracker()
        .set_workflow("SUP", None, flow("To Do"))
        .unwrap();
    jira.tracker()
        .set_workflow("DEV", None, flow("Backlog"))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_document(
        dir.path(),
        &document(
            "[status_mapping]\n\"To Do\" = \"Backlog\"\n\"Waiting\" = \"On Hold\"\n",
            "Severity",
            DEV_MAP,
        ),
    );
    let config = config_with_rules(dir.path(), &jira, Some("rules/sup-dev.toml"));
    let output = run_stopping(&config, &["status"], &[(TOKEN_VAR, emulator::API_TOKEN)]);
    let (out, err) = texts(&output);
    assert_eq!(output.status.code(), Some(3), "{out}{err}");
    assert!(
        err.contains("status mapping \"Waiting\" → \"On Hold\": no workflow of SUP, DEV has status \"On Hold\""),
        "{err}"
    );
    let config = config_with_rules(dir.path(), &jira, None);
    assert_eq!(rule_set_kind(&config), "basic");
    assert_eq!(history(dir.path()), RuleHistory::default());
}
