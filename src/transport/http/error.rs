//! How a failed call becomes an [`Error`]: in one place, for every call.
//!
//! Messages name the node and the host, never a body: request and answer
//! bytes can carry an invitation's secret.

use std::time::Duration;

use reqwest::StatusCode;

use crate::error::{Error, ErrorKind};
use crate::model::NodeUrl;

/// Why a call failed before a status arrived, from reqwest's error.
pub(super) fn failure(to: &NodeUrl, timeout: Duration, err: reqwest::Error) -> Error {
    let host = to.to_url().host_str().unwrap_or_default().to_owned();
    let (kind, message) = if err.is_connect() {
        let detail = match tls_reason(&err) {
            Some(reason) => format!("the tls handshake failed: {reason}"),
            None if err.is_timeout() => "connecting timed out".to_owned(),
            None => innermost(&err),
        };
        (
            ErrorKind::Unavailable,
            format!("cannot reach the node at {to} (host {host}): {detail}"),
        )
    } else if err.is_timeout() {
        (
            ErrorKind::Timeout,
            format!(
                "no answer from the node at {to} within {} ms; the request may or may not have \
                 been handled",
                timeout.as_millis()
            ),
        )
    } else if err.is_builder() {
        (
            ErrorKind::InvalidConfig,
            format!(
                "cannot make a request to the node at {to}: {}",
                innermost(&err)
            ),
        )
    } else {
        (
            ErrorKind::Timeout,
            format!(
                "the connection to the node at {to} broke before its answer arrived ({}); the \
                 request may or may not have been handled",
                innermost(&err)
            ),
        )
    };
    Error::new(kind, message).with_source(err.without_url())
}

/// The next error down the chain. An `io::Error` hides the error it wraps
/// from `source()` (it returns that error's source), so it is unwrapped here.
fn cause<'a>(
    err: &'a (dyn std::error::Error + 'static),
) -> Option<&'a (dyn std::error::Error + 'static)> {
    match err.downcast_ref::<std::io::Error>() {
        Some(io) => io
            .get_ref()
            .map(|inner| inner as &(dyn std::error::Error + 'static)),
        None => err.source(),
    }
}

/// The rustls error under `err`, when the TLS handshake failed.
fn tls_reason(err: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut next = Some(err);
    while let Some(e) = next {
        if let Some(tls) = e.downcast_ref::<tokio_rustls::rustls::Error>() {
            return Some(tls.to_string());
        }
        next = cause(e);
    }
    None
}

/// The innermost cause's text ("Connection refused (os error 111)").
fn innermost(err: &(dyn std::error::Error + 'static)) -> String {
    let mut last = err;
    while let Some(next) = cause(last) {
        last = next;
    }
    last.to_string()
}

/// The error for an answer whose status is not a success.
pub(super) fn status_error(
    to: &NodeUrl,
    status: StatusCode,
    retry_after: Option<Duration>,
) -> Error {
    let answered = format!("the node at {to} answered {status}");
    let (kind, message) = match status.as_u16() {
        413 => (
            ErrorKind::InvalidInput,
            format!("{answered}: the message is larger than the node accepts"),
        ),
        429 => {
            return Error::rate_limited(format!("{answered}: it asks to slow down"), retry_after);
        }
        401 => (
            ErrorKind::Unauthenticated,
            format!("{answered}: something in front of the node asks for credentials"),
        ),
        403 => (
            ErrorKind::PermissionDenied,
            format!("{answered}: something in front of the node refuses this node"),
        ),
        404 | 405 | 415 | 300..=399 => (
            ErrorKind::Incompatible,
            format!(
                "{answered}: no twinsync node answers at that url; check the node url (its \
                 endpoint is <node url>/twinsync, https)"
            ),
        ),
        408 => (
            ErrorKind::Unavailable,
            format!("{answered}: try again later"),
        ),
        504 => (
            ErrorKind::Timeout,
            format!("{answered}: the request may or may not have been handled"),
        ),
        500..=599 => (
            ErrorKind::Unavailable,
            format!("{answered}: try again later"),
        ),
        _ => (ErrorKind::InvalidInput, answered),
    };
    let err = Error::new(kind, message);
    match retry_after {
        Some(wait) if kind == ErrorKind::Unavailable => err.with_retry_after(wait),
        _ => err,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> NodeUrl {
        NodeUrl::parse(s).unwrap()
    }

    #[test]
    fn statuses_map_to_kinds_a_node_can_act_on() {
        let to = url("https://b.example");
        let kind = |s: u16| status_error(&to, StatusCode::from_u16(s).unwrap(), None);
        let big = kind(413);
        assert_eq!(big.kind(), ErrorKind::InvalidInput);
        assert!(!big.is_temporary());
        assert!(big.to_string().contains("413 Payload Too Large"), "{big}");
        assert!(big.to_string().contains("https://b.example"), "{big}");
        assert!(kind(503).is_temporary());
        assert_eq!(kind(503).kind(), ErrorKind::Unavailable);
        assert_eq!(kind(504).kind(), ErrorKind::Timeout);
        assert_eq!(kind(404).kind(), ErrorKind::Incompatible);
        assert_eq!(kind(308).kind(), ErrorKind::Incompatible);
        assert_eq!(kind(401).kind(), ErrorKind::Unauthenticated);
        let slow = status_error(
            &to,
            StatusCode::TOO_MANY_REQUESTS,
            Some(Duration::from_secs(3)),
        );
        assert_eq!(slow.kind(), ErrorKind::RateLimited);
        assert_eq!(slow.retry_after(), Some(Duration::from_secs(3)));
    }
}
