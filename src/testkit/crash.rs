//! Crashes on purpose: a switch shared by a tracker wrapper and a store
//! wrapper that counts every tracker call and every store commit as a step and
//! "kills the process" at a chosen step: from then on no call reaches the
//! tracker and no commit reaches the store, exactly as if the process died.

use std::fmt;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde_json::Value;
use time::OffsetDateTime;

use crate::error::{Error, ErrorKind, Result};
use crate::model::{
    AttachmentId, AttachmentMeta, Comment, CommentId, Issue, IssueId, IssueKey, ProjectInfo,
    ProjectKey, RichText, UserId, UserRef,
};
use crate::store::{Store, StoreTxn};
use crate::tracker::{
    Capabilities, CreatedIssue, InstanceInfo, IssueUpdate, NewAttachment, NewComment, NewIssue,
    Page, SearchPage, Tracker,
};

/// How the crash happens at its step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrashMode {
    /// Before the step takes effect (the call is not sent, the commit not made).
    Before,
    /// After the step took effect but before its answer arrives (a tracker
    /// call applied with its answer lost; a commit made).
    After,
}

#[derive(Debug, Default)]
struct SwitchState {
    steps: u64,
    crash_at: Option<(u64, CrashMode)>,
    crashed: bool,
}

/// Counts steps and decides when the crash happens. Clones share the switch.
#[derive(Clone, Debug, Default)]
pub struct CrashSwitch {
    state: Arc<Mutex<SwitchState>>,
}

enum Step {
    Go,
    GoThenCrash,
    Dead,
}

fn dead() -> Error {
    Error::new(ErrorKind::Unavailable, "the process crashed (simulated)")
}

impl CrashSwitch {
    /// A switch that never crashes until told.
    pub fn new() -> Self {
        CrashSwitch::default()
    }

    /// Crashes at step `at` (counted from now, 1 = the next step).
    pub fn crash_in(&self, at: u64, mode: CrashMode) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.crash_at = Some((s.steps + at.max(1), mode));
    }

    /// Whether the crash happened.
    pub fn crashed(&self) -> bool {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).crashed
    }

    /// Steps taken so far.
    pub fn steps(&self) -> u64 {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).steps
    }

    /// Back to life (a restarted process), with no crash planned.
    pub fn revive(&self) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.crashed = false;
        s.crash_at = None;
    }

    fn step(&self) -> Step {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if s.crashed {
            return Step::Dead;
        }
        s.steps += 1;
        match s.crash_at {
            Some((at, mode)) if at == s.steps => {
                s.crashed = true;
                match mode {
                    CrashMode::Before => Step::Dead,
                    CrashMode::After => Step::GoThenCrash,
                }
            }
            _ => Step::Go,
        }
    }
}

/// A tracker that dies with its [`CrashSwitch`].
pub struct CrashTracker {
    inner: Arc<dyn Tracker>,
    switch: CrashSwitch,
}

impl fmt::Debug for CrashTracker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CrashTracker")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl CrashTracker {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn Tracker>, switch: CrashSwitch) -> Self {
        CrashTracker { inner, switch }
    }
}

macro_rules! step {
    ($self:ident, $call:expr) => {
        match $self.switch.step() {
            Step::Dead => Err(dead()),
            Step::Go => $call.await,
            Step::GoThenCrash => {
                let _lost = $call.await;
                Err(dead())
            }
        }
    };
}

