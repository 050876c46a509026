//! Why an invitation or a signed message was refused.
//!
//! Both enums convert into [`crate::Error`] with a fitting kind and keep
//! themselves as its source, so a caller holding the crate's error can still
//! tell the cases apart with [`InvitationError::from_error`] and
//! [`AuthError::from_error`]. No message ever contains a secret, a key or the
//! text of a code.

use std::time::Duration;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::ConnectionId;
use crate::error::{Error, ErrorKind};

fn rfc3339(at: &OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_else(|_| at.to_string())
}

/// Why an invitation code could not be read, accepted, revoked or redeemed.
///
/// More cases may be added in minor releases, so match with a wildcard arm.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvitationError {
    /// The text is not an invitation code: wrong prefix, characters that are
    /// not base64url, or too short or too long.
    #[error(
        "invitation code is malformed: {reason}; copy the whole code, which starts with \
         `twinsync-invite-`"
    )]
    Malformed {
        /// What is wrong, in a few words.
        reason: &'static str,
    },
    /// The code looks right but its checksum does not match: it was changed
    /// or cut while being copied.
    #[error(
        "invitation code is corrupted (its checksum does not match); copy it again, \
         unchanged, from the initiator"
    )]
    Corrupted,
    /// The code was written in a format this node cannot read.
    #[error(
        "invitation code has format version {found}, but this node reads format version \
         {supported}; upgrade twinsync on the older node"
    )]
    UnsupportedFormat {
        /// The code's format version.
        found: u8,
        /// The format version this node reads.
        supported: u8,
    },
    /// The code asks for a connection mode this node does not know.
    #[error(
        "invitation asks for connection mode number {code}, which this node does not know; upgrade twinsync"
    )]
    UnsupportedMode {
        /// The mode's number in the code.
        code: u8,
    },
    /// The initiator's protocol version and ours cannot set up this mode.
    #[error(
        "invitation comes from a node speaking protocol version {theirs} and this node speaks \
         version {ours}, but this connection needs version {minimum} or later on both; \
         upgrade twinsync on the older node"
    )]
    IncompatibleProtocol {
        /// This node's protocol version.
        ours: u16,
        /// The initiator's protocol version, from the code.
        theirs: u16,
        /// The oldest version the connection's mode needs.
        minimum: u16,
    },
    /// The invitation is past its expiry.
    #[error(
        "invitation for connection {connection} expired at {}; ask the initiator for a new one",
        rfc3339(.expired_at)
    )]
    Expired {
        /// The invitation's connection.
        connection: ConnectionId,
        /// When it expired.
        expired_at: OffsetDateTime,
    },
    /// The invitation was accepted already; each one works once.
    #[error(
        "invitation for connection {connection} was already used; ask the initiator for a new one"
    )]
    AlreadyUsed {
        /// The invitation's connection.
        connection: ConnectionId,
    },
    /// This node accepted the invitation already (the acceptor's own record);
    /// the connection it made is in use.
    #[error(
        "this invitation code was already accepted as connection {name} ({connection}) on this \
         node; a code works once: use that connection, or ask the initiator for a new code"
    )]
    AcceptedAlready {
        /// The connection the code set up.
        connection: ConnectionId,
        /// Its name on this node.
        name: String,
    },
    /// The initiator revoked the invitation.
    #[error("invitation for connection {connection} was revoked by the initiator")]
    Revoked {
        /// The invitation's connection.
        connection: ConnectionId,
    },
    /// The initiator knows no invitation for this connection.
    #[error("there is no invitation for connection {connection} on this node")]
    UnknownConnection {
        /// The connection asked for.
        connection: ConnectionId,
    },
    /// An invitation for this connection is recorded already.
    #[error("an invitation for connection {connection} is recorded already")]
    DuplicateConnection {
        /// The connection.
        connection: ConnectionId,
    },
    /// A proof arrived but no challenge was outstanding for the connection.
    #[error("no challenge is outstanding for connection {connection}; ask for a new challenge")]
    NoChallenge {
        /// The connection.
        connection: ConnectionId,
    },
    /// The proof does not show knowledge of the invitation's secret.
    #[error(
        "proof for connection {connection} does not match the invitation's secret; \
         check that the code was copied from this initiator"
    )]
    BadProof {
        /// The connection.
        connection: ConnectionId,
    },
}

impl InvitationError {
    /// The [`ErrorKind`] this error converts to.
    pub fn kind(&self) -> ErrorKind {
        match self {
            InvitationError::Malformed { .. } | InvitationError::Corrupted => {
                ErrorKind::InvalidInput
            }
            InvitationError::UnsupportedFormat { .. }
            | InvitationError::UnsupportedMode { .. }
            | InvitationError::IncompatibleProtocol { .. } => ErrorKind::Incompatible,
            InvitationError::Expired { .. }
            | InvitationError::Revoked { .. }
            | InvitationError::NoChallenge { .. }
            | InvitationError::BadProof { .. } => ErrorKind::Unauthenticated,
            InvitationError::AlreadyUsed { .. } => ErrorKind::Conflict,
            InvitationError::UnknownConnection { .. } => ErrorKind::NotFound,
            InvitationError::DuplicateConnection { .. }
            | InvitationError::AcceptedAlready { .. } => ErrorKind::AlreadyExists,
        }
    }

