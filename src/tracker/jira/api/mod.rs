//! The operations both Jira adapters share; [`Flavor`] holds what differs.

mod attachments;
mod bulk;
mod links;
mod media;
mod profiles;
mod properties;
mod users;
mod workflows;
mod writes;

use reqwest::Method;
use serde_json::Value;
use time::{OffsetDateTime, UtcOffset};

pub(crate) use bulk::MAX_BULK_CREATE;
pub(crate) use media::MediaCache;
pub(crate) use workflows::WorkflowCache;

use super::client::{Call, Client};
use super::error::JiraError;
use super::field_values;
use super::mapping::{self, Flavor, ISSUE_FIELDS};
use crate::error::{Error, ErrorKind, Result};
use crate::model::{Comment, FieldKind, FieldMeta, Issue, ProjectInfo, ProjectKey};
use crate::tracker::{InstanceInfo, Page, SearchPage};

/// The largest search page the adapters ask for.
pub(crate) const MAX_PAGE_SIZE: u32 = 100;
/// The fields an issue read asks for when comments are fetched separately.
const FIELDS_WITHOUT_COMMENTS: &str = "summary,description,issuetype,project,labels,status,\
     creator,created,updated,attachment,priority,assignee,reporter,duedate,components,\
     fixVersions,parent,issuelinks";
/// More pages than this in one listing means Jira is not paging properly.
const MAX_PAGES: usize = 1000;

/// One Jira instance, spoken to in one flavor.
#[derive(Debug)]
pub(crate) struct Jira {
    pub client: Client,
    pub flavor: Flavor,
    pub search_properties: Vec<String>,
    pub jql_offset: UtcOffset,
    /// Attachment id → media id (Cloud), learned from content redirects.
    pub media: MediaCache,
    /// The kinds of the custom fields projects' create metadata listed
    /// (learned by [`Jira::project`]): issue reads ask for these and read
    /// them by kind.
    pub custom_kinds: std::sync::Mutex<std::collections::BTreeMap<String, FieldKind>>,
    /// The workflows Jira told, per project and issue type.
    pub workflows: WorkflowCache,
}

pub(super) fn op(err: JiraError, operation: &str) -> Error {
    Error::from(err).with_operation(operation)
}

pub(super) fn unexpected(what: &str) -> Error {
    Error::new(
        ErrorKind::Unexpected,
        format!("jira's answer to {what} lacks what twinsync needs"),
    )
}

impl Jira {
    pub(super) fn call(&self, method: Method, template: &str, rest: &[&str]) -> Call {
        let mut segments = vec!["rest", "api", self.flavor.version()];
        segments.extend_from_slice(rest);
        Call::new(method, template, &segments)
    }

    pub(crate) async fn instance(&self, product: &str) -> Result<InstanceInfo> {
        let info = self
            .client
            .json(self.call(Method::GET, "serverInfo", &["serverInfo"]))
            .await
            .map_err(|e| op(e, "server info"))?;
        Ok(InstanceInfo {
            url: self.client.instance().clone(),
            product: product.to_owned(),
            version: info
                .get("version")
                .and_then(Value::as_str)
                .unwrap_or("unknown")
                .to_owned(),
        })
    }

    pub(super) async fn project_json(&self, key: &ProjectKey) -> Result<Value> {
        self.client
            .json(self.call(Method::GET, "project/{}", &["project", key.as_str()]))
            .await
            .map_err(|e| op(e, "get project").with_context("project", key))
    }

