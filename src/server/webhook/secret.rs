//! [`WebhookSecret`]: the shared secret deliveries are signed with.

use std::fmt;

use zeroize::Zeroizing;

use crate::error::{Error, ErrorKind, Result};

/// A secret that Jira signs webhook deliveries with: an admin webhook's
/// secret (`X-Hub-Signature`) or an OAuth 2.0 app's client secret (the JWT
/// of dynamic webhooks).
///
/// `Debug` prints `WebhookSecret(***)`; it has no `Display` and no
/// `Serialize`; the bytes are wiped when it is dropped.
#[derive(Clone)]
pub struct WebhookSecret(Zeroizing<Vec<u8>>);

impl WebhookSecret {
    /// A secret from its text, as entered in Jira (surrounding whitespace,
    /// such as a file's final newline, is dropped).
    ///
    /// # Errors
    ///
    /// `InvalidConfig` when it is empty.
    pub fn new(text: impl AsRef<str>) -> Result<Self> {
        let text = text.as_ref().trim();
        if text.is_empty() {
            return Err(Error::new(
                ErrorKind::InvalidConfig,
                "a webhook secret must not be empty",
            ));
        }
        Ok(WebhookSecret(Zeroizing::new(text.as_bytes().to_vec())))
    }

    /// A secret from the environment variable `name`.
    ///
    /// # Errors
    ///
    /// `InvalidConfig` naming the variable when it is unset or empty.
    pub fn from_env(name: &str) -> Result<Self> {
        let value = Zeroizing::new(std::env::var(name).unwrap_or_default());
        Self::new(value.as_str()).map_err(|_| {
            Error::new(
                ErrorKind::InvalidConfig,
                format!("environment variable {name} (a webhook secret) is not set"),
            )
        })
    }

    pub(super) fn bytes(&self) -> &[u8] {
        &self.0
    }

    /// A short fingerprint (the first 8 hex digits of its SHA-256), to check
    /// that two places hold the same secret without showing it.
    pub fn fingerprint(&self) -> String {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(self.bytes());
        hex::encode(&digest[..4])
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(***)")
    }
}
