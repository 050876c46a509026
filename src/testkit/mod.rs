//! Conformance suites and helpers for authors of trackers and stores (feature `testkit`).
//!
//! Every tracker twinsync ships passes [`tracker`]'s suite, and so should yours:
//!
//! ```
//! use twinsync::testkit::{self, TrackerFixture};
//!
//! async fn fixture() -> TrackerFixture {
//!     // Build your adapter here, pointing at a project it may write to.
//!     testkit::memory_fixture()
//! }
//!
//! // One `#[test]` per behaviour, so one failure does not hide the others.
//! twinsync::tracker_conformance!(fixture);
//! # fn main() {}
//! ```
//!
//! Adapters that need a particular async runtime pass its `block_on`:
//! `twinsync::tracker_conformance!(fixture, my_runtime_block_on);`.
//!
//! # Stability
//!
//! The test kit is **not covered by semantic versioning**: the conformance
//! macros (`tracker_conformance!`, `store_conformance!`) and the fixtures
//! they take keep working across minor releases, but the suites gain cases
//! (a new release may find what an old one did not), and the rigs, the
//! simulations, the crash wrappers and the other helpers may change in any
//! release, as twinsync's own tests need them to.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::error::Result;
use crate::model::{ProjectKey, UserId, UserRef, Workflow};
use crate::testkit::ids as lit;
use crate::tracker::{MemoryTracker, Tracker};

pub mod crash;
pub mod ids;
#[cfg(feature = "jira-emulator")]
pub mod jira;
mod limited;
pub mod plan_model;
pub mod remote_rig;
pub mod rig;
pub mod said;
pub mod sim;
pub mod sim_remote;
pub mod store;
pub mod tracker;
mod user;

pub use limited::LimitedTracker;
pub use user::User;

/// A node key for tests, the same for the same `name` (e.g. the node's
/// instance URL): a node restarted on its store gets its key again. Never
/// use it outside tests: anyone can derive it.
///
/// ```
/// use twinsync::testkit::node_key;
///
/// assert_eq!(node_key("https://a.example").id(), node_key("https://a.example").id());
/// assert_ne!(node_key("https://a.example").id(), node_key("https://b.example").id());
/// ```
pub fn node_key(name: &str) -> crate::connection::NodeKey {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    hash.update(b"twinsync test node key\0");
    hash.update(name.as_bytes());
    crate::connection::NodeKey::from_bytes(hash.finalize().into())
}

/// Runs a future to completion on the current thread (no runtime needed).
pub fn block_on<F: Future>(future: F) -> F::Output {
    futures::executor::block_on(future)
}

/// What a tracker suite needs to know about the tracker under test.
#[derive(Clone, Debug)]
pub struct TrackerFixture {
    /// The adapter under test.
    pub tracker: Arc<dyn Tracker>,
    /// A project the adapter's user may create issues, comments and attachments in.
    pub project: ProjectKey,
    /// An issue type that project has.
    pub issue_type: String,
    /// The longest time a search may lag behind writes; the suite retries
    /// searches for this long before it fails.
    pub search_lag: Duration,
    /// Known users and groups, for the permission cases; `None` skips them.
    pub permissions: Option<PermissionFixture>,
    /// A way to set workflows up, for the workflow case; `None` checks only
    /// that the workflow calls answer.
    pub workflows: Option<WorkflowFixture>,
}

impl TrackerFixture {
    /// A fixture for `tracker`, writing issues of `issue_type` in `project`,
    /// whose searches do not lag, with no permission or workflow fixture
    /// (set the public fields for more).
    pub fn new(
        tracker: Arc<dyn Tracker>,
        project: ProjectKey,
        issue_type: impl Into<String>,
    ) -> Self {
        TrackerFixture {
            tracker,
            project,
            issue_type: issue_type.into(),
            search_lag: Duration::ZERO,
            permissions: None,
            workflows: None,
        }
    }
}

/// Users and groups whose rights the permission cases check.
#[derive(Clone, Debug)]
pub struct PermissionFixture {
    /// A global admin.
    pub global_admin: UserId,
    /// An admin of the fixture's project who is not a global admin.
    pub project_admin: UserId,
    /// A user who administers nothing.
    pub plain_user: UserId,
    /// A group that exists, and its members.
    pub group: (String, Vec<UserId>),
    /// The name of a group that does not exist.
    pub missing_group: String,
}

