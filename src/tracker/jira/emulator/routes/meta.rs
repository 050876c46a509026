//! What the emulator says about fields: `GET field` with the custom fields
//! the projects describe, the create metadata of an issue type
//! (`issue/createmeta/{project}/issuetypes/{type}`) and an issue's
//! `editmeta`, from [`ProjectInfo::fields`] and the Basic system fields.

use std::collections::BTreeSet;

use hyper::StatusCode;
use serde_json::{Map, Value, json};

use super::super::lock;
use super::super::values::{allowed_values, custom_number, is_standard, schema};
use super::fields::{self, Screen};
use super::{Api, Reply, fail};
use crate::model::{FieldMeta, ProjectInfo, ProjectKey};
use crate::tracker::Tracker;

/// A custom field as `GET field` lists it.
fn custom_entry(meta: &FieldMeta) -> Value {
    let mut clauses = Vec::new();
    if let Some(n) = custom_number(&meta.id) {
        clauses.push(format!("cf[{n}]"));
    }
    clauses.push(meta.name.clone());
    json!({
        "id": meta.id,
        "key": meta.id,
        "name": meta.name,
        "custom": true,
        "orderable": true,
        "navigable": true,
        "searchable": true,
        "clauseNames": clauses,
        "schema": schema(meta),
    })
}

impl Api<'_> {
    /// `GET /rest/api/{2,3}/field`: the system fields, then each custom field
    /// a project describes (once).
    pub(super) async fn fields(&self) -> Reply {
        let mut list = fields::system_list();
        let keys: Vec<ProjectKey> = lock(&self.shared.projects)
            .iter()
            .map(|(k, _)| k.clone())
            .collect();
        let mut seen = BTreeSet::new();
        for key in keys {
            let Ok(info) = self.t.project(&key).await else {
                continue;
            };
            for meta in info.fields.iter().filter(|m| !is_standard(&m.id)) {
                if seen.insert(meta.id.clone()) {
                    list.push(custom_entry(meta));
                }
            }
        }
        Reply::json(StatusCode::OK, Value::Array(list))
    }

    /// The fields on `screen` of `project` for issues of `issue_type`: id
    /// and metadata (`required`, `schema`, `name`, `key`, `operations`,
    /// `allowedValues` for options).
    fn on_screen(
        &self,
        project: &ProjectInfo,
        issue_type: &str,
        screen: Screen,
    ) -> Vec<(String, Value)> {
        let mut out: Vec<(String, Value)> = fields::basic_on_screen(screen)
            .into_iter()
            .map(|(id, name, schema, required)| {
                let entry = json!({"required": required, "schema": schema, "name": name,
                    "key": id, "hasDefaultValue": false, "operations": ["set"]});
                (id.to_owned(), entry)
            })
            .collect();
        for meta in &project.fields {
            let on = match screen {
                Screen::Create => meta.on_create,
                Screen::Edit => meta.on_edit,
            };
            if !on {
                continue;
            }
            let schema = match is_standard(&meta.id) {
                true => fields::standard_schema(&meta.id).unwrap_or_else(|| schema(meta)),
                false => schema(meta),
            };
            let mut entry = json!({"required": meta.required_in(issue_type), "schema": schema,
                "name": meta.name, "key": meta.id, "hasDefaultValue": false,
                "operations": ["set"]});
            if let Some(values) = allowed_values(&self.ctx, project, meta) {
                entry["allowedValues"] = values;
            }
            out.push((meta.id.clone(), entry));
        }
        out
    }

    /// `GET issue/createmeta/{projectIdOrKey}/issuetypes/{issueTypeId}`: the
    /// create screen's fields, paged (Cloud: `fields`; Data Center: `values`).
    pub(super) async fn createmeta_fields(&self, key: &str, type_id: &str) -> Reply {
        let info = match self.project_info(key).await {
            Ok(info) => info,
            Err(reply) => return reply,
        };
        let Some(issue_type) = info.issue_types.iter().find(|t| t.id == type_id) else {
            return fail(
                StatusCode::NOT_FOUND,
                &format!("Issue type with id '{type_id}' does not exist in project {key}."),
            );
        };
        if self.q_usize("maxResults", 50) > 200 {
            return fail(
                StatusCode::BAD_REQUEST,
                "Parameter 'maxResults' must not exceed the limit '200'",
            );
        }
        let (start, max) = (self.q_usize("startAt", 0), self.q_usize("maxResults", 50));
        let all = self.on_screen(
            &info.for_issue_type(&issue_type.name),
            &issue_type.name,
            Screen::Create,
        );
        let total = all.len();
        let page: Vec<Value> = all
            .into_iter()
            .skip(start)
            .take(max)
            .map(|(id, mut entry)| {
                entry["fieldId"] = json!(id);
                entry
            })
            .collect();
        let body = if self.ctx.v2 && !self.cloud() {
            json!({"values": page, "startAt": start, "maxResults": max, "total": total,
                "isLast": start + max >= total})
        } else {
            json!({"fields": page, "startAt": start, "maxResults": max, "total": total})
        };
        Reply::json(StatusCode::OK, body)
    }

    /// `GET issue/{issueIdOrKey}/editmeta`: the edit screen's fields.
    pub(super) async fn editmeta(&self, id: &str) -> Reply {
        let issue = match self.find_issue(id).await {
            Ok(issue) => issue,
            Err(reply) => return reply,
        };
        let info = match self.project_info(issue.project.as_str()).await {
            Ok(info) => info,
            Err(reply) => return reply,
        };
        let fields: Map<String, Value> = self
            .on_screen(&info, &issue.issue_type, Screen::Edit)
            .into_iter()
            .collect();
        Reply::json(StatusCode::OK, json!({"fields": fields}))
    }
}
