//! The web console of the binary: `[console]` in the config (checked like
//! every table), `console hash-password`, operators signing in to a running
//! `serve`, the admin commands going through it while it holds the state
//! file, and the demo's console.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use twinsync::model::ProjectKey;
use twinsync::server::console::{LOGIN_COOKIE, SESSION_COOKIE};
use twinsync::tracker::jira::emulator::{self, JiraEmulator};
use twinsync::tracker::{NewIssue, Tracker};

use super::{run, texts, twinsync};

const TOKEN_VAR: &str = "CLI_TEST_JIRA_API_TOKEN";
const CONSOLE_TOKEN_VAR: &str = "CLI_TEST_CONSOLE_TOKEN";
const CONSOLE_TOKEN: &str = "a-console-token-for-scripts-0123456789";

// ── the config ──────────────────────────────────────────────────────────

const NODE: &str = r#"[node]
state = "state.db"
listen = "127.0.0.1:0"
plain_http_on_loopback = true

[tracker]
kind = "jira-cloud"
url = "https://acme.atlassian.net"
user = "sync@acme.example"
token_env = "CLI_TEST_JIRA_TOKEN"
"#;

/// A valid argon2 PHC hash (of "pw").
const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$kpWRLMB2zL64K8lAvgesIA$5Ef08egTzAxZVCGxXOfJLNWpA5q6byDBz/tUZa9L/9g";

/// Runs `status` on a config of `body`; the error (exit code 3 checked) and
/// the config's path.
fn refused(body: &str) -> (String, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("twinsync.toml");
    std::fs::write(&path, body).unwrap();
    let output = run(&path, &["status"], &[("CLI_TEST_JIRA_TOKEN", "t0k3n")]);
    let (_, err) = texts(&output);
    assert_eq!(output.status.code(), Some(3), "a config error: {err}");
    assert!(!err.contains("panicked"), "{err}");
    (err, path)
}

#[test]
fn a_console_operator_with_a_bad_role_names_line_and_key() {
    let (err, path) = refused(&format!(
        "{NODE}\n[console]\n\n[[console.operator]]\nname = \"ada\"\npassword_hash = \"{HASH}\"\nrole = \"admin\"\n"
    ));
    assert!(
        err.starts_with(&format!(
            "error: {}:17:8: key `console.operator[1].role`: unknown role \"admin\"; write \
             \"owner\", \"collaborator\" or \"viewer\"",
            path.display()
        )),
        "{err}"
    );
}

#[test]
fn a_console_token_written_in_the_config_is_refused_without_being_shown() {
    let (err, _) = refused(&format!(
        "{NODE}\n[console]\n\n[[console.token]]\nname = \"alerts\"\ntoken = \"s3cr3t-console-token-do-not-print\"\nrole = \"viewer\"\n"
    ));
    assert!(
        err.contains(
            ":16:9: key `console.token[1].token`: a secret is never written in the config file"
        ),
        "{err}"
    );
    assert!(
        err.contains("token_env"),
        "says what to write instead: {err}"
    );
    assert!(!err.contains("s3cr3t"), "the secret is not repeated: {err}");
}

#[test]
fn a_console_token_from_an_unset_variable_names_line_and_key() {
    let (err, _) = refused(&format!(
        "{NODE}\n[console]\n\n[[console.token]]\nname = \"alerts\"\nrole = \"viewer\"\ntoken_env = \"CLI_TEST_UNSET_CONSOLE_TOKEN\"\n"
    ));
    assert!(
        err.contains(
            ":17:13: key `console.token[1].token_env`: environment variable \
             CLI_TEST_UNSET_CONSOLE_TOKEN is not set or empty"
        ),
        "{err}"
    );
}

#[test]
fn an_operator_hash_that_is_not_argon2_names_line_and_key() {
    let (err, _) = refused(&format!(
        "{NODE}\n[console]\n\n[[console.operator]]\nname = \"ada\"\nrole = \"owner\"\n\n\
         [[console.operator]]\nname = \"bob\"\npassword_hash = \"{HASH}\"\nrole = \"viewer\"\n\n\
         [[console.operator]]\nname = \"eve\"\npassword_hash = \"hunter2\"\nrole = \"viewer\"\n"
    ));
    // The first operator has no hash at all.
    assert!(
        err.contains(":14:1: key `console.operator[1]`: operator \"ada\" has no password_hash"),
        "{err}"
    );
    let (err, _) = refused(&format!(
        "{NODE}\n[console]\n\n[[console.operator]]\nname = \"bob\"\npassword_hash = \"{HASH}\"\nrole = \"viewer\"\n\n\
         [[console.operator]]\nname = \"eve\"\npassword_hash = \"hunter2\"\nrole = \"viewer\"\n"
    ));
    assert!(
        err.contains(
            ":21:17: key `console.operator[2].password_hash`: this is not an argon2 password hash"
        ),
        "{err}"
    );
    assert!(err.contains("twinsync console hash-password"), "{err}");
}

