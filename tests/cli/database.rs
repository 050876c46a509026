//! `[database]`: the node's state in PostgreSQL (the server of
//! `TWINSYNC_TEST_POSTGRES`, which `bash .ci/test` starts), and the config
//! errors of the table.

use std::path::Path;

use twinsync::model::ProjectKey;
use twinsync::tracker::jira::emulator;
use twinsync::tracker::{NewIssue, Tracker};

use super::node::Serving;
use super::{SUP_TO_DEV, run, run_ok, start_jira, texts, tracker_section, write_config};

const TOKEN_VAR: &str = "CLI_TEST_JIRA_API_TOKEN";
const DB_VAR: &str = "CLI_TEST_DATABASE_URL";

fn server() -> String {
    std::env::var("TWINSYNC_TEST_POSTGRES").unwrap_or_else(|_| {
        panic!(
            "this test needs a PostgreSQL server: run `bash .ci/test` (it starts a throwaway \
             one), or set TWINSYNC_TEST_POSTGRES to a superuser's URL"
        )
    })
}

/// The twins recorded in `schema`, read with a plain client.
fn twins_in(schema: &str) -> i64 {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(&server(), tokio_postgres::NoTls)
            .await
            .expect("connect to the test server");
        tokio::spawn(connection);
        let row = client
            .query_one(&format!("SELECT count(*) FROM {schema}.twins"), &[])
            .await
            .expect("count twins");
        let n: i64 = row.get(0);
        client
            .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
            .await
            .expect("drop the schema");
        n
    })
}

fn config(dir: &Path, jira: &emulator::JiraEmulator, database: &str) -> std::path::PathBuf {
    write_config(
        dir,
        &format!(
            r#"[node]
name = "pg-test"
listen = "127.0.0.1:0"
plain_http_on_loopback = true
state = "state/node"

{database}
{tracker}
{SUP_TO_DEV}"#,
            tracker = tracker_section(jira, TOKEN_VAR),
        ),
    )
}

#[test]
fn a_node_keeps_its_state_in_postgresql_and_admin_commands_reach_its_serve() {
    let (runtime, jira) = start_jira();
    let sup = ProjectKey::new("SUP").unwrap();
    for summary in ["Printer on fire", "VPN drops"] {
        let issue = NewIssue::new(sup.clone(), "Bug", summary);
        runtime
            .block_on(jira.tracker().create_issue(&issue))
            .unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let schema = format!("cli_{}", std::process::id());
    let config = config(
        dir.path(),
        &jira,
        &format!(
            "[database]\nurl_env = \"{DB_VAR}\"\nschema = \"{schema}\"\nmax_connections = 2\n"
        ),
    );
    let url = server();
    let env = [(TOKEN_VAR, emulator::API_TOKEN), (DB_VAR, url.as_str())];

    let out = run_ok(&config, &["bulk-exalate", "--jql", "project = SUP"], &env);
    assert!(
        out.contains("2 issue(s): 2 synced, 0 already in step, 0 failed"),
        "{out}"
    );
    assert!(
        !dir.path().join("state/node").exists(),
        "no SQLite file: the state is in PostgreSQL"
    );

    // While serve holds the schema, status goes through it.
    let mut serve = Serving::start(&config, &env);
    serve.wait_line("  health ");
    let output = run(&config, &["status", "--json"], &env);
    let (out, err) = texts(&output);
    assert!(output.status.success(), "{out}{err}");
    let panels: serde_json::Value = serde_json::from_str(&out).expect("status --json is JSON");
    assert_eq!(panels[0]["twins"], 2, "{out}");
    serve.terminate();

    assert_eq!(twins_in(&schema), 2, "the twins are rows of {schema}.twins");
}

#[test]
fn database_config_errors_name_the_key_and_never_show_the_url() {
    let (_runtime, jira) = start_jira();
    let dir = tempfile::tempdir().unwrap();
    for (table, env, says) in [
        (
            "[database]\nurl = \"postgres://u:hunter2hunter2@h/db\"\n",
            vec![],
            "url_env",
        ),
        ("[database]\nschema = \"x\"\n", vec![], "no database URL"),
        (
            "[database]\nurl_env = \"CLI_TEST_NOT_SET_DB\"\n",
            vec![],
            "CLI_TEST_NOT_SET_DB",
        ),
        (
            &*format!("[database]\nurl_env = \"{DB_VAR}\"\nschema = \"a-b\"\n"),
            vec![(DB_VAR, "postgres://u:hunter2hunter2@h/db")],
            "not a plain name",
        ),
        (
            &*format!("[database]\nurl_env = \"{DB_VAR}\"\n"),
            vec![(DB_VAR, "postgres://u:hunter2hunter2@h/db?sslmode=sometimes")],
            "sslmode",
        ),
    ] {
        let config = config(dir.path(), &jira, table);
        let mut env: Vec<(&str, &str)> = env;
        env.push((TOKEN_VAR, emulator::API_TOKEN));
        let output = run(&config, &["status"], &env);
        let (out, err) = texts(&output);
        assert_eq!(output.status.code(), Some(3), "{table}: {out}{err}");
        assert!(err.contains(says), "{table}: {err}");
        assert!(!format!("{out}{err}").contains("hunter2"), "{table}: {err}");
    }
}
