//! [`MemoryTracker`]: a complete tracker in memory, for examples and tests.

use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;
use time::OffsetDateTime;

use crate::clock::{Clock, SystemClock};
use crate::error::{Error, ErrorKind, Result};
use crate::model::{
    AttachmentId, AttachmentMeta, Comment, CommentId, InstanceUrl, Issue, IssueId, IssueKey,
    ProjectInfo, ProjectKey, RemoteLink, RichText, UserId, UserProfile, UserRef,
};
use crate::tracker::{
    Capabilities, CreatedIssue, InstanceInfo, IssueUpdate, NewAttachment, NewComment, NewIssue,
    Page, SearchPage, Tracker,
};
use crate::trigger::Jql;

mod faults;
mod limits;
mod persist;
mod state;

use faults::FaultPlan;
pub use faults::{CallCounts, Fault, FaultTarget, OpKind, RandomFaults};
use limits::Limiter;
pub use limits::RateLimits;
use state::{State, not_found};

/// The largest page the in-memory tracker returns.
pub const MAX_PAGE_SIZE: u32 = 100;

struct Shared {
    url: InstanceUrl,
    clock: Arc<dyn Clock>,
    state: Mutex<State>,
}

/// A complete issue tracker held in memory.
///
/// Several projects with their issue types and default type; keys `PROJ-N`;
/// comments, attachments with real content, entity properties; users, groups
/// and admin rights; timestamps from an injectable [`Clock`].
///
/// [`search`](Tracker::search) evaluates the JQL subset of
/// [`trigger::jql`](crate::trigger::jql), with the clock's time as "now"; a
/// query outside it fails with `InvalidInput` before the call is counted.
///
/// A `MemoryTracker` is a cheap handle: clones share the tracker's contents,
/// call counts and faults. [`as_user`](MemoryTracker::as_user) gives a handle
/// on the same contents that acts as another user and has its own counts and
/// faults, so a test's "human" edits do not disturb the engine's counters.
///
/// For tests it counts every call ([`calls`](MemoryTracker::calls)), injects
/// faults ([`inject`](MemoryTracker::inject), [`outage`](MemoryTracker::outage),
/// [`random_faults`](MemoryTracker::random_faults)) and can make searches lag
/// behind writes ([`set_search_lag`](MemoryTracker::set_search_lag)).
///
/// ```
/// use twinsync::tracker::{MemoryTracker, NewIssue, Tracker};
///
/// # futures::executor::block_on(async {
/// let tracker = MemoryTracker::new("https://acme.example")?;
/// tracker.add_project("SUP", "Support", &["Bug", "Task"], Some("Task"))?;
/// let created = tracker.create_issue(&NewIssue::new("SUP".parse()?, "Bug", "Printer on fire")).await?;
/// assert_eq!(created.key.as_str(), "SUP-1");
/// assert_eq!(tracker.issue(&created.id).await?.summary, "Printer on fire");
/// assert_eq!(tracker.calls().writes(), 1);
/// # Ok::<(), twinsync::Error>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct MemoryTracker {
    shared: Arc<Shared>,
    user: UserRef,
    calls: Arc<Mutex<CallCounts>>,
    faults: Arc<Mutex<FaultPlan>>,
    latency: Arc<Mutex<Duration>>,
    limiter: Arc<Mutex<Option<Limiter>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl fmt::Debug for MemoryTracker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryTracker")
            .field("url", &self.shared.url)
            .field("user", &self.user.id)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for MemoryTracker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "memory tracker {}", self.shared.url)
    }
}

impl MemoryTracker {
    /// The id of the integration user every new tracker has; it is a global admin.
    pub const INTEGRATION_USER: &'static str = "twinsync";

    /// An empty tracker at `url` on the system clock, acting as the integration user.
    ///
    /// # Errors
    ///
    /// `InvalidInput` when `url` is not a valid instance URL.
    pub fn new(url: &str) -> Result<Self> {
        Self::with_clock(url, Arc::new(SystemClock))
    }

