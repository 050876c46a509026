//! One step of the remote simulation, drawn at random: a user's create,
//! exalate, edit, comment or attachment change, a sync, a crash, a lost store.

use super::*;

impl RemoteSim {
    pub(super) fn step(&mut self) {
        let i = self.rng.below(2);
        let roll = self.rng.below(100);
        self.trace(&format!(
            "side {i} roll {roll} held {} crashed {}/{}",
            self.network.held(),
            self.sides[0].switch.crashed(),
            self.sides[1].switch.crashed()
        ));
        match roll {
            0..=9 => {
                let n = self.fresh();
                let t = ["Bug", "Task"][self.rng.below(2)];
                let project = self.sides[i].project;
                let new = NewIssue::new(lit::project(project), t, format!("issue {n}"));
                if let Ok(created) = block_on(self.sides[i].human.create_issue(&new)) {
                    self.sides[i].created.push(created.id.clone());
                    if self.rng.chance(0.8) {
                        self.exalate(i, &created.key, created.id);
                    }
                }
            }
            10..=14 => {
                let s = &self.sides[i];
                let candidates: Vec<IssueId> = s
                    .created
                    .iter()
                    .filter(|id| !s.exalated.contains(*id))
                    .cloned()
                    .collect();
                if !candidates.is_empty() {
                    let id = candidates[self.rng.below(candidates.len())].clone();
                    if let Ok(issue) = block_on(self.sides[i].human.issue(&id)) {
                        self.exalate(i, &issue.key, id);
                    }
                }
            }
            15..=27 => {
                if let Some(issue) = self.random_issue(i) {
                    let n = self.fresh();
                    let update = match self.rng.below(3) {
                        0 => IssueUpdate {
                            summary: Some(format!("summary {n}")),
                            ..Default::default()
                        },
                        1 => IssueUpdate {
                            description: Some(edits::description(&mut self.rng, &issue, n)),
                            ..Default::default()
                        },
                        _ => IssueUpdate {
                            issue_type: Some(["Bug", "Task"][self.rng.below(2)].into()),
                            ..Default::default()
                        },
                    };
                    let _ = block_on(self.sides[i].human.update_issue(&issue.id, &update));
                }
            }
            28..=41 => {
                if let Some(issue) = self.random_issue(i) {
                    let body = format!("c{}", self.fresh());
                    let comment = NewComment::public(body.as_str());
                    if block_on(self.sides[i].human.add_comment(&issue.id, &comment)).is_ok() {
                        self.written.push((i, issue.id, body));
                    }
                }
            }
            42..=47 => {
                if let Some(issue) = self.random_issue(i).filter(|x| !x.comments.is_empty()) {
                    let c = &issue.comments[self.rng.below(issue.comments.len())];
                    let n = self.fresh();
                    let body = crate::testkit::sim::edits::edited_body(c, n, &mut self.headless);
                    let _ = block_on(self.sides[i].human.update_comment(&issue.id, &c.id, &body));
                }
            }
            48..=51 => {
                if let Some(issue) = self.random_issue(i).filter(|x| !x.comments.is_empty()) {
                    let c = &issue.comments[self.rng.below(issue.comments.len())];
                    if block_on(self.sides[i].human.delete_comment(&issue.id, &c.id)).is_ok() {
                        self.deleted
                            .insert(identity(&crate::testkit::said::said(c)));
                    }
                }
            }
            52..=56 => {
                if let Some(issue) = self.random_issue(i) {
                    let n = self.fresh();
                    let file = NewAttachment {
                        file_name: format!("f{n}.txt"),
                        mime_type: "text/plain".into(),
                        content: format!("content {n}").into_bytes(),
                    };
                    let _ = block_on(self.sides[i].human.upload_attachment(&issue.id, &file));
                }
            }
            57..=59 => {
                if let Some(issue) = self.random_issue(i).filter(|x| !x.attachments.is_empty()) {
                    let a = &issue.attachments[self.rng.below(issue.attachments.len())];
                    let _ = block_on(self.sides[i].human.delete_attachment(&a.id));
                }
            }
            60..=79 => self.sync(i),
            80..=86 => {
                block_on(self.network.deliver_held());
            }
            _ => self
                .clock
                .advance(Duration::from_secs(1 + self.rng.below(90) as u64)),
        }
        if self.rng.chance(self.config.crash_rate) {
            // One node dies at a step of its own sync, or while it serves the other's.
            let victim = self.rng.below(2);
            let at = 1 + self.rng.below(40) as u64;
            let mode = if self.rng.chance(0.5) {
                CrashMode::Before
            } else {
                CrashMode::After
            };
            self.sides[victim].switch.crash_in(at, mode);
            let driver = if self.rng.chance(0.5) {
                victim
            } else {
                1 - victim
            };
            self.sync(driver);
            self.report.crashes += 1;
            self.restart(victim);
        }
        if self.rng.chance(self.config.wipe_rate) {
            let victim = self.rng.below(2);
            self.wipe(victim);
        }
        self.outage_step();
    }
}
