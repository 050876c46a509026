//! The operations both Jira adapters share; [`Flavor`] holds what differs.

use reqwest::Method;
use serde_json::{Value, json};
use time::{OffsetDateTime, UtcOffset};

use super::client::{Call, Client};
use super::error::JiraError;
use super::mapping::{self, Flavor, ISSUE_FIELDS};
use crate::error::{Error, ErrorKind, Result};
use crate::model::{
    AttachmentId, AttachmentMeta, Comment, CommentId, Issue, IssueId, IssueKey, ProjectInfo,
    ProjectKey, RichText, UserId, UserRef, Visibility,
};
use crate::tracker::{
    CreatedIssue, InstanceInfo, IssueUpdate, NewAttachment, NewComment, NewIssue, Page, SearchPage,
};

/// The largest search page the adapters ask for.
pub(crate) const MAX_PAGE_SIZE: u32 = 100;
/// The fields an issue read asks for when comments are fetched separately.
const FIELDS_WITHOUT_COMMENTS: &str =
    "summary,description,issuetype,project,labels,status,creator,created,updated,attachment";
/// More pages than this in one listing means Jira is not paging properly.
const MAX_PAGES: usize = 1000;

/// One Jira instance, spoken to in one flavor.
#[derive(Debug)]
pub(crate) struct Jira {
    pub client: Client,
    pub flavor: Flavor,
    pub search_properties: Vec<String>,
    pub jql_offset: UtcOffset,
}

fn op(err: JiraError, operation: &str) -> Error {
    Error::from(err).with_operation(operation)
}

fn unexpected(what: &str) -> Error {
    Error::new(
        ErrorKind::Unexpected,
        format!("jira's answer to {what} lacks what twinsync needs"),
    )
}

