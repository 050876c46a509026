//! Jira's JSON shapes to twinsync's model, for both REST API versions.
//!
//! Everything here reads untrusted JSON: a missing or mistyped field is a
//! [`JiraError::Malformed`] naming it, never a panic.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use time::format_description::FormatItem;
use time::macros::format_description;
use time::{Date, OffsetDateTime};

use super::error::JiraError;
use super::markup;
use crate::model::{
    AttachmentMeta, Comment, Issue, IssueFields, IssueLink, IssueRef, IssueType, LinkDirection,
    RichText, UserId, UserRef, Visibility,
};

/// Which REST API an adapter speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flavor {
    /// Jira Cloud, REST v3: rich text as ADF documents.
    Cloud,
    /// Jira Data Center / Server, REST v2: rich text as wiki markup.
    DataCenter,
}

impl Flavor {
    /// The API version in paths: `3` or `2`.
    pub(crate) fn version(self) -> &'static str {
        match self {
            Flavor::Cloud => "3",
            Flavor::DataCenter => "2",
        }
    }

    /// A description or comment body as this API wants it.
    pub(crate) fn body_to_json(self, text: &RichText) -> Value {
        let doc = markup::normalize_adf(&text.to_adf());
        match self {
            Flavor::Cloud => doc,
            Flavor::DataCenter => Value::String(markup::adf_to_wiki(&doc)),
        }
    }

    /// A description or comment body from this API; always an ADF document, so
    /// that Cloud and Data Center twins compare alike.
    pub(crate) fn body_from_json(self, value: &Value) -> RichText {
        let doc = match (self, value) {
            (_, Value::Null) => markup::empty_doc(),
            (Flavor::Cloud, Value::Object(_)) => value.clone(),
            (_, Value::String(text)) => markup::wiki_to_adf(text),
            _ => markup::empty_doc(),
        };
        RichText::adf(doc).unwrap_or_else(|_| RichText::Adf(markup::empty_doc()))
    }
}

fn missing(what: &'static str, field: &str) -> JiraError {
    JiraError::malformed(
        what,
        format!("field {field:?} is missing or not of the expected type"),
    )
}

/// An id or key field (a string or a number), checked as twinsync's ids are.
pub(crate) fn id_field<T: std::str::FromStr<Err = crate::error::Error>>(
    v: &Value,
    field: &str,
    what: &'static str,
) -> Result<T, JiraError> {
    parse_id(&str_field(v, field, what)?, what)
}

/// An id or key Jira sent, checked as twinsync's ids are.
pub(crate) fn parse_id<T: std::str::FromStr<Err = crate::error::Error>>(
    text: &str,
    what: &'static str,
) -> Result<T, JiraError> {
    text.parse()
        .map_err(|e: crate::error::Error| JiraError::malformed(what, e.message()))
}

/// A string field, or a number given where Jira usually sends a string.
pub(crate) fn str_field(v: &Value, field: &str, what: &'static str) -> Result<String, JiraError> {
    match v.get(field) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Number(n)) => Ok(n.to_string()),
        _ => Err(missing(what, field)),
    }
}

const JIRA_TIME: &[FormatItem<'_>] = format_description!(
    "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond][offset_hour sign:mandatory][offset_minute]"
);
const JIRA_TIME_NO_FRACTION: &[FormatItem<'_>] = format_description!(
    "[year]-[month]-[day]T[hour]:[minute]:[second][offset_hour sign:mandatory][offset_minute]"
);

/// Jira's timestamps: `2026-01-31T09:15:00.000+0000`, or RFC 3339.
pub(crate) fn parse_time(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, JIRA_TIME)
        .or_else(|_| OffsetDateTime::parse(text, JIRA_TIME_NO_FRACTION))
        .or_else(|_| OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339))
        .ok()
}

/// Formats a time the way Jira does (milliseconds, `+0000`).
#[cfg(any(test, feature = "jira-emulator"))]
pub(crate) fn format_time(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}+0000",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.millisecond()
    )
}

fn time_field(v: &Value, field: &str, what: &'static str) -> Result<OffsetDateTime, JiraError> {
    v.get(field)
        .and_then(Value::as_str)
        .and_then(parse_time)
        .ok_or_else(|| missing(what, field))
}

