//! Issue fields beyond the Basic ones: priority, people, dates, components,
//! versions, the parent, issue links and custom fields, and the metadata a
//! project gives about them.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Number;
use time::{Date, OffsetDateTime};

use super::{IssueRef, RichText, UserRef};

time::serde::format_description!(pub(crate) ymd, Date, "[year]-[month]-[day]");

/// The fields of an issue beyond summary, description, type, labels and
/// status. Every one is empty by default; a tracker that does not know a
/// field leaves it empty.
///
/// ```
/// use twinsync::model::{CustomValue, IssueFields};
///
/// let mut fields = IssueFields::default();
/// fields.priority = Some("High".into());
/// fields.custom.insert("customfield_10010".into(), CustomValue::Select("S1".into()));
/// assert_eq!(fields.custom["customfield_10010"].to_string(), "S1");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct IssueFields {
    /// The priority's name, such as `High`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<String>,
    /// Who the issue is assigned to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assignee: Option<UserRef>,
    /// Who reported it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reporter: Option<UserRef>,
    /// The due date.
    #[serde(with = "ymd::option", skip_serializing_if = "Option::is_none")]
    pub due_date: Option<Date>,
    /// The components' names, sorted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<String>,
    /// The fix versions' names, sorted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fix_versions: Vec<String>,
    /// The parent: of a sub-task, or the epic of an epic's child.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<IssueRef>,
    /// The issue's links to other issues.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<IssueLink>,
    /// Custom fields that hold a value, by field id (`customfield_10010`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub custom: BTreeMap<String, CustomValue>,
}

impl IssueFields {
    /// Whether no field holds a value.
    pub fn is_empty(&self) -> bool {
        *self == IssueFields::default()
    }
}

/// A link between two issues, as one of them shows it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct IssueLink {
    /// The tracker's id of the link (both issues show the same one).
    pub id: String,
    /// The link type's name, such as `Blocks`.
    pub link_type: String,
    /// Which end of the link this issue is.
    pub direction: LinkDirection,
    /// The issue at the other end.
    pub issue: IssueRef,
}

/// A kind of link between issues, such as `Blocks`: its name and how each
/// end reads it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssueLinkType {
    /// The tracker's id.
    pub id: String,
    /// The name, such as `Blocks` (matched case-insensitively).
    pub name: String,
    /// How the inward end reads it: `is blocked by`.
    pub inward: String,
    /// How the outward end reads it: `blocks`.
    pub outward: String,
}

impl IssueLinkType {
    /// A link type with an id, a name and its two readings.
    pub fn new(
        id: impl Into<String>,
        name: impl Into<String>,
        inward: impl Into<String>,
        outward: impl Into<String>,
    ) -> Self {
        IssueLinkType {
            id: id.into(),
            name: name.into(),
            inward: inward.into(),
            outward: outward.into(),
        }
    }
}

/// Which end of a link an issue is: `A blocks B` is outward on A, inward on B.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkDirection {
    /// This issue is the link's source (`blocks`).
    Outward,
    /// This issue is the link's target (`is blocked by`).
    Inward,
}

/// The value of a custom field, in one of the common kinds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
#[non_exhaustive]
pub enum CustomValue {
    /// One line of text.
    Text(String),
    /// A paragraph: rich text.
    Paragraph(RichText),
    /// A number.
    Number(Number),
    /// A date.
    Date(#[serde(with = "ymd")] Date),
    /// A date and time.
    DateTime(#[serde(with = "time::serde::rfc3339")] OffsetDateTime),
    /// One option of a single select, by its value.
    Select(String),
    /// Options of a multi-select, sorted.
    MultiSelect(Vec<String>),
    /// Labels, sorted.
    Labels(Vec<String>),
    /// A user.
    User(UserRef),
    /// Users, sorted by account id.
    Users(Vec<UserRef>),
    /// A URL.
    Url(String),
}

impl CustomValue {
    /// The kind of field that holds this value.
    pub fn kind(&self) -> FieldKind {
        match self {
            CustomValue::Text(_) => FieldKind::Text,
            CustomValue::Paragraph(_) => FieldKind::Paragraph,
            CustomValue::Number(_) => FieldKind::Number,
            CustomValue::Date(_) => FieldKind::Date,
            CustomValue::DateTime(_) => FieldKind::DateTime,
            CustomValue::Select(_) => FieldKind::Select,
            CustomValue::MultiSelect(_) => FieldKind::MultiSelect,
            CustomValue::Labels(_) => FieldKind::Labels,
            CustomValue::User(_) => FieldKind::User,
            CustomValue::Users(_) => FieldKind::Users,
            CustomValue::Url(_) => FieldKind::Url,
        }
    }

    /// Whether it holds nothing: empty text or an empty list, which a
    /// tracker treats as no value.
    pub fn is_empty(&self) -> bool {
        match self {
            CustomValue::Text(s) | CustomValue::Select(s) | CustomValue::Url(s) => {
                s.trim().is_empty()
            }
            CustomValue::Paragraph(text) => text.is_empty(),
            CustomValue::MultiSelect(items) | CustomValue::Labels(items) => items.is_empty(),
            CustomValue::Users(users) => users.is_empty(),
            CustomValue::Number(_)
            | CustomValue::Date(_)
            | CustomValue::DateTime(_)
            | CustomValue::User(_) => false,
        }
    }

    /// The value with its lists in their canonical order (sorted, without
    /// repeats), as trackers hold them.
    pub fn normalized(mut self) -> Self {
        match &mut self {
            CustomValue::MultiSelect(items) | CustomValue::Labels(items) => {
                items.sort();
                items.dedup();
            }
            CustomValue::Users(users) => {
                users.sort_by(|a, b| a.id.cmp(&b.id));
                users.dedup_by(|a, b| a.id == b.id);
            }
            _ => {}
        }
        self
    }
}

impl fmt::Display for CustomValue {
    /// A short rendering for people: plans, conflicts, Test Run.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CustomValue::Text(s) | CustomValue::Select(s) | CustomValue::Url(s) => f.write_str(s),
            CustomValue::Paragraph(text) => f.write_str(&text.to_plain_text()),
            CustomValue::Number(n) => write!(f, "{n}"),
            CustomValue::Date(d) => write!(f, "{d}"),
            CustomValue::DateTime(t) => write!(f, "{t}"),
            CustomValue::MultiSelect(items) | CustomValue::Labels(items) => {
                f.write_str(&items.join(", "))
            }
            CustomValue::User(u) => f.write_str(&u.display_name),
            CustomValue::Users(users) => {
                let names: Vec<&str> = users.iter().map(|u| u.display_name.as_str()).collect();
                f.write_str(&names.join(", "))
            }
        }
    }
}

