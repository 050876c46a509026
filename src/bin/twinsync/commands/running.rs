//! The admin commands while `serve` holds the state file: they go through
//! the running node's JSON API, with the local admin token `serve` left in
//! `<state>.serve.json` (readable by its owner only). Commands the API
//! cannot do are refused as before, saying which ones work.

use std::path::PathBuf;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use twinsync::connection::Connection;
use twinsync::engine::SyncPanel;
use twinsync::model::IssueKey;
use twinsync::trigger::Trigger;
use zeroize::Zeroizing;

use super::status::{print_errors, print_status};
use crate::cli::{Command, ConnectionCommand, IssueArgs, TriggerCommand};
use crate::config::Config;
use crate::failure::{CONFIG, FAILED, Failure, IN_USE, Outcome};
use crate::serve::{console_url, local_api_file};
use crate::setup;

/// What works through a running `serve`, for messages.
const WORKS: &str = "status, errors, retry, resolve, test-run, trigger list|add|remove, \
                     connection list|show|activate|deactivate|delete";

/// How long one call may take (a retry syncs the issue, a Test Run reads it).
const CALL_TIMEOUT: Duration = Duration::from_secs(300);

/// What the admin commands need to reach the `serve` holding the state file.
pub struct Beside {
    file: PathBuf,
    /// Certificates to trust when it serves HTTPS (its own, and the
    /// config's trusted ones).
    roots: Vec<PathBuf>,
    config_path: PathBuf,
    config_connections: Vec<String>,
    /// Whether operators of the config can sign in to the console.
    console: bool,
}

impl Beside {
    /// For the node of `config`.
    pub fn of(config: &Config) -> Beside {
        let mut roots = config.node.trusted_certificates.clone();
        if let Some((cert, _)) = &config.node.tls {
            roots.push(cert.clone());
        }
        Beside {
            file: local_api_file(&config.node.state),
            roots,
            config_path: config.path.clone(),
            config_connections: config.connections.iter().map(|c| c.name.clone()).collect(),
            console: config.console.as_ref().is_some_and(|c| c.enabled),
        }
    }

    /// Runs `command` through the running `serve`; `refused` is why the
    /// state file could not be opened (it names the holder).
    pub async fn run(self, command: Command, refused: Failure) -> Outcome {
        let Some(name) = refused_command(&command) else {
            let api = self.connect(&refused)?;
            return api.run(&self, command).await;
        };
        let instead = match self.read() {
            Ok(found) if self.console => {
                format!(", or use the console at {}", console_url(&found.url))
            }
            _ => String::new(),
        };
        Err(Failure::new(
            IN_USE,
            format!(
                "{refused}\n`twinsync {name}` needs the state file: stop serve, run it, start \
                 serve again{instead}. While serve runs, these commands work through it: {WORKS}"
            ),
        ))
    }

    fn read(&self) -> std::io::Result<Found> {
        let text = Zeroizing::new(std::fs::read_to_string(&self.file)?);
        serde_json::from_str::<Found>(&text).map_err(std::io::Error::other)
    }

    fn connect(&self, refused: &Failure) -> Outcome<Api> {
        let mut found = match self.read() {
            Ok(found) => found,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Failure::new(
                    IN_USE,
                    format!(
                        "{refused}\nno listening `serve` answers for it ({} is missing: serve \
                         without node.listen, or another command): wait for that process to \
                         end, or stop it, then run this again",
                        self.file.display()
                    ),
                ));
            }
            Err(e) => {
                return Err(Failure::new(
                    IN_USE,
                    format!(
                        "{refused}\ncannot read {}, where the running serve leaves its address \
                         for admin commands: {e}",
                        self.file.display()
                    ),
                ));
            }
        };
        let mut http = reqwest::Client::builder().timeout(CALL_TIMEOUT);
        for root in &self.roots {
            let pem = std::fs::read(root).map_err(|e| {
                Failure::new(CONFIG, format!("cannot read {}: {e}", root.display()))
            })?;
            let certificates = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                Failure::new(
                    CONFIG,
                    format!("{} holds no PEM certificate: {e}", root.display()),
                )
            })?;
            for certificate in certificates {
                http = http.add_root_certificate(certificate);
            }
        }
        let http = http
            .build()
            .map_err(|e| Failure::new(FAILED, format!("cannot make an HTTP client: {e}")))?;
        let base = url::Url::parse(&found.url).map_err(|e| {
            Failure::new(
                IN_USE,
                format!(
                    "{} holds no URL the running serve answers on ({e}); restart serve",
                    self.file.display()
                ),
            )
        })?;
        Ok(Api {
            base,
            token: Zeroizing::new(std::mem::take(&mut found.token)),
            http,
            file: self.file.clone(),
        })
    }
}

/// `<state>.serve.json`.
#[derive(Deserialize)]
struct Found {
    url: String,
    token: String,
}

impl Drop for Found {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.token);
    }
}

