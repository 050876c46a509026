//! The protocol version check two nodes make before they create anything.

use super::Mode;
use crate::error::{Error, ErrorKind, Result};

/// The node-to-node protocol version this build of twinsync speaks.
///
/// It rises whenever a message between nodes changes in a way an older node
/// would misread. Invitation codes carry it, and nodes announce it to each other.
///
/// Version 2 (twinsync 0.2) adds node URLs (a node is reached at its own URL,
/// not its tracker's) and features to the handshake; it still talks to
/// version 1 nodes, which are reached at their instance URL.
pub const PROTOCOL_VERSION: u16 = 2;

/// A feature announced in the handshake: the version says how messages
/// look, a feature what a node can do.
pub const FEATURE_PRIVATE_PULL: &str = "private-pull";
/// The node serves the content of attachments under sync on request.
pub const FEATURE_ATTACHMENT_FETCH: &str = "attachment-fetch";
/// The node is reached at its own node URL, which it announces.
pub const FEATURE_NODE_URLS: &str = "node-urls";

/// The features this build of twinsync announces to other nodes.
///
/// - [`FEATURE_PRIVATE_PULL`]: it keeps messages for a node in a private
///   network until that node pulls them;
/// - [`FEATURE_ATTACHMENT_FETCH`]: it serves attachment content on request;
/// - [`FEATURE_NODE_URLS`]: it announces and uses node URLs.
pub const FEATURES: &[&str] = &[
    FEATURE_PRIVATE_PULL,
    FEATURE_ATTACHMENT_FETCH,
    FEATURE_NODE_URLS,
];

/// The features a node of protocol version 1 had without announcing them.
const VERSION_1_FEATURES: &[&str] = &[FEATURE_PRIVATE_PULL, FEATURE_ATTACHMENT_FETCH];

/// Checks that the other node can do what a connection needs of it, given
/// the features it announced (`announced`) and its protocol version; call it
/// with [`negotiate`] before anything is created.
///
/// A connection always needs [`FEATURE_ATTACHMENT_FETCH`] of a node it can
/// call (attachments travel that way), and [`FEATURE_PRIVATE_PULL`] of the
/// other node when this one is in a private network (`this_private`).
///
/// # Errors
///
/// [`ErrorKind::Incompatible`] naming the missing feature and what to do.
///
/// ```
/// use twinsync::connection::{FEATURES, check_features};
///
/// let theirs: Vec<String> = FEATURES.iter().map(|f| f.to_string()).collect();
/// check_features(2, &theirs, true)?;
/// assert!(check_features(2, &[], true).is_err());
/// # Ok::<(), twinsync::Error>(())
/// ```
pub fn check_features(theirs_version: u16, announced: &[String], this_private: bool) -> Result<()> {
    let has = |feature: &str| {
        announced.iter().any(|f| f == feature)
            || (theirs_version <= 1 && VERSION_1_FEATURES.contains(&feature))
    };
    let mut needed = vec![FEATURE_ATTACHMENT_FETCH];
    if this_private {
        needed.push(FEATURE_PRIVATE_PULL);
    }
    match needed.into_iter().find(|f| !has(f)) {
        None => Ok(()),
        Some(missing) => Err(Error::new(
            ErrorKind::Incompatible,
            format!(
                "the other node does not announce feature {missing:?}, which this connection \
                 needs{}; upgrade twinsync on the other node",
                if missing == FEATURE_PRIVATE_PULL {
                    " (this node is in a private network and pulls its messages)"
                } else {
                    ""
                }
            ),
        )),
    }
}

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
    fn missing_features_are_named() {
        let all: Vec<String> = FEATURES.iter().map(|f| (*f).to_owned()).collect();
        assert!(check_features(2, &all, true).is_ok());
        let no_pull = vec![FEATURE_ATTACHMENT_FETCH.to_owned()];
        assert!(check_features(2, &no_pull, false).is_ok());
        let err = check_features(2, &no_pull, true).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Incompatible);
        assert!(err.to_string().contains("\"private-pull\""), "{err}");
        // Version 1 nodes could do both without saying so.
        assert!(check_features(1, &[], true).is_ok());
    }

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
