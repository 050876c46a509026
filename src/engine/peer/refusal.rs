//! How a node refuses a request so that the other node rebuilds the same
//! error: kind, temporariness, scope, and the invitation errors only the
//! initiator can find.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::connection::InvitationError;
use crate::error::{Error, ErrorKind, ErrorScope};
use crate::model::ConnectionId;

/// A refused request, with enough to rebuild the error on the other side.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(super) struct Refusal {
    pub(super) kind: ErrorKind,
    pub(super) temporary: bool,
    pub(super) message: String,
    /// The refusal concerns the whole connection (unknown there, not authenticated).
    #[serde(default)]
    pub(super) connection_wide: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) invitation: Option<WireInvitationError>,
    /// Writes the refusing node made before it failed (a replica applied
    /// halfway): the sender reports them with its cycle's writes.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub(super) writes: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// The invitation errors only the initiator can find, as they travel.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "case", rename_all = "snake_case")]
pub(super) enum WireInvitationError {
    UnknownConnection {
        connection: ConnectionId,
    },
    Revoked {
        connection: ConnectionId,
    },
    AlreadyUsed {
        connection: ConnectionId,
    },
    Expired {
        connection: ConnectionId,
        #[serde(with = "time::serde::rfc3339")]
        expired_at: OffsetDateTime,
    },
    NoChallenge {
        connection: ConnectionId,
    },
    BadProof {
        connection: ConnectionId,
    },
}

impl WireInvitationError {
    fn from_error(err: &InvitationError) -> Option<Self> {
        Some(match err.clone() {
            InvitationError::UnknownConnection { connection } => {
                WireInvitationError::UnknownConnection { connection }
            }
            InvitationError::Revoked { connection } => WireInvitationError::Revoked { connection },
            InvitationError::AlreadyUsed { connection } => {
                WireInvitationError::AlreadyUsed { connection }
            }
            InvitationError::Expired {
                connection,
                expired_at,
            } => WireInvitationError::Expired {
                connection,
                expired_at,
            },
            InvitationError::NoChallenge { connection } => {
                WireInvitationError::NoChallenge { connection }
            }
            InvitationError::BadProof { connection } => {
                WireInvitationError::BadProof { connection }
            }
            _ => return None,
        })
    }

    fn into_error(self) -> InvitationError {
        match self {
            WireInvitationError::UnknownConnection { connection } => {
                InvitationError::UnknownConnection { connection }
            }
            WireInvitationError::Revoked { connection } => InvitationError::Revoked { connection },
            WireInvitationError::AlreadyUsed { connection } => {
                InvitationError::AlreadyUsed { connection }
            }
            WireInvitationError::Expired {
                connection,
                expired_at,
            } => InvitationError::Expired {
                connection,
                expired_at,
            },
            WireInvitationError::NoChallenge { connection } => {
                InvitationError::NoChallenge { connection }
            }
            WireInvitationError::BadProof { connection } => {
                InvitationError::BadProof { connection }
            }
        }
    }
}

impl Refusal {
    /// The refusal of `err` (its message never holds a secret).
    pub(super) fn of(err: &Error) -> Self {
        Refusal {
            kind: err.kind(),
            temporary: err.is_temporary(),
            message: err.to_string(),
            connection_wide: false,
            invitation: InvitationError::from_error(err).and_then(WireInvitationError::from_error),
            writes: 0,
        }
    }

    /// A refusal that concerns the whole connection.
    pub(super) fn connection_wide(err: &Error) -> Self {
        Refusal {
            connection_wide: true,
            ..Refusal::of(err)
        }
    }

    /// The error on the side that asked, naming the node that refused.
    pub(super) fn into_error(self, peer: &dyn std::fmt::Display) -> Error {
        if let Some(inv) = self.invitation {
            return Error::from(inv.into_error());
        }
        let err = Error::new(
            self.kind,
            format!("the node at {peer} refused: {}", self.message),
        )
        .set_temporary(self.temporary);
        err.with_scope(if self.connection_wide {
            ErrorScope::Connection
        } else {
            ErrorScope::Twin
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::InstanceUrl;

    #[test]
    fn invitation_refusals_keep_their_case_across_the_wire() {
        let id = ConnectionId::parse("c1").unwrap();
        let err = Error::from(InvitationError::Revoked {
            connection: id.clone(),
        });
        let json = serde_json::to_string(&Refusal::of(&err)).unwrap();
        let back: Refusal = serde_json::from_str(&json).unwrap();
        let url = InstanceUrl::parse("https://a.example").unwrap();
        let err = back.into_error(&url);
        assert_eq!(
            InvitationError::from_error(&err),
            Some(&InvitationError::Revoked { connection: id })
        );
    }

    #[test]
    fn other_refusals_name_the_peer_and_keep_kind_and_temporariness() {
        let err = Error::new(ErrorKind::Unavailable, "connection x is deactivated");
        let url = InstanceUrl::parse("https://b.example").unwrap();
        let back = Refusal::of(&err).into_error(&url);
        assert_eq!(back.kind(), ErrorKind::Unavailable);
        assert!(back.is_temporary());
        assert!(
            back.to_string()
                .starts_with("the node at https://b.example refused")
        );
        assert_eq!(back.scope(), ErrorScope::Twin);
        assert_eq!(
            Refusal::connection_wide(&err).into_error(&url).scope(),
            ErrorScope::Connection
        );
    }
}
