//! The tree of a parsed query: clauses, conditions, fields, operators and values.
//!
//! [`Jql::parse`](super::Jql::parse) only builds trees that make sense: every
//! condition's operator is one its field supports, and every value has the
//! kind its field needs (text for `labels`, a date for `created`, …).

use std::fmt;

use time::{Duration, PrimitiveDateTime};

/// A condition tree: the part of a query before `ORDER BY`.
///
/// The parser builds [`And`](Clause::And) and [`Or`](Clause::Or) with two or
/// more clauses and flattens chains (`a AND b AND c` is one `And` of three), so
/// an `And` directly inside an `And` only comes from explicit parentheses.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Clause {
    /// Every clause holds (`a AND b`).
    And(Vec<Clause>),
    /// At least one clause holds (`a OR b`).
    Or(Vec<Clause>),
    /// The clause does not hold (`NOT a`).
    Not(Box<Clause>),
    /// One field compared with a value (`labels = escalate`).
    Condition(Condition),
}

/// One comparison: `field operator operand`, such as `created >= -1d`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Condition {
    /// The field compared.
    pub field: Field,
    /// How it is compared.
    pub operator: Operator,
    /// What it is compared with.
    pub operand: Operand,
}

/// A field a query can search by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Field {
    /// `project`: the project key.
    Project,
    /// `issuetype` (or `type`): the issue type's name.
    IssueType,
    /// `key` (or `issuekey`): the issue key, such as `SUP-7`.
    Key,
    /// `labels`: the issue's labels.
    Labels,
    /// `status`: the workflow status' name.
    Status,
    /// `summary`: the one-line summary (text search).
    Summary,
    /// `description`: the description as plain text (text search).
    Description,
    /// `text`: summary, description and comments together (text search).
    Text,
    /// `comment`: the comments' plain text (text search).
    Comment,
    /// `created`: when the issue was created.
    Created,
    /// `updated`: when anything in the issue last changed.
    Updated,
}

/// What kind of values a field holds, which decides its operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FieldKind {
    /// Names compared whole: project, type, key, labels, status.
    Name,
    /// Text searched with `~`.
    Text,
    /// Timestamps.
    Date,
}

use Operator::{
    Contains, Equals, Greater, GreaterOrEqual, In, Is, IsNot, Less, LessOrEqual, NotContains,
    NotEquals, NotIn,
};

const NAME_OPERATORS: &[Operator] = &[Equals, NotEquals, In, NotIn, Is, IsNot];
const KEY_OPERATORS: &[Operator] = &[Equals, NotEquals, In, NotIn];
const SEARCH_OPERATORS: &[Operator] = &[Contains, NotContains];
const DESCRIPTION_OPERATORS: &[Operator] = &[Contains, NotContains, Is, IsNot];
const TEXT_OPERATORS: &[Operator] = &[Contains];
const DATE_OPERATORS: &[Operator] = &[
    Equals,
    NotEquals,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
    In,
    NotIn,
    Is,
    IsNot,
];

impl Field {
    /// Every field, in the order the documentation lists them.
    pub const ALL: [Field; 11] = [
        Field::Project,
        Field::IssueType,
        Field::Key,
        Field::Labels,
        Field::Status,
        Field::Summary,
        Field::Description,
        Field::Text,
        Field::Comment,
        Field::Created,
        Field::Updated,
    ];

