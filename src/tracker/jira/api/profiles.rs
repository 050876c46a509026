//! Users' profiles: one by account id (Cloud `accountId`, Data Center
//! `username`), and users by exact email address.

use reqwest::Method;
use serde_json::Value;

use super::super::mapping::{self, Flavor};
use super::{Jira, op};
use crate::error::Result;
use crate::model::{UserId, UserProfile};

/// A user object as a profile; `emailAddress` when Jira shows it (Cloud
/// leaves it out, or sends it empty, when the user hides it).
fn profile(v: &Value) -> Option<UserProfile> {
    let user = mapping::user(v).ok()?;
    let mut p = UserProfile::new(user.id, user.display_name);
    p.email = v
        .get("emailAddress")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(str::to_owned);
    Some(p)
}

impl Jira {
    /// `GET /rest/api/3/user?accountId=` (Cloud) or
    /// `GET /rest/api/2/user?username=` (Data Center).
    pub(crate) async fn user_profile(&self, id: &UserId) -> Result<UserProfile> {
        let param = match self.flavor {
            Flavor::Cloud => "accountId",
            Flavor::DataCenter => "username",
        };
        let v = self
            .client
            .json(
                self.call(Method::GET, "user", &["user"])
                    .query(param, id.as_str()),
            )
            .await
            .map_err(|e| op(e, "get user").with_context("user", id))?;
        profile(&v).ok_or_else(|| {
            op(
                super::super::error::JiraError::malformed("a user", "no account id"),
                "get user",
            )
        })
    }

    /// `GET /rest/api/3/user/search?query=` (Cloud) or
    /// `GET /rest/api/2/user/search?username=` (Data Center), keeping only
    /// the users whose shown email is exactly `email`: Jira's search also
    /// matches prefixes of names and addresses.
    pub(crate) async fn users_by_email(&self, email: &str) -> Result<Vec<UserProfile>> {
        let param = match self.flavor {
            Flavor::Cloud => "query",
            Flavor::DataCenter => "username",
        };
        let v = self
            .client
            .json(
                self.call(Method::GET, "user/search", &["user", "search"])
                    .query(param, email)
                    .query("maxResults", "50"),
            )
            .await
            .map_err(|e| op(e, "find users by email"))?;
        Ok(v.as_array()
            .into_iter()
            .flatten()
            .filter_map(profile)
            .filter(|p| {
                p.email
                    .as_deref()
                    .is_some_and(|e| e.eq_ignore_ascii_case(email))
            })
            .collect())
    }
}
