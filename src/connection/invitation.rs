//! Invitation codes: what the initiator hands to the destination's admin.
//!
//! # The code's format
//!
//! `twinsync-invite-` followed by the base64url text (no padding) of:
//!
//! | bytes | field |
//! |---|---|
//! | 1 | format version ([`INVITATION_FORMAT_VERSION`]) |
//! | 2 | protocol version (big-endian) |
//! | 1 | mode number |
//! | 8 | expiry, Unix seconds (big-endian, signed) |
//! | 32 | secret |
//! | 1 + n | connection id (length, UTF-8) |
//! | 1 + n | connection name |
//! | 2 + n | initiator instance URL (big-endian length) |
//! | 1 + n | initiator project key |
//! | 2 + n | initiator node URL (big-endian length; format 2 on; empty: the instance URL) |
//! | 4 | checksum: the first 4 bytes of SHA-256 over everything before it |
//!
//! The framing (prefix, base64url, format version first, 4-byte SHA-256
//! checksum last) stays the same in every format version, so a mangled code is
//! always told apart from a code of another version. Format 1 (twinsync
//! 0.1) had no node URL; it is still read, its initiator reached at its
//! instance URL. Whitespace anywhere in a
//! pasted code (line breaks from an email, indentation) is ignored.

use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use time::{OffsetDateTime, UtcOffset};
use zeroize::Zeroizing;

use super::version::{PROTOCOL_VERSION, compatible};
use super::{ConnectionId, InvitationError, Mode, Secret};
use crate::clock::Clock;
use crate::error::{Error, ErrorKind, Result};
use crate::model::{InstanceUrl, NodeUrl, ProjectKey};

/// The text every invitation code starts with.
pub const INVITATION_PREFIX: &str = "twinsync-invite-";

/// The version of the code's binary layout this node writes and reads.
pub const INVITATION_FORMAT_VERSION: u8 = 2;

const CHECKSUM_LEN: usize = 4;
/// Longer pasted text is refused before it is decoded.
const MAX_CODE_LEN: usize = 16 * 1024;
const MAX_NAME_CHARS: usize = 128;
const MAX_SHORT_FIELD: usize = u8::MAX as usize;
const MAX_URL_LEN: usize = 2048;

/// What the initiator says about a connection when it creates an invitation.
///
/// Start from [`NewInvitation::new`] (Basic mode, valid for seven days, this
/// node's protocol version) and change the fields you need.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct NewInvitation {
    /// The connection's id, the same on both sides.
    pub connection: ConnectionId,
    /// The connection's name, as both admins see it (1 to 128 characters).
    pub name: String,
    /// The initiator's instance.
    pub initiator: InstanceUrl,
    /// The initiator's project.
    pub project: ProjectKey,
    /// The connection's mode.
    pub mode: Mode,
    /// How long the code can be accepted: [`Invitation::DEFAULT_VALIDITY`].
    pub validity: Duration,
    /// The protocol version announced in the code: [`PROTOCOL_VERSION`].
    pub protocol_version: u16,
    /// Where the destination reaches the initiator's node, when that is not
    /// the initiator's instance URL (default: none).
    pub initiator_node: Option<NodeUrl>,
}

impl NewInvitation {
    /// A Basic-mode invitation valid for [`Invitation::DEFAULT_VALIDITY`].
    pub fn new(
        connection: ConnectionId,
        name: impl Into<String>,
        initiator: InstanceUrl,
        project: ProjectKey,
    ) -> Self {
        NewInvitation {
            connection,
            name: name.into(),
            initiator,
            project,
            mode: Mode::Basic,
            validity: Invitation::DEFAULT_VALIDITY,
            protocol_version: PROTOCOL_VERSION,
            initiator_node: None,
        }
    }
}

/// An invitation to a connection: who invites, to what, until when, and the
/// secret that will authenticate the two nodes.
///
/// `Debug` shows everything but the secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invitation {
    connection: ConnectionId,
    name: String,
    initiator: InstanceUrl,
    initiator_node: Option<NodeUrl>,
    project: ProjectKey,
    mode: Mode,
    protocol_version: u16,
    expires_at: OffsetDateTime,
    secret: Secret,
}