    /// An empty tracker at `url` whose timestamps come from `clock`.
    ///
    /// # Errors
    ///
    /// `InvalidInput` when `url` is not a valid instance URL.
    pub fn with_clock(url: &str, clock: Arc<dyn Clock>) -> Result<Self> {
        let url = InstanceUrl::parse(url)?;
        let user = UserRef::new(UserId::new(Self::INTEGRATION_USER)?, "twinsync integration");
        let mut state = State::default();
        state.users.insert(user.id.clone(), user.clone());
        state.global_admins.insert(user.id.clone());
        Ok(MemoryTracker {
            shared: Arc::new(Shared {
                url,
                clock,
                state: Mutex::new(state),
            }),
            user,
            calls: Arc::default(),
            faults: Arc::default(),
            latency: Arc::default(),
            limiter: Arc::default(),
        })
    }

    /// Loads a tracker saved with [`save`](MemoryTracker::save), on `clock`,
    /// acting as the integration user.
    ///
    /// The loaded tracker has the saved projects, issues (with comments,
    /// attachments and entity properties), users, admins and groups, and
    /// carries on numbering keys and ids where the saved one stopped. Call
    /// counts and faults start afresh.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use twinsync::clock::SystemClock;
    /// use twinsync::tracker::{MemoryTracker, NewIssue, Tracker};
    ///
    /// # futures::executor::block_on(async {
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("tracker.json");
    ///
    /// let tracker = MemoryTracker::new("https://acme.example")?;
    /// tracker.add_project("SUP", "Support", &["Bug", "Task"], Some("Task"))?;
    /// tracker.create_issue(&NewIssue::new("SUP".parse()?, "Bug", "Printer on fire")).await?;
    /// tracker.save(&path)?;
    ///
    /// let again = MemoryTracker::load(&path, Arc::new(SystemClock))?;
    /// assert_eq!(again.issue_by_key(&"SUP-1".parse()?).await?.summary, "Printer on fire");
    /// let next = again.create_issue(&NewIssue::new("SUP".parse()?, "Bug", "And the fax")).await?;
    /// assert_eq!(next.key.as_str(), "SUP-2");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// `NotFound` when there is no file at `path`; `Storage`, naming the
    /// file, when it cannot be read, is not a memory tracker file (or is
    /// truncated or damaged), or was written by a newer twinsync.
    pub fn load(path: impl AsRef<Path>, clock: Arc<dyn Clock>) -> Result<Self> {
        let path = path.as_ref();
        let bytes = persist::read(path)?;
        let snapshot = persist::Snapshot::parse(path, &bytes)?;
        let url = snapshot.url.clone();
        let mut state = snapshot.into_state(path)?;
        let user = UserRef::new(UserId::new(Self::INTEGRATION_USER)?, "twinsync integration");
        state
            .users
            .entry(user.id.clone())
            .or_insert_with(|| user.clone());
        Ok(MemoryTracker {
            shared: Arc::new(Shared {
                url,
                clock,
                state: Mutex::new(state),
            }),
            user,
            calls: Arc::default(),
            faults: Arc::default(),
            latency: Arc::default(),
            limiter: Arc::default(),
        })
    }

