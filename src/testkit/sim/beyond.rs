//! Beyond Basic in the simulation ([`SimConfig::beyond_basic`](super::SimConfig::beyond_basic)):
//! the connection's rules map SUP's Severity to DEV's Priority, SUP's three
//! statuses to DEV's six-status workflow (whose Close needs a resolution,
//! which the rules give), bring parents under sync, mirror links and sync
//! labels as a set; users edit severities, priorities, statuses, parents (in
//! SUP, one level deep), links and labels on both sides. At the end every
//! pair must agree on them.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{
    CustomValue, FieldKind, FieldMeta, Issue, IssueId, LinkDirection, Transition, Workflow,
};
use crate::rules::{FieldSide, RuleSpec, UnsyncedParent};
use crate::testkit::ids as lit;
use crate::tracker::{IssueUpdate, MemoryTracker, NewIssueLink, Tracker};

use super::super::block_on;
use super::{PROJECTS, Sim};

const SEVERITY: &str = "customfield_10010";
const SEVERITIES: [&str; 3] = ["S1", "S2", "S3"];
const PRIORITIES: [&str; 4] = ["Highest", "High", "Medium", "Low"];
const SUP_STATUSES: [&str; 3] = ["To Do", "In Progress", "Done"];

/// SUP's value for DEV's, and DEV's for SUP's.
fn to_sup(value: &str) -> Option<&'static str> {
    Some(match value {
        "Highest" => "S1",
        "High" => "S2",
        "Medium" | "Low" => "S3",
        "Backlog" | "Selected" => "To Do",
        "In Progress" | "In Review" | "QA" => "In Progress",
        "Done" => "Done",
        _ => return None,
    })
}

fn to_dev(value: &str) -> Option<&'static str> {
    Some(match value {
        "S1" => "Highest",
        "S2" => "High",
        "S3" => "Medium",
        "To Do" => "Backlog",
        "In Progress" => "In Progress",
        "Done" => "Done",
        _ => return None,
    })
}

/// The rules every run of this variant publishes.
pub(super) fn spec() -> RuleSpec {
    let mut spec = RuleSpec::default()
        .with_parents(UnsyncedParent::Bring)
        .with_links()
        .with_labels()
        .transition_field("resolution", "Fixed")
        .with_field(
            crate::testkit::severity_rule().side(
                "SUP",
                FieldSide::new("Severity")
                    .map("Highest", "S1")
                    .map("High", "S2")
                    .map("Medium", "S3")
                    .map("Low", "S3"),
            ),
        );
    for theirs in [
        "To Do",
        "In Progress",
        "Done",
        "Backlog",
        "Selected",
        "In Review",
        "QA",
    ] {
        let ours = to_dev(theirs).or_else(|| to_sup(theirs)).unwrap_or(theirs);
        spec = spec.map_status(theirs, ours);
    }
    // "In Progress" and "Done" are both sides' names: the same either way.
    spec
}

/// Describes the projects' fields and workflows on the tracker.
pub(super) fn set_up(tracker: &MemoryTracker) {
    let describe = || -> crate::Result<()> {
        tracker.add_field(
            "SUP",
            FieldMeta::new(SEVERITY, "Severity", FieldKind::Select).options(SEVERITIES),
        )?;
        tracker.add_field(
            "DEV",
            FieldMeta::new("priority", "Priority", FieldKind::Select).options(PRIORITIES),
        )?;
        let mut sup = Workflow::new("To Do");
        for (i, status) in SUP_STATUSES.iter().enumerate() {
            sup = sup.with(Transition::new((i + 1).to_string(), *status, *status));
        }
        tracker.set_workflow("SUP", None, sup)?;
        tracker.set_workflow("DEV", None, crate::testkit::development_workflow())
    };
    describe().expect("the simulation's projects take their fields and workflows");
}

impl Sim {
    /// Makes the connection custom and publishes [`spec`] (again after a
    /// store loss), retrying while faults are on.
    pub(super) fn publish_rules(&mut self) {
        for _ in 0..50 {
            let admin = self.node.admin(&self.admin);
            let done = self.backend.run(async {
                admin.upgrade_to_custom(&self.conn).await?;
                admin.save_rule_draft(&self.conn, spec()).await?;
                admin.publish_rules(&self.conn).await
            });
            if done.is_ok() {
                return;
            }
        }
        panic!("cannot publish the simulation's rules");
    }

    /// A user's edit beyond Basic on `issue`: its severity or priority, its
    /// status, its parent (SUP) or a link.
    pub(super) fn beyond_edit(&mut self, issue: &Issue) {
        let sup = issue.project.as_str() == "SUP";
        match self.rng.below(5) {
            4 => {
                // Labels: a set both sides edit.
                let mut labels = issue.labels.clone();
                let label = ["red", "green", "blue", "grey"][self.rng.below(4)].to_owned();
                match labels.iter().position(|l| *l == label) {
                    Some(at) => {
                        labels.remove(at);
                    }
                    None => labels.push(label),
                }
                let _ = block_on(
                    self.human
                        .update_issue(&issue.id, &IssueUpdate::new().labels(labels)),
                );
            }
            0 => {
                let update = if sup {
                    let s = SEVERITIES[self.rng.below(SEVERITIES.len())];
                    IssueUpdate::new().custom(SEVERITY, Some(CustomValue::Select(s.into())))
                } else {
                    IssueUpdate::new().priority(PRIORITIES[self.rng.below(PRIORITIES.len())])
                };
                let _ = block_on(self.human.update_issue(&issue.id, &update));
            }
            1 => {
                if sup {
                    let s = SUP_STATUSES[self.rng.below(SUP_STATUSES.len())];
                    let _ = block_on(
                        self.human
                            .update_issue(&issue.id, &IssueUpdate::new().status(s)),
                    );
                } else if let Ok(offered) = block_on(self.human.transitions(&issue.id))
                    && !offered.is_empty()
                {
                    let t = &offered[self.rng.below(offered.len())];
                    let fields = t
                        .required_fields()
                        .map(|f| (f.id.clone(), CustomValue::Select("Fixed".into())))
                        .collect();
                    let _ = block_on(self.human.transition_issue(&issue.id, &t.id, &fields));
                }
            }
            2 if sup => self.reparent(issue),
            _ if self.config.links => self.relink(issue),
            _ => {}
        }
    }

