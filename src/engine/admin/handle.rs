//! Connection administration: [`Admin`], the handle through which every
//! change to connections goes, naming its caller and checking their
//! permission before anything changes.
//!
//! A caller may administer a connection when they may set up connections for
//! every project of it on this node: global admins always may; project admins
//! when the node's [`ProjectLevelPolicy`] turns project-level connections on
//! and its group allows them. A refusal is [`ErrorKind::PermissionDenied`]
//! (naming the user and the project) and changes nothing.
//!
//! [`ErrorKind::PermissionDenied`]: crate::ErrorKind::PermissionDenied

use crate::connection::{Connection, ProjectLevelPolicy};
use crate::error::Result;
use crate::model::{ConnectionId, IssueKey, ProjectKey, UserId};
use crate::rules::RuleSet;

use super::lifecycle::DeleteOptions;
use crate::engine::node::Node;
use crate::engine::options::LocalConnectionOptions;

/// Administers a node's connections for one caller: every operation checks
/// that the caller may, before it changes anything.
///
/// Get one with [`Node::admin`]. It borrows the node and is cheap to make:
/// make one per request, for the user who asked.
///
/// ```
/// use std::sync::Arc;
/// use twinsync::connection::ConnectionStatus;
/// use twinsync::engine::{LocalConnectionOptions, Node};
/// use twinsync::model::UserId;
/// use twinsync::store::MemoryStore;
/// use twinsync::{ErrorKind, MemoryTracker};
///
/// # futures::executor::block_on(async {
/// let tracker = MemoryTracker::new("https://acme.example")?;
/// tracker.add_project("SUP", "Support", &["Bug", "Task"], Some("Task"))?;
/// tracker.add_project("DEV", "Development", &["Bug", "Task"], None)?;
/// let (ada, uma) = (UserId::new("ada")?, UserId::new("uma")?);
/// tracker.set_global_admin(&ada, true);
/// let node = Node::builder()
///     .tracker(Arc::new(tracker))
///     .store(Arc::new(MemoryStore::new()))
///     .build()
///     .await?;
///
/// let conn = node
///     .admin(&ada)
///     .create_local_connection("SUP", "DEV", LocalConnectionOptions::default())
///     .await?;
/// let refused = node.admin(&uma).deactivate(&conn.id).await.unwrap_err();
/// assert_eq!(refused.kind(), ErrorKind::PermissionDenied);
/// assert_eq!(node.connection(&conn.id)?.status, ConnectionStatus::Active, "nothing changed");
/// # Ok::<(), twinsync::Error>(())
/// # }).unwrap();
/// ```
#[derive(Clone, Debug)]
pub struct Admin<'a> {
    pub(super) node: &'a Node,
    pub(super) caller: UserId,
}

impl Node {
    /// The handle through which `caller` administers this node's
    /// connections; each of its operations checks `caller`'s permission
    /// first (see [`Admin`]).
    pub fn admin(&self, caller: &UserId) -> Admin<'_> {
        Admin {
            node: self,
            caller: caller.clone(),
        }
    }
}

