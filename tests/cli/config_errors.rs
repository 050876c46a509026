//! A config file with a mistake is refused at start, naming the file, the
//! line and the key; a secret written in it is refused without being shown.

use std::path::PathBuf;

use super::{run, texts};

/// A config with `body`, written to a fresh directory (kept for the test).
fn config(body: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("twinsync.toml");
    std::fs::write(&path, body).unwrap();
    (dir, path)
}

const TRACKER: &str = r#"
[tracker]
kind = "jira-cloud"
url = "https://acme.atlassian.net"
user = "sync@acme.example"
token_env = "CLI_TEST_JIRA_TOKEN"
"#;

/// Runs `status` on `body` and returns the error (exit code 3 checked).
fn refused(body: &str) -> (String, PathBuf) {
    refused_with(body, &[])
}

/// Like [`refused`], with `files` (name, text) beside the config.
fn refused_with(body: &str, files: &[(&str, &str)]) -> (String, PathBuf) {
    let (dir, path) = config(body);
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let output = run(&path, &["status"], &[("CLI_TEST_JIRA_TOKEN", "t0k3n")]);
    let (_, err) = texts(&output);
    assert_eq!(
        output.status.code(),
        Some(3),
        "exit code 3 for a config error: {err}"
    );
    assert!(
        !err.contains("panicked") && !err.contains("Error {"),
        "no panic, no Debug: {err}"
    );
    drop(dir);
    (err, path)
}

#[test]
fn an_unknown_key_names_file_line_and_key() {
    let (err, path) = refused(&format!(
        "[node]\nstate = \"state.db\"\nlisten_on = \"0.0.0.0:8443\"\n{TRACKER}"
    ));
    assert!(
        err.starts_with(&format!(
            "error: {}:3:1: key `node.listen_on`: unknown field `listen_on`",
            path.display()
        )),
        "{err}"
    );
}

#[test]
fn a_bad_value_names_file_line_and_key() {
    let (err, path) = refused(&format!(
        "[node]\nstate = \"state.db\"\nlisten = \"everywhere\"\n{TRACKER}"
    ));
    assert!(
        err.starts_with(&format!(
            "error: {}:3:10: key `node.listen`: \"everywhere\" is not an address",
            path.display()
        )),
        "{err}"
    );
    let (err, _) = refused(&format!(
        "[node]\nstate = \"s.db\"\n{TRACKER}\n[[connection]]\nname = \"a\"\nproject = \"SUP\"\nother_project = \"DEV\"\n\
         [[connection]]\nname = \"b\"\nproject = \"SUP\"\nother_project = \"OPS\"\npoll_interval = \"often\"\n"
    ));
    assert!(
        err.contains(":18:17: key `connection[2].poll_interval`: \"often\" is not a duration"),
        "{err}"
    );
    let (err, _) = refused(&format!("[node]\nstate = 5\n{TRACKER}"));
    assert!(
        err.contains(":2:9: key `node.state`: invalid type"),
        "{err}"
    );
    let (err, _) = refused(&format!(
        "[node]\nstate = \"s.db\"\n{TRACKER}\n[[connection]]\nname = \"a\"\nproject = \"SUP\"\nother_project = \"DEV\"\n\
         [[trigger]]\nconnection = \"a\"\nproject = \"SUP\"\njql = \"labels = \"\n"
    ));
    assert!(
        err.contains("key `trigger[1].jql`: jql: expected a value"),
        "{err}"
    );
}

#[test]
fn a_missing_table_or_credential_is_named() {
    let (err, _) = refused("[node]\nstate = \"s.db\"\n");
    assert!(err.contains("missing field `tracker`"), "{err}");
    let (dir, path) = config(&format!("[node]\nstate = \"s.db\"\n{TRACKER}"));
    let output = run(&path, &["status"], &[]);
    let (_, err) = texts(&output);
    assert_eq!(output.status.code(), Some(3), "{err}");
    assert!(
        err.contains(
            ":8:13: key `tracker.token_env`: environment variable CLI_TEST_JIRA_TOKEN is not set"
        ),
        "{err}"
    );
    drop(dir);
}

#[test]
fn a_literal_token_is_refused_and_never_shown() {
    let secret = "ATATT3xFfGF0-literal-secret-value";
    let (err, _) = refused(&format!(
        "[node]\nstate = \"s.db\"\n\n[tracker]\nkind = \"jira-cloud\"\nurl = \"https://acme.atlassian.net\"\n\
         user = \"sync@acme.example\"\ntoken = \"{secret}\"\n"
    ));
    assert!(
        err.contains(":8:9: key `tracker.token`: a secret is never written in the config file"),
        "{err}"
    );
    assert!(
        err.contains("token_env"),
        "says what to write instead: {err}"
    );
    assert!(!err.contains(secret), "the secret is not repeated: {err}");

    // Pasted where the variable's name belongs.
    let (err, _) = refused(&format!(
        "[node]\nstate = \"s.db\"\n\n[tracker]\nkind = \"jira-cloud\"\nurl = \"https://acme.atlassian.net\"\n\
         user = \"sync@acme.example\"\ntoken_env = \"{secret}\"\n"
    ));
    assert!(
        err.contains("key `tracker.token_env`: this must name an environment variable"),
        "{err}"
    );
    assert!(!err.contains(secret), "{err}");

    let (err, _) = refused(&format!(
        "[node]\nstate = \"s.db\"\nkey = \"{}\"\n{TRACKER}",
        "ab".repeat(32)
    ));
    assert!(
        err.contains(":3:7: key `node.key`: a secret is never written"),
        "{err}"
    );
    assert!(!err.contains(&"ab".repeat(32)), "{err}");
}

