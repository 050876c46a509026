//! Workflows: the statuses of an issue type and the transitions between them.

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

use super::fields::FieldMeta;

/// The workflow an issue type of a project follows: its statuses and the
/// transitions between them.
///
/// ```
/// use twinsync::model::{Transition, Workflow};
///
/// let flow = Workflow::new("To Do")
///     .with(Transition::new("11", "Start", "In Progress").from(["To Do"]))
///     .with(Transition::new("21", "Review", "In Review").from(["In Progress"]))
///     .with(Transition::new("31", "Close", "Done").from(["In Review"]));
/// let path = flow.path("To Do", "done").unwrap();
/// let names: Vec<&str> = path.iter().map(|t| t.name.as_str()).collect();
/// assert_eq!(names, ["Start", "Review", "Close"]);
/// assert!(flow.path("Done", "To Do").is_none());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Workflow {
    /// The workflow's name, where the tracker has one.
    #[serde(default)]
    pub name: String,
    /// The status a new issue starts in.
    pub initial: String,
    /// Every status of the workflow, the initial one first.
    pub statuses: Vec<String>,
    /// The transitions.
    pub transitions: Vec<Transition>,
}

/// A transition of a [`Workflow`]: from some statuses (or from any) to one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Transition {
    /// The tracker's id of the transition.
    pub id: String,
    /// Its name, such as `Resolve`.
    pub name: String,
    /// The statuses it starts from; empty: any status (a global transition).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub from: Vec<String>,
    /// The status it leads to.
    pub to: String,
    /// The fields its screen shows; those marked required must be given.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldMeta>,
}

impl Transition {
    /// A transition from any status to `to`, with no fields.
    pub fn new(id: impl Into<String>, name: impl Into<String>, to: impl Into<String>) -> Self {
        Transition {
            id: id.into(),
            name: name.into(),
            from: Vec::new(),
            to: to.into(),
            fields: Vec::new(),
        }
    }

    /// Limits it to start from `statuses`.
    #[must_use]
    pub fn from<I, S>(mut self, statuses: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.from = statuses.into_iter().map(Into::into).collect();
        self
    }

    /// Adds a field to its screen.
    #[must_use]
    pub fn field(mut self, field: FieldMeta) -> Self {
        self.fields.push(field);
        self
    }

    /// Whether it starts from `status` (case-insensitively).
    pub fn starts_from(&self, status: &str) -> bool {
        self.from.is_empty() || self.from.iter().any(|s| s.eq_ignore_ascii_case(status))
    }

    /// Whether it leads to `status` (case-insensitively).
    pub fn leads_to(&self, status: &str) -> bool {
        self.to.eq_ignore_ascii_case(status)
    }

    /// The fields that must be given to take it.
    pub fn required_fields(&self) -> impl Iterator<Item = &FieldMeta> {
        self.fields.iter().filter(|f| f.required)
    }
}

impl Workflow {
    /// A workflow whose issues start in `initial`, with no transitions yet.
    pub fn new(initial: impl Into<String>) -> Self {
        let initial = initial.into();
        Workflow {
            name: String::new(),
            statuses: vec![initial.clone()],
            initial,
            transitions: Vec::new(),
        }
    }

    /// Names it.
    #[must_use]
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Adds a transition, and the statuses it names.
    #[must_use]
    pub fn with(mut self, transition: Transition) -> Self {
        for status in transition.from.iter().chain([&transition.to]) {
            if self.status(status).is_none() {
                self.statuses.push(status.clone());
            }
        }
        self.transitions.push(transition);
        self
    }

    /// The workflow's spelling of `status`, matched case-insensitively.
    pub fn status(&self, status: &str) -> Option<&str> {
        self.statuses
            .iter()
            .find(|s| s.eq_ignore_ascii_case(status))
            .map(String::as_str)
    }

    /// The transitions that start from `status`.
    pub fn transitions_from<'a>(&'a self, status: &'a str) -> impl Iterator<Item = &'a Transition> {
        self.transitions
            .iter()
            .filter(move |t| t.starts_from(status))
    }

    /// The shortest path of transitions from `from` to `to` (fewest steps;
    /// among equals, the transitions listed first): empty when the two are
    /// the same status, `None` when no path leads there.
    pub fn path(&self, from: &str, to: &str) -> Option<Vec<&Transition>> {
        if from.eq_ignore_ascii_case(to) {
            return Some(Vec::new());
        }
        // Breadth first over statuses, lowercased; each reached status
        // remembers the transition that first reached it.
        let key = str::to_lowercase;
        let mut came_by: BTreeMap<String, (String, &Transition)> = BTreeMap::new();
        let mut queue = VecDeque::from([key(from)]);
        let start = key(from);
        while let Some(status) = queue.pop_front() {
            for t in self.transitions.iter().filter(|t| t.starts_from(&status)) {
                let next = key(&t.to);
                if next == start || came_by.contains_key(&next) {
                    continue;
                }
                came_by.insert(next.clone(), (status.clone(), t));
                if next == key(to) {
                    let mut path = vec![t];
                    let mut at = status.clone();
                    while at != start {
                        let (before, step) = &came_by[&at];
                        path.push(*step);
                        at.clone_from(before);
                    }
                    path.reverse();
                    return Some(path);
                }
                queue.push_back(next);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dev() -> Workflow {
        Workflow::new("Backlog")
            .with(Transition::new("1", "Select", "Selected").from(["Backlog"]))
            .with(Transition::new("2", "Start", "In Progress").from(["Selected"]))
            .with(Transition::new("3", "Review", "In Review").from(["In Progress"]))
            .with(Transition::new("4", "Test", "QA").from(["In Review"]))
            .with(Transition::new("5", "Close", "Done").from(["QA", "In Review"]))
            .with(Transition::new("6", "Reopen", "Backlog"))
    }

    fn names(path: &[&Transition]) -> Vec<String> {
        path.iter().map(|t| t.name.clone()).collect()
    }

    #[test]
    fn the_shortest_path_skips_what_it_can() {
        let flow = dev();
        assert_eq!(
            names(&flow.path("Backlog", "Done").unwrap()),
            ["Select", "Start", "Review", "Close"]
        );
        assert_eq!(names(&flow.path("qa", "backlog").unwrap()), ["Reopen"]);
        assert_eq!(
            names(&flow.path("Done", "In Progress").unwrap()),
            ["Reopen", "Select", "Start"]
        );
        assert!(flow.path("In Review", "in review").unwrap().is_empty());
    }

    #[test]
    fn no_path_to_an_unreached_or_unknown_status() {
        let flow = Workflow::new("Open").with(Transition::new("1", "Go", "Gone").from(["Open"]));
        assert!(flow.path("Gone", "Open").is_none());
        assert!(flow.path("Open", "Nowhere").is_none());
        assert_eq!(flow.statuses, ["Open", "Gone"]);
    }
}
