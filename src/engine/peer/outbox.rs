//! The durable outbox of a remote connection, and the pulls of a node in a
//! private network.
//!
//! - **Posting.** A message for the other node is appended to the store's
//!   outbox ([`OutboxMessage`]) in the transaction of the state change that
//!   produced it (an unexalate, a request to send an issue again), so a
//!   crash never loses it. Replicas for a node that cannot be called wait
//!   there too, the latest per issue.
//! - **Delivering.** To a node this node calls, the waiting messages go in
//!   order before any replica (so an issue unexalated and exalated again
//!   arrives in that order); each is removed once answered. A node in a
//!   private network pulls them in order, and says in its next pull which it
//!   took; only then are they removed, so a crash of either node between
//!   taking and handling them delivers them again (every message is
//!   idempotent: replicas and unexalates carry growing numbers, a request to
//!   send again only sends again).
//! - **Unreachable.** While the other node cannot be reached, everything
//!   for it waits here (see `reach.rs`).

use time::OffsetDateTime;

use crate::connection::{Connection, ConnectionStatus};
use crate::engine::node::Node;
use crate::engine::sync::types::CycleReport;
use crate::error::{Error, ErrorKind, ErrorScope, Result};
use crate::model::{ConnectionId, IssueId};
use crate::store::{OutboxMessage, SeqMark, StoreTxn};

use super::link::Link;
use super::refusal::Refusal;
use super::wire::Body;

/// The most messages one answer to a pull carries…
const PULL_MESSAGES: usize = 100;
/// …and about the most bytes (a larger message goes alone).
const PULL_BYTES: usize = 8 * 1024 * 1024;
/// Pulls in one go: each takes what the one before brought.
const PULLS: usize = 16;
/// Messages delivered per store read.
const FLUSH_BATCH: usize = 32;

impl Node {
    /// The next sequence number of this node's messages on `conn`, in
    /// `txn`: it only grows, even when the store is lost (it follows the
    /// clock).
    pub(super) fn next_seq_in(&self, txn: &mut dyn StoreTxn, conn: &ConnectionId) -> Result<u64> {
        let last = txn.seq_mark(conn, &SeqMark::Sent)?.unwrap_or(0);
        let now = u64::try_from(self.now().unix_timestamp_nanos()).unwrap_or(0);
        let next = now.max(last.saturating_add(1));
        txn.set_seq_mark(conn, &SeqMark::Sent, Some(next))?;
        Ok(next)
    }

    /// Appends `body` to the outbox of `conn` in `txn`; a replica (`issue`
    /// set) replaces the one of the same issue still waiting.
    pub(super) fn post(
        &self,
        txn: &mut dyn StoreTxn,
        conn: &ConnectionId,
        issue: Option<&IssueId>,
        body: &Body,
    ) -> Result<()> {
        txn.post_outbox(&OutboxMessage {
            seq: 0,
            connection: conn.clone(),
            issue: issue.cloned(),
            body: serde_json::to_string(body)?,
            posted: self.now(),
        })?;
        Ok(())
    }

    /// Whether a replica of `issue` waits in the outbox of `conn` (for a
    /// node in a private network, which has not taken it yet).
    pub(super) fn replica_waits(&self, conn: &ConnectionId, issue: &IssueId) -> Result<bool> {
        Ok(self
            .txn()?
            .outbox(conn, usize::MAX)?
            .iter()
            .any(|m| m.issue.as_ref() == Some(issue)))
    }

