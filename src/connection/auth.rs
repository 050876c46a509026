//! Proving knowledge of a connection's secret without sending it.
//!
//! Proofs, like message tags (see `message.rs`), are HMAC-SHA256 (the `hmac`
//! crate) compared in constant time. Each purpose has its own label, so a tag
//! made for one purpose is never valid for another.

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::{ConnectionId, InvitationError, Nonce, Secret};

pub(crate) type HmacSha256 = Hmac<Sha256>;

const PROOF_LABEL: &[u8] = b"twinsync/accept-proof/v1\0";
pub(crate) const TAG_LEN: usize = 32;

pub(crate) fn hmac(key: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length.
    <HmacSha256 as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("hmac accepts any key length"))
}

/// Which end of a connection a node is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The side that created the invitation.
    Initiator,
    /// The side that accepted it.
    Acceptor,
}

impl Role {
    /// The other end.
    pub fn other(self) -> Role {
        match self {
            Role::Initiator => Role::Acceptor,
            Role::Acceptor => Role::Initiator,
        }
    }

    pub(crate) fn byte(self) -> u8 {
        match self {
            Role::Initiator => 1,
            Role::Acceptor => 2,
        }
    }
}

/// A challenge one node sends the other: "show me that you know the secret of
/// this connection", with a fresh nonce so an old answer is worthless.
///
/// When accepting, the initiator challenges the acceptor (see
/// [`PendingInvitations::challenge`](super::PendingInvitations::challenge)),
/// which answers with [`respond`](Challenge::respond) as
/// [`Role::Acceptor`]. The acceptor may challenge the initiator the same way,
/// answered as [`Role::Initiator`]; the role is part of the proof, so one
/// side's proof is never valid for the other.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Challenge {
    connection: ConnectionId,
    nonce: Nonce,
}

impl Challenge {
    /// A challenge for `connection` with `nonce` (use [`Nonce::generate`]).
    pub fn new(connection: ConnectionId, nonce: Nonce) -> Self {
        Challenge { connection, nonce }
    }

    /// The connection whose secret is asked for.
    pub fn connection(&self) -> &ConnectionId {
        &self.connection
    }

    fn mac(&self, secret: &Secret, role: Role) -> HmacSha256 {
        let mut mac = hmac(secret.expose_bytes());
        mac.update(PROOF_LABEL);
        mac.update(&[role.byte()]);
        let id = self.connection.as_str().as_bytes();
        mac.update(&[id.len() as u8]);
        mac.update(id);
        mac.update(self.nonce.as_bytes());
        mac
    }

    /// The answer of the node acting as `role`, which knows `secret`.
    pub fn respond(&self, secret: &Secret, role: Role) -> Proof {
        Proof(self.mac(secret, role).finalize().into_bytes().into())
    }

    /// Checks, in constant time, that `proof` is the answer of a node acting as
    /// `role` that knows `secret`.
    ///
    /// # Errors
    ///
    /// [`InvitationError::BadProof`] when it is not.
    pub fn verify(
        &self,
        secret: &Secret,
        role: Role,
        proof: &Proof,
    ) -> Result<(), InvitationError> {
        self.mac(secret, role)
            .verify_slice(&proof.0)
            .map_err(|_| InvitationError::BadProof {
                connection: self.connection.clone(),
            })
    }
}

/// The answer to a [`Challenge`]: an HMAC-SHA256 tag.
///
/// It reveals nothing about the secret; `Debug` shows it in hex and it
/// serializes as a hex string. Equality is checked in constant time.
#[derive(Clone, Copy)]
pub struct Proof([u8; TAG_LEN]);

#[cfg(test)]
impl Proof {
    /// A proof with the given bytes, as received.
    pub fn from_bytes(bytes: [u8; TAG_LEN]) -> Self {
        Proof(bytes)
    }
}

impl PartialEq for Proof {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for Proof {}

impl fmt::Debug for Proof {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Proof({})", hex::encode(self.0))
    }
}

impl Serialize for Proof {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        hex32::serialize(&self.0, s)
    }
}

impl<'de> Deserialize<'de> for Proof {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        hex32::deserialize(d).map(Proof)
    }
}

pub(crate) mod hex32 {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let text = String::deserialize(d)?;
        let mut bytes = [0; 32];
        hex::decode_to_slice(&text, &mut bytes)
            .map_err(|_| serde::de::Error::custom("a tag is 64 hex digits"))?;
        Ok(bytes)
    }
}

#[cfg(test)]
#[path = "auth_tests.rs"]
mod tests;
