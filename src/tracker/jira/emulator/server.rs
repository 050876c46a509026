//! The emulator's HTTP side: connections, authentication, faults and the log.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::sync::{Notify, watch};

use super::routes::{self, Incoming as Req, Reply};
use super::{CheckedRequest, Exchange, Fault, Shared, Violation, lock};

/// The largest request body the emulator reads (Jira's attachment limit is larger;
/// tests do not need more).
const MAX_BODY: usize = 64 * 1024 * 1024;

/// The `Authorization` header value for Basic credentials.
pub(crate) fn basic(email: &str, token: &str) -> String {
    crate::tracker::jira::client::basic_authorization(email, token)
}

/// Accepts connections until told to stop.
pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.changed() => break,
        };
        let Ok((stream, _)) = accepted else { continue };
        let shared = shared.clone();
        let mut stop = stop.clone();
        tokio::spawn(async move {
            // Set by a handler that must lose its answer: the connection is dropped.
            let kill = Arc::new(Notify::new());
            let service = {
                let kill = kill.clone();
                service_fn(move |req| handle(shared.clone(), kill.clone(), req))
            };
            let connection = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                _ = connection => {}
                _ = kill.notified() => {}
                _ = stop.changed() => {}
            }
        });
    }
}

fn error_body(message: &str) -> Value {
    json!({"errorMessages": [message], "errors": {}})
}

async fn handle(
    shared: Arc<Shared>,
    kill: Arc<Notify>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or("").to_owned();
    let header = |name: header::HeaderName| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let auth = header(header::AUTHORIZATION);
    let content_type = header(header::CONTENT_TYPE).unwrap_or_default();
    let xsrf = req
        .headers()
        .get("x-atlassian-token")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("no-check"));
    let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            return Ok(finish(
                &shared,
                &method,
                &path,
                None,
                None,
                Reply::json(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    error_body("the request is too large"),
                ),
            ));
        }
    };
    let request_json = if content_type.starts_with("application/json") {
        serde_json::from_slice::<Value>(&body).ok()
    } else {
        None
    };

    let fault = shared.take_fault(&method, &path);
    let mut near_limit = false;
    match &fault {
        Some(Fault::RateLimited {
            reason,
            retry_after,
        }) => {
            let reply = Reply::json(
                StatusCode::TOO_MANY_REQUESTS,
                error_body("Rate limit exceeded."),
            )
            .header("Retry-After", retry_after.as_secs().max(1).to_string())
            .header("RateLimit-Reason", reason.as_str().to_owned());
            return Ok(finish(&shared, &method, &path, None, request_json, reply));
        }
        Some(Fault::ServerError {
            status,
            retry_after,
        }) => {
            let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut reply = Reply::json(status, error_body("Internal server error"));
            if let Some(wait) = retry_after {
                reply = reply.header("Retry-After", wait.as_secs().max(1).to_string());
            }
            return Ok(finish(&shared, &method, &path, None, request_json, reply));
        }
        Some(Fault::NearLimit) => near_limit = true,
        _ => {}
    }

    let user = auth
        .as_deref()
        .and_then(|a| lock(&shared.credentials).get(a).cloned());
    let refused = match &user {
        Some(_) => strict_refusal(&shared, &method, &path, &query, request_json.as_ref()),
        None => None,
    };
    let (route, mut reply) = match (user, refused) {
        (Some(_), Some(problems)) => (
            None,
            Reply::json(
                StatusCode::BAD_REQUEST,
                json!({"errorMessages": problems, "errors": {}}),
            ),
        ),
        (None, _) => (
            None,
            Reply::json(
                StatusCode::UNAUTHORIZED,
                error_body(
                    "You are not authenticated. Authentication required to perform this operation.",
                ),
            ),
        ),
        (Some(user), None) => {
            let incoming = Req {
                method: &method,
                path: &path,
                query: &query,
                content_type: &content_type,
                xsrf_no_check: xsrf,
                body: &body,
                json: request_json.as_ref(),
                user,
                bearer: auth.as_deref().is_some_and(|a| a.starts_with("Bearer ")),
            };
            routes::route(&shared, incoming).await
        }
    };
    if near_limit {
        reply = reply.header("X-RateLimit-NearLimit", "true".to_owned());
    }
    let response = finish(&shared, &method, &path, route, request_json, reply);
    match fault {
        Some(Fault::Latency(wait)) => tokio::time::sleep(wait).await,
        Some(Fault::LoseResponse) => {
            // Applied; now the answer is lost.
            kill.notify_one();
            std::future::pending::<()>().await;
        }
        _ => {}
    }
    Ok(response)
}

/// In strict mode, the problems the validator finds in a JSON body (recorded
/// as a violation), or `None` when it passes or strict mode is off.
fn strict_refusal(
    shared: &Shared,
    method: &str,
    path: &str,
    query: &str,
    body: Option<&Value>,
) -> Option<Vec<String>> {
    let validator = lock(&shared.strict).clone()?;
    let body = body?;
    let request = CheckedRequest {
        method,
        path,
        query,
        body,
    };
    let problems = validator.0.validate(&request).err()?;
    let problems = if problems.is_empty() {
        vec!["The request is not valid.".to_owned()]
    } else {
        problems
    };
    lock(&shared.violations).push(Violation {
        method: method.to_owned(),
        path: path.to_owned(),
        body: body.clone(),
        problems: problems.clone(),
    });
    Some(problems)
}

fn finish(
    shared: &Shared,
    method: &str,
    path: &str,
    route: Option<String>,
    request: Option<Value>,
    reply: Reply,
) -> Response<Full<Bytes>> {
    let response_json = match &reply.body {
        routes::Body::Json(v) => Some(v.clone()),
        _ => None,
    };
    lock(&shared.log).push(Exchange {
        method: method.to_owned(),
        path: path.to_owned(),
        route,
        request,
        status: reply.status.as_u16(),
        response: response_json,
    });
    let (content_type, bytes) = match reply.body {
        routes::Body::Json(v) => (
            "application/json;charset=UTF-8".to_owned(),
            Bytes::from(serde_json::to_vec(&v).unwrap_or_default()),
        ),
        routes::Body::Bytes(data, mime) => (mime, Bytes::from(data)),
        routes::Body::Empty => (String::new(), Bytes::new()),
    };
    let mut response = Response::new(Full::new(bytes));
    *response.status_mut() = reply.status;
    let headers = response.headers_mut();
    if !content_type.is_empty()
        && let Ok(v) = HeaderValue::from_str(&content_type)
    {
        headers.insert(header::CONTENT_TYPE, v);
    }
    for (name, value) in reply.headers {
        if let (Ok(name), Ok(value)) = (
            header::HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            headers.insert(name, value);
        }
    }
    response
}
