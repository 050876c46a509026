//! The words of setting up a remote connection, shared by the initiating
//! and the accepting side: the request an admin makes, what it gives back,
//! and the records and errors both sides build.

use std::time::Duration;

use crate::connection::{
    Connection, ConnectionStatus, EstablishToken, Invitation, InvitationCode, Mode, Side,
};
use crate::error::{Error, ErrorKind, Result};
use crate::model::{ConnectionId, InstanceUrl, ProjectKey};
use crate::rules::RuleSetKind;
use crate::transport::SYNC_ENDPOINT_PATH;

/// What an admin asks for when initiating a connection (Exalate's "Initiate
/// connection" dialog).
///
/// ```
/// use twinsync::engine::InitiateRequest;
///
/// // The token an admin of partner.example issued there for DEV, pasted.
/// let pasted = "twinsync-establish-hV3nq2Yx0dT5w8J1bQk7mZr4uLc9sAe6fGp2oN8yWtA";
/// let request = InitiateRequest::new("SUP".parse()?)
///     .destination("https://partner.example")
///     .destination_project("DEV".parse()?)
///     .admin_access(true)
///     .establish_token(pasted.parse()?);
/// assert!(request.admin_access_to_destination);
/// assert!(!format!("{request:?}").contains(pasted), "the token is never printed");
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
    /// With admin access: the establish token an admin of the destination
    /// issued there for the destination project
    /// ([`Admin::issue_establish_token`](crate::engine::Admin::issue_establish_token)).
    pub establish_token: Option<EstablishToken>,
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
            establish_token: None,
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

    /// Sets the establish token a destination admin issued on the
    /// destination, which lets the connection be set up there directly.
    pub fn establish_token(mut self, token: EstablishToken) -> Self {
        self.establish_token = Some(token);
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
pub(super) fn normalize_destination(text: &str) -> Result<InstanceUrl> {
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
        users: Default::default(),
    }
}

/// The direct setup was asked for without the destination's token.
pub(super) fn missing_token(
    destination: Option<&InstanceUrl>,
    project: Option<&ProjectKey>,
) -> Error {
    let at = destination.map_or_else(|| "the destination".to_owned(), |d| d.to_string());
    let project = project.map_or_else(|| "the project".to_owned(), |p| format!("project {p}"));
    Error::new(
        ErrorKind::InvalidInput,
        format!(
            "with admin access to the destination, paste the establish token an admin of {at} \
             issued there for {project} (Admin::issue_establish_token on that node; \
             InitiateRequest::establish_token here), or initiate without admin access for an \
             invitation code"
        ),
    )
}

pub(super) fn unexpected(peer: &dyn std::fmt::Display) -> Error {
    Error::new(
        ErrorKind::Incompatible,
        format!("the node at {peer} answered with a message this node does not expect"),
    )
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
