//! Versions of a custom connection's rules: the [`RuleSpec`] a draft or a
//! published version holds, and a connection's [`RuleHistory`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::{Error, ErrorKind, Result};
use crate::model::UserId;
use crate::model::{FieldKind, ProjectInfo};

use super::{
    AttributionTemplate, Fallback, FieldRule, IssueOrigin, LabelsRule, LinksRule, ParentRule,
    RuleSet, StatusMapping, UnsyncedParent,
};

fn yes() -> bool {
    true
}

fn default_attribution() -> Option<AttributionTemplate> {
    Some(AttributionTemplate::default())
}

/// A custom rule set, described: what a draft or a published version holds.
///
/// ```
/// use twinsync::rules::RuleSpec;
///
/// let spec = RuleSpec::default().map_status("In Progress", "Doing").with_labels();
/// let rules = spec.build()?;
/// assert!(rules.rules().iter().any(|r| r.field() == "status"));
/// assert!(rules.rules().iter().any(|r| r.field() == "labels"));
/// # Ok::<(), twinsync::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RuleSpec {
    /// Their status → our status; empty: statuses are not synced.
    #[serde(default)]
    pub status_mapping: BTreeMap<String, String>,
    /// Whether labels are synced.
    #[serde(default)]
    pub labels: bool,
    /// Whether comments are synced.
    #[serde(default = "yes")]
    pub comments: bool,
    /// Whether attachments are synced.
    #[serde(default = "yes")]
    pub attachments: bool,
    /// The header of synced comments (`null`: none); absent: the default
    /// template `{author} commented on {key}`.
    #[serde(default = "default_attribution")]
    pub comment_attribution: Option<AttributionTemplate>,
    /// How a twin says where it came from; absent: a remote link (see
    /// [`IssueOrigin`]).
    #[serde(default)]
    pub issue_origin: IssueOrigin,
    /// Fields beyond Basic and where their values land ([`FieldRule`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldRule>,
    /// Values for the fields a workflow transition requires on the way to a
    /// mapped status (field id or name → value), when the sync's own values
    /// give none: `resolution = "Fixed"`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub transition_fields: BTreeMap<String, String>,
    /// Whether parents are synced (a sub-task's or an epic child's twin gets
    /// its parent's twin as parent), and what a child whose parent is not
    /// under sync does; absent: parents are not synced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parents: Option<UnsyncedParent>,
    /// Whether links between synced issues are mirrored between their twins.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub links: bool,
}

impl Default for RuleSpec {
    /// The Basic fields, as a custom rule set: comments and attachments on.
    fn default() -> Self {
        RuleSpec {
            status_mapping: BTreeMap::new(),
            labels: false,
            comments: true,
            attachments: true,
            comment_attribution: default_attribution(),
            issue_origin: IssueOrigin::RemoteLink,
            fields: Vec::new(),
            transition_fields: BTreeMap::new(),
            parents: None,
            links: false,
        }
    }
}

impl RuleSpec {
    /// Adds "their `theirs` → our `ours`" to the status mapping.
    pub fn map_status(mut self, theirs: impl Into<String>, ours: impl Into<String>) -> Self {
        self.status_mapping.insert(theirs.into(), ours.into());
        self
    }

    /// Syncs labels too.
    pub fn with_labels(mut self) -> Self {
        self.labels = true;
        self
    }

    /// Turns comment sync on or off.
    pub fn comments(mut self, on: bool) -> Self {
        self.comments = on;
        self
    }

    /// Turns attachment sync on or off.
    pub fn attachments(mut self, on: bool) -> Self {
        self.attachments = on;
        self
    }

    /// Sets the header of synced comments (`None`: no header).
    pub fn comment_attribution(mut self, template: Option<AttributionTemplate>) -> Self {
        self.comment_attribution = template;
        self
    }

    /// Sets how a twin says where it came from.
    pub fn issue_origin(mut self, origin: IssueOrigin) -> Self {
        self.issue_origin = origin;
        self
    }

    /// Gives `value` to field `field` (id or name) when a workflow
    /// transition on the way to a mapped status requires it.
    pub fn transition_field(mut self, field: impl Into<String>, value: impl Into<String>) -> Self {
        self.transition_fields.insert(field.into(), value.into());
        self
    }

    /// Syncs parents; a child whose parent is not under sync follows `unsynced`.
    pub fn with_parents(mut self, unsynced: UnsyncedParent) -> Self {
        self.parents = Some(unsynced);
        self
    }

    /// Mirrors links between synced issues.
    pub fn with_links(mut self) -> Self {
        self.links = true;
        self
    }

    /// Adds a field rule (replacing one of the same name).
    pub fn with_field(mut self, rule: FieldRule) -> Self {
        self.fields.retain(|f| f.name != rule.name);
        self.fields.push(rule);
        self
    }

