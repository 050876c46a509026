//! Connection secrets at rest: sealed with the node key before they reach
//! the store, opened when read, sealed once when an older twinsync left them
//! in the clear, and sealed again under a new key on rotation.

use std::sync::RwLockReadGuard;

use zeroize::Zeroizing;

use crate::connection::node_key::{
    self, HOW_TO_SET, KeyRing, SecretKind, Stored, inspect, wrong_key,
};
use crate::connection::{NodeKey, NodeKeyId};
use crate::error::{Error, ErrorKind, Result};
use crate::model::ConnectionId;
use crate::store::{InvitationRecord, PeerLink, Store, StoreTxn, StoredSecret};

use super::wire::SecretText;
use crate::engine::node::Node;

/// Every secret in the store: the peer links of its connections, and its
/// invitations.
fn stored_secrets(txn: &mut dyn StoreTxn) -> Result<(Vec<PeerLink>, Vec<InvitationRecord>)> {
    let mut links = Vec::new();
    for conn in txn.connections()? {
        if let Some(link) = txn.peer_link(&conn.id)? {
            links.push(link);
        }
    }
    Ok((links, txn.invitations()?))
}

/// The one-time step when a node is built on `store`: secrets an older
/// twinsync stored in the clear are sealed with `key`, in one transaction.
///
/// # Errors
///
/// `InvalidConfig` (nothing changed) when the store holds secrets and there
/// is no key, or they were sealed with another key; `Storage` when it holds
/// both sealed secrets and secrets in the clear (changed outside twinsync).
pub(in crate::engine) fn seal_stored_secrets(
    store: &dyn Store,
    key: Option<&NodeKey>,
) -> Result<()> {
    let mut txn = crate::engine::txn::begin(store, None)?;
    let (links, invitations) = stored_secrets(&mut *txn)?;
    let all = links
        .iter()
        .map(|l| (SecretKind::PeerLink, &l.connection, &l.code))
        .chain(
            invitations
                .iter()
                .map(|i| (SecretKind::Invitation, &i.connection, &i.code)),
        );
    let mut clear = Vec::new();
    let mut sealed = false;
    for (kind, conn, code) in all {
        match inspect(kind, conn, code.as_bytes())? {
            Stored::Sealed(id) if Some(id) != key.map(NodeKey::id) => {
                return Err(wrong_key(id, key.map(NodeKey::id)));
            }
            Stored::Sealed(_) => sealed = true,
            Stored::Clear => clear.push(conn.clone()),
        }
    }
    let Some(first) = clear.first() else {
        return Ok(());
    };
    if sealed {
        return Err(Error::new(
            ErrorKind::Storage,
            format!(
                "the store holds connection secrets both sealed and in the clear (connection \
                 {first}'s, in the clear): it was changed outside twinsync; restore it from a \
                 backup"
            ),
        ));
    }
    let Some(key) = key else {
        return Err(Error::new(
            ErrorKind::InvalidConfig,
            format!(
                "the store holds the secrets of {} connection record(s) in the clear, written by \
                 an older twinsync, and this node has no node key to seal them with; {HOW_TO_SET}",
                clear.len()
            ),
        ));
    };
    for mut link in links {
        let plain = Zeroizing::new(link.code.as_bytes().to_vec());
        link.code = seal(key, SecretKind::PeerLink, &link.connection, &plain)?;
        txn.put_peer_link(&link)?;
    }
    for mut invitation in invitations {
        let plain = Zeroizing::new(invitation.code.as_bytes().to_vec());
        invitation.code = seal(key, SecretKind::Invitation, &invitation.connection, &plain)?;
        txn.put_invitation(&invitation)?;
    }
    txn.commit()?;
    tracing::info!(
        secrets = clear.len(),
        key = %key.id(),
        "sealed the connection secrets an older twinsync stored in the clear"
    );
    Ok(())
}

fn seal(
    key: &NodeKey,
    kind: SecretKind,
    conn: &ConnectionId,
    plain: &[u8],
) -> Result<StoredSecret> {
    node_key::seal(key, kind, conn, plain).map(StoredSecret::from_bytes)
}

