//! Initiating connections (local, established directly, or by invitation),
//! and the initiator's list of invitations.

use crate::connection::{
    Connection, ConnectionStatus, Invitation, InvitationError, InvitationSummary, NewInvitation,
    Role, Side, negotiate,
};
use crate::error::{Error, ErrorKind, Result};
use crate::model::{ConnectionId, InstanceUrl, ProjectKey, UserId};

use super::link::{Link, UNKNOWN_INSTANCE, unknown_project};
use super::setup::{
    InitiateRequest, Initiated, missing_project, new_connection, normalize_destination, unexpected,
};
use super::wire::{Body, Request, Response, SecretText};
use crate::engine::node::Node;
use crate::engine::options::LocalConnectionOptions;

impl Node {
    /// Initiates a connection for `caller`, whose permission it checks (behind
    /// [`Admin::initiate`](crate::engine::Admin::initiate), which documents the cases).
    pub(in crate::engine) async fn initiate(
        &self,
        request: InitiateRequest,
        caller: &UserId,
    ) -> Result<Initiated> {
        let own = request.local_project.clone();
        self.tracker()
            .project(&own)
            .await
            .map_err(|e| missing_project(e, &own, self.instance()))?;
        self.check_permission(caller, &own).await?;
        let destination = request
            .destination
            .as_deref()
            .map(normalize_destination)
            .transpose()?;
        if destination.as_ref() == Some(self.instance()) {
            let Some(other) = &request.destination_project else {
                return Err(Error::new(
                    ErrorKind::InvalidInput,
                    format!(
                        "{} is this node's own instance: a local connection needs the \
                         destination project too",
                        self.instance()
                    ),
                ));
            };
            self.tracker()
                .project(other)
                .await
                .map_err(|e| missing_project(e, other, self.instance()))?;
            self.check_permission(caller, other).await?;
            let mut options = LocalConnectionOptions::default();
            if let Some(name) = &request.name {
                options = options.name(name.clone());
            }
            let conn = self
                .create_local_connection(own.as_str(), other.as_str(), options)
                .await?;
            return Ok(Initiated::Local(conn));
        }
        self.require_node_key()?;
        let announced = match &destination {
            Some(url) => self.hello(url).await?,
            None => None,
        };
        if let Some(theirs) = announced {
            negotiate(request.mode, self.protocol_version(), theirs)?;
        }
        let direct = request.admin_access_to_destination && announced.is_some();
        if direct && request.destination_project.is_none() {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "with admin access to the destination, name the destination project to finish there",
            ));
        }
        if direct && request.establish_token.is_none() {
            return Err(super::setup::missing_token(
                destination.as_ref(),
                request.destination_project.as_ref(),
            ));
        }
        if !direct && !self.reachable() {
            return Err(Error::new(
                ErrorKind::Unsupported,
                "other nodes cannot call this node, so an invitation from it could not be \
                 accepted; initiate with the destination's url and admin access, or make this \
                 node reachable",
            ));
        }
        let (conn, invitation) = self.create_pending(&request, destination.as_ref())?;
        match destination.filter(|_| direct) {
            Some(url) => match self.establish(&conn, &invitation, &request, &url).await {
                Ok(conn) => Ok(Initiated::Established(conn)),
                Err(e) => {
                    // Nothing stays behind: the destination refused or never answered.
                    self.drop_pending(&conn.id)?;
                    Err(e)
                }
            },
            None => {
                tracing::info!(connection = %conn.name, "invitation created");
                Ok(Initiated::Invitation {
                    connection: conn,
                    code: invitation.encode(),
                })
            }
        }
    }

    /// The protocol version the node at `url` announces; `None` when it cannot
    /// be reached.
    async fn hello(&self, url: &InstanceUrl) -> Result<Option<u16>> {
        if self.runtime().transport.is_none() {
            return Ok(None);
        }
        let request = Request::Hello {
            protocol: self.protocol_version(),
        };
        match self.call(url, &request).await {
            Ok(Response::Hello { protocol, .. }) => Ok(Some(protocol)),
            Ok(Response::Refused(r)) => Err(r.into_error(url)),
            Ok(_) => Err(unexpected(url)),
            Err(e) if e.is_temporary() => {
                tracing::info!(error = %e, destination = %url, "destination not reachable");
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    fn create_pending(
        &self,
        request: &InitiateRequest,
        destination: Option<&InstanceUrl>,
    ) -> Result<(Connection, Invitation)> {
        let id = ConnectionId::generate()?;
        let own = request.local_project.clone();
        let other = request
            .destination_project
            .clone()
            .unwrap_or_else(unknown_project);
        let name = match &request.name {
            Some(name) => name.clone(),
            None => {
                let other = request
                    .destination_project
                    .as_ref()
                    .map_or("remote", ProjectKey::as_str);
                super::link::unique_name(&mut *self.txn()?, &format!("{own}_to_{other}"))?
            }
        };
        let unknown = InstanceUrl::parse(UNKNOWN_INSTANCE)?;
        let conn = new_connection(
            id.clone(),
            name.clone(),
            Side {
                instance: self.instance().clone(),
                project: own.clone(),
            },
            Side {
                instance: destination.cloned().unwrap_or(unknown),
                project: other,
            },
            request.mode,
            ConnectionStatus::Pending,
            self.now(),
        );
        let mut new = NewInvitation::new(id.clone(), name.clone(), self.instance().clone(), own);
        new.mode = request.mode;
        new.validity = request.validity;
        new.protocol_version = self.protocol_version();
        let invitation = Invitation::create(new, &**self.clock())?;
        let link = Link {
            role: Role::Initiator,
            peer: destination.cloned(),
            peer_reachable: false,
            protocol: self.protocol_version(),
            code: SecretText::new(invitation.encode().as_str()),
        };
        let inserted = invitation.clone();
        self.with_invitations(
            |pending| {
                pending.insert(inserted)?;
                Ok(((), true))
            },
            |txn| {
                let taken = txn
                    .connections()?
                    .into_iter()
                    .any(|c| c.name == name || c.id == id);
                if taken {
                    return Err(Error::new(
                        ErrorKind::AlreadyExists,
                        format!("a connection named {name:?} exists already; choose another name"),
                    ));
                }
                self.save_connection(txn, &conn)?;
                self.put_link(txn, &id, &link)
            },
        )?;
        Ok((conn, invitation))
    }

    /// Removes a pending connection this node made, with its invitation.
    fn drop_pending(&self, id: &ConnectionId) -> Result<()> {
        self.with_invitations(
            |pending| {
                pending.remove(id);
                Ok(((), true))
            },
            |txn| {
                txn.delete_connection(id)?;
                txn.delete_peer_link(id)
            },
        )?;
        self.forget_authenticator(id);
        Ok(())
    }

    /// Finishes on the destination directly (the caller has admin access there).
    async fn establish(
        &self,
        conn: &Connection,
        invitation: &Invitation,
        request: &InitiateRequest,
        url: &InstanceUrl,
    ) -> Result<Connection> {
        let project = request
            .destination_project
            .clone()
            .unwrap_or_else(unknown_project);
        let message = Request::Establish {
            code: SecretText::new(invitation.encode().as_str()),
            project,
            token: request
                .establish_token
                .as_ref()
                .map(|t| SecretText::new(t.as_str())),
            reachable: self.reachable(),
            protocol: self.protocol_version(),
        };
        let link = self.link(&conn.id)?;
        let welcome = match self.call(url, &message).await? {
            Response::Signed(signed) => match self.open_signed(&conn.id, &link, url, signed)? {
                Body::Welcome(w) => w,
                Body::Refused(r) => return Err(r.into_error(url)),
                _ => return Err(unexpected(url)),
            },
            Response::Refused(r) => return Err(r.into_error(url)),
            _ => return Err(unexpected(url)),
        };
        if welcome.connection != conn.id || &welcome.acceptor.instance != url {
            return Err(unexpected(url));
        }
        let mut active = conn.clone();
        active.b = welcome.acceptor.clone();
        active.status = ConnectionStatus::Active;
        let link = Link {
            peer: Some(url.clone()),
            peer_reachable: true,
            protocol: welcome.protocol,
            ..link
        };
        let used = invitation.clone();
        let now = self.now();
        self.with_invitations(
            |pending| {
                pending.restore(used, crate::connection::InvitationState::Used { at: now });
                Ok(((), true))
            },
            |txn| self.activate_remote(txn, &active, &link),
        )?;
        tracing::info!(connection = %active.name, peer = %url, "connection established");
        Ok(active)
    }

    /// The initiator's list of invitations, as its admin sees them now (no secrets).
    ///
    /// # Errors
    ///
    /// `Storage`.
    pub fn invitations(&self) -> Result<Vec<InvitationSummary>> {
        let now = self.now();
        self.with_invitations(|pending| Ok((pending.list(now), false)), |_| Ok(()))
    }

    /// Revokes a pending invitation for `caller`, whose permission it checks
    /// (behind [`Admin::revoke_invitation`](crate::engine::Admin::revoke_invitation)).
    pub(in crate::engine) async fn revoke_invitation(
        &self,
        connection: &ConnectionId,
        caller: &UserId,
    ) -> Result<()> {
        let project = self
            .with_invitations(
                |pending| Ok((pending.get(connection).map(|i| i.project().clone()), false)),
                |_| Ok(()),
            )?
            .ok_or_else(|| InvitationError::UnknownConnection {
                connection: connection.clone(),
            })?;
        self.check_permission(caller, &project).await?;
        let now = self.now();
        self.with_invitations(
            |pending| {
                pending.revoke(connection, now)?;
                Ok(((), true))
            },
            |txn| {
                let pending = txn
                    .connection(connection)?
                    .map(|r| crate::engine::node::decode_connection(&r))
                    .transpose()?
                    .is_some_and(|c| c.status == ConnectionStatus::Pending);
                if pending {
                    txn.delete_connection(connection)?;
                    txn.delete_peer_link(connection)?;
                }
                Ok(())
            },
        )?;
        self.forget_authenticator(connection);
        tracing::info!(connection = %connection, "invitation revoked");
        Ok(())
    }
}
