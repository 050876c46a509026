//! A remote connection between two nodes over HTTPS on this machine: set up
//! by invitation code, an issue exalated, edits synced both ways.
//!
//! ```text
//! cargo run --features http --example remote_http
//! ```
//!
//! Node A syncs project SUP of one tracker, node B project DEV of another
//! (each the built-in in-memory tracker, with a URL of its own). Each node
//! serves its `/twinsync` endpoint on a loopback port over TLS, with a
//! self-signed certificate made for this run; each trusts the other's
//! certificate, as two companies with private certificates would. No setup,
//! nothing left behind: both servers stop at the end.

use std::net::SocketAddr;
use std::sync::Arc;

use twinsync::connection::{Connection, NodeKey};
use twinsync::engine::{InitiateRequest, Initiated, Node};
use twinsync::model::{IssueKey, UserId, UserRef};
use twinsync::store::MemoryStore;
use twinsync::tracker::{IssueUpdate, NewComment, NewIssue, Tracker};
use twinsync::transport::http::{HttpServer, HttpTransport, ServerHandle, ServerTls};
use twinsync::{Error, ErrorKind, MemoryTracker, Result};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if let Err(e) = run().await {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

/// One node: its tracker, a person working there, the node and its server.
struct Site {
    name: &'static str,
    tracker: MemoryTracker,
    person: MemoryTracker,
    node: Node,
    server: ServerHandle,
}

/// A self-signed certificate for 127.0.0.1 and its key, as PEM.
struct Certificate {
    cert: String,
    key: String,
}

fn certificate() -> Result<Certificate> {
    let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()])
        .map_err(|e| Error::new(ErrorKind::InvalidConfig, format!("no certificate: {e}")))?;
    Ok(Certificate {
        cert: made.cert.pem(),
        key: made.signing_key.serialize_pem(),
    })
}

/// Starts a node on a fresh in-memory tracker at `tracker_url` with
/// `project`, served at `https://127.0.0.1:<a free port>`, trusting the
/// certificate `peer` for its calls.
async fn site(
    name: &'static str,
    tracker_url: &str,
    project: &str,
    own: &Certificate,
    peer: &Certificate,
    person: &str,
) -> Result<Site> {
    let tracker = MemoryTracker::new(tracker_url)?;
    tracker.add_project(project, project, &["Bug", "Task"], Some("Task"))?;
    let person = tracker.as_user(UserRef::new(UserId::new(person.to_lowercase())?, person));
    let tls = ServerTls::from_pem(own.cert.as_bytes(), own.key.as_bytes())?;
    let server = HttpServer::bind(SocketAddr::from(([127, 0, 0, 1], 0)), tls)?;
    let transport = HttpTransport::builder()
        .add_root_certificate_pem(peer.cert.as_bytes())
        .build()?;
    let node = Node::builder()
        .tracker(Arc::new(tracker.clone()))
        .store(Arc::new(MemoryStore::new()))
        .transport(Arc::new(transport))
        .node_url(server.url())
        // Kept apart from the store in real use: NodeKey::from_env or from_file.
        .node_key(NodeKey::generate()?)
        .build()
        .await?;
    let server = server.serve(Arc::new(node.clone()))?;
    println!(
        "node {name}: tracker {tracker_url} (project {project}), serving at {}",
        node.node_url().endpoint()
    );
    Ok(Site {
        name,
        tracker,
        person,
        node,
        server,
    })
}

async fn run() -> Result<()> {
    let (cert_a, cert_b) = (certificate()?, certificate()?);
    let a = site(
        "A",
        "https://support.example",
        "SUP",
        &cert_a,
        &cert_b,
        "Alice",
    )
    .await?;
    let b = site("B", "https://dev.example", "DEV", &cert_b, &cert_a, "Bob").await?;
    println!(
        "(TLS with a self-signed certificate per node, made for this run; each trusts the other's)"
    );

    // The integration user is a global admin on both trackers.
    let admin = UserId::new(MemoryTracker::INTEGRATION_USER)?;
    let request = InitiateRequest::new("SUP".parse()?).name("SUP_to_DEV");
    let Initiated::Invitation { connection, code } = a.node.admin(&admin).initiate(request).await?
    else {
        return Err(Error::new(
            ErrorKind::Unsupported,
            "expected an invitation code",
        ));
    };
    println!(
        "A: initiated {} without a destination URL: invitation code {}… ({} characters; a \
         secret, so shown shortened)",
        connection.name,
        &code.as_str()[..20],
        code.as_str().len()
    );
    let conn = b
        .node
        .admin(&admin)
        .accept(code.as_str(), &"DEV".parse()?)
        .await?;
    println!(
        "B: accepted the code for DEV over HTTPS: {} on A, {} on B",
        a.node.connection(&conn.id)?.status,
        conn.status
    );

    let issue = a
        .person
        .create_issue(&NewIssue::new("SUP".parse()?, "Bug", "Checkout times out"))
        .await?;
    a.person
        .add_comment(&issue.id, &NewComment::public("5% of orders since Monday"))
        .await?;
    println!("Alice filed {} on A with a comment", issue.key);
    let twin = a.node.exalate(&conn.id, &issue.key).await?;
    let twin_key = twin
        .twin
        .map(|t| t.key)
        .ok_or_else(|| Error::new(ErrorKind::Unavailable, "the twin was not created"))?;
    println!(
        "A: exalated {} → {twin_key} on B ({} writes on B)",
        issue.key, twin.writes
    );
    show(&b, &twin_key).await?;

    let dev = b.tracker.issue_by_key(&twin_key).await?;
    b.person
        .add_comment(&dev.id, &NewComment::public("reproduced, fix under way"))
        .await?;
    let retitle = IssueUpdate {
        summary: Some("Checkout times out under load".into()),
        ..IssueUpdate::default()
    };
    b.person.update_issue(&dev.id, &retitle).await?;
    println!("Bob commented on {twin_key} and renamed it on B");
    let report = b.node.sync(&conn.id).await?;
    println!("B: sync → {} write(s) on A", report.peer_writes);
    show(&a, &issue.key).await?;

    let quiet = (a.node.sync(&conn.id).await?, b.node.sync(&conn.id).await?);
    println!(
        "A and B: sync again → {} and {} write(s): nothing echoes back",
        quiet.0.writes, quiet.1.writes
    );
    print_panel(&a, &conn)?;

    for site in [a, b] {
        site.server.shutdown().await;
        println!("node {}: server stopped", site.name);
    }
    Ok(())
}

async fn show(site: &Site, key: &IssueKey) -> Result<()> {
    let issue = site.tracker.issue_by_key(key).await?;
    println!("  {} on {}: {:?}", issue.key, site.name, issue.summary);
    for c in &issue.comments {
        println!("    comment: {:?}", c.body.to_plain_text());
    }
    Ok(())
}

fn print_panel(site: &Site, conn: &Connection) -> Result<()> {
    let panel = site.node.status(&conn.id)?;
    println!("sync panel on {}:", site.name);
    for line in panel.to_string().lines() {
        println!("  {line}");
    }
    Ok(())
}