    /// Reads a rule document in TOML.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidConfig`] naming the line and what was wrong.
    #[cfg(feature = "toml")]
    pub fn from_toml(text: &str) -> Result<Self> {
        toml::from_str(text)
            .map_err(|e| Error::new(ErrorKind::InvalidConfig, format!("rule document: {e}")))
    }

    /// Reads a rule document in JSON.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidConfig`] naming the line and what was wrong.
    pub fn from_json(text: &str) -> Result<Self> {
        serde_json::from_str(text)
            .map_err(|e| Error::new(ErrorKind::InvalidConfig, format!("rule document: {e}")))
    }

    /// Checks the rules against the metadata of the connection's projects
    /// this node sees (`projects`), and returns them with field names
    /// resolved to ids. Each problem is one line naming the rule, the field
    /// and the value: a project the rule names that is not the connection's,
    /// a field the project lacks or that is not on its edit screen, a field
    /// of a kind rules do not map, a mapped, default or constant value that
    /// is not an option of the field, a `default` fallback without a default,
    /// a field some issue type requires on create that no rule fills.
    /// A project without metadata (its tracker tells nothing) is not checked.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`] listing every problem.
    pub fn check(&self, projects: &[ProjectInfo]) -> Result<Self> {
        let mut checked = self.clone();
        let mut problems = Vec::new();
        for rule in &mut checked.fields {
            let name = rule.name.clone();
            for (key, side) in &mut rule.sides {
                let Some(project) = projects.iter().find(|p| p.key.as_str() == key) else {
                    // A remote connection's other project is the other
                    // node's to check.
                    continue;
                };
                let problem = |what: String| {
                    format!(
                        "field rule {name:?}, project {key}, field {}: {what}",
                        side.field
                    )
                };
                if project.fields.is_empty()
                    && super::mapping::standard_kind(&side.field).is_none()
                    && !side.field.starts_with("customfield_")
                {
                    problems.push(problem(
                        "unknown field (the tracker lists no field metadata)".into(),
                    ));
                    continue;
                }
                if project.fields.is_empty() {
                    continue;
                }
                let meta = project
                    .field(&side.field)
                    .or_else(|| project.field_named(&side.field))
                    .cloned();
                let Some(meta) = meta else {
                    if super::mapping::standard_kind(&side.field).is_none() {
                        let known: Vec<String> = project
                            .fields
                            .iter()
                            .map(|f| format!("{} ({})", f.name, f.id))
                            .collect();
                        problems.push(problem(format!(
                            "no such field in {key}; fields: {}",
                            known.join(", ")
                        )));
                    }
                    continue;
                };
                side.field.clone_from(&meta.id);
                let problem = |what: String| {
                    format!(
                        "field rule {name:?}, project {key}, field {} ({}): {what}",
                        meta.name, meta.id
                    )
                };
                if meta.kind == FieldKind::Issue {
                    problems.push(problem(format!(
                        "a {} field is not mapped by field rules",
                        meta.kind
                    )));
                    continue;
                }
                if side.receive && !meta.on_edit {
                    problems.push(problem(
                        "not on the edit screen, so values cannot land in it".into(),
                    ));
                }
                if !meta.options.is_empty() {
                    let values = side
                        .map
                        .values()
                        .chain(side.default.iter())
                        .chain(side.constant.iter());
                    for value in values {
                        if meta.option(value).is_none() {
                            problems.push(problem(format!(
                                "{value:?} is not an option; options: {}",
                                meta.options.join(", ")
                            )));
                        }
                    }
                }
                if side.fallback == Fallback::Default && side.default.is_none() {
                    problems.push(problem("fallback \"default\" needs a default value".into()));
                }
            }
        }
        for project in projects {
            problems.extend(checked.uncovered(project));
        }
        if problems.is_empty() {
            Ok(checked)
        } else {
            Err(Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "the rules do not fit the projects:\n- {}",
                    problems.join("\n- ")
                ),
            ))
        }
    }

    /// One problem for each field `project` requires to create some issue
    /// type that no rule lands a value in: twins of those types could not
    /// be created there. (Field names are resolved to ids already.)
    fn uncovered(&self, project: &ProjectInfo) -> Vec<String> {
        let key = project.key.as_str();
        let filled = |id: &str| {
            self.fields.iter().any(|rule| {
                rule.sides
                    .get(key)
                    .is_some_and(|side| side.receive && side.field == id)
            }) || (id == crate::model::field_ids::PARENT && self.parents.is_some())
                || (id == "labels" && self.labels)
        };
        project
            .fields
            .iter()
            .filter(|meta| meta.required_somewhere() && !filled(&meta.id))
            .map(|meta| {
                let types = match meta.required {
                    true => "every issue type".to_owned(),
                    false => meta.required_for.join(", "),
                };
                format!(
                    "project {key}, field {} ({}): required to create {types}, and no rule \
                     lands a value in it, so twins of such issues cannot be created in {key}; \
                     add a field rule that fills it (a constant, or a map with a default)",
                    meta.name, meta.id
                )
            })
            .collect()
    }

    /// The rule set this describes.
    ///
    /// # Errors
    ///
    /// None today; a future rule that cannot be built would say why.
    pub fn build(&self) -> Result<RuleSet> {
        let mut rules = RuleSet::custom();
        if !self.status_mapping.is_empty() {
            rules.add(StatusMapping::new(self.status_mapping.clone()))?;
        }
        if self.labels {
            rules.add(LabelsRule)?;
        }
        if let Some(unsynced) = self.parents {
            rules.add(ParentRule::new(unsynced))?;
        }
        if self.links {
            rules.add(LinksRule)?;
        }
        rules.set_comments(self.comments)?;
        rules.set_attachments(self.attachments)?;
        rules.set_comment_attribution(self.comment_attribution.clone())?;
        rules.set_issue_origin(self.issue_origin.clone())?;
        rules.set_transition_fields(self.transition_fields.clone())?;
        for field in &self.fields {
            if field.name.is_empty()
                || matches!(
                    field.name.as_str(),
                    "summary"
                        | "description"
                        | "issue_type"
                        | "status"
                        | "labels"
                        | "parent"
                        | "links"
                )
            {
                return Err(Error::new(
                    ErrorKind::InvalidInput,
                    format!(
                        "field rule {:?}: the name must be new and not empty (Basic fields are synced by their own rules)",
                        field.name
                    ),
                ));
            }
            rules.add(field.clone())?;
        }
        Ok(rules)
    }
}