#[test]
fn the_console_needs_the_node_to_listen() {
    let body = NODE.replace("listen = \"127.0.0.1:0\"\n", "");
    let (err, _) = refused(&format!(
        "{body}\n[console]\n[[console.operator]]\nname = \"ada\"\npassword_hash = \"{HASH}\"\nrole = \"owner\"\n"
    ));
    assert!(
        err.contains(
            ":11:1: key `console`: the console is served by the node: [console] needs node.listen"
        ),
        "{err}"
    );
}

#[test]
fn hash_password_prints_a_salted_argon2_hash_and_explains_where_it_goes() {
    let hash = hash_password("correct horse");
    assert!(hash.starts_with("$argon2id$v=19$"), "{hash}");
    assert!(!hash.contains("correct horse"));
    // Salted: the same password hashes differently each time.
    assert_ne!(hash, hash_password("correct horse"));

    let output = twinsync()
        .args(["console", "hash-password", "--help"])
        .output()
        .unwrap();
    let (help, _) = texts(&output);
    assert!(output.status.success());
    assert!(help.contains("[[console.operator]]"), "{help}");
    assert!(help.contains("password_hash = \"$argon2id$"), "{help}");

    let mut child = twinsync()
        .args(["console", "hash-password"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdin.take());
    let output = child.wait_with_output().unwrap();
    let (_, err) = texts(&output);
    assert_eq!(output.status.code(), Some(1), "no password: {err}");
    assert!(err.contains("no password on standard input"), "{err}");
}

/// `twinsync console hash-password` with `password` on standard input.
fn hash_password(password: &str) -> String {
    let mut child = twinsync()
        .args(["console", "hash-password"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    let output = child.wait_with_output().unwrap();
    let (out, err) = texts(&output);
    assert!(output.status.success(), "{err}");
    out.trim().to_owned()
}

// ── a running serve ─────────────────────────────────────────────────────

/// A process whose standard output and error are read line by line, both
/// kept; killed if the test ends early.
struct Proc {
    child: Child,
    lines: mpsc::Receiver<String>,
    /// Every line read so far, of both streams.
    seen: Vec<String>,
}

impl Proc {
    fn spawn(mut command: Command) -> Proc {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, lines) = mpsc::channel();
        let out = child.stdout.take().unwrap();
        let err = child.stderr.take().unwrap();
        let tx2 = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                let _ = tx2.send(line);
            }
        });
        Proc {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// The first line that contains `text`.
    fn wait_line(&mut self, text: &str) -> String {
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
                Err(e) => panic!("never printed {text:?} ({e}):\n{}", self.seen.join("\n")),
            }
        }
    }

    /// SIGTERM; it exits 0. Everything it printed.
    fn terminate(mut self) -> String {
        let pid = self.child.id().to_string();
        let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(killed.success());
        let status = self.child.wait().unwrap();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.seen.push(line);
        }
        let all = self.seen.join("\n");
        assert_eq!(status.code(), Some(0), "exits 0 after SIGTERM:\n{all}");
        all
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The text after `marker` in `line`, up to the first of `ends`.
fn after<'a>(line: &'a str, marker: &str, ends: &[char]) -> &'a str {
    let rest = line
        .split_once(marker)
        .unwrap_or_else(|| panic!("no {marker:?} in {line:?}"))
        .1;
    rest.split(|c| ends.contains(&c)).next().unwrap_or(rest)
}

/// `name=value` of the cookie `name` among a response's `Set-Cookie`s.
fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim().to_owned())
        .find(|pair| pair.starts_with(&format!("{name}=")) && pair.len() > name.len() + 1)
}

/// The value of the `csrf` field of the sign-in form.
fn csrf_field(html: &str) -> String {
    let at = html
        .find("name=\"csrf\"")
        .expect("the form has a csrf field");
    let start = html[..at].rfind('<').unwrap();
    let end = at + html[at..].find('>').unwrap();
    after(&html[start..end], "value=\"", &['"']).to_owned()
}

