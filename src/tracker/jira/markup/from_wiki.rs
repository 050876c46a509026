//! Wiki markup → ADF.

use serde_json::{Value, json};

use super::{
    ESCAPABLE, Mark, Piece, add_mark, code_language, is_blank, normalize_marks, trim_mark_spans,
};

/// Parses Jira wiki markup into an ADF document (see the [module docs](super)).
///
/// Never fails: what is not understood stays as text.
pub fn wiki_to_adf(text: &str) -> Value {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let lines: Vec<&str> = text.split('\n').collect();
    json!({"type": "doc", "version": 1, "content": blocks(&lines)})
}

#[derive(Default)]
struct Builder {
    out: Vec<Value>,
    paragraph: Vec<Piece>,
    lists: Vec<(char, Vec<Value>)>,
    table: Vec<Value>,
}

impl Builder {
    fn flush_paragraph(&mut self) {
        let pieces = std::mem::take(&mut self.paragraph);
        if !is_blank(&pieces) {
            self.out.push(paragraph(pieces));
        }
    }

    fn pop_list(&mut self) {
        let Some((kind, items)) = self.lists.pop() else {
            return;
        };
        let node = json!({
            "type": if kind == '#' { "orderedList" } else { "bulletList" },
            "content": items,
        });
        match self.lists.last_mut() {
            Some((_, parent)) => {
                if parent.is_empty() {
                    parent.push(json!({"type": "listItem", "content": [{"type": "paragraph"}]}));
                }
                if let Some(Value::Array(content)) =
                    parent.last_mut().and_then(|i| i.get_mut("content"))
                {
                    content.push(node);
                }
            }
            None => self.out.push(node),
        }
    }

    fn flush_lists(&mut self) {
        while !self.lists.is_empty() {
            self.pop_list();
        }
    }

    fn flush_table(&mut self) {
        let rows = std::mem::take(&mut self.table);
        if !rows.is_empty() {
            self.out.push(json!({"type": "table", "content": rows}));
        }
    }

    fn flush(&mut self) {
        self.flush_paragraph();
        self.flush_lists();
        self.flush_table();
    }

    fn list_item(&mut self, markers: &str, content: &str) {
        self.flush_paragraph();
        self.flush_table();
        let kinds: Vec<char> = markers
            .chars()
            .map(|c| if c == '-' { '*' } else { c })
            .collect();
        let same = self
            .lists
            .iter()
            .zip(&kinds)
            .take_while(|((k, _), m)| k == *m)
            .count();
        let target = if same == kinds.len() {
            kinds.len()
        } else {
            same
        };
        while self.lists.len() > target {
            self.pop_list();
        }
        while self.lists.len() < kinds.len() {
            let kind = kinds[self.lists.len()];
            self.lists.push((kind, Vec::new()));
            if self.lists.len() < kinds.len()
                && let Some((_, items)) = self.lists.last_mut()
            {
                items.push(json!({"type": "listItem", "content": [{"type": "paragraph"}]}));
            }
        }
        let item = json!({"type": "listItem", "content": [paragraph(line_pieces(content))]});
        if let Some((_, items)) = self.lists.last_mut() {
            items.push(item);
        }
    }
}