/// The name of a command that needs the state file itself, or `None` when
/// it works through a running `serve`.
fn refused_command(command: &Command) -> Option<&'static str> {
    match command {
        Command::Status { .. }
        | Command::Errors { .. }
        | Command::Retry(_)
        | Command::Resolve(_)
        | Command::TestRun(_)
        | Command::Trigger(_) => None,
        Command::Connection(c) => match c {
            ConnectionCommand::List
            | ConnectionCommand::Show { .. }
            | ConnectionCommand::Activate { .. }
            | ConnectionCommand::Deactivate { .. }
            | ConnectionCommand::Delete { .. } => None,
            ConnectionCommand::Initiate { .. } => Some("connection initiate"),
            ConnectionCommand::Accept { .. } => Some("connection accept"),
            ConnectionCommand::EstablishToken { .. } => Some("connection establish-token"),
        },
        Command::Exalate(_) => Some("exalate"),
        Command::Connect { .. } => Some("connect"),
        Command::Unexalate(_) => Some("unexalate"),
        Command::BulkExalate { .. } => Some("bulk-exalate"),
        Command::Webhooks => Some("webhooks"),
        Command::Serve(_) => Some("serve"),
        Command::Console(_) => Some("console"),
    }
}

/// The running node's JSON API, signed in with the local admin token.
struct Api {
    base: url::Url,
    token: Zeroizing<String>,
    http: reqwest::Client,
    file: PathBuf,
}

/// What an operation did, in words.
#[derive(Deserialize)]
struct Done {
    done: String,
}