    /// Saves the tracker's contents to `path`, replacing the file as one
    /// step (written next to it, flushed, then renamed over it): a crash
    /// during a save leaves the previous file or the new one, never a mix.
    ///
    /// Saved: projects, issues with comments, attachments (with content) and
    /// entity properties, users, admins, groups and the search lag. Not
    /// saved: call counts, faults and latency, which belong to handles.
    /// [`load`](MemoryTracker::load) reads the file back.
    ///
    /// # Errors
    ///
    /// `Storage`, naming the file, when it cannot be written (a missing
    /// directory, no permission, a full disk); the previous file is then
    /// left as it was.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let snapshot = persist::Snapshot::of(&self.shared.url, &lock(&self.shared.state));
        let bytes = serde_json::to_vec_pretty(&snapshot)?;
        persist::write_atomically(path.as_ref(), &bytes)
    }

    /// The instance URL.
    pub fn url(&self) -> &InstanceUrl {
        &self.shared.url
    }

    /// The clock the tracker stamps changes with.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.shared.clock
    }

    /// The user this handle acts as.
    pub fn user(&self) -> &UserRef {
        &self.user
    }

    /// A handle on the same tracker acting as `user` (registered if new), with
    /// its own call counts and faults.
    pub fn as_user(&self, user: UserRef) -> MemoryTracker {
        lock(&self.shared.state)
            .users
            .entry(user.id.clone())
            .or_insert_with(|| user.clone());
        MemoryTracker {
            shared: self.shared.clone(),
            user,
            calls: Arc::default(),
            faults: Arc::default(),
            latency: Arc::default(),
            limiter: Arc::default(),
        }
    }

    /// Adds a project with issue types named `issue_types` and an optional default type.
    ///
    /// # Errors
    ///
    /// `AlreadyExists` when the key is taken; `InvalidConfig` when the default
    /// type is not among the issue types.
    pub fn add_project(
        &self,
        key: &str,
        name: &str,
        issue_types: &[&str],
        default_issue_type: Option<&str>,
    ) -> Result<()> {
        if let Some(default) = default_issue_type
            && !issue_types.iter().any(|t| t.eq_ignore_ascii_case(default))
        {
            return Err(Error::new(
                ErrorKind::InvalidConfig,
                format!("default issue type {default:?} is not among the types of project {key}"),
            ));
        }
        lock(&self.shared.state).add_project(ProjectInfo {
            key: ProjectKey::new(key)?,
            name: name.to_owned(),
            issue_types: State::issue_types(issue_types),
            default_issue_type: default_issue_type.map(str::to_owned),
        })
    }

    /// Adds an issue type to a project (what an administrator does).
    ///
    /// # Errors
    ///
    /// `NotFound` for an unknown project.
    pub fn add_issue_type(&self, project: &str, name: &str) -> Result<()> {
        let mut state = lock(&self.shared.state);
        let info = state
            .projects
            .get_mut(&ProjectKey::new(project)?)
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::NotFound,
                    format!("project {project} does not exist"),
                )
            })?;
        let id = (info.issue_types.len() + 1).to_string();
        info.issue_types.push(crate::model::IssueType {
            id,
            name: name.to_owned(),
        });
        Ok(())
    }

    /// Registers a user.
    pub fn add_user(&self, user: UserRef) {
        lock(&self.shared.state).users.insert(user.id.clone(), user);
    }

    /// Registers a user with a profile: display name and, when `email` is
    /// set, an email address [`users_by_email`](Tracker::users_by_email)
    /// finds and [`user_profile`](Tracker::user_profile) shows (without it,
    /// the user hides their email, as Jira Cloud users may).
    pub fn add_profile(&self, profile: UserProfile) {
        let mut state = lock(&self.shared.state);
        let id = profile.id.clone();
        state
            .users
            .insert(id.clone(), UserRef::new(id.clone(), profile.display_name));
        match profile.email {
            Some(email) => state.emails.insert(id, email),
            None => state.emails.remove(&id),
        };
    }

    /// Every registered user's profile (emails only where shown), sorted
    /// by id: what a fake tracker's user search looks through.
    pub fn inspect_users(&self) -> Vec<UserProfile> {
        let state = lock(&self.shared.state);
        state
            .users
            .values()
            .map(|u| UserProfile {
                id: u.id.clone(),
                display_name: u.display_name.clone(),
                email: state.emails.get(&u.id).cloned(),
            })
            .collect()
    }

    /// Makes `user` a global admin, or not.
    pub fn set_global_admin(&self, user: &UserId, admin: bool) {
        let mut state = lock(&self.shared.state);
        if admin {
            state.global_admins.insert(user.clone());
        } else {
            state.global_admins.remove(user);
        }
    }

    /// Makes `user` an admin of `project`, or not.
    pub fn set_project_admin(&self, project: &ProjectKey, user: &UserId, admin: bool) {
        let mut state = lock(&self.shared.state);
        let admins = state.project_admins.entry(project.clone()).or_default();
        if admin {
            admins.insert(user.clone());
        } else {
            admins.remove(user);
        }
    }

    /// Creates (or replaces) the group `name` with `members`.
    pub fn set_group(&self, name: &str, members: &[UserId]) {
        lock(&self.shared.state).groups.insert(
            name.to_owned(),
            members.iter().cloned().collect::<BTreeSet<_>>(),
        );
    }

    /// Deletes the group `name`.
    pub fn remove_group(&self, name: &str) {
        lock(&self.shared.state).groups.remove(name);
    }

    /// Makes searches see the tracker as it was `lag` ago (direct reads stay current).
    pub fn set_search_lag(&self, lag: Duration) {
        lock(&self.shared.state).search_lag = lag;
    }

    /// Makes every call of this handle take `latency` on the tracker's clock.
    pub fn set_latency(&self, latency: Duration) {
        *lock(&self.latency) = latency;
    }

    /// Makes this handle answer 429 (with `Retry-After`) beyond `limits`, or
    /// stops limiting with `None`. Rejected calls are counted too.
    pub fn set_rate_limits(&self, limits: Option<RateLimits>) {
        *lock(&self.limiter) = limits.map(Limiter::new);
    }

    /// The calls this handle (and its clones) made so far.
    pub fn calls(&self) -> CallCounts {
        lock(&self.calls).clone()
    }

    /// Forgets the call counts.
    pub fn reset_calls(&self) {
        *lock(&self.calls) = CallCounts::default();
    }

    /// Makes the next call matching `target` fail with `fault` (once; faults
    /// queue in order).
    pub fn inject(&self, target: impl Into<FaultTarget>, fault: Fault) {
        lock(&self.faults).push(target.into(), fault);
    }

    /// Makes every call fail with `fault` until the clock reaches `until`.
    pub fn outage(&self, until: OffsetDateTime, fault: Fault) {
        lock(&self.faults).set_outage(until, fault);
    }

    /// Makes calls fail at random (deterministically from the seed); `None` stops it.
    pub fn random_faults(&self, random: Option<RandomFaults>) {
        lock(&self.faults).set_random(random);
    }

    /// Removes every injected fault.
    pub fn clear_faults(&self) {
        lock(&self.faults).clear();
    }

    /// The current issues of `project`, read directly: no call is counted, no
    /// fault or lag applies. This is how tests check the tracker's real contents.
    pub fn inspect_issues(&self, project: &ProjectKey) -> Vec<Issue> {
        lock(&self.shared.state)
            .issues
            .values()
            .filter(|r| &r.current.project == project)
            .map(|r| r.current.clone())
            .collect()
    }

    /// Deletes an issue with its comments and attachments, directly: no call
    /// is counted, no fault applies. Searches no longer find it.
    ///
    /// # Errors
    ///
    /// `NotFound` when there is no such issue.
    pub fn remove_issue(&self, id: &IssueId) -> Result<()> {
        lock(&self.shared.state).remove_issue(id)
    }

    /// One issue by key, read directly (see [`inspect_issues`](Self::inspect_issues)).
    pub fn inspect_issue(&self, key: &IssueKey) -> Option<Issue> {
        let state = lock(&self.shared.state);
        let n = state.issue_number_by_key(key).ok()?;
        state.issues.get(&n).map(|r| r.current.clone())
    }

    /// The remote links of an issue, without counting a call (empty for an
    /// issue that does not exist).
    pub fn inspect_remote_links(&self, id: &IssueId) -> Vec<RemoteLink> {
        lock(&self.shared.state)
            .remote_links(id)
            .unwrap_or_default()
    }

    /// Runs one call: counts it, waits the latency, applies a fault if one is due.
    async fn call<T>(
        &self,
        op: OpKind,
        apply: impl FnOnce(&mut State, OffsetDateTime, &UserRef) -> Result<T>,
    ) -> Result<T> {
        self.call_on(op, None, apply).await
    }

    /// Like `call`, for a write to one issue (which per-issue rate limits count).
    async fn call_on<T>(
        &self,
        op: OpKind,
        issue: Option<&IssueId>,
        apply: impl FnOnce(&mut State, OffsetDateTime, &UserRef) -> Result<T>,
    ) -> Result<T> {
        lock(&self.calls).record(op);
        let latency = *lock(&self.latency);
        if latency > Duration::ZERO {
            self.shared.clock.sleep(latency).await;
        }
        let now = self.shared.clock.now();
        if let Some(limiter) = lock(&self.limiter).as_mut() {
            limiter
                .admit(op, issue, now)
                .map_err(|e| e.with_operation(op))?;
        }
        let fault = lock(&self.faults).next(op, now);
        match fault {
            None => apply(&mut lock(&self.shared.state), now, &self.user),
            Some(Fault::LoseResponse) => {
                // The write happens; only the answer is lost.
                let _applied = apply(&mut lock(&self.shared.state), now, &self.user);
                Err(Fault::LoseResponse.error(op))
            }
            Some(fault) => Err(fault.error(op)),
        }
    }

    fn page_of(mut matching: Vec<(String, &Issue)>, page: &Page) -> SearchPage {
        let size = page_size(page);
        if let Some(token) = &page.token {
            matching.retain(|(k, _)| k > token);
        }
        let more = matching.len() > size;
        matching.truncate(size);
        SearchPage {
            next_page: if more {
                matching.last().map(|(k, _)| k.clone())
            } else {
                None
            },
            issues: matching.into_iter().map(|(_, i)| i.clone()).collect(),
        }
    }
}

