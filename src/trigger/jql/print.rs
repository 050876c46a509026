//! Canonical JQL: what [`Jql`](super::Jql)'s `Display` prints.
//!
//! Keywords in capitals, fields by their canonical names, values bare when
//! that reads back the same and quoted otherwise, parentheses only where the
//! precedence needs them. Parsing the output gives the same tree.

use std::fmt::{self, Display, Formatter, Write};

use super::ast::{Clause, Condition, DateValue, Operand, SortDirection, SortKey, Value};
use super::date::format_offset;

/// Words Jira reserves: as values they must be quoted.
const RESERVED_WORDS: &[&str] = &[
    "abort",
    "access",
    "add",
    "after",
    "alias",
    "all",
    "alter",
    "and",
    "any",
    "as",
    "asc",
    "audit",
    "avg",
    "before",
    "begin",
    "between",
    "boolean",
    "break",
    "by",
    "byte",
    "catch",
    "cf",
    "changed",
    "char",
    "character",
    "check",
    "checkpoint",
    "collate",
    "collation",
    "column",
    "commit",
    "connect",
    "continue",
    "count",
    "create",
    "current",
    "date",
    "decimal",
    "declare",
    "decrement",
    "default",
    "defaults",
    "define",
    "delete",
    "delimiter",
    "desc",
    "difference",
    "distinct",
    "divide",
    "do",
    "double",
    "drop",
    "else",
    "empty",
    "encoding",
    "end",
    "equals",
    "escape",
    "exclusive",
    "exec",
    "execute",
    "exists",
    "explain",
    "false",
    "fetch",
    "file",
    "field",
    "first",
    "float",
    "for",
    "from",
    "function",
    "go",
    "goto",
    "grant",
    "greater",
    "group",
    "having",
    "identified",
    "if",
    "immediate",
    "in",
    "increment",
    "index",
    "initial",
    "inner",
    "inout",
    "input",
    "insert",
    "int",
    "integer",
    "intersect",
    "intersection",
    "into",
    "is",
    "isempty",
    "isnull",
    "join",
    "last",
    "left",
    "less",
    "like",
    "limit",
    "lock",
    "long",
    "max",
    "min",
    "minus",
    "mode",
    "modify",
    "modulo",
    "more",
    "multiply",
    "next",
    "noaudit",
    "not",
    "notin",
    "nowait",
    "null",
    "number",
    "object",
    "of",
    "on",
    "option",
    "or",
    "order",
    "outer",
    "output",
    "power",
    "previous",
    "prior",
    "privileges",
    "public",
    "raise",
    "raw",
    "remainder",
    "rename",
    "resource",
    "return",
    "returns",
    "revoke",
    "right",
    "row",
    "rowid",
    "rownum",
    "rows",
    "select",
    "session",
    "set",
    "share",
    "size",
    "sqrt",
    "start",
    "strict",
    "string",
    "subtract",
    "sum",
    "synonym",
    "table",
    "then",
    "to",
    "trans",
    "transaction",
    "trigger",
    "true",
    "uid",
    "union",
    "unique",
    "update",
    "user",
    "validate",
    "values",
    "view",
    "when",
    "whenever",
    "where",
    "while",
    "with",
];

/// Whether `word` is one of Jira's reserved words (any case).
pub(crate) fn is_reserved_word(word: &str) -> bool {
    RESERVED_WORDS.iter().any(|r| r.eq_ignore_ascii_case(word))
}

/// Whether `text` reads back as the same word without quotes.
fn is_bare(text: &str) -> bool {
    !text.is_empty()
        && !is_reserved_word(text)
        && text
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
}

/// Writes `text` bare if it reads back the same, else double-quoted with escapes.
fn write_text(f: &mut Formatter<'_>, text: &str) -> fmt::Result {
    if is_bare(text) {
        return f.write_str(text);
    }
    f.write_char('"')?;
    for c in text.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            c if c.is_control() => write!(f, "\\u{:04x}", u32::from(c))?,
            c => f.write_char(c)?,
        }
    }
    f.write_char('"')
}

