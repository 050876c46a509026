//! Two real node processes keep twins in step across SIGKILLs (issue 12,
//! item 6; invariants I1, I4, I5, I6, I8 of DESIGN.md).
//!
//! Node A syncs project SUP of one Jira emulator, node B project DEV of
//! another; both emulators live in this test's process, so the trackers
//! outlive the nodes. Each node is a process of its own (this test binary run
//! again with `TWINSYNC_TWO_PROC_WORKER` set), with its own SQLite file and
//! node key, served over loopback HTTPS (a CA and certificate made at test
//! time) at a port fixed for the run, so its node URL stays the same across
//! restarts. A initiates without a destination, B accepts the invitation
//! code, each exalates its seed issues and adds a trigger for its project.
//! Then, round after round, people edit both emulators (new issues,
//! comments, summaries) while the workers sync every ~100 ms, and the
//! harness SIGKILLs A, B or both at random moments (in the middle of a
//! request, while starting, between cycles) and restarts them on the same
//! file and port. At the end both run until quiet and the emulators' own
//! contents are checked: one twin per issue, every comment once and in order
//! on both sides, equal summaries, no edit lost; then both stores.
//!
//! The private-node variant builds B with `reachable(false)`: it does not
//! serve, it calls A and pulls what waits for it.
//!
//! CI runs 10 rounds (5 for the private variant) from seed 1;
//! `TWINSYNC_TWO_PROC_ROUNDS=N` runs N rounds (N/2 for the private variant)
//! and `TWINSYNC_TWO_PROC_SEED=S` another seed (kill moments still depend on
//! timing, so a seed replays the edits and the delays, not the instants).

mod checks;
mod harness;
mod worker;

use std::sync::Mutex;

use harness::{Harness, Variant};

/// Set in a worker's environment: its [`worker::Job`] as JSON.
const WORKER: &str = "TWINSYNC_TWO_PROC_WORKER";

/// The two variants share the machine's two cores: one at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

#[test]
fn two_nodes_killed_at_random_moments_lose_and_duplicate_nothing() {
    if let Ok(job) = std::env::var(WORKER) {
        worker::main(&job);
        return;
    }
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let rounds = env_number("TWINSYNC_TWO_PROC_ROUNDS").unwrap_or(10);
    run(
        "two_nodes_killed_at_random_moments_lose_and_duplicate_nothing",
        Variant::BothServe,
        rounds,
    );
}

#[test]
fn a_private_node_that_pulls_killed_at_random_moments_loses_nothing() {
    if let Ok(job) = std::env::var(WORKER) {
        worker::main(&job);
        return;
    }
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let rounds = env_number("TWINSYNC_TWO_PROC_ROUNDS").map_or(5, |n| (n / 2).max(1));
    run(
        "a_private_node_that_pulls_killed_at_random_moments_loses_nothing",
        Variant::PrivateB,
        rounds,
    );
}

fn run(test: &'static str, variant: Variant, rounds: u64) {
    let seed = env_number("TWINSYNC_TWO_PROC_SEED").unwrap_or(1);
    let started = std::time::Instant::now();
    let mut harness = Harness::new(test, variant, seed);
    let stats = harness.run(rounds);
    println!(
        "two_processes {variant:?} (seed {seed}): {rounds} rounds in {:.1} s; kills: {} of A, \
         {} of B ({} while the node had work, {} while it was starting; {} runs saw a request \
         broken by a kill); settled in {:.1} s; {} twins, {} comments",
        started.elapsed().as_secs_f64(),
        stats.kills[0],
        stats.kills[1],
        stats.busy_kills,
        stats.starting_kills,
        stats.broken_requests,
        stats.settle.as_secs_f64(),
        stats.twins,
        stats.comments,
    );
}

fn env_number(name: &str) -> Option<u64> {
    let text = std::env::var(name).ok()?;
    Some(
        text.trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={text:?} is not a number")),
    )
}

/// splitmix64: enough randomness for choosing moments and edits.
pub struct Rng(pub u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}
