//! JQL search: `/rest/api/3/search/jql` (paged by token) and `/rest/api/2/search` (paged by `startAt`).

use hyper::StatusCode;
use serde_json::{Value, json};

use super::super::render;
use super::{Api, Reply, fail};
use crate::model::{Issue, ProjectKey};
use crate::tracker::{Tracker, TrackerExt};
use crate::trigger::Jql;
use crate::trigger::jql::{Field, SortDirection, SortKey};

/// What a search asks for.
struct SearchParams {
    jql: String,
    token: Option<String>,
    max: usize,
    fields: Option<Vec<String>>,
    properties: Option<Vec<String>>,
    start: usize,
}

impl Api<'_> {
    /// All issues matching `jql`, sorted as its `ORDER BY` asks.
    pub(super) async fn matching(&self, jql: &str) -> Result<Vec<Issue>, Reply> {
        if let Some(project) = jql_project(jql)
            && match ProjectKey::new(project.as_str()) {
                Ok(key) => self.t.project(&key).await.is_err(),
                Err(_) => true,
            }
        {
            return Err(fail(
                StatusCode::BAD_REQUEST,
                &format!("The value '{project}' does not exist for the field 'project'."),
            ));
        }
        let mut issues = self.t.search_all(jql, 100).await.map_err(|e| {
            fail(
                StatusCode::BAD_REQUEST,
                &format!("Error in the JQL Query: {}", e.message()),
            )
        })?;
        if let Ok(query) = Jql::parse(jql) {
            sort(&mut issues, query.order_by());
        }
        Ok(issues)
    }

    /// Search parameters from the query or a POST body.
    fn search_params(&self) -> SearchParams {
        let body = self.req.json;
        let from_body = |name: &str| body.and_then(|b| b.get(name));
        let list_from_body = |name: &str| {
            from_body(name).and_then(Value::as_array).map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
        };
        let jql = self
            .q("jql")
            .map(str::to_owned)
            .or_else(|| from_body("jql").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or_default();
        let token = self.q("nextPageToken").map(str::to_owned).or_else(|| {
            from_body("nextPageToken")
                .and_then(Value::as_str)
                .map(str::to_owned)
        });
        let max = self
            .q("maxResults")
            .and_then(|v| v.parse().ok())
            .or_else(|| {
                from_body("maxResults")
                    .and_then(Value::as_u64)
                    .map(|n| n as usize)
            })
            .unwrap_or(50)
            .clamp(1, 100);
        let fields = self
            .list_param("fields")
            .or_else(|| list_from_body("fields"));
        let properties = self
            .list_param("properties")
            .or_else(|| list_from_body("properties"));
        let start = self
            .q("startAt")
            .and_then(|v| v.parse().ok())
            .or_else(|| {
                from_body("startAt")
                    .and_then(Value::as_u64)
                    .map(|n| n as usize)
            })
            .unwrap_or(0);
        SearchParams {
            jql,
            token,
            max,
            fields,
            properties,
            start,
        }
    }

    pub(super) async fn search_jql(&self) -> Reply {
        let SearchParams {
            jql,
            token,
            max,
            fields,
            properties,
            ..
        } = self.search_params();
        if jql.trim().is_empty() {
            return fail(
                StatusCode::BAD_REQUEST,
                "Unbounded JQL queries are not allowed here. Please add a search restriction to your query.",
            );
        }
        let hash = xxhash_rust::xxh3::xxh3_64(jql.as_bytes());
        let start = match token.as_deref() {
            None => 0,
            Some(t) => match t.split_once('.') {
                Some((offset, h)) if h == format!("{hash:x}") => {
                    match usize::from_str_radix(offset, 16) {
                        Ok(n) => n,
                        Err(_) => return fail(StatusCode::BAD_REQUEST, "Invalid nextPageToken."),
                    }
                }
                _ => return fail(StatusCode::BAD_REQUEST, "Invalid nextPageToken."),
            },
        };
        let issues = match self.matching(&jql).await {
            Ok(i) => i,
            Err(reply) => return reply,
        };
        let fields = render::wanted_fields(fields.as_ref().map(|f| f.join(",")).as_deref(), false);
        let mut page = Vec::new();
        for issue in issues.iter().skip(start).take(max) {
            page.push(
                self.render_issue(issue, fields.as_deref(), properties.as_deref())
                    .await,
            );
        }
        let next = start + max;
        let mut v = json!({"issues": page, "isLast": next >= issues.len()});
        if next < issues.len() {
            v["nextPageToken"] = json!(format!("{next:x}.{hash:x}"));
        }
        Reply::json(StatusCode::OK, v)
    }

    pub(super) async fn search_v2(&self) -> Reply {
        let SearchParams {
            jql,
            max,
            fields,
            properties,
            start,
            ..
        } = self.search_params();
        let issues = match self.matching(&jql).await {
            Ok(i) => i,
            Err(reply) => return reply,
        };
        let fields = render::wanted_fields(fields.as_ref().map(|f| f.join(",")).as_deref(), true);
        let mut page = Vec::new();
        for issue in issues.iter().skip(start).take(max) {
            page.push(
                self.render_issue(issue, fields.as_deref(), properties.as_deref())
                    .await,
            );
        }
        Reply::json(
            StatusCode::OK,
            json!({"expand": "schema,names", "startAt": start, "maxResults": max, "total": issues.len(), "issues": page}),
        )
    }
}

/// The project a JQL query names with `project = X`, if any.
fn jql_project(jql: &str) -> Option<String> {
    let lower = jql.to_ascii_lowercase();
    let at = lower.find("project")?;
    let rest = jql[at + "project".len()..].trim_start();
    let rest = rest.strip_prefix('=')?.trim_start();
    let rest = rest.trim_start_matches(['"', '\'']);
    let key: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (!key.is_empty()).then_some(key)
}

/// Sorts as `ORDER BY` asks: each key in turn, ascending unless `DESC`;
/// issue keys by project, then number (as Jira does); ties in creation order.
fn sort(issues: &mut [Issue], order: &[SortKey]) {
    fn number(issue: &Issue) -> u64 {
        issue
            .key
            .as_str()
            .rsplit('-')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    }
    fn id(issue: &Issue) -> u64 {
        issue.id.as_str().parse().unwrap_or(u64::MAX)
    }
    issues.sort_by(|a, b| {
        for key in order {
            let ord = match key.field {
                Field::Created => a.created.cmp(&b.created),
                Field::Updated => a.updated.cmp(&b.updated),
                Field::Key => a
                    .project
                    .as_str()
                    .cmp(b.project.as_str())
                    .then_with(|| number(a).cmp(&number(b))),
                Field::Project => a.project.as_str().cmp(b.project.as_str()),
                Field::IssueType => a.issue_type.cmp(&b.issue_type),
                Field::Status => a.status.cmp(&b.status),
                Field::Summary => a.summary.cmp(&b.summary),
                _ => std::cmp::Ordering::Equal,
            };
            let ord = match key.direction {
                Some(SortDirection::Descending) => ord.reverse(),
                _ => ord,
            };
            if ord.is_ne() {
                return ord;
            }
        }
        id(a).cmp(&id(b))
    });
}
