//! A subset of JQL, Jira's query language: parse a query, check an issue
//! against it, print it back.
//!
//! A trigger selects the issues to bring under sync with a JQL query. Jira
//! evaluates the query itself; the in-memory tracker (and twinsync's own
//! checks) evaluate it with [`Jql::matches`]. Either way [`Jql::parse`] reads
//! the query first, so a mistake is reported with its position before any call
//! is made:
//!
//! ```
//! use time::macros::datetime;
//! use twinsync::trigger::Jql;
//!
//! let jql = Jql::parse("project = SUP AND labels = escalate-to-dev ORDER BY created DESC")?;
//! assert_eq!(jql.to_string(), "project = SUP AND labels = escalate-to-dev ORDER BY created DESC");
//!
//! let err = Jql::parse("project = SUP AND created ~ yesterday").unwrap_err();
//! assert_eq!(err.column(), 27);
//! assert_eq!(
//!     err.to_string(),
//!     "jql: expected an operator that created supports \
//!      (=, !=, <, <=, >, >=, IN, NOT IN, IS, IS NOT) at column 27, found \"~\""
//! );
//! # Ok::<(), twinsync::trigger::JqlError>(())
//! ```
//!
//! # The subset
//!
//! | field | operators | values |
//! |---|---|---|
//! | `project` | `=` `!=` `IN` `NOT IN` `IS [NOT] EMPTY` | project key |
//! | `issuetype`, `type` | `=` `!=` `IN` `NOT IN` `IS [NOT] EMPTY` | type name |
//! | `key`, `issuekey` | `=` `!=` `IN` `NOT IN` | issue key |
//! | `labels` | `=` `!=` `IN` `NOT IN` `IS [NOT] EMPTY` | label |
//! | `status` | `=` `!=` `IN` `NOT IN` `IS [NOT] EMPTY` | status name |
//! | `summary`, `comment` | `~` `!~` | words or a `"quoted phrase"` |
//! | `description` | `~` `!~` `IS [NOT] EMPTY` | words or a `"quoted phrase"` |
//! | `text` | `~` | words or a `"quoted phrase"` |
//! | `created`, `updated` | `=` `!=` `<` `<=` `>` `>=` `IN` `NOT IN` `IS [NOT] EMPTY` | a date |
//!
//! These are the operators Jira documents for each field; other combinations
//! (`created ~ "x"`, `summary < 3`) are errors that name the field and the
//! operator.
//!
//! - **Clauses** combine with `AND`, `OR`, `NOT` and parentheses; `NOT` binds
//!   tighter than `AND`, and `AND` tighter than `OR`. Keywords, field names and
//!   function names ignore case. `EMPTY` may be written `NULL`. An empty query
//!   matches every issue.
//! - **Values** are bare words (`SUP`, `escalate-to-dev`, `-1d`) or strings in
//!   double or single quotes with the escapes `\"`, `\'`, `\\`, `\n`, `\r`,
//!   `\t`, `\uXXXX` and `\ ` (a space). As in Jira, a value that contains a space
//!   or one of `+ . ; ? | * / % ^ $ # @ [ ] { } & \`, or that is a JQL reserved
//!   word (`and`, `empty`, `order`, `update`, …), must be quoted.
//! - **Dates** are absolute — `2026-01-31`, `"2026-01-31 10:00"`, also with
//!   slashes (`"2026/01/31"`) — or relative to now: `-1d`, `-4h`, `-30m`, `1w`,
//!   `"-1w 2d"` (units `w`, `d`, `h`, `m`; `-1d` is exactly 24 hours before now),
//!   or one of the functions `now()`, `startOfDay()`, `endOfDay()`, which take
//!   an optional offset: `startOfDay(-1d)`, `endOfDay("+1w")` (a bare number
//!   counts days). **Dates without a zone are UTC, and days begin at midnight
//!   UTC**. `endOfDay()` is the last nanosecond of the day.
//! - **`ORDER BY`** `field [ASC|DESC], …` is accepted for `project`, `issuetype`,
//!   `key`, `status`, `summary`, `created` and `updated`, and kept in the tree
//!   ([`Jql::order_by`]); [`Jql::matches`] ignores it.
//!
//! # Semantics
//!
//! - `project`, `issuetype`, `key`, `status` and `labels` compare whole values,
//!   ignoring case. `labels = x` means "has the label x"; `labels IN (x, y)`
//!   "has x or y".
//! - `!=` and `NOT IN` never match an empty field, as in Jira: `labels != x`
//!   finds issues that have labels, none of them x. Add `OR labels IS EMPTY`
//!   for the rest.
//! - `~` is a text search that ignores case: every word of the value (a run of
//!   letters and digits) must occur in the field, also inside a longer word
//!   (`print` finds "printer"). A value in inner double quotes
//!   (`summary ~ "\"on fire\""`) is a phrase: its words in that order. Lucene
//!   syntax (`+`, `-`, `*`, `?`, `AND` inside the value) is not interpreted;
//!   such characters just separate words. `!~` is the opposite of `~`.
//! - `description` and `comment` are searched as plain text
//!   ([`RichText::to_plain_text`](crate::model::RichText::to_plain_text)); `text`
//!   searches the summary, the description and every comment.
//! - Date comparisons need the current time for relative dates, so
//!   [`Jql::matches`] takes `now`. `created = "2026-01-31"` is exactly midnight;
//!   `created` and `updated` are never empty.
//!
//! Not supported (an error, not a silent mismatch): other fields, `WAS` and
//! `CHANGED`, functions other than the three date functions, `&&`/`||`, and
//! comparing keys with `<` or `>`.
//!
//! The parser never panics: parentheses and `NOT` nest at most 64 deep.

