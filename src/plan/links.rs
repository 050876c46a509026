//! Issue links between synced issues: mirrored between their twins, merged
//! as a set; links to issues not under sync are left alone.

use crate::model::LinkDirection;
use crate::rules::links::{LINKS, LinkEnd, list, received_links};

use super::state::UNSYNCED;
use super::{FieldBase, IssueMap, Op, Plan, PlanInput, TwinState};

/// Plans the link ops that bring the receiving issue's links between synced
/// issues to the replica's: with only the remote side changed, its set;
/// with both changed, both sets together (nothing removed).
pub(super) fn merge(input: &PlanInput<'_>, state: &mut TwinState, plan: &mut Plan) {
    if !input.rules.rules().iter().any(|r| r.field() == LINKS) {
        return;
    }
    let Some(received) = received_links(input.replica) else {
        return;
    };
    let empty = IssueMap::default();
    let issues = input.issues.unwrap_or(&empty);
    // Bases hold each side's links between synced issues, in its own ids:
    // both directions compare like with like, and a link whose other end
    // gets synced later changes the remote side's set.
    let synced_there: Vec<LinkEnd> = received
        .iter()
        .filter(|l| issues.twins.contains_key(&l.other))
        .cloned()
        .collect();
    let complete = synced_there.len() == received.len();
    if !complete {
        // Not applied whole: the next sync plans it again, even unchanged.
        plan.remote_whole = UNSYNCED;
    }
    let rfp = list(&synced_there).fingerprint();
    let base = state.field(LINKS).cloned();
    if base.as_ref().is_some_and(|b| b.remote == rfp) {
        return; // remote unchanged
    }
    let mut wanted: Vec<LinkEnd> = synced_there
        .into_iter()
        .filter_map(|l| {
            let here = issues.twins.get(&l.other)?;
            Some(LinkEnd {
                other: here.id.clone(),
                ..l
            })
        })
        .collect();
    wanted.sort();
    wanted.dedup();
    // This side's links between synced issues, with their ids.
    let mut have: Vec<(LinkEnd, String)> = input
        .local
        .map(|issue| {
            issue
                .fields
                .links
                .iter()
                .filter(|l| issues.synced_here.contains(&l.issue.id))
                .map(|l| {
                    let end = LinkEnd {
                        link_type: l.link_type.clone(),
                        direction: l.direction,
                        other: l.issue.id.clone(),
                    };
                    (end, l.id.clone())
                })
                .collect()
        })
        .unwrap_or_default();
    have.sort();
    have.dedup_by(|a, b| a.0 == b.0);
    let have_ends: Vec<LinkEnd> = have.iter().map(|(e, _)| e.clone()).collect();
    let cfp = list(&have_ends).fingerprint();
    if input.local.is_some() && have_ends == wanted {
        state.set_field(LINKS, rfp, cfp);
        return;
    }
    // Removals travel only when this side's links are as last synced.
    let local_unchanged = base.as_ref().is_some_and(|b| b.local == cfp);
    let adds: Vec<LinkEnd> = wanted
        .iter()
        .filter(|w| !have_ends.contains(w))
        .cloned()
        .collect();
    let removes: Vec<(LinkEnd, String)> = match local_unchanged {
        true => have
            .iter()
            .filter(|(e, _)| !wanted.contains(e))
            .cloned()
            .collect(),
        false => Vec::new(),
    };
    let mut result: Vec<LinkEnd> = have_ends
        .iter()
        .filter(|e| !removes.iter().any(|(r, _)| r == *e))
        .chain(adds.iter())
        .cloned()
        .collect();
    result.sort();
    // The sides are in step only when this side ends with the remote set;
    // links it keeps beyond that (both sides changed, or a first sync) count
    // as changed, so they travel back.
    let local = if result == wanted {
        list(&result).fingerprint()
    } else {
        UNSYNCED
    };
    let base = FieldBase {
        field: LINKS.to_owned(),
        remote: rfp,
        local,
    };
    let mut ops: Vec<Op> = removes
        .into_iter()
        .map(|(end, id)| Op::DeleteLink {
            id,
            link_type: end.link_type,
            other: end.other,
            bases: Vec::new(),
        })
        .chain(adds.into_iter().map(|end| Op::AddLink {
            link_type: end.link_type,
            direction: end.direction,
            other: end.other,
            bases: Vec::new(),
        }))
        .collect();
    match ops.last_mut() {
        Some(Op::AddLink { bases, .. } | Op::DeleteLink { bases, .. }) => bases.push(base),
        _ => state.set_field(LINKS, base.remote, base.local),
    }
    plan.ops.append(&mut ops);
}

/// How a link op reads in a plan: `blocks DEV-2 (Blocks)`.
pub(super) fn describe(direction: LinkDirection, link_type: &str) -> String {
    match direction {
        LinkDirection::Outward => format!("{link_type} (outward) →"),
        LinkDirection::Inward => format!("{link_type} (inward) ←"),
    }
}
