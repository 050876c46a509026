//! The HTTP side of the Jira adapters: authentication, one request at a time
//! through the rate limiter, error answers turned into [`JiraError`]s.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use url::Url;

use super::error::JiraError;
use super::ratelimit::{RateLimiter, Scope, Signal};
use crate::clock::{Clock, SystemClock};
use crate::error::{Error, ErrorKind, Result};
use crate::model::InstanceUrl;
use crate::tracker::NewAttachment;

/// A secret that never shows in `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Secret(String);

impl Secret {
    pub(crate) fn new(text: impl Into<String>) -> Self {
        Secret(text.into())
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// How the adapter signs in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Auth {
    /// Jira Cloud: an Atlassian account's email and API token (HTTP Basic).
    Basic { email: String, token: Secret },
    /// An OAuth 2.0 access token (Cloud) or a personal access token (Data Center).
    Bearer(Secret),
}

impl Auth {
    fn header(&self) -> Result<HeaderValue> {
        let text = match self {
            Auth::Basic { email, token } => basic_authorization(email, token.expose()),
            Auth::Bearer(token) => format!("Bearer {}", token.expose()),
        };
        let mut value = HeaderValue::from_str(&text).map_err(|_| {
            Error::new(
                ErrorKind::InvalidConfig,
                "jira credentials contain characters that cannot go in an http header",
            )
        })?;
        value.set_sensitive(true);
        Ok(value)
    }
}

/// The `Authorization` header value for HTTP Basic credentials.
pub(crate) fn basic_authorization(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64_lite::encode(&format!("{user}:{password}"))
    )
}

/// Standard base64 (with padding), for the Basic authorization header.
mod base64_lite {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    pub(super) fn encode(text: &str) -> String {
        let bytes = text.as_bytes();
        let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
        for chunk in bytes.chunks(3) {
            let b = [
                chunk[0],
                chunk.get(1).copied().unwrap_or(0),
                chunk.get(2).copied().unwrap_or(0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
                } else {
                    out.push('=');
                }
            }
        }
        out
    }
}

/// The body of a request.
#[derive(Debug)]
pub(crate) enum Body {
    Empty,
    Json(Value),
    File(NewAttachment),
}

/// One request to Jira, relative to the instance's base URL.
#[derive(Debug)]
pub(crate) struct Call {
    method: Method,
    segments: Vec<String>,
    endpoint: String,
    issue: Option<String>,
    query: Vec<(&'static str, String)>,
    body: Body,
    absolute: Option<Url>,
}

impl Call {
    /// A request for the path made of `segments` (each is percent-encoded).
    /// `template` names the endpoint for rate limits, such as `issue/{}/comment`.
    pub(crate) fn new(method: Method, template: &str, segments: &[&str]) -> Self {
        Call {
            endpoint: format!("{method} {template}"),
            method,
            segments: segments.iter().map(|s| (*s).to_owned()).collect(),
            issue: None,
            query: Vec::new(),
            body: Body::Empty,
            absolute: None,
        }
    }

    /// Names the issue a write goes to, for per-issue rate limits.
    pub(crate) fn issue(mut self, issue: &str) -> Self {
        self.issue = Some(issue.to_owned());
        self
    }

    /// Adds a query parameter.
    pub(crate) fn query(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.query.push((name, value.into()));
        self
    }

    /// Sends `body` as JSON.
    pub(crate) fn json(mut self, body: Value) -> Self {
        self.body = Body::Json(body);
        self
    }

    /// Sends `file` as a multipart upload (part `file`).
    pub(crate) fn file(mut self, file: NewAttachment) -> Self {
        self.body = Body::File(file);
        self
    }

    fn scope(&self) -> Scope {
        Scope {
            endpoint: self.endpoint.clone(),
            issue: self.issue.clone(),
            write: self.method != Method::GET,
        }
    }
}

/// The HTTP client of one adapter.
pub(crate) struct Client {
    http: reqwest::Client,
    /// The same, following no redirect (to read where one points).
    no_redirect: reqwest::Client,
    base: Url,
    instance: InstanceUrl,
    auth: HeaderValue,
    limiter: RateLimiter,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("instance", &self.instance)
            .finish_non_exhaustive()
    }
}

/// Settings shared by both adapters' builders.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    pub base_url: Option<String>,
    pub auth: Option<Auth>,
    pub timeout: Duration,
    pub concurrency: usize,
    /// Times and waits out rate-limit holds.
    pub clock: Arc<dyn Clock>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            base_url: None,
            auth: None,
            timeout: Duration::from_secs(60),
            concurrency: 8,
            clock: Arc::new(SystemClock),
        }
    }
}

