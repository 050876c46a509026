//! The user mapping of a connection, set through [`Admin`].

use crate::connection::Connection;
use crate::error::Result;
use crate::model::{ConnectionId, UserMapping};

use super::handle::Admin;

impl Admin<'_> {
    /// Sets this node's [`UserMapping`] for a connection: who the other
    /// site's users are here. It is stored with the connection and applies
    /// to what arrives from now on (text synced already stays as written);
    /// twins a failure stopped are tried again. Local connections keep
    /// mentions as they are and ignore it.
    ///
    /// Needs permission on the connection's projects on this node.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use twinsync::engine::{LocalConnectionOptions, Node};
    /// # use twinsync::model::{UserId, UserMapping};
    /// # use twinsync::store::MemoryStore;
    /// # use twinsync::MemoryTracker;
    /// # futures::executor::block_on(async {
    /// # let tracker = MemoryTracker::new("https://acme.example")?;
    /// # tracker.add_project("SUP", "Support", &["Task"], None)?;
    /// # tracker.add_project("DEV", "Development", &["Task"], None)?;
    /// # let ada = UserId::new("ada")?;
    /// # tracker.set_global_admin(&ada, true);
    /// # let node = Node::builder().tracker(Arc::new(tracker)).store(Arc::new(MemoryStore::new())).build().await?;
    /// # let conn = node.admin(&ada).create_local_connection("SUP", "DEV", LocalConnectionOptions::default()).await?;
    /// let mapping = UserMapping::default()
    ///     .map_account(UserId::new("5b10ac8d82e05b22cc7d4ef5")?, UserId::new("712020:ann")?);
    /// let conn = node.admin(&ada).set_user_mapping(&conn.id, mapping.clone()).await?;
    /// assert_eq!(conn.users, mapping);
    /// assert_eq!(node.connection(&conn.id)?.users, mapping, "stored");
    /// # Ok::<(), twinsync::Error>(())
    /// # }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// `NotFound` for an unknown connection; `PermissionDenied`.
    pub async fn set_user_mapping(
        &self,
        id: &ConnectionId,
        mapping: UserMapping,
    ) -> Result<Connection> {
        self.permitted(id).await?;
        let conn = self.node.edit_connection(id, |conn| {
            conn.users = mapping;
            Ok(conn.clone())
        })?;
        self.node.release_quarantines(id)?;
        Ok(conn)
    }
}
