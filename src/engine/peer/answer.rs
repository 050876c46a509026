//! The initiator's (or destination's) answers to an accepting node: the
//! challenge, the redeemed invitation, the direct setup, and the welcome
//! again when the acceptor's first one was lost.

use crate::connection::{
    Challenge, Connection, ConnectionStatus, Invitation, InvitationError, Nonce, Role, Side,
    negotiate,
};
use crate::error::{Error, ErrorKind, Result};
use crate::model::{ConnectionId, NodeUrl, ProjectKey};

use super::link::Link;
use super::setup::new_connection;
use super::wire::{Body, Response, SecretText, Welcome};
use crate::engine::node::Node;

impl Node {
    pub(super) fn answer_challenge(&self, connection: &ConnectionId) -> Result<Response> {
        let now = self.now();
        let nonce = Nonce::generate()?;
        let challenge = self.with_invitations(
            |pending| match pending.challenge(connection, nonce, now) {
                Ok(challenge) => Ok((challenge, false)),
                // Used: perhaps by this very acceptor, whose welcome was lost;
                // `answer_redeem` tells.
                Err(InvitationError::AlreadyUsed { .. }) => {
                    let challenge = Challenge::new(connection.clone(), nonce);
                    self.runtime()
                        .reconfirm
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(connection.clone(), challenge.clone());
                    Ok((challenge, false))
                }
                Err(e) => Err(e.into()),
            },
            |_| Ok(()),
        )?;
        Ok(Response::Challenge { challenge })
    }

