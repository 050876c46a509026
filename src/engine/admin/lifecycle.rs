//! Who may change connections: the node's [`ProjectLevelPolicy`] and the
//! checks every [`Admin`](super::Admin) operation makes, and deleting a
//! connection (with or without unexalating the twins).
//!
//! A caller's permission is checked for each project of the connection on
//! this node: global admins always may; project admins when project-level
//! connections are on and the group allows (see
//! [`ProjectLevelPolicy`]). The operations here check nothing themselves:
//! they are reached only through [`Admin`](super::Admin), which checks first.

use serde_json::Value;

use crate::connection::{Connection, Grant, ProjectLevelPolicy};
use crate::error::{Error, ErrorKind, Result};
use crate::model::{ProjectKey, UserId};
use crate::plan::TwinState;
use crate::replica::{MARKER_PROPERTY, Marker};

use crate::engine::node::Node;

/// Options of [`Admin::delete_connection`](crate::engine::Admin::delete_connection).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeleteOptions {
    /// Unexalate every twin first: both issues stay, but the markers that
    /// link them are cleared, so a connection re-created later starts afresh
    /// instead of finding these twins again; on a remote connection the other
    /// side is asked to do the same. Without it the issues keep their
    /// markers and a connection re-created with the same id (a lost store
    /// restored) finds its twins again.
    pub unexalate: bool,
}

impl DeleteOptions {
    /// Deletes and unexalates every twin.
    pub fn unexalating() -> Self {
        DeleteOptions { unexalate: true }
    }
}

impl Node {
    /// The project-level policy of this node (stored; off by default).
    ///
    /// # Errors
    ///
    /// `Storage`.
    pub fn project_level_policy(&self) -> Result<ProjectLevelPolicy> {
        Ok(self.txn()?.node_record()?.policy.unwrap_or_default())
    }

    /// Changes the project-level policy when `caller` is a global admin
    /// (behind [`Admin::set_project_level_policy`](crate::engine::Admin::set_project_level_policy)).
    pub(in crate::engine) async fn set_project_level_policy(
        &self,
        policy: &ProjectLevelPolicy,
        caller: &UserId,
    ) -> Result<()> {
        if !self.tracker().is_global_admin(caller).await? {
            return Err(Error::new(
                ErrorKind::PermissionDenied,
                format!(
                    "user {caller} may not change the project-level policy: only global admins may"
                ),
            ));
        }
        let mut txn = self.txn()?;
        let mut record = txn.node_record()?;
        record.policy = Some(policy.clone());
        txn.put_node_record(&record)?;
        txn.commit()?;
        tracing::info!(enabled = policy.enabled, group = %policy.group, by = %caller, "project-level policy changed");
        Ok(())
    }

    /// Checks that `caller` may set up and change connections of `project`.
    pub(in crate::engine) async fn check_permission(
        &self,
        caller: &UserId,
        project: &ProjectKey,
    ) -> Result<Grant> {
        let policy = self.project_level_policy()?;
        policy.check(&**self.tracker(), caller, project).await
    }

    /// Checks `caller` against every project of `conn` on this node.
    pub(in crate::engine) async fn check_connection_permission(
        &self,
        conn: &Connection,
        caller: &UserId,
    ) -> Result<()> {
        let projects: Vec<&ProjectKey> = [&conn.a, &conn.b]
            .into_iter()
            .filter(|s| &s.instance == self.instance())
            .map(|s| &s.project)
            .collect();
        for project in projects {
            self.check_permission(caller, project)
                .await
                .map_err(|e| e.with_connection(&conn.name))?;
        }
        Ok(())
    }

    /// Deletes a connection (its permission checked by the caller), with or
    /// without unexalating its twins; on a remote connection the other node
    /// is told first.
    pub(in crate::engine) async fn delete_connection_with(
        &self,
        conn: &Connection,
        options: DeleteOptions,
    ) -> Result<()> {
        if options.unexalate {
            let twins = self.txn()?.twins(&conn.id)?;
            self.release_markers(conn, &twins).await?;
        }
        if !conn.is_local() {
            self.notify_closed(conn, options.unexalate).await;
        }
        self.delete_connection(&conn.id)
    }

    /// Clears this connection's markers from this node's issues of `twins`.
    pub(in crate::engine) async fn release_markers(
        &self,
        conn: &Connection,
        twins: &[TwinState],
    ) -> Result<()> {
        for twin in twins {
            // On a remote connection only the local issue is on this node's tracker.
            let remote = conn.is_local().then_some(&twin.remote);
            for issue in remote.into_iter().chain(twin.local.as_ref()) {
                let found = match self.tracker().issue(&issue.id).await {
                    Ok(found) => found,
                    Err(e) if e.kind() == ErrorKind::NotFound => continue, // deleted
                    Err(e) => return Err(e),
                };
                if Marker::find(&found.properties, &conn.id).is_some() {
                    self.tracker()
                        .set_issue_property(&found.id, MARKER_PROPERTY, &Value::Null)
                        .await?;
                }
            }
        }
        Ok(())
    }

    /// Forgets what this node holds in memory for a deleted connection (the
    /// store deleted every record of it).
    pub(in crate::engine) fn after_delete(&self, conn: &Connection) -> Result<()> {
        if !conn.is_local() {
            self.forget_authenticator(&conn.id);
            self.forget_invitation(&conn.id)?;
        }
        Ok(())
    }
}
