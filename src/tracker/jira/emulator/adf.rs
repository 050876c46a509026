//! A compact structural check of ADF documents, as Jira Cloud applies before
//! it stores a description or comment: the `doc` root with `version: 1`, known
//! node and mark types, block nodes where blocks go and inline nodes where
//! inline content goes, non-empty text. It is not the full ADF schema (tests
//! check that in strict mode); it refuses what Jira refuses most often.

use serde_json::Value;

/// Every node type of ADF (schema v1).
const NODES: &[&str] = &[
    "blockCard",
    "blockTaskItem",
    "blockquote",
    "bodiedExtension",
    "bodiedSyncBlock",
    "bulletList",
    "caption",
    "codeBlock",
    "date",
    "decisionItem",
    "decisionList",
    "embedCard",
    "emoji",
    "expand",
    "extension",
    "hardBreak",
    "heading",
    "inlineCard",
    "inlineExtension",
    "layoutColumn",
    "layoutSection",
    "listItem",
    "media",
    "mediaGroup",
    "mediaInline",
    "mediaSingle",
    "mention",
    "nestedExpand",
    "orderedList",
    "panel",
    "paragraph",
    "placeholder",
    "rule",
    "status",
    "syncBlock",
    "table",
    "tableCell",
    "tableHeader",
    "tableRow",
    "taskItem",
    "taskList",
    "text",
];

/// Every mark type of ADF (schema v1).
const MARKS: &[&str] = &[
    "alignment",
    "annotation",
    "backgroundColor",
    "border",
    "breakout",
    "code",
    "dataConsumer",
    "em",
    "fontSize",
    "fragment",
    "indentation",
    "link",
    "strike",
    "strong",
    "subsup",
    "textColor",
    "underline",
];

/// Nodes that sit inside a paragraph (inline content).
const INLINE: &[&str] = &[
    "text",
    "hardBreak",
    "mention",
    "emoji",
    "date",
    "status",
    "inlineCard",
    "mediaInline",
    "placeholder",
    "inlineExtension",
];

/// Nodes whose content is inline.
const INLINE_PARENTS: &[&str] = &[
    "paragraph",
    "heading",
    "codeBlock",
    "caption",
    "decisionItem",
    "taskItem",
];

/// Nodes that never hold content.
const LEAVES: &[&str] = &[
    "text",
    "hardBreak",
    "mention",
    "emoji",
    "date",
    "status",
    "inlineCard",
    "rule",
    "media",
    "mediaInline",
    "placeholder",
    "blockCard",
    "embedCard",
];

/// Why `doc` is not an ADF document Jira would store, or `None` when it is.
pub(crate) fn problem(doc: &Value) -> Option<String> {
    let Some(map) = doc.as_object() else {
        return Some("the document is not an object".into());
    };
    if map.get("type").and_then(Value::as_str) != Some("doc") {
        return Some("the root node's type must be \"doc\"".into());
    }
    if map.get("version").and_then(Value::as_u64) != Some(1) {
        return Some("the document's version must be 1".into());
    }
    let Some(content) = map.get("content").and_then(Value::as_array) else {
        return Some("the document needs a content array".into());
    };
    content
        .iter()
        .enumerate()
        .find_map(|(i, node)| check(node, "doc", &format!("/content/{i}")))
}

fn check(node: &Value, parent: &str, at: &str) -> Option<String> {
    let Some(map) = node.as_object() else {
        return Some(format!("{at}: a node must be an object"));
    };
    let Some(kind) = map.get("type").and_then(Value::as_str) else {
        return Some(format!("{at}: a node needs a type"));
    };
    if !NODES.contains(&kind) {
        return Some(format!("{at}: unknown node type \"{kind}\""));
    }
    let inline = INLINE.contains(&kind);
    if INLINE_PARENTS.contains(&parent) != inline {
        return Some(format!("{at}: \"{kind}\" cannot be inside \"{parent}\""));
    }
    if kind == "text"
        && map
            .get("text")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
    {
        return Some(format!("{at}: a text node needs non-empty text"));
    }
    if map.get("attrs").is_some_and(|a| !a.is_object()) {
        return Some(format!("{at}: attrs must be an object"));
    }
    if let Some(marks) = map.get("marks") {
        let Some(marks) = marks.as_array() else {
            return Some(format!("{at}: marks must be an array"));
        };
        for mark in marks {
            match mark.get("type").and_then(Value::as_str) {
                Some(m) if MARKS.contains(&m) => {}
                Some(m) => return Some(format!("{at}: unknown mark type \"{m}\"")),
                None => return Some(format!("{at}: a mark needs a type")),
            }
        }
    }
    match map.get("content") {
        None => None,
        Some(_) if LEAVES.contains(&kind) => Some(format!("{at}: \"{kind}\" cannot have content")),
        Some(Value::Array(children)) => children
            .iter()
            .enumerate()
            .find_map(|(i, child)| check(child, kind, &format!("{at}/content/{i}"))),
        Some(_) => Some(format!("{at}: content must be an array")),
    }
}

#[cfg(test)]
mod tests {
    use super::problem;
    use serde_json::json;

    #[test]
    fn documents_jira_stores_pass() {
        let doc = json!({"type": "doc", "version": 1, "content": [
            {"type": "paragraph", "content": [
                {"type": "text", "text": "hi", "marks": [{"type": "strong"}]},
                {"type": "mention", "attrs": {"id": "ada"}}
            ]},
            {"type": "bulletList", "content": [{"type": "listItem", "content": [
                {"type": "paragraph", "content": [{"type": "text", "text": "one"}]}
            ]}]},
            {"type": "mediaSingle", "content": [{"type": "media", "attrs": {"id": "x", "type": "file", "collection": ""}}]}
        ]});
        assert_eq!(problem(&doc), None);
    }

    #[test]
    fn unknown_types_and_wrong_structure_are_refused() {
        for (doc, want) in [
            (
                json!({"type": "doc", "version": 1, "content": [{"type": "blink"}]}),
                "unknown node type",
            ),
            (json!({"type": "doc", "content": []}), "version must be 1"),
            (
                json!({"type": "doc", "version": 1, "content": [{"type": "text", "text": "bare"}]}),
                "cannot be inside",
            ),
            (
                json!({"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": "x", "marks": [{"type": "glow"}]}]}]}),
                "unknown mark type",
            ),
            (
                json!({"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": ""}]}]}),
                "non-empty text",
            ),
        ] {
            let found = problem(&doc).unwrap_or_default();
            assert!(found.contains(want), "{doc}: {found:?}");
        }
    }
}
