//! Images in planned bodies: ordering, binding, placeholders and the guard.

use super::super::tests::{bug_projects, t};
use super::super::*;
use crate::model::RichText;
use crate::model::media::{MediaRef, media_refs};
use crate::testkit::ids as lit;
use crate::testkit::plan_model::ModelPair;
use serde_json::{Value, json};

fn image(id: &AttachmentId) -> Value {
    json!({"type": "mediaSingle", "attrs": {"layout": "center"}, "content": [
        {"type": "media", "attrs": {"type": "file", "attachment": id.as_str()}}]})
}

fn doc(content: Vec<Value>) -> RichText {
    RichText::Adf(json!({"type": "doc", "version": 1, "content": content}))
}

fn para(text: &str) -> Value {
    json!({"type": "paragraph", "content": [{"type": "text", "text": text}]})
}

/// Every image of `issue`'s bodies names one of its own attachments: their names.
fn shown(issue: &Issue) -> Vec<String> {
    std::iter::once(&issue.description)
        .chain(issue.comments.iter().map(|c| &c.body))
        .flat_map(media_refs)
        .map(|r| match r {
            MediaRef::Attachment(id) => issue
                .attachment(&id)
                .unwrap_or_else(|| panic!("{}: image of a missing attachment {id}", issue.key))
                .file_name
                .clone(),
            other => panic!("{}: an image names no attachment: {other:?}", issue.key),
        })
        .collect()
}

/// A with `shot.png` shown in its description, not synced yet.
fn with_image() -> (ModelPair, AttachmentId) {
    let mut pair = bug_projects();
    pair.a.create("Bug", "Printer on fire", t(0));
    let shot = pair.a.add_attachment("shot.png", 42, t(1)).unwrap();
    pair.a.issue.as_mut().unwrap().description = doc(vec![para("look:"), image(&shot)]);
    (pair, shot)
}

#[test]
fn a_new_twin_is_created_then_uploads_then_its_images_are_written() {
    let (mut pair, _) = with_image();
    pair.a.add_comment(
        &crate::model::UserRef::new(lit::user_id("ann"), "Ann"),
        "plain",
        t(2),
    );
    let plan = pair.plan_a_to_b().unwrap();
    let names: Vec<_> = plan.ops.iter().map(Op::name).collect();
    assert_eq!(
        names,
        [
            "create issue",
            "set origin link",
            "add attachment",
            "update issue",
            "add comment"
        ],
        "{plan}"
    );
    let Op::CreateIssue { fields, .. } = &plan.ops[0] else {
        unreachable!()
    };
    let created = fields.description.as_ref().unwrap();
    assert!(
        media_refs(created).is_empty(),
        "created without the image: {created:?}"
    );
    assert_eq!(created.to_plain_text(), "look:");
    pair.sync_a_to_b(t(3)).unwrap();
    let b = pair.b.issue.clone().unwrap();
    assert_eq!(shown(&b), ["shot.png"], "the twin shows its own copy");
    assert_ne!(
        b.attachments[0].id,
        pair.a.issue.as_ref().unwrap().attachments[0].id
    );
    assert_eq!(pair.sync(t(4)).unwrap(), 0, "no echo");
}

#[test]
fn replicas_name_images_by_file_not_by_id() {
    let (pair, _) = with_image();
    let replica = RuleSet::basic().outgoing(
        pair.a.issue.as_ref().unwrap(),
        crate::replica::Origin {
            instance: crate::model::InstanceUrl::parse("https://a.example").unwrap(),
            project: lit::project("SUP"),
            id: lit::issue_id("1"),
            key: lit::key("SUP-1"),
        },
        &pair.connection,
    );
    assert_eq!(
        media_refs(&replica.description),
        [MediaRef::File {
            file_name: "shot.png".into(),
            size: 42
        }]
    );
    // The same picture under another attachment id reads the same.
    let mut other = pair.a.issue.clone().unwrap();
    let new_id = lit::attachment_id("999");
    other.attachments[0].id = new_id.clone();
    other.description = doc(vec![para("look:"), image(&new_id)]);
    assert_eq!(
        crate::rules::issue_by_file(&other).description,
        replica.description
    );
}