impl Api {
    /// The URL of the API route made of `segments` (each escaped).
    fn url(&self, segments: &[&str]) -> url::Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(["api", "v1"]).extend(segments);
        }
        url
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        url: url::Url,
        body: Option<Value>,
    ) -> Outcome<T> {
        let path = url.path().to_owned();
        let mut request = self
            .http
            .request(method, url)
            .bearer_auth(self.token.as_str());
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.map_err(|e| {
            Failure::new(
                IN_USE,
                format!(
                    "cannot reach the running serve at {}: {e}",
                    self.base.as_str().trim_end_matches('/')
                ),
            )
        })?;
        let status = response.status();
        let text = response.text().await.map_err(|e| {
            Failure::new(
                FAILED,
                format!("the running serve's answer to {path} broke off: {e}"),
            )
        })?;
        if status.is_success() {
            return serde_json::from_str(&text).map_err(|e| {
                Failure::new(
                    FAILED,
                    format!(
                        "the running serve answered {path} with JSON this command cannot read: {e}"
                    ),
                )
            });
        }
        let answer: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let message = answer["error"]["message"]
            .as_str()
            .map_or_else(|| format!("{path} answered {status}"), str::to_owned);
        if status == StatusCode::UNAUTHORIZED {
            return Err(Failure::new(
                IN_USE,
                format!(
                    "the running serve refused the local token of {} (left by an earlier run?): \
                     {message}",
                    self.file.display()
                ),
            ));
        }
        let code = match answer["error"]["kind"].as_str() {
            Some("invalid configuration" | "unauthenticated") => CONFIG,
            _ => FAILED,
        };
        Err(Failure::new(code, message))
    }

    async fn get<T: DeserializeOwned>(&self, segments: &[&str]) -> Outcome<T> {
        self.call(Method::GET, self.url(segments), None).await
    }

    async fn connections(&self) -> Outcome<Vec<Connection>> {
        self.get(&["connections"]).await
    }

    async fn connection(&self, named: Option<&str>) -> Outcome<Connection> {
        setup::pick(self.connections().await?, named)
    }

    /// The connections named (one, or all when none is named).
    async fn selected(&self, named: Option<&str>) -> Outcome<Vec<Connection>> {
        match named {
            Some(_) => Ok(vec![self.connection(named).await?]),
            None => self.connections().await,
        }
    }

    async fn panels(&self, named: Option<&str>) -> Outcome<Vec<SyncPanel>> {
        let mut panels = Vec::new();
        for c in self.selected(named).await? {
            panels.push(self.get(&["connections", c.id.as_str(), "panel"]).await?);
        }
        Ok(panels)
    }

    async fn twin(&self, args: &IssueArgs, action: &str) -> Outcome<(IssueKey, Done)> {
        let c = self.connection(args.on.connection.as_deref()).await?;
        let key: IssueKey = args.key.trim().parse()?;
        let url = self.url(&["connections", c.id.as_str(), "twins", key.as_str(), action]);
        let done = self.call(Method::POST, url, None).await?;
        Ok((key, done))
    }

    async fn run(&self, beside: &Beside, command: Command) -> Outcome {
        match command {
            Command::Status { connection, json } => {
                print_status(&self.panels(connection.as_deref()).await?, json)?;
            }
            Command::Errors { connection } => {
                print_errors(&self.panels(connection.as_deref()).await?);
            }
            Command::Retry(args) => {
                let (_, done) = self.twin(&args, "retry").await?;
                println!("{}", done.done);
            }
            Command::Resolve(args) => {
                let (key, _) = self.twin(&args, "resolve").await?;
                println!(
                    "resolved {key}: its error and conflicts are forgotten; the next cycle syncs \
                     it again"
                );
            }
            Command::TestRun(args) => self.test_run(&args).await?,
            Command::Trigger(t) => self.trigger(t).await?,
            Command::Connection(c) => self.connection_command(beside, c).await?,
            _ => {
                return Err(Failure::new(
                    IN_USE,
                    format!("this command does not work while serve runs; these do: {WORKS}"),
                ));
            }
        }
        Ok(())
    }

    /// Test Run: what syncing the issue would do, in words, with the
    /// replica and plan as JSON.
    async fn test_run(&self, args: &IssueArgs) -> Outcome {
        let c = self.connection(args.on.connection.as_deref()).await?;
        let key: IssueKey = args.key.trim().parse()?;
        let mut url = self.url(&["connections", c.id.as_str(), "test-run"]);
        url.query_pairs_mut().append_pair("key", key.as_str());
        let result: Value = self.call(Method::GET, url, None).await?;
        let under_sync = if result["under_sync"].as_bool() == Some(true) {
            ""
        } else {
            " (not under sync yet)"
        };
        println!("test run of {key}{under_sync}");
        if let Some(summary) = result["summary"].as_str() {
            println!("  {summary}");
        }
        let detail = serde_json::to_string_pretty(&json!({
            "replica": result["replica"],
            "outcome": result["outcome"],
        }))
        .map_err(|e| Failure::new(FAILED, format!("cannot print the Test Run: {e}")))?;
        println!("{detail}");
        println!("(nothing was written)");
        Ok(())
    }

    async fn trigger(&self, command: TriggerCommand) -> Outcome {
        match command {
            TriggerCommand::Add {
                on,
                project,
                jql,
                note,
            } => {
                let c = self.connection(on.connection.as_deref()).await?;
                let body = json!({"project": project, "query": jql, "note": note, "enabled": true});
                let url = self.url(&["connections", c.id.as_str(), "triggers"]);
                let trigger: Trigger = self.call(Method::POST, url, Some(body)).await?;
                println!("{} added {trigger}", c.name);
                println!(
                    "matching issues come under sync on the next cycle of the running serve; \
                     `twinsync bulk-exalate` (once serve is stopped) or the console's bulk \
                     exalate brings the existing ones now"
                );
            }
            TriggerCommand::List { connection } => {
                for c in self.selected(connection.as_deref()).await? {
                    let triggers: Vec<Trigger> = self
                        .get(&["connections", c.id.as_str(), "triggers"])
                        .await?;
                    if triggers.is_empty() {
                        println!("{}: no triggers", c.name);
                    }
                    for t in triggers {
                        println!("{}: {t}", c.name);
                    }
                }
            }
            TriggerCommand::Remove { on, id } => {
                let c = self.connection(on.connection.as_deref()).await?;
                let id = id.to_string();
                let url = self.url(&["connections", c.id.as_str(), "triggers", &id]);
                let removed: Trigger = self.call(Method::DELETE, url, None).await?;
                println!("{} removed {removed}", c.name);
            }
        }
        Ok(())
    }

    async fn connection_command(&self, beside: &Beside, command: ConnectionCommand) -> Outcome {
        match command {
            ConnectionCommand::List => {
                let all = self.connections().await?;
                if all.is_empty() {
                    println!("no connections");
                }
                for c in all {
                    println!("{c}   id {}", c.id);
                }
            }
            ConnectionCommand::Show { connection } => {
                let c = self.connection(Some(&connection)).await?;
                let panel: SyncPanel = self.get(&["connections", c.id.as_str(), "panel"]).await?;
                println!("{c}");
                println!("  id: {}", c.id);
                println!("  {}: {}", c.a.project, c.a.instance);
                println!("  {}: {}", c.b.project, c.b.instance);
                for t in &c.triggers {
                    println!("  {t}");
                }
                print!("{panel}");
            }
            ConnectionCommand::Activate { connection } => {
                let c = self.connection(Some(&connection)).await?;
                let url = self.url(&["connections", c.id.as_str(), "activate"]);
                let c: Connection = self.call(Method::POST, url, None).await?;
                println!("{c}");
            }
            ConnectionCommand::Deactivate { connection } => {
                let c = self.connection(Some(&connection)).await?;
                let url = self.url(&["connections", c.id.as_str(), "deactivate"]);
                let c: Connection = self.call(Method::POST, url, None).await?;
                println!("{c}");
            }
            ConnectionCommand::Delete {
                connection,
                unexalate,
            } => {
                let c = self.connection(Some(&connection)).await?;
                let mut url = self.url(&["connections", c.id.as_str()]);
                if unexalate {
                    url.query_pairs_mut().append_pair("unexalate", "true");
                }
                let _: Done = self.call(Method::DELETE, url, None).await?;
                println!("deleted {}", c.name);
                if beside.config_connections.contains(&c.name) {
                    println!(
                        "note: {} is still in {}; remove it there, or the next command sets it \
                         up again",
                        c.name,
                        beside.config_path.display()
                    );
                }
            }
            _ => {
                return Err(Failure::new(
                    IN_USE,
                    format!("this command does not work while serve runs; these do: {WORKS}"),
                ));
            }
        }
        Ok(())
    }
}
