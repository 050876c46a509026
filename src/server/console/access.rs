//! The gate every console and API route passes: who is asking (a session
//! cookie or a bearer token), whether a write carries the session's CSRF
//! token, and whether the caller's role allows the action.

use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use super::session::{SESSION_COOKIE, Ticket, cookie};
use super::{Action, Inner, Role};
use crate::error::{Error, ErrorKind, Result};
use crate::model::UserId;

/// The header a session's JSON writes carry the CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The form field every console form carries the CSRF token in.
pub const CSRF_FIELD: &str = "csrf";
/// The largest form or JSON body the console reads.
pub(super) const BODY_LIMIT: usize = 1 << 20;

/// Who is asking, once signed in.
#[derive(Clone, Debug)]
pub(super) struct Caller {
    /// The operator's or token's name.
    pub name: String,
    pub role: Role,
    /// The tracker user the engine checks permissions for.
    pub acts_as: UserId,
    /// The session's CSRF token; `None` for a bearer token.
    pub csrf: Option<String>,
}

impl Caller {
    /// `PermissionDenied` unless the role allows `action`.
    pub fn require(&self, action: Action) -> Result<()> {
        if self.role.may(action) {
            Ok(())
        } else {
            Err(Error::new(
                ErrorKind::PermissionDenied,
                format!(
                    "{} is a {} in this console, which may not do this ({action:?})",
                    self.name, self.role
                ),
            ))
        }
    }
}

/// Where a route belongs: the JSON API answers in JSON, the pages in HTML.
fn is_api(request: &Request) -> bool {
    request.uri().path().starts_with("/api/")
}

/// Finds the caller of a request, from a bearer token or a session cookie.
fn caller(inner: &Inner, headers: &HeaderMap) -> Option<Caller> {
    if let Some(auth) = headers.get(header::AUTHORIZATION) {
        let presented = auth.to_str().ok()?.strip_prefix("Bearer ")?;
        let token = inner.tokens.iter().find(|t| t.matches(presented))?;
        return Some(Caller {
            name: token.name.clone(),
            role: token.role,
            acts_as: token.acts_as.clone(),
            csrf: None,
        });
    }
    let ticket = Ticket::open(&inner.key, SESSION_COOKIE, cookie(headers, SESSION_COOKIE)?)?;
    if inner.is_revoked(&ticket) {
        return None;
    }
    // The role is the config's of now: a changed role applies at once, and a
    // removed operator's session ends.
    let operator = inner.operators.iter().find(|o| o.name == ticket.operator)?;
    Some(Caller {
        name: operator.name.clone(),
        role: operator.role,
        acts_as: operator.acts_as.clone(),
        csrf: Some(ticket.csrf),
    })
}

/// Refuses anonymous requests and session writes without the CSRF token;
/// hands the [`Caller`] to the route.
pub(super) async fn gate(
    State(inner): State<Arc<Inner>>,
    request: Request,
    next: Next,
) -> Response {
    let api = is_api(&request);
    let Some(caller) = caller(&inner, request.headers()) else {
        return if api {
            super::api::error_response(&Error::new(
                ErrorKind::Unauthenticated,
                "sign in first: send `Authorization: Bearer <token>` or a session cookie",
            ))
        } else if request.method() == Method::GET {
            Redirect::to(super::LOGIN_PATH).into_response()
        } else {
            super::html::refusal(StatusCode::UNAUTHORIZED, "Sign in first.")
        };
    };
    let writes = !matches!(*request.method(), Method::GET | Method::HEAD);
    let request = match (&caller.csrf, writes) {
        (Some(expected), true) => match checked(request, expected, api).await {
            Ok(request) => request,
            Err(refused) => return refused,
        },
        _ => request,
    };
    let mut request = request;
    request.extensions_mut().insert(caller);
    next.run(request).await
}

/// The request, when it carries the session's CSRF token: in the header for
/// the API, in the `csrf` form field for pages (the body is read and put
/// back).
async fn checked(
    request: Request,
    expected: &str,
    api: bool,
) -> std::result::Result<Request, Response> {
    let refused = || {
        let message = "the form is stale or was not sent by this console (missing or wrong CSRF token): reload the page and try again";
        if api {
            super::api::error_response(&Error::new(ErrorKind::PermissionDenied, message))
        } else {
            super::html::refusal(StatusCode::FORBIDDEN, message)
        }
    };
    if let Some(header) = request.headers().get(CSRF_HEADER) {
        return if same(header.as_bytes(), expected.as_bytes()) {
            Ok(request)
        } else {
            Err(refused())
        };
    }
    if api {
        return Err(refused());
    }
    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, BODY_LIMIT).await else {
        return Err(super::html::refusal(
            StatusCode::PAYLOAD_TOO_LARGE,
            "The form is too large.",
        ));
    };
    let presented = form_field(&bytes, CSRF_FIELD);
    if presented.is_some_and(|p| same(p.as_bytes(), expected.as_bytes())) {
        Ok(Request::from_parts(parts, Body::from(bytes)))
    } else {
        Err(refused())
    }
}

/// The first value of `name` in a urlencoded form.
pub(super) fn form_field(body: &[u8], name: &str) -> Option<String> {
    url::form_urlencoded::parse(body)
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn same(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}