    /// Sets or removes the parent of a SUP issue without children, to one
    /// without a parent: one level, so that no cycle can form.
    fn reparent(&mut self, issue: &Issue) {
        let all = self.human.inspect_issues(&lit::project("SUP"));
        if all
            .iter()
            .any(|i| i.fields.parent.as_ref().is_some_and(|p| p.id == issue.id))
        {
            return;
        }
        let parents: Vec<&Issue> = all
            .iter()
            .filter(|i| i.id != issue.id && i.fields.parent.is_none())
            .collect();
        let parent = match self.rng.below(parents.len() + 1) {
            n if n < parents.len() => Some(parents[n].id.clone()),
            _ => None,
        };
        if let Some(p) = &parent {
            self.parented.insert(p.clone());
        }
        let _ = block_on(
            self.human
                .update_issue(&issue.id, &IssueUpdate::new().parent(parent)),
        );
    }

    /// Adds a link to another issue of the project, or deletes one.
    fn relink(&mut self, issue: &Issue) {
        if !issue.fields.links.is_empty() && self.rng.chance(0.4) {
            let link = &issue.fields.links[self.rng.below(issue.fields.links.len())];
            let _ = block_on(self.human.delete_issue_link(&link.id));
            return;
        }
        let others: Vec<Issue> = self
            .human
            .inspect_issues(&issue.project)
            .into_iter()
            .filter(|i| i.id != issue.id)
            .collect();
        if others.is_empty() {
            return;
        }
        let other = &others[self.rng.below(others.len())];
        let kind = ["Blocks", "Relates"][self.rng.below(2)];
        let link = NewIssueLink::new(kind, issue.id.clone(), other.id.clone());
        let _ = block_on(self.human.add_issue_link(&link));
    }

    /// The issues under sync besides those exalated: parents brought along.
    pub(super) fn brought(&self, mirrors: &BTreeSet<IssueId>) -> BTreeSet<IssueId> {
        self.parented
            .iter()
            .filter(|p| mirrors.contains(*p))
            .cloned()
            .collect()
    }
}

/// Whether `a` and `b`, a converged pair, agree on what the rules map:
/// severity and priority, status, parent, links (between synced issues).
pub(super) fn check_pair(
    a: &Issue,
    b: &Issue,
    twin_of: &BTreeMap<IssueId, IssueId>,
    links: bool,
) -> Result<(), String> {
    let (sup, dev) = if a.project.as_str() == PROJECTS[0] {
        (a, b)
    } else {
        (b, a)
    };
    let pair = format!("{} ⇄ {}", sup.key, dev.key);
    let severity = match sup.fields.custom.get(SEVERITY) {
        Some(CustomValue::Select(s)) => Some(s.as_str()),
        _ => None,
    };
    let priority = dev.fields.priority.as_deref();
    let agree = |s: Option<&str>, d: Option<&str>| match (s, d) {
        (None, None) => true,
        (Some(s), Some(d)) => to_dev(s) == Some(d) || to_sup(d) == Some(s),
        _ => false,
    };
    if !agree(severity, priority) {
        return Err(format!(
            "I5: {pair} disagree on severity {severity:?} and priority {priority:?}"
        ));
    }
    let statuses_agree = to_dev(&sup.status) == Some(dev.status.as_str())
        || to_sup(&dev.status) == Some(sup.status.as_str());
    if !statuses_agree {
        return Err(format!(
            "I5: {pair} disagree on status: {:?} and {:?}",
            sup.status, dev.status
        ));
    }
    if sup.labels != dev.labels {
        return Err(format!(
            "I5: {pair} disagree on labels: {:?} and {:?}",
            sup.labels, dev.labels
        ));
    }
    let parent_here = |i: &Issue| i.fields.parent.as_ref().map(|p| p.id.clone());
    let mapped = parent_here(sup).map(|p| twin_of.get(&p).cloned());
    match (mapped, parent_here(dev)) {
        (None, None) => {}
        (Some(Some(want)), Some(got)) if want == got => {}
        (m, got) => {
            return Err(format!(
                "I5: {pair} disagree on the parent: SUP's twin {m:?}, DEV's {got:?}"
            ));
        }
    }
    let synced_links = |i: &Issue, map: bool| -> BTreeSet<(String, LinkDirection, IssueId)> {
        i.fields
            .links
            .iter()
            .filter_map(|l| {
                let other = match map {
                    true => twin_of.get(&l.issue.id)?.clone(),
                    false => {
                        twin_of.get(&l.issue.id)?;
                        l.issue.id.clone()
                    }
                };
                Some((l.link_type.clone(), l.direction, other))
            })
            .collect()
    };
    if links && synced_links(sup, true) != synced_links(dev, false) {
        return Err(format!(
            "I5: {pair} disagree on links between synced issues: {:?} and {:?}",
            synced_links(sup, true),
            synced_links(dev, false)
        ));
    }
    Ok(())
}
