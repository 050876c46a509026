//! Fields beyond Basic in Jira's JSON: priority, people, dates, components,
//! versions, the parent, issue links and custom fields, rendered from the
//! emulator's state; and the ids the emulator gives their options.
//!
//! An option a project lists (a priority, a component, a select's value) has
//! the id `10000 + 1000 × field position + option position` in that project
//! (the field's position in [`ProjectInfo::fields`]), so ids are stable and
//! unique across a project's fields; a value of a field that lists no
//! options gets an id hashed from the field and the value.

use serde_json::{Map, Value, json};

use super::render::{Ctx, user};
use crate::model::{
    CustomValue, FieldKind, FieldMeta, Issue, IssueLinkType, LinkDirection, ProjectInfo, field_ids,
};
use crate::tracker::jira::field_values::RESOLUTION;
use crate::tracker::jira::mapping::format_time;

/// The id of option `value` of field `field` in `project`.
pub(crate) fn option_id(project: &ProjectInfo, field: &str, value: &str) -> String {
    let listed = project
        .fields
        .iter()
        .enumerate()
        .find(|(_, f)| f.id == field)
        .and_then(|(at, f)| {
            let index = f
                .options
                .iter()
                .position(|o| o.eq_ignore_ascii_case(value))?;
            Some(10_000 + 1_000 * at as u64 + index as u64)
        });
    let id = listed.unwrap_or_else(|| {
        let hash = xxhash_rust::xxh3::xxh3_64(format!("{field}\u{0}{value}").as_bytes());
        900_000 + hash % 100_000
    });
    id.to_string()
}

/// The option of field `field` in `project` whose id is `id`.
pub(crate) fn option_by_id<'a>(project: &'a ProjectInfo, field: &str, id: &str) -> Option<&'a str> {
    let meta = project.field(field)?;
    meta.options
        .iter()
        .find(|o| option_id(project, field, o) == id)
        .map(String::as_str)
}

/// Whether `id` names a standard field beyond Basic.
pub(crate) fn is_standard(id: &str) -> bool {
    field_ids::ALL.contains(&id)
}

/// What rendering the fields beyond Basic needs besides the issue.
pub(crate) struct Extra<'a> {
    pub project: &'a ProjectInfo,
    /// The project's id.
    pub project_id: u64,
    /// The id of the issue's type.
    pub type_id: String,
    pub link_types: &'a [IssueLinkType],
    /// The parent's summary, when the issue has a parent.
    pub parent_summary: Option<String>,
}

fn named(ctx: &Ctx, project: &ProjectInfo, field: &str, path: &str, name: &str) -> Value {
    let id = option_id(project, field, name);
    json!({"self": format!("{}/{path}/{id}", ctx.api()), "id": id, "name": name})
}

fn option(ctx: &Ctx, project: &ProjectInfo, field: &str, value: &str) -> Value {
    let id = option_id(project, field, value);
    json!({"self": format!("{}/customFieldOption/{id}", ctx.api()), "id": id, "value": value})
}

