//! The node key: what seals the connection secrets a node keeps in its store,
//! so that a copied state file alone cannot impersonate the node.
//!
//! A sealed secret is XChaCha20-Poly1305 with a random 192-bit nonce, under a
//! key derived from the node key (HKDF-SHA256). Its associated data names the
//! record kind and the connection, so a sealed secret cannot be moved to
//! another connection or record. Beside it sits the key id, so that a wrong
//! key is named instead of failing as "corrupt":
//!
//! | bytes | what |
//! |---|---|
//! | 1 | `0xA7`: sealed (never the first byte of UTF-8 text, so a secret stored in the clear by an older twinsync is told apart) |
//! | 1 | format version, 1 |
//! | 8 | the [`NodeKeyId`] it was sealed with |
//! | 24 | the nonce |
//! | rest | the ciphertext and its 16-byte tag |

use std::fmt;
use std::path::Path;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

use super::ConnectionId;
use super::secret::fill_random;
use crate::error::{Error, ErrorKind, Result};

/// The first byte of a sealed secret.
const SEALED: u8 = 0xA7;
/// The format version of a sealed secret.
const FORMAT: u8 = 1;
const HEADER_LEN: usize = 2 + NodeKeyId::LEN;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
const SALT: &[u8] = b"twinsync node key";

/// How to give a node its key, for error messages.
pub(crate) const HOW_TO_SET: &str = "build the node with .node_key(NodeKey::from_env(\"TWINSYNC_NODE_KEY\")?) \
     or .node_key(NodeKey::from_file(path)?); make a key once with NodeKey::generate (or \
     `openssl rand -hex 32`: 64 hex digits) and keep it apart from the state file";

/// A node's own 256-bit key, kept apart from its store: it seals every
/// connection secret the node stores.
///
/// Its text form is 64 hex digits (what `openssl rand -hex 32` prints);
/// surrounding whitespace, such as a file's final newline, is ignored.
/// `Debug` shows only its [`id`](NodeKey::id); the bytes are wiped when the
/// value is dropped.
///
/// ```
/// use twinsync::connection::NodeKey;
///
/// let key = NodeKey::generate()?;
/// let text = key.expose_hex();                    // write it somewhere safe, once
/// let again = NodeKey::from_hex(&text)?;
/// assert_eq!(again.id(), key.id());
/// assert!(!format!("{key:?}").contains(text.as_str()));
/// # Ok::<(), twinsync::Error>(())
/// ```
#[derive(Clone)]
pub struct NodeKey {
    /// The key that seals, derived from the node key.
    sealing: Zeroizing<[u8; 32]>,
    /// The node key itself, for writing it out.
    raw: Zeroizing<[u8; NodeKey::LEN]>,
    id: NodeKeyId,
}

/// A node key's public name: the first 8 bytes of a hash derived from it, as
/// 16 hex digits. Stored beside every secret it sealed; it tells nothing
/// about the key.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct NodeKeyId([u8; NodeKeyId::LEN]);

impl NodeKeyId {
    const LEN: usize = 8;
}

impl fmt::Display for NodeKeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for NodeKeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodeKeyId({self})")
    }
}

fn invalid(message: String) -> Error {
    Error::new(ErrorKind::InvalidConfig, message)
}

impl NodeKey {
    /// The key's length in bytes.
    pub const LEN: usize = 32;

    /// A new key from the operating system's random number generator.
    ///
    /// # Errors
    ///
    /// `Unavailable` when the generator fails.
    pub fn generate() -> Result<Self> {
        let mut bytes = Zeroizing::new([0u8; Self::LEN]);
        fill_random(bytes.as_mut_slice())?;
        Ok(Self::from_bytes(*bytes))
    }

