//! Users' profiles: `GET user` (by `accountId`, `username` or `key`) and
//! `GET user/search` (Cloud `query`, Data Center `username`), with
//! `emailAddress` only for users who show it, and searches that match
//! prefixes of names and addresses as Jira's do.

use hyper::StatusCode;
use serde_json::{Value, json};

use super::super::render;
use super::{Api, Reply, fail, from_error};
use crate::model::{UserId, UserProfile, UserRef};
use crate::tracker::Tracker;

fn render_profile(api: &Api<'_>, p: &UserProfile) -> Value {
    let mut v = render::user(
        &api.ctx,
        &UserRef::new(p.id.clone(), p.display_name.clone()),
    );
    if let Some(email) = &p.email {
        v["emailAddress"] = json!(email);
    }
    v
}

impl Api<'_> {
    pub(super) async fn user_profile(&self) -> Reply {
        let Some(id) = ["accountId", "username", "key"]
            .iter()
            .find_map(|name| self.q(name))
        else {
            return fail(
                StatusCode::BAD_REQUEST,
                "You must specify an accountId (or a username or key).",
            );
        };
        let Ok(id) = UserId::new(id) else {
            return fail(StatusCode::NOT_FOUND, "Specified user does not exist.");
        };
        match self.t.user_profile(&id).await {
            Ok(p) => Reply::json(StatusCode::OK, render_profile(self, &p)),
            Err(err) => from_error(&err),
        }
    }

    pub(super) fn user_search(&self) -> Reply {
        let param = if self.ctx.v2 { "username" } else { "query" };
        let Some(query) = self.q(param).or_else(|| self.q("query")) else {
            return fail(
                StatusCode::BAD_REQUEST,
                &format!("The {param} parameter is required."),
            );
        };
        let query = query.to_lowercase();
        let max = self.q_usize("maxResults", 50).clamp(1, 1000);
        let found: Vec<Value> = self
            .t
            .inspect_users()
            .iter()
            .filter(|p| {
                p.display_name.to_lowercase().starts_with(&query)
                    || p.id.as_str().to_lowercase().starts_with(&query)
                    || p.email
                        .as_deref()
                        .is_some_and(|e| e.to_lowercase().starts_with(&query))
            })
            .take(max)
            .map(|p| render_profile(self, p))
            .collect();
        Reply::json(StatusCode::OK, Value::Array(found))
    }
}