/// What the workflow case needs: a way to set workflows up on the tracker
/// under test, and whether the tracker tells them.
#[derive(Clone, Debug)]
pub struct WorkflowFixture {
    /// Sets workflows and refusals up, as the tracker's administrator would.
    pub admin: Arc<dyn WorkflowAdmin>,
    /// Whether [`Tracker::workflow`] tells the workflow set; `false` where it
    /// is documented to answer `None` (Jira Data Center has no workflow
    /// preview). Then the case accepts `None`, and still checks transitions.
    pub tells_workflows: bool,
}

impl WorkflowFixture {
    /// Workflows set up by `admin`, which the tracker tells.
    pub fn new(admin: impl WorkflowAdmin + 'static) -> Self {
        WorkflowFixture {
            admin: Arc::new(admin),
            tells_workflows: true,
        }
    }

    /// The same, for a tracker documented not to tell its workflows.
    #[must_use]
    pub fn untold(mut self) -> Self {
        self.tells_workflows = false;
        self
    }
}

/// Sets workflows up on a tracker under test, for the workflow case
/// ([`tracker::workflow_transitions_round_trip`]): what an administrator
/// does in the tracker's own settings, which its adapter cannot.
pub trait WorkflowAdmin: std::fmt::Debug + Send + Sync {
    /// Makes the issues of `project` (or only those of `issue_type`) follow
    /// `workflow`; new issues start in its initial status.
    ///
    /// # Errors
    ///
    /// When the tracker cannot be set up so.
    fn set_workflow(
        &self,
        project: &ProjectKey,
        issue_type: Option<&str>,
        workflow: Workflow,
    ) -> Result<()>;

    /// Makes transition `transition` of `project` refuse with `message` (as a
    /// failing condition or validator does), or, with `None`, be taken again.
    ///
    /// # Errors
    ///
    /// When the tracker cannot be set up so.
    fn refuse_transition(
        &self,
        project: &ProjectKey,
        transition: &str,
        message: Option<&str>,
    ) -> Result<()>;
}

/// The [`MemoryTracker`]'s own
/// [`set_workflow`](MemoryTracker::set_workflow) and
/// [`refuse_transition`](MemoryTracker::refuse_transition) (a Jira
/// emulator's contents take them too).
impl WorkflowAdmin for MemoryTracker {
    fn set_workflow(
        &self,
        project: &ProjectKey,
        issue_type: Option<&str>,
        workflow: Workflow,
    ) -> Result<()> {
        MemoryTracker::set_workflow(self, project.as_str(), issue_type, workflow)
    }

    fn refuse_transition(
        &self,
        project: &ProjectKey,
        transition: &str,
        message: Option<&str>,
    ) -> Result<()> {
        MemoryTracker::refuse_transition(self, project.as_str(), transition, message)
    }
}

/// A [`MemoryTracker`] with project `SUP` (types Bug, Task, Epic; default Task),
/// project `DEV` (types Bug, Task, Story; no default) and the users of a
/// [`PermissionFixture`].
pub fn memory_fixture() -> TrackerFixture {
    let tracker = memory_tracker();
    memory_fixture_for(tracker)
}

/// The tracker [`memory_fixture`] uses, for tests that need its handle.
pub fn memory_tracker() -> MemoryTracker {
    let tracker = MemoryTracker::new("https://memory.example").unwrap_or_else(|e| {
        unreachable!("a fixed valid url: {e}");
    });
    setup_memory_tracker(&tracker);
    tracker
}

/// Adds [`memory_fixture`]'s projects, users and groups to `tracker`.
///
/// # Panics
///
/// When the projects exist already (a test set-up mistake).
pub fn setup_memory_tracker(tracker: &MemoryTracker) {
    tracker
        .add_project("SUP", "Support", &["Bug", "Task", "Epic"], Some("Task"))
        .expect("project SUP is new");
    tracker
        .add_project("DEV", "Development", &["Bug", "Task", "Story"], None)
        .expect("project DEV is new");
    let admin = UserRef::new(lit::user_id("ada"), "Ada Admin");
    let lead = UserRef::new(lit::user_id("pat"), "Pat Project-Admin");
    let user = UserRef::new(lit::user_id("uma"), "Uma User");
    for u in [&admin, &lead, &user] {
        tracker.add_user(u.clone());
    }
    tracker.set_global_admin(&admin.id, true);
    tracker.set_project_admin(&lit::project("SUP"), &lead.id, true);
    tracker.set_group("sync-admins", std::slice::from_ref(&lead.id));
}

