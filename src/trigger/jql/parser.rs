//! Recursive descent over the tokens: `OR` binds loosest, then `AND`, then `NOT`.

use super::ast::{
    Clause, Condition, DateValue, Field, FieldKind, Operand, Operator, SortDirection, SortKey,
    Value,
};
use super::date;
use super::error::{JqlError, quote};
use super::eval::search_words;
use super::lexer::{Lexer, Tok, Token};
use super::print::is_reserved_word;

/// How deep parentheses and `NOT`s may nest, so no input can exhaust the stack.
pub(crate) const MAX_DEPTH: usize = 64;

/// A parsed query before it becomes a [`Jql`](super::Jql).
pub(crate) struct Parsed {
    pub clause: Option<Clause>,
    pub order_by: Vec<SortKey>,
}

pub(crate) fn parse(src: &str) -> Result<Parsed, JqlError> {
    let mut parser = Parser {
        src,
        lexer: Lexer::new(src),
        peeked: None,
        depth: 0,
    };
    parser.query()
}

struct Parser<'a> {
    src: &'a str,
    lexer: Lexer<'a>,
    peeked: Option<Token>,
    depth: usize,
}

fn is_keyword(token: &Token, keyword: &str) -> bool {
    matches!(&token.tok, Tok::Word(w) if w.eq_ignore_ascii_case(keyword))
}

impl<'a> Parser<'a> {
    fn peek(&mut self) -> Result<&Token, JqlError> {
        let token = match self.peeked.take() {
            Some(token) => token,
            None => self.lexer.next_token()?,
        };
        Ok(self.peeked.insert(token))
    }

    fn next(&mut self) -> Result<Token, JqlError> {
        match self.peeked.take() {
            Some(token) => Ok(token),
            None => self.lexer.next_token(),
        }
    }

    fn peek_keyword(&mut self, keyword: &str) -> Result<bool, JqlError> {
        Ok(is_keyword(self.peek()?, keyword))
    }

    /// How a token is named in an error message.
    fn describe(&self, token: &Token) -> String {
        match token.tok {
            Tok::Eof => "end of input".to_owned(),
            _ => quote(self.src.get(token.start..token.end).unwrap_or_default()),
        }
    }

    fn error(&self, token: &Token, expected: impl Into<String>) -> JqlError {
        JqlError::new(self.src, token.start, expected, self.describe(token))
    }