    pub(crate) async fn project(&self, key: &ProjectKey) -> Result<ProjectInfo> {
        let project = self.project_json(key).await?;
        let mut issue_types = Vec::new();
        let mut start = 0usize;
        for _ in 0..MAX_PAGES {
            let page = self
                .client
                .json(
                    self.call(
                        Method::GET,
                        "issue/createmeta/{}/issuetypes",
                        &["issue", "createmeta", key.as_str(), "issuetypes"],
                    )
                    .query("startAt", start.to_string())
                    .query("maxResults", "200"),
                )
                .await
                .map_err(|e| op(e, "list issue types").with_context("project", key))?;
            let found = mapping::issue_types(&page);
            let count = page
                .get("issueTypes")
                .or_else(|| page.get("values"))
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            issue_types.extend(found);
            start += count;
            let total = page.get("total").and_then(Value::as_u64);
            let last = page.get("isLast").and_then(Value::as_bool) == Some(true)
                || total.is_none_or(|t| start as u64 >= t)
                || count == 0;
            if last {
                break;
            }
        }
        let fields = self.field_metadata(key, &issue_types).await?;
        Ok(ProjectInfo {
            key: key.clone(),
            name: project
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or(key.as_str())
                .to_owned(),
            issue_types,
            default_issue_type: None,
            fields,
        })
    }

    /// What the create screens of `project`'s issue types say of the fields
    /// beyond Basic (`GET issue/createmeta/{project}/issuetypes/{type}`): a
    /// field on several types is listed once, `required` when every type
    /// that shows it requires it, else `required_for` the types that do, and
    /// `create_types` names the types showing it when not all do. A
    /// Jira without that resource (Data Center before 8.4) tells nothing:
    /// the list is empty.
    async fn field_metadata(
        &self,
        project: &ProjectKey,
        issue_types: &[crate::model::IssueType],
    ) -> Result<Vec<FieldMeta>> {
        let mut fields: Vec<FieldMeta> = Vec::new();
        // By field id: the types whose create screen shows it, and those that require it.
        let mut shown: std::collections::HashMap<String, (Vec<String>, Vec<String>)> =
            std::collections::HashMap::new();
        for issue_type in issue_types {
            let mut start = 0usize;
            for _ in 0..MAX_PAGES {
                let path = [
                    "issue",
                    "createmeta",
                    project.as_str(),
                    "issuetypes",
                    issue_type.id.as_str(),
                ];
                let page = match self
                    .client
                    .json(
                        self.call(Method::GET, "issue/createmeta/{}/issuetypes/{}", &path)
                            .query("startAt", start.to_string())
                            .query("maxResults", "200"),
                    )
                    .await
                {
                    Ok(page) => page,
                    Err(e) => {
                        let e = op(e, "read create metadata").with_context("project", project);
                        if e.kind() == ErrorKind::NotFound {
                            return Ok(Vec::new());
                        }
                        return Err(e);
                    }
                };
                let entries = page
                    .get("fields")
                    .or_else(|| page.get("values"))
                    .and_then(Value::as_array)
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                for meta in entries
                    .iter()
                    .filter_map(|v| field_values::field_meta(None, v))
                {
                    let (showing, requiring) = shown.entry(meta.id.clone()).or_default();
                    showing.push(issue_type.name.clone());
                    if meta.required {
                        requiring.push(issue_type.name.clone());
                    }
                    if !fields.iter().any(|f| f.id == meta.id) {
                        fields.push(meta);
                    }
                }
                start += entries.len();
                let total = page.get("total").and_then(Value::as_u64);
                if page.get("isLast").and_then(Value::as_bool) == Some(true)
                    || total.is_none_or(|t| start as u64 >= t)
                    || entries.is_empty()
                {
                    break;
                }
            }
        }
        for field in &mut fields {
            let (showing, requiring) = shown.remove(&field.id).unwrap_or_default();
            field.required = !showing.is_empty() && requiring.len() == showing.len();
            field.required_for = if field.required {
                Vec::new()
            } else {
                requiring
            };
            if showing.len() < issue_types.len() {
                field.create_types = showing;
            }
        }
        let mut kinds = self.custom_kinds.lock().unwrap_or_else(|e| e.into_inner());
        for f in fields.iter().filter(|f| f.id.starts_with("customfield_")) {
            kinds.insert(f.id.clone(), f.kind);
        }
        Ok(fields)
    }

