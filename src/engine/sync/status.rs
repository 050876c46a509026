//! Moving a twin's issue to a mapped status: along the shortest path of
//! transitions of the workflow its tracker tells, filling the fields each
//! transition requires. A transition the tracker refuses is recorded on the
//! twin; the rest of the sync applies.

use std::collections::BTreeMap;

use crate::connection::Connection;
use crate::error::{ErrorKind, Result};
use crate::model::{CustomValue, FieldMeta, IssueId, ProjectInfo, Transition};
use crate::replica::FieldValue;
use crate::store::RefusedTransition;
use crate::tracker::IssueUpdate;

use crate::engine::node::Node;

/// Whether a tracker's error on a transition is its refusal (a condition, a
/// validator, a missing or wrong field), not a failure to try again.
fn is_refusal(kind: ErrorKind) -> bool {
    matches!(kind, ErrorKind::Refused | ErrorKind::InvalidInput)
}

/// Takes the custom fields the project's edit screen lacks out of
/// `update`: their values go with the transitions only.
pub(super) fn hold_transition_fields(update: &mut IssueUpdate, project: &ProjectInfo) {
    update
        .custom
        .retain(|id, _| project.field(id).is_none_or(|m| m.on_edit));
}

/// A rule default for `field`, by its id or name, in the field's kind.
fn default_for(
    field: &FieldMeta,
    defaults: &BTreeMap<String, String>,
) -> Option<std::result::Result<CustomValue, String>> {
    let text = defaults.get(&field.id).or_else(|| {
        defaults
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(&field.name))
            .map(|(_, v)| v)
    })?;
    // Read as a custom field of the transition's kind, whatever its id.
    let mut update = IssueUpdate::default();
    let id = format!("transition:{}", field.id);
    Some(
        crate::rules::mapping::to_update(
            &id,
            field.kind,
            &FieldValue::Text(text.clone()),
            &mut update,
        )
        .and_then(|()| {
            update
                .custom
                .remove(&id)
                .flatten()
                .filter(|v| !v.is_empty())
                .ok_or_else(|| format!("{text:?} is no value"))
        }),
    )
}

/// The fields to give `transition`: values the sync carries, then those the
/// issue holds, then the rule's defaults; an error names a required field
/// none gives.
fn fill(
    transition: &Transition,
    given: &BTreeMap<String, CustomValue>,
    held: &BTreeMap<String, CustomValue>,
    defaults: &BTreeMap<String, String>,
) -> std::result::Result<BTreeMap<String, CustomValue>, String> {
    let mut out = BTreeMap::new();
    for field in &transition.fields {
        let value = match given.get(&field.id).or_else(|| held.get(&field.id)) {
            Some(v) => Some(v.clone()),
            None => default_for(field, defaults)
                .transpose()
                .map_err(|e| format!("transition_fields value for {}: {e}", field.name))?,
        };
        match value {
            Some(v) => {
                out.insert(field.id.clone(), v);
            }
            None if field.required => {
                return Err(format!(
                    "it requires field {} ({}), and neither a field rule nor the rules' \
                     transition_fields gives a value",
                    field.name, field.id
                ));
            }
            None => {}
        }
    }
    Ok(out)
}

