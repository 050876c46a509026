//! Rich text: a Jira Cloud ADF document kept losslessly, or plain text.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::{Error, ErrorKind, Result};

/// The body of a description or a comment.
///
/// Jira Cloud stores rich text as an [Atlassian Document Format][adf] (ADF) JSON
/// document; twinsync carries such a document as it is, so nothing is lost
/// between two Cloud sites. Trackers without ADF use plain text.
///
/// An image or file shown in the text is an ADF `media` node; one that shows
/// an attachment of the same issue names it in a tracker-neutral way
/// (`"attachment": "<attachment id>"` in its `attrs`): see
/// [`model::media`](super::media) for the forms and what adapters do with them.
///
/// [adf]: https://developer.atlassian.com/cloud/jira/platform/apis/document/structure/
///
/// ```
/// use twinsync::model::RichText;
///
/// let adf = RichText::adf(serde_json::json!({
///     "type": "doc", "version": 1,
///     "content": [{"type": "paragraph", "content": [
///         {"type": "text", "text": "Hello "},
///         {"type": "text", "text": "world", "marks": [{"type": "strong"}]}
///     ]}]
/// }))?;
/// assert_eq!(adf.to_plain_text(), "Hello world");
/// assert_eq!(RichText::plain("Hi").to_plain_text(), "Hi");
/// # Ok::<(), twinsync::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "format", content = "value", rename_all = "snake_case")]
#[non_exhaustive]
pub enum RichText {
    /// Plain text; line breaks separate paragraphs.
    Plain(String),
    /// An ADF document (`{"type": "doc", "version": 1, "content": [...]}`), kept as it is.
    Adf(Value),
}

impl Default for RichText {
    fn default() -> Self {
        RichText::Plain(String::new())
    }
}

impl RichText {
    /// Plain text.
    pub fn plain(text: impl Into<String>) -> Self {
        RichText::Plain(text.into())
    }

    /// An ADF document.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`] when `doc` is not a JSON object whose `type` is
    /// `"doc"` and whose `content` is an array.
    pub fn adf(doc: Value) -> Result<Self> {
        let is_doc = doc.get("type").and_then(Value::as_str) == Some("doc")
            && doc.get("content").is_some_and(Value::is_array);
        if !is_doc {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "adf document must be an object with \"type\": \"doc\" and a \"content\" array",
            ));
        }
        Ok(RichText::Adf(doc))
    }

    /// Whether there is no text at all.
    pub fn is_empty(&self) -> bool {
        match self {
            RichText::Plain(s) => s.is_empty(),
            RichText::Adf(doc) => doc
                .get("content")
                .and_then(Value::as_array)
                .is_none_or(Vec::is_empty),
        }
    }

    /// The text without formatting: paragraphs, headings and list items on their
    /// own lines, mentions and emoji as their text.
    pub fn to_plain_text(&self) -> String {
        match self {
            RichText::Plain(s) => s.clone(),
            RichText::Adf(doc) => {
                let mut blocks = Vec::new();
                if let Some(content) = doc.get("content").and_then(Value::as_array) {
                    for node in content {
                        render_block(node, "", &mut blocks);
                    }
                }
                blocks.join("\n")
            }
        }
    }

    /// This text as an ADF document: an ADF value as it is, plain text as one
    /// paragraph per line.
    pub fn to_adf(&self) -> Value {
        match self {
            RichText::Adf(doc) => doc.clone(),
            RichText::Plain(text) => {
                let content: Vec<Value> = if text.is_empty() {
                    Vec::new()
                } else {
                    text.split('\n')
                        .map(|line| {
                            if line.is_empty() {
                                json!({"type": "paragraph"})
                            } else {
                                json!({"type": "paragraph", "content": [{"type": "text", "text": line}]})
                            }
                        })
                        .collect()
                };
                json!({"type": "doc", "version": 1, "content": content})
            }
        }
    }
}

impl From<&str> for RichText {
    fn from(s: &str) -> Self {
        RichText::plain(s)
    }
}

impl From<String> for RichText {
    fn from(s: String) -> Self {
        RichText::Plain(s)
    }
}