fn page_size(page: &Page) -> usize {
    match page.max_results {
        0 => 50,
        n => n.min(MAX_PAGE_SIZE) as usize,
    }
}

fn check_token(page: &Page) -> Result<()> {
    match &page.token {
        Some(t) if t.len() != 40 || !t.bytes().all(|b| b.is_ascii_digit()) => Err(Error::new(
            ErrorKind::InvalidInput,
            format!("page token {t:?} was not issued by this tracker"),
        )),
        _ => Ok(()),
    }
}

/// A sort key that orders by (timestamp, id) as text: 20 digits each.
fn sort_key(at: Option<OffsetDateTime>, n: u64) -> String {
    let nanos = at.map_or(0, |t| {
        u64::try_from(t.unix_timestamp_nanos().max(0)).unwrap_or(u64::MAX)
    });
    format!("{nanos:020}{n:020}")
}

/// Reads and writes the engine does not need (so [`Tracker`] does not ask
/// for them), for tests and the Jira emulator. Each is a counted call, subject
/// to faults like the trait's methods.
impl MemoryTracker {
    /// The attachments' metadata of an issue, oldest first.
    ///
    /// # Errors
    ///
    /// `NotFound` for a missing issue.
    pub async fn attachments(&self, issue: &IssueId) -> Result<Vec<AttachmentMeta>> {
        self.call(OpKind::ListAttachments, |s, _, _| {
            Ok(s.record(issue)?.current.attachments.clone())
        })
        .await
    }

