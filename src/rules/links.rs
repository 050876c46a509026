//! Issue links: a link between two synced issues is mirrored between their
//! twins; links to issues not under sync are left alone.

use serde_json::{Value, json};

use crate::error::Result;
use crate::model::{Issue, IssueId, LinkDirection, ProjectInfo};
use crate::replica::{FieldValue, Replica};
use crate::tracker::IssueUpdate;

use super::SyncRule;

/// The field links travel under.
pub(crate) const LINKS: &str = "links";

/// Syncs issue links between synced issues (the planner writes them, as
/// links of their own, not as a field of an edit).
///
/// ```
/// use twinsync::rules::{LinksRule, RuleSet};
///
/// let mut rules = RuleSet::custom();
/// rules.add(LinksRule)?;
/// # Ok::<(), twinsync::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinksRule;

/// One link as it travels: its type, which end the issue is, and the issue
/// at the other end.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct LinkEnd {
    pub(crate) link_type: String,
    pub(crate) direction: LinkDirection,
    pub(crate) other: IssueId,
}

impl LinkEnd {
    /// Its form in a [`FieldValue::List`]: `type|direction|issue id`.
    pub(crate) fn item(&self) -> String {
        format!(
            "{}|{}|{}",
            self.link_type,
            direction_name(self.direction),
            self.other.as_str()
        )
    }
}

fn direction_name(direction: LinkDirection) -> &'static str {
    match direction {
        LinkDirection::Outward => "outward",
        LinkDirection::Inward => "inward",
    }
}

/// The links of `issue`, sorted.
pub(crate) fn links_of(issue: &Issue) -> Vec<LinkEnd> {
    let mut links: Vec<LinkEnd> = issue
        .fields
        .links
        .iter()
        .map(|l| LinkEnd {
            link_type: l.link_type.clone(),
            direction: l.direction,
            other: l.issue.id.clone(),
        })
        .collect();
    links.sort();
    links.dedup();
    links
}

/// The links a replica carries, sorted; `None` when it carries none.
pub(crate) fn received_links(replica: &Replica) -> Option<Vec<LinkEnd>> {
    let Value::Array(items) = replica.fields.get(LINKS)? else {
        return None;
    };
    let mut links: Vec<LinkEnd> = items
        .iter()
        .filter_map(|v| {
            let direction = match v.get("direction")?.as_str()? {
                "outward" => LinkDirection::Outward,
                "inward" => LinkDirection::Inward,
                _ => return None,
            };
            Some(LinkEnd {
                link_type: v.get("type")?.as_str()?.to_owned(),
                direction,
                other: IssueId::new(v.get("id")?.as_str()?).ok()?,
            })
        })
        .collect();
    links.sort();
    links.dedup();
    Some(links)
}

/// `links` as a list value (empty: [`FieldValue::Empty`]).
pub(crate) fn list(links: &[LinkEnd]) -> FieldValue {
    if links.is_empty() {
        FieldValue::Empty
    } else {
        FieldValue::List(links.iter().map(LinkEnd::item).collect())
    }
}

impl SyncRule for LinksRule {
    fn field(&self) -> &str {
        LINKS
    }

    fn outgoing(&self, issue: &Issue, replica: &mut Replica) {
        let mut links: Vec<(LinkEnd, &str)> = issue
            .fields
            .links
            .iter()
            .map(|l| {
                (
                    LinkEnd {
                        link_type: l.link_type.clone(),
                        direction: l.direction,
                        other: l.issue.id.clone(),
                    },
                    l.issue.key.as_str(),
                )
            })
            .collect();
        links.sort();
        links.dedup_by(|a, b| a.0 == b.0);
        let items = links
            .into_iter()
            .map(|(l, key)| {
                json!({
                    "type": l.link_type,
                    "direction": direction_name(l.direction),
                    "id": l.other.as_str(),
                    "key": key,
                })
            })
            .collect();
        replica.fields.insert(LINKS.to_owned(), Value::Array(items));
    }

    fn received(&self, replica: &Replica) -> Option<FieldValue> {
        received_links(replica).map(|links| list(&links))
    }

    fn current(&self, issue: &Issue) -> FieldValue {
        list(&links_of(issue))
    }

    fn incoming(&self, received: &FieldValue, _: &ProjectInfo) -> Result<Option<FieldValue>> {
        Ok(Some(received.clone()))
    }

    /// Links are written by link operations the planner makes, not by an edit.
    fn write(&self, _: &FieldValue, _: &mut IssueUpdate) {}

