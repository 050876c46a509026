//! A local connection between two projects of one tracker, synced both ways.
//!
//! ```text
//! cargo run --example local_connection
//! ```
//!
//! Runs on the built-in in-memory tracker: no setup, no network.

use std::sync::Arc;

use twinsync::engine::{LocalConnectionOptions, Node};
use twinsync::model::{IssueKey, UserRef};
use twinsync::store::MemoryStore;
use twinsync::tracker::{IssueUpdate, NewAttachment, NewComment, NewIssue, Tracker};
use twinsync::{MemoryTracker, Result};

fn main() -> Result<()> {
    futures::executor::block_on(run())
}

async fn run() -> Result<()> {
    // A tracker with a support project and a development project.
    let tracker = MemoryTracker::new("https://acme.example")?;
    tracker.add_project("SUP", "Support", &["Bug", "Task", "Epic"], Some("Task"))?;
    tracker.add_project("DEV", "Development", &["Bug", "Task", "Story"], None)?;
    let alice = tracker.as_user(UserRef::new("alice", "Alice (support)"));
    let bob = tracker.as_user(UserRef::new("bob", "Bob (development)"));

    let node = Node::builder()
        .tracker(Arc::new(tracker.clone()))
        .store(Arc::new(MemoryStore::new()))
        .build()
        .await?;
    let conn = node
        .create_local_connection("SUP", "DEV", LocalConnectionOptions::default())
        .await?;
    println!("connection {} created: SUP ↔ DEV, Basic mode\n", conn.name);

    // Alice files a support issue with a comment and a screenshot.
    let sup = alice
        .create_issue(
            &NewIssue::new("SUP", "Epic", "Checkout page times out")
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
    println!(
        "Alice filed {} (an Epic) with a comment and an attachment",
        sup.key
    );

    // Escalate it to development.
    let twin = node.exalate(&conn.id, &sup.key).await?;
    let dev_key = twin
        .twin
        .as_ref()
        .map(|t| t.key.clone())
        .unwrap_or_else(|| IssueKey::new("?"));
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
    println!("\n{}", node.status(&conn.id)?);
    Ok(())
}