    /// A key with the given bytes.
    pub fn from_bytes(bytes: [u8; Self::LEN]) -> Self {
        let raw = Zeroizing::new(bytes);
        let hkdf = Hkdf::<Sha256>::new(Some(SALT), raw.as_slice());
        let mut sealing = Zeroizing::new([0u8; 32]);
        let mut id = [0u8; NodeKeyId::LEN];
        hkdf.expand(b"secrets at rest v1", sealing.as_mut_slice())
            .and_then(|()| hkdf.expand(b"key id v1", &mut id))
            .unwrap_or_else(|_| unreachable!("32 and 8 bytes are valid HKDF-SHA256 lengths"));
        NodeKey {
            sealing,
            raw,
            id: NodeKeyId(id),
        }
    }

    /// Reads a key from its text form: 64 hex digits, surrounding whitespace
    /// ignored.
    ///
    /// # Errors
    ///
    /// `InvalidConfig` when the text is not 64 hex digits; the message never
    /// quotes the text.
    pub fn from_hex(text: &str) -> Result<Self> {
        let text = text.trim();
        let mut bytes = Zeroizing::new([0u8; Self::LEN]);
        if text.len() != 2 * Self::LEN || hex::decode_to_slice(text, bytes.as_mut_slice()).is_err()
        {
            return Err(invalid(format!(
                "a node key is {} hex digits (0-9, a-f), and this text is not one ({} characters)",
                2 * Self::LEN,
                text.chars().count()
            )));
        }
        Ok(Self::from_bytes(*bytes))
    }

    /// Reads a key from the environment variable `var` (e.g.
    /// `TWINSYNC_NODE_KEY`), in its text form.
    ///
    /// # Errors
    ///
    /// `InvalidConfig` when the variable is not set, is not Unicode or is not
    /// a key; the message names the variable, never its value.
    pub fn from_env(var: &str) -> Result<Self> {
        let value = std::env::var(var).map_err(|e| {
            let why = match e {
                std::env::VarError::NotPresent => "is not set",
                std::env::VarError::NotUnicode(_) => "is not Unicode text",
            };
            invalid(format!(
                "environment variable {var} {why}; set it to the node key ({} hex digits, e.g. \
                 from `openssl rand -hex 32`)",
                2 * Self::LEN
            ))
        })?;
        let value = Zeroizing::new(value);
        Self::from_hex(&value).map_err(|e| {
            invalid(format!(
                "environment variable {var} does not hold a node key: {}",
                e.message()
            ))
        })
    }

    /// Reads a key from a file holding its text form. On Unix the file must
    /// not be readable or writable by group or others (`chmod 600`).
    ///
    /// # Errors
    ///
    /// `InvalidConfig` when the file cannot be read, is open to group or
    /// others, or does not hold a key; the message names the file, never its
    /// content.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let shown = path.display();
        let unreadable = |e: std::io::Error| {
            invalid(format!("cannot read the node key file {shown}: {e}")).with_source(e)
        };
        let metadata = std::fs::metadata(path).map_err(unreadable)?;
        check_private(path, &metadata)?;
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(unreadable)?);
        Self::from_hex(&text).map_err(|e| {
            invalid(format!(
                "the node key file {shown} does not hold a node key: {}",
                e.message()
            ))
        })
    }

    /// Writes the key's text form to a new file at `path`, readable and
    /// writable by its owner only (mode 600 on Unix).
    ///
    /// # Errors
    ///
    /// `AlreadyExists` when the file exists (a key is never overwritten);
    /// `InvalidConfig` when it cannot be written.
    pub fn write_new_file(&self, path: impl AsRef<Path>) -> Result<()> {
        use std::io::Write as _;
        let path = path.as_ref();
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        let mut file = options.open(path).map_err(|e| {
            let kind = if e.kind() == std::io::ErrorKind::AlreadyExists {
                ErrorKind::AlreadyExists
            } else {
                ErrorKind::InvalidConfig
            };
            Error::new(
                kind,
                format!(
                    "cannot create the node key file {}: {e}; a key file is never overwritten",
                    path.display()
                ),
            )
        })?;
        let mut text = self.expose_hex();
        text.push('\n');
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| {
                invalid(format!(
                    "cannot write the node key file {}: {e}",
                    path.display()
                ))
            })
    }

    /// The key's text form (64 hex digits), to write it somewhere safe.
    /// Whatever the caller does with it is on purpose.
    pub fn expose_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(self.raw.as_slice()))
    }

    /// The key's public name, stored beside every secret it sealed.
    pub fn id(&self) -> NodeKeyId {
        self.id
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(&(*self.sealing).into())
    }
}

