//! Joining a remote connection again after one side lost its state.
//!
//! A remote connection cannot be rebuilt from the markers alone: its secret
//! and the other node's address live only in the stores. When one side loses
//! its store, the other makes a fresh invitation for the *same* connection
//! ([`Admin::reinvite`](crate::engine::Admin::reinvite)); the side that lost its store accepts it as usual. It
//! finds the twins it created by their markers, and the inviting side sends
//! every twin again, so the twins whose origin is on the side that lost its
//! store are linked again too (the replicas say whose copy they are). Nothing
//! is created twice and nothing is deleted: unknown bases count as conflicts.

use crate::connection::{
    Connection, ConnectionStatus, EstablishToken, Invitation, InvitationCode, InvitationError,
    InvitationState, NewInvitation, Proof, Role, Side,
};
use crate::error::{Error, ErrorKind, Result};
use crate::model::{ConnectionId, NodeUrl, UserId};
use crate::store::{QueueItem, StoreTxn};

use super::link::Link;
use super::wire::{Body, Request, Response, SecretText, Welcome};
use crate::engine::node::Node;
use crate::engine::node::own_side;

impl Node {
    /// A fresh invitation for an existing remote connection, for `caller`, whose
    /// permission it checks (behind [`Admin::reinvite`](crate::engine::Admin::reinvite)).
    pub(in crate::engine) async fn reinvite(
        &self,
        connection: &ConnectionId,
        caller: &UserId,
    ) -> Result<InvitationCode> {
        let conn = self.connection(connection)?;
        if conn.is_local() || conn.status == ConnectionStatus::Pending {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "connection {} is {}; only an established remote connection is joined again",
                    conn.name,
                    if conn.is_local() { "local" } else { "pending" }
                ),
            ));
        }
        self.check_connection_permission(&conn, caller).await?;
        if !self.reachable() {
            return Err(Error::new(
                ErrorKind::Unsupported,
                "other nodes cannot call this node; let the other side make the invitation",
            ));
        }
        let own = own_side(&conn, self.instance())?;
        let invitation = self.new_invitation(&conn, own)?;
        let stored = invitation.clone();
        self.with_invitations(
            |pending| {
                pending.restore(stored, InvitationState::Pending);
                Ok(((), true))
            },
            |_| Ok(()),
        )?;
        tracing::info!(connection = %conn.name, "invitation to join again created");
        Ok(invitation.encode())
    }

    /// The other side accepts an invitation to join `conn` again: it takes
    /// the place of the side that is not ours, with the new secret, and every
    /// twin goes to it again.
    pub(super) fn answer_rejoin(
        &self,
        conn: &Connection,
        proof: &Proof,
        acceptor: Side,
        reachable: bool,
        protocol: u16,
        node: Option<NodeUrl>,
    ) -> Result<Response> {
        let now = self.now();
        let mut joined = conn.clone();
        if joined.a.instance == *self.instance() {
            joined.b = acceptor.clone();
        } else {
            joined.a = acceptor.clone();
        }
        if matches!(joined.status, ConnectionStatus::Error { .. }) {
            // The cause (the other side lost the connection) is fixed now.
            joined.status = ConnectionStatus::Active;
        }
        let own = own_side(&joined, self.instance())?.clone();
        let invitation = self
            .with_invitations(
                |pending| Ok((pending.get(&conn.id).cloned(), false)),
                |_| Ok(()),
            )?
            .ok_or_else(|| InvitationError::UnknownConnection {
                connection: conn.id.clone(),
            })?;
        let link = Link {
            role: Role::Initiator,
            peer: Some(acceptor.instance.clone()),
            peer_node: node,
            peer_reachable: reachable,
            protocol,
            code: SecretText::new(invitation.encode().as_str()),
        };
        self.with_invitations(
            |pending| {
                pending.redeem(&conn.id, proof, now)?;
                Ok(((), true))
            },
            |txn| self.joined_again(txn, &joined, &link),
        )?;
        self.forget_authenticator(&conn.id);
        tracing::info!(connection = %conn.name, peer = %acceptor.instance, "the other side joined again");
        let welcome = Welcome {
            connection: conn.id.clone(),
            name: conn.name.clone(),
            mode: conn.mode,
            initiator: own,
            acceptor,
            protocol,
            reachable: self.reachable(),
        };
        self.seal(&conn.id, &link, &Body::Welcome(welcome))
            .map(Response::Signed)
    }

    /// A new invitation to `conn`, from this node's side `own`.
    fn new_invitation(&self, conn: &Connection, own: &Side) -> Result<Invitation> {
        let mut new = NewInvitation::new(
            conn.id.clone(),
            conn.name.clone(),
            self.instance().clone(),
            own.project.clone(),
        );
        new.initiator_node = Some(self.node_url().clone());
        new.mode = conn.mode;
        new.protocol_version = self.protocol_version();
        Invitation::create(new, &**self.clock())
    }

    /// Records the connection joined again, and queues every twin to go to
    /// the other side again (it knows nothing any more).
    fn joined_again(&self, txn: &mut dyn StoreTxn, conn: &Connection, link: &Link) -> Result<()> {
        let own = own_side(conn, self.instance())?.clone();
        self.save_connection(txn, conn)?;
        self.put_link(txn, &conn.id, link)?;
        // What waited was for the node that lost its state; it gets
        // everything again.
        txn.remove_outbox(&conn.id, u64::MAX)?;
        for mut twin in txn.twins(&conn.id)? {
            twin.local_whole = 0;
            if let Some(local) = twin.local.clone() {
                txn.enqueue(&QueueItem {
                    seq: 0,
                    connection: conn.id.clone(),
                    project: own.project.clone(),
                    issue: local.id,
                    queued: self.now(),
                })?;
            }
            txn.put_twin(&twin)?;
        }
        Ok(())
    }

    /// Sets a remote connection up again on the other node directly, for
    /// `caller`, whose permission it checks here (the other node checks there;
    /// behind [`Admin::rejoin`](crate::engine::Admin::rejoin)).
    pub(in crate::engine) async fn rejoin(
        &self,
        connection: &ConnectionId,
        token: &EstablishToken,
        caller: &UserId,
    ) -> Result<Connection> {
        let conn = self.connection(connection)?;
        if conn.is_local() || conn.status == ConnectionStatus::Pending {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "connection {} is not an established remote connection",
                    conn.name
                ),
            ));
        }
        self.check_connection_permission(&conn, caller).await?;
        let own = own_side(&conn, self.instance())?.clone();
        let other = if conn.a.instance == *self.instance() {
            conn.b.clone()
        } else {
            conn.a.clone()
        };
        let old = self.link(&conn.id)?;
        let peer = old.peer.clone().unwrap_or_else(|| other.instance.clone());
        let address = old.address().unwrap_or_else(|| NodeUrl::from(&peer));
        // One code until it is taken, so that a retry after a lost answer
        // is recognized by the other node.
        let now = self.now();
        let invitation = self.with_invitations(
            |pending| match (pending.get(&conn.id), pending.state(&conn.id)) {
                (Some(inv), Some(InvitationState::Pending)) if !inv.is_expired(now) => {
                    Ok((inv.clone(), false))
                }
                _ => {
                    let inv = self.new_invitation(&conn, &own)?;
                    pending.restore(inv.clone(), InvitationState::Pending);
                    Ok((inv, true))
                }
            },
            |_| Ok(()),
        )?;
        let request = Request::Establish {
            code: SecretText::new(invitation.encode().as_str()),
            project: other.project.clone(),
            token: Some(SecretText::new(token.as_str())),
            reachable: self.reachable(),
            protocol: self.protocol_version(),
        };
        let link = Link {
            role: Role::Initiator,
            peer: Some(peer.clone()),
            peer_node: Some(address.clone()),
            peer_reachable: true,
            protocol: old.protocol,
            code: SecretText::new(invitation.encode().as_str()),
        };
        let answer = self.call(&address, &request).await?;
        // The answer is signed with the new secret.
        self.forget_authenticator(&conn.id);
        let opened = match answer {
            Response::Signed(signed) => self.open_signed(&conn.id, &link, &peer, signed),
            Response::Refused(r) => Err(r.into_error(&peer)),
            _ => Err(Error::new(
                ErrorKind::Incompatible,
                format!("the node at {peer} answered with a message this node does not expect"),
            )),
        };
        self.forget_authenticator(&conn.id);
        let welcome = match opened? {
            Body::Welcome(w) if w.connection == conn.id && w.acceptor.instance == peer => w,
            Body::Refused(r) => return Err(r.into_error(&peer)),
            _ => {
                return Err(Error::new(
                    ErrorKind::Incompatible,
                    format!("the node at {peer} answered with a message this node does not expect"),
                ));
            }
        };
        let mut joined = conn.clone();
        if joined.a.instance == *self.instance() {
            joined.b = welcome.acceptor.clone();
        } else {
            joined.a = welcome.acceptor.clone();
        }
        if matches!(joined.status, ConnectionStatus::Error { .. }) {
            joined.status = ConnectionStatus::Active;
        }
        let link = Link {
            protocol: welcome.protocol,
            ..link
        };
        self.with_invitations(
            |pending| {
                pending.restore(invitation, InvitationState::Used { at: now });
                Ok(((), true))
            },
            |txn| self.joined_again(txn, &joined, &link),
        )?;
        tracing::info!(connection = %conn.name, %peer, "set up again on the other node");
        Ok(joined)
    }

    /// Whether the invitation of `conn` waits to be accepted (a connection
    /// that is active but invited again).
    pub(super) fn invited_again(&self, conn: &ConnectionId) -> Result<bool> {
        self.with_invitations(
            |pending| Ok((pending.state(conn) == Some(InvitationState::Pending), false)),
            |_| Ok(()),
        )
    }
}
