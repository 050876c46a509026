//! The command line: every subcommand and its help text.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Keeps twin issues in step between two Jira projects: no duplicates, no
/// echo, nothing lost.
///
/// Every subcommand reads the same config file (--config, default
/// ./twinsync.toml, or TWINSYNC_CONFIG): the node, its Jira site and how it
/// signs in (token_env / token_file), its connections and triggers. The
/// connections and triggers of the file are set up when a command starts;
/// `serve` then keeps them in step until stopped.
///
/// Admin commands open the node's state file themselves. While `serve` runs
/// on it (and listens), status, errors, retry, resolve, test-run, trigger
/// and connection list|show|activate|deactivate|delete go through the
/// running node instead; the others are refused (exit code 4, naming the
/// process): stop `serve`, run them, start it again, or use the console.
///
/// Exit codes: 0 done; 1 the operation failed (Jira, the other node, or
/// the engine refused it; the message says why); 2 bad command line; 3 bad
/// config file or credentials (the message names the file, line and key);
/// 4 the state file is in use by another node; 5 finished, but some issues
/// failed (bulk-exalate).
#[derive(Debug, Parser)]
#[command(name = "twinsync", version, about, long_about, max_term_width = 100)]
pub struct Cli {
    /// The config file.
    #[arg(
        long,
        short,
        global = true,
        env = "TWINSYNC_CONFIG",
        default_value = "twinsync.toml"
    )]
    pub config: PathBuf,
    /// Log format on standard error: text for people, json for log collectors.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// What to log (tracing's filter syntax, e.g. `info`, `twinsync=debug`);
    /// RUST_LOG works too. Default: `info` for `serve`, `warn` for the rest
    /// (and for the demo).
    #[arg(long, global = true)]
    pub log: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

/// How logs are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One readable line per event.
    Text,
    /// One JSON object per event.
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Runs the node until Ctrl-C or SIGTERM: every connection's sync cycles,
    /// and the endpoint other nodes call when node.listen is set.
    ///
    /// Polls each connection every node.poll_interval (default 60 s; per
    /// connection: poll_interval in its [[connection]]), backs off while Jira
    /// is down or rate-limited, and runs a full reconcile sweep now and then
    /// (node.reconcile_interval, default daily). On Ctrl-C or SIGTERM it
    /// finishes the issue in flight, commits and exits 0. A second `serve`
    /// on the same state file is refused, naming the process that holds it.
    Serve(ServeArgs),
    /// Sets up, lists and changes connections.
    #[command(subcommand)]
    Connection(ConnectionCommand),
    /// Adds, lists and removes triggers: JQL queries that bring matching
    /// issues under sync on every cycle.
    #[command(subcommand)]
    Trigger(TriggerCommand),
    /// Brings one issue under sync now: its twin is created in the other
    /// project, with its comments and attachments.
    Exalate(IssueArgs),
    /// Links two existing issues as twins (one in each project) and syncs them.
    Connect {
        #[command(flatten)]
        on: On,
        /// The issue on this side, such as SUP-1.
        key: String,
        /// The issue in the other project, such as DEV-7.
        other: String,
    },
    /// Stops syncing an issue: both issues stay, the link between them goes.
    Unexalate(IssueArgs),
    /// Brings every issue matching a JQL query under sync, with a progress
    /// bar. An interrupted run continues where it stopped when started again
    /// with the same query; issues already under sync are synced again.
    BulkExalate {
        #[command(flatten)]
        on: On,
        /// The query, such as "project = SUP AND labels = escalate".
        #[arg(long)]
        jql: String,
    },
    /// Shows what syncing an issue would do (the replica sent and the plan
    /// on the other side), writing nothing to Jira or the state file.
    TestRun(IssueArgs),
    /// The sync panel of each connection: issues under sync, queue, errors,
    /// last sync, and each twin's state.
    Status {
        /// Only this connection (its name or id).
        #[arg(long)]
        connection: Option<String>,
        /// Print the panels as JSON (an array, one object per connection).
        #[arg(long)]
        json: bool,
    },
    /// Lists the recorded sync errors and refused deletions.
    Errors {
        /// Only this connection (its name or id).
        #[arg(long)]
        connection: Option<String>,
    },
    /// Syncs an issue that failed again now, both ways (a quarantine ends).
    Retry(IssueArgs),
    /// Forgets an issue's recorded error (after you fixed its cause by hand)
    /// and its conflicts; the next cycle syncs it again.
    Resolve(IssueArgs),
    /// Prints the admin webhook to create in Jira for [webhooks] (its URL,
    /// JQL, events, and where the secret is, never the secret); with an
    /// OAuth 2.0 token `serve` registers the app's webhook itself.
    Webhooks,
    /// The web console: tools for its `[console]` table.
    #[command(subcommand)]
    Console(ConsoleCommand),
}

#[derive(Debug, Subcommand)]
pub enum ConsoleCommand {
    /// Reads a password (one line) from standard input and prints its
    /// argon2 hash, for an operator of the web console.
    ///
    /// Put the hash in the config file, in the operator's table (a hash is
    /// not a secret; password_hash_env or password_hash_file work too):
    ///
    ///     [console]
    ///     [[console.operator]]
    ///     name = "ada"
    ///     password_hash = "$argon2id$v=19$…"
    ///     role = "owner"    # or "collaborator", "viewer"
    ///
    /// `twinsync serve` then lets ada sign in at <the node's URL>/console.
    /// Example: printf '%s\n' 'correct horse' | twinsync console hash-password
    #[command(verbatim_doc_comment)]
    HashPassword,
}