    fn enter(&mut self, token: &Token) -> Result<(), JqlError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(
                token,
                format!("at most {MAX_DEPTH} levels of parentheses and NOT"),
            ));
        }
        Ok(())
    }

    fn query(&mut self) -> Result<Parsed, JqlError> {
        let first = self.peek()?;
        let clause = if first.tok == Tok::Eof || is_keyword(first, "order") {
            None
        } else {
            Some(self.or()?)
        };
        let mut order_by = Vec::new();
        if self.peek_keyword("order")? {
            self.next()?;
            let by = self.next()?;
            if !is_keyword(&by, "by") {
                return Err(self.error(&by, "\"BY\" after \"ORDER\""));
            }
            order_by = self.sort_keys()?;
        }
        let end = self.next()?;
        if end.tok != Tok::Eof {
            let expected = match order_by.last() {
                None => "\"AND\", \"OR\", \"ORDER BY\" or end of input",
                Some(key) if key.direction.is_none() => "\"ASC\", \"DESC\", \",\" or end of input",
                Some(_) => "\",\" or end of input",
            };
            return Err(self.error(&end, expected));
        }
        Ok(Parsed { clause, order_by })
    }

    fn or(&mut self) -> Result<Clause, JqlError> {
        let mut clauses = vec![self.and()?];
        while self.peek_keyword("or")? {
            self.next()?;
            clauses.push(self.and()?);
        }
        Ok(match clauses.len() {
            1 => clauses.remove(0),
            _ => Clause::Or(clauses),
        })
    }

    fn and(&mut self) -> Result<Clause, JqlError> {
        let mut clauses = vec![self.not()?];
        while self.peek_keyword("and")? {
            self.next()?;
            clauses.push(self.not()?);
        }
        Ok(match clauses.len() {
            1 => clauses.remove(0),
            _ => Clause::And(clauses),
        })
    }

    fn not(&mut self) -> Result<Clause, JqlError> {
        if !self.peek_keyword("not")? {
            return self.primary();
        }
        let not = self.next()?;
        self.enter(&not)?;
        let inner = self.not()?;
        self.depth -= 1;
        Ok(Clause::Not(Box::new(inner)))
    }

    fn primary(&mut self) -> Result<Clause, JqlError> {
        if self.peek()?.tok != Tok::LParen {
            return self.condition().map(Clause::Condition);
        }
        let open = self.next()?;
        self.enter(&open)?;
        let inner = self.or()?;
        let close = self.next()?;
        if close.tok != Tok::RParen {
            return Err(self.error(&close, "\"AND\", \"OR\" or \")\""));
        }
        self.depth -= 1;
        Ok(inner)
    }

    /// A field name; `expected` describes a token that is not a name at all,
    /// `known` the names that are accepted.
    fn field(&mut self, expected: &str, known: &str) -> Result<(Field, Token), JqlError> {
        let token = self.next()?;
        let name = match &token.tok {
            Tok::Word(name) | Tok::Quoted(name) => name,
            _ => return Err(self.error(&token, expected)),
        };
        match Field::from_name(name) {
            Some(field) => Ok((field, token)),
            None => Err(self.error(&token, known)),
        }
    }

    fn condition(&mut self) -> Result<Condition, JqlError> {
        let names: Vec<&str> = Field::ALL.iter().map(|f| f.name()).collect();
        let (field, _) = self.field(
            "a field name, \"NOT\" or \"(\"",
            &format!("one of the fields {}", names.join(", ")),
        )?;
        let operator = self.operator(field)?;
        let operand = match operator {
            Operator::Is | Operator::IsNot => {
                let token = self.next()?;
                if !is_keyword(&token, "empty") && !is_keyword(&token, "null") {
                    return Err(self.error(&token, format!("EMPTY after \"{operator}\"")));
                }
                Operand::Empty
            }
            Operator::In | Operator::NotIn => Operand::List(self.list(field, operator)?),
            _ => Operand::Value(self.value(field, &format!("after \"{operator}\""))?),
        };
        Ok(Condition {
            field,
            operator,
            operand,
        })
    }

    /// The operator after `field`, checked against what the field supports.
    fn operator(&mut self, field: Field) -> Result<Operator, JqlError> {
        let first = self.next()?;
        let operator = match &first.tok {
            Tok::Eq => Some(Operator::Equals),
            Tok::NotEq => Some(Operator::NotEquals),
            Tok::Contains => Some(Operator::Contains),
            Tok::NotContains => Some(Operator::NotContains),
            Tok::Lt => Some(Operator::Less),
            Tok::Le => Some(Operator::LessOrEqual),
            Tok::Gt => Some(Operator::Greater),
            Tok::Ge => Some(Operator::GreaterOrEqual),
            _ if is_keyword(&first, "in") => Some(Operator::In),
            _ if is_keyword(&first, "not") => {
                let second = self.next()?;
                if !is_keyword(&second, "in") {
                    return Err(self.error(&second, "\"IN\" after \"NOT\""));
                }
                Some(Operator::NotIn)
            }
            _ if is_keyword(&first, "is") => {
                if self.peek_keyword("not")? {
                    self.next()?;
                    Some(Operator::IsNot)
                } else {
                    Some(Operator::Is)
                }
            }
            _ => None,
        };
        match operator {
            Some(op) if field.supports(op) => Ok(op),
            _ => {
                let names: Vec<&str> = field.operators().iter().map(|o| o.as_str()).collect();
                let found = match operator {
                    Some(op) => quote(op.as_str()),
                    None => self.describe(&first),
                };
                Err(JqlError::new(
                    self.src,
                    first.start,
                    format!("an operator that {field} supports ({})", names.join(", ")),
                    found,
                ))
            }
        }
    }

    fn list(&mut self, field: Field, operator: Operator) -> Result<Vec<Value>, JqlError> {
        let open = self.next()?;
        if open.tok != Tok::LParen {
            return Err(self.error(&open, format!("\"(\" after \"{operator}\"")));
        }
        let mut values = vec![self.value(field, "after \"(\"")?];
        loop {
            let token = self.next()?;
            match token.tok {
                Tok::RParen => return Ok(values),
                Tok::Comma => values.push(self.value(field, "after \",\"")?),
                _ => return Err(self.error(&token, "\",\" or \")\"")),
            }
        }
    }

    /// One value for `field`; `context` says where, as in `after "="`.
    fn value(&mut self, field: Field, context: &str) -> Result<Value, JqlError> {
        let token = self.next()?;
        let text = match &token.tok {
            Tok::Quoted(text) => text.clone(),
            Tok::Word(word) if self.peek()?.tok == Tok::LParen => {
                if field.kind() != FieldKind::Date {
                    return Err(self.error(
                        &token,
                        format!("a value {context} (functions work only on created and updated)"),
                    ));
                }
                return self.function(&token, word).map(Value::Date);
            }
            Tok::Word(word) if is_reserved_word(word) => {
                return Err(JqlError::new(
                    self.src,
                    token.start,
                    format!("a value {context}"),
                    format!(
                        "reserved word {} (quote it to use it as a value)",
                        quote(word)
                    ),
                ));
            }
            Tok::Word(word) => word.clone(),
            _ => return Err(self.error(&token, format!("a value {context}"))),
        };
        match field.kind() {
            FieldKind::Name => Ok(Value::Text(text)),
            FieldKind::Text if search_words(&text).next().is_none() => Err(self.error(
                &token,
                format!("words to search for {context} (a letter or digit at least)"),
            )),
            FieldKind::Text => Ok(Value::Text(text)),
            FieldKind::Date => date::parse_literal(&text).map(Value::Date).ok_or_else(|| {
                self.error(
                    &token,
                    format!(
                        "a date {context}, such as 2026-01-31, \"2026-01-31 10:00\", -1d or startOfDay()"
                    ),
                )
            }),
        }
    }

    /// `now()`, `startOfDay([offset])` or `endOfDay([offset])`; the name is read.
    fn function(&mut self, name_token: &Token, name: &str) -> Result<DateValue, JqlError> {
        let make: fn(time::Duration) -> DateValue = match name.to_ascii_lowercase().as_str() {
            "now" => |_| DateValue::Now,
            "startofday" => DateValue::StartOfDay,
            "endofday" => DateValue::EndOfDay,
            _ => {
                return Err(self.error(name_token, "a date function (now, startOfDay or endOfDay)"));
            }
        };
        let takes_offset = !name.eq_ignore_ascii_case("now");
        self.next()?; // the "(" seen by the caller
        let mut token = self.next()?;
        let mut offset = time::Duration::ZERO;
        if takes_offset && let Tok::Word(arg) | Tok::Quoted(arg) = &token.tok {
            offset = date::parse_offset(arg, Some('d')).ok_or_else(|| {
                self.error(
                    &token,
                    format!("an offset such as -1d or \"+4h\" in {name}()"),
                )
            })?;
            token = self.next()?;
        }
        if token.tok != Tok::RParen {
            let expected = if takes_offset {
                format!("an offset such as -1d, or \")\", in {name}()")
            } else {
                format!("\")\" ({name}() takes no arguments)")
            };
            return Err(self.error(&token, expected));
        }
        Ok(make(offset))
    }

    fn sort_keys(&mut self) -> Result<Vec<SortKey>, JqlError> {
        let sortable: Vec<&str> = Field::ALL
            .iter()
            .filter(|f| f.is_sortable())
            .map(|f| f.name())
            .collect();
        let expected = format!("a field to order by ({})", sortable.join(", "));
        let mut keys = Vec::new();
        loop {
            let (field, token) = self.field(&expected, &expected)?;
            if !field.is_sortable() {
                return Err(self.error(&token, expected));
            }
            let direction = if self.peek_keyword("asc")? {
                Some(SortDirection::Ascending)
            } else if self.peek_keyword("desc")? {
                Some(SortDirection::Descending)
            } else {
                None
            };
            if direction.is_some() {
                self.next()?;
            }
            keys.push(SortKey { field, direction });
            if self.peek()?.tok != Tok::Comma {
                return Ok(keys);
            }
            self.next()?;
        }
    }
}

