//! The console's page routes: sign-in and sign-out, and the pages (rendered
//! by [`pages`](super::pages)) with their forms, which post to the same
//! operations as the JSON API.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::Markup;

use super::access::{CSRF_FIELD, form_field};

use super::session::{LOGIN_COOKIE, SESSION_COOKIE, Ticket, clear_cookie, cookie, set_cookie};
use super::{CONSOLE_PATH, Inner, LOGIN_PATH, pages};

type Shared = State<Arc<Inner>>;

/// How long the sign-in form stays good.
const LOGIN_FORM_TTL: std::time::Duration = std::time::Duration::from_secs(3600);

/// Routes anyone may reach: the sign-in page, and `/`.
pub(super) fn open_routes() -> Router<Arc<Inner>> {
    Router::new()
        .route("/", get(|| async { Redirect::to(CONSOLE_PATH) }))
        .route(LOGIN_PATH, get(login_form).post(login))
}

/// The pages (gated by the caller).
pub(super) fn routes() -> Router<Arc<Inner>> {
    super::views::routes().route("/console/logout", post(logout))
}

/// An HTML page with the console's security headers: no framing, no
/// caching of pages that show state, scripts and styles only inline.
pub(super) fn page(status: StatusCode, markup: Markup) -> Response {
    let mut response = (status, Html(markup.into_string())).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self' 'unsafe-inline'; \
             style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; \
             form-action 'self'",
        ),
    );
    response
}

/// A refusal, as a page.
pub(super) fn refusal(status: StatusCode, message: &str) -> Response {
    page(status, pages::error_page(None, status.as_u16(), message))
}

/// The sign-in form, with a fresh ticket for its CSRF token.
async fn login_form(State(inner): Shared) -> Response {
    login_page(&inner, StatusCode::OK, None)
}

fn login_page(inner: &Inner, status: StatusCode, error: Option<&str>) -> Response {
    let ticket = match Ticket::new("", LOGIN_FORM_TTL) {
        Ok(t) => t,
        Err(e) => return refusal(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    let sealed = match ticket.seal(&inner.key, LOGIN_COOKIE) {
        Ok(s) => s,
        Err(e) => return refusal(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    let mut response = page(status, pages::login(error, &ticket.csrf));
    if let Ok(value) = HeaderValue::from_str(&set_cookie(
        LOGIN_COOKIE,
        &sealed,
        LOGIN_FORM_TTL,
        inner.secure,
    )) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// Signs in: the form's CSRF token must match its ticket, and the name and
/// password an operator's. Wrong names and wrong passwords get the same
/// answer.
async fn login(State(inner): Shared, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let ticket = cookie(&headers, LOGIN_COOKIE)
        .and_then(|value| Ticket::open(&inner.key, LOGIN_COOKIE, value));
    let presented = form_field(&body, CSRF_FIELD);
    let fresh = match (&ticket, &presented) {
        (Some(t), Some(p)) => {
            use subtle::ConstantTimeEq;
            t.csrf.len() == p.len() && bool::from(t.csrf.as_bytes().ct_eq(p.as_bytes()))
        }
        _ => false,
    };
    if !fresh {
        return login_page(
            &inner,
            StatusCode::FORBIDDEN,
            Some("The sign-in form expired or was not sent by this console. Try again."),
        );
    }
    let name = form_field(&body, "name").unwrap_or_default();
    let password = zeroize::Zeroizing::new(form_field(&body, "password").unwrap_or_default());
    let known = inner
        .operators
        .iter()
        .find(|o| o.name == name.trim())
        .cloned();
    // Unknown names share one count: the table stays small.
    let key = known.as_ref().map_or("", |o| o.name.as_str()).to_owned();
    if let Some(left) = inner.throttle.wait(&key) {
        return login_page(
            &inner,
            StatusCode::TOO_MANY_REQUESTS,
            Some(&format!(
                "Too many wrong passwords for this name: try again in {} minute(s).",
                (left + 59) / 60
            )),
        );
    }
    // argon2 takes a while on purpose: off the async threads.
    let verified = match known.clone() {
        Some(operator) => tokio::task::spawn_blocking(move || operator.verify(&password))
            .await
            .unwrap_or(false),
        None => false,
    };
    let operator = match (known, verified) {
        (Some(operator), true) => operator,
        (known, _) => {
            inner.throttle.failed(&key);
            // The name only when it is an operator's: a password typed into
            // the name field must not reach the logs.
            match known {
                Some(known) => {
                    tracing::info!(operator = %known.name, "console sign-in refused: wrong password")
                }
                None => tracing::info!("console sign-in refused: no such operator"),
            }
            return login_page(
                &inner,
                StatusCode::UNAUTHORIZED,
                Some("Wrong name or password."),
            );
        }
    };
    inner.throttle.succeeded(&key);
    let session =
        Ticket::new(&operator.name, inner.ttl).and_then(|t| t.seal(&inner.key, SESSION_COOKIE));
    let sealed = match session {
        Ok(s) => s,
        Err(e) => return refusal(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    tracing::info!(operator = %operator.name, role = %operator.role, "console sign-in");
    let mut response = Redirect::to(CONSOLE_PATH).into_response();
    for value in [
        set_cookie(SESSION_COOKIE, &sealed, inner.ttl, inner.secure),
        clear_cookie(LOGIN_COOKIE, inner.secure),
    ] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

/// Signs out: the session cookie goes, and the session is void on this node
/// even where a copy of the cookie stays (until the node restarts).
async fn logout(State(inner): Shared, headers: HeaderMap) -> Response {
    if let Some(ticket) = cookie(&headers, SESSION_COOKIE)
        .and_then(|value| Ticket::open(&inner.key, SESSION_COOKIE, value))
    {
        inner.revoke(ticket);
    }
    let mut response = Redirect::to(LOGIN_PATH).into_response();
    if let Ok(value) = HeaderValue::from_str(&clear_cookie(SESSION_COOKIE, inner.secure)) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}
