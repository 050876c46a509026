//! The endpoint's routes: `POST /twinsync` hands the body to an [`Endpoint`].

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use crate::transport::{Endpoint, SYNC_ENDPOINT_PATH};

/// The largest request body the endpoint reads by default: the 64 MiB a node
/// reads, plus 64 KiB for the envelope. Larger bodies get `413`.
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024 * 1024 + 64 * 1024;

/// The routes that serve `endpoint` (usually a [`Node`](crate::engine::Node))
/// to other nodes, to mount in an axum server of your own: `POST /twinsync`
/// answers with the endpoint's answer (`200`, `application/octet-stream`),
/// `413` beyond [`DEFAULT_BODY_LIMIT`], `405` for other methods on that path;
/// other paths are `404` (or your routes, once merged).
///
/// Requests are handled on their own tokio task: a caller that goes away does
/// not cut a request off halfway. Bodies are never logged.
///
/// ```
/// use std::sync::Arc;
/// use async_trait::async_trait;
/// use twinsync::transport::Endpoint;
///
/// struct Echo;
///
/// #[async_trait]
/// impl Endpoint for Echo {
///     async fn handle(&self, request: Vec<u8>) -> Vec<u8> {
///         request
///     }
/// }
///
/// let app = axum::Router::new()
///     .route("/health", axum::routing::get(|| async { "ok" }))
///     .merge(twinsync::transport::http::router(Arc::new(Echo)));
/// # let _ = app;
/// ```
pub fn router(endpoint: Arc<dyn Endpoint>) -> Router {
    router_with_body_limit(endpoint, DEFAULT_BODY_LIMIT)
}

/// As [`router`], reading request bodies of at most `limit` bytes.
pub fn router_with_body_limit(endpoint: Arc<dyn Endpoint>, limit: usize) -> Router {
    Router::new()
        .route(SYNC_ENDPOINT_PATH, post(sync))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(endpoint)
}

async fn sync(State(endpoint): State<Arc<dyn Endpoint>>, body: Bytes) -> Response {
    let request = Vec::from(body);
    // Its own task: the request is handled to the end even when the caller
    // hangs up, and an endpoint that panics costs one answer, not the server.
    let handled = tokio::spawn(async move { endpoint.handle(request).await }).await;
    match handled {
        Ok(answer) => {
            ([(header::CONTENT_TYPE, "application/octet-stream")], answer).into_response()
        }
        Err(err) => {
            // Not the panic's message: it could quote what the request held.
            tracing::error!(
                panicked = err.is_panic(),
                "the endpoint failed while handling a request"
            );
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the node failed while handling the request",
            )
                .into_response()
        }
    }
}