/// The kind of an issue field, standard or custom.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FieldKind {
    /// One line of text.
    Text,
    /// Rich text.
    Paragraph,
    /// A number.
    Number,
    /// A date.
    Date,
    /// A date and time.
    DateTime,
    /// One of a list of options (priority, a single select).
    Select,
    /// Any of a list of options (components, fix versions, a multi-select).
    MultiSelect,
    /// Free labels.
    Labels,
    /// A user (assignee, reporter, a user picker).
    User,
    /// Users.
    Users,
    /// A URL.
    Url,
    /// An issue of the project (the parent).
    Issue,
}

impl fmt::Display for FieldKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FieldKind::Text => "text",
            FieldKind::Paragraph => "paragraph",
            FieldKind::Number => "number",
            FieldKind::Date => "date",
            FieldKind::DateTime => "date-time",
            FieldKind::Select => "select",
            FieldKind::MultiSelect => "multi-select",
            FieldKind::Labels => "labels",
            FieldKind::User => "user",
            FieldKind::Users => "users",
            FieldKind::Url => "URL",
            FieldKind::Issue => "issue",
        })
    }
}

/// What a project says about one of its fields: its kind, the options it
/// allows, and where it may be set.
///
/// Standard fields have fixed ids: `priority`, `assignee`, `reporter`,
/// `duedate`, `components`, `fixVersions`, `parent`; custom fields have the
/// tracker's (`customfield_10010`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldMeta {
    /// The field's id.
    pub id: String,
    /// The name shown to people, such as `Severity`.
    pub name: String,
    /// What the field holds.
    pub kind: FieldKind,
    /// For selects: the values allowed, in the project's order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    /// Whether an issue must be created with a value, whatever its type
    /// (every issue type whose create screen shows the field requires it).
    #[serde(default)]
    pub required: bool,
    /// The issue types whose create screen requires the field when only
    /// some of those that show it do (names; empty when `required` says it
    /// for all of them, or none requires it). See [`FieldMeta::required_in`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub required_for: Vec<String>,
    /// The issue types whose create screen shows the field when only some
    /// do (names; empty: every type's, as `on_create` says). See
    /// [`FieldMeta::on_create_for`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub create_types: Vec<String>,
    /// Whether the create screen has it (it can be set when creating).
    #[serde(default = "yes")]
    pub on_create: bool,
    /// Whether the edit screen has it (it can be changed later).
    #[serde(default = "yes")]
    pub on_edit: bool,
}

fn yes() -> bool {
    true
}

impl FieldMeta {
    /// A field of `kind` on both screens, optional, with no options.
    pub fn new(id: impl Into<String>, name: impl Into<String>, kind: FieldKind) -> Self {
        FieldMeta {
            id: id.into(),
            name: name.into(),
            kind,
            options: Vec::new(),
            required: false,
            required_for: Vec::new(),
            create_types: Vec::new(),
            on_create: true,
            on_edit: true,
        }
    }

    /// The same field allowing `options`.
    pub fn options<I, S>(mut self, options: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.options = options.into_iter().map(Into::into).collect();
        self
    }

    /// The same field, required on create.
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// The same field, required on create for the issue types `types`
    /// only.
    pub fn required_for<I, S>(mut self, types: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.required_for = types.into_iter().map(Into::into).collect();
        self
    }

