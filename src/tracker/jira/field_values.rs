//! Fields beyond Basic in Jira's JSON: what creates and edits send, how
//! custom fields read by their kind, and what create metadata says of a
//! field.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use time::Date;
use time::format_description::FormatItem;
use time::macros::format_description;

use super::mapping::{Flavor, parse_time, user};
use crate::model::{CustomValue, FieldKind, FieldMeta, IssueFields, UserRef, field_ids};
use crate::tracker::IssueUpdate;

/// Jira's id of the resolution field, which only transition screens show.
pub(crate) const RESOLUTION: &str = "resolution";

const YMD: &[FormatItem<'static>] = format_description!("[year]-[month]-[day]");
/// Jira's date-time: `2026-12-03T10:00:00.000+0000`.
const JIRA_TIME: &[FormatItem<'static>] = format_description!(
    "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3][offset_hour sign:mandatory][offset_minute]"
);

/// A user as a write names them: Cloud by `accountId`, Data Center by `name`.
pub(crate) fn user_json(flavor: Flavor, user: &UserRef) -> Value {
    match flavor {
        Flavor::Cloud => json!({"accountId": user.id.as_str()}),
        Flavor::DataCenter => json!({"name": user.id.as_str()}),
    }
}

fn date_json(date: Date) -> Value {
    date.format(YMD).map_or(Value::Null, Value::String)
}

fn names_json(names: &[String]) -> Value {
    Value::Array(names.iter().map(|n| json!({"name": n})).collect())
}

/// A custom field's value as creates and edits send it.
pub(crate) fn custom_to_json(flavor: Flavor, value: &CustomValue) -> Value {
    match value {
        CustomValue::Text(s) | CustomValue::Url(s) => json!(s),
        CustomValue::Paragraph(text) => flavor.body_to_json(text),
        CustomValue::Number(n) => Value::Number(n.clone()),
        CustomValue::Date(d) => date_json(*d),
        CustomValue::DateTime(t) => t
            .to_offset(time::UtcOffset::UTC)
            .format(JIRA_TIME)
            .map_or(Value::Null, Value::String),
        CustomValue::Select(v) => json!({"value": v}),
        CustomValue::MultiSelect(vs) => {
            Value::Array(vs.iter().map(|v| json!({"value": v})).collect())
        }
        CustomValue::Labels(ls) => json!(ls),
        CustomValue::User(u) => user_json(flavor, u),
        CustomValue::Users(us) => Value::Array(us.iter().map(|u| user_json(flavor, u)).collect()),
    }
}

/// A custom field's value read by its kind; `None` when empty or not of
/// that kind.
pub(crate) fn custom_from_json(flavor: Flavor, kind: FieldKind, v: &Value) -> Option<CustomValue> {
    let text = |v: &Value| v.as_str().map(str::to_owned);
    let option = |v: &Value| v.get("value").and_then(Value::as_str).map(str::to_owned);
    let value = match kind {
        FieldKind::Text => CustomValue::Text(text(v)?),
        FieldKind::Url => CustomValue::Url(text(v)?),
        FieldKind::Paragraph => {
            if v.is_null() {
                return None;
            }
            CustomValue::Paragraph(flavor.body_from_json(v))
        }
        FieldKind::Number => CustomValue::Number(v.as_number()?.clone()),
        FieldKind::Date => CustomValue::Date(Date::parse(v.as_str()?, YMD).ok()?),
        FieldKind::DateTime => CustomValue::DateTime(parse_time(v.as_str()?)?),
        FieldKind::Select => CustomValue::Select(option(v)?),
        FieldKind::MultiSelect => {
            CustomValue::MultiSelect(v.as_array()?.iter().filter_map(option).collect())
        }
        FieldKind::Labels => CustomValue::Labels(v.as_array()?.iter().filter_map(text).collect()),
        FieldKind::User => CustomValue::User(user(v).ok()?),
        FieldKind::Users => {
            CustomValue::Users(v.as_array()?.iter().filter_map(|u| user(u).ok()).collect())
        }
        FieldKind::Issue => return None,
    };
    Some(value.normalized())
}

/// The kind of a field by its JSON schema (`GET /field`, create metadata):
/// custom fields by their type key, the standard ones by their id.
pub(crate) fn kind_of(id: &str, schema: &Value) -> Option<FieldKind> {
    if let Some(custom) = schema.get("custom").and_then(Value::as_str) {
        let name = custom.rsplit(':').next().unwrap_or(custom);
        return Some(match name {
            "textfield" => FieldKind::Text,
            "textarea" => FieldKind::Paragraph,
            "float" => FieldKind::Number,
            "datepicker" => FieldKind::Date,
            "datetime" => FieldKind::DateTime,
            "select" | "radiobuttons" => FieldKind::Select,
            "multiselect" | "multicheckboxes" => FieldKind::MultiSelect,
            "labels" => FieldKind::Labels,
            "userpicker" => FieldKind::User,
            "multiuserpicker" => FieldKind::Users,
            "url" => FieldKind::Url,
            _ => return None,
        });
    }
    FieldKind::of_standard(id)
}

/// What one field of create or edit metadata says: Cloud's and Data
/// Center's `{"fieldId" | "key", "name", "required", "schema",
/// "allowedValues"}`. `None` for a field of a kind twinsync does not model.
pub(crate) fn field_meta(id: Option<&str>, v: &Value) -> Option<FieldMeta> {
    let id = id
        .or_else(|| v.get("fieldId").and_then(Value::as_str))
        .or_else(|| v.get("key").and_then(Value::as_str))?;
    let kind = kind_of(id, v.get("schema").unwrap_or(&Value::Null))?;
    Some(meta_of_kind(id, kind, v))
}

/// What one field of a transition's screen says (`GET
/// issue/{id}/transitions?expand=transitions.fields`): as [`field_meta`],
/// and the resolution, which only transition screens show, is a select
/// whose options are named by `name`.
pub(crate) fn transition_field_meta(id: &str, v: &Value) -> Option<FieldMeta> {
    match id {
        RESOLUTION => Some(meta_of_kind(id, FieldKind::Select, v)),
        _ => field_meta(Some(id), v),
    }
}

fn meta_of_kind(id: &str, kind: FieldKind, v: &Value) -> FieldMeta {
    let name = v.get("name").and_then(Value::as_str).unwrap_or(id);
    let options = v
        .get("allowedValues")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|o| {
            o.get("value")
                .or_else(|| o.get("name"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        });
    let mut meta = FieldMeta::new(id, name, kind).options(options);
    meta.required = v.get("required").and_then(Value::as_bool) == Some(true)
        // A required field with a default is filled in by Jira.
        && v.get("hasDefaultValue").and_then(Value::as_bool) != Some(true);
    meta
}

/// The `fields` of a transition: standard selects (`resolution`,
/// `priority`) and lists (`components`, `fixVersions`) by `name`, every
/// other value as creates and edits send it.
pub(crate) fn transition_fields_json(
    flavor: Flavor,
    fields: &BTreeMap<String, CustomValue>,
) -> Map<String, Value> {
    fields
        .iter()
        .map(|(id, value)| {
            let json = match (id.as_str(), value) {
                (RESOLUTION | field_ids::PRIORITY, CustomValue::Select(name)) => {
                    json!({"name": name})
                }
                (
                    field_ids::COMPONENTS | field_ids::FIX_VERSIONS,
                    CustomValue::MultiSelect(names),
                ) => names_json(names),
                _ => custom_to_json(flavor, value),
            };
            (id.clone(), json)
        })
        .collect()
}

/// The fields of a create beyond Basic (links are made afterwards).
pub(crate) fn new_fields_json(flavor: Flavor, fields: &IssueFields, into: &mut Map<String, Value>) {
    if let Some(p) = &fields.priority {
        into.insert("priority".into(), json!({"name": p}));
    }
    if let Some(u) = &fields.assignee {
        into.insert("assignee".into(), user_json(flavor, u));
    }
    if let Some(u) = &fields.reporter {
        into.insert("reporter".into(), user_json(flavor, u));
    }
    if let Some(d) = fields.due_date {
        into.insert("duedate".into(), date_json(d));
    }
    if !fields.components.is_empty() {
        into.insert("components".into(), names_json(&fields.components));
    }
    if !fields.fix_versions.is_empty() {
        into.insert("fixVersions".into(), names_json(&fields.fix_versions));
    }
    if let Some(p) = &fields.parent {
        into.insert("parent".into(), json!({"id": p.id.as_str()}));
    }
    for (id, value) in &fields.custom {
        into.insert(id.clone(), custom_to_json(flavor, value));
    }
}

/// The fields of an edit beyond Basic; `null` clears.
pub(crate) fn update_fields_json(
    flavor: Flavor,
    update: &IssueUpdate,
    into: &mut Map<String, Value>,
) {
    if let Some(p) = &update.priority {
        into.insert("priority".into(), json!({"name": p}));
    }
    if let Some(u) = &update.assignee {
        into.insert(
            "assignee".into(),
            u.as_ref().map_or(Value::Null, |u| user_json(flavor, u)),
        );
    }
    if let Some(u) = &update.reporter {
        into.insert("reporter".into(), user_json(flavor, u));
    }
    if let Some(d) = &update.due_date {
        into.insert("duedate".into(), d.map_or(Value::Null, date_json));
    }
    if let Some(c) = &update.components {
        into.insert("components".into(), names_json(c));
    }
    if let Some(v) = &update.fix_versions {
        into.insert("fixVersions".into(), names_json(v));
    }
    if let Some(p) = &update.parent {
        into.insert(
            "parent".into(),
            p.as_ref()
                .map_or(Value::Null, |p| json!({"id": p.as_str()})),
        );
    }
    for (id, value) in &update.custom {
        into.insert(
            id.clone(),
            value
                .as_ref()
                .map_or(Value::Null, |v| custom_to_json(flavor, v)),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::RichText;
    use crate::testkit::ids as lit;

    fn round_trip(flavor: Flavor, kind: FieldKind, value: CustomValue) {
        let json = custom_to_json(flavor, &value);
        let back = custom_from_json(flavor, kind, &json);
        // Writes name options and users by value and id; reads see the
        // objects Jira answers with, which carry at least those.
        let back = back.or_else(|| match (&value, kind) {
            (CustomValue::User(_) | CustomValue::Users(_), _) => Some(value.clone()),
            _ => None,
        });
        assert_eq!(back.as_ref(), Some(&value), "{kind} on {flavor:?}: {json}");
    }

    #[test]
    fn every_custom_kind_writes_what_it_reads() {
        let ada = UserRef::new(lit::user_id("a-1"), "a-1");
        for flavor in [Flavor::Cloud, Flavor::DataCenter] {
            round_trip(flavor, FieldKind::Text, CustomValue::Text("x".into()));
            round_trip(
                flavor,
                FieldKind::Url,
                CustomValue::Url("https://x.example".into()),
            );
            round_trip(
                flavor,
                FieldKind::Number,
                CustomValue::Number(serde_json::Number::from(7)),
            );
            round_trip(
                flavor,
                FieldKind::Date,
                CustomValue::Date(time::macros::date!(2026 - 12 - 24)),
            );
            round_trip(
                flavor,
                FieldKind::DateTime,
                CustomValue::DateTime(time::macros::datetime!(2026-12-24 10:30:00 UTC)),
            );
            round_trip(flavor, FieldKind::Select, CustomValue::Select("S1".into()));
            round_trip(
                flavor,
                FieldKind::MultiSelect,
                CustomValue::MultiSelect(vec!["a".into(), "b".into()]),
            );
            round_trip(
                flavor,
                FieldKind::Labels,
                CustomValue::Labels(vec!["x".into()]),
            );
            round_trip(flavor, FieldKind::User, CustomValue::User(ada.clone()));
            // Paragraphs read as ADF on both flavors, as descriptions do.
            let text = flavor.body_from_json(&flavor.body_to_json(&RichText::from("why it broke")));
            round_trip(flavor, FieldKind::Paragraph, CustomValue::Paragraph(text));
        }
        assert_eq!(
            custom_to_json(Flavor::DataCenter, &CustomValue::User(ada.clone())),
            json!({"name": "a-1"})
        );
        assert_eq!(
            custom_to_json(Flavor::Cloud, &CustomValue::User(ada)),
            json!({"accountId": "a-1"})
        );
    }

    #[test]
    fn values_of_another_kind_read_as_nothing() {
        assert_eq!(
            custom_from_json(Flavor::Cloud, FieldKind::Number, &json!("7")),
            None
        );
        assert_eq!(
            custom_from_json(Flavor::Cloud, FieldKind::Select, &json!("S1")),
            None
        );
        assert_eq!(
            custom_from_json(Flavor::Cloud, FieldKind::Date, &json!("24/12/2026")),
            None
        );
        assert_eq!(
            custom_from_json(Flavor::Cloud, FieldKind::Paragraph, &Value::Null),
            None
        );
    }

    #[test]
    fn create_metadata_reads_kinds_options_and_requirement() {
        let severity = json!({
            "fieldId": "customfield_10010", "name": "Severity", "required": true,
            "schema": {"type": "option", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:select", "customId": 10010},
            "allowedValues": [{"id": "1", "value": "S1"}, {"id": "2", "value": "S2"}]
        });
        let meta = field_meta(None, &severity).unwrap();
        assert_eq!(
            (
                meta.id.as_str(),
                meta.name.as_str(),
                meta.kind,
                meta.required
            ),
            ("customfield_10010", "Severity", FieldKind::Select, true)
        );
        assert_eq!(meta.options, ["S1", "S2"]);
        let priority = json!({"required": true, "hasDefaultValue": true, "name": "Priority",
            "schema": {"type": "priority", "system": "priority"},
            "allowedValues": [{"id": "1", "name": "Highest"}]});
        let meta = field_meta(Some("priority"), &priority).unwrap();
        assert_eq!((meta.kind, meta.required), (FieldKind::Select, false));
        assert_eq!(meta.options, ["Highest"]);
        let unknown = json!({"fieldId": "customfield_1", "schema": {"custom": "vendor:thing"}});
        assert_eq!(field_meta(None, &unknown), None);
    }

    #[test]
    fn transition_fields_name_standard_options_by_name() {
        let ada = UserRef::new(lit::user_id("a-1"), "Ada");
        let fields = BTreeMap::from([
            ("resolution".to_owned(), CustomValue::Select("Fixed".into())),
            ("priority".to_owned(), CustomValue::Select("High".into())),
            (
                "components".to_owned(),
                CustomValue::MultiSelect(vec!["UI".into()]),
            ),
            ("customfield_1".to_owned(), CustomValue::Select("S1".into())),
            ("assignee".to_owned(), CustomValue::User(ada)),
        ]);
        assert_eq!(
            Value::Object(transition_fields_json(Flavor::DataCenter, &fields)),
            json!({"resolution": {"name": "Fixed"}, "priority": {"name": "High"},
                   "components": [{"name": "UI"}], "customfield_1": {"value": "S1"},
                   "assignee": {"name": "a-1"}})
        );
        let screen = json!({"required": true, "name": "Resolution",
            "schema": {"type": "resolution", "system": "resolution"},
            "allowedValues": [{"id": "1", "name": "Fixed"}]});
        let meta = transition_field_meta("resolution", &screen).unwrap();
        assert_eq!((meta.kind, meta.required), (FieldKind::Select, true));
        assert_eq!(meta.options, ["Fixed"]);
        assert_eq!(
            field_meta(Some("resolution"), &screen),
            None,
            "create metadata does not model it"
        );
    }

    #[test]
    fn edits_clear_with_null_and_name_things_by_name() {
        let update = IssueUpdate::new()
            .assignee(None)
            .due_date(None)
            .components(["Printers"])
            .custom("customfield_1", None)
            .priority("High");
        let mut out = Map::new();
        update_fields_json(Flavor::Cloud, &update, &mut out);
        assert_eq!(
            Value::Object(out),
            json!({"assignee": null, "duedate": null, "components": [{"name": "Printers"}],
                   "customfield_1": null, "priority": {"name": "High"}})
        );
    }
}
