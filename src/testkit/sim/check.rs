//! The end of a run: faults heal, the node syncs until quiet, and the
//! invariants of DESIGN.md are checked against the tracker's own contents.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::model::{Issue, IssueId};
use crate::replica::Marker;
use crate::testkit::ids as lit;
use crate::tracker::Tracker;

use super::super::block_on;
use super::{PROJECTS, Sim, identity, invariants};
use crate::testkit::said::said;

impl Sim {
    pub(super) fn heal(&mut self) -> Result<(), String> {
        self.go_on();
        self.backend.heal();
        self.restart();
        self.restart_others();
        let _ = self
            .backend
            .run(self.node.admin(&self.admin).activate(&self.conn));
        let wait = self.config.search_lag + self.options.settle + Duration::from_secs(1);
        for round in 1..=12 {
            self.clock.advance(wait);
            for id in self.exalated.clone() {
                if let Ok(issue) = block_on(self.human.issue(&id)) {
                    let _ = self.backend.run(self.node.exalate(&self.conn, &issue.key));
                }
            }
            self.clock.advance(wait);
            self.backend.reset_calls();
            let report = self
                .backend
                .run(self.node.sync(&self.conn))
                .map_err(|e| format!("sync after healing: {e}"))?;
            let panel = self.node.status(&self.conn).map_err(|e| e.to_string())?;
            if report.writes == 0
                && self.backend.writes().0 == 0
                && panel.errors.is_empty()
                && panel.queued == 0
            {
                self.report.heal_cycles = round;
                return Ok(());
            }
        }
        let panel = self.node.status(&self.conn).map_err(|e| e.to_string())?;
        Err(format!(
            "no quiet cycle within 12 rounds after healing:\n{panel}"
        ))
    }

    pub(super) fn check(&mut self) -> Result<(), String> {
        let conn = self.conn.clone();
        let issues: Vec<Issue> = PROJECTS
            .iter()
            .flat_map(|p| self.human.inspect_issues(&lit::project(*p)))
            .collect();
        let issues = self.backend.shown(issues)?;
        let by_id: BTreeMap<&IssueId, &Issue> = issues.iter().map(|i| (&i.id, i)).collect();
        // I4: each exalated issue has exactly one twin; nothing else was created.
        let mut mirrors: BTreeMap<IssueId, Vec<&Issue>> = BTreeMap::new();
        for issue in &issues {
            if let Some(m) = Marker::find(&issue.properties, &conn) {
                mirrors.entry(m.origin_issue).or_default().push(issue);
            }
        }
        // Beyond Basic, parents come along with their children.
        let origins: std::collections::BTreeSet<IssueId> = mirrors.keys().cloned().collect();
        let synced: std::collections::BTreeSet<IssueId> = self
            .exalated
            .iter()
            .cloned()
            .chain(self.brought(&origins))
            .collect();
        for (origin, copies) in &mirrors {
            if copies.len() != 1 {
                let keys: Vec<_> = copies.iter().map(|c| c.key.to_string()).collect();
                return Err(format!(
                    "I4: issue {origin} has {} twins: {keys:?}",
                    copies.len()
                ));
            }
            if !synced.contains(origin) {
                return Err(format!(
                    "I4: {} copies {origin}, which was never exalated",
                    copies[0].key
                ));
            }
        }
        self.check_merged(&issues, &by_id)?;
        let mut twin_of = BTreeMap::new();
        for (origin, copies) in &mirrors {
            twin_of.insert(origin.clone(), copies[0].id.clone());
            twin_of.insert(copies[0].id.clone(), origin.clone());
        }
        for origin in &synced {
            let Some(copies) = mirrors.get(origin) else {
                return Err(format!("I1: exalated issue {origin} has no twin"));
            };
            let (a, b) = (by_id[origin], copies[0]);
            let written = |on: &IssueId| -> Vec<&str> {
                self.written
                    .iter()
                    .filter(|(at, _)| at == on)
                    .map(|(_, id)| id.as_str())
                    .collect()
            };
            invariants::check_pair(
                &conn,
                a,
                b,
                [&written(&a.id), &written(&b.id)],
                &self.deleted,
                &self.headless,
            )?;
            if self.config.beyond_basic {
                super::beyond::check_pair(a, b, &twin_of, self.config.links)?;
            }
            invariants::check_origin(
                &conn,
                a,
                b,
                &self.human.inspect_remote_links(&a.id),
                &self.human.inspect_remote_links(&b.id),
            )?;
        }
        self.report.twins = mirrors.len();
        self.report.comments = issues.iter().map(|i| i.comments.len()).sum();
        // I2/I3: a converged pair syncs with no writes.
        self.backend.reset_calls();
        self.clock.advance(Duration::from_secs(10));
        self.backend
            .run(self.node.sync(&conn))
            .map_err(|e| e.to_string())?;
        let (writes, calls) = self.backend.writes();
        if writes != 0 {
            return Err(format!("I2: a cycle on converged twins wrote: {calls}"));
        }
        Ok(())
    }

    /// I7 for second copies: a comment people wrote on an issue that is
    /// gone (the sim deletes no issues: only a merge of a second copy does)
    /// is on the twin's issue, under the line naming where it was written,
    /// unless a user deleted it (there, or after the move).
    fn check_merged(
        &self,
        issues: &[Issue],
        by_id: &BTreeMap<&IssueId, &Issue>,
    ) -> Result<(), String> {
        for (on, id) in &self.written {
            if by_id.contains_key(on) || self.deleted.contains(id) {
                continue;
            }
            let tail = format!("\n{id}");
            let is = |ident: &str| ident == id || ident.ends_with(&tail);
            let kept = issues
                .iter()
                .flat_map(|i| &i.comments)
                .any(|c| is(&identity(&said(c))));
            if !kept && !self.deleted.iter().any(|d| is(d)) {
                return Err(format!(
                    "I7: comment {id} written on {on}, a second copy since merged and deleted, was lost"
                ));
            }
        }
        Ok(())
    }
}