impl Jira {
    fn call(&self, method: Method, template: &str, rest: &[&str]) -> Call {
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

    async fn project_json(&self, key: &ProjectKey) -> Result<Value> {
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
        Ok(ProjectInfo {
            key: key.clone(),
            name: project
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or(key.as_str())
                .to_owned(),
            issue_types,
            default_issue_type: None,
        })
    }

    /// All comments of an issue, oldest first, with their properties.
    async fn comments(&self, issue: &str) -> Result<Vec<Comment>> {
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
                    .query("fields", FIELDS_WITHOUT_COMMENTS)
                    .query("properties", "*all"),
            )
            .await
            .map_err(|e| op(e, "get issue").with_issue(id_or_key))?;
        let id = mapping::str_field(&v, "id", "an issue")
            .map_err(|e| op(e, "get issue").with_issue(id_or_key))?;
        let comments = self.comments(&id).await?;
        mapping::issue(&v, self.flavor, Some(comments))
            .map_err(|e| op(e, "get issue").with_issue(id_or_key))
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
            .query("fields", ISSUE_FIELDS);
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
            issues.push(
                mapping::issue(item, self.flavor, comments)
                    .map_err(|e| op(e, "search").with_context("jql", jql))?,
            );
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

    pub(crate) async fn create_issue(&self, issue: &NewIssue) -> Result<CreatedIssue> {
        let mut fields = json!({
            "project": {"key": issue.project.as_str()},
            "issuetype": {"name": issue.issue_type},
            "summary": issue.summary,
            "labels": issue.labels,
        });
        if !issue.description.is_empty() {
            fields["description"] = self.flavor.body_to_json(&issue.description);
        }
        let mut body = json!({"fields": fields});
        if !issue.properties.is_empty() {
            body["properties"] = mapping::property_list(&issue.properties);
        }
        let v = self
            .client
            .json(self.call(Method::POST, "issue", &["issue"]).json(body))
            .await
            .map_err(|e| {
                let missing_project = e.http_status() == Some(400) && e.names_field("project");
                let err = op(e, "create issue").with_context("project", &issue.project);
                if missing_project {
                    Error::new(
                        ErrorKind::NotFound,
                        format!("project {} does not exist in jira", issue.project),
                    )
                    .with_source(err)
                } else {
                    err
                }
            })?;
        let id = v.get("id").and_then(Value::as_str);
        let key = v.get("key").and_then(Value::as_str);
        match (id, key) {
            (Some(id), Some(key)) => Ok(CreatedIssue {
                id: IssueId::new(id),
                key: IssueKey::new(key),
            }),
            _ => Err(unexpected("create issue")
                .with_context("project", &issue.project)
                .set_temporary(false)),
        }
    }

    pub(crate) async fn update_issue(&self, id: &IssueId, update: &IssueUpdate) -> Result<()> {
        let mut fields = serde_json::Map::new();
        if let Some(summary) = &update.summary {
            fields.insert("summary".into(), json!(summary));
        }
        if let Some(description) = &update.description {
            let value = if description.is_empty() {
                Value::Null
            } else {
                self.flavor.body_to_json(description)
            };
            fields.insert("description".into(), value);
        }
        if let Some(issue_type) = &update.issue_type {
            fields.insert("issuetype".into(), json!({"name": issue_type}));
        }
        if let Some(labels) = &update.labels {
            fields.insert("labels".into(), json!(labels));
        }
        if !fields.is_empty() {
            self.client
                .send(
                    self.call(Method::PUT, "issue/{}", &["issue", id.as_str()])
                        .issue(id.as_str())
                        .json(json!({"fields": fields})),
                )
                .await
                .map_err(|e| op(e, "update issue").with_issue(id))?;
        }
        if let Some(status) = &update.status {
            self.transition(id, status).await?;
        }
        Ok(())
    }

    async fn transition(&self, id: &IssueId, status: &str) -> Result<()> {
        let v = self
            .client
            .json(self.call(
                Method::GET,
                "issue/{}/transitions",
                &["issue", id.as_str(), "transitions"],
            ))
            .await
            .map_err(|e| op(e, "list transitions").with_issue(id))?;
        let transitions = v
            .get("transitions")
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice);
        let target = |t: &Value| {
            t.get("to")
                .and_then(|to| to.get("name"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let Some(transition) = transitions
            .iter()
            .find(|t| target(t).is_some_and(|n| n.eq_ignore_ascii_case(status)))
        else {
            let available: Vec<String> = transitions.iter().filter_map(target).collect();
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "no transition leads issue {id} to status {status:?}; reachable: {}",
                    available.join(", ")
                ),
            ));
        };
        let transition_id = transition.get("id").cloned().unwrap_or(Value::Null);
        self.client
            .send(
                self.call(
                    Method::POST,
                    "issue/{}/transitions",
                    &["issue", id.as_str(), "transitions"],
                )
                .issue(id.as_str())
                .json(json!({"transition": {"id": transition_id}})),
            )
            .await
            .map_err(|e| op(e, "transition issue").with_issue(id))?;
        Ok(())
    }

    pub(crate) async fn add_comment(
        &self,
        issue: &IssueId,
        comment: &NewComment,
    ) -> Result<Comment> {
        let mut properties = comment.properties.clone();
        if comment.visibility == Visibility::Internal {
            properties.insert("sd.public.comment".into(), json!({"internal": true}));
        }
        let mut body = json!({"body": self.flavor.body_to_json(&comment.body)});
        if !properties.is_empty() {
            body["properties"] = mapping::property_list(&properties);
        }
        let v = self
            .client
            .json(
                self.call(
                    Method::POST,
                    "issue/{}/comment",
                    &["issue", issue.as_str(), "comment"],
                )
                .issue(issue.as_str())
                .query("expand", "properties")
                .json(body),
            )
            .await
            .map_err(|e| op(e, "add comment").with_issue(issue))?;
        let mut created = mapping::comment(&v, self.flavor)
            .map_err(|e| op(e, "add comment").with_issue(issue))?;
        for (k, value) in properties {
            created.properties.entry(k).or_insert(value);
        }
        Ok(created)
    }