/// Signs in to the console at `console` (its `/console` URL) as `name`:
/// the sign-in form first (its cookie and CSRF field), then the post. The
/// session cookie, or the status of a refusal.
async fn sign_in(console: &str, name: &str, password: &str) -> Result<String, u16> {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let login = format!("{console}/login");
    let form = http.get(&login).send().await.unwrap();
    assert_eq!(form.status(), 200);
    let cookie = set_cookie(&form, LOGIN_COOKIE).expect("the form sets its cookie");
    let csrf = csrf_field(&form.text().await.unwrap());
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("csrf", &csrf)
        .append_pair("name", name)
        .append_pair("password", password)
        .finish();
    let answer = http
        .post(&login)
        .header(reqwest::header::COOKIE, cookie)
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(body)
        .send()
        .await
        .unwrap();
    match set_cookie(&answer, SESSION_COOKIE) {
        Some(session) if answer.status().is_redirection() => Ok(session),
        _ => Err(answer.status().as_u16()),
    }
}

/// `GET {base}/api/v1/me` with `header` set to `value`.
async fn me(base: &str, header: reqwest::header::HeaderName, value: &str) -> serde_json::Value {
    let answer = reqwest::Client::new()
        .get(format!("{base}/api/v1/me"))
        .header(header, value)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    answer.json().await.unwrap()
}