    /// Whether an issue of type `issue_type` must be created with a value.
    pub fn required_in(&self, issue_type: &str) -> bool {
        self.required
            || self
                .required_for
                .iter()
                .any(|t| t.eq_ignore_ascii_case(issue_type))
    }

    /// The same field, on the create screens of the issue types `types`
    /// only.
    pub fn create_types<I, S>(mut self, types: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.create_types = types.into_iter().map(Into::into).collect();
        self
    }

    /// Whether the create screen of issues of type `issue_type` has it.
    pub fn on_create_for(&self, issue_type: &str) -> bool {
        self.on_create
            && (self.create_types.is_empty()
                || self
                    .create_types
                    .iter()
                    .any(|t| t.eq_ignore_ascii_case(issue_type)))
    }

    /// Whether some issue type must be created with a value.
    pub fn required_somewhere(&self) -> bool {
        self.required || !self.required_for.is_empty()
    }

    /// The same field, on the create screen or not.
    pub fn on_create(mut self, on: bool) -> Self {
        self.on_create = on;
        self
    }

    /// The same field, on the edit screen or not.
    pub fn on_edit(mut self, on: bool) -> Self {
        self.on_edit = on;
        self
    }

    /// The allowed option equal to `value` (case-insensitively), in the
    /// project's spelling.
    pub fn option(&self, value: &str) -> Option<&str> {
        self.options
            .iter()
            .find(|o| o.eq_ignore_ascii_case(value))
            .map(String::as_str)
    }
}

/// The ids of the standard fields beyond Basic, as [`FieldMeta::id`] names them.
pub mod field_ids {
    /// The priority.
    pub const PRIORITY: &str = "priority";
    /// The assignee.
    pub const ASSIGNEE: &str = "assignee";
    /// The reporter.
    pub const REPORTER: &str = "reporter";
    /// The due date.
    pub const DUE_DATE: &str = "duedate";
    /// The components.
    pub const COMPONENTS: &str = "components";
    /// The fix versions.
    pub const FIX_VERSIONS: &str = "fixVersions";
    /// The parent.
    pub const PARENT: &str = "parent";

    /// Every standard field beyond Basic.
    pub const ALL: [&str; 7] = [
        PRIORITY,
        ASSIGNEE,
        REPORTER,
        DUE_DATE,
        COMPONENTS,
        FIX_VERSIONS,
        PARENT,
    ];
}

impl FieldKind {
    /// The kind of the standard field beyond Basic with `id`
    /// ([`field_ids`]); `None` for any other id.
    pub fn of_standard(id: &str) -> Option<FieldKind> {
        Some(match id {
            field_ids::PRIORITY => FieldKind::Select,
            field_ids::ASSIGNEE | field_ids::REPORTER => FieldKind::User,
            field_ids::DUE_DATE => FieldKind::Date,
            field_ids::COMPONENTS | field_ids::FIX_VERSIONS => FieldKind::MultiSelect,
            field_ids::PARENT => FieldKind::Issue,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::ids as lit;
    use serde_json::json;

    #[test]
    fn fields_serialize_compactly_and_read_back() {
        let mut fields = IssueFields::default();
        assert_eq!(serde_json::to_value(&fields).unwrap(), json!({}));
        fields.due_date = Some(time::macros::date!(2026 - 12 - 24));
        fields
            .custom
            .insert("customfield_1".into(), CustomValue::Number(Number::from(3)));
        fields.custom.insert(
            "customfield_2".into(),
            CustomValue::Date(time::macros::date!(2027 - 01 - 02)),
        );
        fields.assignee = Some(UserRef::new(lit::user_id("u1"), "Ada"));
        let value = serde_json::to_value(&fields).unwrap();
        assert_eq!(value["due_date"], "2026-12-24");
        assert_eq!(
            value["custom"]["customfield_1"],
            json!({"kind": "number", "value": 3})
        );
        assert_eq!(value["custom"]["customfield_2"]["value"], "2027-01-02");
        let back: IssueFields = serde_json::from_value(value).unwrap();
        assert_eq!(back, fields);
    }

    #[test]
    fn a_bad_date_is_refused_by_name() {
        let err =
            serde_json::from_value::<IssueFields>(json!({"due_date": "24/12/2026"})).unwrap_err();
        assert!(
            err.to_string().contains("due_date") || err.to_string().contains("year"),
            "{err}"
        );
    }

    #[test]
    fn lists_normalize_and_render() {
        let v = CustomValue::MultiSelect(vec!["b".into(), "a".into(), "b".into()]).normalized();
        assert_eq!(v, CustomValue::MultiSelect(vec!["a".into(), "b".into()]));
        assert_eq!(v.to_string(), "a, b");
        assert_eq!(v.kind(), FieldKind::MultiSelect);
    }

    #[test]
    fn options_match_case_insensitively_in_the_projects_spelling() {
        let meta = FieldMeta::new("priority", "Priority", FieldKind::Select)
            .options(["Highest", "High", "Low"]);
        assert_eq!(meta.option("high"), Some("High"));
        assert_eq!(meta.option("S1"), None);
    }
}
