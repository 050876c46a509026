//! Comments and attachments as sets keyed by identity.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use crate::model::{Comment, CommentId, ConnectionId, RichText};
use crate::replica::{FieldValue, Marker, ReplicaComment, rich_fingerprint};
use crate::rules::attribution::{local_comment_body, recorded_header};
use crate::rules::without_mentions;

use super::state::UNSYNCED;
use super::{
    AttachmentLink, CommentLink, Conflict, Op, Plan, PlanInput, Refusal, TwinState, Winner,
};

/// Decides a comment both sides changed differently; returns whether the remote body is written.
fn comment_conflict(
    input: &PlanInput<'_>,
    plan: &mut Plan,
    rc: &ReplicaComment,
    rfp: u64,
    lc: &Comment,
    lfp: u64,
) -> Winner {
    let winner = input
        .options
        .policy
        .decide((rc.updated, rfp), (lc.updated, lfp));
    plan.conflicts.push(Conflict {
        subject: format!("comment {}", rc.id),
        remote: FieldValue::Rich(rc.body.clone()),
        local: FieldValue::Rich(local_comment_body(lc, input.connection).into_owned()),
        base: None,
        winner,
    });
    winner
}

/// A remote comment's body as written here (mentions mapped), with its fingerprint.
struct Here<'a> {
    body: Cow<'a, RichText>,
    fp: u64,
}

/// The fingerprint of a local comment's body, a copy's header left out.
fn local_fp(lc: &Comment, connection: &ConnectionId) -> u64 {
    rich_fingerprint(&local_comment_body(lc, connection))
}

fn update_op(
    input: &PlanInput<'_>,
    lc: &Comment,
    rc: &ReplicaComment,
    rfp: u64,
    here: &Here<'_>,
) -> Op {
    Op::UpdateComment {
        local: lc.id.clone(),
        origin: rc.id.clone(),
        body: here.body.clone().into_owned(),
        // The copy keeps the header it was written with, if it still has it.
        header: recorded_header(lc, input.connection),
        remote_fp: rfp,
        local_fp: here.fp,
    }
}

/// Whether the local comment `lc` says what `here` says, up to who each
/// mention names: a copy of a comment whose mentions the other side wrote as
/// text (or mapped), seen again when no link records it (a lost store).
fn same_but_mentions(input: &PlanInput<'_>, lc: &Comment, here: &Here<'_>) -> bool {
    let Some(users) = input.users else {
        return false;
    };
    let names = users
        .iter()
        .map(|(_, ours)| (ours.id.clone(), ours.display_name.clone()))
        .collect();
    without_mentions(&local_comment_body(lc, input.connection), &names)
        == without_mentions(&here.body, &names)
}

