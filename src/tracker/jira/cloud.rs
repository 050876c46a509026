//! [`JiraCloud`]: Jira Cloud over REST v3, rich text as ADF.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use time::UtcOffset;

use super::api::{Jira, MAX_BULK_CREATE, MAX_PAGE_SIZE};
use super::client::{Auth, Client, Secret, Settings};
use super::mapping::Flavor;
use crate::clock::Clock;
use crate::error::{Error, ErrorKind, Result};
use crate::model::InstanceUrl;
use crate::tracker::Capabilities;

/// A Jira Cloud site as a [`Tracker`](crate::Tracker), over REST API v3.
///
/// Descriptions and comments travel as ADF documents, kept as they are.
/// Sign in with an Atlassian account's email and API token, or with an OAuth
/// 2.0 access token; the token never appears in `Debug` output, errors or logs.
///
/// ```no_run
/// use twinsync::tracker::jira::JiraCloud;
///
/// let jira = JiraCloud::builder()
///     .base_url("https://acme.atlassian.net")
///     .api_token("sync-bot@acme.example", "ATATT3x…")
///     .build()?;
/// // or, from JIRA_URL, JIRA_EMAIL and JIRA_API_TOKEN:
/// let jira = JiraCloud::from_env()?;
/// # Ok::<(), twinsync::Error>(())
/// ```
///
/// How it uses Jira:
///
/// - A create sends the issue's (or comment's) entity properties in the same
///   request, so the sync marker is never missing.
/// - [`issue`](crate::Tracker::issue) reads the issue with all its properties
///   and its comments with theirs (two calls); searches use
///   `/rest/api/3/search/jql` paged by `nextPageToken`, ask for the fields
///   twinsync needs and the properties named by
///   [`search_properties`](JiraCloudBuilder::search_properties) (Jira returns at
///   most five, and no comment properties: read an issue directly for those).
/// - `updated_since` is the JQL `project = X AND updated >= "yyyy-MM-dd HH:mm"
///   ORDER BY updated ASC`, rounded down to the minute in
///   [`jql_time_zone`](JiraCloudBuilder::jql_time_zone) (set it to the
///   integration user's profile time zone; UTC by default).
/// - Attachment downloads follow Jira's redirect; Jira does not report a
///   content hash, so [`AttachmentMeta::sha256`](crate::model::AttachmentMeta::sha256) is `None`.
/// - [`create_issues`](crate::Tracker::create_issues) sends up to 50 issues
///   per `POST /rest/api/3/issue/bulk`, each with its properties, and maps
///   Jira's `issues` and `errors` (by `failedElementNumber`) back to each
///   element in order; an element the answer does not mention is a `Timeout`
///   (it may exist: settle it by its marker).
/// - Rate limits: it never repeats a request, but after a 429 it holds back
///   the calls Jira would refuse (see [`jira`](super) for the rules).
/// - [`workflow`](crate::Tracker::workflow) asks `POST
///   /rest/api/3/workflows/preview` (it needs the *Administer projects* or
///   *View workflow* permission; without it, `None`) and keeps the answer
///   per project and issue type; [`transitions`](crate::Tracker::transitions)
///   reads `GET …/issue/{id}/transitions?expand=transitions.fields`, and
///   [`transition_issue`](crate::Tracker::transition_issue) posts the
///   transition with its fields (`resolution` and `priority` by name). A
///   400 naming fields is `InvalidInput`; one that does not (the transition
///   is not offered, or a validator refuses) is `Refused`, with Jira's
///   message.
pub struct JiraCloud {
    pub(super) jira: Jira,
}

impl fmt::Debug for JiraCloud {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JiraCloud")
            .field("url", self.jira.client.instance())
            .finish_non_exhaustive()
    }
}

impl fmt::Display for JiraCloud {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "jira cloud {}", self.jira.client.instance())
    }
}

impl JiraCloud {
    /// A builder; [`base_url`](JiraCloudBuilder::base_url) and credentials are required.
    pub fn builder() -> JiraCloudBuilder {
        JiraCloudBuilder::default()
    }

