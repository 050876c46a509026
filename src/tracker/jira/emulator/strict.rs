//! What kind of site the emulator says it is, and strict mode: every JSON
//! request body handed to a validator the test supplies before it is applied.
//!
//! The emulator does not know Atlassian's OpenAPI spec or the ADF schema
//! itself (they are large and not this crate's to ship); a test that has them
//! passes a [`RequestValidator`] that checks bodies against them. A refused
//! body is answered 400 with Jira's error shape and recorded as a
//! [`Violation`], so the test can assert none happened.

use std::fmt;
use std::sync::Arc;

use serde_json::Value;

/// What the emulated site says it is in `serverInfo`, and how its
/// `/rest/api/2` behaves.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Deployment {
    /// Jira Cloud (the default): `/rest/api/2` is Cloud's v2, the same
    /// operations as v3 with wiki-markup bodies; `GET /rest/api/{2,3}/search`
    /// answers 410 Gone and `/search/jql` is the search.
    #[default]
    Cloud,
    /// Jira Data Center: `/rest/api/2/search` paged by `startAt`, createmeta in
    /// the Data Center shape (`values`), no `/rest/api/2/search/jql`. The v3
    /// paths stay as on Cloud, so a test can read one site through both adapters.
    DataCenter,
}

impl Deployment {
    /// `serverInfo`'s `deploymentType`.
    pub fn as_str(self) -> &'static str {
        match self {
            Deployment::Cloud => "Cloud",
            Deployment::DataCenter => "Server",
        }
    }
}

/// One request body strict mode checks.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct CheckedRequest<'a> {
    /// The method, such as `POST`.
    pub method: &'a str,
    /// The path as sent, without the query, such as `/rest/api/3/issue/SUP-1`.
    /// The validator finds the operation (the spec lists operations by path
    /// template: `/rest/api/3/issue/{issueIdOrKey}`).
    pub path: &'a str,
    /// The query string, without `?` (may be empty).
    pub query: &'a str,
    /// The JSON body.
    pub body: &'a Value,
}

/// Checks request bodies in strict mode: `Err` with the problems refuses the
/// request. Closures `Fn(&CheckedRequest) -> Result<(), Vec<String>>` are
/// validators.
pub trait RequestValidator: Send + Sync {
    /// `Ok` to let the request through, or the problems that refuse it.
    ///
    /// # Errors
    ///
    /// The reasons the body is not what Jira accepts.
    fn validate(&self, request: &CheckedRequest<'_>) -> Result<(), Vec<String>>;
}

impl<F> RequestValidator for F
where
    F: Fn(&CheckedRequest<'_>) -> Result<(), Vec<String>> + Send + Sync,
{
    fn validate(&self, request: &CheckedRequest<'_>) -> Result<(), Vec<String>> {
        self(request)
    }
}

/// A [`RequestValidator`] held by the emulator's options.
#[derive(Clone)]
pub struct StrictRequests(pub Arc<dyn RequestValidator>);

impl fmt::Debug for StrictRequests {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StrictRequests(..)")
    }
}

/// A request strict mode refused (answered 400, nothing applied).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Violation {
    /// The method, such as `PUT`.
    pub method: String,
    /// The path without the query.
    pub path: String,
    /// The body that was refused.
    pub body: Value,
    /// What the validator found wrong.
    pub problems: Vec<String>,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.method,
            self.path,
            self.problems.join("; ")
        )
    }
}