    fn references(&self, replica: &Replica) -> Vec<IssueId> {
        received_links(replica)
            .unwrap_or_default()
            .into_iter()
            .map(|l| l.other)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use crate::model::{Issue, LinkDirection};
    use crate::rules::RuleSpec;
    use crate::testkit::block_on;
    use crate::testkit::ids as lit;
    use crate::testkit::rig::LocalRig;
    use crate::tracker::{CreatedIssue, NewIssue, NewIssueLink, Tracker};

    fn rig() -> LocalRig {
        let rig = LocalRig::new();
        block_on(rig.admin().upgrade_to_custom(&rig.conn.id)).unwrap();
        let spec = RuleSpec::default().with_links();
        block_on(rig.admin().save_rule_draft(&rig.conn.id, spec)).unwrap();
        block_on(rig.admin().publish_rules(&rig.conn.id)).unwrap();
        rig
    }

    fn create(rig: &LocalRig, project: &str, summary: &str) -> CreatedIssue {
        block_on(
            rig.human
                .create_issue(&NewIssue::new(lit::project(project), "Task", summary)),
        )
        .unwrap()
    }

    fn link(rig: &LocalRig, kind: &str, from: &CreatedIssue, to: &CreatedIssue) {
        block_on(rig.human.add_issue_link(&NewIssueLink::new(
            kind,
            from.id.clone(),
            to.id.clone(),
        )))
        .unwrap();
    }

    fn twin(rig: &LocalRig, summary: &str) -> Issue {
        rig.issues("DEV")
            .into_iter()
            .find(|i| i.summary == summary)
            .unwrap_or_else(|| panic!("no twin of {summary:?}"))
    }

    /// `issue`'s links as (type, direction, other end's summary), sorted.
    fn links(rig: &LocalRig, issue: &Issue) -> Vec<(String, LinkDirection, String)> {
        let mut out: Vec<_> = issue
            .fields
            .links
            .iter()
            .map(|l| {
                let other = rig.issue(l.issue.key.as_str()).summary;
                (l.link_type.clone(), l.direction, other)
            })
            .collect();
        out.sort();
        out
    }

    fn sync(rig: &LocalRig) {
        for _ in 0..2 {
            rig.advance(5);
            rig.sync();
        }
    }

    #[test]
    fn links_between_synced_issues_are_mirrored_and_others_left_alone() {
        let rig = rig();
        let a = create(&rig, "SUP", "Printer on fire");
        let b = create(&rig, "SUP", "Toner empty");
        let c = create(&rig, "SUP", "Not synced");
        link(&rig, "Blocks", &a, &b);
        link(&rig, "Relates", &a, &c);
        for issue in [&a, &b] {
            block_on(rig.node.exalate(&rig.conn.id, &issue.key)).unwrap();
        }
        sync(&rig);
        let a2 = twin(&rig, "Printer on fire");
        assert_eq!(
            links(&rig, &a2),
            [(
                "Blocks".into(),
                LinkDirection::Outward,
                "Toner empty".into()
            )],
            "the link to an unsynced issue stays behind"
        );
        let b2 = twin(&rig, "Toner empty");
        assert_eq!(
            links(&rig, &b2),
            [(
                "Blocks".into(),
                LinkDirection::Inward,
                "Printer on fire".into()
            )]
        );

        // A link made in DEV travels back; one to a DEV-only issue stays there.
        let d = create(&rig, "DEV", "Only in development");
        let a2c = CreatedIssue {
            id: a2.id.clone(),
            key: a2.key.clone(),
        };
        let b2c = CreatedIssue {
            id: b2.id.clone(),
            key: b2.key.clone(),
        };
        link(&rig, "Relates", &b2c, &a2c);
        link(&rig, "Duplicate", &a2c, &d);
        sync(&rig);
        let a1 = rig.issue(a.key.as_str());
        assert_eq!(
            links(&rig, &a1),
            [
                (
                    "Blocks".into(),
                    LinkDirection::Outward,
                    "Toner empty".into()
                ),
                (
                    "Relates".into(),
                    LinkDirection::Outward,
                    "Not synced".into()
                ),
                (
                    "Relates".into(),
                    LinkDirection::Inward,
                    "Toner empty".into()
                ),
            ]
        );

        // A removed link is removed from the twins too; the rest stays.
        let blocks = a1
            .fields
            .links
            .iter()
            .find(|l| l.link_type == "Blocks")
            .unwrap()
            .id
            .clone();
        block_on(rig.human.delete_issue_link(&blocks)).unwrap();
        sync(&rig);
        assert_eq!(
            links(&rig, &twin(&rig, "Printer on fire")),
            [
                (
                    "Duplicate".into(),
                    LinkDirection::Outward,
                    "Only in development".into()
                ),
                (
                    "Relates".into(),
                    LinkDirection::Inward,
                    "Toner empty".into()
                ),
            ]
        );
        let panel = rig.node.status(&rig.conn.id).unwrap();
        assert!(panel.errors.is_empty(), "{panel}");
        assert_eq!(
            rig.issues("DEV").len(),
            3,
            "two twins and the DEV-only issue"
        );
    }
}
