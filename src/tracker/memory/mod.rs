//! [`MemoryTracker`]: a complete tracker in memory, for examples and tests.

use std::collections::{BTreeMap, BTreeSet};
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
    AttachmentId, AttachmentMeta, Comment, CommentId, CustomValue, FieldMeta, InstanceUrl, Issue,
    IssueId, IssueKey, IssueLinkType, ProjectInfo, ProjectKey, RemoteLink, RichText, Transition,
    UserId, UserProfile, UserRef, Workflow,
};
use crate::tracker::{
    Capabilities, CreatedIssue, InstanceInfo, IssueUpdate, NewAttachment, NewComment, NewIssue,
    NewIssueLink, Page, SearchPage, Tracker,
};
use crate::trigger::Jql;

mod calls;
mod faults;
mod fields;
mod limits;
mod persist;
mod relations;
mod state;
mod workflows;

use faults::FaultPlan;
pub use faults::{CallCounts, Fault, FaultTarget, OpKind, RandomFaults};
use limits::Limiter;
pub use limits::RateLimits;
use state::{State, not_found};

/// The largest page the in-memory tracker returns.
pub const MAX_PAGE_SIZE: u32 = 100;

/// The most issues one call of the in-memory tracker's
/// [`create_issues`](Tracker::create_issues) creates (as on Jira Cloud).
pub const MAX_BATCH_CREATE: u32 = 50;

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
        let mut state = State {
            link_types: state::default_link_types(),
            ..State::default()
        };
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
            fields: Vec::new(),
        })
    }

    /// Adds an issue type to a project (what an administrator does).
    ///
    /// # Errors
    ///
    /// `NotFound` for an unknown project.
    pub fn add_issue_type(&self, project: &str, name: &str) -> Result<()> {
        self.change_project(project, |info| {
            let id = (info.issue_types.len() + 1).to_string();
            info.issue_types.push(crate::model::IssueType {
                id,
                name: name.to_owned(),
            });
        })
    }

    /// Changes what the tracker says of `project`.
    fn change_project(&self, project: &str, change: impl FnOnce(&mut ProjectInfo)) -> Result<()> {
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
        change(info);
        Ok(())
    }

    /// Describes a field of a project (what an administrator does when
    /// adding a field or putting it on a screen): from now on creates and
    /// updates follow it (required on create, on which screens, which
    /// options). Describing a field again replaces what was said of it.
    ///
    /// ```
    /// use twinsync::model::{FieldKind, FieldMeta};
    /// use twinsync::tracker::memory::MemoryTracker;
    ///
    /// let tracker = MemoryTracker::new("https://memory.example")?;
    /// tracker.add_project("SUP", "Support", &["Bug"], None)?;
    /// tracker.add_field(
    ///     "SUP",
    ///     FieldMeta::new("customfield_10010", "Severity", FieldKind::Select)
    ///         .options(["S1", "S2", "S3"])
    ///         .required(),
    /// )?;
    /// # Ok::<(), twinsync::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// `NotFound` for an unknown project.
    pub fn add_field(&self, project: &str, field: FieldMeta) -> Result<()> {
        self.change_project(project, |info| {
            info.fields.retain(|f| f.id != field.id);
            info.fields.push(field);
        })
    }

    /// Makes the issues of `project` (or only those of `issue_type`) follow
    /// `workflow`, as an administrator does by assigning a workflow scheme:
    /// from now on they move between statuses only by its transitions, new
    /// ones start in its initial status, and an update's status is reached
    /// by one transition that needs no field, as on Jira. A workflow for an
    /// issue type comes before the project's.
    ///
    /// ```
    /// use twinsync::model::{Transition, Workflow};
    /// use twinsync::tracker::memory::MemoryTracker;
    ///
    /// let tracker = MemoryTracker::new("https://memory.example")?;
    /// tracker.add_project("DEV", "Development", &["Bug"], None)?;
    /// tracker.set_workflow(
    ///     "DEV",
    ///     None,
    ///     Workflow::new("Backlog")
    ///         .with(Transition::new("11", "Start", "In Progress").from(["Backlog"]))
    ///         .with(Transition::new("21", "Finish", "Done").from(["In Progress"])),
    /// )?;
    /// # Ok::<(), twinsync::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// `NotFound` for an unknown project or issue type.
    pub fn set_workflow(
        &self,
        project: &str,
        issue_type: Option<&str>,
        workflow: Workflow,
    ) -> Result<()> {
        let key = ProjectKey::new(project)?;
        let mut state = lock(&self.shared.state);
        let info = state.project(&key)?;
        if let Some(name) = issue_type
            && info.issue_type(name).is_none()
        {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!("issue type {name:?} is not in project {project}"),
            ));
        }
        state
            .workflows
            .by_scope
            .insert((key, issue_type.map(str::to_lowercase)), workflow);
        Ok(())
    }

    /// Makes transition `transition` of `project`'s workflows refuse with
    /// `message` (what a failing condition or validator answers), or, with
    /// `None`, take it again.
    ///
    /// # Errors
    ///
    /// `NotFound` for an unknown project.
    pub fn refuse_transition(
        &self,
        project: &str,
        transition: &str,
        message: Option<&str>,
    ) -> Result<()> {
        let key = ProjectKey::new(project)?;
        let mut state = lock(&self.shared.state);
        state.project(&key)?;
        let scope = (key, transition.to_owned());
        match message {
            Some(m) => state.workflows.refusals.insert(scope, m.to_owned()),
            None => state.workflows.refusals.remove(&scope),
        };
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
}