#[test]
fn without_attachment_sync_an_image_becomes_visible_text_and_a_note() {
    let (mut pair, _) = with_image();
    let mut rules = RuleSet::custom();
    rules.set_attachments(false).unwrap();
    pair.rules = rules;
    let plan = pair.sync_a_to_b(t(2)).unwrap();
    let b = pair.b.issue.clone().unwrap();
    assert!(
        media_refs(&b.description).is_empty(),
        "no dangling reference"
    );
    assert_eq!(b.description.to_plain_text(), "look:\n[image: shot.png]");
    assert!(
        plan.notes
            .iter()
            .any(|n| n.contains("shot.png") && n.contains("shown as text")),
        "{:?}",
        plan.notes
    );
    // The placeholder does not travel back over the original image.
    for minute in 3..6 {
        pair.sync(t(minute)).unwrap();
    }
    assert_eq!(shown(pair.a.issue.as_ref().unwrap()), ["shot.png"]);
    assert_eq!(pair.sync(t(7)).unwrap(), 0, "converged");
}

#[test]
fn an_edit_there_never_drops_an_image_held_here_that_was_not_removed_there() {
    let (mut pair, _) = with_image();
    pair.sync(t(2)).unwrap();
    // B adds an image of its own; A edits the text (its replica lacks B's image).
    let b = pair.b.issue.as_mut().unwrap();
    let own = lit::attachment_id("7777");
    b.attachments.push(crate::model::AttachmentMeta {
        id: own.clone(),
        file_name: "mine.png".into(),
        mime_type: "image/png".into(),
        size: 7,
        sha256: None,
        created: t(3),
        author: crate::model::UserRef::new(lit::user_id("bo"), "Bo"),
    });
    let kept = b.description.clone();
    let mut content = kept.to_adf()["content"].as_array().unwrap().clone();
    content.push(image(&own));
    b.description = doc(content);
    b.updated = t(3);
    let a = pair.a.issue.as_mut().unwrap();
    let shot = a.attachments[0].id.clone();
    a.description = doc(vec![para("look again:"), image(&shot)]);
    a.updated = t(4);
    let plan = pair.sync_a_to_b(t(5)).unwrap();
    let b = pair.b.issue.clone().unwrap();
    assert_eq!(shown(&b), ["shot.png", "mine.png"], "{plan}");
    assert!(b.description.to_plain_text().starts_with("look again:"));
    assert!(
        plan.notes
            .iter()
            .any(|n| n.contains("mine.png") && n.contains("kept")),
        "{:?}",
        plan.notes
    );
}

#[test]
fn an_image_the_other_side_removed_goes() {
    let (pair, shot) = with_image();
    let mut pair = pair;
    pair.sync(t(2)).unwrap();
    let before = pair.a.issue.clone().unwrap();
    let a = pair.a.issue.as_mut().unwrap();
    a.description = doc(vec![para("no picture")]);
    a.updated = t(3);
    let _ = shot;
    // Plan with the previous replica, as the engine gives it.
    let rules = RuleSet::basic();
    let origin = crate::replica::Origin {
        instance: crate::model::InstanceUrl::parse("https://a.example").unwrap(),
        project: before.project.clone(),
        id: before.id.clone(),
        key: before.key.clone(),
    };
    let previous = rules.outgoing(&before, origin.clone(), &pair.connection);
    let replica = rules.outgoing(pair.a.issue.as_ref().unwrap(), origin, &pair.connection);
    let fingerprints = rules.fingerprints(&replica);
    let input = PlanInput {
        connection: &pair.connection,
        replica: &replica,
        fingerprints: &fingerprints,
        previous: Some(&previous),
        local: pair.b.issue.as_ref(),
        state: pair.state.as_ref(),
        target: &pair.b.project,
        rules: &rules,
        options: PlanOptions::default(),
        users: None,
        issues: None,
    };
    let removed = plan(&input).unwrap();
    let Some(Op::UpdateIssue { update, .. }) = removed.ops.first() else {
        panic!("{removed}");
    };
    assert_eq!(
        update.description.as_ref().unwrap().to_plain_text(),
        "no picture"
    );
    assert!(removed.notes.is_empty(), "{:?}", removed.notes);
    // Without the previous replica, the twin state shows it: B still holds
    // what was synced, so the image was removed there.
    let without_previous = plan(&PlanInput {
        previous: None,
        ..input
    })
    .unwrap();
    let Some(Op::UpdateIssue { update, .. }) = without_previous.ops.first() else {
        panic!("{without_previous}");
    };
    assert!(media_refs(update.description.as_ref().unwrap()).is_empty());
}

