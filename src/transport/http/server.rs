//! [`HttpServer`]: a ready server for an [`Endpoint`], over TLS.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use super::router::{DEFAULT_BODY_LIMIT, router_with_body_limit};
use super::tls::{Mode, ServerTls};
use crate::error::{Error, ErrorKind, Result};
use crate::model::NodeUrl;
use crate::transport::Endpoint;

/// Limits of an [`HttpServer`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerOptions {
    /// The largest request body read; larger ones get `413`
    /// (default [`DEFAULT_BODY_LIMIT`]).
    pub body_limit: usize,
    /// How long a caller may take for the TLS handshake (default 10 s).
    pub handshake_timeout: Duration,
    /// How long a caller may take to send a request's headers (default 30 s).
    pub header_read_timeout: Duration,
    /// How long [`ServerHandle::shutdown`] waits for requests under way
    /// before it drops them (default 30 s).
    pub shutdown_grace: Duration,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            body_limit: DEFAULT_BODY_LIMIT,
            handshake_timeout: Duration::from_secs(10),
            header_read_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(30),
        }
    }
}

impl ServerOptions {
    /// Sets [`body_limit`](Self::body_limit).
    pub fn with_body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// Sets [`handshake_timeout`](Self::handshake_timeout).
    pub fn with_handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// Sets [`header_read_timeout`](Self::header_read_timeout).
    pub fn with_header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout;
        self
    }

    /// Sets [`shutdown_grace`](Self::shutdown_grace).
    pub fn with_shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = grace;
        self
    }
}

/// A bound server that does not serve yet: bind, learn the address (to
/// build the node that will be served), then [`serve`](Self::serve).
///
/// Connections that arrive in between wait until serving starts.
pub struct HttpServer {
    listener: std::net::TcpListener,
    addr: SocketAddr,
    tls: ServerTls,
    options: ServerOptions,
}

impl fmt::Debug for HttpServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpServer")
            .field("addr", &self.addr)
            .field("tls", &self.tls)
            .field("options", &self.options)
            .finish()
    }
}

impl HttpServer {
    /// Binds `addr` (port 0 for a free one) with the default options.
    ///
    /// # Errors
    ///
    /// As [`bind_with`](Self::bind_with).
    pub fn bind(addr: SocketAddr, tls: ServerTls) -> Result<Self> {
        Self::bind_with(addr, tls, ServerOptions::default())
    }

    /// Binds `addr` (port 0 for a free one).
    ///
    /// # Errors
    ///
    /// `InvalidConfig` for plain HTTP on an address that is not loopback;
    /// `Unavailable` when the address cannot be bound.
    pub fn bind_with(addr: SocketAddr, tls: ServerTls, options: ServerOptions) -> Result<Self> {
        if !tls.is_tls() && !addr.ip().is_loopback() {
            return Err(Error::new(
                ErrorKind::InvalidConfig,
                format!(
                    "plain http is only served on a loopback address, not on {addr}; give a \
                     tls certificate and key (ServerTls::from_pem_files)"
                ),
            ));
        }
        let unavailable = |e: std::io::Error| {
            Error::new(
                ErrorKind::Unavailable,
                format!("cannot listen on {addr}: {e}"),
            )
        };
        let listener = std::net::TcpListener::bind(addr).map_err(unavailable)?;
        listener.set_nonblocking(true).map_err(unavailable)?;
        let addr = listener.local_addr().map_err(unavailable)?;
        Ok(HttpServer {
            listener,
            addr,
            tls,
            options,
        })
    }

    /// The address bound (with the port chosen when 0 was asked).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The node URL callers use: `https://<addr>` (`http://` for plain
    /// HTTP); give it to [`NodeBuilder::node_url`](crate::engine::NodeBuilder::node_url).
    pub fn url(&self) -> NodeUrl {
        base_url(&self.tls, self.addr)
    }

    /// Starts serving `endpoint` at `/twinsync` ([`router`](super::router)
    /// with the options' body limit) on the current tokio runtime.
    ///
    /// # Errors
    ///
    /// `InvalidConfig` when not called on a tokio runtime; `Unavailable` when
    /// the socket cannot be handed to it.
    pub fn serve(self, endpoint: Arc<dyn Endpoint>) -> Result<ServerHandle> {
        let routes = router_with_body_limit(endpoint, self.options.body_limit);
        self.serve_router(routes)
    }

