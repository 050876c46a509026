//! Splits a query into tokens, one at a time, so errors come in reading order.

use super::error::{JqlError, quote};

/// What a token is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Tok {
    LParen,
    RParen,
    Comma,
    Eq,
    NotEq,
    Contains,
    NotContains,
    Lt,
    Le,
    Gt,
    Ge,
    /// An unquoted word: a field, a keyword, a value or a function name.
    Word(String),
    /// A quoted string, escapes resolved.
    Quoted(String),
    Eof,
}

/// A token and the byte range of its source text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Token {
    pub tok: Tok,
    pub start: usize,
    pub end: usize,
}

/// Characters that end an unquoted word.
fn is_delimiter(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '(' | ')' | ',' | '=' | '!' | '~' | '<' | '>' | '"' | '\''
        )
}

/// Characters Jira reserves: a value that contains one must be quoted.
pub(crate) fn is_reserved_char(c: char) -> bool {
    matches!(
        c,
        '+' | '.'
            | ';'
            | '?'
            | '|'
            | '*'
            | '/'
            | '%'
            | '^'
            | '$'
            | '#'
            | '@'
            | '['
            | ']'
            | '{'
            | '}'
            | '&'
            | '\\'
    ) || c.is_control()
}

pub(crate) struct Lexer<'a> {
    src: &'a str,
    pos: usize,
}

impl<'a> Lexer<'a> {
    pub(crate) fn new(src: &'a str) -> Self {
        Lexer { src, pos: 0 }
    }

