//! Rules for custom rule sets: status mapping and labels.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::error::Result;
use crate::model::{Issue, ProjectInfo};
use crate::replica::{FieldValue, Replica};
use crate::tracker::IssueUpdate;

use super::SyncRule;

/// Maps the other side's workflow status to ours: "their X → our Y"; a status
/// with no mapping leaves ours unchanged.
///
/// ```
/// use twinsync::rules::{RuleSet, StatusMapping};
///
/// let mut rules = RuleSet::custom();
/// rules.add(StatusMapping::new([("In Progress", "Doing"), ("Done", "Closed")]))?;
/// # Ok::<(), twinsync::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct StatusMapping {
    map: BTreeMap<String, String>,
}

impl StatusMapping {
    /// A mapping from pairs (their status, our status); their names are
    /// matched case-insensitively.
    pub fn new<I, A, B>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (A, B)>,
        A: Into<String>,
        B: Into<String>,
    {
        StatusMapping {
            map: pairs
                .into_iter()
                .map(|(a, b)| (a.into().to_lowercase(), b.into()))
                .collect(),
        }
    }
}

impl SyncRule for StatusMapping {
    fn field(&self) -> &str {
        "status"
    }

    fn outgoing(&self, issue: &Issue, replica: &mut Replica) {
        replica
            .fields
            .insert("status".to_owned(), Value::String(issue.status.clone()));
    }

    fn received(&self, replica: &Replica) -> Option<FieldValue> {
        match replica.fields.get("status")? {
            Value::String(s) => Some(FieldValue::Text(s.clone())),
            _ => None,
        }
    }

    fn current(&self, issue: &Issue) -> FieldValue {
        FieldValue::Text(issue.status.clone())
    }

    fn incoming(&self, received: &FieldValue, _: &ProjectInfo) -> Result<Option<FieldValue>> {
        let FieldValue::Text(theirs) = received else {
            return Ok(None);
        };
        Ok(self
            .map
            .get(&theirs.to_lowercase())
            .map(|ours| FieldValue::Text(ours.clone())))
    }

    fn write(&self, value: &FieldValue, update: &mut IssueUpdate) {
        if let FieldValue::Text(s) = value {
            update.status = Some(s.clone());
        }
    }
}

/// Syncs labels as a set.
#[derive(Clone, Copy, Debug, Default)]
pub struct LabelsRule;

fn sorted(labels: &[String]) -> Vec<String> {
    let mut labels = labels.to_vec();
    labels.sort();
    labels.dedup();
    labels
}

impl SyncRule for LabelsRule {
    fn field(&self) -> &str {
        "labels"
    }

    fn outgoing(&self, issue: &Issue, replica: &mut Replica) {
        replica.fields.insert(
            "labels".to_owned(),
            Value::Array(
                sorted(&issue.labels)
                    .into_iter()
                    .map(Value::String)
                    .collect(),
            ),
        );
    }

    fn received(&self, replica: &Replica) -> Option<FieldValue> {
        let Value::Array(items) = replica.fields.get("labels")? else {
            return None;
        };
        let labels: Vec<String> = items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect();
        Some(FieldValue::List(sorted(&labels)))
    }

    fn current(&self, issue: &Issue) -> FieldValue {
        FieldValue::List(sorted(&issue.labels))
    }

    fn incoming(&self, received: &FieldValue, _: &ProjectInfo) -> Result<Option<FieldValue>> {
        Ok(Some(received.clone()))
    }

    fn write(&self, value: &FieldValue, update: &mut IssueUpdate) {
        if let FieldValue::List(labels) = value {
            update.labels = Some(labels.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::RuleSpec;
    use crate::testkit::block_on;
    use crate::testkit::ids as lit;
    use crate::testkit::rig::LocalRig;
    use crate::tracker::{IssueUpdate, NewIssue, Tracker};

    /// Labels changed on both sides between two syncs merge as a set: each
    /// side ends with what either added, and no conflict is recorded.
    #[test]
    fn sets_changed_on_both_sides_merge_rather_than_conflict() {
        let rig = LocalRig::new();
        block_on(rig.admin().upgrade_to_custom(&rig.conn.id)).unwrap();
        let spec = RuleSpec::default().with_labels();
        block_on(rig.admin().save_rule_draft(&rig.conn.id, spec)).unwrap();
        block_on(rig.admin().publish_rules(&rig.conn.id)).unwrap();
        let sup = block_on(rig.human.create_issue(
            &NewIssue::new(lit::project("SUP"), "Bug", "Printer").labels(["printer"]),
        ))
        .unwrap();
        block_on(rig.node.exalate(&rig.conn.id, &sup.key)).unwrap();
        let dev = rig.issues("DEV").remove(0);
        assert_eq!(dev.labels, ["printer"]);

        rig.user().update(
            sup.key.as_str(),
            IssueUpdate::new().labels(["printer", "urgent"]),
        );
        rig.advance(2);
        rig.user().update(
            dev.key.as_str(),
            IssueUpdate::new().labels(["printer", "toner"]),
        );
        for _ in 0..3 {
            rig.advance(5);
            rig.sync();
        }
        let both = ["printer", "toner", "urgent"];
        assert_eq!(rig.issue(sup.key.as_str()).labels, both);
        assert_eq!(rig.issue(dev.key.as_str()).labels, both);
        let panel = rig.node.status(&rig.conn.id).unwrap();
        assert_eq!(panel.conflicts, 0, "{panel}");
    }
}