    /// The `fields` an issue read asks for: `base`, and the custom fields
    /// whose kinds are known.
    fn wanted_fields(&self, base: &str) -> String {
        let kinds = self.custom_kinds.lock().unwrap_or_else(|e| e.into_inner());
        let mut wanted = base.to_owned();
        for id in kinds.keys() {
            wanted.push(',');
            wanted.push_str(id);
        }
        wanted
    }

    /// Reads into `issue` the custom fields of known kinds its JSON holds.
    fn read_custom_fields(&self, v: &Value, issue: &mut crate::model::Issue) {
        let Some(fields) = v.get("fields") else {
            return;
        };
        let kinds = self.custom_kinds.lock().unwrap_or_else(|e| e.into_inner());
        for (id, kind) in kinds.iter() {
            if let Some(value) = fields
                .get(id)
                .and_then(|f| field_values::custom_from_json(self.flavor, *kind, f))
            {
                issue.fields.custom.insert(id.clone(), value);
            }
        }
    }

    /// All comments of an issue, oldest first, with their properties.
    pub(super) async fn comments(&self, issue: &str) -> Result<Vec<Comment>> {
        let mut out = Vec::new();
        let mut start = 0usize;
        for _ in 0..MAX_PAGES {
            let page = self
                .client
                .json(
                    self.call(
                        Method::GET,
                        "issue/{}/comment",
                        &["issue", issue, "comment"],
                    )
                    .query("startAt", start.to_string())
                    .query("maxResults", "100")
                    .query("orderBy", "created")
                    .query("expand", "properties"),
                )
                .await
                .map_err(|e| op(e, "list comments").with_issue(issue))?;
            let items = page
                .get("comments")
                .and_then(Value::as_array)
                .ok_or_else(|| unexpected("list comments"))?;
            for item in items {
                out.push(
                    mapping::comment(item, self.flavor)
                        .map_err(|e| op(e, "list comments").with_issue(issue))?,
                );
            }
            start += items.len();
            let total = page.get("total").and_then(Value::as_u64).unwrap_or(0);
            if items.is_empty() || start as u64 >= total {
                break;
            }
        }
        mapping::sort_comments(&mut out);
        Ok(out)
    }

    pub(crate) async fn issue(&self, id_or_key: &str) -> Result<Issue> {
        let v = self
            .client
            .json(
                self.call(Method::GET, "issue/{}", &["issue", id_or_key])
                    .query("fields", self.wanted_fields(FIELDS_WITHOUT_COMMENTS))
                    .query("properties", "*all"),
            )
            .await
            .map_err(|e| op(e, "get issue").with_issue(id_or_key))?;
        let id = mapping::str_field(&v, "id", "an issue")
            .map_err(|e| op(e, "get issue").with_issue(id_or_key))?;
        let comments = self.comments(&id).await?;
        let mut issue = mapping::issue(&v, self.flavor, Some(comments))
            .map_err(|e| op(e, "get issue").with_issue(id_or_key))?;
        self.read_custom_fields(&v, &mut issue);
        self.neutral_issue(&mut issue).await?;
        Ok(issue)
    }

    fn search_call(&self, jql: &str, page: &Page) -> Result<Call> {
        let size = match page.max_results {
            0 => 50,
            n => n.min(MAX_PAGE_SIZE),
        };
        let mut call = match self.flavor {
            Flavor::Cloud => {
                let mut call = self.call(Method::GET, "search/jql", &["search", "jql"]);
                if let Some(token) = &page.token {
                    call = call.query("nextPageToken", token.clone());
                }
                call
            }
            Flavor::DataCenter => {
                let start = match &page.token {
                    None => 0,
                    Some(t) => t.parse::<u64>().map_err(|_| {
                        Error::new(
                            ErrorKind::InvalidInput,
                            format!("page token {t:?} was not issued by this jira adapter"),
                        )
                    })?,
                };
                self.call(Method::GET, "search", &["search"])
                    .query("startAt", start.to_string())
            }
        };
        call = call
            .query("jql", jql)
            .query("maxResults", size.to_string())
            .query("fields", self.wanted_fields(ISSUE_FIELDS));
        if !self.search_properties.is_empty() {
            call = call.query("properties", self.search_properties.join(","));
        }
        Ok(call)
    }

