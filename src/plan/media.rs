//! Images in the bodies a plan writes (see [`model::media`](crate::model::media)).
//!
//! After the merges, every body a plan writes is in the file form of the
//! replica. This pass makes each image show on this side:
//!
//! - a reference to an attachment this side has, or gets in the same plan,
//!   stays; the ones it has are bound to their ids here, the ones it gets are
//!   bound by the executor ([`bind_media`]) once uploaded;
//! - the uploads run before the body writes that need them; a new twin is
//!   created without those images and an update adds them after the uploads;
//! - a reference this side cannot show becomes the visible placeholder text
//!   and a note, never a reference to nothing;
//! - the guard: a body never drops an image the target holds unless the
//!   remote side removed it: the target still holds what was last synced
//!   (its fingerprint is the base), the previous replica had the image and
//!   the new one does not, or the remote side deleted its attachment (never
//!   kept: the plan deletes it here too). Jira may delete an attachment whose
//!   last reference goes, so such an image is kept (in place of its
//!   placeholder, or appended) with a note, and the text then counts as
//!   changed here, so that it travels back and the twins converge.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value, json};

use crate::model::media::{
    MediaAction, MediaRef, WIKI_FILE_COLLECTION, map_media, media_refs, placeholder,
};
use crate::model::{AttachmentId, Issue, RichText};
use crate::replica::{FieldValue, attachment_fingerprint, rich_fingerprint};

use super::state::UNSYNCED;
use super::{FieldBase, Op, Plan, PlanInput, TwinState};

const DESCRIPTION: &str = "description";

fn file_key(r: &MediaRef) -> Option<(String, u64)> {
    match r {
        MediaRef::File { file_name, size } => Some((file_name.clone(), *size)),
        _ => None,
    }
}

fn files(text: &RichText) -> Vec<(String, u64)> {
    media_refs(text).iter().filter_map(file_key).collect()
}

/// What the receiving side has or gets, by attachment fingerprint.
struct Here<'a> {
    local: HashMap<u64, AttachmentId>,
    pending: HashSet<u64>,
    target: Option<&'a Issue>,
}

impl Here<'_> {
    fn shows(&self, name: &str, size: u64) -> bool {
        let fp = attachment_fingerprint(name, size);
        self.local.contains_key(&fp) || self.pending.contains(&fp)
    }

    fn needs_upload(&self, text: &RichText) -> bool {
        files(text).iter().any(|(n, s)| {
            let fp = attachment_fingerprint(n, *s);
            !self.local.contains_key(&fp) && self.pending.contains(&fp)
        })
    }
}

