//! The harness: two Jira emulators, two worker processes, the people who
//! edit, and the kills.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures::executor::block_on;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use twinsync::MemoryTracker;
use twinsync::connection::NodeKey;
use twinsync::model::{ConnectionId, IssueId, UserRef};
use twinsync::testkit::ids as lit;
use twinsync::tracker::jira::emulator::JiraEmulator;
use twinsync::tracker::{IssueUpdate, NewComment, NewIssue, Tracker};

use crate::worker::Job;
use crate::{Rng, WORKER};

/// Which nodes serve.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    /// Both nodes serve at their node URLs and call each other.
    BothServe,
    /// B is in a private network: it does not serve; it calls A and pulls.
    PrivateB,
}

#[derive(Debug, Default)]
pub struct Stats {
    /// Kills of A and of B.
    pub kills: [u64; 2],
    /// Kills that landed while the node had work (its last cycle did
    /// something, failed, or left something waiting).
    pub busy_kills: u64,
    /// Kills that landed before the node finished its first cycle.
    pub starting_kills: u64,
    /// How long both took to become quiet after the last kill.
    pub settle: Duration,
    /// Worker runs that saw a request to the other node break in the
    /// middle (the other node was killed while answering it).
    pub broken_requests: usize,
    pub twins: usize,
    pub comments: usize,
}

/// One side: its emulator, the person who works there, its worker.
pub struct Side {
    pub name: &'static str,
    pub project: &'static str,
    pub emulator: JiraEmulator,
    /// Alice on A, Bob on B, editing the emulator directly.
    pub human: MemoryTracker,
    pub job: Job,
    process: Option<WorkerProcess>,
    runs: u64,
}

/// What a worker's status file says.
#[derive(Clone, Debug, Default)]
struct Status {
    cycles: u64,
    quiet: u64,
    ready: bool,
    connection: Option<String>,
}

/// A worker process, killed and reaped when dropped (also when a check fails).
struct WorkerProcess {
    child: Child,
    log: PathBuf,
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct Harness {
    test: &'static str,
    rng: Rng,
    // Kept when the test fails, with the workers' logs.
    dir: Option<tempfile::TempDir>,
    pub sides: [Side; 2],
    pub conn: Option<ConnectionId>,
    /// Every comment the people wrote, in order: (side, issue, body).
    pub written: Vec<(usize, IssueId, String)>,
    /// Every summary the people set, in order: (side, issue, summary).
    pub retitled: Vec<(usize, IssueId, String)>,
    // Dropped after the emulators it serves.
    _runtime: tokio::runtime::Runtime,
}

impl Drop for Harness {
    fn drop(&mut self) {
        for side in &mut self.sides {
            side.process = None;
        }
        let keep = std::thread::panicking() || std::env::var_os("TWINSYNC_TWO_PROC_KEEP").is_some();
        if keep && let Some(dir) = self.dir.take() {
            eprintln!(
                "the workers' logs and state are kept in {}",
                dir.keep().display()
            );
        }
    }
}

impl Harness {
    pub fn new(test: &'static str, variant: Variant, seed: u64) -> Harness {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime");
        let dir = tempfile::tempdir().expect("a temp dir");
        let path = dir.path();
        let pki = Pki::write(path);
        let ports = [free_port(), free_port()];
        let serves = [true, variant == Variant::BothServe];
        let node_url = |i: usize| serves[i].then(|| format!("https://127.0.0.1:{}", ports[i]));
        let sides = [("A", "SUP", "alice", "Alice"), ("B", "DEV", "bob", "Bob")];
        let sides = std::array::from_fn(|i| {
            let (name, project, user, display) = sides[i];
            let emulator = runtime
                .block_on(JiraEmulator::start())
                .expect("an emulator starts on 127.0.0.1");
            let human = emulator
                .tracker()
                .as_user(UserRef::new(lit::user_id(user), display));
            let node_key = path.join(format!("{name}.key"));
            NodeKey::generate()
                .and_then(|k| k.write_new_file(&node_key))
                .expect("a node key file");
            let job = Job {
                side: name.into(),
                initiates: i == 0,
                tracker: emulator.base_url(),
                project: project.into(),
                exalate: Vec::new(),
                state: path.join(format!("{name}.db")),
                node_key,
                port: serves[i].then_some(ports[i]),
                peer: node_url(1 - i),
                code: path.join("invitation.code"),
                status: path.join(format!("{name}.status")),
                ca: pki.ca.clone(),
                cert: pki.cert.clone(),
                key: pki.key.clone(),
            };
            Side {
                name,
                project,
                emulator,
                human,
                job,
                process: None,
                runs: 0,
            }
        });
        assert_ne!(
            sides[0].emulator.base_url(),
            sides[1].emulator.base_url(),
            "one emulator per side"
        );
        Harness {
            test,
            rng: Rng(seed),
            dir: Some(dir),
            sides,
            conn: None,
            written: Vec::new(),
            retitled: Vec::new(),
            _runtime: runtime,
        }
    }

