//! Conversion between Atlassian Document Format (Jira Cloud, REST v3) and wiki
//! markup (Jira Data Center / Server, REST v2).
//!
//! Covered both ways: paragraphs and line breaks, headings, bold, italic,
//! strike-through, underline, superscript, subscript, inline code, links,
//! bullet and numbered lists (nested), code blocks, quotes, rules and tables
//! (best effort: one paragraph per cell), mentions (`[~username]` and
//! `[~accountid:…]` ⇄ ADF `mention` nodes, which carry the id only). Emoji,
//! dates and statuses become their text; anything else becomes plain text.
//!
//! Images: a line holding only `!file.png!` or `!file.png|options!` becomes a
//! `mediaSingle` with a `media` node `{"type": "file", "id": "file.png",
//! "collection": "twinsync:wiki-file"}` ([`WIKI_FILE_COLLECTION`]: valid ADF
//! that names the file by its name)
//! (`width=…` and `height=…` options kept as `width` and `height`; others,
//! such as `thumbnail`, dropped), and `!https://…!` an external image
//! (`{"type": "external", "url": …}`). Such media nodes write back as
//! `!file.png|thumbnail!` (or `!file.png|width=…,height=…!`) and `!url!`, each
//! on its own line. The Data Center adapter turns such a name into the issue's
//! attachment of that name (see [`model::media`](crate::model::media)). Media
//! nodes naming neither (a Cloud media id) are left out, and images inside a
//! line of text stay text.
//!
//! The conversion is built so that twins converge: for any ADF document `a`,
//! `b = wiki_to_adf(&adf_to_wiki(a))` is a fixed point —
//! `wiki_to_adf(&adf_to_wiki(&b)) == b`. Otherwise a Cloud ↔ Data Center pair
//! would sync the same description back and forth for ever.
//!
//! ```
//! use serde_json::json;
//! use twinsync::tracker::jira::markup::{adf_to_wiki, wiki_to_adf};
//!
//! let adf = wiki_to_adf("h2. Steps\n\n* open the *tray*\n* see [the docs|https://example.com]");
//! assert_eq!(adf["content"][0]["type"], json!("heading"));
//! assert_eq!(
//!     adf_to_wiki(&adf),
//!     "h2. Steps\n\n* open the *tray*\n* see [the docs|https://example.com]"
//! );
//! ```

use serde_json::{Value, json};

mod from_wiki;
mod media;
mod to_wiki;

pub use media::WIKI_FILE_COLLECTION;

pub use from_wiki::wiki_to_adf;
pub use to_wiki::adf_to_wiki;

/// An ADF document with no content.
pub fn empty_doc() -> Value {
    json!({"type": "doc", "version": 1, "content": []})
}

/// `doc` with `"version": 1` set, as Jira Cloud requires.
pub(crate) fn normalize_adf(doc: &Value) -> Value {
    let mut doc = doc.clone();
    if let Value::Object(map) = &mut doc {
        map.insert("version".to_owned(), json!(1));
    }
    doc
}

/// An inline mark twinsync converts, in the order marks nest (outermost first).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Mark {
    Link(String),
    Strong,
    Em,
    Strike,
    Underline,
    Sup,
    Sub,
    Code,
}

impl Mark {
    /// The wiki delimiter of a mark written as `*text*`.
    fn delimiter(&self) -> Option<char> {
        match self {
            Mark::Strong => Some('*'),
            Mark::Em => Some('_'),
            Mark::Strike => Some('-'),
            Mark::Underline => Some('+'),
            Mark::Sup => Some('^'),
            Mark::Sub => Some('~'),
            Mark::Link(_) | Mark::Code => None,
        }
    }

    fn from_delimiter(c: char) -> Option<Mark> {
        Some(match c {
            '*' => Mark::Strong,
            '_' => Mark::Em,
            '-' => Mark::Strike,
            '+' => Mark::Underline,
            '^' => Mark::Sup,
            '~' => Mark::Sub,
            _ => return None,
        })
    }

    fn from_adf(mark: &Value) -> Option<Mark> {
        let attr = |name: &str| {
            mark.get("attrs")
                .and_then(|a| a.get(name))
                .and_then(Value::as_str)
        };
        Some(match mark.get("type")?.as_str()? {
            "strong" => Mark::Strong,
            "em" => Mark::Em,
            "strike" => Mark::Strike,
            "underline" => Mark::Underline,
            "code" => Mark::Code,
            "subsup" if attr("type") == Some("sup") => Mark::Sup,
            "subsup" => Mark::Sub,
            "link" => Mark::Link(attr("href")?.to_owned()),
            _ => return None,
        })
    }