    /// The invitation error behind `err`, if it came from one.
    ///
    /// ```
    /// use twinsync::connection::{Invitation, InvitationError};
    ///
    /// let now = time::OffsetDateTime::UNIX_EPOCH;
    /// let err: twinsync::Error = Invitation::decode("hello", now).unwrap_err().into();
    /// assert!(matches!(
    ///     InvitationError::from_error(&err),
    ///     Some(InvitationError::Malformed { .. })
    /// ));
    /// ```
    pub fn from_error(err: &Error) -> Option<&InvitationError> {
        std::error::Error::source(err)?.downcast_ref()
    }
}

impl From<InvitationError> for Error {
    fn from(err: InvitationError) -> Self {
        Error::new(err.kind(), err.to_string()).with_source(err)
    }
}

/// Why a signed message between two nodes was refused.
///
/// More cases may be added in minor releases, so match with a wildcard arm.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The tag does not match: the message was altered, or signed with another
    /// key (another secret, another connection, or sent in the other direction).
    #[error("message signature does not match; it was altered or not signed for this connection")]
    BadTag,
    /// The message's timestamp is outside the accepted window.
    #[error(
        "message is stale: its timestamp is {} s {} this node's clock, outside the {} s window; \
         check both nodes' clocks",
        .offset.as_secs(),
        if *.in_future { "ahead of" } else { "behind" },
        .window.as_secs()
    )]
    Stale {
        /// How far the timestamp is from this node's clock.
        offset: Duration,
        /// Whether the timestamp is ahead of this node's clock.
        in_future: bool,
        /// The accepted window.
        window: Duration,
    },
    /// The message is older than every message still remembered, so it cannot
    /// be checked for replay (many messages arrived within the window).
    #[error("message is older than the replay memory reaches; the sender should sign it again")]
    BeyondReplayMemory,
    /// The message's nonce was seen before: it is a replay.
    #[error("message was replayed: its nonce was seen before within the window")]
    Replayed,
}

impl AuthError {
    /// The [`ErrorKind`] this error converts to:
    /// [`Unauthenticated`](ErrorKind::Unauthenticated) for every case.
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::Unauthenticated
    }

    /// The authentication error behind `err`, if it came from one.
    pub fn from_error(err: &Error) -> Option<&AuthError> {
        std::error::Error::source(err)?.downcast_ref()
    }
}

impl From<AuthError> for Error {
    fn from(err: AuthError) -> Self {
        Error::new(err.kind(), err.to_string()).with_source(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> ConnectionId {
        ConnectionId::parse("c1").unwrap()
    }

    #[test]
    fn every_invitation_error_maps_to_its_kind_and_back() {
        let epoch = OffsetDateTime::UNIX_EPOCH;
        let cases = [
            (
                InvitationError::Malformed { reason: "x" },
                ErrorKind::InvalidInput,
            ),
            (InvitationError::Corrupted, ErrorKind::InvalidInput),
            (
                InvitationError::UnsupportedFormat {
                    found: 2,
                    supported: 1,
                },
                ErrorKind::Incompatible,
            ),
            (
                InvitationError::UnsupportedMode { code: 9 },
                ErrorKind::Incompatible,
            ),
            (
                InvitationError::IncompatibleProtocol {
                    ours: 2,
                    theirs: 1,
                    minimum: 2,
                },
                ErrorKind::Incompatible,
            ),
            (
                InvitationError::Expired {
                    connection: id(),
                    expired_at: epoch,
                },
                ErrorKind::Unauthenticated,
            ),
            (
                InvitationError::AlreadyUsed { connection: id() },
                ErrorKind::Conflict,
            ),
            (
                InvitationError::AcceptedAlready {
                    connection: id(),
                    name: "support".into(),
                },
                ErrorKind::AlreadyExists,
            ),
            (
                InvitationError::Revoked { connection: id() },
                ErrorKind::Unauthenticated,
            ),
            (
                InvitationError::UnknownConnection { connection: id() },
                ErrorKind::NotFound,
            ),
            (
                InvitationError::DuplicateConnection { connection: id() },
                ErrorKind::AlreadyExists,
            ),
            (
                InvitationError::NoChallenge { connection: id() },
                ErrorKind::Unauthenticated,
            ),
            (
                InvitationError::BadProof { connection: id() },
                ErrorKind::Unauthenticated,
            ),
        ];
        for (inner, kind) in cases {
            let err = Error::from(inner.clone());
            assert_eq!(err.kind(), kind, "{inner:?}");
            assert!(!err.is_temporary(), "{inner:?}");
            assert_eq!(err.message(), inner.to_string());
            assert_eq!(InvitationError::from_error(&err), Some(&inner));
            assert_eq!(AuthError::from_error(&err), None);
        }
    }

    #[test]
    fn messages_name_what_went_wrong() {
        let expired = InvitationError::Expired {
            connection: id(),
            expired_at: OffsetDateTime::UNIX_EPOCH,
        };
        assert_eq!(
            expired.to_string(),
            "invitation for connection c1 expired at 1970-01-01T00:00:00Z; \
             ask the initiator for a new one"
        );
        let stale = AuthError::Stale {
            offset: Duration::from_secs(400),
            in_future: false,
            window: Duration::from_secs(300),
        };
        assert_eq!(
            stale.to_string(),
            "message is stale: its timestamp is 400 s behind this node's clock, \
             outside the 300 s window; check both nodes' clocks"
        );
        let err = Error::from(AuthError::Replayed);
        assert_eq!(err.kind(), ErrorKind::Unauthenticated);
        assert_eq!(AuthError::from_error(&err), Some(&AuthError::Replayed));
    }
}
