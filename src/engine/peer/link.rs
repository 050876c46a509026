//! What a node keeps in its store about each remote connection: the link to
//! the peer, the issues waiting to be sent, sequence numbers, and where each
//! twin began.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::connection::node_key::SecretKind;
use crate::connection::{
    Invitation, MessageAuthenticator, PendingInvitations, Role, SYNC_REQUEST_LINE,
};
use crate::engine::node::Node;
use crate::error::{Error, ErrorKind, Result};
use crate::model::{ConnectionId, InstanceUrl, IssueId, IssueKey, NodeUrl, ProjectKey};
use crate::store::{InvitationRecord, OutgoingRecord, PeerLink, StoreTxn};
use crate::transport::Transport;

use super::runtime::Runtime;
use super::wire::SecretText;

/// The instance a pending connection's unknown side shows (RFC 2606 reserves
/// `.invalid`): "unknown until accepted".
pub(in crate::engine) const UNKNOWN_INSTANCE: &str = "https://unknown.invalid";

/// What a node keeps about the other side of a remote connection.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(super) struct Link {
    pub(super) role: Role,
    /// The other node's instance (its tracker's URL), once known: who
    /// signs the other side's messages.
    pub(super) peer: Option<InstanceUrl>,
    /// Where the other node is reached, when that is not its instance URL.
    #[serde(default)]
    pub(super) peer_node: Option<NodeUrl>,
    /// Whether this node can call the other.
    pub(super) peer_reachable: bool,
    /// The protocol version both speak.
    pub(super) protocol: u16,
    /// The invitation code: the connection's secret, stored in encoded form only.
    pub(super) code: SecretText,
}

impl Link {
    /// Where the other node is reached, once known.
    pub(super) fn address(&self) -> Option<NodeUrl> {
        self.peer_node
            .clone()
            .or_else(|| self.peer.as_ref().map(NodeUrl::from))
    }

    pub(super) fn invitation(&self) -> Result<Invitation> {
        Invitation::parse(self.code.as_str()).map_err(|e| {
            Error::new(
                ErrorKind::Storage,
                format!("the stored secret of a remote connection is unreadable: {e}"),
            )
        })
    }
}

/// A local issue whose next replica carries flags: exalated but not
/// acknowledged yet (`new`), or just connected (`match_existing`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(in crate::engine) struct Outgoing {
    pub(in crate::engine) key: IssueKey,
    #[serde(default)]
    pub(in crate::engine) new: bool,
    #[serde(default)]
    pub(in crate::engine) match_existing: bool,
}

/// `name`, or `name (2)`, `name (3)`, … when a connection of this node has it.
pub(super) fn unique_name(txn: &mut dyn StoreTxn, name: &str) -> Result<String> {
    let taken: std::collections::HashSet<String> =
        txn.connections()?.into_iter().map(|c| c.name).collect();
    if !taken.contains(name) {
        return Ok(name.to_owned());
    }
    Ok((2..)
        .map(|n| format!("{name} ({n})"))
        .find(|candidate| !taken.contains(candidate))
        .unwrap_or_else(|| unreachable!("an endless range has a free name")))
}

/// A project key that is the placeholder of a pending connection.
pub(in crate::engine) fn unknown_project() -> ProjectKey {
    ProjectKey::unknown()
}

impl Node {
    pub(super) fn runtime(&self) -> &Runtime {
        &self.inner.remote
    }

    /// Where other nodes reach this node (see
    /// [`NodeBuilder::node_url`](crate::engine::NodeBuilder::node_url)).
    pub fn node_url(&self) -> &NodeUrl {
        &self.runtime().node_url
    }

    /// Whether other nodes can call this node through its transport.
    pub fn reachable(&self) -> bool {
        self.runtime().reachable && self.runtime().transport.is_some()
    }

    /// The node-to-node protocol version this node announces.
    pub fn protocol_version(&self) -> u16 {
        self.runtime().protocol
    }

