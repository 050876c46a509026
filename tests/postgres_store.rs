//! `PostgresStore` against a real PostgreSQL server: the store conformance
//! suite, durability across reconnects, one node per schema, refusals of
//! newer and foreign schemas, errors that name the server and never the
//! password, TLS, and a node syncing on it.
//!
//! The server is the one of `TWINSYNC_TEST_POSTGRES` (a superuser's URL);
//! `bash .ci/test` starts a throwaway one and sets it. Without it these
//! tests fail, saying so: they never pass without a server. Each test works
//! in a schema of its own, dropped at its end.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use time::macros::datetime;
use twinsync::ErrorKind;
use twinsync::clock::ManualClock;
use twinsync::engine::LocalConnectionOptions;
use twinsync::model::ConnectionId;
use twinsync::plan::TwinState;
use twinsync::store::{ConnectionRecord, Lease, PostgresStore, QueueItem, Store, StoreTxn};
use twinsync::testkit::rig::LocalRig;
use twinsync::testkit::{User, block_on, ids as lit};
use twinsync::{MemoryTracker, Result};

/// The server's URL.
fn server() -> String {
    std::env::var("TWINSYNC_TEST_POSTGRES").unwrap_or_else(|_| {
        panic!(
            "these tests need a PostgreSQL server: run `bash .ci/test` (it installs and starts \
             a throwaway one), or set TWINSYNC_TEST_POSTGRES to a superuser's URL, such as \
             postgres://postgres:PASSWORD@127.0.0.1:5432/postgres"
        )
    })
}

/// A schema name no other test of this run uses.
fn fresh_schema() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "t{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A plain client on the server, for what the store does not do (dropping
/// schemas, changing them behind its back).
fn sql(statements: &str) {
    let url = server();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .expect("connect to the test server");
        tokio::spawn(connection);
        client
            .batch_execute(statements)
            .await
            .unwrap_or_else(|e| panic!("{statements}: {e}"));
    });
}

/// A store on a schema of its own, dropped with it.
struct Fresh {
    store: Option<PostgresStore>,
    schema: String,
}

impl Fresh {
    fn new() -> Fresh {
        let schema = fresh_schema();
        Fresh {
            store: Some(open(&schema).expect("connect")),
            schema,
        }
    }

    fn store(&self) -> &PostgresStore {
        self.store.as_ref().expect("open until dropped")
    }
}

impl std::fmt::Debug for Fresh {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.store().fmt(f)
    }
}

impl Store for Fresh {
    fn begin(&self) -> Result<Box<dyn StoreTxn + '_>> {
        self.store().begin()
    }

    fn take_lease(
        &self,
        name: &str,
        holder: &str,
        now: time::OffsetDateTime,
        until: time::OffsetDateTime,
    ) -> Result<Option<Lease>> {
        self.store().take_lease(name, holder, now, until)
    }

    fn release_lease(&self, name: &str, holder: &str, epoch: u64) -> Result<()> {
        self.store().release_lease(name, holder, epoch)
    }
}

impl Drop for Fresh {
    fn drop(&mut self) {
        drop(self.store.take());
        sql(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema));
    }
}

fn open(schema: &str) -> Result<PostgresStore> {
    PostgresStore::builder(server()).schema(schema).connect()
}

mod conformance {
    twinsync::store_conformance!(super::Fresh::new);
}

