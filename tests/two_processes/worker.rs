//! The worker: one node process. It serves its node over loopback HTTPS at a
//! fixed port (unless it is the private node), keeps its state in its own
//! SQLite file, syncs its own Jira emulator, and runs `sync_all` every
//! ~100 ms on the system clock until it is killed.
//!
//! It reports through files the harness reads: the invitation code (side A
//! writes it, side B reads it, both mode 600) and a status file rewritten
//! after every cycle (`cycles=… quiet=… ready=…`), where `quiet` counts the
//! cycles in a row that found nothing to do.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use twinsync::connection::{ConnectionStatus, NodeKey};
use twinsync::engine::{InitiateRequest, Initiated, IssueState, Node, NodeOptions};
use twinsync::model::{ConnectionId, NodeUrl, UserId};
use twinsync::store::SqliteStore;
use twinsync::tracker::jira::JiraCloud;
use twinsync::tracker::jira::emulator::{API_TOKEN, EMAIL};
use twinsync::transport::http::{HttpServer, HttpTransport, ServerTls};
use twinsync::trigger::TriggerSpec;
use twinsync::{Error, ErrorKind, Invitation};

/// What one worker process is: everything it needs, from the harness.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Job {
    /// `A` or `B`, for its log lines.
    pub side: String,
    /// Whether this side initiates (A) or accepts (B).
    pub initiates: bool,
    /// Its Jira emulator's base URL.
    pub tracker: String,
    /// Its project there.
    pub project: String,
    /// Issues of its project to exalate once the connection is up.
    pub exalate: Vec<String>,
    /// Its SQLite file.
    pub state: PathBuf,
    /// Its node key file (mode 600).
    pub node_key: PathBuf,
    /// The loopback port it serves at; `None`: a private node, which does
    /// not serve and pulls its messages.
    pub port: Option<u16>,
    /// The node URL of the other node, when that one serves: the accepting
    /// side checks that the invitation comes from it.
    pub peer: Option<String>,
    /// The invitation code: written by A, read by B.
    pub code: PathBuf,
    /// Rewritten after each cycle.
    pub status: PathBuf,
    /// The CA certificate both nodes trust, and this node's certificate and key.
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// The connection's name on both nodes.
pub const CONNECTION: &str = "SUP_to_DEV";
/// The admin who sets the connection up (a global admin on both emulators).
pub const ADMIN: &str = "ada";
/// How often the worker starts a cycle.
const PERIOD: Duration = Duration::from_millis(100);

pub fn main(job: &str) {
    let job: Job = serde_json::from_str(job).expect("the worker's job");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    if let Err(e) = runtime.block_on(work(&job)) {
        println!("worker {}: error {e}", job.side);
        std::process::exit(2);
    }
}

async fn work(job: &Job) -> twinsync::Result<()> {
    let say = |what: &str| println!("worker {}: {what}", job.side);
    let store = SqliteStore::open(&job.state)?;
    let tracker = JiraCloud::builder()
        .base_url(&job.tracker)
        .api_token(EMAIL, API_TOKEN)
        .build()?;
    let ca = std::fs::read(&job.ca).map_err(|e| config(format!("the CA file: {e}")))?;
    let transport = HttpTransport::builder()
        .add_root_certificate_pem(&ca)
        .connect_timeout(Duration::from_secs(2))
        .request_timeout(Duration::from_secs(20))
        .build()?;
    let server = match job.port {
        Some(port) => Some(bind(port, ServerTls::from_pem_files(&job.cert, &job.key)?).await?),
        None => None,
    };
    // The emulator has no search lag: a lost create is looked for at once,
    // and a short overlap is enough. The other node is down for a moment
    // only (the harness restarts it at once): try it again soon.
    let options = NodeOptions::default()
        .with_settle(Duration::ZERO)
        .with_overlap(Duration::from_secs(5))
        .with_peer_backoff(Duration::from_millis(200), Duration::from_secs(2));
    let mut builder = Node::builder()
        .tracker(Arc::new(tracker))
        .store(Arc::new(store))
        .options(options)
        .transport(Arc::new(transport))
        .node_key(NodeKey::from_file(&job.node_key)?)
        .reachable(server.is_some());
    if let Some(server) = &server {
        builder = builder.node_url(server.url());
    }
    let node = builder.build().await?;
    let _serving = match server {
        Some(server) => Some(server.serve(Arc::new(node.clone()))?),
        None => None,
    };
    say(&format!("started (node url {})", node.node_url().as_str()));
    let conn = connection(&node, job).await?;
    let mut ready = false;
    let (mut cycles, mut quiet) = (0u64, 0u64);
    let mut last_errors = String::new();
    loop {
        let started = Instant::now();
        if !ready {
            ready = set_up_sync(&node, &conn, job).await?;
            if ready {
                say("ready");
            }
        }
        let calm = match node.sync_all().await {
            Ok(r) => {
                let idle = r.writes == 0
                    && !r.peer_unreachable
                    && r.failed == 0
                    && r.queued == 0
                    && r.synced == 0
                    && r.triggered == 0;
                if !idle {
                    say(&format!("cycle {}: {r:?}", cycles + 1));
                }
                idle
            }
            Err(e) => {
                say(&format!("cycle {}: error {e}", cycles + 1));
                false
            }
        };
        // Quiet also means nothing waits: no error on record (a twin backing
        // off looks idle to a cycle), nothing queued or in progress.
        let waiting = waiting(&node, &conn)?;
        if !waiting.is_empty() && waiting != last_errors {
            say(&format!("waiting: {waiting}"));
        }
        last_errors = waiting;
        cycles += 1;
        quiet = if calm && last_errors.is_empty() && ready {
            quiet + 1
        } else {
            0
        };
        write_status(job, cycles, quiet, ready, &conn)?;
        if let Some(rest) = PERIOD.checked_sub(started.elapsed()) {
            tokio::time::sleep(rest).await;
        }
    }
}

