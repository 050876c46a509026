//! The protocol version check two nodes make before they create anything.

use super::Mode;
use crate::error::{Error, ErrorKind, Result};

/// The node-to-node protocol version this build of twinsync speaks.
///
/// It rises whenever a message between nodes changes in a way an older node
/// would misread. Invitation codes carry it, and nodes announce it to each other.
pub const PROTOCOL_VERSION: u16 = 1;

/// The oldest protocol version with which a [`Mode::Basic`] connection can be
/// set up. Initiating or accepting one with an older node fails, naming both
/// versions, before anything is created on either side.
pub const MIN_PROTOCOL_VERSION_BASIC: u16 = 1;

/// The protocol version a connection of `mode` will speak, given our version
/// and the one the peer announced: the lower of the two.
///
/// Call it on both sides before creating anything: on the initiator before it
/// records a connection, on the acceptor before it accepts an invitation.
///
/// # Errors
///
/// [`ErrorKind::Incompatible`] when either version is older than
/// [`Mode::min_protocol_version`]; the message names both versions and the
/// minimum.
///
/// # Examples
///
/// ```
/// use twinsync::ErrorKind;
/// use twinsync::connection::{Mode, PROTOCOL_VERSION, negotiate};
///
/// assert_eq!(negotiate(Mode::Basic, PROTOCOL_VERSION, PROTOCOL_VERSION)?, PROTOCOL_VERSION);
/// let err = negotiate(Mode::Basic, PROTOCOL_VERSION, 0).unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::Incompatible);
/// # Ok::<(), twinsync::Error>(())
/// ```
pub fn negotiate(mode: Mode, ours: u16, theirs: u16) -> Result<u16> {
    let minimum = mode.min_protocol_version();
    if theirs < minimum {
        return Err(Error::new(
            ErrorKind::Incompatible,
            format!(
                "the other node speaks protocol version {theirs} and this node version {ours}, \
                 but a {mode} connection needs version {minimum} or later on both; \
                 upgrade twinsync on the other node"
            ),
        ));
    }
    if ours < minimum {
        return Err(Error::new(
            ErrorKind::Incompatible,
            format!(
                "this node speaks protocol version {ours} and the other node version {theirs}, \
                 but a {mode} connection needs version {minimum} or later on both; \
                 upgrade twinsync on this node"
            ),
        ));
    }
    Ok(ours.min(theirs))
}

/// Whether a connection of `mode` can be set up between versions `ours` and `theirs`.
pub(crate) fn compatible(mode: Mode, ours: u16, theirs: u16) -> bool {
    negotiate(mode, ours, theirs).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_on_the_lower_version() {
        assert_eq!(negotiate(Mode::Basic, 3, 1).unwrap(), 1);
        assert_eq!(negotiate(Mode::Basic, 1, 3).unwrap(), 1);
        assert_eq!(negotiate(Mode::Basic, 2, 2).unwrap(), 2);
        assert!(compatible(Mode::Basic, PROTOCOL_VERSION, PROTOCOL_VERSION));
    }

    #[test]
    fn an_old_peer_is_refused_naming_both_versions() {
        let err = negotiate(Mode::Basic, 7, 0).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Incompatible);
        let text = err.to_string();
        assert!(text.contains("version 0"), "{text}");
        assert!(text.contains("version 7"), "{text}");
        assert!(
            text.contains("upgrade twinsync on the other node"),
            "{text}"
        );
        assert!(!compatible(Mode::Basic, 7, 0));
    }

    #[test]
    fn an_old_self_is_refused_naming_both_versions() {
        let err = negotiate(Mode::Basic, 0, 5).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Incompatible);
        let text = err.to_string();
        assert!(
            text.contains("version 0") && text.contains("version 5"),
            "{text}"
        );
        assert!(text.contains("upgrade twinsync on this node"), "{text}");
    }
}
