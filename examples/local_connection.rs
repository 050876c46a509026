//! A local connection between two projects of one tracker, synced both ways.
//! Its state stays on disk: run it again and it carries on where it stopped.
//!
//! ```text
//! cargo run --features sqlite --example local_connection
//! ```
//!
//! Runs on the built-in in-memory tracker: no setup, no network. The tracker's
//! contents (`tracker.json`) and the node's state (`state.db`, SQLite) live in
//! `target/twinsync-state/local_connection/`, or in the directory given with
//! `--state DIR` or `TWINSYNC_STATE=DIR`; `--reset` starts afresh.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use twinsync::clock::SystemClock;
use twinsync::connection::Connection;
use twinsync::engine::{DeleteOptions, LocalConnectionOptions, Node};
use twinsync::model::{IssueKey, ProjectKey, UserRef};
use twinsync::store::{SqliteStore, Store};
use twinsync::tracker::{IssueUpdate, NewAttachment, NewComment, NewIssue, Tracker};
use twinsync::{ErrorKind, MemoryTracker, Result};

fn main() {
    let outcome =
        args().and_then(|args| futures::executor::block_on(run(&args)).map_err(|e| e.to_string()));
    if let Err(e) = outcome {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

struct Args {
    state: PathBuf,
    reset: bool,
}

fn args() -> std::result::Result<Args, String> {
    let mut state = std::env::var_os("TWINSYNC_STATE").map(PathBuf::from);
    let mut reset = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--state" => state = Some(args.next().ok_or("--state needs a directory")?.into()),
            "--reset" => reset = true,
            other => {
                return Err(format!(
                    "unknown argument {other:?}; usage: local_connection [--state DIR] [--reset]"
                ));
            }
        }
    }
    Ok(Args {
        state: state.unwrap_or_else(default_state_dir),
        reset,
    })
}

/// `target/twinsync-state/local_connection` when run by cargo (so `cargo
/// clean` resets it too), else a directory in the system's temp dir.
fn default_state_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    let target = exe
        .parent()
        .filter(|dir| dir.ends_with("examples"))
        .and_then(Path::parent)
        .and_then(Path::parent);
    match target {
        Some(target) => target.join("twinsync-state").join("local_connection"),
        None => std::env::temp_dir().join("twinsync-local_connection"),
    }
}

fn io_error(what: &str, path: &Path, e: std::io::Error) -> twinsync::Error {
    twinsync::Error::new(
        ErrorKind::Storage,
        format!("cannot {what} {}: {e}", path.display()),
    )
}

async fn run(args: &Args) -> Result<()> {
    let dir = &args.state;
    if args.reset && dir.exists() {
        std::fs::remove_dir_all(dir).map_err(|e| io_error("remove", dir, e))?;
    }
    std::fs::create_dir_all(dir).map_err(|e| io_error("create", dir, e))?;
    // The store first: its lock keeps a second run on the same directory out.
    let store = Arc::new(SqliteStore::open(dir.join("state.db"))?);
    let tracker_file = dir.join("tracker.json");
    println!(
        "state: {} (tracker.json, state.db); --reset starts afresh\n",
        dir.display()
    );

    let (tracker, first) = match MemoryTracker::load(&tracker_file, Arc::new(SystemClock)) {
        Ok(tracker) => (tracker, false),
        Err(e) if e.kind() == ErrorKind::NotFound => {
            // A tracker with a support project and a development project.
            let tracker = MemoryTracker::new("https://acme.example")?;
            tracker.add_project("SUP", "Support", &["Bug", "Task", "Epic"], Some("Task"))?;
            tracker.add_project("DEV", "Development", &["Bug", "Task", "Story"], None)?;
            tracker.save(&tracker_file)?;
            (tracker, true)
        }
        Err(e) => return Err(e),
    };
    let node = Node::builder()
        .tracker(Arc::new(tracker.clone()))
        .store(store.clone())
        .build()
        .await?;
    // The tracker's integration user is a global admin: it administers.
    let admin = node.admin(&tracker.user().id);
    let existing = node
        .connections()?
        .into_iter()
        .find(|c| c.name == "SUP_to_DEV");
    let conn = match existing {
        // State from a tracker that is gone (tracker.json was deleted): start over.
        Some(conn) if first => {
            admin
                .delete_connection(&conn.id, DeleteOptions::default())
                .await?;
            None
        }
        other => other,
    };
    let conn = match conn {
        Some(conn) => conn,
        None => {
            let conn = admin
                .create_local_connection("SUP", "DEV", LocalConnectionOptions::default())
                .await?;
            if first {
                println!("connection {} created: SUP ↔ DEV, Basic mode", conn.name);
            } else {
                println!(
                    "state.db was missing: connection {} created again, its twins found by their markers",
                    conn.name
                );
            }
            conn
        }
    };

    // Each run starts a node on this state file once, and the store counts
    // the starts. A run on a new state file beside an old tracker is a second
    // run at least.
    let starts = store.begin()?.node_record()?.starts;
    let run = if first { 1 } else { starts.max(2) };
    if first {
        first_run(&node, &conn, &tracker, &tracker_file).await?;
    } else {
        next_run(run, &node, &conn, &tracker, &tracker_file).await?;
    }
    tracker.save(&tracker_file)?;
    println!("\n{}", node.status(&conn.id)?);
    Ok(())
}

