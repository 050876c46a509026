//! Reaching the server: the URL read into a client configuration and a TLS
//! connector, the store's own runtime that drives its connections, and
//! waiting for a client's future on the calling thread.

use std::future::Future;
use std::path::PathBuf;
use std::pin::pin;
use std::str::FromStr;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::Duration;

use tokio::runtime::Handle;
use tokio_postgres::config::{Host, SslMode};
use tokio_postgres::tls::MakeTlsConnect;
use tokio_postgres::{Client, Config, NoTls, Socket};
use tokio_postgres_rustls::MakeRustlsConnect;
use tokio_rustls::rustls;

use crate::error::{Error, ErrorKind, Result};

use super::error::storage;

/// How long connecting may take when the URL does not say
/// (`connect_timeout`).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// When the URL does not say: how long a connection may stay silent before
/// the first keepalive probe (`keepalives_idle`; the client's default is two
/// hours), and how long sent data may stay unacknowledged before the
/// connection is given up (`tcp_user_timeout`). A server cut off by the
/// network then fails the statement waiting for it within about this long,
/// instead of holding the node's thread for hours.
const SILENCE: Duration = Duration::from_secs(30);

/// Where a store's connections go, and how.
pub(super) struct Target {
    config: Config,
    tls: Option<MakeRustlsConnect>,
    /// "database on host:port", named in every error; never the password.
    pub(super) name: String,
}

impl Target {
    /// Reads a `postgres://` URL (or libpq's `key=value` form). On top of
    /// what the client reads, a URL may carry `sslrootcert=PATH` (PEM
    /// certificates to trust beside the Mozilla roots) and `sslmode` may be
    /// `verify-ca` or `verify-full` (both mean `require`: twinsync always
    /// verifies the server's certificate). Without `sslmode` the connection
    /// is plain.
    pub(super) fn parse(url: &str) -> Result<Target> {
        let (rest, rootcert, mode) = split_tls_options(url)?;
        let mut config = Config::from_str(&rest).map_err(|e| {
            let cause = std::error::Error::source(&e)
                .map(|c| format!(": {c}"))
                .unwrap_or_default();
            Error::new(
                ErrorKind::InvalidConfig,
                format!("the PostgreSQL URL is not valid: {e}{cause}"),
            )
        })?;
        let mode = match mode.as_deref() {
            None | Some("disable") => SslMode::Disable,
            Some("prefer") => SslMode::Prefer,
            Some("require" | "verify-ca" | "verify-full") => SslMode::Require,
            Some(other) => {
                return Err(Error::new(
                    ErrorKind::InvalidConfig,
                    format!(
                        "the PostgreSQL URL's sslmode {other:?} is not one of disable, prefer, \
                         require, verify-ca, verify-full"
                    ),
                ));
            }
        };
        config.ssl_mode(mode);
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_keepalives_idle() == Duration::from_secs(2 * 60 * 60) {
            config.keepalives_idle(SILENCE);
        }
        if config.get_tcp_user_timeout().is_none() {
            config.tcp_user_timeout(SILENCE);
        }
        if config.get_application_name().is_none() {
            config.application_name("twinsync");
        }
        let name = display_name(&config);
        let tls = match mode {
            SslMode::Disable => None,
            _ => Some(connector(rootcert, &name)?),
        };
        Ok(Target { config, tls, name })
    }

    /// Opens one connection, driven by the runtime of `handle`, and points
    /// it at `schema`.
    pub(super) fn connect(&self, handle: &Handle, schema: &str) -> Result<Client> {
        let config = self.config.clone();
        let opened = match self.tls.clone() {
            Some(tls) => block_on(handle.spawn(open(config, tls))),
            None => block_on(handle.spawn(open(config, NoTls))),
        };
        let client = match opened {
            Ok(Ok(client)) => client,
            Ok(Err(e)) => {
                return Err(storage(&self.name, "cannot connect", e).set_temporary(true));
            }
            Err(e) => {
                return Err(Error::new(
                    ErrorKind::Storage,
                    format!("cannot connect: the store's runtime stopped ({e})"),
                )
                .with_context("database", &self.name));
            }
        };
        block_on(client.batch_execute(&format!("SET search_path TO {}", quoted(schema))))
            .map_err(|e| storage(&self.name, "cannot select the schema", e))?;
        Ok(client)
    }
}

/// Connects and hands the connection to the runtime to drive.
async fn open<T>(config: Config, tls: T) -> std::result::Result<Client, tokio_postgres::Error>
where
    T: MakeTlsConnect<Socket>,
    T::Stream: Send + 'static,
{
    let (client, connection) = config.connect(tls).await?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!(error = %e, "a PostgreSQL connection ended");
        }
    });
    Ok(client)
}

