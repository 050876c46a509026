//! The Basic rules: summary, description and issue type.

use crate::error::{Error, ErrorKind, Result};
use crate::model::{Issue, ProjectInfo};
use crate::replica::{FieldValue, Replica};
use crate::tracker::IssueUpdate;

use super::SyncRule;

/// Syncs the summary as it is.
#[derive(Clone, Copy, Debug, Default)]
pub struct SummaryRule;

impl SyncRule for SummaryRule {
    fn field(&self) -> &str {
        "summary"
    }

    fn outgoing(&self, issue: &Issue, replica: &mut Replica) {
        replica.summary = issue.summary.clone();
    }

    fn received(&self, replica: &Replica) -> Option<FieldValue> {
        Some(FieldValue::Text(replica.summary.clone()))
    }

    fn current(&self, issue: &Issue) -> FieldValue {
        FieldValue::Text(issue.summary.clone())
    }

    fn incoming(&self, received: &FieldValue, _: &ProjectInfo) -> Result<Option<FieldValue>> {
        Ok(Some(received.clone()))
    }

    fn write(&self, value: &FieldValue, update: &mut IssueUpdate) {
        if let FieldValue::Text(s) = value {
            update.summary = Some(s.clone());
        }
    }
}

/// Syncs the description as it is (ADF documents losslessly; images name
/// attachments by file name and size, see [`media_by_file`](super::media_by_file)).
#[derive(Clone, Copy, Debug, Default)]
pub struct DescriptionRule;

impl SyncRule for DescriptionRule {
    fn field(&self) -> &str {
        "description"
    }

    fn outgoing(&self, issue: &Issue, replica: &mut Replica) {
        replica.description = super::media_by_file(&issue.description, &issue.attachments);
    }

    fn received(&self, replica: &Replica) -> Option<FieldValue> {
        Some(FieldValue::Rich(replica.description.clone()))
    }

    fn current(&self, issue: &Issue) -> FieldValue {
        FieldValue::Rich(super::media_by_file(&issue.description, &issue.attachments))
    }

    fn incoming(&self, received: &FieldValue, _: &ProjectInfo) -> Result<Option<FieldValue>> {
        Ok(Some(received.clone()))
    }

    fn write(&self, value: &FieldValue, update: &mut IssueUpdate) {
        if let FieldValue::Rich(r) = value {
            update.description = Some(r.clone());
        }
    }
}

/// Mirrors the issue type by name (see [`resolve_issue_type`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct IssueTypeRule;

impl SyncRule for IssueTypeRule {
    fn field(&self) -> &str {
        "issue_type"
    }

    fn outgoing(&self, issue: &Issue, replica: &mut Replica) {
        replica.issue_type = issue.issue_type.clone();
    }

    fn received(&self, replica: &Replica) -> Option<FieldValue> {
        Some(FieldValue::Text(replica.issue_type.clone()))
    }

    fn current(&self, issue: &Issue) -> FieldValue {
        FieldValue::Text(issue.issue_type.clone())
    }

    fn incoming(&self, received: &FieldValue, target: &ProjectInfo) -> Result<Option<FieldValue>> {
        let FieldValue::Text(wanted) = received else {
            return Ok(None);
        };
        resolve_issue_type(wanted, target).map(|t| Some(FieldValue::Text(t)))
    }

    fn write(&self, value: &FieldValue, update: &mut IssueUpdate) {
        if let FieldValue::Text(s) = value {
            update.issue_type = Some(s.clone());
        }
    }
}

/// The issue type to use in `target` for an issue of type `wanted`: the type of
/// the same name (case-insensitively, spelled as `target` spells it); else the
/// project's default type; else `Task`.
///
/// # Errors
///
/// [`ErrorKind::InvalidConfig`] when none of these exists, naming the project,
/// the wanted type and the available ones.
///
/// ```
/// use twinsync::model::{IssueType, ProjectInfo};
/// use twinsync::rules::resolve_issue_type;
///
/// let dev = ProjectInfo {
///     key: "DEV".parse()?,
///     name: "Development".into(),
///     issue_types: ["Bug", "Task"].iter().map(|n| IssueType { id: n.to_string(), name: n.to_string() }).collect(),
///     default_issue_type: None,
///     fields: Vec::new(),
/// };
/// assert_eq!(resolve_issue_type("bug", &dev)?, "Bug");
/// assert_eq!(resolve_issue_type("Epic", &dev)?, "Task");
/// # Ok::<(), twinsync::Error>(())
/// ```
pub fn resolve_issue_type(wanted: &str, target: &ProjectInfo) -> Result<String> {
    if let Some(t) = target.issue_type(wanted) {
        return Ok(t.name.clone());
    }
    if let Some(t) = target
        .default_issue_type
        .as_deref()
        .and_then(|d| target.issue_type(d))
    {
        return Ok(t.name.clone());
    }
    if let Some(t) = target.issue_type("Task") {
        return Ok(t.name.clone());
    }
    let default = match &target.default_issue_type {
        Some(d) => format!("its default type {d:?} is not available"),
        None => "no default type is set".to_owned(),
    };
    Err(Error::new(
        ErrorKind::InvalidConfig,
        format!(
            "issue type {wanted:?} is not in project {}, {default} and it has no Task type; available: {}",
            target.key,
            target.issue_type_names().join(", ")
        ),
    )
    .with_context("project", &target.key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::IssueType;
    use crate::testkit::ids as lit;

    fn project(types: &[&str], default: Option<&str>) -> ProjectInfo {
        ProjectInfo {
            key: lit::project("DEV"),
            name: "Development".into(),
            issue_types: types
                .iter()
                .map(|n| IssueType {
                    id: (*n).into(),
                    name: (*n).into(),
                })
                .collect(),
            default_issue_type: default.map(Into::into),
            fields: Vec::new(),
        }
    }

    #[test]
    fn issue_type_fallback_table() {
        type Case<'a> = (
            &'a str,
            &'a [&'a str],
            Option<&'a str>,
            Result<&'a str, &'a str>,
        );
        let cases: &[Case<'_>] = &[
            ("Bug", &["Bug", "Task"], None, Ok("Bug")),
            ("bug", &["Bug", "Task"], None, Ok("Bug")),
            (
                "Epic",
                &["Bug", "Story", "Task"],
                Some("Story"),
                Ok("Story"),
            ),
            ("Epic", &["Bug", "Task"], None, Ok("Task")),
            ("Epic", &["Bug", "task"], None, Ok("task")),
            ("Epic", &["Bug", "Task"], Some("Gone"), Ok("Task")),
            (
                "Epic",
                &["Bug", "Story"],
                None,
                Err("no default type is set"),
            ),
            (
                "Epic",
                &["Bug"],
                Some("Gone"),
                Err("its default type \"Gone\" is not available"),
            ),
        ];
        for (wanted, types, default, want) in cases {
            let got = resolve_issue_type(wanted, &project(types, *default));
            match (got, want) {
                (Ok(got), Ok(want)) => assert_eq!(&got, want, "{wanted} in {types:?}"),
                (Err(err), Err(why)) => {
                    let text = err.to_string();
                    assert_eq!(err.kind(), ErrorKind::InvalidConfig);
                    assert!(text.contains(why), "{text}");
                    assert!(
                        text.contains(&format!("{wanted:?}")) && text.contains("DEV"),
                        "{text}"
                    );
                    assert!(
                        text.contains(&types.join(", ")),
                        "lists available types: {text}"
                    );
                }
                (got, want) => panic!("{wanted} in {types:?}: got {got:?}, want {want:?}"),
            }
        }
    }
}
