//! Who may sign in: [`Operator`]s (a name, an argon2 password hash, a role
//! and the tracker user they act as) and [`ApiToken`]s for scripts, and the
//! [`SessionKey`] that signs session cookies.

use std::fmt;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::Role;
use crate::error::{Error, ErrorKind, Result};
use crate::model::UserId;

/// An operator account: who signs in to the console with a password.
///
/// The password is kept only as an argon2 hash in PHC form (`$argon2id$…`),
/// as [`hash_password`] makes it.
#[derive(Clone)]
pub struct Operator {
    pub(super) name: String,
    pub(super) hash: String,
    pub(super) role: Role,
    pub(super) acts_as: UserId,
}

impl Operator {
    /// An operator named `name` whose password hashes to `password_hash`
    /// (PHC form), with `role`, acting on the tracker as `acts_as`: the
    /// engine checks each action against that user's permissions too.
    ///
    /// # Errors
    ///
    /// `InvalidConfig` for an empty name or a hash that is not an argon2 PHC
    /// string (the error names the operator, never the hash).
    pub fn new(
        name: impl Into<String>,
        password_hash: &str,
        role: Role,
        acts_as: UserId,
    ) -> Result<Self> {
        let name = name.into();
        if name.trim().is_empty() {
            return Err(Error::new(
                ErrorKind::InvalidConfig,
                "a console operator needs a name",
            ));
        }
        match PasswordHash::new(password_hash.trim()) {
            Ok(parsed) if parsed.algorithm.as_str().starts_with("argon2") => {}
            _ => {
                return Err(Error::new(
                    ErrorKind::InvalidConfig,
                    format!(
                        "operator {name:?}: the password hash is not an argon2 PHC string \
                         (`$argon2id$v=19$…`); make one with `twinsync console hash-password`"
                    ),
                ));
            }
        }
        Ok(Operator {
            name,
            hash: password_hash.trim().to_owned(),
            role,
            acts_as,
        })
    }

    /// The operator's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Their role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The tracker user they act as.
    pub fn acts_as(&self) -> &UserId {
        &self.acts_as
    }

    /// Whether `password` is theirs.
    pub(super) fn verify(&self, password: &str) -> bool {
        PasswordHash::new(&self.hash).is_ok_and(|hash| {
            Argon2::default()
                .verify_password(password.as_bytes(), &hash)
                .is_ok()
        })
    }
}

impl fmt::Debug for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Operator")
            .field("name", &self.name)
            .field("role", &self.role)
            .field("acts_as", &self.acts_as)
            .finish_non_exhaustive()
    }
}

/// Hashes a password for an [`Operator`]: argon2id with a random salt, in
/// PHC form, to put in the config.
///
/// ```
/// use twinsync::server::console::{Operator, Role, hash_password};
///
/// let hash = hash_password("correct horse")?;
/// assert!(hash.starts_with("$argon2id$"));
/// let ada = Operator::new("ada", &hash, Role::Owner, "ada".parse()?)?;
/// assert!(!format!("{ada:?}").contains(&hash));
/// # Ok::<(), twinsync::Error>(())
/// ```
///
/// # Errors
///
/// `InvalidInput` for an empty password; `Unavailable` when the system's
/// random source fails.
pub fn hash_password(password: &str) -> Result<String> {
    if password.is_empty() {
        return Err(Error::new(ErrorKind::InvalidInput, "the password is empty"));
    }
    let mut salt = [0u8; 16];
    crate::connection::secret::fill_random(&mut salt)?;
    let salt = SaltString::encode_b64(&salt)
        .map_err(|e| Error::new(ErrorKind::Unexpected, format!("cannot encode a salt: {e}")))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| {
            Error::new(
                ErrorKind::Unexpected,
                format!("cannot hash the password: {e}"),
            )
        })
}

/// A token for scripts: sent as `Authorization: Bearer <token>` to the JSON
/// API, with a role and the tracker user it acts as. Only the token's
/// SHA-256 digest is kept; requests are compared in constant time.
#[derive(Clone)]
pub struct ApiToken {
    pub(super) name: String,
    digest: [u8; 32],
    pub(super) role: Role,
    pub(super) acts_as: UserId,
}

/// The shortest token accepted, in bytes: long enough not to be guessed.
pub const MIN_TOKEN_LEN: usize = 24;

impl ApiToken {
    /// A token named `name` (for logs and pages; never the token itself).
    ///
    /// # Errors
    ///
    /// `InvalidConfig` for a token shorter than [`MIN_TOKEN_LEN`] bytes or an
    /// empty name.
    pub fn new(name: impl Into<String>, token: &str, role: Role, acts_as: UserId) -> Result<Self> {
        let name = name.into();
        if name.trim().is_empty() {
            return Err(Error::new(
                ErrorKind::InvalidConfig,
                "a console token needs a name",
            ));
        }
        if token.trim().len() < MIN_TOKEN_LEN {
            return Err(Error::new(
                ErrorKind::InvalidConfig,
                format!(
                    "console token {name:?} is too short: use at least {MIN_TOKEN_LEN} random \
                     characters"
                ),
            ));
        }
        Ok(ApiToken {
            name,
            digest: Sha256::digest(token.trim().as_bytes()).into(),
            role,
            acts_as,
        })
    }

    /// The token's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Whether `presented` is this token.
    pub(super) fn matches(&self, presented: &str) -> bool {
        let digest: [u8; 32] = Sha256::digest(presented.trim().as_bytes()).into();
        digest.ct_eq(&self.digest).into()
    }
}

impl fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiToken")
            .field("name", &self.name)
            .field("role", &self.role)
            .field("acts_as", &self.acts_as)
            .finish_non_exhaustive()
    }
}

/// The key that signs session cookies (HMAC-SHA256). A random key (the
/// default) ends every session when the node restarts; give a fixed one
/// (from a file) to keep sessions across restarts.
#[derive(Clone)]
pub struct SessionKey(Zeroizing<Vec<u8>>);

impl SessionKey {
    /// A fresh random key.
    ///
    /// # Errors
    ///
    /// `Unavailable` when the system's random source fails.
    pub fn random() -> Result<Self> {
        let mut key = Zeroizing::new(vec![0u8; 32]);
        crate::connection::secret::fill_random(&mut key)?;
        Ok(SessionKey(key))
    }

    /// A key from at least 32 bytes (of a file, say).
    ///
    /// # Errors
    ///
    /// `InvalidConfig` for fewer than 32 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        if bytes.len() < 32 {
            return Err(Error::new(
                ErrorKind::InvalidConfig,
                format!(
                    "the console's session key has {} bytes; it needs at least 32",
                    bytes.len()
                ),
            ));
        }
        Ok(SessionKey(Zeroizing::new(bytes.to_vec())))
    }

    pub(super) fn bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionKey(…)")
    }
}