#[async_trait]
impl Tracker for CrashTracker {
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
    async fn instance(&self) -> Result<InstanceInfo> {
        // Starting a node is not a step: it happens after the restart.
        self.inner.instance().await
    }
    async fn project(&self, key: &ProjectKey) -> Result<ProjectInfo> {
        step!(self, self.inner.project(key))
    }
    async fn issue(&self, id: &IssueId) -> Result<Issue> {
        step!(self, self.inner.issue(id))
    }
    async fn issue_by_key(&self, key: &IssueKey) -> Result<Issue> {
        step!(self, self.inner.issue_by_key(key))
    }
    async fn search(&self, jql: &str, page: &Page) -> Result<SearchPage> {
        step!(self, self.inner.search(jql, page))
    }
    async fn updated_since(
        &self,
        project: &ProjectKey,
        since: OffsetDateTime,
        page: &Page,
    ) -> Result<SearchPage> {
        step!(self, self.inner.updated_since(project, since, page))
    }
    async fn create_issue(&self, issue: &NewIssue) -> Result<CreatedIssue> {
        step!(self, self.inner.create_issue(issue))
    }
    async fn update_issue(&self, id: &IssueId, update: &IssueUpdate) -> Result<()> {
        step!(self, self.inner.update_issue(id, update))
    }
    async fn add_comment(&self, issue: &IssueId, comment: &NewComment) -> Result<Comment> {
        step!(self, self.inner.add_comment(issue, comment))
    }
    async fn update_comment(
        &self,
        issue: &IssueId,
        comment: &CommentId,
        body: &RichText,
    ) -> Result<Comment> {
        step!(self, self.inner.update_comment(issue, comment, body))
    }
    async fn delete_comment(&self, issue: &IssueId, comment: &CommentId) -> Result<()> {
        step!(self, self.inner.delete_comment(issue, comment))
    }
    async fn attachments(&self, issue: &IssueId) -> Result<Vec<AttachmentMeta>> {
        step!(self, self.inner.attachments(issue))
    }
    async fn download_attachment(&self, id: &AttachmentId) -> Result<Vec<u8>> {
        step!(self, self.inner.download_attachment(id))
    }
    async fn upload_attachment(
        &self,
        issue: &IssueId,
        file: &NewAttachment,
    ) -> Result<AttachmentMeta> {
        step!(self, self.inner.upload_attachment(issue, file))
    }
    async fn delete_attachment(&self, id: &AttachmentId) -> Result<()> {
        step!(self, self.inner.delete_attachment(id))
    }
    async fn issue_property(&self, issue: &IssueId, key: &str) -> Result<Option<Value>> {
        step!(self, self.inner.issue_property(issue, key))
    }
    async fn set_issue_property(&self, issue: &IssueId, key: &str, value: &Value) -> Result<()> {
        step!(self, self.inner.set_issue_property(issue, key, value))
    }
    async fn comment_property(&self, comment: &CommentId, key: &str) -> Result<Option<Value>> {
        step!(self, self.inner.comment_property(comment, key))
    }
    async fn set_comment_property(
        &self,
        comment: &CommentId,
        key: &str,
        value: &Value,
    ) -> Result<()> {
        step!(self, self.inner.set_comment_property(comment, key, value))
    }
    async fn myself(&self) -> Result<UserRef> {
        step!(self, self.inner.myself())
    }
    async fn is_global_admin(&self, user: &UserId) -> Result<bool> {
        step!(self, self.inner.is_global_admin(user))
    }
    async fn is_project_admin(&self, user: &UserId, project: &ProjectKey) -> Result<bool> {
        step!(self, self.inner.is_project_admin(user, project))
    }
    async fn group_members(&self, group: &str) -> Result<Option<Vec<UserId>>> {
        step!(self, self.inner.group_members(group))
    }
}

/// A store that dies with its [`CrashSwitch`]: each commit is a step; after
/// the crash every commit fails and rolls back.
#[derive(Debug)]
pub struct CrashStore {
    inner: Arc<dyn Store>,
    switch: CrashSwitch,
}

impl CrashStore {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn Store>, switch: CrashSwitch) -> Self {
        CrashStore { inner, switch }
    }
}

impl Store for CrashStore {
    fn begin(&self) -> Result<Box<dyn StoreTxn + '_>> {
        if self.switch.crashed() {
            return Err(dead());
        }
        Ok(Box::new(CrashTxn {
            inner: self.inner.begin()?,
            switch: &self.switch,
        }))
    }
}

struct CrashTxn<'a> {
    inner: Box<dyn StoreTxn + 'a>,
    switch: &'a CrashSwitch,
}

impl StoreTxn for CrashTxn<'_> {
    crate::store::forward_store_txn!(inner);

    fn commit(self: Box<Self>) -> Result<()> {
        match self.switch.step() {
            Step::Dead => Err(dead()),
            Step::Go => self.inner.commit(),
            Step::GoThenCrash => {
                self.inner.commit()?;
                Err(dead())
            }
        }
    }
}
