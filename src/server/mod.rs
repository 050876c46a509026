//! The node's HTTP server (feature `http`): the routes a node serves, as
//! axum routers to mount together in one server.
//!
//! - [`ops`]: `/healthz`, `/readyz` and `/metrics`, for the process's
//!   supervisor and for Prometheus.
//!
//! The peer endpoint's routes (`POST /twinsync`) are
//! [`transport::http::router`](crate::transport::http::router).

pub mod ops;
