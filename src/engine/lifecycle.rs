//! Who may change connections, and the changes users make: activate,
//! deactivate, delete (with or without unexalating the twins).
//!
//! Every change a user asks for names the caller, whose permission is checked
//! with the node's [`ProjectLevelPolicy`] for each project of the connection
//! on this node: global admins always may; project admins when project-level
//! connections are on and the group allows (see
//! [`connection::permissions`](crate::connection::ProjectLevelPolicy)).
//!
//! The methods without a caller ([`Node::activate`], [`Node::deactivate`],
//! [`Node::delete_connection`], [`Node::create_local_connection`]) are for the
//! embedding application acting for itself (its own configuration, a
//! recovery): they check nothing, so never expose them to users directly.

use serde_json::Value;

use crate::connection::{Connection, Grant, ProjectLevelPolicy};
use crate::error::{Error, ErrorKind, Result};
use crate::model::{ProjectKey, UserId};
use crate::plan::TwinState;
use crate::replica::{MARKER_PROPERTY, Marker};

use super::Node;

/// Options of [`Node::delete_connection_as`].
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

    /// Changes the project-level policy: only a global admin may.
    ///
    /// # Errors
    ///
    /// `PermissionDenied` when `caller` is not a global admin; the tracker's errors.
    pub async fn set_project_level_policy(
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
    pub(super) async fn check_permission(
        &self,
        caller: &UserId,
        project: &ProjectKey,
    ) -> Result<Grant> {
        let policy = self.project_level_policy()?;
        policy.check(&**self.tracker(), caller, project).await
    }

    /// Checks `caller` against every project of `conn` on this node.
    pub(super) async fn check_connection_permission(
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

    /// [`activate`](Node::activate)s a connection for `caller`, once their
    /// permission is checked. A connection in error becomes active again once
    /// its cause is fixed.
    ///
    /// # Errors
    ///
    /// `PermissionDenied`; as [`activate`](Node::activate).
    pub async fn activate_as(
        &self,
        id: &crate::model::ConnectionId,
        caller: &UserId,
    ) -> Result<Connection> {
        let conn = self.connection(id)?;
        self.check_connection_permission(&conn, caller).await?;
        self.activate(id)
    }

    /// [`deactivate`](Node::deactivate)s a connection for `caller`, once their
    /// permission is checked: changes queue and are applied on activation.
    ///
    /// # Errors
    ///
    /// `PermissionDenied`; as [`deactivate`](Node::deactivate).
    pub async fn deactivate_as(
        &self,
        id: &crate::model::ConnectionId,
        caller: &UserId,
    ) -> Result<Connection> {
        let conn = self.connection(id)?;
        self.check_connection_permission(&conn, caller).await?;
        self.deactivate(id)
    }

    /// Deletes a connection for `caller`, once their permission is checked,
    /// with or without unexalating its twins (see [`DeleteOptions`]). On a
    /// remote connection the other node is told; its side stops with that
    /// cause (when it cannot be told now, it learns when it next sends).
    ///
    /// # Errors
    ///
    /// `PermissionDenied`; `NotFound` for an unknown connection; the
    /// tracker's errors while clearing markers.
    pub async fn delete_connection_as(
        &self,
        id: &crate::model::ConnectionId,
        options: DeleteOptions,
        caller: &UserId,
    ) -> Result<()> {
        let conn = self.connection(id)?;
        self.check_connection_permission(&conn, caller).await?;
        if options.unexalate {
            let twins = self.txn()?.twins(&conn.id)?;
            self.release_markers(&conn, &twins).await?;
        }
        if !conn.is_local() {
            self.notify_closed(&conn, options.unexalate).await;
        }
        self.delete_connection(id)
    }

    /// Clears this connection's markers from this node's issues of `twins`.
    pub(super) async fn release_markers(
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
    pub(super) fn after_delete(&self, conn: &Connection) -> Result<()> {
        if !conn.is_local() {
            self.forget_authenticator(&conn.id);
            self.forget_invitation(&conn.id)?;
        }
        Ok(())
    }
}
