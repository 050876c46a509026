//! Remote connections through [`Admin`]: initiating, accepting, invitations,
//! and joining again after one side lost its state.

use crate::connection::{Connection, EstablishToken, InvitationCode};
use crate::error::Result;
use crate::model::{ConnectionId, ProjectKey};

use super::handle::Admin;
use crate::engine::peer::setup::{InitiateRequest, Initiated};

impl Admin<'_> {
    /// Initiates a connection, as Exalate's "Initiate connection" does.
    ///
    /// - A destination URL that is this node's own instance (after
    ///   normalization: scheme and host case, default port, trailing slash,
    ///   the [sync endpoint path](crate::transport::SYNC_ENDPOINT_PATH)) makes
    ///   a **local** connection between `local_project` and
    ///   `destination_project`, active at once.
    /// - With admin access and a destination the transport reaches, the
    ///   destination node confirms with `destination_project`, given the
    ///   [establish token](InitiateRequest::establish_token) one of its admins
    ///   issued there (it checks the token, and its issuer's permission):
    ///   **established**, both sides active.
    /// - Otherwise (no admin access, no URL, or a destination that cannot be
    ///   reached) an **invitation** code; the connection is pending here until
    ///   the destination's admin [accepts](Admin::accept) it.
    ///
    /// A reachable destination announces its protocol version first; with an
    /// incompatible one nothing is created on either side.
    ///
    /// Needs permission on `local_project` (and on `destination_project` for
    /// a local connection; the destination node checks its own).
    ///
    /// # Errors
    ///
    /// `PermissionDenied` when the caller may not set up connections for the
    /// project(s); `NotFound` for a missing project; `Incompatible` naming both
    /// protocol versions; `InvalidInput` for a malformed URL, or a missing
    /// destination project or establish token with admin access;
    /// `InvalidConfig` for a remote connection on a node without a node key;
    /// `AlreadyExists` for a taken name; the destination's refusal
    /// (`Unauthenticated` for an unknown, expired or used token).
    pub async fn initiate(&self, request: InitiateRequest) -> Result<Initiated> {
        self.node.initiate(request, &self.caller).await
    }

    /// Accepts an invitation: pick the project for incoming issues, confirm.
    ///
    /// Decodes and checks the code (format, checksum, expiry, protocol), checks
    /// the project and the caller's permission, asks the initiator for its
    /// protocol version, proves knowledge of the secret to it (challenge and
    /// response; the secret is never sent) and, once the initiator has marked
    /// the invitation used, records the connection here: both sides active.
    ///
    /// A code works once: accepting it again on the node that accepted it is
    /// [`InvitationError::AcceptedAlready`](crate::connection::InvitationError::AcceptedAlready),
    /// naming the connection it made. Two retries do work: when the
    /// initiator's answer (the welcome) was lost, this node has recorded
    /// nothing and accepting again gets the welcome again; when finding this
    /// side's twins failed afterwards (the connection stays pending here),
    /// accepting again finishes it.
    ///
    /// Needs permission on `project`.
    ///
    /// # Errors
    ///
    /// Each failure is its own error: a malformed, corrupted, expired, used or
    /// revoked code, an incompatible protocol or an unknown connection are
    /// [`InvitationError`](crate::connection::InvitationError)s (recover the
    /// case with
    /// [`InvitationError::from_error`](crate::connection::InvitationError::from_error));
    /// a missing project is `NotFound`; a caller who may not is
    /// `PermissionDenied`; an initiator that cannot be reached is
    /// `Unavailable`. Nothing is recorded on either side when accepting fails
    /// before the initiator took the code.
    pub async fn accept(&self, code: &str, project: &ProjectKey) -> Result<Connection> {
        self.node.accept(code, project, &self.caller).await
    }

    /// Revokes a pending invitation: it can no longer be accepted, and its
    /// pending connection is removed (the [list](crate::engine::Node::invitations)
    /// keeps showing it as revoked).
    ///
    /// Needs permission on the invitation's project.
    ///
    /// # Errors
    ///
    /// [`InvitationError::UnknownConnection`](crate::connection::InvitationError::UnknownConnection),
    /// or [`AlreadyUsed`](crate::connection::InvitationError::AlreadyUsed)
    /// once accepted (delete the connection instead); `PermissionDenied`.
    pub async fn revoke_invitation(&self, id: &ConnectionId) -> Result<()> {
        self.node.revoke_invitation(id, &self.caller).await
    }

    /// A fresh invitation for an existing remote connection, for the other
    /// side to accept again after it lost its state. Until it is accepted the
    /// connection goes on as it was; accepting it replaces the connection's
    /// secret.
    ///
    /// Needs permission on the connection's project on this node.
    ///
    /// # Errors
    ///
    /// `NotFound` for an unknown connection; `InvalidInput` for a local or
    /// pending connection; `PermissionDenied`; `Unsupported` when other
    /// nodes cannot call this node (the other side would have to make the
    /// invitation).
    pub async fn reinvite(&self, id: &ConnectionId) -> Result<InvitationCode> {
        self.node.reinvite(id, &self.caller).await
    }

    /// Sets a remote connection up again on the other node directly: for
    /// when the other side lost its state and this node cannot be called
    /// (else [`reinvite`](Admin::reinvite) hands its admin a code). `token`
    /// is an establish token an admin of the other node issued there for
    /// its project of the connection
    /// ([`issue_establish_token`](Admin::issue_establish_token)). The
    /// connection gets a new secret, and every twin goes to the other side
    /// again.
    ///
    /// Needs permission on the connection's project here; the other node
    /// checks the token and its issuer's permission there.
    ///
    /// # Errors
    ///
    /// `NotFound` for an unknown connection; `InvalidInput` for a local or
    /// pending connection; `PermissionDenied` here; the other node's
    /// refusal (`Unauthenticated` for a missing, unknown, expired or used
    /// token), or `Unavailable` when it cannot be reached.
    pub async fn rejoin(&self, id: &ConnectionId, token: &EstablishToken) -> Result<Connection> {
        self.node.rejoin(id, token, &self.caller).await
    }

    /// Issues a one-time establish token on this node (the destination) for
    /// `project`, valid for `validity` (at most
    /// [`EstablishToken::MAX_VALIDITY`], seven days): the caller hands it to
    /// the admin of another node, who passes it with
    /// [`InitiateRequest::establish_token`] to set a connection up here
    /// directly ("Yes, I have admin access"), or with
    /// [`rejoin`](Admin::rejoin).
    ///
    /// Show it to the caller once: this node keeps only its digest. It works
    /// once, for `project` only, until it expires, and only while the caller
    /// may still set up connections for `project` (checked again when it is
    /// used). Without one, a node that knows this node's URL cannot set up a
    /// connection here.
    ///
    /// Needs permission on `project`.
    ///
    /// # Errors
    ///
    /// `PermissionDenied`; `NotFound` for a missing project; `InvalidInput`
    /// for a validity of zero or over seven days; `InvalidConfig` when this
    /// node has no node key (a connection set up here stores a secret).
    pub async fn issue_establish_token(
        &self,
        project: &ProjectKey,
        validity: std::time::Duration,
    ) -> Result<EstablishToken> {
        self.node
            .issue_establish_token(project, validity, &self.caller)
            .await
    }
}