pub(super) fn settle(input: &PlanInput<'_>, state: &mut TwinState, plan: &mut Plan) {
    let target = input.local;
    let mut here = Here {
        local: HashMap::new(),
        pending: HashSet::new(),
        target,
    };
    // The attachments this plan deletes here (the other side removed them)
    // show nothing once it ran: no body is bound to them.
    let deleting: HashSet<&AttachmentId> = plan
        .ops
        .iter()
        .filter_map(|op| match op {
            Op::DeleteAttachment { local, .. } => Some(local),
            _ => None,
        })
        .collect();
    for a in target.map(|t| t.attachments.as_slice()).unwrap_or_default() {
        if deleting.contains(&a.id) {
            continue;
        }
        here.local
            .entry(attachment_fingerprint(&a.file_name, a.size))
            .or_insert_with(|| a.id.clone());
    }
    for op in &plan.ops {
        if let Op::AddAttachment { fp, .. } = op {
            here.pending.insert(*fp);
        }
    }
    let previous = input.previous;
    let removed_there = removed_there(input);
    let mut follow_up = None;
    let mut notes = Vec::new();
    let mut ops = std::mem::take(&mut plan.ops);
    ops.retain_mut(|op| match op {
        Op::CreateIssue { fields, bases, .. } => {
            let Some(body) = fields.description.take() else {
                return true;
            };
            let body = shown(&body, &here, "the description", &mut notes);
            let fp = FieldValue::Rich(body.clone()).fingerprint();
            let base = bases.iter_mut().find(|b| b.field == DESCRIPTION);
            if here.needs_upload(&body) {
                // Created without the images it still needs; an update after
                // the uploads adds them.
                let without = map_media(&body, &mut |attrs| match file_key(&MediaRef::of_attrs(
                    attrs,
                )) {
                    Some((n, s)) if !here.local.contains_key(&attachment_fingerprint(&n, s)) => {
                        MediaAction::Remove
                    }
                    _ => MediaAction::Keep,
                });
                let remote = base.as_ref().map_or(UNSYNCED, |b| b.remote);
                if let Some(b) = base {
                    b.remote = UNSYNCED;
                    b.local = FieldValue::Rich(without.clone()).fingerprint();
                }
                fields.description = Some(bind(&without, &here));
                follow_up = Some(Op::UpdateIssue {
                    update: crate::tracker::IssueUpdate::new().description(bind(&body, &here)),
                    bases: vec![FieldBase {
                        field: DESCRIPTION.into(),
                        remote,
                        local: fp,
                    }],
                });
            } else {
                if let Some(b) = base {
                    b.local = fp;
                }
                fields.description = Some(bind(&body, &here));
            }
            true
        }
        Op::UpdateIssue { update, bases } => {
            let Some(body) = update.description.take() else {
                return true;
            };
            let held = target.map(|t| &t.description);
            let before = previous.map(|p| &p.description);
            // The target still holds what was synced: what the new body drops
            // was removed there.
            let synced = held.is_some_and(|h| {
                let fp = FieldValue::Rich(h.clone()).fingerprint();
                input
                    .state
                    .and_then(|s| s.field(DESCRIPTION))
                    .is_some_and(|b| b.local == fp)
            });
            let (body, kept) = if synced {
                (body, false)
            } else {
                let seen = Seen {
                    held,
                    before,
                    removed_there: &removed_there,
                };
                guarded(&body, &seen, "the description", &mut notes)
            };
            // Images kept here make this text differ from the other side's:
            // it counts as changed here, so it travels back.
            let written = |fp| if kept { UNSYNCED } else { fp };
            let body = shown(&body, &here, "the description", &mut notes);
            let fp = FieldValue::Rich(body.clone()).fingerprint();
            let base = bases.iter().position(|b| b.field == DESCRIPTION);
            if held.is_some_and(|h| FieldValue::Rich(h.clone()).fingerprint() == fp) {
                // Nothing left to write: the images kept make it what is here.
                if let Some(i) = base {
                    let b = bases.remove(i);
                    state.set_field(DESCRIPTION, b.remote, written(fp));
                }
                return !update.is_empty();
            }
            if let Some(i) = base {
                bases[i].local = written(fp);
            }
            update.description = Some(bind(&body, &here));
            true
        }
        Op::AddComment { body, local_fp, .. } => {
            let shown_body = shown(body, &here, "a comment", &mut notes);
            *local_fp = rich_fingerprint(&shown_body);
            *body = bind(&shown_body, &here);
            true
        }
        Op::UpdateComment {
            local,
            origin,
            body,
            remote_fp,
            local_fp,
            ..
        } => {
            let held = target.and_then(|t| t.comment(local)).map(|c| &c.body);
            let before = previous
                .and_then(|p| p.comments.iter().find(|c| &c.id == origin))
                .map(|c| &c.body);
            let what = format!("comment {origin}");
            let synced = held.is_some_and(|h| {
                let fp = rich_fingerprint(h);
                input.state.is_some_and(|s| {
                    s.comments
                        .iter()
                        .any(|l| &l.local == local && l.local_fp == fp)
                })
            });
            let (new, kept) = if synced {
                (body.clone(), false)
            } else {
                let seen = Seen {
                    held,
                    before,
                    removed_there: &removed_there,
                };
                guarded(body, &seen, &what, &mut notes)
            };
            let new = shown(&new, &here, &what, &mut notes);
            let fp = rich_fingerprint(&new);
            // Kept images travel back, as for the description.
            let written = if kept { UNSYNCED } else { fp };
            if held.is_some_and(|h| rich_fingerprint(h) == fp) {
                if let Some(link) = state.comments.iter_mut().find(|l| &l.local == local) {
                    link.remote_fp = *remote_fp;
                    link.local_fp = written;
                }
                return false;
            }
            *local_fp = written;
            *body = bind(&new, &here);
            true
        }
        _ => true,
    });
    let needs = follow_up.is_some()
        || ops.iter().any(|op| match op {
            Op::UpdateIssue { update, .. } => update
                .description
                .as_ref()
                .is_some_and(|d| here.needs_upload(d)),
            Op::AddComment { body, .. } | Op::UpdateComment { body, .. } => here.needs_upload(body),
            _ => false,
        });
    if needs {
        // Uploads first (right after a create), then the writes that show them.
        let (uploads, rest): (Vec<Op>, Vec<Op>) = ops
            .into_iter()
            .partition(|op| matches!(op, Op::AddAttachment { .. }));
        let mut rest = rest.into_iter().peekable();
        ops = Vec::new();
        if let Some(create) = rest.next_if(|op| matches!(op, Op::CreateIssue { .. })) {
            ops.push(create);
        }
        ops.extend(uploads);
        ops.extend(follow_up);
        ops.extend(rest);
    }
    plan.ops = ops;
    plan.notes.extend(notes);
}

