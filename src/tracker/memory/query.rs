//! The part of JQL the in-memory tracker's search understands: clauses joined by
//! `AND`, each `field = value`, `field IN (…)` or a date comparison, and an
//! ignored `ORDER BY`.

use time::format_description::FormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

use crate::error::{Error, ErrorKind, Result};
use crate::model::Issue;

#[derive(Debug, Clone, PartialEq)]
enum Clause {
    Equals(Field, Vec<String>),
    Date(DateField, Cmp, OffsetDateTime),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Field {
    Project,
    Key,
    Type,
    Label,
    Status,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum DateField {
    Created,
    Updated,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Cmp {
    Lt,
    Le,
    Gt,
    Ge,
}

/// A parsed query.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Query {
    clauses: Vec<Clause>,
}

fn invalid(jql: &str, what: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::InvalidInput, format!("jql {jql:?}: {what}"))
}

const MINUTES: &[FormatItem<'_>] = format_description!("[year]-[month]-[day] [hour]:[minute]");
const DAY: &[FormatItem<'_>] = format_description!("[year]-[month]-[day]");

fn parse_date(text: &str) -> Option<OffsetDateTime> {
    if let Ok(t) = PrimitiveDateTime::parse(text, MINUTES) {
        return Some(t.assume_utc());
    }
    time::Date::parse(text, DAY)
        .ok()
        .map(|d| d.midnight().assume_utc())
}

fn unquote(token: &str) -> String {
    token.trim().trim_matches('"').trim_matches('\'').to_owned()
}

impl Query {
    pub(crate) fn parse(jql: &str) -> Result<Query> {
        let lower = jql.to_ascii_lowercase();
        let body = match lower.find("order by") {
            Some(at) => &jql[..at],
            None => jql,
        };
        let mut clauses = Vec::new();
        if body.trim().is_empty() {
            return Ok(Query { clauses });
        }
        for part in split_and(body) {
            clauses.push(parse_clause(jql, part.trim())?);
        }
        Ok(Query { clauses })
    }

    pub(crate) fn matches(&self, issue: &Issue) -> bool {
        self.clauses.iter().all(|clause| match clause {
            Clause::Equals(field, values) => values.iter().any(|v| match field {
                Field::Project => issue.project.as_str().eq_ignore_ascii_case(v),
                Field::Key => issue.key.as_str().eq_ignore_ascii_case(v),
                Field::Type => issue.issue_type.eq_ignore_ascii_case(v),
                Field::Label => issue.labels.iter().any(|l| l == v),
                Field::Status => issue.status.eq_ignore_ascii_case(v),
            }),
            Clause::Date(field, cmp, at) => {
                let t = match field {
                    DateField::Created => issue.created,
                    DateField::Updated => issue.updated,
                };
                match cmp {
                    Cmp::Lt => t < *at,
                    Cmp::Le => t <= *at,
                    Cmp::Gt => t > *at,
                    Cmp::Ge => t >= *at,
                }
            }
        })
    }
}

fn split_and(body: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut rest = body;
    loop {
        let lower = rest.to_ascii_lowercase();
        match lower.find(" and ") {
            Some(at) => {
                parts.push(&rest[..at]);
                rest = &rest[at + 5..];
            }
            None => {
                parts.push(rest);
                return parts;
            }
        }
    }
}

fn parse_clause(jql: &str, clause: &str) -> Result<Clause> {
    for (op, cmp) in [
        (">=", Cmp::Ge),
        ("<=", Cmp::Le),
        (">", Cmp::Gt),
        ("<", Cmp::Lt),
    ] {
        if let Some((field, value)) = clause.split_once(op) {
            let field = match field.trim().to_ascii_lowercase().as_str() {
                "created" => DateField::Created,
                "updated" => DateField::Updated,
                other => {
                    return Err(invalid(
                        jql,
                        format!("cannot compare field {other:?} by date"),
                    ));
                }
            };
            let value = unquote(value);
            let at = parse_date(&value).ok_or_else(|| {
                invalid(
                    jql,
                    format!("expected a date like \"2026-01-31 10:00\", found {value:?}"),
                )
            })?;
            return Ok(Clause::Date(field, cmp, at));
        }
    }
    let lower = clause.to_ascii_lowercase();
    let (field, values) = if let Some((field, value)) = clause.split_once('=') {
        (field, vec![unquote(value)])
    } else if let Some(at) = lower.find(" in ") {
        let list = clause[at + 4..].trim();
        let inner = list
            .strip_prefix('(')
            .and_then(|l| l.strip_suffix(')'))
            .ok_or_else(|| invalid(jql, "expected a list in parentheses after IN"))?;
        (&clause[..at], inner.split(',').map(unquote).collect())
    } else {
        return Err(invalid(
            jql,
            format!("expected `field = value`, found {clause:?}"),
        ));
    };
    let field = match field.trim().to_ascii_lowercase().as_str() {
        "project" => Field::Project,
        "key" | "issuekey" => Field::Key,
        "issuetype" | "type" => Field::Type,
        "labels" => Field::Label,
        "status" => Field::Status,
        other => return Err(invalid(jql, format!("unknown field {other:?}"))),
    };
    Ok(Clause::Equals(field, values))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_project_dates_and_order_by() {
        let q = Query::parse(r#"project = SUP AND updated >= "2026-01-31 10:00" ORDER BY updated"#)
            .unwrap();
        assert_eq!(q.clauses.len(), 2);
        assert!(Query::parse("").unwrap().clauses.is_empty());
    }

    #[test]
    fn reports_what_it_does_not_understand() {
        let err = Query::parse("colour = red").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(
            err.to_string().contains("unknown field \"colour\""),
            "{err}"
        );
        assert!(Query::parse("updated >= yesterday").is_err());
    }
}