#[test]
fn admin_commands_go_through_a_running_serve_whose_console_signs_operators_in() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let jira = runtime.block_on(JiraEmulator::start()).unwrap();
    let sup = ProjectKey::new("SUP").unwrap();
    for summary in ["Printer on fire", "VPN drops"] {
        let issue = NewIssue::new(sup.clone(), "Bug", summary);
        runtime
            .block_on(jira.tracker().create_issue(&issue))
            .unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("twinsync.toml");
    let hash = hash_password("correct horse");
    std::fs::write(
        &config,
        format!(
            r#"[node]
name = "console-test"
listen = "127.0.0.1:0"
plain_http_on_loopback = true
state = "state/node.db"
poll_interval = "1s"

[tracker]
kind = "jira-cloud"
url = "{url}"
user = "{user}"
token_env = "{TOKEN_VAR}"

[[connection]]
name = "SUP_to_DEV"
project = "SUP"
other_project = "DEV"

[console]

[[console.operator]]
name = "ada"
password_hash = "{hash}"
role = "owner"

[[console.token]]
name = "alerts"
token_env = "{CONSOLE_TOKEN_VAR}"
role = "viewer"
"#,
            url = jira.base_url(),
            user = emulator::EMAIL,
        ),
    )
    .unwrap();
    let env = [
        (TOKEN_VAR, emulator::API_TOKEN),
        (CONSOLE_TOKEN_VAR, CONSOLE_TOKEN),
    ];
    let ok = |args: &[&str]| -> String {
        let output = run(&config, args, &env);
        let (out, err) = texts(&output);
        assert!(output.status.success(), "{args:?} failed: {out}{err}");
        out
    };
    // Before serve: an issue under sync, through the state file.
    let out = ok(&["exalate", "SUP-1"]);
    assert!(out.starts_with("exalated SUP-1 ⇄ DEV-1"), "{out}");

    let mut command = twinsync();
    command
        .arg("--config")
        .arg(&config)
        .args(["--log", "debug", "serve"]);
    for (k, v) in env {
        command.env(k, v);
    }
    let mut serve = Proc::spawn(command);
    serve.wait_line("serving");
    let line = serve.wait_line("  health ");
    let console = after(&line, ", console ", &[' ', ',']).to_owned();
    assert!(
        console.starts_with("http://127.0.0.1:") && console.ends_with("/console"),
        "{line}"
    );
    let base = console.trim_end_matches("/console").to_owned();

    // The local API file: the owner's alone, with the loopback URL.
    let file = local_api_file(&dir.path().join("state/node.db"));
    let found: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(found["url"].as_str(), Some(base.as_str()), "{found}");
    let token = found["token"].as_str().unwrap().to_owned();
    assert_eq!(token.len(), 64, "32 random bytes, in hex");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "readable by its owner only");
    }

    // An operator of the config signs in; a wrong password does not.
    let session = runtime
        .block_on(sign_in(&console, "ada", "correct horse"))
        .expect("ada signs in");
    let who = runtime.block_on(me(&base, reqwest::header::COOKIE, &session));
    assert_eq!(
        (who["name"].as_str(), who["role"].as_str()),
        (Some("ada"), Some("owner"))
    );
    assert_eq!(
        runtime.block_on(sign_in(&console, "ada", "wrong horse")),
        Err(401)
    );
    // So does the config's token for scripts.
    let who = runtime.block_on(me(
        &base,
        reqwest::header::AUTHORIZATION,
        &format!("Bearer {CONSOLE_TOKEN}"),
    ));
    assert_eq!(who["role"].as_str(), Some("viewer"), "{who}");

    // The admin commands go through the running node.
    let out = ok(&["status"]);
    assert!(
        out.starts_with("connection SUP_to_DEV (local: SUP ↔ DEV) — active"),
        "{out}"
    );
    assert!(out.contains("issues under sync: 1"), "{out}");
    assert!(out.contains("SUP-1 ⇄ DEV-1"), "{out}");
    let panels: serde_json::Value = serde_json::from_str(&ok(&["status", "--json"])).unwrap();
    assert_eq!(panels[0]["connection"]["name"], "SUP_to_DEV");
    assert_eq!(panels[0]["twins"], 1);
    assert_eq!(ok(&["errors"]).trim(), "no errors");
    let out = ok(&["test-run", "SUP-2"]);
    assert!(
        out.starts_with("test run of SUP-2 (not under sync yet)\n  "),
        "{out}"
    );
    assert!(
        out.contains("\"summary\": \"VPN drops\""),
        "the replica: {out}"
    );
    assert!(out.ends_with("(nothing was written)\n"), "{out}");
    let out = ok(&["retry", "SUP-1"]);
    assert!(out.contains("Retried SUP-1"), "{out}");
    let out = ok(&[
        "trigger",
        "add",
        "--project",
        "SUP",
        "--jql",
        "labels = escalate",
        "--note",
        "while serving",
    ]);
    assert!(
        out.starts_with("SUP_to_DEV added trigger 1 on SUP (enabled): labels = escalate"),
        "{out}"
    );
    let listed = ok(&["trigger", "list"]);
    assert_eq!(
        listed.trim(),
        "SUP_to_DEV: trigger 1 on SUP (enabled): labels = escalate — while serving"
    );
    let out = ok(&["connection", "list"]);
    assert!(
        out.starts_with("SUP_to_DEV (local: SUP ↔ DEV) — active   id "),
        "{out}"
    );

    // What needs the state file is still refused, saying what works instead.
    let output = run(&config, &["exalate", "SUP-2"], &env);
    let (_, err) = texts(&output);
    assert_eq!(output.status.code(), Some(4), "{err}");
    let pid = serve.child.id();
    assert!(
        err.contains(&format!(
            "is in use by another twinsync node (process {pid} holds"
        )),
        "{err}"
    );
    assert!(
        err.contains(
            "`twinsync exalate` needs the state file: stop serve, run it, start serve again"
        ),
        "{err}"
    );
    assert!(
        err.contains(&format!("or use the console at {console}")),
        "{err}"
    );
    assert!(
        err.contains("these commands work through it: status, errors, retry"),
        "{err}"
    );

    // A second serve is refused and leaves the running one's file alone.
    let output = run(&config, &["serve"], &env);
    assert_eq!(output.status.code(), Some(4));
    assert!(file.exists(), "the running serve's file stays");
    assert_eq!(ok(&["errors"]).trim(), "no errors");

    // Stopped, it removes the file; the token was never printed.
    let printed = serve.terminate();
    assert!(!file.exists(), "{} is removed at shutdown", file.display());
    assert!(!printed.contains(&token), "the token is never printed");
    assert!(!printed.contains(CONSOLE_TOKEN), "nor the config's token");
    // The trigger added through serve is in the state file.
    assert_eq!(ok(&["trigger", "list"]), listed);
    drop(jira);
}

/// `<state>.serve.json`.
fn local_api_file(state: &Path) -> PathBuf {
    let mut name = state.as_os_str().to_owned();
    name.push(".serve.json");
    PathBuf::from(name)
}