pub(super) fn merge_comments(input: &PlanInput<'_>, state: &mut TwinState, plan: &mut Plan) {
    let replica = input.replica;
    let local_comments: Vec<Comment> = input.local.map(|l| l.comments.clone()).unwrap_or_default();
    let local_by_id: HashMap<&CommentId, &Comment> =
        local_comments.iter().map(|c| (&c.id, c)).collect();
    let remote_ids: HashSet<&CommentId> = replica.comments.iter().map(|c| &c.id).collect();
    // Local comments that carry this connection's marker, by the remote
    // comment they copy: the first (in order) when a stalled worker made a
    // second copy.
    let mut marked: HashMap<CommentId, &Comment> = HashMap::new();
    for c in &local_comments {
        if let Some(origin) =
            Marker::find(&c.properties, input.connection).and_then(|m| m.origin_comment)
        {
            marked.entry(origin).or_insert(c);
        }
    }
    drop_superseded_links(replica, &local_by_id, &marked, &remote_ids, state);
    let mut linked_local: HashSet<CommentId> =
        state.comments.iter().map(|c| c.local.clone()).collect();
    // The first remote comment (in order) that copies each comment of ours:
    // a later one copying the same comment is a second copy.
    let mut first_copies: HashMap<&CommentId, &CommentId> = HashMap::new();
    for rc in &replica.comments {
        if let Some(original) = &rc.mirror_of {
            first_copies.entry(original).or_insert(&rc.id);
        }
    }

    for (i, rc) in replica.comments.iter().enumerate() {
        let rfp = input
            .fingerprints
            .comments
            .get(i)
            .copied()
            .unwrap_or_else(|| rich_fingerprint(&rc.body));
        let here = match input.localized(&rc.body) {
            Some(body) => Here {
                fp: rich_fingerprint(&body),
                body: Cow::Owned(body),
            },
            None => Here {
                body: Cow::Borrowed(&rc.body),
                fp: rfp,
            },
        };
        if let Some(pos) = state.comments.iter().position(|l| l.remote == rc.id) {
            let link = state.comments[pos].clone();
            if link.remote_fp == rfp {
                continue; // unchanged there
            }
            match local_by_id.get(&link.local) {
                None => {
                    // Edited there, deleted here: the edit is kept by copying it
                    // again (unless a copy exists already: adopted below).
                    plan.notes.push(format!(
                        "comment {} was edited there but deleted here; copying it again",
                        rc.id
                    ));
                    state.comments.remove(pos);
                    linked_local.remove(&link.local);
                }
                Some(lc) => {
                    let lfp = local_fp(lc, input.connection);
                    if lfp == here.fp {
                        state.comments[pos].remote_fp = rfp;
                        state.comments[pos].local_fp = lfp;
                    } else if lfp == link.local_fp
                        || comment_conflict(input, plan, rc, rfp, lc, lfp) == Winner::Remote
                    {
                        plan.ops.push(update_op(input, lc, rc, rfp, &here));
                    } else {
                        // Ours is kept and counts as changed, so it travels back.
                        state.comments[pos].remote_fp = rfp;
                        state.comments[pos].local_fp = UNSYNCED;
                    }
                    continue;
                }
            }
        }
        // Not linked: is it a copy of ours, or did we copy it already?
        let adopt = claimed(rc, &local_by_id, &marked)
            .or_else(|| {
                if !input.options.match_existing {
                    return None;
                }
                local_comments.iter().find(|lc| {
                    !linked_local.contains(&lc.id)
                        && lc.author.display_name == rc.author
                        && local_fp(lc, input.connection) == here.fp
                })
            })
            .filter(|lc| !linked_local.contains(&lc.id));
        if adopt.is_none()
            && let Some(original) = rc.mirror_of.as_ref()
            && linked_local.contains(original)
        {
            // A second copy of a comment of ours (made by a worker that
            // stalled past its lease): not a comment to copy back; the other
            // direction deletes it.
            plan.notes.push(format!(
                "comment {} is a second copy of comment {original}; not copied back",
                rc.id
            ));
            continue;
        }
        if adopt.is_none()
            && let Some(original) = rc.mirror_of.as_ref()
            && first_copies.get(original) != Some(&&rc.id)
        {
            // A second copy of a comment of ours that is gone, or whose
            // link was lost with a store: the first copy stands for it.
            plan.notes.push(format!(
                "comment {} is a second copy of comment {original}; not copied back",
                rc.id
            ));
            continue;
        }
        match adopt {
            Some(lc) => {
                let lfp = local_fp(lc, input.connection);
                linked_local.insert(lc.id.clone());
                let mut link = CommentLink {
                    remote: rc.id.clone(),
                    local: lc.id.clone(),
                    remote_fp: rfp,
                    local_fp: lfp,
                };
                if lfp != here.fp && !same_but_mentions(input, lc, &here) {
                    // Unknown base: the issue connected from wins, or decide
                    // as a conflict.
                    let winner = match input.options.source {
                        Some(source) => source,
                        None => comment_conflict(input, plan, rc, rfp, lc, lfp),
                    };
                    if winner == Winner::Remote {
                        link.local_fp = here.fp;
                        state.comments.push(link);
                        plan.ops.push(update_op(input, lc, rc, rfp, &here));
                        continue;
                    }
                    link.local_fp = UNSYNCED; // ours counts as changed and travels back
                }
                state.comments.push(link);
            }
            None => plan.ops.push(add_op(input, rc, rfp, here)),
        }
    }

    let seconds = second_copies(input, state, plan);
    plan.ops.extend(seconds);

    // Synced comments deleted there.
    let mut deletions = Vec::new();
    let synced = state.comments.len();
    state.comments.retain(|link| {
        if remote_ids.contains(&link.remote) {
            return true;
        }
        match local_by_id.get(&link.local) {
            None => false, // gone on both sides
            Some(lc) if local_fp(lc, input.connection) == link.local_fp => {
                deletions.push(Op::DeleteComment {
                    local: link.local.clone(),
                    origin: link.remote.clone(),
                });
                true // the link goes when the deletion is done
            }
            Some(_) => {
                plan.notes.push(format!(
                    "comment {} was deleted there but edited here; keeping it here",
                    link.local
                ));
                false
            }
        }
    });
    let forgotten: HashSet<CommentId> = guard(input, plan, deletions, synced, "comments")
        .into_iter()
        .filter_map(|op| match op {
            Op::DeleteComment { origin, .. } => Some(origin),
            _ => None,
        })
        .collect();
    state.comments.retain(|l| !forgotten.contains(&l.remote));
}

