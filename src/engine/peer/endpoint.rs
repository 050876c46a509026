//! The node as an [`Endpoint`]: answering other nodes, and calling them.

use async_trait::async_trait;

use crate::connection::{AuthError, Connection, ConnectionStatus, FEATURES, Mode, negotiate};
use crate::error::{Error, ErrorKind, ErrorScope, Result};
use crate::model::{ConnectionId, InstanceUrl, NodeUrl};
use crate::transport::Endpoint;

use super::link::Link;
use super::refusal::Refusal;
use super::wire::{Body, MAX_MESSAGE_BYTES, Request, Response, Signed};
use crate::engine::node::Node;

fn refused(err: &Error) -> Response {
    Response::Refused(Refusal::of(err))
}

/// Where a message could not be read; never its text (it may hold a secret).
fn unreadable(e: &serde_json::Error) -> String {
    format!("line {} column {}", e.line(), e.column())
}

fn bad_answer(peer: &dyn std::fmt::Display, e: &serde_json::Error) -> Error {
    Error::new(
        ErrorKind::Incompatible,
        format!(
            "the node at {peer} answered with a message this node cannot read (at {})",
            unreadable(e)
        ),
    )
}

/// Nodes answer other nodes: the setup handshake, and signed messages on
/// established connections. Every request gets an answer (errors included);
/// nothing a peer sends makes it panic.
#[async_trait]
impl Endpoint for Node {
    async fn handle(&self, request: Vec<u8>) -> Vec<u8> {
        let response = if request.len() > MAX_MESSAGE_BYTES {
            refused(&Error::new(
                ErrorKind::InvalidInput,
                format!("a message may be at most {MAX_MESSAGE_BYTES} bytes"),
            ))
        } else {
            match serde_json::from_slice::<Request>(&request) {
                Ok(request) => self.answer(request).await,
                Err(e) => refused(&Error::new(
                    ErrorKind::Incompatible,
                    format!(
                        "a message this node cannot read (at {}); is the other node a newer twinsync?",
                        unreadable(&e)
                    ),
                )),
            }
        };
        // A response holds only strings, numbers and JSON values: it serializes.
        serde_json::to_vec(&response).unwrap_or_default()
    }
}

impl Node {
    async fn answer(&self, request: Request) -> Response {
        let result = match request {
            Request::Hello { protocol, .. } => self.answer_hello(protocol),
            Request::Challenge { connection } => self.answer_challenge(&connection),
            Request::Redeem {
                connection,
                proof,
                acceptor,
                reachable,
                protocol,
                node,
            } => self.answer_redeem(&connection, &proof, acceptor, reachable, protocol, node),
            Request::Establish {
                code,
                project,
                token,
                reachable,
                protocol,
            } => {
                self.answer_establish(&code, &project, token.as_ref(), reachable, protocol)
                    .await
            }
            Request::Signed(signed) => return self.answer_signed(signed).await,
        };
        result.unwrap_or_else(|e| refused(&e))
    }

    /// Who this node is, where it is reached, what it speaks and can do. A
    /// caller whose version no connection could use is refused, so that both
    /// nodes learn it before anything is created (and this one logs it).
    fn answer_hello(&self, theirs: u16) -> Result<Response> {
        if let Err(e) = negotiate(Mode::Basic, self.protocol_version(), theirs) {
            tracing::warn!(error = %e, "a node of an incompatible protocol version called");
            return Err(e);
        }
        Ok(Response::Hello {
            protocol: self.protocol_version(),
            instance: self.instance().clone(),
            node: Some(self.node_url().clone()),
            features: FEATURES.iter().map(|f| (*f).to_owned()).collect(),
        })
    }

