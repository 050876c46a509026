//! Crash safety with a real process (I8 and I9 of DESIGN.md).
//!
//! A worker process runs a bulk sync of project SUP to DEV with its state in
//! a SQLite file, against a Jira emulator that lives in this test's process,
//! so the tracker's contents survive the worker. The harness kills the worker
//! with SIGKILL at random moments (a write applied whose answer is never
//! read, a twin created but not yet recorded), adds issues and comments on both sides
//! between runs, and restarts it; in some rounds it deletes the worker's
//! state file first, so the connection is created again under the same name
//! and must find its twins by their markers. At the end the worker syncs
//! until quiet and the emulator's own contents are checked: one twin per
//! issue, every comment once on each side and in order, nothing lost, equal
//! summaries, every issue under sync.
//!
//! With feature `postgres`, a second test runs the same rounds with the
//! worker's state in a PostgreSQL schema (of the server of
//! `TWINSYNC_TEST_POSTGRES`, which `bash .ci/test` starts), where losing the
//! state is dropping the schema.
//!
//! A third test runs three worker processes at once on one PostgreSQL
//! schema (worker mode: one polls, each twin is claimed by one, a trigger
//! brings every SUP issue under sync) and SIGKILLs each at its own random
//! moment; the checks are the same.
//!
//! The worker is this test binary run again with `TWINSYNC_KILL_WORKER` set.
//! CI runs 24 rounds from seed 1 (12 on PostgreSQL, 10 with three workers);
//! `TWINSYNC_KILL_ROUNDS=N` runs N rounds and
//! `TWINSYNC_KILL_SEED=S` picks another seed (kill moments still depend on
//! timing, so a seed replays the edits and the kill delays, not the exact
//! instant the kill lands).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::executor::block_on;
use twinsync::MemoryTracker;
use twinsync::engine::{BulkEvent, LocalConnectionOptions, Node, NodeOptions, Worker};
use twinsync::model::{ConnectionId, Issue, IssueId, IssueKey, UserRef};
use twinsync::replica::Marker;
use twinsync::store::{SqliteStore, Store};
use twinsync::testkit::ids as lit;
use twinsync::tracker::jira::JiraCloud;
use twinsync::tracker::jira::emulator::{API_TOKEN, EMAIL, JiraEmulator};
use twinsync::tracker::{IssueUpdate, NewComment, NewIssue, Tracker};

/// This test's name: the worker process runs exactly it.
const TEST: &str = "sigkill_at_random_moments_duplicates_and_loses_nothing";
/// Set in the worker's environment: `<emulator url>\n<state>\n<role>` (see
/// [`StateAt::job`] and [`Role`]).
const WORKER: &str = "TWINSYNC_KILL_WORKER";
const CONNECTION: &str = "SUP_to_DEV";
const BULK: &str = "project = SUP";

#[test]
fn sigkill_at_random_moments_duplicates_and_loses_nothing() {
    if let Ok(job) = std::env::var(WORKER) {
        worker::main(&job);
        return;
    }
    let rounds = env_number("TWINSYNC_KILL_ROUNDS").unwrap_or(24);
    let seed = env_number("TWINSYNC_KILL_SEED").unwrap_or(1);
    let dir = tempfile::tempdir().expect("a temp dir");
    let state = StateAt::File(dir.path().join("state.db"));
    let mut harness = Harness::new(seed, TEST, state, dir, 1);
    let stats = harness.run(rounds);
    println!(
        "crash_kill (seed {seed}, SQLite): {rounds} rounds, {} killed while syncing, {} finished before \
         the kill, {} state file(s) deleted; {} twins, {} comments",
        stats.killed, stats.finished, stats.wipes, stats.twins, stats.comments
    );
}

/// This test's name: the worker process runs exactly it.
#[cfg(feature = "postgres")]
const TEST_POSTGRES: &str = "sigkill_with_the_state_in_postgresql_duplicates_and_loses_nothing";