impl Node {
    /// Moves `issue` to `status`: by the shortest path of transitions when
    /// the tracker tells the workflow, else by the one transition the
    /// tracker picks for an update's status. `given` holds values the sync
    /// carries for fields only transition screens show.
    ///
    /// `Ok(Some(_))` when a transition was refused (the issue stays where
    /// the path stopped); `Err` only for failures worth trying again.
    pub(super) async fn move_to_status(
        &self,
        conn: &Connection,
        issue: &IssueId,
        status: &str,
        given: &BTreeMap<String, CustomValue>,
    ) -> Result<Option<RefusedTransition>> {
        let tracker = self.tracker();
        let current = tracker.issue(issue).await?;
        if current.status.eq_ignore_ascii_case(status) {
            return Ok(None);
        }
        let flow = match tracker.capabilities().workflows {
            true => {
                tracker
                    .workflow(&current.project, &current.issue_type)
                    .await?
            }
            false => None,
        };
        let Some(flow) = flow else {
            let update = IssueUpdate::new().status(status);
            return match tracker.update_issue(issue, &update).await {
                Ok(()) => Ok(None),
                Err(e) if is_refusal(e.kind()) => Ok(Some(RefusedTransition::new(
                    "",
                    status,
                    current.status,
                    e.message(),
                ))),
                Err(e) => Err(e),
            };
        };
        let Some(path) = flow.path(&current.status, status) else {
            let message = match flow.status(status) {
                Some(_) => "no path of transitions leads there".to_owned(),
                None => format!(
                    "it is not a status of workflow {:?}; its statuses: {}",
                    flow.name,
                    flow.statuses.join(", ")
                ),
            };
            return Ok(Some(RefusedTransition::new(
                "",
                status,
                current.status,
                message,
            )));
        };
        let defaults = self.rules_for(conn)?.transition_fields().clone();
        let held = current.fields.custom;
        let mut reached = current.status;
        for step in path {
            // What the tracker offers now, with each screen's fields.
            let offered = tracker.transitions(issue).await?;
            let Some(transition) = offered
                .iter()
                .find(|t| t.id == step.id)
                .or_else(|| offered.iter().find(|t| t.leads_to(&step.to)))
            else {
                return Ok(Some(RefusedTransition::new(
                    &step.name,
                    status,
                    reached,
                    format!("the tracker does not offer it from status {:?}", step.to),
                )));
            };
            let fields = match fill(transition, given, &held, &defaults) {
                Ok(fields) => fields,
                Err(message) => {
                    return Ok(Some(RefusedTransition::new(
                        &transition.name,
                        status,
                        reached,
                        message,
                    )));
                }
            };
            match tracker
                .transition_issue(issue, &transition.id, &fields)
                .await
            {
                Ok(()) => reached.clone_from(&transition.to),
                Err(e) if is_refusal(e.kind()) => {
                    return Ok(Some(RefusedTransition::new(
                        &transition.name,
                        status,
                        reached,
                        e.message(),
                    )));
                }
                Err(e) => return Err(e),
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::FieldKind;

    fn resolve() -> Transition {
        Transition::new("31", "Resolve", "Resolved")
            .field(FieldMeta::new("resolution", "Resolution", FieldKind::Select).required())
            .field(FieldMeta::new("customfield_1", "Note", FieldKind::Text))
    }

    #[test]
    fn required_fields_come_from_the_sync_then_the_defaults() {
        let defaults = BTreeMap::from([("Resolution".to_owned(), "Fixed".to_owned())]);
        let fields = fill(&resolve(), &BTreeMap::new(), &BTreeMap::new(), &defaults).unwrap();
        assert_eq!(
            fields,
            BTreeMap::from([("resolution".to_owned(), CustomValue::Select("Fixed".into()))])
        );
        let given = BTreeMap::from([
            (
                "resolution".to_owned(),
                CustomValue::Select("Won't Do".into()),
            ),
            ("customfield_1".to_owned(), CustomValue::Text("why".into())),
        ]);
        let fields = fill(&resolve(), &given, &BTreeMap::new(), &defaults).unwrap();
        assert_eq!(fields, given);
        // A value the issue holds serves too.
        let held = BTreeMap::from([("resolution".to_owned(), CustomValue::Select("Done".into()))]);
        let fields = fill(&resolve(), &BTreeMap::new(), &held, &BTreeMap::new()).unwrap();
        assert_eq!(fields, held);
    }

    #[test]
    fn a_required_field_without_a_value_names_itself() {
        let none = BTreeMap::new();
        let err = fill(&resolve(), &none, &none, &BTreeMap::new()).unwrap_err();
        assert!(err.contains("Resolution (resolution)"), "{err}");
        let bad = BTreeMap::from([("resolution".to_owned(), String::new())]);
        let err = fill(&resolve(), &none, &none, &bad).unwrap_err();
        assert!(err.contains("Resolution"), "{err}");
    }
}

#[cfg(test)]
#[path = "status_tests.rs"]
mod through_workflows;