    pub(crate) async fn update_comment(
        &self,
        issue: &IssueId,
        comment: &CommentId,
        body: &RichText,
    ) -> Result<Comment> {
        let v = self
            .client
            .json(
                self.call(
                    Method::PUT,
                    "issue/{}/comment/{}",
                    &["issue", issue.as_str(), "comment", comment.as_str()],
                )
                .issue(issue.as_str())
                .query("expand", "properties")
                .json(json!({"body": self.flavor.body_to_json(body)})),
            )
            .await
            .map_err(|e| {
                op(e, "update comment")
                    .with_issue(issue)
                    .with_context("comment", comment)
            })?;
        mapping::comment(&v, self.flavor).map_err(|e| op(e, "update comment").with_issue(issue))
    }

    pub(crate) async fn delete_comment(&self, issue: &IssueId, comment: &CommentId) -> Result<()> {
        self.client
            .send(
                self.call(
                    Method::DELETE,
                    "issue/{}/comment/{}",
                    &["issue", issue.as_str(), "comment", comment.as_str()],
                )
                .issue(issue.as_str()),
            )
            .await
            .map_err(|e| {
                op(e, "delete comment")
                    .with_issue(issue)
                    .with_context("comment", comment)
            })?;
        Ok(())
    }

    pub(crate) async fn attachments(&self, issue: &IssueId) -> Result<Vec<AttachmentMeta>> {
        let v = self
            .client
            .json(
                self.call(Method::GET, "issue/{}", &["issue", issue.as_str()])
                    .query("fields", "attachment"),
            )
            .await
            .map_err(|e| op(e, "list attachments").with_issue(issue))?;
        mapping::attachments(v.get("fields").unwrap_or(&Value::Null))
            .map_err(|e| op(e, "list attachments").with_issue(issue))
    }

    pub(crate) async fn download_attachment(&self, id: &AttachmentId) -> Result<Vec<u8>> {
        let context = |e: JiraError| op(e, "download attachment").with_context("attachment", id);
        let call = match self.flavor {
            Flavor::Cloud => self.call(
                Method::GET,
                "attachment/content/{}",
                &["attachment", "content", id.as_str()],
            ),
            Flavor::DataCenter => {
                let meta = self
                    .client
                    .json(self.call(Method::GET, "attachment/{}", &["attachment", id.as_str()]))
                    .await
                    .map_err(context)?;
                let url = meta
                    .get("content")
                    .and_then(Value::as_str)
                    .ok_or_else(|| unexpected("get attachment"))?;
                self.client.same_origin_call(url).map_err(context)?
            }
        };
        let (_, body) = self.client.send(call).await.map_err(context)?;
        Ok(body)
    }

    pub(crate) async fn upload_attachment(
        &self,
        issue: &IssueId,
        file: &NewAttachment,
    ) -> Result<AttachmentMeta> {
        let v = self
            .client
            .json(
                self.call(
                    Method::POST,
                    "issue/{}/attachments",
                    &["issue", issue.as_str(), "attachments"],
                )
                .issue(issue.as_str())
                .file(file.clone()),
            )
            .await
            .map_err(|e| {
                op(e, "upload attachment")
                    .with_issue(issue)
                    .with_context("file", &file.file_name)
            })?;
        let first = v
            .as_array()
            .and_then(|a| a.first())
            .ok_or_else(|| unexpected("upload attachment").with_issue(issue))?;
        mapping::attachment(first).map_err(|e| op(e, "upload attachment").with_issue(issue))
    }

    pub(crate) async fn delete_attachment(&self, id: &AttachmentId) -> Result<()> {
        self.client
            .send(self.call(
                Method::DELETE,
                "attachment/{}",
                &["attachment", id.as_str()],
            ))
            .await
            .map_err(|e| op(e, "delete attachment").with_context("attachment", id))?;
        Ok(())
    }