#[cfg(test)]
mod tests {
    use time::Duration;
    use time::macros::datetime;

    use super::*;

    fn parse_clause(src: &str) -> Clause {
        match parse(src) {
            Ok(parsed) => parsed.clause.expect("a clause"),
            Err(err) => panic!("{src:?}: {err}"),
        }
    }

    fn err(src: &str) -> JqlError {
        match parse(src) {
            Ok(parsed) => panic!("{src:?} parsed: {:?}", parsed.clause),
            Err(err) => err,
        }
    }

    fn is(field: Field, operator: Operator, operand: Operand) -> Clause {
        Clause::Condition(Condition {
            field,
            operator,
            operand,
        })
    }

    fn label(name: &str) -> Clause {
        is(
            Field::Labels,
            Operator::Equals,
            Operand::Value(Value::Text(name.into())),
        )
    }

    fn text(s: &str) -> Value {
        Value::Text(s.into())
    }

    fn date(d: DateValue) -> Operand {
        Operand::Value(Value::Date(d))
    }

    #[test]
    fn not_binds_tighter_than_and_and_and_tighter_than_or() {
        let (a, b, c) = (label("a"), label("b"), label("c"));
        let not = |x: &Clause| Clause::Not(Box::new(x.clone()));
        let cases = [
            (
                "labels = a OR labels = b AND labels = c",
                Clause::Or(vec![a.clone(), Clause::And(vec![b.clone(), c.clone()])]),
            ),
            (
                "labels = a AND labels = b OR labels = c",
                Clause::Or(vec![Clause::And(vec![a.clone(), b.clone()]), c.clone()]),
            ),
            (
                "NOT labels = a AND labels = b",
                Clause::And(vec![not(&a), b.clone()]),
            ),
            (
                "NOT (labels = a OR labels = b)",
                not(&Clause::Or(vec![a.clone(), b.clone()])),
            ),
            (
                "(labels = a OR labels = b) AND labels = c",
                Clause::And(vec![Clause::Or(vec![a.clone(), b.clone()]), c.clone()]),
            ),
            (
                "labels = a AND labels = b AND labels = c",
                Clause::And(vec![a.clone(), b.clone(), c.clone()]),
            ),
            (
                "labels = a AND (labels = b AND labels = c)",
                Clause::And(vec![a.clone(), Clause::And(vec![b.clone(), c.clone()])]),
            ),
            ("NOT NOT ((labels = a))", not(&not(&a))),
        ];
        for (src, want) in cases {
            assert_eq!(parse_clause(src), want, "{src}");
        }
    }

