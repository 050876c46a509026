//! Attribution: who wrote a synced comment.
//!
//! A synced comment is written by the integration user, so each copy starts
//! with a short header naming the original's author and issue, rendered from
//! an [`AttributionTemplate`] (default `{author} commented on {key}`). The
//! header is the copy's first paragraph: in an ADF body a paragraph whose
//! `{key}` carries a link mark to `<instance>/browse/<KEY>`, in a plain body
//! the first line. Data Center receives it through the ADF → wiki conversion.
//!
//! The header is never part of what is synced: the copy's marker records the
//! [`Header`] it was written with, and [`local_comment_body`] strips the first
//! block of a copy only when it still equals that record. The outgoing rules
//! and the planner both read a comment's body through it, so a header never
//! travels back, never echoes, and a user who edits or removes the header of a
//! copy loses nothing (then nothing is stripped).

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::{Error, ErrorKind, Result};
use crate::model::{Comment, ConnectionId, RichText};
use crate::replica::{MARKER_PROPERTY, Marker, Origin};

/// The comment header template of the Basic rule set.
pub const DEFAULT_COMMENT_TEMPLATE: &str = "{author} commented on {key}";

/// A template for the header of synced comments.
///
/// Placeholders: `{author}` (the original's author's display name), `{key}`
/// (the original issue's key, linked to `<instance>/browse/<KEY>` in ADF
/// bodies) and `{instance}` (the original's site URL). `{{` and `}}` write a
/// brace. Anything else in braces is refused when the template is made.
///
/// ```
/// use twinsync::rules::AttributionTemplate;
///
/// let t = AttributionTemplate::new("{author} wrote on {key}:")?;
/// assert!(AttributionTemplate::new("{who}").is_err());
/// # Ok::<(), twinsync::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AttributionTemplate {
    source: String,
    parts: Vec<Part>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Text(String),
    Author,
    Key,
    Instance,
}

impl AttributionTemplate {
    /// Parses a template.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidConfig`] for an unknown placeholder, an unclosed
    /// brace, a line break, or a template that renders nothing.
    pub fn new(template: &str) -> Result<Self> {
        let bad = |why: String| {
            Error::new(
                ErrorKind::InvalidConfig,
                format!("attribution template {template:?}: {why}"),
            )
        };
        if template.contains(['\n', '\r']) {
            return Err(bad("a header is one line".into()));
        }
        let mut parts = Vec::new();
        let mut text = String::new();
        let mut chars = template.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    text.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    text.push('}');
                }
                '{' => {
                    let mut name = String::new();
                    loop {
                        match chars.next() {
                            Some('}') => break,
                            Some(c) => name.push(c),
                            None => return Err(bad(format!("'{{{name}' is not closed"))),
                        }
                    }
                    let part = match name.as_str() {
                        "author" => Part::Author,
                        "key" => Part::Key,
                        "instance" => Part::Instance,
                        other => {
                            return Err(bad(format!(
                                "unknown placeholder {{{other}}} (use {{author}}, {{key}}, {{instance}})"
                            )));
                        }
                    };
                    if !text.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut text)));
                    }
                    parts.push(part);
                }
                '}' => return Err(bad("a lone '}' (write '}}')".into())),
                c => text.push(c),
            }
        }
        if !text.is_empty() {
            parts.push(Part::Text(text));
        }
        if parts
            .iter()
            .all(|p| matches!(p, Part::Text(t) if t.trim().is_empty()))
        {
            return Err(bad("it renders nothing".into()));
        }
        Ok(AttributionTemplate {
            source: template.to_owned(),
            parts,
        })
    }

    /// The template as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether the template names the author.
    pub(crate) fn names_author(&self) -> bool {
        self.parts.contains(&Part::Author)
    }

    /// The header of a copy of a comment `author` wrote on the issue `origin`.
    pub fn render(&self, author: &str, origin: &Origin) -> Header {
        let author = one_line(author);
        let author = if author.trim().is_empty() {
            "Someone".to_owned()
        } else {
            author
        };
        let mut header = Header { runs: Vec::new() };
        for part in &self.parts {
            match part {
                Part::Text(t) => header.push(t, None),
                Part::Author => header.push(&author, None),
                Part::Instance => header.push(origin.instance.as_str(), None),
                Part::Key => header.push(origin.key.as_str(), Some(browse_url(origin))),
            }
        }
        header
    }
}

impl Default for AttributionTemplate {
    fn default() -> Self {
        AttributionTemplate::new(DEFAULT_COMMENT_TEMPLATE)
            .unwrap_or_else(|e| unreachable!("the default template parses: {e}"))
    }
}

impl TryFrom<String> for AttributionTemplate {
    type Error = Error;
    fn try_from(value: String) -> Result<Self> {
        AttributionTemplate::new(&value)
    }
}

impl From<AttributionTemplate> for String {
    fn from(t: AttributionTemplate) -> String {
        t.source
    }
}

/// The page of the issue `origin` on its site: `<instance>/browse/<KEY>`.
pub fn browse_url(origin: &Origin) -> String {
    format!(
        "{}/browse/{}",
        origin.instance.as_str().trim_end_matches('/'),
        origin.key
    )
}

fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// A rendered attribution header: runs of text, some linked.
///
/// It is what a copy's marker records, and what [`Header::strip`] recognises
/// (the first block, compared by its text and links, so the ADF → wiki → ADF
/// round trip of Data Center does not hide it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// The runs, in order; neighbours never share a link.
    pub runs: Vec<HeaderRun>,
}

/// One run of a [`Header`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeaderRun {
    /// The text.
    pub text: String,
    /// The URL the text links to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

impl Header {
    fn push(&mut self, text: &str, link: Option<String>) {
        if text.is_empty() {
            return;
        }
        match self.runs.last_mut() {
            Some(last) if last.link == link => last.text.push_str(text),
            _ => self.runs.push(HeaderRun {
                text: text.to_owned(),
                link,
            }),
        }
    }

    /// The header's text without links.
    pub fn text(&self) -> String {
        self.runs.iter().map(|r| r.text.as_str()).collect()
    }

    /// The header as an ADF paragraph.
    pub fn to_adf(&self) -> Value {
        let content: Vec<Value> = self
            .runs
            .iter()
            .map(|r| match &r.link {
                None => json!({"type": "text", "text": r.text}),
                Some(href) => json!({"type": "text", "text": r.text,
                    "marks": [{"type": "link", "attrs": {"href": href}}]}),
            })
            .collect();
        json!({"type": "paragraph", "content": content})
    }

    /// `body` with this header as its first paragraph (first line of plain text).
    pub fn compose(&self, body: &RichText) -> RichText {
        match body {
            RichText::Plain(text) if text.is_empty() => RichText::Plain(self.text()),
            RichText::Plain(text) => RichText::Plain(format!("{}\n{text}", self.text())),
            RichText::Adf(doc) => {
                let mut doc = doc.clone();
                if let Some(content) = doc.get_mut("content").and_then(Value::as_array_mut) {
                    content.insert(0, self.to_adf());
                }
                RichText::Adf(doc)
            }
            // RichText is non-exhaustive: a format this version does not know
            // gets no header rather than a wrong one.
            #[allow(unreachable_patterns)]
            other => other.clone(),
        }
    }

    /// `body` without its first block, when that block is this header; `None`
    /// when it is not (the user edited or removed it).
    pub fn strip(&self, body: &RichText) -> Option<RichText> {
        match body {
            RichText::Plain(text) => {
                let header = self.text();
                let rest = text.strip_prefix(header.as_str())?;
                match rest {
                    "" => Some(RichText::Plain(String::new())),
                    _ => rest
                        .strip_prefix('\n')
                        .map(|r| RichText::Plain(r.to_owned())),
                }
            }
            RichText::Adf(doc) => {
                let content = doc.get("content").and_then(Value::as_array)?;
                let first = content.first()?;
                if runs_of(first)? != self.runs {
                    return None;
                }
                let mut doc = doc.clone();
                if let Some(content) = doc.get_mut("content").and_then(Value::as_array_mut) {
                    content.remove(0);
                }
                Some(RichText::Adf(doc))
            }
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }
}

/// The runs of an ADF paragraph made only of text nodes (with or without a
/// link mark); `None` for anything else.
fn runs_of(block: &Value) -> Option<Vec<HeaderRun>> {
    if block.get("type").and_then(Value::as_str) != Some("paragraph") {
        return None;
    }
    let mut header = Header { runs: Vec::new() };
    for node in block.get("content").and_then(Value::as_array)? {
        if node.get("type").and_then(Value::as_str) != Some("text") {
            return None;
        }
        let text = node.get("text").and_then(Value::as_str)?;
        let mut link = None;
        for mark in node
            .get("marks")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            match mark.get("type").and_then(Value::as_str) {
                Some("link") => {
                    link = Some(mark.get("attrs")?.get("href")?.as_str()?.to_owned());
                }
                _ => return None,
            }
        }
        header.push(text, link);
    }
    Some(header.runs)
}

/// Any twinsync marker an entity carries, whichever connection wrote it.
pub(crate) fn any_marker(properties: &std::collections::BTreeMap<String, Value>) -> Option<Marker> {
    serde_json::from_value(properties.get(MARKER_PROPERTY)?.clone()).ok()
}

/// The header a copy made by `connection` still starts with, as its marker
/// recorded it; `None` for an original, an older copy without a recorded
/// header, or a copy whose header a user edited or removed.
pub fn recorded_header(comment: &Comment, connection: &ConnectionId) -> Option<Header> {
    let header = Marker::find(&comment.properties, connection)?.header?;
    header.strip(&comment.body).map(|_| header)
}

/// A comment's body as the sync sees it on `connection`: without the header
/// of a copy this connection made, when that header is still as written.
/// The outgoing rules and the planner's fingerprints both use it.
pub fn local_comment_body<'a>(
    comment: &'a Comment,
    connection: &ConnectionId,
) -> Cow<'a, RichText> {
    Marker::find(&comment.properties, connection)
        .and_then(|m| m.header)
        .and_then(|h| h.strip(&comment.body))
        .map_or(Cow::Borrowed(&comment.body), Cow::Owned)
}

/// Whether a comment is already attributed: a copy twinsync made on any
/// connection (its author is the integration user, and its body names the
/// original's author), so that a further connection copies it as it is.
pub fn is_twinsync_copy(comment: &Comment) -> bool {
    any_marker(&comment.properties).is_some_and(|m| m.origin_comment.is_some())
}

#[cfg(test)]
#[path = "attribution_tests.rs"]
mod tests;