impl Client {
    /// A client for the settings' instance.
    pub(crate) fn new(settings: &Settings, product: &str) -> Result<Self> {
        let config = |message: String| Error::new(ErrorKind::InvalidConfig, message);
        let text = settings
            .base_url
            .as_deref()
            .ok_or_else(|| config(format!("{product} adapter needs a base url")))?;
        let instance = InstanceUrl::parse(text)
            .map_err(|e| config(format!("{product} base url: {}", e.message())))?;
        let auth = settings
            .auth
            .as_ref()
            .ok_or_else(|| config(format!("{product} adapter needs credentials")))?
            .header()?;
        let builder = || {
            reqwest::Client::builder()
                .user_agent(concat!("twinsync/", env!("CARGO_PKG_VERSION")))
                .timeout(settings.timeout)
                .connect_timeout(settings.timeout.min(Duration::from_secs(10)))
        };
        let http = builder()
            .build()
            .map_err(|e| config(format!("cannot set up the http client: {e}")))?;
        let no_redirect = builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| config(format!("cannot set up the http client: {e}")))?;
        Ok(Client {
            http,
            no_redirect,
            base: instance.to_url(),
            instance,
            auth,
            limiter: RateLimiter::new(settings.concurrency, settings.clock.clone()),
        })
    }

    /// The instance's normalized base URL.
    pub(crate) fn instance(&self) -> &InstanceUrl {
        &self.instance
    }

    /// A GET of an absolute URL Jira handed out (such as an attachment's
    /// content), refused unless it is on this instance: the credentials must
    /// not travel to another host.
    pub(crate) fn same_origin_call(&self, url: &str) -> Result<Call, JiraError> {
        let parsed = Url::parse(url)
            .map_err(|e| JiraError::malformed("a content url", format!("{url:?}: {e}")))?;
        if parsed.origin() != self.base.origin() {
            return Err(JiraError::malformed(
                "a content url on another host",
                parsed.origin().ascii_serialization(),
            ));
        }
        let mut call = Call::new(Method::GET, "attachment content", &[]);
        call.absolute = Some(parsed);
        Ok(call)
    }

    fn url(&self, call: &Call) -> Url {
        if let Some(url) = &call.absolute {
            return url.clone();
        }
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty();
            path.extend(&call.segments);
        }
        if !call.query.is_empty() {
            url.query_pairs_mut().extend_pairs(&call.query);
        }
        url
    }

    /// Sends `call`; a success answer gives its status and body, anything else an error.
    pub(crate) async fn send(&self, call: Call) -> Result<(StatusCode, Vec<u8>), JiraError> {
        self.send_accepting(call, &[]).await
    }

    /// Sends `call` and reads the answer as JSON, for a success answer and
    /// for the error statuses in `accept`, whose bodies carry results (a bulk
    /// create answers 400 with each element's error); anything else is an error.
    pub(crate) async fn json_accepting(
        &self,
        call: Call,
        accept: &[u16],
    ) -> Result<(StatusCode, Value), JiraError> {
        let (status, body) = self.send_accepting(call, accept).await?;
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok((status, Value::Null));
        }
        let value =
            serde_json::from_slice(&body).map_err(|e| JiraError::malformed("a json answer", e))?;
        Ok((status, value))
    }

    async fn send_accepting(
        &self,
        call: Call,
        accept: &[u16],
    ) -> Result<(StatusCode, Vec<u8>), JiraError> {
        let scope = call.scope();
        let url = self.url(&call);
        let mut request = self
            .http
            .request(call.method.clone(), url)
            .header(header::AUTHORIZATION, self.auth.clone())
            .header(header::ACCEPT, "application/json");
        request = match call.body {
            Body::Empty => request,
            Body::Json(value) => request
                .header(header::CONTENT_TYPE, "application/json")
                .body(serde_json::to_vec(&value).map_err(|e| JiraError::Request(e.to_string()))?),
            Body::File(file) => {
                let part = reqwest::multipart::Part::bytes(file.content)
                    .file_name(file.file_name)
                    .mime_str(&file.mime_type)
                    .map_err(|e| {
                        JiraError::Request(format!("attachment media type is not valid: {e}"))
                    })?;
                request
                    .header("X-Atlassian-Token", "no-check")
                    .multipart(reqwest::multipart::Form::new().part("file", part))
            }
        };
        let _slot = self.limiter.acquire(&scope).await;
        let response = request.send().await.map_err(JiraError::transport)?;
        let status = response.status();
        let signal = signal(status, response.headers());
        self.limiter.observe(&scope, &signal);
        let body = response.bytes().await.map_err(JiraError::transport)?;
        tracing::debug!(endpoint = %scope.endpoint, status = status.as_u16(), "jira call");
        if status.is_success() || accept.contains(&status.as_u16()) {
            Ok((status, body.to_vec()))
        } else {
            let retry_after = signal.retry_after;
            Err(JiraError::status(
                status.as_u16(),
                &body,
                retry_after,
                signal.reason,
            ))
        }
    }

    /// Sends a GET `call` without following a redirect and gives the
    /// redirect's `Location` (`None` for a success answer without one); the
    /// target is never fetched.
    pub(crate) async fn location(&self, call: Call) -> Result<Option<String>, JiraError> {
        let scope = call.scope();
        let url = self.url(&call);
        let request = self
            .no_redirect
            .request(call.method.clone(), url)
            .header(header::AUTHORIZATION, self.auth.clone())
            .header(header::ACCEPT, "application/json");
        let _slot = self.limiter.acquire(&scope).await;
        let response = request.send().await.map_err(JiraError::transport)?;
        let status = response.status();
        let signal = signal(status, response.headers());
        self.limiter.observe(&scope, &signal);
        tracing::debug!(endpoint = %scope.endpoint, status = status.as_u16(), "jira call");
        if status.is_redirection() || status.is_success() {
            let location = response
                .headers()
                .get(header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            return Ok(location);
        }
        let body = response.bytes().await.map_err(JiraError::transport)?;
        Err(JiraError::status(
            status.as_u16(),
            &body,
            signal.retry_after,
            signal.reason,
        ))
    }

    /// Sends `call` and reads the answer as JSON (an empty answer is `null`).
    pub(crate) async fn json(&self, call: Call) -> Result<Value, JiraError> {
        let (_, body) = self.send(call).await?;
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&body).map_err(|e| JiraError::malformed("a json answer", e))
    }
}

