//! Authenticating the messages two nodes exchange once a connection is set up.
//!
//! Each direction's key is derived from the connection's secret with
//! HKDF-SHA256 (the `hkdf` crate); tags are HMAC-SHA256 over a label, the
//! timestamp, the nonce and the body, compared in constant time.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hkdf::Hkdf;
use hmac::Mac;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use time::OffsetDateTime;
use zeroize::Zeroizing;

use super::auth::{HmacSha256, TAG_LEN, hex32, hmac};
use super::{AuthError, ConnectionId, Nonce, Role, Secret};
use crate::clock::Clock;
use crate::error::Result;

const KEY_SALT: &[u8] = b"twinsync/message-key/v1";
const MESSAGE_LABEL: &[u8] = b"twinsync/message/v1\0";

/// The method and path every message between nodes travels with, which
/// nodes of protocol version 2 and later bind their signatures to.
pub const SYNC_REQUEST_LINE: &str = "POST /twinsync";

/// How strict a [`MessageAuthenticator`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuthOptions {
    /// How far a message's timestamp may be from this node's clock, either
    /// way; also how long nonces are remembered. Default: five minutes.
    pub window: Duration,
    /// How many nonces are remembered at most. When more messages arrive
    /// within the window, the oldest are forgotten and messages no newer than
    /// them are refused ([`AuthError::BeyondReplayMemory`]), so a replay is
    /// never accepted. Default: 65,536.
    pub max_remembered: usize,
}

impl Default for AuthOptions {
    fn default() -> Self {
        AuthOptions {
            window: Duration::from_secs(5 * 60),
            max_remembered: 1 << 16,
        }
    }
}

/// The signature sent along with a message's body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageSignature {
    /// When the message was signed, in milliseconds since the Unix epoch.
    sent_at_ms: i64,
    nonce: Nonce,
    #[serde(with = "hex32")]
    tag: [u8; TAG_LEN],
}

/// Signs the messages one node sends over a connection and checks those it
/// receives.
///
/// Each direction has its own key, derived from the connection's secret with
/// HKDF-SHA256, so a message cannot be reflected back to its sender. A
/// received message is accepted once, only if its tag matches its body,
/// timestamp and nonce, its timestamp is within [`AuthOptions::window`] of this
/// node's clock, and its nonce was not seen before.
pub struct MessageAuthenticator {
    connection: ConnectionId,
    role: Role,
    send_key: Zeroizing<[u8; 32]>,
    receive_key: Zeroizing<[u8; 32]>,
    clock: Arc<dyn Clock>,
    options: AuthOptions,
    /// The request line the messages are bound to (empty: none).
    binding: Vec<u8>,
    seen: Mutex<ReplayMemory>,
}

impl MessageAuthenticator {
    /// The authenticator of the node acting as `role` on `connection`, with
    /// the default [`AuthOptions`].
    pub fn new(
        secret: &Secret,
        connection: &ConnectionId,
        role: Role,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self::with_options(secret, connection, role, clock, AuthOptions::default())
    }

    /// The same, with `options`.
    pub fn with_options(
        secret: &Secret,
        connection: &ConnectionId,
        role: Role,
        clock: Arc<dyn Clock>,
        options: AuthOptions,
    ) -> Self {
        MessageAuthenticator {
            connection: connection.clone(),
            role,
            send_key: derive_key(secret, connection, role),
            receive_key: derive_key(secret, connection, role.other()),
            clock,
            options,
            binding: Vec::new(),
            seen: Mutex::new(ReplayMemory::default()),
        }
    }

    /// Binds every tag to `request_line` too (for example `POST /twinsync`,
    /// the method and path a message travels with): a message signed for
    /// one request line does not verify for another. Both nodes must bind
    /// the same line; nodes of protocol version 2 and later bind
    /// [`SYNC_REQUEST_LINE`].
    #[must_use]
    pub fn bound_to(mut self, request_line: &str) -> Self {
        self.binding = request_line.as_bytes().to_vec();
        self
    }

    /// Signs `body` now, with a fresh random nonce.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Unavailable`](crate::ErrorKind::Unavailable) when the
    /// random number generator fails.
    pub fn sign(&self, body: &[u8]) -> Result<MessageSignature> {
        Ok(self.sign_with_nonce(body, Nonce::generate()?))
    }

    /// Signs `body` now with `nonce`, which must never repeat on this
    /// connection (for deterministic simulations).
    pub fn sign_with_nonce(&self, body: &[u8], nonce: Nonce) -> MessageSignature {
        let sent_at_ms = unix_ms(self.clock.now());
        let tag = message_mac(&self.send_key, &self.binding, sent_at_ms, &nonce, body)
            .finalize()
            .into_bytes()
            .into();
        MessageSignature {
            sent_at_ms,
            nonce,
            tag,
        }
    }

