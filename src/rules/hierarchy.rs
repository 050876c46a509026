//! Parents: a sub-task's or an epic child's twin gets its parent's twin as
//! parent, once that twin exists.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::{Error, ErrorKind, Result};
use crate::model::{Issue, IssueId, ProjectInfo};
use crate::plan::{IssueMap, PlanInput};
use crate::replica::{FieldValue, Replica};
use crate::tracker::IssueUpdate;

use super::SyncRule;

/// What happens to a child whose parent is not under sync.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum UnsyncedParent {
    /// The child waits (its twin is not created, or not moved) until the
    /// parent is brought under sync; the twin shows what it waits for.
    #[default]
    Wait,
    /// The parent is brought under sync first, then the child follows: on
    /// a remote connection the node that sends the child sends its parent
    /// first; on a local one the child waits for the parent's twin, which
    /// the next cycle creates.
    Bring,
    /// The child's twin is created, or stays, without a parent; it gets one
    /// when its parent's twin exists at a later sync of the child.
    Without,
}

/// Syncs parents: the parent of a received issue is replaced by its twin
/// here.
///
/// ```
/// use twinsync::rules::{ParentRule, RuleSet, UnsyncedParent};
///
/// let mut rules = RuleSet::custom();
/// rules.add(ParentRule::new(UnsyncedParent::Wait))?;
/// # Ok::<(), twinsync::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ParentRule {
    unsynced: UnsyncedParent,
}

/// The field parents travel under.
pub(crate) const PARENT: &str = "parent";

/// The context key of a waiting error that asks to bring the parent (its
/// id on the sending side) under sync.
pub(crate) const BRING: &str = "bring parent";

impl ParentRule {
    /// Parents synced; a child whose parent is not under sync follows `unsynced`.
    pub fn new(unsynced: UnsyncedParent) -> Self {
        ParentRule { unsynced }
    }

    /// What a child whose parent is not under sync does.
    pub fn unsynced(&self) -> UnsyncedParent {
        self.unsynced
    }
}

/// The parent a replica names: its id and key on the sending side.
pub(crate) fn parent_of(replica: &Replica) -> Option<(IssueId, String)> {
    let parent = replica.fields.get(PARENT)?;
    let id = IssueId::new(parent.get("id")?.as_str()?).ok()?;
    let key = parent
        .get("key")
        .and_then(Value::as_str)
        .unwrap_or(id.as_str())
        .to_owned();
    Some((id, key))
}

/// The context key of the error a child waiting for its parent's twin
/// fails with: the parent's id on the sending side (see also [`BRING`]).
pub(crate) const PARENT_WAIT: &str = "waits for parent";

/// The error a child waiting for the twin of its parent (`key`) fails with:
/// temporary, so the child is tried again after a back-off, or in the same
/// cycle once the parent's twin is created.
pub(crate) fn waiting_for(key: &str, why: &str) -> Error {
    Error::new(
        ErrorKind::NotFound,
        format!("waiting for parent {key}: {why}"),
    )
    .set_temporary(true)
}

/// The parent a waiting child's error names, on the sending side.
pub(crate) fn awaited_parent(err: &Error) -> Option<IssueId> {
    let id = err
        .context_value(PARENT_WAIT)
        .or_else(|| err.context_value(BRING))?;
    IssueId::new(id).ok()
}

impl SyncRule for ParentRule {
    fn field(&self) -> &str {
        PARENT
    }

    fn outgoing(&self, issue: &Issue, replica: &mut Replica) {
        let value = match &issue.fields.parent {
            Some(p) => json!({"id": p.id.as_str(), "key": p.key.as_str()}),
            None => Value::Null,
        };
        replica.fields.insert(PARENT.to_owned(), value);
    }

    fn received(&self, replica: &Replica) -> Option<FieldValue> {
        match replica.fields.get(PARENT)? {
            Value::Null => Some(FieldValue::Empty),
            _ => parent_of(replica).map(|(id, _)| FieldValue::Text(id.as_str().to_owned())),
        }
    }

    fn current(&self, issue: &Issue) -> FieldValue {
        issue.fields.parent.as_ref().map_or(FieldValue::Empty, |p| {
            FieldValue::Text(p.id.as_str().to_owned())
        })
    }

    fn incoming(&self, received: &FieldValue, _: &ProjectInfo) -> Result<Option<FieldValue>> {
        Ok(Some(received.clone()))
    }

