//! The in-memory tracker at work: projects, an issue with comments and an
//! attachment, a search, and the calls it took.
//!
//! ```text
//! cargo run --example memory_tracker
//! ```

use twinsync::tracker::{NewAttachment, NewComment, NewIssue, Page, Tracker};
use twinsync::{MemoryTracker, Result};

fn main() -> Result<()> {
    futures::executor::block_on(run())
}

async fn run() -> Result<()> {
    let tracker = MemoryTracker::new("https://acme.example")?;
    tracker.add_project("SUP", "Support", &["Bug", "Task", "Epic"], Some("Task"))?;

    let created = tracker
        .create_issue(
            &NewIssue::new("SUP".parse()?, "Bug", "Printer on fire")
                .description("Smoke since this morning.\nFloor 3.")
                .labels(["escalate-to-dev"]),
        )
        .await?;
    tracker
        .add_comment(&created.id, &NewComment::public("Extinguisher applied."))
        .await?;
    tracker
        .upload_attachment(
            &created.id,
            &NewAttachment {
                file_name: "photo.txt".into(),
                mime_type: "text/plain".into(),
                content: b"a very smoky printer".to_vec(),
            },
        )
        .await?;

    let page = tracker
        .search(
            "project = SUP AND labels = escalate-to-dev",
            &Page::first(50),
        )
        .await?;
    for issue in &page.issues {
        println!("{} [{}] {}", issue.key, issue.issue_type, issue.summary);
        println!(
            "  {}",
            issue.description.to_plain_text().replace('\n', "\n  ")
        );
        for comment in &issue.comments {
            println!(
                "  comment by {}: {}",
                comment.author.display_name,
                comment.body.to_plain_text()
            );
        }
        for file in &issue.attachments {
            let sha = file.sha256.map(|h| h.to_hex()).unwrap_or_default();
            println!(
                "  attachment {} ({} bytes, sha-256 {}…)",
                file.file_name,
                file.size,
                &sha[..12]
            );
        }
    }
    println!("calls made: {}", tracker.calls());
    Ok(())
}
