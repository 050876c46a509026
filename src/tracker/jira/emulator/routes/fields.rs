//! The fields the emulator models: `GET /rest/api/{2,3}/field`, the create and
//! edit screens (a field not on them is refused as Jira refuses it), and the
//! `update` operations of create and edit.

use serde_json::{Map, Value, json};

use super::{Api, Reply, field_error};
use crate::model::ProjectInfo;

/// One system field: id, name, JSON schema type (`system` is the id), item
/// type for arrays, orderable, navigable, searchable, on the create screen,
/// on the edit screen.
struct FieldDef {
    id: &'static str,
    name: &'static str,
    kind: &'static str,
    items: Option<&'static str>,
    clauses: &'static [&'static str],
    orderable: bool,
    navigable: bool,
    searchable: bool,
    create: bool,
    edit: bool,
}

const fn def(
    id: &'static str,
    name: &'static str,
    kind: &'static str,
    clauses: &'static [&'static str],
    screens: (bool, bool),
) -> FieldDef {
    FieldDef {
        id,
        name,
        kind,
        items: None,
        clauses,
        orderable: screens.0 || screens.1,
        navigable: true,
        searchable: true,
        create: screens.0,
        edit: screens.1,
    }
}

/// The system fields the emulator keeps; custom fields come from the
/// projects' [`FieldMeta`](crate::model::FieldMeta).
const FIELDS: &[FieldDef] = &[
    def(
        "issuekey",
        "Key",
        "string",
        &["id", "issue", "issuekey", "key"],
        (false, false),
    ),
    def("project", "Project", "project", &["project"], (true, false)),
    def(
        "issuetype",
        "Issue Type",
        "issuetype",
        &["issuetype", "type"],
        (true, true),
    ),
    def("summary", "Summary", "string", &["summary"], (true, true)),
    def(
        "description",
        "Description",
        "string",
        &["description"],
        (true, true),
    ),
    FieldDef {
        items: Some("string"),
        ..def("labels", "Labels", "array", &["labels"], (true, true))
    },
    def("status", "Status", "status", &["status"], (false, false)),
    def("creator", "Creator", "user", &["creator"], (false, false)),
    def("reporter", "Reporter", "user", &["reporter"], (true, true)),
    def(
        "priority",
        "Priority",
        "priority",
        &["priority"],
        (true, true),
    ),
    def("assignee", "Assignee", "user", &["assignee"], (true, true)),
    def(
        "duedate",
        "Due date",
        "date",
        &["due", "duedate"],
        (true, true),
    ),
    FieldDef {
        items: Some("component"),
        ..def(
            "components",
            "Components",
            "array",
            &["component"],
            (true, true),
        )
    },
    FieldDef {
        items: Some("version"),
        ..def(
            "fixVersions",
            "Fix versions",
            "array",
            &["fixVersion"],
            (true, true),
        )
    },
    def("parent", "Parent", "issuelink", &["parent"], (true, true)),
    FieldDef {
        items: Some("issuelinks"),
        ..def(
            "issuelinks",
            "Linked Issues",
            "array",
            &["issueLink"],
            (false, false),
        )
    },
    def(
        "created",
        "Created",
        "datetime",
        &["created", "createdDate"],
        (false, false),
    ),
    def(
        "updated",
        "Updated",
        "datetime",
        &["updated", "updatedDate"],
        (false, false),
    ),
    FieldDef {
        items: Some("attachment"),
        ..def(
            "attachment",
            "Attachment",
            "array",
            &["attachments"],
            (false, false),
        )
    },
    FieldDef {
        items: Some("comment"),
        navigable: false,
        ..def(
            "comment",
            "Comment",
            "comments-page",
            &["comment"],
            (false, false),
        )
    },
];

/// Jira's words for a field it will not set.
pub(super) fn not_on_screen(field: &str) -> Reply {
    field_error(
        field,
        &format!("Field '{field}' cannot be set. It is not on the appropriate screen, or unknown."),
    )
}

/// Which screen a write goes through.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Screen {
    Create,
    Edit,
}

impl Screen {
    /// Whether `field` is on this screen: as `project` describes it, else
    /// as the system list has it (a custom field the project does not
    /// describe is unknown).
    fn has(self, field: &str, project: Option<&ProjectInfo>) -> bool {
        if let Some(meta) = project.and_then(|p| p.field(field)) {
            return match self {
                Screen::Create => meta.on_create,
                Screen::Edit => meta.on_edit,
            };
        }
        FIELDS.iter().any(|f| {
            f.id == field
                && match self {
                    Screen::Create => f.create,
                    Screen::Edit => f.edit,
                }
        })
    }
}

/// Refuses a `fields` or `update` member that is not on `screen`; `comment`
/// may be added through `update` on both.
pub(super) fn check_screen(
    body: &Value,
    screen: Screen,
    project: Option<&ProjectInfo>,
) -> Result<(), Reply> {
    for (field, _) in body
        .get("fields")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        if !screen.has(field, project) {
            return Err(not_on_screen(field));
        }
    }
    for (field, _) in body
        .get("update")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        if field != "comment" && !screen.has(field, project) {
            return Err(not_on_screen(field));
        }
    }
    Ok(())
}

