//! Field rules as data: which field of each project a synced value lives in,
//! and how a value from the other side lands here.
//!
//! A [`FieldRule`] names a value that travels between twins (`severity`)
//! and, for each project it applies to, the field that holds it there
//! (`customfield_10010` in SUP, `priority` in DEV) and how values coming
//! from the other side land in it: a value map (`S1 → Highest`), a
//! constant, "only when empty", and a fallback for values the map does not
//! name (keep ours, set a default, or raise an error on the twin).
//!
//! ```toml
//! [[fields]]
//! name = "severity"
//!
//! [fields.sides.SUP]
//! field = "customfield_10010"
//! map = { Highest = "S1", High = "S2" }
//! fallback = "default"
//! default = "S3"
//!
//! [fields.sides.DEV]
//! field = "priority"
//! map = { S1 = "Highest", S2 = "High", S3 = "Medium" }
//! fallback = "error"
//! ```
//!
//! Values travel as text (priority, selects, text, numbers, dates, URLs),
//! lists (components, fix versions, multi-selects, labels) or rich text
//! (paragraphs). A value map applies to text and to each item of a list.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, ErrorKind, Result};
use crate::model::{Issue, ProjectInfo, field_ids};
use crate::replica::{FieldValue, Replica};
use crate::tracker::IssueUpdate;

use super::SyncRule;

/// What happens to a value from the other side that the map does not name.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fallback {
    /// The value lands as it is (the default; with no map, every value does).
    #[default]
    AsIs,
    /// Our field keeps its value.
    Keep,
    /// Our field gets the side's `default`.
    Default,
    /// The twin records an error naming the rule, the field and the value.
    Error,
}

/// One project's part of a [`FieldRule`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldSide {
    /// The field holding the value here: a standard field id (`priority`,
    /// `duedate`, `components`, `fixVersions`) or a custom field id
    /// (`customfield_10010`). A field's name is resolved to its id when the
    /// rules are checked against the project ([`RuleSpec::check`](super::RuleSpec::check)).
    pub field: String,
    /// Their value → ours.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub map: BTreeMap<String, String>,
    /// For values the map does not name.
    #[serde(default)]
    pub fallback: Fallback,
    /// The value for [`Fallback::Default`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// A value our field always gets, whatever comes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constant: Option<String>,
    /// Values land only while our field is empty.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub only_when_empty: bool,
    /// Whether values from the other side land here at all (`false`: this
    /// side only sends its value).
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub receive: bool,
}

fn yes() -> bool {
    true
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's signature
fn is_true(b: &bool) -> bool {
    *b
}

/// A value that travels between twins, and where it lives on each side.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldRule {
    /// The value's name in replicas and twin state (`severity`).
    pub name: String,
    /// Each project's part, by project key.
    pub sides: BTreeMap<String, FieldSide>,
}

impl FieldRule {
    /// A rule for the value `name`, with no sides yet.
    pub fn new(name: impl Into<String>) -> Self {
        FieldRule {
            name: name.into(),
            sides: BTreeMap::new(),
        }
    }

    /// The same rule with `side` for `project`.
    pub fn side(mut self, project: impl Into<String>, side: FieldSide) -> Self {
        self.sides.insert(project.into(), side);
        self
    }

    fn side_of(&self, project: &str) -> Option<&FieldSide> {
        self.sides.get(project)
    }

    fn bad(&self, field: &str, message: String) -> Error {
        Error::new(
            ErrorKind::InvalidInput,
            format!("field rule {:?}, field {field}: {message}", self.name),
        )
    }
}

impl FieldSide {
    /// A side holding the value in `field`, values landing as they are.
    pub fn new(field: impl Into<String>) -> Self {
        FieldSide {
            field: field.into(),
            receive: true,
            ..FieldSide::default()
        }
    }

    /// The same side mapping their `theirs` to our `ours`.
    pub fn map(mut self, theirs: impl Into<String>, ours: impl Into<String>) -> Self {
        self.map.insert(theirs.into(), ours.into());
        self
    }

    /// The same side with `fallback` for unmapped values.
    pub fn fallback(mut self, fallback: Fallback) -> Self {
        self.fallback = fallback;
        self
    }

    /// The same side with a default for [`Fallback::Default`].
    pub fn default_value(mut self, value: impl Into<String>) -> Self {
        self.default = Some(value.into());
        self
    }

