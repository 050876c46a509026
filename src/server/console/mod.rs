//! The web console (feature `console`): the sync panel and connection
//! console in the browser, and the JSON API behind it, served by the node.
//!
//! - **Pages** under `/console` (server-rendered, no JavaScript build): the
//!   connections, a connection's twins, conflicts, errors (Retry, Resolve),
//!   refused deletions (Confirm, Dismiss), triggers, Test Run, rule versions,
//!   bulk exalate with live progress, and initiating and accepting
//!   connections.
//! - **The JSON API** under `/api/v1` (README lists its routes): the pages'
//!   operations, for scripts and alerting.
//!
//! Nobody reaches a page or an API route without signing in: an
//! [`Operator`] signs in with a password (checked against its argon2 hash)
//! and gets a session in a signed cookie (HttpOnly, SameSite=Strict, Secure);
//! a script sends an [`ApiToken`] as `Authorization: Bearer …`. Every write
//! of a session carries its CSRF token (the `csrf` form field, or the
//! `X-CSRF-Token` header). Each action must be allowed by the caller's
//! [`Role`] and then passes the engine's own permission checks, for the
//! tracker user the caller acts as.
//!
//! ```no_run
//! # async fn demo(node: twinsync::engine::Node) -> twinsync::Result<()> {
//! use twinsync::server::console::{Console, Operator, Role, hash_password};
//!
//! let hash = hash_password("correct horse")?; // kept in the config
//! let console = Console::builder(node)
//!     .operator(Operator::new("ada", &hash, Role::Owner, "ada".parse()?)?)
//!     .build()?;
//! let routes: axum::Router = console.router(); // merge into the node's server
//! # let _ = routes; Ok(()) }
//! ```

mod access;
mod api;
mod credentials;
mod html;
mod jobs;
mod ops;
pub mod pages;
mod role;
mod session;
mod throttle;
mod views;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;

pub use access::{CSRF_FIELD, CSRF_HEADER};
pub use credentials::{ApiToken, MIN_TOKEN_LEN, Operator, SessionKey, hash_password};
pub use role::{Action, Role};
pub use session::{LOGIN_COOKIE, SESSION_COOKIE};

use crate::engine::Node;
use crate::error::{Error, ErrorKind, Result};

/// The console's home page.
pub const CONSOLE_PATH: &str = "/console";
/// The sign-in page.
pub const LOGIN_PATH: &str = "/console/login";
/// Where the JSON API's routes start.
pub const API_PATH: &str = "/api/v1";

/// How long a session lasts unless set: 12 hours.
pub const DEFAULT_SESSION_TTL: Duration = Duration::from_secs(12 * 3600);

/// The web console of one node: build it with [`Console::builder`], then
/// merge [`router`](Console::router) into the node's HTTP server.
#[derive(Clone, Debug)]
pub struct Console {
    inner: Arc<Inner>,
}

/// What the console's routes share.
#[derive(Debug)]
struct Inner {
    node: Node,
    operators: Vec<Operator>,
    tokens: Vec<ApiToken>,
    key: SessionKey,
    secure: bool,
    ttl: Duration,
    pages: bool,
    jobs: jobs::Jobs,
    /// Sessions signed out before they expired: their CSRF tokens, with
    /// their expiry (unix seconds).
    revoked: std::sync::Mutex<std::collections::HashMap<String, i64>>,
    /// Failed sign-ins, per name.
    throttle: throttle::Throttle,
}

/// Builds a [`Console`].
#[derive(Debug)]
pub struct ConsoleBuilder {
    node: Node,
    operators: Vec<Operator>,
    tokens: Vec<ApiToken>,
    key: Option<SessionKey>,
    secure: bool,
    ttl: Duration,
    pages: bool,
}

impl Console {
    /// A console for `node`; add at least one operator or token.
    pub fn builder(node: Node) -> ConsoleBuilder {
        ConsoleBuilder {
            node,
            operators: Vec::new(),
            tokens: Vec::new(),
            key: None,
            secure: true,
            ttl: DEFAULT_SESSION_TTL,
            pages: true,
        }
    }

