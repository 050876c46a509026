//! The deterministic simulation of a local connection (faults, crashes,
//! store losses; see `tests/simulation.rs`) with the node's state in
//! PostgreSQL: each run starts on an empty schema of its own, and a store
//! loss moves it to another empty one.
//!
//! Needs the server of `TWINSYNC_TEST_POSTGRES` (`bash .ci/test` starts
//! one). CI runs 20 seeds; `TWINSYNC_SIM_PG_SEEDS=N` runs seeds 1 to N and
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

#[test]
fn local_connection_on_postgresql_survives_faults_crashes_and_store_loss() {
    let url = server();
    let from = env("TWINSYNC_SIM_PG_FROM").unwrap_or(1);
    let to = env("TWINSYNC_SIM_PG_SEEDS").unwrap_or(20);
    let next = Arc::new(AtomicU32::new(0));
    let (mut failures, mut twins, mut comments, mut crashes, mut wipes) = (Vec::new(), 0, 0, 0, 0);
    for seed in from..=to {
        let made = Arc::new(Mutex::new(Vec::<String>::new()));
        let fresh = {
            let (url, next, made) = (url.clone(), next.clone(), made.clone());
            move || -> Arc<dyn Store> {
                let schema = format!(
                    "sim_{}_{}",
                    std::process::id(),
                    next.fetch_add(1, Ordering::Relaxed)
                );
                let store = PostgresStore::builder(url.as_str())
                    .schema(&schema)
                    .connect()
                    .unwrap_or_else(|e| panic!("a store on a new schema: {e}"));
                made.lock().expect("schemas").push(schema);
                Arc::new(store)
            }
        };
        match run_local_on(SimConfig::new(seed), fresh) {
            Ok(r) => {
                twins += r.twins;
                comments += r.comments;
                crashes += r.crashes;
                wipes += r.wipes;
            }
            Err(e) => failures.push(format!("seed {seed}: {e}")),
        }
        drop_schemas(&made.lock().expect("schemas"));
    }
    println!(
        "simulated on PostgreSQL, seeds {from} to {to}: {twins} twins, {comments} comments, \
         {crashes} crashes, {wipes} store losses"
    );
    assert!(
        failures.is_empty(),
        "{} failing seed(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(twins > 0 && crashes > 0, "the runs synced and crashed");
}