    pub(crate) async fn issue_property(&self, issue: &IssueId, key: &str) -> Result<Option<Value>> {
        let result = self
            .client
            .json(self.call(
                Method::GET,
                "issue/{}/properties/{}",
                &["issue", issue.as_str(), "properties", key],
            ))
            .await;
        match result {
            Ok(v) => Ok(v.get("value").cloned()),
            Err(e) if e.http_status() == Some(404) => {
                // Missing property or missing issue: Jira says 404 to both.
                self.client
                    .send(
                        self.call(Method::GET, "issue/{}", &["issue", issue.as_str()])
                            .query("fields", "id"),
                    )
                    .await
                    .map_err(|e| op(e, "get issue property").with_issue(issue))?;
                Ok(None)
            }
            Err(e) => Err(op(e, "get issue property")
                .with_issue(issue)
                .with_context("property", key)),
        }
    }

    pub(crate) async fn set_issue_property(
        &self,
        issue: &IssueId,
        key: &str,
        value: &Value,
    ) -> Result<()> {
        self.client
            .send(
                self.call(
                    Method::PUT,
                    "issue/{}/properties/{}",
                    &["issue", issue.as_str(), "properties", key],
                )
                .issue(issue.as_str())
                .json(value.clone()),
            )
            .await
            .map_err(|e| {
                op(e, "set issue property")
                    .with_issue(issue)
                    .with_context("property", key)
            })?;
        Ok(())
    }

    pub(crate) async fn comment_property(
        &self,
        comment: &CommentId,
        key: &str,
    ) -> Result<Option<Value>> {
        let result = self
            .client
            .json(self.call(
                Method::GET,
                "comment/{}/properties/{}",
                &["comment", comment.as_str(), "properties", key],
            ))
            .await;
        match result {
            Ok(v) => Ok(v.get("value").cloned()),
            Err(e) if e.http_status() == Some(404) => {
                self.client
                    .send(self.call(
                        Method::GET,
                        "comment/{}/properties",
                        &["comment", comment.as_str(), "properties"],
                    ))
                    .await
                    .map_err(|e| op(e, "get comment property").with_context("comment", comment))?;
                Ok(None)
            }
            Err(e) => Err(op(e, "get comment property")
                .with_context("comment", comment)
                .with_context("property", key)),
        }
    }

    pub(crate) async fn set_comment_property(
        &self,
        comment: &CommentId,
        key: &str,
        value: &Value,
    ) -> Result<()> {
        self.client
            .send(
                self.call(
                    Method::PUT,
                    "comment/{}/properties/{}",
                    &["comment", comment.as_str(), "properties", key],
                )
                .json(value.clone()),
            )
            .await
            .map_err(|e| {
                op(e, "set comment property")
                    .with_context("comment", comment)
                    .with_context("property", key)
            })?;
        Ok(())
    }

    pub(crate) async fn myself(&self) -> Result<UserRef> {
        let v = self
            .client
            .json(self.call(Method::GET, "myself", &["myself"]))
            .await
            .map_err(|e| op(e, "myself"))?;
        mapping::user(&v).map_err(|e| op(e, "myself"))
    }

    /// Cloud: the bulk permission check, which answers for any account.
    pub(crate) async fn check_permissions(&self, user: &UserId, body: Value) -> Result<Value> {
        let mut body = body;
        body["accountId"] = json!(user.as_str());
        self.client
            .json(
                self.call(Method::POST, "permissions/check", &["permissions", "check"])
                    .json(body),
            )
            .await
            .map_err(|e| op(e, "check permissions").with_context("user", user))
    }

    pub(crate) async fn is_global_admin(&self, user: &UserId) -> Result<bool> {
        match self.flavor {
            Flavor::Cloud => {
                let v = self
                    .check_permissions(user, json!({"globalPermissions": ["ADMINISTER"]}))
                    .await?;
                Ok(v.get("globalPermissions")
                    .and_then(Value::as_array)
                    .is_some_and(|p| p.iter().any(|x| x == "ADMINISTER")))
            }
            Flavor::DataCenter => {
                let me = self.myself().await?;
                if &me.id != user {
                    return Err(Error::new(
                        ErrorKind::Unsupported,
                        format!(
                            "jira data center cannot tell whether user {user} administers the instance; only the adapter's own user can be checked"
                        ),
                    ));
                }
                let v = self
                    .client
                    .json(
                        self.call(Method::GET, "mypermissions", &["mypermissions"])
                            .query("permissions", "ADMINISTER"),
                    )
                    .await
                    .map_err(|e| op(e, "my permissions"))?;
                Ok(v.pointer("/permissions/ADMINISTER/havePermission")
                    .and_then(Value::as_bool)
                    .unwrap_or(false))
            }
        }
    }

