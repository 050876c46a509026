//! Jira's JSON shapes, rendered from the emulator's state.

use serde_json::{Map, Value, json};

use crate::model::{AttachmentMeta, Comment, Issue, ProjectInfo, RichText, UserRef};
use crate::tracker::jira::mapping::format_time;
use crate::tracker::jira::markup;

/// What a response is rendered for: the base URL and the API version.
#[derive(Clone, Debug)]
pub(crate) struct Ctx {
    pub base: String,
    pub v2: bool,
}

impl Ctx {
    pub(crate) fn api(&self) -> String {
        format!("{}/rest/api/{}", self.base, if self.v2 { 2 } else { 3 })
    }

    /// A description or comment body: ADF for v3, wiki markup for v2.
    pub(crate) fn body(&self, text: &RichText) -> Value {
        if text.is_empty() {
            return Value::Null;
        }
        let doc = text.to_adf();
        if self.v2 {
            Value::String(markup::adf_to_wiki(&doc))
        } else {
            doc
        }
    }
}

pub(crate) fn user(ctx: &Ctx, user: &UserRef) -> Value {
    let id = user.id.as_str();
    let avatar = format!("{}/secure/useravatar?ownerId={id}", ctx.base);
    let mut v = json!({
        "self": format!("{}/user?accountId={id}", ctx.api()),
        "accountId": id,
        "accountType": "atlassian",
        "displayName": user.display_name,
        "active": true,
        "timeZone": "UTC",
        "avatarUrls": {"16x16": avatar, "24x24": avatar, "32x32": avatar, "48x48": avatar},
    });
    if ctx.v2 {
        v["name"] = json!(id);
        v["key"] = json!(id);
    }
    v
}

pub(crate) fn issue_type(ctx: &Ctx, id: &str, name: &str) -> Value {
    json!({
        "self": format!("{}/issuetype/{id}", ctx.api()),
        "id": id,
        "name": name,
        "description": format!("A {}.", name.to_lowercase()),
        "iconUrl": format!("{}/images/icons/issuetypes/{}.png", ctx.base, name.to_lowercase()),
        "subtask": false,
        "avatarId": 10300,
        "hierarchyLevel": 0,
    })
}

pub(crate) fn project(ctx: &Ctx, info: &ProjectInfo, id: u64) -> Value {
    json!({
        "self": format!("{}/project/{id}", ctx.api()),
        "id": id.to_string(),
        "key": info.key.as_str(),
        "name": info.name,
        "projectTypeKey": "software",
        "simplified": false,
        "style": "classic",
        "isPrivate": false,
        "issueTypes": info.issue_types.iter().map(|t| issue_type(ctx, &t.id, &t.name)).collect::<Vec<_>>(),
    })
}

/// A status's id: Jira's for the common ones, else one hashed from the
/// name (so each status of a workflow has its own).
pub(crate) fn status_id(name: &str) -> String {
    match name.to_lowercase().as_str() {
        "in progress" => "3".to_owned(),
        "done" => "10001".to_owned(),
        "to do" => "10000".to_owned(),
        "open" => "1".to_owned(),
        other => (20_000 + xxhash_rust::xxh3::xxh3_64(other.as_bytes()) % 10_000).to_string(),
    }
}

pub(crate) fn status(ctx: &Ctx, name: &str) -> Value {
    let id = status_id(name);
    json!({
        "self": format!("{}/status/{id}", ctx.api()),
        "id": id,
        "name": name,
        "description": "",
        "iconUrl": format!("{}/images/icons/statuses/open.png", ctx.base),
        "statusCategory": {"self": format!("{}/statuscategory/2", ctx.api()), "id": 2, "key": "new", "colorName": "blue-gray", "name": "To Do"},
    })
}

pub(crate) fn comment(ctx: &Ctx, issue_id: &str, c: &Comment, with_properties: bool) -> Value {
    let internal = c
        .properties
        .get("sd.public.comment")
        .and_then(|p| p.get("internal"))
        .and_then(Value::as_bool)
        == Some(true);
    let mut v = json!({
        "self": format!("{}/issue/{issue_id}/comment/{}", ctx.api(), c.id),
        "id": c.id.as_str(),
        "author": user(ctx, &c.author),
        "updateAuthor": user(ctx, &c.author),
        "body": ctx.body(&c.body),
        "created": format_time(c.created),
        "updated": format_time(c.updated),
        "jsdPublic": !internal,
    });
    if with_properties {
        v["properties"] = Value::Array(
            c.properties
                .iter()
                .map(|(k, value)| json!({"key": k, "value": value}))
                .collect(),
        );
    }
    v
}

