//! [`IssueUpdate`]: the change of an issue's fields that
//! [`Tracker::update_issue`](super::Tracker::update_issue) makes, built
//! with one setter per field.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::{CustomValue, IssueId, RichText, UserRef};

/// The fields of an issue to change; `None` leaves a field as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssueUpdate {
    /// A new summary.
    pub summary: Option<String>,
    /// A new description.
    pub description: Option<RichText>,
    /// A new issue type, by name.
    pub issue_type: Option<String>,
    /// New labels (replacing all).
    pub labels: Option<Vec<String>>,
    /// A new workflow status, by name (Jira: through a transition to it).
    pub status: Option<String>,
    /// A new priority, by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<String>,
    /// A new assignee; `Some(None)` unassigns.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "double_option"
    )]
    pub assignee: Option<Option<UserRef>>,
    /// A new reporter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reporter: Option<UserRef>,
    /// A new due date; `Some(None)` clears it.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "double_option_date"
    )]
    pub due_date: Option<Option<time::Date>>,
    /// New components, by name (replacing all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub components: Option<Vec<String>>,
    /// New fix versions, by name (replacing all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix_versions: Option<Vec<String>>,
    /// A new parent; `Some(None)` removes the parent (an epic's child only:
    /// a sub-task keeps one).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "double_option"
    )]
    pub parent: Option<Option<IssueId>>,
    /// New values of custom fields by id; `None` clears a field.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub custom: BTreeMap<String, Option<CustomValue>>,
}

/// `Option<Option<T>>` in serde: absent is `None`, `null` is `Some(None)`.
mod double_option {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub(super) fn serialize<T: Serialize, S: Serializer>(
        value: &Option<Option<T>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(inner) => inner.serialize(serializer),
            None => serializer.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(deserializer).map(Some)
    }
}

/// [`double_option`] for dates written `YYYY-MM-DD`.
mod double_option_date {
    use serde::{Deserialize, Deserializer, Serializer};

    #[derive(serde::Serialize, Deserialize)]
    struct Ymd(#[serde(with = "crate::model::ymd")] time::Date);

    pub(super) fn serialize<S: Serializer>(
        value: &Option<Option<time::Date>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        super::double_option::serialize(&value.map(|d| d.map(Ymd)), serializer)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Option<time::Date>>, D::Error> {
        Option::<Ymd>::deserialize(deserializer).map(|d| Some(d.map(|Ymd(d)| d)))
    }
}

impl IssueUpdate {
    /// A change of nothing yet; add fields with the setters.
    ///
    /// ```
    /// use twinsync::tracker::IssueUpdate;
    ///
    /// let update = IssueUpdate::new().summary("Printer on fire").status("In Progress");
    /// assert_eq!(update.summary.as_deref(), Some("Printer on fire"));
    /// assert!(IssueUpdate::new().is_empty());
    /// ```
    pub fn new() -> Self {
        IssueUpdate::default()
    }

    /// Sets a new summary.
    pub fn summary(mut self, summary: impl Into<String>) -> Self {
        self.summary = Some(summary.into());
        self
    }

    /// Sets a new description.
    pub fn description(mut self, description: impl Into<RichText>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Sets a new issue type, by name.
    pub fn issue_type(mut self, issue_type: impl Into<String>) -> Self {
        self.issue_type = Some(issue_type.into());
        self
    }

    /// Sets new labels (replacing all).
    pub fn labels<I, S>(mut self, labels: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.labels = Some(labels.into_iter().map(Into::into).collect());
        self
    }

    /// Sets a new workflow status, by name.
    pub fn status(mut self, status: impl Into<String>) -> Self {
        self.status = Some(status.into());
        self
    }

    /// Sets a new priority, by name.
    pub fn priority(mut self, priority: impl Into<String>) -> Self {
        self.priority = Some(priority.into());
        self
    }

    /// Assigns the issue (`None`: unassigns it).
    pub fn assignee(mut self, assignee: Option<UserRef>) -> Self {
        self.assignee = Some(assignee);
        self
    }

    /// Sets a new reporter.
    pub fn reporter(mut self, reporter: UserRef) -> Self {
        self.reporter = Some(reporter);
        self
    }

    /// Sets the due date (`None`: clears it).
    pub fn due_date(mut self, due: Option<time::Date>) -> Self {
        self.due_date = Some(due);
        self
    }

    /// Sets new components, by name (replacing all).
    pub fn components<I, S>(mut self, components: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.components = Some(components.into_iter().map(Into::into).collect());
        self
    }

    /// Sets new fix versions, by name (replacing all).
    pub fn fix_versions<I, S>(mut self, versions: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.fix_versions = Some(versions.into_iter().map(Into::into).collect());
        self
    }

    /// Sets the parent (`None`: removes it).
    pub fn parent(mut self, parent: Option<IssueId>) -> Self {
        self.parent = Some(parent);
        self
    }

    /// Sets a custom field by id (`None`: clears it).
    pub fn custom(mut self, field: impl Into<String>, value: Option<CustomValue>) -> Self {
        self.custom.insert(field.into(), value);
        self
    }

    /// Whether nothing would change.
    pub fn is_empty(&self) -> bool {
        self == &IssueUpdate::default()
    }
}