/// Deletes the second copies of a remote comment here: comments that carry
/// this connection's marker for the same remote comment as the one linked to
/// it (a worker that stalled past its lease may send a copy another worker
/// made already, possibly of an older body). Such a copy is twinsync's own,
/// never linked, so no edit of it would travel anywhere. When no comment
/// here is linked to that remote comment (it is gone, or the links were
/// lost with a store), the first copy in order is kept and the later ones
/// are deleted.
pub(super) fn second_copies(input: &PlanInput<'_>, state: &TwinState, plan: &mut Plan) -> Vec<Op> {
    let local_comments: &[Comment] = input.local.map_or(&[], |l| &l.comments);
    let mut ops = Vec::new();
    let linked_remote: HashSet<&CommentId> = state.comments.iter().map(|l| &l.remote).collect();
    let linked_local: HashSet<&CommentId> = state.comments.iter().map(|l| &l.local).collect();
    let origin_of =
        |c: &Comment| Marker::find(&c.properties, input.connection).and_then(|m| m.origin_comment);
    // A linked copy is the copy of record; else the first in order.
    let mut first_copies: HashSet<CommentId> = local_comments
        .iter()
        .filter(|c| linked_local.contains(&c.id))
        .filter_map(origin_of)
        .collect();
    for c in local_comments {
        let Some(origin) = origin_of(c) else {
            continue;
        };
        if linked_remote.contains(&origin) || linked_local.contains(&c.id) {
            continue; // handled below, or the copy of record
        }
        if !first_copies.insert(origin.clone()) {
            plan.notes.push(format!(
                "comment {} is a second copy of comment {origin}; deleting it",
                c.id
            ));
            ops.push(Op::DeleteComment {
                local: c.id.clone(),
                origin,
            });
        }
    }
    for link in &state.comments {
        if !local_comments.iter().any(|c| c.id == link.local) {
            continue;
        }
        for extra in local_comments.iter().filter(|c| {
            c.id != link.local
                && !state.comments.iter().any(|l| l.local == c.id)
                && Marker::find(&c.properties, input.connection)
                    .and_then(|m| m.origin_comment)
                    .is_some_and(|origin| origin == link.remote)
        }) {
            plan.notes.push(format!(
                "comment {} is a second copy of comment {}; deleting it",
                extra.id, link.remote
            ));
            ops.push(Op::DeleteComment {
                local: extra.id.clone(),
                origin: link.remote.clone(),
            });
        }
    }
    ops
}

/// The local comment that an unlinked remote comment is, by the markers: the
/// one it copies, or the one that copies it.
fn claimed<'a>(
    rc: &ReplicaComment,
    local_by_id: &HashMap<&CommentId, &'a Comment>,
    marked: &HashMap<CommentId, &'a Comment>,
) -> Option<&'a Comment> {
    rc.mirror_of
        .as_ref()
        .and_then(|id| local_by_id.get(id).copied())
        .or_else(|| marked.get(&rc.id).copied())
}

