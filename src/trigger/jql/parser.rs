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

fn list(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
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
            let expected = if !order_by.is_empty() {
                "\",\" or end of input"
            } else if clause.is_some() {
                "\"AND\", \"OR\", \"ORDER BY\" or end of input"
            } else {
                "a field name, \"NOT\", \"(\" or \"ORDER BY\""
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
            &format!("one of the fields {}", list(&names)),
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
