//! The node's HTTP server (feature `http`): the routes a node serves, as axum
//! [`Router`](axum::Router)s to merge into one server, such as the one
//! [`HttpServer::serve_router`](crate::transport::http::HttpServer::serve_router)
//! runs.
//!
//! - [`webhook`]: the receiver for Jira's webhook deliveries, which turns each
//!   into a hint for the connections it concerns.
//! - [`ops`]: `/healthz`, `/readyz` and `/metrics`, for the process's
//!   supervisor and for Prometheus.
//!
//! The peer endpoint's routes (`POST /twinsync`) are
//! [`transport::http::router`](crate::transport::http::router).

#[cfg(feature = "console")]
pub mod console;
pub mod ops;
pub mod webhook;
