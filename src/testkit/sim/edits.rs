//! How the simulated users edit a comment: a new text after the comment's
//! identity, keeping a copy's attribution header half of the time (as a user
//! who edits below it) and removing it otherwise; and how they write a
//! description: text, half the time showing one of the issue's attachments.

use std::collections::HashSet;

use serde_json::{Value, json};

use crate::model::{Comment, Issue, RichText};
use crate::testkit::said::{attribution, said};

use super::{Rng, identity};

/// The edited body of `c`, the `n`th fresh edit; records in `headless` the
/// identity of a comment whose header the edit removed.
pub(crate) fn edited_body(c: &Comment, n: u64, headless: &mut HashSet<String>) -> RichText {
    let id = identity(&said(c));
    let text = format!("{id}.e{n}");
    if attribution(c).is_none() {
        return RichText::plain(text);
    }
    if n % 2 == 1 {
        headless.insert(id);
        return RichText::plain(text);
    }
    // Below the header: the first block stays as it is.
    match &c.body {
        RichText::Adf(doc) => {
            let mut doc = doc.clone();
            let first = doc
                .get("content")
                .and_then(Value::as_array)
                .and_then(|c| c.first())
                .cloned();
            doc["content"] = json!([
                first,
                {"type": "paragraph", "content": [{"type": "text", "text": text}]}
            ]);
            RichText::Adf(doc)
        }
        other => {
            let plain = other.to_plain_text();
            let first = plain.split('\n').next().unwrap_or_default();
            RichText::plain(format!("{first}\n{text}"))
        }
    }
}

/// A new description `text {n}` for `issue`: half the time (when it has
/// attachments) it also shows one of them as an image, in the neutral form,
/// so that both sides edit text around images and the planner's image guard
/// is exercised.
pub(in crate::testkit) fn description(rng: &mut Rng, issue: &Issue, n: u64) -> RichText {
    let text = format!("text {n}");
    if issue.attachments.is_empty() || !rng.chance(0.5) {
        return RichText::plain(text);
    }
    let shown = &issue.attachments[rng.below(issue.attachments.len())].id;
    RichText::Adf(json!({"type": "doc", "version": 1, "content": [
        {"type": "paragraph", "content": [{"type": "text", "text": text}]},
        {"type": "mediaSingle", "attrs": {"layout": "center"}, "content": [
            {"type": "media", "attrs": {"type": "file", "attachment": shown.as_str()}}]}
    ]}))
}
