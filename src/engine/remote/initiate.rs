//! Initiating connections (local, established directly, or by invitation),
//! and the initiator's list of invitations.

use std::time::Duration;

use crate::connection::{
    Connection, ConnectionStatus, Invitation, InvitationCode, InvitationError, InvitationSummary,
    Mode, NewInvitation, Role, Side, negotiate,
};
use crate::error::{Error, ErrorKind, Result};
use crate::model::{ConnectionId, InstanceUrl, ProjectKey, UserId};
use crate::rules::RuleSetKind;
use crate::transport::SYNC_ENDPOINT_PATH;

use super::super::{LocalConnectionOptions, Node};
use super::accept::missing_project;
use super::wire::{Body, Request, Response, SecretText};
use super::{Link, UNKNOWN_INSTANCE, unknown_project};

/// What an admin asks for when initiating a connection (Exalate's "Initiate
/// connection" dialog).
///
/// ```
/// use twinsync::engine::InitiateRequest;
///
/// let request = InitiateRequest::new("SUP".parse()?)
///     .destination("https://partner.example")
///     .destination_project("DEV".parse()?)
///     .admin_access(true);
/// assert!(request.admin_access_to_destination);
/// # Ok::<(), twinsync::Error>(())
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct InitiateRequest {
    /// The destination instance's URL (or its sync endpoint's URL); `None`
    /// for "I don't have a URL": the destination is in a private network.
    pub destination: Option<String>,
    /// The project on this node's instance.
    pub local_project: ProjectKey,
    /// The project on the destination: needed for a local connection and
    /// when finishing on the destination directly (admin access).
    pub destination_project: Option<ProjectKey>,
    /// The mode (Basic).
    pub mode: Mode,
    /// Whether the caller has admin access to the destination.
    pub admin_access_to_destination: bool,
    /// The connection's name; by default `<LOCAL>_to_<DESTINATION>`.
    pub name: Option<String>,
    /// How long an invitation can be accepted (default seven days).
    pub validity: Duration,
}

impl InitiateRequest {
    /// A Basic-mode request for `local_project`, with no URL and no admin
    /// access to the destination. Who asks is the caller of the
    /// [`Admin`](crate::engine::Admin) handle that initiates.
    pub fn new(local_project: ProjectKey) -> Self {
        InitiateRequest {
            destination: None,
            local_project,
            destination_project: None,
            mode: Mode::Basic,
            admin_access_to_destination: false,
            name: None,
            validity: Invitation::DEFAULT_VALIDITY,
        }
    }

    /// Sets the destination's URL.
    pub fn destination(mut self, url: impl Into<String>) -> Self {
        self.destination = Some(url.into());
        self
    }

    /// Sets the destination's project.
    pub fn destination_project(mut self, project: ProjectKey) -> Self {
        self.destination_project = Some(project);
        self
    }

    /// Says whether the caller has admin access to the destination.
    pub fn admin_access(mut self, yes: bool) -> Self {
        self.admin_access_to_destination = yes;
        self
    }

    /// Sets the connection's name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets how long the invitation can be accepted.
    pub fn validity(mut self, validity: Duration) -> Self {
        self.validity = validity;
        self
    }
}

/// What [`Admin::initiate`](crate::engine::Admin::initiate) made.
#[derive(Clone, Debug)]
pub enum Initiated {
    /// The destination is this node's instance: a local connection, active.
    Local(Connection),
    /// The destination confirmed with its project: both sides are active.
    Established(Connection),
    /// The connection is pending until the destination's admin accepts `code`.
    Invitation {
        /// The pending connection.
        connection: Connection,
        /// The code to hand over. It carries the secret: never log it.
        code: InvitationCode,
    },
}

impl Initiated {
    /// The connection, whatever happened.
    pub fn connection(&self) -> &Connection {
        match self {
            Initiated::Local(c) | Initiated::Established(c) => c,
            Initiated::Invitation { connection, .. } => connection,
        }
    }
}

/// The destination as an instance: normalized, with the sync endpoint's path
/// taken off.
fn normalize_destination(text: &str) -> Result<InstanceUrl> {
    let url = InstanceUrl::parse(text)?;
    match url.as_str().strip_suffix(SYNC_ENDPOINT_PATH) {
        Some(base) => InstanceUrl::parse(base),
        None => Ok(url),
    }
}

/// A connection record: the one place a new remote connection is built.
pub(super) fn new_connection(
    id: ConnectionId,
    name: String,
    a: Side,
    b: Side,
    mode: Mode,
    status: ConnectionStatus,
    created: time::OffsetDateTime,
) -> Connection {
    Connection {
        id,
        name,
        a,
        b,
        mode,
        rules: RuleSetKind::Basic,
        policy: Default::default(),
        guard: Default::default(),
        status,
        created,
        triggers: Vec::new(),
    }
}

pub(super) fn unexpected(peer: &InstanceUrl) -> Error {
    Error::new(
        ErrorKind::Incompatible,
        format!("the node at {peer} answered with a message this node does not expect"),
    )
}

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
            Some(url) => match self
                .establish(&conn, &invitation, &request, &url, caller)
                .await
            {
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
                super::unique_name(&mut *self.txn()?, &format!("{own}_to_{other}"))?
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
        caller: &UserId,
    ) -> Result<Connection> {
        let project = request
            .destination_project
            .clone()
            .unwrap_or_else(unknown_project);
        let message = Request::Establish {
            code: SecretText::new(invitation.encode().as_str()),
            project,
            caller: caller.clone(),
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
                    .map(|r| super::super::decode_connection(&r))
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