/// One published version of a connection's rules.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RuleVersion {
    /// 1, 2, 3, … in publishing order; numbers are never reused.
    pub number: u32,
    /// The rules.
    pub spec: RuleSpec,
    /// When it was published.
    #[serde(with = "time::serde::rfc3339")]
    pub published_at: OffsetDateTime,
    /// Who published it.
    pub published_by: UserId,
}

/// The rule versions of a connection on this node.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RuleHistory {
    /// The draft being edited, not in use yet.
    pub draft: Option<RuleSpec>,
    /// Every published version, oldest first.
    pub versions: Vec<RuleVersion>,
    /// The version in use.
    pub active: Option<u32>,
}

impl RuleHistory {
    /// The version in use.
    pub fn active_version(&self) -> Option<&RuleVersion> {
        let active = self.active?;
        self.versions.iter().find(|v| v.number == active)
    }
}

#[cfg(test)]
mod tests {
    use super::RuleSpec;
    use crate::model::{FieldKind, FieldMeta, IssueType, ProjectInfo};
    use crate::rules::{FieldRule, FieldSide, UnsyncedParent};
    use crate::testkit::ids as lit;

    /// DEV, whose Bugs need a Found-in version and whose Sub-tasks need a
    /// parent; Tasks need neither.
    fn dev() -> ProjectInfo {
        ProjectInfo {
            key: lit::project("DEV"),
            name: "Development".into(),
            issue_types: ["Task", "Bug", "Sub-task"]
                .iter()
                .enumerate()
                .map(|(i, name)| IssueType {
                    id: (i + 1).to_string(),
                    name: (*name).to_owned(),
                })
                .collect(),
            default_issue_type: None,
            fields: vec![
                FieldMeta::new("customfield_10040", "Found in", FieldKind::Text)
                    .required_for(["Bug"]),
                FieldMeta::new("parent", "Parent", FieldKind::Issue).required_for(["Sub-task"]),
                FieldMeta::new("customfield_10050", "Notes", FieldKind::Text),
            ],
        }
    }

    #[test]
    fn a_field_some_issue_type_requires_must_be_filled_by_a_rule() {
        let err = RuleSpec::default().check(&[dev()]).unwrap_err();
        let msg = err.to_string();
        for want in [
            "project DEV, field Found in (customfield_10040): required to create Bug, and no rule lands a value in it",
            "project DEV, field Parent (parent): required to create Sub-task",
        ] {
            assert!(msg.contains(want), "{want:?} in {msg}");
        }
        assert!(!msg.contains("Notes"), "an optional field is fine: {msg}");

        // A rule landing a value in each (by the field's name) covers them.
        let covered = RuleSpec::default()
            .with_parents(UnsyncedParent::Bring)
            .with_field(
                FieldRule::new("found")
                    .side("SUP", FieldSide::new("Version"))
                    .side("DEV", FieldSide::new("Found in")),
            );
        covered.check(&[dev()]).unwrap();

        // A side that only sends does not.
        let send_only = RuleSpec::default()
            .with_parents(UnsyncedParent::Bring)
            .with_field(
                FieldRule::new("found").side("DEV", FieldSide::new("Found in").send_only()),
            );
        let msg = send_only.check(&[dev()]).unwrap_err().to_string();
        assert!(msg.contains("customfield_10040"), "{msg}");
    }
}
