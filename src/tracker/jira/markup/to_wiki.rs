//! ADF → wiki markup.

use serde_json::{Value, json};

use super::{ESCAPABLE, Mark, Piece, code_language, is_blank, normalize_marks, trim_mark_spans};
use crate::model::RichText;

/// Renders an ADF document as Jira wiki markup (see the [module docs](super)).
pub fn adf_to_wiki(doc: &Value) -> String {
    let mut blocks = Vec::new();
    for node in children(doc) {
        block(node, &mut blocks);
    }
    blocks.join("\n\n")
}

fn children(node: &Value) -> &[Value] {
    node.get("content")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn kind(node: &Value) -> &str {
    node.get("type").and_then(Value::as_str).unwrap_or("")
}

fn block(node: &Value, out: &mut Vec<String>) {
    match kind(node) {
        "paragraph" => {
            let pieces = pieces(children(node));
            if !is_blank(&pieces) {
                // A break becomes a new line, unless it starts or ends the
                // paragraph or follows another break: a new line there would be
                // lost or split the paragraph, so `\\` keeps it.
                let breaks: Vec<bool> = pieces.iter().map(|p| matches!(p, Piece::Break)).collect();
                let awkward = breaks.first() == Some(&true)
                    || breaks.last() == Some(&true)
                    || breaks.windows(2).any(|w| w[0] && w[1]);
                let line_break = if awkward { "\\\\" } else { "\n" };
                out.push(escape_line_starts(&render(pieces, line_break)));
            }
        }
        "heading" => {
            let level = node
                .get("attrs")
                .and_then(|a| a.get("level"))
                .and_then(Value::as_u64)
                .unwrap_or(1)
                .clamp(1, 6);
            out.push(format!("h{level}. {}", inline_line(children(node))));
        }
        "bulletList" | "orderedList" => {
            let mut lines = Vec::new();
            list(node, "", &mut lines);
            if !lines.is_empty() {
                out.push(lines.join("\n"));
            }
        }
        "codeBlock" => out.push(code_block(node)),
        "blockquote" => {
            let mut inner = Vec::new();
            for child in children(node) {
                block(child, &mut inner);
            }
            if !inner.is_empty() {
                out.push(format!("{{quote}}\n{}\n{{quote}}", inner.join("\n\n")));
            }
        }
        "rule" => out.push("----".to_owned()),
        "table" => {
            let rows: Vec<String> = children(node).iter().filter_map(table_row).collect();
            if !rows.is_empty() {
                out.push(rows.join("\n"));
            }
        }
        "panel" | "expand" | "nestedExpand" | "layoutSection" | "layoutColumn"
        | "bodiedExtension" | "doc" => {
            for child in children(node) {
                block(child, out);
            }
        }
        "mediaSingle" | "mediaGroup" | "media" => super::media::write_media(node, out),
        _ => {
            let text = plain_text(node);
            if !text.trim().is_empty() {
                let pieces: Vec<Piece> = text
                    .chars()
                    .map(|c| {
                        if c == '\n' {
                            Piece::Break
                        } else {
                            Piece::Ch(c, Vec::new())
                        }
                    })
                    .collect();
                out.push(escape_line_starts(&render(pieces, "\n")));
            }
        }
    }
}

fn plain_text(node: &Value) -> String {
    RichText::Adf(json!({"type": "doc", "content": [node]})).to_plain_text()
}

fn list(node: &Value, prefix: &str, lines: &mut Vec<String>) {
    let marker = if kind(node) == "orderedList" {
        '#'
    } else {
        '*'
    };
    let prefix = format!("{prefix}{marker}");
    for item in children(node).iter().filter(|i| kind(i) == "listItem") {
        let mut parts = Vec::new();
        let mut nested = Vec::new();
        for child in children(item) {
            match kind(child) {
                "paragraph" => parts.push(inline_line(children(child))),
                "bulletList" | "orderedList" => nested.push(child),
                _ => {
                    let text = plain_text(child);
                    let pieces = text
                        .chars()
                        .map(|c| {
                            if c == '\n' {
                                Piece::Break
                            } else {
                                Piece::Ch(c, Vec::new())
                            }
                        })
                        .collect();
                    parts.push(render(pieces, "\\\\"));
                }
            }
        }
        lines.push(format!("{prefix} {}", parts.join("\\\\")));
        for child in nested {
            list(child, &prefix, lines);
        }
    }
}

fn code_block(node: &Value) -> String {
    let text: String = children(node)
        .iter()
        .filter_map(|t| t.get("text").and_then(Value::as_str))
        .collect();
    let language = node
        .get("attrs")
        .and_then(|a| a.get("language"))
        .and_then(Value::as_str)
        .and_then(code_language);
    if text.contains("{code") {
        format!("{{noformat}}\n{text}\n{{noformat}}")
    } else if let Some(language) = language {
        format!("{{code:{language}}}\n{text}\n{{code}}")
    } else {
        format!("{{code}}\n{text}\n{{code}}")
    }
}

fn table_row(row: &Value) -> Option<String> {
    if kind(row) != "tableRow" {
        return None;
    }
    let mut out = String::new();
    let mut last = "|";
    for cell in children(row) {
        let delimiter = if kind(cell) == "tableHeader" {
            "||"
        } else {
            "|"
        };
        let mut parts = Vec::new();
        for child in children(cell) {
            if kind(child) == "paragraph" || kind(child) == "heading" {
                parts.push(inline_line(children(child)));
            } else {
                let text = plain_text(child);
                let pieces = text
                    .chars()
                    .map(|c| {
                        if c == '\n' {
                            Piece::Break
                        } else {
                            Piece::Ch(c, Vec::new())
                        }
                    })
                    .collect();
                parts.push(render(pieces, "\\\\"));
            }
        }
        let content = parts.join("\\\\");
        let content = content.trim();
        out.push_str(delimiter);
        out.push_str(if content.is_empty() { " " } else { content });
        last = delimiter;
    }
    if out.is_empty() {
        return None;
    }
    out.push_str(last);
    Some(out)
}

/// Inline content on one line (headings, list items, table cells).
fn inline_line(nodes: &[Value]) -> String {
    render(pieces(nodes), "\\\\")
}

/// Flattens inline nodes into characters with their marks.
fn pieces(nodes: &[Value]) -> Vec<Piece> {
    let mut out = Vec::new();
    for node in nodes {
        inline_node(node, &[], &mut out);
    }
    trim_mark_spans(&mut out);
    out
}

fn push_text(text: &str, marks: &[Mark], out: &mut Vec<Piece>) {
    for c in text.chars() {
        match c {
            '\n' => out.push(Piece::Break),
            '\r' => {}
            c => out.push(Piece::Ch(c, marks.to_vec())),
        }
    }
}

fn inline_node(node: &Value, outer: &[Mark], out: &mut Vec<Piece>) {
    let attr = |name: &str| {
        node.get("attrs")
            .and_then(|a| a.get(name))
            .and_then(Value::as_str)
    };
    match kind(node) {
        "text" => {
            let mut marks = outer.to_vec();
            for mark in node
                .get("marks")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(m) = Mark::from_adf(mark) {
                    marks.push(m);
                }
            }
            let marks = normalize_marks(marks);
            push_text(
                node.get("text").and_then(Value::as_str).unwrap_or(""),
                &marks,
                out,
            );
        }
        "hardBreak" => out.push(Piece::Break),
        "mention" => match attr("id").and_then(super::mention_id) {
            Some(id) => out.push(Piece::Mention(id)),
            None => push_text(attr("text").unwrap_or("@user"), outer, out),
        },
        "emoji" => push_text(attr("text").or(attr("shortName")).unwrap_or(""), outer, out),
        "status" => push_text(attr("text").unwrap_or(""), outer, out),
        "date" => push_text(attr("timestamp").unwrap_or(""), outer, out),
        "inlineCard" => {
            if let Some(url) = attr("url") {
                let marks = normalize_marks(vec![Mark::Link(url.to_owned())]);
                push_text(url, &marks, out);
            }
        }
        _ => {
            for child in children(node) {
                inline_node(child, outer, out);
            }
        }
    }
}