/// A user object: Cloud's `accountId`, Data Center's `name` or `key`.
pub(crate) fn user(v: &Value) -> Result<UserRef, JiraError> {
    let id = ["accountId", "name", "key"]
        .iter()
        .find_map(|f| v.get(*f).and_then(Value::as_str))
        .ok_or_else(|| missing("a user", "accountId"))?;
    let name = v.get("displayName").and_then(Value::as_str).unwrap_or(id);
    Ok(UserRef::new(parse_id(id, "a user")?, name))
}

/// A user object, or an anonymous placeholder when Jira hides it.
fn user_or_unknown(v: Option<&Value>) -> UserRef {
    v.and_then(|u| user(u).ok())
        .unwrap_or_else(|| UserRef::new(UserId::unknown(), "unknown user"))
}

/// Entity properties in either of Jira's shapes: an object (issue `properties`)
/// or an array of `{key, value}` (comments with `expand=properties`).
pub(crate) fn properties(v: Option<&Value>) -> BTreeMap<String, Value> {
    match v {
        Some(Value::Object(map)) => map.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|p| Some((p.get("key")?.as_str()?.to_owned(), p.get("value")?.clone())))
            .collect(),
        _ => BTreeMap::new(),
    }
}

fn numeric_order(id: &str) -> (usize, &str) {
    (id.len(), id)
}

/// One comment.
pub(crate) fn comment(v: &Value, flavor: Flavor) -> Result<Comment, JiraError> {
    let created = time_field(v, "created", "a comment")?;
    let restricted = v.get("visibility").is_some_and(|x| !x.is_null())
        || v.get("jsdPublic").and_then(Value::as_bool) == Some(false);
    Ok(Comment {
        id: id_field(v, "id", "a comment")?,
        author: user_or_unknown(v.get("author")),
        body: flavor.body_from_json(v.get("body").unwrap_or(&Value::Null)),
        created,
        updated: time_field(v, "updated", "a comment").unwrap_or(created),
        visibility: if restricted {
            Visibility::Internal
        } else {
            Visibility::Public
        },
        properties: properties(v.get("properties")),
    })
}

/// Comments oldest first (ties broken by id).
pub(crate) fn sort_comments(comments: &mut [Comment]) {
    comments.sort_by(|a, b| {
        a.created
            .cmp(&b.created)
            .then_with(|| numeric_order(a.id.as_str()).cmp(&numeric_order(b.id.as_str())))
    });
}

/// One attachment's metadata.
pub(crate) fn attachment(v: &Value) -> Result<AttachmentMeta, JiraError> {
    Ok(AttachmentMeta {
        id: id_field(v, "id", "an attachment")?,
        file_name: str_field(v, "filename", "an attachment")?,
        mime_type: v
            .get("mimeType")
            .and_then(Value::as_str)
            .unwrap_or("application/octet-stream")
            .to_owned(),
        size: v.get("size").and_then(Value::as_u64).unwrap_or(0),
        sha256: None,
        created: time_field(v, "created", "an attachment")?,
        author: user_or_unknown(v.get("author")),
    })
}

/// The attachments of an issue's `fields`, oldest first.
pub(crate) fn attachments(fields: &Value) -> Result<Vec<AttachmentMeta>, JiraError> {
    let mut out = fields
        .get("attachment")
        .and_then(Value::as_array)
        .map(|items| items.iter().map(attachment).collect::<Result<Vec<_>, _>>())
        .transpose()?
        .unwrap_or_default();
    out.sort_by(|a, b| {
        a.created
            .cmp(&b.created)
            .then_with(|| numeric_order(a.id.as_str()).cmp(&numeric_order(b.id.as_str())))
    });
    Ok(out)
}

