//! [`HttpTransport`]: calls other nodes with an HTTPS `POST`.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::header::{self, HeaderValue};
use url::Url;

use super::DEFAULT_BODY_LIMIT;
use super::error::{failure, status_error};
use crate::error::{Error, ErrorKind, Result};
use crate::model::NodeUrl;
use crate::transport::Transport;

const OCTET_STREAM: &str = "application/octet-stream";

/// A [`Transport`] over HTTPS: each call is one `POST` of the request bytes to
/// the node's URL joined with [`SYNC_ENDPOINT_PATH`](crate::transport::SYNC_ENDPOINT_PATH)
/// (a URL that already ends with it is used as it is); the answer is the
/// response body.
///
/// A call makes at most one attempt (reqwest's own retries are off, redirects
/// are not followed) and neither logs nor keeps the bytes. Calls must run on a
/// tokio runtime; outside one they fail with `InvalidConfig`. See the
/// [module docs](super) for how failures map to error kinds.
///
/// ```
/// use std::time::Duration;
/// use twinsync::ErrorKind;
/// use twinsync::model::NodeUrl;
/// use twinsync::transport::Transport;
/// use twinsync::transport::http::HttpTransport;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> twinsync::Result<()> {
/// let transport = HttpTransport::builder()
///     .connect_timeout(Duration::from_secs(5))
///     .build()?;
/// // Nodes talk over TLS: a plain-http URL is refused before anything is sent.
/// let plain = NodeUrl::parse("http://b.example")?;
/// let err = transport.call(&plain, b"hello".to_vec()).await.unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::InvalidConfig);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct HttpTransport {
    http: reqwest::Client,
    request_timeout: Duration,
    connect_timeout: Duration,
    extra_roots: usize,
    plain_http_on_loopback: bool,
    max_answer_bytes: usize,
}

impl fmt::Debug for HttpTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpTransport")
            .field("request_timeout", &self.request_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("extra_roots", &self.extra_roots)
            .field("plain_http_on_loopback", &self.plain_http_on_loopback)
            .field("max_answer_bytes", &self.max_answer_bytes)
            .finish_non_exhaustive()
    }
}

/// Settings of an [`HttpTransport`]; start with [`HttpTransport::builder`].
#[derive(Clone)]
pub struct HttpTransportBuilder {
    request_timeout: Duration,
    connect_timeout: Duration,
    roots_pem: Vec<Vec<u8>>,
    plain_http_on_loopback: bool,
    max_answer_bytes: usize,
}

impl fmt::Debug for HttpTransportBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpTransportBuilder")
            .field("request_timeout", &self.request_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("root_pems", &self.roots_pem.len())
            .field("plain_http_on_loopback", &self.plain_http_on_loopback)
            .field("max_answer_bytes", &self.max_answer_bytes)
            .finish()
    }
}

impl Default for HttpTransportBuilder {
    fn default() -> Self {
        HttpTransportBuilder {
            request_timeout: Duration::from_secs(120),
            connect_timeout: Duration::from_secs(10),
            roots_pem: Vec::new(),
            plain_http_on_loopback: false,
            max_answer_bytes: DEFAULT_BODY_LIMIT,
        }
    }
}

impl HttpTransportBuilder {
    /// How long a call may take in all, from connecting to the answer's last
    /// byte (default 120 s: the peer applies a message to its tracker before
    /// it answers). Beyond it the call fails with `Timeout`.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// How long connecting (TCP and the TLS handshake) may take (default
    /// 10 s). Beyond it the call fails with `Unavailable`: nothing was sent.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Trusts the certificates in `pem` (one or more) as roots, besides the
    /// public web roots: for peers whose certificates come from a private CA.
    /// The PEM is read by [`build`](Self::build).
    pub fn add_root_certificate_pem(mut self, pem: &[u8]) -> Self {
        self.roots_pem.push(pem.to_vec());
        self
    }

    /// Allows plain `http://` URLs, for tests on one machine; even then only
    /// for loopback hosts (`127.0.0.0/8`, `::1`, `localhost`). Off by
    /// default: an `http://` URL fails with `InvalidConfig`.
    pub fn allow_plain_http_on_loopback(mut self, allow: bool) -> Self {
        self.plain_http_on_loopback = allow;
        self
    }

    /// The largest answer read (default [`DEFAULT_BODY_LIMIT`]); a larger one
    /// fails the call with `Incompatible`.
    pub fn max_answer_bytes(mut self, bytes: usize) -> Self {
        self.max_answer_bytes = bytes;
        self
    }

