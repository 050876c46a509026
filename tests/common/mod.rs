//! Helpers shared by several integration tests.

// Each test crate uses a part of this module.
#![allow(dead_code)]

pub mod http;
pub mod jira_spec;

use serde_json::json;
use twinsync::model::RichText;

/// A description or comment with the elements twinsync converts, as a user
/// would write it.
pub fn rich_text() -> RichText {
    RichText::adf(json!({"type": "doc", "version": 1, "content": [
        {"type": "heading", "attrs": {"level": 2}, "content": [{"type": "text", "text": "Steps"}]},
        {"type": "paragraph", "content": [
            {"type": "text", "text": "Open "},
            {"type": "text", "text": "the tray", "marks": [{"type": "strong"}]},
            {"type": "text", "text": ", see "},
            {"type": "text", "text": "the docs", "marks": [{"type": "link", "attrs": {"href": "https://example.com/docs"}}]},
            {"type": "hardBreak"},
            {"type": "mention", "attrs": {"id": "ada", "text": "@Ada"}}
        ]},
        {"type": "bulletList", "content": [
            {"type": "listItem", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "one"}]}]}
        ]},
        {"type": "codeBlock", "attrs": {"language": "rust"}, "content": [{"type": "text", "text": "fn main() {}"}]}
    ]}))
    .expect("a valid document")
}