    /// Starts serving `routes` (such as [`router`](super::router) merged with
    /// routes of your own) on the current tokio runtime.
    ///
    /// # Errors
    ///
    /// As [`serve`](Self::serve).
    pub fn serve_router(self, routes: Router) -> Result<ServerHandle> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            Error::new(
                ErrorKind::InvalidConfig,
                "the http server runs on tokio: start it from a tokio runtime",
            )
        })?;
        let listener = TcpListener::from_std(self.listener).map_err(|e| {
            Error::new(
                ErrorKind::Unavailable,
                format!("cannot listen on {}: {e}", self.addr),
            )
        })?;
        let url = base_url(&self.tls, self.addr);
        let acceptor = match self.tls.0 {
            Mode::Tls(config) => Some(TlsAcceptor::from(config)),
            Mode::PlainOnLoopback => None,
        };
        let (stop, stopped) = watch::channel(false);
        let task = runtime.spawn(accept_loop(
            listener,
            acceptor,
            routes,
            self.options,
            stopped,
        ));
        tracing::info!(%url, "serving twinsync nodes");
        Ok(ServerHandle {
            addr: self.addr,
            url,
            stop,
            task: Some(task),
        })
    }
}

/// Binds `addr` and serves `endpoint` there: [`HttpServer::bind`] and
/// [`HttpServer::serve`] in one call.
///
/// # Errors
///
/// As those two.
pub fn serve(
    addr: SocketAddr,
    tls: ServerTls,
    endpoint: Arc<dyn Endpoint>,
) -> Result<ServerHandle> {
    HttpServer::bind(addr, tls)?.serve(endpoint)
}

fn base_url(tls: &ServerTls, addr: SocketAddr) -> NodeUrl {
    let scheme = if tls.is_tls() { "https" } else { "http" };
    NodeUrl::parse(&format!("{scheme}://{addr}"))
        .unwrap_or_else(|_| unreachable!("a socket address makes a node url"))
}

/// A running server. It stops when [`shutdown`](Self::shutdown) or dropped.
pub struct ServerHandle {
    addr: SocketAddr,
    url: NodeUrl,
    // Dropping the sender stops the server too.
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl fmt::Debug for ServerHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerHandle")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl ServerHandle {
    /// The address served.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The node URL callers use: `https://<addr>` (`http://` for plain HTTP).
    pub fn url(&self) -> &NodeUrl {
        &self.url
    }

    /// Stops accepting, lets the requests under way finish (at most
    /// [`ServerOptions::shutdown_grace`]), and returns when the server is gone.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            // The loop never panics; a runtime shutting down cancels it, which is a stop too.
            let _ = task.await;
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        // Stop accepting at once; requests under way finish in the background.
        let _ = self.stop.send(true);
    }
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: Option<TlsAcceptor>,
    routes: Router,
    options: ServerOptions,
    mut stop: watch::Receiver<bool>,
) {
    let graceful = GracefulShutdown::new();
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(options.header_read_timeout);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.changed() => break,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: wait a little, go on.
                tracing::warn!(error = %e, "cannot accept a connection");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let connection = Connection {
            http: http.clone(),
            service: TowerToHyperService::new(routes.clone()),
            acceptor: acceptor.clone(),
            handshake_timeout: options.handshake_timeout,
        };
        let watcher = graceful.watcher();
        tokio::spawn(async move { connection.run(stream, peer, watcher).await });
    }
    drop(listener);
    if tokio::time::timeout(options.shutdown_grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still under way after the shutdown grace period were dropped");
    }
}

struct Connection {
    http: http1::Builder,
    service: TowerToHyperService<Router>,
    acceptor: Option<TlsAcceptor>,
    handshake_timeout: Duration,
}

impl Connection {
    async fn run(
        self,
        stream: TcpStream,
        peer: SocketAddr,
        watcher: hyper_util::server::graceful::Watcher,
    ) {
        let _ = stream.set_nodelay(true);
        let served = match self.acceptor {
            None => {
                let conn = self
                    .http
                    .serve_connection(TokioIo::new(stream), self.service);
                watcher.watch(conn).await
            }
            Some(acceptor) => {
                let stream =
                    match tokio::time::timeout(self.handshake_timeout, acceptor.accept(stream))
                        .await
                    {
                        Ok(Ok(stream)) => stream,
                        Ok(Err(e)) => {
                            tracing::debug!(%peer, error = %e, "tls handshake failed");
                            return;
                        }
                        Err(_) => {
                            tracing::debug!(%peer, "tls handshake timed out");
                            return;
                        }
                    };
                let conn = self
                    .http
                    .serve_connection(TokioIo::new(stream), self.service);
                watcher.watch(conn).await
            }
        };
        if let Err(e) = served {
            tracing::debug!(%peer, error = %e, "connection ended with an error");
        }
    }
}