impl Invitation {
    /// How long an invitation can be accepted unless said otherwise: seven days.
    pub const DEFAULT_VALIDITY: Duration = Duration::from_secs(7 * 24 * 60 * 60);

    /// A new invitation with a fresh random secret, expiring `new.validity`
    /// after `clock`'s now.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`] for a name that is empty, too long or holds
    /// control characters, a project key or URL too long for a code, or a zero
    /// validity; [`ErrorKind::Unavailable`] when the random number generator fails.
    pub fn create(new: NewInvitation, clock: &dyn Clock) -> Result<Self> {
        Self::with_secret(new, Secret::generate()?, clock.now())
    }

    /// A new invitation with the given secret, created at `now` (for tests and
    /// deterministic simulations). The expiry is rounded down to the second.
    ///
    /// # Errors
    ///
    /// As [`create`](Self::create), without the random number generator.
    pub(crate) fn with_secret(
        new: NewInvitation,
        secret: Secret,
        now: OffsetDateTime,
    ) -> Result<Self> {
        let invalid = |what: String| Err(Error::new(ErrorKind::InvalidInput, what));
        if let Err(problem) = check_name(&new.name) {
            return invalid(format!("connection name {:?} {problem}", new.name));
        }
        let project = new.project.as_str();
        if project.is_empty() || project.len() > MAX_SHORT_FIELD {
            return invalid(format!(
                "project key must be 1 to {MAX_SHORT_FIELD} bytes long"
            ));
        }
        if new.initiator.as_str().len() > MAX_URL_LEN
            || new
                .initiator_node
                .as_ref()
                .is_some_and(|n| n.as_str().len() > MAX_URL_LEN)
        {
            return invalid(format!(
                "instance url must be at most {MAX_URL_LEN} bytes long for an invitation"
            ));
        }
        if new.validity.is_zero() {
            return invalid("an invitation's validity must be longer than zero".to_owned());
        }
        let expires_at = now
            .checked_add(time::Duration::try_from(new.validity).unwrap_or(time::Duration::MAX))
            .and_then(|t| t.replace_nanosecond(0).ok())
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::InvalidInput,
                    "an invitation's validity reaches past the year 9999",
                )
            })?
            .to_offset(UtcOffset::UTC);
        Ok(Invitation {
            connection: new.connection,
            name: new.name,
            initiator_node: new
                .initiator_node
                .filter(|n| n.as_str() != new.initiator.as_str()),
            initiator: new.initiator,
            project: new.project,
            mode: new.mode,
            protocol_version: new.protocol_version,
            expires_at,
            secret,
        })
    }

    /// The connection's id.
    pub fn connection(&self) -> &ConnectionId {
        &self.connection
    }

    /// The connection's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The initiator's instance.
    pub fn initiator(&self) -> &InstanceUrl {
        &self.initiator
    }

    /// Where the initiator's node is reached: its node URL, or its
    /// instance URL when the code names no other.
    pub fn initiator_node(&self) -> NodeUrl {
        self.initiator_node
            .clone()
            .unwrap_or_else(|| NodeUrl::from(&self.initiator))
    }

    /// The initiator's project.
    pub fn project(&self) -> &ProjectKey {
        &self.project
    }

    /// The connection's mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The protocol version of the node that created the invitation.
    pub fn protocol_version(&self) -> u16 {
        self.protocol_version
    }

    /// When the invitation stops being accepted (UTC, whole seconds).
    pub fn expires_at(&self) -> OffsetDateTime {
        self.expires_at
    }

    /// Whether the invitation is past its expiry at `now`.
    pub fn is_expired(&self, now: OffsetDateTime) -> bool {
        now >= self.expires_at
    }

    /// The shared secret.
    pub(crate) fn secret(&self) -> &Secret {
        &self.secret
    }

    /// The code to hand to the destination's admin.
    ///
    /// The code carries the secret: treat it as a password.
    pub fn encode(&self) -> InvitationCode {
        let mut bytes = Zeroizing::new(Vec::with_capacity(128));
        bytes.push(INVITATION_FORMAT_VERSION);
        bytes.extend_from_slice(&self.protocol_version.to_be_bytes());
        bytes.push(self.mode.code());
        bytes.extend_from_slice(&self.expires_at.unix_timestamp().to_be_bytes());
        bytes.extend_from_slice(self.secret.expose_bytes());
        // The lengths were checked on creation (or decoding).
        put_short(&mut bytes, self.connection.as_str());
        put_short(&mut bytes, &self.name);
        let url = self.initiator.as_str().as_bytes();
        bytes.extend_from_slice(&(url.len() as u16).to_be_bytes());
        bytes.extend_from_slice(url);
        put_short(&mut bytes, self.project.as_str());
        let node = self
            .initiator_node
            .as_ref()
            .map_or("", NodeUrl::as_str)
            .as_bytes();
        bytes.extend_from_slice(&(node.len() as u16).to_be_bytes());
        bytes.extend_from_slice(node);
        let sum = checksum(&bytes);
        bytes.extend_from_slice(&sum);
        let mut text = Zeroizing::new(String::with_capacity(
            INVITATION_PREFIX.len() + bytes.len() * 4 / 3 + 4,
        ));
        text.push_str(INVITATION_PREFIX);
        URL_SAFE_NO_PAD.encode_string(&*bytes, &mut text);
        InvitationCode(text)
    }

    /// Reads a pasted code and checks that it can be accepted at `now`: its
    /// format, checksum, expiry and protocol version. Whitespace anywhere in
    /// `text` is ignored.
    ///
    /// # Errors
    ///
    /// In the order checked: [`InvitationError::Malformed`],
    /// [`Corrupted`](InvitationError::Corrupted),
    /// [`UnsupportedFormat`](InvitationError::UnsupportedFormat),
    /// [`UnsupportedMode`](InvitationError::UnsupportedMode),
    /// [`Expired`](InvitationError::Expired),
    /// [`IncompatibleProtocol`](InvitationError::IncompatibleProtocol).
    /// Whether the code is unused and not revoked only the initiator knows (see
    /// the initiator's list of pending invitations).
    pub fn decode(text: &str, now: OffsetDateTime) -> Result<Self, InvitationError> {
        let invitation = Self::parse(text)?;
        if invitation.is_expired(now) {
            return Err(InvitationError::Expired {
                connection: invitation.connection.clone(),
                expired_at: invitation.expires_at,
            });
        }
        if !compatible(
            invitation.mode,
            PROTOCOL_VERSION,
            invitation.protocol_version,
        ) {
            return Err(InvitationError::IncompatibleProtocol {
                ours: PROTOCOL_VERSION,
                theirs: invitation.protocol_version,
                minimum: invitation.mode.min_protocol_version(),
            });
        }
        Ok(invitation)
    }

    /// Reads a code without checking its expiry or protocol version: for
    /// reloading invitations this node stored itself.
    ///
    /// # Errors
    ///
    /// [`InvitationError::Malformed`], [`Corrupted`](InvitationError::Corrupted),
    /// [`UnsupportedFormat`](InvitationError::UnsupportedFormat) and
    /// [`UnsupportedMode`](InvitationError::UnsupportedMode), as for
    /// [`decode`](Self::decode).
    pub fn parse(text: &str) -> Result<Self, InvitationError> {
        let malformed = |reason| InvitationError::Malformed { reason };
        if text.len() > MAX_CODE_LEN {
            return Err(malformed("it is longer than any invitation code"));
        }
        let compact: Zeroizing<String> =
            Zeroizing::new(text.chars().filter(|c| !c.is_whitespace()).collect());
        let body = compact
            .strip_prefix(INVITATION_PREFIX)
            .ok_or(malformed("it does not start with `twinsync-invite-`"))?;
        let bytes = Zeroizing::new(
            URL_SAFE_NO_PAD
                .decode(body)
                .map_err(|_| malformed("the text after the prefix is not base64url"))?,
        );
        if bytes.len() <= CHECKSUM_LEN {
            return Err(malformed("it is too short"));
        }
        let (payload, sum) = bytes.split_at(bytes.len() - CHECKSUM_LEN);
        if checksum(payload) != sum {
            return Err(InvitationError::Corrupted);
        }
        let mut reader = Reader(payload);
        let format = reader.u8()?;
        if !(1..=INVITATION_FORMAT_VERSION).contains(&format) {
            return Err(InvitationError::UnsupportedFormat {
                found: format,
                supported: INVITATION_FORMAT_VERSION,
            });
        }
        let protocol_version = u16::from_be_bytes(reader.array()?);
        let mode_code = reader.u8()?;
        let mode = Mode::from_code(mode_code)
            .ok_or(InvitationError::UnsupportedMode { code: mode_code })?;
        let expires_at = OffsetDateTime::from_unix_timestamp(i64::from_be_bytes(reader.array()?))
            .map_err(|_| malformed("its expiry is out of range"))?;
        let secret = Secret::from_bytes(reader.array()?);
        let connection = ConnectionId::parse(reader.short_str()?)
            .map_err(|_| malformed("its connection id is not valid"))?;
        let name = reader.short_str()?.to_owned();
        if check_name(&name).is_err() {
            return Err(malformed("its connection name is not valid"));
        }
        let url_len = usize::from(u16::from_be_bytes(reader.array()?));
        let initiator = std::str::from_utf8(reader.take(url_len)?)
            .ok()
            .and_then(|url| InstanceUrl::parse(url).ok())
            .filter(|url| url.as_str().len() <= MAX_URL_LEN)
            .ok_or(malformed("its instance url is not valid"))?;
        let project = reader.short_str()?;
        if project.is_empty() {
            return Err(malformed("its project key is empty"));
        }
        let project =
            ProjectKey::new(project).map_err(|_| malformed("its project key is not valid"))?;
        let initiator_node = if format >= 2 {
            let len = usize::from(u16::from_be_bytes(reader.array()?));
            match len {
                0 => None,
                _ => Some(
                    std::str::from_utf8(reader.take(len)?)
                        .ok()
                        .and_then(|url| NodeUrl::parse(url).ok())
                        .filter(|url| url.as_str().len() <= MAX_URL_LEN)
                        .ok_or(malformed("its node url is not valid"))?,
                ),
            }
        } else {
            None
        };
        if !reader.0.is_empty() {
            return Err(malformed("it has bytes after its last field"));
        }
        Ok(Invitation {
            connection,
            name,
            initiator,
            initiator_node,
            project,
            mode,
            protocol_version,
            expires_at,
            secret,
        })
    }
}