/// Drops the links that markers show to be superseded: a link from a local
/// comment to a remote comment that is gone, when another remote comment is
/// that local comment's copy or original. Such a link was made before the
/// comment was copied again (an edit on one side of a comment deleted on the
/// other) and the record of the new copy was lost (a crash, or an
/// acknowledgement that did not arrive). Kept, it would hold the local
/// comment against its true counterpart, which would then be copied: a
/// duplicate.
fn drop_superseded_links(
    replica: &crate::replica::Replica,
    local_by_id: &HashMap<&CommentId, &Comment>,
    marked: &HashMap<CommentId, &Comment>,
    remote_ids: &HashSet<&CommentId>,
    state: &mut TwinState,
) {
    for rc in &replica.comments {
        if state.comments.iter().any(|l| l.remote == rc.id) {
            continue;
        }
        if let Some(lc) = claimed(rc, local_by_id, marked) {
            state
                .comments
                .retain(|l| l.local != lc.id || remote_ids.contains(&l.remote));
        }
    }
}

fn add_op(input: &PlanInput<'_>, rc: &ReplicaComment, rfp: u64, here: Here<'_>) -> Op {
    // A copy twinsync made names its author already: it gets no second header.
    let header = match input.rules.comment_attribution() {
        Some(template) if !rc.attributed => {
            Some(template.render(&rc.author, &input.replica.origin))
        }
        _ => None,
    };
    Op::AddComment {
        origin: rc.id.clone(),
        author: rc.author.clone(),
        body: here.body.into_owned(),
        header,
        remote_fp: rfp,
        local_fp: here.fp,
    }
}

/// Adds `deletions` to the plan unless the guard refuses them; returns the
/// refused deletions a user dismissed (their links are to be dropped).
fn guard(
    input: &PlanInput<'_>,
    plan: &mut Plan,
    deletions: Vec<Op>,
    synced: usize,
    items: &'static str,
) -> Vec<Op> {
    if input.options.allow_mass_deletion || !input.options.guard.refuses(deletions.len(), synced) {
        plan.ops.extend(deletions);
        return Vec::new();
    }
    if input.options.forget_refused {
        plan.notes.push(format!(
            "{} of {synced} {items} were deleted there; dismissed: kept here, no longer linked",
            deletions.len()
        ));
        return deletions;
    }
    plan.refusals.push(Refusal {
        items,
        would_delete: deletions.len(),
        synced,
    });
    Vec::new()
}

pub(super) fn merge_attachments(input: &PlanInput<'_>, state: &mut TwinState, plan: &mut Plan) {
    let replica = input.replica;
    let local_attachments = input
        .local
        .map(|l| l.attachments.as_slice())
        .unwrap_or_default();
    let mut linked_local: HashSet<_> = state.attachments.iter().map(|a| a.local.clone()).collect();
    for (i, ra) in replica.attachments.iter().enumerate() {
        if state.attachments.iter().any(|l| l.remote == ra.id) {
            continue; // attachments are not edited
        }
        let fp = input
            .fingerprints
            .attachments
            .get(i)
            .copied()
            .unwrap_or_else(|| ra.fingerprint());
        // The same file (name and size) here and not synced yet: link it.
        let same = local_attachments.iter().find(|la| {
            !linked_local.contains(&la.id)
                && crate::replica::attachment_fingerprint(&la.file_name, la.size) == fp
        });
        match same {
            Some(la) => {
                linked_local.insert(la.id.clone());
                state.attachments.push(AttachmentLink {
                    remote: ra.id.clone(),
                    local: la.id.clone(),
                    fp,
                });
            }
            None => plan.ops.push(Op::AddAttachment {
                origin: ra.id.clone(),
                file_name: ra.file_name.clone(),
                mime_type: ra.mime_type.clone(),
                size: ra.size,
                fp,
            }),
        }
    }
    let remote_ids: HashSet<_> = replica.attachments.iter().map(|a| &a.id).collect();
    let mut deletions = Vec::new();
    let synced = state.attachments.len();
    state.attachments.retain(|link| {
        if remote_ids.contains(&link.remote) {
            return true;
        }
        if local_attachments.iter().any(|la| la.id == link.local) {
            deletions.push(Op::DeleteAttachment {
                local: link.local.clone(),
                origin: link.remote.clone(),
            });
            true
        } else {
            false
        }
    });
    let forgotten: HashSet<_> = guard(input, plan, deletions, synced, "attachments")
        .into_iter()
        .filter_map(|op| match op {
            Op::DeleteAttachment { origin, .. } => Some(origin),
            _ => None,
        })
        .collect();
    state.attachments.retain(|l| !forgotten.contains(&l.remote));
}