const BLOCK_CONTAINERS: &[&str] = &[
    "blockquote",
    "panel",
    "expand",
    "nestedExpand",
    "layoutSection",
    "layoutColumn",
    "table",
    "tableRow",
    "tableCell",
    "tableHeader",
    "bodiedExtension",
];

fn render_block(node: &Value, prefix: &str, out: &mut Vec<String>) {
    let kind = node.get("type").and_then(Value::as_str).unwrap_or("");
    let children = node.get("content").and_then(Value::as_array);
    match kind {
        "bulletList" | "orderedList" => {
            for (i, item) in children.into_iter().flatten().enumerate() {
                let marker = if kind == "bulletList" {
                    format!("{prefix}- ")
                } else {
                    format!("{prefix}{}. ", i + 1)
                };
                let mut inner = Vec::new();
                for child in item
                    .get("content")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    render_block(child, &format!("{prefix}  "), &mut inner);
                }
                let mut lines = inner.into_iter();
                let first = lines.next().unwrap_or_default();
                out.push(format!("{marker}{}", first.trim_start()));
                out.extend(lines);
            }
        }
        "rule" => out.push(format!("{prefix}---")),
        _ if BLOCK_CONTAINERS.contains(&kind) => {
            for child in children.into_iter().flatten() {
                render_block(child, prefix, out);
            }
        }
        _ => {
            let mut line = String::new();
            render_inline(node, &mut line);
            for part in line.split('\n') {
                out.push(format!("{prefix}{part}"));
            }
        }
    }
}

fn render_inline(node: &Value, out: &mut String) {
    let attr = |name: &str| {
        node.get("attrs")
            .and_then(|a| a.get(name))
            .and_then(Value::as_str)
    };
    match node.get("type").and_then(Value::as_str).unwrap_or("") {
        "text" => out.push_str(node.get("text").and_then(Value::as_str).unwrap_or("")),
        "hardBreak" => out.push('\n'),
        "mention" => out.push_str(attr("text").unwrap_or("@user")),
        "emoji" => out.push_str(attr("text").or(attr("shortName")).unwrap_or("")),
        "date" => out.push_str(attr("timestamp").unwrap_or("")),
        "status" => out.push_str(attr("text").unwrap_or("")),
        "inlineCard" | "blockCard" => out.push_str(attr("url").unwrap_or("")),
        _ => {
            for child in node
                .get("content")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                render_inline(child, out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_lists_headings_and_mentions() {
        let doc = json!({"type": "doc", "version": 1, "content": [
            {"type": "heading", "attrs": {"level": 1}, "content": [{"type": "text", "text": "Title"}]},
            {"type": "bulletList", "content": [
                {"type": "listItem", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "one"}]}]},
                {"type": "listItem", "content": [{"type": "paragraph", "content": [
                    {"type": "mention", "attrs": {"id": "1", "text": "@Ann"}},
                    {"type": "hardBreak"},
                    {"type": "text", "text": "two"}
                ]}]}
            ]},
            {"type": "codeBlock", "content": [{"type": "text", "text": "let x = 1;"}]}
        ]});
        let text = RichText::adf(doc).unwrap().to_plain_text();
        assert_eq!(text, "Title\n- one\n- @Ann\n  two\nlet x = 1;");
    }

    #[test]
    fn plain_to_adf_round_trips_text() {
        let plain = RichText::plain("first\n\nthird");
        let adf = RichText::adf(plain.to_adf()).unwrap();
        assert_eq!(adf.to_plain_text(), "first\n\nthird");
        assert!(RichText::plain("").is_empty());
        assert!(
            RichText::adf(RichText::plain("").to_adf())
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn rejects_non_documents() {
        let err = RichText::adf(json!({"type": "paragraph"})).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
    }

    #[test]
    fn unknown_nodes_do_not_panic() {
        let doc = json!({"type": "doc", "content": [{"type": 5}, {"content": "x"}, 7, null]});
        let _ = RichText::adf(doc).unwrap().to_plain_text();
    }
}