#[derive(Debug)]
enum Tok {
    Open(Mark),
    Close(Mark),
    Lit(char),
    Break,
    /// Markup written as it is (a mention).
    Raw(String),
}

/// Renders pieces as wiki inline markup; `line_break` is what a break becomes.
fn render(pieces: Vec<Piece>, line_break: &str) -> String {
    let mut toks = Vec::new();
    let mut stack: Vec<Mark> = Vec::new();
    let close_to = |stack: &mut Vec<Mark>, keep: usize, toks: &mut Vec<Tok>| {
        while stack.len() > keep {
            if let Some(m) = stack.pop() {
                toks.push(Tok::Close(m));
            }
        }
    };
    for piece in pieces {
        match piece {
            Piece::Break => {
                close_to(&mut stack, 0, &mut toks);
                toks.push(Tok::Break);
            }
            Piece::Mention(id) => {
                close_to(&mut stack, 0, &mut toks);
                toks.push(Tok::Raw(super::mention_wiki(&id)));
            }
            Piece::Ch(c, marks) => {
                let common = stack.iter().zip(&marks).take_while(|(a, b)| a == b).count();
                close_to(&mut stack, common, &mut toks);
                for m in &marks[common..] {
                    toks.push(Tok::Open(m.clone()));
                    stack.push(m.clone());
                }
                toks.push(Tok::Lit(c));
            }
        }
    }
    close_to(&mut stack, 0, &mut toks);
    let braced = brace_forms(&toks);
    // The output as characters, each flagged literal (escapable) or markup.
    let mut chars: Vec<(char, bool)> = Vec::new();
    let markup = |s: &str, chars: &mut Vec<(char, bool)>| {
        chars.extend(s.chars().map(|c| (c, false)));
    };
    for (i, tok) in toks.iter().enumerate() {
        match tok {
            Tok::Lit(c) => chars.push((*c, true)),
            Tok::Break => markup(line_break, &mut chars),
            Tok::Raw(s) => markup(s, &mut chars),
            Tok::Open(Mark::Link(_)) => markup("[", &mut chars),
            Tok::Close(Mark::Link(href)) => {
                let mut s = String::from("|");
                for c in href.chars() {
                    if matches!(c, ']' | '|' | '\\') {
                        s.push('\\');
                    }
                    s.push(c);
                }
                s.push(']');
                markup(&s, &mut chars);
            }
            Tok::Open(Mark::Code) => markup("{{", &mut chars),
            Tok::Close(Mark::Code) => markup("}}", &mut chars),
            Tok::Open(m) | Tok::Close(m) => {
                let d = m.delimiter().unwrap_or('*');
                if braced.contains(&i) {
                    markup(&format!("{{{d}}}"), &mut chars);
                } else {
                    markup(&d.to_string(), &mut chars);
                }
            }
        }
    }
    escape(&chars)
}

