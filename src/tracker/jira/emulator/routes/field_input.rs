//! Fields beyond Basic in create and edit requests: priority, people, dates,
//! components, versions, the parent and custom fields, read from Jira's
//! shapes into [`IssueFields`] or an [`IssueUpdate`]. A value Jira would
//! refuse is answered 400 with `errors.<field id>` naming the value; what
//! passes goes to the [`MemoryTracker`](crate::tracker::MemoryTracker),
//! whose own refusals are answered under the field they name.

use std::collections::BTreeMap;

use serde_json::Value;
use time::Date;

use super::super::values::{is_standard, option_by_id};
use super::{Api, Reply, field_error, from_error};
use crate::error::{Error, ErrorKind};
use crate::model::{
    CustomValue, FieldKind, FieldMeta, IssueFields, IssueRef, ProjectInfo, UserRef, field_ids,
};
use crate::tracker::IssueUpdate;
use crate::tracker::jira::mapping::parse_time;

/// The fields a create or edit sets beyond Basic; `Some(None)` clears one.
#[derive(Default)]
pub(super) struct Changes {
    priority: Option<Option<String>>,
    assignee: Option<Option<UserRef>>,
    reporter: Option<Option<UserRef>>,
    due_date: Option<Option<Date>>,
    components: Option<Vec<String>>,
    fix_versions: Option<Vec<String>>,
    parent: Option<Option<IssueRef>>,
    custom: BTreeMap<String, Option<CustomValue>>,
}

/// The fields of a create or edit handled by the Basic code.
const BASIC: &[&str] = &["project", "issuetype", "summary", "description", "labels"];

/// The members of `fields`, then the `set` operations of `update`, that
/// set fields beyond Basic.
pub(super) fn beyond_basic<'a>(
    fields: &'a Value,
    sets: &'a [(String, Value)],
) -> Vec<(&'a str, &'a Value)> {
    let mut out: Vec<(&str, &Value)> = fields
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| !BASIC.contains(&k.as_str()))
        .map(|(k, v)| (k.as_str(), v))
        .collect();
    out.extend(sets.iter().map(|(k, v)| (k.as_str(), v)));
    out
}

/// A request value in a message: its JSON, cut short.
fn shown(v: &Value) -> String {
    let text = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match text.char_indices().nth(100) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text,
    }
}

fn shape(field: &str, expected: &str, v: &Value) -> Reply {
    field_error(
        field,
        &format!("Field '{field}' expects {expected}, not {}", shown(v)),
    )
}

fn required(meta: &FieldMeta) -> Reply {
    field_error(&meta.id, &format!("{} is required.", meta.name))
}

/// What a select, component, version or priority names: by `value` (or
/// `name`) or by `id`.
enum Named<'a> {
    Name(&'a str),
    Id(String),
}

fn named<'a>(v: &'a Value, name_key: &str) -> Option<Named<'a>> {
    if let Some(name) = v.get(name_key).and_then(Value::as_str) {
        return Some(Named::Name(name));
    }
    match v.get("id")? {
        Value::String(id) => Some(Named::Id(id.clone())),
        Value::Number(n) => Some(Named::Id(n.to_string())),
        _ => None,
    }
}

