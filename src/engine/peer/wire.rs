//! The messages two nodes exchange, as JSON.
//!
//! A request is one [`Request`]; its answer one [`Response`]. The setup
//! handshake (hello, challenge, redeem, establish) travels unsigned: nothing
//! is shared yet, and the secret is proven with a challenge, never sent, except
//! in `Establish`, where the initiator hands a destination it can reach the
//! invitation code directly, with the establish token an admin of the
//! destination issued there. Everything after
//! is a [`Body`] signed with the connection's [`MessageAuthenticator`]
//! (crate::connection::MessageAuthenticator), answers included.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroizing;

use crate::connection::{Challenge, MessageSignature, Mode, Proof, Side};
use crate::model::{
    AttachmentId, ConnectionId, InstanceUrl, IssueId, IssueKey, IssueRef, NodeUrl, ProjectKey,
};
use crate::plan::TwinState;
use crate::replica::Replica;

use super::refusal::Refusal;

/// The largest request a node reads.
pub(super) const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

/// Text that carries a secret (an invitation code): never printed, wiped on drop.
#[derive(Clone, PartialEq, Eq)]
pub(super) struct SecretText(pub(super) Zeroizing<String>);

impl SecretText {
    pub(super) fn new(text: &str) -> Self {
        SecretText(Zeroizing::new(text.to_owned()))
    }

    pub(super) fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl Serialize for SecretText {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for SecretText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(SecretText(Zeroizing::new(String::deserialize(d)?)))
    }
}

/// Bytes as base64url text.
#[derive(Clone, PartialEq, Eq)]
pub(super) struct Bytes(pub(super) Vec<u8>);

impl fmt::Debug for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} bytes", self.0.len())
    }
}

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&URL_SAFE_NO_PAD.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        URL_SAFE_NO_PAD
            .decode(text.as_bytes())
            .map(Bytes)
            .map_err(|_| serde::de::Error::custom("content is not base64url"))
    }
}

/// One request from a node to another.
#[derive(Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(super) enum Request {
    /// "Which protocol version do you speak?"
    Hello {
        /// The caller's version.
        protocol: u16,
        /// The caller's features ([`FEATURES`](crate::connection::FEATURES));
        /// none from a node of protocol version 1.
        #[serde(default)]
        features: Vec<String>,
    },
    /// The acceptor asks the initiator for a challenge.
    Challenge { connection: ConnectionId },
    /// The acceptor proves the secret and tells the initiator its side.
    Redeem {
        connection: ConnectionId,
        proof: Proof,
        acceptor: Side,
        /// Whether the initiator can call the acceptor.
        reachable: bool,
        protocol: u16,
        /// Where the initiator reaches the acceptor, when that is not the
        /// acceptor's instance URL.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        node: Option<NodeUrl>,
    },
    /// The initiator, with admin access to the destination, sets the
    /// connection up there directly, with an establish token a destination
    /// admin issued there (no token: refused, naming how to get one).
    Establish {
        code: SecretText,
        project: ProjectKey,
        #[serde(default)]
        token: Option<SecretText>,
        /// Whether the destination can call the initiator (at the node
        /// URL the code names).
        reachable: bool,
        protocol: u16,
    },
    /// Anything on an established connection.
    Signed(Signed),
}

/// A signed body, as it travels.
#[derive(Serialize, Deserialize)]
pub(super) struct Signed {
    pub(super) connection: ConnectionId,
    pub(super) from: InstanceUrl,
    pub(super) signature: MessageSignature,
    /// The [`Body`] as JSON: signed as these exact bytes.
    pub(super) body: String,
}

/// The answer to a [`Request`].
#[derive(Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(super) enum Response {
    Hello {
        protocol: u16,
        instance: InstanceUrl,
        /// Where the answering node is reached (absent from protocol version 1).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        node: Option<NodeUrl>,
        #[serde(default)]
        features: Vec<String>,
    },
    Challenge {
        challenge: Challenge,
    },
    Signed(Signed),
    Refused(Refusal),
}

/// What both sides learn when a connection is set up.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(super) struct Welcome {
    pub(super) connection: ConnectionId,
    pub(super) name: String,
    pub(super) mode: Mode,
    pub(super) initiator: Side,
    pub(super) acceptor: Side,
    pub(super) protocol: u16,
    /// Whether the sender of the welcome can be called by the other node.
    pub(super) reachable: bool,
}

