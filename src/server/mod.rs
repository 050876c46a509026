//! What a node serves over HTTP besides the node-to-node endpoint (feature
//! `http`): the [`webhook`] receiver for Jira's deliveries. Each part is an
//! axum [`Router`](axum::Router) to merge into one server, such as the one
//! [`HttpServer::serve_router`](crate::transport::http::HttpServer::serve_router)
//! runs.

pub mod webhook;