fn blocks(lines: &[&str]) -> Vec<Value> {
    let mut b = Builder::default();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let trimmed = line.trim();
        if let Some((text_lines, language, next)) = code_block_at(lines, i) {
            b.flush();
            b.out.push(code_block(&text_lines.join("\n"), language));
            i = next;
            continue;
        }
        if trimmed == "{quote}" {
            b.flush();
            let end = quote_end(lines, i + 1);
            let inner = quote_content(blocks(&lines[i + 1..end]));
            if !inner.is_empty() {
                b.out.push(json!({"type": "blockquote", "content": inner}));
            }
            i = end + 1;
            continue;
        }
        if let Some(rest) = line.strip_prefix("bq. ") {
            b.flush();
            let pieces = line_pieces(rest);
            if !is_blank(&pieces) {
                b.out
                    .push(json!({"type": "blockquote", "content": [paragraph(pieces)]}));
            }
        } else if let Some((level, rest)) = heading(line) {
            b.flush();
            let mut node = json!({"type": "heading", "attrs": {"level": level}});
            let content = inline_nodes(line_pieces(rest));
            if !content.is_empty() {
                node["content"] = Value::Array(content);
            }
            b.out.push(node);
        } else if trimmed == "----" {
            b.flush();
            b.out.push(json!({"type": "rule"}));
        } else if let Some(image) = super::media::image_line(trimmed) {
            b.flush();
            b.out.push(image);
        } else if let Some((markers, rest)) = list_line(line) {
            b.list_item(markers, rest);
        } else if line.starts_with('|') {
            b.flush_paragraph();
            b.flush_lists();
            if let Some(row) = table_row(line) {
                b.table.push(row);
            }
        } else if trimmed.is_empty() {
            b.flush();
        } else {
            b.flush_lists();
            b.flush_table();
            if !b.paragraph.is_empty() {
                b.paragraph.push(Piece::Break);
            }
            let pieces = line_pieces(line);
            b.paragraph.extend(pieces);
        }
        i += 1;
    }
    b.flush();
    b.out
}

/// `{code}`, `{code:lang}`, `{noformat}` at the start of a line: the macro's
/// name, the language and the rest of the line.
/// The code block (`{code}` or `{noformat}`) starting at `lines[i]`: its
/// lines, its language, and the index of the line after it.
fn code_block_at<'a>(lines: &[&'a str], i: usize) -> Option<(Vec<&'a str>, Option<String>, usize)> {
    let (macro_name, language, rest) = code_start(lines[i])?;
    let end_tag = format!("{{{macro_name}}}");
    let mut text_lines: Vec<&str> = Vec::new();
    if let Some(at) = rest.find(&end_tag) {
        text_lines.push(&rest[..at]);
        return Some((text_lines, language, i + 1));
    }
    if !rest.is_empty() {
        text_lines.push(rest);
    }
    for (k, l) in lines.iter().enumerate().skip(i + 1) {
        if let Some(at) = l.find(&end_tag) {
            if at > 0 {
                text_lines.push(&l[..at]);
            }
            return Some((text_lines, language, k + 1));
        }
        text_lines.push(l);
    }
    Some((text_lines, language, lines.len()))
}

/// The line that closes a `{quote}` whose content starts at `from`; a
/// `{quote}` inside a code block is code, not the end of the quote.
fn quote_end(lines: &[&str], from: usize) -> usize {
    let mut k = from;
    while k < lines.len() {
        if lines[k].trim() == "{quote}" {
            return k;
        }
        k = code_block_at(lines, k).map_or(k + 1, |(_, _, next)| next);
    }
    lines.len()
}

fn code_start(line: &str) -> Option<(&'static str, Option<String>, &str)> {
    let line = line.trim_start();
    for name in ["code", "noformat"] {
        let Some(after) = line.strip_prefix('{').and_then(|l| l.strip_prefix(name)) else {
            continue;
        };
        let (params, rest) = if let Some(rest) = after.strip_prefix('}') {
            ("", rest)
        } else if let Some(p) = after.strip_prefix(':') {
            let close = p.find('}')?;
            (&p[..close], &p[close + 1..])
        } else {
            continue;
        };
        let language = if name == "code" {
            params
                .split('|')
                .find(|p| !p.contains('='))
                .and_then(code_language)
                .map(str::to_owned)
        } else {
            None
        };
        return Some((name, language, rest));
    }
    None
}

fn code_block(text: &str, language: Option<String>) -> Value {
    let mut node = json!({"type": "codeBlock"});
    if let Some(language) = language {
        node["attrs"] = json!({"language": language});
    }
    if !text.is_empty() {
        node["content"] = json!([{"type": "text", "text": text}]);
    }
    node
}