/// The token indexes of delimiter marks that need the `{*}` form: where the
/// plain form would touch a letter or digit (inside a word).
fn brace_forms(toks: &[Tok]) -> Vec<usize> {
    let lit_before = |i: usize| -> Option<char> {
        toks[..i].iter().rev().find_map(|t| match t {
            Tok::Lit(c) => Some(Some(*c)),
            Tok::Break | Tok::Raw(_) => Some(None),
            _ => None,
        })?
    };
    let lit_after = |i: usize| -> Option<char> {
        toks[i + 1..].iter().find_map(|t| match t {
            Tok::Lit(c) => Some(Some(*c)),
            Tok::Break | Tok::Raw(_) => Some(None),
            _ => None,
        })?
    };
    let mut out = Vec::new();
    let mut open: Vec<usize> = Vec::new();
    for (i, tok) in toks.iter().enumerate() {
        match tok {
            Tok::Open(_) => open.push(i),
            Tok::Close(m) => {
                let Some(start) = open.pop() else { continue };
                if m.delimiter().is_none() {
                    continue;
                }
                let first = lit_after(start);
                let last = lit_before(i);
                // `[~` would start a mention.
                let after_link = m.delimiter() == Some('~')
                    && start > 0
                    && matches!(toks[start - 1], Tok::Open(Mark::Link(_)));
                let plain = !after_link
                    && lit_before(start).is_none_or(|c| !c.is_alphanumeric())
                    && lit_after(i).is_none_or(|c| !c.is_alphanumeric())
                    && first.is_some_and(|c| !c.is_whitespace())
                    && last.is_some_and(|c| !c.is_whitespace());
                if !plain {
                    out.push(start);
                    out.push(i);
                }
            }
            _ => {}
        }
    }
    out
}

/// Escapes literal characters that the wiki parser would read as markup.
fn escape(chars: &[(char, bool)]) -> String {
    let mut out = String::with_capacity(chars.len() + 8);
    for (i, &(c, literal)) in chars.iter().enumerate() {
        if !literal {
            out.push(c);
            continue;
        }
        let prev = i.checked_sub(1).map(|k| chars[k].0);
        let next = chars.get(i + 1).map(|x| x.0);
        match c {
            '{' | '}' | '[' | ']' | '|' => {
                out.push('\\');
                out.push(c);
            }
            '*' | '_' | '-' | '+' | '^' | '~' => {
                let opening = prev.is_none_or(|p| !p.is_alphanumeric())
                    && next.is_some_and(|n| !n.is_whitespace());
                let closing = prev.is_some_and(|p| !p.is_whitespace())
                    && next.is_none_or(|n| !n.is_alphanumeric());
                if opening || closing {
                    out.push('\\');
                }
                out.push(c);
            }
            '\\' => {
                // At the end, too: a table cell's `|` or a line break may follow.
                if next.is_none_or(|n| ESCAPABLE.contains(&n)) {
                    out.push_str("&#92;");
                } else {
                    out.push('\\');
                }
            }
            '&' if next == Some('#') => out.push_str("&#38;"),
            _ => out.push(c),
        }
    }
    out
}

/// Escapes what would start a block at the beginning of a paragraph's line.
fn escape_line_starts(text: &str) -> String {
    text.split('\n')
        .map(|line| {
            let bytes = line.as_bytes();
            let heading = bytes.len() >= 3
                && bytes[0] == b'h'
                && (b'1'..=b'6').contains(&bytes[1])
                && bytes[2] == b'.'
                && (bytes.len() == 3 || bytes[3] == b' ');
            let list_markers = line.chars().take_while(|c| matches!(c, '*' | '#')).count();
            let list = (list_markers > 0 && line[list_markers..].starts_with(' '))
                || line.starts_with("- ");
            if heading {
                format!("&#104;{}", &line[1..])
            } else if super::media::image_line(line.trim()).is_some() {
                // Text that would read back as an image.
                line.replacen('!', "&#33;", 1)
            } else if line.starts_with("bq. ") {
                format!("&#98;{}", &line[1..])
            } else if list {
                format!("\\{line}")
            } else {
                line.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}