/// A worker's take of a twin's lease never waits: while another
/// transaction holds the lease's row it is busy, answered at once; and it
/// does not wait for the turn of the store's other transactions either.
#[test]
fn a_lease_another_transaction_holds_is_busy_at_once_and_leases_skip_the_turn() {
    let fresh = Fresh::new();
    let store = fresh.store();
    let t0 = datetime!(2026-01-01 0:00 UTC);
    let lapsed = t0 + time::Duration::seconds(60);
    let later = lapsed + time::Duration::seconds(30);
    let first = store
        .take_lease("twin/c/9", "a#1", t0, t0 + time::Duration::seconds(30))
        .expect("take")
        .expect("free");

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let client = runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(&server(), tokio_postgres::NoTls)
            .await
            .expect("connect to the test server");
        tokio::spawn(connection);
        client
    });
    let run = |sql: &str| {
        runtime
            .block_on(client.batch_execute(sql))
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    };
    run(&format!(
        "BEGIN; SELECT * FROM {}.leases WHERE name = 'twin/c/9' FOR UPDATE",
        fresh.schema
    ));
    let started = std::time::Instant::now();
    let busy = store
        .take_lease("twin/c/9", "b#1", lapsed, later)
        .expect("a busy lease is an answer, not an error");
    assert_eq!(busy, None, "a lease whose row is locked is busy");
    let waited = started.elapsed();
    assert!(
        waited < Duration::from_secs(2),
        "the take waited {waited:?} for the row"
    );
    let other = store
        .take_lease("twin/c/10", "b#1", lapsed, later)
        .expect("take")
        .expect("another twin's lease is free meanwhile");
    run("COMMIT");
    let over = store
        .take_lease("twin/c/9", "b#1", lapsed, later)
        .expect("take")
        .expect("free once the other transaction ended, and lapsed");
    assert!(over.epoch > other.epoch && other.epoch > first.epoch);

    // A store transaction holds the store's turn; leases do not wait for it.
    let mut txn = store.begin().expect("begin");
    txn.put_hold("tracker/x", t0).expect("hold");
    std::thread::scope(|s| {
        s.spawn(|| {
            let taken = store
                .take_lease("poll/c", "b#1", lapsed, later)
                .expect("take beside an open transaction");
            assert!(taken.is_some(), "a free lease is taken beside it");
            store
                .release_lease("poll/c", "b#1", taken.map_or(0, |l| l.epoch))
                .expect("release beside an open transaction");
        })
        .join()
        .expect("the lease thread");
    });
    txn.commit().expect("commit");
}

/// The tracker the nodes sync (projects SUP and DEV), and Alice's handle on it.
fn tracker_and_alice(clock: &Arc<ManualClock>) -> (MemoryTracker, MemoryTracker) {
    let tracker = MemoryTracker::with_clock("https://pg.example", clock.clone()).expect("url");
    twinsync::testkit::setup_memory_tracker(&tracker);
    let alice = tracker.as_user(twinsync::model::UserRef::new(
        lit::user_id("alice"),
        "Alice",
    ));
    (tracker, alice)
}

fn conn(name: &str) -> ConnectionId {
    ConnectionId::parse(name).expect("a valid id")
}

fn record(c: &ConnectionId) -> ConnectionRecord {
    ConnectionRecord {
        id: c.clone(),
        name: format!("{c} name"),
        config: "{}".to_owned(),
    }
}

#[test]
fn committed_state_survives_reconnecting_and_sequence_numbers_go_on() {
    let fresh = Fresh::new();
    let c = conn("c1");
    let at = datetime!(2026-03-01 10:00:00.123456789 +02:00);
    let item = |issue: &str| QueueItem {
        seq: 0,
        connection: c.clone(),
        project: lit::project("SUP"),
        issue: lit::issue_id(issue),
        queued: at,
    };
    {
        let mut txn = fresh.begin().expect("begin");
        txn.put_connection(&record(&c)).expect("put");
        assert_eq!(txn.enqueue(&item("1")).expect("enqueue"), 1);
        txn.commit().expect("commit");
    }
    // A new store on the same schema: the first one lets go of it.
    let mut fresh = fresh;
    drop(fresh.store.take());
    fresh.store = Some(open(&fresh.schema).expect("reconnect"));
    let mut txn = fresh.begin().expect("begin");
    assert_eq!(txn.connection(&c).expect("read"), Some(record(&c)));
    let queue = txn.queue(&c, 10).expect("queue");
    assert_eq!(queue.len(), 1);
    assert_eq!(queue[0].queued.offset(), at.offset(), "the offset is kept");
    assert_eq!(txn.enqueue(&item("2")).expect("enqueue"), 2);
}

#[test]
fn a_second_node_on_the_same_schema_is_refused_and_another_schema_is_not() {
    let fresh = Fresh::new();
    let err = open(&fresh.schema).expect_err("the schema is held");
    assert_eq!(err.kind(), ErrorKind::Storage);
    let text = err.to_string();
    assert!(
        text.contains("is in use by another twinsync node") && text.contains("server process"),
        "{text}"
    );
    assert!(text.contains(&fresh.schema), "names the schema: {text}");
    let other = Fresh::new();
    other
        .begin()
        .expect("a schema of its own")
        .commit()
        .expect("commit");
}