/// The comments embedded in an issue's `comment` field, and whether that is all of them.
pub(crate) fn embedded_comments(
    fields: &Value,
    flavor: Flavor,
) -> Result<(Vec<Comment>, bool), JiraError> {
    let Some(page) = fields.get("comment") else {
        return Ok((Vec::new(), false));
    };
    let items = page.get("comments").and_then(Value::as_array);
    let mut comments = items
        .into_iter()
        .flatten()
        .map(|c| comment(c, flavor))
        .collect::<Result<Vec<_>, _>>()?;
    let total = page
        .get("total")
        .and_then(Value::as_u64)
        .unwrap_or(comments.len() as u64);
    let complete = total <= comments.len() as u64;
    sort_comments(&mut comments);
    Ok((comments, complete))
}

/// The issue fields the adapters ask for.
pub(crate) const ISSUE_FIELDS: &str = "summary,description,issuetype,project,labels,status,\
     creator,created,updated,attachment,comment,priority,assignee,reporter,duedate,components,\
     fixVersions,parent,issuelinks";

/// One issue; `comments` replaces the embedded ones when given.
pub(crate) fn issue(
    v: &Value,
    flavor: Flavor,
    comments: Option<Vec<Comment>>,
) -> Result<Issue, JiraError> {
    const WHAT: &str = "an issue";
    let fields = v.get("fields").ok_or_else(|| missing(WHAT, "fields"))?;
    let name_of = |field: &str| {
        fields
            .get(field)
            .and_then(|f| f.get("name"))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let mut labels: Vec<String> = fields
        .get("labels")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect();
    labels.sort();
    let comments = match comments {
        Some(c) => c,
        None => embedded_comments(fields, flavor)?.0,
    };
    let created = time_field(fields, "created", WHAT)?;
    Ok(Issue {
        id: id_field(v, "id", WHAT)?,
        key: id_field(v, "key", WHAT)?,
        project: parse_id(
            fields
                .get("project")
                .and_then(|p| p.get("key"))
                .and_then(Value::as_str)
                .ok_or_else(|| missing(WHAT, "project"))?,
            WHAT,
        )?,
        issue_type: name_of("issuetype").ok_or_else(|| missing(WHAT, "issuetype"))?,
        summary: fields
            .get("summary")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        description: flavor.body_from_json(fields.get("description").unwrap_or(&Value::Null)),
        comments,
        attachments: attachments(fields)?,
        labels,
        status: name_of("status").unwrap_or_default(),
        fields: standard_fields(fields),
        creator: fields.get("creator").and_then(|u| user(u).ok()),
        created,
        updated: time_field(fields, "updated", WHAT).unwrap_or(created),
        properties: properties(v.get("properties")),
    })
}

/// The standard fields beyond Basic that an issue's `fields` hold: priority,
/// assignee, reporter, due date, components, fix versions, parent and issue
/// links. What is absent or unreadable is left empty. (Custom fields need
/// the site's field list to be read by kind.)
pub(crate) fn standard_fields(fields: &Value) -> IssueFields {
    let names = |field: &str| -> Vec<String> {
        let mut names: Vec<String> = fields
            .get(field)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|v| v.get("name").and_then(Value::as_str))
            .map(str::to_owned)
            .collect();
        names.sort();
        names.dedup();
        names
    };
    let issue_ref = |v: &Value| -> Option<IssueRef> {
        Some(IssueRef::new(
            parse_id(v.get("id")?.as_str()?, "an issue").ok()?,
            parse_id(v.get("key")?.as_str()?, "an issue").ok()?,
        ))
    };
    let mut links: Vec<IssueLink> = fields
        .get("issuelinks")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|link| {
            let (direction, other) = match (link.get("outwardIssue"), link.get("inwardIssue")) {
                (Some(other), _) => (LinkDirection::Outward, other),
                (None, Some(other)) => (LinkDirection::Inward, other),
                (None, None) => return None,
            };
            Some(IssueLink {
                id: link.get("id")?.as_str()?.to_owned(),
                link_type: link.get("type")?.get("name")?.as_str()?.to_owned(),
                direction,
                issue: issue_ref(other)?,
            })
        })
        .collect();
    links.sort();
    IssueFields {
        priority: fields
            .get("priority")
            .and_then(|p| p.get("name"))
            .and_then(Value::as_str)
            .map(str::to_owned),
        assignee: fields.get("assignee").and_then(|u| user(u).ok()),
        reporter: fields.get("reporter").and_then(|u| user(u).ok()),
        due_date: fields
            .get("duedate")
            .and_then(Value::as_str)
            .and_then(|d| Date::parse(d, format_description!("[year]-[month]-[day]")).ok()),
        components: names("components"),
        fix_versions: names("fixVersions"),
        parent: fields.get("parent").and_then(issue_ref),
        links,
        custom: BTreeMap::new(),
    }
}