/// Options of `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Runs a complete node with no setup and no config file: the built-in
    /// Jira emulator on 127.0.0.1 with projects SUP and DEV, a local
    /// connection between them, a trigger (labels = escalate), and a few
    /// scripted edits on both sides; prints the status table as they sync.
    #[arg(long)]
    pub demo: bool,
    /// With --demo: stop after this long (e.g. 20s) instead of waiting for Ctrl-C.
    #[arg(long, requires = "demo", value_parser = parse_duration)]
    pub demo_duration: Option<Duration>,
}

/// Which connection a command acts on.
#[derive(Debug, Args)]
pub struct On {
    /// The connection (its name or id); may be left out when the node has only one.
    #[arg(long)]
    pub connection: Option<String>,
}

/// A command on one issue.
#[derive(Debug, Args)]
pub struct IssueArgs {
    #[command(flatten)]
    pub on: On,
    /// The issue, such as SUP-1 (either issue of a twin, where it makes sense).
    pub key: String,
}

#[derive(Debug, Subcommand)]
pub enum ConnectionCommand {
    /// Starts a connection from a project of this node.
    ///
    /// Without --to: prints an invitation code (a secret: hand it to the other
    /// side's admin privately); the connection is pending until they run
    /// `twinsync connection accept CODE --project P` on their node. With --to
    /// the other node's URL, --other-project and an --establish-token that an
    /// admin there issued, it is set up on both sides at once. With --to this
    /// node's own Jira URL and --other-project it is a local connection.
    /// NAME, when it names a [[connection]] of the config file, takes its
    /// project, peer and other_project from there.
    Initiate {
        /// The connection's name (default: <PROJECT>_to_<OTHER>).
        name: Option<String>,
        /// The project on this node.
        #[arg(long)]
        project: Option<String>,
        /// The other node's URL (or its Jira site's URL when the node's
        /// directory knows it).
        #[arg(long)]
        to: Option<String>,
        /// The project on the other side.
        #[arg(long)]
        other_project: Option<String>,
        /// The establish token an admin of the other node issued (direct setup).
        #[arg(long, env = "TWINSYNC_ESTABLISH_TOKEN", hide_env_values = true)]
        establish_token: Option<String>,
    },
    /// Accepts an invitation code from another node's admin, syncing its
    /// project with PROJECT of this node. The connection is active on both
    /// sides when this returns.
    Accept {
        /// The invitation code (twinsync-invite-…). `-` reads it from standard input.
        code: String,
        /// The project on this node that receives the other side's issues.
        #[arg(long)]
        project: String,
    },
    /// Issues an establish token for a project of this node: give it to the
    /// admin of the other node, who passes it to `connection initiate --to
    /// <this node's URL> --other-project PROJECT --establish-token TOKEN` to
    /// set the connection up on both nodes at once (this node must be
    /// running `serve` then). It is shown once, works once, for PROJECT
    /// only, until it expires.
    EstablishToken {
        /// The project on this node the connection will sync.
        #[arg(long)]
        project: String,
        /// How long it can be used (at most 7d).
        #[arg(long, default_value = "24h", value_parser = parse_duration)]
        valid_for: Duration,
    },
    /// Lists the connections with their status.
    List,
    /// Shows one connection: its sides, status, triggers and sync panel.
    Show {
        /// Its name or id.
        connection: String,
    },
    /// Turns a deactivated (or failed, once fixed) connection back on.
    Activate {
        /// Its name or id.
        connection: String,
    },
    /// Pauses a connection: changes wait in the queue until it is activated.
    Deactivate {
        /// Its name or id.
        connection: String,
    },
    /// Deletes a connection (the other node is told).
    Delete {
        /// Its name or id.
        connection: String,
        /// Unexalate every twin first: the issues stay but are no longer
        /// linked, so a connection made later starts afresh.
        #[arg(long)]
        unexalate: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum TriggerCommand {
    /// Adds a trigger: issues of PROJECT matching the query come under sync
    /// on the next cycle. The query is checked before it is stored.
    Add {
        #[command(flatten)]
        on: On,
        /// The project whose issues it selects (one side of the connection).
        #[arg(long)]
        project: String,
        /// The JQL query, such as "labels = escalate".
        #[arg(long)]
        jql: String,
        /// A note for other admins.
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Lists the triggers of each connection.
    List {
        /// Only this connection (its name or id).
        #[arg(long)]
        connection: Option<String>,
    },
    /// Removes a trigger (issues it brought under sync stay under sync).
    Remove {
        #[command(flatten)]
        on: On,
        /// The trigger's number, as `trigger list` shows it.
        id: u32,
    },
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration such as 20s"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "s" | "" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n.saturating_mul(60))),
        "h" => Ok(Duration::from_secs(n.saturating_mul(3600))),
        "d" => Ok(Duration::from_secs(n.saturating_mul(86_400))),
        _ => Err(format!(
            "{text:?} is not a duration such as 20s, 500ms, 2m, 24h or 7d"
        )),
    }
}