/// `body` with each reference this side cannot show replaced by its placeholder.
fn shown(body: &RichText, here: &Here<'_>, what: &str, notes: &mut Vec<String>) -> RichText {
    if !crate::rules::has_media_refs(body) {
        return body.clone();
    }
    map_media(body, &mut |attrs| {
        let name = match MediaRef::of_attrs(attrs) {
            MediaRef::File { file_name, size } if here.shows(&file_name, size) => {
                return MediaAction::Keep;
            }
            MediaRef::File { file_name, .. } => file_name,
            MediaRef::Attachment(id) => format!("attachment {id}"),
            _ if unresolved(attrs) => text_attr(attrs, "alt")
                .or_else(|| text_attr(attrs, "id"))
                .unwrap_or_else(|| "file".into()),
            _ => return MediaAction::Keep,
        };
        notes.push(format!(
            "image {name:?} in {what} is not an attachment here (not synced, or its file is missing); shown as text"
        ));
        MediaAction::Text(placeholder(&name))
    })
}

/// A file node naming no media file and no attachment: a wiki image whose
/// file the issue lacks (its `id` is the file name).
fn unresolved(attrs: &Map<String, Value>) -> bool {
    attrs.get("type").and_then(Value::as_str) == Some("file")
        && (!attrs.contains_key("id")
            || attrs.get("collection").and_then(Value::as_str) == Some(WIKI_FILE_COLLECTION))
}

fn text_attr(attrs: &Map<String, Value>, name: &str) -> Option<String> {
    attrs.get(name).and_then(Value::as_str).map(str::to_owned)
}

/// `body` with the references to attachments this side has bound to their ids.
fn bind(body: &RichText, here: &Here<'_>) -> RichText {
    if here.target.is_none() || !crate::rules::has_media_refs(body) {
        return body.clone();
    }
    map_media(body, &mut |attrs| {
        if let Some((n, s)) = file_key(&MediaRef::of_attrs(attrs))
            && let Some(id) = here.local.get(&attachment_fingerprint(&n, s))
        {
            MediaRef::Attachment(id.clone()).set_on(attrs);
        }
        MediaAction::Keep
    })
}

/// The fingerprints of the attachments the other side removed: linked ones
/// the replica no longer has. An image of one of them is really gone there.
fn removed_there(input: &PlanInput<'_>) -> HashSet<u64> {
    let Some(state) = input.state else {
        return HashSet::new();
    };
    state
        .attachments
        .iter()
        .filter(|l| !input.replica.attachments.iter().any(|a| a.id == l.remote))
        .map(|l| l.fp)
        .collect()
}

/// What the guard knows of one body: the target's (`held`), the remote
/// side's previous one (`before`), and the attachments removed there.
struct Seen<'a> {
    held: Option<&'a RichText>,
    before: Option<&'a RichText>,
    removed_there: &'a HashSet<u64>,
}

