//! Nodes over the network (feature `http`): [`HttpTransport`] calls other
//! nodes with an HTTPS `POST` to their [`SYNC_ENDPOINT_PATH`](super::SYNC_ENDPOINT_PATH), and the
//! endpoint server answers such calls for a node: [`router`] to mount in an
//! axum server of your own, or [`serve`] / [`HttpServer`] for a ready one.
//!
//! Everything runs on tokio. TLS is rustls (ring) on both sides; plain HTTP is
//! refused unless it is explicitly allowed, and then only on loopback, for
//! tests on one machine: the setup handshake can carry an invitation's secret.
//!
//! # Calling other nodes
//!
//! ```no_run
//! use std::sync::Arc;
//! use std::time::Duration;
//! use twinsync::transport::http::HttpTransport;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let transport = HttpTransport::builder()
//!     .request_timeout(Duration::from_secs(60))
//!     // Peers whose certificates come from a private CA:
//!     .add_root_certificate_pem(&std::fs::read("private-ca.pem")?)
//!     .build()?;
//! // Node::builder().transport(Arc::new(transport))…
//! # let _ = Arc::new(transport);
//! # Ok(()) }
//! ```
//!
//! A call is one attempt (no retries, no redirects): the node retries what is
//! safe to retry. Its errors:
//!
//! | what happened | [`ErrorKind`](crate::ErrorKind) |
//! |---|---|
//! | refused connection, unknown host, failed TLS handshake, connect timeout | `Unavailable` (temporary; says which host, and "tls" for a handshake) |
//! | no answer within the request timeout, or the connection broke after sending | `Timeout` (temporary: the request may have been handled) |
//! | `413` | `InvalidInput` (permanent: the message is too large) |
//! | `429` | `RateLimited`, with `Retry-After` |
//! | `5xx` (`504`: `Timeout`) | `Unavailable` |
//! | `401`, `403` | `Unauthenticated`, `PermissionDenied` |
//! | `404`, `405`, `415`, a redirect | `Incompatible`: no twinsync node at that URL |
//! | an `http://` URL without the opt-in, or not on loopback | `InvalidConfig` |
//!
//! # Serving a node from your own axum server
//!
//! ```no_run
//! # async fn run(node: twinsync::engine::Node) -> std::io::Result<()> {
//! use std::sync::Arc;
//!
//! let app = axum::Router::new()
//!     .route("/health", axum::routing::get(|| async { "ok" }))
//!     .merge(twinsync::transport::http::router(Arc::new(node)));
//! // Serve `app` over TLS with your server of choice, at the node's URL.
//! # let _ = app;
//! # Ok(()) }
//! ```
//!
//! # A ready server
//!
//! Bind first (the port is known, and connections wait), then serve a node:
//!
//! ```no_run
//! # async fn run(node: twinsync::engine::Node) -> twinsync::Result<()> {
//! use std::sync::Arc;
//! use twinsync::transport::http::{HttpServer, ServerTls};
//!
//! let tls = ServerTls::from_pem_files("cert.pem", "key.pem")?;
//! let server = HttpServer::bind("0.0.0.0:8443".parse().unwrap(), tls)?;
//! println!("listening on {}", server.local_addr());
//! let handle = server.serve(Arc::new(node))?;
//! // … until the process should stop:
//! handle.shutdown().await; // (dropping the handle stops it too)
//! # Ok(()) }
//! ```
//!
//! [`serve`] does both in one call. The server answers `POST /twinsync` with
//! the node's answer (`application/octet-stream`), `413` beyond its body limit
//! ([`DEFAULT_BODY_LIMIT`]), `405` for other methods there and `404`
//! elsewhere. Whatever the bytes, it answers and keeps serving.

mod client;
mod error;
mod router;
mod server;
mod tls;

pub use client::{HttpTransport, HttpTransportBuilder};
pub use router::{DEFAULT_BODY_LIMIT, router, router_with_body_limit};
pub use server::{HttpServer, ServerHandle, ServerOptions, serve};
pub use tls::ServerTls;
