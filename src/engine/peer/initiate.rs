//! Initiating connections (local, established directly, or by invitation),
//! and the initiator's list of invitations.

use crate::connection::{
    Connection, ConnectionStatus, FEATURES, Invitation, InvitationError, InvitationSummary,
    NewInvitation, Role, Side, check_features, negotiate,
};
use crate::error::{Error, ErrorKind, Result};
use crate::model::{ConnectionId, InstanceUrl, NodeUrl, ProjectKey, UserId};

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
        let typed = request.destination.as_deref().map(str::trim);
        if typed.is_some_and(|t| self.is_own_url(t)) {
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
        let address = typed.map(|t| self.resolve_address(t)).transpose()?;
        let announced = match (&address, typed) {
            (Some(address), Some(typed)) => self.hello(address, typed).await?,
            _ => None,
        };
        if let Some(hello) = &announced {
            negotiate(request.mode, self.protocol_version(), hello.protocol)?;
            check_features(hello.protocol, &hello.features, !self.reachable())?;
        }
        // The other side's instance: what its node says, else the URL typed
        // when it names a tracker (the acceptor tells its own on accepting).
        let destination = match (&announced, typed) {
            (Some(hello), _) => Some(hello.instance.clone()),
            (None, Some(typed)) => Some(normalize_destination(typed)?),
            (None, None) => None,
        };
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
        match announced.filter(|_| direct) {
            Some(hello) => match self.establish(&conn, &invitation, &request, &hello).await {
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

    /// Whether `typed` names this node: its tracker's URL or its node URL
    /// (either with the sync endpoint's path).
    fn is_own_url(&self, typed: &str) -> bool {
        normalize_destination(typed).is_ok_and(|url| &url == self.instance())
            || NodeUrl::parse(typed).is_ok_and(|url| &url == self.node_url())
    }

    /// Where the node for a destination typed by an admin is reached: the
    /// directory's node URL when `typed` is a tracker listed there, else
    /// `typed` itself as a node URL.
    fn resolve_address(&self, typed: &str) -> Result<NodeUrl> {
        if let Ok(tracker) = normalize_destination(typed)
            && let Some(node) = self.runtime().directory.get(&tracker)
        {
            return Ok(node.clone());
        }
        NodeUrl::parse(typed)
    }

    /// What the node at `address` announces; `None` when it cannot be reached
    /// (the admin then hands over an invitation code instead).
    async fn hello(&self, address: &NodeUrl, typed: &str) -> Result<Option<Hello>> {
        if self.runtime().transport.is_none() {
            return Ok(None);
        }
        let request = Request::Hello {
            protocol: self.protocol_version(),
            features: FEATURES.iter().map(|f| (*f).to_owned()).collect(),
        };
        match self.call(address, &request).await {
            Ok(Response::Hello {
                protocol,
                instance,
                node,
                features,
            }) => Ok(Some(Hello {
                protocol,
                instance,
                node: node.unwrap_or_else(|| address.clone()),
                features,
            })),
            Ok(Response::Refused(r)) => Err(r.into_error(address)),
            Ok(_) => Err(unexpected(address)),
            Err(e) if e.is_temporary() => {
                tracing::info!(error = %e, destination = %address, "destination not reachable");
                Ok(None)
            }
            Err(e) => Err(not_a_node(e, address, typed)),
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
        new.initiator_node = Some(self.node_url().clone());
        new.mode = request.mode;
        new.validity = request.validity;
        new.protocol_version = self.protocol_version();
        let invitation = Invitation::create(new, &**self.clock())?;
        let link = Link {
            role: Role::Initiator,
            peer: destination.cloned(),
            peer_node: None,
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
        hello: &Hello,
    ) -> Result<Connection> {
        let (url, address) = (&hello.instance, &hello.node);
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
        let welcome = match self.call(address, &message).await? {
            Response::Signed(signed) => match self.open_signed(&conn.id, &link, url, signed)? {
                Body::Welcome(w) => w,
                Body::Refused(r) => return Err(r.into_error(address)),
                _ => return Err(unexpected(address)),
            },
            Response::Refused(r) => return Err(r.into_error(address)),
            _ => return Err(unexpected(address)),
        };
        if welcome.connection != conn.id || &welcome.acceptor.instance != url {
            return Err(unexpected(url));
        }
        let mut active = conn.clone();
        active.b = welcome.acceptor.clone();
        active.status = ConnectionStatus::Active;
        let link = Link {
            peer: Some(url.clone()),
            peer_node: Some(address.clone()),
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

/// What a node said about itself when asked.
struct Hello {
    protocol: u16,
    /// Its tracker's URL.
    instance: InstanceUrl,
    /// Where it is reached.
    node: NodeUrl,
    features: Vec<String>,
}

/// A destination that answered, but not as a twinsync node: most often the
/// URL of a tracker rather than of the node that syncs it.
fn not_a_node(err: Error, address: &NodeUrl, typed: &str) -> Error {
    Error::new(
        err.kind(),
        format!(
            "{address} did not answer as a twinsync node ({}); if {typed} is your partner's \
             tracker (their Jira site), enter the URL of the twinsync node that syncs it \
             instead (their node URL, ending in /twinsync or not), add the site to this \
             node's directory, or leave the destination empty and send an invitation code",
            err.message()
        ),
    )
}