/// Binds the fixed port. Right after a kill the old process may not be
/// gone from the kernel's view yet, so a refused bind is tried again.
async fn bind(port: u16, tls: ServerTls) -> twinsync::Result<HttpServer> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match HttpServer::bind(addr, tls.clone()) {
            Ok(server) => return Ok(server),
            Err(e) if e.kind() == ErrorKind::Unavailable && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// The connection in the store, or a new one: A initiates (no destination,
/// so an invitation code) and writes the code; B reads it, checks that it
/// comes from the node it expects, and accepts it.
async fn connection(node: &Node, job: &Job) -> twinsync::Result<ConnectionId> {
    if let Some(c) = node
        .connections()?
        .into_iter()
        .find(|c| c.name == CONNECTION)
    {
        return Ok(c.id);
    }
    let admin = node.admin(&UserId::new(ADMIN)?);
    let project = job.project.parse()?;
    if job.initiates {
        let request = InitiateRequest::new(project).name(CONNECTION);
        let Initiated::Invitation { connection, code } = admin.initiate(request).await? else {
            return Err(config(
                "initiating without a destination gives a code".into(),
            ));
        };
        write_private(&job.code, code.as_str())?;
        println!(
            "worker {}: invited (code {}…, {} characters)",
            job.side,
            &code.as_str()[..20],
            code.as_str().len()
        );
        return Ok(connection.id);
    }
    let code = std::fs::read_to_string(&job.code)
        .map_err(|e| config(format!("the invitation code file: {e}")))?;
    let invitation = Invitation::parse(&code).map_err(Error::from)?;
    if let Some(peer) = &job.peer {
        let expected = NodeUrl::parse(peer)?;
        if invitation.initiator_node() != expected {
            return Err(config(format!(
                "the invitation comes from {}, not from {expected}",
                invitation.initiator_node()
            )));
        }
    }
    let conn = admin.accept(&code, &project).await?;
    println!("worker {}: accepted, connection {}", job.side, conn.id);
    Ok(conn.id)
}

/// Once the connection is active here: exalates the job's issues and adds a
/// trigger for the whole project, so issues made later come under sync by
/// themselves. Done once: a trigger on record means it was.
async fn set_up_sync(node: &Node, conn: &ConnectionId, job: &Job) -> twinsync::Result<bool> {
    let connection = node.connection(conn)?;
    if connection.status != ConnectionStatus::Active {
        return Ok(false);
    }
    if !node.triggers(conn)?.is_empty() {
        return Ok(true);
    }
    for key in &job.exalate {
        let twin = node.exalate(conn, &key.parse()?).await?;
        println!(
            "worker {}: exalated {key} → {}",
            job.side,
            twin.twin
                .map_or_else(|| "waiting".into(), |t| t.key.to_string())
        );
    }
    let query = format!("project = {}", job.project);
    node.admin(&UserId::new(ADMIN)?)
        .add_trigger(conn, TriggerSpec::new(job.project.parse()?, query))
        .await?;
    Ok(true)
}

/// What the sync panel shows waiting: errors on record, the queue, issues
/// in progress, an unreachable peer or messages waiting for it. Empty when
/// nothing waits.
fn waiting(node: &Node, conn: &ConnectionId) -> twinsync::Result<String> {
    let panel = node.status(conn)?;
    let mut out = Vec::new();
    if let Some(peer) = &panel.peer
        && (peer.unreachable_since.is_some() || peer.waiting > 0)
    {
        match &peer.cause {
            Some(cause) => out.push(format!("{peer} ({cause})")),
            None => out.push(peer.to_string()),
        }
    }
    for e in &panel.errors {
        out.push(format!("{}: {}", e.key, e.message));
    }
    if panel.queued > 0 {
        out.push(format!("{} queued", panel.queued));
    }
    for issue in &panel.issues {
        if matches!(issue.state, IssueState::InProgress | IssueState::Queued) {
            out.push(format!("{} {}", issue.origin.key, issue.state));
        }
    }
    Ok(out.join("; "))
}

fn write_status(
    job: &Job,
    cycles: u64,
    quiet: u64,
    ready: bool,
    conn: &ConnectionId,
) -> twinsync::Result<()> {
    let text = format!(
        "cycles={cycles} quiet={quiet} ready={} connection={conn}\n",
        u8::from(ready)
    );
    replace(&job.status, text.as_bytes(), false)
}

/// Writes a file that only its owner may read (the code is a secret).
fn write_private(path: &Path, text: &str) -> twinsync::Result<()> {
    replace(path, text.as_bytes(), true)
}

/// Writes `path` whole: a reader sees the old content or the new, never half.
fn replace(path: &Path, bytes: &[u8], private: bool) -> twinsync::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    if private {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let written = options
        .open(&tmp)
        .and_then(|mut f| f.write_all(bytes))
        .and_then(|()| std::fs::rename(&tmp, path));
    written.map_err(|e| config(format!("cannot write {}: {e}", path.display())))
}

fn config(message: String) -> Error {
    Error::new(ErrorKind::InvalidConfig, message)
}
