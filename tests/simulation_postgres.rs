//! The deterministic simulation of a local connection (faults, crashes,
//! store losses; see `tests/simulation.rs`) with the node's state in
//! PostgreSQL: each run starts on an empty schema of its own, and a store
//! loss moves it to another empty one.
//!
//! Needs the server of `TWINSYNC_TEST_POSTGRES` (`bash .ci/test` starts
//! one). CI runs 20 seeds of one node and 10 of three workers on one
//! schema; `TWINSYNC_SIM_PG_SEEDS=N` runs seeds 1 to N and
//! `TWINSYNC_SIM_PG_FROM=M` starts at M.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use twinsync::store::{PostgresStore, Store};
use twinsync::testkit::sim::{SimConfig, run_local_on};

fn env(name: &str) -> Option<u64> {
    let text = std::env::var(name).ok()?;
    Some(
        text.trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={text:?} is not a number")),
    )
}

fn server() -> String {
    std::env::var("TWINSYNC_TEST_POSTGRES").unwrap_or_else(|_| {
        panic!(
            "this test needs a PostgreSQL server: run `bash .ci/test` (it starts a throwaway \
             one), or set TWINSYNC_TEST_POSTGRES to a superuser's URL"
        )
    })
}

/// Drops schemas with a plain client.
fn drop_schemas(schemas: &[String]) {
    if schemas.is_empty() {
        return;
    }
    let sql: String = schemas
        .iter()
        .map(|s| format!("DROP SCHEMA IF EXISTS {s} CASCADE;"))
        .collect();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(&server(), tokio_postgres::NoTls)
            .await
            .expect("connect to the test server");
        tokio::spawn(connection);
        client.batch_execute(&sql).await.expect("drop schemas");
    });
}

/// The number of the next schema: unique in the process, whose tests run at
/// once.
static NEXT_SCHEMA: AtomicU32 = AtomicU32::new(0);

/// Totals of a run of seeds.
#[derive(Default)]
struct Totals {
    twins: usize,
    comments: usize,
    crashes: usize,
    wipes: usize,
    stalls: usize,
}

/// Runs `config_of(seed)` for the seeds of `TWINSYNC_SIM_PG_FROM` to
/// `TWINSYNC_SIM_PG_SEEDS` (or 1 to `default_seeds`), each on new schemas
/// dropped after it; fails naming every failing seed.
fn run_seeds(what: &str, default_seeds: u64, config_of: impl Fn(u64) -> SimConfig) -> Totals {
    let url = server();
    let from = env("TWINSYNC_SIM_PG_FROM").unwrap_or(1);
    let to = env("TWINSYNC_SIM_PG_SEEDS").unwrap_or(default_seeds);
    let mut failures = Vec::new();
    let mut totals = Totals::default();
    for seed in from..=to {
        let config = config_of(seed);
        let workers = config.workers > 1;
        let made = Arc::new(Mutex::new(Vec::<String>::new()));
        let fresh = {
            let (url, made) = (url.clone(), made.clone());
            move || -> Arc<dyn Store> {
                let schema = format!(
                    "sim_{}_{}",
                    std::process::id(),
                    NEXT_SCHEMA.fetch_add(1, Ordering::Relaxed)
                );
                let store = PostgresStore::builder(url.as_str())
                    .schema(&schema)
                    .workers(workers)
                    .connect()
                    .unwrap_or_else(|e| panic!("a store on a new schema: {e}"));
                made.lock().expect("schemas").push(schema);
                Arc::new(store)
            }
        };
        match run_local_on(config, fresh) {
            Ok(r) => {
                totals.twins += r.twins;
                totals.comments += r.comments;
                totals.crashes += r.crashes;
                totals.wipes += r.wipes;
                totals.stalls += r.stalls;
            }
            Err(e) => failures.push(format!("seed {seed}: {e}")),
        }
        drop_schemas(&made.lock().expect("schemas"));
    }
    println!(
        "{what} on PostgreSQL, seeds {from} to {to}: {} twins, {} comments, {} crashes, \
         {} store losses, {} stalls past a lease",
        totals.twins, totals.comments, totals.crashes, totals.wipes, totals.stalls
    );
    assert!(
        failures.is_empty(),
        "{} failing seed(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
    totals
}

#[test]
fn local_connection_on_postgresql_survives_faults_crashes_and_store_loss() {
    let totals = run_seeds("simulated", 20, SimConfig::new);
    assert!(
        totals.twins > 0 && totals.crashes > 0,
        "the runs synced and crashed"
    );
}

/// Three workers on one schema, crashing and stalling past their leases:
/// their leases and fences on PostgreSQL (the takes outside the store's
/// turns) keep one twin per issue and every comment once.
#[test]
fn three_workers_on_one_postgresql_schema_survive_faults_crashes_stalls_and_store_loss() {
    let totals = run_seeds("simulated with three workers", 10, |seed| SimConfig {
        workers: 3,
        ..SimConfig::new(seed)
    });
    assert!(
        totals.twins > 0 && totals.crashes > 0 && totals.stalls > 0,
        "the runs synced, crashed workers and stalled them past their leases"
    );
}