#[test]
fn a_command_while_a_serve_that_left_no_file_runs_is_refused_as_before() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let jira = runtime.block_on(JiraEmulator::start()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("twinsync.toml");
    // A node that does not listen: nothing to go through.
    std::fs::write(
        &config,
        format!(
            "[node]\nstate = \"node.db\"\n\n[tracker]\nkind = \"jira-cloud\"\nurl = \"{url}\"\n\
             user = \"{user}\"\ntoken_env = \"{TOKEN_VAR}\"\n",
            url = jira.base_url(),
            user = emulator::EMAIL,
        ),
    )
    .unwrap();
    let env = [(TOKEN_VAR, emulator::API_TOKEN)];
    let mut command = twinsync();
    command.arg("--config").arg(&config).arg("serve");
    command.env(TOKEN_VAR, emulator::API_TOKEN);
    let mut serve = Proc::spawn(command);
    serve.wait_line("running (not listening");
    let output = run(&config, &["status"], &env);
    let (_, err) = texts(&output);
    assert_eq!(output.status.code(), Some(4), "{err}");
    assert!(err.contains("is in use by another twinsync node"), "{err}");
    assert!(err.contains("no listening `serve` answers for it"), "{err}");
    serve.terminate();
    drop(jira);
}

#[test]
fn without_a_console_table_admin_commands_still_go_through_serve() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let jira = runtime.block_on(JiraEmulator::start()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("twinsync.toml");
    std::fs::write(
        &config,
        format!(
            "[node]\nstate = \"node.db\"\nlisten = \"127.0.0.1:0\"\nplain_http_on_loopback = true\n\n\
             [tracker]\nkind = \"jira-cloud\"\nurl = \"{url}\"\nuser = \"{user}\"\n\
             token_env = \"{TOKEN_VAR}\"\n\n[[connection]]\nname = \"SUP_to_DEV\"\n\
             project = \"SUP\"\nother_project = \"DEV\"\n",
            url = jira.base_url(),
            user = emulator::EMAIL,
        ),
    )
    .unwrap();
    let env = [(TOKEN_VAR, emulator::API_TOKEN)];
    let mut command = twinsync();
    command.arg("--config").arg(&config).arg("serve");
    command.env(TOKEN_VAR, emulator::API_TOKEN);
    let mut serve = Proc::spawn(command);
    let line = serve.wait_line("  health ");
    assert!(!line.contains("console"), "no console to announce: {line}");
    // No pages either: the console is off for people.
    let base = after(&line, "  health ", &[' ', ','])
        .trim_end_matches("/healthz")
        .to_owned();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let status = runtime.block_on(async {
        reqwest::get(format!("{base}/console/login"))
            .await
            .unwrap()
            .status()
    });
    assert_eq!(status.as_u16(), 404, "{base}");
    let output = run(&config, &["connection", "deactivate", "SUP_to_DEV"], &env);
    let (out, err) = texts(&output);
    assert!(output.status.success(), "{err}");
    assert_eq!(out.trim(), "SUP_to_DEV (local: SUP ↔ DEV) — deactivated");
    let output = run(&config, &["unexalate", "SUP-1"], &env);
    let (_, err) = texts(&output);
    assert_eq!(output.status.code(), Some(4), "{err}");
    assert!(err.contains("these commands work through it"), "{err}");
    assert!(!err.contains("console at"), "no console to point at: {err}");
    serve.terminate();
    drop(jira);
}

#[test]
fn the_demo_prints_a_console_password_that_signs_in() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut command = twinsync();
    command.args(["serve", "--demo", "--demo-duration", "60s"]);
    let mut demo = Proc::spawn(command);
    let line = demo.wait_line("console: ");
    // console: http://127.0.0.1:PORT/console — sign in as admin with password XXXX
    let console = after(&line, "console: ", &[' ']).to_owned();
    assert!(
        console.starts_with("http://127.0.0.1:") && console.ends_with("/console"),
        "{line}"
    );
    assert!(line.contains("— sign in as admin with password "), "{line}");
    let password = after(&line, "with password ", &[' ']).to_owned();
    assert!(password.len() >= 12, "{line}");
    let base = console.trim_end_matches("/console").to_owned();
    let session = runtime
        .block_on(sign_in(&console, "admin", &password))
        .expect("admin signs in with the printed password");
    let who = runtime.block_on(me(&base, reqwest::header::COOKIE, &session));
    assert_eq!(who["role"].as_str(), Some("owner"), "{who}");
    let connections: serde_json::Value = runtime.block_on(async {
        reqwest::Client::new()
            .get(format!("{base}/api/v1/connections"))
            .header(reqwest::header::COOKIE, &session)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    assert_eq!(connections[0]["name"], "SUP_to_DEV", "{connections}");
    assert_eq!(
        runtime.block_on(sign_in(&console, "admin", "not-the-password")),
        Err(401)
    );
    demo.terminate();
}