fn signal(status: StatusCode, headers: &HeaderMap) -> Signal {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    Signal {
        rate_limited: status == StatusCode::TOO_MANY_REQUESTS,
        unavailable: status == StatusCode::SERVICE_UNAVAILABLE,
        retry_after: text("retry-after")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs),
        reason: text("ratelimit-reason").map(str::to_owned),
        near_limit: text("x-ratelimit-nearlimit").is_some_and(|v| v.eq_ignore_ascii_case("true")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_auth_is_standard_base64() {
        assert_eq!(base64_lite::encode(""), "");
        assert_eq!(base64_lite::encode("f"), "Zg==");
        assert_eq!(base64_lite::encode("fo"), "Zm8=");
        assert_eq!(base64_lite::encode("foo"), "Zm9v");
        assert_eq!(
            base64_lite::encode("ann@example.com:tok3n"),
            "YW5uQGV4YW1wbGUuY29tOnRvazNu"
        );
    }

    #[test]
    fn secrets_stay_out_of_debug() {
        let auth = Auth::Basic {
            email: "ann@example.com".into(),
            token: Secret::new("very-secret"),
        };
        let shown = format!("{auth:?}");
        assert!(!shown.contains("very-secret"), "{shown}");
        assert!(shown.contains("<redacted>"));
        let header = auth.header().unwrap();
        assert!(header.is_sensitive());
    }

    #[test]
    fn content_urls_on_other_hosts_are_refused() {
        let settings = Settings {
            base_url: Some("https://jira.acme.example/jira".into()),
            auth: Some(Auth::Bearer(Secret::new("t"))),
            ..Settings::default()
        };
        let client = Client::new(&settings, "jira").unwrap();
        assert!(
            client
                .same_origin_call("https://jira.acme.example/jira/secure/attachment/1/a.txt")
                .is_ok()
        );
        for foreign in [
            "https://evil.example/secure/attachment/1/a.txt",
            "http://jira.acme.example/secure/attachment/1/a.txt",
            "https://jira.acme.example:8443/x",
            "not a url",
        ] {
            assert!(client.same_origin_call(foreign).is_err(), "{foreign}");
        }
    }

    #[test]
    fn rate_limit_headers_are_read() {
        let mut headers = HeaderMap::new();
        headers.insert("Retry-After", HeaderValue::from_static("12"));
        headers.insert(
            "RateLimit-Reason",
            HeaderValue::from_static("jira-burst-based"),
        );
        headers.insert("X-RateLimit-NearLimit", HeaderValue::from_static("true"));
        let s = signal(StatusCode::TOO_MANY_REQUESTS, &headers);
        assert!(s.rate_limited && s.near_limit);
        assert_eq!(s.retry_after, Some(Duration::from_secs(12)));
        assert_eq!(s.reason.as_deref(), Some("jira-burst-based"));
        let bad = {
            let mut h = HeaderMap::new();
            h.insert("Retry-After", HeaderValue::from_static("soon"));
            signal(StatusCode::OK, &h)
        };
        assert_eq!(bad.retry_after, None);
    }
}