    pub fn run(&mut self, rounds: u64) -> Stats {
        let mut stats = Stats::default();
        self.set_up();
        for _ in 0..rounds {
            self.people_edit();
            self.pause(0, 400);
            let victims: &[usize] = match self.rng.below(6) {
                0..=2 => &[0],
                3..=4 => &[1],
                _ => &[0, 1],
            };
            for &i in victims {
                match self.status(i) {
                    None => stats.starting_kills += 1,
                    Some(s) if s.quiet == 0 => stats.busy_kills += 1,
                    Some(_) => {}
                }
                self.kill(i);
                stats.kills[i] += 1;
            }
            self.pause(0, 300);
            for &i in victims {
                self.start(i);
            }
            self.pause(100, 500);
        }
        // Most kills landed while the node had work, not only between cycles
        // (a handful of kills may all miss by chance; many may not).
        let kills = stats.kills[0] + stats.kills[1];
        assert!(
            kills < 20 || stats.busy_kills * 3 >= kills,
            "only {} of {kills} kills landed while the node had work",
            stats.busy_kills
        );
        stats.settle = self.settle();
        let (twins, comments) = self.check();
        // Still in step: a comment on each side of the oldest twin travels.
        let (a, b) = self.pairs().into_iter().next().expect("a twin");
        self.comment(0, &a.id);
        self.comment(1, &b.id);
        self.settle();
        self.check();
        for i in 0..2 {
            self.kill(i);
        }
        self.check_stores();
        stats.broken_requests = self.runs_that_saw("broke before its answer arrived");
        stats.twins = twins;
        stats.comments = comments;
        stats
    }

    /// Seed issues on both sides; A initiates, B accepts the code; each
    /// exalates its seeds and adds its trigger.
    fn set_up(&mut self) {
        for (i, count) in [(0, 3), (1, 2)] {
            for n in 0..count {
                let key = self.new_issue(i, &format!("Seed issue {n}"), 1 + n % 2);
                self.sides[i].job.exalate.push(key);
            }
        }
        self.start(0);
        let code = self.sides[0].job.code.clone();
        self.wait("A writes the invitation code", |_| code.exists());
        self.start(1);
        self.wait("both nodes are ready", |h| {
            (0..2).all(|i| h.status(i).is_some_and(|s| s.ready))
        });
        let conn = self
            .status(0)
            .and_then(|s| s.connection)
            .expect("A's connection");
        assert_eq!(
            self.status(1).and_then(|s| s.connection).as_deref(),
            Some(conn.as_str()),
            "both nodes have one connection"
        );
        self.conn = Some(ConnectionId::parse(&conn).expect("a connection id"));
    }

    fn start(&mut self, i: usize) {
        let side = &mut self.sides[i];
        side.runs += 1;
        let log = self
            .dir
            .as_ref()
            .expect("the temp dir")
            .path()
            .join(format!("{}-{}.log", side.name, side.runs));
        // A missing status file means: not one cycle yet.
        let _ = std::fs::remove_file(&side.job.status);
        let out = std::fs::File::create(&log).expect("a log file");
        let err = out.try_clone().expect("a log file");
        let child = Command::new(std::env::current_exe().expect("the test binary"))
            .args([
                "--exact",
                self.test,
                "--nocapture",
                "--test-threads=1",
                "-q",
            ])
            .env(WORKER, serde_json::to_string(&side.job).expect("a job"))
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("the worker starts");
        side.process = Some(WorkerProcess { child, log });
    }

    /// SIGKILL, and wait until the process is gone.
    fn kill(&mut self, i: usize) {
        if let Some(mut p) = self.sides[i].process.take() {
            if let Ok(Some(status)) = p.child.try_wait() {
                panic!(
                    "worker {} had stopped by itself ({status}):\n{}",
                    self.sides[i].name,
                    tail(&p.log)
                );
            }
            p.child.kill().expect("SIGKILL");
            p.child.wait().expect("the worker is reaped");
        }
    }

    fn pause(&mut self, from_ms: u64, to_ms: u64) {
        let ms = from_ms + self.rng.below(to_ms - from_ms);
        std::thread::sleep(Duration::from_millis(ms));
    }

    fn status(&self, i: usize) -> Option<Status> {
        let text = std::fs::read_to_string(&self.sides[i].job.status).ok()?;
        let mut status = Status::default();
        for word in text.split_whitespace() {
            match word.split_once('=') {
                Some(("cycles", n)) => status.cycles = n.parse().ok()?,
                Some(("quiet", n)) => status.quiet = n.parse().ok()?,
                Some(("ready", n)) => status.ready = n == "1",
                Some(("connection", c)) => status.connection = Some(c.to_owned()),
                _ => {}
            }
        }
        Some(status)
    }

    /// Fails the test if a worker stopped by itself.
    fn assert_alive(&mut self) {
        for side in &mut self.sides {
            if let Some(p) = &mut side.process
                && let Ok(Some(status)) = p.child.try_wait()
            {
                panic!(
                    "worker {} stopped by itself ({status}):\n{}",
                    side.name,
                    tail(&p.log)
                );
            }
        }
    }