pub(crate) fn content_url(ctx: &Ctx, a: &AttachmentMeta) -> String {
    if ctx.v2 {
        format!(
            "{}/secure/attachment/{}/{}",
            ctx.base,
            a.id,
            url::form_urlencoded::byte_serialize(a.file_name.as_bytes()).collect::<String>()
        )
    } else {
        format!("{}/attachment/content/{}", ctx.api(), a.id)
    }
}

pub(crate) fn attachment(ctx: &Ctx, a: &AttachmentMeta) -> Value {
    json!({
        "self": format!("{}/attachment/{}", ctx.api(), a.id),
        "id": a.id.as_str(),
        "filename": a.file_name,
        "author": user(ctx, &a.author),
        "created": format_time(a.created),
        "size": a.size,
        "mimeType": a.mime_type,
        "content": content_url(ctx, a),
    })
}

/// Which fields a request asked for: `None` means all.
pub(crate) fn wanted_fields(param: Option<&str>, default_all: bool) -> Option<Vec<String>> {
    match param {
        None if default_all => None,
        None => Some(Vec::new()),
        Some(list) => {
            let names: Vec<String> = list
                .split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect();
            if names.iter().any(|n| n == "*all" || n == "*navigable") {
                None
            } else {
                Some(names)
            }
        }
    }
}

/// An issue with the asked-for fields and properties.
pub(crate) fn issue(
    ctx: &Ctx,
    i: &Issue,
    extra: &super::values::Extra<'_>,
    fields: Option<&[String]>,
    properties: Option<&[String]>,
) -> Value {
    let (project_id, project_name, type_id) = (
        extra.project_id,
        extra.project.name.as_str(),
        extra.type_id.as_str(),
    );
    let mut all = Map::new();
    all.insert("summary".into(), json!(i.summary));
    all.insert("description".into(), ctx.body(&i.description));
    all.insert("issuetype".into(), issue_type(ctx, type_id, &i.issue_type));
    all.insert(
        "project".into(),
        json!({"self": format!("{}/project/{project_id}", ctx.api()), "id": project_id.to_string(), "key": i.project.as_str(), "name": project_name, "projectTypeKey": "software", "simplified": false}),
    );
    all.insert("labels".into(), json!(i.labels));
    all.insert("status".into(), status(ctx, &i.status));
    if let Some(creator) = &i.creator {
        all.insert("creator".into(), user(ctx, creator));
    }
    all.insert("created".into(), json!(format_time(i.created)));
    all.insert("updated".into(), json!(format_time(i.updated)));
    all.insert(
        "attachment".into(),
        Value::Array(i.attachments.iter().map(|a| attachment(ctx, a)).collect()),
    );
    let comments: Vec<Value> = i
        .comments
        .iter()
        .map(|c| comment(ctx, i.id.as_str(), c, false))
        .collect();
    all.insert(
        "comment".into(),
        json!({"comments": comments, "maxResults": comments.len(), "total": comments.len(), "startAt": 0, "self": format!("{}/issue/{}/comment", ctx.api(), i.id)}),
    );
    super::values::add_fields(ctx, i, extra, &mut all);
    let fields: Map<String, Value> = match fields {
        None => all,
        Some(names) => all
            .into_iter()
            .filter(|(k, _)| names.iter().any(|n| n == k))
            .collect(),
    };
    let mut v = json!({
        "expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
        "id": i.id.as_str(),
        "self": format!("{}/issue/{}", ctx.api(), i.id),
        "key": i.key.as_str(),
    });
    v["fields"] = Value::Object(fields);
    if let Some(keys) = properties {
        let all_keys = keys.iter().any(|k| k == "*all");
        let props: Map<String, Value> = i
            .properties
            .iter()
            .filter(|(k, _)| all_keys || keys.iter().any(|w| w == *k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        v["properties"] = Value::Object(props);
    }
    v
}
