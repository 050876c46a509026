//! Commands on issues: exalate, connect, unexalate, bulk-exalate,
//! test-run, retry, resolve.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use twinsync::engine::{BulkEvent, TwinInfo};
use twinsync::model::IssueKey;

use crate::cli::{IssueArgs, On};
use crate::failure::{Failure, Outcome, PARTIAL};
use crate::setup::{self, Opened};

fn key(text: &str) -> Outcome<IssueKey> {
    Ok(text.trim().parse::<IssueKey>()?)
}

fn describe(info: &TwinInfo) -> String {
    let twin = info
        .twin
        .as_ref()
        .map_or("(no twin yet)", |t| t.key.as_str());
    let mut line = format!("{} ⇄ {twin}: {} write(s)", info.origin.key, info.writes);
    if !info.conflicts.is_empty() {
        line.push_str(&format!(", {} conflict(s)", info.conflicts.len()));
    }
    if info.waiting {
        line.push_str(", waiting for the other node");
    }
    line
}

pub async fn exalate(opened: &Opened, args: IssueArgs) -> Outcome {
    let conn = setup::connection(&opened.node, args.on.connection.as_deref())?;
    let info = opened.node.exalate(&conn.id, &key(&args.key)?).await?;
    println!("exalated {}", describe(&info));
    Ok(())
}

pub async fn connect(opened: &Opened, on: On, a: &str, b: &str) -> Outcome {
    let conn = setup::connection(&opened.node, on.connection.as_deref())?;
    let info = opened.node.connect(&conn.id, &key(a)?, &key(b)?).await?;
    println!("connected {}", describe(&info));
    Ok(())
}

pub async fn unexalate(opened: &Opened, args: IssueArgs) -> Outcome {
    let conn = setup::connection(&opened.node, args.on.connection.as_deref())?;
    let info = opened.node.unexalate(&conn.id, &key(&args.key)?).await?;
    println!(
        "unexalated {}: both issues stay, no longer in sync",
        info.origin.key
    );
    Ok(())
}

pub async fn bulk_exalate(opened: &Opened, on: On, jql: &str) -> Outcome {
    let conn = setup::connection(&opened.node, on.connection.as_deref())?;
    // Drawn on standard error, and only on a terminal.
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {pos} issue(s) {msg} [{elapsed}]")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    let report = opened
        .node
        .bulk_exalate(&conn.id, jql, |event| match event {
            BulkEvent::Started { total: Some(total) } => bar.set_length(*total),
            BulkEvent::Synced { key, twin, .. } => {
                bar.inc(1);
                bar.set_message(format!(
                    "{key} ⇄ {}",
                    twin.as_ref().map_or("—", |t| t.as_str())
                ));
            }
            BulkEvent::Skipped { key } => {
                bar.inc(1);
                bar.set_message(format!("{key} already in step"));
            }
            BulkEvent::Failed { key, error, .. } => {
                bar.inc(1);
                let line = format!("{key} failed: {error}");
                // A hidden bar (standard error is no terminal) prints nothing.
                if bar.is_hidden() {
                    eprintln!("{line}");
                } else {
                    bar.println(line);
                }
            }
            _ => {}
        })
        .await;
    bar.finish_and_clear();
    let report = report?;
    println!(
        "bulk exalate on {}: {} issue(s): {} synced, {} already in step, {} failed; {} write(s){}",
        conn.name,
        report.total,
        report.synced,
        report.skipped,
        report.failed,
        report.writes,
        if report.resumed {
            " (continued an interrupted run)"
        } else {
            ""
        }
    );
    if report.failed > 0 {
        return Err(Failure::new(
            PARTIAL,
            format!(
                "{} issue(s) failed (each named above); fix the cause and run the same bulk-exalate again",
                report.failed
            ),
        ));
    }
    Ok(())
}

pub async fn test_run(opened: &Opened, args: IssueArgs) -> Outcome {
    let conn = setup::connection(&opened.node, args.on.connection.as_deref())?;
    for result in opened.node.test_run(&conn.id, &[key(&args.key)?]).await? {
        print!("{result}");
        if !result.to_string().ends_with('\n') {
            println!();
        }
    }
    println!("(nothing was written)");
    Ok(())
}

pub async fn retry(opened: &Opened, args: IssueArgs) -> Outcome {
    let conn = setup::connection(&opened.node, args.on.connection.as_deref())?;
    let info = opened.node.retry(&conn.id, &key(&args.key)?).await?;
    println!("retried {}", describe(&info));
    Ok(())
}

pub async fn resolve(opened: &Opened, args: IssueArgs) -> Outcome {
    let conn = setup::connection(&opened.node, args.on.connection.as_deref())?;
    let key = key(&args.key)?;
    opened
        .node
        .admin(&opened.admin)
        .resolve(&conn.id, &key)
        .await?;
    println!(
        "resolved {key}: its error and conflicts are forgotten; the next cycle syncs it again"
    );
    Ok(())
}