    fn rest(&self) -> &'a str {
        self.src.get(self.pos..).unwrap_or_default()
    }

    fn error(&self, at: usize, expected: impl Into<String>, found: impl Into<String>) -> JqlError {
        JqlError::new(self.src, at, expected, found)
    }

    /// The next token; [`Tok::Eof`] at the end, again and again.
    pub(crate) fn next_token(&mut self) -> Result<Token, JqlError> {
        let skipped = self.rest().len() - self.rest().trim_start().len();
        self.pos += skipped;
        let start = self.pos;
        let mut chars = self.rest().chars();
        let Some(c) = chars.next() else {
            return Ok(Token {
                tok: Tok::Eof,
                start,
                end: start,
            });
        };
        let next = chars.next();
        let (tok, len) = match (c, next) {
            ('(', _) => (Tok::LParen, 1),
            (')', _) => (Tok::RParen, 1),
            (',', _) => (Tok::Comma, 1),
            ('=', _) => (Tok::Eq, 1),
            ('~', _) => (Tok::Contains, 1),
            ('!', Some('=')) => (Tok::NotEq, 2),
            ('!', Some('~')) => (Tok::NotContains, 2),
            ('!', _) => {
                return Err(self.error(start, "\"!=\" or \"!~\"", quote("!")));
            }
            ('<', Some('=')) => (Tok::Le, 2),
            ('<', _) => (Tok::Lt, 1),
            ('>', Some('=')) => (Tok::Ge, 2),
            ('>', _) => (Tok::Gt, 1),
            ('"' | '\'', _) => return self.quoted(c),
            _ => return self.word(),
        };
        self.pos += len;
        Ok(Token {
            tok,
            start,
            end: self.pos,
        })
    }

    fn word(&mut self) -> Result<Token, JqlError> {
        let start = self.pos;
        let rest = self.rest();
        let len = rest.find(is_delimiter).unwrap_or(rest.len());
        let word = &rest[..len];
        self.pos += len;
        if let Some(bad) = word.chars().find(|c| is_reserved_char(*c)) {
            return Err(self.error(
                start,
                format!("quotes around a value with {}", quote(&bad.to_string())),
                quote(word),
            ));
        }
        Ok(Token {
            tok: Tok::Word(word.to_owned()),
            start,
            end: self.pos,
        })
    }

    fn quoted(&mut self, quote_char: char) -> Result<Token, JqlError> {
        let start = self.pos;
        let mut text = String::new();
        let mut chars = self.rest().char_indices().skip(1);
        while let Some((i, c)) = chars.next() {
            if c == quote_char {
                self.pos = start + i + c.len_utf8();
                return Ok(Token {
                    tok: Tok::Quoted(text),
                    start,
                    end: self.pos,
                });
            }
            if c != '\\' {
                text.push(c);
                continue;
            }
            let escape_at = start + i;
            let decoded = match chars.next() {
                Some((_, '"')) => Some('"'),
                Some((_, '\'')) => Some('\''),
                Some((_, '\\')) => Some('\\'),
                Some((_, ' ')) => Some(' '),
                Some((_, 'n')) => Some('\n'),
                Some((_, 'r')) => Some('\r'),
                Some((_, 't')) => Some('\t'),
                Some((_, 'u')) => {
                    let hex: String = chars.by_ref().take(4).map(|(_, h)| h).collect();
                    let code = if hex.len() == 4 && hex.chars().all(|h| h.is_ascii_hexdigit()) {
                        u32::from_str_radix(&hex, 16).ok()
                    } else {
                        None
                    };
                    match code.and_then(char::from_u32) {
                        Some(decoded) => Some(decoded),
                        None => {
                            return Err(self.error(
                                escape_at,
                                "four hexadecimal digits of a character after \"\\u\"",
                                quote(&format!("\\u{hex}")),
                            ));
                        }
                    }
                }
                _ => None,
            };
            match decoded {
                Some(d) => text.push(d),
                None => {
                    let seen: String = self.src[escape_at..].chars().take(2).collect();
                    return Err(self.error(
                        escape_at,
                        r#"an escape (\", \', \\, \n, \r, \t, \uXXXX or "\ ")"#,
                        quote(&seen),
                    ));
                }
            }
        }
        Err(self.error(
            start,
            format!("a closing quote ({quote_char}) for the string"),
            "end of input",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(src: &str) -> Result<Vec<Tok>, JqlError> {
        let mut lexer = Lexer::new(src);
        let mut out = Vec::new();
        loop {
            let token = lexer.next_token()?;
            if token.tok == Tok::Eof {
                return Ok(out);
            }
            assert_eq!(&src[token.start..token.end].is_empty(), &false);
            out.push(token.tok);
        }
    }

    fn word(w: &str) -> Tok {
        Tok::Word(w.to_owned())
    }

    #[test]
    fn splits_operators_words_and_strings() {
        assert_eq!(
            tokens(r#"a!=b<=c>d(e,'f g')"h"!~i~j<k>=l"#).unwrap(),
            vec![
                word("a"),
                Tok::NotEq,
                word("b"),
                Tok::Le,
                word("c"),
                Tok::Gt,
                word("d"),
                Tok::LParen,
                word("e"),
                Tok::Comma,
                Tok::Quoted("f g".into()),
                Tok::RParen,
                Tok::Quoted("h".into()),
                Tok::NotContains,
                word("i"),
                Tok::Contains,
                word("j"),
                Tok::Lt,
                word("k"),
                Tok::Ge,
                word("l"),
            ]
        );
        assert_eq!(tokens("  \n\t").unwrap(), vec![]);
        assert_eq!(
            tokens("-1d 2026-01-31 escalate-to-dev").unwrap(),
            vec![word("-1d"), word("2026-01-31"), word("escalate-to-dev")]
        );
    }

    #[test]
    fn resolves_escapes_in_both_quote_styles() {
        assert_eq!(
            tokens(r#""a\"b\\c\nd\te\u00e9\ f" 'it\'s'"#).unwrap(),
            vec![
                Tok::Quoted("a\"b\\c\nd\te\u{e9} f".into()),
                Tok::Quoted("it's".into())
            ]
        );
        assert_eq!(
            tokens(r#"'say "hi"'"#).unwrap(),
            vec![Tok::Quoted("say \"hi\"".into())]
        );
    }

    #[test]
    fn reports_bad_strings_where_they_start() {
        let err = tokens(r#"summary ~ "open"#).unwrap_err();
        assert_eq!(err.column(), 11);
        assert_eq!(
            err.to_string(),
            r#"jql: expected a closing quote (") for the string at column 11, found end of input"#
        );
        let err = tokens(r#"x = "a\qb""#).unwrap_err();
        assert_eq!((err.column(), err.found()), (7, r#""\\q""#));
        let err = tokens(r#"x = "\ud800""#).unwrap_err();
        assert_eq!(err.column(), 6, "{err}");
        let err = tokens(r#"x = "\u12""#).unwrap_err();
        assert_eq!(err.column(), 6, "{err}");
        assert!(tokens("x = \"\\").is_err());
    }

    #[test]
    fn rejects_reserved_characters_and_a_lone_bang() {
        let err = tokens("fixVersion = 3.14").unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"jql: expected quotes around a value with "." at column 14, found "3.14""#
        );
        let err = tokens("a ! b").unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"jql: expected "!=" or "!~" at column 3, found "!""#
        );
        assert!(tokens("a = b && c").is_err());
    }
}