    fn wait(&mut self, what: &str, done: impl Fn(&Harness) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !done(self) {
            self.assert_alive();
            assert!(
                Instant::now() < deadline,
                "timed out waiting until {what}\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until both nodes had five quiet cycles in a row, all started
    /// after this call; returns how long that took.
    fn settle(&mut self) -> Duration {
        let started = Instant::now();
        let marks: Vec<u64> = (0..2)
            .map(|i| self.status(i).map_or(0, |s| s.cycles))
            .collect();
        let limit =
            Duration::from_secs(crate::env_number("TWINSYNC_TWO_PROC_SETTLE_SECS").unwrap_or(180));
        loop {
            self.assert_alive();
            let quiet = (0..2).all(|i| {
                self.status(i)
                    .is_some_and(|s| s.cycles >= marks[i] + 6 && s.quiet >= 5)
            });
            if quiet {
                return started.elapsed();
            }
            assert!(
                started.elapsed() < limit,
                "the nodes did not become quiet within {limit:?}\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// How many worker runs logged `text`.
    fn runs_that_saw(&self, text: &str) -> usize {
        let dir = self.dir.as_ref().expect("the temp dir").path();
        std::fs::read_dir(dir)
            .expect("the temp dir")
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".log"))
            .filter(|e| std::fs::read_to_string(e.path()).is_ok_and(|t| t.contains(text)))
            .count()
    }

    /// The end of each worker's current log, for failure messages.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        for side in &self.sides {
            if let Some(p) = &side.process {
                out += &format!(
                    "--- worker {} ({}):\n{}\n",
                    side.name,
                    p.log.display(),
                    tail(&p.log)
                );
            }
        }
        out
    }

    /// A new issue on side `i` with `comments` comments; returns its key.
    fn new_issue(&mut self, i: usize, summary: &str, comments: usize) -> String {
        let side = &self.sides[i];
        let new = NewIssue::new(lit::project(side.project), "Bug", summary);
        let created = block_on(side.human.create_issue(&new)).expect("create an issue");
        for _ in 0..comments {
            self.comment(i, &created.id);
        }
        created.key.to_string()
    }

    pub fn comment(&mut self, i: usize, issue: &IssueId) {
        let side = &self.sides[i];
        let body = format!(
            "comment {} by {} on {}-{issue}",
            self.written.len() + 1,
            side.human.user().display_name,
            side.name
        );
        block_on(
            side.human
                .add_comment(issue, &NewComment::public(body.as_str())),
        )
        .expect("add a comment");
        self.written.push((i, issue.clone(), body));
    }

    /// What the people do in a round: new issues on either side (their
    /// triggers bring them under sync), comments on either side of twins,
    /// now and then a new summary.
    fn people_edit(&mut self) {
        for i in 0..2 {
            if self.rng.below(2) == 0 {
                let n = self.issues(i).len();
                let comments = self.rng.below(3) as usize;
                self.new_issue(i, &format!("Issue {n} of {}", self.sides[i].name), comments);
            }
        }
        let pairs = self.pairs();
        if pairs.is_empty() {
            return;
        }
        for _ in 0..3 {
            let pair = &pairs[self.rng.below(pairs.len() as u64) as usize];
            let i = self.rng.below(2) as usize;
            let issue = if i == 0 { &pair.0 } else { &pair.1 };
            self.comment(i, &issue.id.clone());
        }
        if self.rng.below(3) == 0 {
            let pair = &pairs[self.rng.below(pairs.len() as u64) as usize];
            let i = self.rng.below(2) as usize;
            let issue = if i == 0 { &pair.0 } else { &pair.1 };
            let summary = format!(
                "{} (edit {} by {})",
                issue.summary.split(" (edit").next().unwrap_or_default(),
                self.retitled.len() + 1,
                self.sides[i].human.user().display_name
            );
            let update = IssueUpdate {
                summary: Some(summary.clone()),
                ..IssueUpdate::default()
            };
            block_on(self.sides[i].human.update_issue(&issue.id, &update)).expect("edit a summary");
            self.retitled.push((i, issue.id.clone(), summary));
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// A private CA and a certificate for 127.0.0.1 it issued, as PEM files.
struct Pki {
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

impl Pki {
    fn write(dir: &Path) -> Pki {
        let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "twinsync two-process test CA");
        let ca =
            CertifiedIssuer::self_signed(ca, KeyPair::generate().expect("a CA key")).expect("a CA");
        let key = KeyPair::generate().expect("a server key");
        let cert = CertificateParams::new(vec!["127.0.0.1".to_owned()])
            .expect("certificate parameters")
            .signed_by(&key, &ca)
            .expect("a certificate");
        let pki = Pki {
            ca: dir.join("ca.pem"),
            cert: dir.join("cert.pem"),
            key: dir.join("key.pem"),
        };
        std::fs::write(&pki.ca, ca.pem()).expect("write the CA");
        std::fs::write(&pki.cert, cert.pem()).expect("write the certificate");
        std::fs::write(&pki.key, key.serialize_pem()).expect("write the key");
        pki
    }
}