    fn write(&self, value: &FieldValue, update: &mut IssueUpdate) {
        match value {
            FieldValue::Text(id) => {
                if let Ok(id) = IssueId::new(id.as_str()) {
                    update.parent = Some(Some(id));
                }
            }
            FieldValue::Empty => update.parent = Some(None),
            _ => {}
        }
    }

    fn references(&self, replica: &Replica) -> Vec<IssueId> {
        parent_of(replica).map(|(id, _)| id).into_iter().collect()
    }

    fn brings_references(&self) -> bool {
        self.unsynced == UnsyncedParent::Bring
    }

    fn translate(
        &self,
        received: &FieldValue,
        input: &PlanInput<'_>,
    ) -> Result<Option<(FieldValue, bool)>> {
        let (FieldValue::Text(_), Some((theirs, key))) = (received, parent_of(input.replica))
        else {
            return Ok(Some((received.clone(), true)));
        };
        let empty = IssueMap::default();
        let issues = input.issues.unwrap_or(&empty);
        if let Some(here) = issues.twins.get(&theirs) {
            return Ok(Some((FieldValue::Text(here.id.as_str().to_owned()), true)));
        }
        if issues.pending.contains(&theirs) {
            return Err(waiting_for(&key, "its twin is not created yet")
                .with_context(PARENT_WAIT, theirs.as_str()));
        }
        match self.unsynced {
            UnsyncedParent::Without => Ok(Some((FieldValue::Empty, false))),
            UnsyncedParent::Wait => Err(waiting_for(
                &key,
                "it is not under sync; exalate it, or let the rules bring parents under sync",
            )
            .with_context(PARENT_WAIT, theirs.as_str())),
            UnsyncedParent::Bring => Err(waiting_for(&key, "it is being brought under sync")
                .with_context(BRING, theirs.as_str())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::UnsyncedParent;
    use crate::model::{IssueFields, IssueRef};
    use crate::rules::RuleSpec;
    use crate::testkit::block_on;
    use crate::testkit::ids as lit;
    use crate::testkit::rig::LocalRig;
    use crate::tracker::{CreatedIssue, IssueUpdate, NewIssue, Tracker};

    fn rig(unsynced: UnsyncedParent) -> LocalRig {
        let rig = LocalRig::new();
        block_on(rig.admin().upgrade_to_custom(&rig.conn.id)).unwrap();
        let spec = RuleSpec::default().with_parents(unsynced);
        block_on(rig.admin().save_rule_draft(&rig.conn.id, spec)).unwrap();
        block_on(rig.admin().publish_rules(&rig.conn.id)).unwrap();
        rig
    }

    fn create(
        rig: &LocalRig,
        kind: &str,
        summary: &str,
        parent: Option<&CreatedIssue>,
    ) -> CreatedIssue {
        let fields = IssueFields {
            parent: parent.map(|p| IssueRef::new(p.id.clone(), p.key.clone())),
            ..IssueFields::default()
        };
        block_on(
            rig.human
                .create_issue(&NewIssue::new(lit::project("SUP"), kind, summary).fields(fields)),
        )
        .unwrap()
    }

    /// The twin in DEV of the SUP issue summarized `summary`.
    fn twin(rig: &LocalRig, summary: &str) -> crate::model::Issue {
        rig.issues("DEV")
            .into_iter()
            .find(|i| i.summary == summary)
            .unwrap_or_else(|| panic!("no twin of {summary:?} in DEV"))
    }

    fn parent_key(issue: &crate::model::Issue) -> Option<String> {
        issue
            .fields
            .parent
            .as_ref()
            .map(|p| p.key.as_str().to_owned())
    }

    fn sync_past_backoff(rig: &LocalRig) {
        for _ in 0..3 {
            rig.advance(120);
            rig.sync();
        }
    }

    #[test]
    fn a_child_waits_for_its_parents_twin_then_follows_its_moves() {
        let rig = rig(UnsyncedParent::Wait);
        let epic = create(&rig, "Epic", "Printers", None);
        let child = create(&rig, "Task", "Printer on fire", Some(&epic));

        let err = block_on(rig.node.exalate(&rig.conn.id, &child.key));
        let panel = rig.node.status(&rig.conn.id).unwrap().to_string();
        assert!(
            panel.contains("waiting for parent SUP-1"),
            "{err:?}\n{panel}"
        );
        assert!(rig.issues("DEV").is_empty(), "no child without its parent");

        block_on(rig.node.exalate(&rig.conn.id, &epic.key)).unwrap();
        sync_past_backoff(&rig);
        let epic_twin = twin(&rig, "Printers");
        let child_twin = twin(&rig, "Printer on fire");
        assert_eq!(
            parent_key(&child_twin),
            Some(epic_twin.key.as_str().to_owned())
        );
        let panel = rig.node.status(&rig.conn.id).unwrap();
        assert!(panel.errors.is_empty(), "{panel}");

        // A move to another synced epic travels.
        let other = create(&rig, "Epic", "Scanners", None);
        block_on(rig.node.exalate(&rig.conn.id, &other.key)).unwrap();
        rig.user().update(
            child.key.as_str(),
            IssueUpdate::new().parent(Some(other.id.clone())),
        );
        sync_past_backoff(&rig);
        let other_twin = twin(&rig, "Scanners");
        assert_eq!(
            parent_key(&twin(&rig, "Printer on fire")),
            Some(other_twin.key.as_str().to_owned())
        );

        // So does a move made in DEV, and a removal.
        rig.user().update(
            child_twin.key.as_str(),
            IssueUpdate::new().parent(Some(epic_twin.id.clone())),
        );
        sync_past_backoff(&rig);
        assert_eq!(
            parent_key(&rig.issue(child.key.as_str())),
            Some(epic.key.as_str().to_owned())
        );
        rig.user()
            .update(child.key.as_str(), IssueUpdate::new().parent(None));
        sync_past_backoff(&rig);
        assert_eq!(parent_key(&twin(&rig, "Printer on fire")), None);
        assert_eq!(rig.issues("DEV").len(), 3, "no duplicates");
    }

    #[test]
    fn the_rules_can_bring_the_parent_under_sync() {
        let rig = rig(UnsyncedParent::Bring);
        let epic = create(&rig, "Epic", "Printers", None);
        let child = create(&rig, "Task", "Printer on fire", Some(&epic));
        let _ = block_on(rig.node.exalate(&rig.conn.id, &child.key));
        sync_past_backoff(&rig);
        let epic_twin = twin(&rig, "Printers");
        assert_eq!(
            parent_key(&twin(&rig, "Printer on fire")),
            Some(epic_twin.key.as_str().to_owned())
        );
        assert_eq!(rig.issues("DEV").len(), 2);
    }

    /// A bug a trigger brings under sync brings its parent task, which
    /// brings its epic: one cycle creates all three twins, each under its parent's
    /// twin, and leaves no failure behind.
    #[test]
    fn a_child_follows_its_parents_in_the_same_cycle() {
        let rig = rig(UnsyncedParent::Bring);
        let epic = create(&rig, "Epic", "Printers", None);
        let story = create(&rig, "Task", "Office printers", Some(&epic));
        create(&rig, "Bug", "Printer on fire", Some(&story));
        block_on(rig.admin().add_trigger(
            &rig.conn.id,
            crate::trigger::TriggerSpec::new(lit::project("SUP"), "summary ~ fire"),
        ))
        .unwrap();
        let report = rig.sync();
        assert_eq!(report.failed, 0, "{report:?}");
        let (epic_twin, story_twin) = (twin(&rig, "Printers"), twin(&rig, "Office printers"));
        assert_eq!(
            parent_key(&story_twin),
            Some(epic_twin.key.as_str().to_owned())
        );
        assert_eq!(
            parent_key(&twin(&rig, "Printer on fire")),
            Some(story_twin.key.as_str().to_owned())
        );
        let panel = rig.node.status(&rig.conn.id).unwrap();
        assert!(panel.errors.is_empty(), "{panel}");
        assert_eq!(panel.queued, 0, "{panel}");
        // A second cycle finds nothing to do.
        rig.advance(1);
        assert_eq!(rig.sync().writes, 0);
        assert_eq!(rig.issues("DEV").len(), 3, "no duplicates");
    }

    /// A move that would close a cycle of parents on the other side (the
    /// move that opens it there has not synced yet) is an error on the twin
    /// that names the issues; nothing of that sync is applied, and a retry
    /// once the other move has synced puts it through.
    #[test]
    fn a_move_that_would_close_a_cycle_of_parents_applies_nothing() {
        let rig = rig(UnsyncedParent::Wait);
        let epic = create(&rig, "Epic", "Printers", None);
        let task = create(&rig, "Task", "Printer on fire", Some(&epic));
        block_on(rig.node.exalate(&rig.conn.id, &epic.key)).unwrap();
        block_on(rig.node.exalate(&rig.conn.id, &task.key)).unwrap();
        // In SUP the task leaves the epic, then becomes the epic's parent.
        rig.user()
            .update(task.key.as_str(), IssueUpdate::new().parent(None));
        rig.user().update(
            epic.key.as_str(),
            IssueUpdate::new()
                .parent(Some(task.id.clone()))
                .summary("Printers!"),
        );
        // The epic's sync alone: in DEV the task's twin is still its child.
        let err = block_on(rig.node.exalate(&rig.conn.id, &epic.key)).unwrap_err();
        assert!(err.to_string().contains("cycle"), "{err}");
        let panel = rig.node.status(&rig.conn.id).unwrap().to_string();
        assert!(panel.contains("parents would form a cycle"), "{panel}");
        let epic_twin = twin(&rig, "Printers");
        assert_eq!(parent_key(&epic_twin), None, "nothing applied");

        sync_past_backoff(&rig);
        let task_twin = twin(&rig, "Printer on fire");
        assert_eq!(parent_key(&task_twin), None);
        block_on(rig.node.retry(&rig.conn.id, &epic.key)).unwrap();
        assert_eq!(
            parent_key(&twin(&rig, "Printers!")),
            Some(task_twin.key.as_str().to_owned())
        );
        let panel = rig.node.status(&rig.conn.id).unwrap();
        assert!(panel.errors.is_empty(), "{panel}");
    }

    #[test]
    fn without_its_parent_a_child_is_created_and_gets_it_later() {
        let rig = rig(UnsyncedParent::Without);
        let epic = create(&rig, "Epic", "Printers", None);
        let child = create(&rig, "Task", "Printer on fire", Some(&epic));
        block_on(rig.node.exalate(&rig.conn.id, &child.key)).unwrap();
        assert_eq!(parent_key(&twin(&rig, "Printer on fire")), None);

        block_on(rig.node.exalate(&rig.conn.id, &epic.key)).unwrap();
        rig.user().update(
            child.key.as_str(),
            IssueUpdate::new().summary("Printer on fire again"),
        );
        sync_past_backoff(&rig);
        let epic_twin = twin(&rig, "Printers");
        assert_eq!(
            parent_key(&twin(&rig, "Printer on fire again")),
            Some(epic_twin.key.as_str().to_owned())
        );
    }

    /// Across a remote connection the node that sends a child sends its
    /// parent first: both twins exist after one exalate, the child under
    /// the parent's twin.
    #[test]
    fn across_nodes_the_sender_brings_the_parent_first() {
        use crate::testkit::remote_rig::RemoteRig;

        let rig = RemoteRig::new();
        let conn = rig.connect();
        let ada = lit::user_id("ada");
        let spec = RuleSpec::default().with_parents(UnsyncedParent::Bring);
        for node in [&rig.a.node, &rig.b.node] {
            block_on(node.admin(&ada).upgrade_to_custom(&conn.id)).unwrap();
            block_on(node.admin(&ada).save_rule_draft(&conn.id, spec.clone())).unwrap();
            block_on(node.admin(&ada).publish_rules(&conn.id)).unwrap();
        }
        let create =
            |kind: &str, summary: &str, parent: Option<&CreatedIssue>| {
                let fields = IssueFields {
                    parent: parent.map(|p| IssueRef::new(p.id.clone(), p.key.clone())),
                    ..IssueFields::default()
                };
                block_on(rig.a.human.create_issue(
                    &NewIssue::new(lit::project("SUP"), kind, summary).fields(fields),
                ))
                .unwrap()
            };
        let epic = create("Epic", "Printers", None);
        let child = create("Task", "Printer on fire", Some(&epic));
        block_on(rig.a.node.exalate(&conn.id, &child.key)).unwrap();
        let dev = rig.b.issues("DEV");
        assert_eq!(dev.len(), 2, "{dev:?}");
        let epic_twin = dev.iter().find(|i| i.summary == "Printers").unwrap();
        let child_twin = dev.iter().find(|i| i.summary == "Printer on fire").unwrap();
        assert_eq!(
            parent_key(child_twin),
            Some(epic_twin.key.as_str().to_owned())
        );
        rig.sync(&conn);
        rig.sync(&conn);
        assert_eq!(rig.b.issues("DEV").len(), 2, "no duplicates");
        assert!(rig.b.node.status(&conn.id).unwrap().errors.is_empty());
    }
}
