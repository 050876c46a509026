//! Syncs two projects of one Jira site: a local connection, an issue with a
//! comment and an attachment exalated to its twin, edits on both sides, a
//! sync cycle, and the sync panel, printing each step.
//!
//! ```text
//! cargo run --features jira-emulator --example jira
//! ```
//!
//! With `JIRA_URL`, `JIRA_EMAIL` and `JIRA_API_TOKEN` set it runs against that
//! Jira Cloud site, syncing project `JIRA_PROJECT_A` to project
//! `JIRA_PROJECT_B` (both required; the integration user needs the rights the
//! README lists in both) with issues of type `JIRA_ISSUE_TYPE` (default
//! `Task`; both projects must have it). It leaves the two issues it made
//! behind. Without `JIRA_URL` it starts the loopback Jira emulator, with
//! projects `SUP` and `DEV`, and runs against that.

use std::sync::Arc;

use serde_json::json;
use twinsync::engine::{LocalConnectionOptions, Node};
use twinsync::model::{Issue, IssueKey, RichText};
use twinsync::store::MemoryStore;
use twinsync::tracker::jira::JiraCloud;
use twinsync::tracker::jira::emulator::JiraEmulator;
use twinsync::tracker::{IssueUpdate, NewAttachment, NewComment, NewIssue, Tracker};

type Failure = Box<dyn std::error::Error>;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Failure> {
    // Keep the emulator alive for the whole run when there is no real site.
    let (jira, _emulator, a, b) = if std::env::var_os("JIRA_URL").is_some() {
        let project = |name: &str| {
            std::env::var(name)
                .ok()
                .filter(|v| !v.trim().is_empty())
                .ok_or_else(|| format!("{name} is not set: name the two projects to sync with JIRA_PROJECT_A and JIRA_PROJECT_B"))
        };
        let (a, b) = (project("JIRA_PROJECT_A")?, project("JIRA_PROJECT_B")?);
        (JiraCloud::from_env()?, None, a, b)
    } else {
        let emulator = JiraEmulator::start().await?;
        println!(
            "no JIRA_URL set: started the jira emulator at {} with projects SUP and DEV",
            emulator.base_url()
        );
        (
            emulator.cloud()?,
            Some(emulator),
            "SUP".to_owned(),
            "DEV".to_owned(),
        )
    };
    let issue_type = std::env::var("JIRA_ISSUE_TYPE").unwrap_or_else(|_| "Task".into());
    let jira = Arc::new(jira);

    let site = jira.instance().await?;
    let me = jira.myself().await?;
    println!(
        "connected to {} ({} {}) as {}",
        site.url, site.product, site.version, me.display_name
    );

    // 1. A node on this site and a local connection between the two projects.
    let node = Node::builder()
        .tracker(jira.clone())
        .store(Arc::new(MemoryStore::new()))
        .build()
        .await?;
    // The integration user must be a global admin to set connections up.
    let conn = node
        .admin(&me.id)
        .create_local_connection(&a, &b, LocalConnectionOptions::default())
        .await?;
    println!("created the local connection {}: {a} ↔ {b}", conn.name);

    // 2. An issue in A, with a comment and an attachment, as a user would make it.
    let description = RichText::adf(json!({"type": "doc", "version": 1, "content": [
        {"type": "paragraph", "content": [
            {"type": "text", "text": "The printer on "},
            {"type": "text", "text": "floor 3", "marks": [{"type": "strong"}]},
            {"type": "text", "text": " is on fire."}
        ]}
    ]}))?;
    let created = jira
        .create_issue(
            &NewIssue::new(
                a.parse()?,
                issue_type.as_str(),
                "Printer on fire (twinsync example)",
            )
            .description(description),
        )
        .await?;
    jira.add_comment(&created.id, &NewComment::public("Extinguisher applied."))
        .await?;
    jira.upload_attachment(
        &created.id,
        &NewAttachment {
            file_name: "incident.log".into(),
            mime_type: "text/plain".into(),
            content: b"02:14 smoke detected\n02:15 extinguisher applied\n".to_vec(),
        },
    )
    .await?;
    println!(
        "created {} in {a} with a comment and the attachment incident.log",
        created.key
    );

    // 3. Exalate it: the twin is made in B, with the comment and the attachment.
    let twin = node.exalate(&conn.id, &created.key).await?;
    let twin_key = twin
        .twin
        .map(|t| t.key)
        .ok_or("the exalated issue has no twin")?;
    println!(
        "exalated {} → {twin_key} ({} writes)",
        created.key, twin.writes
    );
    show(&*jira, &twin_key).await?;

    // 4. Users edit both sides: a new summary in A, a comment on the twin in B.
    jira.update_issue(
        &created.id,
        &IssueUpdate {
            summary: Some("Printer on fire, floor 3 evacuated (twinsync example)".into()),
            ..IssueUpdate::default()
        },
    )
    .await?;
    println!("edited the summary of {}", created.key);
    let twin_issue = jira.issue_by_key(&twin_key).await?;
    jira.add_comment(
        &twin_issue.id,
        &NewComment::public("Facilities are on their way."),
    )
    .await?;
    println!("commented on {twin_key}");

    // 5. Sync. A webhook handler would tell the node what changed, so the
    //    cycle does not depend on how far Jira's search index lags behind.
    node.notify_changed(&conn.id, &created.key).await?;
    node.notify_changed(&conn.id, &twin_key).await?;
    let report = node.sync(&conn.id).await?;
    println!(
        "synced: {} twin(s), {} write(s), {} conflict(s)",
        report.synced, report.writes, report.conflicts
    );
    show(&*jira, &created.key).await?;
    show(&*jira, &twin_key).await?;

    // 6. The sync panel.
    println!();
    print!("{}", node.status(&conn.id)?);
    Ok(())
}

/// Prints an issue as Jira shows it.
async fn show(jira: &dyn Tracker, key: &IssueKey) -> Result<(), Failure> {
    let issue: Issue = jira.issue_by_key(key).await?;
    println!("  {} [{}] {}", issue.key, issue.issue_type, issue.summary);
    println!("    description: {}", issue.description.to_plain_text());
    // A synced comment is written by the integration user; its first line
    // says who wrote the original ("Alice commented on SUP-1").
    for c in &issue.comments {
        println!(
            "    comment by {}: {}",
            c.author.display_name,
            c.body.to_plain_text().replace('\n', " ⏎ ")
        );
    }
    for at in &issue.attachments {
        let content = jira.download_attachment(&at.id).await?;
        println!(
            "    attachment {} ({} bytes): {:?}",
            at.file_name,
            at.size,
            String::from_utf8_lossy(&content)
                .lines()
                .next()
                .unwrap_or("")
        );
    }
    Ok(())
}