impl fmt::Debug for NodeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodeKey {{ id: {} }}", self.id)
    }
}

#[cfg(unix)]
fn check_private(path: &Path, metadata: &std::fs::Metadata) -> Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = metadata.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(invalid(format!(
            "the node key file {} is open to group or others (mode {mode:03o}); make it private \
             with `chmod 600 {}`",
            path.display(),
            path.display()
        )));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_: &Path, _: &std::fs::Metadata) -> Result<()> {
    Ok(())
}

/// Which record a secret belongs to: part of what it is sealed to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SecretKind {
    /// A remote connection's peer link.
    PeerLink,
    /// An invitation this node issued.
    Invitation,
}

impl SecretKind {
    fn label(self) -> &'static str {
        match self {
            SecretKind::PeerLink => "peer link",
            SecretKind::Invitation => "invitation",
        }
    }
}

/// The associated data: what a sealed secret is bound to.
fn aad(kind: SecretKind, connection: &ConnectionId, header: &[u8]) -> Vec<u8> {
    let mut aad = b"twinsync sealed secret\0".to_vec();
    aad.extend_from_slice(kind.label().as_bytes());
    aad.push(0);
    aad.extend_from_slice(connection.as_str().as_bytes());
    aad.push(0);
    aad.extend_from_slice(header);
    aad
}

/// Seals `plain`, the secret of `connection`'s `kind` record.
pub(crate) fn seal(
    key: &NodeKey,
    kind: SecretKind,
    connection: &ConnectionId,
    plain: &[u8],
) -> Result<Vec<u8>> {
    let mut nonce = [0u8; NONCE_LEN];
    fill_random(&mut nonce)?;
    let mut sealed = Vec::with_capacity(HEADER_LEN + NONCE_LEN + plain.len() + TAG_LEN);
    sealed.extend_from_slice(&[SEALED, FORMAT]);
    sealed.extend_from_slice(&key.id.0);
    let aad = aad(kind, connection, &sealed);
    let ciphertext = key
        .cipher()
        .encrypt(
            &XNonce::from(nonce),
            Payload {
                msg: plain,
                aad: &aad,
            },
        )
        .map_err(|_| {
            Error::new(
                ErrorKind::Unexpected,
                format!(
                    "cannot seal the {} secret of connection {connection}",
                    kind.label()
                ),
            )
        })?;
    sealed.extend_from_slice(&nonce);
    sealed.extend_from_slice(&ciphertext);
    Ok(sealed)
}

/// What a stored secret is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stored {
    /// Sealed with the key of this id.
    Sealed(NodeKeyId),
    /// In the clear, as an older twinsync stored it.
    Clear,
}

/// Tells a sealed secret from one in the clear (without opening it).
///
/// # Errors
///
/// `Storage` when it starts as a sealed secret but is too short;
/// `Incompatible` for a sealed format this twinsync does not know.
pub(crate) fn inspect(
    kind: SecretKind,
    connection: &ConnectionId,
    stored: &[u8],
) -> Result<Stored> {
    if stored.first() != Some(&SEALED) {
        return Ok(Stored::Clear);
    }
    if stored.len() < HEADER_LEN + NONCE_LEN + TAG_LEN {
        return Err(Error::new(
            ErrorKind::Storage,
            format!(
                "the sealed {} secret of connection {connection} is cut short ({} bytes); \
                 restore the state file from a backup",
                kind.label(),
                stored.len()
            ),
        ));
    }
    if stored[1] != FORMAT {
        return Err(Error::new(
            ErrorKind::Incompatible,
            format!(
                "the {} secret of connection {connection} is sealed in format {}, which this \
                 twinsync does not know (it knows {FORMAT}); run a newer twinsync",
                kind.label(),
                stored[1]
            ),
        ));
    }
    let mut id = [0u8; NodeKeyId::LEN];
    id.copy_from_slice(&stored[2..HEADER_LEN]);
    Ok(Stored::Sealed(NodeKeyId(id)))
}