    pub(crate) async fn search(&self, jql: &str, page: &Page) -> Result<SearchPage> {
        let call = self.search_call(jql, page)?;
        let v = self
            .client
            .json(call)
            .await
            .map_err(|e| op(e, "search").with_context("jql", jql))?;
        let items = v
            .get("issues")
            .and_then(Value::as_array)
            .ok_or_else(|| unexpected("search"))?;
        let mut issues = Vec::with_capacity(items.len());
        for item in items {
            let fields = item.get("fields").unwrap_or(&Value::Null);
            let (_, complete) = mapping::embedded_comments(fields, self.flavor)
                .map_err(|e| op(e, "search").with_context("jql", jql))?;
            let comments = if complete {
                None
            } else {
                let id = mapping::str_field(item, "id", "an issue")
                    .map_err(|e| op(e, "search").with_context("jql", jql))?;
                Some(self.comments(&id).await?)
            };
            let mut issue = mapping::issue(item, self.flavor, comments)
                .map_err(|e| op(e, "search").with_context("jql", jql))?;
            self.read_custom_fields(item, &mut issue);
            self.neutral_issue(&mut issue).await?;
            issues.push(issue);
        }
        let next_page = match self.flavor {
            Flavor::Cloud => v
                .get("nextPageToken")
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
                .map(str::to_owned),
            Flavor::DataCenter => {
                let start = v.get("startAt").and_then(Value::as_u64).unwrap_or(0);
                let total = v.get("total").and_then(Value::as_u64).unwrap_or(0);
                let next = start + items.len() as u64;
                (!items.is_empty() && next < total).then(|| next.to_string())
            }
        };
        Ok(SearchPage { issues, next_page })
    }

    pub(crate) async fn updated_since(
        &self,
        project: &ProjectKey,
        since: OffsetDateTime,
        page: &Page,
    ) -> Result<SearchPage> {
        let jql = updated_since_jql(project, since, self.jql_offset);
        match self.search(&jql, page).await {
            Err(err) if err.kind() == ErrorKind::InvalidInput && page.token.is_none() => {
                // Jira answers 400 for a project it does not know; say which it is.
                self.project_json(project).await?;
                Err(err)
            }
            other => other,
        }
    }
}

/// The change-detection query. JQL compares times at minute precision in the
/// integration user's time zone, so `since` is shown in `offset` and rounded down.
pub(crate) fn updated_since_jql(
    project: &ProjectKey,
    since: OffsetDateTime,
    offset: UtcOffset,
) -> String {
    let at = since.to_offset(offset);
    format!(
        "project = \"{}\" AND updated >= \"{:04}-{:02}-{:02} {:02}:{:02}\" ORDER BY updated ASC",
        project.as_str().replace('"', ""),
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::ids as lit;

    #[test]
    fn updated_since_rounds_down_to_the_minute_in_the_users_zone() {
        let since = time::macros::datetime!(2026-03-04 10:15:59.9 UTC);
        assert_eq!(
            updated_since_jql(&lit::project("SUP"), since, UtcOffset::UTC),
            "project = \"SUP\" AND updated >= \"2026-03-04 10:15\" ORDER BY updated ASC"
        );
        let berlin = UtcOffset::from_hms(1, 0, 0).unwrap();
        assert!(
            updated_since_jql(&lit::project("SUP"), since, berlin).contains("\"2026-03-04 11:15\"")
        );
    }
}