    /// The console's routes: `/` (to the console), `/console/…` and
    /// `/api/v1/…`. Every route but the sign-in page refuses anonymous
    /// requests.
    ///
    /// With [`pages(false)`](ConsoleBuilder::pages), only the JSON API: no
    /// page, no sign-in form, no `/`.
    pub fn router(&self) -> Router {
        let gated = if self.inner.pages {
            html::routes().merge(api::routes())
        } else {
            api::routes()
        };
        let gated = gated.route_layer(axum::middleware::from_fn_with_state(
            self.inner.clone(),
            access::gate,
        ));
        let router = if self.inner.pages {
            gated.merge(html::open_routes())
        } else {
            gated
        };
        router.with_state(self.inner.clone())
    }
}

impl ConsoleBuilder {
    /// Adds an operator who signs in with a password.
    pub fn operator(mut self, operator: Operator) -> Self {
        self.operators.push(operator);
        self
    }

    /// Adds a token for scripts.
    pub fn token(mut self, token: ApiToken) -> Self {
        self.tokens.push(token);
        self
    }

    /// The key that signs session cookies; a random one (sessions end when
    /// the node restarts) unless set.
    pub fn session_key(mut self, key: SessionKey) -> Self {
        self.key = Some(key);
        self
    }

    /// Whether session cookies are marked `Secure` (sent over HTTPS only);
    /// on unless set. Browsers also keep `Secure` cookies of
    /// `http://localhost` and `http://127.0.0.1`; turn it off only for a
    /// console reached over plain HTTP elsewhere (not advised).
    pub fn secure_cookies(mut self, secure: bool) -> Self {
        self.secure = secure;
        self
    }

    /// Whether the console serves its pages (on unless set); off, only the
    /// JSON API answers, for tokens: the console is turned off for people.
    pub fn pages(mut self, pages: bool) -> Self {
        self.pages = pages;
        self
    }

    /// How long a session lasts ([`DEFAULT_SESSION_TTL`] unless set).
    pub fn session_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// The console.
    ///
    /// # Errors
    ///
    /// `InvalidConfig` when nobody could sign in (no operator and no token)
    /// or two operators or tokens share a name; `Unavailable` when no random
    /// session key can be made.
    pub fn build(self) -> Result<Console> {
        if self.operators.is_empty() && self.tokens.is_empty() {
            return Err(Error::new(
                ErrorKind::InvalidConfig,
                "the console has no operator and no token: nobody could sign in",
            ));
        }
        let mut names: Vec<&str> = self.operators.iter().map(Operator::name).collect();
        names.sort_unstable();
        if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
            return Err(Error::new(
                ErrorKind::InvalidConfig,
                format!("two console operators are named {:?}", w[0]),
            ));
        }
        let mut names: Vec<&str> = self.tokens.iter().map(ApiToken::name).collect();
        names.sort_unstable();
        if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
            return Err(Error::new(
                ErrorKind::InvalidConfig,
                format!("two console tokens are named {:?}", w[0]),
            ));
        }
        let key = match self.key {
            Some(key) => key,
            None => SessionKey::random()?,
        };
        Ok(Console {
            inner: Arc::new(Inner {
                node: self.node,
                operators: self.operators,
                tokens: self.tokens,
                key,
                secure: self.secure,
                ttl: self.ttl,
                pages: self.pages,
                jobs: jobs::Jobs::default(),
                revoked: Default::default(),
                throttle: throttle::Throttle::default(),
            }),
        })
    }
}

impl Inner {
    /// Voids a session (signed out) until it would have expired.
    fn revoke(&self, ticket: session::Ticket) {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let mut revoked = self
            .revoked
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        revoked.retain(|_, expires| *expires > now);
        revoked.insert(ticket.csrf, ticket.expires);
    }

    /// Whether a session was signed out.
    fn is_revoked(&self, ticket: &session::Ticket) -> bool {
        self.revoked
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains_key(&ticket.csrf)
    }
}