    /// An issue's entity property, `None` when it is not set.
    ///
    /// # Errors
    ///
    /// `NotFound` for a missing issue.
    pub async fn issue_property(&self, issue: &IssueId, key: &str) -> Result<Option<Value>> {
        self.call(OpKind::GetProperty, |s, _, _| {
            Ok(s.record(issue)?.current.properties.get(key).cloned())
        })
        .await
    }

    /// A comment's entity property, `None` when it is not set.
    ///
    /// # Errors
    ///
    /// `NotFound` for a missing comment.
    pub async fn comment_property(&self, comment: &CommentId, key: &str) -> Result<Option<Value>> {
        self.call(OpKind::GetProperty, |s, _, _| {
            s.comment_property(comment, key)
        })
        .await
    }

    /// Sets a comment's entity property.
    ///
    /// # Errors
    ///
    /// `NotFound` for a missing comment.
    pub async fn set_comment_property(
        &self,
        comment: &CommentId,
        key: &str,
        value: &Value,
    ) -> Result<()> {
        self.call(OpKind::SetProperty, |s, _, _| {
            s.set_comment_property(comment, key, value)
        })
        .await
    }

    /// The user this handle acts as, as a counted call.
    ///
    /// # Errors
    ///
    /// Only injected faults.
    pub async fn myself(&self) -> Result<UserRef> {
        self.call(OpKind::User, |_, _, user| Ok(user.clone())).await
    }
}