/// The error of a node without a key asked to keep a connection secret.
pub(super) fn no_key() -> Error {
    Error::new(
        ErrorKind::InvalidConfig,
        format!(
            "this node has no node key, and a remote connection's secret is stored only \
             sealed with one; {HOW_TO_SET}"
        ),
    )
}

impl Node {
    fn keys(&self) -> RwLockReadGuard<'_, KeyRing> {
        self.inner.keys.read().unwrap_or_else(|e| e.into_inner())
    }

    /// The id of the node key this node seals secrets with (`None`: it has
    /// none, and keeps local connections only).
    pub fn node_key_id(&self) -> Option<NodeKeyId> {
        self.keys().current().map(NodeKey::id)
    }

    /// Refuses, before anything is made, to set up a remote connection on a
    /// node that could not store its secret.
    pub(super) fn require_node_key(&self) -> Result<()> {
        match self.keys().current() {
            Some(_) => Ok(()),
            None => Err(no_key()),
        }
    }

    /// `text`, the secret of `conn`'s `kind` record, sealed for the store.
    pub(super) fn seal_secret(
        &self,
        kind: SecretKind,
        conn: &ConnectionId,
        text: &SecretText,
    ) -> Result<StoredSecret> {
        let keys = self.keys();
        let key = keys.current().ok_or_else(no_key)?;
        seal(key, kind, conn, text.as_str().as_bytes())
    }

    /// Opens a secret [`seal_secret`](Self::seal_secret) sealed.
    pub(super) fn open_secret(
        &self,
        kind: SecretKind,
        conn: &ConnectionId,
        stored: &StoredSecret,
    ) -> Result<SecretText> {
        let plain = self.keys().open(kind, conn, stored.as_bytes())?;
        let text = std::str::from_utf8(&plain).map_err(|_| {
            Error::new(
                ErrorKind::Storage,
                format!("the stored secret of connection {conn} is not an invitation code"),
            )
        })?;
        Ok(SecretText::new(text))
    }

    /// Seals every connection secret in the store with `new`, in one
    /// transaction, and seals with it from now on; returns how many secrets
    /// were sealed again.
    ///
    /// The procedure: start the node with its current key, call this with
    /// the new one, then start the node with the new key from then on (a
    /// node started with the old key is refused, naming both key ids). It
    /// is an operator's step, not a tracker admin's: only who holds the new
    /// key can call it, and it changes no connection.
    ///
    /// # Errors
    ///
    /// `InvalidConfig` when this node has no key (build it with
    /// [`NodeBuilder::node_key`](crate::engine::NodeBuilder::node_key));
    /// `Storage` when a stored secret does not open or the store fails:
    /// then nothing changed and the old key stays in use.
    pub fn rotate_node_key(&self, new: NodeKey) -> Result<usize> {
        let mut txn = self.txn()?;
        // The write lock after the transaction: a node seals inside its
        // transactions, so none seals with the old key once this one began.
        let mut keys = self.inner.keys.write().unwrap_or_else(|e| e.into_inner());
        if keys.current().is_none() {
            return Err(Error::new(
                ErrorKind::InvalidConfig,
                format!("this node has no node key to rotate; {HOW_TO_SET}"),
            ));
        }
        let (links, invitations) = stored_secrets(&mut *txn)?;
        let mut count = 0;
        for mut link in links {
            let plain = keys.open(SecretKind::PeerLink, &link.connection, link.code.as_bytes())?;
            link.code = seal(&new, SecretKind::PeerLink, &link.connection, &plain)?;
            txn.put_peer_link(&link)?;
            count += 1;
        }
        for mut invitation in invitations {
            let plain = keys.open(
                SecretKind::Invitation,
                &invitation.connection,
                invitation.code.as_bytes(),
            )?;
            invitation.code = seal(&new, SecretKind::Invitation, &invitation.connection, &plain)?;
            txn.put_invitation(&invitation)?;
            count += 1;
        }
        txn.commit()?;
        let (old, id) = (keys.current().map(NodeKey::id), new.id());
        keys.rotate(new);
        tracing::info!(secrets = count, old = ?old, new = %id, "node key rotated");
        Ok(count)
    }
}
