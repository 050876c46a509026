//! Accepting: the acceptor's side (decode, check, prove the secret, record),
//! and the initiator's and destination's answers to it.

use crate::connection::{
    Connection, ConnectionStatus, FEATURES, Invitation, InvitationError, Role, Side,
    check_features, negotiate,
};
use crate::error::{Error, ErrorKind, Result};
use crate::model::{ProjectKey, UserId};
use crate::store::StoreTxn;

use super::link::Link;
use super::setup::{missing_project, new_connection, unexpected};
use super::wire::{Body, Request, Response, SecretText};
use crate::engine::node::Node;

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
        let own = crate::engine::node::own_side(conn, self.instance())?;
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
        self.require_node_key()?;
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
        let address = invitation.initiator_node();
        let hello = Request::Hello {
            protocol: self.protocol_version(),
            features: FEATURES.iter().map(|f| (*f).to_owned()).collect(),
        };
        let (theirs, features) = match self.call(&address, &hello).await? {
            Response::Hello {
                protocol,
                instance,
                features,
                ..
            } => {
                if instance != initiator {
                    return Err(Error::new(
                        ErrorKind::Incompatible,
                        format!(
                            "the node at {address} syncs {instance}, but the invitation is from \
                             {initiator}; ask the initiator for a new code"
                        ),
                    ));
                }
                (protocol, features)
            }
            Response::Refused(r) => return Err(r.into_error(&address)),
            _ => return Err(unexpected(&address)),
        };
        let protocol = negotiate(invitation.mode(), self.protocol_version(), theirs)?;
        check_features(theirs, &features, !self.reachable())?;
        let id = invitation.connection().clone();
        let challenge = match self
            .call(
                &address,
                &Request::Challenge {
                    connection: id.clone(),
                },
            )
            .await?
        {
            Response::Challenge { challenge } if challenge.connection() == &id => challenge,
            Response::Refused(r) => return Err(r.into_error(&address)),
            _ => return Err(unexpected(&address)),
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
            node: self.reachable().then(|| self.node_url().clone()),
        };
        let link = Link {
            role: Role::Acceptor,
            peer: Some(initiator.clone()),
            peer_node: Some(address.clone()),
            peer_reachable: true,
            protocol,
            code: SecretText::new(invitation.encode().as_str()),
        };
        let welcome = match self.call(&address, &redeem).await? {
            Response::Signed(signed) => match self.open_signed(&id, &link, &initiator, signed)? {
                Body::Welcome(w) => w,
                Body::Refused(r) => return Err(r.into_error(&address)),
                _ => return Err(unexpected(&address)),
            },
            Response::Refused(r) => return Err(r.into_error(&address)),
            _ => return Err(unexpected(&address)),
        };
        if welcome.connection != id || welcome.acceptor != own {
            return Err(unexpected(&address));
        }
        let name = super::link::unique_name(&mut *self.txn()?, &welcome.name)?;
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
    pub(super) fn check_node_version(&self, invitation: &Invitation) -> Result<()> {
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
    pub(super) async fn accept_checks(
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
}
