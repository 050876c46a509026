//! Accepting: the acceptor's side (decode, check, prove the secret, record),
//! and the initiator's and destination's answers to it.

use crate::connection::{
    Challenge, Connection, ConnectionStatus, Invitation, InvitationError, Nonce, Role, Side,
    negotiate,
};
use crate::error::{Error, ErrorKind, Result};
use crate::model::{ConnectionId, InstanceUrl, ProjectKey, UserId};
use crate::store::StoreTxn;

use super::super::Node;
use super::Link;
use super::initiate::{new_connection, unexpected};
use super::wire::{Body, Request, Response, SecretText, Welcome};

impl Node {
    /// Records a remote connection (active, or pending until its twins are
    /// found) with its link, watching this side's project from now.
    pub(super) fn activate_remote(
        &self,
        txn: &mut dyn StoreTxn,
        conn: &Connection,
        link: &Link,
    ) -> Result<()> {
        self.save_connection(txn, conn)?;
        self.put_link(txn, &conn.id, link)?;
        let own = super::own_side(conn, self.instance())?;
        txn.set_watermark(&conn.id, &own.project, self.now())
    }

    /// Accepts an invitation for `caller`, whose permission it checks (behind
    /// [`Admin::accept`](crate::engine::Admin::accept), which documents the steps and retries).
    pub(in crate::engine) async fn accept(
        &self,
        code: &str,
        project: &ProjectKey,
        caller: &UserId,
    ) -> Result<Connection> {
        let invitation = Invitation::decode(code, self.now())?;
        self.check_node_version(&invitation)?;
        if let Some((conn, _)) = self.established_already(&invitation, project)? {
            if conn.status != ConnectionStatus::Pending {
                // Accepted here, and finished: the code is used.
                return Err(InvitationError::AcceptedAlready {
                    connection: conn.id,
                    name: conn.name,
                }
                .into());
            }
            // Accepted, but finding the twins failed: finish it.
            self.check_permission(caller, project).await?;
            return self.finish_accept(conn).await;
        }
        self.accept_checks(&invitation, project, caller).await?;
        let initiator = invitation.initiator().clone();
        let theirs = match self
            .call(
                &initiator,
                &Request::Hello {
                    protocol: self.protocol_version(),
                },
            )
            .await?
        {
            Response::Hello { protocol, .. } => protocol,
            Response::Refused(r) => return Err(r.into_error(&initiator)),
            _ => return Err(unexpected(&initiator)),
        };
        let protocol = negotiate(invitation.mode(), self.protocol_version(), theirs)?;
        let id = invitation.connection().clone();
        let challenge = match self
            .call(
                &initiator,
                &Request::Challenge {
                    connection: id.clone(),
                },
            )
            .await?
        {
            Response::Challenge { challenge } if challenge.connection() == &id => challenge,
            Response::Refused(r) => return Err(r.into_error(&initiator)),
            _ => return Err(unexpected(&initiator)),
        };
        let own = Side {
            instance: self.instance().clone(),
            project: project.clone(),
        };
        let redeem = Request::Redeem {
            connection: id.clone(),
            proof: challenge.respond(invitation.secret(), Role::Acceptor),
            acceptor: own.clone(),
            reachable: self.reachable(),
            protocol: self.protocol_version(),
        };
        let link = Link {
            role: Role::Acceptor,
            peer: Some(initiator.clone()),
            peer_reachable: true,
            protocol,
            code: SecretText::new(invitation.encode().as_str()),
        };
        let welcome = match self.call(&initiator, &redeem).await? {
            Response::Signed(signed) => match self.open_signed(&id, &link, &initiator, signed)? {
                Body::Welcome(w) => w,
                Body::Refused(r) => return Err(r.into_error(&initiator)),
                _ => return Err(unexpected(&initiator)),
            },
            Response::Refused(r) => return Err(r.into_error(&initiator)),
            _ => return Err(unexpected(&initiator)),
        };
        if welcome.connection != id || welcome.acceptor != own {
            return Err(unexpected(&initiator));
        }
        let name = super::unique_name(&mut *self.txn()?, &welcome.name)?;
        // Pending here until the twins are found: the initiator's replicas
        // wait meanwhile (none creates a twin that exists already), and an
        // accept that stopped there is finished by accepting again.
        let conn = new_connection(
            id.clone(),
            name,
            welcome.initiator.clone(),
            own,
            welcome.mode,
            ConnectionStatus::Pending,
            self.now(),
        );
        let link = Link {
            peer_reachable: welcome.reachable,
            ..link
        };
        let mut txn = self.txn()?;
        self.activate_remote(&mut *txn, &conn, &link)?;
        txn.commit()?;
        tracing::info!(connection = %conn.name, initiator = %initiator, "invitation accepted");
        self.finish_accept(conn).await
    }