/// A replica of one of the sender's issues.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(super) struct ReplicaMessage {
    /// Orders the sender's messages (it only grows, across restarts).
    pub(super) seq: u64,
    /// The replica's fingerprint under the sender's rules (echoed in the ack).
    pub(super) fp: u64,
    /// The sender exalates the issue now (a twin it forgot is synced again).
    #[serde(default)]
    pub(super) exalate: bool,
    /// Link comments present on both sides instead of copying them (connect).
    #[serde(default)]
    pub(super) match_existing: bool,
    pub(super) replica: Replica,
    /// Attachment content sent along (by a node the receiver cannot call).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) files: Vec<InlineFile>,
}

/// An attachment's content, sent with a replica.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(super) struct InlineFile {
    pub(super) id: AttachmentId,
    pub(super) content: Bytes,
}

/// "I applied your replica": the receiver's twin state afterwards.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(super) struct AckMessage {
    /// The sender's issue the replica was taken from.
    pub(super) issue: IssueId,
    pub(super) seq: u64,
    pub(super) fp: u64,
    /// The receiver's twin state (remote = the sender's issue).
    pub(super) state: TwinState,
    /// The receiver's last sequence number when it answered: its replicas
    /// numbered up to here were built before `state` and are older than it.
    #[serde(default)]
    pub(super) floor: u64,
    /// Writes the receiver made.
    pub(super) writes: usize,
}

/// The signed messages of an established connection.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(super) enum Body {
    Welcome(Welcome),
    Replica(Box<ReplicaMessage>),
    Ack(Box<AckMessage>),
    /// "I no longer sync your issue `issue`": the receiver forgets its twin.
    Gone {
        issue: IssueId,
    },
    /// A node in a private network asks for the messages waiting for it.
    Pull {
        /// The `upto` of the previous answer once its messages were handled:
        /// they are removed. An older node sends none, and what it is given
        /// counts as taken.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        taken: Option<u64>,
    },
    Messages {
        items: Vec<Body>,
        /// In the answer to a pull: the outbox number of its last message,
        /// for the next pull's `taken`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        upto: Option<u64>,
    },
    /// "Send me the content of your attachment" (it must be on an issue under sync).
    Fetch {
        issue: IssueId,
        attachment: AttachmentId,
    },
    File {
        content: Bytes,
    },
    /// Link the sender's issue `origin` with the receiver's issue `twin`.
    Connect {
        origin: IssueRef,
        twin: IssueKey,
    },
    Connected {
        twin: IssueRef,
    },
    /// The sender stopped syncing its `origin` with the receiver's `twin`.
    Unexalate {
        origin: IssueId,
        twin: IssueId,
        /// Numbered as the sender's replicas: a replica of `origin` applied
        /// after it (exalated again) makes it old (0 from an older node: no
        /// number).
        #[serde(default)]
        seq: u64,
    },
    /// The sender deleted the connection (and unexalated its twins when `unexalate`).
    Closed {
        unexalate: bool,
    },
    /// The replica of the receiver's `issue` (pulled) could not be applied.
    Failed {
        issue: IssueId,
        refusal: Refusal,
    },
    /// Nothing to say (a message already handled, a notice taken).
    Done,
    Refused(Refusal),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pulls_and_unexalates_of_an_older_node_still_read() {
        let pull: Body = serde_json::from_str(r#"{"type":"pull"}"#).unwrap();
        assert!(matches!(pull, Body::Pull { taken: None }), "{pull:?}");
        let answer: Body = serde_json::from_str(r#"{"type":"messages","items":[]}"#).unwrap();
        assert!(
            matches!(answer, Body::Messages { ref items, upto: None } if items.is_empty()),
            "{answer:?}"
        );
        let notice: Body =
            serde_json::from_str(r#"{"type":"unexalate","origin":"10","twin":"20"}"#).unwrap();
        assert!(
            matches!(notice, Body::Unexalate { seq: 0, .. }),
            "{notice:?}"
        );
        // And what an older node sends for them is what it sent before.
        let json = serde_json::to_string(&Body::Pull { taken: None }).unwrap();
        assert_eq!(json, r#"{"type":"pull"}"#);
        let json = serde_json::to_string(&Body::Pull { taken: Some(7) }).unwrap();
        assert_eq!(json, r#"{"type":"pull","taken":7}"#);
    }

    #[test]
    fn secrets_and_bytes_are_not_printed() {
        let text = SecretText::new("twinsync-invite-abc");
        assert_eq!(format!("{text:?}"), "***");
        assert_eq!(format!("{:?}", Bytes(vec![1, 2, 3])), "3 bytes");
        let json = serde_json::to_string(&Bytes(vec![0xff, 0])).unwrap();
        let back: Bytes = serde_json::from_str(&json).unwrap();
        assert_eq!(back.0, [0xff, 0]);
    }
}
