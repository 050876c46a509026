//! How the simulated users edit a comment: a new text after the comment's
//! identity, keeping a copy's attribution header half of the time (as a user
//! who edits below it) and removing it otherwise.

use std::collections::HashSet;

use serde_json::{Value, json};

use crate::model::{Comment, RichText};
use crate::testkit::said::{attribution, said};

use super::identity;

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
