//! What comments say, attribution headers left out: for tests about what
//! travels, not about who is named.

use crate::model::{Comment, Issue};
use crate::rules::attribution::any_marker;

/// The plain text of a comment, without the attribution header its marker
/// recorded (of any connection), when it still starts with it.
pub fn said(comment: &Comment) -> String {
    any_marker(&comment.properties)
        .and_then(|m| m.header)
        .and_then(|h| h.strip(&comment.body))
        .unwrap_or_else(|| comment.body.clone())
        .to_plain_text()
}

/// The attribution header a comment still starts with (of any connection), as text.
pub fn attribution(comment: &Comment) -> Option<String> {
    let header = any_marker(&comment.properties)?.header?;
    header.strip(&comment.body).map(|_| header.text())
}

/// [`said`] of each comment of `issue`, oldest first.
pub fn said_all(issue: &Issue) -> Vec<String> {
    issue.comments.iter().map(said).collect()
}

/// The account ids of the mentions in `text`, in order (repeats kept).
pub fn mentions(text: &crate::model::RichText) -> Vec<String> {
    fn walk(v: &serde_json::Value, out: &mut Vec<String>) {
        if v["type"] == "mention" {
            out.push(v["attrs"]["id"].as_str().unwrap_or("").to_owned());
        }
        for c in v["content"].as_array().into_iter().flatten() {
            walk(c, out);
        }
    }
    let mut out = Vec::new();
    if let crate::model::RichText::Adf(doc) = text {
        walk(doc, &mut out);
    }
    out
}