    /// Checks a received message; each message is accepted once.
    ///
    /// # Errors
    ///
    /// [`AuthError::BadTag`] for an altered or foreign message,
    /// [`AuthError::Stale`] for a timestamp outside the window,
    /// [`AuthError::Replayed`] for a nonce seen before and
    /// [`AuthError::BeyondReplayMemory`] for a message older than the
    /// remembered ones.
    pub fn verify(&self, body: &[u8], signature: &MessageSignature) -> Result<(), AuthError> {
        message_mac(
            &self.receive_key,
            &self.binding,
            signature.sent_at_ms,
            &signature.nonce,
            body,
        )
        .verify_slice(&signature.tag)
        .map_err(|_| AuthError::BadTag)?;
        let now = unix_ms(self.clock.now());
        let window_ms = i64::try_from(self.options.window.as_millis()).unwrap_or(i64::MAX);
        let offset = i128::from(now) - i128::from(signature.sent_at_ms);
        if offset.unsigned_abs() > window_ms.unsigned_abs().into() {
            return Err(AuthError::Stale {
                offset: Duration::from_millis(
                    u64::try_from(offset.unsigned_abs()).unwrap_or(u64::MAX),
                ),
                in_future: offset < 0,
                window: self.options.window,
            });
        }
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.forget_before(now.saturating_sub(window_ms));
        seen.remember(
            signature.sent_at_ms,
            signature.nonce,
            self.options.max_remembered,
        )
    }
}

impl fmt::Debug for MessageAuthenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MessageAuthenticator")
            .field("connection", &self.connection)
            .field("role", &self.role)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// The key for messages sent by `sender` on `connection`.
fn derive_key(secret: &Secret, connection: &ConnectionId, sender: Role) -> Zeroizing<[u8; 32]> {
    let hkdf = Hkdf::<Sha256>::new(Some(KEY_SALT), secret.expose_bytes());
    let mut info = Vec::with_capacity(1 + connection.as_str().len());
    info.push(sender.byte());
    info.extend_from_slice(connection.as_str().as_bytes());
    let mut key = Zeroizing::new([0; 32]);
    hkdf.expand(&info, key.as_mut_slice())
        .unwrap_or_else(|_| unreachable!("32 bytes is a valid HKDF-SHA256 output length"));
    key
}

fn message_mac(
    key: &[u8; 32],
    binding: &[u8],
    sent_at_ms: i64,
    nonce: &Nonce,
    body: &[u8],
) -> HmacSha256 {
    let mut mac = hmac(key);
    mac.update(MESSAGE_LABEL);
    if !binding.is_empty() {
        mac.update(&(binding.len() as u64).to_be_bytes());
        mac.update(binding);
    }
    mac.update(&sent_at_ms.to_be_bytes());
    mac.update(nonce.as_bytes());
    mac.update(&(body.len() as u64).to_be_bytes());
    mac.update(body);
    mac
}

fn unix_ms(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// The nonces of accepted messages, with their timestamps.
///
/// Invariant: every message accepted with a timestamp after `floor` is still
/// remembered, so refusing messages at or before `floor` and remembered nonces
/// refuses every replay, even when the clock is set back.
#[derive(Debug, Default)]
struct ReplayMemory {
    by_nonce: HashMap<Nonce, i64>,
    by_time: BTreeSet<(i64, Nonce)>,
    floor: Option<i64>,
}

impl ReplayMemory {
    fn forget_before(&mut self, cutoff: i64) {
        while let Some(&(at, nonce)) = self.by_time.first() {
            if at >= cutoff {
                break;
            }
            self.forget(at, nonce);
        }
    }

    fn forget(&mut self, at: i64, nonce: Nonce) {
        self.by_time.remove(&(at, nonce));
        self.by_nonce.remove(&nonce);
        self.floor = Some(self.floor.map_or(at, |floor| floor.max(at)));
    }

    fn remember(&mut self, at: i64, nonce: Nonce, max: usize) -> Result<(), AuthError> {
        if self.floor.is_some_and(|floor| at <= floor) {
            return Err(AuthError::BeyondReplayMemory);
        }
        if self.by_nonce.contains_key(&nonce) {
            return Err(AuthError::Replayed);
        }
        self.by_nonce.insert(nonce, at);
        self.by_time.insert((at, nonce));
        while self.by_nonce.len() > max.max(1) {
            let Some(&(oldest, oldest_nonce)) = self.by_time.first() else {
                break;
            };
            self.forget(oldest, oldest_nonce);
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "message_tests.rs"]
mod tests;
