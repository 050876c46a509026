//! What a simulation run does ([`SimConfig`]) and what a successful one did
//! ([`SimReport`]).

use std::time::Duration;

/// What one simulation run does.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// The seed everything follows.
    pub seed: u64,
    /// User actions and syncs before healing.
    pub steps: usize,
    /// Chance that a tracker call of the node fails.
    pub fault_rate: f64,
    /// Chance per step of a crash during the next sync.
    pub crash_rate: f64,
    /// Chance per step that the store is lost.
    pub wipe_rate: f64,
    /// How far searches lag behind writes.
    pub search_lag: Duration,
    /// Worker nodes sharing the store (1: one node, not in worker mode).
    /// With several, each sync step and each crash picks one at random; a
    /// crashed worker restarts at once, and the twins and polling it held
    /// pass to the others when its leases lapse. Now and then a worker
    /// stalls in the middle of a cycle, before one of its tracker calls,
    /// while the others work and the clock runs on (often past its lease),
    /// and then carries on.
    pub workers: usize,
    /// Rules beyond Basic: Severity mapped to Priority, statuses along a
    /// six-status workflow whose last transition needs a resolution,
    /// parents brought under sync, links mirrored; users also edit those
    /// (one node only: `workers` must be 1). Off, runs are as they were, and
    /// a seed replays the same run.
    pub beyond_basic: bool,
    /// With `beyond_basic`, users also add and delete links between issues
    /// (and the check compares the links between synced issues).
    pub links: bool,
}

impl SimConfig {
    /// The defaults for a seed: 60 steps, 5% faults, 8% crashes, 1% store loss, 5 s lag.
    pub fn new(seed: u64) -> Self {
        SimConfig {
            seed,
            steps: 60,
            fault_rate: 0.05,
            crash_rate: 0.08,
            wipe_rate: 0.01,
            search_lag: Duration::from_secs(5),
            workers: 1,
            beyond_basic: false,
            links: false,
        }
    }
}

/// What a successful run did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SimReport {
    /// Twins at the end.
    pub twins: usize,
    /// Comments at the end (both sides).
    pub comments: usize,
    /// Crashes.
    pub crashes: usize,
    /// Store losses.
    pub wipes: usize,
    /// Stretches of steps in which one node of a remote run was cut off
    /// from the network (it could neither call nor be called).
    pub outages: usize,
    /// Sync cycles needed to converge after healing.
    pub heal_cycles: usize,
    /// Workers stalled in a cycle for longer than their lease.
    pub stalls: usize,
}