#[test]
fn a_schema_of_a_newer_twinsync_is_refused_naming_the_versions() {
    let fresh = Fresh::new();
    let schema = fresh.schema.clone();
    let mut fresh = fresh;
    drop(fresh.store.take());
    sql(&format!("UPDATE {schema}.schema_version SET version = 99"));
    let err = open(&schema).expect_err("newer");
    assert_eq!(err.kind(), ErrorKind::Storage);
    let text = err.to_string();
    assert!(
        text.contains("schema version 99")
            && text.contains(&format!("version {}", PostgresStore::SCHEMA_VERSION)),
        "{text}"
    );
    assert!(
        text.contains("on 127.0.0.1:") || text.contains("on localhost:"),
        "{text}"
    );
}

#[test]
fn a_schema_holding_tables_of_another_program_is_refused_and_left_alone() {
    let schema = fresh_schema();
    sql(&format!(
        "CREATE SCHEMA {schema}; CREATE TABLE {schema}.invoices (id INT); \
         INSERT INTO {schema}.invoices VALUES (7)"
    ));
    let err = open(&schema).expect_err("foreign");
    let text = err.to_string();
    assert!(
        text.contains("holds tables of another program (invoices)"),
        "{text}"
    );
    // Left alone: the row is there, no table of twinsync was added.
    sql(&format!(
        "DO $$ BEGIN \
           IF (SELECT count(*) FROM {schema}.invoices) <> 1 THEN RAISE 'changed'; END IF; \
           IF EXISTS (SELECT 1 FROM information_schema.tables \
                      WHERE table_schema = '{schema}' AND table_name <> 'invoices') \
           THEN RAISE 'tables added'; END IF; \
         END $$; DROP SCHEMA {schema} CASCADE"
    ));
}

#[test]
fn a_wrong_password_names_host_and_database_and_not_the_password() {
    let url = url::Url::parse(&server()).expect("a URL");
    let mut wrong = url.clone();
    wrong
        .set_password(Some("not-the-password-4f9a"))
        .expect("set");
    let err = PostgresStore::connect(wrong.as_str()).expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::Storage);
    let text = format!("{err} {err:?}");
    assert!(text.contains("password"), "{text}");
    assert!(
        text.contains(&format!(
            "postgres on {}:{}",
            url.host_str().expect("host"),
            url.port().expect("port")
        )),
        "{text}"
    );
    assert!(!text.contains("not-the-password-4f9a"), "{text}");
    if let Some(real) = url.password() {
        assert!(!text.contains(real), "{text}");
    }
}

#[test]
fn a_server_that_does_not_answer_is_named_and_temporary() {
    // A port nothing listens on: bind one, note it, close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let err = PostgresStore::connect(&format!(
        "postgres://u:pw@127.0.0.1:{port}/sync?connect_timeout=5"
    ))
    .expect_err("no server");
    assert_eq!(err.kind(), ErrorKind::Storage);
    assert!(err.is_temporary());
    assert!(
        err.to_string()
            .contains(&format!("sync on 127.0.0.1:{port}")),
        "{err}"
    );
}

#[test]
fn tls_verifies_the_server_against_the_given_root() {
    let (Ok(tls), Ok(ca)) = (
        std::env::var("TWINSYNC_TEST_POSTGRES_TLS"),
        std::env::var("TWINSYNC_TEST_POSTGRES_CA"),
    ) else {
        panic!(
            "this test needs TWINSYNC_TEST_POSTGRES_TLS and TWINSYNC_TEST_POSTGRES_CA: \
             run `bash .ci/test`, which starts a server with TLS and sets them"
        );
    };
    let schema = fresh_schema();
    let store = PostgresStore::builder(&tls)
        .schema(&schema)
        .connect()
        .expect("TLS with the test CA");
    store.begin().expect("begin").commit().expect("commit");
    drop(store);
    sql(&format!("DROP SCHEMA {schema} CASCADE"));

    // The same server without its CA: refused, with the reason.
    let untrusted = tls.replace(&format!("&sslrootcert={ca}"), "");
    assert_ne!(untrusted, tls);
    let err = PostgresStore::connect(&untrusted).expect_err("unknown issuer");
    let text = format!("{err:#}");
    assert!(
        text.to_lowercase().contains("certificate") || text.contains("UnknownIssuer"),
        "{text}"
    );
}