/// A with `shot.png` shown and `more.png` attached, synced to B; then B
/// shows its copy of `more.png` while A edits its text (later, so A wins).
fn both_edit_around_images() -> ModelPair {
    let (mut pair, _) = with_image();
    pair.a.add_attachment("more.png", 9, t(2)).unwrap();
    pair.sync(t(3)).unwrap();
    let b = pair.b.issue.as_mut().unwrap();
    let more = b.attachments.iter().find(|a| a.file_name == "more.png");
    let more = more.unwrap().id.clone();
    let mut content = b.description.to_adf()["content"]
        .as_array()
        .unwrap()
        .clone();
    content.push(image(&more));
    b.description = doc(content);
    b.updated = t(4);
    let a = pair.a.issue.as_mut().unwrap();
    let shot = a.attachments[0].id.clone();
    a.description = doc(vec![para("look again:"), image(&shot)]);
    a.updated = t(5);
    pair
}

#[test]
fn an_image_kept_here_travels_back_to_the_other_side() {
    let mut pair = both_edit_around_images();
    let plan = pair.sync_a_to_b(t(6)).unwrap();
    assert_eq!(
        shown(pair.b.issue.as_ref().unwrap()),
        ["shot.png", "more.png"],
        "{plan}"
    );
    for minute in 7..10 {
        pair.sync(t(minute)).unwrap();
    }
    let (a, b) = (pair.a.issue.clone().unwrap(), pair.b.issue.clone().unwrap());
    assert_eq!(
        shown(&a),
        ["shot.png", "more.png"],
        "the kept image reached A"
    );
    assert_eq!(
        crate::rules::issue_by_file(&a).description,
        crate::rules::issue_by_file(&b).description
    );
    assert!(a.description.to_plain_text().starts_with("look again:"));
    assert_eq!(pair.sync(t(11)).unwrap(), 0, "converged");
}

#[test]
fn an_image_of_an_attachment_the_other_side_deleted_is_not_kept() {
    let mut pair = both_edit_around_images();
    let a = pair.a.issue.as_mut().unwrap();
    a.attachments.retain(|x| x.file_name != "more.png");
    let plan = pair.sync_a_to_b(t(6)).unwrap();
    assert!(
        plan.ops
            .iter()
            .any(|op| matches!(op, Op::DeleteAttachment { .. })),
        "{plan}"
    );
    let b = pair.b.issue.clone().unwrap();
    assert_eq!(
        shown(&b),
        ["shot.png"],
        "no image of the deleted file: {plan}"
    );
    assert!(
        !plan.notes.iter().any(|n| n.contains("kept")),
        "{:?}",
        plan.notes
    );
    for minute in 7..10 {
        pair.sync(t(minute)).unwrap();
    }
    assert_eq!(shown(pair.a.issue.as_ref().unwrap()), ["shot.png"]);
    assert_eq!(pair.sync(t(11)).unwrap(), 0, "converged");
}
