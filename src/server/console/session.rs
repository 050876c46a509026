//! Sessions in signed cookies: the operator's name, the session's CSRF token
//! and its expiry, as JSON, with an HMAC-SHA256 tag over them under the
//! console's [`SessionKey`]. Nothing is stored on the node; a forged or
//! edited cookie fails the tag and counts as no session.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use time::OffsetDateTime;

use super::credentials::SessionKey;
use crate::error::{Error, ErrorKind, Result};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "twinsync_session";
/// The cookie that carries the sign-in form's CSRF token before a session
/// exists.
pub const LOGIN_COOKIE: &str = "twinsync_login";

/// What a cookie proves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Ticket {
    /// The operator signed in; empty on the sign-in form's ticket.
    #[serde(rename = "o")]
    pub operator: String,
    /// The CSRF token every form and write must carry.
    #[serde(rename = "c")]
    pub csrf: String,
    /// Unix seconds after which the ticket is void.
    #[serde(rename = "e")]
    pub expires: i64,
}

impl Ticket {
    /// A ticket for `operator` with a fresh CSRF token, valid for `ttl`.
    pub fn new(operator: &str, ttl: Duration) -> Result<Self> {
        let mut csrf = [0u8; 24];
        crate::connection::secret::fill_random(&mut csrf)?;
        let ttl = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX / 2);
        Ok(Ticket {
            operator: operator.to_owned(),
            csrf: URL_SAFE_NO_PAD.encode(csrf),
            expires: OffsetDateTime::now_utc()
                .unix_timestamp()
                .saturating_add(ttl),
        })
    }

    /// The cookie value: the ticket and its tag, for cookie `name`.
    pub fn seal(&self, key: &SessionKey, name: &str) -> Result<String> {
        let body = serde_json::to_vec(self).map_err(|e| {
            Error::new(
                ErrorKind::Unexpected,
                format!("cannot write a session: {e}"),
            )
        })?;
        let body = URL_SAFE_NO_PAD.encode(body);
        let mut mac = mac(key, name).ok_or_else(|| {
            Error::new(ErrorKind::Unexpected, "the session key cannot key an HMAC")
        })?;
        mac.update(body.as_bytes());
        let tag = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        Ok(format!("{body}.{tag}"))
    }

    /// The ticket a cookie `name` carries, when its tag is right and it has
    /// not expired.
    pub fn open(key: &SessionKey, name: &str, value: &str) -> Option<Ticket> {
        let (body, presented) = value.split_once('.')?;
        let presented = URL_SAFE_NO_PAD.decode(presented).ok()?;
        let mut mac = mac(key, name)?;
        mac.update(body.as_bytes());
        mac.verify_slice(&presented).ok()?;
        let ticket: Ticket = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(body).ok()?).ok()?;
        (ticket.expires > OffsetDateTime::now_utc().unix_timestamp()).then_some(ticket)
    }
}

fn mac(key: &SessionKey, name: &str) -> Option<Hmac<Sha256>> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key.bytes()).ok()?;
    // The cookie's name is part of what is signed: a sign-in ticket is never
    // a session.
    mac.update(name.as_bytes());
    mac.update(b"\0");
    Some(mac)
}

/// The value of cookie `name` in a request's `Cookie` headers.
pub(super) fn cookie<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, for the whole site;
/// `Secure` unless the console was told it is served over plain HTTP.
pub(super) fn set_cookie(name: &str, value: &str, max_age: Duration, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        max_age.as_secs()
    )
}

/// A `Set-Cookie` value that removes cookie `name`.
pub(super) fn clear_cookie(name: &str, secure: bool) -> String {
    set_cookie(name, "", Duration::ZERO, secure)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SessionKey {
        SessionKey::from_bytes(&[7; 32]).unwrap()
    }

    #[test]
    fn a_sealed_ticket_opens_only_with_its_key_and_name() {
        let ticket = Ticket::new("ada", Duration::from_secs(60)).unwrap();
        let sealed = ticket.seal(&key(), SESSION_COOKIE).unwrap();
        assert_eq!(Ticket::open(&key(), SESSION_COOKIE, &sealed), Some(ticket));
        assert_eq!(Ticket::open(&key(), LOGIN_COOKIE, &sealed), None);
        let other = SessionKey::from_bytes(&[8; 32]).unwrap();
        assert_eq!(Ticket::open(&other, SESSION_COOKIE, &sealed), None);
    }

    #[test]
    fn an_edited_or_expired_ticket_is_no_session() {
        let mut ticket = Ticket::new("ada", Duration::from_secs(60)).unwrap();
        let sealed = ticket.seal(&key(), SESSION_COOKIE).unwrap();
        let (_, tag) = sealed.split_once('.').unwrap();
        let mut forged = ticket.clone();
        forged.operator = "root".into();
        let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap());
        assert_eq!(
            Ticket::open(&key(), SESSION_COOKIE, &format!("{body}.{tag}")),
            None
        );
        ticket.expires = OffsetDateTime::now_utc().unix_timestamp() - 1;
        assert_eq!(
            Ticket::open(
                &key(),
                SESSION_COOKIE,
                &ticket.seal(&key(), SESSION_COOKIE).unwrap()
            ),
            None
        );
        for junk in ["", ".", "abc", "a.b.c", "%%%.%%%"] {
            assert_eq!(Ticket::open(&key(), SESSION_COOKIE, junk), None, "{junk:?}");
        }
    }
}
