//! Setting connections up: initiate (local, direct, or by invitation), accept,
//! and the initiator's list of invitations.

use std::time::Duration;

use crate::connection::{
    Challenge, Connection, ConnectionStatus, Invitation, InvitationCode, InvitationError,
    InvitationSummary, Mode, NewInvitation, Nonce, Role, Side, negotiate,
};
use crate::error::{Error, ErrorKind, Result};
use crate::model::{ConnectionId, InstanceUrl, ProjectKey, UserId};
use crate::rules::RuleSetKind;
use crate::store::StoreTxn;
use crate::transport::SYNC_ENDPOINT_PATH;

use super::super::{LocalConnectionOptions, Node};
use super::wire::{Body, Request, Response, SecretText, Welcome};
use super::{Link, UNKNOWN_INSTANCE, unknown_project};

/// What an admin asks for when initiating a connection (Exalate's "Initiate
/// connection" dialog).
///
/// ```
/// use twinsync::engine::InitiateRequest;
///
/// let request = InitiateRequest::new("SUP", "ada")
///     .destination("https://partner.example")
///     .destination_project("DEV")
///     .admin_access(true);
/// assert!(request.admin_access_to_destination);
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
    /// Who initiates (their permission is checked).
    pub caller: UserId,
    /// How long an invitation can be accepted (default seven days).
    pub validity: Duration,
}

impl InitiateRequest {
    /// A Basic-mode request for `local_project` by `caller`, with no URL and
    /// no admin access to the destination.
    pub fn new(local_project: impl Into<String>, caller: impl Into<String>) -> Self {
        InitiateRequest {
            destination: None,
            local_project: ProjectKey::new(local_project),
            destination_project: None,
            mode: Mode::Basic,
            admin_access_to_destination: false,
            name: None,
            caller: UserId::new(caller),
            validity: Invitation::DEFAULT_VALIDITY,
        }
    }

    /// Sets the destination's URL.
    pub fn destination(mut self, url: impl Into<String>) -> Self {
        self.destination = Some(url.into());
        self
    }

    /// Sets the destination's project.
    pub fn destination_project(mut self, project: impl Into<String>) -> Self {
        self.destination_project = Some(ProjectKey::new(project));
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

/// What [`Node::initiate`] made.
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
    }
}

fn unexpected(peer: &InstanceUrl) -> Error {
    Error::new(
        ErrorKind::Incompatible,
        format!("the node at {peer} answered with a message this node does not expect"),
    )
}

impl Node {
    /// Initiates a connection, as Exalate's "Initiate connection" does.
    ///
    /// - A destination URL that is this node's own instance (after
    ///   normalization: scheme and host case, default port, trailing slash,
    ///   the [sync endpoint path](crate::transport::SYNC_ENDPOINT_PATH)) makes
    ///   a **local** connection between `local_project` and
    ///   `destination_project`, active at once.
    /// - With admin access and a destination the transport reaches, the
    ///   destination node confirms with `destination_project` (checking the
    ///   caller's permission there): **established**, both sides active.
    /// - Otherwise (no admin access, no URL, or a destination that cannot be
    ///   reached) an **invitation** code; the connection is pending here until
    ///   the destination's admin [accepts](Node::accept) it.
    ///
    /// A reachable destination announces its protocol version first; with an
    /// incompatible one nothing is created on either side.
    ///
    /// # Errors
    ///
    /// `PermissionDenied` when the caller may not set up connections for the
    /// project(s); `NotFound` for a missing project; `Incompatible` naming both
    /// protocol versions; `InvalidInput` for a malformed URL or a missing
    /// destination project; `AlreadyExists` for a taken name; the
    /// destination's refusal.
    pub async fn initiate(&self, request: InitiateRequest) -> Result<Initiated> {
        let own = request.local_project.clone();
        self.tracker()
            .project(&own)
            .await
            .map_err(|e| missing_project(e, &own, self.instance()))?;
        self.check_permission(&request.caller, &own).await?;
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
            self.check_permission(&request.caller, other).await?;
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
                txn.set_meta(&super::link_key(id), None)
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
            caller: request.caller.clone(),
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

    fn activate_remote(
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

    /// Accepts an invitation: pick the project for incoming issues, confirm.
    ///
    /// Decodes and checks the code (format, checksum, expiry, protocol), checks
    /// the project and the caller's permission, asks the initiator for its
    /// protocol version, proves knowledge of the secret to it (challenge and
    /// response; the secret is never sent) and, once the initiator has marked
    /// the invitation used, records the connection here: both sides active.
    ///
    /// # Errors
    ///
    /// Each failure is its own error: a malformed, corrupted, expired, used or
    /// revoked code, an incompatible protocol or an unknown connection are
    /// [`InvitationError`]s (recover the case with
    /// [`InvitationError::from_error`]); a missing project is `NotFound`; a
    /// caller who may not is `PermissionDenied`; an initiator that cannot be
    /// reached is `Unavailable`. Nothing is recorded on either side when
    /// accepting fails.
    pub async fn accept(
        &self,
        code: &str,
        project: &ProjectKey,
        caller: &UserId,
    ) -> Result<Connection> {
        let invitation = Invitation::decode(code, self.now())?;
        self.check_node_version(&invitation)?;
        if let Some((conn, _)) = self.established_already(&invitation, project)? {
            // Accepted already, but finding the twins failed: finish it.
            self.check_permission(caller, project).await?;
            self.rederive_remote_twins(&conn).await?;
            return Ok(conn);
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
        let conn = new_connection(
            id.clone(),
            name,
            welcome.initiator.clone(),
            own,
            welcome.mode,
            ConnectionStatus::Active,
            self.now(),
        );
        let link = Link {
            peer_reachable: welcome.reachable,
            ..link
        };
        let mut txn = self.txn()?;
        self.activate_remote(&mut *txn, &conn, &link)?;
        txn.commit()?;
        let found = self.rederive_remote_twins(&conn).await?;
        tracing::info!(connection = %conn.name, initiator = %initiator, rederived = found, "invitation accepted");
        Ok(conn)
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

    /// The initiator's list of invitations, as its admin sees them now (no secrets).
    ///
    /// # Errors
    ///
    /// `Storage`.
    pub fn invitations(&self) -> Result<Vec<InvitationSummary>> {
        let now = self.now();
        self.with_invitations(|pending| Ok((pending.list(now), false)), |_| Ok(()))
    }

    /// Revokes a pending invitation: it can no longer be accepted, and its
    /// pending connection is removed (the list keeps showing it as revoked).
    ///
    /// # Errors
    ///
    /// [`InvitationError::UnknownConnection`], or
    /// [`AlreadyUsed`](InvitationError::AlreadyUsed) once accepted (delete the
    /// connection instead); `PermissionDenied` when the caller may not change
    /// connections of the invitation's project.
    pub async fn revoke_invitation(
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
                    txn.set_meta(&super::link_key(connection), None)?;
                }
                Ok(())
            },
        )?;
        self.forget_authenticator(connection);
        tracing::info!(connection = %connection, "invitation revoked");
        Ok(())
    }

    // ---- the initiator's and destination's side of the handshake ----

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
fn missing_project(err: Error, project: &ProjectKey, instance: &InstanceUrl) -> Error {
    if err.kind() == ErrorKind::NotFound {
        Error::new(
            ErrorKind::NotFound,
            format!("project {project} does not exist on {instance}; choose an existing project"),
        )
    } else {
        err
    }
}