impl Api<'_> {
    /// Reads the fields beyond Basic that a create or edit sets.
    pub(super) async fn changes(
        &self,
        project: &ProjectInfo,
        given: &[(&str, &Value)],
    ) -> Result<Changes, Reply> {
        let mut out = Changes::default();
        for &(id, v) in given {
            let null = v.is_null();
            match id {
                field_ids::PRIORITY => {
                    out.priority = Some(match null {
                        true => None,
                        false => Some(self.option(project, id, "name", "Priority", v)?),
                    });
                }
                field_ids::ASSIGNEE => out.assignee = Some(self.maybe_user(id, v)?),
                field_ids::REPORTER => out.reporter = Some(self.maybe_user(id, v)?),
                field_ids::DUE_DATE => {
                    out.due_date = Some(match null {
                        true => None,
                        false => Some(date(id, v)?),
                    });
                }
                field_ids::COMPONENTS | field_ids::FIX_VERSIONS => {
                    let label = match id {
                        field_ids::COMPONENTS => "Component",
                        _ => "Version",
                    };
                    let names = match v {
                        Value::Null => Vec::new(),
                        Value::Array(items) => items
                            .iter()
                            .map(|item| self.option(project, id, "name", label, item))
                            .collect::<Result<_, _>>()?,
                        other => {
                            return Err(shape(id, "an array of {\"name\"} or {\"id\"}", other));
                        }
                    };
                    match id {
                        field_ids::COMPONENTS => out.components = Some(names),
                        _ => out.fix_versions = Some(names),
                    }
                }
                field_ids::PARENT => {
                    out.parent = Some(match null {
                        true => None,
                        false => Some(self.parent(v).await?),
                    });
                }
                custom => {
                    let Some(meta) = project.field(custom) else {
                        return Err(super::fields::not_on_screen(custom));
                    };
                    let value = match null {
                        true => None,
                        false => self.custom_value(project, meta, v)?,
                    };
                    out.custom.insert(custom.to_owned(), value);
                }
            }
        }
        Ok(out)
    }

    /// An option by name (`name_key`: `name` or `value`) or id, in the
    /// project's spelling when it lists options.
    pub(super) fn option(
        &self,
        project: &ProjectInfo,
        field: &str,
        name_key: &str,
        label: &str,
        v: &Value,
    ) -> Result<String, Reply> {
        let listed = project.field(field).filter(|m| !m.options.is_empty());
        match named(v, name_key) {
            Some(Named::Name(name)) => match listed {
                None => Ok(name.to_owned()),
                Some(meta) => meta.option(name).map(str::to_owned).ok_or_else(|| {
                    field_error(field, &format!("{label} {name_key} '{name}' is not valid"))
                }),
            },
            Some(Named::Id(id)) => option_by_id(project, field, &id)
                .map(str::to_owned)
                .ok_or_else(|| field_error(field, &format!("{label} id '{id}' is not valid"))),
            None => Err(shape(
                field,
                &format!("{{\"{name_key}\"}} or {{\"id\"}}"),
                v,
            )),
        }
    }

    fn maybe_user(&self, field: &str, v: &Value) -> Result<Option<UserRef>, Reply> {
        match v {
            Value::Null => Ok(None),
            v => self.user_from(field, v).map(Some),
        }
    }

    /// A user: `{"accountId"}` on Cloud, `{"name"}` (or `{"key"}`) on Data
    /// Center; it must exist.
    fn user_from(&self, field: &str, v: &Value) -> Result<UserRef, Reply> {
        let keys: &[&str] = match self.cloud() {
            true => &["accountId"],
            false => &["name", "key", "accountId"],
        };
        let Some(id) = keys.iter().find_map(|k| v.get(*k).and_then(Value::as_str)) else {
            let expected = match self.cloud() {
                true => "a user {\"accountId\"}",
                false => "a user {\"name\"}",
            };
            return Err(shape(field, expected, v));
        };
        self.shared
            .tracker
            .inspect_users()
            .into_iter()
            .find(|u| u.id.as_str() == id)
            .map(|u| UserRef::new(u.id, u.display_name))
            .ok_or_else(|| field_error(field, &format!("User '{id}' does not exist.")))
    }

    /// The parent, by `{"key"}` or `{"id"}`; it must exist.
    async fn parent(&self, v: &Value) -> Result<IssueRef, Reply> {
        let given = v
            .get("key")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| match v.get("id")? {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            });
        let Some(given) = given else {
            return Err(shape(field_ids::PARENT, "{\"key\"} or {\"id\"}", v));
        };
        match self.find_issue(&given).await {
            Ok(issue) => Ok(issue.reference()),
            Err(_) => Err(field_error(
                field_ids::PARENT,
                &format!("Could not find issue by id or key: '{given}'"),
            )),
        }
    }

    /// A custom field's value as its kind reads it; `None` for an empty list.
    pub(super) fn custom_value(
        &self,
        project: &ProjectInfo,
        meta: &FieldMeta,
        v: &Value,
    ) -> Result<Option<CustomValue>, Reply> {
        let id = meta.id.as_str();
        let string = |what: &str| {
            v.as_str()
                .map(str::to_owned)
                .ok_or_else(|| shape(id, what, v))
        };
        let items = || v.as_array().ok_or_else(|| shape(id, "an array", v));
        let value = match meta.kind {
            FieldKind::Text => CustomValue::Text(string("a string")?),
            FieldKind::Url => CustomValue::Url(string("a URL string")?),
            FieldKind::Paragraph => {
                let text = self.body_from(Some(v), id)?;
                if text.is_empty() {
                    return Ok(None);
                }
                CustomValue::Paragraph(text)
            }
            FieldKind::Number => match v {
                Value::Number(n) => CustomValue::Number(n.clone()),
                other => return Err(shape(id, "a number", other)),
            },
            FieldKind::Date => CustomValue::Date(date(id, v)?),
            FieldKind::DateTime => {
                let text = string("a date-time string")?;
                let at = parse_time(&text).ok_or_else(|| {
                    field_error(id, &format!("Error parsing date-time string: {text}"))
                })?;
                CustomValue::DateTime(at)
            }
            FieldKind::Select => {
                CustomValue::Select(self.option(project, id, "value", "Option", v)?)
            }
            FieldKind::MultiSelect => CustomValue::MultiSelect(
                items()?
                    .iter()
                    .map(|item| self.option(project, id, "value", "Option", item))
                    .collect::<Result<_, _>>()?,
            ),
            FieldKind::Labels => CustomValue::Labels(
                items()?
                    .iter()
                    .map(|item| {
                        item.as_str()
                            .map(str::to_owned)
                            .ok_or_else(|| shape(id, "an array of strings", v))
                    })
                    .collect::<Result<_, _>>()?,
            ),
            FieldKind::User => CustomValue::User(self.user_from(id, v)?),
            FieldKind::Users => CustomValue::Users(
                items()?
                    .iter()
                    .map(|item| self.user_from(id, item))
                    .collect::<Result<_, _>>()?,
            ),
            _ => return Err(super::fields::not_on_screen(id)),
        };
        let empty = matches!(&value, CustomValue::MultiSelect(l) | CustomValue::Labels(l) if l.is_empty())
            || matches!(&value, CustomValue::Users(l) if l.is_empty());
        Ok((!empty).then_some(value))
    }
}