/// The URL without `sslrootcert` and `sslmode` (which the client reads
/// differently), and their values.
fn split_tls_options(url: &str) -> Result<(String, Option<PathBuf>, Option<String>)> {
    let is_url = url.starts_with("postgres://") || url.starts_with("postgresql://");
    if !is_url {
        // libpq's key=value form: sslmode as the client reads it.
        return Ok((url.to_owned(), None, None));
    }
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_owned(), None, None));
    };
    let mut kept = url::form_urlencoded::Serializer::new(String::new());
    let (mut rootcert, mut mode) = (None, None);
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        match key.as_ref() {
            "sslrootcert" => rootcert = Some(PathBuf::from(value.as_ref())),
            "sslmode" => mode = Some(value.into_owned()),
            _ => {
                kept.append_pair(&key, &value);
            }
        }
    }
    let kept = kept.finish();
    let rest = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{kept}")
    };
    Ok((rest, rootcert, mode))
}

/// "dbname on host:port" (or the socket's directory).
fn display_name(config: &Config) -> String {
    let db = config
        .get_dbname()
        .or(config.get_user())
        .unwrap_or("postgres");
    let port = config.get_ports().first().copied().unwrap_or(5432);
    match config.get_hosts().first() {
        Some(Host::Tcp(host)) => format!("{db} on {host}:{port}"),
        #[cfg(unix)]
        Some(Host::Unix(dir)) => format!("{db} on {}:{port}", dir.display()),
        None => format!("{db} on localhost:{port}"),
    }
}

/// TLS through rustls (ring): the Mozilla roots, and the PEM certificates
/// of `rootcert` when given.
fn connector(rootcert: Option<PathBuf>, name: &str) -> Result<MakeRustlsConnect> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;

    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = rootcert {
        let unreadable = |e: &dyn std::fmt::Display| {
            Error::new(
                ErrorKind::InvalidConfig,
                format!(
                    "the PostgreSQL URL's sslrootcert {} is unreadable: {e}",
                    path.display()
                ),
            )
            .with_context("database", name)
        };
        let mut added = 0;
        for cert in CertificateDer::pem_file_iter(&path).map_err(|e| unreadable(&e))? {
            let cert = cert.map_err(|e| unreadable(&e))?;
            roots.add(cert).map_err(|e| unreadable(&e))?;
            added += 1;
        }
        if added == 0 {
            return Err(unreadable(&"it holds no PEM certificate"));
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| {
            Error::new(ErrorKind::Storage, format!("cannot set up TLS: {e}"))
                .with_context("database", name)
        })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

/// `name` as an SQL identifier.
pub(super) fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Wakes the thread waiting in [`block_on`].
struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Runs `future` to completion on this thread. A client's futures only
/// exchange messages with their connection, which the store's runtime
/// drives, so this works on any thread: one of an async executor (as the
/// embedded stores' transactions do, it holds that thread for the
/// statement's round trip) or not, and inside another executor's `block_on`.
pub(super) fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        thread::park();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_options_are_taken_out_of_the_url_and_the_rest_kept() {
        let (rest, cert, mode) = split_tls_options(
            "postgres://u:secret@db.example:5433/sync?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem&application_name=n1",
        )
        .expect("parse");
        assert_eq!(
            rest,
            "postgres://u:secret@db.example:5433/sync?application_name=n1"
        );
        assert_eq!(cert, Some(PathBuf::from("/etc/ca.pem")));
        assert_eq!(mode.as_deref(), Some("verify-full"));
    }

    #[test]
    fn the_name_shows_database_host_and_port_never_the_password() {
        let target =
            Target::parse("postgres://u:hunter2hunter2@db.example:5433/sync").expect("parse");
        assert_eq!(target.name, "sync on db.example:5433");
        assert!(target.tls.is_none(), "plain without sslmode");
        assert_eq!(target.config.get_keepalives_idle(), SILENCE);
        assert_eq!(target.config.get_tcp_user_timeout(), Some(&SILENCE));
        assert_eq!(target.config.get_connect_timeout(), Some(&CONNECT_TIMEOUT));
        let target = Target::parse("postgresql://db.example/sync?sslmode=require").expect("parse");
        assert!(target.tls.is_some());
    }

    #[test]
    fn a_bad_url_or_mode_is_named_without_the_password() {
        let err = Target::parse("postgres://u:hunter2hunter2@h/db?sslmode=sometimes")
            .err()
            .expect("bad mode");
        assert_eq!(err.kind(), ErrorKind::InvalidConfig);
        assert!(err.to_string().contains("\"sometimes\""), "{err}");
        assert!(!err.to_string().contains("hunter2"), "{err}");
        let err = Target::parse("postgres://u:hunter2hunter2@h/db?frobnicate=1")
            .err()
            .expect("unknown option");
        assert!(err.to_string().contains("frobnicate"), "{err}");
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }

    #[test]
    fn a_missing_root_certificate_file_is_named() {
        let err = Target::parse("postgres://h/db?sslmode=require&sslrootcert=/nonexistent/ca.pem")
            .err()
            .expect("no file");
        assert_eq!(err.kind(), ErrorKind::InvalidConfig);
        assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");
    }

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quoted("twinsync"), "\"twinsync\"");
        assert_eq!(quoted("a\"b"), "\"a\"\"b\"");
    }
}
