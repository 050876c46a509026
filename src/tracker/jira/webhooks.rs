//! Jira Cloud's dynamic webhooks (`/rest/api/3/webhook`): what an OAuth 2.0
//! app registers, lists, refreshes and removes. Only OAuth 2.0 (and Connect)
//! apps may call these; an API-token user enters an admin webhook in Jira's
//! settings instead (see [`admin_webhook_settings`](crate::server::webhook::admin_webhook_settings)
//! with feature `http`).

use reqwest::Method;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::api::{op, unexpected};
use super::cloud::JiraCloud;
use crate::error::{Error, ErrorKind, Result};

/// One dynamic webhook registered by the calling app.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DynamicWebhook {
    /// Its id.
    pub id: u64,
    /// Where Jira sends its deliveries.
    pub url: String,
    /// The events, by Jira's names (such as `jira:issue_updated`).
    pub events: Vec<String>,
    /// The JQL filter issues must match.
    pub jql: String,
    /// When Jira stops sending it, unless refreshed.
    pub expires: Option<OffsetDateTime>,
}

/// The answer for one webhook of a registration: its id, or why Jira
/// refused it.
pub type Registered = std::result::Result<u64, String>;

/// A webhook to register: the events and the JQL filter.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct NewDynamicWebhook {
    /// The events, by Jira's names.
    pub events: Vec<String>,
    /// The JQL filter.
    pub jql: String,
}

impl NewDynamicWebhook {
    /// A webhook for `events` on the issues `jql` matches.
    pub fn new<I, S>(events: I, jql: impl Into<String>) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        NewDynamicWebhook {
            events: events.into_iter().map(Into::into).collect(),
            jql: jql.into(),
        }
    }
}

const PAGE: u32 = 100;
const MAX_PAGES: u32 = 100;

impl JiraCloud {
    /// The dynamic webhooks this app registered (`GET /rest/api/3/webhook`,
    /// every page).
    ///
    /// # Errors
    ///
    /// As any Jira call; `PermissionDenied` when the credentials are not an
    /// OAuth 2.0 app's.
    pub async fn dynamic_webhooks(&self) -> Result<Vec<DynamicWebhook>> {
        let mut all = Vec::new();
        for page in 0..MAX_PAGES {
            let call = self
                .jira
                .call(Method::GET, "webhook", &["webhook"])
                .query("startAt", (page * PAGE).to_string())
                .query("maxResults", PAGE.to_string());
            let answer = self
                .jira
                .client
                .json(call)
                .await
                .map_err(|e| op(e, "list dynamic webhooks"))?;
            let values = answer
                .get("values")
                .and_then(Value::as_array)
                .ok_or_else(|| unexpected("list dynamic webhooks"))?;
            for value in values {
                all.push(webhook(value).ok_or_else(|| unexpected("list dynamic webhooks"))?);
            }
            let last = answer
                .get("isLast")
                .and_then(Value::as_bool)
                .unwrap_or(true);
            if last || values.is_empty() {
                return Ok(all);
            }
        }
        Err(Error::new(
            ErrorKind::Unexpected,
            "jira listed more than 10 000 dynamic webhooks; its paging looks broken",
        ))
    }

    /// Registers `webhooks`, all delivered to `url` (`POST /rest/api/3/webhook`);
    /// the answers are in the same order.
    ///
    /// # Errors
    ///
    /// As any Jira call (a webhook Jira refuses is an `Err` in the answer).
    pub async fn register_dynamic_webhooks(
        &self,
        url: &str,
        webhooks: &[NewDynamicWebhook],
    ) -> Result<Vec<Registered>> {
        let body = json!({
            "url": url,
            "webhooks": webhooks
                .iter()
                .map(|w| json!({"events": w.events, "jqlFilter": w.jql}))
                .collect::<Vec<_>>(),
        });
        let answer = self
            .jira
            .client
            .json(
                self.jira
                    .call(Method::POST, "webhook", &["webhook"])
                    .json(body),
            )
            .await
            .map_err(|e| op(e, "register dynamic webhooks"))?;
        let results = answer
            .get("webhookRegistrationResult")
            .and_then(Value::as_array)
            .ok_or_else(|| unexpected("register dynamic webhooks"))?;
        Ok(results
            .iter()
            .map(
                |r| match r.get("createdWebhookId").and_then(Value::as_u64) {
                    Some(id) => Ok(id),
                    None => Err(r
                        .get("errors")
                        .and_then(Value::as_array)
                        .map(|e| {
                            e.iter()
                                .filter_map(Value::as_str)
                                .collect::<Vec<_>>()
                                .join("; ")
                        })
                        .filter(|e| !e.is_empty())
                        .unwrap_or_else(|| "jira gave no reason".to_owned())),
                },
            )
            .collect())
    }

    /// Extends the life of `ids` (`PUT /rest/api/3/webhook/refresh`); returns
    /// their new expiry.
    ///
    /// # Errors
    ///
    /// As any Jira call.
    pub async fn refresh_dynamic_webhooks(&self, ids: &[u64]) -> Result<OffsetDateTime> {
        let answer = self
            .jira
            .client
            .json(
                self.jira
                    .call(Method::PUT, "webhook/refresh", &["webhook", "refresh"])
                    .json(json!({ "webhookIds": ids })),
            )
            .await
            .map_err(|e| op(e, "refresh dynamic webhooks"))?;
        answer
            .get("expirationDate")
            .and_then(expiry)
            .ok_or_else(|| unexpected("refresh dynamic webhooks"))
    }

    /// Removes `ids` (`DELETE /rest/api/3/webhook`).
    ///
    /// # Errors
    ///
    /// As any Jira call.
    pub async fn delete_dynamic_webhooks(&self, ids: &[u64]) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        self.jira
            .client
            .send(
                self.jira
                    .call(Method::DELETE, "webhook", &["webhook"])
                    .json(json!({ "webhookIds": ids })),
            )
            .await
            .map_err(|e| op(e, "delete dynamic webhooks"))?;
        Ok(())
    }
}

fn webhook(value: &Value) -> Option<DynamicWebhook> {
    Some(DynamicWebhook {
        id: value.get("id")?.as_u64()?,
        url: value.get("url")?.as_str()?.to_owned(),
        events: value
            .get("events")?
            .as_array()?
            .iter()
            .filter_map(|e| e.as_str().map(str::to_owned))
            .collect(),
        jql: value.get("jqlFilter")?.as_str()?.to_owned(),
        expires: value.get("expirationDate").and_then(expiry),
    })
}

/// An expiry as Jira writes it: milliseconds since the epoch (the spec) or a
/// date-time text (the spec's examples).
fn expiry(value: &Value) -> Option<OffsetDateTime> {
    if let Some(ms) = value.as_i64() {
        return OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok();
    }
    value.as_str().and_then(super::mapping::parse_time)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_reads_both_shapes() {
        let ms = expiry(&json!(1_559_392_950_000_i64)).unwrap();
        let text = expiry(&json!("2019-06-01T12:42:30.000+0000")).unwrap();
        assert_eq!(ms, text);
        assert!(expiry(&json!(true)).is_none());
    }
}