impl Display for DateValue {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let function = |f: &mut Formatter<'_>, name: &str, offset: time::Duration| {
            if offset.is_zero() {
                write!(f, "{name}()")
            } else {
                write!(f, "{name}({})", format_offset(offset))
            }
        };
        match *self {
            DateValue::At(at) => {
                let (date, time) = (at.date(), at.time());
                let day = format!(
                    "{:04}-{:02}-{:02}",
                    date.year(),
                    u8::from(date.month()),
                    date.day()
                );
                if time == time::Time::MIDNIGHT {
                    f.write_str(&day)
                } else {
                    write!(f, "\"{day} {:02}:{:02}\"", time.hour(), time.minute())
                }
            }
            DateValue::Relative(offset) => f.write_str(&format_offset(offset)),
            DateValue::Now => f.write_str("now()"),
            DateValue::StartOfDay(offset) => function(f, "startOfDay", offset),
            DateValue::EndOfDay(offset) => function(f, "endOfDay", offset),
        }
    }
}

impl Display for Value {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Value::Text(text) => write_text(f, text),
            Value::Date(date) => date.fmt(f),
        }
    }
}

impl Display for Operand {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Operand::Empty => f.write_str("EMPTY"),
            Operand::Value(value) => value.fmt(f),
            Operand::List(values) => {
                f.write_char('(')?;
                for (i, value) in values.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    value.fmt(f)?;
                }
                f.write_char(')')
            }
        }
    }
}

impl Display for Condition {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.field, self.operator, self.operand)
    }
}

/// How tightly a clause binds; a child that binds looser than its parent
/// needs parentheses.
fn binding(clause: &Clause) -> u8 {
    match clause {
        Clause::Or(_) => 0,
        Clause::And(_) => 1,
        Clause::Not(_) | Clause::Condition(_) => 2,
    }
}

fn write_child(f: &mut Formatter<'_>, child: &Clause, min_binding: u8) -> fmt::Result {
    if binding(child) < min_binding {
        write!(f, "({child})")
    } else {
        child.fmt(f)
    }
}

impl Display for Clause {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let (clauses, keyword, min_binding) = match self {
            Clause::Condition(condition) => return condition.fmt(f),
            Clause::Not(inner) => {
                f.write_str("NOT ")?;
                return write_child(f, inner, 2);
            }
            // A nested AND (or OR) only exists where parentheses put it.
            Clause::And(clauses) => (clauses, " AND ", 2),
            Clause::Or(clauses) => (clauses, " OR ", 1),
        };
        for (i, clause) in clauses.iter().enumerate() {
            if i > 0 {
                f.write_str(keyword)?;
            }
            write_child(f, clause, min_binding)?;
        }
        Ok(())
    }
}

impl Display for SortKey {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(self.field.name())?;
        match self.direction {
            None => Ok(()),
            Some(SortDirection::Ascending) => f.write_str(" ASC"),
            Some(SortDirection::Descending) => f.write_str(" DESC"),
        }
    }
}

/// Writes a whole query: the clause, then `ORDER BY` if there are sort keys.
pub(crate) fn write_query(
    f: &mut Formatter<'_>,
    clause: Option<&Clause>,
    order_by: &[SortKey],
) -> fmt::Result {
    if let Some(clause) = clause {
        clause.fmt(f)?;
    }
    if order_by.is_empty() {
        return Ok(());
    }
    if clause.is_some() {
        f.write_char(' ')?;
    }
    f.write_str("ORDER BY ")?;
    for (i, key) in order_by.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        key.fmt(f)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Text<'a>(&'a str);

    impl Display for Text<'_> {
        fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
            write_text(f, self.0)
        }
    }

    #[test]
    fn quotes_only_what_needs_it() {
        let cases = [
            ("SUP", "SUP"),
            ("escalate-to-dev", "escalate-to-dev"),
            ("Größe", "Größe"),
            ("In Progress", "\"In Progress\""),
            ("", "\"\""),
            ("3.14", "\"3.14\""),
            ("and", "\"and\""),
            ("Empty", "\"Empty\""),
            ("say \"hi\"\\", r#""say \"hi\"\\""#),
            ("a\nb\u{7}", r#""a\nb\u0007""#),
            ("it's", r#""it's""#),
        ];
        for (text, want) in cases {
            assert_eq!(Text(text).to_string(), want, "{text:?}");
        }
    }
}
