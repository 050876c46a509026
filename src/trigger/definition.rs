//! [`Trigger`]: a saved query on one side of a connection, whose matching
//! issues are brought under sync automatically.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::model::ProjectKey;

use super::jql::{Clause, Field, Jql, JqlError, Operand, Operator, Value};

/// The id of a trigger, unique within its connection: one more than the
/// highest id the connection's triggers have (`1`, `2`, …).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TriggerId(pub u32);

impl fmt::Display for TriggerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// What a new trigger is: its side (a project of the connection), its query,
/// a note for people and whether it runs.
///
/// ```
/// use twinsync::trigger::TriggerSpec;
///
/// let spec = TriggerSpec::new("SUP".parse()?, "labels = escalate-to-dev").note("escalations to development");
/// assert!(spec.enabled);
/// # Ok::<(), twinsync::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TriggerSpec {
    /// The project (side of the connection) whose issues the query selects.
    pub project: ProjectKey,
    /// The query, in the [JQL subset](super::jql).
    pub query: String,
    /// What the trigger is for, for people.
    pub note: String,
    /// Whether it runs on each sync cycle (default: yes).
    pub enabled: bool,
}

impl TriggerSpec {
    /// An enabled trigger on `project` with `query` and no note.
    pub fn new(project: ProjectKey, query: impl Into<String>) -> Self {
        TriggerSpec {
            project,
            query: query.into(),
            note: String::new(),
            enabled: true,
        }
    }

    /// Sets the note.
    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.note = note.into();
        self
    }

    /// Sets whether the trigger runs.
    pub fn enabled(mut self, enabled: bool) -> Self {
        self.enabled = enabled;
        self
    }
}

/// Changes to a trigger; `None` leaves a part as it is.
///
/// ```
/// use twinsync::trigger::TriggerUpdate;
///
/// let pause = TriggerUpdate::default().enabled(false);
/// assert_eq!(pause.query, None);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TriggerUpdate {
    /// A new query (checked like a new trigger's).
    pub query: Option<String>,
    /// A new note.
    pub note: Option<String>,
    /// Enables or disables the trigger.
    pub enabled: Option<bool>,
}

impl TriggerUpdate {
    /// Sets a new query.
    pub fn query(mut self, query: impl Into<String>) -> Self {
        self.query = Some(query.into());
        self
    }

    /// Sets a new note.
    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }

    /// Enables or disables the trigger.
    pub fn enabled(mut self, enabled: bool) -> Self {
        self.enabled = Some(enabled);
        self
    }
}

/// A query on one side of a connection: issues of that side that match it
/// and are not under sync yet are brought under sync on the next sync cycle.
///
/// A trigger only ever selects issues of its own project: the engine runs
/// [`effective_query`](Trigger::effective_query), `project = <project> AND
/// (<query>)` (or the query itself when it already requires
/// `project = <project>`). Triggers are kept with their [`Connection`](crate::connection::Connection);
/// add them with [`Admin::add_trigger`](crate::engine::Admin::add_trigger).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trigger {
    /// The id, unique within the connection.
    pub id: TriggerId,
    /// The project (side of the connection) whose issues it selects.
    pub project: ProjectKey,
    /// The query as it was given.
    pub query: String,
    /// What it is for, for people.
    #[serde(default)]
    pub note: String,
    /// Whether it runs on each sync cycle.
    pub enabled: bool,
    /// When it was added.
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
}

impl Trigger {
    /// The query the engine runs: `project = <project> AND (<query>)`, with the
    /// query's `ORDER BY` ([`Jql::within_project`]).
    ///
    /// ```
    /// use twinsync::trigger::{Trigger, TriggerId};
    ///
    /// let trigger = Trigger {
    ///     id: TriggerId(1),
    ///     project: "SUP".parse()?,
    ///     query: "labels = escalate-to-dev OR type = Epic".into(),
    ///     note: String::new(),
    ///     enabled: true,
    ///     created: time::OffsetDateTime::UNIX_EPOCH,
    /// };
    /// assert_eq!(
    ///     trigger.effective_query()?.to_string(),
    ///     "project = SUP AND (labels = escalate-to-dev OR issuetype = Epic)"
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// The [`JqlError`] of a query that does not parse (only possible for a
    /// trigger that was not added through a node, which checks the query).
    pub fn effective_query(&self) -> Result<Jql, JqlError> {
        Ok(Jql::parse(&self.query)?.within_project(self.project.as_str()))
    }
}