#[async_trait]
impl Tracker for MemoryTracker {
    fn capabilities(&self) -> Capabilities {
        Capabilities::all(MAX_PAGE_SIZE)
    }

    async fn instance(&self) -> Result<InstanceInfo> {
        let url = self.shared.url.clone();
        self.call(OpKind::Instance, |_, _, _| {
            Ok(InstanceInfo {
                url,
                product: "memory".to_owned(),
                version: env!("CARGO_PKG_VERSION").to_owned(),
            })
        })
        .await
    }

    async fn project(&self, key: &ProjectKey) -> Result<ProjectInfo> {
        self.call(OpKind::Project, |s, _, _| s.project(key).cloned())
            .await
    }

    async fn issue(&self, id: &IssueId) -> Result<Issue> {
        self.call(OpKind::GetIssue, |s, _, _| {
            Ok(s.record(id)?.current.clone())
        })
        .await
    }

    async fn issue_by_key(&self, key: &IssueKey) -> Result<Issue> {
        self.call(OpKind::GetIssue, |s, _, _| {
            let n = s.issue_number_by_key(key)?;
            s.issues
                .get(&n)
                .map(|r| r.current.clone())
                .ok_or_else(|| not_found("issue", key))
        })
        .await
    }

    async fn search(&self, jql: &str, page: &Page) -> Result<SearchPage> {
        // A malformed query fails here, before the call is counted.
        let query = Jql::parse(jql)?;
        check_token(page)?;
        self.call(OpKind::Search, |s, now, _| {
            // Issues are in id order: start after the token, stop one past the page.
            let after: u64 = page
                .token
                .as_deref()
                .and_then(|t| t.get(20..))
                .and_then(|t| t.parse().ok())
                .unwrap_or(0);
            let matching = s
                .issues
                .range(after.saturating_add(1)..)
                .filter_map(|(n, r)| s.searchable(r, now).map(|i| (*n, i)))
                .filter(|(_, i)| query.matches(i, now))
                .take(page_size(page) + 1)
                .map(|(n, i)| (sort_key(None, n), i))
                .collect();
            Ok(Self::page_of(matching, page))
        })
        .await
    }

    async fn updated_since(
        &self,
        project: &ProjectKey,
        since: OffsetDateTime,
        page: &Page,
    ) -> Result<SearchPage> {
        check_token(page)?;
        self.call(OpKind::Search, |s, now, _| {
            s.project(project)?;
            let mut matching: Vec<(String, &Issue)> = s
                .issues
                .iter()
                .filter_map(|(n, r)| s.searchable(r, now).map(|i| (*n, i)))
                .filter(|(_, i)| &i.project == project && i.updated >= since)
                .map(|(n, i)| (sort_key(Some(i.updated), n), i))
                .collect();
            matching.sort_by(|a, b| a.0.cmp(&b.0));
            Ok(Self::page_of(matching, page))
        })
        .await
    }

    async fn create_issue(&self, issue: &NewIssue) -> Result<CreatedIssue> {
        self.call(OpKind::CreateIssue, |s, now, user| {
            s.create_issue(issue, user, now)
        })
        .await
    }

    async fn update_issue(&self, id: &IssueId, update: &IssueUpdate) -> Result<()> {
        self.call_on(OpKind::UpdateIssue, Some(id), |s, now, _| {
            s.update_issue(id, update, now)
        })
        .await
    }

