//! The remote simulation's end: healing every fault, then checking that
//! each pair of twins agrees.

use super::*;

impl RemoteSim {
    pub(super) fn heal(&mut self) -> Result<(), String> {
        if !self.violations.is_empty() {
            return Err(self.violations.join("\n"));
        }
        self.network.set_faults(None);
        for i in 0..2 {
            if self.sides[i].down_for > 0 {
                self.reconnect(i);
            }
        }
        for i in 0..2 {
            self.sides[i].engine.random_faults(None);
            self.sides[i].engine.clear_faults();
            self.restart(i);
            let ada = lit::user_id("ada");
            let _ = block_on(self.sides[i].node.admin(&ada).activate(&self.conn));
        }
        block_on(self.network.deliver_held());
        let wait = Duration::from_secs(5) + options().settle + Duration::from_secs(1);
        for round in 1..=12 {
            self.clock.advance(wait);
            for i in 0..2 {
                for id in self.sides[i].exalated.clone() {
                    if let Ok(issue) = block_on(self.sides[i].human.issue(&id)) {
                        let _ = block_on(self.sides[i].node.exalate(&self.conn, &issue.key));
                    }
                }
            }
            self.clock.advance(wait);
            for s in &self.sides {
                s.engine.reset_calls();
            }
            let mut quiet = true;
            let mut reported = 0;
            for i in [0, 1, 0, 1] {
                let s = &self.sides[i];
                let report = block_on(s.node.sync(&self.conn))
                    .map_err(|e| format!("sync after healing: {e}"))?;
                quiet &= report.writes == 0 && report.failed == 0;
                reported += report.writes;
                if std::env::var_os("TWINSYNC_SIM_TRACE").is_some() {
                    eprintln!(
                        "HEAL round {round} node {i}: {report:?}; calls {} / {}",
                        self.sides[0].engine.calls(),
                        self.sides[1].engine.calls()
                    );
                    eprintln!(
                        "{}",
                        s.node
                            .status(&self.conn)
                            .map(|p| format!("{p}"))
                            .unwrap_or_default()
                    );
                }
                self.clock.advance(Duration::from_secs(1));
            }
            let made: u64 = self.sides.iter().map(|s| s.engine.calls().writes()).sum();
            if reported as u64 != made {
                return Err(format!(
                    "the cycles after healing reported {reported} writes, the trackers saw {made}"
                ));
            }
            for s in &self.sides {
                let panel = s.node.status(&self.conn).map_err(|e| e.to_string())?;
                // Nothing waits for the other node, which answers.
                let settled = panel
                    .peer
                    .as_ref()
                    .is_some_and(|p| p.waiting == 0 && p.unreachable_since.is_none());
                quiet &= s.engine.calls().writes() == 0
                    && panel.errors.is_empty()
                    && panel.queued == 0
                    && settled;
            }
            if quiet && self.network.held() == 0 {
                self.report.heal_cycles = round;
                return Ok(());
            }
        }
        let panels: Vec<String> = self
            .sides
            .iter()
            .map(|s| {
                s.node
                    .status(&self.conn)
                    .map(|p| p.to_string())
                    .unwrap_or_else(|e| e.to_string())
            })
            .collect();
        Err(format!(
            "no quiet cycle within 12 rounds after healing:\n{}\n{}",
            panels[0], panels[1]
        ))
    }

    pub(super) fn check(&mut self) -> Result<(), String> {
        let conn = self.conn.clone();
        let issues: [Vec<Issue>; 2] = [0, 1].map(|i| {
            let s = &self.sides[i];
            s.human.inspect_issues(&lit::project(s.project))
        });
        let mut twins = 0;
        for from in 0..2 {
            let to = 1 - from;
            let by_id: BTreeMap<&IssueId, &Issue> =
                issues[from].iter().map(|i| (&i.id, i)).collect();
            // Copies on the other side, by the issue they copy.
            let mut mirrors: BTreeMap<IssueId, Vec<&Issue>> = BTreeMap::new();
            for issue in &issues[to] {
                if let Some(m) = Marker::find(&issue.properties, &conn) {
                    mirrors.entry(m.origin_issue).or_default().push(issue);
                }
            }
            let exalated = &self.sides[from].exalated;
            for (origin, copies) in &mirrors {
                if copies.len() != 1 {
                    let keys: Vec<_> = copies.iter().map(|c| c.key.to_string()).collect();
                    return Err(format!(
                        "I4: issue {origin} has {} twins: {keys:?}",
                        copies.len()
                    ));
                }
                if !exalated.contains(origin) {
                    return Err(format!(
                        "I4: {} copies {origin}, which was never exalated",
                        copies[0].key
                    ));
                }
            }
            for origin in exalated {
                let Some(copies) = mirrors.get(origin) else {
                    return Err(format!("I1: exalated issue {origin} has no twin"));
                };
                let (a, b) = (by_id[origin], copies[0]);
                self.check_pair(from, a, to, b)?;
                twins += 1;
            }
        }
        self.report.twins = twins;
        self.report.comments = issues.iter().flatten().map(|i| i.comments.len()).sum();
        // I2/I3: converged pairs sync with no writes.
        for s in &self.sides {
            s.engine.reset_calls();
        }
        for i in [0, 1, 0, 1] {
            self.clock.advance(Duration::from_secs(10));
            let report = block_on(self.sides[i].node.sync(&conn)).map_err(|e| e.to_string())?;
            if report.writes != 0 {
                return Err(format!(
                    "I2: a quiet cycle of node {i} reports {} writes ({} on the other node)",
                    report.writes, report.peer_writes
                ));
            }
        }
        for s in &self.sides {
            let calls = s.engine.calls();
            if calls.writes() != 0 {
                return Err(format!("I2: a cycle on converged twins wrote: {calls}"));
            }
        }
        Ok(())
    }

    fn check_pair(&self, sa: usize, a: &Issue, sb: usize, b: &Issue) -> Result<(), String> {
        let written = |side: usize, on: &IssueId| -> Vec<&str> {
            self.written
                .iter()
                .filter(|(s, at, _)| *s == side && at == on)
                .map(|(_, _, id)| id.as_str())
                .collect()
        };
        crate::testkit::sim::check_pair(
            &self.conn,
            a,
            b,
            [&written(sa, &a.id), &written(sb, &b.id)],
            &self.deleted,
            &self.headless,
        )?;
        crate::testkit::sim::check_origin(
            &self.conn,
            a,
            b,
            &self.sides[sa].engine.inspect_remote_links(&a.id),
            &self.sides[sb].engine.inspect_remote_links(&b.id),
        )
    }
}