    /// The acceptor of an active connection accepts again: its welcome was
    /// lost. It gets the welcome again, once it proves the secret; anyone
    /// else is told the invitation was used.
    fn confirm_again(
        &self,
        conn: &Connection,
        proof: &crate::connection::Proof,
        acceptor: Side,
    ) -> Result<Response> {
        let used = || {
            Error::from(InvitationError::AlreadyUsed {
                connection: conn.id.clone(),
            })
        };
        if conn.b != acceptor {
            return Err(used());
        }
        let challenge = self
            .runtime()
            .reconfirm
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&conn.id)
            .ok_or_else(|| InvitationError::NoChallenge {
                connection: conn.id.clone(),
            })?;
        let link = self.link(&conn.id)?;
        challenge.verify(link.invitation()?.secret(), Role::Acceptor, proof)?;
        tracing::info!(connection = %conn.name, acceptor = %acceptor.instance, "welcome sent again");
        let welcome = Welcome {
            connection: conn.id.clone(),
            name: conn.name.clone(),
            mode: conn.mode,
            initiator: conn.a.clone(),
            acceptor,
            protocol: link.protocol,
            reachable: self.reachable(),
        };
        self.seal(&conn.id, &link, &Body::Welcome(welcome))
            .map(Response::Signed)
    }

    pub(super) fn answer_redeem(
        &self,
        connection: &ConnectionId,
        proof: &crate::connection::Proof,
        acceptor: Side,
        reachable: bool,
        protocol: u16,
        node: Option<NodeUrl>,
    ) -> Result<Response> {
        let unknown = || {
            Error::from(InvitationError::UnknownConnection {
                connection: connection.clone(),
            })
        };
        let conn = self.connection(connection).map_err(|_| unknown())?;
        let agreed = negotiate(conn.mode, self.protocol_version(), protocol)?;
        if acceptor.instance == *self.instance() {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "an invitation cannot be accepted by the node that made it",
            ));
        }
        if conn.status != ConnectionStatus::Pending {
            if self.invited_again(connection)? {
                return self.answer_rejoin(&conn, proof, acceptor, reachable, agreed, node);
            }
            return self.confirm_again(&conn, proof, acceptor);
        }
        let link = self.link(connection)?;
        let mut active = conn.clone();
        active.b = acceptor.clone();
        active.status = ConnectionStatus::Active;
        let link = Link {
            peer: Some(acceptor.instance.clone()),
            peer_node: node,
            peer_reachable: reachable,
            protocol: agreed,
            ..link
        };
        let now = self.now();
        self.with_invitations(
            |pending| {
                pending.redeem(connection, proof, now)?;
                Ok(((), true))
            },
            |txn| {
                if conn.status != ConnectionStatus::Pending {
                    return Err(InvitationError::AlreadyUsed {
                        connection: connection.clone(),
                    }
                    .into());
                }
                self.activate_remote(txn, &active, &link)
            },
        )?;
        tracing::info!(connection = %active.name, acceptor = %acceptor.instance, "invitation accepted by the destination");
        let welcome = Welcome {
            connection: connection.clone(),
            name: active.name.clone(),
            mode: active.mode,
            initiator: active.a.clone(),
            acceptor,
            protocol: agreed,
            reachable: self.reachable(),
        };
        self.seal(connection, &link, &Body::Welcome(welcome))
            .map(Response::Signed)
    }

    /// The direct setup: the caller is no user this node could check, so
    /// it must present an establish token one of this node's admins issued
    /// for `project`; that admin's permission is checked again.
    pub(super) async fn answer_establish(
        &self,
        code: &SecretText,
        project: &ProjectKey,
        token: Option<&SecretText>,
        reachable: bool,
        protocol: u16,
    ) -> Result<Response> {
        let invitation = Invitation::decode(code.as_str(), self.now())?;
        let token = self.establish_token(token, project, invitation.connection())?;
        let issuer = &token.issued_by;
        self.check_node_version(&invitation)?;
        let agreed = negotiate(invitation.mode(), self.protocol_version(), protocol)?;
        self.require_node_key()?;
        if let Some((conn, again)) = self.established_already(&invitation, project)? {
            // The same request again (its answer was lost, or finding the
            // twins failed): finish it and answer the same.
            self.check_permission(issuer, project).await?;
            self.rederive_remote_twins(&conn).await?;
            return Ok(again);
        }
        self.accept_checks(&invitation, project, issuer).await?;
        let own = Side {
            instance: self.instance().clone(),
            project: project.clone(),
        };
        let initiator = Side {
            instance: invitation.initiator().clone(),
            project: invitation.project().clone(),
        };
        let name = super::link::unique_name(&mut *self.txn()?, invitation.name())?;
        let conn = new_connection(
            invitation.connection().clone(),
            name,
            initiator.clone(),
            own.clone(),
            invitation.mode(),
            ConnectionStatus::Active,
            self.now(),
        );
        let link = Link {
            role: Role::Acceptor,
            peer: Some(initiator.instance.clone()),
            peer_node: Some(invitation.initiator_node()),
            peer_reachable: reachable,
            protocol: agreed,
            code: SecretText::new(invitation.encode().as_str()),
        };
        let mut txn = self.txn()?;
        self.use_establish_token(&mut *txn, &token.digest, project, &conn.id)?;
        self.activate_remote(&mut *txn, &conn, &link)?;
        txn.commit()?;
        let found = self.rederive_remote_twins(&conn).await?;
        tracing::info!(connection = %conn.name, initiator = %initiator.instance, token_issued_by = %issuer, rederived = found, "connection established by the initiator");
        let welcome = Welcome {
            connection: conn.id.clone(),
            name: conn.name.clone(),
            mode: conn.mode,
            initiator,
            acceptor: own,
            protocol: agreed,
            reachable: self.reachable(),
        };
        self.seal(&conn.id, &link, &Body::Welcome(welcome))
            .map(Response::Signed)
    }
    /// The welcome again, when this node set up the connection of
    /// `invitation` with `project` already, with the same secret.
    pub(super) fn established_already(
        &self,
        invitation: &Invitation,
        project: &ProjectKey,
    ) -> Result<Option<(Connection, Response)>> {
        let id = invitation.connection();
        let Some(record) = self.txn()?.connection(id)? else {
            return Ok(None);
        };
        let conn = crate::engine::node::decode_connection(&record)?;
        let Ok(link) = self.link(id) else {
            return Ok(None);
        };
        let own = crate::engine::node::own_side(&conn, self.instance())?.clone();
        let same = link.invitation()?.secret() == invitation.secret() && &own.project == project;
        if !same {
            return Ok(None);
        }
        let initiator = Side {
            instance: invitation.initiator().clone(),
            project: invitation.project().clone(),
        };
        let welcome = Welcome {
            connection: conn.id.clone(),
            name: conn.name.clone(),
            mode: conn.mode,
            initiator,
            acceptor: own,
            protocol: link.protocol,
            reachable: self.reachable(),
        };
        let signed = self.seal(&conn.id, &link, &Body::Welcome(welcome))?;
        Ok(Some((conn, Response::Signed(signed))))
    }
}