/// What the `update` member of a create or edit asks for.
#[derive(Default)]
pub(super) struct Updates {
    /// `summary: [{"set": …}]`.
    pub summary: Option<Value>,
    /// `description: [{"set": …}]`.
    pub description: Option<Value>,
    /// `issuetype: [{"set": …}]`.
    pub issue_type: Option<Value>,
    /// `labels` operations, in order: `("add" | "remove" | "set", value)`.
    pub labels: Vec<(String, Value)>,
    /// `comment: [{"add": {"body": …}}]` bodies.
    pub comments: Vec<Value>,
    /// `set` operations of fields beyond Basic, as `(field, value)`.
    pub sets: Vec<(String, Value)>,
}

impl Updates {
    /// Applies the label operations to `labels`.
    pub(super) fn apply_labels(&self, mut labels: Vec<String>) -> Result<Vec<String>, Reply> {
        for (op, value) in &self.labels {
            match op.as_str() {
                "set" => labels = Api::labels_from(Some(value))?,
                "add" | "remove" => {
                    let one = Api::labels_from(Some(&Value::Array(vec![value.clone()])))?;
                    for label in one {
                        if op == "add" {
                            if !labels.contains(&label) {
                                labels.push(label);
                            }
                        } else {
                            labels.retain(|l| *l != label);
                        }
                    }
                }
                _ => return Err(unsupported("labels", op)),
            }
        }
        Ok(labels)
    }
}

fn unsupported(field: &str, op: &str) -> Reply {
    field_error(field, &format!("Field does not support update '{op}'"))
}

/// Reads the `update` member: each field holds an array of one-member
/// objects naming the operation. Operations a field does not support are
/// refused with 400.
pub(super) fn updates(body: &Value) -> Result<Updates, Reply> {
    let mut out = Updates::default();
    let Some(update) = body.get("update") else {
        return Ok(out);
    };
    let Some(update) = update.as_object() else {
        return Err(field_error("update", "The update must be an object."));
    };
    for (field, ops) in update {
        let Some(ops) = ops.as_array() else {
            return Err(field_error(field, "Operations must be an array."));
        };
        for op in ops {
            let Some((name, value)) = op.as_object().and_then(single) else {
                return Err(field_error(field, "Each operation names one verb."));
            };
            match (field.as_str(), name) {
                ("summary", "set") => out.summary = Some(value.clone()),
                ("description", "set") => out.description = Some(value.clone()),
                ("issuetype", "set") => out.issue_type = Some(value.clone()),
                ("labels", "add" | "remove" | "set") => {
                    out.labels.push((name.to_owned(), value.clone()));
                }
                (other, "set") if super::field_input::is_beyond_basic(other) => {
                    out.sets.push((other.to_owned(), value.clone()));
                }
                ("comment", "add") => match value.get("body") {
                    Some(b) => out.comments.push(b.clone()),
                    None => return Err(field_error("comment", "Comment body can not be empty!")),
                },
                _ => return Err(unsupported(field, name)),
            }
        }
    }
    Ok(out)
}

fn single(map: &Map<String, Value>) -> Option<(&str, &Value)> {
    let mut it = map.iter();
    let first = it.next()?;
    it.next().is_none().then_some((first.0.as_str(), first.1))
}

/// A system field's schema, as `GET field` and the screens' metadata show it.
fn system_schema(f: &FieldDef) -> Value {
    let mut schema = json!({"type": f.kind, "system": f.id});
    if let Some(items) = f.items {
        schema["items"] = json!(items);
    }
    schema
}

/// The system fields, as `GET field` lists them.
pub(super) fn system_list() -> Vec<Value> {
    FIELDS
        .iter()
        .map(|f| {
            json!({
                "id": f.id,
                "key": f.id,
                "name": f.name,
                "custom": false,
                "orderable": f.orderable,
                "navigable": f.navigable,
                "searchable": f.searchable,
                "clauseNames": f.clauses,
                "schema": system_schema(f),
            })
        })
        .collect()
}

/// The Basic system fields on `screen` (the ones beyond Basic are on a
/// screen when the project describes them): id, name, schema, required.
pub(super) fn basic_on_screen(screen: Screen) -> Vec<(&'static str, &'static str, Value, bool)> {
    FIELDS
        .iter()
        .filter(|f| !super::field_input::is_beyond_basic(f.id))
        .filter(|f| match screen {
            Screen::Create => f.create,
            Screen::Edit => f.edit,
        })
        .map(|f| {
            let required = matches!(f.id, "project" | "issuetype" | "summary");
            (f.id, f.name, system_schema(f), required)
        })
        .collect()
}

/// The schema of a standard field beyond Basic.
pub(super) fn standard_schema(id: &str) -> Option<Value> {
    FIELDS.iter().find(|f| f.id == id).map(system_schema)
}
