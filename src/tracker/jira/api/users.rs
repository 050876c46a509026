//! The integration user, permissions and groups.

use reqwest::Method;
use serde_json::{Value, json};

use super::super::mapping::{self, Flavor};
use super::{Jira, MAX_PAGES, op, unexpected};
use crate::error::{Error, ErrorKind, Result};
use crate::model::{ProjectKey, UserId, UserRef};

impl Jira {
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
