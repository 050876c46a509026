//! cargo run --example escalation
//!
//! The escalation use case on a local connection SUP ↔ DEV of one (in-memory)
//! tracker: a trigger `project = SUP AND labels = escalate-to-dev`; a Test Run
//! before anything is synced; labelling a support issue brings it into DEV
//! with its comments and attachment on the next sync cycle (the Epic lands as
//! a Task, DEV having neither Epic nor a default type); comments then flow
//! both ways; removing the label does not stop the sync.

use std::sync::Arc;
use std::time::Duration;

use twinsync::clock::ManualClock;
use twinsync::engine::{CycleReport, LocalConnectionOptions, Node};
use twinsync::model::{IssueKey, ProjectKey, UserRef};
use twinsync::store::MemoryStore;
use twinsync::tracker::{IssueUpdate, NewAttachment, NewComment, NewIssue, Tracker};
use twinsync::trigger::TriggerSpec;
use twinsync::{MemoryTracker, Result};

fn main() -> Result<()> {
    futures::executor::block_on(run())
}

async fn run() -> Result<()> {
    let clock = Arc::new(ManualClock::new(
        time::macros::datetime!(2026-03-02 9:00 UTC),
    ));
    // The integration user's handle (the node's) and two people's handles.
    let tracker = MemoryTracker::with_clock("https://acme.example", clock.clone())?;
    tracker.add_project("SUP", "Support", &["Bug", "Task", "Epic"], Some("Task"))?;
    tracker.add_project("DEV", "Development", &["Bug", "Task", "Story"], None)?;
    let alice = tracker.as_user(UserRef::new("alice".parse()?, "Alice (support)"));
    let dan = tracker.as_user(UserRef::new("dan".parse()?, "Dan (development)"));

    let node = Node::builder()
        .tracker(Arc::new(tracker.clone()))
        .store(Arc::new(MemoryStore::new()))
        .clock(clock.clone())
        .build()
        .await?;
    // The integration user is a global admin: it sets the connection up.
    let admin = node.admin(&tracker.user().id);
    let conn = admin
        .create_local_connection("SUP", "DEV", LocalConnectionOptions::default())
        .await?;
    println!("connection {conn}");
    let trigger = admin
        .add_trigger(
            &conn.id,
            TriggerSpec::new("SUP".parse()?, "project = SUP AND labels = escalate-to-dev")
                .note("escalations to development"),
        )
        .await?;
    println!("{trigger}");
    println!(
        "  the engine runs: {}",
        trigger.effective_query().map_err(twinsync::Error::from)?
    );
    let mistyped = TriggerSpec::new("SUP".parse()?, "labels = escalate-to-");
    if let Err(err) = admin.add_trigger(&conn.id, mistyped).await {
        println!("  a mistyped trigger is refused: {err}");
    }

    step(
        &clock,
        "Alice files an Epic in SUP, with two comments and a log",
    );
    let created = alice
        .create_issue(
            &NewIssue::new("SUP".parse()?, "Epic", "Checkout fails for EU customers")
                .description("Every EU card is declined since the 09:00 deploy."),
        )
        .await?;
    for body in [
        "Customer: three orders lost this morning.",
        "Reproduced with a test card.",
    ] {
        alice
            .add_comment(&created.id, &NewComment::public(body))
            .await?;
    }
    alice
        .upload_attachment(
            &created.id,
            &NewAttachment {
                file_name: "checkout.log".into(),
                mime_type: "text/plain".into(),
                content: b"09:02 card declined: region EU, 3DS v1".to_vec(),
            },
        )
        .await?;
    cycle(&node, &conn.id, &tracker).await?;
    println!(
        "  DEV issues: {} (not labelled yet)",
        dev_issues(&tracker)?.len()
    );

    step(
        &clock,
        "Test Run of SUP-1 before it is labelled (writes nothing)",
    );
    let writes_before = tracker.calls().writes();
    for result in node.test_run(&conn.id, &[IssueKey::new("SUP-1")?]).await? {
        println!("{}", indent(&result.to_string()));
    }
    println!(
        "  tracker writes made by the Test Run: {}",
        tracker.calls().writes() - writes_before
    );

    step(&clock, "Alice labels SUP-1 escalate-to-dev");
    let label = IssueUpdate {
        labels: Some(vec!["escalate-to-dev".into()]),
        ..IssueUpdate::default()
    };
    alice.update_issue(&created.id, &label).await?;
    cycle(&node, &conn.id, &tracker).await?;
    show(&tracker, "DEV-1")?;

    step(&clock, "Dan answers in DEV; Alice replies in SUP");
    let dev = tracker.issue_by_key(&IssueKey::new("DEV-1")?).await?;
    dan.add_comment(
        &dev.id,
        &NewComment::public("The EU acquirer dropped 3DS v1; fix in review."),
    )
    .await?;
    cycle(&node, &conn.id, &tracker).await?;
    clock.advance(Duration::from_secs(60));
    alice
        .add_comment(
            &created.id,
            &NewComment::public("Customer informed, thanks!"),
        )
        .await?;
    cycle(&node, &conn.id, &tracker).await?;
    show(&tracker, "SUP-1")?;
    show(&tracker, "DEV-1")?;

    step(
        &clock,
        "Alice removes the label and renames SUP-1: it stays under sync",
    );
    let update = IssueUpdate {
        labels: Some(Vec::new()),
        summary: Some("Checkout fails for EU customers (3DS v1)".into()),
        ..IssueUpdate::default()
    };
    alice.update_issue(&created.id, &update).await?;
    for result in node.test_run(&conn.id, &[IssueKey::new("SUP-1")?]).await? {
        println!("{}", indent(&result.to_string()));
    }
    cycle(&node, &conn.id, &tracker).await?;
    show(&tracker, "DEV-1")?;

    step(&clock, "A quiet cycle");
    cycle(&node, &conn.id, &tracker).await?;

    println!("\n{}", node.status(&conn.id)?);
    Ok(())
}

fn step(clock: &ManualClock, what: &str) {
    clock.advance(Duration::from_secs(60));
    println!("\n▶ {what}");
}

/// One sync cycle, with what it did and the tracker calls it took.
async fn cycle(
    node: &Node,
    conn: &twinsync::model::ConnectionId,
    tracker: &MemoryTracker,
) -> Result<CycleReport> {
    tracker.reset_calls();
    let report = node.sync(conn).await?;
    println!(
        "  sync cycle: {} seen, {} brought under sync by the trigger, {} synced, {} write(s); calls: {}",
        report.seen,
        report.triggered,
        report.synced,
        report.writes,
        tracker.calls()
    );
    Ok(report)
}

fn dev_issues(tracker: &MemoryTracker) -> Result<Vec<twinsync::model::Issue>> {
    Ok(tracker.inspect_issues(&ProjectKey::new("DEV")?))
}

fn show(tracker: &MemoryTracker, key: &str) -> Result<()> {
    let Some(issue) = tracker.inspect_issue(&IssueKey::new(key)?) else {
        println!("  {key}: missing");
        return Ok(());
    };
    println!(
        "  {} [{}] {:?}, labels {:?}",
        issue.key, issue.issue_type, issue.summary, issue.labels
    );
    for comment in &issue.comments {
        println!(
            "    comment by {}: {}",
            comment.author.display_name,
            comment.body.to_plain_text()
        );
    }
    for file in &issue.attachments {
        println!("    attachment {} ({} bytes)", file.file_name, file.size);
    }
    Ok(())
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("  {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}
