//! [`JqlError`]: where a query went wrong and what was expected there.

use std::fmt;

use crate::error::{Error, ErrorKind};

/// The longest excerpt of the query an error quotes, in characters.
const MAX_FOUND_CHARS: usize = 40;

/// A query that is not valid JQL of the supported subset.
///
/// It says where (byte offset, line and column) and what was expected there:
///
/// ```
/// use twinsync::trigger::Jql;
///
/// let err = Jql::parse("project = ").unwrap_err();
/// assert_eq!(err.offset(), 10);
/// assert_eq!(err.column(), 11);
/// assert_eq!(
///     err.to_string(),
///     r#"jql: expected a value after "=" at column 11, found end of input"#
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JqlError {
    offset: usize,
    line: usize,
    column: usize,
    expected: String,
    found: String,
}

impl JqlError {
    /// An error at byte `offset` of `source`.
    pub(crate) fn new(
        source: &str,
        offset: usize,
        expected: impl Into<String>,
        found: impl Into<String>,
    ) -> Self {
        let before = source.get(..offset).unwrap_or(source);
        let line_start = before.rfind('\n').map_or(0, |at| at + 1);
        JqlError {
            offset,
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
            expected: expected.into(),
            found: found.into(),
        }
    }

    /// The byte offset in the query where the problem is.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// The 1-based line of the problem (queries may span lines).
    pub fn line(&self) -> usize {
        self.line
    }

    /// The 1-based column of the problem, in characters from the start of its line.
    pub fn column(&self) -> usize {
        self.column
    }

    /// What the parser expected there, such as `a value after "="`.
    pub fn expected(&self) -> &str {
        &self.expected
    }

    /// What it found instead, such as `end of input` or `"AND"`.
    pub fn found(&self) -> &str {
        &self.found
    }
}

impl fmt::Display for JqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "jql: expected {} at ", self.expected)?;
        if self.line > 1 {
            write!(f, "line {}, ", self.line)?;
        }
        write!(f, "column {}, found {}", self.column, self.found)
    }
}

impl std::error::Error for JqlError {}

impl From<JqlError> for Error {
    /// An [`ErrorKind::InvalidInput`] error with the same message; the
    /// [`JqlError`] stays reachable as the source, for its position.
    fn from(err: JqlError) -> Self {
        Error::new(ErrorKind::InvalidInput, err.to_string()).with_source(err)
    }
}

/// Quotes a piece of the query for an error message, shortened if long.
pub(crate) fn quote(text: &str) -> String {
    let mut chars = text.chars();
    let head: String = chars.by_ref().take(MAX_FOUND_CHARS).collect();
    if chars.next().is_some() {
        format!("{:?}…", head)
    } else {
        format!("{head:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn position_counts_characters_and_lines() {
        let src = "project = SUP\nAND lä = x";
        let at = src.find("= x").unwrap();
        let err = JqlError::new(src, at, "something", "\"=\"");
        assert_eq!((err.line(), err.column()), (2, 8));
        assert_eq!(
            err.to_string(),
            "jql: expected something at line 2, column 8, found \"=\""
        );
    }

    #[test]
    fn converts_to_invalid_input_keeping_message_and_source() {
        let err = JqlError::new("x", 1, "a field", "end of input");
        let converted = Error::from(err.clone());
        assert_eq!(converted.kind(), ErrorKind::InvalidInput);
        assert_eq!(converted.to_string(), err.to_string());
        let source = std::error::Error::source(&converted).expect("source");
        assert_eq!(source.downcast_ref::<JqlError>(), Some(&err));
    }

    #[test]
    fn quotes_are_escaped_and_shortened() {
        assert_eq!(quote("a\"b"), r#""a\"b""#);
        assert_eq!(quote(&"x".repeat(50)), format!("\"{}\"…", "x".repeat(40)));
    }
}
