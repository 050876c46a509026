//! Server info, users, permissions and groups.

use hyper::StatusCode;
use serde_json::{Value, json};

use super::super::lock;
use super::super::render;
use super::{Api, Reply, fail, from_error};
use crate::model::{ProjectKey, UserId, UserRef};
use crate::tracker::Tracker;

impl Api<'_> {
    pub(super) fn server_info(&self) -> Reply {
        let cloud = self.cloud();
        Reply::json(
            StatusCode::OK,
            json!({
                "baseUrl": self.ctx.base,
                "displayUrl": self.ctx.base,
                "version": if cloud { "1001.0.0-SNAPSHOT" } else { "9.12.0" },
                "versionNumbers": if cloud { [1001, 0, 0] } else { [9, 12, 0] },
                "deploymentType": self.shared.deployment.as_str(),
                "buildNumber": 100_000,
                "buildDate": "2026-01-01T00:00:00.000+0000",
                "serverTime": crate::tracker::jira::mapping::format_time(time::OffsetDateTime::now_utc()),
                "scmInfo": "twinsync-emulator",
                "serverTitle": "Jira (twinsync emulator)",
            }),
        )
    }

    pub(super) fn myself(&self) -> Reply {
        Reply::json(StatusCode::OK, render::user(&self.ctx, &self.req.user))
    }

    pub(super) async fn has_permission(
        &self,
        user: &UserId,
        permission: &str,
        project: Option<&ProjectKey>,
    ) -> bool {
        match permission {
            "ADMINISTER" | "SYSTEM_ADMIN" => self.t.is_global_admin(user).await.unwrap_or(false),
            "ADMINISTER_PROJECTS" => match project {
                Some(p) => self.t.is_project_admin(user, p).await.unwrap_or(false),
                None => false,
            },
            _ => true,
        }
    }

    pub(super) async fn permissions_check(&self) -> Reply {
        let body = self.req.json.cloned().unwrap_or(Value::Null);
        let caller = self.req.user.id.clone();
        let target = match body.get("accountId").and_then(Value::as_str) {
            None => caller.clone(),
            Some(id) => match UserId::new(id) {
                Ok(id) => id,
                Err(err) => return from_error(&err),
            },
        };
        if target != caller && !self.t.is_global_admin(&caller).await.unwrap_or(false) {
            return fail(
                StatusCode::FORBIDDEN,
                "Only Jira administrators can perform this operation.",
            );
        }
        let mut global = Vec::new();
        for p in body
            .get("globalPermissions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(p) = p.as_str()
                && self.has_permission(&target, p, None).await
            {
                global.push(json!(p));
            }
        }
        let mut grants = Vec::new();
        for request in body
            .get("projectPermissions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let projects: Vec<u64> = request
                .get("projects")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_u64)
                .collect();
            for p in request
                .get("permissions")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let Some(p) = p.as_str() else { continue };
                let mut granted = Vec::new();
                for id in &projects {
                    if let Some(key) = self.project_key_by_id(*id)
                        && self.has_permission(&target, p, Some(&key)).await
                    {
                        granted.push(json!(id));
                    }
                }
                if !granted.is_empty() {
                    grants.push(json!({"permission": p, "projects": granted, "issues": []}));
                }
            }
        }
        Reply::json(
            StatusCode::OK,
            json!({"globalPermissions": global, "projectPermissions": grants}),
        )
    }

    pub(super) async fn my_permissions(&self) -> Reply {
        let Some(list) = self.q("permissions") else {
            return fail(
                StatusCode::BAD_REQUEST,
                "The permissions parameter is required.",
            );
        };
        let project = match self.q("projectKey").map(ProjectKey::new).transpose() {
            Ok(project) => project,
            Err(err) => return from_error(&err),
        };
        let mut out = serde_json::Map::new();
        for p in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let have = self
                .has_permission(&self.req.user.id, p, project.as_ref())
                .await;
            out.insert(
                p.to_owned(),
                json!({"id": "0", "key": p, "name": p, "type": if p == "ADMINISTER" { "GLOBAL" } else { "PROJECT" }, "description": "", "havePermission": have}),
            );
        }
        Reply::json(StatusCode::OK, json!({"permissions": out}))
    }

    pub(super) fn users(&self) -> Vec<UserRef> {
        let mut users: Vec<UserRef> = lock(&self.shared.credentials).values().cloned().collect();
        users.sort();
        users.dedup();
        users
    }

    pub(super) async fn users_with_permission(&self) -> Reply {
        let Some(list) = self.q("permissions") else {
            return fail(
                StatusCode::BAD_REQUEST,
                "The permissions parameter is required.",
            );
        };
        let project = match self.q("projectKey") {
            Some(key) => match self.project_info(key).await {
                Ok(info) => Some(info.key),
                Err(reply) => return reply,
            },
            None => None,
        };
        let name = self.q("username").unwrap_or("").to_ascii_lowercase();
        let mut out = Vec::new();
        for user in self.users() {
            if !user.id.as_str().to_ascii_lowercase().starts_with(&name) {
                continue;
            }
            let mut all = true;
            for p in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                all &= self.has_permission(&user.id, p, project.as_ref()).await;
            }
            if all {
                out.push(render::user(&self.ctx, &user));
            }
        }
        Reply::json(StatusCode::OK, Value::Array(out))
    }

    pub(super) async fn group_members(&self) -> Reply {
        let Some(group) = self.q("groupname") else {
            return fail(
                StatusCode::BAD_REQUEST,
                "You must specify a group name or id.",
            );
        };
        let members = match self.t.group_members(group).await {
            Ok(Some(m)) => m,
            Ok(None) => return fail(StatusCode::NOT_FOUND, "Specified group does not exist."),
            Err(err) => return from_error(&err),
        };
        let users = self.users();
        let start = self.q_usize("startAt", 0);
        let max = self.q_usize("maxResults", 50).clamp(1, 50);
        let values: Vec<Value> = members
            .iter()
            .skip(start)
            .take(max)
            .map(|id| {
                let user = users
                    .iter()
                    .find(|u| &u.id == id)
                    .cloned()
                    .unwrap_or_else(|| UserRef::new(id.clone(), id.as_str()));
                render::user(&self.ctx, &user)
            })
            .collect();
        Reply::json(
            StatusCode::OK,
            json!({
                "self": format!("{}/group/member?groupname={group}&startAt={start}&maxResults={max}", self.ctx.api()),
                "startAt": start,
                "maxResults": max,
                "total": members.len(),
                "isLast": start + max >= members.len(),
                "values": values,
            }),
        )
    }
}
