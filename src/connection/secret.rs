//! The shared secret an invitation carries, and the nonces that keep proofs and
//! messages fresh.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use subtle::ConstantTimeEq;
use zeroize::Zeroize;

use crate::error::{Error, ErrorKind, Result};

/// Fills `buf` from the operating system's random number generator.
pub(crate) fn fill_random(buf: &mut [u8]) -> Result<()> {
    getrandom::fill(buf).map_err(|e| {
        Error::new(
            ErrorKind::Unavailable,
            format!("the operating system's random number generator failed: {e}"),
        )
    })
}

/// A connection's 256-bit shared secret.
///
/// The initiator makes it when it creates an [`Invitation`](super::Invitation);
/// the code carries it to the acceptor, which proves that it knows it (see
/// [`Challenge`](super::Challenge)); afterwards the keys that authenticate the
/// two nodes' messages are derived from it.
///
/// `Debug` and `Display` print `Secret(***)`; equality is checked in constant
/// time; the bytes are wiped when the value is dropped. It has no `Serialize`:
/// a secret is written out only on purpose, through
/// [`Invitation::encode`](super::Invitation::encode) or
/// [`expose_bytes`](Secret::expose_bytes).
#[derive(Clone)]
pub struct Secret(Box<[u8; Secret::LEN]>);

impl Secret {
    /// The secret's length in bytes.
    pub const LEN: usize = 32;

    /// A new secret from the operating system's random number generator.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Unavailable`] when the generator fails.
    pub fn generate() -> Result<Self> {
        let mut secret = Secret(Box::new([0; Self::LEN]));
        fill_random(secret.0.as_mut_slice())?;
        Ok(secret)
    }

    /// A secret with the given bytes (for tests and deterministic simulations).
    pub fn from_bytes(bytes: [u8; Self::LEN]) -> Self {
        Secret(Box::new(bytes))
    }

    /// The secret's bytes. Whatever the caller does with them is on purpose.
    pub fn expose_bytes(&self) -> &[u8; Self::LEN] {
        &self.0
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(other.0.as_ref()).into()
    }
}

impl Eq for Secret {}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// A random 128-bit value used once: a challenge's or a message's nonce.
///
/// It is not secret: `Debug` shows it in hex and it serializes as a hex string.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Nonce([u8; Nonce::LEN]);

impl Nonce {
    /// The nonce's length in bytes.
    pub const LEN: usize = 16;

    /// A new nonce from the operating system's random number generator.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Unavailable`] when the generator fails.
    pub fn generate() -> Result<Self> {
        let mut bytes = [0; Self::LEN];
        fill_random(&mut bytes)?;
        Ok(Nonce(bytes))
    }

    /// A nonce with the given bytes (for tests).
    #[cfg(test)]
    pub fn from_bytes(bytes: [u8; Self::LEN]) -> Self {
        Nonce(bytes)
    }

    /// The nonce's bytes.
    pub fn as_bytes(&self) -> &[u8; Self::LEN] {
        &self.0
    }
}

impl fmt::Debug for Nonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Nonce({})", hex::encode(self.0))
    }
}

impl Serialize for Nonce {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(&hex::encode(self.0))
    }
}

impl<'de> Deserialize<'de> for Nonce {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let mut bytes = [0; Self::LEN];
        hex::decode_to_slice(&text, &mut bytes).map_err(|_| {
            serde::de::Error::custom(format!("a nonce is {} hex digits", 2 * Self::LEN))
        })?;
        Ok(Nonce(bytes))
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;

    use super::*;

    #[test]
    fn secrets_are_random_and_never_printed() {
        let a = Secret::generate().unwrap();
        let b = Secret::generate().unwrap();
        assert_ne!(a, b);
        assert_eq!(a, a.clone());
        let bytes = a.expose_bytes();
        let printed = format!("{a:?} {a} {a:#?}");
        assert!(!printed.contains(&hex::encode(bytes)));
        assert!(!printed.contains(&base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)));
        assert_eq!(format!("{a:?}"), "Secret(***)");
    }

    #[test]
    fn nonces_are_random_and_serialize_as_hex() {
        assert_ne!(Nonce::generate().unwrap(), Nonce::generate().unwrap());
        let nonce = Nonce::from_bytes([0xab; 16]);
        let json = serde_json::to_string(&nonce).unwrap();
        assert_eq!(json, format!("\"{}\"", "ab".repeat(16)));
        assert_eq!(serde_json::from_str::<Nonce>(&json).unwrap(), nonce);
        assert!(serde_json::from_str::<Nonce>("\"abcd\"").is_err());
        assert!(serde_json::from_str::<Nonce>(&format!("\"{}\"", "zz".repeat(16))).is_err());
    }

    #[test]
    fn a_secret_prints_as_stars() {
        let secret = Secret::from_bytes([7; 32]);
        assert_eq!(format!("{secret:?} {secret}"), "Secret(***) Secret(***)");
    }
}