/// `body`, keeping each image of the target's body that it drops although
/// the other side did not remove it: its previous body did not hold it
/// either, and its attachment is still there. Says whether it kept any.
fn guarded(
    body: &RichText,
    seen: &Seen<'_>,
    what: &str,
    notes: &mut Vec<String>,
) -> (RichText, bool) {
    let Some(held) = seen.held else {
        return (body.clone(), false);
    };
    let held_files = files(held);
    if held_files.is_empty() {
        return (body.clone(), false);
    }
    let new_files: HashSet<(String, u64)> = files(body).into_iter().collect();
    let dropped_there: HashSet<(String, u64)> = seen
        .before
        .map(files)
        .unwrap_or_default()
        .into_iter()
        .collect();
    let mut out = body.clone();
    let mut kept = HashSet::new();
    for file in held_files {
        if new_files.contains(&file)
            || dropped_there.contains(&file)
            || seen
                .removed_there
                .contains(&attachment_fingerprint(&file.0, file.1))
            || !kept.insert(file.clone())
        {
            continue;
        }
        let block = media_block(held, &file);
        out = restore(&out, &file.0, block);
        notes.push(format!(
            "image {:?} in {what} is kept here: the other side did not remove it",
            file.0
        ));
    }
    let any = !kept.is_empty();
    (out, any)
}

/// The block of `held` that shows `file`: its `mediaSingle` or `mediaGroup`,
/// or a new `mediaSingle` holding its media node.
fn media_block(held: &RichText, file: &(String, u64)) -> Value {
    let shows = |v: &Value| {
        media_refs(&RichText::Adf(json!({"type": "doc", "content": [v]})))
            .iter()
            .any(|r| file_key(r).as_ref() == Some(file))
    };
    let top = held.to_adf();
    let blocks = top
        .get("content")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if let Some(b) = blocks.iter().find(|b| {
        matches!(
            b.get("type").and_then(Value::as_str),
            Some("mediaSingle" | "mediaGroup")
        ) && shows(b)
    }) {
        return b.clone();
    }
    let mut attrs = Map::new();
    MediaRef::File {
        file_name: file.0.clone(),
        size: file.1,
    }
    .set_on(&mut attrs);
    json!({"type": "mediaSingle", "attrs": {"layout": "center"},
           "content": [{"type": "media", "attrs": attrs}]})
}

/// `body` with `block` in place of the placeholder paragraph of `name`, or appended.
fn restore(body: &RichText, name: &str, block: Value) -> RichText {
    let mut doc = body.to_adf();
    let text = placeholder(name);
    if let Some(content) = doc.get_mut("content").and_then(Value::as_array_mut) {
        let is_placeholder = |v: &Value| {
            v.get("type").and_then(Value::as_str) == Some("paragraph")
                && RichText::Adf(json!({"type": "doc", "content": [v]})).to_plain_text() == text
        };
        match content.iter().position(is_placeholder) {
            Some(i) => content[i] = block,
            None => content.push(block),
        }
    }
    RichText::Adf(doc)
}

/// `body` with each file reference bound to this side's copy, by the twin's
/// attachment links (the uploads of the plan ran before); one without a copy
/// becomes its placeholder text. Used by the executor before a body is written.
pub(crate) fn bind_media(body: &RichText, state: &TwinState) -> RichText {
    if !crate::rules::has_media_refs(body) {
        return body.clone();
    }
    map_media(body, &mut |attrs| match MediaRef::of_attrs(attrs) {
        MediaRef::File { file_name, size } => {
            let fp = attachment_fingerprint(&file_name, size);
            match state.attachments.iter().rev().find(|l| l.fp == fp) {
                Some(link) => {
                    MediaRef::Attachment(link.local.clone()).set_on(attrs);
                    MediaAction::Keep
                }
                None => MediaAction::Text(placeholder(&file_name)),
            }
        }
        _ => MediaAction::Keep,
    })
}

#[cfg(test)]
#[path = "media_tests.rs"]
mod tests;