    #[test]
    fn keywords_fields_and_functions_ignore_case() {
        let a = parse(
            "type = Bug and not Labels In (x) or Status is not null \
             and Created >= STARTOFDAY() order by Created desc, KEY asc",
        )
        .unwrap();
        let b = parse(
            "issuetype = Bug AND NOT labels IN (x) OR status IS NOT EMPTY \
             AND created >= startOfDay() ORDER BY created DESC, key ASC",
        )
        .unwrap();
        assert_eq!(a.clause, b.clause);
        assert!(matches!(&a.clause, Some(Clause::Or(c)) if c.len() == 2));
        assert_eq!(a.order_by, b.order_by);
        assert_eq!(
            a.order_by,
            vec![
                SortKey {
                    field: Field::Created,
                    direction: Some(SortDirection::Descending)
                },
                SortKey {
                    field: Field::Key,
                    direction: Some(SortDirection::Ascending)
                },
            ]
        );
    }

    #[test]
    fn every_field_accepts_exactly_its_operators() {
        let all = [
            Operator::Equals,
            Operator::NotEquals,
            Operator::Contains,
            Operator::NotContains,
            Operator::In,
            Operator::NotIn,
            Operator::Is,
            Operator::IsNot,
            Operator::Less,
            Operator::LessOrEqual,
            Operator::Greater,
            Operator::GreaterOrEqual,
        ];
        for field in Field::ALL {
            let value = if field.kind() == FieldKind::Date {
                "-1d"
            } else {
                "x"
            };
            for op in all {
                let operand = match op {
                    Operator::Is | Operator::IsNot => "EMPTY".to_owned(),
                    Operator::In | Operator::NotIn => format!("({value}, {value})"),
                    _ => value.to_owned(),
                };
                let src = format!("{field} {op} {operand}");
                let result = parse(&src);
                if field.supports(op) {
                    let clause = result.map(|p| p.clause).unwrap_or_else(|e| panic!("{e}"));
                    assert!(
                        matches!(clause, Some(Clause::Condition(c)) if c.field == field && c.operator == op),
                        "{src}"
                    );
                } else {
                    let e = result.err().unwrap_or_else(|| panic!("{src} parsed"));
                    let message = e.to_string();
                    assert!(
                        message.contains(&format!("that {field} supports"))
                            && e.found() == format!("\"{op}\""),
                        "{src}: {message}"
                    );
                    assert_eq!(e.offset(), field.name().len() + 1, "{src}");
                }
            }
        }
    }