/// The error of an exalated issue that came back without a twin.
fn no_twin(key: &IssueKey) -> twinsync::Error {
    twinsync::Error::new(
        ErrorKind::NotFound,
        format!("issue {key} has no twin after exalating it"),
    )
}

/// Files a support issue, escalates it to development, and syncs edits made
/// on both sides.
async fn first_run(
    node: &Node,
    conn: &Connection,
    tracker: &MemoryTracker,
    tracker_file: &Path,
) -> Result<()> {
    let alice = tracker.as_user(UserRef::new("alice".parse()?, "Alice (support)"));
    let bob = tracker.as_user(UserRef::new("bob".parse()?, "Bob (development)"));

    // Alice files a support issue with a comment and a screenshot.
    let sup = alice
        .create_issue(
            &NewIssue::new("SUP".parse()?, "Epic", "Checkout page times out")
                .description("Customers see a spinner for 30 s, then an error."),
        )
        .await?;
    alice
        .add_comment(
            &sup.id,
            &NewComment::public("Happens for about 5% of orders."),
        )
        .await?;
    alice
        .upload_attachment(
            &sup.id,
            &NewAttachment {
                file_name: "screenshot.txt".into(),
                mime_type: "text/plain".into(),
                content: b"[spinner] ... 504 Gateway Timeout".to_vec(),
            },
        )
        .await?;
    tracker.save(tracker_file)?;
    println!(
        "run 1: Alice filed {} (an Epic) with a comment and an attachment",
        sup.key
    );

    // Escalate it to development.
    let twin = node.exalate(&conn.id, &sup.key).await?;
    tracker.save(tracker_file)?;
    let dev_key = twin
        .twin
        .as_ref()
        .map(|t| t.key.clone())
        .ok_or_else(|| no_twin(&sup.key))?;
    let dev = tracker.issue_by_key(&dev_key).await?;
    println!(
        "exalated {} → {}: type {} (DEV has no Epic), {} comment(s), {} attachment(s), {} writes",
        sup.key,
        dev.key,
        dev.issue_type,
        dev.comments.len(),
        dev.attachments.len(),
        twin.writes
    );

    // Both sides work on it.
    bob.add_comment(
        &dev.id,
        &NewComment::public("Found it: a slow payment-provider call."),
    )
    .await?;
    alice
        .update_issue(
            &sup.id,
            &IssueUpdate {
                summary: Some("Checkout page times out (EU customers)".into()),
                ..IssueUpdate::default()
            },
        )
        .await?;
    tracker.save(tracker_file)?;
    println!("\nBob commented in {}; Alice renamed {}", dev.key, sup.key);

    let report = node.sync(&conn.id).await?;
    println!(
        "sync: {} twin(s) synced with {} write(s)",
        report.synced, report.writes
    );
    let report = node.sync(&conn.id).await?;
    println!(
        "sync again: {} write(s) — nothing echoes back\n",
        report.writes
    );

    for key in [&sup.key, &dev.key] {
        let issue = tracker.issue_by_key(key).await?;
        println!("{} \"{}\"", issue.key, issue.summary);
        for c in &issue.comments {
            println!("    {}: {}", c.author.display_name, c.body.to_plain_text());
        }
    }
    println!("\nrun it again: it finds the twins it made instead of making new ones");
    Ok(())
}

/// Finds the twin made by an earlier run, comments on both sides and syncs.
async fn next_run(
    run: u64,
    node: &Node,
    conn: &Connection,
    tracker: &MemoryTracker,
    tracker_file: &Path,
) -> Result<()> {
    let alice = tracker.as_user(UserRef::new("alice".parse()?, "Alice (support)"));
    let bob = tracker.as_user(UserRef::new("bob".parse()?, "Bob (development)"));
    let sup_key: IssueKey = "SUP-1".parse()?;

    // Exalating again finds the twin instead of creating one.
    let twin = node.exalate(&conn.id, &sup_key).await?;
    let dev_key = twin.twin.map(|t| t.key).ok_or_else(|| no_twin(&sup_key))?;
    println!(
        "run {run}: {sup_key} ⇄ {dev_key} already under sync ({} write(s) to exalate it again)",
        twin.writes
    );

    let comments = |key: &IssueKey| tracker.inspect_issue(key).map_or(0, |i| i.comments.len());
    let sup = tracker.issue_by_key(&sup_key).await?;
    let dev = tracker.issue_by_key(&dev_key).await?;
    alice
        .add_comment(
            &sup.id,
            &NewComment::public(format!("Run {run}: still seen by customers.")),
        )
        .await?;
    bob.add_comment(
        &dev.id,
        &NewComment::public(format!("Run {run}: a fix is in review.")),
    )
    .await?;
    tracker.save(tracker_file)?;
    let before = comments(&sup_key) + comments(&dev_key);
    let report = node.sync(&conn.id).await?;
    tracker.save(tracker_file)?;
    println!(
        "Alice commented in {sup_key}, Bob in {dev_key}; sync: {} new comment(s) synced, {} write(s)",
        comments(&sup_key) + comments(&dev_key) - before,
        report.writes
    );

    let count = |project: &ProjectKey| tracker.inspect_issues(project).len();
    println!(
        "SUP has {} issue(s), DEV has {}; {sup_key} and {dev_key} have {} and {} comments",
        count(&"SUP".parse()?),
        count(&"DEV".parse()?),
        comments(&sup_key),
        comments(&dev_key)
    );
    Ok(())
}