    /// The canonical name, as printed: `project`, `issuetype`, `key`, ….
    pub fn name(self) -> &'static str {
        match self {
            Field::Project => "project",
            Field::IssueType => "issuetype",
            Field::Key => "key",
            Field::Labels => "labels",
            Field::Status => "status",
            Field::Summary => "summary",
            Field::Description => "description",
            Field::Text => "text",
            Field::Comment => "comment",
            Field::Created => "created",
            Field::Updated => "updated",
        }
    }

    /// The field called `name`, ignoring case; `type` and `issuekey` are aliases.
    ///
    /// ```
    /// use twinsync::trigger::jql::Field;
    ///
    /// assert_eq!(Field::from_name("IssueKey"), Some(Field::Key));
    /// assert_eq!(Field::from_name("type"), Some(Field::IssueType));
    /// assert_eq!(Field::from_name("colour"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<Field> {
        const ALIASES: [(&str, Field); 2] = [("type", Field::IssueType), ("issuekey", Field::Key)];
        Field::ALL
            .iter()
            .map(|f| (f.name(), *f))
            .chain(ALIASES)
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, f)| f)
    }

    pub(crate) fn kind(self) -> FieldKind {
        match self {
            Field::Project | Field::IssueType | Field::Key | Field::Labels | Field::Status => {
                FieldKind::Name
            }
            Field::Summary | Field::Description | Field::Text | Field::Comment => FieldKind::Text,
            Field::Created | Field::Updated => FieldKind::Date,
        }
    }

    /// The operators this field supports, as Jira documents them for the field.
    ///
    /// ```
    /// use twinsync::trigger::jql::{Field, Operator};
    ///
    /// assert!(Field::Summary.supports(Operator::Contains));
    /// assert!(!Field::Summary.supports(Operator::Less));
    /// assert!(!Field::Created.supports(Operator::Contains));
    /// ```
    pub fn operators(self) -> &'static [Operator] {
        match self {
            Field::Project | Field::IssueType | Field::Labels | Field::Status => NAME_OPERATORS,
            Field::Key => KEY_OPERATORS,
            Field::Summary | Field::Comment => SEARCH_OPERATORS,
            Field::Description => DESCRIPTION_OPERATORS,
            Field::Text => TEXT_OPERATORS,
            Field::Created | Field::Updated => DATE_OPERATORS,
        }
    }

    /// Whether `operator` can be used with this field.
    pub fn supports(self, operator: Operator) -> bool {
        self.operators().contains(&operator)
    }

    /// Whether `ORDER BY` accepts this field: all but `labels`, `description`,
    /// `text` and `comment`.
    pub fn is_sortable(self) -> bool {
        !matches!(
            self,
            Field::Labels | Field::Description | Field::Text | Field::Comment
        )
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How a condition compares its field with its operand.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operator {
    /// `=`: equals (for `labels`: has the label).
    Equals,
    /// `!=`: has a value, and it is not this one.
    NotEquals,
    /// `~`: contains the words (text search).
    Contains,
    /// `!~`: does not contain the words (text search).
    NotContains,
    /// `IN (…)`: equals one of the values.
    In,
    /// `NOT IN (…)`: has a value, and it is none of these.
    NotIn,
    /// `IS`: followed by `EMPTY`.
    Is,
    /// `IS NOT`: followed by `EMPTY`.
    IsNot,
    /// `<`: earlier than (dates).
    Less,
    /// `<=`: earlier than or at (dates).
    LessOrEqual,
    /// `>`: later than (dates).
    Greater,
    /// `>=`: later than or at (dates).
    GreaterOrEqual,
}

impl Operator {
    /// The operator as written in canonical JQL: `=`, `NOT IN`, `IS NOT`, ….
    pub fn as_str(self) -> &'static str {
        match self {
            Equals => "=",
            NotEquals => "!=",
            Contains => "~",
            NotContains => "!~",
            In => "IN",
            NotIn => "NOT IN",
            Is => "IS",
            IsNot => "IS NOT",
            Less => "<",
            LessOrEqual => "<=",
            Greater => ">",
            GreaterOrEqual => ">=",
        }
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The right-hand side of a condition.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Operand {
    /// `EMPTY` (or `NULL`), after `IS` and `IS NOT`.
    Empty,
    /// One value, after `=`, `!=`, `~`, `!~`, `<`, `<=`, `>` and `>=`.
    Value(Value),
    /// A parenthesized list of one or more values, after `IN` and `NOT IN`.
    List(Vec<Value>),
}

/// One value of an operand.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Value {
    /// Text, for every field but the dates: a name, a key, a label or words to search.
    Text(String),
    /// A moment, for `created` and `updated`.
    Date(DateValue),
}

/// A moment in a date condition, absolute or relative to "now".
///
/// Days begin at midnight UTC: dates without a zone are UTC, and so are the
/// days of `startOfDay()` and `endOfDay()`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DateValue {
    /// A calendar date and time of day in UTC, to the minute
    /// (`"2026-01-31"`, `"2026-01-31 10:00"`).
    At(PrimitiveDateTime),
    /// Now plus a signed offset in whole minutes (`-1d`, `-4h`, `"-1w 2d"`, `30m`).
    Relative(Duration),
    /// `now()`.
    Now,
    /// `startOfDay()`: today's midnight (UTC) plus the offset (`startOfDay(-1d)`).
    StartOfDay(Duration),
    /// `endOfDay()`: the last moment of today (UTC) plus the offset.
    EndOfDay(Duration),
}

/// One field of an `ORDER BY`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SortKey {
    /// The field to sort by.
    pub field: Field,
    /// The direction, when the query names one.
    pub direction: Option<SortDirection>,
}

/// The direction of a [`SortKey`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SortDirection {
    /// `ASC`: smallest first.
    Ascending,
    /// `DESC`: largest first.
    Descending,
}