/// Only what ADF allows inside a quote: paragraphs, lists and code blocks.
fn quote_content(blocks: Vec<Value>) -> Vec<Value> {
    let mut out = Vec::new();
    for node in blocks {
        match node.get("type").and_then(Value::as_str).unwrap_or("") {
            "paragraph" | "bulletList" | "orderedList" | "codeBlock" => out.push(node),
            "heading" => {
                if let Some(content) = node.get("content") {
                    out.push(json!({"type": "paragraph", "content": content}));
                }
            }
            "blockquote" => {
                if let Some(Value::Array(inner)) = node.get("content") {
                    out.extend(inner.iter().cloned());
                }
            }
            "table" => {
                let cells = node
                    .get("content")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|row| row.get("content").and_then(Value::as_array))
                    .flatten();
                for cell in cells {
                    if let Some(Value::Array(inner)) = cell.get("content") {
                        out.extend(inner.iter().filter(|p| p.get("content").is_some()).cloned());
                    }
                }
            }
            _ => {}
        }
    }
    out
}

fn heading(line: &str) -> Option<(u64, &str)> {
    let rest = line.strip_prefix('h')?;
    let level = rest.chars().next()?.to_digit(10)?;
    if !(1..=6).contains(&level) {
        return None;
    }
    let rest = rest[1..].strip_prefix('.')?;
    if rest.is_empty() {
        return Some((u64::from(level), ""));
    }
    Some((u64::from(level), rest.strip_prefix(' ')?))
}

fn list_line(line: &str) -> Option<(&str, &str)> {
    if let Some(rest) = line.strip_prefix("- ") {
        return Some(("-", rest));
    }
    let n = line.chars().take_while(|c| matches!(c, '*' | '#')).count();
    if n == 0 {
        return None;
    }
    let rest = line[n..].strip_prefix(' ')?;
    Some((&line[..n], rest))
}

/// One table row: cells after `|` are cells, after `||` headers.
fn table_row(line: &str) -> Option<Value> {
    let s: Vec<char> = line.chars().collect();
    let mut cells: Vec<(bool, String)> = Vec::new();
    let mut current: Option<(bool, String)> = None;
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        if c == '\\' && i + 1 < s.len() {
            if let Some((_, text)) = &mut current {
                text.push(c);
                text.push(s[i + 1]);
            }
            i += 2;
            continue;
        }
        if c == '['
            && let Some(end) = find_unescaped(&s, i + 1, ']')
        {
            if let Some((_, text)) = &mut current {
                text.extend(&s[i..=end]);
            }
            i = end + 1;
            continue;
        }
        if c == '|' {
            let header = s.get(i + 1) == Some(&'|');
            if let Some(cell) = current.take() {
                cells.push(cell);
            }
            current = Some((header, String::new()));
            i += if header { 2 } else { 1 };
            continue;
        }
        if let Some((_, text)) = &mut current {
            text.push(c);
        }
        i += 1;
    }
    if let Some((header, text)) = current
        && !text.trim().is_empty()
    {
        cells.push((header, text));
    }
    if cells.is_empty() {
        return None;
    }
    let content: Vec<Value> = cells
        .into_iter()
        .map(|(header, text)| {
            json!({
                "type": if header { "tableHeader" } else { "tableCell" },
                "content": [paragraph(line_pieces(text.trim()))],
            })
        })
        .collect();
    Some(json!({"type": "tableRow", "content": content}))
}

fn paragraph(pieces: Vec<Piece>) -> Value {
    let content = inline_nodes(pieces);
    if content.is_empty() {
        json!({"type": "paragraph"})
    } else {
        json!({"type": "paragraph", "content": content})
    }
}