    /// Finds the twins of an accepted connection (after a lost store, its
    /// issues carry markers), then makes it active.
    async fn finish_accept(&self, conn: Connection) -> Result<Connection> {
        let found = self.rederive_remote_twins(&conn).await?;
        tracing::info!(connection = %conn.name, rederived = found, "connection active");
        self.edit_connection(&conn.id, |c| {
            c.status = ConnectionStatus::Active;
            Ok(c.clone())
        })
    }

    /// The invitation's protocol version against the one this node announces.
    fn check_node_version(&self, invitation: &Invitation) -> Result<()> {
        let ours = self.protocol_version();
        let theirs = invitation.protocol_version();
        negotiate(invitation.mode(), ours, theirs).map_err(|_| {
            Error::from(InvitationError::IncompatibleProtocol {
                ours,
                theirs,
                minimum: invitation.mode().min_protocol_version(),
            })
        })?;
        Ok(())
    }

    /// What the accepting node checks before contacting anyone.
    async fn accept_checks(
        &self,
        invitation: &Invitation,
        project: &ProjectKey,
        caller: &UserId,
    ) -> Result<()> {
        if invitation.initiator() == self.instance() {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "this invitation comes from this node's own instance {}; connect two of its \
                     projects by initiating with this instance's url (a local connection)",
                    self.instance()
                ),
            ));
        }
        self.tracker()
            .project(project)
            .await
            .map_err(|e| missing_project(e, project, self.instance()))?;
        self.check_permission(caller, project).await?;
        if self.txn()?.connection(invitation.connection())?.is_some() {
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                format!(
                    "connection {:?} ({}) is set up on this node already",
                    invitation.name(),
                    invitation.connection()
                ),
            ));
        }
        Ok(())
    }

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
                return self.answer_rejoin(&conn, proof, acceptor, reachable, agreed);
            }
            return self.confirm_again(&conn, proof, acceptor);
        }
        let link = self.link(connection)?;
        let mut active = conn.clone();
        active.b = acceptor.clone();
        active.status = ConnectionStatus::Active;
        let link = Link {
            peer: Some(acceptor.instance.clone()),
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

    pub(super) async fn answer_establish(
        &self,
        code: &SecretText,
        project: &ProjectKey,
        caller: &UserId,
        reachable: bool,
        protocol: u16,
    ) -> Result<Response> {
        let invitation = Invitation::decode(code.as_str(), self.now())?;
        self.check_node_version(&invitation)?;
        let agreed = negotiate(invitation.mode(), self.protocol_version(), protocol)?;
        if let Some((conn, again)) = self.established_already(&invitation, project)? {
            // The same request again (its answer was lost, or finding the
            // twins failed): finish it and answer the same.
            self.check_permission(caller, project).await?;
            self.rederive_remote_twins(&conn).await?;
            return Ok(again);
        }
        self.accept_checks(&invitation, project, caller).await?;
        let own = Side {
            instance: self.instance().clone(),
            project: project.clone(),
        };
        let initiator = Side {
            instance: invitation.initiator().clone(),
            project: invitation.project().clone(),
        };
        let name = super::unique_name(&mut *self.txn()?, invitation.name())?;
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
            peer_reachable: reachable,
            protocol: agreed,
            code: SecretText::new(invitation.encode().as_str()),
        };
        let mut txn = self.txn()?;
        self.activate_remote(&mut *txn, &conn, &link)?;
        txn.commit()?;
        let found = self.rederive_remote_twins(&conn).await?;
        tracing::info!(connection = %conn.name, initiator = %initiator.instance, rederived = found, "connection established by the initiator");
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
}

impl Node {
    /// The welcome again, when this node set up the connection of
    /// `invitation` with `project` already, with the same secret.
    fn established_already(
        &self,
        invitation: &Invitation,
        project: &ProjectKey,
    ) -> Result<Option<(Connection, Response)>> {
        let id = invitation.connection();
        let Some(record) = self.txn()?.connection(id)? else {
            return Ok(None);
        };
        let conn = super::super::decode_connection(&record)?;
        let Ok(link) = self.link(id) else {
            return Ok(None);
        };
        let own = super::own_side(&conn, self.instance())?.clone();
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

/// A clearer error for a project that does not exist.
pub(super) fn missing_project(err: Error, project: &ProjectKey, instance: &InstanceUrl) -> Error {
    if err.kind() == ErrorKind::NotFound {
        Error::new(
            ErrorKind::NotFound,
            format!("project {project} does not exist on {instance}; choose an existing project"),
        )
    } else {
        err
    }
}