#[cfg(feature = "postgres")]
#[test]
fn sigkill_with_the_state_in_postgresql_duplicates_and_loses_nothing() {
    if let Ok(job) = std::env::var(WORKER) {
        worker::main(&job);
        return;
    }
    let rounds = env_number("TWINSYNC_KILL_ROUNDS").unwrap_or(12);
    let seed = env_number("TWINSYNC_KILL_SEED").unwrap_or(1);
    let dir = tempfile::tempdir().expect("a temp dir");
    let schema = format!("crash_kill_{}", std::process::id());
    let state = StateAt::Postgres(schema);
    let mut harness = Harness::new(seed, TEST_POSTGRES, state.clone(), dir, 1);
    let stats = harness.run(rounds);
    state.wipe();
    println!(
        "crash_kill (seed {seed}, PostgreSQL): {rounds} rounds, {} killed while syncing, {} \
         finished before the kill, {} schema(s) dropped; {} twins, {} comments",
        stats.killed, stats.finished, stats.wipes, stats.twins, stats.comments
    );
}

/// This test's name: the worker processes run exactly it.
#[cfg(feature = "postgres")]
const TEST_WORKERS: &str =
    "sigkill_three_workers_on_one_postgresql_schema_duplicate_and_lose_nothing";

/// How long a worker process holds its work: short, so that the work of a
/// killed one passes on quickly.
#[cfg(feature = "postgres")]
const WORKER_LEASE: Duration = Duration::from_secs(2);

#[cfg(feature = "postgres")]
#[test]
fn sigkill_three_workers_on_one_postgresql_schema_duplicate_and_lose_nothing() {
    if let Ok(job) = std::env::var(WORKER) {
        worker::main(&job);
        return;
    }
    let rounds = env_number("TWINSYNC_KILL_ROUNDS").unwrap_or(10);
    let seed = env_number("TWINSYNC_KILL_SEED").unwrap_or(1);
    let dir = tempfile::tempdir().expect("a temp dir");
    let schema = format!("crash_kill_workers_{}", std::process::id());
    let state = StateAt::Postgres(schema);
    let mut harness = Harness::new(seed, TEST_WORKERS, state.clone(), dir, 3);
    let stats = harness.run(rounds);
    state.wipe();
    println!(
        "crash_kill (seed {seed}, three workers on PostgreSQL): {rounds} rounds, {} worker runs \
         killed while syncing, {} finished before the kill; {} twins, {} comments",
        stats.killed, stats.finished, stats.twins, stats.comments
    );
}

/// What a process of the test does.
#[derive(Clone, Debug, PartialEq)]
enum Role {
    /// The only node on its state: bulk exalate, then cycles.
    Node,
    /// Makes the connection and its trigger for the workers, then exits.
    Setup,
    /// One of several workers sharing the state: cycles only.
    Worker(String),
}

impl Role {
    fn job(&self) -> String {
        match self {
            Role::Node => "node".to_owned(),
            Role::Setup => "setup".to_owned(),
            Role::Worker(name) => format!("worker:{name}"),
        }
    }

    fn from_job(job: &str) -> Role {
        match job {
            "node" => Role::Node,
            "setup" => Role::Setup,
            _ => Role::Worker(
                job.strip_prefix("worker:")
                    .unwrap_or_else(|| panic!("a role is node, setup or worker:NAME, not {job:?}"))
                    .to_owned(),
            ),
        }
    }
}

/// Where the worker keeps its state.
#[derive(Clone, Debug)]
enum StateAt {
    /// A SQLite file.
    File(PathBuf),
    /// A schema on the PostgreSQL server of `TWINSYNC_TEST_POSTGRES`.
    #[cfg(feature = "postgres")]
    Postgres(String),
}

impl StateAt {
    /// As the worker's job line says it.
    fn job(&self) -> String {
        match self {
            StateAt::File(path) => format!("file:{}", path.display()),
            #[cfg(feature = "postgres")]
            StateAt::Postgres(schema) => format!("postgres:{schema}"),
        }
    }

    fn from_job(job: &str) -> StateAt {
        if let Some(path) = job.strip_prefix("file:") {
            return StateAt::File(PathBuf::from(path));
        }
        #[cfg(feature = "postgres")]
        if let Some(schema) = job.strip_prefix("postgres:") {
            return StateAt::Postgres(schema.to_owned());
        }
        panic!("a job's state is file:PATH or postgres:SCHEMA, not {job:?}")
    }