/// The pieces of one line of inline markup.
fn line_pieces(line: &str) -> Vec<Piece> {
    let chars: Vec<char> = line.chars().collect();
    let mut out = Vec::new();
    inline(&chars, &[], &mut out);
    trim_mark_spans(&mut out);
    out
}

/// Merges pieces into ADF text and hardBreak nodes.
fn inline_nodes(pieces: Vec<Piece>) -> Vec<Value> {
    let mut out = Vec::new();
    let mut run: Option<(String, Vec<Mark>)> = None;
    let flush = |run: &mut Option<(String, Vec<Mark>)>, out: &mut Vec<Value>| {
        if let Some((text, marks)) = run.take() {
            let mut node = json!({"type": "text", "text": text});
            if !marks.is_empty() {
                node["marks"] = Value::Array(marks.iter().map(Mark::to_adf).collect());
            }
            out.push(node);
        }
    };
    for piece in pieces {
        match piece {
            Piece::Break => {
                flush(&mut run, &mut out);
                out.push(json!({"type": "hardBreak"}));
            }
            Piece::Mention(id) => {
                flush(&mut run, &mut out);
                out.push(json!({"type": "mention", "attrs": {"id": id}}));
            }
            Piece::Ch(c, marks) => match &mut run {
                Some((text, m)) if *m == marks => text.push(c),
                _ => {
                    flush(&mut run, &mut out);
                    run = Some((c.to_string(), marks));
                }
            },
        }
    }
    flush(&mut run, &mut out);
    out
}

fn find_unescaped(s: &[char], from: usize, target: char) -> Option<usize> {
    let mut i = from;
    while i < s.len() {
        if s[i] == '\\' {
            i += 2;
            continue;
        }
        if s[i] == target {
            return Some(i);
        }
        i += 1;
    }
    None
}