impl fmt::Display for Trigger {
    /// `trigger 1 on SUP (enabled): labels = escalate-to-dev — the note`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = if self.enabled { "enabled" } else { "disabled" };
        write!(
            f,
            "trigger {} on {} ({state}): {}",
            self.id, self.project, self.query
        )?;
        if !self.note.is_empty() {
            write!(f, " — {}", self.note)?;
        }
        Ok(())
    }
}

/// The projects a query's top-level `project = X` or `project IN (…)`
/// conditions allow that are not `project`: a query that demands another
/// project can never match on this side. Returns the first such project.
pub(crate) fn foreign_project(jql: &Jql, project: &ProjectKey) -> Option<String> {
    let conjuncts: Vec<&Clause> = match jql.clause() {
        Some(Clause::And(clauses)) => clauses.iter().collect(),
        Some(clause) => vec![clause],
        None => Vec::new(),
    };
    let same = |v: &Value| matches!(v, Value::Text(t) if t.eq_ignore_ascii_case(project.as_str()));
    for clause in conjuncts {
        let Clause::Condition(c) = clause else {
            continue;
        };
        if c.field != Field::Project {
            continue;
        }
        let values: &[Value] = match (&c.operator, &c.operand) {
            (Operator::Equals, Operand::Value(v)) => std::slice::from_ref(v),
            (Operator::In, Operand::List(values)) => values,
            _ => continue,
        };
        if !values.iter().any(same) {
            return Some(
                values
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
            );
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::ids as lit;

    fn foreign(query: &str, project: &str) -> Option<String> {
        foreign_project(&Jql::parse(query).unwrap(), &lit::project(project))
    }

    #[test]
    fn queries_that_demand_another_project_are_found() {
        assert_eq!(foreign("project = DEV", "SUP").as_deref(), Some("DEV"));
        assert_eq!(
            foreign("labels = x AND project IN (DEV, OPS)", "SUP").as_deref(),
            Some("DEV, OPS")
        );
        assert_eq!(foreign("project = sup AND labels = x", "SUP"), None);
        assert_eq!(foreign("project IN (DEV, SUP)", "SUP"), None);
        // Only top-level conjuncts are decisive; the confinement handles the rest.
        assert_eq!(foreign("project = DEV OR labels = x", "SUP"), None);
        assert_eq!(foreign("", "SUP"), None);
    }

    #[test]
    fn the_effective_query_is_confined_and_parses_back_to_itself() {
        let trigger = Trigger {
            id: TriggerId(3),
            project: lit::project("SUP"),
            query: "labels = a OR labels = b ORDER BY created DESC".into(),
            note: "n".into(),
            enabled: false,
            created: OffsetDateTime::UNIX_EPOCH,
        };
        let jql = trigger.effective_query().unwrap();
        let text = jql.to_string();
        assert_eq!(
            text,
            "project = SUP AND (labels = a OR labels = b) ORDER BY created DESC"
        );
        assert_eq!(Jql::parse(&text).unwrap(), jql);
        assert_eq!(
            trigger.to_string(),
            "trigger 3 on SUP (disabled): labels = a OR labels = b ORDER BY created DESC — n"
        );
        let empty = Trigger {
            query: "  ".into(),
            ..trigger
        };
        assert_eq!(
            empty.effective_query().unwrap().to_string(),
            "project = SUP"
        );
        let confined = Trigger {
            query: "project = SUP AND labels = x".into(),
            ..empty
        };
        assert_eq!(
            confined.effective_query().unwrap().to_string(),
            "project = SUP AND labels = x"
        );
    }
}