fn date(d: time::Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// A custom field's value as Jira renders it.
pub(crate) fn custom(ctx: &Ctx, project: &ProjectInfo, field: &str, v: &CustomValue) -> Value {
    match v {
        CustomValue::Text(s) | CustomValue::Url(s) => json!(s),
        CustomValue::Paragraph(text) => ctx.body(text),
        CustomValue::Number(n) => Value::Number(n.clone()),
        CustomValue::Date(d) => json!(date(*d)),
        CustomValue::DateTime(t) => json!(format_time(*t)),
        CustomValue::Select(s) => option(ctx, project, field, s),
        CustomValue::MultiSelect(items) => Value::Array(
            items
                .iter()
                .map(|s| option(ctx, project, field, s))
                .collect(),
        ),
        CustomValue::Labels(items) => json!(items),
        CustomValue::User(u) => user(ctx, u),
        CustomValue::Users(users) => Value::Array(users.iter().map(|u| user(ctx, u)).collect()),
    }
}

/// Adds the fields beyond Basic of `i` to `all`: the standard ones, and each
/// custom field the project describes (`null` when empty) or holds.
pub(crate) fn add_fields(ctx: &Ctx, i: &Issue, extra: &Extra<'_>, all: &mut Map<String, Value>) {
    let f = &i.fields;
    let p = extra.project;
    let or_null = |v: Option<Value>| v.unwrap_or(Value::Null);
    all.insert(
        "priority".into(),
        or_null(
            f.priority
                .as_ref()
                .map(|n| named(ctx, p, field_ids::PRIORITY, "priority", n)),
        ),
    );
    all.insert(
        "assignee".into(),
        or_null(f.assignee.as_ref().map(|u| user(ctx, u))),
    );
    all.insert(
        "reporter".into(),
        or_null(f.reporter.as_ref().map(|u| user(ctx, u))),
    );
    all.insert(
        "duedate".into(),
        or_null(f.due_date.map(|d| json!(date(d)))),
    );
    for (field, path, names) in [
        (field_ids::COMPONENTS, "component", &f.components),
        (field_ids::FIX_VERSIONS, "version", &f.fix_versions),
    ] {
        all.insert(
            field.into(),
            Value::Array(
                names
                    .iter()
                    .map(|n| named(ctx, p, field, path, n))
                    .collect(),
            ),
        );
    }
    if let Some(parent) = &f.parent {
        all.insert(
            "parent".into(),
            json!({
                "id": parent.id.as_str(),
                "key": parent.key.as_str(),
                "self": format!("{}/issue/{}", ctx.api(), parent.id),
                "fields": {"summary": extra.parent_summary.clone().unwrap_or_default()},
            }),
        );
    }
    let links: Vec<Value> = f
        .links
        .iter()
        .map(|l| {
            let kind = extra
                .link_types
                .iter()
                .find(|t| t.name.eq_ignore_ascii_case(&l.link_type));
            let kind = match kind {
                Some(t) => link_type(ctx, t),
                None => json!({"name": l.link_type}),
            };
            let end = match l.direction {
                LinkDirection::Outward => "outwardIssue",
                LinkDirection::Inward => "inwardIssue",
            };
            let mut v = json!({
                "id": l.id,
                "self": format!("{}/issueLink/{}", ctx.api(), l.id),
                "type": kind,
            });
            v[end] = json!({
                "id": l.issue.id.as_str(),
                "key": l.issue.key.as_str(),
                "self": format!("{}/issue/{}", ctx.api(), l.issue.id),
            });
            v
        })
        .collect();
    all.insert("issuelinks".into(), Value::Array(links));
    for meta in p.fields.iter().filter(|m| !is_standard(&m.id)) {
        all.insert(meta.id.clone(), Value::Null);
    }
    for (id, value) in &f.custom {
        all.insert(id.clone(), custom(ctx, p, id, value));
    }
}

/// A link type as `GET issueLinkType` lists it.
pub(crate) fn link_type(ctx: &Ctx, t: &IssueLinkType) -> Value {
    json!({
        "id": t.id,
        "name": t.name,
        "inward": t.inward,
        "outward": t.outward,
        "self": format!("{}/issueLinkType/{}", ctx.api(), t.id),
    })
}
/// The number in a custom field's id (`customfield_10010`: 10010).
pub(crate) fn custom_number(id: &str) -> Option<u64> {
    id.strip_prefix("customfield_")?.parse().ok()
}

/// A field's JSON schema: Jira's type, item type, and for custom fields the
/// plugin type and number.
pub(crate) fn schema(meta: &FieldMeta) -> Value {
    let (kind, items, plugin) = match meta.kind {
        FieldKind::Text => ("string", None, "textfield"),
        FieldKind::Paragraph => ("string", None, "textarea"),
        FieldKind::Number => ("number", None, "float"),
        FieldKind::Date => ("date", None, "datepicker"),
        FieldKind::DateTime => ("datetime", None, "datetime"),
        FieldKind::Select => ("option", None, "select"),
        FieldKind::MultiSelect => ("array", Some("option"), "multiselect"),
        FieldKind::Labels => ("array", Some("string"), "labels"),
        FieldKind::User => ("user", None, "userpicker"),
        FieldKind::Users => ("array", Some("user"), "multiuserpicker"),
        FieldKind::Url => ("string", None, "url"),
        FieldKind::Issue => ("issuelink", None, "issuepicker"),
    };
    let mut v = json!({"type": kind});
    if let Some(items) = items {
        v["items"] = json!(items);
    }
    v["custom"] = json!(format!(
        "com.atlassian.jira.plugin.system.customfieldtypes:{plugin}"
    ));
    if let Some(n) = custom_number(&meta.id) {
        v["customId"] = json!(n);
    }
    v
}

/// The values a field allows, as createmeta and editmeta list them: `None`
/// when it lists no options.
pub(crate) fn allowed_values(ctx: &Ctx, project: &ProjectInfo, meta: &FieldMeta) -> Option<Value> {
    if meta.options.is_empty() {
        return None;
    }
    let id = meta.id.as_str();
    let one = |o: &String| match id {
        field_ids::PRIORITY => named(ctx, project, id, "priority", o),
        RESOLUTION => named(ctx, project, id, "resolution", o),
        field_ids::COMPONENTS => named(ctx, project, id, "component", o),
        field_ids::FIX_VERSIONS => named(ctx, project, id, "version", o),
        _ => option(ctx, project, id, o),
    };
    Some(Value::Array(meta.options.iter().map(one).collect()))
}