    fn open(&self) -> twinsync::Result<Arc<dyn Store>> {
        self.open_as(false)
    }

    /// Opens the state, as one of several workers when `workers`.
    fn open_as(&self, workers: bool) -> twinsync::Result<Arc<dyn Store>> {
        let _ = workers;
        Ok(match self {
            StateAt::File(path) => Arc::new(SqliteStore::open(path)?),
            #[cfg(feature = "postgres")]
            StateAt::Postgres(schema) => Arc::new(
                twinsync::store::PostgresStore::builder(postgres_url())
                    .schema(schema)
                    .workers(workers)
                    .connect()?,
            ),
        })
    }

    /// Loses the state, as a lost disk (or a dropped schema) would.
    fn wipe(&self) {
        match self {
            StateAt::File(state) => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut path = state.clone().into_os_string();
                    path.push(suffix);
                    match std::fs::remove_file(&path) {
                        Ok(()) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => panic!("cannot delete {path:?}: {e}"),
                    }
                }
            }
            #[cfg(feature = "postgres")]
            StateAt::Postgres(schema) => {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a runtime");
                runtime.block_on(async {
                    let (client, connection) =
                        tokio_postgres::connect(&postgres_url(), tokio_postgres::NoTls)
                            .await
                            .expect("connect to the test server");
                    tokio::spawn(connection);
                    client
                        .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                        .await
                        .expect("drop the worker's schema");
                });
            }
        }
    }
}

#[cfg(feature = "postgres")]
fn postgres_url() -> String {
    std::env::var("TWINSYNC_TEST_POSTGRES").unwrap_or_else(|_| {
        panic!(
            "this test needs a PostgreSQL server: run `bash .ci/test` (it starts a throwaway \
             one), or set TWINSYNC_TEST_POSTGRES to a superuser's URL"
        )
    })
}

fn env_number(name: &str) -> Option<u64> {
    let text = std::env::var(name).ok()?;
    Some(
        text.trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={text:?} is not a number")),
    )
}

/// The worker: one run of the job, from whatever state the last one left.
mod worker {
    use super::*;