    pub(crate) async fn is_project_admin(
        &self,
        user: &UserId,
        project: &ProjectKey,
    ) -> Result<bool> {
        let p = self.project_json(project).await?;
        match self.flavor {
            Flavor::Cloud => {
                let project_id = p
                    .get("id")
                    .and_then(|v| match v {
                        Value::String(s) => s.parse::<i64>().ok(),
                        other => other.as_i64(),
                    })
                    .ok_or_else(|| unexpected("get project").with_context("project", project))?;
                let v = self
                    .check_permissions(
                        user,
                        json!({"projectPermissions": [{"permissions": ["ADMINISTER_PROJECTS"], "projects": [project_id]}]}),
                    )
                    .await?;
                Ok(v.get("projectPermissions")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .any(|grant| {
                        grant.get("permission").and_then(Value::as_str)
                            == Some("ADMINISTER_PROJECTS")
                            && grant
                                .get("projects")
                                .and_then(Value::as_array)
                                .is_some_and(|ids| {
                                    ids.iter().any(|id| id.as_i64() == Some(project_id))
                                })
                    }))
            }
            Flavor::DataCenter => {
                let v = self
                    .client
                    .json(
                        self.call(
                            Method::GET,
                            "user/permission/search",
                            &["user", "permission", "search"],
                        )
                        .query("username", user.as_str())
                        .query("permissions", "ADMINISTER_PROJECTS")
                        .query("projectKey", project.as_str())
                        .query("maxResults", "1000"),
                    )
                    .await
                    .map_err(|e| {
                        op(e, "find project admins")
                            .with_context("project", project)
                            .with_context("user", user)
                    })?;
                Ok(v.as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|u| mapping::user(u).ok())
                    .any(|u| &u.id == user))
            }
        }
    }

    pub(crate) async fn group_members(&self, group: &str) -> Result<Option<Vec<UserId>>> {
        let mut members = Vec::new();
        let mut start = 0usize;
        for _ in 0..MAX_PAGES {
            let result = self
                .client
                .json(
                    self.call(Method::GET, "group/member", &["group", "member"])
                        .query("groupname", group)
                        .query("startAt", start.to_string())
                        .query("maxResults", "50"),
                )
                .await;
            let page = match result {
                Ok(page) => page,
                Err(e) if e.http_status() == Some(404) => return Ok(None),
                Err(e) => return Err(op(e, "list group members").with_context("group", group)),
            };
            let values = page
                .get("values")
                .and_then(Value::as_array)
                .map_or(&[][..], Vec::as_slice);
            members.extend(
                values
                    .iter()
                    .filter_map(|u| mapping::user(u).ok())
                    .map(|u| u.id),
            );
            start += values.len();
            if values.is_empty() || page.get("isLast").and_then(Value::as_bool) != Some(false) {
                break;
            }
        }
        Ok(Some(members))
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

    #[test]
    fn updated_since_rounds_down_to_the_minute_in_the_users_zone() {
        let since = time::macros::datetime!(2026-03-04 10:15:59.9 UTC);
        assert_eq!(
            updated_since_jql(&ProjectKey::new("SUP"), since, UtcOffset::UTC),
            "project = \"SUP\" AND updated >= \"2026-03-04 10:15\" ORDER BY updated ASC"
        );
        let berlin = UtcOffset::from_hms(1, 0, 0).unwrap();
        assert!(
            updated_since_jql(&ProjectKey::new("SUP"), since, berlin)
                .contains("\"2026-03-04 11:15\"")
        );
    }
}