    /// An adapter configured from `JIRA_URL`, `JIRA_EMAIL` and `JIRA_API_TOKEN`.
    ///
    /// # Errors
    ///
    /// `InvalidConfig` naming the variable that is missing, or when the URL is invalid.
    pub fn from_env() -> Result<Self> {
        let var = |name: &str| {
            std::env::var(name).ok().filter(|v| !v.trim().is_empty()).ok_or_else(|| {
                Error::new(
                    ErrorKind::InvalidConfig,
                    format!("environment variable {name} is not set; jira cloud needs JIRA_URL, JIRA_EMAIL and JIRA_API_TOKEN"),
                )
            })
        };
        JiraCloud::builder()
            .base_url(var("JIRA_URL")?)
            .api_token(var("JIRA_EMAIL")?, var("JIRA_API_TOKEN")?)
            .build()
    }

    /// The site's normalized base URL.
    pub fn url(&self) -> &InstanceUrl {
        self.jira.client.instance()
    }
}

/// Builds a [`JiraCloud`].
#[derive(Clone, Debug)]
pub struct JiraCloudBuilder {
    settings: Settings,
    search_properties: Vec<String>,
    jql_offset: UtcOffset,
}

impl Default for JiraCloudBuilder {
    fn default() -> Self {
        JiraCloudBuilder {
            settings: Settings::default(),
            search_properties: vec![super::MARKER_PROPERTY.to_owned()],
            jql_offset: UtcOffset::UTC,
        }
    }
}

impl JiraCloudBuilder {
    /// The site, such as `https://acme.atlassian.net`.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.settings.base_url = Some(url.into());
        self
    }

    /// Signs in with an Atlassian account's email and API token (HTTP Basic).
    pub fn api_token(mut self, email: impl Into<String>, token: impl Into<String>) -> Self {
        self.settings.auth = Some(Auth::Basic {
            email: email.into(),
            token: Secret::new(token),
        });
        self
    }

    /// Signs in with an OAuth 2.0 access token (sent as a bearer token).
    pub fn oauth_token(mut self, token: impl Into<String>) -> Self {
        self.settings.auth = Some(Auth::Bearer(Secret::new(token)));
        self
    }

    /// How long one call may take before it fails with `Timeout` (default 60 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.settings.timeout = timeout;
        self
    }

    /// How many calls may run at once (default 8); Jira's
    /// `X-RateLimit-NearLimit` lowers it to one for a while.
    pub fn concurrency(mut self, calls: usize) -> Self {
        self.settings.concurrency = calls;
        self
    }

    /// The issue properties searches return (Jira allows five; default
    /// `twinsync.marker`). [`issue`](crate::Tracker::issue) always returns all.
    pub fn search_properties<I, S>(mut self, keys: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.search_properties = keys.into_iter().map(Into::into).take(5).collect();
        self
    }

    /// The clock that times and waits out rate-limit holds (default: the
    /// system clock). Give the engine's clock, so a virtual clock in tests
    /// and simulations makes the waits instant.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.settings.clock = clock;
        self
    }

    /// The integration user's time zone offset, in which JQL reads times (default UTC).
    pub fn jql_time_zone(mut self, offset: UtcOffset) -> Self {
        self.jql_offset = offset;
        self
    }

    /// The adapter.
    ///
    /// # Errors
    ///
    /// `InvalidConfig` when the base URL or the credentials are missing or unusable.
    pub fn build(self) -> Result<JiraCloud> {
        Ok(JiraCloud {
            jira: Jira {
                client: Client::new(&self.settings, "jira cloud")?,
                flavor: Flavor::Cloud,
                search_properties: self.search_properties,
                jql_offset: self.jql_offset,
                media: Default::default(),
                custom_kinds: Default::default(),
                workflows: Default::default(),
            },
        })
    }
}

super::delegate_tracker!(
    JiraCloud,
    "jira-cloud",
    Capabilities {
        batch_create: MAX_BULK_CREATE as u32,
        // The documented limits, which a node paces its calls to.
        rate_limits: Some(crate::tracker::RateLimits::jira_cloud()),
        ..Capabilities::all(MAX_PAGE_SIZE)
    },
    create_issues
);