    pub fn main(job: &str) {
        let mut lines = job.split('\n');
        let (Some(url), Some(state), Some(role)) = (lines.next(), lines.next(), lines.next())
        else {
            panic!("job: url, state and role, not {job:?}");
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let state = StateAt::from_job(state);
        let work = async {
            match Role::from_job(role) {
                Role::Node => work(url, &state).await,
                Role::Setup => setup(url, &state).await,
                Role::Worker(name) => work_shared(url, &state, &name).await,
            }
        };
        match runtime.block_on(work) {
            Ok(summary) => println!("worker: done {summary}"),
            Err(e) => {
                println!("worker: error {e}");
                std::process::exit(2);
            }
        }
    }

    /// A node on the emulator at `url` with its state at `state`, one of
    /// several workers when `worker` names it.
    async fn start(url: &str, state: &StateAt, worker: Option<&str>) -> twinsync::Result<Node> {
        let store = state.open_as(worker.is_some())?;
        let tracker = JiraCloud::builder()
            .base_url(url)
            .api_token(EMAIL, API_TOKEN)
            .build()?;
        // No search lag in the emulator, so a lost create is looked for at once.
        let options = NodeOptions::default()
            .with_settle(Duration::ZERO)
            .with_page_size(5);
        let mut builder = Node::builder()
            .tracker(Arc::new(tracker))
            .store(store)
            .options(options);
        if let Some(name) = worker {
            #[cfg(feature = "postgres")]
            {
                builder = builder.worker(Worker::new(name).lease(WORKER_LEASE));
            }
            #[cfg(not(feature = "postgres"))]
            {
                builder = builder.worker(Worker::new(name));
            }
        }
        builder.build().await
    }

    /// Makes the connection and a trigger bringing every SUP issue under
    /// sync, for the workers.
    async fn setup(url: &str, state: &StateAt) -> twinsync::Result<String> {
        let node = start(url, state, None).await?;
        let admin = node.admin(&lit::user_id(MemoryTracker::INTEGRATION_USER));
        let conn = admin
            .create_local_connection(
                "SUP",
                "DEV",
                LocalConnectionOptions::default().name(CONNECTION),
            )
            .await?;
        admin
            .add_trigger(
                &conn.id,
                twinsync::trigger::TriggerSpec::new(lit::project("SUP"), BULK),
            )
            .await?;
        Ok("set up".to_owned())
    }

    /// Runs cycles as one of several workers until the shared queue stays
    /// empty and a cycle has nothing to do, twice in a row (the other
    /// workers may still be putting work in it), and the lease time has
    /// passed since it started: until then the polling may still be held
    /// by a worker process of the run before, and no worker of this run
    /// has looked for changes.
    async fn work_shared(url: &str, state: &StateAt, name: &str) -> twinsync::Result<String> {
        let started = std::time::Instant::now();
        let node = start(url, state, Some(name)).await?;
        println!("worker: started");
        let conn = node
            .connections()?
            .into_iter()
            .find(|c| c.name == CONNECTION)
            .ok_or_else(|| {
                twinsync::Error::new(twinsync::ErrorKind::NotFound, "no connection set up")
            })?;
        let (mut writes, mut failed, mut quiet_in_a_row) = (0, 0, 0);
        for _ in 0..60 {
            let report = node.sync(&conn.id).await?;
            writes += report.writes;
            failed += report.failed;
            let queued = node.status(&conn.id)?.queued;
            if report.writes == 0 && report.failed == 0 && report.queued == 0 && queued == 0 {
                quiet_in_a_row += 1;
                if quiet_in_a_row >= 2
                    && started.elapsed() > WORKER_LEASE + Duration::from_millis(300)
                {
                    break;
                }
            } else {
                quiet_in_a_row = 0;
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
        let quiet = quiet_in_a_row >= 2;
        Ok(format!("writes={writes} failed={failed} quiet={quiet}"))
    }

    /// Bulk-exalates every SUP issue (finishing an interrupted bulk first),
    /// then syncs until a cycle has nothing to do.
    async fn work(url: &str, state: &StateAt) -> twinsync::Result<String> {
        let node = start(url, state, None).await?;
        println!("worker: started");
        let existing = node
            .connections()?
            .into_iter()
            .find(|c| c.name == CONNECTION);
        let conn = match existing {
            Some(c) => c,
            None => {
                let c = node
                    .admin(&lit::user_id(MemoryTracker::INTEGRATION_USER))
                    .create_local_connection(
                        "SUP",
                        "DEV",
                        LocalConnectionOptions::default().name(CONNECTION),
                    )
                    .await?;
                println!("worker: connection created");
                c
            }
        };
        let (mut writes, mut failed) = (0, 0);
        loop {
            let report = node
                .bulk_exalate(&conn.id, BULK, |event| {
                    if let BulkEvent::Failed { key, error, .. } = event {
                        println!("worker: {key} failed: {error}");
                    }
                })
                .await?;
            writes += report.writes;
            failed += report.failed;
            if !report.resumed {
                break;
            }
        }
        let mut quiet = false;
        for _ in 0..5 {
            let report = node.sync(&conn.id).await?;
            writes += report.writes as u64;
            failed += report.failed as u64;
            if report.writes == 0 && report.failed == 0 && report.queued == 0 {
                quiet = true;
                break;
            }
        }
        Ok(format!("writes={writes} failed={failed} quiet={quiet}"))
    }
}

/// splitmix64: enough randomness for choosing moments and edits.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// A worker process, killed and reaped when dropped (also when a check fails).
struct WorkerProcess {
    child: Child,
    log: PathBuf,
    started: Instant,
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// When the harness kills a worker run.
#[derive(Clone, Copy)]
enum Kill {
    /// Never: the run must finish.
    No,
    /// At a random moment within a little more than a full run (so that
    /// its last steps are hit too, and some runs finish).
    Anywhere,
    /// At a random moment within the first third of a full run.
    Early,
}

/// A process started and not yet ended.
struct Running {
    process: WorkerProcess,
    /// When to kill it, after its start.
    kill_at: Option<Duration>,
    /// Its number, for messages.
    run: u64,
}

/// How one worker run ended.
struct Ending {
    /// It printed `worker: done …` (the line's rest).
    done: Option<String>,
    /// It had opened its state and started syncing.
    started: bool,
    /// How long it ran.
    took: Duration,
    log: String,
}

#[derive(Default)]
struct Stats {
    killed: u64,
    finished: u64,
    wipes: u64,
    twins: usize,
    comments: usize,
}

struct Harness {
    rng: Rng,
    dir: tempfile::TempDir,
    /// The test the worker process runs.
    test: &'static str,
    state: StateAt,
    /// Worker processes per run: 1 for one node alone on its state.
    workers: usize,
    conn: ConnectionId,
    // Dropped before the runtime that serves it.
    emulator: JiraEmulator,
    _runtime: tokio::runtime::Runtime,
    alice: MemoryTracker,
    bob: MemoryTracker,
    /// Every comment the people wrote, in order: (issue, body).
    written: Vec<(IssueId, String)>,
    runs: u64,
    /// An estimate of how long a worker run takes when nothing stops it.
    full_run: Duration,
}

impl Harness {
    fn new(
        seed: u64,
        test: &'static str,
        state: StateAt,
        dir: tempfile::TempDir,
        workers: usize,
    ) -> Harness {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime");
        let emulator = runtime
            .block_on(JiraEmulator::start())
            .expect("the emulator starts on 127.0.0.1");
        let tracker = emulator.tracker();
        Harness {
            rng: Rng(seed),
            test,
            state,
            workers,
            dir,
            conn: ConnectionId::parse(CONNECTION).expect("a valid id"),
            alice: tracker.as_user(UserRef::new(lit::user_id("alice"), "Alice")),
            bob: tracker.as_user(UserRef::new(lit::user_id("bob"), "Bob")),
            emulator,
            _runtime: runtime,
            written: Vec::new(),
            runs: 0,
            full_run: Duration::from_millis(1500),
        }
    }

    fn run(&mut self, rounds: u64) -> Stats {
        let mut stats = Stats::default();
        for i in 0..8 {
            self.new_issue(&format!("Seed issue {i}"), 2);
        }
        if self.workers > 1 {
            let setup = self.spawn(Role::Setup, Kill::No);
            let ended = self.finish(vec![setup]);
            assert!(ended.iter().all(|e| e.done.is_some()), "the setup failed");
        }
        for round in 0..rounds {
            // Every sixth round of one node loses the state file, and the
            // kill comes early, while the worker makes its connection again
            // from the markers.
            let kill = if round % 6 == 3 && self.workers == 1 {
                self.wipe_state();
                stats.wipes += 1;
                Kill::Early
            } else {
                Kill::Anywhere
            };
            for ending in self.run_workers(kill) {
                if ending.done.is_some() {
                    stats.finished += 1;
                } else if ending.started {
                    stats.killed += 1;
                }
            }
            self.people_edit();
            self.emulator.clear_exchanges();
        }
        // Killed in a good share of the rounds, and not only before the
        // worker got going.
        assert!(
            stats.killed * 3 >= rounds * self.workers as u64,
            "only {} worker runs of {rounds} rounds were killed while syncing",
            stats.killed
        );

        // Heal: runs that are not killed, until one finds nothing to do.
        let mut last = self.run_worker(Kill::No);
        for _ in 1..3 {
            if last.done.as_deref() == Some("writes=0 failed=0 quiet=true") {
                break;
            }
            last = self.run_worker(Kill::No);
        }
        assert_eq!(
            last.done.as_deref(),
            Some("writes=0 failed=0 quiet=true"),
            "no quiet run within 3 runs after the last kill; the last one:\n{}",
            last.log
        );
        let (twins, comments) = self.check();
        self.check_store();
        self.check_still_in_sync();
        stats.twins = twins;
        stats.comments = comments;
        stats
    }

    /// Starts the worker processes of a run, each killed at a random
    /// moment of its own as `kill` says, and merges how they ended. Fails
    /// the test if a run that was not killed fails.
    fn run_worker(&mut self, kill: Kill) -> Ending {
        let endings = self.run_workers(kill);
        if let [one] = endings.as_slice() {
            return Ending {
                done: one.done.clone(),
                started: one.started,
                took: one.took,
                log: one.log.clone(),
            };
        }
        let summaries: Option<Vec<&str>> = endings.iter().map(|e| e.done.as_deref()).collect();
        let done = summaries.map(|all| {
            let number = |key: &str| -> u64 {
                all.iter()
                    .filter_map(|s| {
                        s.split(' ')
                            .find_map(|f| f.strip_prefix(key))
                            .and_then(|n| n.parse::<u64>().ok())
                    })
                    .sum()
            };
            let quiet = all.iter().all(|s| s.ends_with("quiet=true"));
            format!(
                "writes={} failed={} quiet={quiet}",
                number("writes="),
                number("failed=")
            )
        });
        Ending {
            done,
            started: endings.iter().any(|e| e.started),
            took: endings.iter().map(|e| e.took).max().unwrap_or_default(),
            log: endings
                .iter()
                .map(|e| e.log.as_str())
                .collect::<Vec<_>>()
                .join("\n----\n"),
        }
    }

    /// Starts every worker process of a run and waits for each to end.
    fn run_workers(&mut self, kill: Kill) -> Vec<Ending> {
        let roles: Vec<Role> = if self.workers == 1 {
            vec![Role::Node]
        } else {
            (0..self.workers)
                .map(|i| Role::Worker(format!("w{i}")))
                .collect()
        };
        let running: Vec<Running> = roles
            .into_iter()
            .map(|role| self.spawn(role, kill))
            .collect();
        let endings = self.finish(running);
        // The kill window follows the work, which grows from round to round:
        // a run that finished pulls the estimate towards its length, a run
        // that was killed (so lasted longer than the kill) pushes it up.
        let took = endings.iter().map(|e| e.took).max().unwrap_or_default();
        self.full_run = if endings.iter().all(|e| e.done.is_some()) {
            (self.full_run + took.max(Duration::from_millis(50))) / 2
        } else {
            self.full_run.mul_f64(1.1)
        };
        endings
    }

    /// Starts one process in `role`, to be killed as `kill` says.
    fn spawn(&mut self, role: Role, kill: Kill) -> Running {
        self.runs += 1;
        let log = self.dir.path().join(format!("worker-{}.log", self.runs));
        let job = format!(
            "{}\n{}\n{}",
            self.emulator.base_url(),
            self.state.job(),
            role.job()
        );
        let exe = std::env::current_exe().expect("the test binary");
        let out = std::fs::File::create(&log).expect("a log file");
        let err = out.try_clone().expect("a log file");
        let child = Command::new(exe)
            .args([
                "--exact",
                self.test,
                "--nocapture",
                "--test-threads=1",
                "-q",
            ])
            .env(WORKER, job)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("the worker starts");
        let full = self.full_run.as_millis() as u64;
        let kill_at = match kill {
            Kill::No => None,
            Kill::Anywhere => Some(Duration::from_millis(self.rng.below(full * 5 / 4))),
            Kill::Early => Some(Duration::from_millis(self.rng.below(full / 3))),
        };
        Running {
            process: WorkerProcess {
                child,
                log,
                started: Instant::now(),
            },
            kill_at,
            run: self.runs,
        }
    }

    /// Waits for processes to end, killing each at its moment.
    fn finish(&self, running: Vec<Running>) -> Vec<Ending> {
        let deadline = Duration::from_secs(60);
        // (process, killed, ended)
        let mut all: Vec<(Running, bool, bool)> =
            running.into_iter().map(|r| (r, false, false)).collect();
        while all.iter().any(|(_, _, ended)| !ended) {
            for (r, killed, ended) in all.iter_mut().filter(|(_, _, ended)| !ended) {
                let worker = &mut r.process;
                if worker
                    .child
                    .try_wait()
                    .expect("the worker's status")
                    .is_some()
                {
                    *ended = true;
                    continue;
                }
                let elapsed = worker.started.elapsed();
                if r.kill_at.is_some_and(|at| elapsed >= at) {
                    worker.child.kill().expect("SIGKILL");
                    worker.child.wait().expect("the worker is reaped");
                    *killed = true;
                    *ended = true;
                    continue;
                }
                assert!(
                    elapsed < deadline,
                    "worker run {} still running after {deadline:?}:\n{}",
                    r.run,
                    std::fs::read_to_string(&worker.log).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        all.into_iter()
            .map(|(mut r, killed, _)| {
                let log = std::fs::read_to_string(&r.process.log).unwrap_or_default();
                let done = log
                    .lines()
                    .find_map(|l| l.strip_prefix("worker: done "))
                    .map(str::to_owned);
                // A run killed after it printed `done` finished its work: the
                // kill landed while it was exiting (closing its store), which
                // is no failure of the run.
                if !killed {
                    let status = r.process.child.wait().expect("the worker's status");
                    assert!(
                        status.success() && done.is_some(),
                        "worker run {} failed ({status}):\n{log}",
                        r.run
                    );
                }
                Ending {
                    done,
                    started: log.contains("worker: started"),
                    took: r.process.started.elapsed(),
                    log,
                }
            })
            .collect()
    }

    /// Loses the worker's state.
    fn wipe_state(&mut self) {
        self.state.wipe();
    }

    fn new_issue(&mut self, summary: &str, comments: usize) {
        let created = block_on(self.alice.create_issue(&NewIssue::new(
            lit::project("SUP"),
            "Bug",
            summary,
        )))
        .expect("create an issue");
        for _ in 0..comments {
            self.comment(&self.alice.clone(), &created.id);
        }
    }

    fn comment(&mut self, who: &MemoryTracker, issue: &IssueId) {
        let body = format!(
            "comment {} by {} on {issue}",
            self.written.len() + 1,
            who.user().display_name
        );
        block_on(who.add_comment(issue, &NewComment::public(body.as_str())))
            .expect("add a comment");
        self.written.push((issue.clone(), body));
    }

    /// The twins as the tracker shows them: (SUP issue, DEV issue).
    fn pairs(&self) -> Vec<(Issue, Issue)> {
        let copies: BTreeMap<IssueId, Issue> = self
            .issues("DEV")
            .into_iter()
            .filter_map(|i| Marker::find(&i.properties, &self.conn).map(|m| (m.origin_issue, i)))
            .collect();
        self.issues("SUP")
            .into_iter()
            .filter_map(|i| copies.get(&i.id).cloned().map(|c| (i, c)))
            .collect()
    }

    fn issues(&self, project: &str) -> Vec<Issue> {
        let mut issues = self
            .emulator
            .tracker()
            .inspect_issues(&lit::project(project));
        issues.sort_by_key(|i| i.id.as_str().parse::<u64>().unwrap_or(0));
        issues
    }

    /// What the people do between two runs of the worker.
    fn people_edit(&mut self) {
        let n = self.issues("SUP").len();
        for i in 0..2 {
            let comments = self.rng.below(3) as usize;
            self.new_issue(&format!("Issue {}", n + i), comments);
        }
        let pairs = self.pairs();
        if pairs.is_empty() {
            return;
        }
        for _ in 0..3 {
            let (sup, dev) = &pairs[self.rng.below(pairs.len() as u64) as usize];
            if self.rng.below(2) == 0 {
                self.comment(&self.alice.clone(), &sup.id);
            } else {
                self.comment(&self.bob.clone(), &dev.id);
            }
        }
        if self.rng.below(3) == 0 {
            let (sup, dev) = &pairs[self.rng.below(pairs.len() as u64) as usize];
            let (who, issue) = if self.rng.below(2) == 0 {
                (&self.alice, sup)
            } else {
                (&self.bob, dev)
            };
            let update = IssueUpdate {
                summary: Some(format!(
                    "{} (edited by {})",
                    sup.summary,
                    who.user().display_name
                )),
                ..IssueUpdate::default()
            };
            block_on(who.update_issue(&issue.id, &update)).expect("edit a summary");
        }
    }

    /// I4, I5, I7 and I1 on the emulator's own contents; returns (twins, comments).
    fn check(&self) -> (usize, usize) {
        let sup = self.issues("SUP");
        let dev = self.issues("DEV");
        // I4: every DEV issue is the twin of one SUP issue; no SUP issue has two.
        let mut copies: BTreeMap<IssueId, Vec<IssueKey>> = BTreeMap::new();
        for issue in &dev {
            let marker = Marker::find(&issue.properties, &self.conn)
                .unwrap_or_else(|| panic!("{} was not made by the sync", issue.key));
            copies
                .entry(marker.origin_issue)
                .or_default()
                .push(issue.key.clone());
        }
        for issue in &sup {
            assert!(
                Marker::find(&issue.properties, &self.conn).is_none(),
                "I4: {} was created by the sync on the origin side",
                issue.key
            );
            let twins = copies.get(&issue.id).cloned().unwrap_or_default();
            assert_eq!(twins.len(), 1, "I4: {} has twins {twins:?}", issue.key);
        }
        assert_eq!(
            dev.len(),
            sup.len(),
            "I4: DEV holds issues that copy no SUP issue"
        );

        let pairs = self.pairs();
        let mut comments = 0;
        for (a, b) in &pairs {
            let pair = format!("{} ⇄ {}", a.key, b.key);
            assert_eq!(
                (&a.summary, &a.description, &a.issue_type),
                (&b.summary, &b.description, &b.issue_type),
                "I1: {pair} differ"
            );
            let expected: Vec<&str> = self
                .written
                .iter()
                .filter(|(on, _)| on == &a.id || on == &b.id)
                .map(|(_, body)| body.as_str())
                .collect();
            for issue in [a, b] {
                let bodies: Vec<String> = issue
                    .comments
                    .iter()
                    .map(twinsync::testkit::said::said)
                    .collect();
                // I5 and I7: each comment exactly once, none made up, none lost.
                let mut sorted = bodies.clone();
                sorted.sort();
                let mut want: Vec<String> = expected.iter().map(|s| (*s).to_owned()).collect();
                want.sort();
                assert_eq!(sorted, want, "I5/I7: comments of {} ({pair})", issue.key);
                // Comments written on one side keep their order on the other.
                for (src, _) in [(a, b), (b, a)] {
                    let order: Vec<usize> = self
                        .written
                        .iter()
                        .filter(|(on, _)| on == &src.id)
                        .filter_map(|(_, body)| bodies.iter().position(|x| x == body))
                        .collect();
                    assert!(
                        order.windows(2).all(|w| w[0] < w[1]),
                        "I5: comments of {} reordered on {}: {bodies:?}",
                        src.key,
                        issue.key
                    );
                }
                comments += bodies.len();
            }
        }
        (pairs.len(), comments)
    }

    /// Every SUP issue is under sync in the worker's store, with the twin the
    /// tracker shows.
    fn check_store(&self) {
        let store = self.state.open().expect("the worker's store opens");
        let mut txn = store.begin().expect("a transaction");
        for (sup, dev) in self.pairs() {
            let twin = txn
                .twin_by_remote(&self.conn, &sup.id)
                .expect("read a twin")
                .unwrap_or_else(|| panic!("{} is not under sync", sup.key));
            assert_eq!(
                twin.local.map(|l| l.id),
                Some(dev.id.clone()),
                "the store pairs {} with another issue than {}",
                sup.key,
                dev.key
            );
        }
        let intents = txn.intents(&self.conn).expect("read intents");
        assert!(intents.is_empty(), "intents left open: {intents:?}");
    }

    /// A comment on each side of the oldest twin travels, once.
    fn check_still_in_sync(&mut self) {
        let (sup, dev) = self.pairs().into_iter().next().expect("a twin");
        self.comment(&self.alice.clone(), &sup.id);
        self.comment(&self.bob.clone(), &dev.id);
        let ending = self.run_worker(Kill::No);
        assert!(
            ending
                .done
                .as_deref()
                .unwrap_or_default()
                .starts_with("writes=2 failed=0"),
            "two new comments take two writes: {}\n{}",
            ending.done.unwrap_or_default(),
            ending.log
        );
        self.check();
    }
}
