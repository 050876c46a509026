//! Creates an issue with a comment (carrying a sync marker) and an attachment
//! in one Jira project, then reads it back, printing each step.
//!
//! With `JIRA_URL`, `JIRA_EMAIL` and `JIRA_API_TOKEN` set it runs against that
//! Jira Cloud site (project from `JIRA_PROJECT`, default `SUP`; issue type from
//! `JIRA_ISSUE_TYPE`, default `Task`). Without them it starts the loopback
//! Jira emulator and runs against it.
//!
//! ```text
//! cargo run --features jira-emulator --example jira
//! ```

use serde_json::json;
use twinsync::model::{ProjectKey, RichText};
use twinsync::tracker::jira::JiraCloud;
use twinsync::tracker::jira::emulator::JiraEmulator;
use twinsync::tracker::{NewAttachment, NewComment, NewIssue, Tracker};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Keep the emulator alive for the whole run when there is no real site.
    let (jira, _emulator) = if std::env::var_os("JIRA_URL").is_some() {
        (JiraCloud::from_env()?, None)
    } else {
        let emulator = JiraEmulator::start().await?;
        println!(
            "no JIRA_URL set: started the jira emulator at {}",
            emulator.base_url()
        );
        (emulator.cloud()?, Some(emulator))
    };
    let project = ProjectKey::new(std::env::var("JIRA_PROJECT").unwrap_or_else(|_| "SUP".into()));
    let issue_type = std::env::var("JIRA_ISSUE_TYPE").unwrap_or_else(|_| "Task".into());

    let site = jira.instance().await?;
    let me = jira.myself().await?;
    println!(
        "connected to {} ({} {}) as {}",
        site.url, site.product, site.version, me.display_name
    );
    let info = jira.project(&project).await?;
    println!(
        "project {} \"{}\" has issue types: {}",
        info.key,
        info.name,
        info.issue_type_names().join(", ")
    );

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
                project.clone(),
                issue_type,
                "Printer on fire (twinsync example)",
            )
            .description(description)
            .property(
                "twinsync.marker",
                json!({"example": "jira", "op": "create-1"}),
            ),
        )
        .await?;
    println!(
        "created {} (id {}) with its marker in the same request",
        created.key, created.id
    );

    let comment = jira
        .add_comment(
            &created.id,
            &NewComment::public("Extinguisher applied.").property(
                "twinsync.marker",
                json!({"example": "jira", "op": "comment-1"}),
            ),
        )
        .await?;
    println!("added comment {}", comment.id);

    let file = NewAttachment {
        file_name: "incident.log".into(),
        mime_type: "text/plain".into(),
        content: b"02:14 smoke detected\n02:15 extinguisher applied\n".to_vec(),
    };
    let attached = jira.upload_attachment(&created.id, &file).await?;
    println!("attached {} ({} bytes)", attached.file_name, attached.size);

    let issue = jira.issue(&created.id).await?;
    println!();
    println!("read back {}: {}", issue.key, issue.summary);
    println!(
        "  type {}, status {}, created by {}",
        issue.issue_type,
        issue.status,
        issue
            .creator
            .as_ref()
            .map_or("unknown", |u| u.display_name.as_str())
    );
    println!("  description: {}", issue.description.to_plain_text());
    println!(
        "  marker: {}",
        issue
            .properties
            .get("twinsync.marker")
            .map_or("none".into(), ToString::to_string)
    );
    for c in &issue.comments {
        println!(
            "  comment {} by {}: {} (marker {})",
            c.id,
            c.author.display_name,
            c.body.to_plain_text(),
            c.properties
                .get("twinsync.marker")
                .map_or("none".into(), ToString::to_string)
        );
    }
    for a in &issue.attachments {
        let content = jira.download_attachment(&a.id).await?;
        println!(
            "  attachment {} {} ({} bytes): {:?}",
            a.id,
            a.file_name,
            a.size,
            String::from_utf8_lossy(&content)
                .lines()
                .next()
                .unwrap_or("")
        );
    }
    Ok(())
}