    fn to_adf(&self) -> Value {
        match self {
            Mark::Link(href) => json!({"type": "link", "attrs": {"href": href}}),
            Mark::Strong => json!({"type": "strong"}),
            Mark::Em => json!({"type": "em"}),
            Mark::Strike => json!({"type": "strike"}),
            Mark::Underline => json!({"type": "underline"}),
            Mark::Sup => json!({"type": "subsup", "attrs": {"type": "sup"}}),
            Mark::Sub => json!({"type": "subsup", "attrs": {"type": "sub"}}),
            Mark::Code => json!({"type": "code"}),
        }
    }
}

/// Adds `mark` to a sorted mark set, keeping ADF's rules: one link, sub and
/// sup exclusive, code combines with a link only.
fn add_mark(marks: &[Mark], mark: Mark) -> Vec<Mark> {
    let mut out: Vec<Mark> = marks
        .iter()
        .filter(|m| {
            !matches!(
                (&mark, m),
                (Mark::Link(_), Mark::Link(_)) | (Mark::Sub | Mark::Sup, Mark::Sub | Mark::Sup)
            )
        })
        .cloned()
        .collect();
    out.push(mark);
    normalize_marks(out)
}

/// Sorts marks and drops what ADF forbids next to `code`.
fn normalize_marks(mut marks: Vec<Mark>) -> Vec<Mark> {
    marks.sort();
    marks.dedup();
    if marks.contains(&Mark::Code) {
        marks.retain(|m| matches!(m, Mark::Code | Mark::Link(_)));
    }
    marks
}

/// One character of inline content with its marks, or a line break.
#[derive(Clone, Debug, PartialEq)]
enum Piece {
    Ch(char, Vec<Mark>),
    Break,
    /// A mention of the user with this id (`[~id]`, `[~accountid:id]`).
    Mention(String),
}

/// A mention as wiki markup: `[~accountid:…]` for a Jira Cloud account id
/// (`557058:…`, `712020:…` or 24 hex digits), `[~username]` otherwise.
fn mention_wiki(id: &str) -> String {
    let cloud = id.contains(':') || (id.len() == 24 && id.chars().all(|c| c.is_ascii_hexdigit()));
    if cloud {
        format!("[~accountid:{id}]")
    } else {
        format!("[~{id}]")
    }
}

/// The user id of a wiki mention's inside (after `[~`), or `None` when it
/// names nobody a mention can hold.
fn mention_id(inner: &str) -> Option<String> {
    let id = match inner.get(..10) {
        Some(prefix) if prefix.eq_ignore_ascii_case("accountid:") => &inner[10..],
        _ => inner,
    };
    let ok = !id.trim().is_empty()
        && id.trim() == id
        && !id
            .chars()
            .any(|c| c.is_control() || matches!(c, '[' | ']' | '|' | '\\'));
    ok.then(|| id.to_owned())
}

/// Moves whitespace at the edges of a delimiter mark's span out of the mark:
/// wiki markup cannot express `* bold *`, so both directions agree on `*bold*`
/// with the spaces outside.
fn trim_mark_spans(pieces: &mut [Piece]) {
    for mark in [
        Mark::Strong,
        Mark::Em,
        Mark::Strike,
        Mark::Underline,
        Mark::Sup,
        Mark::Sub,
    ] {
        let has = |p: &Piece| matches!(p, Piece::Ch(_, m) if m.contains(&mark));
        let mut i = 0;
        while i < pieces.len() {
            if !has(&pieces[i]) {
                i += 1;
                continue;
            }
            let start = i;
            while i < pieces.len() && has(&pieces[i]) {
                i += 1;
            }
            let end = i;
            let mut strip = |k: usize| -> bool {
                if let Piece::Ch(c, marks) = &mut pieces[k]
                    && c.is_whitespace()
                {
                    marks.retain(|m| m != &mark);
                    return true;
                }
                false
            };
            let mut a = start;
            while a < end && strip(a) {
                a += 1;
            }
            let mut b = end;
            while b > a && strip(b - 1) {
                b -= 1;
            }
        }
    }
}

/// Whether the pieces hold nothing but whitespace and line breaks.
fn is_blank(pieces: &[Piece]) -> bool {
    pieces.iter().all(|p| match p {
        Piece::Ch(c, _) => c.is_whitespace(),
        Piece::Break => true,
        Piece::Mention(_) => false,
    })
}

/// A language name wiki markup can carry in `{code:name}`.
fn code_language(name: &str) -> Option<&str> {
    let ok = !name.is_empty()
        && name.len() <= 40
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+#._-".contains(c));
    ok.then_some(name)
}

/// Characters a backslash escapes in wiki markup.
const ESCAPABLE: &[char] = &[
    '*', '_', '-', '+', '^', '~', '{', '}', '[', ']', '|', '#', '\\',
];

#[cfg(test)]
mod tests;