fn date(field: &str, v: &Value) -> Result<Date, Reply> {
    let Some(text) = v.as_str() else {
        return Err(shape(field, "a date \"YYYY-MM-DD\"", v));
    };
    Date::parse(
        text,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .map_err(|_| field_error(field, &format!("Error parsing date string: {text}")))
}

impl Changes {
    /// The fields of a new issue of `issue_type`; a field that type requires
    /// without a value is refused.
    pub(super) fn into_fields(
        self,
        project: &ProjectInfo,
        issue_type: &str,
    ) -> Result<IssueFields, Reply> {
        let f = IssueFields {
            priority: self.priority.flatten(),
            assignee: self.assignee.flatten(),
            reporter: self.reporter.flatten(),
            due_date: self.due_date.flatten(),
            components: self.components.unwrap_or_default(),
            fix_versions: self.fix_versions.unwrap_or_default(),
            parent: self.parent.flatten(),
            links: Vec::new(),
            custom: self
                .custom
                .into_iter()
                .filter_map(|(k, v)| Some((k, v?)))
                .collect(),
        };
        for meta in project.fields.iter().filter(|m| m.required_in(issue_type)) {
            let holds = match meta.id.as_str() {
                field_ids::PRIORITY => f.priority.is_some(),
                field_ids::ASSIGNEE => f.assignee.is_some(),
                field_ids::REPORTER => f.reporter.is_some(),
                field_ids::DUE_DATE => f.due_date.is_some(),
                field_ids::COMPONENTS => !f.components.is_empty(),
                field_ids::FIX_VERSIONS => !f.fix_versions.is_empty(),
                field_ids::PARENT => f.parent.is_some(),
                custom => f.custom.contains_key(custom),
            };
            if !holds {
                return Err(required(meta));
            }
        }
        Ok(f)
    }

    /// Adds the changes to `update`; clearing a required field (or the
    /// priority or reporter, which Jira always has) is refused.
    pub(super) fn apply(
        self,
        project: &ProjectInfo,
        issue_type: &str,
        update: &mut IssueUpdate,
    ) -> Result<(), Reply> {
        let is_required = |id: &str| project.field(id).filter(|m| m.required_in(issue_type));
        let cleared = |id: &str, name: &str| match is_required(id) {
            Some(meta) => required(meta),
            None => required(&FieldMeta::new(id, name, FieldKind::Text)),
        };
        match self.priority {
            Some(Some(p)) => update.priority = Some(p),
            Some(None) => return Err(cleared(field_ids::PRIORITY, "Priority")),
            None => {}
        }
        match self.reporter {
            Some(Some(r)) => update.reporter = Some(r),
            Some(None) => return Err(cleared(field_ids::REPORTER, "Reporter")),
            None => {}
        }
        let optional = [
            (
                field_ids::ASSIGNEE,
                self.assignee.as_ref().map(Option::is_none),
            ),
            (
                field_ids::DUE_DATE,
                self.due_date.as_ref().map(Option::is_none),
            ),
            (
                field_ids::COMPONENTS,
                self.components.as_ref().map(Vec::is_empty),
            ),
            (
                field_ids::FIX_VERSIONS,
                self.fix_versions.as_ref().map(Vec::is_empty),
            ),
            (field_ids::PARENT, self.parent.as_ref().map(Option::is_none)),
        ];
        for (id, clears) in optional {
            if clears == Some(true)
                && let Some(meta) = is_required(id)
            {
                return Err(required(meta));
            }
        }
        for (id, value) in &self.custom {
            if value.is_none()
                && let Some(meta) = is_required(id)
            {
                return Err(required(meta));
            }
        }
        update.assignee = self.assignee;
        update.due_date = self.due_date;
        update.components = self.components;
        update.fix_versions = self.fix_versions;
        update.parent = self.parent.map(|p| p.map(|r| r.id));
        update.custom = self.custom;
        Ok(())
    }
}

/// The answer to a refusal of the tracker: an `InvalidInput` that names one
/// of the fields `given` sets is answered under that field.
pub(super) fn refusal(err: &Error, given: &[(&str, &Value)]) -> Reply {
    if err.kind() != ErrorKind::InvalidInput {
        return from_error(err);
    }
    let message = err.message();
    let named = given.iter().map(|(id, _)| *id).find(|id| {
        [
            format!("({id})"),
            format!("\"{id}\""),
            format!("field {id} "),
        ]
        .iter()
        .any(|p| message.contains(p.as_str()))
            || (*id == field_ids::PARENT
                && (message.contains("cycle") || message.contains("parent")))
    });
    match named {
        Some(id) => field_error(id, message),
        None => from_error(err),
    }
}

/// Whether `id` is a field the emulator reads beyond Basic.
pub(super) fn is_beyond_basic(id: &str) -> bool {
    is_standard(id) || id.starts_with("customfield_")
}
