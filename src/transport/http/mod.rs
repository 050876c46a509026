//! Nodes over the network (feature `http`): [`HttpTransport`] calls other
//! nodes with an HTTPS `POST` to their [`SYNC_ENDPOINT_PATH`], and the
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

use url::{Host, Url};

use super::SYNC_ENDPOINT_PATH;
use crate::model::InstanceUrl;

mod client;
mod error;
mod router;
mod server;
mod tls;

pub use client::{HttpTransport, HttpTransportBuilder};
pub use router::{DEFAULT_BODY_LIMIT, router, router_with_body_limit};
pub use server::{HttpServer, ServerHandle, ServerOptions, serve};
pub use tls::ServerTls;

/// Whether `host` is this machine: `127.0.0.0/8`, `::1` or `localhost`.
fn is_loopback(host: Option<Host<&str>>) -> bool {
    match host {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// The URL a node at `instance` answers on: the instance URL joined with
/// [`SYNC_ENDPOINT_PATH`], or the URL itself when it already ends with it.
fn endpoint_url(instance: &InstanceUrl) -> Url {
    let mut url = instance.to_url();
    let base = url.path().trim_end_matches('/').to_owned();
    if !base.ends_with(SYNC_ENDPOINT_PATH) {
        url.set_path(&format!("{base}{SYNC_ENDPOINT_PATH}"));
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(text: &str) -> String {
        endpoint_url(&InstanceUrl::parse(text).unwrap()).to_string()
    }

    #[test]
    fn the_sync_path_is_joined_once() {
        assert_eq!(endpoint("https://b.example"), "https://b.example/twinsync");
        assert_eq!(endpoint("https://b.example/"), "https://b.example/twinsync");
        assert_eq!(
            endpoint("https://b.example/twinsync"),
            "https://b.example/twinsync"
        );
        assert_eq!(
            endpoint("https://b.example:8443/nodes/b/"),
            "https://b.example:8443/nodes/b/twinsync"
        );
        assert_eq!(
            endpoint("https://b.example/mytwinsync"),
            "https://b.example/mytwinsync/twinsync"
        );
    }

    #[test]
    fn loopback_is_this_machine_only() {
        let host = |text: &str| Url::parse(text).unwrap();
        for url in [
            "http://127.0.0.1:1",
            "http://127.8.0.1",
            "http://[::1]:80",
            "http://LOCALHOST:9",
        ] {
            assert!(is_loopback(host(url).host()), "{url}");
        }
        for url in [
            "http://10.0.0.1",
            "http://0.0.0.0",
            "http://localhost.example",
            "http://[::ffff:7f00:1]",
            "http://example.com",
        ] {
            assert!(!is_loopback(host(url).host()), "{url}");
        }
    }
}