impl Admin<'_> {
    /// The user this handle acts for.
    pub fn caller(&self) -> &UserId {
        &self.caller
    }

    /// The connection, once the caller's permission on each of its projects
    /// on this node is checked: for applications that gate the node's own
    /// operations (retry, Test Run, bulk exalate) on the engine's permission
    /// checks, as the web console does.
    ///
    /// # Errors
    ///
    /// `NotFound` for an unknown connection; `PermissionDenied` when the
    /// caller may not administer it; the tracker's errors while checking.
    pub async fn connection(&self, id: &ConnectionId) -> Result<Connection> {
        self.permitted(id).await
    }

    /// The connection, once the caller's permission on each of its projects
    /// on this node is checked.
    pub(super) async fn permitted(&self, id: &ConnectionId) -> Result<Connection> {
        let conn = self.node.connection(id)?;
        self.node
            .check_connection_permission(&conn, &self.caller)
            .await?;
        Ok(conn)
    }

    /// Changes the node's project-level policy (whether project admins may
    /// set up connections for their own projects, and which ones).
    ///
    /// Needs a **global admin**: project admins may not widen their own rights.
    ///
    /// # Errors
    ///
    /// `PermissionDenied` when the caller is not a global admin; the
    /// tracker's errors while checking; `Storage`.
    pub async fn set_project_level_policy(&self, policy: &ProjectLevelPolicy) -> Result<()> {
        self.node
            .set_project_level_policy(policy, &self.caller)
            .await
    }

    /// Creates a local connection between two projects of this node's
    /// tracker, with Basic rules, active at once.
    ///
    /// Twins made earlier by a connection of the same name (found by their
    /// markers) are brought back under sync, so re-creating a connection
    /// after its state was lost makes no duplicates. The connection and
    /// those twins are recorded in one transaction: if the call fails or the
    /// process dies before it returns, there is no connection, and calling
    /// it again is safe.
    ///
    /// Needs permission on **both projects**.
    ///
    /// # Errors
    ///
    /// `PermissionDenied` when the caller may not set up connections for
    /// either project; `InvalidInput` when both projects are the same;
    /// `NotFound` for a missing project; `AlreadyExists` when the name is
    /// taken; the tracker's errors while it searches both projects for
    /// marked issues.
    pub async fn create_local_connection(
        &self,
        a: &str,
        b: &str,
        options: LocalConnectionOptions,
    ) -> Result<Connection> {
        for project in [a, b] {
            self.node
                .check_permission(&self.caller, &ProjectKey::new(project)?)
                .await?;
        }
        self.node.create_local_connection(a, b, options).await
    }

    /// Resumes a deactivated connection (or one in error once its cause is
    /// fixed); the queued backlog is applied in order on the next
    /// [`sync`](Node::sync).
    ///
    /// Needs permission on the connection's projects on this node.
    ///
    /// # Errors
    ///
    /// `NotFound` for an unknown connection; `PermissionDenied`;
    /// `InvalidInput` when it is pending.
    pub async fn activate(&self, id: &ConnectionId) -> Result<Connection> {
        self.permitted(id).await?;
        self.node.activate(id)
    }

    /// Pauses a connection: changes queue and nothing is written until
    /// [`activate`](Admin::activate).
    ///
    /// Needs permission on the connection's projects on this node.
    ///
    /// # Errors
    ///
    /// `NotFound` for an unknown connection; `PermissionDenied`;
    /// `InvalidInput` when it is pending.
    pub async fn deactivate(&self, id: &ConnectionId) -> Result<Connection> {
        self.permitted(id).await?;
        self.node.deactivate(id)
    }

    /// Deletes a connection and all its state, with or without unexalating
    /// its twins (see [`DeleteOptions`]); both issues of every twin stay and
    /// later edits no longer travel. Without unexalating, the issues keep
    /// their markers, so a connection re-created under the same name finds
    /// its twins again (that is how a lost store is recovered). On a remote
    /// connection the other node is told; its side stops with that cause
    /// (when it cannot be told now, it learns when it next sends).
    ///
    /// Needs permission on the connection's projects on this node.
    ///
    /// # Errors
    ///
    /// `NotFound` for an unknown connection; `PermissionDenied`; the
    /// tracker's errors while clearing markers.
    pub async fn delete_connection(&self, id: &ConnectionId, options: DeleteOptions) -> Result<()> {
        let conn = self.permitted(id).await?;
        self.node.delete_connection_with(&conn, options).await
    }

    /// Turns a Basic connection into a custom one, whose rules can then be
    /// set with [`set_rules`](Admin::set_rules) or versioned with
    /// [`save_rule_draft`](Admin::save_rule_draft).
    ///
    /// Needs permission on the connection's projects on this node.
    ///
    /// # Errors
    ///
    /// `NotFound` for an unknown connection; `PermissionDenied`.
    pub async fn upgrade_to_custom(&self, id: &ConnectionId) -> Result<Connection> {
        self.permitted(id).await?;
        self.node.upgrade_to_custom(id)
    }

    /// Uses `rules` for a custom connection. Rule sets are code, so they are
    /// set on each start rather than stored (publish a
    /// [rule version](Admin::publish_rules) to have them stored).
    ///
    /// Needs permission on the connection's projects on this node.
    ///
    /// # Errors
    ///
    /// `NotFound` for an unknown connection; `PermissionDenied`;
    /// `Unsupported` when the connection is Basic (its rules are fixed;
    /// upgrade it first with [`upgrade_to_custom`](Admin::upgrade_to_custom)).
    pub async fn set_rules(&self, id: &ConnectionId, rules: RuleSet) -> Result<()> {
        self.permitted(id).await?;
        self.node.set_rules(id, rules)
    }

    /// Forgets the recorded error of an issue (after fixing its cause by
    /// hand) and its recorded conflicts; the next sync tries it again.
    /// Clearing an error or a conflict is an admin's decision.
    ///
    /// Needs permission on the connection's projects on this node.
    ///
    /// # Errors
    ///
    /// `NotFound` for an unknown connection or when the issue is not under
    /// sync on it; `PermissionDenied`.
    pub async fn resolve(&self, id: &ConnectionId, key: &IssueKey) -> Result<()> {
        self.permitted(id).await?;
        self.node.resolve(id, key)
    }

    /// Confirms the deletion the mass-deletion guard refused on the twin of
    /// `key`: the next sync of that twin carries it out, once, and the
    /// refusal is cleared. On a remote connection, call it on the node whose
    /// panel shows the refusal (the one that applies the plan).
    ///
    /// Needs permission on the connection's projects on this node.
    ///
    /// # Errors
    ///
    /// `NotFound` for an unknown connection, when the issue is not under sync
    /// on it or when no deletion of its twin is refused; `PermissionDenied`.
    pub async fn confirm_deletion(&self, id: &ConnectionId, key: &IssueKey) -> Result<()> {
        self.permitted(id).await?;
        self.node.confirm_deletion(id, key).await
    }

    /// Dismisses the deletion the mass-deletion guard refused on the twin of
    /// `key`: nothing is deleted, and the items come back on the side that
    /// deleted them, so both sides hold them again and later cycles are
    /// quiet. On a remote connection, call it on the node whose panel shows
    /// the refusal.
    ///
    /// Needs permission on the connection's projects on this node.
    ///
    /// # Errors
    ///
    /// `NotFound` for an unknown connection, when the issue is not under sync
    /// on it or when no deletion of its twin is refused; `PermissionDenied`.
    pub async fn dismiss_deletion(&self, id: &ConnectionId, key: &IssueKey) -> Result<()> {
        self.permitted(id).await?;
        self.node.dismiss_deletion(id, key).await
    }
}