mod ast;
mod date;
mod error;
mod eval;
mod lexer;
mod parser;
mod print;

use std::fmt;
use std::str::FromStr;

use time::OffsetDateTime;

pub use ast::{
    Clause, Condition, DateValue, Field, Operand, Operator, SortDirection, SortKey, Value,
};
pub use error::JqlError;

use crate::model::Issue;

/// A parsed JQL query of the supported subset.
///
/// Build one with [`Jql::parse`]; `Display` prints it back as canonical JQL,
/// which parses to the same tree.
///
/// ```
/// use time::macros::datetime;
/// use twinsync::trigger::jql::{Clause, Field, Jql};
///
/// let jql: Jql = "type = bug and (labels = urgent or labels is empty) and created > -1w"
///     .parse()?;
/// assert_eq!(
///     jql.to_string(),
///     "issuetype = bug AND (labels = urgent OR labels IS EMPTY) AND created > -1w"
/// );
/// let Some(Clause::And(clauses)) = jql.clause() else { panic!("an AND of three") };
/// assert_eq!(clauses.len(), 3);
/// assert!(matches!(&clauses[0], Clause::Condition(c) if c.field == Field::IssueType));
/// # Ok::<(), twinsync::trigger::JqlError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Jql {
    clause: Option<Clause>,
    order_by: Vec<SortKey>,
}

impl Jql {
    /// Parses `text`. Whitespace alone (or nothing) is the query that matches
    /// every issue.
    ///
    /// # Errors
    ///
    /// A [`JqlError`] with the position and what was expected there, for text
    /// that is not JQL of the supported subset (see the [module docs](self)).
    pub fn parse(text: &str) -> Result<Jql, JqlError> {
        let parsed = parser::parse(text)?;
        Ok(Jql {
            clause: parsed.clause,
            order_by: parsed.order_by,
        })
    }

    /// The condition tree, or `None` when the query has no conditions.
    pub fn clause(&self) -> Option<&Clause> {
        self.clause.as_ref()
    }

    /// The `ORDER BY` fields, in order; empty when there is none.
    pub fn order_by(&self) -> &[SortKey] {
        &self.order_by
    }

    /// This query confined to one project: `project = <project> AND (<query>)`,
    /// with the same `ORDER BY`; an empty query becomes `project = <project>`,
    /// and a query that already requires `project = <project>` at its top
    /// level stays as it is. Triggers run their queries this way, so they
    /// never select issues of another project.
    ///
    /// ```
    /// use twinsync::trigger::Jql;
    ///
    /// let jql = Jql::parse("labels = urgent OR type = Epic ORDER BY key")?.within_project("SUP");
    /// assert_eq!(
    ///     jql.to_string(),
    ///     "project = SUP AND (labels = urgent OR issuetype = Epic) ORDER BY key"
    /// );
    /// let confined = Jql::parse("project = sup AND labels = urgent")?;
    /// assert_eq!(confined.within_project("SUP"), confined);
    /// # Ok::<(), twinsync::trigger::JqlError>(())
    /// ```
    pub fn within_project(&self, project: &str) -> Jql {
        let requires = |clause: &Clause| {
            matches!(clause, Clause::Condition(Condition {
                field: Field::Project,
                operator: Operator::Equals,
                operand: Operand::Value(Value::Text(p)),
            }) if p.eq_ignore_ascii_case(project))
        };
        let confined = match &self.clause {
            Some(Clause::And(clauses)) => clauses.iter().any(requires),
            Some(clause) => requires(clause),
            None => false,
        };
        if confined {
            return self.clone();
        }
        let scope = Clause::Condition(Condition {
            field: Field::Project,
            operator: Operator::Equals,
            operand: Operand::Value(Value::Text(project.to_owned())),
        });
        let clause = match &self.clause {
            None => scope,
            Some(clause) => Clause::And(vec![scope, clause.clone()]),
        };
        Jql {
            clause: Some(clause),
            order_by: self.order_by.clone(),
        }
    }

    /// Whether `issue` matches the query when the time is `now` (relative dates
    /// such as `-1d` and `startOfDay()` count from it). `ORDER BY` plays no part.
    ///
    /// ```
    /// # use twinsync::tracker::{MemoryTracker, NewIssue, Tracker};
    /// use time::macros::datetime;
    /// use twinsync::trigger::Jql;
    ///
    /// # futures::executor::block_on(async {
    /// # let tracker = MemoryTracker::new("https://acme.example")?;
    /// # tracker.add_project("SUP", "Support", &["Bug"], None)?;
    /// # let created = tracker.create_issue(&NewIssue::new("SUP".parse()?, "Bug", "Printer on fire")).await?;
    /// let issue = tracker.issue(&created.id).await?; // SUP-1, "Printer on fire"
    /// let now = issue.created + time::Duration::hours(2);
    /// assert!(Jql::parse("summary ~ printer AND created > -4h")?.matches(&issue, now));
    /// assert!(!Jql::parse("summary ~ printer AND created > -1h")?.matches(&issue, now));
    /// # Ok::<(), twinsync::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn matches(&self, issue: &Issue, now: OffsetDateTime) -> bool {
        self.clause.as_ref().is_none_or(|c| c.matches(issue, now))
    }
}

impl fmt::Display for Jql {
    /// Canonical JQL: keywords in capitals, canonical field names, values
    /// quoted only when needed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        print::write_query(f, self.clause.as_ref(), &self.order_by)
    }
}

impl FromStr for Jql {
    type Err = JqlError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Jql::parse(text)
    }
}