/// Describes fields beyond Basic on project SUP of `tracker`, one optional
/// custom field of each simple kind and the priority, an Epic name only
/// Epics require, and Steps only Bugs' create screen shows, for the
/// conformance cases of fields (a Jira emulator's tracker takes them too).
///
/// # Panics
///
/// When SUP does not exist.
pub fn describe_sup_fields(tracker: &MemoryTracker) {
    use crate::model::{FieldKind, FieldMeta};
    let fields = [
        FieldMeta::new("priority", "Priority", FieldKind::Select)
            .options(["Highest", "High", "Medium", "Low"]),
        FieldMeta::new("duedate", "Due date", FieldKind::Date),
        FieldMeta::new("customfield_19001", "Severity", FieldKind::Select)
            .options(["S1", "S2", "S3"]),
        FieldMeta::new("customfield_19002", "Story points", FieldKind::Number),
        FieldMeta::new("customfield_19003", "Customer", FieldKind::Text),
        FieldMeta::new("customfield_19004", "Target date", FieldKind::Date),
        FieldMeta::new("customfield_19005", "Seen at", FieldKind::DateTime),
        FieldMeta::new("customfield_19006", "Platforms", FieldKind::MultiSelect)
            .options(["Linux", "Mac", "Windows"]),
        FieldMeta::new("customfield_19007", "Tags", FieldKind::Labels),
        FieldMeta::new("customfield_19008", "Ticket", FieldKind::Url),
        FieldMeta::new("customfield_19009", "Epic name", FieldKind::Text).required_for(["Epic"]),
        FieldMeta::new("customfield_19010", "Steps", FieldKind::Text).create_types(["Bug"]),
    ];
    for field in fields {
        tracker.add_field("SUP", field).expect("project SUP exists");
    }
}

/// The field rule most tests of rules use: SUP keeps a severity in a
/// select named Severity (S1–S3), DEV in its Priority, mapped both ways
/// (S1 ⇄ Highest, S2 ⇄ High, S3 ⇄ Medium); other values land as they are.
pub fn severity_rule() -> crate::rules::FieldRule {
    use crate::rules::{FieldRule, FieldSide};
    FieldRule::new("severity")
        .side(
            "SUP",
            FieldSide::new("Severity")
                .map("Highest", "S1")
                .map("High", "S2")
                .map("Medium", "S3"),
        )
        .side(
            "DEV",
            FieldSide::new("priority")
                .map("S1", "Highest")
                .map("S2", "High")
                .map("S3", "Medium"),
        )
}

/// The development workflow tests of statuses use: Backlog → Selected →
/// In Progress → In Review → QA → Done, Close (from QA or In Review)
/// requiring a resolution (Fixed or Won't Do), and Reopen from anywhere.
pub fn development_workflow() -> crate::model::Workflow {
    use crate::model::{FieldKind, FieldMeta, Transition, Workflow};
    let resolution = FieldMeta::new("resolution", "Resolution", FieldKind::Select)
        .options(["Fixed", "Won't Do"])
        .required();
    Workflow::new("Backlog")
        .with(Transition::new("11", "Select", "Selected").from(["Backlog"]))
        .with(Transition::new("21", "Start", "In Progress").from(["Selected"]))
        .with(Transition::new("31", "Review", "In Review").from(["In Progress"]))
        .with(Transition::new("41", "Test", "QA").from(["In Review"]))
        .with(
            Transition::new("51", "Close", "Done")
                .from(["QA", "In Review"])
                .field(resolution),
        )
        .with(Transition::new("61", "Reopen", "Backlog"))
}

/// [`TrackerFixture`] for a tracker set up by [`setup_memory_tracker`]
/// (with SUP's fields described by [`describe_sup_fields`]), which sets
/// workflows up on `tracker` itself.
pub fn memory_fixture_for(tracker: MemoryTracker) -> TrackerFixture {
    describe_sup_fields(&tracker);
    let mut fixture = TrackerFixture::new(Arc::new(tracker.clone()), lit::project("SUP"), "Bug");
    fixture.permissions = Some(PermissionFixture {
        global_admin: lit::user_id("ada"),
        project_admin: lit::user_id("pat"),
        plain_user: lit::user_id("uma"),
        group: ("sync-admins".to_owned(), vec![lit::user_id("pat")]),
        missing_group: "no-such-group".to_owned(),
    });
    fixture.workflows = Some(WorkflowFixture::new(tracker));
    fixture
}