/// The error for a secret sealed with `stored`'s key when this node has
/// `ours` (`None`: no key at all).
pub(crate) fn wrong_key(stored: NodeKeyId, ours: Option<NodeKeyId>) -> Error {
    match ours {
        Some(ours) => invalid(format!(
            "the node key does not match the one these secrets were sealed with (key id \
             {stored}; this node's key id is {ours}); start the node with the key it was set up \
             with, or rotate to a new key from a node started with the old one \
             (Node::rotate_node_key); if that key is lost, the secrets are too: move the state \
             file aside and have the other sides join this node again (Admin::reinvite or \
             Admin::rejoin there), which finds the twins again by their markers"
        )),
        None => invalid(format!(
            "the store holds connection secrets sealed with node key {stored}, and this node has \
             no node key; start it with that key: {HOW_TO_SET}"
        )),
    }
}

/// Opens a secret sealed by [`seal`] for the same `kind` and `connection`.
///
/// # Errors
///
/// `InvalidConfig` when there is no key or another key sealed it (naming the
/// key ids); `Storage` when it is in the clear, malformed, altered or
/// moved from another record. No error holds the secret.
pub(crate) fn open(
    key: Option<&NodeKey>,
    kind: SecretKind,
    connection: &ConnectionId,
    stored: &[u8],
) -> Result<Zeroizing<Vec<u8>>> {
    let id = match inspect(kind, connection, stored)? {
        Stored::Sealed(id) => id,
        Stored::Clear => {
            return Err(Error::new(
                ErrorKind::Storage,
                format!(
                    "the {} secret of connection {connection} is stored in the clear, where this \
                     node keeps only sealed secrets; it was written outside this node: restore \
                     the state file from a backup",
                    kind.label()
                ),
            ));
        }
    };
    let key = match key {
        Some(key) if key.id == id => key,
        other => return Err(wrong_key(id, other.map(NodeKey::id))),
    };
    let (header, rest) = stored.split_at(HEADER_LEN);
    let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
    let mut nonce_bytes = [0u8; NONCE_LEN];
    nonce_bytes.copy_from_slice(nonce);
    let aad = aad(kind, connection, header);
    key.cipher()
        .decrypt(
            &XNonce::from(nonce_bytes),
            Payload {
                msg: ciphertext,
                aad: &aad,
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| {
            Error::new(
                ErrorKind::Storage,
                format!(
                    "the sealed {} secret of connection {connection} does not open with node key \
                     {id}: it was altered or moved from another record; restore the state file \
                     from a backup",
                    kind.label()
                ),
            )
        })
}

/// The keys a running node opens secrets with: its current key, and the
/// keys it rotated away from (a secret read just before a rotation still
/// opens after it).
#[derive(Debug, Default)]
pub(crate) struct KeyRing {
    current: Option<NodeKey>,
    retired: Vec<NodeKey>,
}

impl KeyRing {
    pub(crate) fn new(current: Option<NodeKey>) -> Self {
        KeyRing {
            current,
            retired: Vec::new(),
        }
    }

    /// The key new secrets are sealed with.
    pub(crate) fn current(&self) -> Option<&NodeKey> {
        self.current.as_ref()
    }

    /// Makes `new` the current key; the old one still opens what it sealed.
    pub(crate) fn rotate(&mut self, new: NodeKey) {
        if let Some(old) = self.current.replace(new) {
            self.retired.push(old);
        }
    }

    /// Opens `stored` with the key that sealed it, if this node has it.
    pub(crate) fn open(
        &self,
        kind: SecretKind,
        connection: &ConnectionId,
        stored: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>> {
        let key = match inspect(kind, connection, stored)? {
            Stored::Sealed(id) => self
                .retired
                .iter()
                .find(|k| k.id == id)
                .or(self.current.as_ref()),
            Stored::Clear => self.current.as_ref(),
        };
        open(key, kind, connection, stored)
    }
}

#[cfg(test)]
#[path = "node_key_tests.rs"]
mod tests;