/// Why `name` cannot name a connection, if it cannot: it must fit a code's
/// one-byte length and be readable in a list.
fn check_name(name: &str) -> Result<(), String> {
    let chars = name.chars().count();
    if name.trim().is_empty() || chars > MAX_NAME_CHARS || name.len() > MAX_SHORT_FIELD {
        return Err(format!(
            "must be 1 to {MAX_NAME_CHARS} characters and at most {MAX_SHORT_FIELD} bytes"
        ));
    }
    if name.chars().any(char::is_control) {
        return Err("must not hold control characters".to_owned());
    }
    Ok(())
}

fn checksum(payload: &[u8]) -> [u8; CHECKSUM_LEN] {
    let digest = Sha256::digest(payload);
    let mut sum = [0; CHECKSUM_LEN];
    sum.copy_from_slice(&digest[..CHECKSUM_LEN]);
    sum
}

fn put_short(bytes: &mut Vec<u8>, text: &str) {
    bytes.push(text.len() as u8);
    bytes.extend_from_slice(text.as_bytes());
}

/// A cursor over a code's payload; running out is a malformed code.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], InvitationError> {
        if self.0.len() < n {
            return Err(InvitationError::Malformed {
                reason: "it ends in the middle of a field",
            });
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8, InvitationError> {
        Ok(self.take(1)?[0])
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], InvitationError> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn short_str(&mut self) -> Result<&'a str, InvitationError> {
        let len = usize::from(self.u8()?);
        std::str::from_utf8(self.take(len)?).map_err(|_| InvitationError::Malformed {
            reason: "a field is not valid UTF-8",
        })
    }
}

/// An encoded invitation, ready to copy: `twinsync-invite-…`.
///
/// The code carries the connection's secret, so `Debug` shows only its prefix
/// and it has no `Display`; [`as_str`](InvitationCode::as_str) gives the text
/// to show the initiating admin. The text is wiped from memory when dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct InvitationCode(Zeroizing<String>);

impl InvitationCode {
    /// The code's text. It carries the secret: show it to the admin who
    /// copies it, never log it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for InvitationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "InvitationCode({INVITATION_PREFIX}***)")
    }
}

#[cfg(test)]
#[path = "invitation_tests.rs"]
mod tests;
