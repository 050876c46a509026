//! Two worker nodes sharing one site's work through PostgreSQL: one polls,
//! each twin is synced by one of them, and when a worker is lost the other
//! carries on within the lease time.
//!
//! ```text
//! TWINSYNC_EXAMPLE_POSTGRES=postgres://user:password@127.0.0.1:5432/db \
//!     cargo run --features postgres --example two_workers
//! ```
//!
//! The workers' state lives in the schema `twinsync_two_workers` of the
//! database the URL names (each run deletes the connection an earlier run
//! left there); the issues live in the built-in in-memory tracker. Without `TWINSYNC_EXAMPLE_POSTGRES`
//! the example says so and exits without doing anything.

use std::sync::Arc;
use std::time::Duration;

use twinsync::engine::{DeleteOptions, LocalConnectionOptions, Node, Worker};
use twinsync::model::{ConnectionId, UserRef};
use twinsync::store::{PostgresStore, Store};
use twinsync::tracker::{NewComment, NewIssue, Tracker};
use twinsync::trigger::TriggerSpec;
use twinsync::{MemoryTracker, Result};

const URL_VAR: &str = "TWINSYNC_EXAMPLE_POSTGRES";
const SCHEMA: &str = "twinsync_two_workers";
/// Short, so the example shows a hand-over without a long wait.
const LEASE: Duration = Duration::from_secs(2);

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let Ok(url) = std::env::var(URL_VAR) else {
        println!(
            "skipped: this example needs a PostgreSQL server; set {URL_VAR} to a URL such as \
             postgres://user:password@127.0.0.1:5432/db (bash .ci/test starts a throwaway one \
             and exports TWINSYNC_TEST_POSTGRES, which works here too)"
        );
        return;
    };
    if let Err(e) = run(&url).await {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

async fn run(url: &str) -> Result<()> {
    let tracker = MemoryTracker::new("https://jira.example")?;
    tracker.add_project("SUP", "Support", &["Bug", "Task"], None)?;
    tracker.add_project("DEV", "Development", &["Bug", "Task"], None)?;
    let alice = tracker.as_user(UserRef::new("alice".parse()?, "Alice"));

    println!("starting workers w1 and w2 on schema {SCHEMA}");
    let w1 = worker(url, &tracker, "w1").await?;
    let w2 = worker(url, &tracker, "w2").await?;
    let admin_id = MemoryTracker::INTEGRATION_USER.parse()?;
    let admin = w1.admin(&admin_id);
    // What an earlier run left: its twins name issues of another tracker.
    for old in w1.connections()? {
        admin
            .delete_connection(&old.id, DeleteOptions::default())
            .await?;
    }
    let conn = admin
        .create_local_connection("SUP", "DEV", LocalConnectionOptions::default())
        .await?;
    admin
        .add_trigger(
            &conn.id,
            TriggerSpec::new("SUP".parse()?, "labels = escalate"),
        )
        .await?;
    println!(
        "connection {} with a trigger on labels = escalate",
        conn.name
    );

    for n in 1..=4 {
        let new = NewIssue::new("SUP".parse()?, "Bug", format!("Outage {n}")).labels(["escalate"]);
        let issue = alice.create_issue(&new).await?;
        alice
            .add_comment(
                &issue.id,
                &NewComment::public(format!("customer report {n}")),
            )
            .await?;
        println!("alice created {} with a comment", issue.key);
    }

    cycle("both workers", &[&w1, &w2], &conn.id).await?;
    println!("the polling is held by {}", holder(url, &conn.id)?);
    show(&tracker)?;

    println!("w1 is lost; alice comments on SUP-1");
    drop(w1);
    alice
        .add_comment(
            &tracker.issue_by_key(&"SUP-1".parse()?).await?.id,
            &NewComment::public("any news?"),
        )
        .await?;
    tokio::time::sleep(LEASE + Duration::from_millis(500)).await;
    cycle("w2 alone", &[&w2], &conn.id).await?;
    println!("the polling is held by {}", holder(url, &conn.id)?);
    show(&tracker)?;
    Ok(())
}

/// A worker node with a store of its own on the shared schema.
async fn worker(url: &str, tracker: &MemoryTracker, name: &str) -> Result<Node> {
    let store = PostgresStore::builder(url)
        .schema(SCHEMA)
        .workers(true)
        .connect()?;
    Node::builder()
        .tracker(Arc::new(tracker.clone()))
        .store(Arc::new(store))
        .worker(Worker::new(name).lease(LEASE))
        .build()
        .await
}

/// One cycle of each of `workers`, run together, then what each did.
async fn cycle(label: &str, workers: &[&Node], conn: &ConnectionId) -> Result<()> {
    let reports = futures::future::join_all(workers.iter().map(|w| w.sync(conn))).await;
    for (i, report) in reports.into_iter().enumerate() {
        let report = report?;
        println!(
            "{label}, worker {}: saw {} changed issues, synced {} twins with {} writes",
            i + 1,
            report.seen,
            report.synced,
            report.writes
        );
    }
    Ok(())
}

fn show(tracker: &MemoryTracker) -> Result<()> {
    for issue in tracker.inspect_issues(&"DEV".parse()?) {
        println!(
            "  {} {:?}: {} comment(s)",
            issue.key,
            issue.summary,
            issue.comments.len()
        );
    }
    Ok(())
}

/// Who holds the connection's polling now.
fn holder(url: &str, conn: &ConnectionId) -> Result<String> {
    // A look at the schema as a worker (the workers' lock is shared).
    let store = PostgresStore::builder(url)
        .schema(SCHEMA)
        .workers(true)
        .connect()?;
    let mut txn = store.begin()?;
    Ok(txn
        .lease(&format!("poll/{conn}"))?
        .map_or_else(|| "nobody".to_owned(), |l| l.holder))
}