    pub(super) fn transport(&self) -> Result<&Arc<dyn Transport>> {
        self.runtime().transport.as_ref().ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidConfig,
                "this node has no transport to other nodes; build it with .transport(…)",
            )
        })
    }

    pub(super) fn link(&self, conn: &ConnectionId) -> Result<Link> {
        let link = self.txn()?.peer_link(conn)?.ok_or_else(|| {
            Error::new(
                ErrorKind::NotFound,
                format!("connection {conn} is not a remote connection of this node"),
            )
        })?;
        let code = self.open_secret(SecretKind::PeerLink, conn, &link.code)?;
        Ok(Link {
            role: link.role,
            peer: link.peer,
            peer_node: link.peer_node,
            peer_reachable: link.peer_reachable,
            protocol: link.protocol,
            code,
        })
    }

    pub(super) fn put_link(
        &self,
        txn: &mut dyn StoreTxn,
        conn: &ConnectionId,
        link: &Link,
    ) -> Result<()> {
        txn.put_peer_link(&PeerLink {
            connection: conn.clone(),
            role: link.role,
            peer: link.peer.clone(),
            peer_node: link.peer_node.clone(),
            peer_reachable: link.peer_reachable,
            protocol: link.protocol,
            code: self.seal_secret(SecretKind::PeerLink, conn, &link.code)?,
        })
    }

    pub(super) fn authenticator(
        &self,
        conn: &ConnectionId,
        link: &Link,
    ) -> Result<Arc<MessageAuthenticator>> {
        let mut cache = self
            .runtime()
            .auth
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(auth) = cache.get(conn) {
            return Ok(auth.clone());
        }
        let invitation = link.invitation()?;
        let mut auth =
            MessageAuthenticator::new(invitation.secret(), conn, link.role, self.clock().clone());
        if link.protocol >= 2 {
            auth = auth.bound_to(SYNC_REQUEST_LINE);
        }
        let auth = Arc::new(auth);
        cache.insert(conn.clone(), auth.clone());
        Ok(auth)
    }

    /// Records whether our `issue` is the origin of its twin (exalated or
    /// connected from this side) or a copy of the peer's issue.
    pub(super) fn mark_origin(
        &self,
        txn: &mut dyn StoreTxn,
        conn: &ConnectionId,
        issue: &IssueId,
        here: bool,
    ) -> Result<()> {
        txn.set_origin_here(conn, issue, here)
    }

    /// Whether our `issue` is the origin of its twin.
    pub(super) fn origin_here(
        txn: &mut dyn StoreTxn,
        conn: &ConnectionId,
        issue: &IssueId,
    ) -> Result<bool> {
        txn.origin_here(conn, issue)
    }

    /// A remote twin as a user sees it: (the issue that was exalated or
    /// connected from, its twin). The state keeps the peer's issue as
    /// `remote` on both nodes; on the node the twin was made from, that is
    /// the copy.
    pub(in crate::engine) fn remote_pair(
        &self,
        txn: &mut dyn StoreTxn,
        state: &crate::plan::TwinState,
    ) -> Result<(crate::model::IssueRef, Option<crate::model::IssueRef>)> {
        match &state.local {
            Some(own) if Self::origin_here(txn, &state.connection, &own.id)? => {
                Ok((own.clone(), Some(state.remote.clone())))
            }
            _ => Ok((state.remote.clone(), state.local.clone())),
        }
    }

    pub(super) fn outgoing(
        &self,
        txn: &mut dyn StoreTxn,
        conn: &ConnectionId,
    ) -> Result<BTreeMap<IssueId, Outgoing>> {
        Ok(txn
            .outgoing(conn)?
            .into_iter()
            .map(|r| {
                let flags = Outgoing {
                    key: r.key,
                    new: r.new,
                    match_existing: r.match_existing,
                };
                (r.issue, flags)
            })
            .collect())
    }

    pub(super) fn put_outgoing(
        &self,
        txn: &mut dyn StoreTxn,
        conn: &ConnectionId,
        outgoing: &BTreeMap<IssueId, Outgoing>,
    ) -> Result<()> {
        for stored in txn.outgoing(conn)? {
            if !outgoing.contains_key(&stored.issue) {
                txn.delete_outgoing(conn, &stored.issue)?;
            }
        }
        for (issue, flags) in outgoing {
            txn.put_outgoing(&OutgoingRecord {
                connection: conn.clone(),
                issue: issue.clone(),
                key: flags.key.clone(),
                new: flags.new,
                match_existing: flags.match_existing,
            })?;
        }
        Ok(())
    }

    /// The next sequence number of this node's messages on `conn`: it only
    /// grows, even when the store is lost (it follows the clock).
    pub(super) fn next_seq(&self, conn: &ConnectionId) -> Result<u64> {
        let mut txn = self.txn()?;
        let next = self.next_seq_in(&mut *txn, conn)?;
        txn.commit()?;
        Ok(next)
    }

    /// Runs `f` on the pending invitations (loaded from the store on first
    /// use); when `f` changed them (`Ok(true)`), saves them in the same
    /// transaction as `extra`, and reloads them if saving fails.
    pub(super) fn with_invitations<T>(
        &self,
        f: impl FnOnce(&mut PendingInvitations) -> Result<(T, bool)>,
        extra: impl FnOnce(&mut dyn StoreTxn) -> Result<()>,
    ) -> Result<T> {
        let mut guard = self
            .runtime()
            .invitations
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if guard.is_none() {
            *guard = Some(self.load_invitations()?);
        }
        let pending = guard
            .as_mut()
            .unwrap_or_else(|| unreachable!("loaded above"));
        let (value, changed) = f(pending)?;
        if changed {
            let saved = self.txn().and_then(|mut txn| {
                // `extra` first: a revoked invitation outlives the pending
                // connection it deletes (so its code is refused as revoked).
                extra(&mut *txn)?;
                for stored in txn.invitations()? {
                    if pending.get(&stored.connection).is_none() {
                        txn.delete_invitation(&stored.connection)?;
                    }
                }
                for (inv, state) in pending.iter() {
                    let code = SecretText::new(inv.encode().as_str());
                    txn.put_invitation(&InvitationRecord {
                        connection: inv.connection().clone(),
                        code: self.seal_secret(SecretKind::Invitation, inv.connection(), &code)?,
                        state,
                    })?;
                }
                txn.commit()
            });
            if let Err(e) = saved {
                *guard = None; // reload what the store holds next time
                return Err(e);
            }
        }
        Ok(value)
    }

    pub(super) fn load_invitations(&self) -> Result<PendingInvitations> {
        let stored = self.txn()?.invitations()?;
        let mut pending = PendingInvitations::new();
        for s in stored {
            let code = self.open_secret(SecretKind::Invitation, &s.connection, &s.code)?;
            let invitation = Invitation::parse(code.as_str()).map_err(|e| {
                Error::new(
                    ErrorKind::Storage,
                    format!("a stored invitation is unreadable: {e}"),
                )
            })?;
            pending.restore(invitation, s.state);
        }
        Ok(pending)
    }

    /// Forgets the keys and what else this node holds in memory for a
    /// connection (the other node's outage is read again from the store).
    pub(in crate::engine) fn forget_authenticator(&self, conn: &ConnectionId) {
        self.runtime()
            .auth
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(conn);
        self.forget_reach(conn);
    }
}

impl Node {
    /// Forgets the invitation of a deleted connection.
    pub(in crate::engine) fn forget_invitation(&self, conn: &ConnectionId) -> Result<()> {
        self.with_invitations(
            |pending| {
                let removed = pending.remove(conn).is_some();
                Ok(((), removed))
            },
            |_| Ok(()),
        )
    }
}