    async fn add_comment(&self, issue: &IssueId, comment: &NewComment) -> Result<Comment> {
        self.call_on(OpKind::AddComment, Some(issue), |s, now, user| {
            s.add_comment(issue, comment, user, now)
        })
        .await
    }

    async fn update_comment(
        &self,
        issue: &IssueId,
        comment: &CommentId,
        body: &RichText,
    ) -> Result<Comment> {
        self.call_on(OpKind::UpdateComment, Some(issue), |s, now, _| {
            s.update_comment(issue, comment, body, now)
        })
        .await
    }

    async fn delete_comment(&self, issue: &IssueId, comment: &CommentId) -> Result<()> {
        self.call_on(OpKind::DeleteComment, Some(issue), |s, now, _| {
            s.delete_comment(issue, comment, now)
        })
        .await
    }

    async fn download_attachment(&self, id: &AttachmentId) -> Result<Vec<u8>> {
        self.call(OpKind::DownloadAttachment, |s, _, _| s.download(id))
            .await
    }

    async fn upload_attachment(
        &self,
        issue: &IssueId,
        file: &NewAttachment,
    ) -> Result<AttachmentMeta> {
        self.call_on(OpKind::UploadAttachment, Some(issue), |s, now, user| {
            s.upload(issue, file, user, now)
        })
        .await
    }

    async fn delete_attachment(&self, id: &AttachmentId) -> Result<()> {
        self.call(OpKind::DeleteAttachment, |s, now, _| {
            s.delete_attachment(id, now)
        })
        .await
    }

    async fn set_issue_property(&self, issue: &IssueId, key: &str, value: &Value) -> Result<()> {
        self.call(OpKind::SetProperty, |s, _, _| {
            s.set_issue_property(issue, key, value)
        })
        .await
    }

    async fn is_global_admin(&self, user: &UserId) -> Result<bool> {
        self.call(OpKind::User, |s, _, _| Ok(s.global_admins.contains(user)))
            .await
    }

    async fn is_project_admin(&self, user: &UserId, project: &ProjectKey) -> Result<bool> {
        self.call(OpKind::User, |s, _, _| {
            s.project(project)?;
            Ok(s.project_admins
                .get(project)
                .is_some_and(|admins| admins.contains(user)))
        })
        .await
    }

    async fn group_members(&self, group: &str) -> Result<Option<Vec<UserId>>> {
        self.call(OpKind::User, |s, _, _| {
            Ok(s.groups.get(group).map(|m| m.iter().cloned().collect()))
        })
        .await
    }

    async fn user_profile(&self, id: &UserId) -> Result<UserProfile> {
        self.call(OpKind::User, |s, _, _| {
            let user = s.users.get(id).ok_or_else(|| not_found("user", id))?;
            Ok(UserProfile {
                id: user.id.clone(),
                display_name: user.display_name.clone(),
                email: s.emails.get(id).cloned(),
            })
        })
        .await
    }

    async fn put_remote_link(&self, issue: &IssueId, link: &RemoteLink) -> Result<()> {
        self.call_on(OpKind::PutRemoteLink, Some(issue), |s, _, _| {
            s.put_remote_link(issue, link)
        })
        .await
    }

    async fn remote_links(&self, issue: &IssueId) -> Result<Vec<RemoteLink>> {
        self.call(OpKind::GetRemoteLinks, |s, _, _| s.remote_links(issue))
            .await
    }

    async fn users_by_email(&self, email: &str) -> Result<Vec<UserProfile>> {
        self.call(OpKind::User, |s, _, _| {
            Ok(s.emails
                .iter()
                .filter(|(_, e)| e.eq_ignore_ascii_case(email))
                .filter_map(|(id, e)| {
                    let user = s.users.get(id)?;
                    Some(UserProfile {
                        id: id.clone(),
                        display_name: user.display_name.clone(),
                        email: Some(e.clone()),
                    })
                })
                .collect())
        })
        .await
    }
}
