//! [`JiraDataCenter`]: Jira Data Center and Server over REST v2, rich text as wiki markup.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use time::UtcOffset;

use super::api::{Jira, MAX_PAGE_SIZE};
use super::client::{Auth, Client, Secret, Settings};
use super::mapping::Flavor;
use crate::clock::Clock;
use crate::error::Result;
use crate::model::InstanceUrl;
use crate::tracker::Capabilities;

/// A Jira Data Center or Server instance as a [`Tracker`](crate::Tracker), over REST API v2.
///
/// Jira Data Center stores rich text as wiki markup. The adapter converts it
/// to ADF when it reads and back when it writes (see [`markup`](super::markup)),
/// so descriptions and comments look the same as a Cloud twin's and Cloud ↔
/// Data Center pairs converge. Searches use `/rest/api/2/search` paged by
/// `startAt`; it signs in with a personal access token.
///
/// ```no_run
/// use twinsync::tracker::jira::JiraDataCenter;
///
/// let jira = JiraDataCenter::builder()
///     .base_url("https://jira.acme.example")
///     .personal_access_token("NjM0…")
///     .build()?;
/// # Ok::<(), twinsync::Error>(())
/// ```
///
/// Data Center has no bulk permission check: [`is_global_admin`](crate::Tracker::is_global_admin)
/// answers for the adapter's own user only (`Unsupported` for others);
/// [`is_project_admin`](crate::Tracker::is_project_admin) answers for anyone.
///
/// Data Center has no workflow preview: [`workflow`](crate::Tracker::workflow)
/// answers `None` (a status is then reached by one transition), while
/// [`transitions`](crate::Tracker::transitions) and
/// [`transition_issue`](crate::Tracker::transition_issue) work as on Cloud.
///
/// [`create_issues`](crate::Tracker::create_issues) creates issues one by one
/// (the trait's default; `batch_create` is 1). Data Center's own bulk
/// endpoint, `POST /rest/api/2/issue/bulk`, differs from Cloud's in what it
/// takes and answers, and this adapter does not use it yet.
pub struct JiraDataCenter {
    pub(super) jira: Jira,
}

impl fmt::Debug for JiraDataCenter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JiraDataCenter")
            .field("url", self.jira.client.instance())
            .finish_non_exhaustive()
    }
}

impl fmt::Display for JiraDataCenter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "jira data center {}", self.jira.client.instance())
    }
}

impl JiraDataCenter {
    /// A builder; [`base_url`](JiraDataCenterBuilder::base_url) and a token are required.
    pub fn builder() -> JiraDataCenterBuilder {
        JiraDataCenterBuilder::default()
    }

    /// The instance's normalized base URL.
    pub fn url(&self) -> &InstanceUrl {
        self.jira.client.instance()
    }
}

/// Builds a [`JiraDataCenter`].
#[derive(Clone, Debug)]
pub struct JiraDataCenterBuilder {
    settings: Settings,
    search_properties: Vec<String>,
    jql_offset: UtcOffset,
}

impl Default for JiraDataCenterBuilder {
    fn default() -> Self {
        JiraDataCenterBuilder {
            settings: Settings::default(),
            search_properties: vec![super::MARKER_PROPERTY.to_owned()],
            jql_offset: UtcOffset::UTC,
        }
    }
}

impl JiraDataCenterBuilder {
    /// The instance, such as `https://jira.acme.example` (a context path such as `/jira` is kept).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.settings.base_url = Some(url.into());
        self
    }

    /// Signs in with a personal access token (sent as a bearer token).
    pub fn personal_access_token(mut self, token: impl Into<String>) -> Self {
        self.settings.auth = Some(Auth::Bearer(Secret::new(token)));
        self
    }

    /// How long one call may take before it fails with `Timeout` (default 60 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.settings.timeout = timeout;
        self
    }

    /// How many calls may run at once (default 8).
    pub fn concurrency(mut self, calls: usize) -> Self {
        self.settings.concurrency = calls;
        self
    }

    /// The issue properties searches return (default `twinsync.marker`).
    pub fn search_properties<I, S>(mut self, keys: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.search_properties = keys.into_iter().map(Into::into).collect();
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
    /// `InvalidConfig` when the base URL or the token is missing or unusable.
    pub fn build(self) -> Result<JiraDataCenter> {
        Ok(JiraDataCenter {
            jira: Jira {
                client: Client::new(&self.settings, "jira data center")?,
                flavor: Flavor::DataCenter,
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
    JiraDataCenter,
    "jira-data-center",
    Capabilities::all(MAX_PAGE_SIZE)
);