    async fn answer_signed(&self, signed: Signed) -> Response {
        let wide = |e: &Error| Response::Refused(Refusal::connection_wide(e));
        let conn = match self.connection(&signed.connection) {
            Ok(c) => c,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return wide(&Error::new(
                    ErrorKind::NotFound,
                    format!(
                        "connection {} does not exist on the node at {}; it was deleted there",
                        signed.connection,
                        self.instance()
                    ),
                ));
            }
            Err(e) => return refused(&e),
        };
        let link = match self.link(&conn.id) {
            Ok(l) => l,
            Err(e) => return wide(&e),
        };
        if link.peer.as_ref() != Some(&signed.from) {
            return wide(&Error::new(
                ErrorKind::Unauthenticated,
                format!(
                    "connection {} does not link this node with {}",
                    conn.name, signed.from
                ),
            ));
        }
        let from = signed.from.clone();
        let body = match self.open_signed(&conn.id, &link, &from, signed) {
            Ok(b) => b,
            Err(e) if AuthError::from_error(&e) == Some(&AuthError::BadTag) => return wide(&e),
            Err(e) => return refused(&e),
        };
        if let Err(e) = self.peer_heard(&conn.id) {
            tracing::warn!(error = %e, "cannot note that the other node is back");
        }
        let reply = match self.dispatch(&conn, &link, body).await {
            Ok(reply) => reply,
            Err(e) => Body::Refused(Refusal::of(&e)),
        };
        match self.seal(&conn.id, &link, &reply) {
            Ok(signed) => Response::Signed(signed),
            Err(e) => refused(&e),
        }
    }

    /// Handles one signed body from the peer; returns the reply.
    pub(super) async fn dispatch(
        &self,
        conn: &Connection,
        link: &Link,
        body: Body,
    ) -> Result<Body> {
        match body {
            Body::Replica(m) => self.receive_replica(conn, link, *m).await,
            Body::Ack(ack) => {
                self.record_ack(conn, *ack)?;
                Ok(Body::Done)
            }
            Body::Gone { issue } => {
                self.peer_gone(conn, &issue)?;
                Ok(Body::Done)
            }
            Body::Pull { taken } => self.serve_pull(&conn.id, taken),
            Body::Messages { items, .. } => {
                for item in items {
                    if matches!(item, Body::Messages { .. } | Body::Pull { .. }) {
                        continue; // no nesting
                    }
                    if let Err(e) = Box::pin(self.dispatch(conn, link, item)).await {
                        tracing::warn!(error = %e, "a message from the other node failed");
                    }
                }
                Ok(Body::Done)
            }
            Body::Failed { issue, refusal } => {
                self.peer_failed(conn, link, &issue, refusal).await?;
                Ok(Body::Done)
            }
            Body::Fetch { issue, attachment } => self.serve_file(conn, &issue, &attachment).await,
            Body::Connect { origin, twin } => self.answer_connect(conn, origin, &twin).await,
            Body::Unexalate { origin, twin, seq } => {
                self.peer_unexalated(conn, &origin, &twin, seq)?;
                Ok(Body::Done)
            }
            Body::Closed { unexalate } => {
                self.peer_closed(conn, unexalate).await?;
                Ok(Body::Done)
            }
            Body::Welcome(_)
            | Body::File { .. }
            | Body::Connected { .. }
            | Body::Done
            | Body::Refused(_) => Err(Error::new(
                ErrorKind::InvalidInput,
                "an answer arrived as a request",
            )),
        }
    }

    /// Sends `request` to the node at `to` and reads its answer.
    pub(super) async fn call(&self, to: &NodeUrl, request: &Request) -> Result<Response> {
        let bytes = serde_json::to_vec(request).map_err(|e| {
            Error::new(
                ErrorKind::Unexpected,
                format!("a message cannot be written: {}", unreadable(&e)),
            )
        })?;
        let answer = self.transport()?.call(to, bytes).await?;
        serde_json::from_slice(&answer).map_err(|e| bad_answer(to, &e))
    }

    /// Signs `body` for the peer of `conn`.
    pub(super) fn seal(&self, conn: &ConnectionId, link: &Link, body: &Body) -> Result<Signed> {
        let text = serde_json::to_string(body)?;
        let signature = self.authenticator(conn, link)?.sign(text.as_bytes())?;
        Ok(Signed {
            connection: conn.clone(),
            from: self.instance().clone(),
            signature,
            body: text,
        })
    }

    /// Checks a signed body from `peer` and reads it.
    pub(super) fn open_signed(
        &self,
        conn: &ConnectionId,
        link: &Link,
        peer: &InstanceUrl,
        signed: Signed,
    ) -> Result<Body> {
        if &signed.connection != conn || &signed.from != peer {
            return Err(Error::new(
                ErrorKind::Unauthenticated,
                format!("a message for another connection or from another node than {peer}"),
            ));
        }
        self.authenticator(conn, link)?
            .verify(signed.body.as_bytes(), &signed.signature)?;
        serde_json::from_str(&signed.body).map_err(|e| bad_answer(peer, &e))
    }

    /// Sends a signed `body` to the peer of `conn` and returns its signed
    /// reply (a refusal becomes an error).
    pub(super) async fn exchange(
        &self,
        conn: &Connection,
        link: &Link,
        body: &Body,
    ) -> Result<Body> {
        match self.exchange_answer(conn, link, body).await? {
            (Body::Refused(r), peer) => Err(r.into_error(&peer)),
            (reply, _) => Ok(reply),
        }
    }

    /// Sends `body` to the other node and reads its signed answer, a refusal
    /// included, with the address of the node that answered. When the
    /// transport cannot reach the other node (`Unavailable`, `Timeout`) the
    /// connection records it unreachable and the error has scope
    /// [`ErrorScope::Peer`]; any answer ends such an outage.
    pub(super) async fn exchange_answer(
        &self,
        conn: &Connection,
        link: &Link,
        body: &Body,
    ) -> Result<(Body, InstanceUrl)> {
        let (Some(peer), Some(address)) = (link.peer.clone(), link.address()) else {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!("connection {} has no other side yet", conn.name),
            ));
        };
        if conn.status == ConnectionStatus::Pending {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "connection {} is pending; it syncs once accepted",
                    conn.name
                ),
            ));
        }
        let request = Request::Signed(self.seal(&conn.id, link, body)?);
        let response = match self.call(&address, &request).await {
            Ok(response) => response,
            Err(e) if matches!(e.kind(), ErrorKind::Unavailable | ErrorKind::Timeout) => {
                // Everything for the other node waits; no twin is at fault.
                self.peer_unreachable(&conn.id, &e)?;
                return Err(e.with_scope(ErrorScope::Peer));
            }
            Err(e) => return Err(e),
        };
        self.peer_answered(&conn.id)?;
        match response {
            Response::Signed(signed) => {
                let reply = self.open_signed(&conn.id, link, &peer, signed)?;
                Ok((reply, peer))
            }
            Response::Refused(r) => Err(r.into_error(&peer)),
            _ => Err(Error::new(
                ErrorKind::Incompatible,
                format!("the node at {peer} answered with a message this node does not expect"),
            )),
        }
    }
}
