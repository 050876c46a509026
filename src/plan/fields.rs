//! The three-way merge of the rule fields.

use crate::error::Result;
use crate::replica::FieldValue;
use crate::tracker::IssueUpdate;

use super::state::UNSYNCED;
use super::{Conflict, FieldBase, Op, Plan, PlanInput, TwinState, Winner};

pub(super) fn merge(input: &PlanInput<'_>, state: &mut TwinState, plan: &mut Plan) -> Result<()> {
    let mut update = IssueUpdate::default();
    let mut bases = Vec::new();
    for rule in input.rules.rules() {
        let field = rule.field();
        if field == crate::rules::links::LINKS {
            continue; // merged as a set by link ops (see `links`)
        }
        let Some(received) = rule.received(input.replica) else {
            continue;
        };
        let rfp = input
            .fingerprints
            .fields
            .get(field)
            .copied()
            .unwrap_or_else(|| received.fingerprint());
        let base = state.field(field).cloned();
        if base.as_ref().is_some_and(|b| b.remote == rfp) {
            continue; // remote unchanged
        }
        // Issues it names become their twins here; with one not found, the
        // value counts as not yet received (a later sync tries again).
        let translated = rule.translate(&received, input)?;
        let translated_kept = translated.is_none();
        let (received, complete) = translated.unwrap_or((received, true));
        let rfp = if complete { rfp } else { UNSYNCED };
        if !complete {
            // Not applied whole: the next sync plans it again, even unchanged.
            plan.remote_whole = UNSYNCED;
        }
        let incoming = match translated_kept {
            true => None,
            false => rule.incoming(&received, input.target)?,
        };
        let Some(mut mapped) = incoming else {
            // The rules keep this field as it is here; remember what was sent.
            let here = input.local.map(|l| rule.current(l));
            let local = match (&received, &here) {
                // The other side has nothing and ours cannot go (a
                // priority): ours counts as changed, so it travels there.
                (FieldValue::Empty, Some(here)) if *here != FieldValue::Empty => UNSYNCED,
                _ => base.map_or_else(|| here.map_or(0, |h| h.fingerprint()), |b| b.local),
            };
            state.set_field(field, rfp, local);
            continue;
        };
        if let FieldValue::Rich(text) = &mapped
            && let Some(here) = input.localized(text)
        {
            mapped = FieldValue::Rich(here);
        }
        let mfp = mapped.fingerprint();
        if field == "issue_type" && mapped != received {
            plan.notes.push(format!(
                "issue type {} is not in {}; using {}",
                received.preview(),
                input.target.key,
                mapped.preview()
            ));
        }
        let mut travels_back = false;
        let write = match input.local {
            None => true,
            Some(local) => {
                let current = rule.current(local);
                let cfp = current.fingerprint();
                if rule.lands_only_when_empty(input.target) && current != FieldValue::Empty {
                    // Ours is set and stays; remember what was sent.
                    state.set_field(field, rfp, cfp);
                    false
                } else if cfp == mfp {
                    state.set_field(field, rfp, cfp); // already equal
                    false
                } else if base.as_ref().is_some_and(|b| b.local == cfp) {
                    true // only the remote side changed
                } else if let Some(both) = base.as_ref().and_then(|_| union(&mapped, &current)) {
                    // Both sides changed a set: it merges rather than
                    // conflicts, keeping what either side has; the merged
                    // set then travels back.
                    mapped = both;
                    travels_back = true;
                    true
                } else if let (None, Some(source)) = (&base, input.options.source) {
                    // Just connected: the issue connected from wins.
                    if source == Winner::Local {
                        state.set_field(field, rfp, UNSYNCED);
                    }
                    source == Winner::Remote
                } else {
                    let winner = input
                        .options
                        .policy
                        .decide((input.replica.updated, rfp), (local.updated, cfp));
                    plan.conflicts.push(Conflict {
                        subject: field.to_owned(),
                        remote: received.clone(),
                        local: current,
                        base: input.previous.and_then(|p| rule.received(p)),
                        winner,
                    });
                    if winner == Winner::Local {
                        // Keep ours; it counts as changed, so it travels back.
                        state.set_field(field, rfp, UNSYNCED);
                    }
                    winner == Winner::Remote
                }
            }
        };
        if write {
            // Test Run shows which rule produced a value beyond Basic.
            if let Some(target_field) = rule.target_field(input.target) {
                plan.notes.push(format!(
                    "rule {field:?}: their {} → {target_field} {}",
                    received.preview(),
                    mapped.preview()
                ));
            }
            rule.write_to(&mapped, input.target, &mut update);
            bases.push(FieldBase {
                field: field.to_owned(),
                remote: rfp,
                local: if travels_back {
                    UNSYNCED
                } else {
                    mapped.fingerprint()
                },
            });
        }
    }
    match input.local {
        None => {
            if update.summary.is_none() {
                update.summary = Some(input.replica.summary.clone());
            }
            if update.issue_type.is_none() {
                let wanted = FieldValue::Text(input.replica.issue_type.clone());
                let resolved = crate::rules::IssueTypeRule;
                use crate::rules::SyncRule;
                if let Some(FieldValue::Text(t)) = resolved.incoming(&wanted, input.target)? {
                    update.issue_type = Some(t);
                }
            }
            plan.ops.push(Op::CreateIssue {
                project: input.target.key.clone(),
                fields: update,
                bases,
                header: None,
            });
        }
        Some(_) if !update.is_empty() => plan.ops.push(Op::UpdateIssue { update, bases }),
        Some(_) => {}
    }
    Ok(())
}

/// Two sets (lists, or nothing) joined, sorted; `None` unless both are sets
/// and at least one holds something.
fn union(a: &FieldValue, b: &FieldValue) -> Option<FieldValue> {
    let items = |v: &FieldValue| match v {
        FieldValue::List(items) => Some(items.clone()),
        FieldValue::Empty => Some(Vec::new()),
        _ => None,
    };
    let mut all = items(a)?;
    all.extend(items(b)?);
    all.sort();
    all.dedup();
    (!all.is_empty()).then_some(FieldValue::List(all))
}
