//! Connections between two sides, and the pieces that set them up safely.
//!
//! A connection links two sides (instance, project). When the initiator cannot
//! finish on the destination itself, it hands the destination's admin an
//! [`Invitation`] code:
//!
//! | piece | what it does |
//! |---|---|
//! | [`Invitation`], [`InvitationCode`] | the copy-pasteable code: versioned, checksummed, expiring, carrying a random 256-bit secret |
//! | [`negotiate`], [`PROTOCOL_VERSION`] | the version check both nodes make before anything is created |
//! | [`ProjectLevelPolicy`] | who may set up a connection for a project: global admins, and project admins when allowed |
//! | [`EstablishToken`] | a one-time code a destination admin issues so that another node's admin can set up a connection there directly |
//! | [`NodeKey`] | the node's own key, kept apart from its store, that seals every connection secret the store holds |
//!
//! The protocol behind them is private to twinsync: the acceptor proves that
//! it knows the secret without sending it (HMAC-SHA256 over a fresh nonce,
//! checked in constant time), the initiator redeems each code once, and after
//! acceptance every message between the two nodes is signed with keys derived
//! from the secret; stale and replayed messages are refused.
//!
//! Errors specific to invitations and to message authentication are typed
//! ([`InvitationError`], [`AuthError`]) so that a caller can tell the cases
//! apart; both convert into [`crate::Error`] with a fitting [`ErrorKind`], and
//! [`InvitationError::from_error`] / [`AuthError::from_error`] recover them.
//!
//! Secrets never appear in `Debug` or `Display` output, nor in error messages.
//!
//! # Examples
//!
//! An initiator's invitation, as its admin copies it and the destination's
//! admin pastes it:
//!
//! ```
//! use twinsync::clock::{Clock, ManualClock};
//! use twinsync::connection::{ConnectionId, Invitation, NewInvitation};
//! use twinsync::model::{InstanceUrl, ProjectKey};
//!
//! let clock = ManualClock::default();
//! let new = NewInvitation::new(
//!     ConnectionId::generate()?,
//!     "SUP_to_DEV",
//!     InstanceUrl::parse("https://support.example")?,
//!     ProjectKey::new("SUP")?,
//! );
//! let code = Invitation::create(new, &clock)?.encode();
//! assert!(code.as_str().starts_with("twinsync-invite-"));
//! assert!(!format!("{code:?}").contains(&code.as_str()[20..]), "no secret in Debug");
//!
//! let received = Invitation::decode(code.as_str(), clock.now())?;
//! assert_eq!(received.name(), "SUP_to_DEV");
//! # Ok::<(), twinsync::Error>(())
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, Result};

mod auth;
mod config;
mod error;
mod establish;
mod invitation;
mod message;
pub(crate) mod node_key;
mod pending;
mod permissions;
pub(crate) mod secret;
mod version;

pub use auth::Role;
pub(crate) use auth::{Challenge, Proof};
pub use config::{Connection, ConnectionStatus, Side};
pub use error::{AuthError, InvitationError};
pub(crate) use establish::digest_of as establish_token_digest;
pub use establish::{ESTABLISH_TOKEN_PREFIX, EstablishToken};
pub use invitation::{
    INVITATION_FORMAT_VERSION, INVITATION_PREFIX, Invitation, InvitationCode, NewInvitation,
};
pub(crate) use message::{MessageAuthenticator, MessageSignature, SYNC_REQUEST_LINE};
pub use node_key::{NodeKey, NodeKeyId};
pub(crate) use pending::PendingInvitations;
pub use pending::{InvitationState, InvitationStatus, InvitationSummary};
pub use permissions::{
    DEFAULT_PROJECT_LEVEL_GROUP, Grant, GroupState, PermissionFacts, ProjectLevelPolicy,
};
pub(crate) use secret::{Nonce, Secret};
pub use version::{
    FEATURE_ATTACHMENT_FETCH, FEATURE_NODE_URLS, FEATURE_PRIVATE_PULL, FEATURES,
    MIN_PROTOCOL_VERSION_BASIC, PROTOCOL_VERSION, check_features, negotiate,
};

