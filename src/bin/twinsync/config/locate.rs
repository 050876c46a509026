//! Config errors that name the file, the line and the key.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// A config file error: where it is and what is wrong. Never holds a value
/// that could be a secret.
#[derive(Debug)]
pub struct ConfigError {
    /// The config file.
    pub file: PathBuf,
    /// 1-based line and column, when known.
    pub at: Option<(usize, usize)>,
    /// The dotted key, such as `node.listen` or `connection[2].name`.
    pub key: Option<String>,
    /// What is wrong and what to do.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some((line, column)) = self.at {
            write!(f, ":{line}:{column}")?;
        }
        f.write_str(": ")?;
        if let Some(key) = &self.key {
            write!(f, "key `{key}`: ")?;
        }
        f.write_str(&self.message)
    }
}

/// The text of a config file, to turn byte spans into lines and keys.
pub struct Source<'a> {
    pub file: &'a Path,
    pub text: &'a str,
}

impl Source<'_> {
    /// An error at `span` (a byte range of the file); the key is found from
    /// the text around it.
    pub fn error_at(&self, span: Option<Range<usize>>, message: impl Into<String>) -> ConfigError {
        let (at, key) = match span {
            Some(span) => {
                let start = span.start.min(self.text.len());
                (Some(self.line_column(start)), self.key_at(start))
            }
            None => (None, None),
        };
        ConfigError {
            file: self.file.to_owned(),
            at,
            key,
            message: message.into(),
        }
    }

    /// An error about the file as a whole (no position).
    pub fn error(&self, key: Option<&str>, message: impl Into<String>) -> ConfigError {
        ConfigError {
            file: self.file.to_owned(),
            at: None,
            key: key.map(str::to_owned),
            message: message.into(),
        }
    }

    /// The 1-based line and column of byte `offset`.
    pub fn line_column(&self, offset: usize) -> (usize, usize) {
        let before = &self.text[..floor_char(self.text, offset)];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, column)
    }

    /// The dotted key of the line holding `offset`: the table header in
    /// effect there (with the index of an array of tables) and the key
    /// before `=` on that line; the header itself when the line is one.
    fn key_at(&self, offset: usize) -> Option<String> {
        let offset = floor_char(self.text, offset);
        let line_start = self.text[..offset].rfind('\n').map_or(0, |i| i + 1);
        let line_end = self.text[offset..]
            .find('\n')
            .map_or(self.text.len(), |i| offset + i);
        let line = self.text[line_start..line_end].trim();
        let mut table: Option<String> = None;
        let mut counts: Vec<(String, usize)> = Vec::new();
        for header_line in self.text[..line_start].lines() {
            if let Some(name) = header(header_line) {
                table = Some(name);
            } else if let Some(name) = array_header(header_line) {
                let n = match counts.iter_mut().find(|(k, _)| *k == name) {
                    Some((_, n)) => {
                        *n += 1;
                        *n
                    }
                    None => {
                        counts.push((name.clone(), 1));
                        1
                    }
                };
                table = Some(format!("{name}[{n}]"));
            }
        }
        if let Some(name) = header(line) {
            return Some(name);
        }
        if let Some(name) = array_header(line) {
            let n = counts
                .iter()
                .find(|(k, _)| *k == name)
                .map_or(0, |(_, n)| *n)
                + 1;
            return Some(format!("{name}[{n}]"));
        }
        let key = line
            .split_once('=')
            .map(|(k, _)| k.trim().trim_matches('"').to_owned())
            .filter(|k| !k.is_empty() && !k.starts_with('#'));
        match (table, key) {
            (Some(t), Some(k)) => Some(format!("{t}.{k}")),
            (None, Some(k)) => Some(k),
            (t, None) => t,
        }
    }
}

fn floor_char(text: &str, mut offset: usize) -> usize {
    offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

fn header(line: &str) -> Option<String> {
    let line = strip_comment(line);
    let inner = line.strip_prefix('[')?.strip_suffix(']')?;
    (!inner.starts_with('[')).then(|| inner.trim().to_owned())
}

fn array_header(line: &str) -> Option<String> {
    let line = strip_comment(line);
    let inner = line.strip_prefix("[[")?.strip_suffix("]]")?;
    Some(inner.trim().to_owned())
}

fn strip_comment(line: &str) -> &str {
    line.split('#').next().unwrap_or("").trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_found_under_tables_and_arrays_of_tables() {
        let text =
            "[node]\nstate = \"a\"\n\n[[connection]]\nname = \"x\"\n[[connection]]\nname = 5\n";
        let src = Source {
            file: Path::new("t.toml"),
            text,
        };
        let at = text.find("5").unwrap();
        let err = src.error_at(Some(at..at + 1), "bad");
        assert_eq!(err.key.as_deref(), Some("connection[2].name"));
        assert_eq!(err.at, Some((7, 8)));
        let at = text.find("state").unwrap();
        assert_eq!(
            src.error_at(Some(at..at), "bad").to_string(),
            "t.toml:2:1: key `node.state`: bad"
        );
    }
}
