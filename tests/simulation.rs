//! The deterministic simulation (see `twinsync::testkit::sim`): a fixed set of
//! seeds in CI; `TWINSYNC_SIM_SEEDS=N` runs N seeds, `TWINSYNC_SIM_SEED=S`
//! replays one (`TWINSYNC_SIM_FROM=M` starts the remote run's range at M).
//! `TWINSYNC_SIM_TRACE=1` prints each step of the remote run.

use twinsync::testkit::sim::{SimConfig, run_local};
use twinsync::testkit::sim_remote::{RemoteSimConfig, run_remote};

fn seeds() -> Vec<u64> {
    if let Some(one) = std::env::var("TWINSYNC_SIM_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        return vec![one];
    }
    let n = std::env::var("TWINSYNC_SIM_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    (1..=n).collect()
}

#[test]
fn local_connection_survives_faults_crashes_and_store_loss() {
    let mut failures = Vec::new();
    let mut totals = (0, 0, 0, 0);
    for seed in seeds() {
        match run_local(SimConfig::new(seed)) {
            Ok(r) => {
                totals.0 += r.twins;
                totals.1 += r.comments;
                totals.2 += r.crashes;
                totals.3 += r.wipes;
            }
            Err(e) => failures.push(e),
        }
    }
    println!(
        "simulated: {} twins, {} comments, {} crashes, {} store losses",
        totals.0, totals.1, totals.2, totals.3
    );
    assert!(
        totals.2 > 0 && totals.3 > 0,
        "the runs crashed and lost stores"
    );
    assert!(
        failures.is_empty(),
        "{} failing seed(s); replay one with TWINSYNC_SIM_SEED=<seed>:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn remote_seeds() -> Vec<u64> {
    if let Some(one) = std::env::var("TWINSYNC_SIM_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        return vec![one];
    }
    let n = std::env::var("TWINSYNC_SIM_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    let from = std::env::var("TWINSYNC_SIM_FROM")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    (from..=n).collect()
}

#[test]
fn remote_connection_survives_network_faults_crashes_and_store_loss_of_either_node() {
    let mut failures = Vec::new();
    let mut totals = (0, 0, 0, 0);
    for seed in remote_seeds() {
        match run_remote(RemoteSimConfig::new(seed)) {
            Ok(r) => {
                totals.0 += r.twins;
                totals.1 += r.comments;
                totals.2 += r.crashes;
                totals.3 += r.wipes;
            }
            Err(e) => failures.push(e),
        }
    }
    println!(
        "simulated remotely: {} twins, {} comments, {} crashes, {} store losses",
        totals.0, totals.1, totals.2, totals.3
    );
    assert!(
        failures.is_empty(),
        "{} failing seed(s); replay one with TWINSYNC_SIM_SEED=<seed>:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        totals.0 > 0 && totals.2 > 0,
        "the runs made twins and crashed"
    );
}