#[test]
fn the_store_works_inside_an_async_runtime_and_can_be_dropped_there() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let schema = fresh_schema();
    runtime.block_on(async {
        let store = open(&schema).expect("connect inside a runtime");
        let c = conn("c1");
        let mut txn = store.begin().expect("begin");
        txn.put_connection(&record(&c)).expect("put");
        txn.commit().expect("commit");
        tokio::time::sleep(Duration::from_millis(1)).await;
        assert_eq!(
            store.begin().expect("begin").connection(&c).expect("read"),
            Some(record(&c))
        );
        drop(store);
    });
    sql(&format!("DROP SCHEMA {schema} CASCADE"));
}

#[test]
fn a_twin_the_engine_refuses_leaves_the_transaction_usable() {
    let fresh = Fresh::new();
    let c = conn("c1");
    let twin = |remote: &str, local: &str| {
        let mut t = TwinState::new(
            c.clone(),
            twinsync::model::IssueRef::new(lit::issue_id(remote), lit::key("SUP-1")),
        );
        t.local = Some(twinsync::model::IssueRef::new(
            lit::issue_id(local),
            lit::key("DEV-1"),
        ));
        t
    };
    let mut txn = fresh.begin().expect("begin");
    txn.put_twin(&twin("1", "10")).expect("first");
    let err = txn.put_twin(&twin("2", "10")).expect_err("I4");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    txn.put_connection(&record(&c))
        .expect("the transaction goes on");
    txn.commit().expect("commit");
    assert_eq!(
        fresh.begin().expect("begin").twin_count(&c).expect("count"),
        1
    );
}

#[test]
fn a_node_syncs_issues_and_comments_on_postgresql_and_carries_on_after_a_restart() {
    let fresh = Arc::new(Fresh::new());
    let clock = Arc::new(ManualClock::default());
    let (tracker, human) = tracker_and_alice(&clock);
    let node = LocalRig::start(&tracker, &clock, fresh.clone());
    let connection = block_on(node.admin(&lit::user_id("ada")).create_local_connection(
        "SUP",
        "DEV",
        LocalConnectionOptions::default(),
    ))
    .expect("connection");
    let user = User(&human);
    let sup = user.create("SUP", "Bug", "Printer on fire").key;
    user.comment(&sup, "first");
    block_on(node.exalate(&connection.id, &sup)).expect("exalate");
    let sync = |node: &twinsync::engine::Node| {
        clock.advance(Duration::from_secs(61));
        block_on(node.sync(&connection.id)).expect("cycle");
    };
    sync(&node);
    user.comment(&sup, "second");
    sync(&node);

    // A restart on the same store: the twin is known, nothing is created twice.
    drop(node);
    let node = LocalRig::start(&tracker, &clock, fresh.clone());
    user.comment(&sup, "third");
    sync(&node);
    sync(&node);
    let dev = tracker.inspect_issues(&lit::project("DEV"));
    assert_eq!(dev.len(), 1, "one twin: {dev:?}");
    let bodies: Vec<String> = dev[0]
        .comments
        .iter()
        .map(|c| c.body.to_plain_text())
        .collect();
    let said: Vec<&str> = bodies
        .iter()
        .map(|b| b.rsplit('\n').next().unwrap_or_default())
        .collect();
    assert_eq!(
        said,
        ["first", "second", "third"],
        "in order, once: {bodies:?}"
    );
    let mut txn = fresh.begin().expect("begin");
    assert_eq!(txn.twin_count(&connection.id).expect("count"), 1);
    assert!(txn.errors(&connection.id).expect("errors").is_empty());
}

fn worker_store(schema: &str) -> Result<PostgresStore> {
    PostgresStore::builder(server())
        .schema(schema)
        .workers(true)
        .connect()
}

