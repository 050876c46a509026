//! How a field's value is read from an issue as it travels, and written
//! back as an update of a field of a given kind: the two ends every field
//! rule shares.

use crate::model::{CustomValue, FieldKind, Issue, ProjectInfo, field_ids};
use crate::replica::FieldValue;
use crate::tracker::IssueUpdate;

/// The key of a replica field's value that is a user's account id.
pub(crate) const USER: &str = "user";
/// The key of a replica field's value that is a list of users' account ids.
pub(crate) const USERS: &str = "users";

/// Whether `issue`'s `field` holds users.
pub(crate) fn holds_users(issue: &Issue, field: &str) -> bool {
    match field {
        field_ids::ASSIGNEE | field_ids::REPORTER => true,
        custom => matches!(
            issue.fields.custom.get(custom),
            Some(CustomValue::User(_) | CustomValue::Users(_))
        ),
    }
}

/// The kind of a standard field by id.
pub(crate) fn standard_kind(id: &str) -> Option<FieldKind> {
    FieldKind::of_standard(id)
}

/// The kind of `field` in `project`: a standard one's, or what the
/// project's metadata says.
pub(crate) fn kind_in(project: &ProjectInfo, field: &str) -> Option<FieldKind> {
    standard_kind(field).or_else(|| project.field(field).map(|f| f.kind))
}

/// The value `issue` holds in `field`, as it travels.
pub(crate) fn read(issue: &Issue, field: &str) -> FieldValue {
    let f = &issue.fields;
    let list = |items: &[String]| {
        if items.is_empty() {
            FieldValue::Empty
        } else {
            FieldValue::List(items.to_vec())
        }
    };
    match field {
        field_ids::PRIORITY => f
            .priority
            .clone()
            .map_or(FieldValue::Empty, FieldValue::Text),
        field_ids::DUE_DATE => f
            .due_date
            .map_or(FieldValue::Empty, |d| FieldValue::Text(d.to_string())),
        field_ids::COMPONENTS => list(&f.components),
        field_ids::FIX_VERSIONS => list(&f.fix_versions),
        // Users travel by account id (mapped on a remote connection).
        field_ids::ASSIGNEE => f.assignee.as_ref().map_or(FieldValue::Empty, |u| {
            FieldValue::Text(u.id.as_str().to_owned())
        }),
        field_ids::REPORTER => f.reporter.as_ref().map_or(FieldValue::Empty, |u| {
            FieldValue::Text(u.id.as_str().to_owned())
        }),
        custom => match f.custom.get(custom) {
            None => FieldValue::Empty,
            Some(CustomValue::Paragraph(text)) => FieldValue::Rich(text.clone()),
            Some(CustomValue::MultiSelect(items) | CustomValue::Labels(items)) => list(items),
            Some(CustomValue::Users(users)) => {
                let mut ids: Vec<String> = users.iter().map(|u| u.id.as_str().to_owned()).collect();
                ids.sort();
                FieldValue::List(ids)
            }
            Some(CustomValue::User(u)) => FieldValue::Text(u.id.as_str().to_owned()),
            Some(CustomValue::DateTime(t)) => FieldValue::Text(
                t.format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default(),
            ),
            Some(other) => FieldValue::Text(other.to_string()),
        },
    }
}

/// `value` as an update of `field`, of `kind`; an error says why it cannot
/// be held there.
pub(crate) fn to_update(
    field: &str,
    kind: FieldKind,
    value: &FieldValue,
    update: &mut IssueUpdate,
) -> std::result::Result<(), String> {
    let text = || match value {
        FieldValue::Text(t) => Ok(Some(t.clone())),
        FieldValue::Empty => Ok(None),
        other => Err(format!("{} is not one value", other.preview())),
    };
    let list = || match value {
        FieldValue::List(items) => Ok(items.clone()),
        FieldValue::Text(t) => Ok(vec![t.clone()]),
        FieldValue::Empty => Ok(Vec::new()),
        other => Err(format!("{} is not a list", other.preview())),
    };
    // A user by account id; the tracker knows the name.
    let user = |id: &str| {
        crate::model::UserId::new(id.trim())
            .map(|id| crate::model::UserRef::new(id, ""))
            .map_err(|_| format!("{id:?} is not a user's account id"))
    };
    let date = |t: &str| {
        time::Date::parse(t, time::macros::format_description!("[year]-[month]-[day]"))
            .map_err(|_| format!("{t:?} is not a date (YYYY-MM-DD)"))
    };
    match (field, kind) {
        (field_ids::PRIORITY, _) => match text()? {
            Some(p) => update.priority = Some(p),
            None => return Err("a priority cannot be cleared".to_owned()),
        },
        (field_ids::DUE_DATE, _) => {
            update.due_date = Some(text()?.map(|t| date(&t)).transpose()?);
        }
        (field_ids::COMPONENTS, _) => update.components = Some(list()?),
        (field_ids::FIX_VERSIONS, _) => update.fix_versions = Some(list()?),
        (field_ids::ASSIGNEE, _) => {
            update.assignee = Some(text()?.map(|id| user(&id)).transpose()?);
        }
        (field_ids::REPORTER, _) => match text()? {
            Some(id) => update.reporter = Some(user(&id)?),
            None => return Err("a reporter cannot be cleared".to_owned()),
        },
        (_, FieldKind::Issue) => {
            return Err(format!("a {kind} field is not mapped by field rules"));
        }
        (custom, kind) => {
            let v = match (kind, value) {
                (_, FieldValue::Empty) => None,
                (FieldKind::Paragraph, FieldValue::Rich(t)) => {
                    Some(CustomValue::Paragraph(t.clone()))
                }
                (FieldKind::Paragraph, FieldValue::Text(t)) => {
                    Some(CustomValue::Paragraph(t.as_str().into()))
                }
                (FieldKind::MultiSelect, _) => Some(CustomValue::MultiSelect(list()?)),
                (FieldKind::Labels, _) => Some(CustomValue::Labels(list()?)),
                (FieldKind::User, _) => text()?
                    .map(|id| user(&id))
                    .transpose()?
                    .map(CustomValue::User),
                (FieldKind::Users, _) => Some(CustomValue::Users(
                    list()?
                        .iter()
                        .map(|id| user(id))
                        .collect::<std::result::Result<_, _>>()?,
                )),
                (FieldKind::Text, _) => text()?.map(CustomValue::Text),
                (FieldKind::Url, _) => text()?.map(CustomValue::Url),
                (FieldKind::Select, _) => text()?.map(CustomValue::Select),
                (FieldKind::Number, _) => match text()? {
                    Some(t) => Some(CustomValue::Number(
                        t.trim()
                            .parse::<serde_json::Number>()
                            .map_err(|_| format!("{t:?} is not a number"))?,
                    )),
                    None => None,
                },
                (FieldKind::Date, _) => match text()? {
                    Some(t) => Some(CustomValue::Date(date(&t)?)),
                    None => None,
                },
                (FieldKind::DateTime, _) => match text()? {
                    Some(t) => Some(CustomValue::DateTime(
                        time::OffsetDateTime::parse(
                            &t,
                            &time::format_description::well_known::Rfc3339,
                        )
                        .map_err(|_| format!("{t:?} is not a date and time (RFC 3339)"))?,
                    )),
                    None => None,
                },
                (kind, other) => {
                    return Err(format!(
                        "{} cannot be held in a {kind} field",
                        other.preview()
                    ));
                }
            };
            update
                .custom
                .insert(custom.to_owned(), v.map(CustomValue::normalized));
        }
    }
    Ok(())
}