    #[test]
    fn values_are_words_or_strings_typed_by_field() {
        let cases = [
            (
                r#"status = "In Progress""#,
                is(
                    Field::Status,
                    Operator::Equals,
                    Operand::Value(text("In Progress")),
                ),
            ),
            (
                r#"project IN (SUP, 'D E V', "10000")"#,
                is(
                    Field::Project,
                    Operator::In,
                    Operand::List(vec![text("SUP"), text("D E V"), text("10000")]),
                ),
            ),
            (
                r#"summary ~ "\"on fire\"""#,
                is(
                    Field::Summary,
                    Operator::Contains,
                    Operand::Value(text("\"on fire\"")),
                ),
            ),
            (
                r#"labels = "and""#,
                is(Field::Labels, Operator::Equals, Operand::Value(text("and"))),
            ),
            (
                "created < 2026-01-31",
                is(
                    Field::Created,
                    Operator::Less,
                    date(DateValue::At(datetime!(2026-01-31 0:00))),
                ),
            ),
            (
                r#"updated >= '2026/01/31 10:00'"#,
                is(
                    Field::Updated,
                    Operator::GreaterOrEqual,
                    date(DateValue::At(datetime!(2026-01-31 10:00))),
                ),
            ),
            (
                r#"updated > "-1w 2d""#,
                is(
                    Field::Updated,
                    Operator::Greater,
                    date(DateValue::Relative(-Duration::days(9))),
                ),
            ),
            (
                "created <= now()",
                is(Field::Created, Operator::LessOrEqual, date(DateValue::Now)),
            ),
            (
                "created > startOfDay(-1)",
                is(
                    Field::Created,
                    Operator::Greater,
                    date(DateValue::StartOfDay(-Duration::DAY)),
                ),
            ),
            (
                r#"created < endOfDay("+4h")"#,
                is(
                    Field::Created,
                    Operator::Less,
                    date(DateValue::EndOfDay(Duration::hours(4))),
                ),
            ),
            (
                "created IN (-30m, startOfDay())",
                is(
                    Field::Created,
                    Operator::In,
                    Operand::List(vec![
                        Value::Date(DateValue::Relative(-Duration::minutes(30))),
                        Value::Date(DateValue::StartOfDay(Duration::ZERO)),
                    ]),
                ),
            ),
        ];
        for (src, want) in cases {
            assert_eq!(parse_clause(src), want, "{src}");
        }
    }

    #[test]
    fn empty_queries_and_order_by_alone() {
        for src in ["", "   \n ", "order by updated"] {
            assert_eq!(parse(src).unwrap().clause, None, "{src:?}");
        }
        assert_eq!(parse("ORDER BY updated").unwrap().order_by.len(), 1);
    }