    /// The same side, always setting `value`.
    pub fn constant(mut self, value: impl Into<String>) -> Self {
        self.constant = Some(value.into());
        self
    }

    /// The same side, values landing only while the field is empty.
    pub fn only_when_empty(mut self) -> Self {
        self.only_when_empty = true;
        self
    }

    /// The same side, receiving nothing (it only sends).
    pub fn send_only(mut self) -> Self {
        self.receive = false;
        self
    }
}

pub(crate) use super::field_io::{
    USER, USERS, holds_users, kind_in, read, standard_kind, to_update,
};

impl FieldRule {
    /// One value from the other side, through `side`'s map and fallback;
    /// `Ok(None)`: ours is kept.
    fn land(&self, side: &FieldSide, theirs: &str) -> Result<Option<String>> {
        if side.map.is_empty() {
            return Ok(Some(theirs.to_owned()));
        }
        if let Some(ours) = side
            .map
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(theirs))
            .map(|(_, v)| v)
        {
            return Ok(Some(ours.clone()));
        }
        match side.fallback {
            Fallback::AsIs => Ok(Some(theirs.to_owned())),
            Fallback::Keep => Ok(None),
            Fallback::Default => Ok(side.default.clone()),
            Fallback::Error => Err(self.bad(
                &side.field,
                format!(
                    "no mapping for their value {theirs:?}; mapped: {}",
                    side.map.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            )),
        }
    }
}

impl SyncRule for FieldRule {
    fn field(&self) -> &str {
        &self.name
    }

    fn outgoing(&self, issue: &Issue, replica: &mut Replica) {
        let Some(side) = self.side_of(issue.project.as_str()) else {
            return;
        };
        let value = match (read(issue, &side.field), holds_users(issue, &side.field)) {
            (FieldValue::Empty, _) => Value::Null,
            // Users are marked, so that the engine can describe them to
            // the other side and map them there.
            (FieldValue::Text(t), true) => serde_json::json!({ USER: t }),
            (FieldValue::List(items), true) => serde_json::json!({ USERS: items }),
            (FieldValue::Text(t), false) => Value::String(t),
            (FieldValue::List(items), false) => {
                Value::Array(items.into_iter().map(Value::String).collect())
            }
            (FieldValue::Rich(text), _) => serde_json::json!({"rich": text}),
        };
        replica.fields.insert(self.name.clone(), value);
    }

    fn received(&self, replica: &Replica) -> Option<FieldValue> {
        Some(match replica.fields.get(&self.name)? {
            Value::Null => FieldValue::Empty,
            Value::String(t) => FieldValue::Text(t.clone()),
            Value::Array(items) => {
                let mut items: Vec<String> = items
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect();
                items.sort();
                items.dedup();
                FieldValue::List(items)
            }
            Value::Object(o) => {
                if let Some(id) = o.get(USER) {
                    FieldValue::Text(id.as_str()?.to_owned())
                } else if let Some(Value::Array(ids)) = o.get(USERS) {
                    let mut ids: Vec<String> = ids
                        .iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect();
                    ids.sort();
                    ids.dedup();
                    FieldValue::List(ids)
                } else {
                    FieldValue::Rich(serde_json::from_value(o.get("rich")?.clone()).ok()?)
                }
            }
            _ => return None,
        })
    }

    fn translate(
        &self,
        received: &FieldValue,
        input: &crate::plan::PlanInput<'_>,
    ) -> Result<Option<(FieldValue, bool)>> {
        // Users are mapped on a remote connection; on a local one both
        // sides are one site.
        let (Some(matches), Some(Value::Object(o))) =
            (input.users, input.replica.fields.get(&self.name))
        else {
            return Ok(Some((received.clone(), true)));
        };
        if !o.contains_key(USER) && !o.contains_key(USERS) {
            return Ok(Some((received.clone(), true)));
        }
        let Some(side) = self.side_of(input.target.key.as_str()) else {
            return Ok(Some((received.clone(), true)));
        };
        let ours = |theirs: &str| -> Result<Option<String>> {
            let id = crate::model::UserId::new(theirs).ok();
            if let Some(found) = id.as_ref().and_then(|id| matches.get(id)) {
                return Ok(Some(found.id.as_str().to_owned()));
            }
            match side.fallback {
                Fallback::Keep => Ok(None),
                Fallback::Default => Ok(side.default.clone()),
                Fallback::AsIs | Fallback::Error => {
                    let who = input
                        .replica
                        .users
                        .iter()
                        .find(|p| p.id.as_str() == theirs)
                        .map_or_else(
                            || format!("user {theirs}"),
                            |p| match &p.email {
                                Some(email) => format!("{} <{email}>", p.display_name),
                                None => p.display_name.clone(),
                            },
                        );
                    Err(self.bad(
                        &side.field,
                        format!(
                            "{who} has no account here; map it in the connection's user \
                             mapping, or give the field a fallback of keep or default"
                        ),
                    ))
                }
            }
        };
        Ok(match received {
            FieldValue::Text(theirs) => ours(theirs)?.map(|id| (FieldValue::Text(id), true)),
            FieldValue::List(items) => {
                let mut out = Vec::new();
                for theirs in items {
                    match ours(theirs)? {
                        Some(id) => out.push(id),
                        None => return Ok(None),
                    }
                }
                out.sort();
                out.dedup();
                Some((FieldValue::List(out), true))
            }
            other => Some((other.clone(), true)),
        })
    }