    /// The transport.
    ///
    /// # Errors
    ///
    /// `InvalidConfig` when a root certificate's PEM holds no certificate or
    /// cannot be read, or when the HTTP client cannot be set up.
    pub fn build(self) -> Result<HttpTransport> {
        let config = |message: String| Error::new(ErrorKind::InvalidConfig, message);
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("twinsync/", env!("CARGO_PKG_VERSION")))
            .timeout(self.request_timeout)
            .connect_timeout(self.connect_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .retry(reqwest::retry::never())
            .https_only(!self.plain_http_on_loopback);
        let mut extra_roots = 0;
        for (i, pem) in self.roots_pem.iter().enumerate() {
            let certs = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| {
                config(format!(
                    "root certificate PEM #{} cannot be read: {e}",
                    i + 1
                ))
            })?;
            if certs.is_empty() {
                return Err(config(format!(
                    "root certificate PEM #{} holds no certificate",
                    i + 1
                )));
            }
            extra_roots += certs.len();
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        let http = builder
            .build()
            .map_err(|e| config(format!("cannot set up the http client: {e}")))?;
        Ok(HttpTransport {
            http,
            request_timeout: self.request_timeout,
            connect_timeout: self.connect_timeout,
            extra_roots,
            plain_http_on_loopback: self.plain_http_on_loopback,
            max_answer_bytes: self.max_answer_bytes,
        })
    }
}

impl HttpTransport {
    /// A builder with the defaults: 120 s per call, 10 s to connect, the
    /// public web roots, HTTPS only.
    pub fn builder() -> HttpTransportBuilder {
        HttpTransportBuilder::default()
    }

    /// The URL a call to `to` posts to, refusing plain HTTP unless allowed.
    fn target(&self, to: &NodeUrl) -> Result<Url> {
        let url = to.endpoint();
        if url.scheme() == "https" {
            return Ok(url);
        }
        let message = if !self.plain_http_on_loopback {
            format!(
                "the node at {to} has a plain http url, and nodes talk over https; give its \
                 https url (plain http is for tests on one machine: \
                 HttpTransport::builder().allow_plain_http_on_loopback(true))"
            )
        } else if !to.is_loopback() {
            format!(
                "the node at {to} has a plain http url and is not on loopback; plain http is \
                 allowed only for 127.0.0.1, ::1 or localhost: give its https url"
            )
        } else {
            return Ok(url);
        };
        Err(Error::new(ErrorKind::InvalidConfig, message))
    }

    /// Reads the answer's body, at most `max_answer_bytes` of it.
    async fn read_answer(&self, to: &NodeUrl, mut response: reqwest::Response) -> Result<Vec<u8>> {
        let too_large = || {
            Error::new(
                ErrorKind::Incompatible,
                format!(
                    "the node at {to} answered with more than {} bytes; is it a twinsync node?",
                    self.max_answer_bytes
                ),
            )
        };
        let announced = response.content_length().unwrap_or(0);
        if announced > self.max_answer_bytes as u64 {
            return Err(too_large());
        }
        let mut answer = Vec::with_capacity(usize::try_from(announced).unwrap_or(0));
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| failure(to, self.request_timeout, e))?
        {
            if answer.len() + chunk.len() > self.max_answer_bytes {
                return Err(too_large());
            }
            answer.extend_from_slice(&chunk);
        }
        Ok(answer)
    }
}

#[async_trait]
impl Transport for HttpTransport {
    async fn call(&self, to: &NodeUrl, request: Vec<u8>) -> Result<Vec<u8>> {
        let url = self.target(to)?;
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(Error::new(
                ErrorKind::InvalidConfig,
                "HttpTransport runs on tokio: call it from a tokio runtime",
            ));
        }
        let response = self
            .http
            .post(url)
            .header(header::CONTENT_TYPE, HeaderValue::from_static(OCTET_STREAM))
            .body(request)
            .send()
            .await
            .map_err(|e| failure(to, self.request_timeout, e))?;
        let status = response.status();
        if !status.is_success() {
            let retry_after = response
                .headers()
                .get(header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            // The body of an error answer is not read: it is the peer's text,
            // and an answer may carry what a log must not.
            return Err(status_error(to, status, retry_after));
        }
        self.read_answer(to, response).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pem_without_certificates_is_refused_and_debug_shows_settings() {
        let transport = HttpTransport::builder()
            .add_root_certificate_pem(b"not a pem")
            .build();
        // A PEM without a certificate is a configuration error, said plainly.
        let err = transport.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidConfig);
        assert!(err.to_string().contains("root certificate PEM #1"), "{err}");
        let transport = HttpTransport::builder()
            .allow_plain_http_on_loopback(true)
            .build()
            .unwrap();
        let shown = format!("{transport:?}");
        assert!(shown.contains("plain_http_on_loopback: true"), "{shown}");
    }
}