    #[test]
    fn errors_say_where_and_what_was_expected() {
        let cases: &[(&str, usize, &str)] = &[
            (
                "project = ",
                11,
                r#"expected a value after "=" at column 11, found end of input"#,
            ),
            (
                "project = SUP labels = x",
                15,
                r#"expected "AND", "OR", "ORDER BY" or end of input at column 15, found "labels""#,
            ),
            (
                "colour = red",
                1,
                "expected one of the fields project, issuetype, key, labels, status, summary, \
                 description, text, comment, created, updated at column 1, found \"colour\"",
            ),
            (
                "summary < 3",
                9,
                r#"expected an operator that summary supports (~, !~) at column 9, found "<""#,
            ),
            (
                "project = SUP AND",
                18,
                r#"expected a field name, "NOT" or "(" at column 18, found end of input"#,
            ),
            (
                "(project = SUP",
                15,
                r#"expected "AND", "OR" or ")" at column 15, found end of input"#,
            ),
            (
                "project = SUP)",
                14,
                r#"expected "AND", "OR", "ORDER BY" or end of input at column 14, found ")""#,
            ),
            (
                "labels IN x",
                11,
                r#"expected "(" after "IN" at column 11, found "x""#,
            ),
            (
                "labels IN ()",
                12,
                r#"expected a value after "(" at column 12, found ")""#,
            ),
            (
                "labels IN (a b)",
                14,
                r#"expected "," or ")" at column 14, found "b""#,
            ),
            (
                "labels NOT x",
                12,
                r#"expected "IN" after "NOT" at column 12, found "x""#,
            ),
            (
                "labels IS x",
                11,
                r#"expected EMPTY after "IS" at column 11, found "x""#,
            ),
            (
                "labels = empty",
                10,
                r#"expected a value after "=" at column 10, found reserved word "empty" (quote it to use it as a value)"#,
            ),
            (
                "created > yesterday",
                11,
                r#"expected a date after ">", such as 2026-01-31, "2026-01-31 10:00", -1d or startOfDay() at column 11, found "yesterday""#,
            ),
            (
                "created > startOfWeek()",
                11,
                r#"expected a date function (now, startOfDay or endOfDay) at column 11, found "startOfWeek""#,
            ),
            (
                "created > now(1d)",
                15,
                r#"expected ")" (now() takes no arguments) at column 15, found "1d""#,
            ),
            (
                "created > startOfDay(x)",
                22,
                r#"expected an offset such as -1d or "+4h" in startOfDay() at column 22, found "x""#,
            ),
            (
                "assignee = currentUser()",
                1,
                "expected one of the fields project, issuetype, key, labels, status, summary, \
                 description, text, comment, created, updated at column 1, found \"assignee\"",
            ),
            (
                "project = currentProject()",
                11,
                r#"expected a value after "=" (functions work only on created and updated) at column 11, found "currentProject""#,
            ),
            (
                r#"summary ~ "--""#,
                11,
                r#"expected words to search for after "~" (a letter or digit at least) at column 11, found "\"--\"""#,
            ),
            (
                "project = SUP ORDER created",
                21,
                r#"expected "BY" after "ORDER" at column 21, found "created""#,
            ),
            (
                "ORDER BY comment",
                10,
                "expected a field to order by (project, issuetype, key, status, summary, \
                 created, updated) at column 10, found \"comment\"",
            ),
            (
                "ORDER BY created DESC key",
                23,
                r#"expected "," or end of input at column 23, found "key""#,
            ),
            (
                "ORDER BY created key",
                18,
                r#"expected "ASC", "DESC", "," or end of input at column 18, found "key""#,
            ),
            (
                "= x",
                1,
                r#"expected a field name, "NOT" or "(" at column 1, found "=""#,
            ),
        ];
        for (src, column, message) in cases {
            let e = err(src);
            assert_eq!(e.column(), *column, "{src}");
            assert_eq!(e.to_string(), format!("jql: {message}"), "{src}");
        }
    }

    #[test]
    fn errors_on_later_lines_name_the_line() {
        let e = err("project = SUP\n  AND status ~ open");
        assert_eq!((e.line(), e.column(), e.offset()), (2, 14, 27));
        assert!(e.to_string().contains("at line 2, column 14"), "{e}");
    }

    #[test]
    fn nesting_is_limited_without_exhausting_the_stack() {
        let nested = |n: usize| format!("{}labels = a{}", "(".repeat(n), ")".repeat(n));
        assert!(parse(&nested(MAX_DEPTH)).is_ok());
        let e = err(&nested(MAX_DEPTH + 1));
        assert_eq!(e.column(), MAX_DEPTH + 1);
        assert_eq!(e.expected(), "at most 64 levels of parentheses and NOT");
        assert!(parse(&"NOT ".repeat(MAX_DEPTH + 1)).is_err());
        assert!(parse(&"(".repeat(100_000)).is_err());
        assert!(parse(&"NOT ".repeat(100_000)).is_err());
        let long_chain = vec!["labels = a"; 20_000].join(" OR ");
        assert!(
            matches!(parse(&long_chain).unwrap().clause, Some(Clause::Or(c)) if c.len() == 20_000)
        );
    }
}