/// The creatable issue types of a createmeta answer (Cloud's `issueTypes`,
/// Data Center's `values`); sub-task types are left out.
pub(crate) fn issue_types(v: &Value) -> Vec<IssueType> {
    let items = v
        .get("issueTypes")
        .or_else(|| v.get("values"))
        .and_then(Value::as_array);
    items
        .into_iter()
        .flatten()
        .filter(|t| t.get("subtask").and_then(Value::as_bool) != Some(true))
        .filter_map(|t| {
            Some(IssueType {
                id: str_field(t, "id", "an issue type").ok()?,
                name: t.get("name")?.as_str()?.to_owned(),
            })
        })
        .collect()
}

/// The `properties` array of a create request.
pub(crate) fn property_list(props: &BTreeMap<String, Value>) -> Value {
    Value::Array(
        props
            .iter()
            .map(|(k, v)| json!({"key": k, "value": v}))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jira_times_parse_in_all_their_shapes() {
        let want = time::macros::datetime!(2026-01-31 09:15:00.123 UTC);
        assert_eq!(parse_time("2026-01-31T09:15:00.123+0000"), Some(want));
        assert_eq!(parse_time("2026-01-31T10:15:00.123+0100"), Some(want));
        assert_eq!(parse_time("2026-01-31T09:15:00.123Z"), Some(want));
        assert_eq!(parse_time(&format_time(want)), Some(want));
        assert_eq!(parse_time("yesterday"), None);
    }

    #[test]
    fn issue_maps_fields_and_sorts_comments() {
        let v = json!({
            "id": "10001", "key": "SUP-1",
            "fields": {
                "summary": "Printer on fire",
                "description": null,
                "issuetype": {"id": "1", "name": "Bug"},
                "project": {"key": "SUP"},
                "labels": ["b", "a"],
                "status": {"name": "Open"},
                "created": "2026-01-01T00:00:00.000+0000",
                "updated": "2026-01-02T00:00:00.000+0000",
                "comment": {"total": 2, "comments": [
                    {"id": "11", "body": "second", "created": "2026-01-01T00:02:00.000+0000", "author": {"name": "ann"}},
                    {"id": "9", "body": "first", "created": "2026-01-01T00:01:00.000+0000", "visibility": {"type": "role", "value": "Staff"}}
                ]},
                "attachment": []
            },
            "properties": {"twinsync.marker": {"op": 1}}
        });
        let issue = issue(&v, Flavor::DataCenter, None).unwrap();
        assert_eq!(issue.labels, ["a", "b"]);
        assert_eq!(issue.comments[0].body.to_plain_text(), "first");
        assert_eq!(issue.comments[0].visibility, Visibility::Internal);
        assert_eq!(issue.comments[1].author.id.as_str(), "ann");
        assert_eq!(issue.properties["twinsync.marker"], json!({"op": 1}));
        assert!(issue.description.is_empty());
    }

    #[test]
    fn standard_fields_beyond_basic_are_read_and_bad_ones_left_empty() {
        let v = json!({
            "priority": {"id": "2", "name": "High"},
            "assignee": {"accountId": "a-1", "displayName": "Ada"},
            "reporter": null,
            "duedate": "2026-12-24",
            "components": [{"name": "Printers"}, {"name": "Network"}, {"id": "no name"}],
            "fixVersions": [{"name": "2.0"}],
            "parent": {"id": "10000", "key": "DEV-1", "fields": {"summary": "Epic"}},
            "issuelinks": [
                {"id": "7", "type": {"name": "Blocks", "inward": "is blocked by", "outward": "blocks"},
                 "outwardIssue": {"id": "10005", "key": "DEV-5"}},
                {"id": "8", "type": {"name": "Relates"}, "inwardIssue": {"id": "10006", "key": "DEV-6"}},
                {"id": "9", "type": {"name": "Relates"}}
            ]
        });
        let f = standard_fields(&v);
        assert_eq!(f.priority.as_deref(), Some("High"));
        assert_eq!(
            f.assignee.as_ref().map(|u| u.display_name.as_str()),
            Some("Ada")
        );
        assert_eq!(f.reporter, None);
        assert_eq!(f.due_date, Some(time::macros::date!(2026 - 12 - 24)));
        assert_eq!(f.components, ["Network", "Printers"]);
        assert_eq!(f.fix_versions, ["2.0"]);
        assert_eq!(f.parent.as_ref().map(|p| p.key.as_str()), Some("DEV-1"));
        let links: Vec<_> = f
            .links
            .iter()
            .map(|l| {
                (
                    l.id.as_str(),
                    l.link_type.as_str(),
                    l.direction,
                    l.issue.key.as_str(),
                )
            })
            .collect();
        assert_eq!(
            links,
            [
                ("7", "Blocks", LinkDirection::Outward, "DEV-5"),
                ("8", "Relates", LinkDirection::Inward, "DEV-6")
            ]
        );
        let bad =
            standard_fields(&json!({"duedate": "24/12/2026", "priority": 3, "parent": {"id": 1}}));
        assert!(bad.is_empty(), "{bad:?}");
    }

    #[test]
    fn malformed_issues_are_errors_not_panics() {
        for v in [
            json!(null),
            json!({"id": 1}),
            json!({"id": "1", "key": "A-1", "fields": {"created": 5}}),
            json!({"id": "1", "key": "A-1", "fields": {"created": "2026-01-01T00:00:00.000+0000", "project": {"key": "A"}, "issuetype": {}}}),
        ] {
            assert!(issue(&v, Flavor::Cloud, None).is_err(), "{v}");
        }
        assert!(comment(&json!({"id": "1"}), Flavor::Cloud).is_err());
        assert!(attachment(&json!([])).is_err());
    }

    #[test]
    fn both_property_shapes_are_read() {
        let from_array = properties(Some(&json!([{"key": "a", "value": 1}, {"bad": true}])));
        assert_eq!(from_array.get("a"), Some(&json!(1)));
        assert_eq!(from_array.len(), 1);
        assert_eq!(
            properties(Some(&json!({"b": [2]}))).get("b"),
            Some(&json!([2]))
        );
    }

    /// Any JSON at all, with the field names Jira uses, so the mappers see
    /// near-misses as well as garbage.
    fn json() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let names = prop::sample::select(vec![
            "id",
            "key",
            "fields",
            "summary",
            "description",
            "issuetype",
            "project",
            "name",
            "labels",
            "status",
            "created",
            "updated",
            "comment",
            "comments",
            "total",
            "body",
            "author",
            "accountId",
            "attachment",
            "filename",
            "size",
            "properties",
            "value",
            "issueTypes",
            "values",
            "subtask",
            "type",
            "content",
            "text",
            "visibility",
        ]);
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            Just(json!("2026-01-01T00:00:00.000+0000")),
            ".{0,8}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map(names.clone(), inner, 0..6).prop_map(
                    |m| Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
                ),
            ]
        })
    }

    proptest::proptest! {
        #[test]
        fn nothing_jira_sends_makes_the_mappers_panic(v in json()) {
            for flavor in [Flavor::Cloud, Flavor::DataCenter] {
                let _ = issue(&v, flavor, None);
                let _ = comment(&v, flavor);
                let _ = embedded_comments(&v, flavor);
                let _ = flavor.body_from_json(&v);
            }
            let _ = attachment(&v);
            let _ = attachments(&v);
            let _ = issue_types(&v);
            let _ = user(&v);
            let _ = properties(Some(&v));
            let _ = crate::tracker::jira::error::error_messages(v.to_string().as_bytes());
            let _ = markup::adf_to_wiki(&v);
        }

        #[test]
        fn no_text_makes_the_wiki_parser_panic(text in "\\PC{0,64}") {
            let adf = markup::wiki_to_adf(&text);
            let _ = markup::adf_to_wiki(&adf);
        }
    }
}