#[test]
fn workers_share_a_schema_its_polling_and_its_twins_and_a_lone_node_is_refused_beside_them() {
    let schema = fresh_schema();
    let stores: Vec<Arc<PostgresStore>> = (0..3)
        .map(|_| Arc::new(worker_store(&schema).expect("a worker joins")))
        .collect();
    let err = open(&schema).expect_err("a node that is not a worker is refused");
    assert!(
        err.to_string().contains("in use by another twinsync node"),
        "{err}"
    );

    let clock = Arc::new(ManualClock::default());
    let (tracker, human) = tracker_and_alice(&clock);
    let workers: Vec<twinsync::engine::Node> = stores
        .iter()
        .enumerate()
        .map(|(i, store)| {
            block_on(
                twinsync::engine::Node::builder()
                    .tracker(Arc::new(tracker.clone()))
                    .store(store.clone())
                    .clock(clock.clone())
                    .options(twinsync::testkit::rig::test_options())
                    .worker(
                        twinsync::engine::Worker::new(format!("w{i}"))
                            .lease(Duration::from_secs(30)),
                    )
                    .build(),
            )
            .expect("worker node")
        })
        .collect();
    let admin = workers[0].admin(&lit::user_id("ada"));
    let connection =
        block_on(admin.create_local_connection("SUP", "DEV", LocalConnectionOptions::default()))
            .expect("connection");
    block_on(admin.add_trigger(
        &connection.id,
        twinsync::trigger::TriggerSpec::new(lit::project("SUP"), "labels = sync"),
    ))
    .expect("trigger");
    let user = User(&human);
    for i in 1..=6 {
        let key = user.create("SUP", "Bug", &format!("Broken {i}")).key;
        user.comment(&key, &format!("note {i}"));
        user.set_labels(&key, &["sync"]);
    }
    for _ in 0..3 {
        clock.advance(Duration::from_secs(5));
        let reports = block_on(futures::future::join_all(
            workers.iter().map(|w| w.sync(&connection.id)),
        ));
        for report in reports {
            report.expect("cycle");
        }
    }
    let dev = tracker.inspect_issues(&lit::project("DEV"));
    assert_eq!(dev.len(), 6, "one twin per issue");
    for issue in &dev {
        assert_eq!(
            user.said(&issue.key).len(),
            1,
            "one comment on {}",
            issue.key
        );
    }
    let mut txn = stores[1].begin().expect("begin");
    let poller = txn
        .lease(&format!("poll/{}", connection.id))
        .expect("lease")
        .expect("the polling is held");
    assert!(poller.holder.starts_with('w'), "{poller:?}");
    assert!(txn.errors(&connection.id).expect("errors").is_empty());
    assert_eq!(txn.twin_count(&connection.id).expect("count"), 6);
    drop(txn);
    drop(workers);
    drop(stores);
    sql(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
}

#[test]
fn the_two_worker_example_hands_the_polling_over_when_a_worker_is_lost() {
    // `cargo test` builds the examples beside the test binaries' directory.
    let exe = std::env::current_exe().expect("the test binary");
    let example = exe
        .parent()
        .and_then(std::path::Path::parent)
        .map(|dir| dir.join("examples").join("two_workers"))
        .expect("the target directory");
    assert!(
        example.exists(),
        "{} is missing: run the tests with `cargo test --all-features`, which builds the examples",
        example.display()
    );
    let out = std::process::Command::new(&example)
        .env("TWINSYNC_EXAMPLE_POSTGRES", server())
        .output()
        .expect("the example runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let holders: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("the polling is held by "))
        .collect();
    assert_eq!(holders.len(), 2, "{stdout}");
    assert!(
        holders[1].starts_with("w2#"),
        "w2 polls at the end: {stdout}"
    );
    assert_eq!(
        stdout.matches(": 1 comment(s)").count() + stdout.matches(": 2 comment(s)").count(),
        8,
        "four twins shown twice: {stdout}"
    );
    let last = stdout
        .lines()
        .rev()
        .find(|l| l.contains("\"Outage 1\""))
        .unwrap_or_default();
    assert!(
        last.ends_with(": 2 comment(s)"),
        "the comment made while w1 was lost travelled: {stdout}"
    );
}
