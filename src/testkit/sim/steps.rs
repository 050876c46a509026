//! One step of a run: a random user action (an issue created, exalated or
//! edited, a comment written, edited or deleted, an attachment added or
//! deleted), a sync, or time passing; then maybe a crash, a store loss, a
//! stall.

use std::time::Duration;

use crate::model::{Issue, IssueId, IssueKey, RichText};
use crate::testkit::ids as lit;
use crate::tracker::{IssueUpdate, NewAttachment, NewComment, NewIssue, Tracker};

use super::super::block_on;
use super::{PROJECTS, Sim, backend, edits, identity, trace};

impl Sim {
    fn fresh(&mut self) -> u64 {
        self.next += 1;
        self.next
    }

    fn random_issue(&mut self) -> Option<Issue> {
        let all: Vec<Issue> = PROJECTS
            .iter()
            .flat_map(|p| self.human.inspect_issues(&lit::project(*p)))
            .collect();
        if all.is_empty() {
            return None;
        }
        let i = self.rng.below(all.len());
        Some(all[i].clone())
    }

    pub(super) fn step(&mut self) {
        let roll = self.rng.below(100);
        if trace::on() {
            let state = self
                .node
                .status(&self.conn)
                .map(|p| p.to_string())
                .unwrap_or_default();
            eprintln!(
                "step roll={roll} crashed={}\n{}{state}",
                self.switch.crashed(),
                trace::describe(&self.human, &PROJECTS, &*self.store, &self.conn)
            );
        }
        match roll {
            0..=9 => {
                let project = PROJECTS[self.rng.below(2)];
                let n = self.fresh();
                let t = ["Bug", "Task"][self.rng.below(2)];
                if let Ok(created) = block_on(self.human.create_issue(&NewIssue::new(
                    lit::project(project),
                    t,
                    format!("issue {n}"),
                ))) {
                    self.human_issues.push(created.id.clone());
                    if self.rng.chance(0.8) {
                        self.exalate(&created.key, created.id);
                    }
                }
            }
            10..=14 => {
                let candidates: Vec<IssueId> = self
                    .human_issues
                    .iter()
                    .filter(|i| !self.exalated.contains(*i))
                    .cloned()
                    .collect();
                if !candidates.is_empty() {
                    let id = candidates[self.rng.below(candidates.len())].clone();
                    if let Ok(issue) = block_on(self.human.issue(&id)) {
                        self.exalate(&issue.key, id);
                    }
                }
            }
            15..=29 => {
                if let Some(issue) = self.random_issue() {
                    if self.config.beyond_basic && self.rng.chance(0.5) {
                        self.beyond_edit(&issue);
                        self.crash_now_and_then();
                        self.stall_or_go_on();
                        return;
                    }
                    let n = self.fresh();
                    let update = match self.rng.below(3) {
                        0 => IssueUpdate {
                            summary: Some(format!("summary {n}")),
                            ..Default::default()
                        },
                        1 => IssueUpdate {
                            description: Some(self.random_description(&issue, n)),
                            ..Default::default()
                        },
                        _ => IssueUpdate {
                            issue_type: Some(["Bug", "Task"][self.rng.below(2)].into()),
                            ..Default::default()
                        },
                    };
                    let _ = block_on(self.human.update_issue(&issue.id, &update));
                }
            }
            30..=44 => {
                if let Some(issue) = self.random_issue() {
                    let body = format!("c{}", self.fresh());
                    if block_on(
                        self.human
                            .add_comment(&issue.id, &NewComment::public(body.as_str())),
                    )
                    .is_ok()
                    {
                        self.written.push((issue.id, body));
                    }
                }
            }
            45..=51 => {
                if let Some(issue) = self.random_issue().filter(|i| !i.comments.is_empty()) {
                    let c = &issue.comments[self.rng.below(issue.comments.len())];
                    let n = self.fresh();
                    let body = edits::edited_body(c, n, &mut self.headless);
                    let _ = block_on(self.human.update_comment(&issue.id, &c.id, &body));
                }
            }
            52..=56 => {
                if let Some(issue) = self.random_issue().filter(|i| !i.comments.is_empty()) {
                    let c = &issue.comments[self.rng.below(issue.comments.len())];
                    if block_on(self.human.delete_comment(&issue.id, &c.id)).is_ok() {
                        self.deleted
                            .insert(identity(&crate::testkit::said::said(c)));
                    }
                }
            }
            57..=61 => {
                if let Some(issue) = self.random_issue() {
                    let n = self.fresh();
                    let file = NewAttachment {
                        file_name: format!("f{n}.txt"),
                        mime_type: "text/plain".into(),
                        content: format!("content {n}").into_bytes(),
                    };
                    let _ = block_on(self.human.upload_attachment(&issue.id, &file));
                }
            }
            62..=64 => {
                if let Some(issue) = self.random_issue().filter(|i| !i.attachments.is_empty()) {
                    let a = &issue.attachments[self.rng.below(issue.attachments.len())];
                    let _ = block_on(self.human.delete_attachment(&a.id));
                }
            }
            65..=84 => {
                let who = self.pick();
                self.sync_by(who);
            }
            _ => self
                .clock
                .advance(Duration::from_secs(1 + self.rng.below(90) as u64)),
        }
        self.crash_now_and_then();
        self.stall_or_go_on();
    }

    /// A new description (see [`edits::description`]); images only on the
    /// in-memory backend, where users write the neutral form.
    fn random_description(&mut self, issue: &Issue, n: u64) -> RichText {
        if matches!(self.backend, backend::Backend::Memory(_)) {
            edits::description(&mut self.rng, issue, n)
        } else {
            RichText::plain(format!("text {n}"))
        }
    }

    fn exalate(&mut self, key: &IssueKey, id: IssueId) {
        self.exalated.insert(id);
        self.clock.advance(Duration::from_secs(1));
        let _ = self.backend.run(self.node.exalate(&self.conn, key));
    }
}