    /// Delivers, in order, what waits for an other node this node calls;
    /// each message is removed once the other node answered it. Returns how
    /// many were delivered.
    ///
    /// # Errors
    ///
    /// The exchange's, and the rest waits: scope [`ErrorScope::Peer`] when
    /// the other node cannot be reached; a connection-wide refusal; a
    /// temporary refusal (the message goes again next time). A message the
    /// other node refuses for good is dropped, with a warning.
    pub(super) async fn flush_outbox(&self, conn: &Connection, link: &Link) -> Result<usize> {
        if !link.peer_reachable || conn.status == ConnectionStatus::Pending {
            return Ok(0);
        }
        let mut delivered = 0;
        loop {
            let batch = self.txn()?.outbox(&conn.id, FLUSH_BATCH)?;
            if batch.is_empty() {
                return Ok(delivered);
            }
            for message in batch {
                match serde_json::from_str::<Body>(&message.body) {
                    // Left for the other node to pull when it could not be
                    // called; the queue sends the issue afresh instead.
                    Ok(Body::Replica(_)) => {}
                    Ok(body) => {
                        if let (Body::Refused(r), peer) =
                            self.exchange_answer(conn, link, &body).await?
                        {
                            let err = r.into_error(&peer);
                            if err.scope() == ErrorScope::Connection || err.is_temporary() {
                                return Err(err);
                            }
                            tracing::warn!(error = %err, "the other node refused a message for good; it is dropped");
                        }
                        delivered += 1;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, seq = message.seq, "a waiting message is unreadable; it is dropped");
                    }
                }
                let mut txn = self.txn()?;
                txn.remove_outbox(&conn.id, message.seq)?;
                txn.commit()?;
            }
        }
    }

    /// Delivers what waits for the other node now, when this node calls it
    /// (a person acted); what cannot go now waits for the next cycle.
    pub(in crate::engine) async fn deliver_now(&self, conn: &Connection) {
        if conn.status != ConnectionStatus::Active {
            return;
        }
        let delivered = match self.link(&conn.id) {
            Ok(link) => self.flush_outbox(conn, &link).await,
            Err(e) => Err(e),
        };
        if let Err(e) = delivered {
            tracing::info!(error = %e, "what waits for the other node goes with the next cycle");
        }
    }

    /// Answers a pull: removes what the other node took (through `taken`)
    /// and gives it what waits, in order. Without `taken` (an older node)
    /// what is given counts as taken.
    pub(super) fn serve_pull(&self, conn: &ConnectionId, taken: Option<u64>) -> Result<Body> {
        let mut txn = self.txn()?;
        if let Some(taken) = taken {
            txn.remove_outbox(conn, taken)?;
        }
        let (mut items, mut bytes, mut upto) = (Vec::new(), 0, None);
        for message in txn.outbox(conn, PULL_MESSAGES)? {
            if upto.is_some() && bytes + message.body.len() > PULL_BYTES {
                break;
            }
            bytes += message.body.len();
            upto = Some(message.seq);
            match serde_json::from_str::<Body>(&message.body) {
                Ok(body) => items.push(body),
                Err(e) => {
                    tracing::warn!(error = %e, seq = message.seq, "a waiting message is unreadable; it is dropped");
                }
            }
        }
        if taken.is_none()
            && let Some(upto) = upto
        {
            txn.remove_outbox(conn, upto)?;
        }
        txn.commit()?;
        Ok(Body::Messages {
            items,
            upto: taken.and(upto),
        })
    }

    /// Pulls what waits for this node (in a private network) and answers it;
    /// each pull tells which messages the one before took.
    pub(super) async fn pull_from_peer(
        &self,
        conn: &Connection,
        link: &Link,
        report: &mut CycleReport,
    ) -> Result<()> {
        self.runtime()
            .pulled
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(conn.id.clone(), self.now());
        let mut taken = Some(0);
        for _ in 0..PULLS {
            let Body::Messages { items, upto } =
                self.exchange(conn, link, &Body::Pull { taken }).await?
            else {
                return Err(Error::new(
                    ErrorKind::Incompatible,
                    "the other node answered a pull with something else",
                ));
            };
            let answers = self.handle_pulled(conn, link, items, report).await;
            if !answers.is_empty() {
                let batch = Body::Messages {
                    items: answers,
                    upto: None,
                };
                self.exchange(conn, link, &batch).await?;
            }
            match upto {
                Some(upto) => taken = Some(upto),
                // Nothing waits, or an older node removed what it gave.
                None => return Ok(()),
            }
        }
        // More waits: the next pull takes it (and says what this one took).
        Ok(())
    }

    /// Handles pulled messages in order; returns the answers for the other
    /// node (acknowledgements, failures).
    async fn handle_pulled(
        &self,
        conn: &Connection,
        link: &Link,
        items: Vec<Body>,
        report: &mut CycleReport,
    ) -> Vec<Body> {
        let mut answers = Vec::new();
        for item in items {
            match item {
                Body::Replica(m) => {
                    let issue = m.replica.origin.id.clone();
                    match self.receive_replica(conn, link, *m).await {
                        Ok(Body::Ack(ack)) => {
                            report.synced += 1;
                            report.writes += ack.writes;
                            answers.push(Body::Ack(ack));
                        }
                        Ok(reply @ Body::Gone { .. }) => answers.push(reply),
                        Ok(Body::Refused(refusal)) => {
                            // Applied halfway: its writes are this node's.
                            report.failed += 1;
                            report.writes += refusal.writes;
                            answers.push(Body::Failed { issue, refusal });
                        }
                        Ok(_) => {}
                        Err(e) => {
                            report.failed += 1;
                            answers.push(Body::Failed {
                                issue,
                                refusal: Refusal::of(&e),
                            });
                        }
                    }
                }
                other => {
                    if let Err(e) = self.dispatch(conn, link, other).await {
                        tracing::warn!(error = %e, "a message from the other node failed");
                    }
                }
            }
        }
        answers
    }

    /// When this node, in a private network, should next pull from the other
    /// node of `connection`: its last pull (by a cycle or
    /// [`pull`](Node::pull)) plus [`NodeOptions::pull_interval`](crate::engine::NodeOptions::pull_interval),
    /// now when it has not pulled since it started, or the next try while the
    /// other node cannot be reached. `None` when this node does not pull on
    /// the connection: it is local, not active, or other nodes can call this
    /// node. What this node has to send goes at once (and each cycle pulls
    /// too), so a scheduler only needs this time between cycles.
    ///
    /// # Errors
    ///
    /// `NotFound` for an unknown connection; `Storage`.
    pub fn next_pull(&self, connection: &ConnectionId) -> Result<Option<OffsetDateTime>> {
        let conn = self.connection(connection)?;
        if conn.is_local() || self.reachable() || conn.status != ConnectionStatus::Active {
            return Ok(None);
        }
        if let Some(outage) = self.outage(&conn.id)? {
            return Ok(Some(outage.next_try));
        }
        let last = self
            .runtime()
            .pulled
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&conn.id)
            .copied();
        Ok(Some(last.map_or_else(
            || self.now(),
            |t| t + self.options().pull_interval,
        )))
    }

    /// Pulls now what waits for this node (in a private network) at the other
    /// node of `connection`, answers it, and delivers what waits here for
    /// the other node: what a scheduler runs when [`next_pull`](Node::next_pull)
    /// is due. While the other node cannot be reached it waits for the next
    /// try, and the report says so; nothing fails.
    ///
    /// # Errors
    ///
    /// `NotFound` for an unknown connection; `InvalidInput` for a local or
    /// pending connection, or when other nodes can call this node (they
    /// bring what they have); a connection-wide refusal, which stops the
    /// connection.
    pub async fn pull(&self, connection: &ConnectionId) -> Result<CycleReport> {
        let conn = self.connection(connection)?;
        if conn.is_local() || self.reachable() || conn.status == ConnectionStatus::Pending {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "this node does not pull on connection {}: it is local, pending, or other \
                     nodes call this node",
                    conn.name
                ),
            ));
        }
        let mut report = CycleReport::default();
        if conn.status != ConnectionStatus::Active {
            return Ok(report);
        }
        if self.backing_off(&conn.id)?.is_some() {
            report.peer_unreachable = true;
            return Ok(report);
        }
        let link = self.link(&conn.id)?;
        let mut result = self.pull_from_peer(&conn, &link, &mut report).await;
        if result.is_ok() {
            result = self.flush_outbox(&conn, &link).await.map(|_| ());
        }
        match result {
            Ok(()) => Ok(report),
            Err(e) if e.scope() == ErrorScope::Peer => {
                report.peer_unreachable = true;
                Ok(report)
            }
            Err(e) if e.scope() == ErrorScope::Connection => Err(self.remote_failure(&conn, e)),
            Err(e) => Err(e.with_connection(&conn.name)),
        }
    }
}
