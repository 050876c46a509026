//! How two nodes talk: the [`Transport`] trait; [`InProcessNetwork`], a
//! network of nodes inside one process for tests and simulations; and, with
//! the feature `http`, the `http` module: `HttpTransport` and the endpoint
//! server, for nodes on different machines.
//!
//! A transport carries opaque request bytes to the node at a
//! [`NodeUrl`] (the node's own public URL, not its tracker's) and
//! brings back the answer's bytes. What the bytes mean (the setup handshake,
//! signed replicas, acknowledgements) is the engine's business; a transport
//! only moves them. A node that others call is an [`Endpoint`].
//!
//! Over a real network a request is an HTTP `POST` of the bytes to the
//! node URL joined with [`SYNC_ENDPOINT_PATH`]; the answer is the response
//! body. The bytes of the setup handshake can carry an invitation's secret,
//! so such a transport MUST use TLS. The `http` feature's `HttpTransport` does
//! this (plain HTTP only when explicitly allowed, on loopback), and its
//! `router` / `serve` answer such requests for a node.
//!
//! A node in a private network (Exalate's "I don't have a URL") is not an
//! endpoint anyone can call: it only opens connections itself, and pulls the
//! messages waiting for it from its peer.

use std::fmt::Debug;

use async_trait::async_trait;

use crate::error::Result;
use crate::model::NodeUrl;

#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
pub mod http;
mod memory;

#[cfg(feature = "http")]
pub use http::HttpTransport;
pub use memory::{InProcessNetwork, NetworkFaults, NetworkStats};

/// The path, below a node URL, where a node listens for other nodes.
///
/// An initiator may give the destination as the node URL or as this
/// endpoint's URL (`https://acme.example/twinsync`): both name the same
/// instance, so a node recognizes its own instance either way.
pub const SYNC_ENDPOINT_PATH: &str = "/twinsync";

/// Carries requests from one node to another and brings back the answers.
///
/// The trait is object safe (a node holds an `Arc<dyn Transport>`), so it uses
/// `#[async_trait]` until `dyn`-compatible async traits are stable.
///
/// # Contract
///
/// - [`call`](Transport::call) MUST deliver `request` to the node registered
///   at `to` at most once per call, or fail. (A faulty network may deliver a
///   request again later: nodes make every message idempotent.)
/// - A node that cannot be reached MUST be
///   [`Unavailable`](crate::ErrorKind::Unavailable) (temporary); an answer that
///   did not arrive in time MUST be [`Timeout`](crate::ErrorKind::Timeout)
///   (temporary: the request may or may not have been handled).
/// - A transport MUST NOT log or keep request bodies: they can carry secrets.
#[async_trait]
pub trait Transport: Debug + Send + Sync + 'static {
    /// Sends `request` to the node at `to` and returns its answer.
    ///
    /// # Errors
    ///
    /// `Unavailable` when no node can be reached at `to`; `Timeout` when the
    /// answer was lost.
    async fn call(&self, to: &NodeUrl, request: Vec<u8>) -> Result<Vec<u8>>;
}

/// A node that other nodes can call: it answers every request, errors included.
///
/// [`Node`](crate::engine::Node) implements it; register it with a network
/// (such as [`InProcessNetwork::register`]) to make it reachable.
#[async_trait]
pub trait Endpoint: Send + Sync + 'static {
    /// Handles one request and returns the answer's bytes. It MUST NOT panic,
    /// whatever the bytes.
    async fn handle(&self, request: Vec<u8>) -> Vec<u8>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn _object_safe(_: &dyn Transport, _: &dyn Endpoint) {}
}
