//! The twin's origin (see [`crate::rules::origin`]): the description line a
//! twin is created with and keeps, and the remote link that names its original.

use crate::model::RichText;
use crate::rules::IssueOrigin;
use crate::rules::origin::{origin_line, origin_link, origin_link_fingerprint};

use super::{Op, Plan, PlanInput, TwinState};

/// Runs after every other step, on the final ops: puts the origin line into
/// a create (and into later description writes), and adds the remote link
/// when the twin lacks the one wanted.
pub(super) fn settle(input: &PlanInput<'_>, state: &TwinState, plan: &mut Plan) {
    let created = plan
        .ops
        .iter()
        .any(|op| matches!(op, Op::CreateIssue { .. }));
    // Whether the issue here is a twin this connection made: only a twin
    // says where it came from, never the original.
    let twin = created
        || input.local.is_some_and(|l| {
            crate::replica::Marker::find(&l.properties, input.connection)
                .is_some_and(|m| m.origin_issue == input.replica.origin.id)
        });
    if !twin {
        return;
    }
    let origin = input.rules.issue_origin();
    // The line a written description starts with: the one the twin's marker
    // records, or for a new twin the one the rules give.
    let mut line = input.local.and_then(|l| origin_line(l, input.connection));
    for op in &mut plan.ops {
        match op {
            Op::CreateIssue { fields, header, .. } => {
                if let IssueOrigin::DescriptionLine(template) = origin {
                    let rendered = template.render(&input.replica.origin);
                    let body = fields
                        .description
                        .take()
                        .unwrap_or(RichText::Plain(String::new()));
                    fields.description = Some(rendered.compose(&body));
                    *header = Some(rendered.clone());
                    line = Some(rendered);
                }
            }
            Op::UpdateIssue { update, .. } => {
                if let (Some(line), Some(body)) = (&line, update.description.as_mut()) {
                    *body = line.compose(body);
                }
            }
            _ => {}
        }
    }
    if *origin == IssueOrigin::RemoteLink {
        let link = origin_link(&input.replica.origin, input.connection);
        let fp = origin_link_fingerprint(&link);
        if created || state.local_origin != fp {
            // Right after a create: the twin says where it came from even
            // when a later op of the plan fails.
            let at = plan
                .ops
                .iter()
                .position(|op| matches!(op, Op::CreateIssue { .. }))
                .map_or(plan.ops.len(), |i| i + 1);
            plan.ops.insert(at, Op::SetOrigin { link, fp });
        }
    }
}