    fn current(&self, issue: &Issue) -> FieldValue {
        self.side_of(issue.project.as_str())
            .map_or(FieldValue::Empty, |side| read(issue, &side.field))
    }

    fn incoming(&self, received: &FieldValue, target: &ProjectInfo) -> Result<Option<FieldValue>> {
        let Some(side) = self.side_of(target.key.as_str()).filter(|s| s.receive) else {
            return Ok(None);
        };
        let landed = if let Some(constant) = &side.constant {
            FieldValue::Text(constant.clone())
        } else {
            match received {
                FieldValue::Text(t) => match self.land(side, t)? {
                    Some(v) => FieldValue::Text(v),
                    None => return Ok(None),
                },
                FieldValue::List(items) => {
                    let mut out = Vec::new();
                    for item in items {
                        if let Some(v) = self.land(side, item)? {
                            out.push(v);
                        }
                    }
                    out.sort();
                    out.dedup();
                    FieldValue::List(out)
                }
                other => other.clone(),
            }
        };
        // A field that cannot be emptied (a priority, a reporter) keeps its
        // value when the other side has none.
        if landed == FieldValue::Empty
            && matches!(
                side.field.as_str(),
                field_ids::PRIORITY | field_ids::REPORTER
            )
        {
            return Ok(None);
        }
        // The value must fit the field here.
        let kind = kind_in(target, &side.field).ok_or_else(|| {
            self.bad(
                &side.field,
                format!("project {} has no such field", target.key),
            )
        })?;
        let mut probe = IssueUpdate::default();
        to_update(&side.field, kind, &landed, &mut probe)
            .map_err(|why| self.bad(&side.field, why))?;
        if let Some(meta) = target.field(&side.field).filter(|m| !m.options.is_empty()) {
            let values: Vec<&str> = match &landed {
                FieldValue::Text(t) => vec![t.as_str()],
                FieldValue::List(items) => items.iter().map(String::as_str).collect(),
                _ => Vec::new(),
            };
            if let Some(missing) = values.iter().find(|v| meta.option(v).is_none()) {
                return Err(self.bad(
                    &side.field,
                    format!(
                        "{missing:?} is not an option of {} in {}; options: {}",
                        meta.name,
                        target.key,
                        meta.options.join(", ")
                    ),
                ));
            }
        }
        Ok(Some(landed))
    }

    fn write(&self, _: &FieldValue, _: &mut IssueUpdate) {
        // Which field is written depends on the project: see `write_to`.
    }

    fn write_to(&self, value: &FieldValue, target: &ProjectInfo, update: &mut IssueUpdate) {
        let Some(side) = self.side_of(target.key.as_str()) else {
            return;
        };
        if let Some(kind) = kind_in(target, &side.field) {
            // `incoming` checked that the value fits.
            let _ = to_update(&side.field, kind, value, update);
        }
    }

    fn lands_only_when_empty(&self, target: &ProjectInfo) -> bool {
        self.side_of(target.key.as_str())
            .is_some_and(|s| s.only_when_empty)
    }

    fn target_field(&self, target: &ProjectInfo) -> Option<String> {
        let side = self.side_of(target.key.as_str())?;
        Some(
            target
                .field(&side.field)
                .map_or_else(|| side.field.clone(), |m| format!("{} ({})", m.name, m.id)),
        )
    }
}

#[cfg(test)]
#[path = "mapping_tests.rs"]
mod tests;