fn find_seq(s: &[char], from: usize, seq: &[char]) -> Option<usize> {
    let mut i = from;
    while i + seq.len() <= s.len() {
        if s[i] == '\\' {
            i += 2;
            continue;
        }
        if s[i..i + seq.len()] == *seq {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// `&#NN;` at the start of `s`: the character and the entity's length.
fn entity(s: &[char]) -> Option<(char, usize)> {
    if s.len() < 4 || s[0] != '&' || s[1] != '#' {
        return None;
    }
    let digits = s[2..].iter().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 || digits > 7 || s.get(2 + digits) != Some(&';') {
        return None;
    }
    let n: u32 = s[2..2 + digits].iter().collect::<String>().parse().ok()?;
    let c = char::from_u32(n).filter(|c| *c != '\n' && *c != '\r')?;
    Some((c, digits + 3))
}

fn opening_valid(s: &[char], i: usize) -> bool {
    (i == 0 || !s[i - 1].is_alphanumeric()) && s.get(i + 1).is_some_and(|c| !c.is_whitespace())
}

/// The closing delimiter `d` for an opening at `i`, skipping escapes, brace
/// forms, code spans and links.
fn find_closing(s: &[char], i: usize, d: char) -> Option<usize> {
    let mut j = i + 1;
    while j < s.len() {
        match s[j] {
            '\\' => {
                j += 2;
                continue;
            }
            '{' if s.get(j + 1) == Some(&'{') => {
                j = find_seq(s, j + 2, &['}', '}']).map_or(j + 1, |e| e + 2);
                continue;
            }
            '{' if s.get(j + 2) == Some(&'}') => {
                j += 3;
                continue;
            }
            '[' => {
                j = find_unescaped(s, j + 1, ']').map_or(j + 1, |e| e + 1);
                continue;
            }
            c if c == d
                && j > i + 1
                && !s[j - 1].is_whitespace()
                && s.get(j + 1).is_none_or(|n| !n.is_alphanumeric()) =>
            {
                return Some(j);
            }
            _ => {}
        }
        j += 1;
    }
    None
}

fn unescape(s: &[char]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < s.len() {
        if s[i] == '\\' && i + 1 < s.len() {
            out.push(s[i + 1]);
            i += 2;
        } else {
            out.push(s[i]);
            i += 1;
        }
    }
    out
}

/// Parses inline markup into pieces carrying `marks`.
fn inline(s: &[char], marks: &[Mark], out: &mut Vec<Piece>) {
    let marks = normalize_marks(marks.to_vec());
    let literal = |c: char, out: &mut Vec<Piece>| out.push(Piece::Ch(c, marks.clone()));
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        match c {
            '\\' => {
                match s.get(i + 1) {
                    Some('\\') => out.push(Piece::Break),
                    Some(n) if ESCAPABLE.contains(n) => literal(*n, out),
                    _ => {
                        literal('\\', out);
                        i += 1;
                        continue;
                    }
                }
                i += 2;
                continue;
            }
            '&' => {
                if let Some((ch, len)) = entity(&s[i..]) {
                    literal(ch, out);
                    i += len;
                    continue;
                }
            }
            '{' => {
                if s.get(i + 1) == Some(&'{')
                    && let Some(end) = find_seq(s, i + 2, &['}', '}'])
                {
                    code_span(&s[i + 2..end], &add_mark(&marks, Mark::Code), out);
                    i = end + 2;
                    continue;
                }
                if let (Some(d), Some('}')) = (s.get(i + 1), s.get(i + 2))
                    && let Some(mark) = Mark::from_delimiter(*d)
                    && let Some(end) = find_seq(s, i + 3, &['{', *d, '}'])
                {
                    inline(&s[i + 3..end], &add_mark(&marks, mark), out);
                    i = end + 3;
                    continue;
                }
            }
            '[' => {
                if let Some(end) = find_unescaped(s, i + 1, ']') {
                    let inner = &s[i + 1..end];
                    if inner.first() == Some(&'~')
                        && let Some(id) = super::mention_id(&unescape(&inner[1..]))
                    {
                        out.push(Piece::Mention(id));
                        i = end + 1;
                        continue;
                    }
                    if inner.first() == Some(&'~') {
                        literal('@', out);
                        for ch in unescape(&inner[1..]).chars() {
                            literal(ch, out);
                        }
                        i = end + 1;
                        continue;
                    }
                    let (text, href) = match find_unescaped(inner, 0, '|') {
                        Some(bar) => (&inner[..bar], unescape(&inner[bar + 1..])),
                        None => (inner, unescape(inner)),
                    };
                    if !href.trim().is_empty() && !text.is_empty() {
                        inline(text, &add_mark(&marks, Mark::Link(href)), out);
                        i = end + 1;
                        continue;
                    }
                }
            }
            _ => {
                if let Some(mark) = Mark::from_delimiter(c)
                    && opening_valid(s, i)
                    && let Some(end) = find_closing(s, i, c)
                {
                    inline(&s[i + 1..end], &add_mark(&marks, mark), out);
                    i = end + 1;
                    continue;
                }
            }
        }
        literal(c, out);
        i += 1;
    }
}

/// The inside of `{{…}}`: only escapes and entities mean something.
fn code_span(s: &[char], marks: &[Mark], out: &mut Vec<Piece>) {
    let mut i = 0;
    while i < s.len() {
        if s[i] == '\\' {
            match s.get(i + 1) {
                Some('\\') => {
                    out.push(Piece::Break);
                    i += 2;
                    continue;
                }
                Some(n) if ESCAPABLE.contains(n) => {
                    out.push(Piece::Ch(*n, marks.to_vec()));
                    i += 2;
                    continue;
                }
                _ => {}
            }
        }
        if let Some((ch, len)) = entity(&s[i..]) {
            out.push(Piece::Ch(ch, marks.to_vec()));
            i += len;
            continue;
        }
        out.push(Piece::Ch(s[i], marks.to_vec()));
        i += 1;
    }
}