/// A connection's stable identifier, the same on both sides.
///
/// One to 64 characters from `A-Z a-z 0-9 . _ -`;
/// [`generate`](ConnectionId::generate) makes a random one (32 hex digits).
///
/// ```
/// use twinsync::connection::ConnectionId;
///
/// let id = ConnectionId::parse("sup-to-dev-1")?;
/// assert_eq!(id.as_str(), "sup-to-dev-1");
/// assert!(ConnectionId::parse("has space").is_err());
/// # Ok::<(), twinsync::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ConnectionId(String);

impl ConnectionId {
    /// The longest id accepted, in bytes.
    pub const MAX_LEN: usize = 64;

    /// Checks and wraps an id.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`] when the id is empty, longer than
    /// [`MAX_LEN`](Self::MAX_LEN) or holds other characters than
    /// `A-Z a-z 0-9 . _ -`.
    pub fn parse(text: &str) -> Result<Self> {
        let valid = !text.is_empty()
            && text.len() <= Self::MAX_LEN
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if valid {
            Ok(ConnectionId(text.to_owned()))
        } else {
            Err(Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "connection id {text:?} must be 1 to {} characters from A-Z a-z 0-9 . _ -",
                    Self::MAX_LEN
                ),
            ))
        }
    }

    /// A new random id: 128 bits from the operating system, as 32 hex digits.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Unavailable`] when the operating system's random number
    /// generator fails.
    pub fn generate() -> Result<Self> {
        let mut bytes = [0u8; 16];
        secret::fill_random(&mut bytes)?;
        Ok(ConnectionId(hex::encode(bytes)))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ConnectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for ConnectionId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        ConnectionId::parse(s)
    }
}

impl TryFrom<String> for ConnectionId {
    type Error = Error;
    fn try_from(value: String) -> Result<Self> {
        ConnectionId::parse(&value)
    }
}

impl From<ConnectionId> for String {
    fn from(value: ConnectionId) -> Self {
        value.0
    }
}

/// How a connection decides what to sync.
///
/// More modes may be added in minor releases, so match with a wildcard arm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Mode {
    /// Exalate's Basic mode: summary, description, comments, attachments and
    /// mirrored issue types, with a fixed rule set.
    Basic,
}

impl Mode {
    /// The mode's lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Basic => "basic",
        }
    }

    /// The oldest protocol version a node must speak to take part in a
    /// connection of this mode.
    pub fn min_protocol_version(self) -> u16 {
        match self {
            Mode::Basic => MIN_PROTOCOL_VERSION_BASIC,
        }
    }

    /// The mode's number in invitation codes.
    pub(crate) fn code(self) -> u8 {
        match self {
            Mode::Basic => 1,
        }
    }

    /// The mode numbered `code` in invitation codes, if this node knows it.
    pub(crate) fn from_code(code: u8) -> Option<Mode> {
        match code {
            1 => Some(Mode::Basic),
            _ => None,
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_ids_are_checked() {
        for good in ["a", "SUP_to_DEV", "x.y-z", &"a".repeat(64)] {
            assert_eq!(ConnectionId::parse(good).unwrap().as_str(), good);
        }
        for bad in ["", "a b", "ä", "a/b", &"a".repeat(65)] {
            let err = ConnectionId::parse(bad).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{bad:?}");
        }
    }

    #[test]
    fn generated_ids_are_valid_and_distinct() {
        let a = ConnectionId::generate().unwrap();
        let b = ConnectionId::generate().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 32);
        assert_eq!(ConnectionId::parse(a.as_str()).unwrap(), a);
    }

    #[test]
    fn serde_checks_connection_ids() {
        let id: ConnectionId = serde_json::from_str("\"c-1\"").unwrap();
        assert_eq!(id.as_str(), "c-1");
        assert!(serde_json::from_str::<ConnectionId>("\"c 1\"").is_err());
        assert_eq!(serde_json::to_string(&Mode::Basic).unwrap(), "\"basic\"");
    }

    #[test]
    fn mode_codes_round_trip() {
        assert_eq!(Mode::from_code(Mode::Basic.code()), Some(Mode::Basic));
        assert_eq!(Mode::from_code(0), None);
    }
}
