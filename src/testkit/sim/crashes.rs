//! Crashes and store losses: a node dies at a random point of a sync and
//! restarts from its store; a lost store is replaced by an empty one and the
//! connection made again.

use std::time::Duration;

use crate::engine::DeleteOptions;

use super::super::crash::CrashMode;
use super::{Sim, connection_options};

impl Sim {
    /// Now and then crashes a node during a sync (a random worker of a run
    /// with several) and restarts it; now and then loses the store.
    pub(super) fn crash_now_and_then(&mut self) {
        if self.rng.chance(self.config.crash_rate) {
            let at = 1 + self.rng.below(40) as u64;
            let mode = if self.rng.chance(0.5) {
                CrashMode::Before
            } else {
                CrashMode::After
            };
            let who = self.pick();
            if super::trace::on() {
                eprintln!("crash worker {} at commit {at}", who.map_or(0, |i| i + 1));
            }
            match who {
                None => self.switch.crash_in(at, mode),
                Some(i) => self.others[i].1.crash_in(at, mode),
            }
            self.sync_by(who);
            self.report.crashes += 1;
            match who {
                None => self.restart(),
                Some(i) => self.restart_other(i),
            }
        }
        if self.rng.chance(self.config.wipe_rate) {
            self.wipe();
        }
    }

    fn wipe(&mut self) {
        self.report.wipes += 1;
        self.go_on();
        self.store = (self.fresh_store)();
        self.restart();
        self.restart_others();
        // The connection is re-created after the loss is noticed, later than the search lag.
        self.clock
            .advance(self.config.search_lag + Duration::from_secs(1));
        let opts = connection_options();
        let mut attempts = 0;
        loop {
            match self
                .backend
                .run(self.node.admin(&self.admin).create_local_connection(
                    "SUP",
                    "DEV",
                    opts.clone(),
                )) {
                Ok(c) => {
                    self.conn = c.id;
                    // The rules went with the store: published again.
                    if self.config.beyond_basic {
                        self.publish_rules();
                    }
                    break;
                }
                Err(_) if attempts < 20 => {
                    // Faults are still on: a partly made connection is deleted and made again.
                    attempts += 1;
                    let _ = self.backend.run(
                        self.node
                            .admin(&self.admin)
                            .delete_connection(&self.conn, DeleteOptions::default()),
                    );
                }
                Err(e) => panic!("cannot re-create the connection: {e}"),
            }
        }
    }
}