#[test]
fn a_webhook_secret_comes_from_a_variable_or_a_file_only() {
    let listening =
        "[node]\nstate = \"s.db\"\nlisten = \"127.0.0.1:8443\"\nplain_http_on_loopback = true\n";
    let secret = "whsec-literal-webhook-secret";
    let (err, _) = refused(&format!(
        "{listening}{TRACKER}[webhooks]\nsecret = \"{secret}\"\n"
    ));
    assert!(
        err.contains(":12:10: key `webhooks.secret`: a secret is never written in the config file"),
        "{err}"
    );
    assert!(
        err.contains("secret_env"),
        "says what to write instead: {err}"
    );
    assert!(!err.contains(secret), "the secret is not repeated: {err}");

    let (err, _) = refused(&format!(
        "{listening}{TRACKER}[webhooks]\nsecret_env = \"CLI_TEST_WEBHOOK_SECRET_UNSET\"\n"
    ));
    assert!(
        err.contains(
            ":12:14: key `webhooks.secret_env`: environment variable CLI_TEST_WEBHOOK_SECRET_UNSET \
             is not set or empty"
        ),
        "{err}"
    );

    // Jira delivers to the node: a node that does not listen cannot have them.
    let (err, _) = refused(&format!(
        "[node]\nstate = \"s.db\"\n{TRACKER}[webhooks]\nsecret_env = \"CLI_TEST_JIRA_TOKEN\"\n"
    ));
    assert!(err.contains("[webhooks] needs node.listen"), "{err}");
}

#[test]
fn a_rule_document_that_cannot_be_read_names_the_connection_and_the_file() {
    let conn = |rules: &str| {
        format!(
            "[node]\nstate = \"s.db\"\n{TRACKER}\n[[connection]]\nname = \"SUP_to_DEV\"\n\
             project = \"SUP\"\nother_project = \"DEV\"\nrules = \"{rules}\"\n"
        )
    };
    // Line 14 of the config holds `rules`.
    let (err, path) = refused_with(&conn("sup-dev.yaml"), &[("sup-dev.yaml", "labels: true\n")]);
    assert_eq!(
        err.trim_end(),
        format!(
            "error: {}:14:9: key `connection[1].rules`: \"sup-dev.yaml\" is not a rule document: \
             name a .toml file (TOML) or a .json file (JSON)",
            path.display()
        )
    );

    let (err, path) = refused_with(
        &conn("sup-dev.toml"),
        &[("sup-dev.toml", "labels = true\n[status_mapping\n")],
    );
    let rules = path.with_file_name("sup-dev.toml");
    assert!(
        err.starts_with(&format!(
            "error: {}:14:9: key `connection[1].rules`: rule document {}:2:",
            path.display(),
            rules.display()
        )),
        "{err}"
    );
    assert!(err.contains(" of connection SUP_to_DEV: "), "{err}");

    // A key the document does not know, on the line that has it.
    let (err, path) = refused_with(
        &conn("sup-dev.toml"),
        &[(
            "sup-dev.toml",
            "[[fields]]\nname = \"severity\"\n[fields.sides.SUP]\nfield = \"Severity\"\n\
             fallbak = \"keep\"\n",
        )],
    );
    assert!(
        err.contains(&format!(
            "rule document {}:5:1 of connection SUP_to_DEV: unknown field `fallbak`",
            path.with_file_name("sup-dev.toml").display()
        )),
        "{err}"
    );

    let (err, path) = refused_with(
        &conn("sup-dev.json"),
        &[("sup-dev.json", "{\n  \"labels\": \"yes\"\n}\n")],
    );
    assert!(
        err.contains(&format!(
            "rule document {}:2:17 of connection SUP_to_DEV: invalid type: string \"yes\", \
             expected a boolean",
            path.with_file_name("sup-dev.json").display()
        )),
        "{err}"
    );

    let (err, path) = refused(&conn("missing.toml"));
    assert!(
        err.contains(&format!(
            "key `connection[1].rules`: cannot read the rule document {} of connection \
             SUP_to_DEV: ",
            path.with_file_name("missing.toml").display()
        )),
        "{err}"
    );
}
